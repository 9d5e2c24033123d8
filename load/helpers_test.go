package load

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/reference/broker"
	"github.com/mqtt-check/mqtt-check/reports"
)

// startBroker starts the reference broker on 127.0.0.1 with impairments
// and stops it when the test ends.
func startBroker(t testing.TB, im broker.Impairments) *broker.Embedded {
	t.Helper()
	b, err := broker.StartEmbedded(broker.Options{Impair: im, SysInterval: -1, MaxQueued: 100000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// run runs cfg with a test deadline and fails the test on error.
func run(t testing.TB, cfg Config) *reports.LoadResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if cfg.Interval == 0 {
		cfg.Interval = 250 * time.Millisecond
	}
	if cfg.Drain == 0 {
		cfg.Drain = 3 * time.Second
	}
	r, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return r
}

// dump logs a result for a failing test.
func dump(t testing.TB, r *reports.LoadResult) {
	t.Helper()
	c := *r
	c.Intervals = nil
	lat := map[string]*reports.LatencyHistogram{}
	for k, v := range r.Latency {
		h := *v
		h.HDR = ""
		lat[k] = &h
	}
	c.Latency = lat
	b, _ := json.MarshalIndent(&c, "", "  ")
	t.Logf("result:\n%s", b)
}

// checkNoLeak fails the test if goroutines started during it are still
// running shortly after it.
func checkNoLeak(t *testing.T) {
	// Let goroutines that earlier setup started (a broker's listeners)
	// settle before taking the baseline.
	before := runtime.NumGoroutine()
	for i := 0; i < 50; i++ {
		time.Sleep(2 * time.Millisecond)
		n := runtime.NumGoroutine()
		if n == before {
			break
		}
		before = n
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				n := runtime.Stack(buf, true)
				t.Errorf("%d goroutines, %d before the test:\n%s", runtime.NumGoroutine(), before, buf[:n])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
