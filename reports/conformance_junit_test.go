package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
)

// parseJUnit parses JUnit XML back with encoding/xml, into Ginkgo's own
// types: the XML must be well formed and of the shape CI systems read.
func parseJUnit(t *testing.T, data []byte) reporters.JUnitTestSuites {
	t.Helper()
	if !bytes.HasPrefix(data, []byte(xml.Header)) {
		t.Errorf("no XML header: %.60q", data)
	}
	var suites reporters.JUnitTestSuites
	dec := xml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&suites); err != nil {
		t.Fatalf("JUnit XML does not parse: %v", err)
	}
	if len(suites.TestSuites) != 1 {
		t.Fatalf("%d test suites, want 1", len(suites.TestSuites))
	}
	return suites
}

// statementsOf returns the statement IDs a testcase's "statements"
// property lists (the report entry the suite attaches).
func statementsOf(tc reporters.JUnitTestCase) ([]string, bool) {
	if tc.Properties == nil {
		return nil, false
	}
	for _, p := range tc.Properties.Properties {
		if p.Name == "statements" {
			var s string
			if err := json.Unmarshal([]byte(p.Value), &s); err != nil {
				return nil, false
			}
			return strings.Fields(s), true
		}
	}
	return nil, false
}

// checkTestcasesNameStatements checks that every testcase's name carries
// each statement ID the spec checks, as text and as a label.
func checkTestcasesNameStatements(t *testing.T, suites reporters.JUnitTestSuites) {
	t.Helper()
	n := 0
	for _, tc := range suites.TestSuites[0].TestCases {
		if !strings.HasPrefix(tc.Name, "[It] ") {
			continue // a suite node, such as the run's ReportAfterSuite
		}
		ids, ok := statementsOf(tc)
		if !ok {
			t.Errorf("testcase %q has no statements property", tc.Name)
			continue
		}
		if len(ids) == 0 {
			continue // a SHOULD or MAY spec may cite no statement
		}
		n++
		label := tc.Name[strings.LastIndex(tc.Name, "["):]
		for _, id := range ids {
			if !strings.Contains(tc.Name, " "+id+" ") {
				t.Errorf("testcase %q does not name %s", tc.Name, id)
			}
			if !strings.Contains(label, id) {
				t.Errorf("testcase %q has no label %s", tc.Name, id)
			}
		}
	}
	if n == 0 {
		t.Error("no testcase names a statement")
	}
}

func TestConformanceJUnit(t *testing.T) {
	doc := sampleDoc()
	var b bytes.Buffer
	if err := WriteConformanceJUnit(&b, doc); err != nil {
		t.Fatal(err)
	}
	suites := parseJUnit(t, b.Bytes())
	s := suites.TestSuites[0]
	if s.Tests != len(doc.Results) || s.Failures != 2 || s.Skipped != 2 || s.Errors != 0 {
		t.Errorf("tests=%d failures=%d skipped=%d errors=%d, want %d, 2, 2 (skip and could-not-check), 0",
			s.Tests, s.Failures, s.Skipped, s.Errors, len(doc.Results))
	}
	checkTestcasesNameStatements(t, suites)
	for _, tc := range s.TestCases {
		switch {
		case strings.Contains(tc.Name, "reference+faults connect MQTT-3.1.0-2"):
			if tc.Failure == nil || !strings.Contains(tc.Failure.Message, "[MQTT-3.1.0-2] expected: the broker closes") ||
				!strings.Contains(tc.Failure.Message, "wire transcript:\n+0.000s c1 ** dial") {
				t.Errorf("failure of %q: %+v", tc.Name, tc.Failure)
			}
			if want := "[It] reference+faults connect MQTT-3.1.0-2 closes the connection on a second CONNECT [target-reference+faults, must, connect, v3.1.1, MQTT-3.1.0-2]"; tc.Name != want {
				t.Errorf("name = %q, want %q", tc.Name, want)
			}
		case strings.Contains(tc.Name, "MQTT-3.1.2-8") && strings.Contains(tc.Name, "reference+faults"):
			if tc.Skipped == nil || !strings.Contains(tc.Skipped.Message, "could not check: SUBSCRIBE") {
				t.Errorf("could-not-check %q: skipped = %+v", tc.Name, tc.Skipped)
			}
		}
	}
}

// TestJUnitFromRun renders the Ginkgo report a real run wrote
// (testdata/conformance/ginkgo-run.json: mqtt-check run --fault second-connect-accepted
// --fault protocol-name-accepted --report-dir) with Ginkgo's reporter.
func TestJUnitFromRun(t *testing.T) {
	data, err := os.ReadFile("testdata/conformance/ginkgo-run.json")
	if err != nil {
		t.Fatal(err)
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteJUnit(&b, reports[0]); err != nil {
		t.Fatal(err)
	}
	suites := parseJUnit(t, b.Bytes())
	s := suites.TestSuites[0]
	if s.Tests != 15 || s.Failures != 2 {
		t.Errorf("tests=%d failures=%d, want 15 (14 specs and the ReportAfterSuite node) and 2", s.Tests, s.Failures)
	}
	checkTestcasesNameStatements(t, suites)
}

func TestGinkgoReportStates(t *testing.T) {
	r := GinkgoReport(sampleDoc())
	if r.SuiteSucceeded {
		t.Error("a report with failures succeeded")
	}
	count := map[types.SpecState]int{}
	for _, sr := range r.SpecReports {
		count[sr.State]++
	}
	if count[types.SpecStateFailed] != 2 || count[types.SpecStateSkipped] != 2 || count[types.SpecStatePassed] != 22 {
		t.Errorf("states: %v", count)
	}
	if !GinkgoReport(passingDoc()).SuiteSucceeded {
		t.Error("a passing report did not succeed")
	}
}
