package reports

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// ChangeKind classifies how a verdict changed between two documents.
type ChangeKind string

// Kinds of change, from the gate's point of view.
const (
	// Regression: passing (or an accepted deviation) before, failing now.
	// Only regressions fail a release gate.
	Regression ChangeKind = "regression"
	// NewlyFailing: failing now, and neither passing nor an accepted
	// deviation before (not run, skipped, could not check, new spec).
	NewlyFailing ChangeKind = "newly-failing"
	// Fixed: failing before, not failing now (and it ran).
	Fixed ChangeKind = "fixed"
	// Changed: any other change of verdict, such as pass to skip.
	Changed ChangeKind = "changed"
)

// Change is one statement or spec whose verdict on a target changed.
type Change struct {
	Kind ChangeKind
	// Target is the target's name in the new document ("old -> new" when
	// a single target was renamed).
	Target string
	// Statement is set for a statement change, Spec for a spec change.
	Statement string
	Spec      string
	// Old and New are the verdicts; "" when absent from that document.
	Old, New string
	// Reason is the newer reason for the verdict, when there is one.
	Reason string
}

// DiffResult is what changed between two conformance documents, per
// target and statement and per target and spec.
type DiffResult struct {
	// OldDoc and NewDoc say which runs were compared.
	OldDoc, NewDoc string
	// Targets pairs the targets compared (old name, new name).
	Targets [][2]string
	// OnlyOld and OnlyNew are targets found in one document only.
	OnlyOld, OnlyNew []string
	// Statements and Specs are the changes, regressions first.
	Statements []Change
	Specs      []Change
	// Unchanged counts the statements and specs whose verdict is the same.
	UnchangedStatements, UnchangedSpecs int
	// StillFailing counts statements failing in both.
	StillFailing int
}

// HasRegression reports whether a statement or spec regressed: the
// release gate's question.
func (d DiffResult) HasRegression() bool {
	return len(d.Regressions()) > 0
}

// Regressions returns the statement and spec regressions.
func (d DiffResult) Regressions() []Change {
	var out []Change
	for _, c := range append(append([]Change(nil), d.Statements...), d.Specs...) {
		if c.Kind == Regression {
			out = append(out, c)
		}
	}
	return out
}

// Count returns how many statement changes are of kind k.
func (d DiffResult) Count(k ChangeKind) int {
	n := 0
	for _, c := range d.Statements {
		if c.Kind == k {
			n++
		}
	}
	return n
}

// classify returns the kind of a change of verdict, or "" for none.
func classify(old, new string) ChangeKind {
	switch {
	case old == new:
		return ""
	case new == VerdictFail && (old == VerdictPass || old == VerdictDeviation):
		return Regression
	case new == VerdictFail:
		return NewlyFailing
	case old == VerdictFail && (new == VerdictPass || new == VerdictDeviation || new == VerdictInfo):
		return Fixed
	}
	return Changed
}

// kindOrder sorts changes, regressions first.
var kindOrder = map[ChangeKind]int{Regression: 0, NewlyFailing: 1, Fixed: 2, Changed: 3}

// Diff compares two documents: for each target present in both (matched
// by name, or the only target of each when both have one), which
// statements and specs newly fail and which were fixed. A regression is a
// statement or spec that passed, or failed with an accepted deviation, in
// old and fails in new.
func Diff(old, new ConformanceDoc) DiffResult {
	d := DiffResult{OldDoc: docRef(old), NewDoc: docRef(new)}
	oldNames, newNames := old.TargetNames(), new.TargetNames()
	inNew := map[string]bool{}
	for _, n := range newNames {
		inNew[n] = true
	}
	inOld := map[string]bool{}
	for _, n := range oldNames {
		inOld[n] = true
		if inNew[n] {
			d.Targets = append(d.Targets, [2]string{n, n})
		} else {
			d.OnlyOld = append(d.OnlyOld, n)
		}
	}
	for _, n := range newNames {
		if !inOld[n] {
			d.OnlyNew = append(d.OnlyNew, n)
		}
	}
	if len(d.Targets) == 0 && len(oldNames) == 1 && len(newNames) == 1 {
		d.Targets = [][2]string{{oldNames[0], newNames[0]}}
		d.OnlyOld, d.OnlyNew = nil, nil
	}

	oldSV, newSV := indexStatements(old), indexStatements(new)
	oldSpecs, newSpecs := indexSpecs(old), indexSpecs(new)
	for _, p := range d.Targets {
		label := p[1]
		if p[0] != p[1] {
			label = p[0] + " -> " + p[1]
		}
		for _, id := range unionOrder(oldSV.order[p[0]], newSV.order[p[1]]) {
			o, n := oldSV.by[[2]string{p[0], id}], newSV.by[[2]string{p[1], id}]
			ov, nv := o.Verdict, n.Verdict
			if ov == "" {
				ov = VerdictNotCovered
			}
			if nv == "" {
				nv = VerdictNotCovered
			}
			if ov == VerdictFail && nv == VerdictFail {
				d.StillFailing++
			}
			k := classify(ov, nv)
			if k == "" {
				d.UnchangedStatements++
				continue
			}
			d.Statements = append(d.Statements, Change{Kind: k, Target: label, Statement: id, Old: ov, New: nv, Reason: n.Reason})
		}
		for _, name := range unionOrder(oldSpecs.order[p[0]], newSpecs.order[p[1]]) {
			o, n := oldSpecs.by[[2]string{p[0], name}], newSpecs.by[[2]string{p[1], name}]
			k := classify(o.Verdict, n.Verdict)
			if k == "" {
				d.UnchangedSpecs++
				continue
			}
			d.Specs = append(d.Specs, Change{Kind: k, Target: label, Spec: name, Old: o.Verdict, New: n.Verdict, Reason: n.Reason})
		}
	}
	sortChanges(d.Statements)
	sortChanges(d.Specs)
	return d
}

