package codec

import (
	"math/bits"
	"strconv"
)

// PropID identifies an MQTT 5.0 property (MQTT 5.0 section 2.2.2.2).
type PropID byte

// Property identifiers.
const (
	PropPayloadFormat        PropID = 0x01
	PropMessageExpiry        PropID = 0x02
	PropContentType          PropID = 0x03
	PropResponseTopic        PropID = 0x08
	PropCorrelationData      PropID = 0x09
	PropSubscriptionID       PropID = 0x0B
	PropSessionExpiry        PropID = 0x11
	PropAssignedClientID     PropID = 0x12
	PropServerKeepAlive      PropID = 0x13
	PropAuthMethod           PropID = 0x15
	PropAuthData             PropID = 0x16
	PropRequestProblemInfo   PropID = 0x17
	PropWillDelay            PropID = 0x18
	PropRequestResponseInfo  PropID = 0x19
	PropResponseInfo         PropID = 0x1A
	PropServerReference      PropID = 0x1C
	PropReasonString         PropID = 0x1F
	PropReceiveMaximum       PropID = 0x21
	PropTopicAliasMaximum    PropID = 0x22
	PropTopicAlias           PropID = 0x23
	PropMaximumQoS           PropID = 0x24
	PropRetainAvailable      PropID = 0x25
	PropUser                 PropID = 0x26
	PropMaximumPacketSize    PropID = 0x27
	PropWildcardSubAvailable PropID = 0x28
	PropSubIDAvailable       PropID = 0x29
	PropSharedSubAvailable   PropID = 0x2A
	maxPropID                       = 0x2A
	willProps                Type   = 0 // allowed-mask bit for Will Properties
)

type propKind uint8

const (
	kNone propKind = iota
	kByte
	kU16
	kU32
	kVar
	kStr
	kBin
	kPair
)

type propInfo struct {
	name    string
	kind    propKind
	slot    uint8  // index into num or bin
	allowed uint32 // bit (1<<Type) per packet type; bit 0 = Will Properties
	boolean bool   // value must be 0 or 1
	nonZero bool   // value 0 is a Protocol Error
}

func on(ts ...Type) uint32 {
	var m uint32
	for _, t := range ts {
		m |= 1 << t
	}
	return m
}

var acks = on(PUBACK, PUBREC, PUBREL, PUBCOMP)

var props = [maxPropID + 1]propInfo{
	PropPayloadFormat:        {"PayloadFormat", kByte, 0, on(PUBLISH, willProps), true, false},
	PropMessageExpiry:        {"MessageExpiry", kU32, 1, on(PUBLISH, willProps), false, false},
	PropContentType:          {"ContentType", kStr, 0, on(PUBLISH, willProps), false, false},
	PropResponseTopic:        {"ResponseTopic", kStr, 1, on(PUBLISH, willProps), false, false},
	PropCorrelationData:      {"CorrelationData", kBin, 2, on(PUBLISH, willProps), false, false},
	PropSubscriptionID:       {"SubscriptionID", kVar, 0, on(PUBLISH, SUBSCRIBE), false, true},
	PropSessionExpiry:        {"SessionExpiry", kU32, 2, on(CONNECT, CONNACK, DISCONNECT), false, false},
	PropAssignedClientID:     {"AssignedClientID", kStr, 3, on(CONNACK), false, false},
	PropServerKeepAlive:      {"ServerKeepAlive", kU16, 3, on(CONNACK), false, false},
	PropAuthMethod:           {"AuthMethod", kStr, 4, on(CONNECT, CONNACK, AUTH), false, false},
	PropAuthData:             {"AuthData", kBin, 5, on(CONNECT, CONNACK, AUTH), false, false},
	PropRequestProblemInfo:   {"RequestProblemInfo", kByte, 4, on(CONNECT), true, false},
	PropWillDelay:            {"WillDelay", kU32, 5, on(willProps), false, false},
	PropRequestResponseInfo:  {"RequestResponseInfo", kByte, 6, on(CONNECT), true, false},
	PropResponseInfo:         {"ResponseInfo", kStr, 6, on(CONNACK), false, false},
	PropServerReference:      {"ServerReference", kStr, 7, on(CONNACK, DISCONNECT), false, false},
	PropReasonString:         {"ReasonString", kStr, 8, on(CONNACK, SUBACK, UNSUBACK, DISCONNECT, AUTH) | acks, false, false},
	PropReceiveMaximum:       {"ReceiveMaximum", kU16, 7, on(CONNECT, CONNACK), false, true},
	PropTopicAliasMaximum:    {"TopicAliasMaximum", kU16, 8, on(CONNECT, CONNACK), false, false},
	PropTopicAlias:           {"TopicAlias", kU16, 9, on(PUBLISH), false, true},
	PropMaximumQoS:           {"MaximumQoS", kByte, 10, on(CONNACK), true, false},
	PropRetainAvailable:      {"RetainAvailable", kByte, 11, on(CONNACK), true, false},
	PropUser:                 {"User", kPair, 0, 0xffff, false, false},
	PropMaximumPacketSize:    {"MaximumPacketSize", kU32, 12, on(CONNECT, CONNACK), false, true},
	PropWildcardSubAvailable: {"WildcardSubAvailable", kByte, 13, on(CONNACK), true, false},
	PropSubIDAvailable:       {"SubIDAvailable", kByte, 14, on(CONNACK), true, false},
	PropSharedSubAvailable:   {"SharedSubAvailable", kByte, 15, on(CONNACK), true, false},
}

