package capture

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// t0 is the start of every synthetic capture.
var t0 = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

// enc encodes packets at level v.
func enc(t testing.TB, v codec.Version, ps ...codec.Packet) []byte {
	t.Helper()
	var b []byte
	for _, p := range ps {
		var err error
		if b, err = p.Append(b, v); err != nil {
			t.Fatalf("encode %s: %v", p.Type(), err)
		}
	}
	return b
}

func connect(id string, keepAlive uint16) *codec.Connect {
	return &codec.Connect{ProtocolLevel: codec.V311, CleanSession: true, KeepAlive: keepAlive, ClientID: []byte(id)}
}

func publish(topic, payload string, qos byte, id uint16) *codec.Publish {
	return &codec.Publish{Topic: []byte(topic), Payload: []byte(payload), QoS: qos, PacketID: id}
}

func sub(id uint16, filters ...string) *codec.Subscribe {
	s := &codec.Subscribe{PacketID: id}
	for _, f := range filters {
		s.Filters = append(s.Filters, codec.Subscription{Filter: []byte(f)})
	}
	return s
}

// step is one packet (or event) of a scripted session.
type step struct {
	conn  string
	dir   probe.Dir
	p     codec.Packet
	raw   []byte // instead of p
	event string // for DirEvent
}

// entries turns steps into transcript entries 1ms apart.
func entries(t testing.TB, steps []step) []probe.Entry {
	t.Helper()
	var out []probe.Entry
	for i, s := range steps {
		e := probe.Entry{Time: t0.Add(time.Duration(i) * time.Millisecond), Conn: s.conn, Dir: s.dir, Text: s.event}
		switch {
		case s.raw != nil:
			e.Raw = s.raw
		case s.p != nil:
			e.Raw = enc(t, codec.V311, s.p)
			e.Text = codec.Format(s.p, codec.V311)
		}
		out = append(out, e)
	}
	return out
}

// session is a correct 3.1.1 session and a second connection that breaks
// rules.
func session() []step {
	return []step{
		{conn: "c1", dir: probe.DirEvent, event: "dial 127.0.0.1:1883 ok"},
		{conn: "c1", dir: probe.DirSent, p: connect("alpha", 60)},
		{conn: "c1", dir: probe.DirReceived, p: &codec.Connack{}},
		{conn: "c1", dir: probe.DirSent, p: sub(1, "a/+", "b/#")},
		{conn: "c1", dir: probe.DirReceived, p: &codec.Suback{PacketID: 1, ReturnCodes: []byte{0, 1}}},
		{conn: "c2", dir: probe.DirSent, p: connect("beta", 0)},
		{conn: "c2", dir: probe.DirReceived, p: &codec.Connack{}},
		{conn: "c1", dir: probe.DirSent, p: publish("a/x", "hello", 1, 2)},
		{conn: "c1", dir: probe.DirReceived, p: &codec.Ack{PacketType: codec.PUBACK, PacketID: 2}},
		{conn: "c1", dir: probe.DirReceived, p: publish("a/x", strings.Repeat("large ", 700), 0, 0)},
		{conn: "c2", dir: probe.DirSent, p: publish("a/+", "wild", 0, 0)},
		{conn: "c1", dir: probe.DirSent, p: &codec.Pingreq{}},
		{conn: "c1", dir: probe.DirReceived, p: &codec.Pingresp{}},
		{conn: "c1", dir: probe.DirSent, p: &codec.Disconnect{}},
		{conn: "c1", dir: probe.DirEvent, event: "connection closed locally"},
		{conn: "c2", dir: probe.DirEvent, event: "connection closed by peer (EOF)"},
	}
}

// writePcap runs WriteTranscript into a buffer.
func writePcap(t testing.TB, es []probe.Entry, opts PcapOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteTranscript(&b, es, opts); err != nil {
		t.Fatalf("WriteTranscript: %v", err)
	}
	return b.Bytes()
}

// decodeBytes decodes a capture held in memory.
func decodeBytes(t testing.TB, b []byte, opts DecodeOptions) *Result {
	t.Helper()
	r, err := Decode(bytes.NewReader(b), opts)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return r
}

// packetTypes lists the packet entries of c as "dir TYPE".
func packetTypes(c *Conn) []string {
	var out []string
	for _, e := range c.Entries {
		if e.Type != "" {
			out = append(out, e.Dir.String()+" "+e.Type)
		}
	}
	return out
}

// notes lists the note entries of c.
func notes(c *Conn) string {
	var b strings.Builder
	for _, e := range c.Entries {
		if e.Dir == Note {
			b.WriteString(e.Text + "\n")
		}
	}
	return b.String()
}

// segWriter writes hand-made TCP segments of one connection, for the
// messy captures real networks produce.
type segWriter struct {
	t          testing.TB
	buf        bytes.Buffer
	w          *pcapgo.Writer
	cport      uint16
	sport      uint16
	cisn, sisn uint32
	now        time.Time
}

func newSegWriter(t testing.TB, snap uint32) *segWriter {
	s := &segWriter{t: t, cport: 50000, sport: 1883, cisn: 1000, sisn: 900000, now: t0}
	s.w = pcapgo.NewWriter(&s.buf)
	if err := s.w.WriteFileHeader(snap, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	return s
}

// seg writes one segment. off is the payload's offset in its direction's
// stream (the sequence number is computed from it); capPayload < 0 means
// the whole payload is captured, otherwise only that many bytes.
func (s *segWriter) seg(fromClient bool, off int, payload []byte, flags string, capPayload int) {
	s.t.Helper()
	s.now = s.now.Add(time.Millisecond)
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP,
		SrcIP: []byte{10, 0, 0, 1}, DstIP: []byte{10, 0, 0, 2}}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(s.cport), DstPort: layers.TCPPort(s.sport), Window: 1000, ACK: true}
	seq, ack := s.cisn, s.sisn
	if !fromClient {
		ip.SrcIP, ip.DstIP = ip.DstIP, ip.SrcIP
		tcp.SrcPort, tcp.DstPort = tcp.DstPort, tcp.SrcPort
		seq, ack = s.sisn, s.cisn
	}
	tcp.Seq, tcp.Ack = seq+1+uint32(off), ack+1
	for _, f := range flags {
		switch f {
		case 'S':
			tcp.SYN, tcp.ACK = true, !fromClient
			tcp.Seq = seq
		case 'F':
			tcp.FIN = true
		case 'R':
			tcp.RST = true
		}
	}
	tcp.SetNetworkLayerForChecksum(ip)
	eth := &layers.Ethernet{SrcMAC: clientMAC, DstMAC: brokerMAC, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true},
		eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		s.t.Fatal(err)
	}
	data := buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: s.now, CaptureLength: len(data), Length: len(data)}
	if capPayload >= 0 {
		ci.CaptureLength = len(data) - len(payload) + capPayload
		data = data[:ci.CaptureLength]
	}
	if err := s.w.WritePacket(ci, data); err != nil {
		s.t.Fatal(err)
	}
}

// handshake writes SYN, SYN-ACK and ACK.
func (s *segWriter) handshake() {
	s.seg(true, 0, nil, "S", -1)
	s.seg(false, 0, nil, "S", -1)
	s.seg(true, 0, nil, "", -1)
}

// requireTool returns the path of a program the test needs: a skip on a
// developer machine without it, a failure under CI (CI=true).
func requireTool(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		msg := name + " not found (Debian package " + pkg + "; scripts/install-deps.sh installs it)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}
