package conformance

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/coder/websocket"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// The tls and websocket areas: MQTT over the target's TLS listener and
// over its WebSocket URL (chapter 6).

// transportOwn registers a probe connection the spec opened itself, so
// that cleanup closes it.
func (t *T) transportOwn(c *probe.Conn) *Client {
	cl := &Client{Conn: c, t: t}
	t.conns = append(t.conns, cl)
	return cl
}

// transportLabel names a connection in the transcript.
func (t *T) transportLabel(label string) string {
	t.n++
	if label == "" {
		label = fmt.Sprintf("c%d", t.n)
	}
	return label
}

// transportTLSAddr returns the address of the target's TLS listener.
func (t *T) transportTLSAddr() string {
	if t.Target.TLSAddr != "" {
		return t.Target.TLSAddr
	}
	return t.Target.Addr // CapTLS without TLSAddr: the main listener is TLS
}

// transportDialTLS opens a TLS connection to the target's TLS listener.
// Without a client configuration from the user the broker's certificate
// is not verified, and the spec's notes say so.
func (t *T) transportDialTLS(label string) *Client {
	addr := t.transportTLSAddr()
	cfg := t.Target.ClientTLS
	if cfg == nil {
		cfg = t.Target.TLS
	}
	if cfg == nil {
		cfg = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
		t.Note("no TLS client configuration given: the handshake did not verify the broker's certificate")
	}
	c, err := probe.Dial(t.ctx, addr, probe.Options{Label: t.transportLabel(label), Version: t.Version(), TLS: cfg, Transcript: t.tr})
	t.Setup(err, "opening a TLS connection to "+addr)
	return t.transportOwn(c)
}

// transportDialWS opens an MQTT connection over the target's WebSocket
// URL, offering the "mqtt" subprotocol. onResponse receives the
// subprotocol the server selected.
func (t *T) transportDialWS(label string, onResponse func(string)) *Client {
	url := t.Target.WebSocketURL
	c, err := probe.Dial(t.ctx, url, probe.Options{Label: t.transportLabel(label), Version: t.Version(),
		Transcript: t.tr, Dialer: WebSocketDialer(url, t.Target.ClientTLS, onResponse)})
	t.Setup(err, "opening a WebSocket connection to "+url)
	return t.transportOwn(c)
}

// transportDialWSRaw is transportDialWS that also hands back the
// WebSocket connection itself, for frames the probe cannot send (it
// writes binary frames only). Write to it only from the spec goroutine.
func (t *T) transportDialWSRaw(label string) (*Client, *websocket.Conn) {
	url := t.Target.WebSocketURL
	var ws *websocket.Conn
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"mqtt"}})
		if err != nil {
			return nil, fmt.Errorf("websocket dial %s: %w", url, err)
		}
		ws = c
		return websocket.NetConn(context.Background(), c, websocket.MessageBinary), nil
	}
	c, err := probe.Dial(t.ctx, url, probe.Options{Label: t.transportLabel(label), Version: t.Version(), Transcript: t.tr, Dialer: dial})
	t.Setup(err, "opening a WebSocket connection to "+url)
	return t.transportOwn(c), ws
}

// transportMustConnect sends the target's CONNECT on c and requires an
// accepting CONNACK (setup).
func (t *T) transportMustConnect(c *Client) {
	c.MustConnect(t.ConnectPacket(t.ClientID(c.Label()), true))
}

var _ = Register(Spec{
	Name:  "answers a CONNECT over TLS with CONNACK return code 0",
	IDs:   []string{"MQTT-3.1.4-4"},
	Level: Must, Area: AreaTLS,
	Needs: []Capability{CapTLS},
	Run: func(t *T) {
		c := t.transportDialTLS("")
		t.sendConnect(c, true, nil)
		ack := c.expectConnack("a CONNACK to a valid CONNECT sent over TLS (MQTT-3.1.4-4)")
		t.Check(ack.ReturnCode == codec.ConnAccepted, "return code 0x00 for a valid CONNECT over TLS (MQTT-3.1.4-4)", fmt.Sprintf("return code 0x%02x", ack.ReturnCode))
		c.ExpectOpen("the TLS connection is served after CONNACK")
	},
})

var _ = Register(Spec{
	Name:  "does not serve plain MQTT on its TLS listener",
	Level: Should, Area: AreaTLS,
	Needs: []Capability{CapTLS},
	Run: func(t *T) {
		// No numbered statement: chapter 5 leaves security to the
		// implementation. A TLS port that also answers cleartext MQTT lets
		// credentials travel in the clear, so it is reported as a finding.
		addr := t.transportTLSAddr()
		c, err := probe.Dial(t.ctx, addr, probe.Options{Label: t.transportLabel("plain"), Version: t.Version(), Transcript: t.tr})
		t.Setup(err, "opening a TCP connection to "+addr)
		cl := t.transportOwn(c)
		t.sendConnect(cl, true, nil)
		// A TLS alert may decode as anything; only a well-formed accepting
		// CONNACK means the listener spoke cleartext MQTT.
		r, err := cl.Expect(t.ctx, t.Wait(), "an accepting CONNACK", func(r *probe.Received) bool {
			ack, ok := r.Packet.(*codec.Connack)
			return ok && r.Err == nil && ack.ReturnCode == codec.ConnAccepted
		})
		if err == nil {
			t.Fail("the TLS listener "+addr+" refuses a cleartext MQTT connection", "answered a cleartext CONNECT with "+r.String())
		}
		t.Note("a cleartext CONNECT to %s was not accepted: %v", addr, err)
	},
})

