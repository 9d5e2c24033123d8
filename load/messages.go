package load

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqtt-check/mqtt-check/reference/client"
)

// publisher is one publishing client at run time.
type publisher struct {
	e     *engine
	plan  pubPlan
	idx   int // index in engine.pubs
	pacer Pacer
	c     *client.Client // set before publishing starts; replaced only by its own reconnects

	seq      atomic.Uint64 // messages handed to the client so far (next sequence number)
	sent     atomic.Int64
	acked    atomic.Int64
	inflight atomic.Int64
	space    chan struct{} // a slot in the window freed (capacity 1)
	unsent   int64         // publisher goroutine only, read after it ends
	sendErrs int64         // publisher goroutine only

	mu     sync.Mutex
	failed []uint64 // sequence numbers never acknowledged (QoS 1/2)

	payload []byte
}

func (p *publisher) counts() (sent, acked, received int64) {
	return p.sent.Load(), p.acked.Load(), 0
}

// subscriber is one subscribing client at run time.
type subscriber struct {
	e    *engine
	plan subPlan
	idx  int
	mu   sync.Mutex // guards c between churn cycles and the end of the run
	c    *client.Client

	received atomic.Int64
	// Reader goroutine only (one connection at a time; read after the
	// last one closed):
	streams map[uint32]*stream
	foreign int64
	hdr     header
	// retained scenario: when the SUBSCRIBE went out (ns since base).
	subSent atomic.Int64
}

func (s *subscriber) counts() (sent, acked, received int64) { return 0, 0, s.received.Load() }

// onMessage handles one delivery on the connection's reader goroutine.
func (s *subscriber) onMessage(msg *client.Message) {
	e := s.e
	s.received.Add(1)
	h := &s.hdr
	if !h.parse(msg.Payload) || h.run != e.tag {
		s.foreign++
		return
	}
	recv := e.m.since(msg.ReceivedAt)
	pi, ok := e.pubByID[h.pub]
	if !ok || h.seq >= e.pubs[pi].seq.Load() {
		// Not a publisher of this run, or a number it never used.
		s.foreign++
		return
	}
	if e.cfg.Scenario == RetainedStorm {
		e.m.record(s.idx, mRetained, recv-s.subSent.Load())
	} else {
		e.m.delivery(s.idx, recv-h.intended, recv-h.sent)
	}
	st := s.streams[h.pub]
	if st == nil {
		st = &stream{}
		s.streams[h.pub] = st
	}
	st.add(h.seq)
}

