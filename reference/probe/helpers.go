package probe

import (
	"context"
	"fmt"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
)

// The helpers below are for a spec's setup steps (connect, subscribe,
// publish), where the spec wants the common case and a clear error, not
// for the step under test, which should use Send and Expect directly.

// NextID returns a packet identifier the helpers have not handed out
// recently (1..65535, skipping 0), so setup packets do not collide.
func (c *Conn) NextID() uint16 {
	for {
		if id := uint16(c.ids.Add(1)); id != 0 {
			return id
		}
	}
}

// Connect sends p and waits up to d for the CONNACK. A refusal returns
// the CONNACK with an error wrapping ErrRefused. The Conn's version is
// not changed: set Options.Version to match p.ProtocolLevel.
func (c *Conn) Connect(ctx context.Context, p *codec.Connect, d time.Duration) (*codec.Connack, error) {
	if err := c.Send(p); err != nil {
		return nil, err
	}
	r, err := c.ExpectType(ctx, codec.CONNACK, d)
	if err != nil {
		return nil, err
	}
	ack := r.Packet.(*codec.Connack)
	if ack.ReturnCode != 0 {
		return ack, fmt.Errorf("probe: %s: CONNACK code 0x%02x: %w", c.label, ack.ReturnCode, ErrRefused)
	}
	return ack, nil
}

// Subscribe sends a SUBSCRIBE for subs with a fresh packet identifier and
// waits up to d for the SUBACK carrying it. Messages that arrive first (a
// retained message may precede the SUBACK) stay queued.
func (c *Conn) Subscribe(ctx context.Context, d time.Duration, subs ...codec.Subscription) (*codec.Suback, error) {
	id := c.NextID()
	if err := c.Send(&codec.Subscribe{PacketID: id, Filters: subs}); err != nil {
		return nil, err
	}
	r, err := c.Expect(ctx, d, fmt.Sprintf("SUBACK id=%d", id), IsAck(codec.SUBACK, id))
	if err != nil {
		return nil, err
	}
	return r.Packet.(*codec.Suback), nil
}

// Unsubscribe sends an UNSUBSCRIBE for filters with a fresh packet
// identifier and waits up to d for the UNSUBACK carrying it.
func (c *Conn) Unsubscribe(ctx context.Context, d time.Duration, filters ...string) (*codec.Unsuback, error) {
	id := c.NextID()
	fs := make([][]byte, len(filters))
	for i, f := range filters {
		fs[i] = []byte(f)
	}
	if err := c.Send(&codec.Unsubscribe{PacketID: id, Filters: fs}); err != nil {
		return nil, err
	}
	r, err := c.Expect(ctx, d, fmt.Sprintf("UNSUBACK id=%d", id), IsAck(codec.UNSUBACK, id))
	if err != nil {
		return nil, err
	}
	return r.Packet.(*codec.Unsuback), nil
}

// Publish sends p and completes its QoS flow, each step within d: nothing
// more for QoS 0 (returns nil, nil), PUBACK for QoS 1, PUBREC then PUBREL
// then PUBCOMP for QoS 2. It returns the last acknowledgement. A zero
// PacketID on QoS > 0 is replaced by a fresh one; p itself is not
// modified.
func (c *Conn) Publish(ctx context.Context, p *codec.Publish, d time.Duration) (*codec.Ack, error) {
	q := *p
	if q.QoS > 0 && q.PacketID == 0 {
		q.PacketID = c.NextID()
	}
	if err := c.Send(&q); err != nil {
		return nil, err
	}
	switch q.QoS {
	case 0:
		return nil, nil
	case 1:
		return c.expectAck(ctx, codec.PUBACK, q.PacketID, d)
	}
	if _, err := c.expectAck(ctx, codec.PUBREC, q.PacketID, d); err != nil {
		return nil, err
	}
	if err := c.Send(&codec.Ack{PacketType: codec.PUBREL, PacketID: q.PacketID}); err != nil {
		return nil, err
	}
	return c.expectAck(ctx, codec.PUBCOMP, q.PacketID, d)
}

func (c *Conn) expectAck(ctx context.Context, t codec.Type, id uint16, d time.Duration) (*codec.Ack, error) {
	r, err := c.Expect(ctx, d, fmt.Sprintf("%s id=%d", t, id), IsAck(t, id))
	if err != nil {
		return nil, err
	}
	return r.Packet.(*codec.Ack), nil
}

// Ping sends PINGREQ and waits up to d for a PINGRESP.
func (c *Conn) Ping(ctx context.Context, d time.Duration) error {
	if err := c.Send(&codec.Pingreq{}); err != nil {
		return err
	}
	_, err := c.ExpectType(ctx, codec.PINGRESP, d)
	return err
}
