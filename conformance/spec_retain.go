package conformance

import (
	"fmt"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// This file checks retained messages (MQTT 3.1.1 section 3.3.1.3 and
// MQTT-3.1.2-7).

// retIsMessage matches a PUBLISH on topic with exactly payload.
func retIsMessage(topic, payload string) func(*probe.Received) bool {
	return func(r *probe.Received) bool {
		p, ok := r.Packet.(*codec.Publish)
		return ok && string(p.Topic) == topic && string(p.Payload) == payload
	}
}

// retPublisher connects a publisher subscribed at QoS 0 to each of
// topics, so that retPublish can see the broker has handled a message
// before the spec goes on.
func (t *T) retPublisher(label string, topics ...string) *Client {
	p := t.Connect(label)
	for _, tp := range topics {
		p.Subscribe(tp, 0)
	}
	return p
}

// retPublish publishes on a retPublisher connection and waits for the
// broker to forward the message back to it (setup): once it has, the
// message has been through the retained store.
func (c *Client) retPublish(topic, payload string, qos byte, retain bool) {
	c.Publish(topic, payload, qos, retain)
	_, err := c.Expect(c.t.ctx, c.t.cfg.Wait, fmt.Sprintf("own message %q on %s", payload, topic), retIsMessage(topic, payload))
	c.t.Setup(err, "waiting for the broker to forward the message back to its publisher")
}

// retDisconnect sends DISCONNECT and waits for the broker to close the
// connection (setup).
func (c *Client) retDisconnect() {
	c.t.Setup(c.Send(&codec.Disconnect{}), "sending DISCONNECT")
	c.t.Setup(c.Conn.ExpectClosed(c.t.ctx, c.t.cfg.Wait), "waiting for the broker to close the connection after DISCONNECT")
}

// retSubscribe connects a new subscriber to topic and returns it with the
// granted QoS.
func (t *T) retSubscribe(label, topic string, qos byte) (*Client, byte) {
	c := t.Connect(label)
	g := c.Subscribe(topic, qos)
	return c, g
}

var _ = Register(Spec{
	Name:  "sends the last retained message of a topic to a new subscriber",
	IDs:   []string{"MQTT-3.3.1-5", "MQTT-3.3.1-6"},
	Level: Must, Area: AreaRetain,
	Needs: []Capability{CapRetain},
	Run: func(t *T) {
		topic := t.Topic("last")
		q := t.subReliableQoS()
		p := t.retPublisher("pub", topic)
		p.retPublish(topic, "first", q, true)
		p.retPublish(topic, "last", q, true)
		n, _ := t.retSubscribe("new", topic, q)
		got := n.ExpectPublish(topic, "the retained message is stored and sent to a new subscriber of its topic")
		n.Complete(got)
		t.Check(string(got.Payload) == "last", "the last retained message, \"last\", replaced \"first\"", fmt.Sprintf("sent payload %q", got.Payload))
		n.ExpectNoPublish(topic, "only the last retained message of the topic is sent")
	},
})

var _ = Register(Spec{
	Name:  "sends a retained message at the QoS it was published with, capped by the subscription",
	IDs:   []string{"MQTT-3.3.1-5"},
	Level: Must, Area: AreaRetain,
	Needs: []Capability{CapRetain, CapQoS1},
	Run: func(t *T) {
		for pq := byte(1); pq <= t.subMaxQoS(); pq++ {
			topic := t.Topic(fmt.Sprintf("q%d", pq))
			p := t.retPublisher(fmt.Sprintf("pub%d", pq), topic)
			p.retPublish(topic, "qos", pq, true)
			n, g := t.retSubscribe(fmt.Sprintf("new%d", pq), topic, 2)
			got := n.ExpectPublish(topic, "the retained message is sent to a new subscriber")
			n.Complete(got)
			t.Check(got.QoS == min(pq, g), fmt.Sprintf("the broker stores the QoS of the retained message: published at QoS %d, it goes to a subscription granted QoS %d at QoS %d", pq, g, min(pq, g)),
				fmt.Sprintf("it came at QoS %d", got.QoS))
		}
	},
})

var _ = Register(Spec{
	Name:  "discards the retained message of a topic when a retained QoS 0 message arrives on it",
	IDs:   []string{"MQTT-3.3.1-7"},
	Level: Must, Area: AreaRetain,
	Needs: []Capability{CapRetain},
	Run: func(t *T) {
		topic := t.Topic("q0")
		p := t.retPublisher("pub", topic)
		p.retPublish(topic, "old", t.subReliableQoS(), true)
		p.retPublish(topic, "new", 0, true)
		n, _ := t.retSubscribe("new", topic, 0)
		// The new QoS 0 message SHOULD be kept but MAY be discarded; the
		// old one MUST be.
		if err := n.ExpectNothing(t.ctx, t.Quiet(), retIsMessage(topic, "old")); err != nil {
			t.Fail("the retained message \"old\" is discarded when the retained QoS 0 message \"new\" arrives", err.Error())
		}
	},
})

var _ = Register(Spec{
	Name:  "keeps a retained QoS 0 message as the topic's retained message",
	IDs:   []string{"MQTT-3.3.1-7"},
	Level: Should, Area: AreaRetain,
	Needs: []Capability{CapRetain},
	Run: func(t *T) {
		topic := t.Topic("keep0")
		p := t.retPublisher("pub", topic)
		p.retPublish(topic, "zero", 0, true)
		n, _ := t.retSubscribe("new", topic, 0)
		got := n.ExpectPublish(topic, "the server SHOULD store a retained QoS 0 message")
		t.Check(string(got.Payload) == "zero", "the retained QoS 0 message \"zero\"", fmt.Sprintf("sent payload %q", got.Payload))
	},
})

var _ = Register(Spec{
	Name:  "sets RETAIN=1 on a retained message sent because of a new subscription",
	IDs:   []string{"MQTT-3.3.1-8"},
	Level: Must, Area: AreaRetain,
	Needs: []Capability{CapRetain},
	Run: func(t *T) {
		topic := t.Topic("flag")
		p := t.retPublisher("pub", topic)
		p.retPublish(topic, "retained", t.subReliableQoS(), true)
		n, _ := t.retSubscribe("new", topic, 0)
		got := n.ExpectPublish(topic, "the retained message is sent to a new subscriber")
		t.Check(got.Retain, "RETAIN=1 on the retained message sent for the new subscription", "RETAIN=0")
	},
})

var _ = Register(Spec{
	Name:  "sets RETAIN=0 when forwarding a message to an established subscription",
	IDs:   []string{"MQTT-3.3.1-9"},
	Level: Must, Area: AreaRetain,
	// MQTT 3.1 only said the flag "should not" be set.
	Versions: v311,
	Run: func(t *T) {
		topic := t.Topic("live")
		q := t.subReliableQoS()
		s, _ := t.retSubscribe("sub", topic, q)
		t.Connect("pub").Publish(topic, "published retained", q, true)
		got := s.ExpectPublish(topic, "the message is forwarded to the established subscription")
		s.Complete(got)
		t.Check(!got.Retain, "RETAIN=0 on a message forwarded to a subscription that existed when it was published, although it was published with RETAIN=1", "RETAIN=1")
	},
})

var _ = Register(Spec{
	Name:  "forwards a zero-byte retained message to current subscribers",
	IDs:   []string{"MQTT-3.3.1-10"},
	Level: Must, Area: AreaRetain,
	Run: func(t *T) {
		topic := t.Topic("empty-fwd")
		q := t.subReliableQoS()
		s, _ := t.retSubscribe("sub", topic, q)
		p := t.Connect("pub")
		p.Publish(topic, "x", q, true)
		p.Publish(topic, "", q, true)
		r, err := s.Expect(t.ctx, t.Wait(), "the zero-byte PUBLISH on "+topic, retIsMessage(topic, ""))
		if err != nil {
			t.Fail("a zero-byte retained message is processed as normal and sent to the subscribers of its topic", err.Error())
		}
		s.Complete(r.Packet.(*codec.Publish))
	},
})

var _ = Register(Spec{
	Name:  "removes the retained message of a topic on a zero-byte retained message and stores neither",
	IDs:   []string{"MQTT-3.3.1-10", "MQTT-3.3.1-11"},
	Level: Must, Area: AreaRetain,
	Needs: []Capability{CapRetain},
	Run: func(t *T) {
		topic := t.Topic("empty-clear")
		q := t.subReliableQoS()
		p := t.retPublisher("pub", topic)
		p.retPublish(topic, "x", q, true)
		p.Publish(topic, "", q, true)
		// The forwarded copy shows the broker has handled it; its absence
		// is another spec's failure, not this one's.
		if _, err := p.Expect(t.ctx, t.Wait(), "own zero-byte message", retIsMessage(topic, "")); err != nil {
			t.Note("the zero-byte retained message was not forwarded to its publisher: %v", err)
		}
		n, _ := t.retSubscribe("new", topic, q)
		if err := n.ExpectNothing(t.ctx, t.Quiet(), probe.IsPublish(topic)); err != nil {
			t.Fail("no retained message for a new subscriber: the zero-byte retained message removed \"x\" (MQTT-3.3.1-10) and is not stored itself (MQTT-3.3.1-11)", err.Error())
		}
	},
})

var _ = Register(Spec{
	Name:  "neither stores nor changes retained messages on a RETAIN=0 publish",
	IDs:   []string{"MQTT-3.3.1-12"},
	Level: Must, Area: AreaRetain,
	Needs: []Capability{CapRetain},
	Run: func(t *T) {
		kept, plain := t.Topic("kept"), t.Topic("plain")
		q := t.subReliableQoS()
		p := t.retPublisher("pub", kept, plain)
		p.retPublish(kept, "kept", q, true)
		p.retPublish(kept, "live", q, false)
		p.retPublish(kept, "", q, false)
		p.retPublish(plain, "plain", q, false)
		n, _ := t.retSubscribe("new", kept, q)
		got := n.ExpectPublish(kept, "the retained message \"kept\" is sent to a new subscriber")
		n.Complete(got)
		t.Check(string(got.Payload) == "kept", "RETAIN=0 messages (\"live\", then zero bytes) neither replace nor remove the retained message \"kept\"", fmt.Sprintf("sent payload %q", got.Payload))
		m, _ := t.retSubscribe("new2", plain, q)
		m.ExpectNoPublish(plain, "no retained message on "+plain+": the RETAIN=0 message \"plain\" is not stored")
	},
})

var _ = Register(Spec{
	Name:  "keeps retained messages when the session that published them ends",
	IDs:   []string{"MQTT-3.1.2-7"},
	Level: Must, Area: AreaRetain,
	Needs: []Capability{CapRetain},
	Run: func(t *T) {
		q := t.subReliableQoS()
		// A clean session ends with its connection.
		clean := t.Topic("clean")
		a := t.retPublisher("clean", clean)
		a.retPublish(clean, "from a clean session", q, true)
		a.retDisconnect()
		// A persistent session ends when its client connects with
		// CleanSession=1.
		kept := t.Topic("persistent")
		id := t.ClientID("persist")
		b := t.Dial("persistent")
		b.MustConnect(t.ConnectPacket(id, false))
		b.Subscribe(kept, 0)
		b.retPublish(kept, "from a persistent session", q, true)
		b.retDisconnect()
		e := t.Dial("ender")
		e.MustConnect(t.ConnectPacket(id, true))
		e.retDisconnect()

		n := t.Connect("new")
		// Give the broker a moment to finish ending the sessions.
		if err := n.ExpectNothing(t.ctx, t.Quiet(), nil); err != nil {
			t.CouldNotCheck("the new connection: %v", err)
		}
		for topic, payload := range map[string]string{clean: "from a clean session", kept: "from a persistent session"} {
			n.Subscribe(topic, q)
			r, err := n.Expect(t.ctx, t.Wait(), "the retained message on "+topic, retIsMessage(topic, payload))
			if err != nil {
				t.Fail(fmt.Sprintf("the retained message %q is still sent to new subscribers after the session that published it ended", payload), err.Error())
			}
			n.Complete(r.Packet.(*codec.Publish))
		}
	},
})

var _ = Register(Spec{
	Name:  "sends the retained message of every topic a new wildcard subscription matches",
	IDs:   []string{"MQTT-3.3.1-6"},
	Level: Must, Area: AreaRetain,
	Needs: []Capability{CapRetain, CapWildcards},
	Run: func(t *T) {
		q := t.subReliableQoS()
		topics := []string{t.Topic("w/a"), t.Topic("w/b/c"), t.Topic("w")}
		other := t.Topic("wx")
		p := t.retPublisher("pub", append([]string{other}, topics...)...)
		for _, tp := range topics {
			p.retPublish(tp, "retained on "+tp, q, true)
		}
		p.retPublish(other, "not matching", q, true)
		n, _ := t.retSubscribe("new", t.Topic("w/#"), q)
		for _, tp := range topics {
			r, err := n.Expect(t.ctx, t.Wait(), "the retained message on "+tp, retIsMessage(tp, "retained on "+tp))
			if err != nil {
				t.Fail(fmt.Sprintf("the retained message of each topic matching %s is sent, including %s", t.Topic("w/#"), tp), err.Error())
			}
			n.Complete(r.Packet.(*codec.Publish))
		}
		n.ExpectNoPublish(other, "no retained message of "+other+", which "+t.Topic("w/#")+" does not match")
	},
})
