package codec

import (
	"bytes"
	"testing"
)

// golden is one well-formed packet written out by hand from the packet
// layouts of the specification, with the value it decodes to. Encoding
// the value gives the bytes back exactly.
type golden struct {
	name string
	v    Version // the Decoder's level (CONNECT carries its own)
	raw  []byte
	want Packet
}

// payload200 is the body of the fixture whose remaining length needs two
// bytes.
var payload200 = bytes.Repeat([]byte{'x'}, 200)

// goldenV31 holds MQTT 3.1 ("MQIsdp", level 3) packets.
var goldenV31 = []golden{
	{
		name: "connect/minimal",
		raw: []byte{
			0x10, 16, // CONNECT, remaining length 16
			0, 6, 'M', 'Q', 'I', 's', 'd', 'p', // protocol name "MQIsdp"
			3,     // protocol level 3
			0x02,  // flags: clean session
			0, 60, // keep alive 60 s
			0, 2, 'c', '1', // client identifier "c1"
		},
		want: &Connect{ProtocolName: b("MQIsdp"), ProtocolLevel: V31, CleanSession: true, KeepAlive: 60, ClientID: b("c1")},
	},
	{
		name: "connect/will-user-password",
		raw: []byte{
			0x10, 34, // CONNECT, remaining length 34
			0, 6, 'M', 'Q', 'I', 's', 'd', 'p', // protocol name
			3,     // protocol level 3
			0xf6,  // flags: user, password, will retain, will QoS 2, will, clean session
			0, 10, // keep alive 10 s
			0, 3, 'c', 'i', 'd', // client identifier "cid"
			0, 3, 'w', '/', 't', // will topic "w/t"
			0, 3, 'b', 'y', 'e', // will message "bye"
			0, 1, 'u', // user name "u"
			0, 2, 'p', 'w', // password "pw"
		},
		want: &Connect{ProtocolName: b("MQIsdp"), ProtocolLevel: V31, CleanSession: true, KeepAlive: 10, ClientID: b("cid"),
			WillFlag: true, WillQoS: 2, WillRetain: true, WillTopic: b("w/t"), WillPayload: b("bye"),
			UsernameFlag: true, PasswordFlag: true, Username: b("u"), Password: b("pw")},
	},
	{
		name: "connack/accepted",
		raw: []byte{
			0x20, 2, // CONNACK, remaining length 2
			0x00, // reserved (3.1 has no Session Present)
			0x00, // return code: accepted
		},
		want: &Connack{ReturnCode: ConnAccepted},
	},
	{
		name: "connack/identifier-rejected",
		raw:  []byte{0x20, 2, 0x00, 0x02}, // CONNACK, len 2, reserved, return code 2
		want: &Connack{ReturnCode: ConnRefusedIdentifier},
	},
	{
		name: "publish/qos0",
		raw: []byte{
			0x30, 10, // PUBLISH QoS 0, remaining length 10
			0, 3, 'a', '/', 'b', // topic name "a/b"
			'h', 'e', 'l', 'l', 'o', // payload
		},
		want: &Publish{Topic: b("a/b"), Payload: b("hello")},
	},
	{
		name: "publish/qos1-retain",
		raw: []byte{
			0x33, 7, // PUBLISH QoS 1 RETAIN, remaining length 7
			0, 1, 't', // topic name "t"
			0, 5, // packet identifier 5
			'h', 'i', // payload
		},
		want: &Publish{QoS: 1, Retain: true, Topic: b("t"), PacketID: 5, Payload: b("hi")},
	},
	{
		name: "publish/qos2-dup",
		raw: []byte{
			0x3c, 6, // PUBLISH DUP QoS 2, remaining length 6
			0, 2, 'x', 'y', // topic name "xy"
			0xff, 0xff, // packet identifier 65535
		},
		want: &Publish{Dup: true, QoS: 2, Topic: b("xy"), PacketID: 0xffff},
	},
	{name: "puback", raw: []byte{0x40, 2, 0, 1}, want: &Ack{PacketType: PUBACK, PacketID: 1}},   // PUBACK, len 2, id 1
	{name: "pubrec", raw: []byte{0x50, 2, 0, 2}, want: &Ack{PacketType: PUBREC, PacketID: 2}},   // PUBREC, len 2, id 2
	{name: "pubrel", raw: []byte{0x62, 2, 0, 2}, want: &Ack{PacketType: PUBREL, PacketID: 2}},   // PUBREL (QoS 1 flags), len 2, id 2
	{name: "pubcomp", raw: []byte{0x70, 2, 0, 2}, want: &Ack{PacketType: PUBCOMP, PacketID: 2}}, // PUBCOMP, len 2, id 2
	{
		name: "subscribe/two-filters",
		raw: []byte{
			0x82, 11, // SUBSCRIBE (QoS 1 flags), remaining length 11
			0, 3, // packet identifier 3
			0, 2, 'a', '/', 0x01, // filter "a/", requested QoS 1
			0, 1, '#', 0x02, // filter "#", requested QoS 2
		},
		want: &Subscribe{PacketID: 3, Filters: []Subscription{{b("a/"), 1}, {b("#"), 2}}},
	},
	{
		name: "suback",
		raw: []byte{
			0x90, 4, // SUBACK, remaining length 4
			0, 3, // packet identifier 3
			0x01, 0x02, // granted QoS 1, 2
		},
		want: &Suback{PacketID: 3, ReturnCodes: []byte{1, 2}},
	},
	{
		name: "unsubscribe",
		raw: []byte{
			0xa2, 5, // UNSUBSCRIBE (QoS 1 flags), remaining length 5
			0, 4, // packet identifier 4
			0, 1, '#', // filter "#"
		},
		want: &Unsubscribe{PacketID: 4, Filters: [][]byte{b("#")}},
	},
	{name: "unsuback", raw: []byte{0xb0, 2, 0, 4}, want: &Unsuback{PacketID: 4}}, // UNSUBACK, len 2, id 4
	{name: "pingreq", raw: []byte{0xc0, 0}, want: &Pingreq{}},                    // PINGREQ, len 0
	{name: "pingresp", raw: []byte{0xd0, 0}, want: &Pingresp{}},                  // PINGRESP, len 0
	{name: "disconnect", raw: []byte{0xe0, 0}, want: &Disconnect{}},              // DISCONNECT, len 0
}