var _ = Register(Spec{
	Name:  "selects and returns the mqtt WebSocket subprotocol",
	IDs:   []string{"MQTT-6.0.0-4"},
	Level: Must, Area: AreaWebSocket,
	// MQTT 3.1 over WebSocket used the subprotocol "mqttv3.1".
	Versions: v311,
	Needs:    []Capability{CapWebSocket},
	Run: func(t *T) {
		var proto string
		returned := false
		c := t.transportDialWS("", func(p string) { proto, returned = p, true })
		t.tr.Note(c.Label(), fmt.Sprintf("WebSocket handshake: Sec-WebSocket-Protocol %q", proto))
		if !returned {
			t.CouldNotCheck("the WebSocket handshake response was not seen")
		}
		if proto == "" {
			t.Fail("the handshake response selects the subprotocol \"mqtt\" the client offered (Sec-WebSocket-Protocol: mqtt) (MQTT-6.0.0-4)", "the response carried no Sec-WebSocket-Protocol header")
		}
		t.Check(proto == "mqtt", "the handshake response selects the subprotocol \"mqtt\" (MQTT-6.0.0-4)", fmt.Sprintf("Sec-WebSocket-Protocol: %q", proto))
	},
})

var _ = Register(Spec{
	Name:  "closes the connection on a text WebSocket frame",
	IDs:   []string{"MQTT-6.0.0-1"},
	Level: Must, Area: AreaWebSocket,
	Versions: v311,
	Needs:    []Capability{CapWebSocket},
	Run: func(t *T) {
		c, ws := t.transportDialWSRaw("")
		t.transportMustConnect(c)
		t.tr.Note(c.Label(), "-> TEXT WebSocket frame holding a PINGREQ (c0 00)")
		t.Setup(ws.Write(t.ctx, websocket.MessageText, []byte{0xc0, 0x00}), "writing a text frame")
		if err := c.Conn.ExpectClosed(t.ctx, t.Wait()); err != nil {
			t.Fail("the broker closes the connection on a WebSocket frame that is not binary (MQTT-6.0.0-1)", err.Error())
		}
	},
})

var _ = Register(Spec{
	Name:  "reads packets split across WebSocket frames and packets sharing one frame",
	IDs:   []string{"MQTT-6.0.0-2"},
	Level: Must, Area: AreaWebSocket,
	Versions: v311,
	Needs:    []Capability{CapWebSocket},
	Run: func(t *T) {
		rule := "the broker does not assume that packets are aligned on WebSocket frame boundaries (MQTT-6.0.0-2)"
		c := t.transportDialWS("", nil)
		topic := t.Topic("ws")

		// CONNECT in three frames.
		connect, err := t.ConnectPacket(t.ClientID(c.Label()), true).Append(nil, t.Version())
		t.Setup(err, "encoding CONNECT")
		for _, part := range [][]byte{connect[:1], connect[1:5], connect[5:]} {
			t.Setup(c.SendRaw(part), "sending part of CONNECT")
		}
		r, err := c.ExpectType(t.ctx, codec.CONNACK, t.Wait())
		if err != nil {
			t.Fail(rule, "a CONNECT sent in three frames was not answered with a CONNACK: "+err.Error())
		}
		if ack := r.Packet.(*codec.Connack); ack.ReturnCode != codec.ConnAccepted {
			t.CouldNotCheck("the CONNECT was refused: %s", r.String())
		}

		// SUBSCRIBE and PINGREQ in one frame.
		sub, err := (&codec.Subscribe{PacketID: 1, Filters: []codec.Subscription{{Filter: []byte(topic)}}}).Append(nil, t.Version())
		t.Setup(err, "encoding SUBSCRIBE")
		t.Setup(c.SendRaw(append(sub, 0xc0, 0x00)), "sending SUBSCRIBE and PINGREQ in one frame")
		if _, err := c.Expect(t.ctx, t.Wait(), "SUBACK id=1", probe.IsAck(codec.SUBACK, 1)); err != nil {
			t.Fail(rule, "a SUBSCRIBE sharing a frame with a PINGREQ was not answered: "+err.Error())
		}
		if _, err := c.ExpectType(t.ctx, codec.PINGRESP, t.Wait()); err != nil {
			t.Fail(rule, "a PINGREQ sharing a frame with a SUBSCRIBE was not answered: "+err.Error())
		}

		// Two PUBLISH packets in one frame, the second also cut in two.
		var pubs []byte
		for _, payload := range []string{"one", "two"} {
			pubs, err = (&codec.Publish{Topic: []byte(topic), Payload: []byte(payload)}).Append(pubs, t.Version())
			t.Setup(err, "encoding PUBLISH")
		}
		cut := len(pubs) - 3
		t.Setup(c.SendRaw(pubs[:cut]), "sending a PUBLISH and the start of another in one frame")
		t.Setup(c.SendRaw(pubs[cut:]), "sending the rest of the second PUBLISH")
		// Order is another rule's (MQTT-4.6.0-6): here both must arrive.
		for _, payload := range []string{"one", "two"} {
			_, err := c.Expect(t.ctx, t.Wait(), fmt.Sprintf("PUBLISH %q on %s", payload, topic), func(r *probe.Received) bool {
				p, ok := r.Packet.(*codec.Publish)
				return ok && string(p.Topic) == topic && string(p.Payload) == payload
			})
			if err != nil {
				t.Fail(rule, fmt.Sprintf("the message %q was not delivered: %v", payload, err))
			}
		}
	},
})
