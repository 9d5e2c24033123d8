package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/conformance"
	"github.com/mqtt-check/mqtt-check/conformance/catalogue"
	"github.com/mqtt-check/mqtt-check/reports"
)

var outcomeStart = time.Date(2026, 11, 26, 5, 30, 36, 0, time.UTC)

// sampleOutcome is a hand-made run of two specs of the registry against
// two targets, shaped as conformance.Results makes it (its order is
// Ginkgo's, targets and areas shuffled).
func sampleOutcome(t *testing.T) (*conformance.Outcome, []*conformance.Target, []*conformance.Spec) {
	t.Helper()
	specs := conformance.Specs()
	if len(specs) < 2 {
		t.Skip("the suite has fewer than two specs")
	}
	a, b := specs[0], specs[len(specs)-1]
	res := func(target string, s *conformance.Spec, verdict string) conformance.Result {
		return conformance.Result{Target: target, Area: string(s.Area), Level: string(s.Level), Name: s.FullName(),
			Statements: s.IDs, Verdict: verdict, Duration: time.Millisecond, Location: "/work/main/conformance/suite.go:89"}
	}
	fail := res("broken", a, conformance.VerdictFail)
	fail.Reason = "expected: it closes / happened: it did not"
	fail.Detail = "expected: it closes\nhappened: it did not\nand more"
	fail.Transcript = "+0.000s c1 -> CONNECT\n+0.001s c1 <- CONNACK rc=0x00\n"
	cnc := res("broken", b, conformance.VerdictCouldNotCheck)
	cnc.Reason = "spec ended as panicked: boom"
	cnc.Detail = "boom\nstack"
	out := &conformance.Outcome{
		Report: types.Report{StartTime: outcomeStart, EndTime: outcomeStart.Add(3 * time.Second), RunTime: 3 * time.Second,
			SuiteConfig: types.SuiteConfig{LabelFilter: "must"}},
		Results: []conformance.Result{cnc, res("good", b, conformance.VerdictPass), fail, res("good", a, conformance.VerdictPass)},
	}
	targets := []*conformance.Target{
		{Name: "good", Addr: "127.0.0.1:1883", Version: codec.V311,
			Caps: map[conformance.Capability]bool{conformance.CapQoS2: true, conformance.CapTLS: false},
			Why:  map[conformance.Capability]string{conformance.CapTLS: "no TLS listener given"}},
		{Name: "broken", Addr: "127.0.0.1:1884", Version: codec.V31,
			Deviations: map[string]conformance.Deviation{"x": {Spec: "x", Statement: "MQTT-3.1.0-2", Evidence: "known"}}},
	}
	return out, targets, []*conformance.Spec{a, b}
}

