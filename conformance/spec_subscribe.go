package conformance

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// This file checks SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK (MQTT
// 3.1.1 sections 3.8 to 3.11).

// subSend sends a SUBSCRIBE with packet identifier id (a fresh one when
// 0) and returns the identifier (setup).
func (c *Client) subSend(id uint16, subs ...codec.Subscription) uint16 {
	if id == 0 {
		id = c.NextID()
	}
	c.t.Setup(c.Send(&codec.Subscribe{PacketID: id, Filters: subs}), "sending SUBSCRIBE")
	return id
}

// subExpectSuback waits for the SUBACK carrying id; rule says what the
// statement under test requires, for the failure message.
func (c *Client) subExpectSuback(id uint16, rule string) (*codec.Suback, *probe.Received) {
	r, err := c.Expect(c.t.ctx, c.t.cfg.Wait, fmt.Sprintf("SUBACK id=%d", id), probe.IsAck(codec.SUBACK, id))
	if err != nil {
		c.t.Fail(rule, err.Error())
	}
	return r.Packet.(*codec.Suback), r
}

// subUnsubscribe unsubscribes from filters and requires the UNSUBACK
// (setup: for specs whose rule is not the UNSUBACK itself).
func (c *Client) subUnsubscribe(filters ...string) {
	_, err := c.Conn.Unsubscribe(c.t.ctx, c.t.cfg.Wait, filters...)
	c.t.Setup(err, "UNSUBSCRIBE "+strings.Join(filters, ", "))
}

// subMaxQoS is the highest QoS the target grants, so that publishes a
// spec makes never exceed what the broker supports.
func (t *T) subMaxQoS() byte {
	switch {
	case t.Target.Has(CapQoS2):
		return 2
	case t.Target.Has(CapQoS1):
		return 1
	}
	return 0
}

// subReliableQoS is the QoS for messages a spec must see arrive: 1 when
// the broker supports it (QoS 0 messages may be lost, MQTT 4.3.1).
func (t *T) subReliableQoS() byte { return min(t.subMaxQoS(), 1) }

// subIsClosed reports whether err says the peer closed the connection.
func subIsClosed(err error) bool {
	var ce *probe.ClosedError
	return errors.As(err, &ce) && ce.PeerClosed()
}

// subGranting returns the first SUBACK among rs that grants a
// subscription (a return code other than 0x80), if any.
func subGranting(rs []*probe.Received) *probe.Received {
	for _, r := range rs {
		if ack, ok := r.Packet.(*codec.Suback); ok {
			for _, rc := range ack.ReturnCodes {
				if rc != codec.SubackFailure {
					return r
				}
			}
		}
	}
	return nil
}

// subExpectNotGranted sends a SUBSCRIBE for filter on a fresh connection
// and requires that the broker does not grant it: closing the connection
// and answering with return code 0x80 are both allowed. It returns which
// of the two happened.
func (t *T) subExpectNotGranted(filter []byte, rule string) string {
	c := t.Connect("")
	id := c.subSend(0, codec.Subscription{Filter: filter})
	what := fmt.Sprintf("%q", filter)
	r, err := c.Expect(t.ctx, t.Wait(), fmt.Sprintf("SUBACK id=%d", id), probe.IsAck(codec.SUBACK, id))
	if err != nil {
		if subIsClosed(err) {
			if g := subGranting(c.Pending()); g != nil {
				t.Fail(rule, "granted the filter "+what+" ("+g.String()+") before closing")
			}
			return "closed the connection"
		}
		t.Fail(rule, "neither refused the filter "+what+" with 0x80 nor closed the connection: "+err.Error())
	}
	ack := r.Packet.(*codec.Suback)
	if len(ack.ReturnCodes) == 1 && ack.ReturnCodes[0] == codec.SubackFailure {
		return "answered 0x80"
	}
	t.Fail(rule, "granted the filter "+what+": "+r.String())
	return ""
}

// subExpectClosedUngranted requires the broker to close c within Wait
// without having granted a subscription first.
func (c *Client) subExpectClosedUngranted(rule string) {
	if err := c.Conn.ExpectClosed(c.t.ctx, c.t.cfg.Wait); err != nil {
		c.t.Fail(rule, err.Error())
	}
	if g := subGranting(c.Pending()); g != nil {
		c.t.Fail(rule, "processed the packet: sent "+g.String()+" before closing")
	}
}

