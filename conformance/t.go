package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mqtt-check/mqtt-check/capture"
	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// T is what a spec body works with: connections to the target that share
// one transcript, unique names, and the three ways a spec can end
// besides passing: Fail (the broker broke the rule), CouldNotCheck (the
// setup failed, so the rule was not judged) and, for SHOULD/MAY specs,
// a finding reported as information.
type T struct {
	ctx    context.Context
	Target *Target
	spec   *Spec
	cfg    Config
	prefix string
	tr     *probe.Transcript
	conns  []*Client
	n      int

	retained   map[string]bool // topics to clear afterwards
	persistent map[string]bool // client ids whose sessions to end afterwards
	notes      []string
}

// abort ends a spec body early with an outcome.
type abort struct {
	kind    outcome
	message string
}

type outcome int

const (
	passed outcome = iota
	failed
	couldNotCheck
	skipped
)

// Context is cancelled when the spec times out or the run is interrupted.
func (t *T) Context() context.Context { return t.ctx }

// Version is the protocol level under test.
func (t *T) Version() codec.Version { return t.Target.Version }

// Wait is the deadline for anything the broker must do promptly.
func (t *T) Wait() time.Duration { return t.cfg.Wait }

// Quiet is how long a spec waits to conclude that something does not
// happen.
func (t *T) Quiet() time.Duration { return t.cfg.Quiet }

// Topic returns a topic name unique to this spec run.
func (t *T) Topic(name string) string { return t.prefix + "/" + name }

// ClientID returns a client identifier unique to this spec run, at most
// 23 alphanumeric characters so every broker must accept it
// (MQTT-3.1.3-5).
func (t *T) ClientID(name string) string {
	id := t.prefix + name
	if len(id) > 23 {
		id = id[:23]
	}
	return id
}

// Note records an observation shown with the spec's result.
func (t *T) Note(format string, args ...any) {
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

// Fail ends the spec: the broker did not do what the statement requires.
// expected says what the statement requires, happened what was seen.
func (t *T) Fail(expected, happened string) {
	panic(&abort{failed, "expected: " + expected + "\nhappened: " + happened})
}

// Check fails the spec unless ok.
func (t *T) Check(ok bool, expected, happened string) {
	if !ok {
		t.Fail(expected, happened)
	}
}

// CouldNotCheck ends the spec without a verdict on its rule: a setup step
// failed (could not connect, subscribe...).
func (t *T) CouldNotCheck(format string, args ...any) {
	panic(&abort{couldNotCheck, fmt.Sprintf(format, args...)})
}

// Setup ends the spec as "could not check" if err is set.
func (t *T) Setup(err error, what string) {
	if err != nil {
		t.CouldNotCheck("%s: %v", what, err)
	}
}

// Skip ends the spec with a skip verdict and reason: it does not apply to
// this target (for example a capability the spec is not for is present).
func (t *T) Skip(format string, args ...any) {
	panic(&abort{skipped, fmt.Sprintf(format, args...)})
}

func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}

// Client is a probe connection owned by a spec.
type Client struct {
	*probe.Conn
	t  *T
	ID string
}

// Dial opens a connection without sending anything.
func (t *T) Dial(label string) *Client {
	t.n++
	if label == "" {
		label = fmt.Sprintf("c%d", t.n)
	}
	c, err := t.Target.dial(t.ctx, t.tr, label)
	if err != nil && isRefused(err) {
		// The main listener refusing connections means the broker went
		// away: the specs after this one cannot check anything.
		t.Target.setDown(fmt.Sprintf("%s refused connections during %q: %v", t.Target.Addr, t.spec.FullName(), err))
	}
	t.Setup(err, "connecting to "+t.Target.Addr)
	cl := &Client{Conn: c, t: t}
	t.conns = append(t.conns, cl)
	return cl
}

// ConnectPacket returns a CONNECT for the target (version, credentials).
func (t *T) ConnectPacket(id string, clean bool) *codec.Connect {
	return t.Target.connectPacket(id, clean)
}

// Connect dials and connects with a fresh client id and a clean session;
// edit changes the CONNECT first. A refusal is "could not check".
func (t *T) Connect(label string, edit ...func(*codec.Connect)) *Client {
	c := t.Dial(label)
	p := t.ConnectPacket(t.ClientID(c.Label()), true)
	for _, e := range edit {
		e(p)
	}
	c.MustConnect(p)
	return c
}

// MustConnect sends p and requires an accepting CONNACK (setup).
func (c *Client) MustConnect(p *codec.Connect) *codec.Connack {
	c.ID = string(p.ClientID)
	if !p.CleanSession {
		c.t.persistent[c.ID] = true
	}
	ack, err := c.Conn.Connect(c.t.ctx, p, c.t.cfg.Wait)
	c.t.Setup(err, "CONNECT")
	return ack
}

// Subscribe subscribes to filter (setup) and returns the granted code.
func (c *Client) Subscribe(filter string, qos byte) byte {
	ack, err := c.Conn.Subscribe(c.t.ctx, c.t.cfg.Wait, codec.Subscription{Filter: []byte(filter), Options: qos})
	c.t.Setup(err, "SUBSCRIBE "+filter)
	if len(ack.ReturnCodes) != 1 || ack.ReturnCodes[0] == codec.SubackFailure {
		c.t.CouldNotCheck("SUBSCRIBE %s was refused: SUBACK %x", filter, ack.ReturnCodes)
	}
	return ack.ReturnCodes[0]
}

