package capture

import (
	"errors"
	"fmt"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
)

// byteSink consumes one direction's bytes in stream order.
type byteSink interface {
	// begin is called once, before any data: midStream says the first
	// bytes may fall anywhere inside a packet.
	begin(midStream bool)
	data(b []byte, ts time.Time)
	// gap says n bytes of the stream are missing at this point.
	gap(n int, ts time.Time, why string)
	// end is called when no more bytes will come.
	end()
}

// halfStream reassembles one direction of a TCP connection: it orders
// segments by sequence number, drops what was already delivered
// (retransmissions), holds what arrives early (out of order) and declares
// a gap when the missing bytes never come.
type halfStream struct {
	conn *connState
	dir  Dir
	sink byteSink
	mq   *mqttStream
	ws   *wsStream

	started      bool
	base, next   uint32    // first sequence number decoded; next expected
	lastTS       time.Time // latest time of the bytes delivered so far
	pending      []pendingSeg
	pendingBytes int
	finNoted     bool
}

type pendingSeg struct {
	seq     uint32
	payload []byte
	missing int
	ts      time.Time
}

func (h *halfStream) segment(seg *tcpSegment, ts time.Time) {
	seq := seg.seq
	payload, missing := seg.payload, seg.missing
	if seg.syn {
		if !h.started {
			h.started, h.base, h.next = true, seq+1, seq+1
			h.sink.begin(false)
		}
		seq++
	}
	n := len(payload) + missing
	if n == 0 {
		return
	}
	if !h.started {
		h.started, h.base, h.next = true, seq, seq
		h.conn.lost(ts)
		h.conn.note(ts, fmt.Sprintf("joined mid-stream: no SYN seen, %s bytes decoded from seq %d on", h.dir, seq))
		h.sink.begin(true)
	}
	off := int32(seq - h.next)
	switch {
	case off < 0 && int64(off)+int64(n) <= 0:
		switch {
		case int32(seq-h.base) < 0:
			h.conn.note(ts, fmt.Sprintf("%s segment of %d bytes from before the point decoding started, ignored", h.dir, n))
		case n == 1 && off == -1:
			// A TCP keep-alive probe: one old byte, nothing to report.
		default:
			h.conn.note(ts, fmt.Sprintf("%s retransmission of %d bytes (seq %d), already seen, ignored", h.dir, n, seq))
		}
		return
	case off < 0:
		cut := int(-off)
		h.conn.note(ts, fmt.Sprintf("%s segment overlaps %d bytes already seen; its %d new bytes used", h.dir, cut, n-cut))
		if cut <= len(payload) {
			payload = payload[cut:]
		} else {
			missing -= cut - len(payload)
			payload = nil
		}
	case off > 0:
		h.hold(pendingSeg{seq: seq, payload: payload, missing: missing, ts: ts}, int(off))
		return
	}
	h.deliver(payload, missing, ts)
	h.drain(ts)
}

// hold keeps an early segment until the bytes before it arrive.
func (h *halfStream) hold(p pendingSeg, ahead int) {
	for _, q := range h.pending {
		if q.seq == p.seq && len(q.payload)+q.missing >= len(p.payload)+p.missing {
			h.conn.note(p.ts, fmt.Sprintf("%s retransmission of %d bytes (seq %d) held out of order, ignored", h.dir, len(p.payload)+p.missing, p.seq))
			return
		}
	}
	h.conn.note(p.ts, fmt.Sprintf("%s out-of-order segment: %d bytes at seq %d arrived %d bytes early; held until the missing bytes come",
		h.dir, len(p.payload)+p.missing, p.seq, ahead))
	i := 0
	for i < len(h.pending) && int32(h.pending[i].seq-p.seq) <= 0 {
		i++
	}
	h.pending = append(h.pending, pendingSeg{})
	copy(h.pending[i+1:], h.pending[i:])
	h.pending[i] = p
	h.pendingBytes += len(p.payload)
	if h.pendingBytes > maxPending {
		h.skipGap("more than " + fmt.Sprint(maxPending) + " bytes held behind it")
	}
}

func (h *halfStream) deliver(payload []byte, missing int, ts time.Time) {
	// Bytes become usable when everything before them has arrived: held
	// segments take the time of the one that filled the gap.
	if ts.Before(h.lastTS) {
		ts = h.lastTS
	}
	if len(payload) > 0 {
		h.sink.data(payload, ts)
		h.next += uint32(len(payload))
	}
	if missing > 0 {
		h.conn.lost(ts)
		h.sink.gap(missing, ts, "not captured: snap length")
		h.next += uint32(missing)
	}
	h.lastTS = ts
}

