package interop_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/interop"
	"github.com/mqtt-check/mqtt-check/reference/mosquitto"
)

// TestInteropDriver is the bounded subset of `make interop` that CI runs:
// scripts/interop.sh against mosquitto (a broker no one here wrote, the
// Debian package `make test` installs) and the reference broker, with the
// suite cut to the connect specs and a one-second load smoke run. It
// proves the whole path: broker scripts (install, free port, health
// check, stop), the suite with the broker's profile, renaming the target,
// the load run, the matrix and the headline. The full run against all six
// brokers is `make interop` (docs/interop.md).
func TestInteropDriver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts brokers: not in -short")
	}
	mosquitto.Require(t)
	if _, err := exec.LookPath("mosquitto_pub"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("mosquitto_pub (mosquitto-clients) not installed")
		}
		t.Skip("mosquitto_pub (mosquitto-clients) not installed")
	}
	bin := cli(t)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	state := filepath.Join(tmp, "state")

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repoRoot, "scripts", "interop.sh"), "mosquitto", "reference")
	cmd.Env = append(os.Environ(),
		"INTEROP_OUT="+out,
		"MQTT_CHECK_BIN="+bin,
		"INTEROP_REPORT_BIN="+filepath.Join(tmp, "interop-report"),
		"MQTT_CHECK_BROKERS_STATE="+state,
		"INTEROP_RUN_ARGS=--label-filter connect",
		"INTEROP_LOAD_ARGS=--scenario pairs --clients 4 --rate 50 --duration 1s --qos 1 --drain 2s --slo loss=0",
	)
	outb, err := cmd.CombinedOutput()
	// Whatever happened, no broker may outlive the test.
	for _, b := range []string{"mosquitto", "reference"} {
		stop := exec.Command("bash", filepath.Join(repoRoot, "scripts", "brokers", b+".sh"), "stop")
		stop.Env = append(os.Environ(), "MQTT_CHECK_BROKERS_STATE="+state)
		stop.Run()
	}
	if err != nil {
		t.Fatalf("scripts/interop.sh: %v\n%s", err, outb)
	}

	summary, err := os.ReadFile(filepath.Join(out, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"mosquitto", "reference"} {
		if !strings.Contains(string(summary), "| "+b+" | ") {
			t.Errorf("summary.md has no row for %s:\n%s", b, summary)
		}
		br := interop.LoadBroker(out, b)
		if br.Doc == nil || br.Load == nil || len(br.Problems) > 0 {
			t.Errorf("%s: report %v, load %v, problems %q", b, br.Doc != nil, br.Load != nil, br.Problems)
			continue
		}
		if got := br.Doc.TargetNames(); len(got) != 1 || got[0] != b {
			t.Errorf("%s: report.json targets %q, want [%s]", b, got, b)
		}
		if c := interop.Count(br.Doc); c.Pass == 0 || c.Fail != 0 {
			t.Errorf("%s: %+v", b, c)
		}
		if br.Load.Counters.Lost != 0 || br.Load.Counters.Received == 0 {
			t.Errorf("%s: load smoke counters %+v", b, br.Load.Counters)
		}
		if br.Meta["START_RC"] != "0" || br.Meta["ADDR"] == "" {
			t.Errorf("%s: meta.env %v", b, br.Meta)
		}
	}
	matrix, err := os.ReadFile(filepath.Join(out, "matrix.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(matrix), "| | mosquitto | reference |") {
		t.Errorf("matrix.md does not have one column per broker:\n%.600s", matrix)
	}
	if _, err := os.Stat(filepath.Join(out, "matrix.html")); err != nil {
		t.Error(err)
	}
	// The per-run state directory holds no running broker.
	for _, b := range []string{"mosquitto", "reference"} {
		if pid, err := os.ReadFile(filepath.Join(state, b, "pid")); err == nil {
			t.Errorf("%s still has a pid file (%s) after the run", b, strings.TrimSpace(string(pid)))
		}
	}
}

// A broker that cannot start is reported with the reason, and the run
// fails: never silently dropped.
func TestBrokerThatCannotStart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the driver: not in -short")
	}
	if _, err := exec.LookPath("mosquitto_pub"); err != nil {
		t.Skip("mosquitto_pub (mosquitto-clients) not installed: the broker scripts need it")
	}
	bin := cli(t)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	// The reference broker script runs MQTT_CHECK_BIN: a binary that
	// exits at once makes a broker that cannot start.
	fake := filepath.Join(tmp, "fake-mqtt-check")
	script := "#!/bin/sh\ncase \"$1\" in broker) echo 'fake: cannot bind, giving up' >&2; exit 3;; *) exec " + bin + " \"$@\";; esac\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repoRoot, "scripts", "interop.sh"), "reference")
	cmd.Env = append(os.Environ(),
		"INTEROP_OUT="+out,
		"MQTT_CHECK_BIN="+fake,
		"INTEROP_REPORT_BIN="+filepath.Join(tmp, "interop-report"),
		"MQTT_CHECK_BROKERS_STATE="+filepath.Join(tmp, "state"),
	)
	outb, err := cmd.CombinedOutput()
	if code := exitCode(err); code != 1 {
		t.Fatalf("exit %d, want 1 (a broker could not start)\n%s", code, outb)
	}
	summary, err := os.ReadFile(filepath.Join(out, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| reference |", "could not start", "fake: cannot bind, giving up"} {
		if !strings.Contains(string(summary), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, summary)
		}
	}
}
