package conformance

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// Specs of the QoS 1 and QoS 2 protocol flows (MQTT 3.1.1 section 4.3),
// packet identifiers (2.3.1), the QoS of delivered messages (3.3.5,
// 3.8.4) and message ordering (4.6), in both directions: the broker as
// the receiver of a client's PUBLISH and as the sender to a subscriber.

// qosSubscribe subscribes c to filter at qos and requires the broker to
// grant at least qos (setup: a lower grant is "could not check").
func qosSubscribe(c *Client, filter string, qos byte) {
	if g := c.Subscribe(filter, qos); g < qos {
		c.t.CouldNotCheck("SUBSCRIBE %s at QoS %d was granted QoS %d", filter, qos, g)
	}
}

// qosExpectAck waits for the next packet of type typ on c and requires
// it to carry packet identifier id. rule says what the statement under
// test requires; idRule is the statement requiring the identifier echo.
func qosExpectAck(c *Client, typ codec.Type, id uint16, rule, idRule string) *probe.Received {
	r, err := c.ExpectType(c.t.ctx, typ, c.t.cfg.Wait)
	if err != nil {
		c.t.Fail(rule, err.Error())
	}
	a, ok := r.Packet.(*codec.Ack)
	if !ok || a.PacketID != id {
		c.t.Fail(fmt.Sprintf("%s with packet identifier %d, the one of the packet it answers (%s)", typ, id, idRule),
			"sent "+r.String())
	}
	return r
}

// qosNextPublish waits for the next PUBLISH on topic, failing with rule.
func qosNextPublish(c *Client, topic, rule string) (*probe.Received, *codec.Publish) {
	r, err := c.Expect(c.t.ctx, c.t.cfg.Wait, "PUBLISH on "+topic, probe.IsPublish(topic))
	if err != nil {
		c.t.Fail(rule, err.Error())
	}
	return r, r.Packet.(*codec.Publish)
}

// qosSendAll publishes payloads "0", "1"... n-1 on topic at qos without
// waiting between them, then completes every flow (setup). It returns
// the payloads in the order they were sent.
func qosSendAll(c *Client, topic string, qos byte, n int) []string {
	t := c.t
	var ids []uint16
	var sent []string
	for i := 0; i < n; i++ {
		p := &codec.Publish{Topic: []byte(topic), Payload: []byte(strconv.Itoa(i)), QoS: qos}
		if qos > 0 {
			p.PacketID = c.NextID()
			ids = append(ids, p.PacketID)
		}
		t.Setup(c.Send(p), "sending PUBLISH")
		sent = append(sent, strconv.Itoa(i))
	}
	for _, id := range ids {
		switch qos {
		case 1:
			_, err := c.Expect(t.ctx, t.cfg.Wait, fmt.Sprintf("PUBACK id=%d", id), probe.IsAck(codec.PUBACK, id))
			t.Setup(err, "QoS 1 flow of the publisher")
		case 2:
			_, err := c.Expect(t.ctx, t.cfg.Wait, fmt.Sprintf("PUBREC id=%d", id), probe.IsAck(codec.PUBREC, id))
			t.Setup(err, "QoS 2 flow of the publisher")
			c.Ack(codec.PUBREL, id)
		}
	}
	if qos == 2 {
		for _, id := range ids {
			_, err := c.Expect(t.ctx, t.cfg.Wait, fmt.Sprintf("PUBCOMP id=%d", id), probe.IsAck(codec.PUBCOMP, id))
			t.Setup(err, "QoS 2 flow of the publisher")
		}
	}
	return sent
}

