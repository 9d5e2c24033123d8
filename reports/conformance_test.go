package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"html"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConformanceJSONRoundTrip(t *testing.T) {
	doc := sampleDoc()
	var b bytes.Buffer
	if err := WriteConformanceJSON(&b, doc); err != nil {
		t.Fatal(err)
	}
	got, err := ReadConformanceJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	want := doc
	want.StatementVerdicts = StatementVerdicts(doc)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip changed the document (-want +got):\n%s", diff)
	}
}

func TestConformanceJSONFieldNames(t *testing.T) {
	// The schema is a promise: these names are in SCHEMA.md and in every
	// consumer's jq filters.
	var b bytes.Buffer
	if err := WriteConformanceJSON(&b, sampleDoc()); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "generated_at", "tool", "spec", "run", "targets", "results", "catalogue", "statement_verdicts"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("document has no %q field", k)
		}
	}
	if got := raw["schema"]; got != "mqtt-check/conformance/v1" {
		t.Errorf("schema = %v", got)
	}
	result := raw["results"].([]any)[13].(map[string]any)
	for _, k := range []string{"target", "area", "level", "spec", "statements", "verdict", "reason", "expected", "happened",
		"transcript", "pcap", "duration_ns", "location"} {
		if _, ok := result[k]; !ok {
			t.Errorf("result has no %q field: %v", k, result)
		}
	}
	target := raw["targets"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "address", "protocol", "banner", "capabilities", "capability_reasons"} {
		if _, ok := target[k]; !ok {
			t.Errorf("target has no %q field", k)
		}
	}
}

