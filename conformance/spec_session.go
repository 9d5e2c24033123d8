package conformance

import (
	"fmt"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// Session specs: CleanSession handling (MQTT-3.1.2-4..6), Session Present
// (MQTT-3.2.2-1..3), offline queueing and redelivery after reconnect
// (MQTT-4.4.0-1, MQTT-3.3.1-1).
//
// A broker notices the end of a connection asynchronously. Where a spec
// must know that the broker has taken a client offline (before checking
// what it queues for it), the client sends DISCONNECT and waits for the
// broker to close the connection (sessDisconnect); reconnecting with the
// same client id needs no such care, since the broker must then take the
// old connection over whatever state it is in.

// sessConnect dials and connects with client id id and the given
// CleanSession (setup), returning the connection and its CONNACK.
func (t *T) sessConnect(label, id string, clean bool) (*Client, *codec.Connack) {
	c := t.Dial(label)
	ack := c.MustConnect(t.ConnectPacket(id, clean))
	return c, ack
}

// sessDisconnect sends DISCONNECT and waits for the broker to close the
// connection, so that the broker has processed the end of the connection
// when it returns. A broker that keeps the connection open (it SHOULD
// close it) is given Wait, then the probe closes it itself.
func (c *Client) sessDisconnect() {
	c.t.Setup(c.Send(&codec.Disconnect{}), "sending DISCONNECT")
	if err := c.Conn.ExpectClosed(c.t.ctx, c.t.cfg.Wait); err != nil {
		c.t.Note("%s: the broker had not closed the connection %s after DISCONNECT; the probe closed it", c.Label(), c.t.cfg.Wait)
	}
	c.Close()
}

// sessSubscribeQoS subscribes to filter at qos and requires that QoS to
// be granted (setup): the spec needs messages at that QoS.
func (c *Client) sessSubscribeQoS(filter string, qos byte) {
	if got := c.Subscribe(filter, qos); got != qos {
		c.t.CouldNotCheck("SUBSCRIBE %s at QoS %d was granted QoS %d", filter, qos, got)
	}
}

// sessExpectPayload waits up to Wait for a PUBLISH on topic carrying
// payload; other messages on the topic stay queued. It returns nil and
// the error if none comes.
func (c *Client) sessExpectPayload(topic, payload string) (*codec.Publish, error) {
	r, err := c.Expect(c.t.ctx, c.t.cfg.Wait, fmt.Sprintf("PUBLISH on %s with payload %q", topic, payload), func(r *probe.Received) bool {
		p, ok := r.Packet.(*codec.Publish)
		return ok && string(p.Topic) == topic && string(p.Payload) == payload
	})
	if err != nil {
		return nil, err
	}
	return r.Packet.(*codec.Publish), nil
}

// sessStoredSession leaves a stored session for client id: a
// CleanSession=0 connection that subscribes to topic at qos and
// disconnects.
func (t *T) sessStoredSession(id, topic string, qos byte) {
	c, _ := t.sessConnect("first", id, false)
	c.sessSubscribeQoS(topic, qos)
	c.sessDisconnect()
}

var _ = Register(Spec{
	Name:  "keeps a CleanSession=0 session's subscriptions after its connection ends",
	IDs:   []string{"MQTT-3.1.2-4", "MQTT-4.1.0-1", "MQTT-3.1.4-3"},
	Level: Must, Area: AreaSession,
	Run: func(t *T) {
		topic := t.Topic("kept")
		id := t.ClientID("s")
		t.sessStoredSession(id, topic, 0)
		c, _ := t.sessConnect("again", id, false)
		pub := t.Connect("pub")
		pub.Publish(topic, "to the stored subscription", 0, false)
		if _, err := c.sessExpectPayload(topic, "to the stored subscription"); err != nil {
			t.Fail("the session of the CleanSession=0 client id is stored after DISCONNECT and resumed on reconnect: "+
				"its subscription to "+topic+" delivers without a new SUBSCRIBE", err.Error())
		}
	},
})

var _ = Register(Spec{
	Name:  "queues QoS 1 messages for a disconnected CleanSession=0 session and delivers them on reconnect",
	IDs:   []string{"MQTT-3.1.2-5"},
	Level: Must, Area: AreaSession,
	Needs: []Capability{CapQoS1, CapPersistentSessions},
	Run:   func(t *T) { sessOfflineQueue(t, 1) },
})

var _ = Register(Spec{
	Name:  "queues QoS 2 messages for a disconnected CleanSession=0 session and delivers them on reconnect",
	IDs:   []string{"MQTT-3.1.2-5"},
	Level: Must, Area: AreaSession,
	Needs: []Capability{CapQoS2, CapPersistentSessions},
	Run:   func(t *T) { sessOfflineQueue(t, 2) },
})

func sessOfflineQueue(t *T, qos byte) {
	topic := t.Topic("offline")
	id := t.ClientID("s")
	t.sessStoredSession(id, topic, qos)
	pub := t.Connect("pub")
	payload := fmt.Sprintf("QoS %d while offline", qos)
	pub.Publish(topic, payload, qos, false)
	c, _ := t.sessConnect("again", id, false)
	p, err := c.sessExpectPayload(topic, payload)
	if err != nil {
		t.Fail(fmt.Sprintf("the QoS %d message published while the CleanSession=0 client was disconnected is stored in its session and delivered after it reconnects", qos), err.Error())
	}
	c.Complete(p)
}

var _ = Register(Spec{
	Name:  "queues QoS 0 messages for a disconnected CleanSession=0 session",
	Level: May, Area: AreaSession,
	Needs: []Capability{CapQoS1, CapPersistentSessions},
	Run: func(t *T) {
		// "It MAY also store QoS 0 messages that meet the same criteria"
		// (3.1.2.4). A QoS 1 message published after the QoS 0 one marks
		// the end of what the session queued, so the spec need not wait
		// long for a message that may legitimately never come.
		topic := t.Topic("offline0")
		id := t.ClientID("s")
		t.sessStoredSession(id, topic, 1)
		pub := t.Connect("pub")
		pub.Publish(topic, "QoS 0 while offline", 0, false)
		pub.Publish(topic, "QoS 1 while offline", 1, false)
		c, _ := t.sessConnect("again", id, false)
		p, err := c.sessExpectPayload(topic, "QoS 1 while offline")
		t.Setup(err, "the queued QoS 1 message (MQTT-3.1.2-5)")
		c.Complete(p)
		// Queued in order, the QoS 0 message would have come first.
		if _, err := c.Expect(t.ctx, t.Quiet(), "the QoS 0 message", func(r *probe.Received) bool {
			p, ok := r.Packet.(*codec.Publish)
			return ok && string(p.Topic) == topic && string(p.Payload) == "QoS 0 while offline"
		}); err != nil {
			t.Fail("the QoS 0 message published while the client was disconnected is delivered after it reconnects (allowed, not required)",
				"not delivered: "+err.Error())
		}
	},
})

var _ = Register(Spec{
	Name:  "discards the stored session on a CleanSession=1 connect and keeps nothing of it afterwards",
	IDs:   []string{"MQTT-3.1.2-6", "MQTT-3.1.4-3"},
	Level: Must, Area: AreaSession,
	Run: func(t *T) {
		topic := t.Topic("discarded")
		id := t.ClientID("s")
		qos := byte(0)
		if t.Target.Has(CapQoS1) {
			qos = 1
		}
		t.sessStoredSession(id, topic, qos)
		pub := t.Connect("pub")
		if qos == 1 {
			// Queued in the stored session, if the broker queues: it must
			// be discarded with the session.
			pub.Publish(topic, "queued in the old session", 1, false)
		}
		c, _ := t.sessConnect("clean", id, true)
		pub.Publish(topic, "during the clean session", 0, false)
		c.ExpectNoPublish(topic, "CleanSession=1 discards the previous session: neither its subscription to "+topic+" nor its queued messages reach the new connection")
		c.sessDisconnect()

		// The clean session ends with its connection and the old one
		// stays discarded: a later CleanSession=0 connect starts afresh.
		later, _ := t.sessConnect("later", id, false)
		pub.Publish(topic, "after the clean session", 0, false)
		later.ExpectNoPublish(topic, "state of a discarded session is not reused by a later session: no subscription to "+topic+" and no queued message")
	},
})

var _ = Register(Spec{
	Name:  "keeps session state by client id: a different client id does not receive it",
	IDs:   []string{"MQTT-3.1.3-2"},
	Level: Must, Area: AreaSession,
	Run: func(t *T) {
		topic := t.Topic("owned")
		id := t.ClientID("own")
		t.sessStoredSession(id, topic, 0)
		other, _ := t.sessConnect("other", t.ClientID("oth"), false)
		owner, _ := t.sessConnect("owner", id, false)
		pub := t.Connect("pub")
		pub.Publish(topic, "for the owner", 0, false)
		_, err := owner.sessExpectPayload(topic, "for the owner")
		if err != nil {
			t.CouldNotCheck("the session of client id %s was not resumed (its subscription did not deliver), so whether another id gets it cannot be judged: %v", id, err)
		}
		other.ExpectNoPublish(topic, "the session (subscription to "+topic+") of client id "+id+" is not given to client id "+other.ID)
	},
})

var _ = Register(Spec{
	Name:     "sets Session Present 0 on a CleanSession=1 connection, even when a session was stored",
	IDs:      []string{"MQTT-3.2.2-1"},
	Level:    Must,
	Area:     AreaSession,
	Versions: v311,
	Run: func(t *T) {
		id := t.ClientID("s")
		t.sessStoredSession(id, t.Topic("sp"), 0)
		_, ack := t.sessConnect("clean", id, true)
		t.Check(!ack.SessionPresent, "Session Present 0 in the CONNACK accepting a CleanSession=1 connection", "Session Present 1")
	},
})

var _ = Register(Spec{
	Name:     "sets Session Present 1 when it resumes a stored session",
	IDs:      []string{"MQTT-3.2.2-2"},
	Level:    Must,
	Area:     AreaSession,
	Versions: v311,
	Run: func(t *T) {
		topic := t.Topic("sp")
		id := t.ClientID("s")
		t.sessStoredSession(id, topic, 0)
		c, ack := t.sessConnect("again", id, false)
		if ack.SessionPresent {
			return
		}
		// Session Present 0 is right if the broker stored nothing: look
		// at whether the stored subscription survived.
		pub := t.Connect("pub")
		pub.Publish(topic, "to the stored subscription", 0, false)
		if _, err := c.sessExpectPayload(topic, "to the stored subscription"); err != nil {
			t.CouldNotCheck("the broker kept no session for client id %s (Session Present 0 and its subscription did not deliver), "+
				"so Session Present 0 is consistent; keeping sessions is judged by MQTT-3.1.2-4: %v", id, err)
		}
		t.Fail("Session Present 1 in the CONNACK of a CleanSession=0 connection whose client id has stored session state",
			"Session Present 0, yet the session was resumed: its subscription to "+topic+" delivered without a new SUBSCRIBE")
	},
})

var _ = Register(Spec{
	Name:     "sets Session Present 0 on a CleanSession=0 connection without a stored session",
	IDs:      []string{"MQTT-3.2.2-3"},
	Level:    Must,
	Area:     AreaSession,
	Versions: v311,
	Run: func(t *T) {
		_, ack := t.sessConnect("fresh", t.ClientID("new"), false)
		t.Check(!ack.SessionPresent, "Session Present 0 for a CleanSession=0 connection of a client id the broker has never seen", "Session Present 1")
	},
})

// sessUnacked connects a CleanSession=0 subscriber at qos, has a message
// published to it, and returns its client id, the topic and the PUBLISH
// it received, which it has not acknowledged. The connection is still
// open.
func sessUnacked(t *T, qos byte) (sub *Client, topic string, first *codec.Publish) {
	topic = t.Topic("inflight")
	sub, _ = t.sessConnect("sub", t.ClientID("s"), false)
	sub.sessSubscribeQoS(topic, qos)
	pub := t.Connect("pub")
	pub.Publish(topic, "unacknowledged", qos, false)
	first, err := sub.sessExpectPayload(topic, "unacknowledged")
	t.Setup(err, "the first delivery of the message")
	if first.QoS != qos {
		t.CouldNotCheck("the message was delivered at QoS %d, not %d", first.QoS, qos)
	}
	return sub, topic, first
}

// sessExpectResent waits on the resumed connection for the PUBLISH that
// re-sends first, failing with what the statement requires.
func sessExpectResent(t *T, c *Client, topic string, first *codec.Publish) *codec.Publish {
	rule := fmt.Sprintf("the unacknowledged QoS %d PUBLISH (packet id %d) re-sent after the CleanSession=0 reconnect", first.QoS, first.PacketID)
	p, err := c.sessExpectPayload(topic, "unacknowledged")
	if err != nil {
		t.Fail(rule, err.Error())
	}
	return p
}

func sessRedelivery(t *T, qos byte) {
	sub, topic, first := sessUnacked(t, qos)
	sub.Close() // the network fails: no acknowledgement, no DISCONNECT
	again, _ := t.sessConnect("again", sub.ID, false)
	p := sessExpectResent(t, again, topic, first)
	t.Check(p.PacketID == first.PacketID, fmt.Sprintf("the re-sent PUBLISH uses its original packet id %d", first.PacketID),
		fmt.Sprintf("re-sent with packet id %d", p.PacketID))
	again.Complete(p)
}

var _ = Register(Spec{
	Name:  "re-sends an unacknowledged QoS 1 PUBLISH with its packet id after a CleanSession=0 reconnect",
	IDs:   []string{"MQTT-4.4.0-1"},
	Level: Must, Area: AreaSession,
	Needs: []Capability{CapQoS1, CapPersistentSessions},
	Run:   func(t *T) { sessRedelivery(t, 1) },
})

var _ = Register(Spec{
	Name:  "re-sends an unacknowledged QoS 2 PUBLISH with its packet id after a CleanSession=0 reconnect",
	IDs:   []string{"MQTT-4.4.0-1"},
	Level: Must, Area: AreaSession,
	Needs: []Capability{CapQoS2, CapPersistentSessions},
	Run:   func(t *T) { sessRedelivery(t, 2) },
})

var _ = Register(Spec{
	Name:  "re-sends PUBREL for a QoS 2 message it got PUBREC for, after a CleanSession=0 reconnect",
	IDs:   []string{"MQTT-4.4.0-1"},
	Level: Must, Area: AreaSession,
	Needs: []Capability{CapQoS2, CapPersistentSessions},
	Run: func(t *T) {
		sub, _, first := sessUnacked(t, 2)
		sub.Ack(codec.PUBREC, first.PacketID)
		_, err := sub.Expect(t.ctx, t.Wait(), fmt.Sprintf("PUBREL id=%d", first.PacketID), probe.IsAck(codec.PUBREL, first.PacketID))
		t.Setup(err, "the PUBREL answering PUBREC (MQTT-4.3.3-1)")
		sub.Close() // no PUBCOMP
		again, _ := t.sessConnect("again", sub.ID, false)
		_, err = again.Expect(t.ctx, t.Wait(), fmt.Sprintf("PUBREL id=%d", first.PacketID), probe.IsAck(codec.PUBREL, first.PacketID))
		if err != nil {
			t.Fail(fmt.Sprintf("the PUBREL for packet id %d, never answered with PUBCOMP, re-sent after the CleanSession=0 reconnect", first.PacketID), err.Error())
		}
		again.Ack(codec.PUBCOMP, first.PacketID)
	},
})

var _ = Register(Spec{
	Name:  "sets DUP=1 on a PUBLISH it re-sends after a CleanSession=0 reconnect",
	IDs:   []string{"MQTT-3.3.1-1"},
	Level: Must, Area: AreaSession,
	Needs: []Capability{CapQoS1, CapPersistentSessions},
	Run: func(t *T) {
		sub, topic, first := sessUnacked(t, 1)
		sub.Close()
		again, _ := t.sessConnect("again", sub.ID, false)
		p, err := again.sessExpectPayload(topic, "unacknowledged")
		if err != nil {
			t.CouldNotCheck("the message was not re-sent after the reconnect (judged by MQTT-4.4.0-1), so its DUP flag cannot be: %v", err)
		}
		t.Check(p.Dup, fmt.Sprintf("DUP=1 on the re-delivery of the QoS 1 PUBLISH with packet id %d", first.PacketID),
			fmt.Sprintf("re-sent with DUP=0: PUBLISH id=%d", p.PacketID))
		again.Complete(p)
	},
})
