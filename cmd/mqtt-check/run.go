package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/conformance"
	"github.com/mqtt-check/mqtt-check/reference/broker"
)

func conformanceRunCommand() command {
	return command{
		name:    "run",
		summary: "Check a broker against the MQTT specification (conformance suite)",
		usage: `Usage: mqtt-check run [flags]

Run the conformance suite: one spec per testable rule of MQTT 3.1.1 (or 3.1),
each labelled with the normative statement IDs it checks. With no --target,
the embedded reference broker is started and checked (that is what
'make run' does).

Target:
  --target HOST:PORT       broker to check (repeatable: each is checked)
  --name NAME              the target's name in reports (repeatable, in
                           --target order; default: the address)
  --protocol 3.1.1|3.1     protocol version (default 3.1.1)
  --username U --password P   credentials sent in every CONNECT
  --tls                    connect with TLS
  --cafile FILE            CA bundle to verify the broker (with --tls)
  --cert FILE --key FILE   client certificate (with --tls)
  --insecure               do not verify the broker's certificate
  --tls-target HOST:PORT   an extra TLS listener for the tls specs
  --websocket URL          a ws:// URL for the websocket specs
  --profile FILE           capabilities and accepted deviations (JSON)
  --fault NAME             with no --target: switch on a fault of the
                           embedded broker (repeatable), to see failures

Selection:
  --label-filter EXPR      Ginkgo label filter, e.g. 'must && retain' or
                           'MQTT-3.1.2-24'
  --focus REGEXP, --skip REGEXP   select specs by name (repeatable)
  --list                   list the specs with their statement IDs and exit

Timing:
  --wait D                 how long the broker may take to answer (default 3s)
  --quiet D                how long to watch for something that must not
                           happen (default 500ms)
  --timeout D              bound on the whole run (default 30m)

Reports:
  --junit FILE             JUnit XML (Ginkgo's reporter)
  --json FILE              Ginkgo's JSON report
  --report-dir DIR         write every format there: report.html (one
                           self-contained page), report.json (stable schema,
                           reports/SCHEMA.md), summary.md, junit.xml,
                           ginkgo.json, results.json and summary.txt
  -v                       verbose progress

Exit codes: 0 no MUST statement failed; 1 MUST failures; 2 could not run
(bad flags, target unreachable).

Examples:
  mqtt-check run
  mqtt-check run --target 127.0.0.1:1883 --junit junit.xml
  mqtt-check run --target broker:8883 --tls --cafile ca.pem
  mqtt-check run --label-filter 'retain || will'
  mqtt-check run --fault no-will --label-filter will
`,
		run: runRun,
	}
}