var _ = Register(Spec{
	Name:  "answers every SUBSCRIBE with a SUBACK carrying its packet identifier",
	IDs:   []string{"MQTT-3.8.4-1", "MQTT-3.8.4-2", "MQTT-2.3.1-7"},
	Level: Must, Area: AreaSubscribe,
	Run: func(t *T) {
		c := t.Connect("")
		// Several SUBSCRIBEs back to back, with identifiers at both ends
		// of the range: each must get its own SUBACK, in any order.
		ids := []uint16{1, 0x7a3c, 0xffff}
		want := map[uint16]bool{}
		for i, id := range ids {
			c.subSend(id, codec.Subscription{Filter: []byte(t.Topic(fmt.Sprintf("s%d", i)))})
			want[id] = true
		}
		for range ids {
			r, err := c.Expect(t.ctx, t.Wait(), "SUBACK", probe.IsType(codec.SUBACK))
			if err != nil {
				t.Fail(fmt.Sprintf("a SUBACK for each of the SUBSCRIBEs with ids %v (MQTT-3.8.4-1)", ids), err.Error())
			}
			ack, ok := r.Packet.(*codec.Suback)
			t.Check(ok, "a well-formed SUBACK", "sent "+r.String())
			t.Check(want[ack.PacketID], fmt.Sprintf("each SUBACK carries the packet identifier of its SUBSCRIBE, one of %v not yet answered (MQTT-3.8.4-2, MQTT-2.3.1-7)", ids),
				"sent "+r.String())
			delete(want, ack.PacketID)
		}
	},
})

var _ = Register(Spec{
	Name:  "answers every UNSUBSCRIBE with an UNSUBACK carrying its packet identifier",
	IDs:   []string{"MQTT-3.10.4-4", "MQTT-2.3.1-7"},
	Level: Must, Area: AreaSubscribe,
	Run: func(t *T) {
		c := t.Connect("")
		ids := []uint16{1, 0x5be1, 0xffff}
		want := map[uint16]bool{}
		for i, id := range ids {
			f := t.Topic(fmt.Sprintf("u%d", i))
			c.Subscribe(f, 0)
			t.Setup(c.Send(&codec.Unsubscribe{PacketID: id, Filters: [][]byte{[]byte(f)}}), "sending UNSUBSCRIBE")
			want[id] = true
		}
		for range ids {
			r, err := c.Expect(t.ctx, t.Wait(), "UNSUBACK", probe.IsType(codec.UNSUBACK))
			if err != nil {
				t.Fail(fmt.Sprintf("an UNSUBACK for each of the UNSUBSCRIBEs with ids %v (MQTT-3.10.4-4)", ids), err.Error())
			}
			ack, ok := r.Packet.(*codec.Unsuback)
			t.Check(ok, "a well-formed UNSUBACK", "sent "+r.String())
			t.Check(want[ack.PacketID], fmt.Sprintf("each UNSUBACK carries the packet identifier of its UNSUBSCRIBE, one of %v not yet answered (MQTT-3.10.4-4, MQTT-2.3.1-7)", ids),
				"sent "+r.String())
			delete(want, ack.PacketID)
		}
	},
})

var _ = Register(Spec{
	Name:  "closes the connection on a SUBSCRIBE whose fixed-header flags are not 0010",
	IDs:   []string{"MQTT-3.8.1-1"},
	Level: Must, Area: AreaSubscribe,
	// MQTT 3.1 let a re-sent SUBSCRIBE carry DUP=1.
	Versions: v311,
	Run: func(t *T) {
		for _, flags := range []byte{0x0, 0x3, 0xa} {
			c := t.Connect("")
			b, err := (&codec.Subscribe{PacketID: c.NextID(), Filters: []codec.Subscription{{Filter: []byte(t.Topic("flags"))}}}).Append(nil, t.Version())
			t.Setup(err, "encoding SUBSCRIBE")
			b[0] = byte(codec.SUBSCRIBE)<<4 | flags
			t.Setup(c.SendRaw(b), "sending SUBSCRIBE")
			c.subExpectClosedUngranted(fmt.Sprintf("the broker treats a SUBSCRIBE with flags %04b as malformed and closes the connection", flags))
		}
	},
})

