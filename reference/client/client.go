// Package client is a conforming MQTT 3.1.1 and 3.1 client (5.0 where it
// costs little) built for load generation: the load module runs thousands
// of them in one process, so an idle connection is kept small - one reader
// goroutine, a 512-byte read buffer, no write buffer between writes, and a
// runtime timer (not a goroutine) for keepalive.
//
// QoS 1 and 2 are implemented both ways. Outgoing messages wait in an
// inflight window until acknowledged; MQTT 3.1.1 forbids resending them on
// the same connection, so they are resent (with DUP set) only by Reconnect,
// as MQTT-4.4.0-1 requires for a persistent session. Incoming QoS 2
// messages are delivered exactly once: the packet identifier is held from
// PUBLISH to PUBREL and a duplicate PUBLISH in between is acknowledged
// but not delivered again.
package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
)

// Errors returned by the client. Operations wrap them with context, so
// test with errors.Is.
var (
	// ErrClosed: the client was closed with Close or Disconnect.
	ErrClosed = errors.New("client: closed")
	// ErrNotConnected: the connection was lost and Reconnect has not
	// succeeded yet.
	ErrNotConnected = errors.New("client: not connected")
	// ErrConnectionLost completes operations cut short by a lost
	// connection; OnConnectionLost receives an error wrapping it.
	ErrConnectionLost = errors.New("client: connection lost")
	// ErrWindowFull: PublishAsync found MaxInflight messages unacknowledged.
	ErrWindowFull = errors.New("client: inflight window full")
	// ErrPingTimeout: no PINGRESP arrived within PingTimeout.
	ErrPingTimeout = errors.New("client: no PINGRESP in time")
	// ErrAckTimeout: a QoS 1/2 message stayed unacknowledged for longer
	// than AckTimeout, so the connection was given up.
	ErrAckTimeout = errors.New("client: acknowledgement overdue")
	// ErrProtocol: the server sent something the protocol forbids, and
	// the client closed the connection (MQTT-4.8.0-1).
	ErrProtocol = errors.New("client: protocol violation by the server")
	// ErrNoPacketID: all 65535 packet identifiers are in use.
	ErrNoPacketID = errors.New("client: no free packet identifier")
)

// ConnectError is a CONNACK that refused the connection.
type ConnectError struct {
	// Code is the 3.1.1 return code or the 5.0 reason code.
	Code byte
}

// Error implements error.
func (e *ConnectError) Error() string {
	return fmt.Sprintf("client: connection refused by the server, CONNACK code 0x%02x", e.Code)
}

// AckError is an MQTT 5.0 acknowledgement with a failure reason code
// (0x80 or above) for a PUBLISH.
type AckError struct {
	Type codec.Type // PUBACK or PUBREC
	Code byte
}

// Error implements error.
func (e *AckError) Error() string {
	return fmt.Sprintf("client: %s reason code 0x%02x", e.Type, e.Code)
}

// DisconnectError is an MQTT 5.0 DISCONNECT sent by the server.
type DisconnectError struct {
	Code byte
}

// Error implements error.
func (e *DisconnectError) Error() string {
	return fmt.Sprintf("client: server sent DISCONNECT, reason code 0x%02x", e.Code)
}

// Message is an application message, received or to be sent as a will.
type Message struct {
	Topic   []byte
	Payload []byte
	QoS     byte
	Retain  bool
	// Dup and PacketID are set on received messages only.
	Dup      bool
	PacketID uint16
	// Properties are level-5 properties (will properties for a Will);
	// nil otherwise.
	Properties *codec.Properties
	// ReceivedAt is when the packet was read (received messages only),
	// for latency measurement without calling time.Now in the callback.
	ReceivedAt time.Time
}

// Defaults for Options fields left zero.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultMaxInflight    = 64
	// readBufSize is the read buffer. Most MQTT packets of a load test
	// fit; larger ones are read into a separate buffer that is dropped
	// once it has been used, so one big message does not make an idle
	// connection big.
	readBufSize = 512
)

