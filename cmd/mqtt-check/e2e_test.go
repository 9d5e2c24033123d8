package main

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The end-to-end tests run the built binary: Ginkgo allows one suite run
// per process, and exit codes are part of the contract.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mqtt-check-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "mqtt-check")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building mqtt-check: %v", buildErr)
	}
	return binPath
}

func runBinary(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary(t), args...)
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

// TestRunExitCodes: 0 when no MUST statement fails, 1 when one does, 2
// when the target cannot be reached.
func TestRunExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite")
	}
	if code, out := runBinary(t, "run", "--label-filter", "connect && must"); code != 0 {
		t.Fatalf("embedded reference broker: exit %d, want 0\n%s", code, out)
	}
	if code, out := runBinary(t, "run", "--target", "127.0.0.1:1", "--wait", "500ms"); code != 2 {
		t.Fatalf("unreachable target: exit %d, want 2\n%s", code, out)
	}
}

// TestRunFaultReportsAndPcaps runs the will specs against the embedded
// broker with its Will switched off: the run must exit 1, every report
// format must be written, and each failure's pcap must show tshark the
// same MQTT packets, in the same order, as the failure's transcript.
func TestRunFaultReportsAndPcaps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite")
	}
	dir := t.TempDir()
	code, out := runBinary(t, "run", "--fault", "no-will", "--label-filter", "will", "--report-dir", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, f := range []string{"report.html", "report.json", "summary.md", "junit.xml", "ginkgo.json", "results.json", "summary.txt"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []struct {
			Spec, Verdict, Transcript, Pcap string
			Statements                      []string
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	tshark, tsharkErr := exec.LookPath("tshark")
	if tsharkErr != nil && os.Getenv("CI") != "" {
		t.Fatal("tshark not installed (scripts/install-deps.sh installs it)")
	}
	failures := 0
	for _, r := range doc.Results {
		if r.Verdict != "fail" {
			continue
		}
		failures++
		if !strings.Contains(strings.Join(r.Statements, " "), "MQTT-3.1.2-8") {
			continue
		}
		if r.Pcap == "" {
			t.Errorf("%s: no pcap", r.Spec)
			continue
		}
		if tsharkErr != nil {
			continue
		}
		got, err := exec.Command(tshark, "-r", filepath.Join(dir, r.Pcap), "-Y", "mqtt", "-T", "fields", "-e", "mqtt.msgtype").Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		want := transcriptTypes(r.Transcript)
		if g := strings.Fields(strings.ReplaceAll(string(got), ",", " ")); strings.Join(g, " ") != strings.Join(want, " ") {
			t.Errorf("%s: tshark sees message types %v, the transcript %v", r.Spec, g, want)
		}
	}
	if failures == 0 {
		t.Fatalf("no failure recorded with the no-will fault:\n%s", out)
	}
}

// transcriptTypes lists the MQTT control packet type numbers of the
// packets in a transcript, in order.
func transcriptTypes(tr string) []string {
	num := map[string]string{"CONNECT": "1", "CONNACK": "2", "PUBLISH": "3", "PUBACK": "4", "PUBREC": "5",
		"PUBREL": "6", "PUBCOMP": "7", "SUBSCRIBE": "8", "SUBACK": "9", "UNSUBSCRIBE": "10", "UNSUBACK": "11",
		"PINGREQ": "12", "PINGRESP": "13", "DISCONNECT": "14"}
	var out []string
	for _, line := range strings.Split(tr, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || (f[2] != "->" && f[2] != "<-") {
			continue
		}
		if n, ok := num[f[3]]; ok {
			out = append(out, n)
		}
	}
	return out
}

// TestRunTargetStopsAnswering kills the broker in the middle of a run:
// the run must say so once and exit 2 (could not run), not report a
// cascade of rule failures.
func TestRunTargetStopsAnswering(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	broker := exec.CommandContext(t.Context(), binary(t), "broker", "--listen", addr, "--log-level", "error")
	if err := broker.Start(); err != nil {
		t.Fatal(err)
	}
	defer broker.Process.Kill()
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatalf("broker did not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.AfterFunc(4*time.Second, func() { broker.Process.Kill() })
	code, out := runBinary(t, "run", "--target", addr, "--wait", "1s")
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, out)
	}
	if n := strings.Count(out, "TARGET STOPPED ANSWERING"); n != 1 {
		t.Fatalf("the stop was reported %d times, want once\n%s", n, out)
	}
}
