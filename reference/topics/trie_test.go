package topics_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mqtt-check/mqtt-check/reference/topics"
)

// sub is one (filter, key) pair reported by Trie.Match.
type sub struct{ filter, key string }

// collect returns the sorted matches of name in tr, failing the test on a
// duplicate report.
func collect[V any](t testing.TB, tr *topics.Trie[V], name string) []sub {
	t.Helper()
	var got []sub
	tr.Match([]byte(name), func(filter, key string, _ V) {
		got = append(got, sub{filter, key})
	})
	slices.SortFunc(got, cmpSub)
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Errorf("Match(%q) reported %v twice", name, got[i])
		}
	}
	return got
}

func cmpSub(a, b sub) int {
	if c := strings.Compare(a.filter, b.filter); c != 0 {
		return c
	}
	return strings.Compare(a.key, b.key)
}

// bruteForce is what Trie.Match must return: every stored subscription
// whose filter matches name according to the package-level Match.
func bruteForce(subs map[sub]bool, name string) []sub {
	var want []sub
	for s := range subs {
		if topics.Match([]byte(s.filter), []byte(name)) {
			want = append(want, s)
		}
	}
	slices.SortFunc(want, cmpSub)
	return want
}

func checkInvariants[V any](t testing.TB, tr *topics.Trie[V]) {
	t.Helper()
	if err := tr.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestTrieMatchSpecExamples(t *testing.T) {
	var tr topics.Trie[int]
	for _, tc := range matchRows {
		tr.Subscribe(tc.filter, "c", 0)
	}
	checkInvariants(t, &tr)
	for _, tc := range matchRows {
		t.Run(tc.name, func(t *testing.T) {
			found := false
			tr.Match([]byte(tc.topic), func(filter, key string, _ int) {
				if filter == tc.filter {
					found = true
				}
			})
			if found != tc.want {
				t.Errorf("trie: %q matched by %q = %v, want %v", tc.topic, tc.filter, found, tc.want)
			}
		})
	}
}

func TestTrieDollarRule(t *testing.T) {
	var tr topics.Trie[string]
	for _, f := range []string{"#", "+", "+/#", "+/monitor/Clients", "$SYS/#", "$SYS/monitor/+", "$SYS/+/Clients", "+/+/+"} {
		tr.Subscribe(f, "c", f)
	}
	got := collect(t, &tr, "$SYS/monitor/Clients")
	want := []sub{{"$SYS/#", "c"}, {"$SYS/+/Clients", "c"}, {"$SYS/monitor/+", "c"}}
	if !slices.Equal(got, want) {
		t.Errorf("Match($SYS/monitor/Clients) = %v, want %v", got, want)
	}
	got = collect(t, &tr, "SYS/monitor/Clients")
	want = []sub{{"#", "c"}, {"+/#", "c"}, {"+/+/+", "c"}, {"+/monitor/Clients", "c"}}
	if !slices.Equal(got, want) {
		t.Errorf("Match(SYS/monitor/Clients) = %v, want %v", got, want)
	}
}

func TestTrieResubscribeReplaces(t *testing.T) {
	var tr topics.Trie[int]
	if tr.Subscribe("a/+", "client1", 0) {
		t.Error("first Subscribe reported replaced")
	}
	if tr.Subscribe("a/+", "client2", 1) {
		t.Error("Subscribe by another key reported replaced")
	}
	if !tr.Subscribe("a/+", "client1", 2) {
		t.Error("second Subscribe with same filter and key did not report replaced [MQTT-3.8.4-3]")
	}
	if tr.Subscribe("a/#", "client1", 0) {
		t.Error("overlapping but different filter reported replaced")
	}
	if got := tr.Len(); got != 3 {
		t.Errorf("Len = %d, want 3", got)
	}
	vals := map[sub]int{}
	tr.Match([]byte("a/b"), func(filter, key string, v int) { vals[sub{filter, key}] = v })
	want := map[sub]int{{"a/+", "client1"}: 2, {"a/+", "client2"}: 1, {"a/#", "client1"}: 0}
	if fmt.Sprint(vals) != fmt.Sprint(want) {
		t.Errorf("values = %v, want %v", vals, want)
	}
	checkInvariants(t, &tr)
}

// TestTrieManySubscribersPerFilter crosses the key-index threshold in
// both directions, with replacement and removal on either side of it.
func TestTrieManySubscribersPerFilter(t *testing.T) {
	var tr topics.Trie[int]
	const n = 40
	for i := range n {
		tr.Subscribe("a/#", fmt.Sprint("c", i), i)
		checkInvariants(t, &tr)
	}
	for i := range n {
		if !tr.Subscribe("a/#", fmt.Sprint("c", i), -i) {
			t.Fatalf("resubscribe c%d not reported as replace", i)
		}
	}
	if tr.Len() != n {
		t.Fatalf("Len = %d, want %d", tr.Len(), n)
	}
	for i := 0; i < n; i += 2 {
		if !tr.Unsubscribe("a/#", fmt.Sprint("c", i)) {
			t.Fatalf("Unsubscribe c%d failed", i)
		}
		checkInvariants(t, &tr)
	}
	sum, count := 0, 0
	tr.Match([]byte("a"), func(_, key string, v int) { sum += v; count++ })
	if count != n/2 {
		t.Errorf("matched %d, want %d", count, n/2)
	}
	for i := 1; i < n; i += 2 {
		sum += i // values are -i
	}
	if sum != 0 {
		t.Errorf("values wrong after replace/unsubscribe (residual %d)", sum)
	}
	for i := 1; i < n; i += 2 {
		tr.Unsubscribe("a/#", fmt.Sprint("c", i))
		checkInvariants(t, &tr)
	}
	if tr.Len() != 0 || tr.NodeCount() != 0 {
		t.Errorf("Len = %d, NodeCount = %d after removing all, want 0, 0", tr.Len(), tr.NodeCount())
	}
}

func TestTrieUnsubscribe(t *testing.T) {
	var tr topics.Trie[int]
	tr.Subscribe("a/b", "c1", 0)
	tr.Subscribe("a/+", "c1", 0)
	tr.Subscribe("a/#", "c1", 0)

	tests := []struct {
		name   string
		filter string
		key    string
		want   bool
	}{
		{"unknown filter", "x/y", "c1", false},
		{"unknown key", "a/b", "c2", false},
		{"wildcard does not remove literal [MQTT-3.10.4-1]", "a/c", "c1", false},
		{"literal is not matched by a wildcard [MQTT-3.10.4-1]", "+/b", "c1", false},
		{"prefix of a filter", "a", "c1", false},
		{"invalid filter matches nothing", "a/#/b", "c1", false},
		{"empty filter matches nothing", "", "c1", false},
		{"plus filter literally", "a/+", "c1", true},
		{"already removed", "a/+", "c1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tr.Unsubscribe(tc.filter, tc.key); got != tc.want {
				t.Errorf("Unsubscribe(%q, %q) = %v, want %v", tc.filter, tc.key, got, tc.want)
			}
			checkInvariants(t, &tr)
		})
	}
	got := collect(t, &tr, "a/b")
	if want := []sub{{"a/#", "c1"}, {"a/b", "c1"}}; !slices.Equal(got, want) {
		t.Errorf("after unsubscribe, Match(a/b) = %v, want %v", got, want)
	}
}

