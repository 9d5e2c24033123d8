package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadCommand(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	args := []string{"load", "--scenario", "pairs", "--clients", "4", "--rate", "200", "--duration", "300ms",
		"--drain", "1s", "--interval", "100ms", "--qos", "1", "-q"}
	a := filepath.Join(dir, "a.json")
	code := dispatch(context.Background(), append(args, "--json", a, "--report-dir", filepath.Join(dir, "rep")), &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "lost") || !strings.Contains(out.String(), "end-to-end") {
		t.Errorf("no summary table:\n%s", out.String())
	}
	for _, f := range []string{"result.json", "summary.txt", "latency.hgrm", "latency.hlog", "report.html"} {
		if st, err := os.Stat(filepath.Join(dir, "rep", f)); err != nil || st.Size() == 0 {
			t.Errorf("report %s: %v", f, err)
		}
	}
	// A broken SLO is exit code 1.
	out.Reset()
	if code := dispatch(context.Background(), append(args, "--slo", "p99<1us"), &out, &errb); code != exitCheckFailed {
		t.Errorf("broken SLO: exit %d, want 1\n%s", code, out.String())
	}
	// Merge and report.
	out.Reset()
	if code := dispatch(context.Background(), []string{"load", "merge", "-o", filepath.Join(dir, "m.json"), a, a}, &out, &errb); code != exitOK {
		t.Errorf("merge: exit %d: %s", code, errb.String())
	}
	out.Reset()
	if err := runReportLoad(context.Background(), []string{"--format", "text", a, filepath.Join(dir, "m.json")}, &out, &errb); err != nil || !strings.Contains(out.String(), "Comparison") {
		t.Errorf("report load: %v\n%s", err, out.String())
	}
	// Bad flags are exit code 2.
	if code := dispatch(context.Background(), []string{"load", "--qos", "3"}, &out, &errb); code != exitCannotRun {
		t.Errorf("--qos 3: exit %d, want 2", code)
	}
}
