package codec

import "strconv"

// Type is the MQTT control packet type, the high nibble of the first byte.
type Type byte

// Control packet types. AUTH exists at protocol level 5 only.
const (
	Reserved Type = iota
	CONNECT
	CONNACK
	PUBLISH
	PUBACK
	PUBREC
	PUBREL
	PUBCOMP
	SUBSCRIBE
	SUBACK
	UNSUBSCRIBE
	UNSUBACK
	PINGREQ
	PINGRESP
	DISCONNECT
	AUTH
)

var typeNames = [...]string{"RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC",
	"PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ",
	"PINGRESP", "DISCONNECT", "AUTH"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "TYPE(" + strconv.Itoa(int(t)) + ")"
}

// Version is the protocol level carried in CONNECT.
type Version byte

// Protocol levels.
const (
	V31  Version = 3 // MQTT 3.1, protocol name "MQIsdp"
	V311 Version = 4 // MQTT 3.1.1, protocol name "MQTT"
	V5   Version = 5 // MQTT 5.0, protocol name "MQTT"
)

func (v Version) String() string {
	switch v {
	case V31:
		return "3.1"
	case V311:
		return "3.1.1"
	case V5:
		return "5.0"
	}
	return "level(" + strconv.Itoa(int(v)) + ")"
}

// ProtocolName returns the protocol name a CONNECT of this level carries.
func (v Version) ProtocolName() string {
	if v == V31 {
		return "MQIsdp"
	}
	return "MQTT"
}

// orDefault treats the zero Version as 3.1.1, the level most peers speak.
func (v Version) orDefault() Version {
	if v == 0 {
		return V311
	}
	return v
}

// requiredFlags is the fixed-header flag nibble each packet type must carry
// (MQTT-2.2.2-1, MQTT-2.1.3-1). PUBLISH flags are variable and checked
// separately.
var requiredFlags = [16]byte{PUBREL: 2, SUBSCRIBE: 2, UNSUBSCRIBE: 2}

// RequiredFlags returns the fixed-header flags a packet of type t must carry.
// For PUBLISH it returns 0, as its flags are DUP, QoS and RETAIN.
func RequiredFlags(t Type) byte { return requiredFlags[t&0x0f] }

// FixedHeader is the first part of every packet.
type FixedHeader struct {
	Type            Type
	Flags           byte // low nibble of the first byte
	RemainingLength int
	// HeaderLen is the number of bytes the fixed header occupied (2 to 5).
	HeaderLen int
}

// PacketLen is the total length of the packet the header introduces.
func (h FixedHeader) PacketLen() int { return h.HeaderLen + h.RemainingLength }

// Packet is any decoded or to-be-encoded control packet.
type Packet interface {
	// Type returns the control packet type.
	Type() Type
	// Append encodes the packet for protocol level v and appends it to dst.
	Append(dst []byte, v Version) ([]byte, error)
	// decode parses the variable header and payload of the packet.
	decode(d *Decoder, flags byte, body []byte) error
	// appendFields renders the packet's fields for humans.
	appendFields(dst []byte, v Version) []byte
}

// Subscription options bits (MQTT 5.0 3.8.3.1); in 3.1.1 only the QoS bits
// exist and the rest are reserved.
const (
	OptQoSMask           = 0x03
	OptNoLocal           = 0x04
	OptRetainAsPublished = 0x08
	OptRetainHandling    = 0x30
	optReservedV5        = 0xc0
	optReservedV311      = 0xfc
)

// CONNACK return codes of MQTT 3.1 and 3.1.1.
const (
	ConnAccepted              byte = 0x00
	ConnRefusedVersion        byte = 0x01
	ConnRefusedIdentifier     byte = 0x02
	ConnRefusedUnavailable    byte = 0x03
	ConnRefusedBadCredentials byte = 0x04
	ConnRefusedNotAuthorized  byte = 0x05
)

// SubackFailure is the SUBACK return code for a refused subscription
// (3.1.1 and, as "Unspecified error", 5.0).
const SubackFailure byte = 0x80

// MaxRemainingLength is the largest value a four-byte Remaining Length holds.
const MaxRemainingLength = 268_435_455
