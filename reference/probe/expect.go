package probe

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
)

// maxListed bounds how many unexpected packets an error message names.
const maxListed = 3

// Expect waits up to d for the first queued or arriving packet for which
// match returns true, removes it from the queue and returns it. Packets
// that do not match stay queued, in order, for later Expects. A nil match
// accepts any packet. what describes the awaited packet in the error
// ("CONNACK", "PUBLISH on a/b").
//
// match runs without the Conn's lock held, possibly more than once per
// packet; it must not keep the *Received unless it returns true.
//
// The error is an *ExpectError wrapping ErrTimeout, a *ClosedError or the
// context's error, and its text says what was seen instead.
func (c *Conn) Expect(ctx context.Context, d time.Duration, what string, match func(*Received) bool) (*Received, error) {
	start := time.Now()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		r, closed, notify := c.take(match)
		if r != nil {
			return r, nil
		}
		if closed != nil {
			return nil, c.expectErr("expected "+what, start, d, closed, closed)
		}
		select {
		case <-notify:
		case <-timer.C:
			// One last look: a packet may have landed with the timer.
			if r, _, _ := c.take(match); r != nil {
				return r, nil
			}
			return nil, c.expectErr("expected "+what, start, d, nil, ErrTimeout)
		case <-ctx.Done():
			return nil, c.expectErr("expected "+what, start, d, nil, ctx.Err())
		}
	}
}

// take removes and returns the first queued packet match accepts, or
// reports the closure and the channel that signals the next change.
func (c *Conn) take(match func(*Received) bool) (*Received, *ClosedError, <-chan struct{}) {
	for {
		pending, closed, notify := c.snapshot()
		// match runs outside the lock so that a matcher calling back into
		// the Conn cannot deadlock it.
		var found *Received
		for _, r := range pending {
			if match == nil || match(r) {
				found = r
				break
			}
		}
		if found == nil {
			return nil, closed, notify
		}
		c.mu.Lock()
		for i, r := range c.inbox {
			if r == found {
				c.inbox = append(c.inbox[:i:i], c.inbox[i+1:]...)
				c.mu.Unlock()
				return found, nil, nil
			}
		}
		// A concurrent Expect took it first; look again.
		c.mu.Unlock()
	}
}

// snapshot returns the queue, the closure and the current notify channel
// as of one instant: anything that changes after it closes notify.
func (c *Conn) snapshot() ([]*Received, *ClosedError, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Received(nil), c.inbox...), c.closed, c.notify
}

// ExpectType waits up to d for a packet of type t. A packet of that type
// that failed to decode is taken and returned with an error saying so,
// because "sent a malformed CONNACK" is the precise outcome.
func (c *Conn) ExpectType(ctx context.Context, t codec.Type, d time.Duration) (*Received, error) {
	r, err := c.Expect(ctx, d, t.String(), IsType(t))
	if err != nil {
		return nil, err
	}
	if r.Err != nil {
		return r, &ExpectError{What: t.String(), Seen: []*Received{r}, Err: r.Err,
			msg: c.label + ": expected " + t.String() + ": received " + r.String()}
	}
	return r, nil
}

// ExpectNothing waits d and fails if a packet match accepts is queued or
// arrives meanwhile (nil match: any packet). A packet received before the
// call and not yet taken counts, since a forbidden answer may beat the
// call; use Drain first to judge only what comes next. The offending
// packet stays queued. The connection ending during the wait is an error
// too (wrapping *ClosedError), since it is not "nothing".
func (c *Conn) ExpectNothing(ctx context.Context, d time.Duration, match func(*Received) bool) error {
	start := time.Now()
	timer := time.NewTimer(d)
	defer timer.Stop()
	what := "nothing"
	if match != nil {
		what = "no such packet"
	}
	what += " for " + d.String()
	for {
		pending, closed, notify := c.snapshot()
		for _, r := range pending {
			if match == nil || match(r) {
				return &ExpectError{What: what, Waited: time.Since(start), Seen: []*Received{r}, Err: ErrUnexpected,
					msg: c.label + ": expected " + what + ": received " + r.String() + " at " + c.rel(r.At)}
			}
		}
		if closed != nil {
			return c.expectErr("expected "+what, start, d, closed, closed)
		}
		select {
		case <-notify:
		case <-timer.C:
			return c.finalNothing(what, start, match)
		case <-ctx.Done():
			return c.expectErr("expected "+what, start, d, nil, ctx.Err())
		}
	}
}

// finalNothing is ExpectNothing's last look when the timer fires.
func (c *Conn) finalNothing(what string, start time.Time, match func(*Received) bool) error {
	for _, r := range c.Pending() {
		if match == nil || match(r) {
			return &ExpectError{What: what, Waited: time.Since(start), Seen: []*Received{r}, Err: ErrUnexpected,
				msg: c.label + ": expected " + what + ": received " + r.String() + " at " + c.rel(r.At)}
		}
	}
	return nil
}