func TestTrieUnsubscribePrunes(t *testing.T) {
	filters := []string{
		"a", "a/b", "a/b/c", "a/+/c", "a/#", "+", "#", "/", "//", "/+", "+/+",
		"a//b", "$SYS/#", "$SYS/broker/+", "x/y/z/w/v/u/t/s/r/q/p", "ÜBER/日本",
	}
	keys := []string{"k1", "k2"}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		var tr topics.Trie[int]
		var pairs []sub
		for _, f := range filters {
			for _, k := range keys {
				tr.Subscribe(f, k, 0)
				pairs = append(pairs, sub{f, k})
			}
		}
		checkInvariants(t, &tr)
		if tr.Len() != len(pairs) {
			t.Fatalf("Len = %d, want %d", tr.Len(), len(pairs))
		}
		// Remove in a different random order each round, so that pruning
		// is exercised from leaves, inner nodes and wildcard slots.
		rng.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
		for i, p := range pairs {
			if !tr.Unsubscribe(p.filter, p.key) {
				t.Fatalf("round %d: Unsubscribe(%q, %q) = false", round, p.filter, p.key)
			}
			if tr.Len() != len(pairs)-i-1 {
				t.Fatalf("round %d: Len = %d, want %d", round, tr.Len(), len(pairs)-i-1)
			}
			checkInvariants(t, &tr)
		}
		if n := tr.NodeCount(); n != 0 {
			t.Fatalf("round %d: %d nodes left after unsubscribing everything, want 0", round, n)
		}
	}
}

func TestTrieSubscribeInvalidPanics(t *testing.T) {
	for _, f := range []string{"", "a/#/b", "a+", "a\x00", "\xff"} {
		t.Run(fmt.Sprintf("%q", f), func(t *testing.T) {
			var tr topics.Trie[int]
			defer func() {
				r := recover()
				var e *topics.Error
				if err, ok := r.(error); !ok || !errors.As(err, &e) {
					t.Errorf("Subscribe(%q) panicked with %v, want *topics.Error", f, r)
				}
				if tr.Len() != 0 || tr.NodeCount() != 0 {
					t.Errorf("failed Subscribe left state behind")
				}
			}()
			tr.Subscribe(f, "c", 0)
		})
	}
}

// Random filters and names are built from a small alphabet of levels so
// that matches, near-misses, empty levels and '$' names are all common.
var (
	filterLevels = []string{"a", "b", "", "$x", "+", "+", "#"}
	nameLevels   = []string{"a", "b", "", "$x", "c"}
)

func randomFilter(rng *rand.Rand) string {
	n := 1 + rng.IntN(5)
	levels := make([]string, n)
	for i := range levels {
		l := filterLevels[rng.IntN(len(filterLevels))]
		if l == "#" && i != n-1 {
			l = "+"
		}
		levels[i] = l
	}
	if f := strings.Join(levels, "/"); f != "" {
		return f
	}
	return "/" // a lone empty level is not a valid filter; use two
}

