package load

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/mqtt-check/mqtt-check/reference/client"
)

// runIdle holds Clients connections with keepalive for Duration and
// measures what they cost the harness.
func (e *engine) runIdle(ctx context.Context) error {
	cfg := e.cfg
	ids := e.plan.others
	cs := make([]*client.Client, len(ids))
	e.m.setPhase("connect")
	err := e.connectAll(ctx, len(ids), func(ctx context.Context, i int) {
		opts := e.options(i, clientID(cfg.RunID, 'i', ids[i]), !cfg.Persistent)
		opts.OnConnectionLost = func(err error) { e.lostConn(i, err, nil) }
		c, _, err := e.connect(ctx, i, opts)
		if err == nil {
			cs[i] = c
		}
	})
	if err == nil {
		e.measureConnected()
		e.m.setPhase("hold")
		e.pubStart = time.Now()
		e.pubEnd = e.pubStart.Add(cfg.Duration)
		err = sleepUntil(ctx, e.pubEnd)
	}
	e.m.setPhase("close")
	e.closeAll(context.Background(), cs)
	if cfg.Persistent {
		e.cleanIDs(func(yield func(string) bool) {
			for _, id := range ids {
				if !yield(clientID(cfg.RunID, 'i', id)) {
					return
				}
			}
		})
	}
	return err
}

// runStorm opens Clients connections at ConnectRate, each on its own
// schedule: the end-to-end metric is CONNACK time minus the SCHEDULED
// connect time, so a broker that accepts slowly (and holds the
// concurrency slots) shows up even though the harness waits for it.
func (e *engine) runStorm(ctx context.Context) error {
	cfg := e.cfg
	ids := e.plan.others
	cs := make([]*client.Client, len(ids))
	sem := make(chan struct{}, cfg.ConnectConcurrency)
	var wg sync.WaitGroup
	e.m.setPhase("storm")
	e.pubStart = time.Now()
	pacer := ConstantPacer{Rate: cfg.ConnectRate}
	var err error
	for i := range ids {
		due := e.pubStart.Add(pacer.Due(uint64(i)))
		if err = sleepUntil(ctx, due); err != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			opts := e.options(i, clientID(cfg.RunID, 'c', ids[i]), true)
			opts.OnConnectionLost = func(err error) { e.lostConn(i, err, nil) }
			c, _, err := e.connect(ctx, i, opts)
			if err == nil {
				e.m.record(i, mE2E, time.Since(due).Nanoseconds())
				cs[i] = c
			}
		}()
	}
	wg.Wait()
	e.pubEnd = time.Now()
	if err == nil {
		e.measureConnected()
	}
	e.m.setPhase("close")
	e.closeAll(context.Background(), cs)
	return err
}

// runRetained seeds Topics retained messages, then lets every
// subscriber subscribe to all of them at once and measures how long each
// retained message takes to arrive after the SUBSCRIBE. The retained
// messages are cleared at the end.
func (e *engine) runRetained(ctx context.Context) error {
	cfg := e.cfg
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.setup()
	if len(e.pubs) == 0 {
		return nil
	}
	seeder := e.pubs[0]
	e.m.setPhase("seed")
	opts := e.options(len(e.subs), seeder.plan.clientID, true)
	opts.OnConnectionLost = func(err error) { e.lostConn(0, err, nil) }
	c, _, err := e.connect(ctx, len(e.subs), opts)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e.note("the seeding publisher could not connect: %v", err)
		return nil
	}
	seeder.c = c
	e.hardStop = time.Now().Add(cfg.Drain + cfg.Duration)
	topic := func(i int) string { return seeder.plan.topic + "/" + strconv.Itoa(i) }
	for i := 0; i < cfg.Topics; i++ {
		if !seeder.waitWindow(ctx) {
			break
		}
		now := time.Now()
		h := header{qos: seeder.plan.qos, run: e.tag, pub: seeder.plan.id, seq: uint64(i), intended: e.m.since(now), sent: e.m.since(now)}
		h.put(seeder.payload)
		seeder.seq.Store(uint64(i) + 1)
		seeder.inflight.Add(1)
		n := uint64(i)
		err := c.PublishAsync(topic(i), seeder.payload, seeder.plan.qos, true, func(err error, at time.Time) {
			seeder.acked1(n, now, err, at)
		})
		if err != nil {
			seeder.inflight.Add(-1)
			e.m.fail("publish: client could not send", err)
			continue
		}
		seeder.sent.Add(1)
	}
	for seeder.inflight.Load() > 0 && time.Now().Before(e.hardStop) && ctx.Err() == nil {
		_ = sleepUntil(ctx, time.Now().Add(5*time.Millisecond))
	}

	e.m.setPhase("subscribe")
	e.pubStart = time.Now()
	err = e.connectAll(ctx, len(e.subs), func(ctx context.Context, i int) {
		s := e.subs[i]
		if c := e.connectSub(ctx, s, true); c != nil {
			s.mu.Lock()
			s.c = c
			s.mu.Unlock()
		} else {
			s.plan.pubs = nil
		}
	})
	if err == nil {
		e.measureConnected()
		e.m.setPhase("drain")
		e.drain(ctx)
	}
	e.pubEnd = time.Now()

	// Clear the retained messages (a zero-byte retained message removes
	// one), and leave the target as it was found. The subscribers go
	// first, so that they do not receive the clearing messages.
	e.m.setPhase("cleanup")
	var subs []*client.Client
	for _, s := range e.subs {
		s.mu.Lock()
		subs = append(subs, s.c)
		s.c = nil
		s.mu.Unlock()
	}
	e.closeAll(context.Background(), subs)
	cctx, ccancel := context.WithTimeout(context.Background(), cfg.Drain)
	defer ccancel()
	for i := 0; i < cfg.Topics && cctx.Err() == nil; i++ {
		if perr := c.Publish(cctx, topic(i), nil, 1, true); perr != nil {
			e.note("could not clear the retained message on %s: %v", topic(i), perr)
			break
		}
	}
	e.closeEverything()
	return err
}

// cleanIDs removes the persistent sessions of the given client IDs.
func (e *engine) cleanIDs(ids func(yield func(string) bool)) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sem := make(chan struct{}, e.cfg.ConnectConcurrency)
	var wg sync.WaitGroup
	i := 0
	for id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c, _, err := client.Connect(ctx, e.options(i, id, true))
			if err == nil {
				_ = c.Disconnect(ctx)
			}
		}(i)
		i++
	}
	wg.Wait()
}
