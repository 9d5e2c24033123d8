package conformance

import (
	"fmt"
	"strings"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// This file checks topic names, topic filters and matching (MQTT 3.1.1
// section 4.7).

// topCase is one subscription of a matching table: a filter and the
// published topics it must receive; every other published topic it must
// not. Both are relative to the spec's unique prefix, joined with "/".
type topCase struct {
	filter string
	match  []string
}

// topIsPublishIn matches a PUBLISH whose topic is in set.
func topIsPublishIn(set map[string]bool) func(*probe.Received) bool {
	return func(r *probe.Received) bool {
		p, ok := r.Packet.(*codec.Publish)
		return ok && set[string(p.Topic)]
	}
}

// topRunTable subscribes one connection per case, publishes every topic
// once, then requires each connection to receive exactly the topics its
// filter matches. rule names the source of the cases for messages.
func (t *T) topRunTable(cases []topCase, published []string, rule string) {
	full := func(s string) string { return t.Topic(s) }
	q := t.subReliableQoS()
	subs := make([]*Client, len(cases))
	for i, tc := range cases {
		subs[i] = t.Connect(fmt.Sprintf("f%d", i))
		subs[i].Subscribe(full(tc.filter), q)
	}
	p := t.Connect("pub")
	for _, tp := range published {
		p.Publish(full(tp), tp, q, false)
	}
	for i, tc := range cases {
		for _, m := range tc.match {
			got, err := subs[i].NextPublish(full(m), t.Wait())
			if err != nil {
				t.Fail(fmt.Sprintf("the filter %q matches the topic %q (%s)", tc.filter, m, rule), err.Error())
			}
			subs[i].Complete(got)
		}
	}
	// Everything that should have arrived has; one quiet window for all
	// connections covers what must not.
	for i, tc := range cases {
		forbidden := map[string]bool{}
		for _, tp := range published {
			forbidden[full(tp)] = true
		}
		for _, m := range tc.match {
			delete(forbidden, full(m))
		}
		wait := t.Quiet()
		if i > 0 {
			wait = 0
		}
		if err := subs[i].ExpectNothing(t.ctx, wait, topIsPublishIn(forbidden)); err != nil {
			t.Fail(fmt.Sprintf("the filter %q receives only %q of the published topics (%s); the prefix %s/ is added to all", tc.filter, tc.match, rule, t.prefix), err.Error())
		}
	}
}

var _ = Register(Spec{
	Name:  "matches the multi-level wildcard as in the specification's examples",
	IDs:   []string{"MQTT-4.5.0-1", "MQTT-3.3.2-3"},
	Level: Must, Area: AreaTopics,
	Needs: []Capability{CapWildcards},
	Run: func(t *T) {
		published := []string{"sport", "sports", "sport/tennis/player1", "sport/tennis/player1/ranking",
			"sport/tennis/player1/score/wimbledon", "sport/tennis/player10", "sport/tennis/player2"}
		t.topRunTable([]topCase{
			{"sport/tennis/player1/#", []string{"sport/tennis/player1", "sport/tennis/player1/ranking", "sport/tennis/player1/score/wimbledon"}},
			{"sport/#", []string{"sport", "sport/tennis/player1", "sport/tennis/player1/ranking",
				"sport/tennis/player1/score/wimbledon", "sport/tennis/player10", "sport/tennis/player2"}},
			{"#", published},
		}, published, "MQTT 3.1.1 section 4.7.1.2")
	},
})

var _ = Register(Spec{
	Name:  "matches the single-level wildcard as in the specification's examples",
	IDs:   []string{"MQTT-4.5.0-1", "MQTT-3.3.2-3"},
	Level: Must, Area: AreaTopics,
	Needs: []Capability{CapWildcards},
	Run: func(t *T) {
		published := []string{"sport", "sport/", "sport/tennis", "sport/tennis/player1", "sport/tennis/player2",
			"sport/tennis/player1/ranking", "/finance", "finance"}
		t.topRunTable([]topCase{
			{"sport/tennis/+", []string{"sport/tennis/player1", "sport/tennis/player2"}},
			{"sport/+", []string{"sport/", "sport/tennis"}},
			{"+/+", []string{"sport/", "sport/tennis", "/finance"}},
			{"/+", []string{"/finance"}},
			{"+", []string{"sport", "finance"}},
			{"+/tennis/#", []string{"sport/tennis", "sport/tennis/player1", "sport/tennis/player2", "sport/tennis/player1/ranking"}},
		}, published, "MQTT 3.1.1 sections 4.7.1.1 and 4.7.1.3")
	},
})

var _ = Register(Spec{
	Name:  "never delivers a PUBLISH whose topic name holds a wildcard character",
	IDs:   []string{"MQTT-4.7.1-1"},
	Level: Must, Area: AreaTopics,
	Needs: []Capability{CapWildcards},
	Run: func(t *T) {
		w := t.Connect("watch")
		q := t.subReliableQoS()
		w.Subscribe(t.Topic("#"), q)
		bad := map[string]bool{}
		for _, s := range []string{"a/+", "a/#", "a+", "#b", "a/+/b"} {
			tp := t.Topic(s)
			bad[tp] = true
			// The broker may close the connection (a protocol violation);
			// what it must not do is pass the topic name on.
			c := t.Connect("")
			t.Setup(c.Send(&codec.Publish{Topic: []byte(tp), Payload: []byte("wildcard")}), "sending PUBLISH")
		}
		ok := t.Topic("ok")
		t.Connect("pub").Publish(ok, "control", q, false)
		got, err := w.NextPublish(ok, t.Wait())
		t.Setup(err, "the control message")
		w.Complete(got)
		if err := w.ExpectNothing(t.ctx, t.Quiet(), topIsPublishIn(bad)); err != nil {
			t.Fail("no topic name with '+' or '#' is forwarded: wildcards are never part of a topic name", err.Error())
		}
	},
})

// topDollarQuiet is the end of the $-topic checks: watchers, subscribed
// to filters that start with a wildcard, must have received no message
// on a topic name beginning with '$'.
func (t *T) topDollarQuiet(watchers []*Client, filters []string) {
	isDollar := func(r *probe.Received) bool {
		p, ok := r.Packet.(*codec.Publish)
		return ok && strings.HasPrefix(string(p.Topic), "$")
	}
	for i, w := range watchers {
		wait := t.Quiet()
		if i > 0 {
			wait = 0
		}
		if err := w.ExpectNothing(t.ctx, wait, isDollar); err != nil {
			t.Fail(fmt.Sprintf("the filter %q, which starts with a wildcard, matches no topic name beginning with '$'", filters[i]), err.Error())
		}
	}
}

var _ = Register(Spec{
	Name:  "does not match topic names starting with $ to filters starting with # or + (client-published $ topic)",
	IDs:   []string{"MQTT-4.7.2-1"},
	Level: Must, Area: AreaTopics,
	Versions: v311,
	Needs:    []Capability{CapWildcards, CapDollarPublish},
	Run: func(t *T) {
		topic := "$" + t.Topic("dollar")
		level := topic[strings.LastIndexByte(topic, '/')+1:]
		filters := []string{"#", "+/" + level}
		watchers := make([]*Client, len(filters))
		for i, f := range filters {
			watchers[i] = t.Connect(fmt.Sprintf("w%d", i))
			watchers[i].Subscribe(f, 0)
		}
		ctl := t.Connect("control")
		ctl.Subscribe("$"+t.Topic("#"), 0)
		t.Connect("pub").Publish(topic, "dollar", t.subReliableQoS(), false)
		_, err := ctl.NextPublish(topic, t.Wait())
		t.Setup(err, "the message on "+topic+" for the subscriber to "+"$"+t.Topic("#"))
		t.topDollarQuiet(watchers, filters)
	},
})

var _ = Register(Spec{
	Name:  "does not match topic names starting with $ to filters starting with # or + ($SYS topics)",
	IDs:   []string{"MQTT-4.7.2-1"},
	Level: Must, Area: AreaTopics,
	Versions: v311,
	Needs:    []Capability{CapWildcards, CapSys},
	Run: func(t *T) {
		ctl := t.Connect("control")
		ctl.Subscribe("$SYS/#", 0)
		r, err := ctl.Expect(t.ctx, t.Wait(), "a $SYS message", func(r *probe.Received) bool {
			p, ok := r.Packet.(*codec.Publish)
			return ok && strings.HasPrefix(string(p.Topic), "$SYS/")
		})
		t.Setup(err, "learning a $SYS topic name")
		sys := string(r.Packet.(*codec.Publish).Topic)
		filters := []string{"#", "+" + strings.TrimPrefix(sys, "$SYS")}
		watchers := make([]*Client, len(filters))
		for i, f := range filters {
			watchers[i] = t.Connect(fmt.Sprintf("w%d", i))
			watchers[i].Subscribe(f, 0)
		}
		// Retained $SYS messages would come with the SUBACK; live ones
		// with the next update, which the control subscriber sees.
		ctl.Drain()
		// Brokers update $SYS every few seconds at most; a quiet window
		// is as long as the spec waits for a live one.
		if _, err := ctl.Expect(t.ctx, t.Quiet(), "a live $SYS message", func(r *probe.Received) bool {
			p, ok := r.Packet.(*codec.Publish)
			return ok && !p.Retain && strings.HasPrefix(string(p.Topic), "$SYS/")
		}); err != nil {
			t.Note("no live $SYS message within %v: judged on retained $SYS messages only", t.Quiet())
		}
		t.topDollarQuiet(watchers, filters)
	},
})

var _ = Register(Spec{
	Name:  "does not grant a zero-length topic filter",
	IDs:   []string{"MQTT-4.7.3-1"},
	Level: Must, Area: AreaTopics,
	Versions: v311,
	Run: func(t *T) {
		how := t.subExpectNotGranted(nil, "a zero-length topic filter is not granted: the broker closes the connection or answers 0x80")
		t.Note("the broker %s", how)
	},
})

var _ = Register(Spec{
	Name:  "closes the connection on a PUBLISH with a zero-length topic name",
	IDs:   []string{"MQTT-4.7.3-1"},
	Level: Must, Area: AreaTopics,
	Versions: v311,
	Run: func(t *T) {
		// A zero-length topic name is a protocol violation, and nothing
		// states otherwise: the connection is closed (MQTT 4.8).
		c := t.Connect("")
		id := c.NextID()
		t.Setup(c.Send(&codec.Publish{Topic: nil, Payload: []byte("no topic"), QoS: 1, PacketID: id}), "sending PUBLISH")
		if err := c.Conn.ExpectClosed(t.ctx, t.Wait()); err != nil {
			t.Fail("the broker closes the connection on a PUBLISH whose topic name is empty", err.Error())
		}
		for _, r := range c.Pending() {
			if r.Type() == codec.PUBACK {
				t.Fail("the broker closes the connection on a PUBLISH whose topic name is empty, without accepting it", "acknowledged it: "+r.String())
			}
		}
	},
})

var _ = Register(Spec{
	Name:  "never sends a topic name containing U+0000",
	IDs:   []string{"MQTT-4.7.3-2"},
	Level: Must, Area: AreaTopics,
	Versions: v311,
	Needs:    []Capability{CapWildcards},
	Run: func(t *T) {
		// A receiver MAY close the connection on U+0000 (MQTT-1.5.3-2) or
		// drop the message; passing the topic name on would make the
		// broker send one itself.
		w := t.Connect("watch")
		q := t.subReliableQoS()
		w.Subscribe(t.Topic("#"), q)
		bad := t.Topic("nul\x00here")
		c := t.Connect("")
		t.Setup(c.Send(&codec.Publish{Topic: []byte(bad), Payload: []byte("nul")}), "sending PUBLISH")
		ok := t.Topic("ok")
		t.Connect("pub").Publish(ok, "control", q, false)
		got, err := w.NextPublish(ok, t.Wait())
		t.Setup(err, "the control message")
		w.Complete(got)
		hasNul := func(r *probe.Received) bool {
			p, ok := r.Packet.(*codec.Publish)
			return ok && strings.ContainsRune(string(p.Topic), 0)
		}
		if err := w.ExpectNothing(t.ctx, t.Quiet(), hasNul); err != nil {
			t.Fail("no topic name containing U+0000 is forwarded", err.Error())
		}
	},
})

var _ = Register(Spec{
	Name:  "routes messages on a topic name of 65535 bytes, the longest the encoding allows",
	IDs:   []string{"MQTT-4.7.3-3"},
	Level: May, Area: AreaTopics,
	Run: func(t *T) {
		base := t.Topic("long/")
		topic := base + strings.Repeat("l", 65535-len(base))
		q := t.subReliableQoS()
		c := t.Connect("sub")
		ack, err := c.Conn.Subscribe(t.ctx, t.Wait(), codec.Subscription{Filter: []byte(topic), Options: q})
		if err != nil {
			t.Fail("a subscription to a 65535-byte topic filter is granted", err.Error())
		}
		if len(ack.ReturnCodes) != 1 || ack.ReturnCodes[0] == codec.SubackFailure {
			t.Fail("a subscription to a 65535-byte topic filter is granted", fmt.Sprintf("refused it: SUBACK return codes %x", ack.ReturnCodes))
		}
		t.Connect("pub").Publish(topic, "long", q, false)
		got := c.ExpectPublish(topic, "the message on the 65535-byte topic name is delivered")
		c.Complete(got)
	},
})

// topNoNormalisation subscribes to exact filters, publishes look-alike
// topic names that differ from them byte-wise, then the exact ones, and
// requires exactly the exact ones to arrive: matching compares the
// encoded strings as they are (MQTT-4.7.3-4).
func (t *T) topNoNormalisation(filters, lookalikes []string, what string) {
	full := func(s string) string { return t.Topic(s) }
	q := t.subReliableQoS()
	c := t.Connect("sub")
	for _, f := range filters {
		c.Subscribe(full(f), q)
	}
	p := t.Connect("pub")
	for _, l := range lookalikes {
		p.Publish(full(l), "look-alike", q, false)
	}
	for _, f := range filters {
		p.Publish(full(f), "exact", q, false)
	}
	for _, f := range filters {
		got, err := c.NextPublish(full(f), t.Wait())
		if err != nil {
			t.Fail(fmt.Sprintf("the message on %q reaches the subscription to the identical filter", full(f)), err.Error())
		}
		c.Complete(got)
	}
	bad := map[string]bool{}
	for _, l := range lookalikes {
		bad[full(l)] = true
	}
	if err := c.ExpectNothing(t.ctx, t.Quiet(), topIsPublishIn(bad)); err != nil {
		t.Fail(fmt.Sprintf("no normalisation when matching (%s): filters %q receive none of %q", what, filters, lookalikes), err.Error())
	}
}

var _ = Register(Spec{
	Name:  "matches topics case-sensitively",
	IDs:   []string{"MQTT-4.7.3-4"},
	Level: Must, Area: AreaTopics,
	Run: func(t *T) {
		t.topNoNormalisation([]string{"case/Abc", "case/xyz"}, []string{"case/abc", "case/ABC", "case/aBC", "case/XYZ", "CASE/xyz"}, "letter case")
	},
})

var _ = Register(Spec{
	Name:  "keeps empty topic levels and leading or trailing slashes when matching",
	IDs:   []string{"MQTT-4.7.3-4"},
	Level: Must, Area: AreaTopics,
	Run: func(t *T) {
		t.topNoNormalisation([]string{"sl/a/b", "sl/c//d", "sl/e/", "/sl/f"},
			[]string{"sl/a//b", "sl/a/b/", "sl//a/b", "sl/c/d", "sl/c///d", "sl/e", "sl/e//", "sl/f", "//sl/f"}, "topic level separators")
	},
})

var _ = Register(Spec{
	Name:  "matches Unicode topics without normalising them",
	IDs:   []string{"MQTT-4.7.3-4"},
	Level: Must, Area: AreaTopics,
	Run: func(t *T) {
		t.topNoNormalisation(
			// NFC é, NFD é, the "ﬁ" ligature, fullwidth Ａ, Greek final sigma.
			[]string{"uni/caf\u00e9", "uni/re\u0301sume\u0301", "uni/\ufb01le", "uni/\uff21", "uni/\u03c3\u03bf\u03c6\u03bf\u03c2"},
			[]string{"uni/cafe\u0301", "uni/r\u00e9sum\u00e9", "uni/file", "uni/A", "uni/\u03a3\u039f\u03a6\u039f\u03a3", "uni/\u03c3\u03bf\u03c6\u03bf\u03c3"},
			"Unicode normalisation forms and case folding")
	},
})
