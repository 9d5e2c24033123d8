package load

import (
	"context"
	"time"
)

// churn cycles one persistent-session subscriber: online for
// ChurnOnline, DISCONNECT, away for ChurnOffline, reconnect with Clean
// Session 0 and drain what the broker queued meanwhile. Cycles are
// staggered over the subscribers. It returns when publishing ends,
// leaving the subscriber connected for the drain.
func (e *engine) churn(ctx context.Context, s *subscriber) {
	cfg := e.cfg
	period := cfg.ChurnOnline
	// Stagger: subscriber i starts its first cycle i/n of a period late.
	first := time.Duration(float64(period) * float64(s.idx) / float64(max(len(e.subs), 1)))
	next := e.pubStart.Add(first + cfg.ChurnOnline/2)
	for {
		if !next.Before(e.pubEnd) || sleepUntil(ctx, next) != nil {
			return
		}
		s.mu.Lock()
		c := s.c
		s.mu.Unlock()
		if c != nil {
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			connected := c.Connected()
			_ = c.Disconnect(dctx)
			cancel()
			if connected {
				e.m.connDown()
			}
		}
		if sleepUntil(ctx, time.Now().Add(cfg.ChurnOffline)) != nil {
			return
		}
		// Reconnect, retrying until the end of publishing plus the drain
		// time: a subscriber left offline loses what it was owed.
		for {
			e.m.reconnects.Add(1)
			opts := e.options(s.idx, s.plan.clientID, false)
			opts.OnMessage = s.onMessage
			opts.OnConnectionLost = func(err error) { e.lostConn(s.idx, err, nil) }
			nc, ack, err := e.connect(ctx, s.idx, opts)
			if err == nil {
				if !ack.SessionPresent {
					// The broker forgot the session: the subscription is
					// gone and so is what was queued.
					e.m.sessLost.Add(1)
					e.m.fail("churn: session not present on reconnect", nil)
					_ = e.subscribe(ctx, s.idx, nc, s.plan.filter, byte(cfg.SubQoS))
				}
				s.mu.Lock()
				s.c = nc
				s.mu.Unlock()
				break
			}
			if ctx.Err() != nil || time.Now().After(e.hardStop) {
				s.mu.Lock()
				s.c = nil
				s.mu.Unlock()
				return
			}
			if sleepUntil(ctx, time.Now().Add(100*time.Millisecond)) != nil {
				return
			}
		}
		next = time.Now().Add(cfg.ChurnOnline)
	}
}
