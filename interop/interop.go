// Package interop is the bookkeeping of `make interop`: the run of the
// conformance suite and the load smoke scenario against every broker that
// scripts/brokers/ can start here (scripts/interop.sh drives it).
//
// The driver leaves one directory per broker under the output directory:
//
//	<out>/<broker>/meta.env          KEY=VALUE lines written by the driver
//	<out>/<broker>/start.log         what the broker script said on start
//	<out>/<broker>/broker.log        the tail of the broker's own log
//	<out>/<broker>/conformance/      mqtt-check run --report-dir
//	<out>/<broker>/load.json         mqtt-check load --json
//
// This package renames the run's target from its address to the broker's
// name (so the matrix has one column per broker, not per port) and writes
// the headline: per broker pass / fail / deviation / skip counts, run
// times, the accepted deviations one per line, the failures nobody has
// accepted, and the brokers that could not start, with the reason.
package interop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mqtt-check/mqtt-check/reports"
)

// RenameTarget rewrites a conformance document so that its target (a run
// of `mqtt-check run --target 127.0.0.1:PORT` is named by its address) is
// called name instead. Address keeps the address; banner, when not empty,
// becomes the target's banner if the broker did not announce one itself
// ($SYS/broker/version). A document with more than one target is refused:
// the driver checks one broker per run.
func RenameTarget(doc *reports.ConformanceDoc, name, banner string) error {
	names := doc.TargetNames()
	if len(names) != 1 {
		return fmt.Errorf("rename to %q: the document has %d targets (%q), want one", name, len(names), names)
	}
	old := names[0]
	for i := range doc.Targets {
		if doc.Targets[i].Name == old {
			if doc.Targets[i].Address == "" {
				doc.Targets[i].Address = old
			}
			doc.Targets[i].Name = name
			if doc.Targets[i].Banner == "" {
				doc.Targets[i].Banner = banner
			}
		}
	}
	for i := range doc.Results {
		if doc.Results[i].Target == old {
			doc.Results[i].Target = name
		}
	}
	doc.StatementVerdicts = reports.StatementVerdicts(*doc)
	return nil
}

