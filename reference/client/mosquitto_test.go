package client_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/client"
	"github.com/mqtt-check/mqtt-check/reference/mosquitto"
)

// inbox collects messages a client receives, copied out of the callback.
type inbox struct {
	mu   sync.Mutex
	got  []client.Message
	wake chan struct{}
}

func newInbox() *inbox { return &inbox{wake: make(chan struct{}, 1)} }

func (b *inbox) add(m *client.Message) {
	b.mu.Lock()
	b.got = append(b.got, client.Message{Topic: append([]byte(nil), m.Topic...), Payload: append([]byte(nil), m.Payload...),
		QoS: m.QoS, Retain: m.Retain, Dup: m.Dup})
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// wait returns once n messages arrived, or fails after 5s.
func (b *inbox) wait(t *testing.T, n int) []client.Message {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		b.mu.Lock()
		if len(b.got) >= n {
			out := append([]client.Message(nil), b.got...)
			b.mu.Unlock()
			return out
		}
		b.mu.Unlock()
		select {
		case <-b.wake:
		case <-deadline:
			t.Fatalf("received %d messages, want %d", len(b.got), n)
		}
	}
}

// TestAgainstMosquitto proves the reference client interoperates with a
// broker no one here wrote: QoS 0/1/2 both ways, retained messages, the
// Will, and a persistent session that queues while offline.
func TestAgainstMosquitto(t *testing.T) {
	m := mosquitto.Start(t, mosquitto.Options{})
	ctx := t.Context()
	connect := func(id string, clean bool, box *inbox, will *client.Message) *client.Client {
		t.Helper()
		opts := client.Options{Addr: m.Addr, ClientID: id, CleanSession: clean, KeepAlive: 30 * time.Second, Will: will}
		if box != nil {
			opts.OnMessage = box.add
		}
		c, _, err := client.Connect(ctx, opts)
		if err != nil {
			t.Fatalf("connect %s: %v\n%s", id, err, m.Log())
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	box := newInbox()
	sub := connect("ref-sub", true, box, nil)
	if granted, err := sub.Subscribe(ctx, codec.Subscription{Filter: []byte("interop/#"), Options: 2}); err != nil || granted[0] != 2 {
		t.Fatalf("subscribe: %v %x", err, granted)
	}
	pub := connect("ref-pub", true, nil, nil)
	for q := byte(0); q <= 2; q++ {
		if err := pub.Publish(ctx, fmt.Sprintf("interop/q%d", q), []byte{'m', '0' + q}, q, false); err != nil {
			t.Fatalf("publish QoS %d: %v", q, err)
		}
	}
	got := box.wait(t, 3)
	for i, g := range got[:3] {
		if g.QoS != byte(i) || string(g.Payload) != fmt.Sprintf("m%d", i) || g.Retain || g.Dup {
			t.Errorf("message %d: got %+v", i, g)
		}
	}

	// Retained: a later subscriber gets it with RETAIN=1.
	if err := pub.Publish(ctx, "interop/kept", []byte("r"), 1, true); err != nil {
		t.Fatal(err)
	}
	box.wait(t, 4)
	late := newInbox()
	lc := connect("ref-late", true, late, nil)
	if _, err := lc.Subscribe(ctx, codec.Subscription{Filter: []byte("interop/kept"), Options: 1}); err != nil {
		t.Fatal(err)
	}
	if r := late.wait(t, 1)[0]; !r.Retain || string(r.Payload) != "r" {
		t.Errorf("retained: got %+v", r)
	}
	pub.Publish(ctx, "interop/kept", nil, 1, true) // clear it

	// Will: a client that drops without DISCONNECT.
	dying := connect("ref-dying", true, nil, &client.Message{Topic: []byte("interop/will"), Payload: []byte("bye"), QoS: 1})
	dying.Close() // closes the socket without DISCONNECT
	willSeen := false
	for _, g := range box.wait(t, 6)[4:] {
		willSeen = willSeen || (string(g.Topic) == "interop/will" && string(g.Payload) == "bye")
	}
	if !willSeen {
		t.Fatalf("will not received: %+v", box.got)
	}

	// Persistent session: subscribe, go away, messages are queued and
	// delivered on return.
	pbox := newInbox()
	ps := connect("ref-persist", false, pbox, nil)
	if _, err := ps.Subscribe(ctx, codec.Subscription{Filter: []byte("interop/queued"), Options: 1}); err != nil {
		t.Fatal(err)
	}
	if err := ps.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := pub.Publish(ctx, "interop/queued", []byte{byte('a' + i)}, 1, false); err != nil {
			t.Fatal(err)
		}
	}
	back := newInbox()
	c, ack, err := client.Connect(ctx, client.Options{Addr: m.Addr, ClientID: "ref-persist", OnMessage: back.add})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !ack.SessionPresent {
		t.Error("Session Present 0 on resuming a persistent session")
	}
	q := back.wait(t, 3)
	if string(q[0].Payload)+string(q[1].Payload)+string(q[2].Payload) != "abc" {
		t.Errorf("queued messages: %+v", q)
	}
	// End the session so nothing stays on the broker.
	c.Disconnect(ctx)
	if c2, _, err := client.Connect(ctx, client.Options{Addr: m.Addr, ClientID: "ref-persist", CleanSession: true}); err == nil {
		c2.Disconnect(ctx)
	}
}
