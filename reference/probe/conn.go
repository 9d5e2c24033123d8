// Package probe is the low-level scripted MQTT client the conformance
// specs drive: send any packet or any bytes, expect a packet within a
// deadline, expect nothing, expect the connection to close, and keep a
// transcript of every byte in both directions.
//
// A probe must be able to say anything on the wire, including what the
// specification forbids, so it never validates what it sends. It must
// never panic on what a broken broker sends, so it decodes leniently:
// rule violations are recorded with their statement IDs and the packet is
// still delivered, malformed packets are delivered with an error, and a
// stream whose framing is lost is recorded byte by byte until it closes.
//
// Packets the spec is not waiting for are never dropped: Expect takes the
// first packet that matches and leaves the others queued, because a
// PINGRESP or another client's message may legitimately interleave with
// the one a spec awaits.
package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
)

// MaxPacketSize bounds a received packet. A larger one is recorded and
// skipped: a broker should never send one, and a hostile length must not
// make the harness allocate gigabytes.
const MaxPacketSize = 16 << 20

// Defaults for Options fields left zero.
const (
	DefaultDialTimeout  = 5 * time.Second
	DefaultWriteTimeout = 5 * time.Second
)

// Options configure Dial.
type Options struct {
	// Label names the connection in the transcript; default "c1", "c2"...
	// in the order connections join the transcript.
	Label string
	// Version is the protocol level used to encode sent packets and to
	// decode received ones (zero means 3.1.1). A CONNECT carries its own
	// level on the wire regardless. Change it with Conn.SetVersion.
	Version codec.Version
	// TLS, when set, makes the connection a TLS client with this config.
	TLS *tls.Config
	// Transcript receives every entry; nil gives the connection its own.
	// Share one between the connections of a spec so their lines
	// interleave in time order.
	Transcript *Transcript
	// DialTimeout bounds dialling and the TLS handshake (default 5s).
	DialTimeout time.Duration
	// WriteTimeout bounds each write (default 5s), so a broker that stops
	// reading cannot hang a spec.
	WriteTimeout time.Duration
	// Dialer replaces net.Dialer, e.g. to tunnel MQTT over WebSocket. It
	// is called with network "tcp".
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Received is one packet (or undecodable unit) the peer sent. It owns its
// memory: Raw is a private copy and Packet was decoded by a Decoder used
// for nothing else, so it stays valid forever.
type Received struct {
	// At is when the whole packet had arrived.
	At time.Time
	// Raw is every byte of the packet, fixed header included.
	Raw    []byte
	Header codec.FixedHeader
	// Packet is the decoded packet, nil when Err is set.
	Packet codec.Packet
	// Violations are the rules the packet broke; it was decoded anyway.
	Violations []codec.Error
	// Err is set when the bytes could not be decoded (malformed).
	Err error
	// text is the transcript rendering.
	text string
}

// Type returns the packet type from the fixed header, which is known even
// when the packet is malformed.
func (r *Received) Type() codec.Type { return r.Header.Type }

// String returns the one-line rendering used in the transcript.
func (r *Received) String() string { return r.text }

// Rules returns the statement IDs the packet broke, without duplicates.
func (r *Received) Rules() []string {
	var ids []string
	for i := range r.Violations {
		ids = appendRules(ids, r.Violations[i].Rules)
	}
	if ce := (*codec.Error)(nil); errors.As(r.Err, &ce) {
		ids = appendRules(ids, ce.Rules)
	}
	return ids
}

func appendRules(ids, add []string) []string {
next:
	for _, id := range add {
		for _, have := range ids {
			if have == id {
				continue next
			}
		}
		ids = append(ids, id)
	}
	return ids
}

// Conn is one scripted connection. Its methods are safe for concurrent
// use, though a spec normally drives each Conn from one goroutine.
type Conn struct {
	nc    net.Conn
	label string
	tr    *Transcript
	wto   time.Duration
	ver   atomic.Uint32 // codec.Version
	ids   atomic.Uint32 // last packet id handed out by the helpers

	wmu  sync.Mutex // serialises writes so packets never interleave
	wbuf []byte

	mu     sync.Mutex
	inbox  []*Received
	notify chan struct{} // closed and replaced whenever inbox or closed change
	closed *ClosedError

	closing   atomic.Bool // set by Close before it closes nc
	closeOnce sync.Once
	closeErr  error
	done      chan struct{} // closed when the reader goroutine returns
}

// Dial connects to addr and starts the connection's reader. Dialling
// outcomes are recorded in the transcript too, since "could not connect"
// is itself something a report shows.
func Dial(ctx context.Context, addr string, opts Options) (*Conn, error) {
	tr := opts.Transcript
	if tr == nil {
		tr = NewTranscript()
	}
	label := opts.Label
	if label == "" {
		label = tr.nextLabel()
	}
	dto := opts.DialTimeout
	if dto <= 0 {
		dto = DefaultDialTimeout
	}
	dctx, cancel := context.WithTimeout(ctx, dto)
	defer cancel()
	dial := opts.Dialer
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	nc, err := dial(dctx, "tcp", addr)
	if err != nil {
		tr.Note(label, "dial "+addr+" failed: "+err.Error())
		return nil, fmt.Errorf("probe: %s: dial %s: %w", label, addr, err)
	}
	if opts.TLS != nil {
		cfg := opts.TLS
		if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
			// Verification needs a name; take it from the address as
			// tls.Dial does.
			if host, _, err := net.SplitHostPort(addr); err == nil {
				cfg = cfg.Clone()
				cfg.ServerName = host
			}
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			nc.Close()
			tr.Note(label, "TLS handshake with "+addr+" failed: "+err.Error())
			return nil, fmt.Errorf("probe: %s: TLS handshake with %s: %w", label, addr, err)
		}
		nc = tc
	}
	tr.Note(label, "dial "+addr+" ok (local "+nc.LocalAddr().String()+")")
	wto := opts.WriteTimeout
	if wto <= 0 {
		wto = DefaultWriteTimeout
	}
	c := &Conn{nc: nc, label: label, tr: tr, wto: wto,
		notify: make(chan struct{}), done: make(chan struct{})}
	c.ver.Store(uint32(opts.Version))
	go c.readLoop()
	return c, nil
}

