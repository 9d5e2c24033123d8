package codec

import "strconv"

// Ack is PUBACK, PUBREC, PUBREL or PUBCOMP: a packet identifier and, at
// level 5, a reason code and properties.
type Ack struct {
	PacketType Type // PUBACK, PUBREC, PUBREL or PUBCOMP
	PacketID   uint16
	ReasonCode byte       // level 5 only
	Properties Properties // level 5 only
}

// Type implements Packet.
func (p *Ack) Type() Type { return p.PacketType }

// Append implements Packet. At level 5 the reason code and properties are
// left out when they are 0x00 and empty, as MQTT 5.0 3.4.2.1 allows.
func (p *Ack) Append(dst []byte, v Version) ([]byte, error) {
	t := p.PacketType
	if t < PUBACK || t > PUBCOMP {
		return dst, &Error{Kind: Malformed, Packet: t, Field: "packet type", Reason: "Ack must be PUBACK, PUBREC, PUBREL or PUBCOMP"}
	}
	return appendReasonPacket(dst, t, v, 2, p.PacketID, p.ReasonCode, &p.Properties)
}

// appendReasonPacket encodes the packets made of an optional packet
// identifier (idLen 2 or 0), then at level 5 a reason code and properties
// that may be left out while they are 0x00 and empty.
func appendReasonPacket(dst []byte, t Type, v Version, idLen int, id uint16, reason byte, props *Properties) ([]byte, error) {
	n := idLen
	if v == V5 {
		switch {
		case !props.Empty():
			n += 1 + props.encodedLen()
		case reason != 0:
			n++
		}
	}
	dst, err := appendHeader(dst, t, byte(t)<<4|requiredFlags[t], n)
	if err != nil {
		return dst, err
	}
	if idLen == 2 {
		dst = appendUint16(dst, id)
	}
	if n > idLen {
		dst = append(dst, reason)
		if !props.Empty() {
			dst = props.appendTo(dst)
		}
	}
	return dst, nil
}

func (p *Ack) decode(d *Decoder, _ byte, body []byte) error {
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
	return decodeReasonTail(&c, p.PacketType, &p.ReasonCode, &p.Properties)
}

// decodeReasonTail reads the optional level-5 reason code and properties
// that close PUBACK..PUBCOMP, DISCONNECT and AUTH, noting the forms the
// encoder would write differently.
func decodeReasonTail(c *cursor, t Type, reason *byte, props *Properties) error {
	*reason = 0
	props.Reset()
	d := c.d
	if d.curVersion != V5 {
		return c.trailing()
	}
	if c.rest() == 0 {
		return nil
	}
	var err error
	if *reason, err = c.u8("reason code"); err != nil {
		return err
	}
	if err := d.checkReason(t, *reason); err != nil {
		return err
	}
	if c.rest() == 0 {
		if *reason == 0 {
			d.noncanonical = true
		}
		return nil
	}
	if err := props.decode(c, t); err != nil {
		return err
	}
	if props.Empty() {
		d.noncanonical = true
	}
	return c.trailing()
}

// Reason codes defined for each packet type at level 5.
var validReasons = [16]string{
	CONNACK:    "\x00\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8c\x90\x95\x97\x99\x9a\x9b\x9c\x9d\x9f",
	PUBACK:     "\x00\x10\x80\x83\x87\x90\x91\x97\x99",
	PUBREC:     "\x00\x10\x80\x83\x87\x90\x91\x97\x99",
	PUBREL:     "\x00\x92",
	PUBCOMP:    "\x00\x92",
	SUBACK:     "\x00\x01\x02\x80\x83\x87\x8f\x91\x97\x9e\xa1\xa2",
	UNSUBACK:   "\x00\x11\x80\x83\x87\x8f\x91",
	DISCONNECT: "\x00\x04\x80\x81\x82\x83\x87\x89\x8b\x8d\x8e\x8f\x90\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f\xa0\xa1\xa2",
	AUTH:       "\x00\x18\x19",
}

var reasonRules = [16]rule{
	CONNACK: ruleReasonConnack, PUBACK: ruleReasonPuback, PUBREC: ruleReasonPubrec,
	PUBREL: ruleReasonPubrel, PUBCOMP: ruleReasonPubcomp, SUBACK: ruleSubackCode,
	UNSUBACK: ruleReasonUnsuback, DISCONNECT: ruleReasonDisconnect, AUTH: ruleReasonAuth,
}

// ValidReason reports whether code is a defined level-5 reason code for
// packet type t.
func ValidReason(t Type, code byte) bool {
	codes := validReasons[t&0x0f]
	for i := 0; i < len(codes); i++ {
		if codes[i] == code {
			return true
		}
	}
	return false
}

func (d *Decoder) checkReason(t Type, code byte) error {
	if ValidReason(t, code) {
		return nil
	}
	return d.violate("reason code", "0x"+strconv.FormatUint(uint64(code), 16)+" is not defined for "+t.String(), reasonRules[t])
}
