package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/capture"
	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/broker"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// writeCapture writes a pcap of one connection whose client sends pubs.
func writeCapture(t *testing.T, pubs ...*codec.Publish) string {
	t.Helper()
	t0 := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	var es []probe.Entry
	add := func(d probe.Dir, p codec.Packet) {
		b, err := p.Append(nil, codec.V311)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, probe.Entry{Time: t0.Add(time.Duration(len(es)) * time.Millisecond), Conn: "c1", Dir: d, Raw: b})
	}
	add(probe.DirSent, &codec.Connect{ProtocolLevel: codec.V311, CleanSession: true, ClientID: []byte("cli")})
	add(probe.DirReceived, &codec.Connack{})
	for _, p := range pubs {
		add(probe.DirSent, p)
	}
	path := filepath.Join(t.TempDir(), "c.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := capture.WriteTranscript(f, es, capture.PcapOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDecodeCommand(t *testing.T) {
	bad := writeCapture(t, &codec.Publish{Topic: []byte("a/#"), Payload: []byte("x")})
	good := writeCapture(t, &codec.Publish{Topic: []byte("a/b"), Payload: []byte("x")})
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"violation", []string{"decode", bad}, exitCheckFailed,
			`(?s)client->broker  PUBLISH qos=0 dup=0 retain=0 topic="a/#".*!! MQTT-3.3.2-2 MQTT-4.7.1-1 topic name.*Summary: .* 1 violation`, `1 violation\(s\)`},
		{"clean", []string{"decode", good}, exitOK, `no violations`, ""},
		{"flags after the file", []string{"decode", bad, "--json", "--port", "1883"}, exitCheckFailed, `"rules": \[\s*"MQTT-3.3.2-2"`, `violation`},
		{"other port", []string{"decode", "--port", "8883", good}, exitOK, `0 MQTT connection\(s\)`, ""},
		{"no file", []string{"decode"}, exitCannotRun, "", `one capture file`},
		{"missing file", []string{"decode", filepath.Join(t.TempDir(), "none.pcap")}, exitCannotRun, "", `no such file`},
		{"not a capture", []string{"decode", "decode_test.go"}, exitCannotRun, "", `not a pcap or pcapng file`},
		{"bad port", []string{"decode", "--port", "x", good}, exitCannotRun, "", `not a port`},
		{"help", []string{"decode", "-h"}, exitOK, `^Usage: mqtt-check decode`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := call(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout %s\nstderr %s", code, tt.wantCode, stdout, stderr)
			}
			checkOutput(t, "stdout", stdout, tt.wantStdout)
			checkOutput(t, "stderr", stderr, tt.wantStderr)
		})
	}
}

// lockedBuffer is a bytes.Buffer for a command writing from goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestProxyCommand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := broker.New(broker.Options{SysInterval: -1})
	go srv.Serve(context.Background(), ln)
	defer srv.Close()

	dir := t.TempDir()
	pcap := filepath.Join(dir, "live.pcap")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	code := make(chan int, 1)
	go func() {
		code <- dispatch(ctx, []string{"proxy", "--listen", "127.0.0.1:0", "--target", ln.Addr().String(),
			"--transcript-dir", dir, "--pcap", pcap}, &stdout, &stderr)
	}()
	re := regexp.MustCompile(`listening on (\S+),`)
	var addr string
	for deadline := time.Now().Add(5 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("proxy did not start: %s", stderr.String())
		}
	}
	c, err := probe.Dial(ctx, addr, probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connect(ctx, &codec.Connect{ProtocolLevel: codec.V311, CleanSession: true, ClientID: []byte("p")}, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	c.Send(&codec.Publish{Topic: []byte("x/+"), Payload: []byte("bad")})
	c.ExpectClosed(ctx, 3*time.Second) // the reference broker closes on the violation
	c.Close()
	want := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{6} c1 client->broker MQTT-3.3.2-2 MQTT-4.7.1-1 PUBLISH topic name: wildcard '\+' in a topic name\n`)
	for deadline := time.Now().Add(5 * time.Second); !want.MatchString(stdout.String()); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("stdout %q lacks the violation line", stdout.String())
		}
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(stderr.String(), "connection closed by broker"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("stderr %q lacks the closure", stderr.String())
		}
	}
	cancel()
	if got := <-code; got != exitCheckFailed {
		t.Errorf("exit code %d, want %d; stderr %s", got, exitCheckFailed, stderr.String())
	}
	if !strings.Contains(stderr.String(), "Summary: 1 connection(s), 1 violation(s)") {
		t.Errorf("stderr lacks the summary: %s", stderr.String())
	}
	// The capture the proxy wrote decodes to the same packets.
	f, err := os.Open(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := capture.Decode(f, capture.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	res.WriteText(&text)
	if len(res.Conns) != 1 || res.Violations() != 1 || !strings.Contains(text.String(), `topic="x/+"`) {
		t.Errorf("proxy pcap decodes as:\n%s", text.String())
	}
	if b, err := os.ReadFile(filepath.Join(dir, "c1.txt")); err != nil || !strings.Contains(string(b), "!! [MQTT-3.3.2-2 MQTT-4.7.1-1]") {
		t.Errorf("transcript c1.txt: %v\n%s", err, b)
	}
}