// drain delivers held segments that have become contiguous.
func (h *halfStream) drain(ts time.Time) {
	for len(h.pending) > 0 {
		p := h.pending[0]
		off := int32(p.seq - h.next)
		if off > 0 {
			return
		}
		h.pending = h.pending[1:]
		h.pendingBytes -= len(p.payload)
		n := len(p.payload) + p.missing
		if int64(off)+int64(n) <= 0 {
			continue
		}
		payload, missing := p.payload, p.missing
		if cut := int(-off); cut > 0 {
			if cut <= len(payload) {
				payload = payload[cut:]
			} else {
				missing -= cut - len(payload)
				payload = nil
			}
		}
		h.deliver(payload, missing, later(p.ts, ts))
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// skipGap gives up on the bytes before the first held segment.
func (h *halfStream) skipGap(why string) {
	if len(h.pending) == 0 {
		return
	}
	p := h.pending[0]
	n := int(int32(p.seq - h.next))
	// The missing bytes were sent after the last ones delivered.
	h.conn.lost(h.lastTS)
	h.conn.note(p.ts, fmt.Sprintf("%s: %d bytes never captured (seq %d to %d, %s); decoding goes on after them",
		h.dir, n, h.next, p.seq, why))
	h.sink.gap(n, p.ts, "never captured")
	h.next = p.seq
	h.drain(p.ts)
}

// flush declares every remaining gap lost: the capture has ended.
func (h *halfStream) flush() {
	for len(h.pending) > 0 {
		h.skipGap("the capture ended first")
	}
}

// Resynchronisation bounds: a candidate packet after lost bytes must be
// smaller than this to count as a plausible boundary, and this much
// unsynchronised data is searched before it is dropped.
const (
	maxResyncPacket = 256 << 10
	resyncWindow    = 2 * maxResyncPacket
)

// mqttStream frames and decodes the MQTT packets of one direction.
type mqttStream struct {
	conn *connState
	dir  Dir
	max  int

	began, synced, mid bool
	buf                []byte
	times              []chunkTime // when each part of buf arrived
	skip               int         // bytes of a skipped packet still to come
	skipped            int         // bytes dropped while unsynchronised
	dec, probe         codec.Decoder
}

type chunkTime struct {
	end int // offset in buf where this chunk ends
	ts  time.Time
}

func (m *mqttStream) begin(mid bool) {
	if m.began {
		return
	}
	m.began, m.synced, m.mid = true, !mid, mid
}

func (m *mqttStream) version() codec.Version {
	if m.conn.ver != 0 {
		return m.conn.ver
	}
	return codec.V311
}

func (m *mqttStream) data(b []byte, ts time.Time) {
	m.begin(false)
	if m.skip > 0 {
		n := min(m.skip, len(b))
		m.skip -= n
		b = b[n:]
	}
	if len(b) == 0 {
		return
	}
	m.buf = append(m.buf, b...)
	m.times = append(m.times, chunkTime{end: len(m.buf), ts: ts})
	m.parse(false)
}

func (m *mqttStream) gap(n int, ts time.Time, why string) {
	m.begin(false)
	if m.skip > 0 {
		if n <= m.skip {
			m.skip -= n
			return
		}
		n -= m.skip
		m.skip = 0
	} else if m.synced && len(m.buf) > 0 {
		h, err := codec.ParseFixedHeader(m.buf)
		if err == nil && h.PacketLen() > len(m.buf) && n <= h.PacketLen()-len(m.buf) {
			// The gap lies inside one packet whose length is known: report
			// it and stay in step with the stream.
			m.entry(Entry{Time: ts, Dir: m.dir, Type: h.Type.String(), Len: h.PacketLen(),
				Text: fmt.Sprintf("%s of %d bytes, %d captured, %d %s: not decoded", h.Type, h.PacketLen(), len(m.buf), n, why)}, h, nil, nil)
			m.skip = h.PacketLen() - len(m.buf) - n
			m.consume(len(m.buf))
			return
		}
	}
	m.synced = false
	m.skipped += len(m.buf)
	m.consume(len(m.buf))
}

func (m *mqttStream) end() {
	m.parse(true)
	if m.skip > 0 {
		m.conn.note(m.lastTime(), fmt.Sprintf("%s stream ends %d bytes before the end of the packet being skipped", m.dir, m.skip))
	}
}

func (m *mqttStream) lastTime() time.Time {
	if len(m.times) > 0 {
		return m.times[len(m.times)-1].ts
	}
	if n := len(m.conn.out.Entries); n > 0 {
		return m.conn.out.Entries[n-1].Time
	}
	return time.Time{}
}

// consume drops n bytes from the front of buf.
func (m *mqttStream) consume(n int) {
	if n >= len(m.buf) {
		m.buf, m.times = m.buf[:0], m.times[:0]
		return
	}
	m.buf = append(m.buf[:0], m.buf[n:]...)
	i := 0
	for i < len(m.times) && m.times[i].end <= n {
		i++
	}
	m.times = append(m.times[:0], m.times[i:]...)
	for j := range m.times {
		m.times[j].end -= n
	}
}

// timeOf returns when the first n bytes of buf had all arrived.
func (m *mqttStream) timeOf(n int) time.Time {
	var t time.Time
	start := 0
	for _, c := range m.times {
		if start >= n {
			break
		}
		if c.ts.After(t) {
			t = c.ts
		}
		start = c.end
	}
	return t
}

func (m *mqttStream) parse(final bool) {
	for len(m.buf) > 0 {
		if !m.synced && !m.resync(final) {
			return
		}
		h, err := codec.ParseFixedHeader(m.buf)
		if errors.Is(err, codec.ErrIncomplete) {
			if final {
				m.conn.note(m.lastTime(), fmt.Sprintf("%s stream ends inside a fixed header (%d bytes)", m.dir, len(m.buf)))
			}
			return
		}
		if err != nil {
			m.entry(Entry{Time: m.timeOf(len(m.buf)), Dir: m.dir, Type: h.Type.String(), Malformed: true,
				Text: "malformed " + h.Type.String() + ": " + err.Error() + "; packet framing lost"}, h, nil, nil)
			m.lostSync()
			continue
		}
		if h.PacketLen() > m.max {
			m.entry(Entry{Time: m.timeOf(min(len(m.buf), h.PacketLen())), Dir: m.dir, Type: h.Type.String(), Len: h.PacketLen(),
				Text: fmt.Sprintf("%s of %d bytes exceeds the decode limit of %d bytes: skipped", h.Type, h.PacketLen(), m.max)}, h, nil, nil)
			m.conn.lost(m.timeOf(1))
			n := min(len(m.buf), h.PacketLen())
			m.skip = h.PacketLen() - n
			m.consume(n)
			continue
		}
		if len(m.buf) < h.PacketLen() {
			if final {
				m.entry(Entry{Time: m.lastTime(), Dir: m.dir, Type: h.Type.String(), Len: h.PacketLen(),
					Text: fmt.Sprintf("%s of %d bytes: the stream ends after %d of them", h.Type, h.PacketLen(), len(m.buf))}, h, nil, nil)
				m.consume(len(m.buf))
			}
			return
		}
		m.decode(m.buf[:h.PacketLen()], h)
		if h.Type == codec.Reserved {
			m.lostSync()
			continue
		}
		m.consume(h.PacketLen())
	}
}

// lostSync drops the first byte and looks for the next packet boundary.
func (m *mqttStream) lostSync() {
	m.synced = false
	m.skipped++
	m.consume(1)
}

// resync looks for a plausible packet boundary in buf. It reports whether
// one was found (and buf now starts there).
func (m *mqttStream) resync(final bool) bool {
	for i := 0; i < len(m.buf); i++ {
		switch m.plausible(m.buf[i:], true) {
		case verdictYes:
			m.consume(i)
			n := m.skipped + i
			m.skipped = 0
			m.synced = true
			ts := m.timeOf(1)
			switch {
			case m.mid && n == 0:
				m.conn.note(ts, fmt.Sprintf("%s: joined mid-stream at a packet boundary", m.dir))
			case m.mid:
				m.conn.note(ts, fmt.Sprintf("%s: joined mid-stream, %d bytes skipped to the first plausible packet boundary", m.dir, n))
			default:
				m.conn.note(ts, fmt.Sprintf("%s: resynchronised on a plausible packet boundary, %d bytes skipped", m.dir, n))
			}
			m.mid = false
			return true
		case verdictMore:
			if !final && len(m.buf) < resyncWindow {
				m.skipped += i
				m.consume(i)
				return false
			}
		}
	}
	m.skipped += len(m.buf)
	m.consume(len(m.buf))
	if final && m.skipped > 0 {
		m.conn.note(m.lastTime(), fmt.Sprintf("%s: %d bytes skipped without finding a packet boundary", m.dir, m.skipped))
		m.skipped = 0
	}
	return false
}

type verdict int

const (
	verdictNo verdict = iota
	verdictYes
	verdictMore
)

// plausible judges whether b starts with a packet this direction could
// send, decoding without a malformation or a broken rule, and followed by
// another such packet or by the end of the bytes so far (chain).
func (m *mqttStream) plausible(b []byte, chain bool) verdict {
	h, err := codec.ParseFixedHeader(b)
	if errors.Is(err, codec.ErrIncomplete) {
		return verdictMore
	}
	if err != nil || h.PacketLen() > maxResyncPacket || !plausibleHeader(h, m.dir, m.version()) {
		return verdictNo
	}
	if len(b) < h.PacketLen() {
		return verdictMore
	}
	m.probe.Version = m.version()
	if _, _, err := m.probe.Decode(b[:h.PacketLen()]); err != nil || len(m.probe.Violations) > 0 {
		return verdictNo
	}
	if !chain || len(b) == h.PacketLen() {
		return verdictYes
	}
	return m.plausible(b[h.PacketLen():], false)
}

// plausibleHeader applies what the fixed header alone tells: the type may
// travel this way, the flags are the required ones, the remaining length
// fits the type.
func plausibleHeader(h codec.FixedHeader, d Dir, v codec.Version) bool {
	t, rl := h.Type, h.RemainingLength
	if t == codec.Reserved || (t == codec.AUTH && v != codec.V5) {
		return false
	}
	if t == codec.PUBLISH {
		if h.Flags&0x06 == 0x06 {
			return false
		}
	} else if h.Flags != codec.RequiredFlags(t) {
		return false
	}
	fromClient := d == ClientToBroker
	switch t {
	case codec.CONNECT, codec.SUBSCRIBE, codec.UNSUBSCRIBE, codec.PINGREQ:
		if !fromClient {
			return false
		}
	case codec.CONNACK, codec.SUBACK, codec.UNSUBACK, codec.PINGRESP:
		if fromClient {
			return false
		}
	case codec.DISCONNECT:
		if !fromClient && v != codec.V5 {
			return false
		}
	}
	fixed := v != codec.V5
	switch t {
	case codec.CONNECT:
		return rl >= 10
	case codec.CONNACK, codec.PUBACK, codec.PUBREC, codec.PUBREL, codec.PUBCOMP, codec.UNSUBACK:
		return rl == 2 || (!fixed && rl > 2)
	case codec.PUBLISH:
		return rl >= 2
	case codec.SUBSCRIBE, codec.UNSUBSCRIBE:
		return rl >= 5
	case codec.SUBACK:
		return rl >= 3
	case codec.PINGREQ, codec.PINGRESP:
		return rl == 0
	case codec.DISCONNECT:
		return rl == 0 || !fixed
	}
	return true
}

// decode decodes one whole packet and records it.
func (m *mqttStream) decode(pkt []byte, h codec.FixedHeader) {
	ts := m.timeOf(len(pkt))
	v := m.version()
	m.dec.Version = v
	p, _, err := m.dec.Decode(pkt)
	e := Entry{Time: ts, Dir: m.dir, Type: h.Type.String(), Len: len(pkt)}
	if err != nil {
		e.Malformed = true
		e.Text = fmt.Sprintf("malformed %s (%d bytes): %v", h.Type, len(pkt), err)
		m.entry(e, h, nil, nil)
		return
	}
	if c, ok := p.(*codec.Connect); ok && m.dir == ClientToBroker {
		switch c.ProtocolLevel {
		case codec.V31, codec.V311, codec.V5:
			if m.conn.ver == 0 {
				m.conn.ver = c.ProtocolLevel
			}
			v = c.ProtocolLevel
		}
	}
	e.Text = codec.Format(p, v)
	for _, x := range m.dec.Violations {
		e.Violations = append(e.Violations, Violation{Rules: x.Rules, Field: x.Field, Reason: x.Reason, Source: "codec"})
	}
	m.entry(e, h, p, pkt)
}

// entry records e. When state checks run, it keeps what the Checker needs
// of the packet (p nil when the packet could not be decoded) for
// connState.finish, which judges the packets of both directions in time
// order once the whole capture is read: held segments and gaps can
// deliver one direction's packets late.
func (m *mqttStream) entry(e Entry, h codec.FixedHeader, p codec.Packet, raw []byte) {
	if m.conn.check != nil && e.Type != "" {
		e.pkt = &checkPacket{header: h, raw: checkCopy(p, raw, m.version())}
	}
	m.conn.out.Entries = append(m.conn.out.Entries, e)
}

// checkCopy returns bytes that decode to what the Checker needs of p: the
// packet itself, or a PUBLISH without its payload, which may be large.
func checkCopy(p codec.Packet, raw []byte, v codec.Version) []byte {
	if p == nil {
		return nil
	}
	if pub, ok := p.(*codec.Publish); ok && len(pub.Payload) > 64 {
		payload := pub.Payload
		pub.Payload = nil
		b, err := pub.Append(nil, v)
		pub.Payload = payload
		if err == nil {
			return b
		}
	}
	return append([]byte(nil), raw...)
}