// Options configure a client. Connect copies them.
type Options struct {
	// Addr is host:port of the server.
	Addr     string
	ClientID string
	// Username and Password, when non-nil, are sent with their CONNECT
	// flags set; nil leaves the flag clear (an empty string is sent as an
	// empty field, which is different).
	Username *string
	Password *string
	// Version is the protocol level: codec.V31, codec.V311 (the default
	// when zero) or codec.V5.
	Version codec.Version
	// KeepAlive is sent in CONNECT (in whole seconds, rounded up); the
	// client sends a PINGREQ whenever it has sent nothing for KeepAlive
	// exactly. Zero disables keepalive; more than 65535s is capped.
	KeepAlive time.Duration
	// PingTimeout is how long to wait for PINGRESP before declaring the
	// connection lost (default: KeepAlive).
	PingTimeout time.Duration
	// CleanSession is Clean Session (3.1.1) or Clean Start (5.0). When
	// false, unacknowledged QoS 1/2 messages survive a lost connection and
	// are resent by Reconnect.
	CleanSession bool
	// Will, when set, is the will message.
	Will *Message
	// Properties are extra level-5 CONNECT properties (Session Expiry...).
	Properties *codec.Properties
	// TLS, when set, makes the connection a TLS client with this config.
	TLS *tls.Config
	// Dialer replaces net.Dialer (e.g. for WebSocket); called with "tcp".
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// ConnectTimeout bounds dial, TLS handshake and CONNACK (default 10s).
	ConnectTimeout time.Duration
	// WriteTimeout bounds each write (default 10s), so a server that
	// stops reading cannot block publishers forever.
	WriteTimeout time.Duration
	// MaxPacketSize bounds packets accepted from the server (default
	// codec.DefaultMaxPacketSize). At level 5 it is announced in CONNECT.
	MaxPacketSize int
	// OnMessage is called for each received application message, on the
	// connection's reader goroutine, before the message is acknowledged.
	// The Message and every slice in it are only valid during the call
	// (they alias the read buffer): copy what you keep. It must not block
	// for long and must not call Publish, Subscribe, Unsubscribe,
	// Disconnect or Close, which wait for the reader (PublishAsync is
	// fine).
	OnMessage func(m *Message)
	// OnConnectionLost is called once when a connection ends other than by
	// Close or Disconnect, on the reader goroutine after it has finished
	// reading, with an error wrapping ErrConnectionLost. It may call
	// Reconnect.
	OnConnectionLost func(err error)
	// MaxInflight bounds the outgoing QoS 1/2 messages awaiting their
	// acknowledgement (default 64, at most 65535). At level 5 the server's
	// Receive Maximum lowers it.
	MaxInflight int
	// AckTimeout, when non-zero, gives up a connection on which a QoS 1/2
	// message stays unacknowledged that long. MQTT 3.1.1 lets a client
	// resend only after reconnecting, so a stuck acknowledgement can only
	// be cured by a new connection (see Reconnect).
	AckTimeout time.Duration
}

// Connection states.
const (
	stateConnecting = iota
	stateConnected
	stateLost
	stateClosed
)

// Client is a connected MQTT client. Its methods are safe for concurrent
// use, with the restrictions on callbacks stated in Options.
type Client struct {
	opts   Options
	ver    codec.Version
	kaWire time.Duration // keepalive in force (a 5.0 server may override)

	mu       sync.Mutex
	state    int
	l        *link               // current connection, nil unless connected
	inflight map[uint16]*pending // by packet identifier; lazily made
	nOut     int                 // outgoing QoS 1/2 publishes in inflight
	window   int                 // inflight limit for publishes
	space    chan struct{}       // closed when a window slot frees; lazily made
	seq      uint64              // orders inflight entries for resending
	nextID   uint16              // last identifier handed out
	rx2      map[uint16]struct{} // incoming QoS 2 ids awaiting PUBREL

	wmu sync.Mutex // serialises writes so packets never interleave
}