func (id PropID) String() string {
	if int(id) <= maxPropID && props[id].kind != kNone {
		return props[id].name
	}
	return "Property(0x" + strconv.FormatUint(uint64(id), 16) + ")"
}

// UserProperty is a name/value pair; both alias the decoded buffer.
type UserProperty struct {
	Key, Value []byte
}

// Properties holds the MQTT 5.0 properties of a packet in a compact form:
// numeric values in num, strings and binary data (aliasing the input) in
// bin, each property's presence in a bit of present. Repeatable
// properties have their own slices, whose storage is reused.
type Properties struct {
	present uint64
	num     [16]uint32
	bin     [9][]byte
	// User holds the User Properties in the order they appeared, which
	// receivers must keep (MQTT-3.3.2-18).
	User []UserProperty
	// SubscriptionIDs holds the Subscription Identifiers (a PUBLISH may
	// carry several, a SUBSCRIBE one).
	SubscriptionIDs []uint32
}

// Reset empties p, keeping the storage of its slices. Values of absent
// properties are cleared too, so that p keeps no reference to an old
// buffer.
func (p *Properties) Reset() {
	if p.present != 0 {
		p.present = 0
		p.num = [len(p.num)]uint32{}
		p.bin = [len(p.bin)][]byte{}
	}
	p.User = p.User[:0]
	p.SubscriptionIDs = p.SubscriptionIDs[:0]
}

// Empty reports whether p holds no property at all.
func (p *Properties) Empty() bool {
	return p.present == 0 && len(p.User) == 0 && len(p.SubscriptionIDs) == 0
}

// Has reports whether property id is present. For User and
// SubscriptionID it reports whether at least one is present.
func (p *Properties) Has(id PropID) bool {
	switch id {
	case PropUser:
		return len(p.User) > 0
	case PropSubscriptionID:
		return len(p.SubscriptionIDs) > 0
	}
	return int(id) <= maxPropID && p.present&(1<<id) != 0
}

// Uint returns a numeric property (byte, two-byte, four-byte integers).
func (p *Properties) Uint(id PropID) (uint32, bool) {
	if !p.Has(id) {
		return 0, false
	}
	switch props[id].kind {
	case kByte, kU16, kU32:
		return p.num[props[id].slot], true
	}
	return 0, false
}

// Bytes returns a string or binary property, aliasing the decoded buffer.
func (p *Properties) Bytes(id PropID) ([]byte, bool) {
	if !p.Has(id) {
		return nil, false
	}
	switch props[id].kind {
	case kStr, kBin:
		return p.bin[props[id].slot], true
	}
	return nil, false
}