func TestConformanceDoc(t *testing.T) {
	out, targets, specs := sampleOutcome(t)
	doc := conformanceDoc(out, targets)
	if doc.Schema != reports.ConformanceSchema || doc.Tool.Name != "mqtt-check" || doc.Tool.Version == "" || doc.Spec != "MQTT 3.1.1" {
		t.Errorf("header: %q %+v %q", doc.Schema, doc.Tool, doc.Spec)
	}
	if !doc.GeneratedAt.Equal(outcomeStart.Add(3*time.Second)) || doc.Run == nil || doc.Run.LabelFilter != "must" || doc.Run.Duration != 3*time.Second {
		t.Errorf("time and run: %v %+v", doc.GeneratedAt, doc.Run)
	}
	if len(doc.Targets) != 2 {
		t.Fatalf("targets: %+v", doc.Targets)
	}
	good, broken := doc.Targets[0], doc.Targets[1]
	if good.Name != "good" || good.Address != "127.0.0.1:1883" || good.Protocol != "3.1.1" || !good.Capabilities["qos2"] ||
		good.Capabilities["tls"] || good.CapabilityReasons["tls"] != "no TLS listener given" {
		t.Errorf("target good: %+v", good)
	}
	if broken.Protocol != "3.1" || len(broken.Deviations) != 1 || broken.Deviations[0].Evidence != "known" {
		t.Errorf("target broken: %+v", broken)
	}

	// Results come in target order, then area order, then by name.
	var order []string
	for _, r := range doc.Results {
		order = append(order, r.Target+" "+r.Spec)
	}
	want := []string{"good " + specs[0].FullName(), "good " + specs[1].FullName(), "broken " + specs[0].FullName(), "broken " + specs[1].FullName()}
	if strings.Join(order, "\n") != strings.Join(want, "\n") {
		t.Errorf("result order:\n%s\nwant:\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
	}
	f := doc.Results[2]
	if f.Expected != "it closes" || f.Happened != "it did not\nand more" || f.Detail != "" || f.Transcript == "" {
		t.Errorf("failure detail not split: %+v", f)
	}
	if f.Location != specs[0].Location() {
		t.Errorf("location = %q, want the spec's %q", f.Location, specs[0].Location())
	}
	if c := doc.Results[3]; c.Detail != "boom\nstack" || c.Expected != "" {
		t.Errorf("could-not-check detail: %+v", c)
	}

	cat := catalogue.MQTT311()
	if len(doc.Catalogue) != len(cat.Statements) {
		t.Errorf("%d catalogue entries, want %d", len(doc.Catalogue), len(cat.Statements))
	}
	for _, st := range doc.Catalogue {
		if st.ID == specs[0].IDs[0] {
			found := false
			for _, s := range st.Specs {
				found = found || s == specs[0].FullName()
			}
			if !found {
				t.Errorf("catalogue entry %s does not name its spec: %v", st.ID, st.Specs)
			}
		}
	}
	if len(doc.StatementVerdicts) == 0 {
		t.Error("no statement verdicts")
	}
	if h := doc.Headline(); h.Status != "FAIL" || !strings.Contains(h.Text, "on broken") {
		t.Errorf("headline %+v", h)
	}
}

func TestSplitDetail(t *testing.T) {
	tests := []struct{ in, e, h, rest string }{
		{"expected: a\nhappened: b", "a", "b", ""},
		{"expected: a\nhappened: b\nc", "a", "b\nc", ""},
		{"expected: a", "", "", "expected: a"},
		{"panic: x", "", "", "panic: x"},
		{"", "", "", ""},
	}
	for _, tt := range tests {
		e, h, rest := splitDetail(tt.in)
		if e != tt.e || h != tt.h || rest != tt.rest {
			t.Errorf("splitDetail(%q) = %q, %q, %q; want %q, %q, %q", tt.in, e, h, rest, tt.e, tt.h, tt.rest)
		}
	}
}

func TestWriteConformanceReports(t *testing.T) {
	out, targets, _ := sampleOutcome(t)
	doc := conformanceDoc(out, targets)
	for _, name := range []string{"ginkgo report", "rebuilt"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			g := types.Report{}
			if name == "ginkgo report" {
				g = reports.GinkgoReport(doc) // stands in for the run's own report
				g.SuiteDescription = "from the run"
			}
			if err := writeConformanceReports(dir, doc, g); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			back, err := reports.DecodeConformanceJSON(data)
			if err != nil || len(back.Results) != 4 {
				t.Fatalf("report.json: %v, %d results", err, len(back.Results))
			}
			md, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
			if !strings.HasPrefix(string(md), "## ❌ FAIL - 1 MUST statement violated on broken") {
				t.Errorf("summary.md starts %.80q", md)
			}
			page, _ := os.ReadFile(filepath.Join(dir, "report.html"))
			if !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) {
				t.Errorf("report.html starts %.40q", page)
			}
			var suites reporters.JUnitTestSuites
			junit, _ := os.ReadFile(filepath.Join(dir, "junit.xml"))
			if err := xml.Unmarshal(junit, &suites); err != nil {
				t.Fatalf("junit.xml: %v", err)
			}
			wantSuite := "mqtt-check conformance"
			if name == "ginkgo report" {
				wantSuite = "from the run"
			}
			if s := suites.TestSuites[0]; s.Name != wantSuite || s.Tests != 4 || s.Failures != 1 {
				t.Errorf("junit.xml: suite %q, %d tests, %d failures", s.Name, s.Tests, s.Failures)
			}
		})
	}
	if err := writeConformanceReports(filepath.Join(t.TempDir(), "missing"), doc, types.Report{}); err == nil {
		t.Error("no error writing into a missing directory")
	}
}