// qosReceiveInOrder reads the messages sent on topic and requires them in
// the order want, acknowledging each. At QoS 0 messages may be lost (at
// most once), so only the order of those that arrive is judged. A PUBLISH
// with DUP=1 repeating the packet identifier and payload of one already
// received is the broker's own re-delivery and is skipped.
func qosReceiveInOrder(c *Client, topic string, qos byte, want []string, rule string) {
	t := c.t
	var got []string
	seen := map[uint16]string{} // packet identifier -> payload
	for len(got) < len(want) {
		p, err := c.NextPublish(topic, t.cfg.Wait)
		if err != nil {
			if qos == 0 && len(got) == 0 {
				t.CouldNotCheck("no QoS 0 message arrived (QoS 0 allows loss): %v", err)
			}
			if qos == 0 {
				t.Note("%d of %d QoS 0 messages arrived (QoS 0 allows loss); their order was judged", len(got), len(want))
				break
			}
			t.Fail(rule, fmt.Sprintf("received [%s], then: %v", strings.Join(got, " "), err))
		}
		if p.QoS > 0 {
			prev, ok := seen[p.PacketID]
			dup := p.Dup && ok && prev == string(p.Payload)
			seen[p.PacketID] = string(p.Payload)
			c.Complete(p)
			if dup {
				continue
			}
		}
		got = append(got, string(p.Payload))
	}
	if qos == 0 {
		last := -1
		for _, g := range got {
			n, err := strconv.Atoi(g)
			if err != nil || n <= last {
				t.Fail(rule, fmt.Sprintf("received payloads [%s] for messages published as [%s]", strings.Join(got, " "), strings.Join(want, " ")))
			}
			last = n
		}
		return
	}
	t.Check(strings.Join(got, " ") == strings.Join(want, " "), rule,
		fmt.Sprintf("received payloads [%s] for messages published as [%s]", strings.Join(got, " "), strings.Join(want, " ")))
}

// qosOrderSpec checks that n messages published by one client on one
// topic at qos reach a subscriber in publication order.
func qosOrderSpec(qos byte) func(t *T) {
	return func(t *T) {
		topic := t.Topic("order")
		sub := t.Connect("sub")
		qosSubscribe(sub, topic, qos)
		pub := t.Connect("pub")
		want := qosSendAll(pub, topic, qos, 10)
		qosReceiveInOrder(sub, topic, qos, want,
			fmt.Sprintf("the QoS %d messages one client published on one topic delivered in the order it sent them (MQTT-4.6.0-5, MQTT-4.6.0-6)", qos))
	}
}

// ---- The broker as the receiver of a client's PUBLISH ----

var _ = Register(Spec{
	Name:  "sends no acknowledgement for a QoS 0 PUBLISH",
	IDs:   []string{"MQTT-3.3.4-1"},
	Level: Must, Area: AreaQoS,
	Run: func(t *T) {
		c := t.Connect("")
		t.Setup(c.Send(&codec.Publish{Topic: []byte(t.Topic("q0")), Payload: []byte("x")}), "sending PUBLISH")
		// The broker handles a connection's packets in order: once the
		// SUBACK is here, an answer to the PUBLISH would have come too.
		c.Subscribe(t.Topic("barrier"), 0)
		err := c.ExpectNothing(t.ctx, t.Quiet(), func(r *probe.Received) bool {
			typ := r.Type()
			return typ == codec.PUBACK || typ == codec.PUBREC || typ == codec.PUBREL || typ == codec.PUBCOMP
		})
		if err != nil {
			t.Fail("no response to a QoS 0 PUBLISH (MQTT-3.3.4-1, table 3.4)", err.Error())
		}
	},
})

var _ = Register(Spec{
	Name:  "answers a QoS 1 PUBLISH with a PUBACK carrying its packet identifier",
	IDs:   []string{"MQTT-3.3.4-1", "MQTT-4.3.2-2", "MQTT-2.3.1-6"},
	Level: Must, Area: AreaQoS,
	Needs: []Capability{CapQoS1},
	Run: func(t *T) {
		c := t.Connect("")
		const id = 0x1234
		t.Setup(c.Send(&codec.Publish{Topic: []byte(t.Topic("q1")), Payload: []byte("x"), QoS: 1, PacketID: id}), "sending PUBLISH")
		qosExpectAck(c, codec.PUBACK, id, "a PUBACK for the QoS 1 PUBLISH (MQTT-3.3.4-1, MQTT-4.3.2-2)", "MQTT-2.3.1-6")
	},
})

