package codec

import (
	"encoding/binary"
	"strconv"
)

// Publish is the PUBLISH packet.
type Publish struct {
	Dup    bool
	QoS    byte // 0, 1 or 2; 3 only when decoded leniently
	Retain bool
	Topic  []byte
	// PacketID is present on the wire only when QoS > 0 (MQTT-2.3.1-5).
	PacketID   uint16
	Properties Properties // level 5 only
	Payload    []byte
}

// Type implements Packet.
func (*Publish) Type() Type { return PUBLISH }

// Flags returns the fixed-header flag nibble: DUP, QoS, RETAIN.
func (p *Publish) Flags() byte {
	f := (p.QoS & 3) << 1
	if p.Dup {
		f |= 8
	}
	if p.Retain {
		f |= 1
	}
	return f
}

// Append implements Packet. It encodes what the fields say, even where
// that breaks a rule (a probe must be able to send a wildcard topic).
func (p *Publish) Append(dst []byte, v Version) ([]byte, error) {
	if len(p.Topic) > 0xffff {
		return dst, errStringTooLong(PUBLISH, "topic name", len(p.Topic))
	}
	n := 2 + len(p.Topic) + len(p.Payload)
	if p.QoS > 0 {
		n += 2
	}
	if v == V5 {
		n += p.Properties.encodedLen()
	}
	dst, err := appendHeader(dst, PUBLISH, byte(PUBLISH)<<4|p.Flags(), n)
	if err != nil {
		return dst, err
	}
	dst = appendString16(dst, p.Topic)
	if p.QoS > 0 {
		dst = appendUint16(dst, p.PacketID)
	}
	if v == V5 {
		dst = p.Properties.appendTo(dst)
	}
	return append(dst, p.Payload...), nil
}

// decode is the hot path of a connection: it reads the fields in place
// rather than through a cursor.
func (p *Publish) decode(d *Decoder, flags byte, body []byte) error {
	p.Dup = flags&8 != 0
	p.QoS = (flags >> 1) & 3
	p.Retain = flags&1 != 0
	if flags&6 == 6 || flags&0xe == 8 {
		if err := p.checkFlags(d); err != nil {
			return err
		}
	}
	if len(body) < 2 {
		return d.malformed("topic name", "packet ends inside this field")
	}
	off := 2 + int(binary.BigEndian.Uint16(body))
	if off > len(body) {
		return d.malformed("topic name", "length prefix runs past the end of the packet")
	}
	p.Topic = body[2:off:off]
	// Most topics are non-empty plain ASCII without wildcards: one pass
	// settles every topic rule for them.
	plain := off > 2 && plainTopic(p.Topic)
	if !plain {
		if err := d.checkString("topic name", p.Topic, ruleUTF8); err != nil {
			return err
		}
	}
	p.PacketID = 0
	if p.QoS > 0 {
		if off+2 > len(body) {
			return d.malformed("packet identifier", "packet ends inside this field")
		}
		p.PacketID = binary.BigEndian.Uint16(body[off:])
		off += 2
		if p.PacketID == 0 {
			// MQTT-2.3.1-1, MQTT-2.2.1-3/4
			if err := d.violate("packet identifier", "zero on a QoS "+strconv.Itoa(int(p.QoS))+" PUBLISH", rulePacketIDZero); err != nil {
				return err
			}
		}
	}
	if d.curVersion == V5 {
		c := cursor{b: body, off: off, d: d}
		if err := p.Properties.decode(&c, PUBLISH); err != nil {
			return err
		}
		off = c.off
	} else {
		p.Properties.Reset()
	}
	// A v5 PUBLISH may carry an empty topic with a Topic Alias.
	if !plain && !(d.curVersion == V5 && len(p.Topic) == 0 && p.Properties.Has(PropTopicAlias)) {
		if err := d.checkTopicName("topic name", p.Topic); err != nil {
			return err
		}
	}
	p.Payload = body[off:len(body):len(body)]
	return nil
}

// checkFlags reports QoS 3 (MQTT-3.3.1-4) and DUP on QoS 0 (MQTT-3.3.1-2).
func (p *Publish) checkFlags(d *Decoder) error {
	if p.QoS == 3 {
		if err := d.violate("fixed header flags", "QoS 3", ruleQoS3); err != nil {
			return err
		}
	}
	if p.QoS == 0 && p.Dup {
		return d.violate("fixed header flags", "DUP set on a QoS 0 message", ruleDupQoS0)
	}
	return nil
}

// checkTopicName applies the topic name rules: not empty (MQTT-4.7.3-1)
// and no wildcards (MQTT-3.3.2-2). UTF-8 and U+0000 were checked when the
// string was read.
func (d *Decoder) checkTopicName(field string, t []byte) error {
	if len(t) == 0 {
		return d.violate(field, "empty topic name", ruleTopicEmpty)
	}
	for _, c := range t {
		if c == '+' || c == '#' {
			return d.violate(field, "wildcard "+strconv.QuoteRune(rune(c))+" in a topic name", ruleTopicWildcard)
		}
	}
	return nil
}

// checkTopicFilter applies the topic filter rules: not empty
// (MQTT-4.7.3-1), '#' alone in the last level (3.1.1 MQTT-4.7.1-2, 5.0
// MQTT-4.7.1-1), '+' alone in its level (3.1.1 MQTT-4.7.1-3, 5.0
// MQTT-4.7.1-2).
func (d *Decoder) checkTopicFilter(field string, f []byte) error {
	if len(f) == 0 {
		return d.violate(field, "empty topic filter", ruleFilterEmpty)
	}
	for i, c := range f {
		if c != '+' && c != '#' {
			continue
		}
		whole := (i == 0 || f[i-1] == '/') && (i == len(f)-1 || f[i+1] == '/')
		switch {
		case c == '+' && !whole:
			return d.violate(field, "'+' does not occupy a whole level in "+strconv.Quote(string(f)), ruleFilterPlus)
		case c == '#' && !whole:
			return d.violate(field, "'#' does not occupy a whole level in "+strconv.Quote(string(f)), ruleFilterHash)
		case c == '#' && i != len(f)-1:
			return d.violate(field, "'#' is not the last level in "+strconv.Quote(string(f)), ruleFilterHash)
		}
	}
	return nil
}

func errStringTooLong(t Type, field string, n int) error {
	return &Error{Kind: Malformed, Packet: t, Field: field, Reason: strconv.Itoa(n) + " bytes do not fit a two-byte length"}
}
