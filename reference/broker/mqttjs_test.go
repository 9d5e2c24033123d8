package broker_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/broker"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// mqttjsDir is the npm project that runs MQTT.js (the npm package mqtt):
// package.json pins the version, package-lock.json the whole tree, and
// client.js is the client under test. node_modules is not committed;
// the first test to need it runs npm ci.
const mqttjsDir = "testdata/mqttjs"

var mqttjsSetup struct {
	once    sync.Once
	version string // the mqtt version package.json pins
	skip    string // why MQTT.js cannot run here (no network for npm ci)
	err     error  // a broken setup: always a failure
}

// unavailable skips locally and fails under CI, whose scripts install
// Node.js and npm (scripts/install-deps.sh) and have the registry.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// mqttjs returns the node binary, with the pinned MQTT.js installed in
// testdata/mqttjs/node_modules.
func mqttjs(t *testing.T) (node, version string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node not installed (Debian package nodejs)")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		unavailable(t, "npm not installed (Debian package npm)")
	}
	s := &mqttjsSetup
	s.once.Do(func() { s.version, s.skip, s.err = installMQTTJS(npm) })
	if s.err != nil {
		t.Fatal(s.err)
	}
	if s.skip != "" {
		unavailable(t, "%s", s.skip)
	}
	return node, s.version
}

// installMQTTJS runs npm ci unless node_modules was installed from the
// current package-lock.json (a stamp file in node_modules records its
// hash). A file lock keeps concurrent test processes from installing at
// the same time. A failure to reach the registry is a skip reason; any
// other npm failure (a lock file out of step with package.json, say) is
// an error.
func installMQTTJS(npm string) (version, skip string, err error) {
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	b, err := os.ReadFile(filepath.Join(mqttjsDir, "package.json"))
	if err != nil {
		return "", "", err
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return "", "", fmt.Errorf("%s/package.json: %w", mqttjsDir, err)
	}
	version = pkg.Dependencies["mqtt"]
	if version == "" {
		return "", "", fmt.Errorf("%s/package.json does not pin mqtt", mqttjsDir)
	}
	lock, err := os.ReadFile(filepath.Join(mqttjsDir, "package-lock.json"))
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:]) + "\n"

	lf, err := os.OpenFile(filepath.Join(mqttjsDir, ".npm-ci.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", "", err
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return "", "", fmt.Errorf("lock %s: %w", lf.Name(), err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)

	stamp := filepath.Join(mqttjsDir, "node_modules", ".mqtt-check-installed")
	if got, err := os.ReadFile(stamp); err == nil && string(got) == want && installedMQTTJS() == version {
		return version, "", nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = mqttjsDir
	// Give up on an unreachable registry in seconds, not npm's minutes;
	// the caller's environment still wins.
	cmd.Env = append([]string{"npm_config_fetch_retries=1", "npm_config_fetch_retry_mintimeout=1000",
		"npm_config_fetch_retry_maxtimeout=5000", "npm_config_update_notifier=false"}, os.Environ()...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		if offline(string(out)) {
			return "", fmt.Sprintf("npm ci in %s could not reach the registry: %v\n%s", mqttjsDir, err, out), nil
		}
		return "", "", fmt.Errorf("npm ci in %s: %v\n%s", mqttjsDir, err, out)
	}
	if got := installedMQTTJS(); got != version {
		return "", "", fmt.Errorf("npm ci in %s installed mqtt %q, package.json pins %q", mqttjsDir, got, version)
	}
	if err := os.WriteFile(stamp, []byte(want), 0o644); err != nil {
		return "", "", err
	}
	return version, "", nil
}

// installedMQTTJS is the mqtt version in node_modules, "" if none.
func installedMQTTJS() string {
	b, err := os.ReadFile(filepath.Join(mqttjsDir, "node_modules", "mqtt", "package.json"))
	if err != nil {
		return ""
	}
	var p struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &p) != nil {
		return ""
	}
	return p.Version
}

// offline reports whether npm failed for lack of network.
func offline(out string) bool {
	for _, code := range []string{"ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH", "EHOSTUNREACH", "npm error network", "npm ERR! network"} {
		if strings.Contains(out, code) {
			return true
		}
	}
	return false
}

// mqttjsMessage is a message in client.js's summary.
type mqttjsMessage struct {
	Client  string `json:"client"`
	Topic   string `json:"topic"`
	QoS     byte   `json:"qos"`
	Retain  bool   `json:"retain"`
	Dup     bool   `json:"dup"`
	Payload []byte `json:"payload"` // base64 in the JSON
	Will    bool   `json:"will"`    // published by the broker as a Will
}

// mqttjsSummary is the JSON line client.js prints on success.
type mqttjsSummary struct {
	URL             string          `json:"url"`
	Scenario        string          `json:"scenario"`
	MQTTVersion     string          `json:"mqttVersion"`
	ProtocolVersion int             `json:"protocolVersion"`
	Connections     int64           `json:"connections"`
	Published       []mqttjsMessage `json:"published"`
	Received        []mqttjsMessage `json:"received"`
}

// runMQTTJS runs client.js against url and returns its summary; a
// non-zero exit fails the test with what the client printed.
func runMQTTJS(t *testing.T, node, url, scenario string) *mqttjsSummary {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.js", url, scenario)
	cmd.Dir = mqttjsDir
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (killed after 30s)", err)
		}
		t.Fatalf("node client.js %s %s: %v\nstderr:\n%s\nstdout:\n%s", url, scenario, err, stderr.String(), stdout.String())
	}
	t.Logf("node client.js %s %s: exit 0 in %v", url, scenario, time.Since(start).Round(time.Millisecond))
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var sum mqttjsSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("client.js summary: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	return &sum
}