var _ = Register(Spec{
	Name:  "treats a QoS 1 PUBLISH reusing an acknowledged packet identifier as a new message, DUP or not",
	IDs:   []string{"MQTT-4.3.2-2"},
	Level: Must, Area: AreaQoS,
	Needs: []Capability{CapQoS1},
	Run: func(t *T) {
		topic := t.Topic("reuse1")
		sub := t.Connect("sub")
		sub.Subscribe(topic, 0)
		pub := t.Connect("pub")
		const id = 7
		t.Setup(pub.Send(&codec.Publish{Topic: []byte(topic), Payload: []byte("first"), QoS: 1, PacketID: id}), "sending PUBLISH")
		_, err := pub.Expect(t.ctx, t.Wait(), "PUBACK id=7", probe.IsAck(codec.PUBACK, id))
		t.Setup(err, "QoS 1 flow of the first PUBLISH")
		// After the PUBACK, the identifier is free: the next PUBLISH with
		// it is a new publication "irrespective of the setting of its DUP
		// flag".
		t.Setup(pub.Send(&codec.Publish{Topic: []byte(topic), Payload: []byte("second"), QoS: 1, PacketID: id, Dup: true}), "sending PUBLISH")
		qosExpectAck(pub, codec.PUBACK, id, "a PUBACK for the second QoS 1 PUBLISH with packet identifier 7 (MQTT-4.3.2-2)", "MQTT-4.3.2-2")
		rule := "both messages delivered: a PUBLISH reusing an identifier already acknowledged is a new publication, whatever its DUP flag (MQTT-4.3.2-2)"
		for _, want := range []string{"first", "second"} {
			_, err := sub.Expect(t.ctx, t.Wait(), "PUBLISH "+want, func(r *probe.Received) bool {
				p, ok := r.Packet.(*codec.Publish)
				return ok && string(p.Topic) == topic && string(p.Payload) == want
			})
			if err != nil {
				t.Fail(rule, fmt.Sprintf("message %q: %v", want, err))
			}
		}
	},
})

var _ = Register(Spec{
	Name:  "answers a QoS 2 PUBLISH with PUBREC and the PUBREL with PUBCOMP, each carrying its packet identifier",
	IDs:   []string{"MQTT-3.3.4-1", "MQTT-4.3.3-2", "MQTT-2.3.1-6"},
	Level: Must, Area: AreaQoS,
	Needs: []Capability{CapQoS2},
	Run: func(t *T) {
		c := t.Connect("")
		const id = 0x2345
		t.Setup(c.Send(&codec.Publish{Topic: []byte(t.Topic("q2")), Payload: []byte("x"), QoS: 2, PacketID: id}), "sending PUBLISH")
		qosExpectAck(c, codec.PUBREC, id, "a PUBREC for the QoS 2 PUBLISH (MQTT-3.3.4-1, MQTT-4.3.3-2)", "MQTT-2.3.1-6")
		c.Ack(codec.PUBREL, id)
		qosExpectAck(c, codec.PUBCOMP, id, "a PUBCOMP for the PUBREL (MQTT-4.3.3-2)", "MQTT-4.3.3-2")
	},
})

var _ = Register(Spec{
	Name:  "delivers a QoS 2 message once when its PUBLISH is re-sent before the PUBREL, answering each with PUBREC",
	IDs:   []string{"MQTT-4.3.3-2"},
	Level: Must, Area: AreaQoS,
	Needs: []Capability{CapQoS2},
	Run: func(t *T) {
		topic := t.Topic("once")
		sub := t.Connect("sub")
		sub.Subscribe(topic, 0)
		pub := t.Connect("pub")
		const id = 0x0101
		p := &codec.Publish{Topic: []byte(topic), Payload: []byte("exactly once"), QoS: 2, PacketID: id}
		t.Setup(pub.Send(p), "sending PUBLISH")
		qosExpectAck(pub, codec.PUBREC, id, "a PUBREC for the QoS 2 PUBLISH (MQTT-4.3.3-2)", "MQTT-4.3.3-2")
		// The client re-sends the PUBLISH, as after a lost PUBREC.
		again := *p
		again.Dup = true
		t.Setup(pub.Send(&again), "re-sending PUBLISH")
		qosExpectAck(pub, codec.PUBREC, id, "a PUBREC for the re-sent PUBLISH: until the PUBREL, every PUBLISH with the identifier is acknowledged with PUBREC (MQTT-4.3.3-2)", "MQTT-4.3.3-2")
		pub.Ack(codec.PUBREL, id)
		qosExpectAck(pub, codec.PUBCOMP, id, "a PUBCOMP for the PUBREL (MQTT-4.3.3-2)", "MQTT-4.3.3-2")
		rule := "the message delivered to the subscriber exactly once (MQTT-4.3.3-2: no duplicate delivery to onward recipients)"
		qosNextPublish(sub, topic, rule)
		sub.ExpectNoPublish(topic, rule)
	},
})