// runMessages runs the publish/subscribe scenarios.
func (e *engine) runMessages(ctx context.Context) error {
	cfg := e.cfg
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.setup()
	npTotal, _ := roles(cfg)
	perPub := cfg.Rate / float64(max(npTotal, 1))

	// Subscribers first, so that every message published is owed.
	e.m.setPhase("subscribe")
	clean := !cfg.Persistent && cfg.Scenario != Churn
	err := e.connectAll(ctx, len(e.subs), func(ctx context.Context, i int) {
		s := e.subs[i]
		if s.plan.pubIndex >= 0 {
			return // shared: connects as a publisher below
		}
		if c := e.connectSub(ctx, s, clean); c != nil {
			s.mu.Lock()
			s.c = c
			s.mu.Unlock()
		}
	})
	if err != nil {
		e.closeEverything()
		return err
	}
	e.m.setPhase("connect")
	err = e.connectAll(ctx, len(e.pubs), func(ctx context.Context, i int) {
		p := e.pubs[i]
		opts := e.options(len(e.subs)+i, p.plan.clientID, !cfg.Persistent)
		var sub *subscriber
		if cfg.Scenario == Shared {
			sub = e.subs[i]
			opts.OnMessage = sub.onMessage
		}
		opts.OnConnectionLost = func(err error) { e.lostConn(p.idx, err, func(c *client.Client) { p.c = c }) }
		c, _, err := e.connect(ctx, len(e.subs)+i, opts)
		if err != nil {
			return
		}
		if sub != nil {
			if e.subscribe(ctx, i, c, sub.plan.filter, byte(cfg.SubQoS)) != nil {
				// The shared client still publishes; it is owed nothing.
				sub.plan.pubs = nil
			}
			sub.c = c
		}
		p.c = c
	})
	if err != nil {
		e.closeEverything()
		return err
	}
	e.measureConnected()
	for _, s := range e.subs {
		if s.c == nil && s.plan.pubIndex < 0 {
			s.plan.pubs = nil // never subscribed: owed nothing
		}
	}

	// Publish.
	e.m.setPhase("publish")
	e.pubStart = time.Now()
	e.pubEnd = e.pubStart.Add(cfg.Duration)
	e.hardStop = e.pubEnd.Add(cfg.Drain)
	var pw sync.WaitGroup
	n := len(e.pubs)
	for i, p := range e.pubs {
		if p.c == nil {
			p.unsent = int64(p.scheduled(e))
			continue
		}
		// Spread the publishers over one interval so that they do not
		// all fire at the same instant.
		phase := time.Duration(0)
		if perPub > 0 && !cfg.ClosedLoop {
			phase = time.Duration(float64(i) / float64(n) * float64(time.Second) / perPub)
		}
		p.pacer = RampPacer{Rate: perPub, Ramp: cfg.RampUp, Phase: phase}
		pw.Add(1)
		go func() {
			defer pw.Done()
			p.run(ctx)
		}()
	}
	if cfg.Scenario == Churn {
		for _, s := range e.subs {
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				e.churn(ctx, s)
			}()
		}
	}
	pw.Wait()
	// Publishing is over once every scheduled message was sent, or at
	// the deadline when the publishers ran late.
	e.pubDone = time.Now()
	if e.pubDone.After(e.pubEnd) {
		e.pubDone = e.pubEnd
	}
	e.m.setPhase("drain")
	e.drain(ctx)
	cancel() // ends churn loops and reconnect attempts
	e.wg.Wait()
	e.closeEverything()
	return nil
}

// setup makes the run-time publishers and subscribers from the plan.
func (e *engine) setup() {
	e.pubByID = make(map[uint32]int, len(e.plan.pubs))
	for i, pp := range e.plan.pubs {
		p := &publisher{e: e, plan: pp, idx: i, space: make(chan struct{}, 1)}
		p.payload = make([]byte, e.cfg.Payload)
		for j := HeaderSize; j < len(p.payload); j++ {
			p.payload[j] = 'x'
		}
		e.pubs = append(e.pubs, p)
		e.pubByID[pp.id] = i
		e.m.addSource(p)
	}
	for i, sp := range e.plan.subs {
		s := &subscriber{e: e, plan: sp, idx: i, streams: map[uint32]*stream{}}
		e.subs = append(e.subs, s)
		e.m.addSource(s)
	}
}

// connectSub connects and subscribes one subscriber.
func (e *engine) connectSub(ctx context.Context, s *subscriber, clean bool) *client.Client {
	opts := e.options(s.idx, s.plan.clientID, clean)
	opts.OnMessage = s.onMessage
	opts.OnConnectionLost = func(err error) {
		e.lostConn(s.idx, err, func(c *client.Client) {
			s.mu.Lock()
			s.c = c
			s.mu.Unlock()
		})
	}
	c, _, err := e.connect(ctx, s.idx, opts)
	if err != nil {
		return nil
	}
	s.subSent.Store(e.m.since(time.Now()))
	if e.subscribe(ctx, s.idx, c, s.plan.filter, byte(e.cfg.SubQoS)) != nil {
		_ = c.Disconnect(ctx)
		e.m.connDown()
		return nil
	}
	return c
}

