// Package mosquitto starts a real Eclipse Mosquitto broker (the Debian
// package) on a free loopback port, for tests that prove interoperability
// with software no one here wrote.
package mosquitto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Broker is a running mosquitto process.
type Broker struct {
	// Addr is the host:port of its MQTT listener on 127.0.0.1.
	Addr string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// Options tune the broker's configuration.
type Options struct {
	// Extra lines appended to the generated mosquitto.conf.
	Config []string
}

// Find returns the path of the mosquitto binary, or an error.
func Find() (string, error) {
	for _, p := range []string{"mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", errors.New("mosquitto not found (Debian package mosquitto; .ci/run installs it)")
}

// Require returns the mosquitto binary or ends the test: skipped on a
// developer machine without it, failed under CI (CI=true), where the
// project's scripts must have installed it.
func Require(t testing.TB) string {
	t.Helper()
	path, err := Find()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v", err)
		}
		t.Skipf("%v", err)
	}
	return path
}

// Start runs mosquitto on a free 127.0.0.1 port and stops it when the test
// ends.
func Start(t testing.TB, opts Options) *Broker {
	t.Helper()
	bin := Require(t)
	var lastErr error
	// The port is picked by binding :0 and releasing it; another process
	// may grab it in between, so try a few times.
	for attempt := 0; attempt < 5; attempt++ {
		b, err := start(bin, t.TempDir(), opts)
		if err == nil {
			t.Cleanup(b.Stop)
			return b
		}
		lastErr = err
	}
	t.Fatalf("mosquitto: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func start(bin, dir string, opts Options) (*Broker, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("free port: %w", err)
	}
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stdout\nlog_type all\n", port)
	for _, l := range opts.Config {
		conf += l + "\n"
	}
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	b := &Broker{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), out: &syncBuffer{}, done: make(chan struct{})}
	b.cmd = exec.Command(bin, "-c", path)
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.out
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { b.cmd.Wait(); close(b.done) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		c, err := (&net.Dialer{Timeout: 200 * time.Millisecond}).DialContext(ctx, "tcp", b.Addr)
		if err == nil {
			c.Close()
			return b, nil
		}
		select {
		case <-b.done:
			return nil, fmt.Errorf("mosquitto exited: %s", b.out.String())
		case <-ctx.Done():
			b.Stop()
			return nil, fmt.Errorf("mosquitto did not listen on %s: %s", b.Addr, b.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Log returns what mosquitto has printed so far.
func (b *Broker) Log() string { return b.out.String() }

// Stop ends the process and waits for it.
func (b *Broker) Stop() {
	select {
	case <-b.done:
		return
	default:
	}
	b.cmd.Process.Signal(os.Interrupt)
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		b.cmd.Process.Kill()
		<-b.done
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