// Label returns the connection's transcript label.
func (c *Conn) Label() string { return c.label }

// Transcript returns the transcript the connection writes to.
func (c *Conn) Transcript() *Transcript { return c.tr }

// NetConn returns the underlying connection, for tricks the probe has no
// method for (half-close, socket options). Do not read from it.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Version returns the protocol level used to encode and decode.
func (c *Conn) Version() codec.Version {
	if v := codec.Version(c.ver.Load()); v != 0 {
		return v
	}
	return codec.V311
}

// SetVersion changes the protocol level used from now on, e.g. after a
// spec sent a CONNECT of another level by hand. Packets already received
// keep the decoding they got.
func (c *Conn) SetVersion(v codec.Version) { c.ver.Store(uint32(v)) }

// Send encodes p at the connection's version and writes it. p is encoded
// as it is, even when it breaks a rule; the transcript then lists the
// statement IDs the packet breaks, so a report shows it was on purpose.
func (c *Conn) Send(p codec.Packet) error {
	v := c.Version()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b, err := p.Append(c.wbuf[:0], v)
	if err != nil {
		c.tr.Note(c.label, "cannot encode "+p.Type().String()+": "+err.Error())
		return fmt.Errorf("probe: %s: encode %s: %w", c.label, p.Type(), err)
	}
	c.wbuf = b[:0]
	// Render what went on the wire, not the struct: the encoder fills in
	// defaults (a CONNECT's level and protocol name) the struct leaves zero.
	text, rules := codec.Format(p, v), []string(nil)
	d := codec.Decoder{Version: v}
	if q, n, err := d.Decode(b); err == nil && n == len(b) {
		text = codec.Format(q, v)
		for i := range d.Violations {
			rules = appendRules(rules, d.Violations[i].Rules)
		}
	}
	return c.write(b, text, rules)
}

