package reports

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
)

var conformanceTemplate = mustTemplate("conformance.html.tmpl")

// htmlResult is a result as the page shows it.
type htmlResult struct {
	Result
	Title           string
	Time            string
	HasBody         bool
	TranscriptLines int
	Class           string // "failure" for MUST failures
	Anchor          string // element id of a finding
}

type tallyCell struct {
	N   int
	Hot bool
}

type tallyRow struct {
	Area, Level string
	Cells       []tallyCell
}

type barSegment struct {
	Verdict string
	N       int
	X, W    string
}

type capRow struct {
	Name    string
	Present bool
	Reason  string
}

type htmlTarget struct {
	Target
	Violated   []string
	Rows       []tallyRow
	TotalCells []tallyCell
	Bar        []barSegment
	BarLabel   string
	Legend     []barSegment
	Caps       []capRow
}

type htmlVerdictCell struct {
	Verdict, Title string
}

type htmlStatement struct {
	Statement
	Status      string
	Verdicts    []htmlVerdictCell
	VerdictList string
}

type conformancePage struct {
	pageAssets
	Title, Generator, Meta, Status, Schema string
	Headline                               Headline
	Columns                                []string
	Targets                                []htmlTarget
	Failures, Others, Results              []htmlResult
	Filters                                []filterGroup
	TargetNames                            []string
	Catalogue                              []htmlStatement
	CoverageText                           string
	CoverageOptions, StatementOptions      []filterOption
}