// mqttjsScenarios are client.js's scenarios and what each must make the
// broker do.
var mqttjsScenarios = []struct {
	name        string
	published   int // messages routed by the broker (Wills included)
	received    int // messages MQTT.js clients received
	connections int // MQTT.js connections
	retained    int // retained messages left on the broker
}{
	{name: "pubsub", published: 4, received: 4, connections: 2},
	{name: "retained", published: 1, received: 2, connections: 3, retained: 1},
	{name: "will", published: 1, received: 1, connections: 2},
}

func TestMQTTJSWebSocket(t *testing.T) {
	testMQTTJS(t, func(e *broker.Embedded) string { return e.WebSocketURL })
}

func TestMQTTJSTCP(t *testing.T) {
	testMQTTJS(t, func(e *broker.Embedded) string { return "mqtt://" + e.Addr })
}

// testMQTTJS runs each client.js scenario against a fresh embedded
// broker reached at url(e). A probe subscribed to mqttjs/# over plain TCP
// watches from the broker's side: every message MQTT.js published (and
// every Will) must reach it too, and nothing else.
func testMQTTJS(t *testing.T, url func(*broker.Embedded) string) {
	node, version := mqttjs(t)
	for _, sc := range mqttjsScenarios {
		t.Run(sc.name, func(t *testing.T) {
			e, err := broker.StartEmbedded(broker.Options{SysInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close() })
			watch := client(t, e.Addr, "go-watcher", nil)
			if code := watch.subscribe("mqttjs/#", 0); code != 0 {
				t.Fatalf("watcher SUBACK code %#x", code)
			}

			sum := runMQTTJS(t, node, url(e), sc.name)
			if sum.MQTTVersion != version || sum.ProtocolVersion != 4 || sum.Scenario != sc.name {
				t.Errorf("client.js ran mqtt %q, protocol %d, scenario %q; want mqtt %q, protocol 4, scenario %q",
					sum.MQTTVersion, sum.ProtocolVersion, sum.Scenario, version, sc.name)
			}
			if len(sum.Published) != sc.published || len(sum.Received) != sc.received || sum.Connections != int64(sc.connections) {
				t.Fatalf("client.js published %d, received %d over %d connections; want %d, %d, %d",
					len(sum.Published), len(sum.Received), sum.Connections, sc.published, sc.received, sc.connections)
			}

			// Once the clean sessions are gone, the broker has published
			// every Will it was going to (finish routes the Will before it
			// leaves the session).
			waitFor(t, 5*time.Second, "the MQTT.js sessions to end", func() bool { return e.SessionCount() == 1 })
			for _, m := range sum.Published {
				p := watch.expectPublish(m.Topic)
				if !bytes.Equal(p.Payload, m.Payload) || p.QoS != 0 || p.Retain {
					t.Errorf("watcher got %s qos %d retain %v payload %q; MQTT.js published payload %q (will %v)",
						p.Topic, p.QoS, p.Retain, p.Payload, m.Payload, m.Will)
				}
			}
			if err := watch.c.ExpectNothing(t.Context(), 100*time.Millisecond, func(r *probe.Received) bool {
				_, ok := r.Packet.(*codec.Publish)
				return ok
			}); err != nil {
				t.Error(err)
			}

			st := e.Stats()
			if st.Published != int64(sc.published) || st.Dropped != 0 {
				t.Errorf("broker routed %d messages, dropped %d; want %d, 0", st.Published, st.Dropped, sc.published)
			}
			if st.Connections != int64(sc.connections)+1 || st.Connected != 1 {
				t.Errorf("broker accepted %d connections, %d still connected; want %d, 1 (the watcher)", st.Connections, st.Connected, sc.connections+1)
			}
			if n := e.RetainedCount(); n != sc.retained {
				t.Errorf("broker holds %d retained messages, want %d", n, sc.retained)
			}
			t.Logf("broker: %d connections, %d packets in, %d out, %d messages routed", st.Connections, st.PacketsReceived, st.PacketsSent, st.Published)
		})
	}
}