type runFlags struct {
	targets, names, focus, skip, faults stringList
	protocol, username, password        string
	tlsClientFlags
	tlsTarget, wsURL             string
	profile, labelFilter         string
	list, verbose                bool
	wait, quiet, timeout         time.Duration
	junit, jsonReport, reportDir string
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run")
	var f runFlags
	fs.Var(&f.targets, "target", "broker address (repeatable)")
	fs.Var(&f.names, "name", "target name in reports (repeatable, in --target order)")
	fs.StringVar(&f.protocol, "protocol", "3.1.1", "3.1.1 or 3.1")
	fs.StringVar(&f.username, "username", "", "user name")
	fs.StringVar(&f.password, "password", "", "password")
	f.tlsClientFlags.register(fs)
	fs.StringVar(&f.tlsTarget, "tls-target", "", "extra TLS listener")
	fs.StringVar(&f.wsURL, "websocket", "", "WebSocket URL")
	fs.StringVar(&f.profile, "profile", "", "profile file")
	fs.Var(&f.faults, "fault", "embedded broker fault (repeatable)")
	fs.StringVar(&f.labelFilter, "label-filter", "", "label filter")
	fs.Var(&f.focus, "focus", "focus regexp (repeatable)")
	fs.Var(&f.skip, "skip", "skip regexp (repeatable)")
	fs.BoolVar(&f.list, "list", false, "list specs")
	fs.BoolVar(&f.verbose, "v", false, "verbose")
	fs.DurationVar(&f.wait, "wait", 3*time.Second, "answer deadline")
	fs.DurationVar(&f.quiet, "quiet", 500*time.Millisecond, "quiet window")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Minute, "run timeout")
	fs.StringVar(&f.junit, "junit", "", "JUnit file")
	fs.StringVar(&f.jsonReport, "json", "", "JSON file")
	fs.StringVar(&f.reportDir, "report-dir", "", "report directory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("run takes no arguments, got %q", fs.Args())
	}
	if f.list {
		return listSpecs(stdout)
	}
	var version codec.Version
	switch f.protocol {
	case "3.1.1":
		version = codec.V311
	case "3.1":
		version = codec.V31
	default:
		return usagef("--protocol must be 3.1.1 or 3.1, not %q", f.protocol)
	}
	if len(f.faults) > 0 && len(f.targets) > 0 {
		return usagef("--fault applies to the embedded broker: drop --target")
	}
	var prof *conformance.Profile
	if f.profile != "" {
		p, err := conformance.LoadProfile(f.profile)
		if err != nil {
			return usagef("%v", err)
		}
		prof = p
	}
	tlsConf, err := f.tlsClientFlags.config()
	if err != nil {
		return usagef("%v", err)
	}

	var targets []*conformance.Target
	if len(f.targets) == 0 {
		faults, err := broker.ParseFaults(f.faults)
		if err != nil {
			return usagef("%v", err)
		}
		emb, err := broker.StartEmbedded(broker.Options{Faults: faults, SysInterval: time.Second})
		if err != nil {
			return err
		}
		defer emb.Close()
		name := "reference"
		if len(f.faults) > 0 {
			name += "+" + strings.Join(f.faults, "+")
		}
		fmt.Fprintf(stderr, "No --target: checking the embedded reference broker on %s (TLS %s, WebSocket %s)\n", emb.Addr, emb.TLSAddr, emb.WebSocketURL)
		targets = append(targets, &conformance.Target{Name: name, Addr: emb.Addr, Version: version,
			TLSAddr: emb.TLSAddr, TLS: nil, WebSocketURL: emb.WebSocketURL, ClientTLS: emb.ClientTLS})
	}
	if len(f.names) > len(f.targets) {
		return usagef("%d --name for %d --target", len(f.names), len(f.targets))
	}
	for i, addr := range f.targets {
		name := addr
		if i < len(f.names) {
			name = f.names[i]
		}
		targets = append(targets, &conformance.Target{Name: name, Addr: addr, Version: version,
			Username: f.username, Password: f.password, TLS: tlsConf, TLSAddr: f.tlsTarget,
			WebSocketURL: f.wsURL, ClientTLS: tlsConf})
	}
	cfg := conformance.Config{Wait: f.wait, Quiet: f.quiet}
	if f.reportDir != "" {
		// Every failure gets a capture Wireshark opens, beside the reports.
		cfg.PcapDir = filepath.Join(f.reportDir, "pcap")
		if err := os.MkdirAll(cfg.PcapDir, 0o755); err != nil {
			return err
		}
	}
	for _, tg := range targets {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := tg.Probe(pctx, f.wait)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", tg.Name, err)
		}
		if prof != nil {
			prof.Apply(tg)
		}
		fmt.Fprintf(stderr, "%s capabilities: %s\n", tg.Name, strings.Join(tg.CapabilityLines(), ", "))
	}
	opts := conformance.RunOptions{Targets: targets, Config: cfg, LabelFilter: f.labelFilter,
		Focus: f.focus, Skip: f.skip, Timeout: f.timeout, JUnitReport: f.junit, JSONReport: f.jsonReport,
		Verbose: f.verbose, NoColor: !isTerminal(os.Stdout)}
	if f.reportDir != "" {
		if err := os.MkdirAll(f.reportDir, 0o755); err != nil {
			return err
		}
		if opts.JSONReport == "" {
			opts.JSONReport = filepath.Join(f.reportDir, "ginkgo.json")
		}
	}
	out, err := conformance.Run(opts)
	if err != nil {
		return err
	}
	for i, r := range out.Results {
		// Reports link captures relative to the report directory.
		if rel, err := filepath.Rel(f.reportDir, r.Pcap); r.Pcap != "" && err == nil {
			out.Results[i].Pcap = filepath.ToSlash(rel)
		}
	}
	var b strings.Builder
	conformance.Summarize(out.Results).WriteText(&b)
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		return err
	}
	if f.reportDir != "" {
		if err := writeRunReports(f.reportDir, out, b.String()); err != nil {
			return err
		}
		if err := writeConformanceReports(f.reportDir, conformanceDoc(out, targets), out.Report); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nReports written to %s\n", f.reportDir)
	}
	sum := conformance.Summarize(out.Results)
	if len(sum.Down) > 0 {
		// The run could not finish judging the broker; failures recorded
		// as it went away may be the crash itself, so this is "could not
		// run", not a verdict.
		var names []string
		for t := range sum.Down {
			names = append(names, t)
		}
		sort.Strings(names)
		return fmt.Errorf("%s stopped answering during the run (%d MUST failure(s) recorded before that): the suite could not finish", strings.Join(names, ", "), len(sum.Failures))
	}
	if out.Failed() {
		return checkFailed("%d MUST statement check(s) failed", len(sum.Failures))
	}
	if len(out.Results) == 0 {
		return errors.New("no spec ran: check --label-filter, --focus and --skip")
	}
	return nil
}

func listSpecs(w io.Writer) error {
	if err := conformance.Validate(); err != nil {
		return err
	}
	for _, s := range conformance.Specs() {
		if _, err := fmt.Fprintf(w, "%-10s %-6s %-40s %s\n", s.Area, s.Level, strings.Join(s.IDs, ","), s.Name); err != nil {
			return err
		}
	}
	return nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
