package reports

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
)

// MarkdownTranscriptLines is how many lines of a transcript the Markdown
// summary shows; the HTML report has them all. CI step summaries and
// merge-request comments have size limits.
const MarkdownTranscriptLines = 60

// verdictIcon marks verdicts in Markdown.
var verdictIcon = map[string]string{
	VerdictPass:          "✅",
	VerdictFail:          "❌",
	VerdictDeviation:     "⚠️",
	VerdictInfo:          "ℹ️",
	VerdictSkip:          "⏭️",
	VerdictCouldNotCheck: "❔",
	VerdictNotCovered:    "➖",
	VerdictUntestable:    "🚫",
}

// verdictColumns are the verdict columns of summary tables.
var verdictColumns = []struct{ verdict, title string }{
	{VerdictPass, "pass"}, {VerdictFail, "fail"}, {VerdictDeviation, "deviation"},
	{VerdictInfo, "info"}, {VerdictSkip, "skip"}, {VerdictCouldNotCheck, "could not check"},
}

// specTitle is the spec's name without the statement IDs it starts with.
func specTitle(r Result) string {
	return strings.TrimPrefix(r.Spec, strings.Join(r.Statements, " ")+" ")
}

// statementList renders statement IDs as inline code.
func statementList(ids []string) string {
	if len(ids) == 0 {
		return "(no statement ID)"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = mdCode(id)
	}
	return strings.Join(parts, " ")
}