var _ = Register(Spec{
	Name:  "closes the connection on an UNSUBSCRIBE whose fixed-header flags are not 0010",
	IDs:   []string{"MQTT-3.10.1-1"},
	Level: Must, Area: AreaSubscribe,
	Versions: v311,
	Run: func(t *T) {
		for _, flags := range []byte{0x0, 0x3, 0xa} {
			topic := t.Topic(fmt.Sprintf("unsub-flags-%d", flags))
			c := t.Connect("")
			c.Subscribe(topic, 0)
			b, err := (&codec.Unsubscribe{PacketID: c.NextID(), Filters: [][]byte{[]byte(topic)}}).Append(nil, t.Version())
			t.Setup(err, "encoding UNSUBSCRIBE")
			b[0] = byte(codec.UNSUBSCRIBE)<<4 | flags
			t.Setup(c.SendRaw(b), "sending UNSUBSCRIBE")
			rule := fmt.Sprintf("the broker treats an UNSUBSCRIBE with flags %04b as malformed and closes the connection", flags)
			if err := c.Conn.ExpectClosed(t.ctx, t.Wait()); err != nil {
				t.Fail(rule, err.Error())
			}
			for _, r := range c.Pending() {
				if r.Type() == codec.UNSUBACK {
					t.Fail(rule, "processed the packet: sent "+r.String()+" before closing")
				}
			}
		}
	},
})

var _ = Register(Spec{
	Name:  "closes the connection on a SUBSCRIBE with reserved option bits set or QoS 3",
	IDs:   []string{"MQTT-3.8.3-4"},
	Level: Must, Area: AreaSubscribe,
	Versions: v311,
	Run: func(t *T) {
		// QoS 3; bit 2 (MQTT 5's No Local); bit 7.
		for _, opts := range []byte{0x03, 0x04, 0x81} {
			c := t.Connect("")
			c.subSend(0, codec.Subscription{Filter: []byte(t.Topic("opts")), Options: opts})
			c.subExpectClosedUngranted(fmt.Sprintf("the broker treats a SUBSCRIBE whose requested QoS byte is 0x%02x as malformed and closes the connection", opts))
		}
	},
})

var _ = Register(Spec{
	Name:  "does not grant topic filters with a misplaced wildcard",
	IDs:   []string{"MQTT-4.7.1-2", "MQTT-4.7.1-3"},
	Level: Must, Area: AreaSubscribe,
	// MQTT 3.1 has no failure return code.
	Versions: v311,
	Run: func(t *T) {
		// The specification's own invalid examples, under a unique
		// prefix, then a few more.
		cases := []struct{ filter, id string }{
			{"sport/tennis#", "MQTT-4.7.1-2"},
			{"sport/tennis/#/ranking", "MQTT-4.7.1-2"},
			{"sport#", "MQTT-4.7.1-2"},
			{"sport/##", "MQTT-4.7.1-2"},
			{"sport+", "MQTT-4.7.1-3"},
			{"sport/+tennis", "MQTT-4.7.1-3"},
			{"sport/ten+nis/player1", "MQTT-4.7.1-3"},
			{"sport/++", "MQTT-4.7.1-3"},
		}
		var seen []string
		for _, tc := range cases {
			f := t.Topic(tc.filter)
			how := t.subExpectNotGranted([]byte(f), fmt.Sprintf("the invalid filter %q is not granted: the broker closes the connection or answers 0x80 (%s)", f, tc.id))
			seen = append(seen, fmt.Sprintf("%q: %s", tc.filter, how))
		}
		t.Note("reactions: %s", strings.Join(seen, "; "))
	},
})

