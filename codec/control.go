package codec

// Pingreq is the PINGREQ packet; it has no fields.
type Pingreq struct{}

// Type implements Packet.
func (*Pingreq) Type() Type { return PINGREQ }

// Append implements Packet.
func (*Pingreq) Append(dst []byte, _ Version) ([]byte, error) {
	return append(dst, byte(PINGREQ)<<4, 0), nil
}

func (*Pingreq) decode(d *Decoder, _ byte, body []byte) error {
	c := cursor{b: body, d: d}
	return c.trailing()
}

// Pingresp is the PINGRESP packet; it has no fields.
type Pingresp struct{}

// Type implements Packet.
func (*Pingresp) Type() Type { return PINGRESP }

// Append implements Packet.
func (*Pingresp) Append(dst []byte, _ Version) ([]byte, error) {
	return append(dst, byte(PINGRESP)<<4, 0), nil
}

func (*Pingresp) decode(d *Decoder, _ byte, body []byte) error {
	c := cursor{b: body, d: d}
	return c.trailing()
}

// Disconnect is the DISCONNECT packet: empty before level 5, then an
// optional reason code and properties.
type Disconnect struct {
	ReasonCode byte
	Properties Properties
}

// Type implements Packet.
func (*Disconnect) Type() Type { return DISCONNECT }

// Append implements Packet.
func (p *Disconnect) Append(dst []byte, v Version) ([]byte, error) {
	return appendReasonPacket(dst, DISCONNECT, v, 0, 0, p.ReasonCode, &p.Properties)
}

func (p *Disconnect) decode(d *Decoder, _ byte, body []byte) error {
	c := cursor{b: body, d: d}
	return decodeReasonTail(&c, DISCONNECT, &p.ReasonCode, &p.Properties)
}

// Auth is the level-5 AUTH packet.
type Auth struct {
	ReasonCode byte
	Properties Properties
}

// Type implements Packet.
func (*Auth) Type() Type { return AUTH }

// Append implements Packet.
func (p *Auth) Append(dst []byte, v Version) ([]byte, error) {
	if v != V5 {
		return dst, &Error{Kind: Malformed, Packet: AUTH, Version: v, Field: "packet type", Reason: "AUTH exists only in MQTT 5.0"}
	}
	return appendReasonPacket(dst, AUTH, v, 0, 0, p.ReasonCode, &p.Properties)
}

func (p *Auth) decode(d *Decoder, _ byte, body []byte) error {
	c := cursor{b: body, d: d}
	return decodeReasonTail(&c, AUTH, &p.ReasonCode, &p.Properties)
}
