package capture

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/mqtt-check/mqtt-check/codec"
)

// DefaultPort is the MQTT port Decode looks for when none is given.
const DefaultPort = 1883

// Limits that keep a hostile or damaged capture from making Decode buffer
// without bound.
const (
	// maxPending bounds the out-of-order bytes held per direction while
	// waiting for a missing segment; past it the gap is declared lost.
	maxPending = 4 << 20
	// DefaultMaxPacketSize bounds one MQTT packet Decode buffers to
	// decode; a larger one is reported by type and size and skipped.
	DefaultMaxPacketSize = 16 << 20
)

// DecodeOptions tune Decode.
type DecodeOptions struct {
	// Ports are the brokers' TCP ports carrying MQTT (default 1883).
	Ports []uint16
	// WebSocketPorts are the brokers' ports carrying MQTT over WebSocket:
	// the HTTP upgrade is parsed and the frames unmasked.
	WebSocketPorts []uint16
	// MaxPacketSize bounds one packet decoded (default 16 MiB).
	MaxPacketSize int
	// KeepAliveMargin is the margin for the keep alive check (default
	// DefaultKeepAliveMargin).
	KeepAliveMargin time.Duration
	// NoStateChecks turns off the Checker: only rules a packet breaks by
	// itself (codec violations) are reported.
	NoStateChecks bool
}

// Decode reads a pcap or pcapng capture (as tcpdump, tshark and Wireshark
// write them), reassembles every TCP connection to a broker port in both
// directions, and decodes the MQTT packets each carries: leniently, so
// that every broken rule is listed with its statement ID while decoding
// goes on, and with the protocol level of the CONNECT seen on that
// connection. Unless opts.NoStateChecks is set, a Checker per connection
// adds the rules that span packets.
//
// What real captures contain is reported as notes, never as a failure:
// segments split and merged, retransmitted, out of order, a capture that
// starts mid-stream (Decode looks for a plausible packet boundary and says
// how many bytes it skipped), frames cut by the snap length, a file that
// ends inside a frame. Decode returns an error only when the input is not
// a pcap or pcapng file at all.
func Decode(r io.Reader, opts DecodeOptions) (*Result, error) {
	src, err := openCapture(r)
	if err != nil {
		return nil, err
	}
	if len(opts.Ports) == 0 && len(opts.WebSocketPorts) == 0 {
		opts.Ports = []uint16{DefaultPort}
	}
	if opts.MaxPacketSize <= 0 {
		opts.MaxPacketSize = DefaultMaxPacketSize
	}
	d := &decoder{opts: opts, res: &Result{Format: src.format()}, conns: map[connKey]*connState{}}
	for {
		data, ci, link, err := src.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				d.fileNote(fmt.Sprintf("reading stopped after %d frames: %v", d.res.Frames, err))
			}
			break
		}
		d.res.Frames++
		d.frame(data, ci.Timestamp, ci.CaptureLength, ci.Length, link)
	}
	d.finish()
	return d.res, nil
}

type connKey struct{ client, broker netip.AddrPort }

type decoder struct {
	opts  DecodeOptions
	res   *Result
	conns map[connKey]*connState
	all   []*connState
	// counts of frames skipped, reported once at the end
	other, fragments, badHeader int
	badLink                     map[string]int
}

func (d *decoder) fileNote(s string) { d.res.Notes = append(d.res.Notes, s) }

