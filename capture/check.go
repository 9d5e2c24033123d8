package capture

import (
	"fmt"
	"strconv"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/topics"
)

// DefaultKeepAliveMargin is added to a client's keep alive before its
// silence counts as a violation: scheduling and network delay between the
// client and the observer.
const DefaultKeepAliveMargin = time.Second

// Finding is a rule one side broke, judged from the packets of a
// connection in the order they were observed.
type Finding struct {
	Time time.Time
	// Dir is the direction of the offending packet: ClientToBroker when
	// the client broke the rule, BrokerToClient when the broker did.
	Dir   Dir
	Rules []string
	// Text says what happened, naming the packet.
	Text string
}

// Checker judges the statements that need more than one packet: the order
// of the first packets, packet identifiers in flight, the QoS 1 and 2
// flows, acknowledgements that must echo a request, SUBACK counts, keep
// alive, silence after DISCONNECT and RETAIN on live forwards.
//
// It only reports what is certain from what it saw. It must be shown every
// packet of a connection from its start; once Lost is called (bytes went
// missing, or the observer joined mid-stream) the rules that depend on
// having seen everything are no longer judged. Rules that depend on
// session state from an earlier connection (an acknowledgement of a
// packet sent before a reconnection) are judged only when the session
// started clean.
//
// A Checker is not safe for concurrent use.
type Checker struct {
	// KeepAliveMargin is added to the keep alive before silence is
	// reported (default DefaultKeepAliveMargin when zero).
	KeepAliveMargin time.Duration

	version  codec.Version
	complete bool // saw the connection from its first byte, lost nothing
	clean    bool // CleanSession=1: no state from earlier connections
	resumed  bool // session present: queued state may be delivered

	connects, clientPackets, brokerPackets int
	keepAlive                              time.Duration
	lastClient                             time.Time
	silenceReported                        bool
	clientDisconnected, brokerDisconnected bool

	client, broker map[uint16]*flight // identifiers each side has in flight

	// For RETAIN on live forwards (levels 3 and 4).
	filters  [][]byte       // every filter the client subscribed to
	retained map[string]int // RETAIN=1 deliveries per topic
}

// flight is a packet identifier in use by its sender.
type flight struct {
	typ   codec.Type // PUBLISH, SUBSCRIBE or UNSUBSCRIBE
	qos   byte
	stage int // QoS 2: 0 awaiting PUBREC, 1 PUBREC received, 2 PUBREL sent
	count int // SUBSCRIBE/UNSUBSCRIBE filters
}

// NewChecker returns a Checker for a connection observed from its start.
func NewChecker() *Checker {
	return &Checker{complete: true, client: map[uint16]*flight{}, broker: map[uint16]*flight{},
		retained: map[string]int{}}
}

// Lost tells the Checker that it did not see everything: it joined the
// connection mid-stream, or bytes went missing.
func (c *Checker) Lost() { c.complete = false }

// Version returns the protocol level from the CONNECT (zero before).
func (c *Checker) Version() codec.Version { return c.version }

// stateRule names a statement at MQTT 3.1.1 and 5.0.
type stateRule [2][]string

func (r stateRule) ids(v codec.Version) []string {
	if v == codec.V5 {
		return r[1]
	}
	return r[0]
}

