package conformance

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// Capability is an optional broker feature a spec may need.
type Capability string

// Capabilities probed or declared.
const (
	CapQoS1               Capability = "qos1"
	CapQoS2               Capability = "qos2"
	CapRetain             Capability = "retain"
	CapWildcards          Capability = "wildcards"
	CapPersistentSessions Capability = "persistent-sessions"
	CapEmptyClientID      Capability = "empty-client-id"
	CapSys                Capability = "sys-topics"
	CapDollarPublish      Capability = "dollar-publish" // clients may publish to $-topics
	CapTLS                Capability = "tls"
	CapWebSocket          Capability = "websocket"
	CapAuth               Capability = "auth" // credentials given: authentication specs can run
)

var allCapabilities = []Capability{CapQoS1, CapQoS2, CapRetain, CapWildcards, CapPersistentSessions,
	CapEmptyClientID, CapSys, CapDollarPublish, CapTLS, CapWebSocket, CapAuth}

func knownCapability(c Capability) bool {
	for _, k := range allCapabilities {
		if k == c {
			return true
		}
	}
	return false
}

// Target is one broker the suite runs against.
type Target struct {
	// Name labels the target in reports ("reference", "mosquitto", or
	// the address).
	Name string
	// Banner is the broker's own name and version when it says
	// ($SYS/broker/version), found by Probe.
	Banner string
	// Addr is host:port of the plain MQTT listener.
	Addr    string
	Version codec.Version
	// Username and Password are sent in every CONNECT when set.
	Username, Password string
	// TLS, when set, is used for every connection (Addr is then a TLS
	// listener). TLSAddr, when set, is an extra TLS listener for the
	// tls-area specs.
	TLS     *tls.Config
	TLSAddr string
	// ClientTLS is the client configuration for TLSAddr (trusting the
	// broker's certificate); nil means the same as TLS.
	ClientTLS *tls.Config
	// WebSocketURL is a ws:// URL for the websocket-area specs.
	WebSocketURL string
	// Caps are the capabilities the target has; filled by Probe or a
	// profile.
	Caps map[Capability]bool
	// Why says, per capability found absent, how we know.
	Why map[Capability]string
	// Deviations are specs expected to fail on this target, by full spec
	// name, with the evidence; the gate accepts them.
	Deviations map[string]Deviation
	// Only, when set, runs only specs checking one of these statements
	// (used to prove that fault switches are caught).
	Only []string

	mu       sync.Mutex
	downMsg  string // set once the target stops answering
	prefix   string
	sequence int
}

// Deviation is a documented, accepted failure of one spec on one target.
type Deviation struct {
	Spec      string `json:"spec"`
	Statement string `json:"statement"`
	Evidence  string `json:"evidence"`
}

// Has reports whether the target has capability c.
func (t *Target) Has(c Capability) bool { return t.Caps[c] }

func (t *Target) setDown(msg string) {
	t.mu.Lock()
	if t.downMsg == "" {
		t.downMsg = msg
	}
	t.mu.Unlock()
}

func (t *Target) down() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.downMsg
}

// nextPrefix returns a fresh topic and client id prefix for one spec run.
func (t *Target) nextPrefix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.prefix == "" {
		var b [4]byte
		rand.Read(b[:])
		t.prefix = "mc" + hex.EncodeToString(b[:])
	}
	t.sequence++
	return fmt.Sprintf("%s%03d", t.prefix, t.sequence%1000)
}

// Profile declares a target's capabilities and expected deviations, for
// brokers whose features are known (or cannot be probed).
type Profile struct {
	Name string `json:"name"`
	// Capabilities overrides probed values: "qos2": false.
	Capabilities map[Capability]bool `json:"capabilities"`
	// Reasons explain absent capabilities, e.g. a documentation link.
	Reasons    map[Capability]string `json:"reasons"`
	Deviations []Deviation           `json:"deviations"`
}

// LoadProfile reads a JSON profile file.
func LoadProfile(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	var p Profile
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	for c := range p.Capabilities {
		if !knownCapability(c) {
			return nil, fmt.Errorf("profile %s: unknown capability %q", path, c)
		}
	}
	for _, d := range p.Deviations {
		if d.Spec == "" || d.Statement == "" || d.Evidence == "" {
			return nil, fmt.Errorf("profile %s: a deviation needs spec, statement and evidence: %+v", path, d)
		}
	}
	return &p, nil
}

// Apply applies the profile to the target.
func (p *Profile) Apply(t *Target) {
	if t.Caps == nil {
		t.Caps = map[Capability]bool{}
	}
	if t.Why == nil {
		t.Why = map[Capability]string{}
	}
	for c, v := range p.Capabilities {
		t.Caps[c] = v
		if !v {
			t.Why[c] = "declared absent by the profile"
			if r := p.Reasons[c]; r != "" {
				t.Why[c] += ": " + r
			}
		}
	}
	if t.Deviations == nil {
		t.Deviations = map[string]Deviation{}
	}
	for _, d := range p.Deviations {
		t.Deviations[d.Spec] = d
	}
}

