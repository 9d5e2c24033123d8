package load

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/client"
	"github.com/mqtt-check/mqtt-check/reports"
)

// engine runs one scenario once.
type engine struct {
	cfg  *Config
	plan *plan
	m    *metrics
	base time.Time
	tag  uint32
	dial *dialers

	pubs    []*publisher
	subs    []*subscriber
	pubByID map[uint32]int // global publisher id -> index in pubs

	// pubStart and pubEnd bound the publishing schedule; hardStop is
	// when publishers give up their backlog.
	pubStart, pubEnd, hardStop time.Time
	// pubDone is when publishing actually ended (at or before pubEnd).
	pubDone time.Time

	wg    sync.WaitGroup // background goroutines (reconnects, churn)
	notes []string

	rssBefore, rssConnected int64
	goroutines              int
	usage0                  usage
	start                   time.Time
}

// Run runs the scenario cfg describes against cfg.Target and returns its
// result. It returns an error only when the run could not take place
// (bad configuration, ctx ended, nothing could connect); what went wrong
// with the broker during a run is in the result.
func Run(ctx context.Context, cfg Config) (*reports.LoadResult, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p, err := buildPlan(&cfg)
	if err != nil {
		return nil, err
	}
	e := &engine{cfg: &cfg, plan: p, base: time.Now(), tag: runTag(cfg.RunID, cfg.Shard), dial: newDialers(&cfg)}
	e.notes = append(e.notes, p.notes...)
	e.checkFileLimit()
	runtime.GC()
	debug.FreeOSMemory()
	e.rssBefore = currentRSS()
	e.usage0 = getUsage()
	e.start = time.Now()
	e.m = newMetrics(e.base, cfg.Interval, cfg.Progress)
	e.m.start()
	var runErr error
	switch cfg.Scenario {
	case Idle:
		runErr = e.runIdle(ctx)
	case ConnectStorm:
		runErr = e.runStorm(ctx)
	case RetainedStorm:
		runErr = e.runRetained(ctx)
	default:
		runErr = e.runMessages(ctx)
	}
	e.wg.Wait()
	e.m.setPhase("done")
	e.m.stopIntervals()
	if runErr != nil {
		return nil, runErr
	}
	return e.result()
}

// checkFileLimit notes when the open-file limit cannot hold every client.
func (e *engine) checkFileLimit() {
	lim := fileLimit()
	need := uint64(len(e.plan.pubs) + len(e.plan.subs) + len(e.plan.others) + 64)
	if lim > 0 && need > lim {
		e.note("the open-file limit (%d) caps this process at about %d connections, fewer than the %d clients asked for: raise the hard limit (ulimit -Hn) or shard the run", lim, lim-64, need-64)
	}
}

// note records a warning for the result (and logs it).
func (e *engine) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	e.notes = append(e.notes, s)
	if e.cfg.Logf != nil {
		e.cfg.Logf("%s", s)
	}
}

// gate bounds concurrent connection attempts and paces them at
// ConnectRate.
type gate struct {
	sem   chan struct{}
	rate  float64
	start time.Time
	n     int
}

func newGate(cfg *Config) *gate {
	return &gate{sem: make(chan struct{}, cfg.ConnectConcurrency), rate: cfg.ConnectRate, start: time.Now()}
}

// wait blocks until the next attempt may start, and takes a slot.
func (g *gate) wait(ctx context.Context) error {
	if g.rate > 0 {
		due := g.start.Add(time.Duration(float64(g.n) * float64(time.Second) / g.rate))
		g.n++
		if err := sleepUntil(ctx, due); err != nil {
			return err
		}
	}
	select {
	case g.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) done() { <-g.sem }

// sleepUntil waits until t or ctx's end.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// connectAll runs connect for n clients through the gate, concurrently,
// and returns when all are done. It stops early when ctx ends.
func (e *engine) connectAll(ctx context.Context, n int, connect func(ctx context.Context, i int)) error {
	g := newGate(e.cfg)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		if err := g.wait(ctx); err != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer g.done()
			connect(ctx, i)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// measureConnected records the harness's footprint once every client is
// connected.
func (e *engine) measureConnected() {
	runtime.GC()
	debug.FreeOSMemory()
	e.rssConnected = currentRSS()
	e.goroutines = runtime.NumGoroutine()
}

// result assembles the document.
func (e *engine) result() (*reports.LoadResult, error) {
	cfg := e.cfg
	end := time.Now()
	u := getUsage()
	lat, err := e.m.latency()
	if err != nil {
		return nil, err
	}
	r := &reports.LoadResult{
		Schema: reports.LoadSchema, Tool: cfg.Tool, RunID: cfg.RunID, Label: cfg.Label,
		Scenario: cfg.Scenario, Target: cfg.Target,
		Shard: reports.LoadShard{Index: cfg.Shard, Count: cfg.Shards},
		Start: e.start, End: end, PublishStart: e.pubStart, PublishEnd: e.pubEnd,
		Latency: lat, IntervalMs: cfg.Interval.Milliseconds(), Intervals: e.m.intervals,
		Connections: e.m.connections(), Errors: e.m.errorList(),
	}
	if !e.pubDone.IsZero() {
		r.PublishEnd = e.pubDone
	}
	if r.PublishStart.IsZero() {
		r.PublishStart, r.PublishEnd = e.start, end
	}
	r.Config = e.configDoc()
	r.Counters, r.ByQoS, r.ByTopic, r.TopicsOmitted = e.accounting()
	r.Resources = reports.LoadResources{
		Processes: 1,
		CPUUserS:  (u.user - e.usage0.user).Seconds(), CPUSystemS: (u.sys - e.usage0.sys).Seconds(),
		MaxRSSBytes: u.maxRSS, RSSBeforeBytes: e.rssBefore, RSSConnectedBytes: e.rssConnected,
		Goroutines: e.goroutines, OpenFileLimit: fileLimit(),
	}
	if n := r.Connections.Peak; n > 0 && e.rssConnected > e.rssBefore {
		r.Resources.KBPerConnection = float64(e.rssConnected-e.rssBefore) / float64(n) / 1024
	}
	r.Notes = e.notes
	if r.Counters.Unsent > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("target rate not reached: %d scheduled messages were never sent (publishers could not keep up)", r.Counters.Unsent))
	}
	if r.Connections.Succeeded == 0 && r.Connections.Attempted > 0 {
		r.Notes = append(r.Notes, "no connection succeeded")
	}
	r.Derive()
	return r, nil
}