var (
	ruleFirstConnect    = stateRule{{"MQTT-3.1.0-1"}, {"MQTT-3.1.0-1"}}
	ruleSecondConnect   = stateRule{{"MQTT-3.1.0-2"}, {"MQTT-3.1.0-2"}}
	ruleFirstConnack    = stateRule{{"MQTT-3.2.0-1"}, {"MQTT-3.2.0-1"}}
	ruleCleanPresent    = stateRule{{"MQTT-3.2.2-1"}, nil}
	ruleRefusedPresent  = stateRule{{"MQTT-3.2.2-4"}, nil}
	ruleClientIDReuse   = stateRule{{"MQTT-2.3.1-2"}, {"MQTT-2.2.1-3"}}
	ruleServerIDReuse   = stateRule{{"MQTT-2.3.1-4"}, {"MQTT-2.2.1-4"}}
	ruleAckEcho         = stateRule{{"MQTT-2.3.1-6"}, {"MQTT-2.2.1-5"}}
	ruleSubackEcho      = stateRule{{"MQTT-2.3.1-7", "MQTT-3.8.4-2"}, {"MQTT-2.2.1-6", "MQTT-3.8.4-2"}}
	ruleUnsubackEcho    = stateRule{{"MQTT-2.3.1-7", "MQTT-3.10.4-4"}, {"MQTT-2.2.1-6", "MQTT-3.10.4-5"}}
	ruleSubackCount     = stateRule{{"MQTT-3.8.4-5"}, {"MQTT-3.8.4-6"}}
	ruleUnsubackCount   = stateRule{nil, {"MQTT-3.11.3-2"}}
	ruleQoS1Receiver    = stateRule{{"MQTT-4.3.2-2"}, {"MQTT-4.3.2-4"}}
	ruleQoS2Sender      = stateRule{{"MQTT-4.3.3-1"}, {"MQTT-4.3.3-4"}}
	ruleQoS2Resend      = stateRule{{"MQTT-4.3.3-1"}, {"MQTT-4.3.3-6"}}
	ruleQoS2Receiver    = stateRule{{"MQTT-4.3.3-2"}, {"MQTT-4.3.3-11"}}
	ruleKeepAlive       = stateRule{{"MQTT-3.1.2-23"}, {"MQTT-3.1.2-20"}}
	ruleAfterDisconnect = stateRule{{"MQTT-3.14.4-2"}, {"MQTT-3.14.4-1"}}
	ruleRetainLive      = stateRule{{"MQTT-3.3.1-9"}, nil}
)

func (c *Checker) finding(dst []Finding, t time.Time, d Dir, r stateRule, format string, args ...any) []Finding {
	ids := r.ids(c.version)
	if len(ids) == 0 {
		return dst
	}
	return append(dst, Finding{Time: t, Dir: d, Rules: ids, Text: fmt.Sprintf(format, args...)})
}

// KeepAliveDeadline returns when the client's silence becomes a violation
// (its last packet plus keep alive plus margin), and false when no such
// deadline runs (no keep alive, no CONNECT yet, or after DISCONNECT).
func (c *Checker) KeepAliveDeadline() (time.Time, bool) {
	if c.keepAlive == 0 || c.lastClient.IsZero() || c.clientDisconnected || c.silenceReported || !c.complete {
		return time.Time{}, false
	}
	return c.lastClient.Add(c.keepAlive + c.margin()), true
}

func (c *Checker) margin() time.Duration {
	if c.KeepAliveMargin > 0 {
		return c.KeepAliveMargin
	}
	return DefaultKeepAliveMargin
}

// Silence judges the client's keep alive at time now, when nothing from
// the client was observed since its last packet: live, from a timer set
// to KeepAliveDeadline; in a capture, at the time of any later event.
func (c *Checker) Silence(now time.Time) []Finding {
	dl, ok := c.KeepAliveDeadline()
	if !ok || !now.After(dl) {
		return nil
	}
	c.silenceReported = true
	gap := now.Sub(c.lastClient).Round(time.Millisecond)
	return c.finding(nil, now, ClientToBroker, ruleKeepAlive,
		"no packet from the client for %s, more than its keep alive of %s (margin %s)", gap, c.keepAlive, c.margin())
}

// Packet judges one packet in the order observed. p is nil when the packet
// was malformed (only its type, in h, is known).
func (c *Checker) Packet(d Dir, t time.Time, h codec.FixedHeader, p codec.Packet) []Finding {
	var out []Finding
	if d == ClientToBroker {
		out = append(out, c.Silence(t)...)
		if c.clientDisconnected {
			out = c.finding(out, t, d, ruleAfterDisconnect, "client sent %s after its DISCONNECT", h.Type)
		}
		c.clientPackets++
		c.lastClient = t
		c.silenceReported = false
	} else {
		out = append(out, c.Silence(t)...)
		if c.brokerDisconnected && c.version == codec.V5 {
			out = c.finding(out, t, d, ruleAfterDisconnect, "broker sent %s after its DISCONNECT", h.Type)
		}
		c.brokerPackets++
	}
	if p == nil {
		if d == ClientToBroker && c.clientPackets == 1 && h.Type == codec.CONNECT {
			c.connects++
		}
		return out
	}
	if d == ClientToBroker {
		return c.clientPacket(out, t, p)
	}
	return c.brokerPacket(out, t, p)
}

