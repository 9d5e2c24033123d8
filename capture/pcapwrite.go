package capture

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// Defaults for PcapOptions fields left zero.
const (
	DefaultServerPort     = 1883
	DefaultClientPortBase = 40001
	DefaultMSS            = 1460
	DefaultSnapLen        = 262144
)

// PcapOptions tune the frames WriteTranscript and PcapWriter synthesise.
type PcapOptions struct {
	// ServerPort is the broker's TCP port (default 1883, which Wireshark's
	// MQTT dissector recognises by itself).
	ServerPort uint16
	// ClientPortBase is the client port of the first connection label;
	// each further label (and each reconnection of a label after it was
	// closed) takes the next port (default 40001).
	ClientPortBase uint16
	// MSS bounds the payload of one TCP segment (default 1460): a longer
	// entry is split, as a real stack would.
	MSS int
	// SnapLen is written in the file header (default 262144).
	SnapLen uint32
	// Close classifies an event entry: whether it ends the connection,
	// whether the broker ended it, and whether with a reset. Nil means
	// DefaultClose.
	Close func(e probe.Entry) (closes, byBroker, reset bool)
}

// DefaultClose recognises the closure events of probe transcripts
// ("connection closed by peer (EOF)", "connection reset by peer",
// "connection closed locally", "connection failed: ...") and of the proxy
// ("connection closed by broker", "connection reset by client"...). Text
// naming the peer, the broker or the server means the broker ended the
// connection; "reset" or "failed" means an RST rather than a FIN.
func DefaultClose(e probe.Entry) (closes, byBroker, reset bool) {
	if e.Dir != probe.DirEvent {
		return false, false, false
	}
	t := strings.ToLower(e.Text)
	if !strings.HasPrefix(t, "connection ") {
		return false, false, false
	}
	reset = strings.Contains(t, "reset") || strings.HasPrefix(t, "connection failed")
	if !reset && !strings.Contains(t, "closed") {
		return false, false, false
	}
	byBroker = strings.Contains(t, "by peer") || strings.Contains(t, "by broker") || strings.Contains(t, "by server")
	return true, byBroker, reset
}

// WriteTranscript writes entries as a pcap file that Wireshark and tshark
// open: Ethernet/IPv4/TCP frames between 127.0.0.1 and 127.0.0.1, the
// broker on opts.ServerPort, one client port per connection label. Each
// connection starts with a SYN, SYN-ACK, ACK handshake at the time of its
// first entry; DirSent entries become client-to-broker segments and
// DirReceived entries broker-to-client segments carrying exactly their Raw
// bytes, with correct sequence and acknowledgement numbers and IPv4 and TCP
// checksums; closure events (see DefaultClose) become a FIN exchange or an
// RST. Other events, which have no bytes, are left out. Frame timestamps
// are the entries' times, made non-decreasing so that file order and time
// order agree.
//
// The conformance runner calls it to attach a capture to every failed
// spec:
//
//	f, _ := os.Create(name + ".pcap")
//	err := capture.WriteTranscript(f, tr.Entries(), capture.PcapOptions{})
func WriteTranscript(w io.Writer, entries []probe.Entry, opts PcapOptions) error {
	pw, err := NewPcapWriter(w, opts)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := pw.WriteEntry(e); err != nil {
			return err
		}
	}
	return pw.Close()
}

// PcapWriter turns transcript entries into TCP frames one at a time, for a
// live source such as the proxy. It is not safe for concurrent use.
type PcapWriter struct {
	w     *pcapgo.Writer
	opts  PcapOptions
	conns map[string]*pcapConn
	next  uint16 // next client port
	last  time.Time
	buf   gopacket.SerializeBuffer
}

type pcapConn struct {
	port       uint16
	cseq, sseq uint32 // next sequence number of client and server
}

// NewPcapWriter writes the pcap file header to w and returns a writer for
// the frames.
func NewPcapWriter(w io.Writer, opts PcapOptions) (*PcapWriter, error) {
	if opts.ServerPort == 0 {
		opts.ServerPort = DefaultServerPort
	}
	if opts.ClientPortBase == 0 {
		opts.ClientPortBase = DefaultClientPortBase
	}
	if opts.MSS <= 0 {
		opts.MSS = DefaultMSS
	}
	if opts.MSS > 65000 {
		opts.MSS = 65000
	}
	if opts.SnapLen == 0 {
		opts.SnapLen = DefaultSnapLen
	}
	if opts.Close == nil {
		opts.Close = DefaultClose
	}
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(opts.SnapLen, layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("capture: pcap header: %w", err)
	}
	return &PcapWriter{w: pw, opts: opts, conns: map[string]*pcapConn{}, next: opts.ClientPortBase,
		buf: gopacket.NewSerializeBuffer()}, nil
}

