package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/mqtt-check/mqtt-check/reference/client"
	"github.com/mqtt-check/mqtt-check/reports"
)

// Metric indices into the per-stripe histogram arrays, in the order of
// reports.LatencyMetrics.
const (
	mE2E = iota
	mService
	mConnect
	mSuback
	mPuback
	mPubcomp
	mRetained
	mSendLag
	nMetrics
)

// stripe is one lock-protected set of histograms. Recording goroutines
// (connection readers, publishers) pick a stripe by client index, so
// thousands of them share a few locks instead of one.
type stripe struct {
	mu sync.Mutex
	h  [nMetrics]*hdrhistogram.Histogram // lazily made
	_  [64]byte                          // keep stripes on separate cache lines
}

// counterSource is a client whose counters the interval loop samples.
type counterSource interface {
	counts() (sent, acked, received int64)
}

// metrics is the aggregator: records come in through its methods (Add,
// in vegeta's terms) from any goroutine; every interval it rotates the
// stripes into an interval histogram; Close turns it all into the
// document's parts.
type metrics struct {
	base     time.Time // the run's clock base (monotonic)
	interval time.Duration
	stripes  []stripe

	// Connection counters and gauges.
	attempted, succeeded, failed atomic.Int64
	lost, reconnects, sessLost   atomic.Int64
	connected, peak              atomic.Int64
	errTotal                     atomic.Int64

	errMu sync.Mutex
	errs  map[string]*reports.LoadErrorCount

	// Owned by the interval loop (and by Close after it stopped).
	mu         sync.Mutex
	sources    []counterSource
	extra      [3]atomic.Int64 // sent, acked, received not tied to a source
	last       [3]int64        // totals at the previous interval
	lastErrs   int64
	totals     [nMetrics]*hdrhistogram.Histogram
	ivHist     [nMetrics]*hdrhistogram.Histogram
	intervals  []reports.LoadInterval
	ivStart    time.Time
	phase      atomic.Value // string
	progress   func(Progress)
	stop, done chan struct{}
	encodeErr  error
}

func newMetrics(base time.Time, interval time.Duration, progress func(Progress)) *metrics {
	n := min(8, 2*runtime.GOMAXPROCS(0))
	m := &metrics{base: base, interval: interval, stripes: make([]stripe, n),
		errs: map[string]*reports.LoadErrorCount{}, progress: progress}
	for i := range m.totals {
		m.totals[i] = reports.NewLatencyHistogram()
		m.ivHist[i] = reports.NewLatencyHistogram()
	}
	m.phase.Store("connect")
	return m
}

// clampNs keeps a value inside the histograms' range; a negative value
// (impossible with one monotonic clock) becomes 0.
func clampNs(ns int64) int64 {
	return min(max(ns, 0), reports.LatencyHighestNs)
}

// record adds one latency value (ns) of metric to the stripe for client.
func (m *metrics) record(client int, metric int, ns int64) {
	s := &m.stripes[client%len(m.stripes)]
	s.mu.Lock()
	h := s.h[metric]
	if h == nil {
		h = reports.NewLatencyHistogram()
		s.h[metric] = h
	}
	_ = h.RecordValue(clampNs(ns))
	s.mu.Unlock()
}

// delivery records one message's end-to-end and service latencies.
func (m *metrics) delivery(client int, e2e, service int64) {
	s := &m.stripes[client%len(m.stripes)]
	s.mu.Lock()
	if s.h[mE2E] == nil {
		s.h[mE2E] = reports.NewLatencyHistogram()
		s.h[mService] = reports.NewLatencyHistogram()
	}
	_ = s.h[mE2E].RecordValue(clampNs(e2e))
	_ = s.h[mService].RecordValue(clampNs(service))
	s.mu.Unlock()
}

// since returns ns from the clock base to t.
func (m *metrics) since(t time.Time) int64 { return t.Sub(m.base).Nanoseconds() }