// link is one network connection of a Client; Reconnect makes a new one.
type link struct {
	c     *Client
	nc    net.Conn
	br    *bufio.Reader
	timer *time.Timer   // keepalive and ack timeout; nil when neither is on
	done  chan struct{} // closed when the reader has finished

	// Under c.mu:
	pingAt time.Time // PINGREQ outstanding since, zero if none
	err    error     // why the link ended (first cause wins)
	local  bool      // ended by Close/Disconnect: no OnConnectionLost
	dead   bool

	// Under c.wmu:
	wdl time.Time // write deadline currently set

	lastSent atomic.Int64 // unix nanos of the last write, for keepalive

	// Reader goroutine only:
	dec    codec.Decoder
	msg    Message
	big    []byte  // buffer for packets larger than the read buffer
	ackBuf [8]byte // acknowledgements are encoded here
}

// Connect dials opts.Addr, sends CONNECT and waits for the CONNACK, all
// within ctx and opts.ConnectTimeout. It returns the client and the
// CONNACK (an owned copy: SessionPresent, level-5 properties). A refusal
// returns the CONNACK and a *ConnectError.
func Connect(ctx context.Context, opts Options) (*Client, *codec.Connack, error) {
	c := &Client{opts: opts, ver: opts.Version}
	if c.ver == 0 {
		c.ver = codec.V311
	}
	if c.opts.ConnectTimeout <= 0 {
		c.opts.ConnectTimeout = DefaultConnectTimeout
	}
	if c.opts.WriteTimeout <= 0 {
		c.opts.WriteTimeout = DefaultWriteTimeout
	}
	if c.opts.MaxPacketSize <= 0 {
		c.opts.MaxPacketSize = codec.DefaultMaxPacketSize
	}
	if c.opts.MaxInflight <= 0 {
		c.opts.MaxInflight = DefaultMaxInflight
	}
	c.opts.MaxInflight = min(c.opts.MaxInflight, 65535)
	if c.opts.PingTimeout <= 0 {
		c.opts.PingTimeout = c.opts.KeepAlive
	}
	ack, err := c.connect(ctx)
	if err != nil {
		return nil, ack, err
	}
	return c, ack, nil
}

// Reconnect opens a new connection after the previous one was lost, with
// the same options. Unless CleanSession is set, unacknowledged QoS 1/2
// PUBLISH packets (DUP set) and PUBRELs are resent first, with their
// original packet identifiers (MQTT-4.4.0-1).
func (c *Client) Reconnect(ctx context.Context) (*codec.Connack, error) {
	c.mu.Lock()
	switch c.state {
	case stateClosed:
		c.mu.Unlock()
		return nil, ErrClosed
	case stateConnected, stateConnecting:
		c.mu.Unlock()
		return nil, errors.New("client: Reconnect while connected or connecting")
	}
	c.state = stateConnecting
	c.mu.Unlock()
	ack, err := c.connect(ctx)
	if err != nil {
		c.mu.Lock()
		if c.state == stateConnecting {
			c.state = stateLost
		}
		c.mu.Unlock()
	}
	return ack, err
}

