package capture

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/mqtt-check/mqtt-check/codec"
)

// messyCase is a hand-made capture of one connection and what Decode must
// make of it.
type messyCase struct {
	name  string
	snap  uint32
	write func(t *testing.T, s *segWriter, c, b []byte)
	// want are the packets ("dir TYPE") in order; notes are substrings
	// the notes must contain.
	want  []string
	notes []string
	// wantViolations is the number of violations expected.
	wantViolations int
}

func TestDecodeMessyCaptures(t *testing.T) {
	// c is the client's stream, b the broker's.
	c := enc(t, codec.V311, connect("messy", 30), publish("t/1", "one", 1, 1), publish("t/2", strings.Repeat("x", 300), 0, 0),
		&codec.Pingreq{}, &codec.Disconnect{})
	b := enc(t, codec.V311, &codec.Connack{}, &codec.Ack{PacketType: codec.PUBACK, PacketID: 1}, &codec.Pingresp{})
	// Boundaries in c: CONNECT 0..19, PUBLISH q1 ..33, PUBLISH 300B .., PINGREQ, DISCONNECT.
	connectLen := len(enc(t, codec.V311, connect("messy", 30)))
	pub1Len := len(enc(t, codec.V311, publish("t/1", "one", 1, 1)))
	bigStart := connectLen + pub1Len
	bigLen := len(enc(t, codec.V311, publish("t/2", strings.Repeat("x", 300), 0, 0)))
	// allLate is all with the last PINGRESP after the DISCONNECT.
	allLate := []string{"client->broker CONNECT", "broker->client CONNACK", "client->broker PUBLISH", "broker->client PUBACK",
		"client->broker PUBLISH", "client->broker PINGREQ", "client->broker DISCONNECT", "broker->client PINGRESP"}
	all := []string{"client->broker CONNECT", "broker->client CONNACK", "client->broker PUBLISH", "broker->client PUBACK",
		"client->broker PUBLISH", "client->broker PINGREQ", "broker->client PINGRESP", "client->broker DISCONNECT"}
	tests := []messyCase{
		{
			name: "clean",
			write: func(t *testing.T, s *segWriter, c, b []byte) {
				s.handshake()
				s.seg(true, 0, c[:connectLen], "", -1)
				s.seg(false, 0, b[:4], "", -1)
				s.seg(true, connectLen, c[connectLen:bigStart], "", -1)
				s.seg(false, 4, b[4:8], "", -1)
				s.seg(true, bigStart, c[bigStart:len(c)-2], "", -1)
				s.seg(false, 8, b[8:], "", -1)
				s.seg(true, len(c)-2, c[len(c)-2:], "F", -1)
				s.seg(false, len(b), nil, "F", -1)
			},
			want:  all,
			notes: []string{"connection opened", "client closed its side (FIN)", "broker closed its side (FIN)"},
		},
		{
			name: "split and merged",
			write: func(t *testing.T, s *segWriter, c, b []byte) {
				s.handshake()
				for i := 0; i < connectLen; i += 3 { // CONNECT in 3-byte pieces
					s.seg(true, i, c[i:min(i+3, connectLen)], "", -1)
				}
				s.seg(false, 0, b[:4], "", -1)
				s.seg(true, connectLen, c[connectLen:bigStart+5], "", -1) // PUBLISH and the start of the next
				s.seg(false, 4, b[4:], "", -1)                            // PUBACK and PINGRESP merged
				s.seg(true, bigStart+5, c[bigStart+5:], "", -1)           // the rest, PINGREQ and DISCONNECT
			},
			want: []string{"client->broker CONNECT", "broker->client CONNACK", "client->broker PUBLISH", "broker->client PUBACK",
				"broker->client PINGRESP", "client->broker PUBLISH", "client->broker PINGREQ", "client->broker DISCONNECT"},
		},
		{
			name: "retransmission",
			write: func(t *testing.T, s *segWriter, c, b []byte) {
				s.handshake()
				s.seg(true, 0, c[:connectLen], "", -1)
				s.seg(true, 0, c[:connectLen], "", -1) // again
				s.seg(false, 0, b[:4], "", -1)
				s.seg(true, connectLen, c[connectLen:bigStart+10], "", -1)
				s.seg(true, connectLen+5, c[connectLen+5:bigStart+20], "", -1) // overlapping
				s.seg(false, 4, b[4:8], "", -1)
				s.seg(true, bigStart+20, c[bigStart+20:], "", -1)
				s.seg(false, 8, b[8:], "", -1)
			},
			want:  allLate,
			notes: []string{"retransmission of 19 bytes", "overlaps"},
		},
		{
			name: "out of order",
			write: func(t *testing.T, s *segWriter, c, b []byte) {
				s.handshake()
				s.seg(true, 0, c[:connectLen], "", -1)
				s.seg(false, 0, b[:4], "", -1)
				s.seg(true, bigStart, c[bigStart:], "", -1)             // early
				s.seg(true, connectLen, c[connectLen:bigStart], "", -1) // the gap
				s.seg(false, 8, b[8:], "", -1)                          // early
				s.seg(false, 4, b[4:8], "", -1)
			},
			want: []string{"client->broker CONNECT", "broker->client CONNACK", "client->broker PUBLISH", "client->broker PUBLISH",
				"client->broker PINGREQ", "client->broker DISCONNECT", "broker->client PUBACK", "broker->client PINGRESP"},
			notes: []string{"out-of-order segment"},
		},
		{
			name: "mid-stream start",
			write: func(t *testing.T, s *segWriter, c, b []byte) {
				// No handshake; the capture starts inside the first PUBLISH.
				s.seg(true, connectLen+7, c[connectLen+7:bigStart+40], "", -1)
				s.seg(false, 4, b[4:], "", -1)
				s.seg(true, bigStart+40, c[bigStart+40:], "", -1)
			},
			want:  []string{"broker->client PUBACK", "broker->client PINGRESP", "client->broker PUBLISH", "client->broker PINGREQ", "client->broker DISCONNECT"},
			notes: []string{"joined mid-stream: no SYN seen", "joined mid-stream, 5 bytes skipped", "joined mid-stream at a packet boundary"},
		},
		{
			name: "truncated snap length",
			snap: 96,
			write: func(t *testing.T, s *segWriter, c, b []byte) {
				s.handshake()
				s.seg(true, 0, c[:connectLen], "", -1)
				s.seg(false, 0, b[:4], "", -1)
				s.seg(true, connectLen, c[connectLen:bigStart], "", -1)
				s.seg(false, 4, b[4:8], "", -1)
				s.seg(true, bigStart, c[bigStart:bigStart+bigLen], "", 96-54) // only 42 bytes of it
				s.seg(true, bigStart+bigLen, c[bigStart+bigLen:], "", -1)
				s.seg(false, 8, b[8:], "", -1)
			},
			want:  allLate,
			notes: []string{"bytes of TCP payload not captured (snap length)"},
		},
		{
			name: "lost segment",
			write: func(t *testing.T, s *segWriter, c, b []byte) {
				s.handshake()
				s.seg(true, 0, c[:connectLen], "", -1)
				s.seg(false, 0, b[:4], "", -1)
				// c[connectLen:bigStart+50] never captured.
				s.seg(true, bigStart+50, c[bigStart+50:], "", -1)
				s.seg(false, 4, b[4:], "", -1)
			},
			want: []string{"client->broker CONNECT", "broker->client CONNACK", "client->broker PINGREQ", "client->broker DISCONNECT",
				"broker->client PUBACK", "broker->client PINGRESP"},
			notes: []string{"never captured", "resynchronised on a plausible packet boundary"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := tt.snap
			if snap == 0 {
				snap = 65536
			}
			s := newSegWriter(t, snap)
			tt.write(t, s, c, b)
			seedCaptures["messy-"+strings.ReplaceAll(tt.name, " ", "-")] = s.buf.Bytes()
			res := decodeBytes(t, s.buf.Bytes(), DecodeOptions{})
			if len(res.Conns) != 1 {
				t.Fatalf("got %d connections, want 1; notes %q", len(res.Conns), res.Notes)
			}
			conn := res.Conns[0]
			var text strings.Builder
			res.WriteText(&text)
			if got := packetTypes(conn); !slices.Equal(got, tt.want) {
				t.Errorf("packets\n  %s\nwant\n  %s\n%s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "), text.String())
			}
			for _, n := range tt.notes {
				if !strings.Contains(notes(conn), n) {
					t.Errorf("notes lack %q:\n%s", n, text.String())
				}
			}
			if got := res.Violations(); got != tt.wantViolations {
				t.Errorf("%d violations, want %d:\n%s", got, tt.wantViolations, text.String())
			}
		})
	}
}

