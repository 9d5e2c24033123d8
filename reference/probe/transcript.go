package probe

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Dir says which way an Entry went.
type Dir uint8

// Directions of transcript entries.
const (
	// DirSent is a packet (or raw bytes) the probe wrote.
	DirSent Dir = iota + 1
	// DirReceived is a packet the peer sent, decoded or not.
	DirReceived
	// DirEvent is something that is not a packet: a dial, a closure, a
	// note a spec added.
	DirEvent
)

// String returns the arrow WriteText draws for d.
func (d Dir) String() string {
	switch d {
	case DirSent:
		return "->"
	case DirReceived:
		return "<-"
	case DirEvent:
		return "**"
	}
	return "??"
}

// Entry is one line of a Transcript.
type Entry struct {
	Time time.Time
	// Conn is the label of the connection the entry belongs to.
	Conn string
	Dir  Dir
	// Raw holds the bytes sent or received (nil for most events). It is
	// the transcript's own copy; callers must not modify it.
	Raw []byte
	// Text is the packet rendered by codec.Format, a decode error, or a
	// note such as "connection closed by peer (EOF)".
	Text string
	// Violations are the statement IDs the packet broke, from lenient
	// decoding (received packets only).
	Violations []string
}

// Transcript records every byte and event of the connections of one spec,
// in the order they happened, so a failed spec can show exactly what was
// said on the wire. It is safe for concurrent use; the zero value is ready
// and measures relative times from its first entry.
type Transcript struct {
	mu      sync.Mutex
	start   time.Time
	entries []Entry
	conns   int // connections labelled so far, for default labels
}

// NewTranscript returns a transcript whose relative times count from now.
func NewTranscript() *Transcript {
	return &Transcript{start: time.Now()}
}

// Add appends e. A zero e.Time is set to now.
func (t *Transcript) Add(e Entry) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	t.mu.Lock()
	if t.start.IsZero() {
		t.start = e.Time
	}
	t.entries = append(t.entries, e)
	t.mu.Unlock()
}

// Note adds an event line for connection label, for specs that want to
// mark a step ("waiting 1.5x keepalive") among the packets.
func (t *Transcript) Note(label, text string) {
	t.Add(Entry{Conn: label, Dir: DirEvent, Text: text})
}

// Entries returns a copy of the entries so far. The Raw and Violations
// slices are shared with the transcript and must not be modified.
func (t *Transcript) Entries() []Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Entry(nil), t.entries...)
}

// Len returns the number of entries.
func (t *Transcript) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

// Start returns the instant relative times are measured from.
func (t *Transcript) Start() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.start
}

// nextLabel returns "c1", "c2"... so that connections of one spec get
// distinct default labels.
func (t *Transcript) nextLabel() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.conns++
	return "c" + strconv.Itoa(t.conns)
}

// WriteText writes the transcript as one line per entry:
//
//	+0.000s c1 ** dial 127.0.0.1:1883 ok
//	+0.001s c1 -> CONNECT level=4 name="MQTT" clean=1 keepalive=30 id="a"
//	+0.002s c1 <- CONNACK session-present=0 rc=0x00
//	+0.003s c1 <- PUBLISH qos=0 ... topic="a/+" ... !! [MQTT-3.3.2-2 MQTT-4.7.1-1]
//
// Times are relative to Start. It returns the first write error.
func (t *Transcript) WriteText(w io.Writer) error {
	entries := t.Entries()
	start := t.Start()
	bw := bufio.NewWriter(w)
	var line []byte
	for _, e := range entries {
		line = appendRel(line[:0], e.Time.Sub(start))
		line = append(line, ' ')
		line = append(line, e.Conn...)
		line = append(line, ' ')
		line = append(line, e.Dir.String()...)
		line = append(line, ' ')
		// A note or decode error may hold newlines; keep one entry per line.
		line = append(line, strings.ReplaceAll(e.Text, "\n", "\\n")...)
		if len(e.Violations) > 0 {
			line = append(line, " !! ["...)
			line = append(line, strings.Join(e.Violations, " ")...)
			line = append(line, ']')
		}
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// String returns the WriteText rendering, for test logs.
func (t *Transcript) String() string {
	var b strings.Builder
	_ = t.WriteText(&b) // a strings.Builder never fails
	return b.String()
}

// appendRel appends d as "+1.234s" (or "-0.001s" for entries stamped
// before Start, which a caller-provided time can be).
func appendRel(dst []byte, d time.Duration) []byte {
	if d < 0 {
		dst = append(dst, '-')
		d = -d
	} else {
		dst = append(dst, '+')
	}
	dst = strconv.AppendFloat(dst, d.Seconds(), 'f', 3, 64)
	return append(dst, 's')
}

// appendHex appends up to max bytes of b as spaced hex, with "..." when
// cut, for bytes that do not decode.
func appendHex(dst, b []byte, max int) []byte {
	const digits = "0123456789abcdef"
	for i, c := range b {
		if i == max {
			return append(dst, " ..."...)
		}
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, digits[c>>4], digits[c&15])
	}
	return dst
}