// writeDoc saves a document for the CLI tests.
func writeDoc(t *testing.T, dir, name string, doc reports.ConformanceDoc) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := writeReportFile(path, func(w io.Writer) error { return reports.WriteConformanceJSON(w, doc) }); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	out, targets, specs := sampleOutcome(t)
	newDoc := conformanceDoc(out, targets)
	oldOut := *out
	oldOut.Results = append([]conformance.Result(nil), out.Results...)
	for i := range oldOut.Results {
		if oldOut.Results[i].Verdict == conformance.VerdictFail {
			oldOut.Results[i].Verdict = conformance.VerdictPass
		}
	}
	oldDoc := conformanceDoc(&oldOut, targets)
	newPath := writeDoc(t, dir, "new.json", newDoc)
	oldPath := writeDoc(t, dir, "old.json", oldDoc)
	resultsPath := filepath.Join(dir, "results.json")
	data, _ := json.Marshal(out.Results)
	if err := os.WriteFile(resultsPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ginkgoPath := "../../reports/testdata/conformance/ginkgo-run.json"
	other := newDoc
	other.Targets = []reports.Target{{Name: "elsewhere"}}
	other.Results = nil
	otherPath := writeDoc(t, dir, "other.json", other)

	tests := []struct {
		name     string
		args     []string
		wantCode int
		stdout   string // substring
		stderr   string // substring
	}{
		{"markdown", []string{"report", "markdown", newPath}, exitOK, "## ❌ FAIL - 1 MUST statement violated on broken", ""},
		{"markdown from results.json", []string{"report", "markdown", resultsPath}, exitOK, "FAIL - 1 MUST statement violated on broken", ""},
		{"markdown from ginkgo.json", []string{"report", "markdown", ginkgoPath}, exitOK, "FAIL - 2 MUST statements violated on reference+second-connect-accepted+protocol-name-accepted", ""},
		{"html", []string{"report", "html", newPath}, exitOK, "<!DOCTYPE html>", ""},
		{"json", []string{"report", "json", resultsPath}, exitOK, `"schema": "mqtt-check/conformance/v1"`, ""},
		{"junit", []string{"report", "junit", newPath}, exitOK, `<testsuites tests="4"`, ""},
		{"junit from ginkgo.json", []string{"report", "junit", ginkgoPath}, exitOK, `<testsuites tests="15"`, ""},
		{"matrix", []string{"report", "matrix", oldPath, newPath}, exitOK, "| statement | level | good (1) | broken (1) | good (2) | broken (2) |", ""},
		{"matrix html", []string{"report", "matrix", "--format", "html", oldPath, newPath}, exitOK, "conformance matrix", ""},
		{"diff regression", []string{"report", "diff", oldPath, newPath}, exitCheckFailed, "REGRESSION - 1 statement", "regression(s) from"},
		{"diff fixed", []string{"report", "diff", newPath, oldPath}, exitOK, "NO REGRESSION", ""},
		{"diff same", []string{"report", "diff", newPath, newPath}, exitOK, "NO REGRESSION", ""},
		{"diff nothing in common", []string{"report", "diff", newPath, otherPath}, exitCannotRun, "", "no target in common"},
		{"no kind", []string{"report"}, exitCannotRun, "", "needs a kind"},
		{"unknown kind", []string{"report", "pdf", newPath}, exitCannotRun, "", `unknown report kind "pdf"`},
		{"too many files", []string{"report", "html", newPath, newPath}, exitCannotRun, "", "takes 1 file(s), got 2"},
		{"diff one file", []string{"report", "diff", newPath}, exitCannotRun, "", "takes 2 file(s), got 1"},
		{"matrix no file", []string{"report", "matrix"}, exitCannotRun, "", "at least one file"},
		{"bad format", []string{"report", "matrix", "--format", "pdf", newPath}, exitCannotRun, "", "--format must be"},
		{"format without matrix", []string{"report", "html", "--format", "html", newPath}, exitCannotRun, "", "--format applies to report matrix"},
		{"missing file", []string{"report", "html", filepath.Join(dir, "nope.json")}, exitCannotRun, "", "no such file"},
		{"not a report", []string{"report", "html", "report_test.go"}, exitCannotRun, "", "not a conformance report"},
		{"help", []string{"report", "-h"}, exitOK, "Usage: mqtt-check report", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := call(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%.600s", tt.stdout, stdout)
			}
			if !strings.Contains(stderr, tt.stderr) || (tt.stderr == "" && stderr != "") {
				t.Errorf("stderr = %q, want %q", stderr, tt.stderr)
			}
		})
	}

	// -o writes a file, before or after the file argument.
	for _, args := range [][]string{
		{"report", "html", "-o", filepath.Join(dir, "a.html"), newPath},
		{"report", "html", newPath, "-o", filepath.Join(dir, "a.html")},
	} {
		os.Remove(filepath.Join(dir, "a.html"))
		if code, stdout, stderr := call(t, args...); code != exitOK || stdout != "" {
			t.Fatalf("%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
		if page, err := os.ReadFile(filepath.Join(dir, "a.html")); err != nil || !strings.Contains(string(page), specs[0].IDs[0]) {
			t.Errorf("%q: a.html: %v", args, err)
		}
	}
	// The regression gate writes its diff to the file and still exits 1.
	if code, _, _ := call(t, "report", "diff", oldPath, newPath, "-o", filepath.Join(dir, "diff.txt")); code != exitCheckFailed {
		t.Errorf("diff -o: exit %d", code)
	}
	if txt, _ := os.ReadFile(filepath.Join(dir, "diff.txt")); !strings.HasPrefix(string(txt), "old: ") {
		t.Errorf("diff.txt = %q", txt)
	}
}

func TestLoadReportErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty.json":   ``,
		"list.json":    `[]`,
		"numbers.json": `[1, 2]`,
		"other.json":   `[{"name": "x"}]`,
		"v2.json":      `{"schema": "mqtt-check/conformance/v2"}`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := loadReport(path)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if name == "v2.json" && !errors.Is(err, reports.ErrSchema) {
			t.Errorf("%s: %v does not wrap ErrSchema", name, err)
		}
	}
}