// TestDecodeTruncatedPacketStaysInStep: a PUBLISH cut by the snap length
// is reported with its size, and the packet after it still decodes.
func TestDecodeTruncatedPacketStaysInStep(t *testing.T) {
	s := newSegWriter(t, 96)
	c := enc(t, codec.V311, connect("x", 0))
	big := enc(t, codec.V311, publish("big", strings.Repeat("y", 500), 0, 0))
	s.handshake()
	s.seg(true, 0, c, "", -1)
	s.seg(true, len(c), big, "", 30)
	s.seg(true, len(c)+len(big), enc(t, codec.V311, &codec.Pingreq{}), "", -1)
	res := decodeBytes(t, s.buf.Bytes(), DecodeOptions{})
	var text strings.Builder
	res.WriteText(&text)
	for _, want := range []string{"PUBLISH of 508 bytes, 30 captured, 478 not captured: snap length: not decoded", "client->broker  PINGREQ"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, text.String())
		}
	}
}

func TestDecodeWebSocket(t *testing.T) {
	s := newSegWriter(t, 65536)
	s.cport, s.sport = 50001, 8080
	req := "GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Version: 13\r\n\r\n"
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
	mqttC := enc(t, codec.V311, connect("ws", 0), publish("w/a", "over websocket", 0, 0), publish("w/+", "bad", 0, 0))
	// The client's MQTT bytes in two masked frames, the split inside the
	// first PUBLISH; the broker's CONNACK in one unmasked frame.
	f1 := wsFrame(mqttC[:25], true, 0x2)
	f2 := wsFrame(mqttC[25:], true, 0x0)
	f3 := wsFrame(enc(t, codec.V311, &codec.Connack{}), false, 0x2)
	closeF := wsFrame([]byte{0x03, 0xe8}, true, 0x8)
	s.handshake()
	cs := []byte(req)
	cs = append(cs, f1...)
	s.seg(true, 0, cs, "", -1)
	s.seg(false, 0, append([]byte(resp), f3...), "", -1)
	s.seg(true, len(cs), f2[:3], "", -1) // a frame header split across segments
	s.seg(true, len(cs)+3, append(f2[3:], closeF...), "", -1)
	seedCaptures["websocket"] = s.buf.Bytes()
	res := decodeBytes(t, s.buf.Bytes(), DecodeOptions{WebSocketPorts: []uint16{8080}})
	var text strings.Builder
	res.WriteText(&text)
	if len(res.Conns) != 1 {
		t.Fatalf("got %d connections:\n%s", len(res.Conns), text.String())
	}
	want := []string{"client->broker CONNECT", "broker->client CONNACK", "client->broker PUBLISH", "client->broker PUBLISH"}
	if got := packetTypes(res.Conns[0]); !slices.Equal(got, want) {
		t.Errorf("packets %q, want %q\n%s", got, want, text.String())
	}
	for _, w := range []string{"WebSocket upgrade request: GET /mqtt HTTP/1.1 (subprotocol mqtt)", "WebSocket upgrade accepted",
		"client WebSocket close frame (status 1000)", `payload=14B "over websocket"`, "!! MQTT-3.3.2-2"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, text.String())
		}
	}
	if res.Conns[0].Transport != "websocket" {
		t.Errorf("transport %q", res.Conns[0].Transport)
	}
}

