package codec

import "strconv"

// Subscription is one topic filter of a SUBSCRIBE with its options byte:
// the requested QoS in bits 0-1 and, at level 5, No Local, Retain As
// Published and Retain Handling (see the Opt constants).
type Subscription struct {
	Filter  []byte
	Options byte
}

// QoS returns the requested maximum QoS.
func (s Subscription) QoS() byte { return s.Options & OptQoSMask }

// NoLocal reports the level-5 No Local option.
func (s Subscription) NoLocal() bool { return s.Options&OptNoLocal != 0 }

// RetainAsPublished reports the level-5 Retain As Published option.
func (s Subscription) RetainAsPublished() bool { return s.Options&OptRetainAsPublished != 0 }

// RetainHandling returns the level-5 Retain Handling option (0, 1 or 2).
func (s Subscription) RetainHandling() byte { return (s.Options & OptRetainHandling) >> 4 }

// Subscribe is the SUBSCRIBE packet.
type Subscribe struct {
	PacketID   uint16
	Properties Properties // level 5 only
	// Filters are reused across decodes; copy what must outlive the buffer.
	Filters []Subscription
}

// Type implements Packet.
func (*Subscribe) Type() Type { return SUBSCRIBE }

// Append implements Packet.
func (p *Subscribe) Append(dst []byte, v Version) ([]byte, error) {
	n := 2
	if v == V5 {
		n += p.Properties.encodedLen()
	}
	for _, s := range p.Filters {
		if len(s.Filter) > 0xffff {
			return dst, errStringTooLong(SUBSCRIBE, "topic filter", len(s.Filter))
		}
		n += 3 + len(s.Filter)
	}
	dst, err := appendHeader(dst, SUBSCRIBE, byte(SUBSCRIBE)<<4|2, n)
	if err != nil {
		return dst, err
	}
	dst = appendUint16(dst, p.PacketID)
	if v == V5 {
		dst = p.Properties.appendTo(dst)
	}
	for _, s := range p.Filters {
		dst = appendString16(dst, s.Filter)
		dst = append(dst, s.Options)
	}
	return dst, nil
}

func (p *Subscribe) decode(d *Decoder, _ byte, body []byte) error {
	c := cursor{b: body, d: d}
	var err error
	if p.PacketID, err = c.u16("packet identifier"); err != nil {
		return err
	}
	if p.PacketID == 0 {
		if err := d.violate("packet identifier", "zero", rulePacketIDZero); err != nil {
			return err
		}
	}
	p.Properties.Reset()
	if d.curVersion == V5 {
		if err := p.Properties.decode(&c, SUBSCRIBE); err != nil {
			return err
		}
	}
	p.Filters = p.Filters[:0]
	reserved := byte(optReservedV311)
	if d.curVersion == V5 {
		reserved = optReservedV5
	}
	for c.rest() > 0 {
		f, err := c.str("topic filter", ruleFilterUTF8)
		if err != nil {
			return err
		}
		o, err := c.u8("subscription options")
		if err != nil {
			return err
		}
		if err := d.checkTopicFilter("topic filter", f); err != nil {
			return err
		}
		if o&reserved != 0 || o&OptQoSMask == 3 || (d.curVersion == V5 && o&OptRetainHandling == OptRetainHandling) {
			if err := d.violate("subscription options", "0x"+strconv.FormatUint(uint64(o), 16)+" has reserved bits set or QoS 3", ruleSubscribeOptions); err != nil {
				return err
			}
		}
		p.Filters = append(p.Filters, Subscription{Filter: f, Options: o})
	}
	if len(p.Filters) == 0 {
		return d.violate("payload", "no topic filter", ruleSubscribeEmpty)
	}
	return nil
}

// Suback is the SUBACK packet.
type Suback struct {
	PacketID   uint16
	Properties Properties // level 5 only
	// ReturnCodes holds one granted QoS or failure code per filter, in the
	// order of the SUBSCRIBE (MQTT-3.9.3-1). Decoded, it aliases the input.
	ReturnCodes []byte
}

// Type implements Packet.
func (*Suback) Type() Type { return SUBACK }

// Append implements Packet.
func (p *Suback) Append(dst []byte, v Version) ([]byte, error) {
	return appendCodesPacket(dst, SUBACK, v, p.PacketID, &p.Properties, p.ReturnCodes)
}

func appendCodesPacket(dst []byte, t Type, v Version, id uint16, props *Properties, codes []byte) ([]byte, error) {
	n := 2 + len(codes)
	if v == V5 {
		n += props.encodedLen()
	}
	dst, err := appendHeader(dst, t, byte(t)<<4, n)
	if err != nil {
		return dst, err
	}
	dst = appendUint16(dst, id)
	if v == V5 {
		dst = props.appendTo(dst)
	}
	return append(dst, codes...), nil
}