// lostConn counts a lost connection. Recovery is left to the churn loop
// (churn) or not attempted: a lost connection's missed messages are
// what the run must report.
func (e *engine) lostConn(i int, err error, _ func(*client.Client)) {
	e.m.connDown()
	e.m.lost.Add(1)
	e.m.fail(lostErrorKind(err), err)
}

// scheduled returns how many messages the pacer schedules before the
// end of publishing.
func (p *publisher) scheduled(e *engine) uint64 {
	if e.cfg.ClosedLoop {
		if p.plan.limited {
			return p.plan.count
		}
		return 0
	}
	pacer := p.pacer
	if pacer == nil {
		npTotal, _ := roles(e.cfg)
		pacer = RampPacer{Rate: e.cfg.Rate / float64(max(npTotal, 1)), Ramp: e.cfg.RampUp}
	}
	limit := e.cfg.Duration
	// Binary search for the first message due at or after the end.
	lo, hi := uint64(0), uint64(1)
	for pacer.Due(hi) < limit && hi < 1<<62 {
		hi *= 2
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if pacer.Due(mid) < limit {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if p.plan.limited {
		return min(lo, p.plan.count)
	}
	return lo
}

// run publishes on the schedule until the end of the publishing phase.
// Each message carries its intended send time; when the publisher falls
// behind (its window is full, its socket blocks), it sends its backlog
// as fast as it can, each message still stamped with the time it was
// due, so the delay is charged to the broker and not hidden.
func (p *publisher) run(ctx context.Context) {
	e := p.e
	cfg := e.cfg
	qos := p.plan.qos
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	sleep := func(d time.Duration) bool {
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		select {
		case <-timer.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	limit := uint64(math.MaxUint64)
	if p.plan.limited {
		limit = p.plan.count
	}
	stopped := false
	var n uint64
	for n = 0; n < limit; n++ {
		var due time.Time
		if cfg.ClosedLoop {
			if !time.Now().Before(e.pubEnd) {
				break
			}
		} else {
			due = e.pubStart.Add(p.pacer.Due(n))
			if !due.Before(e.pubEnd) {
				break
			}
			if d := time.Until(due); d > 0 && !sleep(d) {
				stopped = true
				break
			}
		}
		if qos > 0 && !p.waitWindow(ctx) {
			stopped = true
			break
		}
		now := time.Now()
		if now.After(e.hardStop) {
			stopped = true
			break
		}
		if cfg.ClosedLoop {
			due = now
		}
		if !p.publish(n, due, now) {
			p.unsent++
		}
	}
	if stopped || cfg.ClosedLoop {
		if s := p.scheduled(e); s > n {
			p.unsent += int64(s - n)
		}
	}
}

// waitWindow waits for a free slot in the inflight window; false when
// the run is over first.
func (p *publisher) waitWindow(ctx context.Context) bool {
	for p.inflight.Load() >= int64(p.e.cfg.Inflight) {
		d := time.Until(p.e.hardStop)
		if d <= 0 {
			return false
		}
		t := time.NewTimer(min(d, 100*time.Millisecond))
		select {
		case <-p.space:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		}
		t.Stop()
	}
	return true
}

// publish sends message n; false if the client refused it (not
// connected).
func (p *publisher) publish(n uint64, due, now time.Time) bool {
	e := p.e
	qos := p.plan.qos
	h := header{qos: qos, run: e.tag, pub: p.plan.id, seq: n, intended: e.m.since(due), sent: e.m.since(now)}
	h.put(p.payload)
	p.seq.Store(n + 1)
	var done func(error, time.Time)
	if qos > 0 {
		p.inflight.Add(1)
		done = func(err error, at time.Time) { p.acked1(n, now, err, at) }
	}
	for {
		err := p.c.PublishAsync(p.plan.topic, p.payload, qos, false, done)
		if err == nil {
			p.sent.Add(1)
			e.m.record(p.idx, mSendLag, h.sent-h.intended)
			return true
		}
		if errors.Is(err, client.ErrWindowFull) && time.Now().Before(e.hardStop) {
			// A 5.0 broker's Receive Maximum is below our window: wait
			// for its acknowledgements like for our own window.
			time.Sleep(time.Millisecond)
			continue
		}
		if qos > 0 {
			p.inflight.Add(-1)
		}
		if p.sendErrs == 0 || p.sendErrs%1000 == 0 {
			e.m.fail("publish: client could not send", err)
		}
		p.sendErrs++
		return false
	}
}

// acked1 completes one QoS 1/2 message.
func (p *publisher) acked1(n uint64, sent time.Time, err error, at time.Time) {
	p.inflight.Add(-1)
	select {
	case p.space <- struct{}{}:
	default:
	}
	if err != nil {
		p.mu.Lock()
		p.failed = append(p.failed, n)
		p.mu.Unlock()
		p.e.m.fail(publishErrorKind(err), err)
		return
	}
	p.acked.Add(1)
	metric := mPuback
	if p.plan.qos == 2 {
		metric = mPubcomp
	}
	p.e.m.record(p.idx, metric, at.Sub(sent).Nanoseconds())
}

// drain waits, after publishing, for acknowledgements and deliveries:
// until every owed delivery arrived, or nothing arrived for a quiet
// period (twice the largest latency seen, at least 500ms), or
// Config.Drain ran out.
func (e *engine) drain(ctx context.Context) {
	deadline := time.Now().Add(e.cfg.Drain)
	var last int64 = -1
	lastChange := time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		inflight := int64(0)
		for _, p := range e.pubs {
			inflight += p.inflight.Load()
		}
		owed, got := e.progressCounts()
		if inflight == 0 && got >= owed {
			return
		}
		if got != last {
			last, lastChange = got, time.Now()
		}
		quiet := max(500*time.Millisecond, 2*e.m.maxE2E())
		if inflight == 0 && time.Since(lastChange) > quiet {
			return
		}
		if sleepUntil(ctx, time.Now().Add(10*time.Millisecond)) != nil {
			return
		}
	}
}

// progressCounts estimates owed and received deliveries while running
// (the exact figures come from accounting, after the run).
func (e *engine) progressCounts() (owed, got int64) {
	for _, s := range e.subs {
		got += s.received.Load()
		for _, pi := range s.plan.pubs {
			p := e.pubs[pi]
			if p.plan.qos == 0 {
				owed += p.sent.Load()
			} else {
				owed += p.acked.Load()
			}
		}
	}
	return owed, got
}

// closeEverything disconnects every client.
func (e *engine) closeEverything() {
	var cs []*client.Client
	seen := map[*client.Client]bool{}
	for _, p := range e.pubs {
		if p.c != nil && !seen[p.c] {
			cs = append(cs, p.c)
			seen[p.c] = true
		}
	}
	for _, s := range e.subs {
		s.mu.Lock()
		if s.c != nil && !seen[s.c] {
			cs = append(cs, s.c)
			seen[s.c] = true
		}
		s.mu.Unlock()
	}
	e.closeAll(context.Background(), cs)
	if e.cfg.Persistent || e.cfg.Scenario == Churn {
		e.cleanSessions()
	}
}

// cleanSessions removes the persistent sessions the run left on the
// broker: connect with a clean session, disconnect.
func (e *engine) cleanSessions() {
	ids := make([]string, 0, len(e.pubs)+len(e.subs))
	if e.cfg.Persistent {
		for _, p := range e.pubs {
			ids = append(ids, p.plan.clientID)
		}
	}
	for _, s := range e.subs {
		if s.plan.pubIndex < 0 {
			ids = append(ids, s.plan.clientID)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sem := make(chan struct{}, e.cfg.ConnectConcurrency)
	var wg sync.WaitGroup
	for i, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			opts := e.options(i, id, true)
			c, _, err := client.Connect(ctx, opts)
			if err == nil {
				_ = c.Disconnect(ctx)
			}
		}()
	}
	wg.Wait()
}
