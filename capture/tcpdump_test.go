package capture

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/mosquitto"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// TestDecodeTcpdumpCapture decodes what tcpdump wrote while a probe talked
// to a real mosquitto on the loopback interface. It needs root and
// tcpdump: a skip without them locally, a failure under CI.
func TestDecodeTcpdumpCapture(t *testing.T) {
	tcpdump := requireTool(t, "tcpdump", "tcpdump")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("capturing on lo needs root")
		}
		t.Skip("capturing on lo needs root")
	}
	b := mosquitto.Start(t, mosquitto.Options{})
	_, port, _ := strings.Cut(b.Addr, ":")
	path := filepath.Join(t.TempDir(), "lo.pcap")
	var stderr syncWriter
	cmd := exec.Command(tcpdump, "-i", "lo", "-n", "-U", "--immediate-mode", "-w", path, "tcp port "+port)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		})
	}
	defer stop()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "listening on") {
		if time.Now().After(deadline) {
			t.Fatalf("tcpdump did not start: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	ctx := context.Background()
	c, err := probe.Dial(ctx, b.Addr, probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Connect(ctx, connect("tcpdump-probe", 30), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx, 3*time.Second, codec.Subscription{Filter: []byte("td/#"), Options: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(ctx, publish("td/a", strings.Repeat("z", 3000), 1, 0), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExpectType(ctx, codec.PUBLISH, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	c.Send(publish("td/+", "wildcard", 0, 0)) // mosquitto closes the connection
	if err := c.ExpectClosed(ctx, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let tcpdump write the last frames
	stop()

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, _ := strconv.Atoi(port)
	res, err := Decode(f, DecodeOptions{Ports: []uint16{uint16(p)}})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	res.WriteText(&text)
	if len(res.Conns) == 0 {
		t.Fatalf("no connection:\n%s\ntcpdump: %s", text.String(), stderr.String())
	}
	got := packetTypes(res.Conns[len(res.Conns)-1]) // after mosquitto.Start's readiness probe, if seen
	want := []string{"client->broker CONNECT", "broker->client CONNACK", "client->broker SUBSCRIBE", "broker->client SUBACK",
		"client->broker PUBLISH", "broker->client PUBLISH", "broker->client PUBACK", // the probe does not acknowledge
		"client->broker PINGREQ", "broker->client PINGRESP", "client->broker PUBLISH"}
	// The broker may send its PUBLISH and PUBACK in either order.
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("packets %q, want %q:\n%s", got, want, text.String())
	}
	if n := res.Violations(); n != 1 || !strings.Contains(text.String(), "!! MQTT-3.3.2-2") {
		t.Errorf("%d violations, want the wildcard one:\n%s", n, text.String())
	}
}

// syncWriter is a bytes.Buffer safe for a writer and a reader goroutine.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
