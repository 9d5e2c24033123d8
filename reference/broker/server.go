// Package broker is the reference MQTT 3.1.1 broker (accepting 3.1 clients
// too): the ground truth the conformance suite is checked against. It is
// written to the letter of the specification; every rule it enforces sits
// beside a comment citing its statement ID. Fault switches (see Faults)
// each break one statement on purpose, so that the suite can be shown to
// catch every deviation.
package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqtt-check/mqtt-check/reference/topics"
)

// Options configure a Server. The zero value is a usable open broker.
type Options struct {
	// MaxPacketSize bounds every inbound packet (default 16 MiB); a larger
	// one closes the connection.
	MaxPacketSize int
	// MaxInflight bounds the QoS 1/2 messages sent to one client and not
	// yet acknowledged (default 32). Further messages wait in the queue.
	MaxInflight int
	// MaxQueued bounds the QoS 1/2 messages queued for one session, online
	// or offline (default 1000). When the queue is full, new messages for
	// that session are dropped and counted in $SYS/broker/messages/dropped.
	MaxQueued int
	// LimitQoS makes MaxQoS the highest QoS granted to subscriptions;
	// without it every QoS up to 2 is granted.
	LimitQoS bool
	// MaxQoS is the highest QoS granted when LimitQoS is set (0, 1 or 2).
	MaxQoS byte
	// ConnectTimeout closes connections that send no CONNECT in time
	// (default 10s).
	ConnectTimeout time.Duration
	// WriteTimeout bounds each socket write (default 10s); a client that
	// does not read is disconnected.
	WriteTimeout time.Duration
	// SysInterval is how often $SYS topics are refreshed; 0 means 10s,
	// negative disables them.
	SysInterval time.Duration
	// Auth, when set, checks credentials and topic access.
	Auth *Auth
	// Faults switches on deliberate deviations (see Faults).
	Faults FaultSet
	// Impair switches on transport impairments for load tests.
	Impair Impairments
	// Logger receives structured logs (default: discard).
	Logger *slog.Logger
	// Version is reported in $SYS/broker/version.
	Version string
}

func (o *Options) setDefaults() {
	if o.MaxPacketSize <= 0 {
		o.MaxPacketSize = 16 << 20
	}
	if o.MaxInflight <= 0 {
		o.MaxInflight = 32
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 1000
	}
	if !o.LimitQoS || o.MaxQoS > 2 {
		o.MaxQoS = 2
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.SysInterval == 0 {
		o.SysInterval = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Faults == nil {
		o.Faults = FaultSet{}
	}
	if o.Version == "" {
		o.Version = "mqtt-check reference broker"
	}
}

// Server is the reference broker. Create it with New, then Serve one or
// more listeners; Close stops everything.
type Server struct {
	opts   Options
	log    *slog.Logger
	faults FaultSet

	subs     topics.Trie[subEntry]
	retained retainedStore

	mu        sync.Mutex // guards sessions, listeners, conns, closed
	sessions  map[string]*session
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closed    bool
	wg        sync.WaitGroup // connection and listener goroutines

	nextAssigned atomic.Uint64
	stats        stats
	started      time.Time
	stopSys      chan struct{}
}

// subEntry is what the topic trie stores per (filter, client id).
type subEntry struct {
	sess *session
	qos  byte
}

// New returns a Server with the given options.
func New(opts Options) *Server {
	opts.setDefaults()
	s := &Server{
		opts:      opts,
		log:       opts.Logger,
		faults:    opts.Faults,
		sessions:  map[string]*session{},
		listeners: map[net.Listener]struct{}{},
		conns:     map[*conn]struct{}{},
		started:   time.Now(),
		stopSys:   make(chan struct{}),
	}
	s.retained.m = map[string]*message{}
	if opts.SysInterval > 0 {
		s.wg.Add(1)
		go s.sysLoop(opts.SysInterval)
	}
	return s
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("broker: server closed")

// Serve accepts connections on ln until ctx is done or Close is called.
// It always closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if !s.trackListener(ln) {
		return ErrServerClosed
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer s.untrackListener(ln)
	var tempDelay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || ctx.Err() != nil {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: back off, go on.
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				time.Sleep(tempDelay)
				continue
			}
			return fmt.Errorf("broker: accept on %s: %w", ln.Addr(), err)
		}
		tempDelay = 0
		s.ServeConn(nc)
	}
}

// ServeConn serves one already-accepted connection (used by the TCP, TLS
// and WebSocket listeners). It returns at once.
func (s *Server) ServeConn(nc net.Conn) {
	if !s.impairAccept(nc) {
		return
	}
	c := newConn(s, nc)
	if !s.trackConn(c) {
		return
	}
	go func() {
		defer s.untrackConn(c)
		c.serve()
	}()
}

// trackListener records ln so Close can stop it; false (and ln closed)
// once the server is closed.
func (s *Server) trackListener(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		ln.Close()
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) untrackListener(ln net.Listener) {
	s.mu.Lock()
	delete(s.listeners, ln)
	s.mu.Unlock()
	ln.Close()
}

// trackConn records a connection so Close can end it and wait for it;
// false (and the socket closed) once the server is closed.
func (s *Server) trackConn(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.nc.Close()
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.stats.connections.Add(1)
	return true
}

func (s *Server) untrackConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// ListenAndServe listens on a TCP address and serves it; with tlsConf set
// the listener speaks TLS.
func (s *Server) ListenAndServe(ctx context.Context, addr string, tlsConf *tls.Config) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("broker: listen %s: %w", addr, err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	return s.Serve(ctx, ln)
}

// Close stops the listeners, closes every connection (without publishing
// Wills: the broker, not the clients, is going away) and waits for all
// goroutines to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	close(s.stopSys)
	for _, c := range conns {
		c.kill(reasonShutdown)
	}
	s.wg.Wait()
	return nil
}

// assignClientID makes a unique identifier for a client that sent an empty
// one (MQTT-3.1.3-6).
func (s *Server) assignClientID() string {
	if s.faults.on(FaultEmptyIDNotUnique) {
		return "auto-0"
	}
	return "auto-" + strconv.FormatUint(s.nextAssigned.Add(1), 36) + "-" + strconv.FormatInt(s.started.UnixNano()%1e6, 36)
}

// SessionCount returns the number of sessions held (online or not).
func (s *Server) SessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// RetainedCount returns the number of retained messages held.
func (s *Server) RetainedCount() int { return s.retained.len() }
