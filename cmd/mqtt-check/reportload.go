package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/mqtt-check/mqtt-check/reports"
)

// reportLoadUsage is the help of 'mqtt-check report load'.
const reportLoadUsage = `Usage: mqtt-check report load [flags] a.json [b.json...]

Render load results (result.json from 'mqtt-check load --json' or
--report-dir). Several files are overlaid for comparison: one colour per
run on every chart, and a comparison table.

Flags:
  --format F     html (default), text, json, hgrm or hlog
                 (json, hgrm and hlog take one file; give several shards
                 to 'mqtt-check load merge' first)
  --metric M     the latency metric for hgrm (default e2e; also service,
                 connect, suback, puback, pubcomp, retained, send_lag)
  -o FILE        write there instead of standard output

Examples:
  mqtt-check report load -o report.html before.json after.json
  mqtt-check report load --format text run.json
  mqtt-check report load --format hgrm --metric service run.json > service.hgrm
`

// runReportLoad is 'mqtt-check report load': it renders one or more
// load result documents.
func runReportLoad(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("report load")
	var format, metric, out string
	fs.StringVar(&format, "format", "html", "output format")
	fs.StringVar(&metric, "metric", reports.MetricE2E, "latency metric")
	fs.StringVar(&out, "o", "", "output file")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			_, werr := io.WriteString(stdout, reportLoadUsage)
			return werr
		}
		return err
	}
	if fs.NArg() == 0 {
		return usagef("report load needs at least one result file")
	}
	var runs []*reports.LoadResult
	for _, p := range fs.Args() {
		r, err := reports.ReadLoadFile(p)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	one := func() (*reports.LoadResult, error) {
		if len(runs) != 1 {
			return nil, usagef("--format %s takes one result file (merge shards with 'mqtt-check load merge')", format)
		}
		return runs[0], nil
	}
	var write func(io.Writer) error
	switch format {
	case "html":
		write = func(w io.Writer) error { return reports.WriteLoadHTML(w, runs) }
	case "text":
		write = func(w io.Writer) error {
			for i, r := range runs {
				if i > 0 {
					if _, err := io.WriteString(w, "\n"); err != nil {
						return err
					}
				}
				if err := reports.WriteLoadText(w, r); err != nil {
					return err
				}
			}
			if len(runs) > 1 {
				if _, err := io.WriteString(w, "\nComparison:\n"); err != nil {
					return err
				}
				return reports.WriteLoadComparison(w, runs)
			}
			return nil
		}
	case "json", "hgrm", "hlog":
		r, err := one()
		if err != nil {
			return err
		}
		switch format {
		case "json":
			write = func(w io.Writer) error { return reports.WriteLoadJSON(w, r) }
		case "hgrm":
			write = func(w io.Writer) error { return reports.WriteLoadHGRM(w, r, metric) }
		default:
			write = func(w io.Writer) error { return reports.WriteLoadHlog(w, r) }
		}
	default:
		return usagef("--format must be html, text, json, hgrm or hlog, not %q", format)
	}
	if out == "" {
		return write(stdout)
	}
	if err := writeFileWith(out, write); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Wrote %s\n", out)
	return nil
}