// SendRaw writes b as it is: several packets, half a packet, garbage. The
// transcript shows what the bytes decode to, and the statement IDs they
// break, so a report can say what the spec sent on purpose.
func (c *Conn) SendRaw(b []byte) error {
	text, rules := describeRaw(b, c.Version())
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(b, text, rules)
}

// write records and writes b; wmu is held.
func (c *Conn) write(b []byte, text string, rules []string) error {
	raw := append([]byte(nil), b...)
	c.tr.Add(Entry{Conn: c.label, Dir: DirSent, Raw: raw, Text: text, Violations: rules})
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.wto)); err != nil {
		return c.writeFailed(err)
	}
	if _, err := c.nc.Write(b); err != nil {
		return c.writeFailed(err)
	}
	return nil
}

func (c *Conn) writeFailed(err error) error {
	c.tr.Note(c.label, "write failed: "+err.Error())
	if closed, _, reason := c.Closed(); closed {
		return fmt.Errorf("probe: %s: write: %w (after %w)", c.label, err, reason)
	}
	return fmt.Errorf("probe: %s: write: %w", c.label, err)
}

// describeRaw renders bytes a spec sends raw: each whole packet they hold
// in codec.Format form, then whatever is left in hex.
func describeRaw(b []byte, v codec.Version) (string, []string) {
	text := []byte("raw")
	var rules []string
	for off := 0; off < len(b); {
		if off > 0 {
			text = append(text, " |"...)
		}
		d := codec.Decoder{Version: v}
		p, n, err := d.Decode(b[off:])
		switch {
		case errors.Is(err, codec.ErrIncomplete):
			text = append(text, " incomplete packet, "...)
			text = strconv.AppendInt(text, int64(len(b)-off), 10)
			text = append(text, " bytes: "...)
			return string(appendHex(text, b[off:], 64)), rules
		case err != nil:
			text = append(text, ' ')
			text = append(text, err.Error()...)
			if ce := (*codec.Error)(nil); errors.As(err, &ce) {
				rules = appendRules(rules, ce.Rules)
			}
			text = append(text, "; bytes: "...)
			return string(appendHex(text, b[off:], 64)), rules
		}
		text = append(text, ' ')
		text = codec.AppendFormat(text, p, v)
		for i := range d.Violations {
			rules = appendRules(rules, d.Violations[i].Rules)
		}
		off += n
	}
	if len(b) == 0 {
		text = append(text, " 0 bytes"...)
	}
	return string(text), rules
}

// Closed reports whether the connection has ended, when the reader saw
// it, and how (a *ClosedError; errors.Is(reason, io.EOF) etc. see through
// it).
func (c *Conn) Closed() (bool, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed == nil {
		return false, time.Time{}, nil
	}
	return true, c.closed.At, c.closed
}

// Pending returns the packets received and not yet taken by an Expect.
func (c *Conn) Pending() []*Received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Received(nil), c.inbox...)
}

// Drain removes and returns every pending packet, e.g. before an
// ExpectNothing that must only judge what comes next. They stay in the
// transcript.
func (c *Conn) Drain() []*Received {
	c.mu.Lock()
	defer c.mu.Unlock()
	in := c.inbox
	c.inbox = nil
	return in
}

// Close closes the connection and waits for its reader to finish, so no
// goroutine outlives the Conn. It is idempotent; later calls return nil.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		if err := c.nc.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			c.closeErr = fmt.Errorf("probe: %s: close: %w", c.label, err)
		}
		<-c.done
	})
	return c.closeErr
}

// Disconnect sends DISCONNECT (ignoring a write error, since the peer may
// have gone) and closes the connection.
func (c *Conn) Disconnect() error {
	_ = c.Send(&codec.Disconnect{})
	return c.Close()
}

