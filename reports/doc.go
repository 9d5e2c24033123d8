// Package reports renders what mqtt-check found: it turns result documents
// into files people and CI systems read. It imports no protocol code (not
// codec, conformance or reference): the cmd package converts a run into a
// document, and this package only renders documents.
//
// Files are split by the kind of result they render:
//
//   - conformance*.go: the conformance document (ConformanceDoc, schema
//     "mqtt-check/conformance/v1", described field by field in SCHEMA.md)
//     and its renderings: JSON, JUnit XML through Ginkgo's own reporter,
//     Markdown for CI step summaries, a self-contained HTML page, a
//     statement-by-broker matrix and a diff of two runs for release gates.
//   - load*.go: the load test document and its renderings (to come).
//   - html*.go, markdown*.go: helpers both halves share.
//
// Every writer follows one pattern (tsenart/vegeta's reporters): it writes
// to an io.Writer and returns the first write error, so a full disk or a
// closed pipe is never mistaken for a written report.
package reports
