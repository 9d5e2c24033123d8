package broker_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/reference/broker"
)

// tool returns a mosquitto-clients binary: skipped locally when absent,
// a failure under CI, whose scripts install the package.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed (Debian package mosquitto-clients)", name)
		}
		t.Skipf("%s not installed (Debian package mosquitto-clients)", name)
	}
	return p
}

func hostPort(addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	return addr[:i], addr[i+1:]
}

// sub starts mosquitto_sub, which exits after count messages.
func sub(t *testing.T, addr string, count int, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	h, p := hostPort(addr)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	all := append([]string{"-h", h, "-p", p, "-C", strconv.Itoa(count), "-F", "%t|%q|%r|%p"}, args...)
	cmd := exec.CommandContext(ctx, tool(t, "mosquitto_sub"), all...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

func pub(t *testing.T, addr string, args ...string) {
	t.Helper()
	h, p := hostPort(addr)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool(t, "mosquitto_pub"), append([]string{"-h", h, "-p", p}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("mosquitto_pub %v: %v\n%s", args, err, out)
	}
}

// waitSubscribed gives mosquitto_sub time to subscribe, checked through
// the broker's own subscription count.
func waitSubscribed(t *testing.T, srv *broker.Server, n int64) {
	t.Helper()
	waitFor(t, 5*time.Second, "mosquitto_sub to connect", func() bool { return srv.Stats().Connected >= n })
	time.Sleep(100 * time.Millisecond)
}

func TestInteropMosquittoClients(t *testing.T) {
	srv, addr := start(t, broker.Options{})
	cmd, out := sub(t, addr, 3, "-t", "interop/#", "-q", "2")
	waitSubscribed(t, srv, 1)
	pub(t, addr, "-t", "interop/0", "-m", "zero", "-q", "0")
	pub(t, addr, "-t", "interop/1", "-m", "one", "-q", "1")
	pub(t, addr, "-t", "interop/2", "-m", "two", "-q", "2")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("mosquitto_sub: %v\n%s", err, out)
	}
	want := "interop/0|0|0|zero\ninterop/1|1|0|one\ninterop/2|2|0|two\n"
	if out.String() != want {
		t.Fatalf("mosquitto_sub printed\n%s\nwant\n%s", out, want)
	}
}

func TestInteropMosquittoRetained(t *testing.T) {
	_, addr := start(t, broker.Options{})
	pub(t, addr, "-t", "interop/r", "-m", "kept", "-q", "1", "-r")
	cmd, out := sub(t, addr, 1, "-t", "interop/r", "-q", "1")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("mosquitto_sub: %v\n%s", err, out)
	}
	if got := out.String(); got != "interop/r|1|1|kept\n" {
		t.Fatalf("got %q", got)
	}
}

func TestInteropMosquittoWill(t *testing.T) {
	srv, addr := start(t, broker.Options{})
	watch, out := sub(t, addr, 1, "-t", "interop/will", "-q", "1")
	waitSubscribed(t, srv, 1)
	h, p := hostPort(addr)
	dying := exec.Command(tool(t, "mosquitto_sub"), "-h", h, "-p", p, "-t", "nothing",
		"--will-topic", "interop/will", "--will-payload", "bye", "--will-qos", "1")
	if err := dying.Start(); err != nil {
		t.Fatal(err)
	}
	waitSubscribed(t, srv, 2)
	dying.Process.Kill() // no DISCONNECT: the will must go out
	dying.Wait()
	if err := watch.Wait(); err != nil {
		t.Fatalf("mosquitto_sub: %v\n%s", err, out)
	}
	if got := out.String(); got != "interop/will|1|0|bye\n" {
		t.Fatalf("got %q", got)
	}
}