// addSource registers a client whose counters the intervals sample.
func (m *metrics) addSource(s counterSource) {
	m.mu.Lock()
	m.sources = append(m.sources, s)
	m.mu.Unlock()
}

// connUp and connDown move the connected gauge.
func (m *metrics) connUp() {
	n := m.connected.Add(1)
	for {
		p := m.peak.Load()
		if n <= p || m.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (m *metrics) connDown() { m.connected.Add(-1) }

// fail counts an error of a kind (its first message is kept as the
// example).
func (m *metrics) fail(kind string, err error) {
	m.errTotal.Add(1)
	m.errMu.Lock()
	e := m.errs[kind]
	if e == nil {
		e = &reports.LoadErrorCount{Kind: kind}
		if err != nil {
			e.Example = err.Error()
		}
		m.errs[kind] = e
	}
	e.Count++
	m.errMu.Unlock()
}

// errorList returns the errors sorted by kind.
func (m *metrics) errorList() []reports.LoadErrorCount {
	m.errMu.Lock()
	defer m.errMu.Unlock()
	out := make([]reports.LoadErrorCount, 0, len(m.errs))
	for _, e := range m.errs {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b reports.LoadErrorCount) int { return strings.Compare(a.Kind, b.Kind) })
	return out
}

// start runs the interval loop until stopIntervals.
func (m *metrics) start() {
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	m.ivStart = time.Now()
	go m.loop()
}

// loop closes an interval at every multiple of the interval length in
// wall-clock time, so that the intervals of shards started at different
// moments line up for the merge.
func (m *metrics) loop() {
	defer close(m.done)
	t := time.NewTimer(m.untilNextTick(time.Now()))
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case now := <-t.C:
			m.rotate(now)
			t.Reset(m.untilNextTick(time.Now()))
		}
	}
}

func (m *metrics) untilNextTick(now time.Time) time.Duration {
	next := now.Truncate(m.interval).Add(m.interval)
	return max(next.Sub(now), time.Millisecond)
}

// stopIntervals ends the loop and closes the last (partial) interval.
func (m *metrics) stopIntervals() {
	if m.stop == nil {
		return
	}
	close(m.stop)
	<-m.done
	m.stop = nil
	m.rotate(time.Now())
}

// setPhase names what the run is doing, for the progress line.
func (m *metrics) setPhase(p string) { m.phase.Store(p) }

// rotate closes the interval that ends at now.
func (m *metrics) rotate(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.stripes {
		s := &m.stripes[i]
		s.mu.Lock()
		for k, h := range s.h {
			if h != nil && h.TotalCount() > 0 {
				m.ivHist[k].Merge(h)
				h.Reset()
			}
		}
		s.mu.Unlock()
	}
	var cur [3]int64
	for _, src := range m.sources {
		s, a, r := src.counts()
		cur[0] += s
		cur[1] += a
		cur[2] += r
	}
	for i := range cur {
		cur[i] += m.extra[i].Load()
	}
	errs := m.errTotal.Load()
	iv := reports.LoadInterval{
		StartMs: m.ivStart.UnixMilli(), EndMs: now.UnixMilli(),
		Connected: m.connected.Load(),
		Sent:      cur[0] - m.last[0], Acked: cur[1] - m.last[1], Received: cur[2] - m.last[2],
		Errors: errs - m.lastErrs,
	}
	e2e := m.ivHist[mE2E]
	var p50, p99 time.Duration
	if e2e.TotalCount() > 0 {
		p50 = time.Duration(e2e.ValueAtQuantile(50))
		p99 = time.Duration(e2e.ValueAtQuantile(99))
	}
	for k, h := range m.ivHist {
		if h.TotalCount() == 0 {
			continue
		}
		enc, err := reports.EncodeLatency(h)
		if err != nil && m.encodeErr == nil {
			m.encodeErr = err
		}
		if iv.Latency == nil {
			iv.Latency = map[string]string{}
		}
		iv.Latency[reports.LatencyMetrics[k]] = enc
		m.totals[k].Merge(h)
		h.Reset()
	}
	el := now.Sub(m.ivStart).Seconds()
	m.intervals = append(m.intervals, iv)
	m.last, m.lastErrs, m.ivStart = cur, errs, now
	if m.progress != nil && el > 0 {
		m.progress(Progress{
			Elapsed: now.Sub(m.base), Phase: m.phase.Load().(string), Connected: iv.Connected,
			SentPerS: float64(iv.Sent) / el, RecvPerS: float64(iv.Received) / el,
			P50: p50, P99: p99, Errors: errs,
		})
	}
}