// WriteConformanceHTML writes the document as one self-contained HTML
// page: no external assets, no network requests (a Content Security
// Policy forbids them), so it opens from disk or a CI artifact. It shows
// the verdict, a card per target (summary by area and level,
// capabilities), every MUST failure with the statement it breaks, the
// expected behaviour, what happened and the wire transcript (each
// expandable), accepted deviations and SHOULD/MAY findings, all results
// with filters by target, area, level and verdict, and the coverage of the
// statement catalogue (covered, untestable with the reason, missing) with
// each statement's verdict per target.
func WriteConformanceHTML(w io.Writer, doc ConformanceDoc) error {
	page := conformancePage{
		pageAssets: newPageAssets(),
		Title:      "mqtt-check conformance report",
		Generator:  generator(doc.Tool),
		Meta:       plainDocLine(doc),
		Schema:     ConformanceSchema,
		Headline:   doc.Headline(),
	}
	page.Status = statusClass(page.Headline.Status)
	for _, c := range verdictColumns {
		title := c.title
		if c.verdict == VerdictCouldNotCheck {
			title = "unchecked"
		}
		page.Columns = append(page.Columns, title)
	}
	for _, s := range Summarize(doc) {
		t, ok := doc.Target(s.Target)
		if !ok {
			t = Target{Name: s.Target}
		}
		page.Targets = append(page.Targets, newHTMLTarget(t, s))
	}

	counts := map[string]map[string]int{"target": {}, "area": {}, "level": {}, "verdict": {}}
	for _, r := range doc.Results {
		hr := newHTMLResult(r)
		page.Results = append(page.Results, hr)
		switch r.Verdict {
		case VerdictFail:
			hr.Anchor = fmt.Sprintf("failure-%d", len(page.Failures)+1)
			page.Failures = append(page.Failures, hr)
		case VerdictDeviation, VerdictInfo:
			hr.Anchor = fmt.Sprintf("finding-%d", len(page.Others)+1)
			page.Others = append(page.Others, hr)
		}
		counts["target"][r.Target]++
		counts["area"][r.Area]++
		counts["level"][r.Level]++
		counts["verdict"][r.Verdict]++
	}
	page.TargetNames = doc.TargetNames()
	page.Filters = []filterGroup{
		{Key: "verdict", Title: "verdict", Options: countOptions("verdict", SpecVerdicts, counts["verdict"])},
		{Key: "target", Title: "target", Options: countOptions("target", page.TargetNames, counts["target"])},
		{Key: "area", Title: "area", Options: countOptions("area", doc.Areas(), counts["area"])},
		{Key: "level", Title: "level", Options: countOptions("level", levelOrder(doc.Results), counts["level"])},
	}

	if len(doc.Catalogue) > 0 {
		page.CoverageText = coverageSentence(doc, doc.Coverage())
		byKey := map[[2]string]StatementVerdict{}
		for _, sv := range doc.statementVerdicts() {
			byKey[[2]string{sv.Target, sv.Statement}] = sv
		}
		covCounts, svCounts := map[string]int{}, map[string]int{}
		for _, st := range doc.Catalogue {
			status := doc.CoverageStatus(st)
			if status == CoverageClient {
				continue
			}
			hs := htmlStatement{Statement: st, Status: status}
			var list []string
			seen := map[string]bool{}
			for _, t := range page.TargetNames {
				sv := byKey[[2]string{t, st.ID}]
				if sv.Verdict == "" {
					sv.Verdict = VerdictNotCovered
				}
				hs.Verdicts = append(hs.Verdicts, htmlVerdictCell{Verdict: sv.Verdict, Title: verdictTitle(sv)})
				if !seen[sv.Verdict] {
					seen[sv.Verdict] = true
					list = append(list, sv.Verdict)
					svCounts[sv.Verdict]++
				}
			}
			hs.VerdictList = strings.Join(list, "|")
			covCounts[status]++
			page.Catalogue = append(page.Catalogue, hs)
		}
		page.CoverageOptions = countOptions("coverage", []string{CoverageCovered, CoverageUntestable, CoverageMissing}, covCounts)
		page.StatementOptions = countOptions("verdicts", statementVerdictOrder, svCounts)
	}

	var b bytes.Buffer
	if err := conformanceTemplate.Execute(&b, page); err != nil {
		return fmt.Errorf("rendering HTML report: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// statementVerdictOrder lists statement verdicts for filters and legends.
var statementVerdictOrder = []string{VerdictFail, VerdictDeviation, VerdictPass, VerdictInfo,
	VerdictCouldNotCheck, VerdictSkip, VerdictUntestable, VerdictNotCovered}

func newHTMLResult(r Result) htmlResult {
	hr := htmlResult{Result: r, Title: specTitle(r), Time: humanDuration(r.Duration),
		TranscriptLines: lineCount(r.Transcript)}
	hr.HasBody = r.Expected != "" || r.Happened != "" || r.Detail != "" || r.Transcript != "" ||
		r.Notes != "" || r.Deviation != "" || r.Pcap != ""
	if r.Verdict == VerdictFail {
		hr.Class = "failure"
	}
	return hr
}

func newHTMLTarget(t Target, s TargetSummary) htmlTarget {
	ht := htmlTarget{Target: t, Violated: s.Violated}
	for _, r := range s.Rows {
		ht.Rows = append(ht.Rows, tallyRow{Area: r.Area, Level: r.Level, Cells: tallyCells(r.Tally)})
	}
	ht.TotalCells = tallyCells(s.Total)
	total := s.Total.Total()
	x := 0.0
	var label []string
	for _, v := range SpecVerdicts {
		n := s.Total[v]
		if n == 0 {
			continue
		}
		w := 300 * float64(n) / float64(total)
		seg := barSegment{Verdict: v, N: n, X: fmt.Sprintf("%.2f", x), W: fmt.Sprintf("%.2f", w)}
		ht.Bar = append(ht.Bar, seg)
		ht.Legend = append(ht.Legend, seg)
		label = append(label, fmt.Sprintf("%d %s", n, v))
		x += w
	}
	ht.BarLabel = strings.Join(label, ", ")
	if ht.BarLabel == "" {
		ht.BarLabel = "no results"
	}
	names := make([]string, 0, len(t.Capabilities))
	for c := range t.Capabilities {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, c := range names {
		ht.Caps = append(ht.Caps, capRow{Name: c, Present: t.Capabilities[c], Reason: t.CapabilityReasons[c]})
	}
	return ht
}

func tallyCells(t Tally) []tallyCell {
	out := make([]tallyCell, len(verdictColumns))
	for i, c := range verdictColumns {
		out[i] = tallyCell{N: t[c.verdict], Hot: c.verdict == VerdictFail && t[c.verdict] > 0}
	}
	return out
}

// verdictTitle explains a statement verdict in a tooltip.
func verdictTitle(sv StatementVerdict) string {
	var parts []string
	if sv.Reason != "" {
		parts = append(parts, sv.Reason)
	}
	for _, s := range sv.Specs {
		parts = append(parts, s.Verdict+": "+s.Spec)
	}
	if len(parts) == 0 {
		return sv.Verdict
	}
	return strings.Join(parts, "\n")
}

// statusClass is the CSS class suffix of a headline status.
func statusClass(status string) string {
	switch status {
	case "FAIL":
		return "fail"
	case "PASS":
		return "pass"
	}
	return "none"
}

// generator names the tool in page footers.
func generator(t Tool) string {
	s := strings.TrimSpace(t.Name + " " + t.Version)
	if s == "" {
		return "mqtt-check"
	}
	return s
}

// plainDocLine is docLine without Markdown escapes.
func plainDocLine(doc ConformanceDoc) string {
	var parts []string
	parts = append(parts, generator(doc.Tool))
	if doc.Spec != "" {
		parts = append(parts, doc.Spec)
	}
	parts = append(parts, "generated "+humanTime(doc.GeneratedAt))
	if doc.Run != nil {
		parts = append(parts, "run took "+humanDuration(doc.Run.Duration))
		if doc.Run.LabelFilter != "" {
			parts = append(parts, "label filter "+doc.Run.LabelFilter)
		}
	}
	parts = append(parts, fmt.Sprintf("%d %s", len(doc.Results), plural(len(doc.Results), "spec result", "spec results")))
	return strings.Join(parts, " · ")
}
