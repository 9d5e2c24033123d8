package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/mqtt-check/mqtt-check/codec"
)

// pending is an operation awaiting the server: an outgoing QoS 1/2
// PUBLISH, a SUBSCRIBE or an UNSUBSCRIBE. It owns its packet identifier
// until completed.
type pending struct {
	kind codec.Type // PUBLISH, SUBSCRIBE or UNSUBSCRIBE
	// state is, for a QoS 2 PUBLISH, PUBLISH until the PUBREC and PUBREL
	// after it: what a reconnect must resend.
	state  codec.Type
	qos    byte
	id     uint16
	seq    uint64
	sentAt time.Time
	// buf is the encoded packet to resend after a reconnect (PUBLISH or
	// PUBREL); nil for SUBSCRIBE and UNSUBSCRIBE, which are not resent.
	buf   []byte
	done  func(err error, at time.Time)
	codes []byte // SUBACK return codes / UNSUBACK reason codes, copied
}

// encBufs holds encode buffers for packets that are written and
// forgotten (QoS 0 PUBLISH, SUBSCRIBE...), so an idle client keeps no
// write buffer.
var encBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// maxPooled keeps huge buffers out of the pool.
const maxPooled = 64 << 10

// write sends b on l. A failure ends the link (the reader then reports
// the loss); the caller gets the error too.
func (c *Client) write(l *link, b []byte) error {
	c.wmu.Lock()
	now := time.Now()
	var err error
	// Moving the deadline costs a timer update; do it only when less than
	// half of WriteTimeout is left, so a busy publisher rarely pays.
	if wto := c.opts.WriteTimeout; now.Add(wto / 2).After(l.wdl) {
		l.wdl = now.Add(wto)
		err = l.nc.SetWriteDeadline(l.wdl)
	}
	if err == nil {
		_, err = l.nc.Write(b)
	}
	l.lastSent.Store(now.UnixNano())
	c.wmu.Unlock()
	if err != nil {
		l.abort(err)
		return fmt.Errorf("client: write: %w", err)
	}
	return nil
}

// sendPacket encodes p into a pooled buffer and writes it.
func (c *Client) sendPacket(l *link, p codec.Packet) error {
	bp := encBufs.Get().(*[]byte)
	b, err := p.Append((*bp)[:0], c.ver)
	if err == nil {
		err = c.write(l, b)
	} else {
		err = fmt.Errorf("client: encode %s: %w", p.Type(), err)
	}
	if cap(b) <= maxPooled {
		*bp = b[:0]
		encBufs.Put(bp)
	}
	return err
}

// liveLocked returns the current link, or why there is none.
func (c *Client) liveLocked() (*link, error) {
	switch c.state {
	case stateConnected:
		return c.l, nil
	case stateClosed:
		return nil, ErrClosed
	}
	return nil, ErrNotConnected
}

// allocIDLocked returns a packet identifier not in flight, never 0
// (MQTT-2.3.1-1), and never one still awaiting its acknowledgement
// (MQTT-2.3.1-2).
func (c *Client) allocIDLocked() (uint16, error) {
	if len(c.inflight) >= 65535 {
		return 0, ErrNoPacketID
	}
	if c.inflight == nil {
		c.inflight = make(map[uint16]*pending)
	}
	for {
		c.nextID++
		if c.nextID == 0 {
			continue
		}
		if _, busy := c.inflight[c.nextID]; !busy {
			return c.nextID, nil
		}
	}
}

// alias views a string as bytes without copying, for encoding only: the
// encoder reads its input and never writes it, and a load generator
// publishing on a fixed set of topics should not allocate per message.
func alias(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// PublishAsync sends a message without waiting. For QoS 0, done (if not
// nil) is called once the packet is written. For QoS 1 and 2, done is
// called when the PUBACK or PUBCOMP arrives (with the time it was read),
// or with an error when the operation cannot complete: on the reader
// goroutine, so it must not block. If PublishAsync returns an error, done
// is never called. It fails with ErrWindowFull rather than wait when
// MaxInflight messages are unacknowledged, so an open-loop load generator
// can count the miss.
//
// A message accepted with CleanSession false survives a lost connection
// and is resent by Reconnect; with CleanSession true it completes with
// ErrConnectionLost.
func (c *Client) PublishAsync(topic string, payload []byte, qos byte, retain bool, done func(err error, at time.Time)) error {
	if qos > 2 {
		return fmt.Errorf("client: publish QoS %d: %w", qos, errors.ErrUnsupported)
	}
	p := codec.Publish{QoS: qos, Retain: retain, Topic: alias(topic), Payload: payload}
	if qos == 0 {
		c.mu.Lock()
		l, err := c.liveLocked()
		c.mu.Unlock()
		if err != nil {
			return fmt.Errorf("client: publish to %q: %w", topic, err)
		}
		if err := c.sendPacket(l, &p); err != nil {
			return err
		}
		if done != nil {
			done(nil, time.Now())
		}
		return nil
	}
	c.mu.Lock()
	l, err := c.liveLocked()
	if err == nil && c.nOut >= c.window {
		err = ErrWindowFull
	}
	if err == nil {
		p.PacketID, err = c.allocIDLocked()
	}
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("client: publish to %q: %w", topic, err)
	}
	buf, err := p.Append(nil, c.ver)
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("client: encode PUBLISH to %q: %w", topic, err)
	}
	c.seq++
	pd := &pending{kind: codec.PUBLISH, state: codec.PUBLISH, qos: qos, id: p.PacketID,
		seq: c.seq, sentAt: time.Now(), buf: buf, done: done}
	c.inflight[p.PacketID] = pd
	c.nOut++
	c.mu.Unlock()
	// A failed write leaves the message in flight: the loss handling
	// either fails it (clean session) or keeps it for Reconnect.
	_ = c.write(l, buf)
	return nil
}

