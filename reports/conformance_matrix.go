package reports

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// MatrixColumn is one column of a matrix: one target of one document.
type MatrixColumn struct {
	// Label heads the column: the target name, followed by the document's
	// position (" (2)") when several documents have a target of that name.
	Label string
	// Target is the target's name, Doc the index of its document.
	Target string
	Doc    int
	// Detail says which broker and run: banner, tool version, date.
	Detail string
}

// MatrixRow is one statement across every column.
type MatrixRow struct {
	Statement   string
	Level       string
	Description string
	// Cells hold the statement's verdict on each column, in column order.
	Cells []StatementVerdict
	// Differs is set when the columns do not all have the same verdict.
	Differs bool
	// Checked is set when some column has a result for the statement.
	Checked bool
}

// Matrix is the statement-by-target view of one or more documents: the
// view a team uses to compare brokers, or releases of one broker.
type Matrix struct {
	Columns []MatrixColumn
	Rows    []MatrixRow
}

// BuildMatrix lays the documents' statement verdicts out with statements
// down and targets across. Statements are the union of the documents'
// catalogues (server statements, in order) and of the statements their
// results cite.
func BuildMatrix(docs ...ConformanceDoc) Matrix {
	var m Matrix
	nameCount := map[string]int{}
	for _, d := range docs {
		for _, t := range d.TargetNames() {
			nameCount[t]++
		}
	}
	type cellKey struct {
		col int
		id  string
	}
	cells := map[cellKey]StatementVerdict{}
	var ids []string
	seen := map[string]bool{}
	meta := map[string]Statement{}
	for di, d := range docs {
		for _, s := range d.Catalogue {
			if _, ok := meta[s.ID]; !ok {
				meta[s.ID] = s
			}
		}
		order, _ := statementOrder(d)
		for _, id := range order {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		colOf := map[string]int{}
		for _, t := range d.TargetNames() {
			col := MatrixColumn{Label: t, Target: t, Doc: di, Detail: columnDetail(d, t)}
			if nameCount[t] > 1 {
				col.Label = fmt.Sprintf("%s (%d)", t, di+1)
			}
			colOf[t] = len(m.Columns)
			m.Columns = append(m.Columns, col)
		}
		for _, sv := range d.statementVerdicts() {
			cells[cellKey{colOf[sv.Target], sv.Statement}] = sv
		}
	}
	for _, id := range ids {
		st := meta[id]
		row := MatrixRow{Statement: id, Level: st.Level, Description: st.Description}
		for ci, c := range m.Columns {
			sv, ok := cells[cellKey{ci, id}]
			if !ok {
				sv = StatementVerdict{Target: c.Target, Statement: id, Verdict: VerdictNotCovered}
			}
			if len(sv.Specs) > 0 {
				row.Checked = true
			}
			if ci > 0 && sv.Verdict != row.Cells[0].Verdict {
				row.Differs = true
			}
			row.Cells = append(row.Cells, sv)
		}
		m.Rows = append(m.Rows, row)
	}
	return m
}

// columnDetail describes a column's broker and run.
func columnDetail(d ConformanceDoc, target string) string {
	var parts []string
	if t, ok := d.Target(target); ok && t.Banner != "" {
		parts = append(parts, t.Banner)
	}
	if d.Tool.Version != "" {
		parts = append(parts, strings.TrimSpace(d.Tool.Name+" "+d.Tool.Version))
	}
	if !d.GeneratedAt.IsZero() {
		parts = append(parts, d.GeneratedAt.UTC().Format("2006-01-02"))
	}
	return strings.Join(parts, ", ")
}

// Totals counts each column's statement verdicts.
func (m Matrix) Totals() []Tally {
	out := make([]Tally, len(m.Columns))
	for i := range out {
		out[i] = Tally{}
	}
	for _, r := range m.Rows {
		for i, c := range r.Cells {
			out[i][c.Verdict]++
		}
	}
	return out
}

// WriteMatrixMarkdown writes the matrix of the documents as a Markdown
// table: a row per statement some target checked, a column per target,
// each cell the statement's verdict there; "≠" marks rows whose verdicts
// differ. Statements no target checked are counted, not listed.
func WriteMatrixMarkdown(w io.Writer, docs ...ConformanceDoc) error {
	m := BuildMatrix(docs...)
	var b bytes.Buffer
	b.WriteString("## Conformance matrix\n\n")
	differ, unchecked := 0, 0
	for _, r := range m.Rows {
		if r.Differs {
			differ++
		}
		if !r.Checked {
			unchecked++
		}
	}
	fmt.Fprintf(&b, "%d %s, %d %s. %d %s differ across targets (marked ≠).\n\n",
		len(docs), plural(len(docs), "document", "documents"), len(m.Columns), plural(len(m.Columns), "target", "targets"),
		differ, plural(differ, "statement's verdicts", "statements' verdicts"))

	b.WriteString("| |")
	for _, c := range m.Columns {
		fmt.Fprintf(&b, " %s |", mdText(c.Label))
	}
	b.WriteString("\n|:--|")
	b.WriteString(strings.Repeat(":-:|", len(m.Columns)))
	b.WriteString("\n")
	if hasDetail(m.Columns) {
		b.WriteString("| broker, run |")
		for _, c := range m.Columns {
			fmt.Fprintf(&b, " %s |", mdText(c.Detail))
		}
		b.WriteString("\n")
	}
	totals := m.Totals()
	for _, v := range statementVerdictOrder {
		any := false
		for _, t := range totals {
			any = any || t[v] > 0
		}
		if !any {
			continue
		}
		fmt.Fprintf(&b, "| %s %s |", verdictIcon[v], v)
		for _, t := range totals {
			fmt.Fprintf(&b, " %d |", t[v])
		}
		b.WriteString("\n")
	}

	b.WriteString("\n| statement | level |")
	for _, c := range m.Columns {
		fmt.Fprintf(&b, " %s |", mdText(c.Label))
	}
	b.WriteString("\n|:--|:--|")
	b.WriteString(strings.Repeat(":-:|", len(m.Columns)))
	b.WriteString("\n")
	for _, r := range m.Rows {
		if !r.Checked {
			continue
		}
		mark := ""
		if r.Differs {
			mark = "≠ "
		}
		fmt.Fprintf(&b, "| %s%s | %s |", mark, mdCode(r.Statement), mdText(r.Level))
		for _, c := range r.Cells {
			fmt.Fprintf(&b, " %s %s |", verdictIcon[c.Verdict], c.Verdict)
		}
		b.WriteString("\n")
	}
	if unchecked > 0 {
		fmt.Fprintf(&b, "\n%d %s no target checked %s left out (not covered by this run, or untestable).\n",
			unchecked, plural(unchecked, "statement", "statements"), plural(unchecked, "is", "are"))
	}
	_, err := w.Write(b.Bytes())
	return err
}

func hasDetail(cols []MatrixColumn) bool {
	for _, c := range cols {
		if c.Detail != "" {
			return true
		}
	}
	return false
}

var matrixTemplate = mustTemplate("matrix.html.tmpl")

type matrixPage struct {
	pageAssets
	Title, Generator, Meta string
	Matrix                 Matrix
	Totals                 []matrixTotal
	Rows                   []matrixHTMLRow
	Filters                []filterGroup
}

type matrixTotal struct {
	Verdict string
	Counts  []int
}

type matrixHTMLRow struct {
	MatrixRow
	Cells       []htmlVerdictCell
	VerdictList string
	Differs     string
	Checked     string
}

// WriteMatrixHTML writes the matrix of the documents as a self-contained
// HTML page (no external assets, no network requests), with every
// statement, a tooltip per cell naming the specs behind the verdict, and
// filters: rows that differ, rows some target checked, rows with a given
// verdict.
func WriteMatrixHTML(w io.Writer, docs ...ConformanceDoc) error {
	m := BuildMatrix(docs...)
	page := matrixPage{pageAssets: newPageAssets(), Title: "mqtt-check conformance matrix", Matrix: m}
	if len(docs) > 0 {
		page.Generator = generator(docs[0].Tool)
	} else {
		page.Generator = generator(Tool{})
	}
	page.Meta = fmt.Sprintf("%d %s, %d %s, %d statements", len(docs), plural(len(docs), "document", "documents"),
		len(m.Columns), plural(len(m.Columns), "target", "targets"), len(m.Rows))
	totals := m.Totals()
	for _, v := range statementVerdictOrder {
		t := matrixTotal{Verdict: v}
		any := false
		for _, c := range totals {
			t.Counts = append(t.Counts, c[v])
			any = any || c[v] > 0
		}
		if any {
			page.Totals = append(page.Totals, t)
		}
	}
	counts := map[string]map[string]int{"verdicts": {}, "differs": {}, "checked": {}}
	for _, r := range m.Rows {
		hr := matrixHTMLRow{MatrixRow: r, Differs: yesNo(r.Differs), Checked: yesNo(r.Checked)}
		var list []string
		seen := map[string]bool{}
		for _, c := range r.Cells {
			hr.Cells = append(hr.Cells, htmlVerdictCell{Verdict: c.Verdict, Title: verdictTitle(c)})
			if !seen[c.Verdict] {
				seen[c.Verdict] = true
				list = append(list, c.Verdict)
				counts["verdicts"][c.Verdict]++
			}
		}
		hr.VerdictList = strings.Join(list, "|")
		counts["differs"][hr.Differs]++
		counts["checked"][hr.Checked]++
		page.Rows = append(page.Rows, hr)
	}
	page.Filters = []filterGroup{
		{Key: "differs", Title: "verdicts differ", Options: countOptions("differs", []string{"yes", "no"}, counts["differs"])},
		{Key: "checked", Title: "checked", Options: countOptions("checked", []string{"yes", "no"}, counts["checked"])},
		{Key: "verdicts", Title: "any target", Options: countOptions("verdicts", statementVerdictOrder, counts["verdicts"])},
	}
	var b bytes.Buffer
	if err := matrixTemplate.Execute(&b, page); err != nil {
		return fmt.Errorf("rendering HTML matrix: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
