package conformance

import (
	"strings"
	"testing"
)

// A target that stops answering is reported once, not once per spec.
func TestSummaryReportsDownTargetOnce(t *testing.T) {
	rs := []Result{
		{Target: "b", Area: "connect", Level: "must", Name: "x", Verdict: VerdictPass},
		{Target: "b", Area: "connect", Level: "must", Name: "y", Verdict: VerdictFail, Reason: "expected: a / happened: b"},
		{Target: "b", Area: "will", Level: "must", Name: "z", Verdict: VerdictCouldNotCheck, Reason: downPrefix + "127.0.0.1:1 refused connections during \"y\""},
		{Target: "b", Area: "will", Level: "must", Name: "w", Verdict: VerdictCouldNotCheck, Reason: downPrefix + "127.0.0.1:1 refused connections during \"y\""},
	}
	s := Summarize(rs)
	if got := s.ByTarget["b"]; got[VerdictPass] != 1 || got[VerdictFail] != 1 || got[VerdictCouldNotCheck] != 2 {
		t.Fatalf("tally %v", got)
	}
	var b strings.Builder
	s.WriteText(&b)
	out := b.String()
	if n := strings.Count(out, "TARGET STOPPED ANSWERING"); n != 1 {
		t.Fatalf("reported %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "MUST failures (1)") || !strings.Contains(out, "expected: a / happened: b") {
		t.Fatalf("failure missing:\n%s", out)
	}
}
