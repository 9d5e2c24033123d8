package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/mqtt-check/mqtt-check/conformance"
	"github.com/mqtt-check/mqtt-check/conformance/catalogue"
	"github.com/mqtt-check/mqtt-check/reports"
)

// conformanceDoc turns a run of the suite into the project's conformance
// document (reports.ConformanceDoc, schema mqtt-check/conformance/v1): the
// targets with their capabilities and accepted deviations, one result per
// spec and target in a stable order (targets as given, areas in report
// order, specs by name), the MQTT 3.1.1 statement catalogue with the specs
// that check each statement, and the run's label filter and timing.
//
// targets may be nil (a document rebuilt from a saved report): the
// targets are then known by name only.
func conformanceDoc(out *conformance.Outcome, targets []*conformance.Target) reports.ConformanceDoc {
	cat := catalogue.MQTT311()
	doc := reports.ConformanceDoc{
		Schema:      reports.ConformanceSchema,
		GeneratedAt: time.Now().UTC().Truncate(time.Second),
		Tool:        reports.Tool{Name: "mqtt-check", Version: toolVersion()},
		Spec:        cat.Spec,
	}
	r := out.Report
	if !r.EndTime.IsZero() {
		doc.GeneratedAt = r.EndTime.UTC()
	}
	if !r.StartTime.IsZero() {
		doc.Run = &reports.RunInfo{StartedAt: r.StartTime.UTC(), Duration: r.RunTime,
			LabelFilter: r.SuiteConfig.LabelFilter, Focus: r.SuiteConfig.FocusStrings, Skip: r.SuiteConfig.SkipStrings}
	}

	targetOrder := map[string]int{}
	for _, t := range targets {
		targetOrder[t.Name] = len(targetOrder)
		doc.Targets = append(doc.Targets, docTarget(t))
	}
	for _, res := range out.Results {
		if _, ok := targetOrder[res.Target]; !ok {
			targetOrder[res.Target] = len(targetOrder)
		}
	}

	specs := conformance.Specs()
	location := map[string]string{}
	checkedBy := map[string][]string{}
	for _, s := range specs {
		location[s.FullName()] = s.Location()
		for _, id := range s.IDs {
			checkedBy[id] = append(checkedBy[id], s.FullName())
		}
	}
	for _, res := range out.Results {
		doc.Results = append(doc.Results, docResult(res, location))
	}
	areaOrder := map[string]int{}
	for i, a := range conformance.Areas {
		areaOrder[string(a)] = i
	}
	sort.SliceStable(doc.Results, func(i, j int) bool {
		a, b := doc.Results[i], doc.Results[j]
		if a.Target != b.Target {
			return targetOrder[a.Target] < targetOrder[b.Target]
		}
		if a.Area != b.Area {
			ai, aok := areaOrder[a.Area]
			bi, bok := areaOrder[b.Area]
			if aok != bok {
				return aok
			}
			if ai != bi {
				return ai < bi
			}
			return a.Area < b.Area
		}
		return a.Spec < b.Spec
	})

	for _, st := range cat.Statements {
		doc.Catalogue = append(doc.Catalogue, reports.Statement{ID: st.ID, Level: st.Level, Target: st.Target,
			Description: st.Description, Untestable: st.Untestable, Specs: checkedBy[st.ID]})
	}
	doc.StatementVerdicts = reports.StatementVerdicts(doc)
	return doc
}

// docTarget describes a target for the document.
func docTarget(t *conformance.Target) reports.Target {
	dt := reports.Target{Name: t.Name, Address: t.Addr, Banner: t.Banner}
	if t.Version != 0 {
		dt.Protocol = t.Version.String()
	}
	if len(t.Caps) > 0 {
		dt.Capabilities = map[string]bool{}
		for c, ok := range t.Caps {
			dt.Capabilities[string(c)] = ok
			if why := t.Why[c]; !ok && why != "" {
				if dt.CapabilityReasons == nil {
					dt.CapabilityReasons = map[string]string{}
				}
				dt.CapabilityReasons[string(c)] = why
			}
		}
	}
	for _, d := range t.Deviations {
		dt.Deviations = append(dt.Deviations, reports.Deviation{Spec: d.Spec, Statement: d.Statement, Evidence: d.Evidence})
	}
	sort.Slice(dt.Deviations, func(i, j int) bool { return dt.Deviations[i].Spec < dt.Deviations[j].Spec })
	return dt
}

// docResult converts one result, splitting the suite's "expected: ...
// happened: ..." detail into its two parts.
func docResult(r conformance.Result, location map[string]string) reports.Result {
	dr := reports.Result{Target: r.Target, Area: r.Area, Level: r.Level, Spec: r.Name, Statements: r.Statements,
		Verdict: r.Verdict, Reason: r.Reason, Transcript: r.Transcript, Deviation: r.Deviation, Notes: r.Notes, Pcap: r.Pcap,
		Duration: r.Duration, Location: r.Location}
	if loc, ok := location[r.Name]; ok {
		dr.Location = loc // where the spec is written, not where Build made its It
	}
	dr.Expected, dr.Happened, dr.Detail = splitDetail(r.Detail)
	return dr
}

