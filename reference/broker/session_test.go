package broker_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/broker"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

func TestPersistentSessionQueuesAndRedelivers(t *testing.T) {
	srv, addr := start(t, broker.Options{})
	s := dial(t, addr, nil)
	if ack := s.connect("persist", false, 0); ack.SessionPresent {
		t.Fatal("Session Present 1 for a new session (MQTT-3.2.2-3)")
	}
	s.subscribe("p/t", 2)
	p := client(t, addr, "pub", s.tr)
	// One message in flight unacknowledged, then the client drops.
	p.publish("p/t", "inflight", 1, false)
	m := s.expectPublish("p/t")
	s.c.Close()
	waitFor(t, wait, "broker to see the close", func() bool { return srv.Stats().Connected == 1 })
	// Offline: QoS 1/2 are queued (MQTT-3.1.2-5), QoS 0 need not be.
	p.publish("p/t", "queued-1", 1, false)
	p.publish("p/t", "queued-2", 2, false)

	s2 := dial(t, addr, s.tr)
	if ack := s2.connect("persist", false, 0); !ack.SessionPresent {
		t.Fatal("Session Present 0 for a stored session (MQTT-3.2.2-2)")
	}
	// The unacknowledged message comes first, same id, DUP=1 (MQTT-4.4.0-1).
	r := s2.expectPublish("p/t")
	if string(r.Payload) != "inflight" || r.PacketID != m.PacketID || !r.Dup {
		t.Fatalf("redelivery: got %q id=%d dup=%v, want %q id=%d dup=1", r.Payload, r.PacketID, r.Dup, "inflight", m.PacketID)
	}
	s2.ack(codec.PUBACK, r.PacketID)
	for _, want := range []string{"queued-1", "queued-2"} {
		q := s2.expectPublish("p/t")
		if string(q.Payload) != want || q.Dup {
			t.Fatalf("got %q dup=%v, want %q", q.Payload, q.Dup, want)
		}
		if q.QoS == 1 {
			s2.ack(codec.PUBACK, q.PacketID)
		} else {
			s2.ack(codec.PUBREC, q.PacketID)
		}
	}
}

func TestPubrelResentAfterReconnect(t *testing.T) {
	_, addr := start(t, broker.Options{})
	s := dial(t, addr, nil)
	s.connect("rel", false, 0)
	s.subscribe("rel/t", 2)
	p := client(t, addr, "pub", s.tr)
	p.publish("rel/t", "x", 2, false)
	m := s.expectPublish("rel/t")
	s.ack(codec.PUBREC, m.PacketID)
	if _, err := s.c.Expect(t.Context(), wait, "PUBREL", probe.IsAck(codec.PUBREL, m.PacketID)); err != nil {
		t.Fatal(err)
	}
	s.c.Close()
	s2 := dial(t, addr, s.tr)
	s2.connect("rel", false, 0)
	if _, err := s2.c.Expect(t.Context(), wait, "PUBREL again", probe.IsAck(codec.PUBREL, m.PacketID)); err != nil {
		t.Fatal(err)
	}
	s2.expectNoPublish("rel/t", 200*time.Millisecond)
}

func TestCleanSessionDiscardsState(t *testing.T) {
	srv, addr := start(t, broker.Options{})
	s := dial(t, addr, nil)
	s.connect("cs", false, 0)
	s.subscribe("cs/t", 1)
	s.c.Disconnect()
	s2 := dial(t, addr, s.tr)
	if ack := s2.connect("cs", true, 0); ack.SessionPresent { // MQTT-3.2.2-1
		t.Fatal("Session Present 1 with CleanSession=1")
	}
	p := client(t, addr, "pub", s.tr)
	p.publish("cs/t", "x", 1, false)
	s2.expectNoPublish("cs/t", 300*time.Millisecond) // MQTT-3.1.2-6
	s2.c.Disconnect()
	waitFor(t, wait, "clean session removed", func() bool { return srv.SessionCount() == 1 }) // only "pub"
}

func TestQueueLimit(t *testing.T) {
	srv, addr := start(t, broker.Options{MaxQueued: 5})
	s := dial(t, addr, nil)
	s.connect("lim", false, 0)
	s.subscribe("lim/t", 1)
	s.c.Disconnect()
	p := client(t, addr, "pub", s.tr)
	for i := 0; i < 8; i++ {
		p.publish("lim/t", fmt.Sprint(i), 1, false)
	}
	if d := srv.Stats().Dropped; d != 3 {
		t.Fatalf("dropped %d messages, want 3", d)
	}
	s2 := dial(t, addr, s.tr)
	s2.connect("lim", false, 0)
	for i := 0; i < 5; i++ {
		m := s2.expectPublish("lim/t")
		if string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("got %q, want the oldest messages kept", m.Payload)
		}
		s2.ack(codec.PUBACK, m.PacketID)
	}
	s2.expectNoPublish("lim/t", 200*time.Millisecond)
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	srv, addr := start(t, broker.Options{})
	for i := 0; i < 5; i++ {
		s := client(t, addr, fmt.Sprint("g", i), nil)
		s.subscribe("g/#", 1)
	}
	srv.Close()
	if n := srv.SessionCount(); n < 0 {
		t.Fatal(n)
	}
}