// goldenV311 holds MQTT 3.1.1 (level 4) packets.
var goldenV311 = []golden{
	{
		name: "connect/minimal",
		raw: []byte{
			0x10, 14, // CONNECT, remaining length 14
			0, 4, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
			4,     // protocol level 4
			0x02,  // connect flags: clean session
			0, 60, // keep alive 60 s
			0, 2, 'c', '1', // client identifier "c1"
		},
		want: &Connect{ProtocolName: b("MQTT"), ProtocolLevel: V311, CleanSession: true, KeepAlive: 60, ClientID: b("c1")},
	},
	{
		name: "connect/empty-client-id",
		raw: []byte{
			0x10, 12, // CONNECT, remaining length 12
			0, 4, 'M', 'Q', 'T', 'T', // protocol name
			4,    // protocol level 4
			0x02, // clean session
			0, 0, // keep alive 0 (off)
			0, 0, // client identifier "" (server assigns one)
		},
		want: &Connect{ProtocolName: b("MQTT"), ProtocolLevel: V311, CleanSession: true, ClientID: b("")},
	},
	{
		name: "connect/will-user-password",
		raw: []byte{
			0x10, 32, // CONNECT, remaining length 32
			0, 4, 'M', 'Q', 'T', 'T', // protocol name
			4,     // protocol level 4
			0xee,  // flags: user 0x80, password 0x40, will retain 0x20, will QoS 1 0x08, will 0x04, clean 0x02
			0, 30, // keep alive 30 s
			0, 3, 'c', 'i', 'd', // client identifier "cid"
			0, 3, 'w', '/', 't', // will topic "w/t"
			0, 3, 'b', 'y', 'e', // will message "bye"
			0, 1, 'u', // user name "u"
			0, 2, 'p', 'w', // password "pw"
		},
		want: &Connect{ProtocolName: b("MQTT"), ProtocolLevel: V311, CleanSession: true, KeepAlive: 30, ClientID: b("cid"),
			WillFlag: true, WillQoS: 1, WillRetain: true, WillTopic: b("w/t"), WillPayload: b("bye"),
			UsernameFlag: true, PasswordFlag: true, Username: b("u"), Password: b("pw")},
	},
	{
		name: "connect/persistent-binary-will",
		raw: []byte{
			0x10, 21, // CONNECT, remaining length 21
			0, 4, 'M', 'Q', 'T', 'T', // protocol name
			4,          // protocol level 4
			0x04,       // flags: will (QoS 0, not retained), clean session 0
			0xff, 0xff, // keep alive 65535 s
			0, 1, 'c', // client identifier "c"
			0, 1, 'w', // will topic "w"
			0, 3, 0x00, 0xff, 0x80, // will message: binary, not UTF-8
		},
		want: &Connect{ProtocolName: b("MQTT"), ProtocolLevel: V311, KeepAlive: 0xffff, ClientID: b("c"),
			WillFlag: true, WillTopic: b("w"), WillPayload: []byte{0x00, 0xff, 0x80}},
	},
	{
		name: "connack/session-present",
		raw: []byte{
			0x20, 2, // CONNACK, remaining length 2
			0x01, // acknowledge flags: session present
			0x00, // return code: accepted
		},
		want: &Connack{SessionPresent: true, ReturnCode: ConnAccepted},
	},
	{
		name: "connack/bad-credentials",
		raw:  []byte{0x20, 2, 0x00, 0x04}, // CONNACK, len 2, no session, return code 4
		want: &Connack{ReturnCode: ConnRefusedBadCredentials},
	},
	{
		name: "publish/qos0",
		raw: []byte{
			0x30, 10, // PUBLISH QoS 0, remaining length 10
			0, 3, 'a', '/', 'b', // topic name "a/b"
			'h', 'e', 'l', 'l', 'o', // payload "hello"
		},
		want: &Publish{Topic: b("a/b"), Payload: b("hello")},
	},
	{
		name: "publish/qos0-retain-empty",
		raw: []byte{
			0x31, 3, // PUBLISH QoS 0 RETAIN, remaining length 3
			0, 1, 't', // topic name "t"; no payload (clears the retained message)
		},
		want: &Publish{Retain: true, Topic: b("t")},
	},
	{
		name: "publish/qos1-dup-retain",
		raw: []byte{
			0x3b, 9, // PUBLISH DUP 0x08, QoS 1 0x02, RETAIN 0x01; remaining length 9
			0, 3, 'a', '/', 'b', // topic name "a/b"
			0, 7, // packet identifier 7
			'h', 'i', // payload "hi"
		},
		want: &Publish{Dup: true, QoS: 1, Retain: true, Topic: b("a/b"), PacketID: 7, Payload: b("hi")},
	},
	{
		name: "publish/qos2",
		raw: []byte{
			0x34, 5, // PUBLISH QoS 2, remaining length 5
			0, 1, 't', // topic name "t"
			0x12, 0x34, // packet identifier 0x1234
		},
		want: &Publish{QoS: 2, Topic: b("t"), PacketID: 0x1234},
	},
	{
		name: "publish/utf8-topic",
		raw: []byte{
			0x30, 12, // PUBLISH QoS 0, remaining length 12
			0, 8, 's', '/', 0xc3, 0xa9, '/', 0xe2, 0x82, 0xac, // topic name "s/\u00e9/\u20ac"
			'o', 'k', // payload
		},
		want: &Publish{Topic: b("s/\u00e9/\u20ac"), Payload: b("ok")},
	},
	{
		name: "publish/two-byte-remaining-length",
		raw: cat([]byte{
			0x30, 0xcb, 0x01, // PUBLISH QoS 0, remaining length 203 = 0x4b + 1*128
			0, 1, 't', // topic name "t"
		}, payload200), // payload: 200 bytes
		want: &Publish{Topic: b("t"), Payload: payload200},
	},
	{name: "puback", raw: []byte{0x40, 2, 0, 7}, want: &Ack{PacketType: PUBACK, PacketID: 7}},              // PUBACK, len 2, id 7
	{name: "pubrec", raw: []byte{0x50, 2, 0, 8}, want: &Ack{PacketType: PUBREC, PacketID: 8}},              // PUBREC, len 2, id 8
	{name: "pubrel", raw: []byte{0x62, 2, 0, 8}, want: &Ack{PacketType: PUBREL, PacketID: 8}},              // PUBREL, flags 0010, len 2, id 8
	{name: "pubcomp", raw: []byte{0x70, 2, 0x12, 0x34}, want: &Ack{PacketType: PUBCOMP, PacketID: 0x1234}}, // PUBCOMP, len 2, id 0x1234
	{
		name: "subscribe/three-filters",
		raw: []byte{
			0x82, 18, // SUBSCRIBE, flags 0010, remaining length 18
			0, 10, // packet identifier 10
			0, 3, 'a', '/', '+', 0x01, // filter "a/+", requested QoS 1
			0, 3, 'b', '/', '#', 0x02, // filter "b/#", requested QoS 2
			0, 1, 'c', 0x00, // filter "c", requested QoS 0
		},
		want: &Subscribe{PacketID: 10, Filters: []Subscription{{b("a/+"), 1}, {b("b/#"), 2}, {b("c"), 0}}},
	},
	{
		name: "subscribe/dollar-and-root",
		raw: []byte{
			0x82, 15, // SUBSCRIBE, remaining length 15
			0, 1, // packet identifier 1
			0, 5, '$', 'S', 'Y', 'S', '/', 0x00, // filter "$SYS/", QoS 0
			0, 2, '+', '/', 0x01, // filter "+/", QoS 1
		},
		want: &Subscribe{PacketID: 1, Filters: []Subscription{{b("$SYS/"), 0}, {b("+/"), 1}}},
	},
	{
		name: "suback",
		raw: []byte{
			0x90, 5, // SUBACK, remaining length 5
			0, 10, // packet identifier 10
			0x01, 0x02, 0x80, // granted QoS 1, granted QoS 2, failure
		},
		want: &Suback{PacketID: 10, ReturnCodes: []byte{0x01, 0x02, SubackFailure}},
	},
	{
		name: "unsubscribe",
		raw: []byte{
			0xa2, 10, // UNSUBSCRIBE, flags 0010, remaining length 10
			0, 11, // packet identifier 11
			0, 3, 'a', '/', '+', // filter "a/+"
			0, 1, 'c', // filter "c"
		},
		want: &Unsubscribe{PacketID: 11, Filters: [][]byte{b("a/+"), b("c")}},
	},
	{name: "unsuback", raw: []byte{0xb0, 2, 0, 11}, want: &Unsuback{PacketID: 11}}, // UNSUBACK, len 2, id 11
	{name: "pingreq", raw: []byte{0xc0, 0}, want: &Pingreq{}},                      // PINGREQ, len 0
	{name: "pingresp", raw: []byte{0xd0, 0}, want: &Pingresp{}},                    // PINGRESP, len 0
	{name: "disconnect", raw: []byte{0xe0, 0}, want: &Disconnect{}},                // DISCONNECT, len 0
}

