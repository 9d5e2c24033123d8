package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/mqtt-check/mqtt-check/reports"
)

func reportCommand() command {
	return command{
		name:    "report",
		summary: "Render, compare and diff saved conformance results (HTML, Markdown, JUnit)",
		usage: `Usage: mqtt-check report <kind> [-o FILE] FILE...

Render the results of 'mqtt-check run --report-dir DIR' again, or compare
runs. FILE is DIR/report.json (the mqtt-check/conformance/v1 document);
Ginkgo's JSON report (ginkgo.json) and results.json are read as well.

Kinds:
  html FILE          one self-contained HTML page: summary, filters, every
                     failure with its wire transcript, catalogue coverage
  markdown FILE      the summary for a CI step summary or a merge-request
                     comment ($GITHUB_STEP_SUMMARY)
  junit FILE         JUnit XML (Ginkgo's reporter); from ginkgo.json it is
                     the run's own report
  json FILE          the mqtt-check/conformance/v1 document (converts
                     ginkgo.json or results.json)
  matrix FILE...     statements down, targets across, each cell the
                     statement's verdict: compare brokers or releases
  diff OLD NEW       what newly fails and what was fixed; exits 1 on a
                     regression (a statement or spec that passed, or
                     failed with an accepted deviation, and fails now)
  load FILE...       load results (mqtt-check load --json): text summary,
                     HTML overlaying several runs (default), text, hgrm;
                     see mqtt-check report load -h

Flags:
  -o FILE            write to FILE instead of standard output
  --format F         for matrix: markdown (default) or html

Exit codes: 0 done (diff: no regression); 1 diff found a regression;
2 could not run (bad arguments, unreadable or unknown file, a diff of
runs with no target in common).

Examples:
  mqtt-check run --report-dir out
  mqtt-check report html out/report.json -o report.html
  mqtt-check report markdown out/report.json >> "$GITHUB_STEP_SUMMARY"
  mqtt-check report matrix mosquitto.json emqx.json --format html -o matrix.html
  mqtt-check report diff release-1.json release-2.json
  mqtt-check report load -o compare.html before.json after.json
`,
		run: runReport,
	}
}

// reportKinds are the first argument of mqtt-check report and the number of
// files each takes (-1: one or more).
var reportKinds = map[string]int{"html": 1, "markdown": 1, "junit": 1, "json": 1, "matrix": -1, "diff": 2}

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "load" {
		// Load results have their own document and renderer.
		return runReportLoad(ctx, args[1:], stdout, stderr)
	}
	fs := newFlagSet("report")
	output := fs.String("o", "", "output file")
	format := fs.String("format", "markdown", "matrix format")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("report needs a kind: html, markdown, junit, json, matrix or diff")
	}
	kind, files := files[0], files[1:]
	want, ok := reportKinds[kind]
	switch {
	case !ok:
		return usagef("unknown report kind %q: want html, markdown, junit, json, matrix or diff", kind)
	case want == -1 && len(files) == 0:
		return usagef("report %s needs at least one file", kind)
	case want > 0 && len(files) != want:
		return usagef("report %s takes %d file(s), got %d", kind, want, len(files))
	}
	if kind != "matrix" && isFlagSet(fs, "format") {
		return usagef("--format applies to report matrix")
	}
	if kind == "matrix" && *format != "markdown" && *format != "html" {
		return usagef("--format must be markdown or html, not %q", *format)
	}
	loaded := make([]loadedReport, len(files))
	for i, f := range files {
		if loaded[i], err = loadReport(f); err != nil {
			return err
		}
	}

	var write func(io.Writer) error
	var verdict error
	switch kind {
	case "html":
		write = func(w io.Writer) error { return reports.WriteConformanceHTML(w, loaded[0].Doc) }
	case "markdown":
		write = func(w io.Writer) error { return reports.WriteConformanceMarkdown(w, loaded[0].Doc) }
	case "json":
		write = func(w io.Writer) error { return reports.WriteConformanceJSON(w, loaded[0].Doc) }
	case "junit":
		if g := loaded[0].Ginkgo; g != nil {
			write = func(w io.Writer) error { return reports.WriteJUnit(w, *g) }
		} else {
			write = func(w io.Writer) error { return reports.WriteConformanceJUnit(w, loaded[0].Doc) }
		}
	case "matrix":
		docs := make([]reports.ConformanceDoc, len(loaded))
		for i, l := range loaded {
			docs[i] = l.Doc
		}
		if *format == "html" {
			write = func(w io.Writer) error { return reports.WriteMatrixHTML(w, docs...) }
		} else {
			write = func(w io.Writer) error { return reports.WriteMatrixMarkdown(w, docs...) }
		}
	case "diff":
		d := reports.Diff(loaded[0].Doc, loaded[1].Doc)
		if len(d.Targets) == 0 {
			return fmt.Errorf("%s and %s have no target in common (old: %q, new: %q): nothing to compare",
				files[0], files[1], loaded[0].Doc.TargetNames(), loaded[1].Doc.TargetNames())
		}
		write = func(w io.Writer) error { return reports.WriteDiffText(w, d) }
		if regs := d.Regressions(); len(regs) > 0 {
			verdict = checkFailed("%d regression(s) from %s to %s", len(regs), files[0], files[1])
		}
	}
	if *output == "" || *output == "-" {
		if err := write(stdout); err != nil {
			return err
		}
	} else if err := writeReportFile(*output, write); err != nil {
		return err
	}
	return verdict
}

// parseInterspersed parses flags found anywhere among args (the flag
// package stops at the first argument) and returns the other arguments in
// order. "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		left := fs.Args()
		if len(left) == 0 {
			return rest, nil
		}
		if n := len(args) - len(left); n > 0 && args[n-1] == "--" {
			return append(rest, left...), nil
		}
		rest = append(rest, left[0])
		args = left[1:]
	}
}

// isFlagSet reports whether the flag was given on the command line.
func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}
