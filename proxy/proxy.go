// Package proxy is a transparent MQTT proxy that judges both sides of
// every connection it forwards: a client and a broker talk through it
// unchanged, byte for byte, and it reports each normative statement either
// side breaks, as it happens.
//
// It lives apart from package capture, which it builds on (capture.Checker
// for the rules that span packets, capture.PcapWriter for captures),
// because it is a long-running network service with goroutines, sockets
// and deadlines, while capture only reads and writes files.
//
// What is judged: every rule the codec checks on a single packet (decoded
// leniently, so the packet is still forwarded and still counted), and the
// rules of capture.Checker that depend on order and state: the first
// packets of a connection, a second CONNECT, packet identifiers reused
// while in flight, QoS 1 and 2 flows out of order, acknowledgements that
// echo no request, SUBACK counts, the client's keep alive (with a stated
// margin), anything sent after DISCONNECT, and RETAIN=1 on a live forward.
// Only what is certain from the wire is reported.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqtt-check/mqtt-check/capture"
	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// Defaults for Options fields left zero.
const (
	DefaultDialTimeout = 5 * time.Second
	// readBuffer is the size of one forwarding read.
	readBuffer = 32 << 10
	// maxPacket bounds a packet the analyser buffers to decode; larger
	// ones are forwarded, reported by size and skipped by the analyser.
	maxPacket = 16 << 20
)

// Options configure a Server.
type Options struct {
	// Target is the broker's address (host:port).
	Target string
	// DialTimeout bounds connecting to the target (default 5s).
	DialTimeout time.Duration
	// KeepAliveMargin is added to a client's keep alive before its
	// silence is reported (default capture.DefaultKeepAliveMargin).
	KeepAliveMargin time.Duration
	// OnFinding is called for each violation as it is found. Calls for one
	// connection are sequential; calls for different connections may be
	// concurrent.
	OnFinding func(Finding)
	// OnEvent is called for connection events (accepted, closed, dial
	// failed) and, with Verbose, for every packet; same concurrency as
	// OnFinding.
	OnEvent func(Event)
	// Verbose passes every packet to OnEvent.
	Verbose bool
	// TranscriptDir, when set, receives one text transcript per
	// connection (LABEL.txt) when it ends.
	TranscriptDir string
	// Pcap, when set, receives the traffic as a capture: synthesised
	// frames (capture.PcapWriter) with the broker on port 1883.
	Pcap *capture.PcapWriter
}

// Finding is a rule broken on a connection.
type Finding struct {
	Time time.Time
	Conn string
	// Dir is the direction of the offending packet: capture.ClientToBroker
	// when the client broke the rule.
	Dir   capture.Dir
	Rules []string
	Text  string
}

// Event is something that happened on a connection: Dir is capture.Note
// for connection events, the packet's direction for packets.
type Event struct {
	Time time.Time
	Conn string
	Dir  capture.Dir
	Text string
}

// ConnStats sums up one connection.
type ConnStats struct {
	Label, Client          string
	ClientPackets, Packets int
	Findings               int
}

// Server accepts clients and forwards each to the target.
type Server struct {
	opts   Options
	n      atomic.Int64
	pcapMu sync.Mutex

	mu    sync.Mutex
	stats []*ConnStats
}

// New returns a Server for opts.
func New(opts Options) *Server {
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	return &Server{opts: opts}
}

// Stats returns a summary per connection so far, in accept order.
func (s *Server) Stats() []ConnStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ConnStats, len(s.stats))
	for i, c := range s.stats {
		out[i] = *c
	}
	return out
}

// Findings returns the number of violations found so far.
func (s *Server) Findings() int {
	n := 0
	for _, c := range s.Stats() {
		n += c.Findings
	}
	return n
}

// Serve accepts connections on ln until ctx ends or ln fails, then closes
// every connection and returns once all their goroutines have finished.
// It returns nil when ctx ended it.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var err error
	for {
		nc, aerr := ln.Accept()
		if aerr != nil {
			if ctx.Err() == nil {
				err = fmt.Errorf("proxy: accept: %w", aerr)
			}
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handle(ctx, nc)
		}()
	}
	cancel()
	wg.Wait()
	return err
}