// RenameTargetFile applies RenameTarget to a report.json in place.
func RenameTargetFile(path, name, banner string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc, err := reports.DecodeConformanceJSON(data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := RenameTarget(&doc, name, banner); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var b bytes.Buffer
	if err := reports.WriteConformanceJSON(&b, doc); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Broker is what one broker's directory says about its run.
type Broker struct {
	Name string
	// Meta is meta.env: VERSION, ADDR, START_RC, START_S, RUN_RC, RUN_S,
	// LOAD_RC, LOAD_S, PROFILE.
	Meta map[string]string
	// StartLog is start.log: the broker script's messages (the reason
	// when it could not start).
	StartLog string
	// Doc is the conformance document, when the suite ran.
	Doc *reports.ConformanceDoc
	// Load is the load smoke result, when it ran.
	Load *reports.LoadResult
	// Problems are files that could not be read.
	Problems []string
}

// Started reports whether the broker script started the broker.
func (b *Broker) Started() bool { return b.Meta["START_RC"] == "0" }

// Counts are a broker's result verdicts.
type Counts struct {
	Pass, Fail, Deviation, Info, Skip, CouldNotCheck, Total int
}

// Count tallies the document's results.
func Count(doc *reports.ConformanceDoc) Counts {
	var c Counts
	if doc == nil {
		return c
	}
	for _, r := range doc.Results {
		c.Total++
		switch r.Verdict {
		case reports.VerdictPass:
			c.Pass++
		case reports.VerdictFail:
			c.Fail++
		case reports.VerdictDeviation:
			c.Deviation++
		case reports.VerdictInfo:
			c.Info++
		case reports.VerdictSkip:
			c.Skip++
		case reports.VerdictCouldNotCheck:
			c.CouldNotCheck++
		}
	}
	return c
}

// ReadMeta parses KEY=VALUE lines; blank lines and # comments are skipped.
func ReadMeta(r io.Reader) (map[string]string, error) {
	m := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("meta line %q: want KEY=VALUE", line)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m, sc.Err()
}

// LoadBroker reads one broker's directory.
func LoadBroker(dir, name string) *Broker {
	b := &Broker{Name: name, Meta: map[string]string{}}
	bd := filepath.Join(dir, name)
	if f, err := os.Open(filepath.Join(bd, "meta.env")); err == nil {
		m, err := ReadMeta(f)
		f.Close()
		if err != nil {
			b.Problems = append(b.Problems, err.Error())
		} else {
			b.Meta = m
		}
	} else {
		b.Problems = append(b.Problems, "no meta.env: the driver did not get to this broker")
	}
	if data, err := os.ReadFile(filepath.Join(bd, "start.log")); err == nil {
		b.StartLog = string(data)
	}
	if data, err := os.ReadFile(filepath.Join(bd, "conformance", "report.json")); err == nil {
		if doc, err := reports.DecodeConformanceJSON(data); err == nil {
			b.Doc = &doc
		} else {
			b.Problems = append(b.Problems, err.Error())
		}
	} else if b.Started() {
		b.Problems = append(b.Problems, "no conformance report: "+err.Error())
	}
	if _, err := os.Stat(filepath.Join(bd, "load.json")); err == nil {
		if l, err := reports.ReadLoadFile(filepath.Join(bd, "load.json")); err == nil {
			b.Load = l
		} else {
			b.Problems = append(b.Problems, err.Error())
		}
	}
	return b
}

// Verdict is the broker's line in the headline.
func (b *Broker) Verdict() string {
	c := Count(b.Doc)
	switch {
	case !b.Started():
		return "could not start"
	case b.Doc == nil:
		return "could not run"
	case c.Fail > 0:
		return fmt.Sprintf("FAIL (%d not accepted)", c.Fail)
	case b.Meta["RUN_RC"] != "" && b.Meta["RUN_RC"] != "0":
		return "could not run (exit " + b.Meta["RUN_RC"] + ")"
	default:
		return "pass"
	}
}

func seconds(s string) string {
	if s == "" {
		return "-"
	}
	if n, err := strconv.Atoi(s); err == nil {
		return (time.Duration(n) * time.Second).String()
	}
	return s
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "\n", " ")
}

// loadCell summarises the load smoke run in one table cell.
func loadCell(b *Broker) string {
	if b.Load == nil {
		if b.Meta["LOAD_RC"] != "" {
			return "no result (exit " + b.Meta["LOAD_RC"] + ")"
		}
		return "-"
	}
	l := b.Load
	s := fmt.Sprintf("%d/%d received, %d lost", l.Counters.Received, l.Counters.Expected, l.Counters.Lost)
	if h := l.Latency["e2e"]; h != nil && h.Count > 0 {
		s += fmt.Sprintf(", p50 %.2f ms, p99 %.2f ms", h.P50Ms, h.P99Ms)
	}
	if l.Connections.Failed > 0 {
		s += fmt.Sprintf(", %d connects failed", l.Connections.Failed)
	}
	var errs int64
	for _, e := range l.Errors {
		errs += e.Count
	}
	if errs > 0 {
		s += fmt.Sprintf(", %d errors (%s)", errs, l.Errors[0].Kind)
	}
	if rc := b.Meta["LOAD_RC"]; rc != "" && rc != "0" {
		s += " (exit " + rc + ")"
	}
	return s
}

// WriteHeadline writes the Markdown headline of a run over brokers.
func WriteHeadline(w io.Writer, brokers []*Broker, when time.Time, tool string) error {
	var b strings.Builder
	b.WriteString("# Interoperability run\n\n")
	fmt.Fprintf(&b, "%s, %s; MQTT 3.1.1 conformance suite, then the load smoke scenario, one broker at a time on 127.0.0.1.\n\n",
		when.UTC().Format(time.RFC3339), tool)
	b.WriteString("| broker | version | verdict | pass | fail | deviation | info | skip | could not check | start | suite | load smoke | load time |\n")
	b.WriteString("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n")
	for _, br := range brokers {
		c := Count(br.Doc)
		if br.Doc == nil {
			fmt.Fprintf(&b, "| %s | %s | %s | - | - | - | - | - | - | %s | - | - | - |\n", br.Name, cell(br.Meta["VERSION"]), br.Verdict(), seconds(br.Meta["START_S"]))
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %d | %d | %d | %d | %s | %s | %s | %s |\n",
			br.Name, cell(br.Meta["VERSION"]), br.Verdict(), c.Pass, c.Fail, c.Deviation, c.Info, c.Skip, c.CouldNotCheck,
			seconds(br.Meta["START_S"]), seconds(br.Meta["RUN_S"]), cell(loadCell(br)), seconds(br.Meta["LOAD_S"]))
	}

	b.WriteString("\n## Accepted deviations\n\nFailures the broker's profile (conformance/profiles/<broker>.json) accepts, each checked by hand against the specification and the transcript.\n\n")
	n := 0
	for _, br := range brokers {
		for _, r := range sortedResults(br.Doc, reports.VerdictDeviation) {
			fmt.Fprintf(&b, "- %s: %s - %s\n", br.Name, deviationStatement(br.Doc, r), r.Spec)
			n++
		}
	}
	if n == 0 {
		b.WriteString("None.\n")
	}

	b.WriteString("\n## Failures not accepted\n\nMUST failures no profile accepts: a broker bug to record with evidence, or a harness bug to fix.\n\n")
	n = 0
	for _, br := range brokers {
		for _, r := range sortedResults(br.Doc, reports.VerdictFail) {
			fmt.Fprintf(&b, "- %s: %s - %s\n", br.Name, r.Spec, cell(r.Reason))
			n++
		}
	}
	if n == 0 {
		b.WriteString("None.\n")
	}

	b.WriteString("\n## Could not check\n\nSpecs that ran but could not judge their rule (a setup step failed, the broker stopped answering); neither pass nor fail.\n\n")
	n = 0
	for _, br := range brokers {
		for _, r := range sortedResults(br.Doc, reports.VerdictCouldNotCheck) {
			fmt.Fprintf(&b, "- %s: %s - %s\n", br.Name, r.Spec, cell(firstLine(r.Reason, 200)))
			n++
		}
		if br.Meta["DOWN_AFTER_SUITE"] == "1" {
			fmt.Fprintf(&b, "- %s: did not answer an MQTT CONNECT after the suite (its log: %s/broker.log)\n", br.Name, br.Name)
			n++
		}
	}
	if n == 0 {
		b.WriteString("None.\n")
	}

	var skipped []string
	for _, br := range brokers {
		if br.Doc == nil {
			continue
		}
		for _, t := range br.Doc.Targets {
			var absent []string
			for c, ok := range t.Capabilities {
				if !ok {
					absent = append(absent, fmt.Sprintf("%s (%s)", c, t.CapabilityReasons[c]))
				}
			}
			sort.Strings(absent)
			if len(absent) > 0 {
				skipped = append(skipped, fmt.Sprintf("- %s: %s\n", br.Name, strings.Join(absent, "; ")))
			}
		}
	}
	if len(skipped) > 0 {
		b.WriteString("\n## Capabilities absent (their specs are skipped)\n\n")
		for _, s := range skipped {
			b.WriteString(s)
		}
	}

	var down []*Broker
	for _, br := range brokers {
		if !br.Started() || br.Doc == nil || len(br.Problems) > 0 {
			down = append(down, br)
		}
	}
	if len(down) > 0 {
		b.WriteString("\n## Brokers that could not start or run\n\n")
		for _, br := range down {
			fmt.Fprintf(&b, "### %s: %s\n\n", br.Name, br.Verdict())
			for _, p := range br.Problems {
				fmt.Fprintf(&b, "- %s\n", p)
			}
			if log := strings.TrimSpace(br.StartLog); log != "" && !br.Started() {
				lines := strings.Split(log, "\n")
				if len(lines) > 40 {
					lines = lines[len(lines)-40:]
				}
				fmt.Fprintf(&b, "\n```\n%s\n```\n", strings.Join(lines, "\n"))
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// deviationStatement is the statement the profile names for a result.
func deviationStatement(doc *reports.ConformanceDoc, r reports.Result) string {
	for _, t := range doc.Targets {
		if t.Name != r.Target {
			continue
		}
		for _, d := range t.Deviations {
			if d.Spec == r.Spec {
				return d.Statement
			}
		}
	}
	return strings.Join(r.Statements, " ")
}

func sortedResults(doc *reports.ConformanceDoc, verdict string) []reports.Result {
	if doc == nil {
		return nil
	}
	var out []reports.Result
	for _, r := range doc.Results {
		if r.Verdict == verdict {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Spec < out[j].Spec })
	return out
}

// firstLine cuts s to its first line and at most max bytes.
func firstLine(s string, max int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

// ErrFailed is returned by Gate when a broker failed or could not run.
var ErrFailed = errors.New("interop run failed")

// Gate says how the run ends: nil when every broker started and ran with
// no MUST failure left unaccepted and a load smoke run that completed.
func Gate(brokers []*Broker) error {
	var msgs []string
	for _, br := range brokers {
		v := br.Verdict()
		if v != "pass" {
			msgs = append(msgs, br.Name+": "+v)
		}
		if rc := br.Meta["LOAD_RC"]; br.Started() && rc != "" && rc != "0" {
			msgs = append(msgs, br.Name+": load smoke exit "+rc)
		}
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%w: %s", ErrFailed, strings.Join(msgs, "; "))
	}
	return nil
}