// goldenV5 holds MQTT 5.0 (level 5) packets.
var goldenV5 = []golden{
	{
		name: "connect/minimal",
		raw: []byte{
			0x10, 15, // CONNECT, remaining length 15
			0, 4, 'M', 'Q', 'T', 'T', // protocol name
			5,     // protocol level 5
			0x02,  // flags: clean start
			0, 60, // keep alive 60 s
			0,              // property length 0
			0, 2, 'c', '1', // client identifier "c1"
		},
		want: &Connect{ProtocolName: b("MQTT"), ProtocolLevel: V5, CleanSession: true, KeepAlive: 60, ClientID: b("c1")},
	},
	{
		name: "connect/properties-will-properties",
		raw: []byte{
			0x10, 67, // CONNECT, remaining length 67
			0, 4, 'M', 'Q', 'T', 'T', // protocol name
			5,     // protocol level 5
			0xce,  // flags: user 0x80, password 0x40, will QoS 1 0x08, will 0x04, clean start 0x02
			0, 10, // keep alive 10 s
			15,                 // property length 15
			0x11, 0, 0, 0, 120, // Session Expiry Interval 120
			0x21, 0, 20, // Receive Maximum 20
			0x26, 0, 1, 'k', 0, 1, 'v', // User Property "k"="v"
			0, 3, 'c', 'i', 'd', // client identifier "cid"
			21,         // will property length 21
			0x01, 0x01, // Payload Format Indicator 1 (UTF-8)
			0x03, 0, 4, 't', 'e', 'x', 't', // Content Type "text"
			0x18, 0, 0, 0, 10, // Will Delay Interval 10
			0x26, 0, 1, 'a', 0, 1, 'b', // User Property "a"="b"
			0, 1, 'w', // will topic "w"
			0, 3, 'b', 'y', 'e', // will payload "bye"
			0, 1, 'u', // user name "u"
			0, 1, 'p', // password "p"
		},
		want: &Connect{ProtocolName: b("MQTT"), ProtocolLevel: V5, CleanSession: true, KeepAlive: 10,
			Properties: mkProps(PropSessionExpiry, 120, PropReceiveMaximum, 20, PropUser, "k", "v"),
			ClientID:   b("cid"),
			WillFlag:   true, WillQoS: 1,
			WillProperties: mkProps(PropPayloadFormat, 1, PropContentType, "text", PropWillDelay, 10, PropUser, "a", "b"),
			WillTopic:      b("w"), WillPayload: b("bye"),
			UsernameFlag: true, PasswordFlag: true, Username: b("u"), Password: b("p")},
	},
	{
		name: "connect/password-without-user",
		raw: []byte{
			0x10, 26, // CONNECT, remaining length 26
			0, 4, 'M', 'Q', 'T', 'T', // protocol name
			5,    // protocol level 5
			0x40, // flags: password only (allowed from 5.0 on)
			0, 0, // keep alive 0
			8,                                   // property length 8
			0x15, 0, 5, 'P', 'L', 'A', 'I', 'N', // Authentication Method "PLAIN"
			0, 0, // client identifier ""
			0, 3, 's', 'e', 'c', // password "sec"
		},
		want: &Connect{ProtocolName: b("MQTT"), ProtocolLevel: V5,
			Properties: mkProps(PropAuthMethod, "PLAIN"), ClientID: b(""),
			PasswordFlag: true, Password: b("sec")},
	},
	{
		name: "connack/short",
		raw: []byte{
			0x20, 3, // CONNACK, remaining length 3
			0x00, // acknowledge flags
			0x00, // reason code: success
			0,    // property length 0
		},
		want: &Connack{},
	},
	{
		name: "connack/properties",
		raw: []byte{
			0x20, 19, // CONNACK, remaining length 19
			0x01,                                     // session present
			0x00,                                     // reason code: success
			16,                                       // property length 16
			0x12, 0, 6, 'a', 'u', 't', 'o', '-', '1', // Assigned Client Identifier "auto-1"
			0x22, 0, 10, // Topic Alias Maximum 10
			0x24, 1, // Maximum QoS 1
			0x25, 0, // Retain Available 0
		},
		want: &Connack{SessionPresent: true,
			Properties: mkProps(PropAssignedClientID, "auto-1", PropTopicAliasMaximum, 10, PropMaximumQoS, 1, PropRetainAvailable, 0)},
	},
	{
		name: "connack/refused-reason-string",
		raw: []byte{
			0x20, 8, // CONNACK, remaining length 8
			0x00,                 // acknowledge flags
			0x87,                 // reason code: not authorized
			5,                    // property length 5
			0x1f, 0, 2, 'n', 'o', // Reason String "no"
		},
		want: &Connack{ReturnCode: 0x87, Properties: mkProps(PropReasonString, "no")},
	},
	{
		name: "publish/qos0",
		raw: []byte{
			0x30, 8, // PUBLISH QoS 0, remaining length 8
			0, 3, 'a', '/', 'b', // topic name "a/b"
			0,        // property length 0
			'h', 'i', // payload
		},
		want: &Publish{Topic: b("a/b"), Payload: b("hi")},
	},
	{
		name: "publish/qos1-properties",
		raw: []byte{
			0x32, 52, // PUBLISH QoS 1, remaining length 52
			0, 3, 'a', '/', 'b', // topic name "a/b"
			0, 1, // packet identifier 1
			39,         // property length 39
			0x01, 0x01, // Payload Format Indicator 1
			0x02, 0, 0, 0, 60, // Message Expiry Interval 60
			0x08, 0, 1, 'r', // Response Topic "r"
			0x09, 0, 2, 'i', 'd', // Correlation Data "id"
			0x0b, 5, // Subscription Identifier 5
			0x0b, 0xac, 0x02, // Subscription Identifier 300 (two-byte varint)
			0x26, 0, 2, 'k', '1', 0, 2, 'v', '1', // User Property "k1"="v1"
			0x26, 0, 2, 'k', '2', 0, 2, 'v', '2', // User Property "k2"="v2"
			'h', 'e', 'l', 'l', 'o', // payload
		},
		want: &Publish{QoS: 1, Topic: b("a/b"), PacketID: 1,
			Properties: mkProps(PropPayloadFormat, 1, PropMessageExpiry, 60, PropResponseTopic, "r", PropCorrelationData, "id",
				PropSubscriptionID, 5, PropSubscriptionID, 300, PropUser, "k1", "v1", PropUser, "k2", "v2"),
			Payload: b("hello")},
	},
	{
		name: "publish/topic-alias-empty-topic",
		raw: []byte{
			0x30, 7, // PUBLISH QoS 0, remaining length 7
			0, 0, // topic name "" (the alias stands for it)
			3,          // property length 3
			0x23, 0, 1, // Topic Alias 1
			'x', // payload
		},
		want: &Publish{Topic: b(""), Properties: mkProps(PropTopicAlias, 1), Payload: b("x")},
	},
	{
		name: "puback/short",
		raw:  []byte{0x40, 2, 0, 1}, // PUBACK, len 2, id 1; reason 0x00 and no properties left out
		want: &Ack{PacketType: PUBACK, PacketID: 1},
	},
	{
		name: "puback/reason-only",
		raw: []byte{
			0x40, 3, // PUBACK, remaining length 3
			0, 1, // packet identifier 1
			0x10, // reason code: no matching subscribers; property length left out
		},
		want: &Ack{PacketType: PUBACK, PacketID: 1, ReasonCode: 0x10},
	},
	{
		name: "puback/reason-properties",
		raw: []byte{
			0x40, 17, // PUBACK, remaining length 17
			0, 1, // packet identifier 1
			0x80,                      // reason code: unspecified error
			13,                        // property length 13
			0x1f, 0, 3, 'b', 'a', 'd', // Reason String "bad"
			0x26, 0, 1, 'k', 0, 1, 'v', // User Property "k"="v"
		},
		want: &Ack{PacketType: PUBACK, PacketID: 1, ReasonCode: 0x80, Properties: mkProps(PropReasonString, "bad", PropUser, "k", "v")},
	},
	{
		name: "pubrec/reason-only",
		raw:  []byte{0x50, 3, 0, 2, 0x10}, // PUBREC, len 3, id 2, reason 0x10
		want: &Ack{PacketType: PUBREC, PacketID: 2, ReasonCode: 0x10},
	},
	{
		name: "pubrel/not-found",
		raw:  []byte{0x62, 3, 0, 2, 0x92}, // PUBREL, flags 0010, len 3, id 2, reason: packet identifier not found
		want: &Ack{PacketType: PUBREL, PacketID: 2, ReasonCode: 0x92},
	},
	{
		name: "pubcomp/short",
		raw:  []byte{0x70, 2, 0, 2}, // PUBCOMP, len 2, id 2
		want: &Ack{PacketType: PUBCOMP, PacketID: 2},
	},
	{
		name: "subscribe/options-properties",
		raw: []byte{
			0x82, 22, // SUBSCRIBE, flags 0010, remaining length 22
			0, 1, // packet identifier 1
			9,        // property length 9
			0x0b, 42, // Subscription Identifier 42
			0x26, 0, 1, 'k', 0, 1, 'v', // User Property "k"="v"
			0, 3, 'a', '/', '+', 0x2d, // filter "a/+": retain handling 2, RAP, no local, QoS 1
			0, 1, 'b', 0x00, // filter "b": QoS 0
		},
		want: &Subscribe{PacketID: 1, Properties: mkProps(PropSubscriptionID, 42, PropUser, "k", "v"),
			Filters: []Subscription{{b("a/+"), 0x2d}, {b("b"), 0}}},
	},
	{
		name: "subscribe/shared",
		raw: []byte{
			0x82, 18, // SUBSCRIBE, remaining length 18
			0, 2, // packet identifier 2
			0,                                                                 // property length 0
			0, 12, '$', 's', 'h', 'a', 'r', 'e', '/', 'g', '/', 'a', '/', '#', // filter "$share/g/a/#"
			0x02, // QoS 2
		},
		want: &Subscribe{PacketID: 2, Filters: []Subscription{{b("$share/g/a/#"), 2}}},
	},
	{
		name: "suback",
		raw: []byte{
			0x90, 5, // SUBACK, remaining length 5
			0, 1, // packet identifier 1
			0,          // property length 0
			0x01, 0x00, // granted QoS 1, granted QoS 0
		},
		want: &Suback{PacketID: 1, ReturnCodes: []byte{0x01, 0x00}},
	},
	{
		name: "suback/reason-string",
		raw: []byte{
			0x90, 9, // SUBACK, remaining length 9
			0, 2, // packet identifier 2
			4,               // property length 4
			0x1f, 0, 1, 'x', // Reason String "x"
			0x80, 0x97, // unspecified error, quota exceeded
		},
		want: &Suback{PacketID: 2, Properties: mkProps(PropReasonString, "x"), ReturnCodes: []byte{0x80, 0x97}},
	},
	{
		name: "unsubscribe",
		raw: []byte{
			0xa2, 8, // UNSUBSCRIBE, flags 0010, remaining length 8
			0, 3, // packet identifier 3
			0,                   // property length 0
			0, 3, 'a', '/', '+', // filter "a/+"
		},
		want: &Unsubscribe{PacketID: 3, Filters: [][]byte{b("a/+")}},
	},
	{
		name: "unsubscribe/user-property",
		raw: []byte{
			0xa2, 18, // UNSUBSCRIBE, remaining length 18
			0, 4, // packet identifier 4
			9,                                    // property length 9
			0x26, 0, 2, 'i', 'd', 0, 2, '4', '2', // User Property "id"="42"
			0, 1, 'x', // filter "x"
			0, 1, 'y', // filter "y"
		},
		want: &Unsubscribe{PacketID: 4, Properties: mkProps(PropUser, "id", "42"), Filters: [][]byte{b("x"), b("y")}},
	},
	{
		name: "unsuback",
		raw: []byte{
			0xb0, 5, // UNSUBACK, remaining length 5
			0, 3, // packet identifier 3
			0,          // property length 0
			0x00, 0x11, // success, no subscription existed
		},
		want: &Unsuback{PacketID: 3, ReasonCodes: []byte{0x00, 0x11}},
	},
	{name: "pingreq", v: V5, raw: []byte{0xc0, 0}, want: &Pingreq{}},   // PINGREQ, len 0
	{name: "pingresp", v: V5, raw: []byte{0xd0, 0}, want: &Pingresp{}}, // PINGRESP, len 0
	{
		name: "disconnect/short",
		raw:  []byte{0xe0, 0}, // DISCONNECT, len 0: reason 0x00, no properties
		want: &Disconnect{},
	},
	{
		name: "disconnect/with-will",
		raw:  []byte{0xe0, 1, 0x04}, // DISCONNECT, len 1, reason: disconnect with Will Message
		want: &Disconnect{ReasonCode: 0x04},
	},
	{
		name: "disconnect/properties",
		raw: []byte{
			0xe0, 13, // DISCONNECT, remaining length 13
			0x00,                   // reason code: normal disconnection
			11,                     // property length 11
			0x11, 0, 0, 0x0e, 0x10, // Session Expiry Interval 3600
			0x1f, 0, 3, 'b', 'y', 'e', // Reason String "bye"
		},
		want: &Disconnect{Properties: mkProps(PropSessionExpiry, 3600, PropReasonString, "bye")},
	},
	{
		name: "auth/short",
		raw:  []byte{0xf0, 0}, // AUTH, len 0: reason 0x00 (success), no properties
		want: &Auth{},
	},
	{
		name: "auth/continue",
		raw: []byte{
			0xf0, 16, // AUTH, remaining length 16
			0x18,                                // reason code: continue authentication
			14,                                  // property length 14
			0x15, 0, 5, 'S', 'C', 'R', 'A', 'M', // Authentication Method "SCRAM"
			0x16, 0, 3, 1, 2, 3, // Authentication Data 01 02 03
		},
		want: &Auth{ReasonCode: 0x18, Properties: mkProps(PropAuthMethod, "SCRAM", PropAuthData, "\x01\x02\x03")},
	},
}

