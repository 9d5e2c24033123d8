package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mqtt-check/mqtt-check/conformance"
	"github.com/mqtt-check/mqtt-check/conformance/catalogue"
)

func coverageCommand() command {
	return command{
		name:    "coverage",
		summary: "Print which normative statements the conformance suite checks",
		usage: `Usage: mqtt-check coverage [--all]

Print the MQTT 3.1.1 statement catalogue with, for each statement a broker
is bound by (target server or both), the specs that check it, or why no
spec can check it from outside the broker. --all adds the client-side
statements (judged by the proxy, not by the broker suite).

Example:
  mqtt-check coverage
`,
		run: runCoverage,
	}
}

func runCoverage(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("coverage")
	all := fs.Bool("all", false, "include client-side statements")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := conformance.Validate(); err != nil {
		return err
	}
	cat := catalogue.MQTT311()
	specsBy := map[string][]string{}
	for _, s := range conformance.Specs() {
		for _, id := range s.IDs {
			specsBy[id] = append(specsBy[id], string(s.Level)+": "+s.Name)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-15s %-7s %-8s %s\n", "statement", "target", "status", "checked by / reason")
	for _, st := range cat.Statements {
		if !st.Server() && !*all {
			continue
		}
		status, detail := "missing", st.Description
		switch {
		case !st.Server():
			status, detail = "client", "client-side: "+st.Description
		case len(specsBy[st.ID]) > 0:
			status, detail = "covered", fmt.Sprintf("%d spec(s): %s", len(specsBy[st.ID]), strings.Join(specsBy[st.ID], "; "))
		case st.Untestable != "":
			status, detail = "untested", st.Untestable
		}
		fmt.Fprintf(&b, "%-15s %-7s %-8s %s\n", st.ID, st.Target, status, detail)
	}
	cv := cat.Coverage(conformance.Checked())
	fmt.Fprintf(&b, "\n%s: %d statements bind a server; %d checked by specs, %d untestable from outside (reason given), %d missing.\n",
		cat.Spec, cv.Server, cv.Covered, cv.Untestable, len(cv.Missing))
	if len(cv.Missing) > 0 {
		fmt.Fprintf(&b, "Missing: %s\n", strings.Join(cv.Missing, " "))
	}
	_, err := io.WriteString(stdout, b.String())
	return err
}

// writeRunReports writes the project's own files of a run next to
// Ginkgo's: results.json (one object per spec and target) and
// summary.txt.
func writeRunReports(dir string, out *conformance.Outcome, summary string) error {
	data, err := json.MarshalIndent(out.Results, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), data, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "summary.txt"), []byte(summary), 0o644)
}
