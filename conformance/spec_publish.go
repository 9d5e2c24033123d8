package conformance

import (
	"fmt"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// Specs of the PUBLISH packet (MQTT 3.1.1 section 3.3): what the broker
// must refuse in a client's PUBLISH, and the fields of the PUBLISH
// packets it sends to subscribers.

// pubExpectClosed sends p on a fresh connection and requires the broker
// to close the connection.
func pubExpectClosed(t *T, p *codec.Publish, rule string) {
	c := t.Connect("")
	t.Setup(c.Send(p), "sending PUBLISH")
	c.ExpectClosed(t.Wait(), rule)
}

// pubAnyPublish waits on c for the next PUBLISH, whatever its topic.
func pubAnyPublish(c *Client, rule string) (*probe.Received, *codec.Publish) {
	r, err := c.Expect(c.t.ctx, c.t.cfg.Wait, "PUBLISH", probe.IsType(codec.PUBLISH))
	if err != nil {
		c.t.Fail(rule, err.Error())
	}
	p, ok := r.Packet.(*codec.Publish)
	if !ok {
		c.t.Fail(rule, "sent a malformed PUBLISH: "+r.String())
	}
	return r, p
}

var _ = Register(Spec{
	Name:  "closes the connection on a QoS 1 or QoS 2 PUBLISH with packet identifier 0",
	IDs:   []string{"MQTT-2.3.1-1", "MQTT-4.8.0-1"},
	Level: Must, Area: AreaPublish,
	Versions: v311,
	Run: func(t *T) {
		for _, qos := range []byte{1, 2} {
			pubExpectClosed(t, &codec.Publish{Topic: []byte(t.Topic("id0")), Payload: []byte("x"), QoS: qos, PacketID: 0},
				fmt.Sprintf("the broker closes the connection: a QoS %d PUBLISH needs a non-zero packet identifier (MQTT-2.3.1-1) and a protocol violation closes the connection (MQTT-4.8.0-1)", qos))
		}
	},
})

var _ = Register(Spec{
	Name:  "closes the connection on a PUBLISH with both QoS bits set",
	IDs:   []string{"MQTT-3.3.1-4"},
	Level: Must, Area: AreaPublish,
	Versions: v311,
	Run: func(t *T) {
		pubExpectClosed(t, &codec.Publish{Topic: []byte(t.Topic("qos3")), Payload: []byte("x"), QoS: 3, PacketID: 1},
			"the broker closes the connection on a PUBLISH with QoS bits 11 (MQTT-3.3.1-4)")
	},
})

var _ = Register(Spec{
	Name:  "closes the connection on a PUBLISH whose topic name holds a wildcard character",
	IDs:   []string{"MQTT-3.3.2-2", "MQTT-4.8.0-1"},
	Level: Must, Area: AreaPublish,
	Versions: v311,
	Run: func(t *T) {
		for _, name := range []string{t.Topic("+/x"), t.Topic("#"), t.Topic("a+b")} {
			pubExpectClosed(t, &codec.Publish{Topic: []byte(name), Payload: []byte("x")},
				fmt.Sprintf("the broker closes the connection: the topic name %q holds a wildcard character (MQTT-3.3.2-2) and a protocol violation closes the connection (MQTT-4.8.0-1)", name))
		}
	},
})

var _ = Register(Spec{
	Name:  "sends QoS 0 messages with QoS 0 and DUP 0",
	IDs:   []string{"MQTT-3.3.1-2", "MQTT-4.3.1-1"},
	Level: Must, Area: AreaPublish,
	Run: func(t *T) {
		topic := t.Topic("q0")
		sub := t.Connect("sub")
		sub.Subscribe(topic, 0)
		pub := t.Connect("pub")
		qos := []byte{0}
		if t.Target.Has(CapQoS1) {
			qos = append(qos, 1) // downgraded to QoS 0 by the subscription
		}
		for _, q := range qos {
			pub.Publish(topic, fmt.Sprintf("published at QoS %d", q), q, false)
			r, p := qosNextPublish(sub, topic, "the message delivered to the QoS 0 subscription")
			if p.QoS != 0 {
				// Another rule (MQTT-3.8.4-6); here there is no QoS 0
				// PUBLISH to judge.
				t.CouldNotCheck("the message published at QoS %d reached the QoS 0 subscription at QoS %d", q, p.QoS)
			}
			t.Check(!p.Dup, "DUP 0 on a QoS 0 PUBLISH (MQTT-3.3.1-2, MQTT-4.3.1-1)", "sent "+r.String())
		}
	},
})

var _ = Register(Spec{
	Name:  "does not copy the DUP flag of an incoming PUBLISH to the copies it sends",
	IDs:   []string{"MQTT-3.3.1-3"},
	Level: Must, Area: AreaPublish,
	Needs: []Capability{CapQoS1},
	Run: func(t *T) {
		topic := t.Topic("dup")
		sub := t.Connect("sub")
		qosSubscribe(sub, topic, 1)
		pub := t.Connect("pub")
		// DUP=1 says the PUBLISH "might be" a re-delivery; the broker
		// sends its own copy for the first time, so with DUP=0.
		_, err := pub.Conn.Publish(t.ctx, &codec.Publish{Topic: []byte(topic), Payload: []byte("x"), QoS: 1, Dup: true}, t.Wait())
		t.Setup(err, "QoS 1 flow of a PUBLISH with DUP=1")
		r, p := qosNextPublish(sub, topic, "the message delivered to the subscriber")
		t.Check(!p.Dup, "DUP 0 on the broker's first sending of the message: the DUP flag of the incoming PUBLISH is not propagated (MQTT-3.3.1-3)", "sent "+r.String())
		sub.Complete(p)
	},
})

var _ = Register(Spec{
	Name:  "sends QoS 0 PUBLISH packets without a packet identifier",
	IDs:   []string{"MQTT-2.3.1-5"},
	Level: Must, Area: AreaPublish,
	Run: func(t *T) {
		topic := t.Topic("noid")
		sub := t.Connect("sub")
		sub.Subscribe(topic, 0)
		pub := t.Connect("pub")
		qos := []byte{0}
		if t.Target.Has(CapQoS1) {
			qos = append(qos, 1) // downgraded: the identifier must go
		}
		for _, q := range qos {
			payload := fmt.Sprintf("payload of a QoS %d message", q)
			pub.Publish(topic, payload, q, false)
			// A packet identifier in a QoS 0 PUBLISH would be read as the
			// first two bytes of the payload.
			r, p := qosNextPublish(sub, topic, "the message delivered to the QoS 0 subscription")
			t.Check(p.QoS != 0 || string(p.Payload) == payload,
				fmt.Sprintf("a QoS 0 PUBLISH without packet identifier: the payload exactly %q (MQTT-2.3.1-5)", payload), "sent "+r.String())
		}
	},
})

var _ = Register(Spec{
	Name:  "sends the topic name as the UTF-8 string it was published with",
	IDs:   []string{"MQTT-3.3.2-1"},
	Level: Must, Area: AreaPublish,
	Run: func(t *T) {
		topic := t.Topic("größe/日本語/ü")
		sub := t.Connect("sub")
		sub.Subscribe(topic, 0)
		t.Connect("pub").Publish(topic, "x", 0, false)
		r, p := pubAnyPublish(sub, "the message delivered to the subscriber")
		t.Check(string(p.Topic) == topic,
			fmt.Sprintf("the topic name %q as a well-formed UTF-8 string (MQTT-3.3.2-1)", topic), "sent "+r.String())
	},
})

var _ = Register(Spec{
	Name:  "sends a message matched by a wildcard subscription with the topic name it was published to",
	IDs:   []string{"MQTT-3.3.2-3"},
	Level: Must, Area: AreaPublish,
	Needs: []Capability{CapWildcards},
	Run: func(t *T) {
		topic := t.Topic("a/w/b")
		sub := t.Connect("sub")
		sub.Subscribe(t.Topic("+/w/#"), 0)
		t.Connect("pub").Publish(topic, "x", 0, false)
		r, p := pubAnyPublish(sub, "the message delivered to the wildcard subscription")
		t.Check(string(p.Topic) == topic, fmt.Sprintf("topic name %q, the one the message was published to (MQTT-3.3.2-3)", topic), "sent "+r.String())
	},
})

var _ = Register(Spec{
	Name:  "delivers a message to every client with a matching subscription, the publisher included",
	IDs:   []string{"MQTT-4.5.0-1"},
	Level: Must, Area: AreaPublish,
	Run: func(t *T) {
		topic := t.Topic("all")
		qos := byte(0)
		if t.Target.Has(CapQoS1) {
			qos = 1 // QoS 0 would allow loss
		}
		var subs []*Client
		for _, label := range []string{"sub1", "sub2", "pub"} {
			c := t.Connect(label)
			qosSubscribe(c, topic, qos)
			subs = append(subs, c)
		}
		subs[2].Publish(topic, "x", qos, false)
		for _, c := range subs {
			_, p := qosNextPublish(c, topic, fmt.Sprintf("the message delivered to client %s, which has a matching subscription (MQTT-4.5.0-1)", c.Label()))
			c.Complete(p)
		}
	},
})

var _ = Register(Spec{
	Name:  "answers each PINGREQ with a PINGRESP",
	IDs:   []string{"MQTT-3.12.4-1"},
	Level: Must, Area: AreaKeepAlive,
	Run: func(t *T) {
		c := t.Connect("")
		for i := 1; i <= 3; i++ {
			if err := c.Ping(t.ctx, t.Wait()); err != nil {
				t.Fail(fmt.Sprintf("a PINGRESP for PINGREQ number %d (MQTT-3.12.4-1)", i), err.Error())
			}
		}
	},
})
