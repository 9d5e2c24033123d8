package conformance

import (
	"fmt"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
)

// Keep alive specs (MQTT-3.1.2-24). Every one uses a Keep Alive of 1 s.
// Times are measured from when the probe sent its last packet, which the
// broker cannot have received earlier, so network delay only ever makes
// the broker look later: lateness is judged with the run's
// KeepAliveMargin, earliness with a small tolerance for the granularity of
// the broker's timers.
//
// The text lets a server "disconnect a Client that it determines to be
// inactive or non-responsive at any time, regardless of the Keep Alive
// value" (3.1.2.10), so closing a silent client before 1.5x the keep
// alive is reported as information (a SHOULD-level spec); closing a client
// that sends a packet within every keep alive period is a failure.

const kaSeconds = 1

// kaCoarseTimer is the extra time specs that need a keep alive close, but
// do not judge its timing, allow a broker that checks keep alive on a
// coarse timer.
const kaCoarseTimer = 5 * time.Second

// kaLimit is the latest a broker may close a connection silent since its
// keep alive of ka seconds started: 1.5x plus the margin.
func kaLimit(t *T, ka int) time.Duration {
	return time.Duration(ka)*1500*time.Millisecond + t.cfg.KeepAliveMargin
}

// kaEarlyTolerance is how much earlier than 1.5x the keep alive a close is
// still put down to timer granularity.
func kaEarlyTolerance(t *T) time.Duration {
	return min(t.cfg.KeepAliveMargin/4, 250*time.Millisecond)
}

// kaConnect connects with the given keep alive, returning the client and
// when the CONNECT was sent.
func (t *T) kaConnect(ka uint16) (*Client, time.Time) {
	c := t.Dial("")
	p := t.ConnectPacket(t.ClientID(c.Label()), true)
	p.KeepAlive = ka
	start := time.Now()
	c.MustConnect(p)
	return c, start
}

// kaClosedAt reports when the broker closed c, or false.
func (c *Client) kaClosedAt() (time.Time, bool) {
	closed, at, _ := c.Closed()
	return at, closed
}

func kaSecs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

var _ = Register(Spec{
	Name:  "closes a connection silent for 1.5x its keep alive",
	IDs:   []string{"MQTT-3.1.2-24"},
	Level: Must, Area: AreaKeepAlive,
	Run: func(t *T) {
		c, start := t.kaConnect(kaSeconds)
		limit := kaLimit(t, kaSeconds)
		rule := fmt.Sprintf("the broker closes the connection once no packet has come for 1.5x the keep alive of %ds (%s, allowing %s of scheduling and network delay)",
			kaSeconds, kaSecs(1500*time.Millisecond*kaSeconds), t.cfg.KeepAliveMargin)
		if err := c.Conn.ExpectClosed(t.ctx, time.Until(start.Add(limit))); err != nil {
			t.Fail(rule, fmt.Sprintf("the connection was still open %s after the CONNECT, the last packet the client sent: %v", kaSecs(time.Since(start)), err))
		}
		if at, ok := c.kaClosedAt(); ok {
			t.Note("closed %s after the CONNECT", kaSecs(at.Sub(start)))
		}
	},
})

var _ = Register(Spec{
	Name:  "keeps open a connection whose client sends a packet within every keep alive period",
	IDs:   []string{"MQTT-3.1.2-24"},
	Level: Must, Area: AreaKeepAlive,
	Run: func(t *T) {
		c, start := t.kaConnect(kaSeconds)
		last := start
		// PINGREQ every 0.75x the keep alive, for as long as a broker that
		// does not restart its timer on traffic could keep the connection.
		every := time.Duration(kaSeconds) * 750 * time.Millisecond
		deadline := start.Add(kaLimit(t, kaSeconds))
		for {
			// Watch the connection until the next packet is due.
			if err := c.Conn.ExpectClosed(t.ctx, time.Until(last.Add(every))); err == nil {
				at, _ := c.kaClosedAt()
				t.Fail(fmt.Sprintf("the connection stays open while the client sends a packet every %s, within its keep alive of %ds: the timer restarts on every packet received", kaSecs(every), kaSeconds),
					fmt.Sprintf("closed the connection %s after the client's last packet (%s after the CONNECT)", kaSecs(at.Sub(last)), kaSecs(at.Sub(start))))
			}
			if !time.Now().Before(deadline) {
				return
			}
			sent := time.Now()
			if err := c.Send(&codec.Pingreq{}); err != nil {
				if _, closed := c.kaClosedAt(); !closed {
					t.Setup(err, "sending PINGREQ")
				}
				continue // closed: the next ExpectClosed reports when
			}
			last = sent
		}
	},
})

var _ = Register(Spec{
	Name:  "waits 1.5x the keep alive before closing a silent connection",
	IDs:   []string{"MQTT-3.1.2-24"},
	Level: Should, Area: AreaKeepAlive,
	Run: func(t *T) {
		c, start := t.kaConnect(kaSeconds)
		limit := kaLimit(t, kaSeconds)
		if err := c.Conn.ExpectClosed(t.ctx, time.Until(start.Add(limit+kaCoarseTimer+t.Wait()))); err != nil {
			t.CouldNotCheck("the broker did not close the silent connection (its closing is judged by the MUST spec on silent connections): %v", err)
		}
		at, _ := c.kaClosedAt()
		after := at.Sub(start)
		t.Note("closed %s after the CONNECT", kaSecs(after))
		earliest := time.Duration(kaSeconds)*1500*time.Millisecond - kaEarlyTolerance(t)
		t.Check(after >= earliest, fmt.Sprintf("a client silent for less than 1.5x its keep alive of %ds (%s, less %s of timer tolerance) is left connected",
			kaSeconds, kaSecs(1500*time.Millisecond*kaSeconds), kaEarlyTolerance(t)),
			fmt.Sprintf("closed the connection %s after the CONNECT, the client's last packet", kaSecs(after)))
	},
})

var _ = Register(Spec{
	Name:  "leaves a silent connection with keep alive 0 open",
	Level: Should, Area: AreaKeepAlive,
	Run: func(t *T) {
		// Keep Alive 0 turns the mechanism off (3.1.2.10), though a
		// server may still drop clients it deems inactive: information.
		c, start := t.kaConnect(0)
		silence := kaLimit(t, kaSeconds) + time.Second
		if err := c.Conn.ExpectClosed(t.ctx, silence); err == nil {
			at, _ := c.kaClosedAt()
			t.Fail(fmt.Sprintf("a connection with Keep Alive 0 is not closed for inactivity within %s", kaSecs(silence)),
				fmt.Sprintf("closed the connection %s after the CONNECT", kaSecs(at.Sub(start))))
		}
		c.ExpectOpen("the connection with Keep Alive 0 still answers PINGREQ after " + kaSecs(silence) + " of silence")
	},
})