var _ = Register(Spec{
	Name:  "refuses wildcard filters unless it delivers on them",
	IDs:   []string{"MQTT-3.8.3-2"},
	Level: Must, Area: AreaSubscribe,
	Run: func(t *T) {
		// A broker without wildcard support must refuse wildcard
		// filters. Seen from outside: a granted wildcard filter works, or
		// the broker refused it.
		q := t.subReliableQoS()
		for i, tc := range []struct{ filter, topic string }{
			{t.Topic("w/+/x"), t.Topic("w/a/x")},
			{t.Topic("w/#"), t.Topic("w/b/c")},
		} {
			c := t.Connect("")
			id := c.subSend(0, codec.Subscription{Filter: []byte(tc.filter), Options: q})
			r, err := c.Expect(t.ctx, t.Wait(), fmt.Sprintf("SUBACK id=%d", id), probe.IsAck(codec.SUBACK, id))
			if err != nil {
				if subIsClosed(err) && subGranting(c.Pending()) == nil {
					t.Note("%q: closed the connection (no wildcard support)", tc.filter)
					continue
				}
				t.CouldNotCheck("SUBSCRIBE %s: %v", tc.filter, err)
			}
			ack := r.Packet.(*codec.Suback)
			if len(ack.ReturnCodes) != 1 {
				t.CouldNotCheck("SUBSCRIBE %s: SUBACK with %d return codes", tc.filter, len(ack.ReturnCodes))
			}
			if ack.ReturnCodes[0] == codec.SubackFailure {
				t.Note("%q: refused with 0x80 (no wildcard support)", tc.filter)
				continue
			}
			p := t.Connect(fmt.Sprintf("pub%d", i))
			p.Publish(tc.topic, "w", q, false)
			got, err := c.NextPublish(tc.topic, t.Wait())
			if err != nil {
				t.Fail(fmt.Sprintf("a broker that grants the wildcard filter %q supports it: the message on %q is delivered (else it must refuse the filter)", tc.filter, tc.topic),
					"granted it ("+r.String()+") but "+err.Error())
			}
			c.Complete(got)
		}
	},
})

var _ = Register(Spec{
	Name:  "supports topic filters with wildcards",
	Level: Should, Area: AreaSubscribe,
	Run: func(t *T) {
		c := t.Connect("")
		ack, err := c.Conn.Subscribe(t.ctx, t.Wait(), codec.Subscription{Filter: []byte(t.Topic("+/#"))})
		t.Setup(err, "SUBSCRIBE")
		t.Check(len(ack.ReturnCodes) == 1 && ack.ReturnCodes[0] != codec.SubackFailure,
			"a Server SHOULD support topic filters with wildcards (3.8.3)", fmt.Sprintf("refused the filter: return codes %x", ack.ReturnCodes))
	},
})

var _ = Register(Spec{
	Name:  "replaces a subscription to an identical filter instead of adding one",
	IDs:   []string{"MQTT-3.8.4-3"},
	Level: Must, Area: AreaSubscribe,
	Run: func(t *T) {
		topic := t.Topic("resub")
		q := t.subReliableQoS()
		c := t.Connect("sub")
		c.Subscribe(topic, 0)
		g := c.Subscribe(topic, q)
		p := t.Connect("pub")
		p.Publish(topic, "once", q, false)
		got := c.ExpectPublish(topic, "the message on the re-subscribed topic is delivered")
		c.Complete(got)
		c.ExpectNoPublish(topic, "one copy of the message: re-subscribing to an identical filter replaces the subscription, it does not add a second one")
		want := min(q, g)
		t.Check(got.QoS == want, fmt.Sprintf("the new subscription (granted QoS %d) replaces the old one (QoS 0): a QoS %d message arrives at QoS %d", g, q, want),
			fmt.Sprintf("it arrived at QoS %d", got.QoS))
	},
})

var _ = Register(Spec{
	Name:  "re-sends retained messages when a subscription is replaced",
	IDs:   []string{"MQTT-3.8.4-3"},
	Level: Must, Area: AreaSubscribe,
	Needs: []Capability{CapRetain},
	Run: func(t *T) {
		topic := t.Topic("resub-retained")
		p := t.Connect("pub")
		p.Publish(topic, "kept", t.subReliableQoS(), true)
		c := t.Connect("sub")
		c.Subscribe(topic, 0)
		first, err := c.NextPublish(topic, t.Wait())
		t.Setup(err, "the retained message on the first subscription")
		c.Complete(first)
		id := c.subSend(0, codec.Subscription{Filter: []byte(topic)})
		c.subExpectSuback(id, "a SUBACK for the second SUBSCRIBE")
		again, err := c.NextPublish(topic, t.Wait())
		if err != nil {
			t.Fail("the retained message matching the filter is sent again when the subscription is replaced", err.Error())
		}
		c.Complete(again)
		t.Check(string(again.Payload) == "kept", "the retained message \"kept\" re-sent", fmt.Sprintf("sent payload %q", again.Payload))
	},
})

