package codec

import (
	"bytes"
	"strconv"
	"testing"
)

// benchPacket is a packet the benchmarks and allocation tests use, with
// its encoding.
type benchPacket struct {
	name string
	v    Version
	p    Packet
	raw  []byte
}

// The topic is 16 bytes long.
const benchTopic = "sensors/room1/t1"

func mustEncode(p Packet, v Version) []byte {
	raw, err := p.Append(nil, v)
	if err != nil {
		panic(err)
	}
	return raw
}

func newBench(name string, v Version, p Packet) benchPacket {
	return benchPacket{name, v, p, mustEncode(p, v)}
}

var (
	benchPublishQoS0 = newBench("qos=0", V311, &Publish{Topic: b(benchTopic), Payload: bytes.Repeat([]byte{'p'}, 100)})
	benchPublishQoS1 = newBench("qos=1", V311, &Publish{QoS: 1, PacketID: 1, Topic: b(benchTopic), Payload: bytes.Repeat([]byte{'p'}, 1024)})
	benchConnect     = newBench("connect", V311, &Connect{ProtocolName: b("MQTT"), ProtocolLevel: V311, CleanSession: true, KeepAlive: 30, ClientID: b("mqtt-check-bench-01"),
		WillFlag: true, WillQoS: 1, WillRetain: true, WillTopic: b("clients/bench-01/status"), WillPayload: b("offline"),
		UsernameFlag: true, Username: b("bench-user"), PasswordFlag: true, Password: b("bench-password")})
	benchSubscribe = newBench("subscribe", V311, &Subscribe{PacketID: 10, Filters: []Subscription{
		{b("sensors/+/temperature"), 1}, {b("alerts/#"), 2}, {b("clients/bench-01/status"), 0}}})
	benchPuback    = newBench("puback", V311, &Ack{PacketType: PUBACK, PacketID: 1})
	benchPingreq   = newBench("pingreq", V311, &Pingreq{})
	benchPublishV5 = newBench("publish-v5", V5, &Publish{QoS: 1, PacketID: 1, Topic: b(benchTopic),
		Properties: mkProps(PropContentType, "application/json", PropUser, "trace-id", "4bf92f3577b34da6", PropUser, "region", "eu-west-1"),
		Payload:    bytes.Repeat([]byte{'p'}, 100)})
)

var benchPackets = []benchPacket{benchPublishQoS0, benchPublishQoS1, benchConnect, benchSubscribe, benchPuback, benchPingreq, benchPublishV5}

