package codec

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestNonCanonical decodes legal packets written in a form the encoder
// does not write: strict decoding accepts them, Canonical says no, and
// re-encoding gives the encoder's form.
func TestNonCanonical(t *testing.T) {
	for _, c := range []struct {
		name string
		v    Version
		raw  []byte
		want []byte // the encoder's form
	}{
		{"5.0/puback/explicit-success", V5, []byte{
			0x40, 3, // PUBACK, remaining length 3
			0, 1, // packet identifier
			0x00, // reason code 0x00, which may be left out
		}, []byte{0x40, 2, 0, 1}},
		{"5.0/puback/empty-properties", V5, []byte{
			0x40, 4, // PUBACK, remaining length 4
			0, 1, // packet identifier
			0x10, // reason code
			0,    // property length 0, which may be left out
		}, []byte{0x40, 3, 0, 1, 0x10}},
		{"5.0/disconnect/explicit-success", V5, []byte{0xe0, 2, 0, 0}, []byte{0xe0, 0}},
		{"5.0/auth/explicit-success", V5, []byte{0xf0, 1, 0}, []byte{0xf0, 0}},
		{"5.0/publish/properties-out-of-order", V5, []byte{
			0x30, 9, // PUBLISH
			0, 1, 't', // topic
			5,          // property length
			0x23, 0, 1, // Topic Alias 1
			0x01, 1, // Payload Format Indicator 1: the encoder writes it first
		}, []byte{0x30, 9, 0, 1, 't', 5, 0x01, 1, 0x23, 0, 1}},
		{"3.1/subscribe/dup-flag", V31, []byte{
			0x8a, 6, // SUBSCRIBE with DUP and QoS 1: legal in 3.1
			0, 1, 0, 1, 'a', 0,
		}, []byte{0x82, 6, 0, 1, 0, 1, 'a', 0}},
		{"3.1/connack/reserved-bits", V31, []byte{0x20, 2, 0xfe, 0}, nil},
		{"3.1.1/connect/level-0", V311, []byte{
			0x10, 14, // CONNECT
			0, 4, 'M', 'Q', 'T', 'T', 0, // protocol level 0: parsed as 3.1.1, written as the encoder's level
			0x02, 0, 60, // flags, keep alive
			0, 2, 'c', '1', // client identifier
		}, []byte{0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 2, 'c', '1'}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := &Decoder{Version: c.v, Strict: true}
			p, _, err := d.Decode(c.raw)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			enc, err := p.Append(nil, c.v)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if d.Canonical() && !bytes.Equal(enc, c.raw) {
				t.Errorf("Canonical() = true, but re-encoding gives % x", enc)
			}
			if c.want != nil {
				if d.Canonical() {
					t.Errorf("Canonical() = true for a form the encoder does not write")
				}
				if !bytes.Equal(enc, c.want) {
					t.Errorf("re-encoded % x, want % x", enc, c.want)
				}
			}
			p2, _, err := (&Decoder{Version: c.v, Strict: true}).Decode(enc)
			if err != nil {
				t.Fatalf("re-encoded packet does not decode: %v", err)
			}
			if c.name != "3.1.1/connect/level-0" {
				if diff := diffPackets(p2, p); diff != "" {
					t.Errorf("re-encoded packet differs: %s", diff)
				}
			}
		})
	}
}