// connect makes a link, runs the CONNECT/CONNACK exchange and starts the
// reader. c.state is stateConnecting.
func (c *Client) connect(ctx context.Context) (*codec.Connack, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ConnectTimeout)
	defer cancel()
	dial := c.opts.Dialer
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	nc, err := dial(ctx, "tcp", c.opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("client: dial %s: %w", c.opts.Addr, err)
	}
	if cfg := c.opts.TLS; cfg != nil {
		if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
			if host, _, err := net.SplitHostPort(c.opts.Addr); err == nil {
				cfg = cfg.Clone()
				cfg.ServerName = host
			}
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("client: TLS handshake with %s: %w", c.opts.Addr, err)
		}
		nc = tc
	}
	l := &link{c: c, nc: nc, br: bufio.NewReaderSize(nc, readBufSize), done: make(chan struct{})}
	l.dec = codec.Decoder{Version: c.ver, Strict: true, MaxPacketSize: c.opts.MaxPacketSize}
	// A context that ends interrupts the blocking reads and writes below.
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	ack, err := c.handshake(l)
	if !stop() || err != nil {
		nc.Close()
		if err == nil || ctx.Err() != nil {
			err = fmt.Errorf("client: connect to %s: %w", c.opts.Addr, errors.Join(ctx.Err(), err))
		}
		return ack, err
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		nc.Close()
		return nil, fmt.Errorf("client: connect to %s: %w", c.opts.Addr, err)
	}

	// Adopt the session and collect what must be resent, then go live.
	c.mu.Lock()
	if c.state == stateClosed { // Close raced with the handshake
		c.mu.Unlock()
		nc.Close()
		return ack, ErrClosed
	}
	c.l = l
	c.window = c.opts.MaxInflight
	c.kaWire = min(c.opts.KeepAlive, 65535*time.Second)
	if c.ver == codec.V5 {
		if rm, ok := ack.Properties.Uint(codec.PropReceiveMaximum); ok && int(rm) < c.window {
			c.window = int(rm)
		}
		if ka, ok := ack.Properties.Uint(codec.PropServerKeepAlive); ok {
			c.kaWire = time.Duration(ka) * time.Second
		}
	}
	if !ack.SessionPresent {
		// The server has no record of PUBLISHes it received, so it sends
		// no PUBREL for them.
		c.rx2 = nil
	}
	resend := c.resendListLocked()
	c.mu.Unlock()

	go l.readLoop()
	for _, p := range resend {
		if err := c.write(l, p.buf); err != nil {
			// The reader reports the loss; the messages wait for the
			// next Reconnect.
			break
		}
	}
	c.mu.Lock()
	if c.state == stateConnecting && !l.dead {
		c.state = stateConnected
	}
	if c.kaWire > 0 || c.opts.AckTimeout > 0 {
		l.timer = time.AfterFunc(c.nextTick(l, time.Now()), l.tick)
	}
	c.mu.Unlock()
	return ack, nil
}

// handshake sends CONNECT and reads the CONNACK.
func (c *Client) handshake(l *link) (*codec.Connack, error) {
	p := codec.Connect{
		ProtocolLevel: c.ver,
		CleanSession:  c.opts.CleanSession,
		// Rounded up, so that the client, which pings after exactly
		// KeepAlive of silence, never exceeds what it announced
		// (MQTT-3.1.2-23).
		KeepAlive: uint16(min((c.opts.KeepAlive+time.Second-1)/time.Second, 65535)),
		ClientID:  []byte(c.opts.ClientID),
	}
	if c.ver == codec.V5 {
		if c.opts.Properties != nil {
			p.Properties.CopyFrom(c.opts.Properties)
		}
		p.Properties.SetUint(codec.PropMaximumPacketSize, uint32(c.opts.MaxPacketSize))
	}
	if w := c.opts.Will; w != nil {
		p.WillFlag, p.WillQoS, p.WillRetain = true, w.QoS, w.Retain
		p.WillTopic, p.WillPayload = w.Topic, w.Payload
		if w.Properties != nil && c.ver == codec.V5 {
			p.WillProperties.CopyFrom(w.Properties)
		}
	}
	if c.opts.Username != nil {
		p.UsernameFlag, p.Username = true, []byte(*c.opts.Username)
	}
	if c.opts.Password != nil {
		p.PasswordFlag, p.Password = true, []byte(*c.opts.Password)
	}
	b, err := p.Append(nil, c.ver)
	if err != nil {
		return nil, fmt.Errorf("client: encode CONNECT: %w", err)
	}
	if _, err := l.nc.Write(b); err != nil {
		return nil, fmt.Errorf("client: send CONNECT: %w", err)
	}
	l.lastSent.Store(time.Now().UnixNano())
	h, raw, peeked, err := l.readPacket()
	if err != nil {
		return nil, fmt.Errorf("client: read CONNACK: %w", err)
	}
	if h.Type != codec.CONNACK {
		// MQTT-3.2.0-1: the first packet from the server is CONNACK.
		return nil, fmt.Errorf("%w: first packet is %s, not CONNACK", ErrProtocol, h.Type)
	}
	if c.ver == codec.V5 && len(raw) == 4 && raw[1] == 2 && raw[3] == codec.ConnRefusedVersion {
		// A server that only speaks 3.1.1 refuses a 5.0 CONNECT with a
		// 3.1.1 CONNACK (return code 0x01, no properties), which is not
		// a valid 5.0 CONNACK but is a clear answer.
		return &codec.Connack{ReturnCode: raw[3]}, &ConnectError{Code: raw[3]}
	}
	pk, _, err := l.dec.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	got := pk.(*codec.Connack)
	ack := &codec.Connack{SessionPresent: got.SessionPresent, ReservedFlags: got.ReservedFlags, ReturnCode: got.ReturnCode}
	ack.Properties.CopyFrom(&got.Properties)
	if peeked {
		l.br.Discard(len(raw))
	}
	// A fresh decoder lets the CONNACK it allocated go: the handshake's
	// packet is never decoded again, and idle connections add up.
	l.dec = codec.Decoder{Version: c.ver, Strict: true, MaxPacketSize: c.opts.MaxPacketSize}
	if ack.ReturnCode != 0 {
		return ack, &ConnectError{Code: ack.ReturnCode}
	}
	return ack, nil
}

