package codec

import "strconv"

// CONNECT flag bits (MQTT 3.1.1 3.1.2.3).
const (
	connReserved     = 0x01
	connCleanSession = 0x02
	connWill         = 0x04
	connWillQoS      = 0x18
	connWillRetain   = 0x20
	connPassword     = 0x40
	connUsername     = 0x80
)

// Connect is the CONNECT packet. The protocol level it carries, not the
// Decoder's Version, decides how it is parsed; an unknown level is parsed
// with the 3.1.1 layout so that a server can answer it.
type Connect struct {
	ProtocolName  []byte
	ProtocolLevel Version
	// CleanSession is Clean Session in 3.1/3.1.1 and Clean Start in 5.0.
	CleanSession bool
	// ReservedFlag is the reserved CONNECT flag bit, which must be zero
	// (MQTT-3.1.2-3); kept so a harness can send or show it.
	ReservedFlag bool
	KeepAlive    uint16
	Properties   Properties // level 5 only
	ClientID     []byte

	WillFlag bool
	// WillQoS and WillRetain are the raw flag bits, kept even when
	// WillFlag is clear (which breaks MQTT-3.1.2-11/13/15 if they are set).
	WillQoS        byte
	WillRetain     bool
	WillProperties Properties // level 5 only
	WillTopic      []byte
	WillPayload    []byte

	UsernameFlag bool
	PasswordFlag bool
	Username     []byte
	Password     []byte
}

// Type implements Packet.
func (*Connect) Type() Type { return CONNECT }

func (p *Connect) flags() byte {
	var f byte
	if p.ReservedFlag {
		f |= connReserved
	}
	if p.CleanSession {
		f |= connCleanSession
	}
	if p.WillFlag {
		f |= connWill
	}
	f |= (p.WillQoS & 3) << 3
	if p.WillRetain {
		f |= connWillRetain
	}
	if p.PasswordFlag {
		f |= connPassword
	}
	if p.UsernameFlag {
		f |= connUsername
	}
	return f
}

// Append implements Packet. The protocol level written is p.ProtocolLevel
// (or v when that is zero); the protocol name is p.ProtocolName, or the
// level's own name when nil (a non-nil empty name is written as it is, so
// that a probe can send one).
func (p *Connect) Append(dst []byte, v Version) ([]byte, error) {
	lvl := p.ProtocolLevel
	if lvl == 0 {
		lvl = v.orDefault()
	}
	name, defName := p.ProtocolName, ""
	if name == nil {
		defName = lvl.ProtocolName()
	}
	if err := p.checkLengths(); err != nil {
		return dst, err
	}
	n := 2 + len(name) + len(defName) + 1 + 1 + 2 + 2 + len(p.ClientID)
	if lvl == V5 {
		n += p.Properties.encodedLen()
	}
	if p.WillFlag {
		if lvl == V5 {
			n += p.WillProperties.encodedLen()
		}
		n += 4 + len(p.WillTopic) + len(p.WillPayload)
	}
	if p.UsernameFlag {
		n += 2 + len(p.Username)
	}
	if p.PasswordFlag {
		n += 2 + len(p.Password)
	}
	dst, err := appendHeader(dst, CONNECT, byte(CONNECT)<<4, n)
	if err != nil {
		return dst, err
	}
	dst = appendUint16(dst, uint16(len(name)+len(defName)))
	dst = append(append(dst, name...), defName...)
	dst = append(dst, byte(lvl), p.flags())
	dst = appendUint16(dst, p.KeepAlive)
	if lvl == V5 {
		dst = p.Properties.appendTo(dst)
	}
	dst = appendString16(dst, p.ClientID)
	if p.WillFlag {
		if lvl == V5 {
			dst = p.WillProperties.appendTo(dst)
		}
		dst = appendString16(dst, p.WillTopic)
		dst = appendString16(dst, p.WillPayload)
	}
	if p.UsernameFlag {
		dst = appendString16(dst, p.Username)
	}
	if p.PasswordFlag {
		dst = appendString16(dst, p.Password)
	}
	return dst, nil
}

// checkLengths refuses strings a two-byte length cannot describe.
func (p *Connect) checkLengths() error {
	const max = 0xffff
	switch {
	case len(p.ProtocolName) > max:
		return errStringTooLong(CONNECT, "protocol name", len(p.ProtocolName))
	case len(p.ClientID) > max:
		return errStringTooLong(CONNECT, "client identifier", len(p.ClientID))
	case len(p.WillTopic) > max:
		return errStringTooLong(CONNECT, "will topic", len(p.WillTopic))
	case len(p.WillPayload) > max:
		return errStringTooLong(CONNECT, "will message", len(p.WillPayload))
	case len(p.Username) > max:
		return errStringTooLong(CONNECT, "user name", len(p.Username))
	case len(p.Password) > max:
		return errStringTooLong(CONNECT, "password", len(p.Password))
	}
	return nil
}

