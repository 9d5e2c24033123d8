package conformance

import (
	"fmt"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// v311 limits a spec to MQTT 3.1.1 (for example, Session Present exists
// only there).
var v311 = []codec.Version{codec.V311}

// expectConnack waits for a CONNACK and returns it, failing with rule if
// none comes.
func (c *Client) expectConnack(rule string) *codec.Connack {
	r, err := c.ExpectType(c.t.ctx, codec.CONNACK, c.t.cfg.Wait)
	if err != nil {
		c.t.Fail(rule, err.Error())
	}
	return r.Packet.(*codec.Connack)
}

// expectClosedWithoutConnack requires the broker to close the
// connection and never to accept it: a refusing CONNACK is tolerated
// only when acceptRefusal is set.
func (c *Client) expectClosedWithoutConnack(rule string, acceptRefusal bool) {
	if err := c.Conn.ExpectClosed(c.t.ctx, c.t.cfg.Wait); err != nil {
		c.t.Fail(rule, err.Error())
	}
	for _, r := range c.Pending() {
		if ack, ok := r.Packet.(*codec.Connack); ok {
			if ack.ReturnCode == codec.ConnAccepted || !acceptRefusal {
				c.t.Fail(rule, "sent "+r.String()+" before closing")
			}
		}
	}
}

// sendConnect sends a CONNECT built from the target's with edit applied.
func (t *T) sendConnect(c *Client, clean bool, edit func(*codec.Connect)) {
	p := t.ConnectPacket(t.ClientID(c.Label()), clean)
	if edit != nil {
		edit(p)
	}
	c.ID = string(p.ClientID)
	if !p.CleanSession {
		t.persistent[c.ID] = true
	}
	t.Setup(c.Send(p), "sending CONNECT")
}

var _ = Register(Spec{
	Name:  "answers a valid CONNECT with CONNACK return code 0 as its first packet",
	IDs:   []string{"MQTT-3.1.4-4", "MQTT-3.2.0-1"},
	Level: Must, Area: AreaConnect,
	Run: func(t *T) {
		c := t.Dial("")
		t.sendConnect(c, true, nil)
		r, err := c.Expect(t.ctx, t.Wait(), "first packet", func(*probe.Received) bool { return true })
		if err != nil {
			t.Fail("a CONNACK", err.Error())
		}
		ack, ok := r.Packet.(*codec.Connack)
		t.Check(ok, "the first packet from the broker is CONNACK (MQTT-3.2.0-1)", "the first packet was "+r.String())
		t.Check(ack.ReturnCode == codec.ConnAccepted, "return code 0x00 for a valid CONNECT (MQTT-3.1.4-4)", r.String())
	},
})

var _ = Register(Spec{
	Name:  "closes the connection on a second CONNECT",
	IDs:   []string{"MQTT-3.1.0-2"},
	Level: Must, Area: AreaConnect,
	Run: func(t *T) {
		c := t.Connect("")
		t.Setup(c.Send(t.ConnectPacket(c.ID, true)), "sending the second CONNECT")
		c.ExpectClosed(t.Wait(), "the broker closes the connection after a second CONNECT")
	},
})

var _ = Register(Spec{
	Name:  "does not accept a CONNECT with an unknown protocol name",
	IDs:   []string{"MQTT-3.1.2-1"},
	Level: Must, Area: AreaConnect,
	Run: func(t *T) {
		c := t.Dial("")
		t.sendConnect(c, true, func(p *codec.Connect) { p.ProtocolName = []byte("MQTX") })
		// The broker may close, or go on under another protocol; what it
		// must not do is accept the CONNECT as MQTT.
		r, err := c.Expect(t.ctx, t.Wait(), "CONNACK", probe.IsType(codec.CONNACK))
		if err == nil {
			ack := r.Packet.(*codec.Connack)
			t.Check(ack.ReturnCode != codec.ConnAccepted, "no MQTT processing of a CONNECT whose protocol name is \"MQTX\"", "accepted it: "+r.String())
		}
	},
})

var _ = Register(Spec{
	Name:  "answers an unsupported protocol level with CONNACK 0x01, then closes",
	IDs:   []string{"MQTT-3.1.2-2"},
	Level: Must, Area: AreaConnect,
	Run: func(t *T) {
		c := t.Dial("")
		t.sendConnect(c, true, func(p *codec.Connect) { p.ProtocolLevel = 9; p.ProtocolName = []byte("MQTT") })
		ack := c.expectConnack("CONNACK with return code 0x01 for protocol level 9")
		t.Check(ack.ReturnCode == codec.ConnRefusedVersion, "return code 0x01 (unacceptable protocol version)", fmt.Sprintf("return code 0x%02x", ack.ReturnCode))
		c.ExpectClosed(t.Wait(), "the connection closed after CONNACK 0x01")
	},
})

var _ = Register(Spec{
	Name:  "closes the connection when the CONNECT reserved flag is 1",
	IDs:   []string{"MQTT-3.1.2-3", "MQTT-3.1.4-1"},
	Level: Must, Area: AreaConnect,
	Run: func(t *T) {
		c := t.Dial("")
		t.sendConnect(c, true, func(p *codec.Connect) { p.ReservedFlag = true })
		c.expectClosedWithoutConnack("the broker closes the connection without sending a CONNACK (MQTT-3.1.2-3, MQTT-3.1.4-1)", false)
	},
})

var _ = Register(Spec{
	Name:  "rejects a zero-length client id with CleanSession=0: CONNACK 0x02, Session Present 0, then close",
	IDs:   []string{"MQTT-3.1.3-8", "MQTT-3.1.3-9", "MQTT-3.2.2-4", "MQTT-3.2.2-5"},
	Level: Must, Area: AreaConnect,
	Versions: v311,
	Run: func(t *T) {
		c := t.Dial("")
		t.sendConnect(c, false, func(p *codec.Connect) { p.ClientID = nil })
		ack := c.expectConnack("CONNACK with return code 0x02 (MQTT-3.1.3-8)")
		t.Check(ack.ReturnCode == codec.ConnRefusedIdentifier, "return code 0x02 (identifier rejected) (MQTT-3.1.3-8, MQTT-3.1.3-9)", fmt.Sprintf("return code 0x%02x", ack.ReturnCode))
		t.Check(!ack.SessionPresent, "Session Present 0 with a non-zero return code (MQTT-3.2.2-4)", "Session Present 1")
		c.ExpectClosed(t.Wait(), "the connection closed after a refusing CONNACK (MQTT-3.2.2-5)")
	},
})

var _ = Register(Spec{
	Name:  "gives every zero-length client id a unique identifier",
	IDs:   []string{"MQTT-3.1.3-6"},
	Level: Must, Area: AreaConnect,
	Versions: v311,
	Needs:    []Capability{CapEmptyClientID},
	Run: func(t *T) {
		a := t.Connect("", func(p *codec.Connect) { p.ClientID = nil })
		b := t.Connect("", func(p *codec.Connect) { p.ClientID = nil })
		// Had both been given the same identifier, b would have taken a's
		// session over and closed a's connection.
		a.ExpectOpen("the first client stays connected: its assigned id differs from the second's")
		b.ExpectOpen("the second client stays connected")
	},
})

var _ = Register(Spec{
	Name:  "accepts client ids of 1 to 23 alphanumeric characters",
	IDs:   []string{"MQTT-3.1.3-5"},
	Level: Must, Area: AreaConnect,
	Run: func(t *T) {
		for _, id := range []string{t.prefix[len(t.prefix)-1:], t.ClientID("x")[:12], (t.ClientID("") + "Zz09Zz09Zz09Zz09Zz09Zz09")[:23]} {
			c := t.Dial("")
			p := t.ConnectPacket(id, true)
			t.Setup(c.Send(p), "sending CONNECT")
			ack := c.expectConnack(fmt.Sprintf("CONNACK for client id %q", id))
			t.Check(ack.ReturnCode == codec.ConnAccepted, fmt.Sprintf("client id %q (%d characters) accepted", id, len(id)), fmt.Sprintf("return code 0x%02x", ack.ReturnCode))
			c.Disconnect()
		}
	},
})

var _ = Register(Spec{
	Name:  "closes the existing connection when a client id connects again",
	IDs:   []string{"MQTT-3.1.4-2"},
	Level: Must, Area: AreaConnect,
	Run: func(t *T) {
		first := t.Connect("first")
		second := t.Dial("second")
		second.MustConnect(t.ConnectPacket(first.ID, true))
		first.ExpectClosed(t.Wait(), "the broker closes the first connection of the client id")
		second.ExpectOpen("the new connection is served")
	},
})

var _ = Register(Spec{
	Name:  "processes nothing sent after a rejected CONNECT",
	IDs:   []string{"MQTT-3.1.4-5"},
	Level: Must, Area: AreaConnect,
	Versions: v311,
	Run: func(t *T) {
		topic := t.Topic("after-reject")
		w := t.Connect("watch")
		w.Subscribe(topic, 0)
		c := t.Dial("rejected")
		var buf []byte
		buf, _ = t.ConnectPacket("", false).Append(buf, t.Version())
		buf, _ = (&codec.Publish{Topic: []byte(topic), Payload: []byte("must not arrive")}).Append(buf, t.Version())
		t.Setup(c.SendRaw(buf), "sending CONNECT and PUBLISH")
		ack := c.expectConnack("a refusing CONNACK for a zero-length id with CleanSession=0")
		if ack.ReturnCode == codec.ConnAccepted {
			t.CouldNotCheck("the broker accepted a zero-length client id with CleanSession=0, so no CONNECT was rejected")
		}
		w.ExpectNoPublish(topic, "the PUBLISH sent after the rejected CONNECT is not processed")
	},
})

var _ = Register(Spec{
	Name:  "closes the connection without CONNACK on a CONNECT with Will QoS 3",
	IDs:   []string{"MQTT-3.1.2-14", "MQTT-3.1.4-1"},
	Level: Must, Area: AreaConnect,
	Run: func(t *T) {
		c := t.Dial("")
		t.sendConnect(c, true, func(p *codec.Connect) {
			p.WillFlag, p.WillQoS, p.WillTopic, p.WillPayload = true, 3, []byte(t.Topic("will")), []byte("x")
		})
		c.expectClosedWithoutConnack("the broker closes the connection without a CONNACK (malformed CONNECT)", false)
	},
})

var _ = Register(Spec{
	Name:  "closes the connection without CONNACK on a CONNECT with Will QoS or Retain but no Will flag",
	IDs:   []string{"MQTT-3.1.2-13", "MQTT-3.1.2-15", "MQTT-3.1.4-1"},
	Level: Must, Area: AreaConnect,
	Run: func(t *T) {
		for _, edit := range []func(*codec.Connect){
			func(p *codec.Connect) { p.WillQoS = 1 },
			func(p *codec.Connect) { p.WillRetain = true },
		} {
			c := t.Dial("")
			t.sendConnect(c, true, edit)
			c.expectClosedWithoutConnack("the broker closes the connection without a CONNACK (malformed CONNECT)", false)
		}
	},
})

var _ = Register(Spec{
	Name:  "closes the connection without CONNACK on a CONNECT with a password but no user name",
	IDs:   []string{"MQTT-3.1.2-22", "MQTT-3.1.4-1"},
	Level: Must, Area: AreaConnect,
	Versions: v311,
	Run: func(t *T) {
		c := t.Dial("")
		t.sendConnect(c, true, func(p *codec.Connect) {
			p.UsernameFlag, p.Username = false, nil
			p.PasswordFlag, p.Password = true, []byte("secret")
		})
		c.expectClosedWithoutConnack("the broker closes the connection without a CONNACK (malformed CONNECT)", false)
	},
})

var _ = Register(Spec{
	Name:  "closes the connection without CONNACK on a truncated CONNECT",
	IDs:   []string{"MQTT-3.1.4-1"},
	Level: Must, Area: AreaConnect,
	Run: func(t *T) {
		c := t.Dial("")
		full, _ := t.ConnectPacket(t.ClientID("x"), true).Append(nil, t.Version())
		// Claim the real length but stop inside the client id: the
		// packet's fields overrun its Remaining Length.
		bad := append([]byte{}, full...)
		bad[1] = byte(len(full) - 2 - 3)
		t.Setup(c.SendRaw(bad[:len(full)-3]), "sending CONNECT")
		c.expectClosedWithoutConnack("the broker closes the connection without a CONNACK", false)
	},
})
