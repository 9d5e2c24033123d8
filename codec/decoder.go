package codec

import "strconv"

// Decoder decodes packets into values it owns and reuses, so that a
// connection's read loop allocates nothing per packet. A Decoder is not
// safe for concurrent use; give each connection its own.
type Decoder struct {
	// Version is the protocol level used for every packet but CONNECT,
	// which carries its own. Zero means 3.1.1. A server sets it from the
	// CONNECT it accepted; a client from the CONNECT it sent.
	Version Version
	// Strict makes the first broken rule an error. When false (lenient),
	// broken rules are collected in Violations and decoding goes on.
	Strict bool
	// MaxPacketSize, when non-zero, rejects packets whose total size
	// exceeds it before reading their body.
	MaxPacketSize int
	// Violations holds the rules the last decoded packet broke (lenient
	// mode only). It is reset by every Decode call.
	Violations []Error

	cur          Type
	curVersion   Version
	noncanonical bool

	connect     *Connect
	connack     *Connack
	publish     *Publish
	ack         *Ack
	subscribe   *Subscribe
	suback      *Suback
	unsubscribe *Unsubscribe
	unsuback    *Unsuback
	pingreq     Pingreq
	pingresp    Pingresp
	disconnect  *Disconnect
	auth        *Auth
}

// Canonical reports whether the last decoded packet would re-encode to the
// same bytes. It is false where the input used a legal but different form
// than the encoder writes (e.g. properties in another order, an explicit
// success reason code the encoder omits) or broke a rule in lenient mode.
func (d *Decoder) Canonical() bool { return !d.noncanonical }

// ParseFixedHeader parses the fixed header at the start of b. It returns
// ErrIncomplete if b ends inside the header.
func ParseFixedHeader(b []byte) (FixedHeader, error) {
	if len(b) < 2 {
		return FixedHeader{}, ErrIncomplete
	}
	if b[1] < 0x80 {
		return FixedHeader{Type: Type(b[0] >> 4), Flags: b[0] & 0x0f, RemainingLength: int(b[1]), HeaderLen: 2}, nil
	}
	if len(b) > 2 && b[2]-1 < 0x7f { // a two-byte length in its shortest form
		return FixedHeader{Type: Type(b[0] >> 4), Flags: b[0] & 0x0f, RemainingLength: int(b[1]&0x7f) | int(b[2])<<7, HeaderLen: 3}, nil
	}
	x, n, st := readVarInt(b[1:])
	h := FixedHeader{Type: Type(b[0] >> 4), Flags: b[0] & 0x0f}
	switch st {
	case varShort:
		return h, ErrIncomplete
	case varTooLong:
		return h, &Error{Kind: Malformed, Packet: h.Type, Field: "remaining length",
			Reason: "variable byte integer longer than 4 bytes"}
	case varOverlong:
		// Reported by the Decoder, which knows the version and mode.
	}
	h.RemainingLength = int(x)
	h.HeaderLen = 1 + n
	return h, nil
}

// Decode decodes the first packet in b and returns it with the number of
// bytes it used. The packet's byte fields alias b. It returns ErrIncomplete
// if b does not yet hold the whole packet.
func (d *Decoder) Decode(b []byte) (Packet, int, error) {
	d.Violations = d.Violations[:0]
	var h FixedHeader
	var err error
	if len(b) >= 2 && b[1] < 0x80 {
		h = FixedHeader{Type: Type(b[0] >> 4), Flags: b[0] & 0x0f, RemainingLength: int(b[1]), HeaderLen: 2}
	} else {
		h, err = ParseFixedHeader(b)
	}
	if err != nil {
		if e, ok := err.(*Error); ok {
			// A fifth length byte: the level is the decoder's, and a
			// four-byte form holds every value (MQTT-1.5.5-1 at 5.0).
			e.Version = d.Version.orDefault()
			e.Rules = ruleVarIntMinimal.ids(e.Version)
		}
		return nil, 0, err
	}
	if d.MaxPacketSize > 0 && h.PacketLen() > d.MaxPacketSize {
		return nil, 0, d.tooLarge(h)
	}
	if len(b) < h.PacketLen() {
		return nil, 0, ErrIncomplete
	}
	if h.Type == PUBLISH && d.publish != nil && b[h.HeaderLen-1] != 0 {
		// The hot path, without the DecodeBody call (a zero last length
		// byte, handled below, is an overlong length or an empty packet).
		d.noncanonical = false
		d.cur = PUBLISH
		d.curVersion = d.Version.orDefault()
		if err := d.publish.decode(d, h.Flags, b[h.HeaderLen:h.PacketLen()]); err != nil {
			return nil, h.PacketLen(), err
		}
		return d.publish, h.PacketLen(), nil
	}
	p, err := d.DecodeBody(h, b[h.HeaderLen:h.PacketLen()])
	if err != nil {
		return nil, h.PacketLen(), err
	}
	if h.HeaderLen > 2 && b[h.HeaderLen-1] == 0 {
		// A last length byte of zero adds nothing: a shorter form existed.
		d.noncanonical = true
		if err := d.violate("remaining length", "variable byte integer not in its shortest form", ruleVarIntMinimal); err != nil {
			return nil, h.PacketLen(), err
		}
	}
	return p, h.PacketLen(), nil
}