func (d *decoder) frame(data []byte, ts time.Time, capLen, origLen int, link layers.LinkType) {
	seg, kind, err := parseFrame(data, link)
	switch kind {
	case frameOther:
		d.other++
		return
	case frameFragment:
		d.fragments++
		return
	case frameTruncatedHeader:
		d.badHeader++
		return
	case frameBadLink:
		if d.badLink == nil {
			d.badLink = map[string]int{}
		}
		d.badLink[err.Error()]++
		return
	}
	var key connKey
	var dir Dir
	var ws bool
	switch {
	case d.isPort(seg.dst.Port(), d.opts.Ports):
		key, dir = connKey{seg.src, seg.dst}, ClientToBroker
	case d.isPort(seg.src.Port(), d.opts.Ports):
		key, dir = connKey{seg.dst, seg.src}, BrokerToClient
	case d.isPort(seg.dst.Port(), d.opts.WebSocketPorts):
		key, dir, ws = connKey{seg.src, seg.dst}, ClientToBroker, true
	case d.isPort(seg.src.Port(), d.opts.WebSocketPorts):
		key, dir, ws = connKey{seg.dst, seg.src}, BrokerToClient, true
	default:
		d.other++
		return
	}
	c := d.conns[key]
	if c != nil && dir == ClientToBroker && seg.syn && !seg.ack && c.reopenedBy(&seg) {
		c = nil // the same ports, a new connection
	}
	if c == nil {
		c = newConnState(d, key, ws, len(d.all)+1)
		d.conns[key] = c
		d.all = append(d.all, c)
	}
	if capLen < origLen && seg.missing > 0 {
		c.note(ts, fmt.Sprintf("frame %d (%s) captured %d of %d bytes: %d bytes of TCP payload not captured (snap length)",
			d.res.Frames, dir, capLen, origLen, seg.missing))
	}
	c.segment(dir, &seg, ts)
}

func (d *decoder) isPort(p uint16, list []uint16) bool { return slices.Contains(list, p) }

func (d *decoder) finish() {
	for _, c := range d.all {
		c.finish()
		d.res.Conns = append(d.res.Conns, c.out)
	}
	if d.other > 0 {
		d.fileNote(strconv.Itoa(d.other) + " frame(s) not TCP to or from an MQTT port, ignored")
	}
	if d.fragments > 0 {
		d.fileNote(strconv.Itoa(d.fragments) + " IP fragment(s) ignored (not reassembled)")
	}
	if d.badHeader > 0 {
		d.fileNote(strconv.Itoa(d.badHeader) + " frame(s) cut inside their IP or TCP header, ignored")
	}
	keys := make([]string, 0, len(d.badLink))
	for k := range d.badLink {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d.fileNote(fmt.Sprintf("%d frame(s) ignored: %s", d.badLink[k], k))
	}
}

// connState is one connection being decoded.
type connState struct {
	d        *decoder
	key      connKey
	out      *Conn
	check    *Checker
	dirs     [2]*halfStream // client->broker, broker->client
	closed   bool
	ended    time.Time
	clientSN uint32 // the client's initial sequence number, when its SYN was seen
	sawSYN   bool
	// lostAt is one more than the index of the lost marker entry (the
	// earliest time counts; one is enough), zero while there is none.
	lostAt int
	// ver is the protocol level of the CONNECT seen (zero before).
	ver codec.Version
}

func newConnState(d *decoder, key connKey, ws bool, n int) *connState {
	c := &connState{d: d, key: key}
	c.out = &Conn{Label: "c" + strconv.Itoa(n), Client: key.client.String(), Broker: key.broker.String(), Transport: "tcp"}
	if ws {
		c.out.Transport = "websocket"
	}
	if !d.opts.NoStateChecks {
		c.check = NewChecker()
		c.check.KeepAliveMargin = d.opts.KeepAliveMargin
	}
	for i, dir := range []Dir{ClientToBroker, BrokerToClient} {
		h := &halfStream{conn: c, dir: dir}
		h.mq = &mqttStream{conn: c, dir: dir, max: d.opts.MaxPacketSize}
		h.sink = h.mq
		if ws {
			h.ws = &wsStream{conn: c, dir: dir, next: h.mq}
			h.sink = h.ws
		}
		c.dirs[i] = h
	}
	return c
}

// reopenedBy reports whether a client SYN starts a new connection on the
// ports of c (rather than being a retransmitted SYN of c).
func (c *connState) reopenedBy(seg *tcpSegment) bool {
	if c.sawSYN && seg.seq == c.clientSN {
		return false
	}
	return c.closed || c.dirs[0].started
}

func (c *connState) half(d Dir) *halfStream {
	if d == ClientToBroker {
		return c.dirs[0]
	}
	return c.dirs[1]
}

func (c *connState) note(ts time.Time, text string) {
	c.out.Entries = append(c.out.Entries, Entry{Time: ts, Dir: Note, Text: text})
}

