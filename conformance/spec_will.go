package conformance

import (
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
)

// Will specs (MQTT-3.1.2-8..17, MQTT-3.14.4-3). Each has a watcher
// subscribed to the Will topic before the client with the Will connects;
// seeing the Will there is also how a spec knows the broker has processed
// the end of the connection.

// willPayload is the Will Message every will spec uses.
const willPayload = "gone"

// willConnect connects a client with a Will on topic (setup); edit may
// change the CONNECT further.
func (t *T) willConnect(label, id string, clean bool, topic string, retain bool, edit ...func(*codec.Connect)) *Client {
	c := t.Dial(label)
	p := t.ConnectPacket(id, clean)
	p.WillFlag, p.WillTopic, p.WillPayload, p.WillRetain = true, []byte(topic), []byte(willPayload), retain
	for _, e := range edit {
		e(p)
	}
	c.MustConnect(p)
	return c
}

// willWatch connects a watcher subscribed to the Will topic.
func (t *T) willWatch(topic string) *Client {
	w := t.Connect("watch")
	w.Subscribe(topic, 0)
	return w
}

// willExpect waits up to d for the Will on topic at watcher w; nil and the
// error if it does not come.
func (w *Client) willExpect(topic string, d time.Duration) (*codec.Publish, error) {
	return w.NextPublish(topic, d)
}

// willPublished requires the Will to reach watcher w within d.
func (w *Client) willPublished(topic string, d time.Duration, why string) {
	p, err := w.willExpect(topic, d)
	if err != nil {
		w.t.Fail("the Will Message is published to "+topic+" "+why, err.Error())
	}
	w.t.Check(string(p.Payload) == willPayload, "the Will Message published with its payload "+`"`+willPayload+`"`,
		"published with payload "+`"`+string(p.Payload)+`"`)
}

var _ = Register(Spec{
	Name:  "publishes the Will when the client closes the connection without DISCONNECT",
	IDs:   []string{"MQTT-3.1.2-8"},
	Level: Must, Area: AreaWill,
	Run: func(t *T) {
		topic := t.Topic("will")
		w := t.willWatch(topic)
		c := t.willConnect("client", t.ClientID("c"), true, topic, false)
		c.Close()
		w.willPublished(topic, t.Wait(), "when the client's network connection closes without DISCONNECT")
	},
})

var _ = Register(Spec{
	Name:  "publishes the Will when the keep alive expires",
	IDs:   []string{"MQTT-3.1.2-8"},
	Level: Must, Area: AreaWill,
	Run: func(t *T) {
		topic := t.Topic("will")
		w := t.willWatch(topic)
		c := t.willConnect("client", t.ClientID("c"), true, topic, false, func(p *codec.Connect) { p.KeepAlive = 1 })
		// Silent from here: the broker must close the connection after
		// 1.5 s and publish the Will. The timing is judged by the keep
		// alive specs; this one waits longer, for brokers that check keep
		// alive on a coarse timer (mosquitto 2.0 scans every 5 s).
		if err := c.Conn.ExpectClosed(t.ctx, kaLimit(t, kaSeconds)+kaCoarseTimer+t.Wait()); err != nil {
			t.CouldNotCheck("the broker did not close the connection silent beyond its keep alive of 1s (judged by MQTT-3.1.2-24): %v", err)
		}
		w.willPublished(topic, t.Wait(), "when the broker closes the connection because its keep alive expired")
	},
})

var _ = Register(Spec{
	Name:  "publishes the Will when it closes the connection on a PUBLISH with QoS 3",
	IDs:   []string{"MQTT-3.1.2-8"},
	Level: Must, Area: AreaWill,
	Run: func(t *T) {
		// The broker must close the connection on a PUBLISH with both QoS
		// bits set (MQTT-3.3.1-4).
		willProtocolViolation(t, "a PUBLISH with QoS 3", func(c *Client) error {
			return c.Send(&codec.Publish{Topic: []byte(t.Topic("q3")), QoS: 3, PacketID: 1, Payload: []byte("x")})
		})
	},
})

var _ = Register(Spec{
	Name:  "publishes the Will when it closes the connection on a second CONNECT",
	IDs:   []string{"MQTT-3.1.2-8"},
	Level: Must, Area: AreaWill,
	Run: func(t *T) {
		// A second CONNECT is a protocol violation the broker must close
		// the connection on (MQTT-3.1.0-2).
		willProtocolViolation(t, "a second CONNECT", func(c *Client) error {
			return c.Send(t.ConnectPacket(c.ID, true))
		})
	},
})

