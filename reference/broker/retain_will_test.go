package broker_test

import (
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/broker"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

func TestRetained(t *testing.T) {
	srv, addr := start(t, broker.Options{})
	p := client(t, addr, "pub", nil)
	p.publish("r/a", "first", 1, true)
	p.publish("r/a", "second", 1, true) // replaces (MQTT-3.3.1-5)
	p.publish("r/b", "plain", 1, false) // not stored (MQTT-3.3.1-12)
	live := client(t, addr, "live", p.tr)
	live.subscribe("r/#", 1)
	m := live.expectPublish("r/a")
	if string(m.Payload) != "second" || !m.Retain { // MQTT-3.3.1-6, -8
		t.Fatalf("got %q retain=%v, want the latest retained message with RETAIN=1", m.Payload, m.Retain)
	}
	live.ack(codec.PUBACK, m.PacketID)
	live.expectNoPublish("r/b", 200*time.Millisecond)
	// A live forward of a retained publish has RETAIN=0 (MQTT-3.3.1-9).
	p.publish("r/a", "third", 0, true)
	if m := live.expectPublish("r/a"); m.Retain {
		t.Fatal("live forward has RETAIN=1")
	}
	// A zero-length retained message is forwarded, then clears the topic
	// (MQTT-3.3.1-10, -11).
	p.publish("r/a", "", 0, true)
	if m := live.expectPublish("r/a"); len(m.Payload) != 0 {
		t.Fatalf("got payload %q", m.Payload)
	}
	waitFor(t, wait, "retained store empty", func() bool { return srv.RetainedCount() == 0 })
	late := client(t, addr, "late", p.tr)
	late.subscribe("r/#", 1)
	late.expectNoPublish("r/a", 300*time.Millisecond)
}

func TestRetainedResentOnResubscribe(t *testing.T) {
	_, addr := start(t, broker.Options{})
	p := client(t, addr, "pub", nil)
	p.publish("rs/t", "kept", 0, true)
	s := client(t, addr, "sub", p.tr)
	s.subscribe("rs/t", 0)
	s.expectPublish("rs/t")
	s.subscribe("rs/t", 0) // MQTT-3.8.4-3
	if m := s.expectPublish("rs/t"); !m.Retain {
		t.Fatal("re-sent retained message has RETAIN=0")
	}
	// Still a single subscription: one live message arrives once.
	p.publish("rs/t", "live", 0, false)
	s.expectPublish("rs/t")
	s.expectNoPublish("rs/t", 300*time.Millisecond)
}

func TestRetainedSurvivesSessionEnd(t *testing.T) {
	_, addr := start(t, broker.Options{})
	p := client(t, addr, "pub", nil)
	p.publish("keep/t", "x", 0, true)
	p.c.Disconnect()
	s := client(t, addr, "sub", p.tr)
	s.subscribe("keep/t", 0)
	s.expectPublish("keep/t") // MQTT-3.1.2-7
}

// willClient connects with a Will on topic.
func willClient(t *testing.T, addr, id, topic string, retain bool, keepAlive uint16, tr *session) *session {
	t.Helper()
	s := dial(t, addr, tr.tr)
	_, err := s.c.Connect(t.Context(), &codec.Connect{ClientID: []byte(id), CleanSession: true, KeepAlive: keepAlive,
		WillFlag: true, WillTopic: []byte(topic), WillPayload: []byte("gone"), WillQoS: 1, WillRetain: retain}, wait)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWill(t *testing.T) {
	_, addr := start(t, broker.Options{})
	watch := client(t, addr, "watch", nil)
	watch.subscribe("will/#", 1)

	t.Run("socket closed publishes the will (MQTT-3.1.2-8)", func(t *testing.T) {
		w := willClient(t, addr, "w1", "will/drop", false, 0, watch)
		w.c.Close()
		m := watch.expectPublish("will/drop")
		if string(m.Payload) != "gone" || m.QoS != 1 || m.Retain {
			t.Fatalf("got %+v", m)
		}
		watch.ack(codec.PUBACK, m.PacketID)
	})
	t.Run("DISCONNECT discards the will (MQTT-3.14.4-3)", func(t *testing.T) {
		w := willClient(t, addr, "w2", "will/clean", false, 0, watch)
		w.c.Disconnect()
		watch.expectNoPublish("will/clean", 500*time.Millisecond)
	})
	t.Run("protocol violation publishes the will", func(t *testing.T) {
		w := willClient(t, addr, "w3", "will/violation", false, 0, watch)
		w.c.SendRaw([]byte{0x30, 0x05, 0x00, 0x03, 'a', '/', '#'})
		w.expectClosed(wait)
		watch.ack(codec.PUBACK, watch.expectPublish("will/violation").PacketID)
	})
	t.Run("keep alive expiry publishes the will", func(t *testing.T) {
		willClient(t, addr, "w4", "will/idle", false, 1, watch)
		r, err := watch.c.Expect(t.Context(), 3*time.Second, "will after keepalive", func(r *probe.Received) bool {
			p, ok := r.Packet.(*codec.Publish)
			return ok && string(p.Topic) == "will/idle"
		})
		if err != nil {
			t.Fatal(err)
		}
		watch.ack(codec.PUBACK, r.Packet.(*codec.Publish).PacketID)
	})
	t.Run("will retain is honoured (MQTT-3.1.2-17)", func(t *testing.T) {
		w := willClient(t, addr, "w5", "will/retained", true, 0, watch)
		w.c.Close()
		watch.ack(codec.PUBACK, watch.expectPublish("will/retained").PacketID)
		late := client(t, addr, "late", watch.tr)
		late.subscribe("will/retained", 0)
		if m := late.expectPublish("will/retained"); !m.Retain {
			t.Fatal("retained will delivered with RETAIN=0")
		}
	})
	t.Run("takeover publishes the old connection's will", func(t *testing.T) {
		willClient(t, addr, "w6", "will/takeover", false, 0, watch)
		client(t, addr, "w6", watch.tr)
		watch.ack(codec.PUBACK, watch.expectPublish("will/takeover").PacketID)
	})
}