func (c *Checker) clientPacket(out []Finding, t time.Time, p codec.Packet) []Finding {
	const d = ClientToBroker
	if c.clientPackets == 1 && p.Type() != codec.CONNECT && c.complete {
		out = c.finding(out, t, d, ruleFirstConnect, "the client's first packet is %s, not CONNECT", p.Type())
	}
	switch p := p.(type) {
	case *codec.Connect:
		c.connects++
		if c.connects > 1 {
			return c.finding(out, t, d, ruleSecondConnect, "second CONNECT on one connection (a client sends CONNECT once)")
		}
		switch p.ProtocolLevel {
		case codec.V31, codec.V311, codec.V5:
			c.version = p.ProtocolLevel
		}
		c.clean = p.CleanSession
		c.keepAlive = time.Duration(p.KeepAlive) * time.Second
	case *codec.Disconnect:
		c.clientDisconnected = true
	case *codec.Publish:
		if p.QoS == 1 || p.QoS == 2 {
			out = c.publish(out, t, d, c.client, p, ruleClientIDReuse)
		}
	case *codec.Subscribe:
		out = c.request(out, t, d, codec.SUBSCRIBE, p.PacketID, len(p.Filters))
		for _, f := range p.Filters {
			c.filters = append(c.filters, append([]byte(nil), f.Filter...))
		}
	case *codec.Unsubscribe:
		out = c.request(out, t, d, codec.UNSUBSCRIBE, p.PacketID, len(p.Filters))
	case *codec.Ack:
		// The client acknowledges what the broker published; the broker
		// may resend a PUBLISH from an earlier connection, so an unknown
		// identifier is certain only when the session started clean.
		out = c.ack(out, t, d, c.broker, p, c.complete && c.clean)
	}
	return out
}

func (c *Checker) brokerPacket(out []Finding, t time.Time, p codec.Packet) []Finding {
	const d = BrokerToClient
	first := c.brokerPackets == 1
	if first && c.complete && c.connects > 0 {
		ok := p.Type() == codec.CONNACK || (c.version == codec.V5 && p.Type() == codec.AUTH)
		if !ok {
			out = c.finding(out, t, d, ruleFirstConnack, "the broker's first packet is %s, not CONNACK", p.Type())
		}
	}
	switch p := p.(type) {
	case *codec.Connack:
		c.resumed = p.SessionPresent
		if ka, ok := p.Properties.Uint(codec.PropServerKeepAlive); ok && c.version == codec.V5 {
			c.keepAlive = time.Duration(ka) * time.Second // MQTT-3.1.2-21
		}
		if p.SessionPresent && c.clean && c.version != codec.V5 && p.ReturnCode == 0 {
			out = c.finding(out, t, d, ruleCleanPresent, "CONNACK with session present=1 to a CONNECT with clean session=1")
		}
		if p.SessionPresent && p.ReturnCode != 0 && c.version != codec.V5 {
			out = c.finding(out, t, d, ruleRefusedPresent, "refusing CONNACK (rc=0x%02x) with session present=1", p.ReturnCode)
		}
	case *codec.Disconnect:
		c.brokerDisconnected = true
	case *codec.Publish:
		if p.QoS == 1 || p.QoS == 2 {
			out = c.publish(out, t, d, c.broker, p, ruleServerIDReuse)
		}
		if p.Retain && !p.Dup && c.complete && !c.resumed && c.version != codec.V5 {
			out = c.retainCheck(out, t, p)
		}
	case *codec.Suback:
		f, ok := c.client[p.PacketID]
		if !ok || f.typ != codec.SUBSCRIBE {
			if c.complete {
				out = c.finding(out, t, d, ruleSubackEcho, "SUBACK id=%d answers no SUBSCRIBE in flight%s", p.PacketID, c.inFlight(codec.SUBSCRIBE))
			}
			break
		}
		delete(c.client, p.PacketID)
		if len(p.ReturnCodes) != f.count {
			out = c.finding(out, t, d, ruleSubackCount, "SUBACK id=%d carries %d return code(s) for a SUBSCRIBE of %d filter(s)", p.PacketID, len(p.ReturnCodes), f.count)
		}
	case *codec.Unsuback:
		f, ok := c.client[p.PacketID]
		if !ok || f.typ != codec.UNSUBSCRIBE {
			if c.complete {
				out = c.finding(out, t, d, ruleUnsubackEcho, "UNSUBACK id=%d answers no UNSUBSCRIBE in flight%s", p.PacketID, c.inFlight(codec.UNSUBSCRIBE))
			}
			break
		}
		delete(c.client, p.PacketID)
		if c.version == codec.V5 && len(p.ReasonCodes) != f.count {
			out = c.finding(out, t, d, ruleUnsubackCount, "UNSUBACK id=%d carries %d reason code(s) for an UNSUBSCRIBE of %d filter(s)", p.PacketID, len(p.ReasonCodes), f.count)
		}
	case *codec.Ack:
		// The broker acknowledges what the client sent on this very
		// connection (a PUBREL answers a PUBREC it sent here too).
		out = c.ack(out, t, d, c.client, p, c.complete)
	}
	return out
}