var _ = Register(Spec{
	Name:  "treats a QoS 2 PUBLISH reusing a completed packet identifier as a new message",
	IDs:   []string{"MQTT-4.3.3-2"},
	Level: Must, Area: AreaQoS,
	Needs: []Capability{CapQoS2},
	Run: func(t *T) {
		topic := t.Topic("reuse2")
		sub := t.Connect("sub")
		sub.Subscribe(topic, 0)
		pub := t.Connect("pub")
		const id = 9
		for _, payload := range []string{"first", "second"} {
			_, err := pub.Conn.Publish(t.ctx, &codec.Publish{Topic: []byte(topic), Payload: []byte(payload), QoS: 2, PacketID: id}, t.Wait())
			t.Setup(err, "QoS 2 flow of PUBLISH "+payload)
		}
		rule := "both messages delivered: after its PUBCOMP, a PUBLISH with the same identifier is a new publication (MQTT-4.3.3-2)"
		for _, want := range []string{"first", "second"} {
			_, err := sub.Expect(t.ctx, t.Wait(), "PUBLISH "+want, func(r *probe.Received) bool {
				p, ok := r.Packet.(*codec.Publish)
				return ok && string(p.Topic) == topic && string(p.Payload) == want
			})
			if err != nil {
				t.Fail(rule, fmt.Sprintf("message %q: %v", want, err))
			}
		}
	},
})

var _ = Register(Spec{
	Name:  "closes the connection on a PUBREL whose fixed-header flags are not 0010",
	IDs:   []string{"MQTT-3.6.1-1"},
	Level: Must, Area: AreaQoS,
	Versions: v311,
	Run: func(t *T) {
		for _, flags := range []byte{0x0, 0x3} {
			c := t.Connect("")
			const id = 0x0202
			if t.Target.Has(CapQoS2) {
				// Put a QoS 2 message in flight so the PUBREL has
				// something to release.
				t.Setup(c.Send(&codec.Publish{Topic: []byte(t.Topic("pubrel")), Payload: []byte("x"), QoS: 2, PacketID: id}), "sending PUBLISH")
				_, err := c.Expect(t.ctx, t.Wait(), "PUBREC", probe.IsAck(codec.PUBREC, id))
				t.Setup(err, "QoS 2 flow")
			}
			t.Setup(c.SendRaw([]byte{byte(codec.PUBREL)<<4 | flags, 2, id >> 8, id & 0xff}), "sending PUBREL")
			c.ExpectClosed(t.Wait(), fmt.Sprintf("the broker treats a PUBREL with flags %04b as malformed and closes the connection (MQTT-3.6.1-1)", flags))
		}
	},
})

// ---- The broker as the sender to a subscriber ----

var _ = Register(Spec{
	Name:  "sends a QoS 1 message as a PUBLISH with QoS 1, DUP 0 and a non-zero packet identifier",
	IDs:   []string{"MQTT-4.3.2-1", "MQTT-2.3.1-1"},
	Level: Must, Area: AreaQoS,
	Needs: []Capability{CapQoS1},
	Run: func(t *T) {
		topic := t.Topic("out1")
		sub := t.Connect("sub")
		qosSubscribe(sub, topic, 1)
		t.Connect("pub").Publish(topic, "x", 1, false)
		r, p := qosNextPublish(sub, topic, "the QoS 1 message delivered to the QoS 1 subscription")
		t.Check(p.QoS == 1, "QoS 1 in the PUBLISH (MQTT-4.3.2-1)", "sent "+r.String())
		t.Check(p.PacketID != 0, "a non-zero packet identifier (MQTT-2.3.1-1)", "sent "+r.String())
		t.Check(!p.Dup, "DUP 0 on the first sending of the message (MQTT-4.3.2-1)", "sent "+r.String())
		sub.Complete(p)
	},
})

