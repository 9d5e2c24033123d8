package codec

import "strconv"

// maxPreview bounds how much of a payload a rendering shows.
const maxPreview = 32

// AppendFormat appends a compact one-line rendering of p (as carried at
// protocol level v) to dst, e.g.
//
//	PUBLISH qos=1 dup=0 retain=0 id=7 topic="a/b" payload=5B "hello"
//
// Strings are quoted with Go escapes, so invalid UTF-8 and control bytes
// stay visible in transcripts.
func AppendFormat(dst []byte, p Packet, v Version) []byte {
	dst = append(dst, p.Type().String()...)
	return p.appendFields(dst, v)
}

// Format returns the rendering AppendFormat writes.
func Format(p Packet, v Version) string { return string(AppendFormat(nil, p, v)) }

func field(dst []byte, name string) []byte {
	dst = append(dst, ' ')
	dst = append(dst, name...)
	return append(dst, '=')
}

func qstr(dst []byte, name string, b []byte) []byte {
	return strconv.AppendQuote(field(dst, name), string(b))
}

func num(dst []byte, name string, x uint64) []byte {
	return strconv.AppendUint(field(dst, name), x, 10)
}

func flag(dst []byte, name string, b bool) []byte {
	if b {
		return append(field(dst, name), '1')
	}
	return append(field(dst, name), '0')
}

func hex8(dst []byte, name string, x byte) []byte {
	return appendHex8(field(dst, name), x)
}

func appendHex8(dst []byte, x byte) []byte {
	const digits = "0123456789abcdef"
	return append(dst, '0', 'x', digits[x>>4], digits[x&15])
}

func preview(dst []byte, name string, b []byte) []byte {
	dst = strconv.AppendInt(field(dst, name), int64(len(b)), 10)
	dst = append(dst, 'B')
	if len(b) == 0 {
		return dst
	}
	dst = append(dst, ' ')
	if len(b) > maxPreview {
		dst = strconv.AppendQuote(dst, string(b[:maxPreview]))
		return append(dst, "..."...)
	}
	return strconv.AppendQuote(dst, string(b))
}

// appendProps renders properties as props{Name=value ...}.
func appendProps(dst []byte, p *Properties) []byte {
	if p.Empty() {
		return dst
	}
	dst = append(dst, " props{"...)
	first := true
	sep := func() {
		if !first {
			dst = append(dst, ' ')
		}
		first = false
	}
	for id := PropID(1); id <= maxPropID; id++ {
		info := &props[id]
		switch {
		case id == PropSubscriptionID:
			for _, s := range p.SubscriptionIDs {
				sep()
				dst = append(dst, info.name...)
				dst = strconv.AppendUint(append(dst, '='), uint64(s), 10)
			}
		case id == PropUser:
			for _, u := range p.User {
				sep()
				dst = append(dst, "User="...)
				dst = strconv.AppendQuote(dst, string(u.Key))
				dst = append(dst, ':')
				dst = strconv.AppendQuote(dst, string(u.Value))
			}
		case p.present&(1<<id) != 0:
			sep()
			dst = append(dst, info.name...)
			dst = append(dst, '=')
			switch info.kind {
			case kByte, kU16, kU32:
				dst = strconv.AppendUint(dst, uint64(p.num[info.slot]), 10)
			case kStr:
				dst = strconv.AppendQuote(dst, string(p.bin[info.slot]))
			case kBin:
				dst = strconv.AppendInt(dst, int64(len(p.bin[info.slot])), 10)
				dst = append(dst, 'B')
			}
		}
	}
	return append(dst, '}')
}