// inFlight lists the identifiers of requests of type t in flight, for
// messages.
func (c *Checker) inFlight(t codec.Type) string {
	var ids []byte
	for id, f := range c.client {
		if f.typ == t {
			if len(ids) > 0 {
				ids = append(ids, ',')
			}
			ids = strconv.AppendUint(ids, uint64(id), 10)
		}
	}
	if len(ids) == 0 {
		return " (none is)"
	}
	return " (in flight: " + string(ids) + ")"
}

// publish records a QoS 1 or 2 PUBLISH by the side whose identifiers are
// in mine.
func (c *Checker) publish(out []Finding, t time.Time, d Dir, mine map[uint16]*flight, p *codec.Publish, reuse stateRule) []Finding {
	if p.PacketID == 0 {
		return out // the codec reports it
	}
	if f, ok := mine[p.PacketID]; ok {
		switch {
		case f.typ == codec.PUBLISH && f.qos == 2 && f.stage == 2:
			return c.finding(out, t, d, ruleQoS2Resend, "%s resent PUBLISH id=%d after sending its PUBREL", d.Side(), p.PacketID)
		case !p.Dup || f.typ != codec.PUBLISH:
			return c.finding(out, t, d, reuse, "%s PUBLISH qos=%d id=%d reuses an identifier still in flight (%s)", d.Side(), p.QoS, p.PacketID, f.describe())
		}
		return out // a retransmission with DUP=1
	}
	mine[p.PacketID] = &flight{typ: codec.PUBLISH, qos: p.QoS}
	return out
}

func (f *flight) describe() string {
	switch f.typ {
	case codec.PUBLISH:
		s := "QoS " + strconv.Itoa(int(f.qos)) + " PUBLISH"
		switch {
		case f.qos == 1:
			return s + " awaiting PUBACK"
		case f.stage == 0:
			return s + " awaiting PUBREC"
		case f.stage == 1:
			return s + " awaiting PUBREL"
		}
		return s + " awaiting PUBCOMP"
	case codec.SUBSCRIBE:
		return "SUBSCRIBE awaiting SUBACK"
	}
	return "UNSUBSCRIBE awaiting UNSUBACK"
}

// request records a client SUBSCRIBE or UNSUBSCRIBE.
func (c *Checker) request(out []Finding, t time.Time, d Dir, typ codec.Type, id uint16, n int) []Finding {
	if id == 0 {
		return out
	}
	if f, ok := c.client[id]; ok {
		out = c.finding(out, t, d, ruleClientIDReuse, "client %s id=%d reuses an identifier still in flight (%s)", typ, id, f.describe())
	}
	c.client[id] = &flight{typ: typ, count: n}
	return out
}