// Publish publishes and completes the QoS flow (setup).
func (c *Client) Publish(topic, payload string, qos byte, retain bool) {
	if retain {
		c.t.retained[topic] = true
	}
	_, err := c.Conn.Publish(c.t.ctx, &codec.Publish{Topic: []byte(topic), Payload: []byte(payload), QoS: qos, Retain: retain}, c.t.cfg.Wait)
	c.t.Setup(err, "PUBLISH to "+topic)
}

// NextPublish waits up to d for a PUBLISH on topic; nil, err if none.
func (c *Client) NextPublish(topic string, d time.Duration) (*codec.Publish, error) {
	r, err := c.Expect(c.t.ctx, d, "PUBLISH on "+topic, probe.IsPublish(topic))
	if err != nil {
		return nil, err
	}
	return r.Packet.(*codec.Publish), nil
}

// ExpectPublish requires a PUBLISH on topic within Wait; rule says what
// the statement under test requires, for the failure message.
func (c *Client) ExpectPublish(topic, rule string) *codec.Publish {
	p, err := c.NextPublish(topic, c.t.cfg.Wait)
	if err != nil {
		c.t.Fail(rule, err.Error())
	}
	return p
}

// ExpectNoPublish requires that no PUBLISH on topic arrives within Quiet.
func (c *Client) ExpectNoPublish(topic, rule string) {
	if err := c.ExpectNothing(c.t.ctx, c.t.cfg.Quiet, probe.IsPublish(topic)); err != nil {
		c.t.Fail(rule, err.Error())
	}
}

// ExpectClosed requires the broker to close the connection within d.
func (c *Client) ExpectClosed(d time.Duration, rule string) {
	if err := c.Conn.ExpectClosed(c.t.ctx, d); err != nil {
		c.t.Fail(rule, err.Error())
	}
}

// ExpectOpen requires the connection to stay usable: a PINGREQ is
// answered within Wait.
func (c *Client) ExpectOpen(rule string) {
	if err := c.Ping(c.t.ctx, c.t.cfg.Wait); err != nil {
		c.t.Fail(rule, err.Error())
	}
}

// Ack sends PUBACK, PUBREC, PUBREL or PUBCOMP.
func (c *Client) Ack(typ codec.Type, id uint16) {
	c.t.Setup(c.Send(&codec.Ack{PacketType: typ, PacketID: id}), "sending "+typ.String())
}

// Complete acknowledges a received PUBLISH per its QoS.
func (c *Client) Complete(p *codec.Publish) {
	switch p.QoS {
	case 1:
		c.Ack(codec.PUBACK, p.PacketID)
	case 2:
		c.Ack(codec.PUBREC, p.PacketID)
		_, err := c.Expect(c.t.ctx, c.t.cfg.Wait, "PUBREL", probe.IsAck(codec.PUBREL, p.PacketID))
		c.t.Setup(err, "QoS 2 flow")
		c.Ack(codec.PUBCOMP, p.PacketID)
	}
}

// Retained records a topic the spec left a retained message on.
func (t *T) Retained(topic string) { t.retained[topic] = true }

// Persistent records a client id whose session the spec left behind.
func (t *T) Persistent(id string) { t.persistent[id] = true }

// cleanup closes connections and removes what the spec left on the
// target: retained messages are cleared, persistent sessions ended, so
// the suite can run against a shared broker.
func (t *T) cleanup() {
	for _, c := range t.conns {
		c.Close()
	}
	if len(t.retained) == 0 && len(t.persistent) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), 5*time.Second)
	defer cancel()
	tr := probe.NewTranscript()
	if len(t.retained) > 0 {
		if c, err := t.Target.dial(ctx, tr, "cleanup"); err == nil {
			if _, err := c.Connect(ctx, t.ConnectPacket(t.ClientID("cleanup"), true), t.cfg.Wait); err == nil {
				for topic := range t.retained {
					c.Publish(ctx, &codec.Publish{Topic: []byte(topic), Retain: true, QoS: 1}, t.cfg.Wait)
				}
				c.Disconnect()
			}
			c.Close()
		}
	}
	for id := range t.persistent {
		if c, err := t.Target.dial(ctx, tr, "cleanup"); err == nil {
			if _, err := c.Connect(ctx, t.ConnectPacket(id, true), t.cfg.Wait); err == nil {
				c.Disconnect()
			}
			c.Close()
		}
	}
}

// transcript renders the spec's wire transcript.
func (t *T) transcript() string {
	var b strings.Builder
	t.tr.WriteText(&b)
	return b.String()
}

// writePcap writes the spec's transcript as a pcap file in dir and
// returns its path.
func (t *T) writePcap(dir string) (string, error) {
	name := filepath.Join(dir, pcapName(t.Target.Name, t.spec.FullName()))
	f, err := os.Create(name)
	if err != nil {
		return "", fmt.Errorf("pcap: %w", err)
	}
	werr := capture.WriteTranscript(f, t.tr.Entries(), capture.PcapOptions{})
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", fmt.Errorf("pcap %s: %w", name, werr)
	}
	return name, nil
}

// pcapName makes a file name from a target and spec name: letters,
// digits, '.' and '-' kept, everything else '_', bounded in length.
func pcapName(target, spec string) string {
	clean := func(s string, n int) string {
		b := []byte(s)
		for i, c := range b {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
				b[i] = '_'
			}
		}
		if len(b) > n {
			b = b[:n]
		}
		return string(b)
	}
	return clean(target, 40) + "--" + clean(spec, 120) + ".pcap"
}