// wsFrame builds one WebSocket frame (FIN set), masked for a client.
func wsFrame(payload []byte, masked bool, op byte) []byte {
	b := []byte{0x80 | op}
	m := byte(0)
	if masked {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, m|byte(n))
	case n < 1<<16:
		b = append(b, m|126, byte(n>>8), byte(n))
	default:
		b = append(b, m|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	if !masked {
		return append(b, payload...)
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}

func TestDecodePcapng(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	// Copy the frames of a WriteTranscript capture into pcapng.
	r, err := pcapgo.NewReader(bytes.NewReader(writePcap(t, entries(t, session()), PcapOptions{})))
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		ci.InterfaceIndex = 0
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	seedCaptures["pcapng"] = buf.Bytes()
	res := decodeBytes(t, buf.Bytes(), DecodeOptions{})
	if res.Format != "pcapng" || len(res.Conns) != 2 || len(packetTypes(res.Conns[0])) != 10 {
		var text strings.Builder
		res.WriteText(&text)
		t.Errorf("pcapng decoded as:\n%s", text.String())
	}
}

func TestDecodeFileProblems(t *testing.T) {
	full := writePcap(t, entries(t, session()), PcapOptions{})
	t.Run("not a capture", func(t *testing.T) {
		_, err := Decode(strings.NewReader("hello, world"), DecodeOptions{})
		if !errors.Is(err, errNotCapture) {
			t.Errorf("got %v, want errNotCapture", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if _, err := Decode(strings.NewReader(""), DecodeOptions{}); err == nil {
			t.Error("no error for an empty file")
		}
	})
	t.Run("cut short", func(t *testing.T) {
		res := decodeBytes(t, full[:len(full)-30], DecodeOptions{})
		if len(res.Notes) == 0 || !strings.Contains(strings.Join(res.Notes, "\n"), "reading stopped") {
			t.Errorf("notes %q lack the cut", res.Notes)
		}
		if len(res.Conns) != 2 {
			t.Errorf("%d connections, want 2", len(res.Conns))
		}
	})
	t.Run("other port", func(t *testing.T) {
		res := decodeBytes(t, full, DecodeOptions{Ports: []uint16{8883}})
		if len(res.Conns) != 0 || !strings.Contains(strings.Join(res.Notes, "\n"), "not TCP to or from an MQTT port") {
			t.Errorf("conns %d, notes %q", len(res.Conns), res.Notes)
		}
	})
}

// TestDecodeProtocolFromConnect: the level comes from the CONNECT seen on
// each connection, so MQTT 5.0 reason codes and properties decode.
func TestDecodeProtocolFromConnect(t *testing.T) {
	s := newSegWriter(t, 65536)
	c5 := &codec.Connect{ProtocolLevel: codec.V5, CleanSession: true, ClientID: []byte("five")}
	cs := enc(t, codec.V5, c5, publish("t", "p", 1, 9))
	ack := &codec.Ack{PacketType: codec.PUBACK, PacketID: 9, ReasonCode: 0x10}
	bs := enc(t, codec.V5, &codec.Connack{}, ack)
	s.handshake()
	s.seg(true, 0, cs, "", -1)
	s.seg(false, 0, bs, "", -1)
	res := decodeBytes(t, s.buf.Bytes(), DecodeOptions{})
	var text strings.Builder
	res.WriteText(&text)
	if res.Conns[0].Protocol != "5.0" || !strings.Contains(text.String(), "PUBACK id=9 rc=0x10") || res.Violations() != 0 {
		t.Errorf("level 5 connection decoded as:\n%s", text.String())
	}
}

// TestDecodeJSON: the JSON form carries the same entries.
func TestDecodeJSON(t *testing.T) {
	res := decodeBytes(t, writePcap(t, entries(t, session()), PcapOptions{}), DecodeOptions{})
	var b bytes.Buffer
	if err := res.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"dir": "client->broker"`, `"rules": [`, `"MQTT-3.3.2-2"`, `"source": "codec"`, `"violation_count": 1`} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("JSON lacks %s", w)
		}
	}
}

// TestDecodeLinkTypes: raw IP and Linux cooked captures decode too.
func TestDecodeLinkTypes(t *testing.T) {
	full := writePcap(t, entries(t, session()), PcapOptions{})
	for _, lt := range []struct {
		name string
		link layers.LinkType
		wrap func(eth []byte) []byte
	}{
		{"raw", layers.LinkTypeRaw, func(eth []byte) []byte { return eth[14:] }},
		{"sll", layers.LinkTypeLinuxSLL, func(eth []byte) []byte {
			return append([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00}, eth[14:]...)
		}},
		{"sll2", linkTypeLinuxSLL2, func(eth []byte) []byte {
			return append([]byte{0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}, eth[14:]...)
		}},
	} {
		t.Run(lt.name, func(t *testing.T) {
			r, _ := pcapgo.NewReader(bytes.NewReader(full))
			var buf bytes.Buffer
			w := pcapgo.NewWriter(&buf)
			link := lt.link
			if err := w.WriteFileHeader(65536, link); err != nil {
				t.Fatal(err)
			}
			if lt.name == "sll2" {
				// pcapgo keeps link types in a byte: write 276 by hand.
				b := buf.Bytes()
				b[20], b[21] = 0x14, 0x01
			}
			for {
				data, ci, err := r.ReadPacketData()
				if err != nil {
					break
				}
				data = lt.wrap(data)
				ci.CaptureLength, ci.Length = len(data), len(data)
				w.WritePacket(ci, data)
			}
			seedCaptures["link-"+lt.name] = buf.Bytes()
			res := decodeBytes(t, buf.Bytes(), DecodeOptions{})
			if len(res.Conns) != 2 || len(packetTypes(res.Conns[0])) != 10 {
				var text strings.Builder
				res.WriteText(&text)
				t.Errorf("decoded as:\n%s", text.String())
			}
		})
	}
}

var _ = gopacket.CaptureInfo{}
var _ = time.Second