// chunk is bytes read from one side, or the end of that side.
type chunk struct {
	dir  capture.Dir
	at   time.Time
	b    []byte
	end  bool
	err  error
	last bool // both sides have ended
}

func (s *Server) handle(ctx context.Context, client net.Conn) {
	label := "c" + strconv.FormatInt(s.n.Add(1), 10)
	st := &ConnStats{Label: label, Client: client.RemoteAddr().String()}
	s.mu.Lock()
	s.stats = append(s.stats, st)
	s.mu.Unlock()
	a := newAnalyser(s, label, st)
	a.event(time.Now(), capture.Note, "accepted "+st.Client+", dialling "+s.opts.Target)
	dctx, cancel := context.WithTimeout(ctx, s.opts.DialTimeout)
	broker, err := (&net.Dialer{}).DialContext(dctx, "tcp", s.opts.Target)
	cancel()
	if err != nil {
		a.event(time.Now(), capture.Note, "dial "+s.opts.Target+" failed: "+err.Error())
		client.Close()
		a.finish()
		return
	}
	a.event(time.Now(), capture.Note, "connected to "+s.opts.Target+" (local "+broker.LocalAddr().String()+")")

	chunks := make(chan chunk, 256)
	var pumps sync.WaitGroup
	pumps.Add(2)
	go s.pump(&pumps, client, broker, capture.ClientToBroker, chunks)
	go s.pump(&pumps, broker, client, capture.BrokerToClient, chunks)
	done := make(chan struct{})
	go func() {
		// Close both sockets when the connection is over or the server
		// stops, which also ends both pumps.
		select {
		case <-ctx.Done():
		case <-done:
		}
		client.Close()
		broker.Close()
	}()
	go func() {
		pumps.Wait()
		chunks <- chunk{last: true}
	}()
	a.run(chunks)
	close(done)
	a.finish()
}

// pump copies src to dst. Each read is handed to the analyser before it is
// forwarded, so that the analyser sees a request before any answer it
// causes.
func (s *Server) pump(wg *sync.WaitGroup, src, dst net.Conn, dir capture.Dir, out chan<- chunk) {
	defer wg.Done()
	buf := make([]byte, readBuffer)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			out <- chunk{dir: dir, at: time.Now(), b: append([]byte(nil), buf[:n]...)}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				out <- chunk{dir: dir, at: time.Now(), end: true, err: fmt.Errorf("forwarding: %w", werr)}
				dst.Close()
				src.Close()
				return
			}
		}
		if err != nil {
			out <- chunk{dir: dir, at: time.Now(), end: true, err: err}
			// Pass the end on: a half-close when the other side can take
			// one, so that a DISCONNECT-and-close reaches the broker as it
			// left the client.
			if tc, ok := dst.(*net.TCPConn); ok && errors.Is(err, io.EOF) {
				tc.CloseWrite()
			} else {
				dst.Close()
			}
			return
		}
	}
}

// analyser judges one connection from the chunks of both directions.
type analyser struct {
	s      *Server
	label  string
	st     *ConnStats
	check  *capture.Checker
	tr     *probe.Transcript
	dirs   [2]framer
	ver    codec.Version
	ended  [2]bool
	timer  *time.Timer
	silent bool // keep alive no longer judged (a side has ended)
}

// framer splits one direction's bytes into packets.
type framer struct {
	buf  []byte
	skip int  // bytes of an oversized packet still to come
	lost bool // framing lost: nothing more is decoded
	dec  codec.Decoder
}

func newAnalyser(s *Server, label string, st *ConnStats) *analyser {
	a := &analyser{s: s, label: label, st: st, check: capture.NewChecker()}
	a.check.KeepAliveMargin = s.opts.KeepAliveMargin
	if s.opts.TranscriptDir != "" || s.opts.Pcap != nil {
		a.tr = probe.NewTranscript()
	}
	return a
}