// Publish sends a message and, for QoS 1 and 2, waits until it is
// acknowledged (PUBACK, or PUBCOMP after PUBREC/PUBREL), waiting for room
// in the inflight window first if need be. If ctx ends first the message
// may still be delivered; its packet identifier stays reserved until the
// acknowledgement or the connection's end.
func (c *Client) Publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error {
	if qos == 0 {
		return c.PublishAsync(topic, payload, 0, retain, nil)
	}
	res := make(chan error, 1)
	done := func(err error, _ time.Time) { res <- err }
	for {
		err := c.PublishAsync(topic, payload, qos, retain, done)
		if !errors.Is(err, ErrWindowFull) {
			if err != nil {
				return err
			}
			break
		}
		if err := c.waitSpace(ctx); err != nil {
			return fmt.Errorf("client: publish to %q: waiting for the inflight window: %w", topic, err)
		}
	}
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return fmt.Errorf("client: publish to %q: %w", topic, ctx.Err())
	}
}

// waitSpace waits until the inflight window has room (or the client can
// no longer publish, which the next PublishAsync reports).
func (c *Client) waitSpace(ctx context.Context) error {
	c.mu.Lock()
	if c.nOut < c.window || c.state != stateConnected {
		c.mu.Unlock()
		return nil
	}
	if c.space == nil {
		c.space = make(chan struct{})
	}
	ch := c.space
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wakeLocked releases Publish calls waiting for window room.
func (c *Client) wakeLocked() {
	if c.space != nil {
		close(c.space)
		c.space = nil
	}
}

// Subscribe sends one SUBSCRIBE with subs and waits for its SUBACK. It
// returns the granted QoS (or failure code 0x80, or level-5 reason code)
// for each subscription, in order.
func (c *Client) Subscribe(ctx context.Context, subs ...codec.Subscription) ([]byte, error) {
	if len(subs) == 0 {
		return nil, errors.New("client: Subscribe needs at least one subscription")
	}
	pd, err := c.request(ctx, codec.SUBSCRIBE, func(id uint16) codec.Packet {
		return &codec.Subscribe{PacketID: id, Filters: subs}
	})
	if err != nil {
		return nil, err
	}
	if len(pd.codes) != len(subs) {
		// MQTT-3.9.3-1: one return code per topic filter.
		return pd.codes, fmt.Errorf("%w: SUBACK has %d return codes for %d filters", ErrProtocol, len(pd.codes), len(subs))
	}
	return pd.codes, nil
}

// Unsubscribe sends one UNSUBSCRIBE for filters and waits for its
// UNSUBACK. At level 5 it returns the reason codes; before, nil.
func (c *Client) Unsubscribe(ctx context.Context, filters ...string) ([]byte, error) {
	if len(filters) == 0 {
		return nil, errors.New("client: Unsubscribe needs at least one filter")
	}
	fs := make([][]byte, len(filters))
	for i, f := range filters {
		fs[i] = []byte(f)
	}
	pd, err := c.request(ctx, codec.UNSUBSCRIBE, func(id uint16) codec.Packet {
		return &codec.Unsubscribe{PacketID: id, Filters: fs}
	})
	if err != nil {
		return nil, err
	}
	return pd.codes, nil
}

// request sends a SUBSCRIBE or UNSUBSCRIBE built by mk and waits for its
// acknowledgement.
func (c *Client) request(ctx context.Context, kind codec.Type, mk func(id uint16) codec.Packet) (*pending, error) {
	res := make(chan error, 1)
	c.mu.Lock()
	l, err := c.liveLocked()
	var id uint16
	if err == nil {
		id, err = c.allocIDLocked()
	}
	if err != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("client: %s: %w", kind, err)
	}
	c.seq++
	pd := &pending{kind: kind, state: kind, id: id, seq: c.seq, sentAt: time.Now(),
		done: func(err error, _ time.Time) { res <- err }}
	c.inflight[id] = pd
	c.mu.Unlock()
	if err := c.sendPacket(l, mk(id)); err != nil {
		return nil, fmt.Errorf("client: %s: %w", kind, err)
	}
	select {
	case err := <-res:
		if err != nil {
			return nil, fmt.Errorf("client: %s: %w", kind, err)
		}
		return pd, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("client: %s: %w", kind, ctx.Err())
	}
}

// takeInflightLocked removes and returns the entries sel picks.
func (c *Client) takeInflightLocked(sel func(*pending) bool) []*pending {
	var out []*pending
	for id, p := range c.inflight {
		if sel(p) {
			out = append(out, p)
			delete(c.inflight, id)
			if p.kind == codec.PUBLISH {
				c.nOut--
			}
		}
	}
	sortPending(out)
	return out
}

// finishLocked removes pd from the inflight set.
func (c *Client) finishLocked(pd *pending) {
	delete(c.inflight, pd.id)
	if pd.kind == codec.PUBLISH {
		c.nOut--
		c.wakeLocked()
	}
}

// complete calls the done functions of ps with err, in order.
func complete(ps []*pending, err error) {
	for _, p := range ps {
		if p.done != nil {
			p.done(err, time.Time{})
		}
	}
}

func sortPending(ps []*pending) {
	slices.SortFunc(ps, func(a, b *pending) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
}