// ExpectClosed waits up to d for the peer to end the connection (clean
// close, reset, or a read failure). Packets received meanwhile stay
// queued. If the connection is still open after d, or the probe closed it
// itself, the error says so.
func (c *Conn) ExpectClosed(ctx context.Context, d time.Duration) error {
	const what = "the connection to be closed"
	start := time.Now()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		_, closed, notify := c.snapshot()
		if closed != nil {
			if closed.By == ByLocal {
				return &ExpectError{What: what, Waited: time.Since(start), Closed: closed, Err: closed,
					msg: c.label + ": expected " + what + " by the peer: the probe closed it itself at " + c.rel(closed.At)}
			}
			return nil
		}
		select {
		case <-notify:
		case <-timer.C:
			if ok, _, _ := c.Closed(); ok {
				continue
			}
			return c.expectErr("expected "+what, start, d, nil, ErrTimeout)
		case <-ctx.Done():
			return c.expectErr("expected "+what, start, d, nil, ctx.Err())
		}
	}
}

// expectErr builds the error of a failed wait that began at start with
// the limit d, naming what was seen: the packets still queued that did not
// match (whenever they came, they are what the peer said instead), the
// closure, or silence.
func (c *Conn) expectErr(prefix string, start time.Time, limit time.Duration, closed *ClosedError, cause error) *ExpectError {
	waited := time.Since(start)
	seen := c.Pending()
	e := &ExpectError{What: strings.TrimPrefix(prefix, "expected "), Waited: waited, Seen: seen, Closed: closed, Err: cause}
	var b strings.Builder
	b.WriteString(c.label)
	b.WriteString(": ")
	b.WriteString(prefix)
	b.WriteString(": ")
	switch {
	case closed != nil && closed.By == ByLocal:
		b.WriteString("the probe had closed the connection at ")
		b.WriteString(c.rel(closed.At))
	case closed != nil:
		b.WriteString("closed the connection (")
		b.WriteString(closed.Error())
		b.WriteString(") at ")
		b.WriteString(c.rel(closed.At))
		if len(seen) > 0 {
			// The reader queues packets before it reports the end, so
			// all of them came before the close.
			b.WriteString(" after sending ")
			listPackets(&b, seen)
		} else {
			b.WriteString(" without sending anything else")
		}
	case errors.Is(cause, ErrTimeout):
		// The limit, not the time measured: scheduling may add a little,
		// and the report should state the deadline the spec gave.
		switch {
		case strings.HasPrefix(e.What, "the connection"):
			b.WriteString("still open after ")
			b.WriteString(limit.String())
			if len(seen) > 0 {
				b.WriteString("; received ")
				listPackets(&b, seen)
			}
		case len(seen) > 0:
			b.WriteString("received ")
			listPackets(&b, seen)
			b.WriteString(" instead within ")
			b.WriteString(limit.String())
		default:
			b.WriteString("sent nothing within ")
			b.WriteString(limit.String())
		}
	default:
		b.WriteString(cause.Error())
		b.WriteString(" after ")
		b.WriteString(waited.Round(time.Millisecond).String())
		if len(seen) > 0 {
			b.WriteString("; received ")
			listPackets(&b, seen)
		}
	}
	e.msg = b.String()
	return e
}

func listPackets(b *strings.Builder, rs []*Received) {
	for i, r := range rs {
		if i == maxListed {
			b.WriteString(" and ")
			b.WriteString(strconv.Itoa(len(rs) - maxListed))
			b.WriteString(" more")
			return
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.String())
	}
}

// rel renders t relative to the transcript start, as WriteText does.
func (c *Conn) rel(t time.Time) string {
	return string(appendRel(nil, t.Sub(c.tr.Start())))
}

// IsType matches packets of type t (by fixed header, so a malformed one
// matches too).
func IsType(t codec.Type) func(*Received) bool {
	return func(r *Received) bool { return r.Header.Type == t }
}

// IsAck matches a PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK or UNSUBACK of
// type t carrying packet identifier id.
func IsAck(t codec.Type, id uint16) func(*Received) bool {
	return func(r *Received) bool {
		if r.Header.Type != t {
			return false
		}
		switch p := r.Packet.(type) {
		case *codec.Ack:
			return p.PacketID == id
		case *codec.Suback:
			return p.PacketID == id
		case *codec.Unsuback:
			return p.PacketID == id
		}
		return false
	}
}

// IsPublish matches a decoded PUBLISH on exactly topic.
func IsPublish(topic string) func(*Received) bool {
	return func(r *Received) bool {
		p, ok := r.Packet.(*codec.Publish)
		return ok && string(p.Topic) == topic
	}
}