func (p *Suback) decode(d *Decoder, _ byte, body []byte) error {
	c := cursor{b: body, d: d}
	var err error
	if p.PacketID, err = c.u16("packet identifier"); err != nil {
		return err
	}
	p.Properties.Reset()
	if d.curVersion == V5 {
		if err := p.Properties.decode(&c, SUBACK); err != nil {
			return err
		}
	}
	p.ReturnCodes = body[c.off:len(body):len(body)]
	for _, rc := range p.ReturnCodes {
		if d.curVersion == V5 {
			if err := d.checkReason(SUBACK, rc); err != nil {
				return err
			}
		} else if rc > 2 && rc != SubackFailure {
			if err := d.violate("return code", "0x"+strconv.FormatUint(uint64(rc), 16)+" is not 0x00, 0x01, 0x02 or 0x80", ruleSubackCode); err != nil {
				return err
			}
		}
	}
	if len(p.ReturnCodes) == 0 {
		return d.malformed("payload", "no return code")
	}
	return nil
}

// Unsubscribe is the UNSUBSCRIBE packet.
type Unsubscribe struct {
	PacketID   uint16
	Properties Properties // level 5 only
	Filters    [][]byte
}

// Type implements Packet.
func (*Unsubscribe) Type() Type { return UNSUBSCRIBE }

// Append implements Packet.
func (p *Unsubscribe) Append(dst []byte, v Version) ([]byte, error) {
	n := 2
	if v == V5 {
		n += p.Properties.encodedLen()
	}
	for _, f := range p.Filters {
		if len(f) > 0xffff {
			return dst, errStringTooLong(UNSUBSCRIBE, "topic filter", len(f))
		}
		n += 2 + len(f)
	}
	dst, err := appendHeader(dst, UNSUBSCRIBE, byte(UNSUBSCRIBE)<<4|2, n)
	if err != nil {
		return dst, err
	}
	dst = appendUint16(dst, p.PacketID)
	if v == V5 {
		dst = p.Properties.appendTo(dst)
	}
	for _, f := range p.Filters {
		dst = appendString16(dst, f)
	}
	return dst, nil
}

func (p *Unsubscribe) decode(d *Decoder, _ byte, body []byte) error {
	c := cursor{b: body, d: d}
	var err error
	if p.PacketID, err = c.u16("packet identifier"); err != nil {
		return err
	}
	if p.PacketID == 0 {
		if err := d.violate("packet identifier", "zero", rulePacketIDZero); err != nil {
			return err
		}
	}
	p.Properties.Reset()
	if d.curVersion == V5 {
		if err := p.Properties.decode(&c, UNSUBSCRIBE); err != nil {
			return err
		}
	}
	p.Filters = p.Filters[:0]
	for c.rest() > 0 {
		f, err := c.str("topic filter", ruleUnsubFilterUTF8)
		if err != nil {
			return err
		}
		if err := d.checkTopicFilter("topic filter", f); err != nil {
			return err
		}
		p.Filters = append(p.Filters, f)
	}
	if len(p.Filters) == 0 {
		return d.violate("payload", "no topic filter", ruleUnsubscribeEmpty)
	}
	return nil
}

// Unsuback is the UNSUBACK packet. Reason codes exist at level 5 only.
type Unsuback struct {
	PacketID    uint16
	Properties  Properties // level 5 only
	ReasonCodes []byte     // level 5 only; aliases the input when decoded
}

// Type implements Packet.
func (*Unsuback) Type() Type { return UNSUBACK }

// Append implements Packet.
func (p *Unsuback) Append(dst []byte, v Version) ([]byte, error) {
	if v != V5 {
		return appendCodesPacket(dst, UNSUBACK, v, p.PacketID, nil, nil)
	}
	return appendCodesPacket(dst, UNSUBACK, v, p.PacketID, &p.Properties, p.ReasonCodes)
}

func (p *Unsuback) decode(d *Decoder, _ byte, body []byte) error {
	c := cursor{b: body, d: d}
	var err error
	if p.PacketID, err = c.u16("packet identifier"); err != nil {
		return err
	}
	p.Properties.Reset()
	p.ReasonCodes = nil
	if d.curVersion != V5 {
		return c.trailing()
	}
	if err := p.Properties.decode(&c, UNSUBACK); err != nil {
		return err
	}
	p.ReasonCodes = body[c.off:len(body):len(body)]
	for _, rc := range p.ReasonCodes {
		if err := d.checkReason(UNSUBACK, rc); err != nil {
			return err
		}
	}
	if len(p.ReasonCodes) == 0 {
		return d.malformed("payload", "no reason code")
	}
	return nil
}