func TestReadConformanceJSONRejects(t *testing.T) {
	tests := []struct {
		name, in string
		schema   bool // want ErrSchema
	}{
		{"empty", ``, true},
		{"array", `[{"verdict":"pass"}]`, true},
		{"no schema", `{"results":[]}`, true},
		{"other schema", `{"schema":"mqtt-check/load/v1"}`, true},
		{"next major version", `{"schema":"mqtt-check/conformance/v2"}`, true},
		{"bad json", `{"schema":`, false},
		{"wrong type", `{"schema":"mqtt-check/conformance/v1","results":{}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadConformanceJSON(strings.NewReader(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, ErrSchema); got != tt.schema {
				t.Errorf("errors.Is(%v, ErrSchema) = %v, want %v", err, got, tt.schema)
			}
		})
	}
}

func TestReadConformanceJSONIgnoresUnknownFields(t *testing.T) {
	in := `{"schema":"mqtt-check/conformance/v1","added_later":{"x":1},
	"targets":[{"name":"a","new_field":true}],
	"results":[{"target":"a","area":"connect","level":"must","spec":"MQTT-3.1.0-2 x","statements":["MQTT-3.1.0-2"],"verdict":"fail","duration_ns":5,"severity":9}],
	"statement_verdicts":[{"target":"a","statement":"MQTT-3.1.0-2","verdict":"pass"}]}`
	doc, err := ReadConformanceJSON(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Results) != 1 || doc.Results[0].Duration != 5 {
		t.Errorf("results = %+v", doc.Results)
	}
	// Derived verdicts come from the results, not from the file.
	want := []StatementVerdict{{Target: "a", Statement: "MQTT-3.1.0-2", Verdict: VerdictFail,
		Specs: []SpecRef{{Spec: "MQTT-3.1.0-2 x", Verdict: VerdictFail}}}}
	if diff := cmp.Diff(want, doc.StatementVerdicts); diff != "" {
		t.Errorf("statement verdicts (-want +got):\n%s", diff)
	}
}

func TestStatementVerdicts(t *testing.T) {
	r := func(v string, ids ...string) Result {
		return Result{Target: "t", Spec: v + " spec", Statements: ids, Verdict: v, Reason: "because " + v}
	}
	tests := []struct {
		name    string
		results []Result
		want    string
		reason  string
	}{
		{"fail wins over pass", []Result{r(VerdictPass, "S"), r(VerdictFail, "S")}, VerdictFail, "because fail"},
		{"deviation over pass", []Result{r(VerdictPass, "S"), r(VerdictDeviation, "S")}, VerdictDeviation, "because deviation"},
		{"pass over info", []Result{r(VerdictInfo, "S"), r(VerdictPass, "S")}, VerdictPass, ""},
		{"info over could-not-check", []Result{r(VerdictCouldNotCheck, "S"), r(VerdictInfo, "S")}, VerdictInfo, "because info"},
		{"could-not-check over skip", []Result{r(VerdictSkip, "S"), r(VerdictCouldNotCheck, "S")}, VerdictCouldNotCheck, "because could-not-check"},
		{"skip alone", []Result{r(VerdictSkip, "S")}, VerdictSkip, "because skip"},
		{"untestable", nil, VerdictUntestable, "no way in"},
		{"not covered", []Result{r(VerdictPass, "OTHER")}, VerdictNotCovered, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := ConformanceDoc{Targets: []Target{{Name: "t"}}, Results: tt.results}
			doc.Catalogue = []Statement{{ID: "S", Target: "server"}}
			if tt.want == VerdictUntestable {
				doc.Catalogue[0].Untestable = "no way in"
			}
			var got *StatementVerdict
			for _, sv := range StatementVerdicts(doc) {
				if sv.Statement == "S" {
					got = &sv
				}
			}
			if got == nil {
				t.Fatal("no verdict for S")
			}
			if got.Verdict != tt.want || got.Reason != tt.reason {
				t.Errorf("verdict = %q (%q), want %q (%q)", got.Verdict, got.Reason, tt.want, tt.reason)
			}
		})
	}
}

func TestStatementVerdictsOrder(t *testing.T) {
	doc := sampleDoc()
	svs := StatementVerdicts(doc)
	// Two targets, 19 server statements each: client-side ones are left out.
	if len(svs) != 38 {
		t.Fatalf("%d statement verdicts, want 38", len(svs))
	}
	if svs[0].Target != "mosquitto" || svs[0].Statement != "MQTT-3.1.0-2" || svs[19].Target != "reference+faults" {
		t.Errorf("order: %+v / %+v", svs[0], svs[19])
	}
}

func TestHeadline(t *testing.T) {
	two := sampleDoc()
	for i := range two.Results {
		if two.Results[i].Target == "mosquitto" && two.Results[i].Area == "connect" && i < 1 {
			two.Results[i].Verdict = VerdictFail
		}
	}
	tests := []struct {
		name string
		doc  ConformanceDoc
		want Headline
	}{
		{"fail", sampleDoc(), Headline{"FAIL", "FAIL - 2 MUST statements violated on reference+faults"}},
		{"fail on two targets", two, Headline{"FAIL", "FAIL - 1 MUST statement violated on mosquitto, 2 on reference+faults"}},
		{"pass", passingDoc(), Headline{"PASS", "PASS - no MUST statement violated on mosquitto (12 passed, 1 skipped)"}},
		{"empty", ConformanceDoc{}, Headline{"NO RESULTS", "NO RESULTS - no spec judged its rule"}},
		{"only skips", ConformanceDoc{Results: []Result{{Target: "a", Verdict: VerdictSkip}}},
			Headline{"NO RESULTS", "NO RESULTS - no spec judged its rule (1 skipped)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.doc.Headline(); got != tt.want {
				t.Errorf("Headline() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCoverage(t *testing.T) {
	got := sampleDoc().Coverage()
	want := Coverage{Server: 19, Covered: 16, Ran: 16, Untestable: 2, Missing: []string{"MQTT-3.3.1-3"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Coverage() (-want +got):\n%s", diff)
	}
}

func TestDiffClassify(t *testing.T) {
	tests := []struct {
		old, new string
		want     ChangeKind
	}{
		{VerdictPass, VerdictFail, Regression},
		{VerdictDeviation, VerdictFail, Regression},
		{"", VerdictFail, NewlyFailing},
		{VerdictNotCovered, VerdictFail, NewlyFailing},
		{VerdictSkip, VerdictFail, NewlyFailing},
		{VerdictCouldNotCheck, VerdictFail, NewlyFailing},
		{VerdictFail, VerdictPass, Fixed},
		{VerdictFail, VerdictDeviation, Fixed},
		{VerdictFail, VerdictSkip, Changed},
		{VerdictPass, VerdictSkip, Changed},
		{VerdictFail, VerdictFail, ""},
		{VerdictPass, VerdictPass, ""},
	}
	for _, tt := range tests {
		if got := classify(tt.old, tt.new); got != tt.want {
			t.Errorf("classify(%q, %q) = %q, want %q", tt.old, tt.new, got, tt.want)
		}
	}
}

func TestDiff(t *testing.T) {
	d := Diff(sampleOldDoc(), sampleDoc())
	if !d.HasRegression() {
		t.Fatal("no regression found")
	}
	regs := d.Regressions()
	if len(regs) != 2 || regs[0].Statement != "MQTT-3.1.0-2" || regs[1].Spec != "MQTT-3.1.0-2 closes the connection on a second CONNECT" {
		t.Errorf("regressions = %+v", regs)
	}
	if n := d.Count(Fixed); n != 1 {
		t.Errorf("%d fixed, want 1", n)
	}
	if back := Diff(sampleDoc(), sampleOldDoc()); back.HasRegression() != true || back.Count(Fixed) != 1 {
		// Going back re-breaks QoS 2 (a regression) and fixes the second CONNECT.
		t.Errorf("reverse diff: %+v", back)
	}
	if same := Diff(sampleDoc(), sampleDoc()); len(same.Statements)+len(same.Specs) != 0 || same.HasRegression() {
		t.Errorf("a document differs from itself: %+v", same)
	}
}

func TestDiffTargets(t *testing.T) {
	one := func(name string) ConformanceDoc {
		return ConformanceDoc{Targets: []Target{{Name: name}},
			Results: []Result{{Target: name, Spec: "S x", Statements: []string{"S"}, Verdict: VerdictPass}}}
	}
	d := Diff(one("a"), one("b"))
	if len(d.Targets) != 1 || d.Targets[0] != [2]string{"a", "b"} || d.OnlyOld != nil {
		t.Errorf("single targets are not paired: %+v", d)
	}
	two := one("a")
	two.Targets = append(two.Targets, Target{Name: "c"})
	d = Diff(two, one("b"))
	if len(d.Targets) != 0 || len(d.OnlyOld) != 2 || len(d.OnlyNew) != 1 {
		t.Errorf("unmatched targets: %+v", d)
	}
}

func TestBuildMatrix(t *testing.T) {
	m := BuildMatrix(sampleOldDoc(), sampleDoc())
	var labels []string
	for _, c := range m.Columns {
		labels = append(labels, c.Label)
	}
	want := []string{"mosquitto (1)", "reference+faults (1)", "mosquitto (2)", "reference+faults (2)"}
	if diff := cmp.Diff(want, labels); diff != "" {
		t.Errorf("column labels (-want +got):\n%s", diff)
	}
	if len(m.Rows) != 19 {
		t.Errorf("%d rows, want the 19 server statements", len(m.Rows))
	}
	for _, r := range m.Rows {
		if r.Statement == "MQTT-3.1.0-2" {
			if !r.Differs || r.Cells[3].Verdict != VerdictFail || r.Cells[1].Verdict != VerdictPass {
				t.Errorf("MQTT-3.1.0-2 row: %+v", r)
			}
		}
	}
	if single := BuildMatrix(sampleDoc()); single.Columns[0].Label != "mosquitto" {
		t.Errorf("a lone target's label is %q", single.Columns[0].Label)
	}
}

// failWriter fails every write after n bytes.
type failWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) <= w.n {
		w.n -= len(p)
		return len(p), nil
	}
	k := w.n
	w.n = 0
	return k, errDiskFull
}

func TestWritersPassOnWriteErrors(t *testing.T) {
	doc := sampleDoc()
	writers := map[string]func(io.Writer) error{
		"json":          func(w io.Writer) error { return WriteConformanceJSON(w, doc) },
		"markdown":      func(w io.Writer) error { return WriteConformanceMarkdown(w, doc) },
		"html":          func(w io.Writer) error { return WriteConformanceHTML(w, doc) },
		"junit":         func(w io.Writer) error { return WriteConformanceJUnit(w, doc) },
		"matrix md":     func(w io.Writer) error { return WriteMatrixMarkdown(w, doc) },
		"matrix html":   func(w io.Writer) error { return WriteMatrixHTML(w, doc) },
		"diff":          func(w io.Writer) error { return WriteDiffText(w, Diff(doc, doc)) },
		"ginkgo report": func(w io.Writer) error { return WriteJUnit(w, GinkgoReport(doc)) },
	}
	for name, write := range writers {
		for _, after := range []int{0, 100} {
			if err := write(&failWriter{n: after}); !errors.Is(err, errDiskFull) {
				t.Errorf("%s, failing after %d bytes: error %v, want %v", name, after, err, errDiskFull)
			}
		}
	}
}

func TestMarkdownEscaping(t *testing.T) {
	doc := ConformanceDoc{
		GeneratedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Targets:     []Target{{Name: "a|b", Address: "h:1"}},
		Results: []Result{{Target: "a|b", Area: "connect", Level: "must", Spec: "S-1 closes <it> *now*", Statements: []string{"S-1"},
			Verdict: VerdictFail, Expected: "a | b", Happened: "got `x` and $y$",
			Transcript: "+0.000s c1 -> ```not a fence\n"}},
	}
	var b bytes.Buffer
	if err := WriteConformanceMarkdown(&b, doc); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`| a\|b |`,                    // a pipe does not split a cell
		`closes \<it\> \*now\*`,       // no HTML, no emphasis
		"got \\`x\\` and \\$y\\$",     // no code span, no math
		"````text\n+0.000s c1 -> ```", // the fence outgrows the content's
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestMarkdownTruncatesLongTranscripts(t *testing.T) {
	doc := sampleDoc()
	doc.Results[13].Transcript = strings.Repeat("+0.000s c1 -> PINGREQ\n", MarkdownTranscriptLines+7)
	var b bytes.Buffer
	if err := WriteConformanceMarkdown(&b, doc); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(b.String(), "PINGREQ"); got != MarkdownTranscriptLines {
		t.Errorf("%d transcript lines, want %d", got, MarkdownTranscriptLines)
	}
	if !strings.Contains(b.String(), "7 more lines: see the HTML report.") {
		t.Error("no note of the lines left out")
	}
}

func TestHTMLEscapes(t *testing.T) {
	doc := sampleDoc()
	doc.Results[13].Happened = `</dd><script>alert("x")</script>`
	doc.Results[13].Transcript = "<- PUBLISH payload=\"<img src=x onerror=alert(1)>\"\n"
	doc.Targets[0].Banner = `"><b>`
	var b bytes.Buffer
	if err := WriteConformanceHTML(&b, doc); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{`<script>alert`, `<img src=x`, `"><b>`} {
		if strings.Contains(out, bad) {
			t.Errorf("output holds unescaped %q", bad)
		}
	}
	if n := strings.Count(out, "<script>"); n != 1 {
		t.Errorf("%d <script> elements, want only the page's own", n)
	}
}

func TestHTMLSelfContained(t *testing.T) {
	for name, write := range map[string]func(io.Writer) error{
		"report": func(w io.Writer) error { return WriteConformanceHTML(w, sampleDoc()) },
		"matrix": func(w io.Writer) error { return WriteMatrixHTML(w, sampleOldDoc(), sampleDoc()) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, bad := range []string{"http://", "https://", "//cdn", "<link rel=\"stylesheet\"", "src=\"", "@import", "url("} {
			if strings.Contains(out, bad) {
				t.Errorf("%s: page holds %q: it must load nothing", name, bad)
			}
		}
		if !strings.Contains(html.UnescapeString(out), `content="default-src 'none'; style-src 'sha256-`) {
			t.Errorf("%s: no Content-Security-Policy", name)
		}
	}
}
