package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ConformanceSchema is the schema identifier of the conformance document
// this package writes. The part after the last "/" is the major version:
// see SCHEMA.md for what changes it.
const ConformanceSchema = "mqtt-check/conformance/v1"

// conformanceSchemaPrefix is the schema name without its version.
const conformanceSchemaPrefix = "mqtt-check/conformance/"

// Verdicts of one spec on one target (Result.Verdict), and of one statement
// on one target (StatementVerdict.Verdict).
const (
	// VerdictPass: the broker did what the statement requires.
	VerdictPass = "pass"
	// VerdictFail: the broker broke a MUST statement. Only this verdict
	// fails a run.
	VerdictFail = "fail"
	// VerdictDeviation: the broker broke the statement, and the target's
	// profile records this failure as a known, accepted deviation.
	VerdictDeviation = "deviation"
	// VerdictInfo: a SHOULD or MAY spec found the broker does not do what
	// the specification recommends; information, never a failure.
	VerdictInfo = "info"
	// VerdictSkip: the spec did not run, for a stated reason (the broker
	// lacks an optional capability, the spec was not selected).
	VerdictSkip = "skip"
	// VerdictCouldNotCheck: the spec ran but could not judge its rule (a
	// setup step failed, the target stopped answering, the spec broke).
	VerdictCouldNotCheck = "could-not-check"

	// VerdictNotCovered (statements only): no result in the document
	// checks the statement on this target.
	VerdictNotCovered = "not-covered"
	// VerdictUntestable (statements only): no result checks the statement
	// and the catalogue says why no spec can check it from outside.
	VerdictUntestable = "untestable"
)

// SpecVerdicts lists the verdicts a Result can have, most severe first.
var SpecVerdicts = []string{VerdictFail, VerdictDeviation, VerdictPass, VerdictInfo, VerdictCouldNotCheck, VerdictSkip}

// ConformanceDoc is the project's own, stable summary of one conformance
// run: what was checked (targets), against which statements (catalogue),
// and what each spec found (results). SCHEMA.md describes it field by
// field.
type ConformanceDoc struct {
	// Schema is ConformanceSchema.
	Schema string `json:"schema"`
	// GeneratedAt is when the document was made.
	GeneratedAt time.Time `json:"generated_at"`
	// Tool is the program that made it.
	Tool Tool `json:"tool"`
	// Spec names the specification the catalogue lists ("MQTT 3.1.1").
	Spec string `json:"spec,omitempty"`
	// Run describes the run: when, how long, which specs were selected.
	Run *RunInfo `json:"run,omitempty"`
	// Targets are the brokers checked, in run order.
	Targets []Target `json:"targets"`
	// Results are one entry per spec and target.
	Results []Result `json:"results"`
	// Catalogue lists the normative statements of Spec.
	Catalogue []Statement `json:"catalogue,omitempty"`
	// StatementVerdicts are derived from Results and Catalogue: one per
	// target and statement. WriteConformanceJSON recomputes them and
	// ReadConformanceJSON replaces whatever the file holds.
	StatementVerdicts []StatementVerdict `json:"statement_verdicts,omitempty"`
}

// Tool identifies the program that wrote a document.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// RunInfo describes one run of the suite.
type RunInfo struct {
	StartedAt   time.Time     `json:"started_at"`
	Duration    time.Duration `json:"duration_ns"`
	LabelFilter string        `json:"label_filter,omitempty"`
	Focus       []string      `json:"focus,omitempty"`
	Skip        []string      `json:"skip,omitempty"`
}

// Target is one broker a run checked.
type Target struct {
	// Name labels the target in every report.
	Name string `json:"name"`
	// Address is host:port of its MQTT listener.
	Address string `json:"address,omitempty"`
	// Protocol is the MQTT version spoken: "3.1.1" or "3.1".
	Protocol string `json:"protocol,omitempty"`
	// Banner is the broker's own version string when known (for example
	// from $SYS/broker/version).
	Banner string `json:"banner,omitempty"`
	// Capabilities says, per optional capability, whether the broker has
	// it ("qos2": true).
	Capabilities map[string]bool `json:"capabilities,omitempty"`
	// CapabilityReasons says, per absent capability, how we know.
	CapabilityReasons map[string]string `json:"capability_reasons,omitempty"`
	// Deviations are failures the target's profile accepts.
	Deviations []Deviation `json:"deviations,omitempty"`
}

// Deviation is a documented, accepted failure of one spec on one target.
type Deviation struct {
	Spec      string `json:"spec"`
	Statement string `json:"statement"`
	Evidence  string `json:"evidence"`
}

