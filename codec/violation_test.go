package codec

import (
	"errors"
	"strings"
	"testing"
)

// bad is a packet that is malformed or breaks a rule, named for what it
// does wrong. Violations also say what a lenient Decoder makes of them.
type bad struct {
	name string
	v    Version
	raw  []byte
	kind Kind
	// rules are the statement IDs the *Error must carry; nil means the
	// rule has no ID and the error must carry none.
	rules []string
	// lenient is what a lenient Decoder returns for a Violation (nil to
	// skip the field check).
	lenient Packet
}

// Rule IDs of MQTT 3.1.1 (levels 3 and 4) and MQTT 5.0 (level 5).
func ids(s ...string) []string { return s }

var badV311 = []bad{
	// Fixed header flags (MQTT-2.2.2-1, -2 and each packet's own rule).
	{name: "pubrel/flags-0000", raw: []byte{
		0x60, 2, // PUBREL with flags 0000 instead of 0010
		0, 1, // packet identifier 1
	}, kind: Violation, rules: ids("MQTT-3.6.1-1", "MQTT-2.2.2-1", "MQTT-2.2.2-2"), lenient: &Ack{PacketType: PUBREL, PacketID: 1}},
	{name: "subscribe/flags-0000", raw: []byte{
		0x80, 6, // SUBSCRIBE with flags 0000
		0, 1, // packet identifier
		0, 1, 'a', 0, // filter "a" QoS 0
	}, kind: Violation, rules: ids("MQTT-3.8.1-1", "MQTT-2.2.2-1"), lenient: &Subscribe{PacketID: 1, Filters: []Subscription{{b("a"), 0}}}},
	{name: "unsubscribe/flags-0011", raw: []byte{
		0xa3, 5, // UNSUBSCRIBE with flags 0011
		0, 1, // packet identifier
		0, 1, 'a', // filter "a"
	}, kind: Violation, rules: ids("MQTT-3.10.1-1", "MQTT-2.2.2-1"), lenient: &Unsubscribe{PacketID: 1, Filters: [][]byte{b("a")}}},
	{name: "pingreq/flags-0001", raw: []byte{0xc1, 0}, kind: Violation, rules: ids("MQTT-2.2.2-1", "MQTT-2.2.2-2"), lenient: &Pingreq{}},
	{name: "disconnect/flags-0010", raw: []byte{0xe2, 0}, kind: Violation, rules: ids("MQTT-3.14.1-1", "MQTT-2.2.2-1"), lenient: &Disconnect{}},
	{name: "puback/flags-1000", raw: []byte{0x48, 2, 0, 1}, kind: Violation, rules: ids("MQTT-2.2.2-1"), lenient: &Ack{PacketType: PUBACK, PacketID: 1}},
	{name: "connack/flags-0001", raw: []byte{0x21, 2, 0, 0}, kind: Violation, rules: ids("MQTT-2.2.2-1"), lenient: &Connack{}},

	// PUBLISH.
	{name: "publish/qos3", raw: []byte{
		0x36, 5, // PUBLISH with QoS bits 11
		0, 1, 't', // topic "t"
		0, 1, // packet identifier 1
	}, kind: Violation, rules: ids("MQTT-3.3.1-4"), lenient: &Publish{QoS: 3, Topic: b("t"), PacketID: 1}},
	{name: "publish/dup-on-qos0", raw: []byte{
		0x38, 3, // PUBLISH DUP, QoS 0
		0, 1, 't', // topic "t"
	}, kind: Violation, rules: ids("MQTT-3.3.1-2"), lenient: &Publish{Dup: true, Topic: b("t")}},
	{name: "publish/topic-wildcard-plus", raw: []byte{
		0x30, 5, // PUBLISH QoS 0
		0, 3, 'a', '/', '+', // topic "a/+"
	}, kind: Violation, rules: ids("MQTT-3.3.2-2", "MQTT-4.7.1-1"), lenient: &Publish{Topic: b("a/+")}},
	{name: "publish/topic-wildcard-hash", raw: []byte{
		0x30, 4, // PUBLISH QoS 0
		0, 1, '#', // topic "#"
		'p', // payload
	}, kind: Violation, rules: ids("MQTT-3.3.2-2"), lenient: &Publish{Topic: b("#"), Payload: b("p")}},
	{name: "publish/topic-empty", raw: []byte{
		0x30, 2, // PUBLISH QoS 0
		0, 0, // topic ""
	}, kind: Violation, rules: ids("MQTT-4.7.3-1"), lenient: &Publish{Topic: b("")}},
	{name: "publish/topic-invalid-utf8", raw: []byte{
		0x30, 4, // PUBLISH QoS 0
		0, 2, 0xc3, 0x28, // topic: 0xc3 starts a two-byte sequence, 0x28 cannot continue it
	}, kind: Violation, rules: ids("MQTT-1.5.3-1"), lenient: &Publish{Topic: []byte{0xc3, 0x28}}},
	{name: "publish/topic-utf8-surrogate", raw: []byte{
		0x30, 5, // PUBLISH QoS 0
		0, 3, 0xed, 0xa0, 0x80, // topic: U+D800, a surrogate
	}, kind: Violation, rules: ids("MQTT-1.5.3-1"), lenient: &Publish{Topic: []byte{0xed, 0xa0, 0x80}}},
	{name: "publish/topic-utf8-overlong", raw: []byte{
		0x30, 4, // PUBLISH QoS 0
		0, 2, 0xc0, 0xaf, // topic: '/' in an overlong two-byte form
	}, kind: Violation, rules: ids("MQTT-1.5.3-1")},
	{name: "publish/topic-null", raw: []byte{
		0x30, 5, // PUBLISH QoS 0
		0, 3, 'a', 0, 'b', // topic "a\x00b"
	}, kind: Violation, rules: ids("MQTT-1.5.3-2"), lenient: &Publish{Topic: b("a\x00b")}},
	{name: "publish/utf8-then-null", raw: []byte{
		0x30, 6, // PUBLISH QoS 0
		0, 4, 0xc3, 0xa9, 0, 'b', // topic "\u00e9\x00b": the null comes after a multi-byte rune
	}, kind: Violation, rules: ids("MQTT-1.5.3-2")},
	{name: "publish/packet-id-zero", raw: []byte{
		0x32, 5, // PUBLISH QoS 1
		0, 1, 't', // topic "t"
		0, 0, // packet identifier 0
	}, kind: Violation, rules: ids("MQTT-2.3.1-1"), lenient: &Publish{QoS: 1, Topic: b("t")}},

	// CONNECT.
	{name: "connect/reserved-flag", raw: []byte{
		0x10, 14, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 4, // protocol name, level 4
		0x03,  // flags: clean session + reserved bit 0
		0, 60, // keep alive
		0, 2, 'c', '1', // client identifier
	}, kind: Violation, rules: ids("MQTT-3.1.2-3"),
		lenient: &Connect{ProtocolName: b("MQTT"), ProtocolLevel: V311, CleanSession: true, ReservedFlag: true, KeepAlive: 60, ClientID: b("c1")}},
	{name: "connect/will-qos3", raw: []byte{
		0x10, 20, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 4, // protocol name, level 4
		0x1e,  // flags: will QoS 3 (0x18), will, clean session
		0, 60, // keep alive
		0, 2, 'c', '1', // client identifier
		0, 1, 'w', // will topic
		0, 1, 'm', // will message
	}, kind: Violation, rules: ids("MQTT-3.1.2-14"),
		lenient: &Connect{ProtocolName: b("MQTT"), ProtocolLevel: V311, CleanSession: true, KeepAlive: 60, ClientID: b("c1"),
			WillFlag: true, WillQoS: 3, WillTopic: b("w"), WillPayload: b("m")}},
	{name: "connect/will-qos-without-will", raw: []byte{
		0x10, 14, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 4, // protocol name, level 4
		0x0a,  // flags: will QoS 1, no will flag, clean session
		0, 60, // keep alive
		0, 2, 'c', '1', // client identifier
	}, kind: Violation, rules: ids("MQTT-3.1.2-13", "MQTT-3.1.2-11"),
		lenient: &Connect{ProtocolName: b("MQTT"), ProtocolLevel: V311, CleanSession: true, KeepAlive: 60, ClientID: b("c1"), WillQoS: 1}},
	{name: "connect/will-qos3-without-will", raw: []byte{
		0x10, 14, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 4, // protocol name, level 4
		0x18, // flags: will QoS 3, no will flag
		0, 0, // keep alive
		0, 2, 'c', '1', // client identifier
	}, kind: Violation, rules: ids("MQTT-3.1.2-13")},
	{name: "connect/will-retain-without-will", raw: []byte{
		0x10, 14, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 4, // protocol name, level 4
		0x22,  // flags: will retain, no will flag, clean session
		0, 60, // keep alive
		0, 2, 'c', '1', // client identifier
	}, kind: Violation, rules: ids("MQTT-3.1.2-15", "MQTT-3.1.2-11"),
		lenient: &Connect{ProtocolName: b("MQTT"), ProtocolLevel: V311, CleanSession: true, KeepAlive: 60, ClientID: b("c1"), WillRetain: true}},
	{name: "connect/password-without-user", raw: []byte{
		0x10, 17, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 4, // protocol name, level 4
		0x42,  // flags: password, clean session
		0, 60, // keep alive
		0, 2, 'c', '1', // client identifier
		0, 1, 'p', // password
	}, kind: Violation, rules: ids("MQTT-3.1.2-22"),
		lenient: &Connect{ProtocolName: b("MQTT"), ProtocolLevel: V311, CleanSession: true, KeepAlive: 60, ClientID: b("c1"), PasswordFlag: true, Password: b("p")}},
	{name: "connect/protocol-name-wrong", raw: []byte{
		0x10, 14, // CONNECT
		0, 4, 'M', 'Q', 'T', 'X', 4, // protocol name "MQTX", level 4
		0x02, 0, 60, // flags, keep alive
		0, 2, 'c', '1', // client identifier
	}, kind: Violation, rules: ids("MQTT-3.1.2-1"),
		lenient: &Connect{ProtocolName: b("MQTX"), ProtocolLevel: V311, CleanSession: true, KeepAlive: 60, ClientID: b("c1")}},
	{name: "connect/protocol-name-mqisdp-at-level-4", raw: []byte{
		0x10, 16, // CONNECT
		0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 4, // the 3.1 name with level 4
		0x02, 0, 60, // flags, keep alive
		0, 2, 'c', '1', // client identifier
	}, kind: Violation, rules: ids("MQTT-3.1.2-1")},
	{name: "connect/client-id-invalid-utf8", raw: []byte{
		0x10, 13, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 4, // protocol name, level 4
		0x02, 0, 60, // flags, keep alive
		0, 1, 0xff, // client identifier: 0xff never occurs in UTF-8
	}, kind: Violation, rules: ids("MQTT-3.1.3-4", "MQTT-1.5.3-1")},
	{name: "connect/will-topic-wildcard", raw: []byte{
		0x10, 21, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 4, // protocol name, level 4
		0x06, 0, 60, // flags: will, clean session; keep alive
		0, 2, 'c', '1', // client identifier
		0, 3, 'a', '/', '#', // will topic "a/#"
		0, 0, // will message ""
	}, kind: Violation, rules: ids("MQTT-3.3.2-2")},
	{name: "connect/will-topic-invalid-utf8", raw: []byte{
		0x10, 19, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 4, // protocol name, level 4
		0x06, 0, 60, // flags: will, clean session; keep alive
		0, 2, 'c', '1', // client identifier
		0, 1, 0x80, // will topic: a lone continuation byte
		0, 0, // will message ""
	}, kind: Violation, rules: ids("MQTT-3.1.3-10", "MQTT-1.5.3-1")},
	{name: "connect/user-name-null", raw: []byte{
		0x10, 18, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 4, // protocol name, level 4
		0x82, 0, 60, // flags: user name, clean session; keep alive
		0, 2, 'c', '1', // client identifier
		0, 2, 'a', 0, // user name "a\x00"
	}, kind: Violation, rules: ids("MQTT-1.5.3-2")},
	{name: "connect/user-name-invalid-utf8", raw: []byte{
		0x10, 17, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 4, // protocol name, level 4
		0x82, 0, 60, // flags: user name, clean session; keep alive
		0, 2, 'c', '1', // client identifier
		0, 1, 0xfe, // user name: 0xfe never occurs in UTF-8
	}, kind: Violation, rules: ids("MQTT-3.1.3-11", "MQTT-1.5.3-1")},

	// CONNACK.
	{name: "connack/reserved-ack-flags", raw: []byte{
		0x20, 2, // CONNACK
		0x02, // acknowledge flags: reserved bit 1 set
		0x00, // accepted
	}, kind: Violation, rules: nil, lenient: &Connack{ReservedFlags: 0x02}},

	// SUBSCRIBE, SUBACK, UNSUBSCRIBE.
	{name: "subscribe/no-filters", raw: []byte{
		0x82, 2, // SUBSCRIBE
		0, 1, // packet identifier; no payload
	}, kind: Violation, rules: ids("MQTT-3.8.3-3"), lenient: &Subscribe{PacketID: 1}},
	{name: "subscribe/reserved-option-bits", raw: []byte{
		0x82, 6, // SUBSCRIBE
		0, 1, // packet identifier
		0, 1, 'a', 0x04, // filter "a", options 0x04: bit 2 is reserved in 3.1.1
	}, kind: Violation, rules: ids("MQTT-3.8.3-4"), lenient: &Subscribe{PacketID: 1, Filters: []Subscription{{b("a"), 0x04}}}},
	{name: "subscribe/qos3", raw: []byte{
		0x82, 6, // SUBSCRIBE
		0, 1, // packet identifier
		0, 1, 'a', 0x03, // filter "a", QoS 3
	}, kind: Violation, rules: ids("MQTT-3.8.3-4")},
	{name: "subscribe/hash-not-last", raw: []byte{
		0x82, 10, // SUBSCRIBE
		0, 1, // packet identifier
		0, 5, 'a', '/', '#', '/', 'b', 0, // filter "a/#/b"
	}, kind: Violation, rules: ids("MQTT-4.7.1-2"), lenient: &Subscribe{PacketID: 1, Filters: []Subscription{{b("a/#/b"), 0}}}},
	{name: "subscribe/hash-inside-level", raw: []byte{
		0x82, 7, // SUBSCRIBE
		0, 1, // packet identifier
		0, 2, 'a', '#', 0, // filter "a#"
	}, kind: Violation, rules: ids("MQTT-4.7.1-2")},
	{name: "subscribe/plus-inside-level", raw: []byte{
		0x82, 9, // SUBSCRIBE
		0, 1, // packet identifier
		0, 4, 'a', '/', 'b', '+', 1, // filter "a/b+"
	}, kind: Violation, rules: ids("MQTT-4.7.1-3")},
	{name: "subscribe/empty-filter", raw: []byte{
		0x82, 5, // SUBSCRIBE
		0, 1, // packet identifier
		0, 0, 0, // filter "", QoS 0
	}, kind: Violation, rules: ids("MQTT-4.7.3-1")},
	{name: "subscribe/packet-id-zero", raw: []byte{
		0x82, 6, // SUBSCRIBE
		0, 0, // packet identifier 0
		0, 1, 'a', 0, // filter "a"
	}, kind: Violation, rules: ids("MQTT-2.3.1-1")},
	{name: "subscribe/filter-invalid-utf8", raw: []byte{
		0x82, 6, // SUBSCRIBE
		0, 1, // packet identifier
		0, 1, 0x80, 0, // filter: a lone continuation byte
	}, kind: Violation, rules: ids("MQTT-3.8.3-1", "MQTT-1.5.3-1")},
	{name: "suback/return-code-3", raw: []byte{
		0x90, 3, // SUBACK
		0, 1, // packet identifier
		0x03, // return code 3 is not defined
	}, kind: Violation, rules: ids("MQTT-3.9.3-2"), lenient: &Suback{PacketID: 1, ReturnCodes: []byte{3}}},
	{name: "unsubscribe/no-filters", raw: []byte{
		0xa2, 2, // UNSUBSCRIBE
		0, 1, // packet identifier; no payload
	}, kind: Violation, rules: ids("MQTT-3.10.3-2"), lenient: &Unsubscribe{PacketID: 1}},
	{name: "unsubscribe/filter-invalid-utf8", raw: []byte{
		0xa2, 5, // UNSUBSCRIBE
		0, 1, // packet identifier
		0, 1, 0x80, // filter: a lone continuation byte
	}, kind: Violation, rules: ids("MQTT-3.10.3-1", "MQTT-1.5.3-1")},
	{name: "unsubscribe/plus-inside-level", raw: []byte{
		0xa2, 6, // UNSUBSCRIBE
		0, 1, // packet identifier
		0, 2, '+', 'a', // filter "+a"
	}, kind: Violation, rules: ids("MQTT-4.7.1-3")},
	{name: "unsubscribe/packet-id-zero", raw: []byte{
		0xa2, 5, // UNSUBSCRIBE
		0, 0, // packet identifier 0
		0, 1, 'a', // filter "a"
	}, kind: Violation, rules: ids("MQTT-2.3.1-1")},

	// Remaining Length: a fifth byte is malformed; a longer form than
	// needed is non-canonical (3.1.1 states no numbered rule for it).
	{name: "header/remaining-length-5-bytes", raw: []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, kind: Malformed},
	{name: "header/remaining-length-overlong", raw: []byte{
		0xc0,       // PINGREQ
		0x80, 0x00, // remaining length 0 in two bytes
	}, kind: Violation, rules: nil, lenient: &Pingreq{}},

	// Malformed: the bytes cannot be read as the packet they claim to be.
	{name: "malformed/reserved-type-0", raw: []byte{0x00, 0}, kind: Malformed},
	{name: "malformed/auth-before-5", raw: []byte{0xf0, 0}, kind: Malformed},
	{name: "malformed/topic-length-overrun", raw: []byte{
		0x30, 3, // PUBLISH
		0, 5, 'a', // topic length 5, one byte left
	}, kind: Malformed},
	{name: "malformed/publish-without-packet-id", raw: []byte{
		0x32, 3, // PUBLISH QoS 1
		0, 1, 't', // topic "t", then the packet ends
	}, kind: Malformed},
	{name: "malformed/puback-short", raw: []byte{0x40, 1, 0}, kind: Malformed},
	{name: "malformed/puback-trailing", raw: []byte{0x40, 3, 0, 1, 0}, kind: Malformed},
	{name: "malformed/pingreq-body", raw: []byte{0xc0, 1, 0}, kind: Malformed},
	{name: "malformed/disconnect-body", raw: []byte{0xe0, 1, 0}, kind: Malformed},
	{name: "malformed/unsuback-trailing", raw: []byte{0xb0, 3, 0, 1, 0}, kind: Malformed},
	{name: "malformed/suback-no-codes", raw: []byte{0x90, 2, 0, 1}, kind: Malformed},
	{name: "malformed/subscribe-missing-options", raw: []byte{
		0x82, 5, // SUBSCRIBE
		0, 1, // packet identifier
		0, 1, 'a', // filter "a", then no options byte
	}, kind: Malformed},
	{name: "malformed/connect-ends-after-level", raw: []byte{
		0x10, 7, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 4, // protocol name, level; no flags
	}, kind: Malformed},
	{name: "malformed/connect-will-missing", raw: []byte{
		0x10, 14, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 4, // protocol name, level 4
		0x06, 0, 60, // flags: will, clean session; keep alive
		0, 2, 'c', '1', // client identifier; no will topic follows
	}, kind: Malformed},
	{name: "malformed/connect-trailing", raw: []byte{
		0x10, 15, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 4, // protocol name, level 4
		0x02, 0, 60, // flags, keep alive
		0, 2, 'c', '1', // client identifier
		'x', // a byte no flag accounts for
	}, kind: Malformed},
}

