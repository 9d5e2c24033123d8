package client

import (
	"fmt"
	"io"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
)

// maxKeptBig is the largest oversized-packet buffer kept between reads;
// above it the buffer is dropped after use so that an idle connection
// does not hold on to the memory of its biggest message.
const maxKeptBig = 4 << 10

// readPacket reads the next packet. When it fits the read buffer the
// bytes alias that buffer (peeked is true and the caller must Discard
// them once done), so the common case copies nothing; a larger packet is
// copied into l.big.
func (l *link) readPacket() (h codec.FixedHeader, raw []byte, peeked bool, err error) {
	for n := 2; ; n++ {
		b, err := l.br.Peek(n)
		if err != nil {
			return h, nil, false, err
		}
		h, err = codec.ParseFixedHeader(b)
		if err == nil {
			break
		}
		if err != codec.ErrIncomplete {
			return h, nil, false, fmt.Errorf("%w: %w", ErrProtocol, err)
		}
	}
	size := h.PacketLen()
	if size > l.c.opts.MaxPacketSize {
		return h, nil, false, fmt.Errorf("%w: %s of %d bytes exceeds the maximum packet size %d: %w",
			ErrProtocol, h.Type, size, l.c.opts.MaxPacketSize, codec.ErrTooLarge)
	}
	if size <= l.br.Size() {
		raw, err = l.br.Peek(size)
		return h, raw, true, err
	}
	if cap(l.big) < size {
		l.big = make([]byte, size)
	}
	raw = l.big[:size]
	_, err = io.ReadFull(l.br, raw)
	return h, raw, false, err
}

// readLoop is the connection's only goroutine: it reads, decodes and
// handles packets until the connection ends.
func (l *link) readLoop() {
	var err error
	for {
		var h codec.FixedHeader
		var raw []byte
		var peeked bool
		h, raw, peeked, err = l.readPacket()
		if err != nil {
			break
		}
		at := time.Now()
		p, _, derr := l.dec.Decode(raw)
		if derr != nil {
			err = fmt.Errorf("%w: %w", ErrProtocol, derr)
			break
		}
		if err = l.handle(p, at); err != nil {
			break
		}
		if peeked {
			l.br.Discard(h.PacketLen())
		} else if cap(l.big) > maxKeptBig {
			l.big = nil
		}
	}
	l.lost(err)
}

// handle acts on one packet from the server.
func (l *link) handle(p codec.Packet, at time.Time) error {
	c := l.c
	switch p := p.(type) {
	case *codec.Publish:
		return l.onPublish(p, at)
	case *codec.Ack:
		return l.onAck(p, at)
	case *codec.Suback:
		l.onRequestAck(codec.SUBSCRIBE, p.PacketID, p.ReturnCodes, at)
		return nil
	case *codec.Unsuback:
		l.onRequestAck(codec.UNSUBSCRIBE, p.PacketID, p.ReasonCodes, at)
		return nil
	case *codec.Pingresp:
		c.mu.Lock()
		l.pingAt = time.Time{}
		c.mu.Unlock()
		return nil
	case *codec.Disconnect:
		if c.ver == codec.V5 {
			return &DisconnectError{Code: p.ReasonCode}
		}
	}
	// CONNACK twice, or a packet only a client sends (MQTT-4.8.0-1: close
	// on a protocol violation).
	return fmt.Errorf("%w: server sent %s", ErrProtocol, p.Type())
}

