package broker_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/broker"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// wait is the deadline for anything the broker should do promptly.
const wait = 2 * time.Second

// start runs a reference broker on 127.0.0.1:0 for the test.
func start(t *testing.T, opts broker.Options) (*broker.Server, string) {
	t.Helper()
	if opts.SysInterval == 0 {
		opts.SysInterval = -1
	}
	srv := broker.New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(context.Background(), ln); close(done) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return srv, ln.Addr().String()
}

// session is one probe connection plus the test's transcript.
type session struct {
	t  *testing.T
	c  *probe.Conn
	tr *probe.Transcript
}

// dial opens a probe connection; the shared transcript is printed if the
// test fails.
func dial(t *testing.T, addr string, tr *probe.Transcript) *session {
	t.Helper()
	if tr == nil {
		tr = probe.NewTranscript()
		t.Cleanup(func() {
			if t.Failed() {
				var b strings.Builder
				tr.WriteText(&b)
				t.Logf("wire transcript:\n%s", b.String())
			}
		})
	}
	c, err := probe.Dial(t.Context(), addr, probe.Options{Transcript: tr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &session{t: t, c: c, tr: tr}
}

// connect sends a CONNECT and requires an accepting CONNACK.
func (s *session) connect(id string, clean bool, keepAlive uint16) *codec.Connack {
	s.t.Helper()
	ack, err := s.c.Connect(s.t.Context(), &codec.Connect{ClientID: []byte(id), CleanSession: clean, KeepAlive: keepAlive}, wait)
	if err != nil {
		s.t.Fatalf("connect %q: %v", id, err)
	}
	return ack
}

// client dials and connects with a clean session.
func client(t *testing.T, addr, id string, tr *probe.Transcript) *session {
	t.Helper()
	s := dial(t, addr, tr)
	s.connect(id, true, 0)
	return s
}

func (s *session) subscribe(filter string, qos byte) byte {
	s.t.Helper()
	ack, err := s.c.Subscribe(s.t.Context(), wait, codec.Subscription{Filter: []byte(filter), Options: qos})
	if err != nil {
		s.t.Fatalf("subscribe %q: %v", filter, err)
	}
	if len(ack.ReturnCodes) != 1 {
		s.t.Fatalf("SUBACK has %d codes", len(ack.ReturnCodes))
	}
	return ack.ReturnCodes[0]
}

func (s *session) publish(topic, payload string, qos byte, retain bool) {
	s.t.Helper()
	if _, err := s.c.Publish(s.t.Context(), &codec.Publish{Topic: []byte(topic), Payload: []byte(payload), QoS: qos, Retain: retain}, wait); err != nil {
		s.t.Fatalf("publish %q: %v", topic, err)
	}
}

// expectPublish waits for a PUBLISH on topic and returns it.
func (s *session) expectPublish(topic string) *codec.Publish {
	s.t.Helper()
	r, err := s.c.Expect(s.t.Context(), wait, "PUBLISH "+topic, func(r *probe.Received) bool {
		p, ok := r.Packet.(*codec.Publish)
		return ok && string(p.Topic) == topic
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return r.Packet.(*codec.Publish)
}

// expectNoPublish requires that no PUBLISH on topic arrives within d.
func (s *session) expectNoPublish(topic string, d time.Duration) {
	s.t.Helper()
	err := s.c.ExpectNothing(s.t.Context(), d, func(r *probe.Received) bool {
		p, ok := r.Packet.(*codec.Publish)
		return ok && string(p.Topic) == topic
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// expectClosed requires the broker to close the connection within d.
func (s *session) expectClosed(d time.Duration) {
	s.t.Helper()
	if err := s.c.ExpectClosed(s.t.Context(), d); err != nil {
		s.t.Fatal(err)
	}
}

func (s *session) ack(t codec.Type, id uint16) {
	s.t.Helper()
	if err := s.c.Send(&codec.Ack{PacketType: t, PacketID: id}); err != nil {
		s.t.Fatal(err)
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