var badV31 = []bad{
	{name: "publish/topic-wildcard", raw: []byte{
		0x30, 3, // PUBLISH
		0, 1, '+', // topic "+"
	}, kind: Violation, rules: ids("MQTT-3.3.2-2"), lenient: &Publish{Topic: b("+")}},
	{name: "connect/name-mqtt-at-level-3", raw: []byte{
		0x10, 14, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 3, // name "MQTT" with level 3, which is "MQIsdp"
		0x02, 0, 60, // flags, keep alive
		0, 2, 'c', '1', // client identifier
	}, kind: Violation, rules: ids("MQTT-3.1.2-1")},
	{name: "subscribe/qos3", raw: []byte{
		0x82, 6, // SUBSCRIBE
		0, 1, // packet identifier
		0, 1, 'a', 3, // filter "a", QoS 3
	}, kind: Violation, rules: ids("MQTT-3.8.3-4")},
}

var badV5 = []bad{
	// Fixed header flags (MQTT-2.1.3-1 and each packet's own rule).
	{name: "pubrel/flags-0000", raw: []byte{0x60, 2, 0, 1}, kind: Violation, rules: ids("MQTT-3.6.1-1", "MQTT-2.1.3-1"), lenient: &Ack{PacketType: PUBREL, PacketID: 1}},
	{name: "subscribe/flags-0000", raw: []byte{
		0x80, 7, // SUBSCRIBE with flags 0000
		0, 1, // packet identifier
		0,            // property length
		0, 1, 'a', 0, // filter "a"
	}, kind: Violation, rules: ids("MQTT-3.8.1-1", "MQTT-2.1.3-1")},
	{name: "unsubscribe/flags-0000", raw: []byte{0xa0, 6, 0, 1, 0, 0, 1, 'a'}, kind: Violation, rules: ids("MQTT-3.10.1-1", "MQTT-2.1.3-1")},
	{name: "auth/flags-0001", raw: []byte{0xf1, 0}, kind: Violation, rules: ids("MQTT-3.15.1-1", "MQTT-2.1.3-1"), lenient: &Auth{}},
	{name: "disconnect/flags-0001", raw: []byte{0xe1, 0}, kind: Violation, rules: ids("MQTT-3.14.1-1", "MQTT-2.1.3-1"), lenient: &Disconnect{}},
	{name: "pingresp/flags-0100", raw: []byte{0xd4, 0}, kind: Violation, rules: ids("MQTT-2.1.3-1")},

	// PUBLISH.
	{name: "publish/qos3", raw: []byte{
		0x36, 6, // PUBLISH QoS 3
		0, 1, 't', // topic
		0, 1, // packet identifier
		0, // property length
	}, kind: Violation, rules: ids("MQTT-3.3.1-4"), lenient: &Publish{QoS: 3, Topic: b("t"), PacketID: 1}},
	{name: "publish/dup-on-qos0", raw: []byte{0x38, 4, 0, 1, 't', 0}, kind: Violation, rules: ids("MQTT-3.3.1-2")},
	{name: "publish/topic-wildcard", raw: []byte{
		0x30, 4, // PUBLISH
		0, 1, '+', // topic "+"
		0, // property length
	}, kind: Violation, rules: ids("MQTT-3.3.2-2", "MQTT-4.7.0-1"), lenient: &Publish{Topic: b("+")}},
	{name: "publish/topic-invalid-utf8", raw: []byte{0x30, 4, 0, 1, 0xff, 0}, kind: Violation, rules: ids("MQTT-1.5.4-1")},
	{name: "publish/topic-null", raw: []byte{0x30, 4, 0, 1, 0, 0}, kind: Violation, rules: ids("MQTT-1.5.4-2")},
	{name: "publish/packet-id-zero", raw: []byte{
		0x32, 6, // PUBLISH QoS 1
		0, 1, 't', // topic
		0, 0, // packet identifier 0
		0, // property length
	}, kind: Violation, rules: ids("MQTT-2.2.1-3")},
	{name: "publish/topic-empty-without-alias", raw: []byte{0x30, 3, 0, 0, 0}, kind: Violation, rules: ids("MQTT-4.7.3-1")},
	{name: "publish/topic-alias-zero", raw: []byte{
		0x30, 7, // PUBLISH
		0, 1, 't', // topic
		3,          // property length
		0x23, 0, 0, // Topic Alias 0
	}, kind: Violation, rules: ids("MQTT-3.3.2-8"), lenient: &Publish{Topic: b("t"), Properties: mkProps(PropTopicAlias, 0)}},
	{name: "publish/property-not-allowed", raw: []byte{
		0x30, 9, // PUBLISH
		0, 1, 't', // topic
		5,                // property length
		0x11, 0, 0, 0, 1, // Session Expiry Interval: not a PUBLISH property
	}, kind: Violation, rules: nil, lenient: &Publish{Topic: b("t"), Properties: mkProps(PropSessionExpiry, 1)}},
	{name: "publish/property-twice", raw: []byte{
		0x30, 8, // PUBLISH
		0, 1, 't', // topic
		4,       // property length
		0x01, 0, // Payload Format Indicator 0
		0x01, 1, // and again, 1
	}, kind: Violation, rules: nil, lenient: &Publish{Topic: b("t"), Properties: mkProps(PropPayloadFormat, 1)}},
	{name: "publish/payload-format-2", raw: []byte{0x30, 6, 0, 1, 't', 2, 0x01, 2}, kind: Violation, rules: nil},
	{name: "publish/subscription-id-zero", raw: []byte{0x30, 6, 0, 1, 't', 2, 0x0b, 0}, kind: Violation, rules: nil},
	{name: "publish/user-property-invalid-utf8", raw: []byte{
		0x30, 11, // PUBLISH
		0, 1, 't', // topic
		7,                           // property length
		0x26, 0, 1, 0xff, 0, 1, 'v', // User Property name 0xff
	}, kind: Violation, rules: ids("MQTT-1.5.7-1", "MQTT-1.5.4-1")},
	{name: "publish/response-topic-wildcard", raw: []byte{
		0x30, 9, // PUBLISH
		0, 1, 't', // topic
		5,                    // property length
		0x08, 0, 2, 'r', '#', // Response Topic "r#"
	}, kind: Violation, rules: ids("MQTT-3.3.2-14")},
	{name: "publish/content-type-invalid-utf8", raw: []byte{
		0x30, 8, // PUBLISH
		0, 1, 't', // topic
		4,                // property length
		0x03, 0, 1, 0xc0, // Content Type: 0xc0 never occurs in UTF-8
	}, kind: Violation, rules: ids("MQTT-3.3.2-19", "MQTT-1.5.4-1")},
	{name: "publish/property-length-overlong", raw: []byte{
		0x30, 5, // PUBLISH
		0, 1, 't', // topic
		0x80, 0x00, // property length 0 in two bytes
	}, kind: Violation, rules: ids("MQTT-1.5.5-1"), lenient: &Publish{Topic: b("t")}},
	{name: "publish/property-id-overlong", raw: []byte{
		0x30, 7, // PUBLISH
		0, 1, 't', // topic
		3,          // property length
		0x81, 0x00, // property identifier 1 in two bytes
		1, // Payload Format Indicator 1
	}, kind: Violation, rules: ids("MQTT-1.5.5-1"), lenient: &Publish{Topic: b("t"), Properties: mkProps(PropPayloadFormat, 1)}},
	{name: "publish/no-property-length", raw: []byte{0x30, 3, 0, 1, 't'}, kind: Malformed},
	{name: "publish/property-length-overrun", raw: []byte{0x30, 5, 0, 1, 't', 5, 0x01}, kind: Malformed},
	{name: "publish/property-value-short", raw: []byte{0x30, 6, 0, 1, 't', 2, 0x02, 0}, kind: Malformed},
	{name: "publish/unknown-property", raw: []byte{0x30, 6, 0, 1, 't', 2, 0x7f, 0}, kind: Malformed},
	{name: "publish/property-length-5-bytes", raw: []byte{0x30, 7, 0, 1, 't', 0xff, 0xff, 0xff, 0xff}, kind: Malformed, rules: ids("MQTT-1.5.5-1")},

	// CONNECT.
	{name: "connect/reserved-flag", raw: []byte{
		0x10, 15, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 5, // protocol name, level 5
		0x03, 0, 60, // flags: reserved bit, clean start; keep alive
		0,              // property length
		0, 2, 'c', '1', // client identifier
	}, kind: Violation, rules: ids("MQTT-3.1.2-3")},
	{name: "connect/will-qos3", raw: []byte{
		0x10, 22, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 5, // protocol name, level 5
		0x1e, 0, 60, // flags: will QoS 3, will, clean start; keep alive
		0,              // property length
		0, 2, 'c', '1', // client identifier
		0,         // will property length
		0, 1, 'w', // will topic
		0, 1, 'm', // will payload
	}, kind: Violation, rules: ids("MQTT-3.1.2-12")},
	{name: "connect/will-qos-without-will", raw: []byte{
		0x10, 15, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 5, // protocol name, level 5
		0x12, 0, 60, // flags: will QoS 2, clean start; keep alive
		0,              // property length
		0, 2, 'c', '1', // client identifier
	}, kind: Violation, rules: ids("MQTT-3.1.2-11")},
	{name: "connect/will-retain-without-will", raw: []byte{
		0x10, 15, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 5, // protocol name, level 5
		0x22, 0, 60, // flags: will retain, clean start; keep alive
		0,              // property length
		0, 2, 'c', '1', // client identifier
	}, kind: Violation, rules: ids("MQTT-3.1.2-13")},
	{name: "connect/receive-maximum-zero", raw: []byte{
		0x10, 18, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 5, // protocol name, level 5
		0x02, 0, 60, // flags, keep alive
		3,          // property length
		0x21, 0, 0, // Receive Maximum 0
		0, 2, 'c', '1', // client identifier
	}, kind: Violation, rules: nil},
	{name: "connect/will-delay-in-connect-properties", raw: []byte{
		0x10, 20, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 5, // protocol name, level 5
		0x02, 0, 60, // flags, keep alive
		5,                // property length
		0x18, 0, 0, 0, 5, // Will Delay Interval belongs in the Will Properties
		0, 2, 'c', '1', // client identifier
	}, kind: Violation, rules: nil},
	{name: "connect/client-id-invalid-utf8", raw: []byte{
		0x10, 14, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 5, // protocol name, level 5
		0x02, 0, 60, // flags, keep alive
		0,          // property length
		0, 1, 0xff, // client identifier
	}, kind: Violation, rules: ids("MQTT-3.1.3-4", "MQTT-1.5.4-1")},
	{name: "connect/user-name-invalid-utf8", raw: []byte{
		0x10, 18, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 5, // protocol name, level 5
		0x82, 0, 60, // flags: user name, clean start; keep alive
		0,              // property length
		0, 2, 'c', '1', // client identifier
		0, 1, 0xff, // user name
	}, kind: Violation, rules: ids("MQTT-3.1.3-12", "MQTT-1.5.4-1")},
	{name: "connect/protocol-name-wrong", raw: []byte{
		0x10, 15, // CONNECT
		0, 4, 'm', 'q', 't', 't', 5, // protocol name "mqtt", level 5
		0x02, 0, 60, // flags, keep alive
		0,              // property length
		0, 2, 'c', '1', // client identifier
	}, kind: Violation, rules: ids("MQTT-3.1.2-1")},
	{name: "connect/no-property-length", raw: []byte{
		0x10, 10, // CONNECT
		0, 4, 'M', 'Q', 'T', 'T', 5, // protocol name, level 5
		0x02, 0, 60, // flags, keep alive; the packet ends
	}, kind: Malformed},

	// CONNACK.
	{name: "connack/reserved-ack-flags", raw: []byte{0x20, 3, 0x02, 0, 0}, kind: Violation, rules: ids("MQTT-3.2.2-1"), lenient: &Connack{ReservedFlags: 2}},
	{name: "connack/reason-code-undefined", raw: []byte{
		0x20, 3, // CONNACK
		0x00, // acknowledge flags
		0x01, // reason code 0x01: a 3.1.1 return code, not a 5.0 reason code
		0,    // property length
	}, kind: Violation, rules: ids("MQTT-3.2.2-8"), lenient: &Connack{ReturnCode: 1}},
	{name: "connack/maximum-packet-size-zero", raw: []byte{0x20, 8, 0, 0, 5, 0x27, 0, 0, 0, 0}, kind: Violation, rules: nil},
	{name: "connack/maximum-qos-2", raw: []byte{0x20, 5, 0, 0, 2, 0x24, 2}, kind: Violation, rules: nil},

	// Reason codes.
	{name: "puback/reason-undefined", raw: []byte{0x40, 3, 0, 1, 0x01}, kind: Violation, rules: ids("MQTT-3.4.2-1"), lenient: &Ack{PacketType: PUBACK, PacketID: 1, ReasonCode: 1}},
	{name: "pubrec/reason-undefined", raw: []byte{0x50, 3, 0, 1, 0x92}, kind: Violation, rules: ids("MQTT-3.5.2-1")},
	{name: "pubrel/reason-undefined", raw: []byte{0x62, 3, 0, 1, 0x10}, kind: Violation, rules: ids("MQTT-3.6.2-1")},
	{name: "pubcomp/reason-undefined", raw: []byte{0x70, 3, 0, 1, 0x80}, kind: Violation, rules: ids("MQTT-3.7.2-1")},
	{name: "suback/reason-undefined", raw: []byte{0x90, 4, 0, 1, 0, 0x03}, kind: Violation, rules: ids("MQTT-3.9.3-2")},
	{name: "unsuback/reason-undefined", raw: []byte{0xb0, 4, 0, 1, 0, 0x01}, kind: Violation, rules: ids("MQTT-3.11.3-2"), lenient: &Unsuback{PacketID: 1, ReasonCodes: []byte{1}}},
	{name: "disconnect/reason-undefined", raw: []byte{0xe0, 1, 0x05}, kind: Violation, rules: ids("MQTT-3.14.2-1"), lenient: &Disconnect{ReasonCode: 5}},
	{name: "auth/reason-undefined", raw: []byte{0xf0, 1, 0x01}, kind: Violation, rules: ids("MQTT-3.15.2-1")},
	{name: "puback/property-not-allowed", raw: []byte{
		0x40, 7, // PUBACK
		0, 1, // packet identifier
		0x00,       // reason code
		3,          // property length
		0x23, 0, 1, // Topic Alias: a PUBLISH property
	}, kind: Violation, rules: nil, lenient: &Ack{PacketType: PUBACK, PacketID: 1, Properties: mkProps(PropTopicAlias, 1)}},
	{name: "puback/packet-id-zero", raw: []byte{0x40, 2, 0, 0}, kind: Violation, rules: ids("MQTT-2.2.1-3")},

	// SUBSCRIBE, UNSUBSCRIBE.
	{name: "subscribe/no-filters", raw: []byte{0x82, 3, 0, 1, 0}, kind: Violation, rules: ids("MQTT-3.8.3-2"), lenient: &Subscribe{PacketID: 1}},
	{name: "subscribe/reserved-option-bits", raw: []byte{
		0x82, 7, // SUBSCRIBE
		0, 1, // packet identifier
		0,               // property length
		0, 1, 'a', 0x40, // filter "a", options: bit 6 is reserved
	}, kind: Violation, rules: ids("MQTT-3.8.3-5"), lenient: &Subscribe{PacketID: 1, Filters: []Subscription{{b("a"), 0x40}}}},
	{name: "subscribe/retain-handling-3", raw: []byte{0x82, 7, 0, 1, 0, 0, 1, 'a', 0x30}, kind: Violation, rules: ids("MQTT-3.8.3-5")},
	{name: "subscribe/hash-not-last", raw: []byte{
		0x82, 11, // SUBSCRIBE
		0, 1, // packet identifier
		0,                                // property length
		0, 5, 'a', '/', '#', '/', 'b', 0, // filter "a/#/b"
	}, kind: Violation, rules: ids("MQTT-4.7.1-1")},
	{name: "subscribe/plus-inside-level", raw: []byte{0x82, 10, 0, 1, 0, 0, 4, 'a', '/', 'b', '+', 0}, kind: Violation, rules: ids("MQTT-4.7.1-2")},
	{name: "subscribe/packet-id-zero", raw: []byte{0x82, 7, 0, 0, 0, 0, 1, 'a', 0}, kind: Violation, rules: ids("MQTT-2.2.1-3")},
	{name: "subscribe/two-subscription-ids", raw: []byte{
		0x82, 11, // SUBSCRIBE
		0, 1, // packet identifier
		4,       // property length
		0x0b, 1, // Subscription Identifier 1
		0x0b, 2, // Subscription Identifier 2: only one is allowed
		0, 1, 'a', 0, // filter "a"
	}, kind: Violation, rules: nil},
	{name: "unsubscribe/no-filters", raw: []byte{0xa2, 3, 0, 1, 0}, kind: Violation, rules: ids("MQTT-3.10.3-2")},

	// Variable byte integers.
	{name: "header/remaining-length-overlong", raw: []byte{0xc0, 0x80, 0x00}, kind: Violation, rules: ids("MQTT-1.5.5-1"), lenient: &Pingreq{}},
	{name: "header/remaining-length-5-bytes", raw: []byte{0x30, 0x80, 0x80, 0x80, 0x80, 0x01}, kind: Malformed, rules: ids("MQTT-1.5.5-1")},

	// Malformed.
	{name: "malformed/unsuback-no-codes", raw: []byte{0xb0, 3, 0, 1, 0}, kind: Malformed},
	{name: "malformed/auth-trailing", raw: []byte{0xf0, 3, 0x18, 0, 0}, kind: Malformed},
	{name: "malformed/disconnect-property-overrun", raw: []byte{0xe0, 2, 0, 5}, kind: Malformed},
}