func benchDecode(b *testing.B, bp benchPacket) {
	d := &Decoder{Version: bp.v, Strict: true}
	b.ReportAllocs()
	b.SetBytes(int64(len(bp.raw)))
	for b.Loop() {
		if _, _, err := d.Decode(bp.raw); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEncode(b *testing.B, bp benchPacket) {
	dst := make([]byte, 0, 2*len(bp.raw))
	b.ReportAllocs()
	b.SetBytes(int64(len(bp.raw)))
	for b.Loop() {
		var err error
		if dst, err = bp.p.Append(dst[:0], bp.v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePublish(b *testing.B) {
	for _, bp := range []benchPacket{benchPublishQoS0, benchPublishQoS1} {
		b.Run(bp.name, func(b *testing.B) { benchDecode(b, bp) })
	}
}

func BenchmarkEncodePublish(b *testing.B) {
	for _, bp := range []benchPacket{benchPublishQoS0, benchPublishQoS1} {
		b.Run(bp.name, func(b *testing.B) { benchEncode(b, bp) })
	}
}

func BenchmarkDecodeConnect(b *testing.B)   { benchDecode(b, benchConnect) }
func BenchmarkEncodeConnect(b *testing.B)   { benchEncode(b, benchConnect) }
func BenchmarkDecodeSubscribe(b *testing.B) { benchDecode(b, benchSubscribe) }
func BenchmarkEncodeSubscribe(b *testing.B) { benchEncode(b, benchSubscribe) }
func BenchmarkDecodePuback(b *testing.B)    { benchDecode(b, benchPuback) }
func BenchmarkEncodePuback(b *testing.B)    { benchEncode(b, benchPuback) }
func BenchmarkDecodePingreq(b *testing.B)   { benchDecode(b, benchPingreq) }
func BenchmarkEncodePingreq(b *testing.B)   { benchEncode(b, benchPingreq) }
func BenchmarkDecodePublishV5(b *testing.B) { benchDecode(b, benchPublishV5) }
func BenchmarkEncodePublishV5(b *testing.B) { benchEncode(b, benchPublishV5) }

// BenchmarkReader reads a stream of QoS 1 PUBLISH packets through a Reader.
func BenchmarkReader(b *testing.B) {
	stream := bytes.Repeat(benchPublishQoS0.raw, 64)
	src := bytes.NewReader(stream)
	rd := NewReader(src)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPublishQoS0.raw)))
	for b.Loop() {
		if src.Len() == 0 {
			src.Reset(stream)
		}
		if _, _, err := rd.ReadPacket(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestZeroAllocs checks the contract: decoding into a Decoder that has
// seen the packet type before, and encoding into a buffer with room,
// allocate nothing.
func TestZeroAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts in -short mode")
	}
	for _, bp := range benchPackets {
		t.Run(bp.name+"/decode", func(t *testing.T) {
			d := &Decoder{Version: bp.v, Strict: true}
			var err error
			n := testing.AllocsPerRun(100, func() {
				_, _, err = d.Decode(bp.raw)
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("Decode: %v allocs/op, want 0", n)
			}
		})
		t.Run(bp.name+"/encode", func(t *testing.T) {
			dst := make([]byte, 0, len(bp.raw))
			var err error
			n := testing.AllocsPerRun(100, func() {
				dst, err = bp.p.Append(dst[:0], bp.v)
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("Append: %v allocs/op, want 0", n)
			}
		})
	}
	// Every golden fixture decodes without allocating once warmed up, in
	// both modes, and re-encodes without allocating.
	for _, g := range goldens() {
		for _, strict := range []bool{true, false} {
			d := &Decoder{Version: g.v, Strict: strict}
			p, _, _ := d.Decode(g.raw)
			dst := make([]byte, 0, len(g.raw))
			n := testing.AllocsPerRun(20, func() {
				p, _, _ = d.Decode(g.raw)
				dst, _ = p.Append(dst[:0], g.v)
			})
			if n != 0 {
				t.Errorf("%s (strict=%v): %v allocs per decode+encode, want 0", g.name, strict, n)
			}
		}
	}
	t.Run("reader", func(t *testing.T) {
		stream := bytes.Repeat(benchPublishQoS1.raw, 4)
		src := bytes.NewReader(stream)
		rd := NewReader(src)
		rd.ReadPacket() // grow the buffer once
		n := testing.AllocsPerRun(50, func() {
			if src.Len() == 0 {
				src.Reset(stream)
			}
			if _, _, err := rd.ReadPacket(); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("ReadPacket: %v allocs/op, want 0", n)
		}
	})
	t.Run("format", func(t *testing.T) {
		dst := make([]byte, 0, 512)
		n := testing.AllocsPerRun(50, func() {
			dst = AppendFormat(dst[:0], benchPublishV5.p, V5)
		})
		if n != 0 {
			t.Errorf("AppendFormat: %v allocs/op, want 0", n)
		}
	})
}

// TestBenchPackets checks that the benchmark packets decode to themselves.
func TestBenchPackets(t *testing.T) {
	for i, bp := range benchPackets {
		d := &Decoder{Version: bp.v, Strict: true}
		p, _, err := d.Decode(bp.raw)
		if err != nil {
			t.Fatalf("%d %s: %v", i, bp.name, err)
		}
		if diff := diffPackets(p, bp.p); diff != "" {
			t.Errorf("%s: %s", bp.name, diff)
		}
		if bp.name == "qos=0" && len(bp.raw) != 2+2+16+100 {
			t.Errorf("qos=0 packet is %s bytes", strconv.Itoa(len(bp.raw)))
		}
	}
}