// readLoop reads, records and queues packets until the stream ends.
func (c *Conn) readLoop() {
	defer close(c.done)
	br := bufio.NewReader(c.nc)
	rd := codec.NewReader(br)
	rd.MaxPacketSize = MaxPacketSize
	for {
		h, b, err := rd.ReadPacket()
		if err == nil {
			c.deliver(c.decode(h, b))
			continue
		}
		var ce *codec.Error
		switch {
		case errors.Is(err, codec.ErrTooLarge):
			// The length is sane enough to skip: stay in sync with the
			// stream rather than give up on the connection.
			c.tr.Add(Entry{Conn: c.label, Dir: DirReceived, Raw: append([]byte(nil), b...),
				Text: "skipped " + h.Type.String() + " of " + strconv.Itoa(h.PacketLen()) +
					" bytes: larger than the probe's maximum of " + strconv.Itoa(MaxPacketSize)})
			if _, err := io.CopyN(io.Discard, br, int64(h.PacketLen()-len(b))); err != nil {
				c.end(err)
				return
			}
		case errors.As(err, &ce):
			// A remaining length that never ends: where the next packet
			// starts is unknowable, so record the rest as bytes.
			r := &Received{At: time.Now(), Raw: append([]byte(nil), b...), Header: h, Err: err}
			r.text = malformedText(h, r.Raw, err)
			c.deliver(r)
			c.unframed(br)
			return
		default:
			if errors.Is(err, io.ErrUnexpectedEOF) && !c.closing.Load() {
				c.tr.Note(c.label, "stream ended inside a packet: "+err.Error())
			}
			c.end(err)
			return
		}
	}
}

// unframed records whatever arrives after framing was lost, until the
// stream ends, so ExpectClosed and the transcript still work.
func (c *Conn) unframed(br *bufio.Reader) {
	buf := make([]byte, 512)
	for {
		n, err := br.Read(buf)
		if n > 0 {
			raw := append([]byte(nil), buf[:n]...)
			c.tr.Add(Entry{Conn: c.label, Dir: DirReceived, Raw: raw,
				Text: string(appendHex([]byte("unframed bytes after a malformed header: "), raw, 64))})
		}
		if err != nil {
			c.end(err)
			return
		}
	}
}

// decode turns one packet's bytes into a Received with its own copy.
func (c *Conn) decode(h codec.FixedHeader, b []byte) *Received {
	r := &Received{At: time.Now(), Raw: append([]byte(nil), b...), Header: h}
	v := c.Version()
	d := codec.Decoder{Version: v}
	p, _, err := d.Decode(r.Raw)
	if err != nil {
		r.Err = fmt.Errorf("probe: %s: decoding %s: %w", c.label, h.Type, err)
		r.text = malformedText(h, r.Raw, err)
		return r
	}
	r.Packet = p
	r.Violations = d.Violations
	text := codec.AppendFormat(nil, p, v)
	for i := range r.Violations {
		e := &r.Violations[i]
		text = append(text, " !! "...)
		text = append(text, e.Field...)
		text = append(text, ": "...)
		text = append(text, e.Reason...)
	}
	r.text = string(text)
	return r
}

func malformedText(h codec.FixedHeader, raw []byte, err error) string {
	text := []byte("malformed ")
	text = append(text, h.Type.String()...)
	text = append(text, " ("...)
	text = strconv.AppendInt(text, int64(len(raw)), 10)
	text = append(text, " bytes: "...)
	text = appendHex(text, raw, 64)
	text = append(text, "): "...)
	text = append(text, err.Error()...)
	return string(text)
}

// deliver records r and queues it for Expect.
func (c *Conn) deliver(r *Received) {
	c.tr.Add(Entry{Time: r.At, Conn: c.label, Dir: DirReceived, Raw: r.Raw, Text: r.text, Violations: r.Rules()})
	c.mu.Lock()
	c.inbox = append(c.inbox, r)
	c.wakeLocked()
	c.mu.Unlock()
}

// end records how the stream ended.
func (c *Conn) end(err error) {
	local := c.closing.Load()
	ce := &ClosedError{By: classify(err, local), At: time.Now(), Err: err}
	c.tr.Add(Entry{Time: ce.At, Conn: c.label, Dir: DirEvent, Text: ce.Error()})
	c.mu.Lock()
	c.closed = ce
	c.wakeLocked()
	c.mu.Unlock()
}

func (c *Conn) wakeLocked() {
	close(c.notify)
	c.notify = make(chan struct{})
}