// Result is what one spec found on one target.
type Result struct {
	Target string `json:"target"`
	Area   string `json:"area"`
	// Level is "must", "should" or "may".
	Level string `json:"level"`
	// Spec is the spec's full name, its statement IDs first; unique per
	// target.
	Spec string `json:"spec"`
	// Statements are the normative statement IDs the spec checks.
	Statements []string `json:"statements,omitempty"`
	// Verdict is one of SpecVerdicts.
	Verdict string `json:"verdict"`
	// Reason is one line: why it failed, was skipped, could not check.
	Reason string `json:"reason,omitempty"`
	// Expected is what the statement requires; Happened is what the
	// broker did (both set on fail, deviation and info).
	Expected string `json:"expected,omitempty"`
	Happened string `json:"happened,omitempty"`
	// Detail is further explanation that is not expected/happened, such
	// as the message of a spec that broke.
	Detail string `json:"detail,omitempty"`
	// Transcript is the wire transcript: one packet or event per line.
	Transcript string `json:"transcript,omitempty"`
	// Pcap is the path of a capture of the transcript, relative to the
	// document's directory; empty when none was written.
	Pcap string `json:"pcap,omitempty"`
	// Deviation is the profile's evidence when Verdict is "deviation".
	Deviation string `json:"deviation,omitempty"`
	// Notes are observations the spec recorded.
	Notes string `json:"notes,omitempty"`
	// Duration is how long the spec ran.
	Duration time.Duration `json:"duration_ns"`
	// Location is where the spec is defined (file:line).
	Location string `json:"location,omitempty"`
}

// Statement is one normative statement of the catalogue.
type Statement struct {
	ID string `json:"id"`
	// Level is the catalogue's keyword: "MUST", "MUST NOT", "SHOULD"...
	Level string `json:"level"`
	// Target is who the statement binds: "server", "client" or "both".
	Target      string `json:"target"`
	Description string `json:"description"`
	// Untestable says why no spec can check the statement from outside
	// the broker; empty when it is testable.
	Untestable string `json:"untestable,omitempty"`
	// Specs are the names of the suite's specs that check it, whether or
	// not they ran in this document's run.
	Specs []string `json:"specs,omitempty"`
}

// BindsServer reports whether a broker is bound by the statement.
func (s Statement) BindsServer() bool { return s.Target == "server" || s.Target == "both" }

// SpecRef is a spec's verdict as part of a statement's verdict.
type SpecRef struct {
	Spec    string `json:"spec"`
	Verdict string `json:"verdict"`
}

// StatementVerdict is the verdict of one statement on one target, derived
// from the results of the specs that check it (see StatementVerdicts).
type StatementVerdict struct {
	Target    string `json:"target"`
	Statement string `json:"statement"`
	Verdict   string `json:"verdict"`
	// Reason is the reason of the spec that decided the verdict, or the
	// catalogue's reason for an untestable statement.
	Reason string `json:"reason,omitempty"`
	// Specs are the results that check the statement on the target.
	Specs []SpecRef `json:"specs,omitempty"`
}

// ErrSchema means a document is not a conformance document of a version
// this package reads.
var ErrSchema = errors.New("unsupported document schema")

// WriteConformanceJSON writes doc as indented JSON, with its statement
// verdicts derived afresh and Schema set to ConformanceSchema.
func WriteConformanceJSON(w io.Writer, doc ConformanceDoc) error {
	doc.Schema = ConformanceSchema
	doc.StatementVerdicts = StatementVerdicts(doc)
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding conformance document: %w", err)
	}
	data = append(data, '\n')
	_, err = w.Write(data)
	return err
}

// ReadConformanceJSON decodes a document written by WriteConformanceJSON
// (or by any writer of schema version 1). Unknown fields are ignored, as
// the versioning rule allows; a document of another schema or major
// version is an error wrapping ErrSchema. The statement verdicts are
// derived again from the results.
func ReadConformanceJSON(r io.Reader) (ConformanceDoc, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return ConformanceDoc{}, fmt.Errorf("reading conformance document: %w", err)
	}
	return DecodeConformanceJSON(data)
}

// DecodeConformanceJSON is ReadConformanceJSON on a byte slice.
func DecodeConformanceJSON(data []byte) (ConformanceDoc, error) {
	var doc ConformanceDoc
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return doc, fmt.Errorf("%w: not a JSON object (want schema %q)", ErrSchema, ConformanceSchema)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return ConformanceDoc{}, fmt.Errorf("decoding conformance document: %w", err)
	}
	switch {
	case doc.Schema == ConformanceSchema:
	case strings.HasPrefix(doc.Schema, conformanceSchemaPrefix):
		return ConformanceDoc{}, fmt.Errorf("%w: %q is a newer or older major version than %q", ErrSchema, doc.Schema, ConformanceSchema)
	case doc.Schema == "":
		return ConformanceDoc{}, fmt.Errorf("%w: no \"schema\" field (want %q)", ErrSchema, ConformanceSchema)
	default:
		return ConformanceDoc{}, fmt.Errorf("%w: %q (want %q)", ErrSchema, doc.Schema, ConformanceSchema)
	}
	doc.StatementVerdicts = StatementVerdicts(doc)
	return doc, nil
}

// TargetNames returns the names of the document's targets in order,
// followed by any target named only in its results.
func (d ConformanceDoc) TargetNames() []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, t := range d.Targets {
		add(t.Name)
	}
	for _, r := range d.Results {
		add(r.Target)
	}
	return out
}

// Target returns the target called name.
func (d ConformanceDoc) Target(name string) (Target, bool) {
	for _, t := range d.Targets {
		if t.Name == name {
			return t, true
		}
	}
	return Target{}, false
}
