package reports

import (
	"fmt"
	"sort"
	"strings"
)

// statementRank orders the verdicts a statement can take from the results
// of its specs: the first one any spec has decides.
var statementRank = map[string]int{
	VerdictFail:          0,
	VerdictDeviation:     1,
	VerdictPass:          2,
	VerdictInfo:          3,
	VerdictCouldNotCheck: 4,
	VerdictSkip:          5,
}

// StatementVerdicts derives, for every target of the document, one verdict
// per statement: those its results cite, and every catalogue statement
// that binds a server. A statement's verdict on a target is
//
//   - fail if any spec checking it failed (only MUST specs fail),
//   - else deviation if any failed with an accepted deviation,
//   - else pass if any passed,
//   - else info, could-not-check or skip, in that order,
//   - else untestable when the catalogue says why no spec can check it,
//   - else not-covered.
//
// Statements come in catalogue order, then any the catalogue lacks in
// sorted order; targets in TargetNames order.
func StatementVerdicts(doc ConformanceDoc) []StatementVerdict {
	ids, untestable := statementOrder(doc)
	type key struct{ target, id string }
	refs := map[key][]SpecRef{}
	decider := map[key]Result{}
	for _, r := range doc.Results {
		for _, id := range r.Statements {
			k := key{r.Target, id}
			refs[k] = append(refs[k], SpecRef{Spec: r.Spec, Verdict: r.Verdict})
			if d, ok := decider[k]; !ok || rank(r.Verdict) < rank(d.Verdict) {
				decider[k] = r
			}
		}
	}
	var out []StatementVerdict
	for _, t := range doc.TargetNames() {
		for _, id := range ids {
			k := key{t, id}
			sv := StatementVerdict{Target: t, Statement: id, Specs: refs[k]}
			if d, ok := decider[k]; ok {
				sv.Verdict = d.Verdict
				if sv.Verdict != VerdictPass {
					sv.Reason = d.Reason
				}
			} else if why, ok := untestable[id]; ok {
				sv.Verdict, sv.Reason = VerdictUntestable, why
			} else {
				sv.Verdict = VerdictNotCovered
			}
			out = append(out, sv)
		}
	}
	return out
}

func rank(v string) int {
	if r, ok := statementRank[v]; ok {
		return r
	}
	return len(statementRank)
}

// statementOrder returns the statements the verdicts cover: the
// catalogue's server statements in order, then statements only results
// cite, sorted; and the untestable reasons by ID.
func statementOrder(doc ConformanceDoc) ([]string, map[string]string) {
	var ids []string
	seen := map[string]bool{}
	untestable := map[string]string{}
	for _, s := range doc.Catalogue {
		if !s.BindsServer() || seen[s.ID] {
			continue
		}
		seen[s.ID] = true
		ids = append(ids, s.ID)
		if s.Untestable != "" {
			untestable[s.ID] = s.Untestable
		}
	}
	var extra []string
	for _, r := range doc.Results {
		for _, id := range r.Statements {
			if !seen[id] {
				seen[id] = true
				extra = append(extra, id)
			}
		}
	}
	sort.Strings(extra)
	return append(ids, extra...), untestable
}

// Tally counts results by verdict.
type Tally map[string]int

// Total is the number of results counted.
func (t Tally) Total() int {
	n := 0
	for _, c := range t {
		n += c
	}
	return n
}

// SummaryRow is the tally of one area at one level.
type SummaryRow struct {
	Area, Level string
	Tally       Tally
}

// TargetSummary tallies the results of one target.
type TargetSummary struct {
	Target string
	// Total counts every result of the target.
	Total Tally
	// Rows are per area and level, areas in the order results first name
	// them, levels must, should, may.
	Rows []SummaryRow
	// Levels are per level, in the order must, should, may.
	Levels []SummaryRow
	// Violated are the MUST statements that fail on the target.
	Violated []string
}

// Summarize tallies the results per target.
func Summarize(doc ConformanceDoc) []TargetSummary {
	areas := doc.Areas()
	levels := levelOrder(doc.Results)
	violated := map[string][]string{}
	for _, sv := range doc.statementVerdicts() {
		if sv.Verdict == VerdictFail {
			violated[sv.Target] = append(violated[sv.Target], sv.Statement)
		}
	}
	var out []TargetSummary
	for _, t := range doc.TargetNames() {
		s := TargetSummary{Target: t, Total: Tally{}, Violated: violated[t]}
		byArea := map[[2]string]Tally{}
		byLevel := map[string]Tally{}
		for _, r := range doc.Results {
			if r.Target != t {
				continue
			}
			s.Total[r.Verdict]++
			k := [2]string{r.Area, r.Level}
			if byArea[k] == nil {
				byArea[k] = Tally{}
			}
			byArea[k][r.Verdict]++
			if byLevel[r.Level] == nil {
				byLevel[r.Level] = Tally{}
			}
			byLevel[r.Level][r.Verdict]++
		}
		for _, a := range areas {
			for _, l := range levels {
				if tl := byArea[[2]string{a, l}]; tl != nil {
					s.Rows = append(s.Rows, SummaryRow{Area: a, Level: l, Tally: tl})
				}
			}
		}
		for _, l := range levels {
			if tl := byLevel[l]; tl != nil {
				s.Levels = append(s.Levels, SummaryRow{Level: l, Tally: tl})
			}
		}
		out = append(out, s)
	}
	return out
}

