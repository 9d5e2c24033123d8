package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// maxHTTPHeader bounds the HTTP upgrade request or response searched for
// its end.
const maxHTTPHeader = 16 << 10

// maxWSFrame bounds a WebSocket frame counted as plausible when looking
// for a frame boundary after lost bytes.
const maxWSFrame = 16 << 20

type wsPhase int

const (
	wsSniff wsPhase = iota // joined mid-stream: HTTP or frames?
	wsHTTP
	wsFrames
	wsLost
)

// wsStream parses the HTTP upgrade of one direction, then its WebSocket
// frames, and feeds the (unmasked) payload of data frames to next.
type wsStream struct {
	conn *connState
	dir  Dir
	next byteSink

	began   bool
	phase   wsPhase
	synced  bool
	hbuf    []byte // HTTP header so far, or unsynchronised frame bytes
	hdr     []byte // frame header so far
	inFrame bool
	remain  int64
	masked  bool
	mask    [4]byte
	mpos    int
	opcode  byte
	dataOp  byte   // opcode of the data message being continued
	ctrl    []byte // close frame payload
	scratch []byte
	noted   bool // unmasked-client note given
}

func (w *wsStream) begin(mid bool) {
	if w.began {
		return
	}
	w.began = true
	w.phase = wsHTTP
	if mid {
		w.phase = wsSniff
	}
	w.next.begin(mid)
}

func (w *wsStream) data(b []byte, ts time.Time) {
	w.begin(false)
	switch w.phase {
	case wsSniff:
		if bytes.HasPrefix(b, []byte("GET ")) || bytes.HasPrefix(b, []byte("HTTP/")) {
			w.phase = wsHTTP
		} else {
			w.phase, w.synced = wsFrames, false
		}
		w.data(b, ts)
	case wsHTTP:
		w.hbuf = append(w.hbuf, b...)
		i := bytes.Index(w.hbuf, []byte("\r\n\r\n"))
		if i < 0 {
			if len(w.hbuf) > maxHTTPHeader {
				w.conn.note(ts, fmt.Sprintf("%s: no end of the HTTP upgrade in %d bytes; not decoded", w.dir, len(w.hbuf)))
				w.phase, w.hbuf = wsLost, nil
				w.conn.lost(ts)
			}
			return
		}
		head, rest := string(w.hbuf[:i]), append([]byte(nil), w.hbuf[i+4:]...)
		w.hbuf = w.hbuf[:0]
		if !w.upgrade(head, ts) {
			w.phase = wsLost
			return
		}
		w.phase, w.synced = wsFrames, true
		if len(rest) > 0 {
			w.frames(rest, ts)
		}
	case wsFrames:
		w.frames(b, ts)
	}
}

// upgrade notes the HTTP request or response line; it reports whether
// WebSocket frames follow.
func (w *wsStream) upgrade(head string, ts time.Time) bool {
	line, fields, _ := strings.Cut(head, "\r\n")
	proto := ""
	for _, f := range strings.Split(fields, "\r\n") {
		k, v, _ := strings.Cut(f, ":")
		if strings.EqualFold(strings.TrimSpace(k), "Sec-WebSocket-Protocol") {
			proto = strings.TrimSpace(v)
		}
	}
	if proto != "" {
		proto = " (subprotocol " + proto + ")"
	}
	if w.dir == ClientToBroker {
		w.conn.note(ts, "WebSocket upgrade request: "+line+proto)
		return true
	}
	if f := strings.Fields(line); len(f) >= 2 && f[1] == "101" {
		w.conn.note(ts, "WebSocket upgrade accepted: "+line+proto)
		return true
	}
	w.conn.note(ts, "WebSocket upgrade refused: "+line)
	return false
}

func (w *wsStream) frames(b []byte, ts time.Time) {
	if !w.synced {
		w.hbuf = append(w.hbuf, b...)
		w.resync(ts, false)
		return
	}
	for len(b) > 0 {
		if w.inFrame {
			n := int(min(w.remain, int64(len(b))))
			w.payload(b[:n], ts)
			b = b[n:]
			w.remain -= int64(n)
			if w.remain == 0 {
				w.frameDone(ts)
			}
			continue
		}
		w.hdr = append(w.hdr, b[0])
		b = b[1:]
		need := wsHeaderLen(w.hdr)
		if len(w.hdr) < need {
			continue
		}
		if !w.startFrame(ts) {
			// Framing lost: look for the next frame in what follows.
			w.synced = false
			w.next.gap(0, ts, "WebSocket framing lost")
			w.hbuf = append(w.hbuf[:0], b...)
			w.resync(ts, false)
			return
		}
	}
}

