package client

import (
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
)

// idleCost is what N idle connections cost, per connection.
type idleCost struct {
	heap, stack float64 // bytes per connection
}

func (c idleCost) total() float64 { return c.heap + c.stack }

// idleServer accepts connections, answers a CONNECT with CONNACK if asked,
// and then only holds them: no goroutine per connection, so the memory
// measured is the client's plus one server-side socket each.
type idleServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startIdleServer(tb testing.TB, n int, answer bool) *idleServer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &idleServer{ln: ln, conns: make([]net.Conn, 0, n)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		connack, _ := (&codec.Connack{}).Append(nil, codec.V311)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			if answer {
				nc.SetDeadline(time.Now().Add(5 * time.Second))
				if _, _, err := codec.NewReader(nc).ReadPacket(); err != nil {
					nc.Close()
					continue
				}
				nc.Write(connack)
				nc.SetDeadline(time.Time{})
			}
			s.mu.Lock()
			s.conns = append(s.conns, nc)
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *idleServer) close() {
	s.ln.Close()
	s.wg.Wait()
	for _, c := range s.conns {
		c.Close()
	}
}

func (s *idleServer) waitConns(tb testing.TB, n int) {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		got := len(s.conns)
		s.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("server holds %d of %d connections", got, n)
		}
	}
}

// settle collects garbage until the heap stops shrinking; GC also shrinks
// the stacks of goroutines that use less than a quarter of theirs.
func settle(ms *runtime.MemStats) {
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(ms)
}

// measureIdle opens n connections with open, lets them idle, and returns
// the heap and stack growth per connection.
func measureIdle(tb testing.TB, n int, answer bool, open func(addr string) func()) idleCost {
	tb.Helper()
	s := startIdleServer(tb, n, answer)
	defer s.close()
	closers := make([]func(), 0, n)
	var before, after runtime.MemStats
	settle(&before)
	for range n {
		closers = append(closers, open(s.ln.Addr().String()))
	}
	s.waitConns(tb, n)
	time.Sleep(20 * time.Millisecond) // let every reader park in its read
	settle(&after)
	cost := idleCost{
		heap:  float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n),
		stack: float64(int64(after.StackInuse)-int64(before.StackInuse)) / float64(n),
	}
	for _, c := range closers {
		c()
	}
	return cost
}

func openClient(tb testing.TB) func(addr string) func() {
	return func(addr string) func() {
		c, _, err := Connect(bg, Options{Addr: addr, ClientID: "idle", KeepAlive: time.Minute, CleanSession: true})
		if err != nil {
			tb.Fatal(err)
		}
		return func() { c.Close() }
	}
}

func openRaw(tb testing.TB) func(addr string) func() {
	return func(addr string) func() {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			tb.Fatal(err)
		}
		return func() { nc.Close() }
	}
}

// TestIdleConnectionMemory logs what an idle client connection costs; the
// goal is well under 10 KB. It asserts nothing, as figures vary with the
// Go version and the race detector.
func TestIdleConnectionMemory(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	clients := measureIdle(t, n, true, openClient(t))
	raw := measureIdle(t, n, false, openRaw(t))
	note := ""
	if raceEnabled {
		note = " (race detector on: inflated)"
	}
	t.Logf("%d idle clients: %.0f B/conn heap + %.0f B/conn stack = %.0f B/conn, including one server-side socket each%s",
		n, clients.heap, clients.stack, clients.total(), note)
	t.Logf("%d bare TCP socket pairs: %.0f B/pair; client alone ~ %.0f B/conn", n, raw.total(), clients.total()-raw.total()/2)
}

// BenchmarkIdleConnections reports the memory of 2000 idle clients per
// connection (heap+stack, one server-side socket included).
func BenchmarkIdleConnections(b *testing.B) {
	var cost idleCost
	for b.Loop() {
		cost = measureIdle(b, 2000, true, openClient(b))
	}
	b.ReportMetric(cost.heap, "heap-B/conn")
	b.ReportMetric(cost.stack, "stack-B/conn")
	b.ReportMetric(cost.total(), "B/conn")
}