func TestAppendErrors(t *testing.T) {
	long := make([]byte, 0x10000)
	// 4097 filters of 65535 bytes, sharing one buffer, exceed the largest
	// remaining length.
	huge := &Subscribe{PacketID: 1, Filters: make([]Subscription, 4097)}
	for i := range huge.Filters {
		huge.Filters[i].Filter = long[:0xffff]
	}
	for _, c := range []struct {
		name string
		p    Packet
		v    Version
	}{
		{"publish/topic-too-long", &Publish{Topic: long}, V311},
		{"subscribe/filter-too-long", &Subscribe{PacketID: 1, Filters: []Subscription{{Filter: long}}}, V311},
		{"unsubscribe/filter-too-long", &Unsubscribe{PacketID: 1, Filters: [][]byte{long}}, V311},
		{"connect/client-id-too-long", &Connect{ClientID: long}, V311},
		{"connect/password-too-long", &Connect{PasswordFlag: true, Password: long}, V311},
		{"subscribe/too-large", huge, V311},
		{"ack/not-an-ack-type", &Ack{PacketType: PUBLISH, PacketID: 1}, V311},
		{"ack/zero-type", &Ack{PacketID: 1}, V311},
		{"auth/before-5", &Auth{}, V311},
	} {
		t.Run(c.name, func(t *testing.T) {
			dst := []byte("keep")
			out, err := c.p.Append(dst, c.v)
			var e *Error
			if !errors.As(err, &e) || e.Kind != Malformed {
				t.Fatalf("Append = %v, want a Malformed *Error", err)
			}
			if string(out) != "keep" {
				t.Errorf("Append changed dst on error: %q", out)
			}
		})
	}
	// An over-large packet is also ErrTooLarge.
	_, err := huge.Append(nil, V311)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("too large: %v, want ErrTooLarge", err)
	}
}

// TestAppendDefaults covers what the encoder fills in: the protocol name
// and level of a CONNECT, and the short forms of level-5 acknowledgements.
func TestAppendDefaults(t *testing.T) {
	for _, c := range []struct {
		name string
		p    Packet
		v    Version
		want []byte
	}{
		{"connect/level-from-v5", &Connect{CleanSession: true, ClientID: b("c")}, V5,
			[]byte{0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 0, 0, 0, 1, 'c'}},
		{"connect/level-from-v31", &Connect{ClientID: b("c")}, V31,
			[]byte{0x10, 15, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 0x00, 0, 0, 0, 1, 'c'}},
		{"connect/level-from-zero", &Connect{ClientID: b("c")}, 0,
			[]byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x00, 0, 0, 0, 1, 'c'}},
		{"connect/empty-name-kept", &Connect{ProtocolName: []byte{}, ProtocolLevel: V311, ClientID: b("c")}, V311,
			[]byte{0x10, 9, 0, 0, 4, 0x00, 0, 0, 0, 1, 'c'}},
		{"connect/will-flag-clear-drops-will-fields", &Connect{ClientID: b("c"), WillTopic: b("ignored")}, V311,
			[]byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x00, 0, 0, 0, 1, 'c'}},
		{"puback/v311-drops-reason", &Ack{PacketType: PUBACK, PacketID: 1, ReasonCode: 0x80}, V311, []byte{0x40, 2, 0, 1}},
		{"pubrel/flags", &Ack{PacketType: PUBREL, PacketID: 1}, V5, []byte{0x62, 2, 0, 1}},
		{"disconnect/v311-drops-reason", &Disconnect{ReasonCode: 0x04}, V311, []byte{0xe0, 0}},
		{"unsuback/v311-drops-codes", &Unsuback{PacketID: 1, ReasonCodes: []byte{0x11}}, V311, []byte{0xb0, 2, 0, 1}},
		{"connack/v311-drops-properties", &Connack{Properties: mkProps(PropMaximumQoS, 1)}, V311, []byte{0x20, 2, 0, 0}},
		{"publish/qos3-is-written", &Publish{QoS: 3, Topic: b("t"), PacketID: 1}, V311, []byte{0x36, 5, 0, 1, 't', 0, 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.p.Append(nil, c.v)
			if err != nil || !bytes.Equal(got, c.want) {
				t.Errorf("Append = % x, %v; want % x", got, err, c.want)
			}
		})
	}
}