// wsHeaderLen returns the length of the frame header that starts hdr, as
// far as hdr tells (2 until the length byte is known).
func wsHeaderLen(hdr []byte) int {
	if len(hdr) < 2 {
		return 2
	}
	n := 2
	switch hdr[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if hdr[1]&0x80 != 0 {
		n += 4
	}
	return n
}

// parseWSHeader decodes a complete frame header.
func parseWSHeader(hdr []byte) (fin bool, rsv, opcode byte, masked bool, mask [4]byte, length uint64) {
	fin, rsv, opcode = hdr[0]&0x80 != 0, hdr[0]&0x70, hdr[0]&0x0f
	masked = hdr[1]&0x80 != 0
	length = uint64(hdr[1] & 0x7f)
	off := 2
	switch length {
	case 126:
		length = uint64(binary.BigEndian.Uint16(hdr[2:4]))
		off = 4
	case 127:
		length = binary.BigEndian.Uint64(hdr[2:10])
		off = 10
	}
	if masked {
		copy(mask[:], hdr[off:off+4])
	}
	return
}

func (w *wsStream) startFrame(ts time.Time) bool {
	fin, rsv, op, masked, mask, length := parseWSHeader(w.hdr)
	w.hdr = w.hdr[:0]
	if rsv != 0 || !validOpcode(op) || (op >= 8 && (!fin || length > 125)) || length > 1<<40 {
		w.conn.note(ts, fmt.Sprintf("%s: invalid WebSocket frame header (opcode %d, rsv %x, length %d); framing lost", w.dir, op, rsv, length))
		return false
	}
	if w.dir == ClientToBroker && !masked && !w.noted {
		w.noted = true
		w.conn.note(ts, "client WebSocket frame not masked (RFC 6455 section 5.1 requires it)")
	}
	switch {
	case op == 0:
		w.opcode = w.dataOp // a continuation of the message
	case op < 8:
		w.opcode, w.dataOp = op, op
	default:
		w.opcode = op // control frames may come between fragments
	}
	w.inFrame, w.remain, w.masked, w.mask, w.mpos = true, int64(length), masked, mask, 0
	w.ctrl = w.ctrl[:0]
	if length == 0 {
		w.frameDone(ts)
	}
	return true
}

func validOpcode(op byte) bool { return op <= 2 || (op >= 8 && op <= 10) }

func (w *wsStream) payload(b []byte, ts time.Time) {
	if w.masked {
		w.scratch = append(w.scratch[:0], b...)
		for i := range w.scratch {
			w.scratch[i] ^= w.mask[(w.mpos+i)&3]
		}
		w.mpos += len(b)
		b = w.scratch
	}
	switch w.opcode {
	case 1, 2:
		w.next.data(b, ts)
	case 8:
		w.ctrl = append(w.ctrl, b...)
	}
}

func (w *wsStream) frameDone(ts time.Time) {
	w.inFrame = false
	if w.opcode == 8 {
		code := ""
		if len(w.ctrl) >= 2 {
			code = fmt.Sprintf(" (status %d)", binary.BigEndian.Uint16(w.ctrl))
		}
		w.conn.note(ts, fmt.Sprintf("%s WebSocket close frame%s", w.dir.Side(), code))
	}
}

func (w *wsStream) gap(n int, ts time.Time, why string) {
	w.begin(false)
	if w.phase == wsFrames && w.synced && w.inFrame && int64(n) <= w.remain {
		w.remain -= int64(n)
		w.mpos += n
		if w.opcode == 1 || w.opcode == 2 {
			w.next.gap(n, ts, why)
		}
		if w.remain == 0 {
			w.frameDone(ts)
		}
		return
	}
	if w.phase == wsLost {
		return
	}
	w.phase, w.synced, w.inFrame = wsFrames, false, false
	w.hdr, w.hbuf = w.hdr[:0], w.hbuf[:0]
	w.next.gap(n, ts, why)
}

// resync looks for a plausible frame header in hbuf: a complete frame
// followed by another plausible header or by the end of the bytes so far.
func (w *wsStream) resync(ts time.Time, final bool) {
	for i := 0; i < len(w.hbuf); i++ {
		switch w.plausibleFrame(w.hbuf[i:], true) {
		case verdictYes:
			rest := append([]byte(nil), w.hbuf[i:]...)
			w.hbuf = w.hbuf[:0]
			w.synced = true
			w.conn.note(ts, fmt.Sprintf("%s: WebSocket framing resynchronised, %d bytes skipped", w.dir, i))
			w.frames(rest, ts)
			return
		case verdictMore:
			if !final && len(w.hbuf) < resyncWindow {
				w.hbuf = append(w.hbuf[:0], w.hbuf[i:]...)
				return
			}
		}
	}
	if final && len(w.hbuf) > 0 {
		w.conn.note(ts, fmt.Sprintf("%s: %d bytes skipped without finding a WebSocket frame boundary", w.dir, len(w.hbuf)))
	}
	w.hbuf = w.hbuf[:0]
}

func (w *wsStream) plausibleFrame(b []byte, chain bool) verdict {
	need := wsHeaderLen(b)
	if len(b) < need {
		return verdictMore
	}
	fin, rsv, op, masked, _, length := parseWSHeader(b[:need])
	if rsv != 0 || !validOpcode(op) || (op >= 8 && (!fin || length > 125)) || length > maxWSFrame ||
		masked != (w.dir == ClientToBroker) {
		return verdictNo
	}
	// The shortest length form is required (RFC 6455 section 5.2).
	if (b[1]&0x7f == 126 && length < 126) || (b[1]&0x7f == 127 && length < 1<<16) {
		return verdictNo
	}
	total := need + int(length)
	if len(b) < total {
		return verdictMore
	}
	if !chain || len(b) == total {
		return verdictYes
	}
	return w.plausibleFrame(b[total:], false)
}

func (w *wsStream) end() {
	if w.phase == wsFrames && !w.synced {
		w.resync(w.conn.lastTime(), true)
	}
	if w.phase == wsHTTP && len(w.hbuf) > 0 {
		w.conn.note(w.conn.lastTime(), fmt.Sprintf("%s: the stream ends inside the HTTP upgrade (%d bytes)", w.dir, len(w.hbuf)))
	}
	w.next.end()
}