func bads() []bad {
	var all []bad
	for _, set := range []struct {
		v  Version
		bs []bad
	}{{V31, badV31}, {V311, badV311}, {V5, badV5}} {
		for _, c := range set.bs {
			c.v = set.v
			c.name = set.v.String() + "/" + c.name
			all = append(all, c)
		}
	}
	return all
}

func TestDecodeBadStrict(t *testing.T) {
	for _, c := range bads() {
		t.Run(c.name, func(t *testing.T) {
			d := &Decoder{Version: c.v, Strict: true}
			p, n, err := d.Decode(c.raw)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode = %v, %v; want an *Error", p, err)
			}
			if p != nil {
				t.Errorf("strict Decode returned a packet with its error")
			}
			if e.Kind != c.kind {
				t.Errorf("Kind %s, want %s (%v)", e.Kind, c.kind, e)
			}
			checkRules(t, e, c.rules)
			if e.Version != c.v {
				t.Errorf("Version %s, want %s", e.Version, c.v)
			}
			if e.Packet != Type(c.raw[0]>>4) {
				t.Errorf("Packet %s, want %s", e.Packet, Type(c.raw[0]>>4))
			}
			if n != 0 && n != len(c.raw) {
				t.Errorf("Decode used %d bytes, want %d", n, len(c.raw))
			}
			if !strings.HasPrefix(e.Error(), "codec: "+c.kind.String()) {
				t.Errorf("Error() = %q", e.Error())
			}
		})
	}
}