func TestProperties(t *testing.T) {
	var p Properties
	if !p.Empty() || p.Has(PropUser) || p.Has(PropContentType) {
		t.Fatal("zero Properties is not empty")
	}
	p.SetUint(PropMessageExpiry, 60)
	p.SetBytes(PropContentType, b("text/plain"))
	p.SetUint(PropContentType, 7)        // wrong kind: ignored
	p.SetBytes(PropMessageExpiry, b("")) // wrong kind: ignored
	p.SetUint(0x7f, 1)                   // unknown: ignored
	p.SetBytes(0x7f, b("x"))             // unknown: ignored
	p.AddUser(b("k"), b("v"))
	p.SubscriptionIDs = append(p.SubscriptionIDs, 9)
	if v, ok := p.Uint(PropMessageExpiry); !ok || v != 60 {
		t.Errorf("Uint(MessageExpiry) = %d, %v", v, ok)
	}
	if v, ok := p.Bytes(PropContentType); !ok || string(v) != "text/plain" {
		t.Errorf("Bytes(ContentType) = %q, %v", v, ok)
	}
	if _, ok := p.Uint(PropContentType); ok {
		t.Errorf("Uint of a string property succeeded")
	}
	if _, ok := p.Bytes(PropMessageExpiry); ok {
		t.Errorf("Bytes of a numeric property succeeded")
	}
	if _, ok := p.Uint(0x7f); ok || p.Has(0x7f) {
		t.Errorf("unknown property present")
	}
	if !p.Has(PropUser) || !p.Has(PropSubscriptionID) {
		t.Errorf("Has(User/SubscriptionID) = false")
	}

	var q Properties
	q.CopyFrom(&p)
	buf := []byte("text/plain")
	p.SetBytes(PropContentType, buf)
	buf[0] = 'X'
	if v, _ := q.Bytes(PropContentType); string(v) != "text/plain" {
		t.Errorf("CopyFrom aliases: %q", v)
	}
	if diff := diffProps(&q, &Properties{}); diff == "" {
		t.Errorf("copy is empty")
	}

	p.Del(PropMessageExpiry)
	p.Del(PropContentType)
	p.Del(PropUser)
	p.Del(PropSubscriptionID)
	p.Del(0x7f)
	if !p.Empty() {
		t.Errorf("not empty after Del: %+v", p)
	}
	q.Reset()
	if !q.Empty() {
		t.Errorf("not empty after Reset")
	}
	if PropUser.String() != "User" || PropID(0x7f).String() != "Property(0x7f)" || PropID(0x04).String() != "Property(0x4)" {
		t.Errorf("PropID.String: %s %s %s", PropUser, PropID(0x7f), PropID(0x04))
	}
}

func TestStrings(t *testing.T) {
	if PUBLISH.String() != "PUBLISH" || Type(16).String() != "TYPE(16)" {
		t.Errorf("Type.String: %s %s", PUBLISH, Type(16))
	}
	if V31.String() != "3.1" || V311.String() != "3.1.1" || V5.String() != "5.0" || Version(9).String() != "level(9)" {
		t.Errorf("Version.String")
	}
	if V31.ProtocolName() != "MQIsdp" || V5.ProtocolName() != "MQTT" {
		t.Errorf("ProtocolName")
	}
	if Malformed.String() != "malformed" || Violation.String() != "violation" || Kind(0).String() != "error" {
		t.Errorf("Kind.String")
	}
	if RequiredFlags(PUBREL) != 2 || RequiredFlags(PUBLISH) != 0 || RequiredFlags(SUBSCRIBE) != 2 {
		t.Errorf("RequiredFlags")
	}
	e := &Error{Kind: Violation, Packet: PUBLISH, Field: "topic name", Reason: "wildcard", Rules: []string{"MQTT-3.3.2-2"}}
	if got, want := e.Error(), "codec: violation PUBLISH topic name: wildcard [MQTT-3.3.2-2]"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if errors.Is(e, ErrTooLarge) {
		t.Errorf("a violation is ErrTooLarge")
	}
	if !ValidReason(PUBACK, 0x10) || ValidReason(PUBACK, 0x01) || ValidReason(PINGREQ, 0) {
		t.Errorf("ValidReason")
	}
	if (Subscription{Options: 0x2d}).RetainHandling() != 2 || !(Subscription{Options: 0x2d}).NoLocal() ||
		!(Subscription{Options: 0x2d}).RetainAsPublished() || (Subscription{Options: 0x2d}).QoS() != 1 {
		t.Errorf("Subscription options")
	}
}