// ErrUnreachable means the target could not be reached or refused the
// harness: the run cannot judge it.
var ErrUnreachable = errors.New("target unreachable")

// dial opens a probe connection to the target's main listener.
func (t *Target) dial(ctx context.Context, tr *probe.Transcript, label string) (*probe.Conn, error) {
	return probe.Dial(ctx, t.Addr, probe.Options{Label: label, Version: t.Version, TLS: t.TLS, Transcript: tr})
}

// connectPacket is a CONNECT with the target's version and credentials.
func (t *Target) connectPacket(id string, clean bool) *codec.Connect {
	c := &codec.Connect{ProtocolLevel: t.Version, ClientID: []byte(id), CleanSession: clean}
	if t.Username != "" {
		c.UsernameFlag, c.Username = true, []byte(t.Username)
	}
	if t.Password != "" {
		c.PasswordFlag, c.Password = true, []byte(t.Password)
	}
	return c
}

// Probe discovers the target's optional capabilities. An error wrapping
// ErrUnreachable means the suite cannot run against it.
func (t *Target) Probe(ctx context.Context, wait time.Duration) error {
	if t.Caps == nil {
		t.Caps = map[Capability]bool{}
	}
	if t.Why == nil {
		t.Why = map[Capability]string{}
	}
	if t.Version == 0 {
		t.Version = codec.V311
	}
	tr := probe.NewTranscript()
	pre := t.nextPrefix()
	absent := func(c Capability, why string) { t.Caps[c] = false; t.Why[c] = why }
	conn := func(label, id string, clean bool) (*probe.Conn, *codec.Connack, error) {
		c, err := t.dial(ctx, tr, label)
		if err != nil {
			return nil, nil, err
		}
		ack, err := c.Connect(ctx, t.connectPacket(id, clean), wait)
		if err != nil {
			c.Close()
			return nil, ack, err
		}
		return c, ack, nil
	}
	a, ack, err := conn("probe", pre+"a", true)
	if err != nil {
		var b strings.Builder
		tr.WriteText(&b)
		if ack != nil && (ack.ReturnCode == codec.ConnRefusedBadCredentials || ack.ReturnCode == codec.ConnRefusedNotAuthorized) {
			return fmt.Errorf("%w: %s refused the harness's CONNECT with return code %d (give --username/--password)\n%s", ErrUnreachable, t.Addr, ack.ReturnCode, b.String())
		}
		return fmt.Errorf("%w: %s: %v\n%s", ErrUnreachable, t.Addr, err, b.String())
	}
	defer a.Close()
	t.Caps[CapAuth] = t.Username != ""
	if !t.Caps[CapAuth] {
		t.Why[CapAuth] = "no credentials given (--username/--password)"
	}
	t.Caps[CapTLS] = t.TLSAddr != "" || t.TLS != nil
	if !t.Caps[CapTLS] {
		t.Why[CapTLS] = "no TLS listener given"
	}
	t.Caps[CapWebSocket] = t.WebSocketURL != ""
	if !t.Caps[CapWebSocket] {
		t.Why[CapWebSocket] = "no WebSocket URL given"
	}

	// QoS: what a SUBSCRIBE at QoS 2 is granted, then a round trip.
	topic := pre + "/probe/q"
	sub, err := a.Subscribe(ctx, wait, codec.Subscription{Filter: []byte(topic), Options: 2})
	granted := byte(0)
	if err == nil && len(sub.ReturnCodes) == 1 && sub.ReturnCodes[0] <= 2 {
		granted = sub.ReturnCodes[0]
	}
	t.Caps[CapQoS1], t.Caps[CapQoS2] = granted >= 1, granted >= 2
	if granted < 2 {
		t.Why[CapQoS2] = fmt.Sprintf("a QoS 2 subscription was granted QoS %d", granted)
	}
	if granted < 1 {
		t.Why[CapQoS1] = fmt.Sprintf("a QoS 2 subscription was granted QoS %d", granted)
	}

	// Wildcards.
	ws, err := a.Subscribe(ctx, wait, codec.Subscription{Filter: []byte(pre + "/probe/+/w/#"), Options: 0})
	t.Caps[CapWildcards] = err == nil && len(ws.ReturnCodes) == 1 && ws.ReturnCodes[0] != codec.SubackFailure
	if !t.Caps[CapWildcards] {
		absent(CapWildcards, "a SUBSCRIBE to a wildcard filter was refused")
	}

	// Retained: publish retained, read it from a second connection.
	rt := pre + "/probe/r"
	if _, err := a.Publish(ctx, &codec.Publish{Topic: []byte(rt), Payload: []byte("r"), Retain: true, QoS: min(granted, 1)}, wait); err == nil {
		if b, _, err := conn("probe2", pre+"b", true); err == nil {
			if _, err := b.Subscribe(ctx, wait, codec.Subscription{Filter: []byte(rt)}); err == nil {
				_, err := b.Expect(ctx, wait, "retained message", func(r *probe.Received) bool {
					p, ok := r.Packet.(*codec.Publish)
					return ok && string(p.Topic) == rt && p.Retain
				})
				t.Caps[CapRetain] = err == nil
			}
			b.Disconnect()
		}
		a.Publish(ctx, &codec.Publish{Topic: []byte(rt), Retain: true}, wait)
	}
	if !t.Caps[CapRetain] {
		absent(CapRetain, "a retained message was not sent to a later subscriber")
	}

	// Persistent sessions: a subscription made with CleanSession=0 must
	// survive a reconnect. Session Present alone is not trusted: a broker
	// that keeps sessions but misreports the flag is judged by the specs.
	pid := pre + "p"
	ptopic := pre + "/probe/p"
	if p, _, err := conn("probe3", pid, false); err == nil {
		if _, err := p.Subscribe(ctx, wait, codec.Subscription{Filter: []byte(ptopic), Options: min(granted, 1)}); err == nil {
			p.Disconnect()
			if p2, _, err := conn("probe4", pid, false); err == nil {
				a.Publish(ctx, &codec.Publish{Topic: []byte(ptopic), Payload: []byte("p"), QoS: min(granted, 1)}, wait)
				_, err := p2.Expect(ctx, wait, "message on the stored subscription", probe.IsPublish(ptopic))
				t.Caps[CapPersistentSessions] = err == nil
				p2.Disconnect()
			}
		} else {
			p.Disconnect()
		}
		if p3, _, err := conn("probe5", pid, true); err == nil {
			p3.Disconnect()
		}
	}
	if !t.Caps[CapPersistentSessions] {
		absent(CapPersistentSessions, "a subscription made with CleanSession=0 did not survive a reconnect")
	}

	// Zero-length client ids (allowed, not required: MQTT-3.1.3-6).
	if e, _, err := conn("probe6", "", true); err == nil {
		t.Caps[CapEmptyClientID] = true
		e.Disconnect()
	} else {
		absent(CapEmptyClientID, "a zero-length client id was refused")
	}

	// $SYS topics, and whether clients may publish to other $ topics.
	if _, err := a.Subscribe(ctx, wait, codec.Subscription{Filter: []byte("$SYS/#")}); err == nil {
		_, err := a.Expect(ctx, wait, "$SYS message", func(r *probe.Received) bool {
			p, ok := r.Packet.(*codec.Publish)
			return ok && strings.HasPrefix(string(p.Topic), "$SYS/")
		})
		t.Caps[CapSys] = err == nil
		if err == nil {
			// Brokers that publish $SYS/broker/version (mosquitto, the
			// reference broker) name themselves there.
			if r, err := a.Expect(ctx, min(wait, time.Second), "$SYS/broker/version", probe.IsPublish("$SYS/broker/version")); err == nil {
				t.Banner = string(r.Packet.(*codec.Publish).Payload)
			}
		}
	}
	if !t.Caps[CapSys] {
		absent(CapSys, "no $SYS message arrived after subscribing to $SYS/#")
	}
	dt := "$" + pre + "/probe"
	if _, err := a.Subscribe(ctx, wait, codec.Subscription{Filter: []byte(dt)}); err == nil {
		a.Publish(ctx, &codec.Publish{Topic: []byte(dt), Payload: []byte("d")}, wait)
		_, err := a.Expect(ctx, wait, "$ topic message", probe.IsPublish(dt))
		t.Caps[CapDollarPublish] = err == nil
	}
	if !t.Caps[CapDollarPublish] {
		absent(CapDollarPublish, "a message published to a $-topic was not delivered")
	}
	a.Disconnect()
	return nil
}

// CapabilityLines renders the capabilities for people, sorted.
func (t *Target) CapabilityLines() []string {
	var out []string
	for _, c := range allCapabilities {
		if t.Caps[c] {
			out = append(out, string(c)+": yes")
		} else {
			out = append(out, string(c)+": no ("+t.Why[c]+")")
		}
	}
	sort.Strings(out)
	return out
}

// WebSocketDialer returns a probe dialer that tunnels MQTT over a
// WebSocket connection offering the "mqtt" subprotocol. A wss:// URL uses
// tlsConf (nil: the system roots).
func WebSocketDialer(url string, tlsConf *tls.Config, onResponse func(subprotocol string)) func(ctx context.Context, _, _ string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		opts := &websocket.DialOptions{Subprotocols: []string{"mqtt"}}
		if tlsConf != nil {
			opts.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf}}
		}
		c, resp, err := websocket.Dial(ctx, url, opts)
		if err != nil {
			return nil, fmt.Errorf("websocket dial %s: %w", url, err)
		}
		if onResponse != nil {
			onResponse(resp.Header.Get("Sec-WebSocket-Protocol"))
		}
		return websocket.NetConn(context.Background(), c, websocket.MessageBinary), nil
	}
}