func sortChanges(cs []Change) {
	// A stable insertion sort by kind keeps the documents' order within
	// a kind; change lists are short.
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && kindOrder[cs[j].Kind] < kindOrder[cs[j-1].Kind]; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

type statementIndex struct {
	by    map[[2]string]StatementVerdict
	order map[string][]string
}

func indexStatements(doc ConformanceDoc) statementIndex {
	ix := statementIndex{by: map[[2]string]StatementVerdict{}, order: map[string][]string{}}
	for _, sv := range doc.statementVerdicts() {
		ix.by[[2]string{sv.Target, sv.Statement}] = sv
		ix.order[sv.Target] = append(ix.order[sv.Target], sv.Statement)
	}
	return ix
}

type specIndex struct {
	by    map[[2]string]Result
	order map[string][]string
}

func indexSpecs(doc ConformanceDoc) specIndex {
	ix := specIndex{by: map[[2]string]Result{}, order: map[string][]string{}}
	for _, r := range doc.Results {
		k := [2]string{r.Target, r.Spec}
		if _, dup := ix.by[k]; !dup {
			ix.order[r.Target] = append(ix.order[r.Target], r.Spec)
		}
		ix.by[k] = r
	}
	return ix
}

// unionOrder is a's items, then b's items not in a.
func unionOrder(a, b []string) []string {
	out := append([]string(nil), a...)
	seen := map[string]bool{}
	for _, s := range a {
		seen[s] = true
	}
	for _, s := range b {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// docRef names a document for the diff's heading.
func docRef(doc ConformanceDoc) string {
	var parts []string
	if g := strings.TrimSpace(doc.Tool.Name + " " + doc.Tool.Version); g != "" {
		parts = append(parts, g)
	}
	parts = append(parts, humanTime(doc.GeneratedAt))
	return strings.Join(parts, ", ")
}

// kindTitles heads each section of the text rendering.
var kindTitles = []struct {
	kind  ChangeKind
	title string
}{
	{Regression, "Regressions (passing or an accepted deviation before, failing now)"},
	{NewlyFailing, "Newly failing (not passing before: not run, skipped, could not check)"},
	{Fixed, "Fixed (failing before, not now)"},
	{Changed, "Other changes"},
}

// WriteDiffText writes the diff for people and CI logs: a verdict line,
// then statement changes and spec changes grouped by kind, regressions
// first, each with its old and new verdict and the newer reason.
func WriteDiffText(w io.Writer, d DiffResult) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old: %s\nnew: %s\n", d.OldDoc, d.NewDoc)
	for _, p := range d.Targets {
		if p[0] != p[1] {
			fmt.Fprintf(&b, "comparing target %s (old) with %s (new)\n", p[0], p[1])
		}
	}
	for _, t := range d.OnlyOld {
		fmt.Fprintf(&b, "target %s is only in the old document\n", t)
	}
	for _, t := range d.OnlyNew {
		fmt.Fprintf(&b, "target %s is only in the new document\n", t)
	}
	b.WriteString("\n")
	regs := d.Regressions()
	switch {
	case len(regs) > 0:
		n := 0
		for _, c := range regs {
			if c.Statement != "" {
				n++
			}
		}
		fmt.Fprintf(&b, "REGRESSION - %d %s and %d %s now fail that passed before\n", n, plural(n, "statement", "statements"),
			len(regs)-n, plural(len(regs)-n, "spec", "specs"))
	case d.Count(NewlyFailing) > 0:
		fmt.Fprintf(&b, "NO REGRESSION - but %d %s newly fail (not passing before)\n", d.Count(NewlyFailing),
			plural(d.Count(NewlyFailing), "statement", "statements"))
	default:
		b.WriteString("NO REGRESSION\n")
	}
	writeChanges(&b, "Statements", d.Statements, func(c Change) string { return c.Statement })
	writeChanges(&b, "Specs", d.Specs, func(c Change) string { return c.Spec })
	fmt.Fprintf(&b, "\nStatements: %d regressed, %d newly failing, %d fixed, %d other changes, %d still failing, %d unchanged.\n",
		d.Count(Regression), d.Count(NewlyFailing), d.Count(Fixed), d.Count(Changed), d.StillFailing, d.UnchangedStatements)
	specCount := func(k ChangeKind) int {
		n := 0
		for _, c := range d.Specs {
			if c.Kind == k {
				n++
			}
		}
		return n
	}
	fmt.Fprintf(&b, "Specs: %d regressed, %d newly failing, %d fixed, %d other changes, %d unchanged.\n",
		specCount(Regression), specCount(NewlyFailing), specCount(Fixed), specCount(Changed), d.UnchangedSpecs)
	_, err := w.Write(b.Bytes())
	return err
}

func writeChanges(b *bytes.Buffer, title string, cs []Change, key func(Change) string) {
	if len(cs) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s\n", title)
	for _, kt := range kindTitles {
		var in []Change
		for _, c := range cs {
			if c.Kind == kt.kind {
				in = append(in, c)
			}
		}
		if len(in) == 0 {
			continue
		}
		fmt.Fprintf(b, "  %s: %d\n", kt.title, len(in))
		for _, c := range in {
			fmt.Fprintf(b, "    %-20s %s: %s -> %s\n", c.Target, key(c), orNone(c.Old), orNone(c.New))
			if c.Reason != "" && c.New != VerdictPass {
				fmt.Fprintf(b, "    %-20s   %s\n", "", c.Reason)
			}
		}
	}
}

func orNone(v string) string {
	if v == "" {
		return "absent"
	}
	return v
}
