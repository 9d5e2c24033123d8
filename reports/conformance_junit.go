package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
)

// WriteJUnit writes a Ginkgo report as JUnit XML with Ginkgo's own
// reporter (the same output as ginkgo --junit-report). Each testcase is
// named "[It] TARGET AREA IDS NAME [LABELS]": the statement IDs a spec
// checks appear both in its name and among its labels.
func WriteJUnit(w io.Writer, report types.Report) error {
	return WriteJUnitWithConfig(w, report, reporters.JunitReportConfig{})
}

// WriteJUnitWithConfig is WriteJUnit with Ginkgo's JUnit options.
//
// Ginkgo's reporter writes only to a named file, so the XML is written to
// a temporary file first, parsed back (the reporter does not report
// encoding errors), then copied to w.
func WriteJUnitWithConfig(w io.Writer, report types.Report, cfg reporters.JunitReportConfig) error {
	dir, err := os.MkdirTemp("", "mqtt-check-junit-")
	if err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "junit.xml")
	if err := reporters.GenerateJUnitReportWithConfig(report, path, cfg); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	var suites reporters.JUnitTestSuites
	if err := xml.Unmarshal(data, &suites); err != nil {
		return fmt.Errorf("junit: Ginkgo's reporter wrote invalid XML: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	return nil
}

// WriteConformanceJUnit writes the document as JUnit XML through Ginkgo's
// reporter, from the Ginkgo report GinkgoReport rebuilds. Use WriteJUnit
// with the run's own report when there is one: it also carries Ginkgo's
// timelines.
func WriteConformanceJUnit(w io.Writer, doc ConformanceDoc) error {
	return WriteJUnit(w, GinkgoReport(doc))
}

// Report entry names GinkgoReport attaches to each spec; they match the
// ones the conformance suite attaches, so both kinds of report give JUnit
// properties of the same names.
const (
	entryVerdict    = "verdict"
	entryStatements = "statements"
	entryReason     = "reason"
	entryDetail     = "detail"
	entryTranscript = "transcript"
	entryTarget     = "target"
	entryDeviation  = "deviation"
	entryNotes      = "notes"
	entryPcap       = "pcap"
)

// GinkgoReport rebuilds a Ginkgo report from a document, one It per
// result in a container per target and area, labelled like the suite's
// specs (level, area, protocol version, statement IDs). Pass, info and
// deviation become passed specs, fail a failed one, skip and
// could-not-check skipped ones with their reason.
func GinkgoReport(doc ConformanceDoc) types.Report {
	r := types.Report{
		SuiteDescription: "mqtt-check conformance",
		SuiteSucceeded:   true,
		StartTime:        doc.GeneratedAt,
		EndTime:          doc.GeneratedAt,
		PreRunStats:      types.PreRunStats{TotalSpecs: len(doc.Results), SpecsThatWillRun: len(doc.Results)},
	}
	if doc.Run != nil {
		r.StartTime = doc.Run.StartedAt
		r.EndTime = doc.Run.StartedAt.Add(doc.Run.Duration)
		r.RunTime = doc.Run.Duration
		r.SuiteConfig.LabelFilter = doc.Run.LabelFilter
		r.SuiteConfig.FocusStrings = doc.Run.Focus
		r.SuiteConfig.SkipStrings = doc.Run.Skip
	}
	protocol := map[string]string{}
	for _, t := range doc.Targets {
		protocol[t.Name] = t.Protocol
	}
	for _, res := range doc.Results {
		labels := []string{res.Level, res.Area}
		if p := protocol[res.Target]; p != "" {
			labels = append(labels, "v"+p)
		}
		labels = append(labels, res.Statements...)
		sr := types.SpecReport{
			ContainerHierarchyTexts:  []string{res.Target, res.Area},
			ContainerHierarchyLabels: [][]string{{"target-" + res.Target}, {}},
			LeafNodeType:             types.NodeTypeIt,
			LeafNodeText:             res.Spec,
			LeafNodeLabels:           labels,
			LeafNodeLocation:         codeLocation(res.Location),
			StartTime:                r.StartTime,
			EndTime:                  r.StartTime.Add(res.Duration),
			RunTime:                  res.Duration,
			ParallelProcess:          1,
			NumAttempts:              1,
		}
		entry := func(name, value string) {
			if value != "" {
				sr.ReportEntries = append(sr.ReportEntries, types.ReportEntry{Name: name,
					Value: types.WrapEntryValue(value), Visibility: types.ReportEntryVisibilityNever,
					Time: sr.EndTime})
			}
		}
		entry(entryTarget, res.Target)
		entry(entryStatements, strings.Join(res.Statements, " "))
		entry(entryVerdict, res.Verdict)
		entry(entryReason, res.Reason)
		entry(entryDetail, detailText(res))
		entry(entryDeviation, res.Deviation)
		entry(entryNotes, res.Notes)
		entry(entryPcap, res.Pcap)
		entry(entryTranscript, res.Transcript)
		switch res.Verdict {
		case VerdictPass, VerdictInfo, VerdictDeviation:
			sr.State = types.SpecStatePassed
		case VerdictFail:
			sr.State = types.SpecStateFailed
			r.SuiteSucceeded = false
			msg := "[" + strings.Join(res.Statements, " ") + "] " + detailText(res)
			if res.Transcript != "" {
				msg += "\n\nwire transcript:\n" + res.Transcript
			}
			sr.Failure = types.Failure{Message: msg, Location: sr.LeafNodeLocation,
				FailureNodeType: types.NodeTypeIt, FailureNodeLocation: sr.LeafNodeLocation}
		case VerdictCouldNotCheck:
			sr.State = types.SpecStateSkipped
			sr.Failure = types.Failure{Message: "could not check: " + res.Reason, Location: sr.LeafNodeLocation}
		default:
			sr.State = types.SpecStateSkipped
			sr.Failure = types.Failure{Message: res.Reason, Location: sr.LeafNodeLocation}
		}
		r.SpecReports = append(r.SpecReports, sr)
	}
	return r
}

// detailText is expected/happened as the suite words it, or the detail.
func detailText(r Result) string {
	var parts []string
	if r.Expected != "" {
		parts = append(parts, "expected: "+r.Expected)
	}
	if r.Happened != "" {
		parts = append(parts, "happened: "+r.Happened)
	}
	if r.Detail != "" {
		parts = append(parts, r.Detail)
	}
	if len(parts) == 0 {
		return r.Reason
	}
	return strings.Join(parts, "\n")
}

// codeLocation parses "file:line".
func codeLocation(s string) types.CodeLocation {
	if i := strings.LastIndexByte(s, ':'); i > 0 {
		if n, err := strconv.Atoi(s[i+1:]); err == nil {
			return types.CodeLocation{FileName: s[:i], LineNumber: n}
		}
	}
	return types.CodeLocation{FileName: s}
}