func (p *Connect) appendFields(dst []byte, _ Version) []byte {
	dst = num(dst, "level", uint64(p.ProtocolLevel))
	dst = qstr(dst, "name", p.ProtocolName)
	dst = flag(dst, "clean", p.CleanSession)
	if p.ReservedFlag {
		dst = flag(dst, "reserved", true)
	}
	dst = num(dst, "keepalive", uint64(p.KeepAlive))
	dst = qstr(dst, "id", p.ClientID)
	if p.WillFlag || p.WillQoS != 0 || p.WillRetain {
		dst = append(dst, " will{flag="...)
		dst = append(dst, "01"[b2i(p.WillFlag)])
		dst = num(dst, "qos", uint64(p.WillQoS))
		dst = flag(dst, "retain", p.WillRetain)
		if p.WillFlag {
			dst = qstr(dst, "topic", p.WillTopic)
			dst = preview(dst, "payload", p.WillPayload)
			dst = appendProps(dst, &p.WillProperties)
		}
		dst = append(dst, '}')
	}
	if p.UsernameFlag {
		dst = qstr(dst, "user", p.Username)
	}
	if p.PasswordFlag {
		dst = strconv.AppendInt(field(dst, "password"), int64(len(p.Password)), 10)
		dst = append(dst, 'B')
	}
	return appendProps(dst, &p.Properties)
}

func (p *Connack) appendFields(dst []byte, _ Version) []byte {
	dst = flag(dst, "session-present", p.SessionPresent)
	if p.ReservedFlags != 0 {
		dst = hex8(dst, "reserved", p.ReservedFlags)
	}
	dst = hex8(dst, "rc", p.ReturnCode)
	return appendProps(dst, &p.Properties)
}

func (p *Publish) appendFields(dst []byte, _ Version) []byte {
	dst = num(dst, "qos", uint64(p.QoS))
	dst = flag(dst, "dup", p.Dup)
	dst = flag(dst, "retain", p.Retain)
	if p.QoS > 0 {
		dst = num(dst, "id", uint64(p.PacketID))
	}
	dst = qstr(dst, "topic", p.Topic)
	dst = preview(dst, "payload", p.Payload)
	return appendProps(dst, &p.Properties)
}

func (p *Ack) appendFields(dst []byte, v Version) []byte {
	dst = num(dst, "id", uint64(p.PacketID))
	if v == V5 && (p.ReasonCode != 0 || !p.Properties.Empty()) {
		dst = hex8(dst, "rc", p.ReasonCode)
	}
	return appendProps(dst, &p.Properties)
}

func (p *Subscribe) appendFields(dst []byte, _ Version) []byte {
	dst = num(dst, "id", uint64(p.PacketID))
	dst = append(dst, " ["...)
	for i, s := range p.Filters {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = strconv.AppendQuote(dst, string(s.Filter))
		dst = append(dst, " qos="...)
		dst = strconv.AppendUint(dst, uint64(s.QoS()), 10)
		if s.Options&^OptQoSMask != 0 {
			dst = hex8(dst, "opts", s.Options)
		}
	}
	dst = append(dst, ']')
	return appendProps(dst, &p.Properties)
}

func appendCodes(dst []byte, codes []byte) []byte {
	dst = append(dst, " ["...)
	for i, c := range codes {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = appendHex8(dst, c)
	}
	return append(dst, ']')
}

func (p *Suback) appendFields(dst []byte, _ Version) []byte {
	dst = num(dst, "id", uint64(p.PacketID))
	dst = appendCodes(dst, p.ReturnCodes)
	return appendProps(dst, &p.Properties)
}

func (p *Unsubscribe) appendFields(dst []byte, _ Version) []byte {
	dst = num(dst, "id", uint64(p.PacketID))
	dst = append(dst, " ["...)
	for i, f := range p.Filters {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = strconv.AppendQuote(dst, string(f))
	}
	dst = append(dst, ']')
	return appendProps(dst, &p.Properties)
}

func (p *Unsuback) appendFields(dst []byte, v Version) []byte {
	dst = num(dst, "id", uint64(p.PacketID))
	if v == V5 {
		dst = appendCodes(dst, p.ReasonCodes)
	}
	return appendProps(dst, &p.Properties)
}

func (*Pingreq) appendFields(dst []byte, _ Version) []byte  { return dst }
func (*Pingresp) appendFields(dst []byte, _ Version) []byte { return dst }

func (p *Disconnect) appendFields(dst []byte, v Version) []byte {
	if v == V5 && (p.ReasonCode != 0 || !p.Properties.Empty()) {
		dst = hex8(dst, "rc", p.ReasonCode)
	}
	return appendProps(dst, &p.Properties)
}

func (p *Auth) appendFields(dst []byte, _ Version) []byte {
	dst = hex8(dst, "rc", p.ReasonCode)
	return appendProps(dst, &p.Properties)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
