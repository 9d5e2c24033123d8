package broker_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/broker"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

func TestQoSDowngradeAndGrant(t *testing.T) {
	for pub := byte(0); pub <= 2; pub++ {
		for sub := byte(0); sub <= 2; sub++ {
			t.Run(fmt.Sprintf("pub=%d/sub=%d", pub, sub), func(t *testing.T) {
				_, addr := start(t, broker.Options{})
				s := client(t, addr, "sub", nil)
				if g := s.subscribe("q/t", sub); g != sub {
					t.Fatalf("granted %d, want %d", g, sub)
				}
				p := client(t, addr, "pub", s.tr)
				p.publish("q/t", "m", pub, false)
				m := s.expectPublish("q/t")
				if want := min(pub, sub); m.QoS != want { // MQTT-3.8.4-6
					t.Fatalf("delivered at QoS %d, want %d", m.QoS, want)
				}
				if m.QoS > 0 && m.PacketID == 0 {
					t.Fatal("packet id 0 on a QoS>0 PUBLISH")
				}
				if m.Dup {
					t.Fatal("DUP set on a first delivery")
				}
			})
		}
	}
}

func TestMaxQoSLimit(t *testing.T) {
	_, addr := start(t, broker.Options{LimitQoS: true, MaxQoS: 1})
	s := client(t, addr, "s", nil)
	if g := s.subscribe("x", 2); g != 1 {
		t.Fatalf("granted %d, want 1", g)
	}
}

func TestQoS2ReceiverFlow(t *testing.T) {
	_, addr := start(t, broker.Options{})
	s := client(t, addr, "sub", nil)
	s.subscribe("q2", 2)
	p := client(t, addr, "pub", s.tr)
	// PUBLISH QoS 2 twice with the same id before PUBREL: delivered once
	// (MQTT-4.3.3-2).
	pub := &codec.Publish{Topic: []byte("q2"), Payload: []byte("once"), QoS: 2, PacketID: 7}
	p.c.Send(pub)
	if _, err := p.c.Expect(t.Context(), wait, "PUBREC 7", probe.IsAck(codec.PUBREC, 7)); err != nil {
		t.Fatal(err)
	}
	dup := *pub
	dup.Dup = true
	p.c.Send(&dup)
	if _, err := p.c.Expect(t.Context(), wait, "PUBREC 7 again", probe.IsAck(codec.PUBREC, 7)); err != nil {
		t.Fatal(err)
	}
	p.ack(codec.PUBREL, 7)
	if _, err := p.c.Expect(t.Context(), wait, "PUBCOMP 7", probe.IsAck(codec.PUBCOMP, 7)); err != nil {
		t.Fatal(err)
	}
	m := s.expectPublish("q2")
	s.ack(codec.PUBREC, m.PacketID)
	if _, err := s.c.Expect(t.Context(), wait, "PUBREL", probe.IsAck(codec.PUBREL, m.PacketID)); err != nil {
		t.Fatal(err)
	}
	s.ack(codec.PUBCOMP, m.PacketID)
	s.expectNoPublish("q2", 300*time.Millisecond)
}

func TestOverlappingSubscriptionsMaxQoS(t *testing.T) {
	_, addr := start(t, broker.Options{})
	s := client(t, addr, "sub", nil)
	s.subscribe("o/+", 0)
	s.subscribe("o/#", 2)
	s.subscribe("o/t", 1)
	p := client(t, addr, "pub", s.tr)
	p.publish("o/t", "x", 2, false)
	m := s.expectPublish("o/t")
	if m.QoS != 2 { // MQTT-3.3.5-1
		t.Fatalf("delivered at QoS %d, want 2", m.QoS)
	}
	s.ack(codec.PUBREC, m.PacketID)
	s.expectNoPublish("o/t", 300*time.Millisecond)
}

func TestOrderingPerTopic(t *testing.T) {
	_, addr := start(t, broker.Options{MaxInflight: 3})
	s := client(t, addr, "sub", nil)
	s.subscribe("ord", 1)
	p := client(t, addr, "pub", s.tr)
	const n = 20
	for i := 0; i < n; i++ {
		p.publish("ord", fmt.Sprint(i), 1, false)
	}
	for i := 0; i < n; i++ {
		m := s.expectPublish("ord")
		if string(m.Payload) != fmt.Sprint(i) { // MQTT-4.6.0-6
			t.Fatalf("message %d has payload %q", i, m.Payload)
		}
		s.ack(codec.PUBACK, m.PacketID)
	}
}

func TestPacketIDsNotReusedInFlight(t *testing.T) {
	_, addr := start(t, broker.Options{})
	s := client(t, addr, "sub", nil)
	s.subscribe("ids", 1)
	p := client(t, addr, "pub", s.tr)
	seen := map[uint16]bool{}
	for i := 0; i < 10; i++ {
		p.publish("ids", "x", 1, false)
		m := s.expectPublish("ids")
		if seen[m.PacketID] { // MQTT-2.3.1-4
			t.Fatalf("packet id %d reused while in flight", m.PacketID)
		}
		seen[m.PacketID] = true
	}
}

func TestUnsubscribe(t *testing.T) {
	_, addr := start(t, broker.Options{})
	s := client(t, addr, "sub", nil)
	s.subscribe("u/+", 1)
	s.subscribe("u/a", 1)
	// Literal match: removing u/a leaves u/+ (MQTT-3.10.4-1).
	if _, err := s.c.Unsubscribe(t.Context(), wait, "u/a"); err != nil {
		t.Fatal(err)
	}
	p := client(t, addr, "pub", s.tr)
	p.publish("u/a", "x", 0, false)
	s.expectPublish("u/a")
	if _, err := s.c.Unsubscribe(t.Context(), wait, "u/+", "not/subscribed"); err != nil {
		t.Fatal(err) // MQTT-3.10.4-5, -6
	}
	p.publish("u/a", "y", 0, false)
	s.expectNoPublish("u/a", 300*time.Millisecond)
}

func TestDollarTopicsNotMatchedByWildcards(t *testing.T) {
	srv, addr := start(t, broker.Options{SysInterval: 50 * time.Millisecond})
	_ = srv
	s := client(t, addr, "sub", nil)
	s.subscribe("#", 0)
	s.subscribe("+/broker/version", 0)
	// $SYS topics are published every 50ms; none may arrive (MQTT-4.7.2-1).
	err := s.c.ExpectNothing(t.Context(), 300*time.Millisecond, func(r *probe.Received) bool {
		p, ok := r.Packet.(*codec.Publish)
		return ok && len(p.Topic) > 0 && p.Topic[0] == '$'
	})
	if err != nil {
		t.Fatal(err)
	}
	s.subscribe("$SYS/#", 0)
	if _, err := s.c.Expect(t.Context(), wait, "a $SYS message", func(r *probe.Received) bool {
		p, ok := r.Packet.(*codec.Publish)
		return ok && len(p.Topic) > 5 && string(p.Topic[:5]) == "$SYS/"
	}); err != nil {
		t.Fatal(err)
	}
}