var _ = Register(Spec{
	Name:  "uses a different packet identifier for each QoS 1 message in flight",
	IDs:   []string{"MQTT-2.3.1-4", "MQTT-2.3.1-1"},
	Level: Must, Area: AreaQoS,
	Needs: []Capability{CapQoS1},
	Run: func(t *T) {
		topic := t.Topic("ids1")
		sub := t.Connect("sub")
		qosSubscribe(sub, topic, 1)
		pub := t.Connect("pub")
		const n = 5
		for i := 0; i < n; i++ {
			pub.Publish(topic, strconv.Itoa(i), 1, false)
		}
		// Nothing is acknowledged while messages keep coming, so their
		// identifiers are in use together. A broker with a small inflight
		// window stops sending: then the oldest message is acknowledged,
		// which frees its identifier and lets the next one come.
		type inflight struct {
			id      uint16
			payload string
			packet  string
		}
		var open []inflight
		got, most := 0, 0
		for got < n {
			r, err := sub.Expect(t.ctx, t.Quiet(), "PUBLISH on "+topic, probe.IsPublish(topic))
			if err != nil {
				if len(open) == 0 {
					t.CouldNotCheck("%d of %d QoS 1 messages arrived: %v", got, n, err)
				}
				sub.Ack(codec.PUBACK, open[0].id)
				open = open[1:]
				continue
			}
			p := r.Packet.(*codec.Publish)
			t.Check(p.PacketID != 0, "a non-zero packet identifier (MQTT-2.3.1-1)", "sent "+r.String())
			resent := false
			for _, o := range open {
				if o.id != p.PacketID {
					continue
				}
				if p.Dup && o.payload == string(p.Payload) {
					resent = true // the broker re-sent an unacknowledged message
					break
				}
				t.Fail("a packet identifier not used by any unacknowledged QoS 1 message (MQTT-2.3.1-4)",
					fmt.Sprintf("sent %s while %s, sent with the same identifier, was unacknowledged", r.String(), o.packet))
			}
			if resent {
				continue
			}
			open = append(open, inflight{p.PacketID, string(p.Payload), r.String()})
			most = max(most, len(open))
			got++
		}
		for _, o := range open {
			sub.Ack(codec.PUBACK, o.id)
		}
		if most < 2 {
			t.CouldNotCheck("the broker never had two unacknowledged QoS 1 messages in flight to the subscriber")
		}
		t.Note("up to %d QoS 1 messages were in flight at once", most)
	},
})

var _ = Register(Spec{
	Name:  "keeps a QoS 2 message's packet identifier in use until its PUBCOMP",
	IDs:   []string{"MQTT-2.3.1-4"},
	Level: Must, Area: AreaQoS,
	Needs: []Capability{CapQoS2},
	Run: func(t *T) {
		topic := t.Topic("ids2")
		sub := t.Connect("sub")
		qosSubscribe(sub, topic, 2)
		pub := t.Connect("pub")
		pub.Publish(topic, "a", 2, false)
		ra, a := qosNextPublish(sub, topic, "the first QoS 2 message delivered")
		sub.Ack(codec.PUBREC, a.PacketID)
		_, err := sub.Expect(t.ctx, t.Wait(), "PUBREL", probe.IsAck(codec.PUBREL, a.PacketID))
		t.Setup(err, "QoS 2 flow of the first message")
		// No PUBCOMP yet: the first message's identifier is still in use.
		pub.Publish(topic, "b", 2, false)
		rb, err := sub.Expect(t.ctx, t.Quiet(), "PUBLISH on "+topic, probe.IsPublish(topic))
		if err != nil {
			// An inflight window of one message: nothing to compare.
			sub.Ack(codec.PUBCOMP, a.PacketID)
			_, b := qosNextPublish(sub, topic, "the second QoS 2 message delivered")
			sub.Complete(b)
			t.CouldNotCheck("the broker sent the second QoS 2 message only after the first one's PUBCOMP")
		}
		b := rb.Packet.(*codec.Publish)
		t.Check(b.PacketID != a.PacketID, "a packet identifier other than that of the message awaiting PUBCOMP (MQTT-2.3.1-4)",
			fmt.Sprintf("sent %s while %s awaited its PUBCOMP", rb.String(), ra.String()))
		sub.Ack(codec.PUBCOMP, a.PacketID)
		sub.Complete(b)
	},
})