func (p *Connect) decode(d *Decoder, _ byte, body []byte) error {
	c := cursor{b: body, d: d}
	var err error
	if p.ProtocolName, err = c.binary16("protocol name"); err != nil {
		return err
	}
	lvl, err := c.u8("protocol level")
	if err != nil {
		return err
	}
	p.ProtocolLevel = Version(lvl)
	if lvl == 0 {
		// Append writes its version argument for a zero ProtocolLevel.
		d.noncanonical = true
	}
	// The rules cited from here on are those of the level the client asked for.
	d.curVersion = p.ProtocolLevel
	if p.ProtocolLevel != V31 && p.ProtocolLevel != V311 && p.ProtocolLevel != V5 {
		d.curVersion = V311
	}
	if string(p.ProtocolName) != d.curVersion.ProtocolName() {
		if err := d.violate("protocol name", strconv.Quote(string(p.ProtocolName))+" does not match protocol level "+strconv.Itoa(int(lvl)), ruleProtocolName); err != nil {
			return err
		}
	}
	f, err := c.u8("connect flags")
	if err != nil {
		return err
	}
	p.ReservedFlag = f&connReserved != 0
	p.CleanSession = f&connCleanSession != 0
	p.WillFlag = f&connWill != 0
	p.WillQoS = (f & connWillQoS) >> 3
	p.WillRetain = f&connWillRetain != 0
	p.PasswordFlag = f&connPassword != 0
	p.UsernameFlag = f&connUsername != 0
	if p.ReservedFlag {
		if err := d.violate("connect flags", "reserved flag bit is 1", ruleConnectReserved); err != nil {
			return err
		}
	}
	if !p.WillFlag && p.WillQoS != 0 {
		if err := d.violate("connect flags", "Will QoS set without the Will flag", ruleWillQoSNoWill); err != nil {
			return err
		}
	}
	if !p.WillFlag && p.WillRetain {
		if err := d.violate("connect flags", "Will Retain set without the Will flag", ruleWillRetainNoWill); err != nil {
			return err
		}
	}
	if p.WillFlag && p.WillQoS == 3 {
		if err := d.violate("connect flags", "Will QoS 3", ruleWillQoS3); err != nil {
			return err
		}
	}
	if p.PasswordFlag && !p.UsernameFlag && d.curVersion != V5 {
		if err := d.violate("connect flags", "Password flag set without the User Name flag", rulePasswordNoUser); err != nil {
			return err
		}
	}
	if p.KeepAlive, err = c.u16("keep alive"); err != nil {
		return err
	}
	p.Properties.Reset()
	p.WillProperties.Reset()
	if p.ProtocolLevel == V5 {
		if err := p.Properties.decode(&c, CONNECT); err != nil {
			return err
		}
	}
	if p.ClientID, err = c.str("client identifier", ruleClientIDUTF8); err != nil {
		return err
	}
	p.WillTopic, p.WillPayload, p.Username, p.Password = nil, nil, nil, nil
	if p.WillFlag {
		if p.ProtocolLevel == V5 {
			if err := p.WillProperties.decode(&c, willProps); err != nil {
				return err
			}
		}
		if p.WillTopic, err = c.str("will topic", ruleWillTopicUTF8); err != nil {
			return err
		}
		if err := d.checkTopicName("will topic", p.WillTopic); err != nil {
			return err
		}
		if p.WillPayload, err = c.binary16("will message"); err != nil {
			return err
		}
	}
	if p.UsernameFlag {
		if p.Username, err = c.str("user name", ruleUsernameUTF8); err != nil {
			return err
		}
	}
	if p.PasswordFlag {
		if p.Password, err = c.binary16("password"); err != nil {
			return err
		}
	}
	return c.trailing()
}

// Connack is the CONNACK packet.
type Connack struct {
	SessionPresent bool
	// ReservedFlags holds acknowledge-flag bits 7-1, which must be zero.
	ReservedFlags byte
	// ReturnCode is the 3.1/3.1.1 return code or the 5.0 reason code.
	ReturnCode byte
	Properties Properties // level 5 only
}

// Type implements Packet.
func (*Connack) Type() Type { return CONNACK }

// Append implements Packet.
func (p *Connack) Append(dst []byte, v Version) ([]byte, error) {
	n := 2
	if v == V5 {
		n += p.Properties.encodedLen()
	}
	dst, err := appendHeader(dst, CONNACK, byte(CONNACK)<<4, n)
	if err != nil {
		return dst, err
	}
	f := p.ReservedFlags &^ 1
	if p.SessionPresent {
		f |= 1
	}
	dst = append(dst, f, p.ReturnCode)
	if v == V5 {
		dst = p.Properties.appendTo(dst)
	}
	return dst, nil
}

func (p *Connack) decode(d *Decoder, _ byte, body []byte) error {
	c := cursor{b: body, d: d}
	f, err := c.u8("acknowledge flags")
	if err != nil {
		return err
	}
	p.SessionPresent = f&1 != 0
	p.ReservedFlags = f &^ 1
	if p.ReservedFlags != 0 && d.curVersion != V31 {
		if err := d.violate("acknowledge flags", "reserved bits 7-1 are not zero", ruleConnackFlags); err != nil {
			return err
		}
	}
	if p.ReturnCode, err = c.u8("return code"); err != nil {
		return err
	}
	p.Properties.Reset()
	if d.curVersion == V5 {
		if err := d.checkReason(CONNACK, p.ReturnCode); err != nil {
			return err
		}
		if err := p.Properties.decode(&c, CONNACK); err != nil {
			return err
		}
	}
	return c.trailing()
}

// appendHeader writes a fixed header with first byte b0 and remaining
// length n, refusing lengths a four-byte variable integer cannot hold.
func appendHeader(dst []byte, t Type, b0 byte, n int) ([]byte, error) {
	if n > MaxRemainingLength {
		return dst, &Error{Kind: Malformed, Packet: t, Field: "remaining length",
			Reason: "packet of " + strconv.Itoa(n) + " bytes is larger than MQTT allows"}
	}
	dst = append(dst, b0)
	return AppendVarInt(dst, uint32(n)), nil
}