// WriteEntry writes the frames for one entry (none for most events).
func (p *PcapWriter) WriteEntry(e probe.Entry) error {
	t := e.Time
	if t.Before(p.last) {
		t = p.last
	}
	switch e.Dir {
	case probe.DirSent, probe.DirReceived:
		if len(e.Raw) == 0 {
			return nil
		}
		c, err := p.open(e.Conn, t)
		if err != nil {
			return err
		}
		fromClient := e.Dir == probe.DirSent
		for b := e.Raw; len(b) > 0; {
			n := min(len(b), p.opts.MSS)
			if err := p.segment(c, t, fromClient, tcpFlags{ack: true, psh: n == len(b)}, b[:n]); err != nil {
				return err
			}
			b = b[n:]
		}
	case probe.DirEvent:
		closes, byBroker, reset := p.opts.Close(e)
		c := p.conns[e.Conn]
		if !closes || c == nil {
			return nil
		}
		delete(p.conns, e.Conn)
		if reset {
			return p.segment(c, t, !byBroker, tcpFlags{rst: true, ack: true}, nil)
		}
		// The initiator's FIN, the other side's FIN-ACK, the last ACK.
		if err := p.segment(c, t, !byBroker, tcpFlags{fin: true, ack: true}, nil); err != nil {
			return err
		}
		if err := p.segment(c, t, byBroker, tcpFlags{fin: true, ack: true}, nil); err != nil {
			return err
		}
		return p.segment(c, t, !byBroker, tcpFlags{ack: true}, nil)
	}
	return nil
}

// Close flushes nothing (frames are written as they come) but marks the
// end of use; it exists so callers need not know that.
func (p *PcapWriter) Close() error { return nil }

// open returns the connection for label, starting it with a handshake
// when it is new (or was closed).
func (p *PcapWriter) open(label string, t time.Time) (*pcapConn, error) {
	if c := p.conns[label]; c != nil {
		return c, nil
	}
	if p.next == 0 || p.next == p.opts.ServerPort {
		p.next++ // port 0 after wrapping, or the broker's own port
	}
	// Initial sequence numbers differ per connection, as on a real stack,
	// and are far from zero so that relative numbering is exercised.
	c := &pcapConn{port: p.next, cseq: 0x10000000 + uint32(p.next)*7919, sseq: 0x60000000 + uint32(p.next)*104729}
	p.next++
	p.conns[label] = c
	if err := p.segment(c, t, true, tcpFlags{syn: true}, nil); err != nil {
		return nil, err
	}
	if err := p.segment(c, t, false, tcpFlags{syn: true, ack: true}, nil); err != nil {
		return nil, err
	}
	return c, p.segment(c, t, true, tcpFlags{ack: true}, nil)
}

type tcpFlags struct{ syn, ack, psh, fin, rst bool }

var (
	loopbackIP = net.IPv4(127, 0, 0, 1).To4()
	// Locally administered MAC addresses, one per side, so that a reader
	// can tell the directions apart at the link layer too.
	clientMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	brokerMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
)

// segment writes one TCP segment and advances the sender's sequence number
// by its payload (and by one for SYN and FIN, which occupy a number).
func (p *PcapWriter) segment(c *pcapConn, t time.Time, fromClient bool, f tcpFlags, payload []byte) error {
	p.last = t
	eth := &layers.Ethernet{EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, Flags: layers.IPv4DontFragment,
		SrcIP: loopbackIP, DstIP: loopbackIP}
	tcp := &layers.TCP{SYN: f.syn, ACK: f.ack, PSH: f.psh, FIN: f.fin, RST: f.rst, Window: 65535}
	seq, ack := &c.cseq, &c.sseq
	if fromClient {
		eth.SrcMAC, eth.DstMAC = clientMAC, brokerMAC
		tcp.SrcPort, tcp.DstPort = layers.TCPPort(c.port), layers.TCPPort(p.opts.ServerPort)
	} else {
		eth.SrcMAC, eth.DstMAC = brokerMAC, clientMAC
		tcp.SrcPort, tcp.DstPort = layers.TCPPort(p.opts.ServerPort), layers.TCPPort(c.port)
		seq, ack = &c.sseq, &c.cseq
	}
	tcp.Seq = *seq
	if f.ack {
		tcp.Ack = *ack
	}
	if f.syn {
		tcp.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4,
			OptionData: []byte{byte(p.opts.MSS >> 8), byte(p.opts.MSS)}}}
	}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	if err := p.buf.Clear(); err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	opts := gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}
	if err := gopacket.SerializeLayers(p.buf, opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		return fmt.Errorf("capture: serialise frame: %w", err)
	}
	data := p.buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(data), Length: len(data)}
	if uint32(len(data)) > p.opts.SnapLen {
		ci.CaptureLength = int(p.opts.SnapLen)
		data = data[:p.opts.SnapLen]
	}
	if err := p.w.WritePacket(ci, data); err != nil {
		return fmt.Errorf("capture: write frame: %w", err)
	}
	*seq += uint32(len(payload))
	if f.syn || f.fin {
		*seq++
	}
	return nil
}

// errNotCapture is returned when the input is neither pcap nor pcapng.
var errNotCapture = errors.New("capture: not a pcap or pcapng file")