var _ = Register(Spec{
	Name:  "completes a QoS 2 delivery: PUBLISH with QoS 2 and DUP 0, PUBREL (flags 0010) for the PUBREC, no re-sent PUBLISH after it",
	IDs:   []string{"MQTT-4.3.3-1", "MQTT-2.3.1-6", "MQTT-3.6.1-1"},
	Level: Must, Area: AreaQoS,
	Needs: []Capability{CapQoS2},
	Run: func(t *T) {
		topic := t.Topic("out2")
		sub := t.Connect("sub")
		qosSubscribe(sub, topic, 2)
		t.Connect("pub").Publish(topic, "x", 2, false)
		r, p := qosNextPublish(sub, topic, "the QoS 2 message delivered to the QoS 2 subscription")
		t.Check(p.QoS == 2, "QoS 2 in the PUBLISH (MQTT-4.3.3-1)", "sent "+r.String())
		t.Check(p.PacketID != 0, "a non-zero packet identifier (MQTT-4.3.3-1)", "sent "+r.String())
		t.Check(!p.Dup, "DUP 0 on the first sending of the message (MQTT-4.3.3-1)", "sent "+r.String())
		sub.Ack(codec.PUBREC, p.PacketID)
		rel := qosExpectAck(sub, codec.PUBREL, p.PacketID, "a PUBREL in answer to the PUBREC (MQTT-4.3.3-1)", "MQTT-2.3.1-6")
		t.Check(rel.Header.Flags == 0x2, "PUBREL fixed-header flags 0010 (MQTT-3.6.1-1)", "sent "+rel.String()+fmt.Sprintf(" with flags %04b", rel.Header.Flags))
		// After its PUBREL the sender must not re-send the PUBLISH.
		sub.ExpectNoPublish(topic, "no PUBLISH of the message once its PUBREL was sent (MQTT-4.3.3-1)")
		sub.Ack(codec.PUBCOMP, p.PacketID)
	},
})

// ---- QoS of delivered messages ----

var _ = Register(Spec{
	Name:  "delivers each message at the lower of its published QoS and the granted QoS",
	IDs:   []string{"MQTT-3.8.4-6"},
	Level: Must, Area: AreaQoS,
	Needs: []Capability{CapQoS1},
	Run: func(t *T) {
		maxQoS := byte(1)
		if t.Target.Has(CapQoS2) {
			maxQoS = 2
		}
		sub := t.Connect("sub")
		pub := t.Connect("pub")
		for want := byte(0); want <= maxQoS; want++ {
			topic := t.Topic("sub" + strconv.Itoa(int(want)))
			granted := sub.Subscribe(topic, want)
			for pq := byte(0); pq <= maxQoS; pq++ {
				pub.Publish(topic, fmt.Sprintf("published at QoS %d", pq), pq, false)
				r, p := qosNextPublish(sub, topic, fmt.Sprintf("the QoS %d message delivered to the subscription granted QoS %d", pq, granted))
				exp := min(pq, granted)
				t.Check(p.QoS == exp, fmt.Sprintf("a message published at QoS %d, to a subscription granted QoS %d, delivered at QoS %d (MQTT-3.8.4-6)", pq, granted, exp),
					"sent "+r.String())
				sub.Complete(p)
			}
		}
	},
})

var _ = Register(Spec{
	Name:  "delivers a message matching overlapping subscriptions at the highest of their granted QoS",
	IDs:   []string{"MQTT-3.3.5-1"},
	Level: Must, Area: AreaQoS,
	Needs: []Capability{CapQoS1, CapWildcards},
	Run: func(t *T) {
		high := byte(1)
		if t.Target.Has(CapQoS2) {
			high = 2
		}
		topic := t.Topic("ov/a")
		sub := t.Connect("sub")
		g0 := sub.Subscribe(t.Topic("ov/#"), 0)
		g1 := sub.Subscribe(topic, high)
		if g1 <= g0 {
			t.CouldNotCheck("the overlapping subscriptions were granted QoS %d and %d: no higher QoS to respect", g0, g1)
		}
		t.Connect("pub").Publish(topic, "x", high, false)
		// The server may send one copy per matching subscription
		// (3.3.5); one of them must have the highest QoS.
		var copies []string
		for {
			// Only this message matches the client's subscriptions; its
			// topic name is another rule's business.
			r, err := sub.Expect(t.ctx, t.Wait(), "PUBLISH", probe.IsType(codec.PUBLISH))
			if err == nil && r.Err != nil {
				err = r.Err
			}
			if err != nil {
				t.Fail(fmt.Sprintf("the message delivered at QoS %d, the highest QoS granted to the matching subscriptions (MQTT-3.3.5-1)", g1),
					fmt.Sprintf("sent [%s], then: %v", strings.Join(copies, "; "), err))
			}
			p := r.Packet.(*codec.Publish)
			copies = append(copies, r.String())
			sub.Complete(p)
			if p.QoS == g1 {
				return
			}
		}
	},
})

// ---- Ordering ----

var _ = Register(Spec{
	Name:  "delivers QoS 0 messages on a topic in the order they were published",
	IDs:   []string{"MQTT-4.6.0-5", "MQTT-4.6.0-6"},
	Level: Must, Area: AreaQoS,
	Run: qosOrderSpec(0),
})

