package topics_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mqtt-check/mqtt-check/reference/topics"
)

func BenchmarkMatch(b *testing.B) {
	cases := []struct{ name, filter, topic string }{
		{"exact", "sport/tennis/player1/ranking", "sport/tennis/player1/ranking"},
		{"plus", "sport/+/player1/+", "sport/tennis/player1/ranking"},
		{"hash", "sport/#", "sport/tennis/player1/score/wimbledon"},
		{"early-mismatch", "news/#", "sport/tennis/player1/ranking"},
		{"dollar-rejected", "#", "$SYS/broker/clients/connected"},
		{"16-levels", "l0/+/l2/+/l4/+/l6/+/l8/+/l10/+/l12/+/l14/#",
			"l0/l1/l2/l3/l4/l5/l6/l7/l8/l9/l10/l11/l12/l13/l14/l15"},
	}
	for _, c := range cases {
		filter, topic := []byte(c.filter), []byte(c.topic)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				topics.Match(filter, topic)
			}
		})
	}
}

// benchTrie builds a trie of n subscriptions shaped like a fleet of
// devices: mostly exact per-sensor filters, plus per-device '+' and '#'
// filters, per-tenant '+' filters and a few global wildcards.
func benchTrie(n int) *topics.Trie[int] {
	tr := new(topics.Trie[int])
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; tr.Len() < n; i++ {
		t, d, s := rng.IntN(20), rng.IntN(100), rng.IntN(10)
		var f string
		switch r := rng.IntN(100); {
		case r < 70:
			f = fmt.Sprintf("tenant%d/device%d/sensor%d", t, d, s)
		case r < 85:
			f = fmt.Sprintf("tenant%d/device%d/+", t, d)
		case r < 95:
			f = fmt.Sprintf("tenant%d/+/sensor%d", t, s)
		default:
			f = fmt.Sprintf("tenant%d/device%d/#", t, d)
		}
		tr.Subscribe(f, fmt.Sprint("client", i%500), i)
	}
	tr.Subscribe("#", "monitor", 0)
	tr.Subscribe("+/+/+", "monitor", 0)
	tr.Subscribe("$SYS/#", "monitor", 0)
	return tr
}

func BenchmarkTrieMatch(b *testing.B) {
	tr := benchTrie(10000)
	rng := rand.New(rand.NewPCG(2, 2))
	names := make([][]byte, 1024)
	for i := range names {
		names[i] = fmt.Appendf(nil, "tenant%d/device%d/sensor%d", rng.IntN(20), rng.IntN(100), rng.IntN(10))
	}
	deep := []byte(strings.TrimSuffix(strings.Repeat("tenant1/", 16), "/"))
	b.Logf("%d subscriptions", tr.Len())

	run := func(b *testing.B, next func(i int) []byte) {
		hits := 0
		fn := func(string, string, int) { hits++ }
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			tr.Match(next(i), fn)
			i++
		}
		b.ReportMetric(float64(hits)/float64(i), "matches/op")
	}
	b.Run("10k-mixed", func(b *testing.B) {
		run(b, func(i int) []byte { return names[i&(len(names)-1)] })
	})
	b.Run("10k-16-levels", func(b *testing.B) {
		run(b, func(int) []byte { return deep })
	})
	b.Run("10k-dollar", func(b *testing.B) {
		sys := []byte("$SYS/broker/clients/connected")
		run(b, func(int) []byte { return sys })
	})
}

func BenchmarkTrieSubscribeUnsubscribe(b *testing.B) {
	tr := benchTrie(10000)
	b.ReportAllocs()
	for b.Loop() {
		tr.Subscribe("tenant3/device7/sensor99/extra", "bench", 1)
		tr.Unsubscribe("tenant3/device7/sensor99/extra", "bench")
	}
}