// goldens returns every golden fixture with its level filled in.
func goldens() []golden {
	var all []golden
	for _, set := range []struct {
		v  Version
		gs []golden
	}{{V31, goldenV31}, {V311, goldenV311}, {V5, goldenV5}} {
		for _, g := range set.gs {
			g.v = set.v
			g.name = set.v.String() + "/" + g.name
			all = append(all, g)
		}
	}
	return all
}

func TestGoldenDecode(t *testing.T) {
	for _, g := range goldens() {
		t.Run(g.name, func(t *testing.T) {
			d := &Decoder{Version: g.v, Strict: true}
			got, n, err := d.Decode(g.raw)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if n != len(g.raw) {
				t.Errorf("Decode used %d bytes, want %d", n, len(g.raw))
			}
			if !d.Canonical() {
				t.Errorf("Canonical() = false for a golden packet")
			}
			if got.Type() != g.want.Type() {
				t.Fatalf("type %s, want %s", got.Type(), g.want.Type())
			}
			if diff := diffPackets(got, g.want); diff != "" {
				t.Errorf("decoded packet differs:\n%s", diff)
			}
		})
	}
}

func TestGoldenEncode(t *testing.T) {
	for _, g := range goldens() {
		t.Run(g.name, func(t *testing.T) {
			got, err := g.want.Append(nil, g.v)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if !bytes.Equal(got, g.raw) {
				t.Errorf("Append:\n got % x\nwant % x", got, g.raw)
			}
			// Appending keeps what dst already holds.
			prefix := []byte("prefix")
			got2, err := g.want.Append(prefix, g.v)
			if err != nil || !bytes.Equal(got2[:6], prefix) || !bytes.Equal(got2[6:], g.raw) {
				t.Errorf("Append to a non-empty dst: % x, %v", got2, err)
			}
		})
	}
}