var _ = Register(Spec{
	Name:  "delivers QoS 1 messages on a topic in the order they were published",
	IDs:   []string{"MQTT-4.6.0-5", "MQTT-4.6.0-6"},
	Level: Must, Area: AreaQoS,
	Needs: []Capability{CapQoS1},
	Run:   qosOrderSpec(1),
})

var _ = Register(Spec{
	Name:  "delivers QoS 2 messages on a topic in the order they were published",
	IDs:   []string{"MQTT-4.6.0-5", "MQTT-4.6.0-6"},
	Level: Must, Area: AreaQoS,
	Needs: []Capability{CapQoS2},
	Run:   qosOrderSpec(2),
})

var _ = Register(Spec{
	Name:  "delivers QoS 1 messages queued for an offline session in the order they were published",
	IDs:   []string{"MQTT-4.6.0-6"},
	Level: Must, Area: AreaQoS,
	Needs: []Capability{CapQoS1, CapPersistentSessions},
	Run: func(t *T) {
		topic := t.Topic("queued")
		id := t.ClientID("sub")
		sub := t.Dial("sub")
		sub.MustConnect(t.ConnectPacket(id, false))
		qosSubscribe(sub, topic, 1)
		// Wait for the broker to close the connection after the
		// DISCONNECT (it SHOULD, 3.14.4), then a round trip, so that it has
		// seen the client go and queues the messages. Were one still sent
		// to the old connection, it would come back first on
		// reconnection, which changes no order.
		t.Setup(sub.Send(&codec.Disconnect{}), "sending DISCONNECT")
		_ = sub.Conn.ExpectClosed(t.ctx, t.Quiet())
		sub.Close()
		pub := t.Connect("pub")
		pub.Subscribe(t.Topic("barrier"), 0)
		var want []string
		for i := 0; i < 10; i++ {
			pub.Publish(topic, strconv.Itoa(i), 1, false)
			want = append(want, strconv.Itoa(i))
		}
		again := t.Dial("sub2")
		again.MustConnect(t.ConnectPacket(id, false))
		qosReceiveInOrder(again, topic, 1, want,
			"the QoS 1 messages queued while the client was offline delivered in the order they were published (MQTT-4.6.0-6)")
	},
})

// ---- Optional behaviour (information) ----

var _ = Register(Spec{
	Name:  "may send one copy of a message per matching subscription when subscriptions overlap",
	Level: May, Area: AreaQoS,
	Needs: []Capability{CapWildcards},
	Run: func(t *T) {
		topic := t.Topic("copies/a")
		sub := t.Connect("sub")
		sub.Subscribe(t.Topic("copies/#"), 0)
		sub.Subscribe(topic, 0)
		t.Connect("pub").Publish(topic, "x", 0, false)
		sub.ExpectPublish(topic, "the message delivered")
		if _, err := sub.NextPublish(topic, t.Quiet()); err != nil {
			t.Fail("a copy for each of the two matching subscriptions (3.3.5 allows this, or one copy)", "sent one copy")
		}
	},
})

var _ = Register(Spec{
	Name:  "may deliver a QoS 2 message onward before the publisher's PUBREL arrives",
	Level: May, Area: AreaQoS,
	Needs: []Capability{CapQoS2},
	Run: func(t *T) {
		topic := t.Topic("early")
		sub := t.Connect("sub")
		sub.Subscribe(topic, 0)
		pub := t.Connect("pub")
		const id = 3
		t.Setup(pub.Send(&codec.Publish{Topic: []byte(topic), Payload: []byte("x"), QoS: 2, PacketID: id}), "sending PUBLISH")
		_, err := pub.Expect(t.ctx, t.Wait(), "PUBREC", probe.IsAck(codec.PUBREC, id))
		t.Setup(err, "QoS 2 flow")
		_, notYet := sub.NextPublish(topic, t.Quiet())
		pub.Ack(codec.PUBREL, id)
		_, err = pub.Expect(t.ctx, t.Wait(), "PUBCOMP", probe.IsAck(codec.PUBCOMP, id))
		t.Setup(err, "QoS 2 flow")
		if notYet != nil {
			t.Fail("the message delivered to subscribers once the PUBREC is sent (figure 4.3, method A; method B waits for PUBREL)",
				"delivered it only after the PUBREL (method B)")
		}
	},
})