// WriteConformanceMarkdown writes the summary CI shows on a run's page
// ($GITHUB_STEP_SUMMARY) or in a merge-request comment: the verdict line,
// a table per target by area and level, then every failure with its
// statement IDs, one-line reason, expected and observed behaviour and
// wire transcript (in a collapsed block), then accepted deviations,
// findings and what could not be checked, and the catalogue coverage.
func WriteConformanceMarkdown(w io.Writer, doc ConformanceDoc) error {
	var b bytes.Buffer
	h := doc.Headline()
	icon := "✅"
	switch h.Status {
	case "FAIL":
		icon = "❌"
	case "NO RESULTS":
		icon = "❔"
	}
	fmt.Fprintf(&b, "## %s %s\n\n", icon, mdText(h.Text))
	b.WriteString(docLine(doc))
	b.WriteString("\n\n")

	sums := Summarize(doc)
	b.WriteString("| target | address | protocol | broker |")
	for _, c := range verdictColumns {
		fmt.Fprintf(&b, " %s |", c.title)
	}
	b.WriteString("\n|:--|:--|:--|:--|")
	b.WriteString(strings.Repeat("--:|", len(verdictColumns)))
	b.WriteString("\n")
	for _, s := range sums {
		t, _ := doc.Target(s.Target)
		fmt.Fprintf(&b, "| %s | %s | %s | %s |", mdText(s.Target), mdCode(t.Address), mdText(t.Protocol), mdText(t.Banner))
		writeTallyCells(&b, s.Total)
		b.WriteString("\n")
	}

	for _, s := range sums {
		fmt.Fprintf(&b, "\n### %s\n\n", mdText(s.Target))
		if len(s.Violated) > 0 {
			fmt.Fprintf(&b, "MUST statements violated: %s\n\n", statementList(s.Violated))
		}
		b.WriteString("| area | level |")
		for _, c := range verdictColumns {
			fmt.Fprintf(&b, " %s |", c.title)
		}
		b.WriteString("\n|:--|:--|")
		b.WriteString(strings.Repeat("--:|", len(verdictColumns)))
		b.WriteString("\n")
		for _, r := range s.Rows {
			fmt.Fprintf(&b, "| %s | %s |", mdText(r.Area), mdText(r.Level))
			writeTallyCells(&b, r.Tally)
			b.WriteString("\n")
		}
		b.WriteString("| **total** | |")
		writeTallyCells(&b, s.Total)
		b.WriteString("\n")
		if t, ok := doc.Target(s.Target); ok {
			if absent := absentCapabilities(t); len(absent) > 0 {
				fmt.Fprintf(&b, "\nAbsent capabilities (their specs are skipped): %s\n", strings.Join(absent, "; "))
			}
		}
	}

	writeFailuresMarkdown(&b, doc)
	writeOneLiners(&b, doc, VerdictDeviation, "Accepted deviations", "documented in the target's profile; they do not fail the run")
	writeOneLiners(&b, doc, VerdictInfo, "SHOULD and MAY findings", "information, never a failure")
	writeOneLiners(&b, doc, VerdictCouldNotCheck, "Could not check", "the rule was not judged: a setup step failed or the target stopped answering")

	if len(doc.Catalogue) > 0 {
		cv := doc.Coverage()
		fmt.Fprintf(&b, "\n### Coverage\n\n%s\n", coverageSentence(doc, cv))
		if len(cv.Missing) > 0 {
			fmt.Fprintf(&b, "\nMissing: %s\n", statementList(cv.Missing))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// docLine is the line under a report's title: tool, spec, time, size.
func docLine(doc ConformanceDoc) string {
	var parts []string
	if doc.Tool.Name != "" || doc.Tool.Version != "" {
		parts = append(parts, strings.TrimSpace(doc.Tool.Name+" "+doc.Tool.Version))
	}
	if doc.Spec != "" {
		parts = append(parts, doc.Spec)
	}
	parts = append(parts, "generated "+humanTime(doc.GeneratedAt))
	if doc.Run != nil {
		parts = append(parts, "run took "+humanDuration(doc.Run.Duration))
		if doc.Run.LabelFilter != "" {
			parts = append(parts, "label filter "+mdCode(doc.Run.LabelFilter))
		}
	}
	parts = append(parts, fmt.Sprintf("%d %s", len(doc.Results), plural(len(doc.Results), "spec result", "spec results")))
	for i, p := range parts {
		if !strings.HasPrefix(p, "label filter ") {
			parts[i] = mdText(p)
		}
	}
	return strings.Join(parts, " · ")
}

func writeTallyCells(b *bytes.Buffer, t Tally) {
	for _, c := range verdictColumns {
		n := t[c.verdict]
		if c.verdict == VerdictFail && n > 0 {
			fmt.Fprintf(b, " **%d** |", n)
		} else {
			fmt.Fprintf(b, " %d |", n)
		}
	}
}

// absentCapabilities lists "name (reason)" for capabilities the target
// lacks, sorted.
func absentCapabilities(t Target) []string {
	var out []string
	for c, ok := range t.Capabilities {
		if ok {
			continue
		}
		s := mdText(c)
		if why := t.CapabilityReasons[c]; why != "" {
			s += " (" + mdText(why) + ")"
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func writeFailuresMarkdown(b *bytes.Buffer, doc ConformanceDoc) {
	var fails []Result
	for _, r := range doc.Results {
		if r.Verdict == VerdictFail {
			fails = append(fails, r)
		}
	}
	if len(fails) == 0 {
		return
	}
	fmt.Fprintf(b, "\n### Failures (%d)\n", len(fails))
	for _, r := range fails {
		fmt.Fprintf(b, "\n#### ❌ %s on %s: %s\n\n", statementList(r.Statements), mdText(r.Target), mdText(specTitle(r)))
		if r.Reason != "" && r.Expected == "" && r.Happened == "" {
			fmt.Fprintf(b, "%s\n\n", mdText(r.Reason))
		}
		if r.Expected != "" {
			fmt.Fprintf(b, "- **Expected:** %s\n", mdText(r.Expected))
		}
		if r.Happened != "" {
			fmt.Fprintf(b, "- **Happened:** %s\n", mdText(r.Happened))
		}
		if r.Detail != "" {
			fmt.Fprintf(b, "- **Detail:** %s\n", mdText(r.Detail))
		}
		if r.Notes != "" {
			fmt.Fprintf(b, "- **Notes:** %s\n", mdText(r.Notes))
		}
		if r.Pcap != "" {
			fmt.Fprintf(b, "- **Capture:** %s\n", mdCode(r.Pcap))
		}
		if r.Location != "" {
			fmt.Fprintf(b, "- **Spec:** %s\n", mdCode(r.Location))
		}
		if r.Transcript != "" {
			tr, more := firstLines(r.Transcript, MarkdownTranscriptLines)
			n := strings.Count(strings.TrimRight(r.Transcript, "\n"), "\n") + 1
			fence := mdFence(tr)
			fmt.Fprintf(b, "\n<details><summary>Wire transcript (%d %s)</summary>\n\n%stext\n%s\n%s\n", n,
				plural(n, "line", "lines"), fence, tr, fence)
			if more > 0 {
				fmt.Fprintf(b, "\n%d more %s: see the HTML report.\n", more, plural(more, "line", "lines"))
			}
			b.WriteString("\n</details>\n")
		}
	}
}

func writeOneLiners(b *bytes.Buffer, doc ConformanceDoc, verdict, title, why string) {
	var rs []Result
	for _, r := range doc.Results {
		if r.Verdict == verdict {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(b, "\n### %s (%d)\n\n%s.\n\n", title, len(rs), strings.ToUpper(why[:1])+why[1:])
	for _, r := range rs {
		fmt.Fprintf(b, "- %s %s on %s: %s", verdictIcon[verdict], statementList(r.Statements), mdText(r.Target), mdText(specTitle(r)))
		if r.Reason != "" {
			fmt.Fprintf(b, " - %s", mdText(r.Reason))
		}
		if r.Deviation != "" {
			fmt.Fprintf(b, " (evidence: %s)", mdText(r.Deviation))
		}
		b.WriteString("\n")
	}
}

// coverageSentence sums the catalogue coverage up in words.
func coverageSentence(doc ConformanceDoc, cv Coverage) string {
	spec := doc.Spec
	if spec == "" {
		spec = "The catalogue"
	}
	return fmt.Sprintf("%s: %d statements bind a server; %d are covered by specs (%d checked in this run), %d cannot be checked from outside the broker (reason given), %d missing.",
		spec, cv.Server, cv.Covered, cv.Ran, cv.Untestable, len(cv.Missing))
}
