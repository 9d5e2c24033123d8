package conformance

import (
	"fmt"
	"strings"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// The malformed area: strings that are not well-formed UTF-8, invalid
// fixed-header flags, broken framing and packets that have no business
// on the connection. Every statement here is MQTT 3.1.1's: MQTT 3.1 has
// no such rules (it let fixed-header flags vary and says nothing about
// validating strings), so these specs run at 3.1.1 only.

// malCase is one offending input of a spec that tries several.
type malCase struct {
	what  string // how the case is described in a failure
	bytes []byte
}

// malBystander is a second, well-behaved client that watches whether the
// broker keeps serving others after closing an offending connection.
type malBystander struct {
	c     *Client
	topic string
}

// malNewBystander connects a client subscribed (QoS 0) to a topic of its
// own.
func (t *T) malNewBystander() *malBystander {
	b := &malBystander{c: t.Connect("bystander"), topic: t.Topic("bystander")}
	b.c.Subscribe(b.topic, 0)
	return b
}

// malStillServing requires that the bystander's connection is still
// served after the offending one was closed: a PINGREQ is answered and a
// message it publishes comes back to it. A broker that crashes or drops
// every client on one client's malformed packet fails here.
// malCloseEach sends each raw case on a connection of its own, requires
// the broker to close every one of them (rule says what the statement
// requires) and checks after each that a bystander client is still
// served: the broker closes the offender and nothing else.
func (t *T) malCloseEach(rule string, cases ...malCase) {
	b := t.malNewBystander()
	var fails malFailures
	batch := &malBatch{t: t}
	for _, cs := range cases {
		batch.raw(cs)
		t.malStillServing(b, cs.what)
	}
	batch.check(&fails)
	t.malStillServing(b, "every case")
	fails.check(t, rule)
}

func (t *T) malStillServing(b *malBystander, after string) {
	rule := "the broker closes only the offending connection and goes on serving its other clients (MQTT-4.8.0-1)"
	if err := b.c.Ping(t.ctx, t.Wait()); err != nil {
		t.Fail(rule, "after "+after+", another client's PINGREQ was not answered: "+err.Error())
	}
	err := b.c.Send(&codec.Publish{Topic: []byte(b.topic), Payload: []byte("still served")})
	if err != nil {
		t.Fail(rule, "after "+after+", another client could not publish: "+err.Error())
	}
	if _, err := b.c.NextPublish(b.topic, t.Wait()); err != nil {
		t.Fail(rule, "after "+after+", another client's own message was not delivered back to it: "+err.Error())
	}
}

// malFailures collects the cases of a spec that the broker got wrong, so
// that one run names them all (a deviation is then recorded precisely).
type malFailures []string

// add records a failed case.
func (f *malFailures) add(what, happened string) {
	*f = append(*f, what+": "+happened)
}

// check fails the spec if any case failed; expected says what the
// statement requires of every case.
func (f malFailures) check(t *T, expected string) {
	if len(f) > 0 {
		t.Fail(expected, fmt.Sprintf("%d case(s) failed:\n  %s", len(f), strings.Join(f, "\n  ")))
	}
}

// malBatch judges several offending connections against one deadline:
// every offending input is sent first, then each connection must have
// been closed within Wait of its send. A broker that ignores them all
// costs one Wait, not one per case.
type malBatch struct {
	t     *T
	items []malItem
}

type malItem struct {
	c         *Client
	what      string
	sent      time.Time
	noConnack bool // any CONNACK is a failure, not only an accepting one
}

// raw connects a fresh client and sends bytes on it.
func (b *malBatch) raw(cs malCase) {
	c := b.t.Connect("")
	b.t.Setup(c.SendRaw(cs.bytes), "sending "+cs.what)
	b.items = append(b.items, malItem{c: c, what: cs.what, sent: time.Now()})
}

// connect sends a CONNECT edited by edit on a fresh connection. An
// accepting CONNACK is a failure; a refusing one before the close is
// tolerated unless noConnack is set.
func (b *malBatch) connect(what string, noConnack bool, edit func(*codec.Connect)) {
	c := b.t.Dial("")
	b.t.sendConnect(c, true, edit)
	b.items = append(b.items, malItem{c: c, what: what, sent: time.Now(), noConnack: noConnack})
}

// connectRaw sends raw bytes as the first packet of a fresh connection.
func (b *malBatch) connectRaw(cs malCase, noConnack bool) {
	c := b.t.Dial("")
	b.t.Setup(c.SendRaw(cs.bytes), "sending "+cs.what)
	b.items = append(b.items, malItem{c: c, what: cs.what, sent: time.Now(), noConnack: noConnack})
}

// check waits for every connection to be closed and records the cases
// the broker got wrong.
func (b *malBatch) check(fails *malFailures) {
	t := b.t
	for _, it := range b.items {
		err := it.c.Conn.ExpectClosed(t.ctx, max(time.Until(it.sent.Add(t.Wait())), time.Millisecond))
		var got []string
		bad := ""
		for _, r := range it.c.Pending() {
			got = append(got, r.String())
			if ack, ok := r.Packet.(*codec.Connack); ok && bad == "" && (it.noConnack || ack.ReturnCode == codec.ConnAccepted) {
				bad = "sent " + r.String()
			}
		}
		switch {
		case err != nil && !malIsClosed(it.c):
			happened := fmt.Sprintf("the connection was still open %s after it", time.Since(it.sent).Round(time.Millisecond))
			if len(got) > 0 {
				happened += "; received " + strings.Join(got, ", ")
			}
			fails.add(it.what, happened)
		case err != nil:
			fails.add(it.what, err.Error())
		case bad != "":
			fails.add(it.what, bad+" before closing the connection")
		}
	}
}

// malBadUTF8 are byte sequences that are not well-formed UTF-8 or that
// encode a surrogate code point (MQTT-1.5.3-1).
var malBadUTF8 = []struct{ what, seq string }{
	{"the byte 0xFF", "\xff"},
	{"an overlong encoding of '/' (C0 AF)", "\xc0\xaf"},
	{"a truncated 3-byte sequence (E2 82)", "\xe2\x82"},
	{"a lone continuation byte (80)", "\x80"},
	{"the surrogate U+D800 encoded as ED A0 80", "\xed\xa0\x80"},
	{"the surrogate U+DFFF encoded as ED BF BF", "\xed\xbf\xbf"},
}

var _ = Register(Spec{
	Name:  "closes the connection on a PUBLISH whose topic name is ill-formed UTF-8 or encodes a surrogate",
	IDs:   []string{"MQTT-1.5.3-1"},
	Level: Must, Area: AreaMalformed,
	Versions: v311,
	Run: func(t *T) {
		var fails malFailures
		batch := &malBatch{t: t}
		for _, b := range malBadUTF8 {
			pub, err := (&codec.Publish{Topic: []byte(t.Topic("utf8/") + b.seq), Payload: []byte("x")}).Append(nil, t.Version())
			t.Setup(err, "encoding PUBLISH")
			batch.raw(malCase{"a PUBLISH whose topic name holds " + b.what, pub})
		}
		batch.check(&fails)
		fails.check(t, "the broker closes the connection on a PUBLISH whose topic name is ill-formed UTF-8 or encodes a surrogate (MQTT-1.5.3-1)")
	},
})

var _ = Register(Spec{
	Name:  "closes the connection without accepting a CONNECT whose client id is ill-formed UTF-8 or encodes a surrogate",
	IDs:   []string{"MQTT-1.5.3-1"},
	Level: Must, Area: AreaMalformed,
	Versions: v311,
	Run: func(t *T) {
		var fails malFailures
		batch := &malBatch{t: t}
		for _, b := range malBadUTF8 {
			batch.connect("a CONNECT whose client id holds "+b.what, false,
				func(p *codec.Connect) { p.ClientID = []byte(t.ClientID("u") + b.seq) })
		}
		batch.check(&fails)
		fails.check(t, "the broker closes the connection, without accepting the CONNECT, when the client id is ill-formed UTF-8 or encodes a surrogate (MQTT-1.5.3-1)")
	},
})

var _ = Register(Spec{
	Name:  "closes the connection without accepting a CONNECT whose user name is ill-formed UTF-8 or encodes a surrogate",
	IDs:   []string{"MQTT-1.5.3-1"},
	Level: Must, Area: AreaMalformed,
	Versions: v311,
	Run: func(t *T) {
		var fails malFailures
		batch := &malBatch{t: t}
		for _, b := range malBadUTF8 {
			batch.connect("a CONNECT whose user name holds "+b.what, false,
				func(p *codec.Connect) { p.UsernameFlag, p.Username = true, []byte("user"+b.seq) })
		}
		batch.check(&fails)
		fails.check(t, "the broker closes the connection, without accepting the CONNECT, when the user name is ill-formed UTF-8 or encodes a surrogate (MQTT-1.5.3-1)")
	},
})

var _ = Register(Spec{
	Name:  "closes the connection without accepting a CONNECT with U+0000 in the client id, Will topic or user name",
	IDs:   []string{"MQTT-1.5.3-2"},
	Level: Must, Area: AreaMalformed,
	Versions: v311,
	Run: func(t *T) {
		// U+0000 in topic names is checked with MQTT-4.7.3-2 (topics area).
		cases := []struct {
			what string
			edit func(*codec.Connect)
		}{
			{"U+0000 in the client id", func(p *codec.Connect) { p.ClientID = []byte(t.ClientID("n") + "\x00z") }},
			{"U+0000 in the Will topic", func(p *codec.Connect) {
				p.WillFlag, p.WillTopic, p.WillPayload = true, []byte(t.Topic("will")+"\x00z"), []byte("will")
			}},
			{"U+0000 in the user name", func(p *codec.Connect) { p.UsernameFlag, p.Username = true, []byte("user\x00z") }},
		}
		var fails malFailures
		batch := &malBatch{t: t}
		for _, cs := range cases {
			batch.connect("a CONNECT with "+cs.what, false, cs.edit)
		}
		batch.check(&fails)
		fails.check(t, "the broker closes the connection, without accepting the CONNECT, when a string holds U+0000 (MQTT-1.5.3-2)")
	},
})

var _ = Register(Spec{
	Name:  "keeps a leading U+FEFF (EF BB BF) in a topic name: neither skipped nor stripped",
	IDs:   []string{"MQTT-1.5.3-3"},
	Level: Must, Area: AreaMalformed,
	Versions: v311,
	Run: func(t *T) {
		plain := t.Topic("bom")
		bom := "\xef\xbb\xbf" + plain
		c := t.Connect("")
		c.Subscribe(bom, 0)
		c.Subscribe(plain, 0)
		t.Setup(c.Send(&codec.Publish{Topic: []byte(bom), Payload: []byte("bom")}), "sending PUBLISH")
		c.ExpectPublish(bom, "the message published to \"\\xEF\\xBB\\xBF"+plain+"\" is delivered with that exact topic name, U+FEFF kept (MQTT-1.5.3-3)")
		c.ExpectNoPublish(plain, "the message published to \"\\xEF\\xBB\\xBF"+plain+"\" does not match the subscription to \""+plain+"\": U+FEFF is part of the name (MQTT-1.5.3-3)")
	},
})

var _ = Register(Spec{
	Name:  "may close the connection on a topic name holding a control character or a non-character, or else serves it",
	Level: May, Area: AreaMalformed,
	Versions: v311,
	Run: func(t *T) {
		// 1.5.3: U+0001..U+001F, U+007F..U+009F and non-characters SHOULD
		// NOT be sent; a receiver MAY close the connection on them. Both
		// choices are fine; what is not is to do neither.
		for _, b := range []struct{ what, seq string }{
			{"the control character U+0001", "\x01"},
			{"the control character U+009F", "\xc2\x9f"},
			{"the non-character U+FFFF", "\xef\xbf\xbf"},
		} {
			topic := t.Topic("ctl/") + b.seq
			c := t.Connect("")
			ack, err := c.Conn.Subscribe(t.ctx, t.Wait(), codec.Subscription{Filter: []byte(topic)})
			switch {
			case err != nil && malIsClosed(c):
				t.Note("closed the connection on a SUBSCRIBE to a filter holding %s", b.what)
				continue
			case err != nil:
				t.CouldNotCheck("SUBSCRIBE to a filter holding %s: %v", b.what, err)
			case len(ack.ReturnCodes) != 1 || ack.ReturnCodes[0] == codec.SubackFailure:
				t.Note("refused a SUBSCRIBE to a filter holding %s (SUBACK %x)", b.what, ack.ReturnCodes)
				continue
			}
			t.Setup(c.Send(&codec.Publish{Topic: []byte(topic), Payload: []byte("x")}), "sending PUBLISH")
			_, err = c.Expect(t.ctx, t.Wait(), "PUBLISH on the topic", probe.IsPublish(topic))
			switch {
			case err == nil:
				t.Note("served a topic name holding %s", b.what)
			case malIsClosed(c):
				t.Note("closed the connection on a PUBLISH to a topic name holding %s", b.what)
			default:
				t.Fail("a topic name holding "+b.what+" is either served or the connection closed (1.5.3: the receiver MAY close)",
					"granted the subscription, then neither delivered the message nor closed the connection: "+err.Error())
			}
		}
	},
})

// malIsClosed reports whether the broker has ended c.
func malIsClosed(c *Client) bool {
	closed, _, _ := c.Closed()
	return closed
}

var _ = Register(Spec{
	Name:  "closes the connection on a packet with invalid fixed-header flags",
	IDs:   []string{"MQTT-2.2.2-1", "MQTT-2.2.2-2"},
	Level: Must, Area: AreaMalformed,
	Versions: v311,
	Run: func(t *T) {
		// PUBREL, SUBSCRIBE, UNSUBSCRIBE and DISCONNECT have specs of their
		// own (MQTT-3.6.1-1, MQTT-3.8.1-1, MQTT-3.10.1-1, MQTT-3.14.1-1).
		var fails malFailures
		batch := &malBatch{t: t}
		for _, cs := range []malCase{
			{"a PINGREQ with flags 0001 (C1 00)", []byte{0xc1, 0x00}},
			{"a PINGREQ with flags 1000 (C8 00)", []byte{0xc8, 0x00}},
			{"a PUBACK with flags 0010 (42 02 00 01)", []byte{0x42, 0x02, 0x00, 0x01}},
			{"a PUBREC with flags 0001 (51 02 00 01)", []byte{0x51, 0x02, 0x00, 0x01}},
			{"a PUBCOMP with flags 0100 (74 02 00 01)", []byte{0x74, 0x02, 0x00, 0x01}},
		} {
			batch.raw(cs)
		}
		batch.check(&fails)
		fails.check(t, "the broker closes the connection on a packet whose fixed-header flags differ from the values Table 2.2 fixes for it (MQTT-2.2.2-1, MQTT-2.2.2-2)")
	},
})

var _ = Register(Spec{
	Name:  "closes the connection without CONNACK on a CONNECT with invalid fixed-header flags",
	IDs:   []string{"MQTT-2.2.2-2", "MQTT-3.1.4-1"},
	Level: Must, Area: AreaMalformed,
	Versions: v311,
	Run: func(t *T) {
		var fails malFailures
		batch := &malBatch{t: t}
		for i, flags := range []byte{0x01, 0x02, 0x08} {
			b, err := t.ConnectPacket(t.ClientID(fmt.Sprintf("f%d", i)), true).Append(nil, t.Version())
			t.Setup(err, "encoding CONNECT")
			b[0] |= flags
			batch.connectRaw(malCase{fmt.Sprintf("a CONNECT with fixed-header flags %04b", flags), b}, true)
		}
		batch.check(&fails)
		fails.check(t, "the broker closes the connection without sending CONNACK when a CONNECT's fixed-header flags are not 0000 (MQTT-2.2.2-2, MQTT-3.1.4-1)")
	},
})

var _ = Register(Spec{
	Name:  "treats a DISCONNECT with non-zero flags as a protocol error: closes the connection and publishes the Will",
	IDs:   []string{"MQTT-3.14.1-1", "MQTT-3.1.2-8"},
	Level: Must, Area: AreaMalformed,
	Versions: v311,
	Run: func(t *T) {
		// MQTT-3.14.1-1: the server validates the reserved bits and
		// disconnects the client if they are not zero. That close is the
		// server's, for a protocol error, one of the situations in which
		// the Will is published (3.1.2.5); only a valid DISCONNECT deletes
		// it (MQTT-3.1.2-8, MQTT-3.14.4-3).
		will := t.Topic("will")
		w := t.Connect("watcher")
		w.Subscribe(will, 0)
		c := t.Connect("", func(p *codec.Connect) {
			p.WillFlag, p.WillTopic, p.WillPayload = true, []byte(will), []byte("gone")
		})
		t.Setup(c.SendRaw([]byte{0xe1, 0x00}), "sending DISCONNECT")
		c.ExpectClosed(t.Wait(), "the broker closes the connection on a DISCONNECT with flags 0001 (MQTT-3.14.1-1)")
		w.ExpectPublish(will, "the Will is published: a DISCONNECT with flags 0001 is invalid, so the server disconnects the client for a protocol error instead of discarding the Will (MQTT-3.14.1-1, MQTT-3.1.2-8)")
	},
})

var _ = Register(Spec{
	Name:  "closes the connection on a Remaining Length of five bytes, and goes on serving other clients",
	IDs:   []string{"MQTT-4.8.0-1"},
	Level: Must, Area: AreaMalformed,
	Versions: v311,
	Run: func(t *T) {
		t.malCloseEach("the broker closes the connection on a Remaining Length longer than four bytes (MQTT-4.8.0-1)",
			malCase{"a PUBLISH whose Remaining Length runs to a fifth byte (30 80 80 80 80 01)", []byte{0x30, 0x80, 0x80, 0x80, 0x80, 0x01}},
			malCase{"a PINGREQ whose Remaining Length runs to a fifth byte (C0 80 80 80 80 00)", []byte{0xc0, 0x80, 0x80, 0x80, 0x80, 0x00}},
		)
	},
})

var _ = Register(Spec{
	Name:  "closes the connection on a packet whose fields overrun its Remaining Length, and goes on serving other clients",
	IDs:   []string{"MQTT-4.8.0-1"},
	Level: Must, Area: AreaMalformed,
	Versions: v311,
	Run: func(t *T) {
		t.malCloseEach("the broker closes the connection on a packet whose fields do not fit its Remaining Length (MQTT-4.8.0-1)",
			malCase{"a PUBLISH of Remaining Length 4 whose topic name claims 16 bytes (30 04 00 10 61 62)", []byte{0x30, 0x04, 0x00, 0x10, 'a', 'b'}},
			malCase{"a SUBSCRIBE whose topic filter claims 9 bytes where 2 remain (82 07 00 01 00 09 61 62 00)", []byte{0x82, 0x07, 0x00, 0x01, 0x00, 0x09, 'a', 'b', 0x00}},
			malCase{"an UNSUBSCRIBE whose topic filter claims 8 bytes where 1 remains (A2 05 00 01 00 08 61)", []byte{0xa2, 0x05, 0x00, 0x01, 0x00, 0x08, 'a'}},
			malCase{"a PUBACK of Remaining Length 1, too short for its packet identifier (40 01 00)", []byte{0x40, 0x01, 0x00}},
		)
	},
})

var _ = Register(Spec{
	Name:  "closes the connection on the reserved packet types 0 and 15, and goes on serving other clients",
	IDs:   []string{"MQTT-4.8.0-1"},
	Level: Must, Area: AreaMalformed,
	Versions: v311,
	Run: func(t *T) {
		t.malCloseEach("the broker closes the connection on a packet of a reserved type (MQTT-4.8.0-1)",
			malCase{"a packet of the reserved type 0 (00 00)", []byte{0x00, 0x00}},
			malCase{"a packet of the reserved type 15 (F0 00)", []byte{0xf0, 0x00}},
		)
	},
})

var _ = Register(Spec{
	Name:  "closes the connection when the first packet is not CONNECT, and goes on serving other clients",
	IDs:   []string{"MQTT-4.8.0-1"},
	Level: Must, Area: AreaMalformed,
	Versions: v311,
	Run: func(t *T) {
		b := t.malNewBystander()
		pub, err := (&codec.Publish{Topic: []byte(b.topic), Payload: []byte("before CONNECT")}).Append(nil, t.Version())
		t.Setup(err, "encoding PUBLISH")
		sub, err := (&codec.Subscribe{PacketID: 1, Filters: []codec.Subscription{{Filter: []byte(b.topic)}}}).Append(nil, t.Version())
		t.Setup(err, "encoding SUBSCRIBE")
		var fails malFailures
		batch := &malBatch{t: t}
		for _, cs := range []malCase{
			{"a PINGREQ as the first packet", []byte{0xc0, 0x00}},
			{"a PUBLISH as the first packet", pub},
			{"a SUBSCRIBE as the first packet", sub},
		} {
			batch.connectRaw(cs, false)
			t.malStillServing(b, cs.what)
		}
		batch.check(&fails)
		t.malStillServing(b, "every case")
		fails.check(t, "the broker closes the connection when the first packet is not CONNECT: the client must send CONNECT first (MQTT-3.1.0-1), anything else is a protocol violation (MQTT-4.8.0-1)")
	},
})

var _ = Register(Spec{
	Name:  "closes the connection on a CONNACK, SUBACK, UNSUBACK or PINGRESP sent by a client, and goes on serving other clients",
	IDs:   []string{"MQTT-4.8.0-1"},
	Level: Must, Area: AreaMalformed,
	Versions: v311,
	Run: func(t *T) {
		t.malCloseEach("the broker closes the connection on a packet that only a server may send: receiving it is a protocol violation (MQTT-4.8.0-1)",
			malCase{"a CONNACK from the client (20 02 00 00)", []byte{0x20, 0x02, 0x00, 0x00}},
			malCase{"a SUBACK from the client (90 03 00 01 00)", []byte{0x90, 0x03, 0x00, 0x01, 0x00}},
			malCase{"an UNSUBACK from the client (B0 02 00 01)", []byte{0xb0, 0x02, 0x00, 0x01}},
			malCase{"a PINGRESP from the client (D0 00)", []byte{0xd0, 0x00}},
		)
	},
})