func (a *analyser) run(chunks <-chan chunk) {
	a.timer = time.NewTimer(time.Hour)
	a.timer.Stop()
	defer a.timer.Stop()
	for {
		select {
		case c := <-chunks:
			if c.last {
				return
			}
			if c.end {
				a.end(c)
				continue
			}
			a.data(c)
		case now := <-a.timer.C:
			fs := a.check.Silence(now)
			for _, f := range fs {
				if a.tr != nil {
					a.tr.Add(probe.Entry{Time: f.Time, Conn: a.label, Dir: probe.DirEvent, Text: f.Text, Violations: f.Rules})
				}
			}
			a.findings(fs)
		}
		a.arm()
	}
}

// arm sets the keep alive timer to the Checker's deadline.
func (a *analyser) arm() {
	a.timer.Stop()
	if a.silent {
		return
	}
	if dl, ok := a.check.KeepAliveDeadline(); ok {
		// A millisecond past the deadline, so that Silence sees it passed.
		a.timer.Reset(time.Until(dl) + time.Millisecond)
	}
}

func idx(d capture.Dir) int {
	if d == capture.BrokerToClient {
		return 1
	}
	return 0
}

func (a *analyser) end(c chunk) {
	i := idx(c.dir)
	if a.ended[i] {
		return
	}
	a.ended[i] = true
	a.silent = true
	f := &a.dirs[i]
	if len(f.buf) > 0 && !f.lost {
		a.event(c.at, capture.Note, fmt.Sprintf("%s stream ended inside a packet (%d bytes)", c.dir, len(f.buf)))
		a.record(c.at, c.dir, f.buf, "unfinished packet: "+strconv.Itoa(len(f.buf))+" bytes", nil)
	}
	how := "closed by " + c.dir.Side() + " (EOF)"
	if !errors.Is(c.err, io.EOF) {
		how = "reset by " + c.dir.Side() + ": " + c.err.Error()
		if errors.Is(c.err, net.ErrClosed) {
			how = "closed by the proxy"
		}
	}
	a.event(c.at, capture.Note, "connection "+how)
}

func (a *analyser) data(c chunk) {
	f := &a.dirs[idx(c.dir)]
	b := c.b
	if f.skip > 0 {
		n := min(f.skip, len(b))
		f.skip -= n
		b = b[n:]
	}
	if f.lost {
		a.record(c.at, c.dir, b, "unframed bytes after lost framing", nil)
		return
	}
	f.buf = append(f.buf, b...)
	for len(f.buf) > 0 {
		h, err := codec.ParseFixedHeader(f.buf)
		if errors.Is(err, codec.ErrIncomplete) {
			return
		}
		if err != nil {
			f.lost = true
			a.record(c.at, c.dir, f.buf, "malformed "+h.Type.String()+": "+err.Error()+"; framing lost, the rest is not decoded", nil)
			a.findings([]capture.Finding{{Time: c.at, Dir: c.dir, Text: err.Error()}})
			f.buf = nil
			return
		}
		if h.PacketLen() > maxPacket {
			n := min(len(f.buf), h.PacketLen())
			a.record(c.at, c.dir, f.buf[:n], fmt.Sprintf("%s of %d bytes, larger than the proxy decodes: not judged", h.Type, h.PacketLen()), nil)
			a.check.Lost()
			f.skip = h.PacketLen() - n
			f.buf = f.buf[n:]
			continue
		}
		if len(f.buf) < h.PacketLen() {
			return
		}
		a.packet(c.at, c.dir, f, h, f.buf[:h.PacketLen()])
		f.buf = f.buf[h.PacketLen():]
	}
	f.buf = f.buf[:0:0] // let a large buffer go
}