// statementVerdicts returns the document's derived verdicts, computing
// them when the document holds none.
func (d ConformanceDoc) statementVerdicts() []StatementVerdict {
	if len(d.StatementVerdicts) > 0 {
		return d.StatementVerdicts
	}
	return StatementVerdicts(d)
}

// Areas returns the areas of the results in the order they first appear.
func (d ConformanceDoc) Areas() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range d.Results {
		if !seen[r.Area] {
			seen[r.Area] = true
			out = append(out, r.Area)
		}
	}
	return out
}

// levelOrder returns must, should and may, then any other level the
// results use, sorted.
func levelOrder(rs []Result) []string {
	out := []string{"must", "should", "may"}
	seen := map[string]bool{"must": true, "should": true, "may": true}
	var extra []string
	for _, r := range rs {
		if !seen[r.Level] {
			seen[r.Level] = true
			extra = append(extra, r.Level)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

// Headline is the one-line verdict of a document.
type Headline struct {
	// Status is "FAIL" (a MUST statement was violated), "PASS", or
	// "NO RESULTS" (nothing was judged).
	Status string
	// Text is the whole line: "FAIL - 2 MUST statements violated on
	// mosquitto".
	Text string
}

// Headline sums the document up in one line.
func (d ConformanceDoc) Headline() Headline {
	sums := Summarize(d)
	var failed []string
	total := Tally{}
	for _, s := range sums {
		for v, n := range s.Total {
			total[v] += n
		}
		if n := len(s.Violated); n > 0 {
			if len(failed) == 0 {
				failed = append(failed, fmt.Sprintf("%d MUST %s violated on %s", n, plural(n, "statement", "statements"), s.Target))
			} else {
				failed = append(failed, fmt.Sprintf("%d on %s", n, s.Target))
			}
		}
	}
	switch {
	case len(failed) > 0:
		return Headline{Status: "FAIL", Text: "FAIL - " + strings.Join(failed, ", ")}
	case total[VerdictPass]+total[VerdictDeviation]+total[VerdictInfo] == 0:
		text := "NO RESULTS - no spec judged its rule"
		if n := total.Total(); n > 0 {
			text += fmt.Sprintf(" (%s)", tallyPhrase(total))
		}
		return Headline{Status: "NO RESULTS", Text: text}
	default:
		names := make([]string, len(sums))
		for i, s := range sums {
			names[i] = s.Target
		}
		return Headline{Status: "PASS", Text: fmt.Sprintf("PASS - no MUST statement violated on %s (%s)",
			strings.Join(names, ", "), tallyPhrase(total))}
	}
}

// tallyPhrase says a tally in words: "27 passed, 1 deviation, 2 could not
// check".
func tallyPhrase(t Tally) string {
	var parts []string
	for _, v := range SpecVerdicts {
		if n := t[v]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, verdictWords(v, n)))
		}
	}
	if len(parts) == 0 {
		return "no results"
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func verdictWords(v string, n int) string {
	switch v {
	case VerdictPass:
		return "passed"
	case VerdictFail:
		return "failed"
	case VerdictDeviation:
		return plural(n, "accepted deviation", "accepted deviations")
	case VerdictInfo:
		return "info"
	case VerdictSkip:
		return "skipped"
	case VerdictCouldNotCheck:
		return "could not check"
	}
	return v
}

// Coverage is how much of the catalogue the suite covers.
type Coverage struct {
	// Server counts the statements that bind a server.
	Server int
	// Covered are those a spec checks (in the suite, or in this run).
	Covered int
	// Ran are the covered statements some result of this run checks.
	Ran int
	// Untestable are those no spec can check from outside, with a reason.
	Untestable int
	// Missing lists the statements neither covered nor untestable.
	Missing []string
}

// Coverage status of a catalogue statement.
const (
	CoverageCovered    = "covered"
	CoverageUntestable = "untestable"
	CoverageMissing    = "missing"
	CoverageClient     = "client"
)

// CoverageStatus says whether a statement is covered, untestable,
// missing, or (binding only clients) out of the broker suite's scope.
func (d ConformanceDoc) CoverageStatus(s Statement) string {
	switch {
	case !s.BindsServer():
		return CoverageClient
	case len(s.Specs) > 0 || d.checked()[s.ID]:
		return CoverageCovered
	case s.Untestable != "":
		return CoverageUntestable
	}
	return CoverageMissing
}

// checked returns the statement IDs some result cites.
func (d ConformanceDoc) checked() map[string]bool {
	m := map[string]bool{}
	for _, r := range d.Results {
		for _, id := range r.Statements {
			m[id] = true
		}
	}
	return m
}

// Coverage counts the catalogue's server statements by coverage status.
func (d ConformanceDoc) Coverage() Coverage {
	var c Coverage
	ran := d.checked()
	for _, s := range d.Catalogue {
		switch d.CoverageStatus(s) {
		case CoverageClient:
			continue
		case CoverageCovered:
			c.Covered++
			if ran[s.ID] {
				c.Ran++
			}
		case CoverageUntestable:
			c.Untestable++
		case CoverageMissing:
			c.Missing = append(c.Missing, s.ID)
		}
		c.Server++
	}
	return c
}