var _ = Register(Spec{
	Name:  "answers a SUBSCRIBE with several filters with one SUBACK holding a return code per filter, in order",
	IDs:   []string{"MQTT-3.8.4-4", "MQTT-3.8.4-5", "MQTT-3.9.3-1"},
	Level: Must, Area: AreaSubscribe,
	Run: func(t *T) {
		c := t.Connect("sub")
		topics := []string{t.Topic("m0"), t.Topic("m1"), t.Topic("m2")}
		subs := make([]codec.Subscription, len(topics))
		for i, tp := range topics {
			subs[i] = codec.Subscription{Filter: []byte(tp), Options: byte(i)}
		}
		id := c.subSend(0, subs...)
		ack, r := c.subExpectSuback(id, "one SUBACK for the SUBSCRIBE with three filters (MQTT-3.8.4-4)")
		t.Check(len(ack.ReturnCodes) == len(topics), "a return code for each of the 3 filters (MQTT-3.8.4-5)", "sent "+r.String())
		// Each filter was subscribed as if on its own, and its return
		// code is the QoS granted to it: a message published at QoS pq on
		// filter i arrives at QoS min(pq, code i) (MQTT-3.8.4-6), which
		// shows the codes are in filter order.
		pq := t.subMaxQoS()
		p := t.Connect("pub")
		for i, tp := range topics {
			if ack.ReturnCodes[i] == codec.SubackFailure {
				continue
			}
			p.Publish(tp, fmt.Sprintf("m%d", i), pq, false)
		}
		for i, tp := range topics {
			rc := ack.ReturnCodes[i]
			if rc == codec.SubackFailure {
				t.Note("filter %d (%s) was refused", i, tp)
				continue
			}
			got, err := c.NextPublish(tp, t.Wait())
			if err != nil {
				t.Fail(fmt.Sprintf("filter %d of the SUBSCRIBE (%s, granted 0x%02x) is subscribed as if sent alone (MQTT-3.8.4-4)", i, tp, rc), err.Error())
			}
			c.Complete(got)
			t.Check(got.QoS == min(pq, rc), fmt.Sprintf("return code %d (0x%02x) is the QoS granted to filter %d, %s: return codes follow the filter order (MQTT-3.9.3-1), so a QoS %d message on it arrives at QoS %d",
				i, rc, i, tp, pq, min(pq, rc)), fmt.Sprintf("it arrived at QoS %d (SUBACK return codes %x)", got.QoS, ack.ReturnCodes))
		}
		if err := c.ExpectNothing(t.ctx, 0, probe.IsType(codec.SUBACK)); err != nil {
			t.Fail("a single SUBACK for the SUBSCRIBE with three filters (MQTT-3.8.4-4)", err.Error())
		}
	},
})

var _ = Register(Spec{
	Name:  "uses only the SUBACK return codes 0x00, 0x01, 0x02 and 0x80",
	IDs:   []string{"MQTT-3.9.3-2"},
	Level: Must, Area: AreaSubscribe,
	Run: func(t *T) {
		c := t.Connect("")
		for q := byte(0); q <= 2; q++ {
			id := c.subSend(0, codec.Subscription{Filter: []byte(t.Topic(fmt.Sprintf("rc%d", q))), Options: q})
			ack, r := c.subExpectSuback(id, "a SUBACK")
			for _, rc := range ack.ReturnCodes {
				t.Check(rc <= 2 || rc == codec.SubackFailure, fmt.Sprintf("a return code of 0x00, 0x01, 0x02 or 0x80 for a QoS %d subscription", q), "sent "+r.String())
			}
		}
	},
})