// packet decodes and judges one whole packet.
func (a *analyser) packet(at time.Time, dir capture.Dir, f *framer, h codec.FixedHeader, raw []byte) {
	v := a.ver
	if v == 0 {
		v = codec.V311
	}
	f.dec.Version = v
	p, _, err := f.dec.Decode(raw)
	var fs []capture.Finding
	var text string
	if err != nil {
		text = fmt.Sprintf("malformed %s (%d bytes): %v", h.Type, len(raw), err)
		var ce *codec.Error
		var rules []string
		if errors.As(err, &ce) {
			rules = ce.Rules
		}
		fs = append(fs, capture.Finding{Time: at, Dir: dir, Rules: rules, Text: text})
		p = nil
	} else {
		if c, ok := p.(*codec.Connect); ok && dir == capture.ClientToBroker && a.ver == 0 {
			switch c.ProtocolLevel {
			case codec.V31, codec.V311, codec.V5:
				a.ver, v = c.ProtocolLevel, c.ProtocolLevel
			}
		}
		text = codec.Format(p, v)
		for _, x := range f.dec.Violations {
			reason := x.Reason
			if x.Field != "" {
				reason = x.Field + ": " + reason
			}
			fs = append(fs, capture.Finding{Time: at, Dir: dir, Rules: x.Rules, Text: h.Type.String() + " " + reason})
		}
	}
	fs = append(fs, a.check.Packet(dir, at, h, p)...)
	var ids []string
	for _, x := range fs {
		ids = append(ids, x.Rules...)
	}
	a.record(at, dir, raw, text, ids)
	a.s.mu.Lock()
	a.st.Packets++
	if dir == capture.ClientToBroker {
		a.st.ClientPackets++
	}
	a.s.mu.Unlock()
	if a.s.opts.Verbose {
		a.emit(Event{Time: at, Conn: a.label, Dir: dir, Text: text})
	}
	a.findings(fs)
}

func (a *analyser) findings(fs []capture.Finding) {
	if len(fs) == 0 {
		return
	}
	a.s.mu.Lock()
	a.st.Findings += len(fs)
	a.s.mu.Unlock()
	for _, f := range fs {
		if a.s.opts.OnFinding != nil {
			a.s.opts.OnFinding(Finding{Time: f.Time, Conn: a.label, Dir: f.Dir, Rules: f.Rules, Text: f.Text})
		}
	}
}

// record adds a packet (or unframed bytes) to the transcript and capture.
func (a *analyser) record(at time.Time, dir capture.Dir, raw []byte, text string, ids []string) {
	if a.tr == nil {
		return
	}
	d := probe.DirSent
	if dir == capture.BrokerToClient {
		d = probe.DirReceived
	}
	e := probe.Entry{Time: at, Conn: a.label, Dir: d, Raw: append([]byte(nil), raw...), Text: text, Violations: ids}
	a.tr.Add(e)
	a.writePcap(e)
}

func (a *analyser) event(at time.Time, dir capture.Dir, text string) {
	if a.tr != nil {
		e := probe.Entry{Time: at, Conn: a.label, Dir: probe.DirEvent, Text: text}
		a.tr.Add(e)
		a.writePcap(e)
	}
	a.emit(Event{Time: at, Conn: a.label, Dir: dir, Text: text})
}

func (a *analyser) emit(e Event) {
	if a.s.opts.OnEvent != nil {
		a.s.opts.OnEvent(e)
	}
}

func (a *analyser) writePcap(e probe.Entry) {
	if a.s.opts.Pcap == nil {
		return
	}
	a.s.pcapMu.Lock()
	defer a.s.pcapMu.Unlock()
	if err := a.s.opts.Pcap.WriteEntry(e); err != nil {
		a.emit(Event{Time: time.Now(), Conn: a.label, Dir: capture.Note, Text: "pcap: " + err.Error()})
	}
}

// finish writes the connection's transcript file.
func (a *analyser) finish() {
	if a.tr == nil || a.s.opts.TranscriptDir == "" {
		return
	}
	path := filepath.Join(a.s.opts.TranscriptDir, a.label+".txt")
	if err := os.WriteFile(path, []byte(a.tr.String()), 0o644); err != nil {
		a.emit(Event{Time: time.Now(), Conn: a.label, Dir: capture.Note, Text: "transcript: " + err.Error()})
	}
}

// SortedRules lists the statement IDs of fs, each once, sorted.
func SortedRules(fs []Finding) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range fs {
		for _, id := range f.Rules {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	sort.Strings(out)
	return out
}
