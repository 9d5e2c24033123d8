package topics_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mqtt-check/mqtt-check/reference/topics"
)

var knownRules = map[string]bool{
	"MQTT-1.5.3-1": true, "MQTT-4.7.1-1": true, "MQTT-4.7.1-2": true,
	"MQTT-4.7.1-3": true, "MQTT-4.7.3-1": true, "MQTT-4.7.3-2": true,
	"MQTT-4.7.3-3": true, "MQTT-4.8.2-1": true, "MQTT-4.8.2-2": true,
}

// FuzzValidateFilter checks that validation never panics, that every
// rejection names a known rule, and that every accepted filter really
// satisfies the section 4.7 rules as restated independently here.
func FuzzValidateFilter(f *testing.F) {
	for _, s := range []string{"a", "#", "+/+", "sport/tennis/#", "a/#/b", "a+", "", "\x00", "$share/g/a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		ferr := topics.ValidateFilter(b)
		nerr := topics.ValidateTopicName(b)
		for _, err := range []error{ferr, nerr} {
			if err == nil {
				continue
			}
			var e *topics.Error
			if !errors.As(err, &e) || !knownRules[e.Rule] || e.Reason == "" {
				t.Fatalf("bad error %#v", err)
			}
			_ = err.Error()
		}
		if ferr == nil {
			if len(s) == 0 || len(s) > topics.MaxLen || !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("ValidateFilter accepted %q", s)
			}
			levels := strings.Split(s, "/")
			for i, l := range levels {
				if strings.ContainsAny(l, "+#") && l != "+" && l != "#" {
					t.Fatalf("ValidateFilter accepted %q: wildcard sharing level %q", s, l)
				}
				if l == "#" && i != len(levels)-1 {
					t.Fatalf("ValidateFilter accepted %q: '#' not last", s)
				}
			}
		}
		// A topic name is a filter without wildcards.
		if wantName := ferr == nil && !topics.HasWildcard(b); (nerr == nil) != wantName {
			t.Fatalf("ValidateTopicName(%q) = %v, ValidateFilter = %v", s, nerr, ferr)
		}

		share, inner, ok, err := topics.ParseShared(b)
		switch {
		case err != nil:
			var e *topics.Error
			if !errors.As(err, &e) || !knownRules[e.Rule] || e.Topic != s {
				t.Fatalf("ParseShared(%q): bad error %#v", s, err)
			}
		case !ok:
			if ferr != nil || !bytes.Equal(inner, b) || share != nil {
				t.Fatalf("ParseShared(%q) = %q, %q, %v, %v", s, share, inner, ok, err)
			}
		default:
			if want := "$share/" + string(share) + "/" + string(inner); want != s {
				t.Fatalf("ParseShared(%q) split into %q and %q", s, share, inner)
			}
			if len(share) == 0 || bytes.ContainsAny(share, "/+#") || topics.ValidateFilter(inner) != nil {
				t.Fatalf("ParseShared(%q) accepted share %q inner %q", s, share, inner)
			}
			if ferr != nil {
				t.Fatalf("ParseShared(%q) accepted a filter ValidateFilter rejects: %v", s, ferr)
			}
		}
	})
}

// FuzzMatch checks that Match never panics on any input and, for valid
// filters, agrees with both the naive reference matcher and a Trie.
func FuzzMatch(f *testing.F) {
	for _, c := range matchRows {
		f.Add(c.filter, c.topic)
	}
	f.Fuzz(func(t *testing.T, filter, name string) {
		got := topics.Match([]byte(filter), []byte(name))
		if topics.ValidateFilter([]byte(filter)) != nil {
			return // result unspecified; only "no panic" is required
		}
		if want := refMatch(filter, name); got != want {
			t.Fatalf("Match(%q, %q) = %v, reference says %v", filter, name, got, want)
		}
		// Store the filter alongside derived filters so the trie has
		// siblings and wildcard slots to get wrong.
		var tr topics.Trie[int]
		subs := map[sub]bool{}
		for _, fl := range derivedFilters(filter) {
			tr.Subscribe(fl, "k", 0)
			subs[sub{fl, "k"}] = true
		}
		if g, w := collect(t, &tr, name), bruteForce(subs, name); !slices.Equal(g, w) {
			t.Fatalf("Trie.Match(%q) with filters %q = %v, brute force %v", name, derivedFilters(filter), g, w)
		}
		for s := range subs {
			tr.Unsubscribe(s.filter, s.key)
		}
		if tr.Len() != 0 || tr.NodeCount() != 0 {
			t.Fatalf("trie not empty after unsubscribing all: Len %d, nodes %d", tr.Len(), tr.NodeCount())
		}
	})
}

// derivedFilters returns filter together with variants that replace each
// level with '+' and truncate it with '#', all of which remain valid.
func derivedFilters(filter string) []string {
	out := []string{filter, "#", "+"}
	levels := strings.Split(filter, "/")
	for i := range levels {
		if len(levels) > 16 {
			break // keep pathological inputs cheap
		}
		v := append([]string(nil), levels...)
		if v[i] != "#" {
			v[i] = "+"
			out = append(out, strings.Join(v, "/"))
		}
		out = append(out, strings.Join(append(levels[:i:i], "#"), "/"))
	}
	return out
}
