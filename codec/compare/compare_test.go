package compare

import (
	"bytes"
	"fmt"
	"testing"

	pp "github.com/eclipse/paho.golang/packets"
	p3 "github.com/eclipse/paho.mqtt.golang/packets"
	mp "github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqtt-check/mqtt-check/codec"
)

// packet is one benchmark packet; raw is what our encoder writes for it,
// and every codec decodes those same bytes.
type packet struct {
	name string
	v    codec.Version
	raw  []byte
}

func props(f func(p *codec.Properties)) codec.Properties {
	var p codec.Properties
	f(&p)
	return p
}

const topic = "sensors/room1/t1" // 16 bytes

func packets() []packet {
	payload100 := bytes.Repeat([]byte{'p'}, 100)
	payload1k := bytes.Repeat([]byte{'p'}, 1024)
	type def struct {
		name string
		p    codec.Packet
		only codec.Version // 0: both levels
	}
	defs := []def{
		{"publish-qos0", &codec.Publish{Topic: []byte(topic), Payload: payload100}, 0},
		{"publish-qos1", &codec.Publish{QoS: 1, PacketID: 1, Topic: []byte(topic), Payload: payload1k}, 0},
		{"publish-props", &codec.Publish{QoS: 1, PacketID: 1, Topic: []byte(topic), Payload: payload100,
			Properties: props(func(p *codec.Properties) {
				p.SetBytes(codec.PropContentType, []byte("application/json"))
				p.AddUser([]byte("trace-id"), []byte("4bf92f3577b34da6"))
				p.AddUser([]byte("region"), []byte("eu-west-1"))
			})}, codec.V5},
		{"connect", &codec.Connect{CleanSession: true, KeepAlive: 30, ClientID: []byte("mqtt-check-bench-01"),
			WillFlag: true, WillQoS: 1, WillRetain: true, WillTopic: []byte("clients/bench-01/status"), WillPayload: []byte("offline"),
			UsernameFlag: true, Username: []byte("bench-user"), PasswordFlag: true, Password: []byte("bench-password")}, 0},
		{"subscribe", &codec.Subscribe{PacketID: 10, Filters: []codec.Subscription{
			{Filter: []byte("sensors/+/temperature"), Options: 1}, {Filter: []byte("alerts/#"), Options: 2},
			{Filter: []byte("clients/bench-01/status"), Options: 0}}}, 0},
		{"puback", &codec.Ack{PacketType: codec.PUBACK, PacketID: 1}, 0},
		{"pingreq", &codec.Pingreq{}, 0},
	}
	var out []packet
	for _, d := range defs {
		for _, v := range []codec.Version{codec.V311, codec.V5} {
			if d.only != 0 && d.only != v {
				continue
			}
			raw, err := d.p.Append(nil, v)
			if err != nil {
				panic(err)
			}
			out = append(out, packet{d.name, v, raw})
		}
	}
	return out
}

// impl is one codec under test. decoder returns a function that decodes
// raw once (set-up such as reusable structs happens before); encoder
// returns one that encodes p, a value its decoder returned, once.
type impl struct {
	name     string
	supports func(codec.Version) bool
	decoder  func(raw []byte, v codec.Version) func() (any, error)
	encoder  func(p any, v codec.Version) func() ([]byte, error)
}

var impls = []impl{
	{"mqttcheck", func(codec.Version) bool { return true }, ourDecoder, ourEncoder},
	{"mochi", func(codec.Version) bool { return true }, mochiDecoder, mochiEncoder},
	{"paho", func(v codec.Version) bool { return v == codec.V5 }, pahoDecoder, pahoEncoder},
	{"paho3", func(v codec.Version) bool { return v == codec.V311 }, paho3Decoder, paho3Encoder},
}

// header parses a fixed header for the codecs whose API starts after it.
func header(raw []byte) (rem, n int) {
	mul := 0
	for i := 1; i < 5; i++ {
		rem |= int(raw[i]&0x7f) << mul
		if raw[i]&0x80 == 0 {
			return rem, i + 1
		}
		mul += 7
	}
	panic("bad remaining length")
}

// ---- mqtt-check ----

func ourDecoder(raw []byte, v codec.Version) func() (any, error) {
	d := &codec.Decoder{Version: v, Strict: true}
	return func() (any, error) {
		p, _, err := d.Decode(raw)
		return p, err
	}
}