func (e *engine) configDoc() reports.LoadConfig {
	cfg := e.cfg
	c := reports.LoadConfig{
		Protocol: cfg.Version.String(), Transport: "tcp", Clients: len(e.plan.others),
		Publishers: len(e.plan.pubs), Subscribers: len(e.plan.subs), SubQoS: cfg.SubQoS,
		PayloadBytes: cfg.Payload, ClosedLoop: cfg.ClosedLoop,
		DurationS: cfg.Duration.Seconds(), RampUpS: cfg.RampUp.Seconds(), ConnectRate: cfg.ConnectRate,
		KeepAliveS: cfg.KeepAlive.Seconds(), CleanSession: !cfg.Persistent, Inflight: cfg.Inflight,
		Topics: cfg.Topics, TopicPrefix: e.plan.prefix,
	}
	switch {
	case cfg.WebSocket && cfg.TLS != nil:
		c.Transport = "wss"
	case cfg.WebSocket:
		c.Transport = "ws"
	case cfg.TLS != nil:
		c.Transport = "tls"
	}
	for _, q := range cfg.QoS {
		c.QoS = append(c.QoS, int(q))
	}
	switch cfg.Scenario {
	case Shared:
		c.Clients = len(e.plan.pubs)
	case Idle, ConnectStorm:
	default:
		c.Clients = len(e.plan.pubs) + len(e.plan.subs)
	}
	if cfg.Scenario != Idle && cfg.Scenario != ConnectStorm && cfg.Scenario != RetainedStorm {
		if cfg.ClosedLoop {
			c.Rate = 0
		} else {
			total, _ := roles(cfg)
			c.Rate = cfg.Rate * float64(len(e.plan.pubs)) / float64(max(total, 1))
		}
		for _, p := range e.plan.pubs {
			if p.limited {
				c.Count += int64(p.count)
			}
		}
	}
	if cfg.Scenario == Churn {
		c.ChurnOnS, c.ChurnOffS, c.CleanSession = cfg.ChurnOnline.Seconds(), cfg.ChurnOffline.Seconds(), false
	}
	for _, ip := range cfg.SourceIPs {
		if len(c.SourceIPs) >= 16 {
			c.SourceIPs = append(c.SourceIPs, fmt.Sprintf("... %d in all", len(cfg.SourceIPs)))
			break
		}
		c.SourceIPs = append(c.SourceIPs, ip.String())
	}
	return c
}

// closeAll closes clients concurrently (a polite DISCONNECT each),
// bounded by the connect concurrency and by ctx.
func (e *engine) closeAll(ctx context.Context, cs []*client.Client) {
	sem := make(chan struct{}, e.cfg.ConnectConcurrency)
	var wg sync.WaitGroup
	for _, c := range cs {
		if c == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			connected := c.Connected()
			_ = c.Disconnect(dctx)
			if connected {
				e.m.connDown()
			}
		}()
	}
	wg.Wait()
}

// granted checks SUBACK codes against what was asked for.
func (e *engine) granted(codes []byte, asked byte) error {
	for _, c := range codes {
		if c >= 0x80 {
			return fmt.Errorf("subscription refused (SUBACK code 0x%02x)", c)
		}
		if c < asked {
			e.m.fail(fmt.Sprintf("subscribe: granted QoS %d, asked %d", c, asked), nil)
		}
	}
	return nil
}

// subscribe sends one SUBSCRIBE and records its latency.
func (e *engine) subscribe(ctx context.Context, i int, c *client.Client, filter string, qos byte) error {
	t0 := time.Now()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	codes, err := c.Subscribe(sctx, codec.Subscription{Filter: []byte(filter), Options: qos})
	if err != nil {
		if ctx.Err() == nil {
			kind := "subscribe: no SUBACK"
			if errors.Is(err, context.DeadlineExceeded) {
				kind = "subscribe: no SUBACK within 10s"
			}
			e.m.fail(kind, err)
		}
		return err
	}
	e.m.record(i, mSuback, time.Since(t0).Nanoseconds())
	if err := e.granted(codes, qos); err != nil {
		e.m.fail("subscribe: refused", err)
		return err
	}
	return nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[uint32]V) []uint32 {
	out := make([]uint32, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