// maxE2E returns the largest end-to-end latency seen so far.
func (m *metrics) maxE2E() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	mx := m.totals[mE2E].Max()
	for i := range m.stripes {
		s := &m.stripes[i]
		s.mu.Lock()
		if h := s.h[mE2E]; h != nil {
			mx = max(mx, h.Max())
		}
		s.mu.Unlock()
	}
	return time.Duration(mx)
}

// latency returns the whole-run histograms of the metrics that have
// values; call after stopIntervals.
func (m *metrics) latency() (map[string]*reports.LatencyHistogram, error) {
	if m.encodeErr != nil {
		return nil, m.encodeErr
	}
	out := map[string]*reports.LatencyHistogram{}
	for k, h := range m.totals {
		if h.TotalCount() == 0 {
			continue
		}
		s, err := reports.SummarizeLatency(h)
		if err != nil {
			return nil, err
		}
		out[reports.LatencyMetrics[k]] = s
	}
	return out, nil
}

// connections returns the connection counters.
func (m *metrics) connections() reports.LoadConnections {
	return reports.LoadConnections{
		Attempted: m.attempted.Load(), Succeeded: m.succeeded.Load(), Failed: m.failed.Load(),
		Lost: m.lost.Load(), Reconnects: m.reconnects.Load(), SessionLost: m.sessLost.Load(),
		Peak: m.peak.Load(),
	}
}

// connectErrorKind names why a connection attempt failed.
func connectErrorKind(err error) string {
	var ce *client.ConnectError
	switch {
	case errors.As(err, &ce):
		return fmt.Sprintf("connect: refused by the broker (CONNACK code 0x%02x)", ce.Code)
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "connect: too many open files (raise ulimit -n)"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "connect: no free local port (spread connections with --source-ip)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connect: TCP connection refused"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connect: closed by the broker before CONNACK"
	case isTimeout(err):
		return "connect: timed out"
	case errors.Is(err, client.ErrProtocol):
		return "connect: protocol error"
	}
	return "connect: other error"
}

// lostErrorKind names why an established connection ended.
func lostErrorKind(err error) string {
	switch {
	case errors.Is(err, client.ErrPingTimeout):
		return "connection lost: no PINGRESP in time"
	case errors.Is(err, client.ErrAckTimeout):
		return "connection lost: acknowledgement overdue"
	case errors.Is(err, client.ErrProtocol):
		return "connection lost: protocol violation by the broker"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection lost: closed by the broker"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection lost: reset"
	case isTimeout(err):
		return "connection lost: write timed out"
	}
	var de *client.DisconnectError
	if errors.As(err, &de) {
		return fmt.Sprintf("connection lost: DISCONNECT from the broker (0x%02x)", de.Code)
	}
	return "connection lost: other"
}

// publishErrorKind names why a QoS 1/2 message was not acknowledged.
func publishErrorKind(err error) string {
	var ae *client.AckError
	switch {
	case errors.As(err, &ae):
		return fmt.Sprintf("publish: %s reason code 0x%02x", ae.Type, ae.Code)
	case errors.Is(err, client.ErrClosed):
		return "publish: not acknowledged when the run ended"
	case errors.Is(err, client.ErrConnectionLost):
		return "publish: connection lost before the acknowledgement"
	}
	return "publish: other error"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