// TestGoldenDecodeReuse decodes every fixture of a level with one Decoder,
// twice over, so that state left by one packet cannot leak into the next.
func TestGoldenDecodeReuse(t *testing.T) {
	for _, v := range []Version{V31, V311, V5} {
		d := &Decoder{Version: v, Strict: true}
		for round := 0; round < 2; round++ {
			for _, g := range goldens() {
				if g.v != v {
					continue
				}
				got, _, err := d.Decode(g.raw)
				if err != nil {
					t.Fatalf("%s: %v", g.name, err)
				}
				if diff := diffPackets(got, g.want); diff != "" {
					t.Errorf("%s (round %d): %s", g.name, round, diff)
				}
			}
		}
	}
}

// TestDecodeZeroVersion checks that a Decoder with no Version speaks 3.1.1.
func TestDecodeZeroVersion(t *testing.T) {
	var d Decoder
	for _, g := range goldenV311 {
		got, _, err := d.Decode(g.raw)
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		if diff := diffPackets(got, g.want); diff != "" {
			t.Errorf("%s: %s", g.name, diff)
		}
		enc, err := got.Append(nil, 0)
		if err != nil || !bytes.Equal(enc, g.raw) {
			t.Errorf("%s: Append(v=0) = % x, %v", g.name, enc, err)
		}
	}
}