func ourEncoder(p any, v codec.Version) func() ([]byte, error) {
	pkt := p.(codec.Packet)
	dst := make([]byte, 0, 2048)
	return func() ([]byte, error) {
		var err error
		dst, err = pkt.Append(dst[:0], v)
		return dst, err
	}
}

// ---- mochi-mqtt ----

// mochiDecoder follows mochi's server read loop: FixedHeader.Decode on
// the first byte, DecodeLength, then the packet type's Decode method on
// the body. The Packet struct is reused (zeroed) instead of allocated.
func mochiDecoder(raw []byte, v codec.Version) func() (any, error) {
	pk := new(mp.Packet)
	br := bytes.NewReader(nil)
	return func() (any, error) {
		*pk = mp.Packet{ProtocolVersion: byte(v)}
		if err := pk.FixedHeader.Decode(raw[0]); err != nil {
			return nil, err
		}
		br.Reset(raw[1:])
		rem, n, err := mp.DecodeLength(br)
		if err != nil {
			return nil, err
		}
		pk.FixedHeader.Remaining = rem
		body := raw[1+n : 1+n+rem]
		switch pk.FixedHeader.Type {
		case mp.Publish:
			err = pk.PublishDecode(body)
		case mp.Connect:
			err = pk.ConnectDecode(body)
		case mp.Subscribe:
			err = pk.SubscribeDecode(body)
		case mp.Puback:
			err = pk.PubackDecode(body)
		case mp.Pingreq:
			err = pk.PingreqDecode(body)
		default:
			err = fmt.Errorf("mochi: type %d not benchmarked", pk.FixedHeader.Type)
		}
		return pk, err
	}
}

func mochiEncoder(p any, v codec.Version) func() ([]byte, error) {
	pk := *p.(*mp.Packet)
	var buf bytes.Buffer
	return func() ([]byte, error) {
		buf.Reset()
		var err error
		switch pk.FixedHeader.Type {
		case mp.Publish:
			err = pk.PublishEncode(&buf)
		case mp.Connect:
			err = pk.ConnectEncode(&buf)
		case mp.Subscribe:
			err = pk.SubscribeEncode(&buf)
		case mp.Puback:
			err = pk.PubackEncode(&buf)
		case mp.Pingreq:
			err = pk.PingreqEncode(&buf)
		}
		return buf.Bytes(), err
	}
}

// ---- paho.golang (MQTT 5.0) ----

// pahoDecoder is packets.ReadPacket without its copy of the body: the
// content struct (reused, zeroed) unpacks straight from the input.
func pahoDecoder(raw []byte, _ codec.Version) func() (any, error) {
	var bb bytes.Buffer
	pub, con, sub, ack, ping := new(pp.Publish), new(pp.Connect), new(pp.Subscribe), new(pp.Puback), new(pp.Pingreq)
	pr1, pr2 := new(pp.Properties), new(pp.Properties)
	return func() (any, error) {
		rem, n := header(raw)
		bb = *bytes.NewBuffer(raw[n : n+rem])
		*pr1 = pp.Properties{}
		var c pp.Packet
		switch raw[0] >> 4 {
		case pp.PUBLISH:
			*pub = pp.Publish{Properties: pr1, QoS: (raw[0] >> 1) & 3, Duplicate: raw[0]&8 != 0, Retain: raw[0]&1 != 0}
			c = pub
		case pp.CONNECT:
			*pr2 = pp.Properties{}
			*con = pp.Connect{Properties: pr1, WillProperties: pr2}
			c = con
		case pp.SUBSCRIBE:
			*sub = pp.Subscribe{Properties: pr1}
			c = sub
		case pp.PUBACK:
			*ack = pp.Puback{Properties: pr1}
			c = ack
		case pp.PINGREQ:
			c = ping
		}
		return c, c.Unpack(&bb)
	}
}

func pahoEncoder(p any, _ codec.Version) func() ([]byte, error) {
	var t, flags byte
	switch p.(type) {
	case *pp.Publish:
		t = pp.PUBLISH
	case *pp.Connect:
		t = pp.CONNECT
	case *pp.Subscribe:
		t, flags = pp.SUBSCRIBE, 2
	case *pp.Puback:
		t = pp.PUBACK
	case *pp.Pingreq:
		t = pp.PINGREQ
	}
	cp := &pp.ControlPacket{FixedHeader: pp.FixedHeader{Type: t, Flags: flags}, Content: p.(pp.Packet)}
	var buf bytes.Buffer
	return func() ([]byte, error) {
		buf.Reset()
		_, err := cp.WriteTo(&buf)
		return buf.Bytes(), err
	}
}