func checkRules(t *testing.T, e *Error, want []string) {
	t.Helper()
	if want == nil && len(e.Rules) > 0 {
		t.Errorf("Rules %v, want none (%v)", e.Rules, e)
	}
	for _, id := range want {
		if !e.HasRule(id) {
			t.Errorf("Rules %v lack %s (%v)", e.Rules, id, e)
		}
	}
}

func TestDecodeBadLenient(t *testing.T) {
	for _, c := range bads() {
		t.Run(c.name, func(t *testing.T) {
			d := &Decoder{Version: c.v}
			p, n, err := d.Decode(c.raw)
			if c.kind == Malformed {
				var e *Error
				if !errors.As(err, &e) || e.Kind != Malformed {
					t.Fatalf("lenient Decode = %v, %v; want a Malformed *Error", p, err)
				}
				checkRules(t, e, c.rules)
				return
			}
			if err != nil {
				t.Fatalf("lenient Decode: %v", err)
			}
			if n != len(c.raw) {
				t.Errorf("Decode used %d bytes, want %d", n, len(c.raw))
			}
			if d.Canonical() {
				t.Errorf("Canonical() = true after a violation")
			}
			found := false
			for _, v := range d.Violations {
				if v.Kind != Violation {
					t.Errorf("Violations holds a %s error: %v", v.Kind, &v)
				}
				all := true
				for _, id := range c.rules {
					all = all && v.HasRule(id)
				}
				if all && (c.rules != nil || len(v.Rules) == 0) {
					found = true
				}
			}
			if !found {
				t.Errorf("Violations %v lack an entry with rules %v", d.Violations, c.rules)
			}
			if c.lenient != nil {
				if diff := diffPackets(p, c.lenient); diff != "" {
					t.Errorf("lenient packet differs:\n%s", diff)
				}
			}
			// The same Decoder, given a good packet next, reports nothing.
			if _, _, err := d.Decode([]byte{0xc0, 0}); err != nil || len(d.Violations) != 0 || !d.Canonical() {
				t.Errorf("after a good packet: err %v, violations %v, canonical %v", err, d.Violations, d.Canonical())
			}
		})
	}
}