var _ = Register(Spec{
	Name:  "stops sending messages on a filter after UNSUBSCRIBE",
	IDs:   []string{"MQTT-3.10.4-2"},
	Level: Must, Area: AreaSubscribe,
	Run: func(t *T) {
		gone, kept := t.Topic("gone"), t.Topic("kept")
		q := t.subReliableQoS()
		c := t.Connect("sub")
		c.Subscribe(gone, q)
		c.Subscribe(kept, q)
		c.subUnsubscribe(gone)
		p := t.Connect("pub")
		p.Publish(gone, "after unsubscribe", q, false)
		p.Publish(kept, "control", q, false)
		got, err := c.NextPublish(kept, t.Wait())
		t.Setup(err, "the message on the topic still subscribed")
		c.Complete(got)
		c.ExpectNoPublish(gone, "no message on "+gone+" after its subscription was deleted by UNSUBSCRIBE")
	},
})

var _ = Register(Spec{
	Name:  "deletes only the subscription whose filter equals the UNSUBSCRIBE filter character for character",
	IDs:   []string{"MQTT-3.10.4-1"},
	Level: Must, Area: AreaSubscribe,
	Run: func(t *T) {
		topic := t.Topic("lit/a")
		q := t.subReliableQoS()
		c := t.Connect("sub")
		c.Subscribe(topic, q)
		// Filters that match the subscription's filter or topic in some
		// sense but are not identical to it: none may delete it.
		others := []string{t.Topic("lit/A"), t.Topic("lit/a/"), t.Topic("lit//a")}
		if t.Target.Has(CapWildcards) {
			for _, w := range []string{t.Topic("lit/+"), t.Topic("lit/#")} {
				c.Subscribe(w, q)
				others = append(others, w)
			}
		}
		for _, o := range others {
			c.subUnsubscribe(o)
		}
		p := t.Connect("pub")
		p.Publish(topic, "still subscribed", q, false)
		got, err := c.NextPublish(topic, t.Wait())
		if err != nil {
			t.Fail(fmt.Sprintf("the subscription to %s survives UNSUBSCRIBE of %s: filters are compared character by character", topic, strings.Join(others, ", ")), err.Error())
		}
		c.Complete(got)
	},
})

var _ = Register(Spec{
	Name:  "completes a QoS 2 delivery it started after the subscription is deleted",
	IDs:   []string{"MQTT-3.10.4-3"},
	Level: Must, Area: AreaSubscribe,
	Needs: []Capability{CapQoS2},
	Run: func(t *T) {
		topic := t.Topic("inflight2")
		c := t.Connect("sub")
		if g := c.Subscribe(topic, 2); g != 2 {
			t.CouldNotCheck("the QoS 2 subscription was granted QoS %d", g)
		}
		p := t.Connect("pub")
		p.Publish(topic, "in flight", 2, false)
		got, err := c.NextPublish(topic, t.Wait())
		t.Setup(err, "the QoS 2 message")
		if got.QoS != 2 {
			t.CouldNotCheck("the message arrived at QoS %d", got.QoS)
		}
		c.subUnsubscribe(topic)
		c.Ack(codec.PUBREC, got.PacketID)
		if _, err := c.Expect(t.ctx, t.Wait(), fmt.Sprintf("PUBREL id=%d", got.PacketID), probe.IsAck(codec.PUBREL, got.PacketID)); err != nil {
			t.Fail(fmt.Sprintf("the broker completes the QoS 2 delivery it had started: PUBREL answers the PUBREC id=%d sent after the UNSUBSCRIBE", got.PacketID), err.Error())
		}
		c.Ack(codec.PUBCOMP, got.PacketID)
	},
})