// SetUint sets a byte, two-byte or four-byte integer property. The value
// is truncated to the property's width on encoding.
func (p *Properties) SetUint(id PropID, v uint32) {
	if int(id) > maxPropID {
		return
	}
	switch props[id].kind {
	case kByte, kU16, kU32:
		p.num[props[id].slot] = v
		p.present |= 1 << id
	}
}

// SetBytes sets a string or binary property (b is not copied).
func (p *Properties) SetBytes(id PropID, b []byte) {
	if int(id) > maxPropID {
		return
	}
	switch props[id].kind {
	case kStr, kBin:
		p.bin[props[id].slot] = b
		p.present |= 1 << id
	}
}

// Del removes a property.
func (p *Properties) Del(id PropID) {
	switch id {
	case PropUser:
		p.User = p.User[:0]
	case PropSubscriptionID:
		p.SubscriptionIDs = p.SubscriptionIDs[:0]
	default:
		if int(id) <= maxPropID {
			p.present &^= 1 << id
		}
	}
}

// AddUser appends a User Property.
func (p *Properties) AddUser(key, value []byte) {
	p.User = append(p.User, UserProperty{key, value})
}

// CopyFrom makes p a deep copy of q, so the result no longer aliases the
// buffer q was decoded from. It allocates; use it when keeping a packet.
func (p *Properties) CopyFrom(q *Properties) {
	p.present = q.present
	p.num = q.num
	for i, b := range q.bin {
		p.bin[i] = cloneBytes(b)
	}
	p.User = p.User[:0]
	for _, u := range q.User {
		p.User = append(p.User, UserProperty{cloneBytes(u.Key), cloneBytes(u.Value)})
	}
	p.SubscriptionIDs = append(p.SubscriptionIDs[:0], q.SubscriptionIDs...)
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// size is the encoded length of the properties, without the length prefix.
func (p *Properties) size() int {
	n := 0
	for m := p.present; m != 0; m &= m - 1 {
		info := &props[bits.TrailingZeros64(m)]
		switch info.kind {
		case kByte:
			n += 2
		case kU16:
			n += 3
		case kU32:
			n += 5
		case kStr, kBin:
			n += 3 + len(p.bin[info.slot])
		}
	}
	for _, s := range p.SubscriptionIDs {
		n += 1 + VarIntLen(s)
	}
	for _, u := range p.User {
		n += 5 + len(u.Key) + len(u.Value)
	}
	return n
}

// encodedLen is the length including the variable byte integer prefix.
func (p *Properties) encodedLen() int {
	s := p.size()
	return VarIntLen(uint32(s)) + s
}

// appendTo writes the length prefix and every property in ascending
// identifier order; repeatable properties keep their own order.
func (p *Properties) appendTo(dst []byte) []byte {
	dst = AppendVarInt(dst, uint32(p.size()))
	m := p.present
	if len(p.SubscriptionIDs) > 0 {
		m |= 1 << PropSubscriptionID
	}
	if len(p.User) > 0 {
		m |= 1 << PropUser
	}
	for ; m != 0; m &= m - 1 {
		id := PropID(bits.TrailingZeros64(m))
		switch id {
		case PropSubscriptionID:
			for _, s := range p.SubscriptionIDs {
				dst = append(dst, byte(id))
				dst = AppendVarInt(dst, s)
			}
			continue
		case PropUser:
			for _, u := range p.User {
				dst = append(dst, byte(id))
				dst = appendString16(dst, u.Key)
				dst = appendString16(dst, u.Value)
			}
			continue
		}
		info := &props[id]
		dst = append(dst, byte(id))
		switch info.kind {
		case kByte:
			dst = append(dst, byte(p.num[info.slot]))
		case kU16:
			dst = appendUint16(dst, uint16(p.num[info.slot]))
		case kU32:
			dst = appendUint32(dst, p.num[info.slot])
		case kStr, kBin:
			dst = appendString16(dst, p.bin[info.slot])
		}
	}
	return dst
}

// checkResponseTopic applies the topic name rules to a Response Topic: it
// holds no wildcards (MQTT-3.3.2-14).
func (d *Decoder) checkResponseTopic(t []byte) error {
	for _, c := range t {
		if c == '+' || c == '#' {
			return d.violate("property ResponseTopic", "wildcard "+strconv.QuoteRune(rune(c))+" in a Response Topic", ruleResponseTopicWildcard)
		}
	}
	return nil
}

// decode reads a property length and the properties that follow, for a
// packet of type owner (willProps for a CONNECT's Will Properties).
func (p *Properties) decode(c *cursor, owner Type) error {
	p.Reset()
	if c.off < len(c.b) && c.b[c.off] == 0 {
		c.off++ // no properties: the common case
		return nil
	}
	n, err := c.varint("property length")
	if err != nil {
		return err
	}
	if int(n) > c.rest() {
		return c.d.malformed("property length", "runs past the end of the packet")
	}
	end := c.off + int(n)
	sub := cursor{b: c.b[:end], off: c.off, d: c.d}
	last := PropID(0)
	for sub.off < end {
		var idv uint32
		if c := sub.b[sub.off]; c < 0x80 {
			idv = uint32(c) // identifiers are one byte in their shortest form
			sub.off++
		} else if idv, err = sub.varint("property identifier"); err != nil {
			return err
		}
		if idv > maxPropID || props[idv].kind == kNone {
			return c.d.malformed("property identifier", "unknown property 0x"+strconv.FormatUint(uint64(idv), 16))
		}
		id := PropID(idv)
		info := &props[id]
		if info.allowed&(1<<owner) == 0 {
			where := owner.String()
			if owner == willProps {
				where = "Will Properties"
			}
			if err := c.d.violate("property "+info.name, "not allowed in "+where, ruleProperty); err != nil {
				return err
			}
		}
		if id < last {
			c.d.noncanonical = true
		}
		last = id
		if (info.kind != kPair && id != PropSubscriptionID && p.present&(1<<id) != 0) ||
			(id == PropSubscriptionID && owner == SUBSCRIBE && len(p.SubscriptionIDs) > 0) {
			// Only User Property repeats freely; a PUBLISH may carry several
			// Subscription Identifiers, a SUBSCRIBE one.
			if err := c.d.violate("property "+info.name, "included more than once", ruleProperty); err != nil {
				return err
			}
		}
		var v uint32
		switch info.kind {
		case kByte:
			var b byte
			b, err = sub.u8(info.name)
			v = uint32(b)
		case kU16:
			var x uint16
			x, err = sub.u16(info.name)
			v = uint32(x)
		case kU32:
			v, err = sub.u32(info.name)
		case kVar:
			v, err = sub.varint(info.name)
			if err == nil {
				p.SubscriptionIDs = append(p.SubscriptionIDs, v)
			}
		case kStr:
			var b []byte
			switch id {
			case PropContentType:
				b, err = sub.str(info.name, ruleContentTypeUTF8)
			case PropResponseTopic:
				if b, err = sub.str(info.name, ruleResponseTopicUTF8); err == nil {
					err = c.d.checkResponseTopic(b)
				}
			default:
				b, err = sub.str(info.name, ruleUTF8)
			}
			p.bin[info.slot] = b
		case kBin:
			var b []byte
			b, err = sub.binary16(info.name)
			p.bin[info.slot] = b
		case kPair:
			var k, val []byte
			if k, err = sub.str("user property name", rulePairUTF8); err == nil {
				if val, err = sub.str("user property value", rulePairUTF8); err == nil {
					p.User = append(p.User, UserProperty{k, val})
				}
			}
		}
		if err != nil {
			return err
		}
		switch info.kind {
		case kByte, kU16, kU32:
			p.num[info.slot] = v
		}
		if info.kind != kPair && info.kind != kVar {
			p.present |= 1 << id
		}
		if info.boolean && v > 1 {
			if err := c.d.violate("property "+info.name, "value "+strconv.Itoa(int(v))+" where 0 or 1 is allowed", ruleProperty); err != nil {
				return err
			}
		}
		if info.nonZero && v == 0 && info.kind != kStr && info.kind != kBin && info.kind != kPair {
			r := ruleProperty
			if id == PropTopicAlias {
				r = ruleTopicAliasZero
			}
			if err := c.d.violate("property "+info.name, "value 0 is not allowed", r); err != nil {
				return err
			}
		}
	}
	c.off = end
	return nil
}
