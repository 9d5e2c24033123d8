package client

import (
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
)

// pingreq is the whole PINGREQ packet; it never changes.
var pingreq = []byte{byte(codec.PINGREQ) << 4, 0}

// minTick stops a timer that is due now from spinning.
const minTick = time.Millisecond

// tick runs on a runtime timer, not a goroutine of its own, so an idle
// connection costs no stack for keepalive. It sends PINGREQ after
// KeepAlive of silence (MQTT-3.1.2-23), gives the link up when a PINGRESP
// or an acknowledgement is overdue, and re-arms itself for the next
// deadline.
func (l *link) tick() {
	c := l.c
	now := time.Now()
	c.mu.Lock()
	if l.dead {
		c.mu.Unlock()
		return
	}
	var cause error
	ping := false
	if ka := c.kaWire; ka > 0 {
		if !l.pingAt.IsZero() {
			if now.Sub(l.pingAt) >= c.pingTimeout() {
				cause = ErrPingTimeout
			}
		} else if now.Sub(time.Unix(0, l.lastSent.Load())) >= ka {
			ping = true
			l.pingAt = now
		}
	}
	if at := c.opts.AckTimeout; cause == nil && at > 0 {
		if oldest := c.oldestLocked(); !oldest.IsZero() && now.Sub(oldest) >= at {
			cause = ErrAckTimeout
		}
	}
	if cause == nil {
		l.timer.Reset(c.nextTick(l, now))
	}
	c.mu.Unlock()
	if cause != nil {
		l.abort(cause)
		return
	}
	if ping {
		_ = c.write(l, pingreq) // a failure ends the link; the reader reports it
	}
}

// pingTimeout is PingTimeout, or the keepalive in force when unset (a
// 5.0 server may impose a keepalive the options did not ask for).
func (c *Client) pingTimeout() time.Duration {
	if c.opts.PingTimeout > 0 {
		return c.opts.PingTimeout
	}
	return c.kaWire
}

// nextTick returns how long until the next keepalive or ack deadline.
// c.mu is held.
func (c *Client) nextTick(l *link, now time.Time) time.Duration {
	d := time.Hour
	if ka := c.kaWire; ka > 0 {
		if !l.pingAt.IsZero() {
			d = min(d, l.pingAt.Add(c.pingTimeout()).Sub(now))
		} else {
			d = min(d, time.Unix(0, l.lastSent.Load()).Add(ka).Sub(now))
		}
	}
	if at := c.opts.AckTimeout; at > 0 {
		if oldest := c.oldestLocked(); !oldest.IsZero() {
			d = min(d, oldest.Add(at).Sub(now))
		} else {
			d = min(d, at)
		}
	}
	return max(d, minTick)
}

// oldestLocked returns when the oldest operation still awaiting the
// server was sent, or zero.
func (c *Client) oldestLocked() time.Time {
	var oldest time.Time
	for _, p := range c.inflight {
		if oldest.IsZero() || p.sentAt.Before(oldest) {
			oldest = p.sentAt
		}
	}
	return oldest
}