func (d *Decoder) tooLarge(h FixedHeader) error {
	return &Error{Kind: Malformed, Packet: h.Type, Version: d.Version.orDefault(), Field: "remaining length",
		Reason: "packet of " + strconv.Itoa(h.PacketLen()) + " bytes exceeds the maximum of " + strconv.Itoa(d.MaxPacketSize)}
}

// DecodeBody decodes a packet whose fixed header is h and whose variable
// header and payload are body (len(body) == h.RemainingLength).
func (d *Decoder) DecodeBody(h FixedHeader, body []byte) (Packet, error) {
	d.Violations = d.Violations[:0]
	d.noncanonical = false
	d.cur = h.Type
	d.curVersion = d.Version.orDefault()
	if h.Type == PUBLISH && d.publish != nil {
		// The hot path: no flags to check, the value exists.
		if err := d.publish.decode(d, h.Flags, body); err != nil {
			return nil, err
		}
		return d.publish, nil
	}
	var p Packet
	switch h.Type {
	case CONNECT:
		if d.connect == nil {
			d.connect = new(Connect)
		}
		p = d.connect
	case CONNACK:
		if d.connack == nil {
			d.connack = new(Connack)
		}
		p = d.connack
	case PUBLISH:
		if d.publish == nil {
			d.publish = new(Publish)
		}
		p = d.publish
	case PUBACK, PUBREC, PUBREL, PUBCOMP:
		if d.ack == nil {
			d.ack = new(Ack)
		}
		d.ack.PacketType = h.Type
		p = d.ack
	case SUBSCRIBE:
		if d.subscribe == nil {
			d.subscribe = new(Subscribe)
		}
		p = d.subscribe
	case SUBACK:
		if d.suback == nil {
			d.suback = new(Suback)
		}
		p = d.suback
	case UNSUBSCRIBE:
		if d.unsubscribe == nil {
			d.unsubscribe = new(Unsubscribe)
		}
		p = d.unsubscribe
	case UNSUBACK:
		if d.unsuback == nil {
			d.unsuback = new(Unsuback)
		}
		p = d.unsuback
	case PINGREQ:
		p = &d.pingreq
	case PINGRESP:
		p = &d.pingresp
	case DISCONNECT:
		if d.disconnect == nil {
			d.disconnect = new(Disconnect)
		}
		p = d.disconnect
	case AUTH:
		if d.curVersion != V5 {
			return nil, d.malformed("packet type", "AUTH exists only in MQTT 5.0")
		}
		if d.auth == nil {
			d.auth = new(Auth)
		}
		p = d.auth
	default:
		return nil, d.malformed("packet type", "reserved packet type 0")
	}
	if h.Type != PUBLISH && h.Flags != requiredFlags[h.Type] {
		// The encoder writes the required flags, so other flags never
		// re-encode to the same bytes. MQTT 3.1 let DUP/QoS bits vary on
		// several packets; 3.1.1 and 5.0 fix them (MQTT-2.2.2-1,
		// MQTT-2.1.3-1).
		d.noncanonical = true
	}
	if h.Type != PUBLISH && h.Flags != requiredFlags[h.Type] && d.curVersion != V31 {
		if err := d.violate("fixed header flags", "flags 0x"+strconv.FormatUint(uint64(h.Flags), 16)+
			" where 0x"+strconv.FormatUint(uint64(requiredFlags[h.Type]), 16)+" is required", flagRule(h.Type)); err != nil {
			return nil, err
		}
	}
	if err := p.decode(d, h.Flags, body); err != nil {
		return nil, err
	}
	return p, nil
}

func flagRule(t Type) rule {
	switch t {
	case PUBREL:
		return rulePubrelFlags
	case SUBSCRIBE:
		return ruleSubscribeFlags
	case UNSUBSCRIBE:
		return ruleUnsubscribeFlags
	case DISCONNECT:
		return ruleDisconnectFlags
	case AUTH:
		return ruleAuthFlags
	}
	return ruleReservedFlags
}

// violate records a broken rule. In strict mode it returns the error; in
// lenient mode it stores it in Violations and returns nil.
func (d *Decoder) violate(field, reason string, r rule) error {
	e := Error{Kind: Violation, Packet: d.cur, Version: d.curVersion, Field: field, Reason: reason, Rules: r.ids(d.curVersion)}
	if d.Strict {
		return &e
	}
	d.noncanonical = true
	d.Violations = append(d.Violations, e)
	return nil
}

func (d *Decoder) malformed(field, reason string) error {
	return &Error{Kind: Malformed, Packet: d.cur, Version: d.curVersion, Field: field, Reason: reason}
}

func (d *Decoder) malformedRule(field, reason string, r rule) error {
	return &Error{Kind: Malformed, Packet: d.cur, Version: d.curVersion, Field: field, Reason: reason, Rules: r.ids(d.curVersion)}
}

// trailing rejects bytes left after the last field of a packet.
func (c *cursor) trailing() error {
	if c.off != len(c.b) {
		return c.d.malformed("remaining length", strconv.Itoa(len(c.b)-c.off)+" bytes left after the last field")
	}
	return nil
}