// onPublish delivers an incoming message and acknowledges it.
func (l *link) onPublish(p *codec.Publish, at time.Time) error {
	c := l.c
	deliver := true
	if p.QoS == 2 {
		// Exactly once (MQTT-4.3.3-2, method B): the identifier is held
		// until PUBREL; a PUBLISH with an identifier still held is a
		// resend of one already delivered.
		c.mu.Lock()
		if _, held := c.rx2[p.PacketID]; held {
			deliver = false
		} else {
			if c.rx2 == nil {
				c.rx2 = make(map[uint16]struct{})
			}
			c.rx2[p.PacketID] = struct{}{}
		}
		c.mu.Unlock()
	}
	if deliver && c.opts.OnMessage != nil {
		m := &l.msg
		*m = Message{Topic: p.Topic, Payload: p.Payload, QoS: p.QoS, Retain: p.Retain,
			Dup: p.Dup, PacketID: p.PacketID, ReceivedAt: at}
		if c.ver == codec.V5 {
			m.Properties = &p.Properties
		}
		c.opts.OnMessage(m)
		*m = Message{} // drop references into the read buffer
	}
	switch p.QoS {
	case 1:
		return l.sendAck(codec.PUBACK, p.PacketID)
	case 2:
		return l.sendAck(codec.PUBREC, p.PacketID)
	}
	return nil
}

// sendAck writes a PUBACK, PUBREC, PUBREL or PUBCOMP from the reader
// goroutine, encoded in the link's own small buffer.
func (l *link) sendAck(t codec.Type, id uint16) error {
	a := codec.Ack{PacketType: t, PacketID: id}
	b, err := a.Append(l.ackBuf[:0], l.c.ver)
	if err != nil {
		return fmt.Errorf("client: encode %s: %w", t, err)
	}
	return l.c.write(l, b)
}

// onAck advances the QoS flows.
func (l *link) onAck(a *codec.Ack, at time.Time) error {
	c := l.c
	id := a.PacketID
	if a.PacketType == codec.PUBREL {
		// The server releases an incoming QoS 2 message: forget the id and
		// answer PUBCOMP, even for an id we do not hold (MQTT-4.3.3-2).
		c.mu.Lock()
		delete(c.rx2, id)
		c.mu.Unlock()
		return l.sendAck(codec.PUBCOMP, id)
	}
	failed := c.ver == codec.V5 && a.ReasonCode >= 0x80
	c.mu.Lock()
	pd := c.inflight[id]
	if pd == nil || pd.kind != codec.PUBLISH {
		// A late or duplicate acknowledgement for an id we no longer
		// hold: nothing to do.
		c.mu.Unlock()
		return nil
	}
	switch {
	case a.PacketType == codec.PUBACK && pd.qos == 1,
		a.PacketType == codec.PUBCOMP && pd.qos == 2 && pd.state == codec.PUBREL,
		a.PacketType == codec.PUBREC && pd.qos == 2 && failed:
		c.finishLocked(pd)
		c.mu.Unlock()
		var err error
		if failed {
			err = &AckError{Type: a.PacketType, Code: a.ReasonCode}
		}
		if pd.done != nil {
			pd.done(err, at)
		}
		return nil
	case a.PacketType == codec.PUBREC && pd.qos == 2:
		// From now on a reconnect resends the PUBREL, not the PUBLISH.
		if pd.state != codec.PUBREL {
			pd.state = codec.PUBREL
			pd.buf, _ = (&codec.Ack{PacketType: codec.PUBREL, PacketID: id}).Append(nil, c.ver)
		}
		pd.sentAt = at
		c.mu.Unlock()
		return l.sendAck(codec.PUBREL, id)
	}
	c.mu.Unlock()
	return fmt.Errorf("%w: %s for a QoS %d message in state %s", ErrProtocol, a.PacketType, pd.qos, pd.state)
}

// onRequestAck completes a SUBSCRIBE or UNSUBSCRIBE.
func (l *link) onRequestAck(kind codec.Type, id uint16, codes []byte, at time.Time) {
	c := l.c
	c.mu.Lock()
	pd := c.inflight[id]
	if pd == nil || pd.kind != kind {
		c.mu.Unlock()
		return
	}
	c.finishLocked(pd)
	c.mu.Unlock()
	pd.codes = append([]byte(nil), codes...)
	pd.done(nil, at)
}