func randomName(rng *rand.Rand) string {
	n := 1 + rng.IntN(6)
	levels := make([]string, n)
	for i := range levels {
		levels[i] = nameLevels[rng.IntN(len(nameLevels))]
	}
	return strings.Join(levels, "/")
}

// TestTrieAgreesWithMatch is the property test: after any sequence of
// subscribes and unsubscribes, Trie.Match reports exactly the stored
// subscriptions for which the package-level Match is true, and Match
// agrees with the naive reference matcher.
func TestTrieAgreesWithMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(4711, 42))
	keys := []string{"c1", "c2", "c3"}
	var tr topics.Trie[int]
	subs := map[sub]bool{}
	for step := range 3000 {
		f := randomFilter(rng)
		if err := topics.ValidateFilter([]byte(f)); err != nil {
			t.Fatalf("generated invalid filter: %v", err)
		}
		k := keys[rng.IntN(len(keys))]
		if rng.IntN(3) == 0 {
			s := sub{f, k}
			if got := tr.Unsubscribe(f, k); got != subs[s] {
				t.Fatalf("step %d: Unsubscribe(%q, %q) = %v, want %v", step, f, k, got, subs[s])
			}
			delete(subs, s)
		} else {
			s := sub{f, k}
			if got := tr.Subscribe(f, k, step); got != subs[s] {
				t.Fatalf("step %d: Subscribe(%q, %q) replaced = %v, want %v", step, f, k, got, subs[s])
			}
			subs[s] = true
		}
		if tr.Len() != len(subs) {
			t.Fatalf("step %d: Len = %d, want %d", step, tr.Len(), len(subs))
		}
		if step%100 == 0 {
			checkInvariants(t, &tr)
		}
		for range 3 {
			name := randomName(rng)
			got := collect(t, &tr, name)
			want := bruteForce(subs, name)
			if !slices.Equal(got, want) {
				t.Fatalf("step %d: Trie.Match(%q) =\n%v\nbrute force:\n%v", step, name, got, want)
			}
			fname := randomFilter(rng)
			if got, want := topics.Match([]byte(fname), []byte(name)), refMatch(fname, name); got != want {
				t.Fatalf("Match(%q, %q) = %v, reference says %v", fname, name, got, want)
			}
		}
	}
	checkInvariants(t, &tr)
}

func TestTrieMatchDoesNotAllocate(t *testing.T) {
	tr := benchTrie(2000)
	// 16 levels, hitting literal, '+' and '#' paths at every depth.
	name := []byte("l0/l1/l2/l3/l4/l5/l6/l7/l8/l9/l10/l11/l12/l13/l14/l15")
	for i := range 16 {
		levels := strings.Split(string(name), "/")
		levels[i] = "+"
		tr.Subscribe(strings.Join(levels, "/"), "deep", 0)
		tr.Subscribe(strings.Join(levels[:i+1], "/")+"/#", "deep", 0)
	}
	hits := 0
	fn := func(string, string, int) { hits++ }
	if n := testing.AllocsPerRun(100, func() { tr.Match(name, fn) }); n != 0 {
		t.Errorf("Trie.Match allocates %v times per call, want 0", n)
	}
	if hits == 0 {
		t.Error("test name matched nothing")
	}
}

// TestTrieConcurrent is meant for -race: publishers match while other
// goroutines subscribe and unsubscribe disjoint key sets, and the final
// state must be exactly what the writers left behind.
func TestTrieConcurrent(t *testing.T) {
	var tr topics.Trie[int]
	tr.Subscribe("stable/#", "stable", 1)

	const writers, readers, iters = 4, 4, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			key := fmt.Sprint("w", w)
			for i := range iters {
				f := randomFilter(rng)
				tr.Subscribe(f, key, i)
				if rng.IntN(2) == 0 {
					tr.Unsubscribe(f, key)
				}
			}
		})
	}
	for r := range readers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			for range iters {
				stable := 0
				tr.Match([]byte("stable/"+randomName(rng)), func(filter, key string, v int) {
					if key == "stable" {
						stable += v
					}
				})
				if stable != 1 {
					t.Errorf("stable subscription seen %d times", stable)
					return
				}
				_ = tr.Len()
			}
		})
	}
	wg.Wait()
	checkInvariants(t, &tr)

	// Remove everything the writers left and check the trie is empty.
	var left []sub
	for w := range writers {
		rng := rand.New(rand.NewPCG(uint64(w), 99))
		for range iters {
			f := randomFilter(rng)
			rng.IntN(2)
			left = append(left, sub{f, fmt.Sprint("w", w)})
		}
	}
	for _, s := range left {
		tr.Unsubscribe(s.filter, s.key)
	}
	tr.Unsubscribe("stable/#", "stable")
	if tr.Len() != 0 || tr.NodeCount() != 0 {
		t.Errorf("Len = %d, NodeCount = %d after cleanup, want 0, 0", tr.Len(), tr.NodeCount())
	}
}