var _ = Register(Spec{
	Name:  "completes a QoS 1 delivery it started after the subscription is deleted",
	IDs:   []string{"MQTT-3.10.4-3"},
	Level: Must, Area: AreaSubscribe,
	Needs: []Capability{CapQoS1, CapPersistentSessions},
	Run: func(t *T) {
		topic := t.Topic("inflight1")
		c := t.Dial("sub")
		id := t.ClientID("sub")
		c.MustConnect(t.ConnectPacket(id, false))
		if g := c.Subscribe(topic, 1); g < 1 {
			t.CouldNotCheck("the QoS 1 subscription was granted QoS %d", g)
		}
		p := t.Connect("pub")
		p.Publish(topic, "in flight", 1, false)
		got, err := c.NextPublish(topic, t.Wait())
		t.Setup(err, "the QoS 1 message")
		if got.QoS != 1 {
			t.CouldNotCheck("the message arrived at QoS %d", got.QoS)
		}
		// Delete the subscription, leave the message unacknowledged and
		// drop the connection: the delivery is completed on reconnection
		// (MQTT-4.4.0-1).
		c.subUnsubscribe(topic)
		c.Close()
		r := t.Dial("sub-again")
		r.MustConnect(t.ConnectPacket(id, false))
		again, err := r.NextPublish(topic, t.Wait())
		if err != nil {
			t.Fail(fmt.Sprintf("the broker completes the QoS 1 delivery it had started: the unacknowledged PUBLISH id=%d is re-sent on reconnection although its subscription was deleted", got.PacketID), err.Error())
		}
		r.Complete(again)
		t.Check(again.PacketID == got.PacketID, fmt.Sprintf("the re-sent PUBLISH keeps packet identifier %d", got.PacketID), fmt.Sprintf("it has id %d", again.PacketID))
	},
})

var _ = Register(Spec{
	Name:  "answers an UNSUBSCRIBE that deletes nothing with an UNSUBACK",
	IDs:   []string{"MQTT-3.10.4-5"},
	Level: Must, Area: AreaSubscribe,
	Run: func(t *T) {
		c := t.Connect("")
		id := c.NextID()
		t.Setup(c.Send(&codec.Unsubscribe{PacketID: id, Filters: [][]byte{[]byte(t.Topic("never"))}}), "sending UNSUBSCRIBE")
		if _, err := c.Expect(t.ctx, t.Wait(), fmt.Sprintf("UNSUBACK id=%d", id), probe.IsAck(codec.UNSUBACK, id)); err != nil {
			t.Fail("an UNSUBACK even though no subscription matched the filter", err.Error())
		}
	},
})

var _ = Register(Spec{
	Name:  "deletes every filter of an UNSUBSCRIBE with several filters and answers with one UNSUBACK",
	IDs:   []string{"MQTT-3.10.4-6"},
	Level: Must, Area: AreaSubscribe,
	Run: func(t *T) {
		q := t.subReliableQoS()
		gone := []string{t.Topic("x0"), t.Topic("x1"), t.Topic("x2")}
		kept := t.Topic("kept")
		c := t.Connect("sub")
		for _, g := range gone {
			c.Subscribe(g, q)
		}
		c.Subscribe(kept, q)
		id := c.NextID()
		fs := make([][]byte, len(gone))
		for i, g := range gone {
			fs[i] = []byte(g)
		}
		t.Setup(c.Send(&codec.Unsubscribe{PacketID: id, Filters: fs}), "sending UNSUBSCRIBE")
		if _, err := c.Expect(t.ctx, t.Wait(), fmt.Sprintf("UNSUBACK id=%d", id), probe.IsAck(codec.UNSUBACK, id)); err != nil {
			t.Fail("one UNSUBACK for the UNSUBSCRIBE with three filters", err.Error())
		}
		p := t.Connect("pub")
		for _, g := range gone {
			p.Publish(g, "after unsubscribe", q, false)
		}
		p.Publish(kept, "control", q, false)
		got, err := c.NextPublish(kept, t.Wait())
		t.Setup(err, "the message on the topic still subscribed")
		c.Complete(got)
		isGone := func(r *probe.Received) bool {
			if r.Type() == codec.UNSUBACK {
				return true
			}
			p, ok := r.Packet.(*codec.Publish)
			if !ok {
				return false
			}
			for _, g := range gone {
				if string(p.Topic) == g {
					return true
				}
			}
			return false
		}
		if err := c.ExpectNothing(t.ctx, t.Quiet(), isGone); err != nil {
			t.Fail("every filter of the UNSUBSCRIBE is deleted, as if each came in its own UNSUBSCRIBE, and a single UNSUBACK answers them", err.Error())
		}
	},
})