func TestFormat(t *testing.T) {
	d := &Decoder{Strict: true}
	for _, c := range []struct {
		name string
		v    Version
		raw  []byte
		want string
	}{
		{"publish", V311, findGolden(t, "3.1.1/publish/qos1-dup-retain").raw, `PUBLISH qos=1 dup=1 retain=1 id=7 topic="a/b" payload=2B "hi"`},
		{"publish-long", V311, cat([]byte{0x30, 0xcb, 0x01, 0, 1, 't'}, payload200),
			`PUBLISH qos=0 dup=0 retain=0 topic="t" payload=200B "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"...`},
		{"connect-will", V311, findGolden(t, "3.1.1/connect/will-user-password").raw,
			`CONNECT level=4 name="MQTT" clean=1 keepalive=30 id="cid" will{flag=1 qos=1 retain=1 topic="w/t" payload=3B "bye"} user="u" password=2B`},
		{"suback", V311, []byte{0x90, 5, 0, 10, 0x01, 0x02, 0x80}, `SUBACK id=10 [0x01 0x02 0x80]`},
		{"subscribe-v5", V5, findGolden(t, "5.0/subscribe/options-properties").raw,
			`SUBSCRIBE id=1 ["a/+" qos=1 opts=0x2d, "b" qos=0] props{SubscriptionID=42 User="k":"v"}`},
		{"puback-v5", V5, findGolden(t, "5.0/puback/reason-properties").raw, `PUBACK id=1 rc=0x80 props{ReasonString="bad" User="k":"v"}`},
		{"unsuback-v5", V5, []byte{0xb0, 5, 0, 3, 0, 0x00, 0x11}, `UNSUBACK id=3 [0x00 0x11]`},
		{"auth", V5, findGolden(t, "5.0/auth/continue").raw, `AUTH rc=0x18 props{AuthMethod="SCRAM" AuthData=3B}`},
		{"connack", V5, findGolden(t, "5.0/connack/properties").raw,
			`CONNACK session-present=1 rc=0x00 props{AssignedClientID="auto-1" TopicAliasMaximum=10 MaximumQoS=1 RetainAvailable=0}`},
		{"pingreq", V311, []byte{0xc0, 0}, `PINGREQ`},
		{"unsubscribe", V311, findGolden(t, "3.1.1/unsubscribe").raw, `UNSUBSCRIBE id=11 ["a/+", "c"]`},
		{"disconnect-v5", V5, []byte{0xe0, 1, 0x04}, `DISCONNECT rc=0x04`},
	} {
		t.Run(c.name, func(t *testing.T) {
			d.Version = c.v
			p, _, err := d.Decode(c.raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := Format(p, c.v); got != c.want {
				t.Errorf("Format =\n%s\nwant\n%s", got, c.want)
			}
			if got := string(AppendFormat([]byte("> "), p, c.v)); got != "> "+c.want {
				t.Errorf("AppendFormat = %q", got)
			}
		})
	}
	// Invalid UTF-8 and control bytes stay visible.
	p := &Publish{Topic: []byte{'a', 0, 0xff}}
	if got := Format(p, V311); !strings.Contains(got, `topic="a\x00\xff"`) {
		t.Errorf("Format = %s", got)
	}
}

func findGolden(t *testing.T, name string) golden {
	t.Helper()
	for _, g := range goldens() {
		if g.name == name {
			return g
		}
	}
	t.Fatalf("no golden fixture %q", name)
	return golden{}
}

func TestVarInt(t *testing.T) {
	for _, c := range []struct {
		x   uint32
		enc []byte
	}{
		{0, []byte{0x00}},
		{127, []byte{0x7f}},
		{128, []byte{0x80, 0x01}},
		{16383, []byte{0xff, 0x7f}},
		{16384, []byte{0x80, 0x80, 0x01}},
		{2097151, []byte{0xff, 0xff, 0x7f}},
		{2097152, []byte{0x80, 0x80, 0x80, 0x01}},
		{MaxRemainingLength, []byte{0xff, 0xff, 0xff, 0x7f}},
	} {
		got := AppendVarInt(nil, c.x)
		if !bytes.Equal(got, c.enc) || VarIntLen(c.x) != len(c.enc) {
			t.Errorf("AppendVarInt(%d) = % x (len %d), want % x", c.x, got, VarIntLen(c.x), c.enc)
		}
		x, n, st := readVarInt(c.enc)
		if x != c.x || n != len(c.enc) || st != varOK {
			t.Errorf("readVarInt(% x) = %d, %d, %d", c.enc, x, n, st)
		}
	}
	if _, _, st := readVarInt([]byte{0x80, 0x00}); st != varOverlong {
		t.Errorf("overlong form not reported")
	}
	if _, _, st := readVarInt([]byte{0x80, 0x80}); st != varShort {
		t.Errorf("short form not reported")
	}
	if _, _, st := readVarInt([]byte{0x80, 0x80, 0x80, 0x80, 0x01}); st != varTooLong {
		t.Errorf("five-byte form not reported")
	}
}

func TestValidUTF8(t *testing.T) {
	for _, c := range []struct {
		s           string
		ok, hasNull bool
	}{
		{"", true, false},
		{"plain/ascii", true, false},
		{"a\x00", true, true},
		{"\u00e9t\u00e9", true, false},
		{"\u00e9\x00", true, true},
		{"\x00\u00e9", true, true},
		{"\xff", false, false},
		{"\xed\xa0\x80", false, false}, // surrogate
		{"\xc0\xaf", false, false},     // overlong
		{"\ufeffbom", true, false},     // a BOM is kept as it is (MQTT-1.5.3-3)
		{"\U0001F600", true, false},
	} {
		ok, null := validUTF8([]byte(c.s))
		if ok != c.ok || null != c.hasNull {
			t.Errorf("validUTF8(%q) = %v, %v; want %v, %v", c.s, ok, null, c.ok, c.hasNull)
		}
	}
}

// TestPlainASCII checks the word-at-a-time scan against a byte loop.
func TestPlainASCII(t *testing.T) {
	naive := func(b []byte, noWild bool) bool {
		for _, c := range b {
			if c >= 0x80 || c == 0 || noWild && (c == '+' || c == '#') {
				return false
			}
		}
		return true
	}
	special := []byte{0, 1, '#', '+', '"', '*', '+' | 0x80, '#' | 0x80, 0x7f, 0x80, 0xff, 0x2b ^ 0x08, 0x2b | 0x10}
	rng := uint64(1)
	for n := 0; n <= 40; n++ {
		for trial := 0; trial < 200; trial++ {
			b := make([]byte, n)
			for i := range b {
				rng = rng*6364136223846793005 + 1442695040888963407
				b[i] = 'a' + byte(rng>>59)
				if rng>>40&7 == 0 {
					b[i] = special[int(rng>>20)%len(special)]
				}
			}
			for _, noWild := range []bool{false, true} {
				if got, want := plainASCII(b, noWild), naive(b, noWild); got != want {
					t.Fatalf("plainASCII(%q, %v) = %v, want %v", b, noWild, got, want)
				}
				if noWild && plainTopic(b) != naive(b, true) {
					t.Fatalf("plainTopic(%q) = %v", b, !naive(b, true))
				}
			}
		}
	}
}