// willProtocolViolation connects a client with a Will, has it commit the
// protocol violation what with send, and requires the Will once the
// broker has closed the connection.
func willProtocolViolation(t *T, what string, send func(*Client) error) {
	topic := t.Topic("will")
	w := t.willWatch(topic)
	c := t.willConnect("client", t.ClientID("c"), true, topic, false)
	t.Setup(send(c), "sending "+what)
	if err := c.Conn.ExpectClosed(t.ctx, t.Wait()); err != nil {
		t.CouldNotCheck("the broker did not close the connection on %s, so this spec cannot see a Will published for a protocol violation: %v", what, err)
	}
	w.willPublished(topic, t.Wait(), "when the broker closes the connection on a protocol violation ("+what+")")
}

var _ = Register(Spec{
	Name:  "discards the Will on DISCONNECT without publishing it",
	IDs:   []string{"MQTT-3.1.2-10", "MQTT-3.14.4-3"},
	Level: Must, Area: AreaWill,
	Run: func(t *T) {
		topic := t.Topic("will")
		w := t.willWatch(topic)
		c := t.willConnect("client", t.ClientID("c"), true, topic, false)
		c.sessDisconnect()
		w.ExpectNoPublish(topic, "no Will Message after the client sent DISCONNECT: the server discards it")
	},
})

var _ = Register(Spec{
	Name:  "publishes no Will when a connection without one ends, though an earlier connection of the client id had one",
	IDs:   []string{"MQTT-3.1.2-12", "MQTT-3.1.2-10"},
	Level: Must, Area: AreaWill,
	Run: func(t *T) {
		topic := t.Topic("will")
		id := t.ClientID("c")
		w := t.willWatch(topic)
		first := t.willConnect("first", id, false, topic, false)
		first.Close()
		if _, err := w.willExpect(topic, t.Wait()); err != nil {
			t.CouldNotCheck("the Will of the first connection was not published (judged by MQTT-3.1.2-8): %v", err)
		}
		// The session lives on (CleanSession=0); the Will, once
		// published, must not.
		second, _ := t.sessConnect("second", id, false)
		second.Close()
		// Taking the client id over makes sure the broker has dealt with
		// the end of the second connection.
		t.sessConnect("third", id, true)
		w.ExpectNoPublish(topic, "no Will Message when a connection with Will Flag 0 ends; the Will of the earlier connection was published once and removed")
	},
})

var _ = Register(Spec{
	Name:  "publishes a Will with Will Retain 0 as a non-retained message",
	IDs:   []string{"MQTT-3.1.2-16"},
	Level: Must, Area: AreaWill,
	Needs: []Capability{CapRetain},
	Run: func(t *T) {
		topic := t.Topic("will")
		w := t.willWatch(topic)
		c := t.willConnect("client", t.ClientID("c"), true, topic, false)
		t.Retained(topic) // in case the broker retains it
		c.Close()
		if _, err := w.willExpect(topic, t.Wait()); err != nil {
			t.CouldNotCheck("the Will was not published (judged by MQTT-3.1.2-8): %v", err)
		}
		late := t.Connect("late")
		late.Subscribe(topic, 0)
		late.ExpectNoPublish(topic, "the Will with Will Retain 0 published as a non-retained message: a later subscriber to "+topic+" gets no retained message")
	},
})

var _ = Register(Spec{
	Name:  "publishes a Will with Will Retain 1 as a retained message",
	IDs:   []string{"MQTT-3.1.2-17"},
	Level: Must, Area: AreaWill,
	Needs: []Capability{CapRetain},
	Run: func(t *T) {
		topic := t.Topic("will")
		w := t.willWatch(topic)
		c := t.willConnect("client", t.ClientID("c"), true, topic, true)
		t.Retained(topic)
		c.Close()
		if _, err := w.willExpect(topic, t.Wait()); err != nil {
			t.CouldNotCheck("the Will was not published (judged by MQTT-3.1.2-8): %v", err)
		}
		late := t.Connect("late")
		late.Subscribe(topic, 0)
		p, err := late.NextPublish(topic, t.Wait())
		if err != nil {
			t.Fail("the Will with Will Retain 1 published as a retained message: a later subscriber to "+topic+" receives it", err.Error())
		}
		t.Check(string(p.Payload) == willPayload, "the retained Will Message with payload "+`"`+willPayload+`"`, "received payload "+`"`+string(p.Payload)+`"`)
		if !p.Retain {
			t.Note("the retained Will reached the later subscriber with RETAIN=0 (MQTT-3.3.1-8 asks for 1)")
		}
	},
})