// lastTime returns the time of the connection's last entry.
func (c *connState) lastTime() time.Time {
	if n := len(c.out.Entries); n > 0 {
		return c.out.Entries[n-1].Time
	}
	return time.Time{}
}

// lost marks the connection as not fully seen from time ts on: the state
// checks that need every packet stop there.
func (c *connState) lost(ts time.Time) {
	if c.check == nil {
		return
	}
	if c.lostAt > 0 {
		if e := &c.out.Entries[c.lostAt-1]; ts.Before(e.Time) {
			e.Time = ts
		}
		return
	}
	c.out.Entries = append(c.out.Entries, Entry{Time: ts, lost: true})
	c.lostAt = len(c.out.Entries)
}

func (c *connState) segment(dir Dir, seg *tcpSegment, ts time.Time) {
	h := c.half(dir)
	if seg.syn {
		if dir == ClientToBroker && !seg.ack {
			if !c.sawSYN {
				c.note(ts, "connection opened: SYN from "+c.out.Client)
			}
			c.sawSYN, c.clientSN = true, seg.seq
		}
	}
	h.segment(seg, ts)
	if seg.rst && !c.closed {
		c.closed, c.ended = true, ts
		c.closeNote(ts, "connection reset by "+dir.Side()+" (RST)")
	}
	if seg.fin && !h.finNoted {
		h.finNoted = true
		c.closeNote(ts, dir.Side()+" closed its side (FIN)")
		if c.dirs[0].finNoted && c.dirs[1].finNoted {
			c.closed, c.ended = true, ts
		}
	}
}

func (c *connState) finish() {
	for _, h := range c.dirs {
		h.flush()
	}
	for _, h := range c.dirs {
		h.sink.end()
	}
	// Time order; at equal times a lost marker first, so that no packet
	// is judged as if nothing had gone missing.
	sort.SliceStable(c.out.Entries, func(i, j int) bool {
		a, b := &c.out.Entries[i], &c.out.Entries[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		return a.lost && !b.lost
	})
	if c.check != nil {
		c.runChecks()
	}
	if c.ver != 0 {
		c.out.Protocol = versionName(c.ver)
	} else {
		for _, e := range c.out.Entries {
			if e.Type != "" {
				c.out.Entries = slices.Insert(c.out.Entries, 0, Entry{Time: c.out.Entries[0].Time, Dir: Note,
					Text: "no CONNECT seen: packets decoded as MQTT 3.1.1"})
				break
			}
		}
	}
	c.out.summarise()
}

// runChecks shows the Checker every packet of the connection in time order
// and attaches its findings; silence findings get entries of their own.
func (c *connState) runChecks() {
	in := c.out.Entries
	out := make([]Entry, 0, len(in))
	var dec codec.Decoder
	for _, e := range in {
		switch {
		case e.lost:
			c.check.Lost()
			continue
		case e.pkt != nil:
			out = c.silence(out, e.Time)
			var p codec.Packet
			if e.pkt.raw != nil {
				dec.Version = c.ver
				if q, _, err := dec.Decode(e.pkt.raw); err == nil {
					p = q
				}
			}
			for _, f := range c.check.Packet(e.Dir, e.Time, e.pkt.header, p) {
				e.Violations = append(e.Violations, Violation{Rules: f.Rules, Reason: f.Text, Source: "state"})
			}
			e.pkt = nil
		case e.closes:
			out = c.silence(out, e.Time)
		}
		out = append(out, e)
	}
	c.out.Entries = out
}

// silence adds an entry for a keep alive violation seen at time ts.
func (c *connState) silence(out []Entry, ts time.Time) []Entry {
	for _, f := range c.check.Silence(ts) {
		out = append(out, Entry{Time: f.Time, Dir: f.Dir, Text: "(silence) " + f.Text,
			Violations: []Violation{{Rules: f.Rules, Reason: f.Text, Source: "state"}}})
	}
	return out
}

// closeNote records the end of a side or of the connection.
func (c *connState) closeNote(ts time.Time, text string) {
	c.out.Entries = append(c.out.Entries, Entry{Time: ts, Dir: Note, Text: text, closes: true})
}