// splitDetail splits the detail T.Fail writes ("expected: E\nhappened: H")
// into E and H; any other detail is returned as rest.
func splitDetail(detail string) (expected, happened, rest string) {
	const e, h = "expected: ", "\nhappened: "
	if strings.HasPrefix(detail, e) {
		if i := strings.Index(detail, h); i >= 0 {
			return detail[len(e):i], detail[i+len(h):], ""
		}
	}
	return "", "", detail
}

// toolVersion is the version versionLine prints.
func toolVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	return buildVersion(info, ok)
}

// Files writeConformanceReports writes into a report directory.
const (
	reportJSONFile     = "report.json"
	reportMarkdownFile = "summary.md"
	reportHTMLFile     = "report.html"
	reportJUnitFile    = "junit.xml"
)

// writeConformanceReports writes a run's reports into dir (which must
// exist): report.json (the document), summary.md (for CI step summaries),
// report.html (self-contained) and junit.xml (Ginkgo's JUnit reporter on
// ginkgoReport, or on a report rebuilt from the document when
// ginkgoReport holds no spec).
func writeConformanceReports(dir string, doc reports.ConformanceDoc, ginkgoReport types.Report) error {
	if len(ginkgoReport.SpecReports) == 0 {
		ginkgoReport = reports.GinkgoReport(doc)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{reportJSONFile, func(w io.Writer) error { return reports.WriteConformanceJSON(w, doc) }},
		{reportMarkdownFile, func(w io.Writer) error { return reports.WriteConformanceMarkdown(w, doc) }},
		{reportHTMLFile, func(w io.Writer) error { return reports.WriteConformanceHTML(w, doc) }},
		{reportJUnitFile, func(w io.Writer) error { return reports.WriteJUnit(w, ginkgoReport) }},
	}
	for _, f := range files {
		if err := writeReportFile(filepath.Join(dir, f.name), f.write); err != nil {
			return err
		}
	}
	return nil
}

// writeReportFile creates path and fills it with write, reporting the first
// error of writing, flushing or closing.
func writeReportFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// errNotAReport means a file is none of the inputs loadReport reads.
var errNotAReport = errors.New("not a conformance report")

// loadedReport is a conformance run read back from disk.
type loadedReport struct {
	Doc reports.ConformanceDoc
	// Ginkgo is the run's own Ginkgo report when the file was one.
	Ginkgo *types.Report
}

// loadReport reads any of the files a run leaves: report.json (the
// mqtt-check/conformance/v1 document), ginkgo.json (Ginkgo's JSON report)
// or results.json (one object per spec and target). The last two are
// converted; their targets are then known by name only.
func loadReport(path string) (loadedReport, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return loadedReport{}, err
	}
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		doc, err := reports.DecodeConformanceJSON(data)
		if err != nil {
			return loadedReport{}, fmt.Errorf("%s: %w", path, err)
		}
		return loadedReport{Doc: doc}, nil
	case len(trimmed) > 0 && trimmed[0] == '[':
	default:
		return loadedReport{}, fmt.Errorf("%s: %w: want report.json, ginkgo.json or results.json", path, errNotAReport)
	}
	var probe []map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return loadedReport{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(probe) == 0 {
		return loadedReport{}, fmt.Errorf("%s: %w: an empty list", path, errNotAReport)
	}
	out := &conformance.Outcome{}
	var lr loadedReport
	switch {
	case probe[0]["SpecReports"] != nil || probe[0]["SuiteDescription"] != nil:
		var rs []types.Report
		if err := json.Unmarshal(data, &rs); err != nil {
			return loadedReport{}, fmt.Errorf("%s: Ginkgo report: %w", path, err)
		}
		for _, r := range rs {
			out.Results = append(out.Results, conformance.Results(r)...)
		}
		out.Report = rs[0]
		if len(rs) == 1 {
			lr.Ginkgo = &rs[0]
		}
	case probe[0]["verdict"] != nil:
		if err := json.Unmarshal(data, &out.Results); err != nil {
			return loadedReport{}, fmt.Errorf("%s: results: %w", path, err)
		}
	default:
		return loadedReport{}, fmt.Errorf("%s: %w: a list of neither Ginkgo reports nor results", path, errNotAReport)
	}
	lr.Doc = conformanceDoc(out, nil)
	if out.Report.EndTime.IsZero() {
		if st, err := os.Stat(path); err == nil {
			lr.Doc.GeneratedAt = st.ModTime().UTC().Truncate(time.Second)
		}
	}
	return lr, nil
}