// ack judges PUBACK, PUBREC, PUBREL and PUBCOMP. For PUBACK, PUBREC and
// PUBCOMP, the flow is in the map of the other side (the publisher); for
// PUBREL, the sender is the publisher. judgeUnknown says whether an
// identifier the Checker never saw is certainly wrong.
func (c *Checker) ack(out []Finding, t time.Time, d Dir, theirs map[uint16]*flight, a *codec.Ack, judgeUnknown bool) []Finding {
	id := a.PacketID
	mine := c.client
	if d == BrokerToClient {
		mine = c.broker
	}
	if a.PacketType == codec.PUBREL {
		f, ok := mine[id]
		switch {
		case !ok:
			// A PUBREL may continue a flow from an earlier connection
			// unless the session started clean on this one.
			if c.complete && c.clean {
				out = c.finding(out, t, d, ruleAckEcho, "%s PUBREL id=%d for no QoS 2 PUBLISH of its own in flight", d.Side(), id)
			}
			mine[id] = &flight{typ: codec.PUBLISH, qos: 2, stage: 2}
		case f.typ != codec.PUBLISH:
			out = c.finding(out, t, d, ruleAckEcho, "%s PUBREL id=%d while that identifier is in use by its %s", d.Side(), id, f.describe())
		case f.qos != 2:
			out = c.finding(out, t, d, ruleQoS2Sender, "%s PUBREL id=%d for a QoS 1 PUBLISH", d.Side(), id)
		case f.stage == 0:
			out = c.finding(out, t, d, ruleQoS2Sender, "%s PUBREL id=%d before receiving PUBREC", d.Side(), id)
			f.stage = 2 // sent all the same: a PUBCOMP may answer it
		default:
			f.stage = 2
		}
		return out
	}
	f, ok := theirs[id]
	if !ok || f.typ != codec.PUBLISH {
		if judgeUnknown {
			r := ruleAckEcho
			if a.PacketType == codec.PUBCOMP {
				r = ruleQoS2Receiver
			}
			out = c.finding(out, t, d, r, "%s %s id=%d for no PUBLISH in flight", d.Side(), a.PacketType, id)
		}
		return out
	}
	switch a.PacketType {
	case codec.PUBACK:
		if f.qos == 2 {
			return c.finding(out, t, d, ruleQoS2Receiver, "%s PUBACK id=%d for a QoS 2 PUBLISH (PUBREC expected)", d.Side(), id)
		}
		delete(theirs, id)
	case codec.PUBREC:
		if f.qos == 1 {
			return c.finding(out, t, d, ruleQoS1Receiver, "%s PUBREC id=%d for a QoS 1 PUBLISH (PUBACK expected)", d.Side(), id)
		}
		if f.stage == 0 {
			f.stage = 1
		}
		if v5Failure(c.version, a.ReasonCode) {
			delete(theirs, id) // a failing PUBREC ends the flow (5.0)
		}
	case codec.PUBCOMP:
		switch {
		case f.qos == 1:
			return c.finding(out, t, d, ruleQoS1Receiver, "%s PUBCOMP id=%d for a QoS 1 PUBLISH (PUBACK expected)", d.Side(), id)
		case f.stage < 2:
			return c.finding(out, t, d, ruleQoS2Receiver, "%s PUBCOMP id=%d before the PUBREL", d.Side(), id)
		}
		delete(theirs, id)
	}
	return out
}

func v5Failure(v codec.Version, rc byte) bool { return v == codec.V5 && rc >= 0x80 }

// retainCheck: at levels 3 and 4 a message forwarded to an existing
// subscription carries RETAIN=0 (MQTT-3.3.1-9); RETAIN=1 marks a retained
// message sent because a subscription was made, at most one per topic per
// matching filter subscribed. More RETAIN=1 deliveries of a topic than
// filters the client subscribed to that match it are live forwards with
// RETAIN=1: certain, however the deliveries interleave with SUBACKs.
func (c *Checker) retainCheck(out []Finding, t time.Time, p *codec.Publish) []Finding {
	topic := string(p.Topic)
	c.retained[topic]++
	allowed := 0
	for _, f := range c.filters {
		if topics.Match(f, p.Topic) {
			allowed++
		}
	}
	if n := c.retained[topic]; n > allowed {
		return c.finding(out, t, BrokerToClient, ruleRetainLive,
			"PUBLISH topic=%q with RETAIN=1: delivery %d of a retained message for a topic matched by %d subscribed filter(s), so it is a live forward", topic, n, allowed)
	}
	return out
}