// ---- paho.mqtt.golang (MQTT 3.1.1) ----

// paho3Decoder is packets.ReadPacket without its copy of the body.
func paho3Decoder(raw []byte, _ codec.Version) func() (any, error) {
	var bb bytes.Buffer
	pub, con, sub, ack, ping := new(p3.PublishPacket), new(p3.ConnectPacket), new(p3.SubscribePacket), new(p3.PubackPacket), new(p3.PingreqPacket)
	return func() (any, error) {
		rem, n := header(raw)
		fh := p3.FixedHeader{MessageType: raw[0] >> 4, Dup: raw[0]&8 != 0, Qos: (raw[0] >> 1) & 3, Retain: raw[0]&1 != 0, RemainingLength: rem}
		bb = *bytes.NewBuffer(raw[n : n+rem])
		var c p3.ControlPacket
		switch fh.MessageType {
		case p3.Publish:
			*pub = p3.PublishPacket{FixedHeader: fh}
			c = pub
		case p3.Connect:
			*con = p3.ConnectPacket{FixedHeader: fh}
			c = con
		case p3.Subscribe:
			*sub = p3.SubscribePacket{FixedHeader: fh}
			c = sub
		case p3.Puback:
			*ack = p3.PubackPacket{FixedHeader: fh}
			c = ack
		case p3.Pingreq:
			*ping = p3.PingreqPacket{FixedHeader: fh}
			c = ping
		}
		return c, c.Unpack(&bb)
	}
}

func paho3Encoder(p any, _ codec.Version) func() ([]byte, error) {
	cp := p.(p3.ControlPacket)
	var buf bytes.Buffer
	return func() ([]byte, error) {
		buf.Reset()
		err := cp.Write(&buf)
		return buf.Bytes(), err
	}
}

// TestSameWork checks that every codec decodes every packet it supports
// and encodes it back to bytes our strict decoder reads as the same
// packet, so that the benchmarks compare the same work.
func TestSameWork(t *testing.T) {
	for _, pk := range packets() {
		want := decodeFormat(t, pk.raw, pk.v)
		for _, im := range impls {
			if !im.supports(pk.v) {
				continue
			}
			t.Run(fmt.Sprintf("%s/v=%d/%s", pk.name, pk.v, im.name), func(t *testing.T) {
				p, err := im.decoder(pk.raw, pk.v)()
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				enc, err := im.encoder(p, pk.v)()
				if err != nil {
					t.Fatalf("encode: %v", err)
				}
				if got := decodeFormat(t, enc, pk.v); got != want {
					t.Errorf("round trip:\n got %s\nwant %s", got, want)
				}
				if len(enc) != len(pk.raw) {
					t.Logf("encodes %d bytes where we write %d:\n% x\n% x", len(enc), len(pk.raw), enc, pk.raw)
				}
			})
		}
	}
}

func decodeFormat(t *testing.T, raw []byte, v codec.Version) string {
	t.Helper()
	d := &codec.Decoder{Version: v, Strict: true}
	p, n, err := d.Decode(raw)
	if err != nil || n != len(raw) {
		t.Fatalf("our decoder: %v (%d of %d bytes)\n% x", err, n, len(raw), raw)
	}
	return codec.Format(p, v)
}

func BenchmarkDecode(b *testing.B) {
	for _, pk := range packets() {
		for _, im := range impls {
			if !im.supports(pk.v) {
				continue
			}
			b.Run(fmt.Sprintf("packet=%s/v=%d/codec=%s", pk.name, pk.v, im.name), func(b *testing.B) {
				decode := im.decoder(pk.raw, pk.v)
				b.ReportAllocs()
				b.SetBytes(int64(len(pk.raw)))
				for b.Loop() {
					if _, err := decode(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, pk := range packets() {
		for _, im := range impls {
			if !im.supports(pk.v) {
				continue
			}
			b.Run(fmt.Sprintf("packet=%s/v=%d/codec=%s", pk.name, pk.v, im.name), func(b *testing.B) {
				// Encode what this codec decoded from the same bytes, so
				// that each one encodes its own representation.
				p, err := im.decoder(pk.raw, pk.v)()
				if err != nil {
					b.Fatal(err)
				}
				encode := im.encoder(p, pk.v)
				b.ReportAllocs()
				b.SetBytes(int64(len(pk.raw)))
				for b.Loop() {
					if _, err := encode(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