// resendListLocked returns, in their original order, the messages to
// resend on a new connection, after marking PUBLISHes as duplicates.
func (c *Client) resendListLocked() []*pending {
	var out []*pending
	for _, p := range c.inflight {
		if p.kind == codec.PUBLISH {
			out = append(out, p)
		}
	}
	sortPending(out)
	for _, p := range out {
		if p.state == codec.PUBLISH && p.buf[0]&0x08 == 0 {
			// DUP (MQTT-3.3.1-1); PUBREL has none. A copy, because a
			// publisher may still hold the old slice for its write.
			b := append([]byte(nil), p.buf...)
			b[0] |= 0x08
			p.buf = b
		}
		p.sentAt = time.Now()
	}
	return out
}

// Close closes the connection without DISCONNECT (so a will is
// published) and completes every outstanding operation with ErrClosed.
// It waits for the reader goroutine; do not call it from OnMessage.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return nil
	}
	c.state = stateClosed
	l := c.l
	if l != nil {
		l.local = true
	}
	c.mu.Unlock()
	if l != nil {
		l.abort(ErrClosed)
		<-l.done
	}
	c.mu.Lock()
	fail := c.takeInflightLocked(func(*pending) bool { return true })
	c.wakeLocked()
	c.mu.Unlock()
	complete(fail, ErrClosed)
	return nil
}

// Disconnect sends DISCONNECT (which makes the server discard the will)
// and closes the client. ctx bounds the write.
func (c *Client) Disconnect(ctx context.Context) error {
	c.mu.Lock()
	l := c.l
	if l != nil {
		l.local = true
	}
	closed := c.state == stateClosed
	c.mu.Unlock()
	if closed {
		return ErrClosed
	}
	var err error
	if l != nil {
		stop := context.AfterFunc(ctx, func() { l.abort(ctx.Err()) })
		b, _ := (&codec.Disconnect{}).Append(nil, c.ver)
		err = c.write(l, b)
		stop()
	}
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	return err
}

// Connected reports whether the client has a live connection.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateConnected
}

// abort ends the link for cause (the first cause is kept): closing the
// socket wakes the reader, which finishes the job in lost.
func (l *link) abort(cause error) {
	c := l.c
	c.mu.Lock()
	if l.err == nil {
		l.err = cause
	}
	l.dead = true
	if l.timer != nil {
		l.timer.Stop()
	}
	c.mu.Unlock()
	l.nc.Close()
}

// lost runs on the reader goroutine once the link has ended.
func (l *link) lost(readErr error) {
	l.abort(readErr)
	c := l.c
	c.mu.Lock()
	cause := l.err
	local := l.local
	if c.l == l {
		c.l = nil
		if c.state != stateClosed {
			c.state = stateLost
		}
	}
	clean := c.opts.CleanSession || c.state == stateClosed
	fail := c.takeInflightLocked(func(p *pending) bool { return clean || p.kind != codec.PUBLISH })
	if clean {
		c.rx2 = nil
	}
	c.wakeLocked()
	c.mu.Unlock()
	err := fmt.Errorf("%w: %w", ErrConnectionLost, cause)
	complete(fail, err)
	l.big = nil
	close(l.done)
	if !local && c.opts.OnConnectionLost != nil {
		c.opts.OnConnectionLost(err)
	}
}
