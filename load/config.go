package load

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
)

// Scenario names.
const (
	FanIn         = "fan-in"
	FanOut        = "fan-out"
	Pairs         = "pairs"
	Shared        = "shared"
	Wildcard      = "wildcard"
	ConnectStorm  = "connect-storm"
	Idle          = "idle"
	Churn         = "churn"
	RetainedStorm = "retained"
)

// Scenarios lists every scenario with a one-line description, in the
// order help shows them.
var Scenarios = []struct{ Name, Summary string }{
	{FanIn, "many publishers, few subscribers (default 1) on a wildcard over the publishers' topics"},
	{FanOut, "few publishers (default 1), many subscribers each receiving every message"},
	{Pairs, "each publisher has its own subscriber and topic"},
	{Shared, "every client publishes and subscribes on one topic"},
	{Wildcard, "subscribers on + and # filters over a topic tree"},
	{ConnectStorm, "connect at --connect-rate until --clients; connect latency and failures"},
	{Idle, "hold --clients connections with keepalive; what they cost the harness"},
	{Churn, "persistent-session subscribers disconnect and reconnect, draining what was queued"},
	{RetainedStorm, "subscribe storm onto --topics retained topics"},
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("load: invalid configuration")

// Config is a scenario and how to run it. The zero value of a field
// means its default (see Defaults).
type Config struct {
	// Scenario is one of the scenario names.
	Scenario string `json:"scenario"`
	// Target is host:port of the broker (or, with WebSocket set, the
	// ws:// or wss:// URL).
	Target string `json:"target"`
	// WebSocket dials Target as a WebSocket URL (subprotocol "mqtt").
	WebSocket bool `json:"websocket,omitempty"`
	// TLS, when set, makes every connection TLS (wss for WebSocket).
	TLS *tls.Config `json:"-"`
	// Version is the protocol: codec.V311 (default), codec.V31 or
	// codec.V5.
	Version codec.Version `json:"-"`
	// Username and Password are sent in every CONNECT when set.
	Username *string `json:"username,omitempty"`
	Password *string `json:"password,omitempty"`

	// Clients is the number of simulated clients (default 100).
	Clients int `json:"clients,omitempty"`
	// Publishers and Subscribers override the scenario's split of
	// Clients.
	Publishers  int `json:"publishers,omitempty"`
	Subscribers int `json:"subscribers,omitempty"`
	// QoS lists the publishers' QoS levels, assigned round-robin (a mix
	// when more than one; default [0]).
	QoS []byte `json:"qos,omitempty"`
	// SubQoS is the QoS subscriptions ask for (default: the highest of
	// QoS, so every message arrives at its published QoS).
	SubQoS int `json:"sub_qos,omitempty"`
	// Payload is the payload size in bytes (default 64, at least the
	// 36-byte header).
	Payload int `json:"payload,omitempty"`
	// Rate is the target total publish rate, messages per second over
	// all publishers (default 1000). Ignored when ClosedLoop.
	Rate float64 `json:"rate,omitempty"`
	// ClosedLoop makes publishers send as fast as acknowledgements (QoS
	// 1/2) or the socket (QoS 0) allow, instead of on a schedule.
	ClosedLoop bool `json:"closed_loop,omitempty"`
	// Duration of the publishing phase (default 10s); with Count set,
	// the run ends at whichever comes first.
	Duration time.Duration `json:"-"`
	// Count, when set, is the total number of messages to publish.
	Count int64 `json:"count,omitempty"`
	// RampUp makes the publish rate grow linearly from 0 to Rate over
	// this long (part of Duration).
	RampUp time.Duration `json:"-"`
	// ConnectRate is connections per second while connecting (default:
	// as fast as ConnectConcurrency allows; connect-storm: 1000/s).
	ConnectRate float64 `json:"connect_rate,omitempty"`
	// ConnectConcurrency bounds connection attempts in progress (default
	// 256).
	ConnectConcurrency int `json:"connect_concurrency,omitempty"`
	// KeepAlive is the MQTT keepalive (default 60s; 0 via NoKeepAlive).
	KeepAlive   time.Duration `json:"-"`
	NoKeepAlive bool          `json:"no_keepalive,omitempty"`
	// Persistent makes sessions persistent (Clean Session 0); churn
	// always uses persistent subscriber sessions.
	Persistent bool `json:"persistent,omitempty"`
	// Inflight is each publisher's window of unacknowledged QoS 1/2
	// messages (default 64).
	Inflight int `json:"inflight,omitempty"`
	// Topics is the number of topics: retained topics (retained, default
	// 1000), leaves of the topic tree (wildcard: Branching^3).
	Topics int `json:"topics,omitempty"`
	// Branching is the wildcard topic tree's fan-out per level (default 4).
	Branching int `json:"branching,omitempty"`
	// TopicPrefix starts every topic (default "mqtt-check/load"); the run
	// ID and shard follow it.
	TopicPrefix string `json:"topic_prefix,omitempty"`
	// ChurnOnline and ChurnOffline are how long churn subscribers stay
	// connected and away in each cycle (defaults 2s and 500ms).
	ChurnOnline  time.Duration `json:"-"`
	ChurnOffline time.Duration `json:"-"`
	// Drain bounds how long the run waits, after publishing ends, for
	// the backlog, acknowledgements and deliveries (default 10s).
	Drain time.Duration `json:"-"`
	// Interval is the length of the progress and histogram intervals
	// (default 1s).
	Interval time.Duration `json:"-"`
	// SourceIPs are local addresses connections are bound to, round
	// robin, to get past one address's ephemeral ports.
	SourceIPs []net.IP `json:"-"`
	// Shard and Shards select this process's slice (Shards 0 or 1: all).
	Shard  int `json:"-"`
	Shards int `json:"-"`
	// RunID names the run in topics and client IDs (default random).
	RunID string `json:"run_id,omitempty"`
	// Label names the run in reports.
	Label string `json:"label,omitempty"`
	// Tool is recorded in the result.
	Tool string `json:"-"`
	// Progress, when set, is called after every interval.
	Progress func(Progress) `json:"-"`
	// Logf, when set, receives notes as they happen.
	Logf func(format string, args ...any) `json:"-"`
}

// Progress is the live view after each interval.
type Progress struct {
	Elapsed            time.Duration
	Phase              string
	Connected          int64
	SentPerS, RecvPerS float64
	P50, P99           time.Duration // end-to-end latency over the interval
	Errors             int64         // since the start
}

// Defaults fills the zero fields of c.
func (c *Config) Defaults() {
	if c.Scenario == "" {
		c.Scenario = Pairs
	}
	if c.Version == 0 {
		c.Version = codec.V311
	}
	if c.Clients <= 0 {
		c.Clients = 100
	}
	if len(c.QoS) == 0 {
		c.QoS = []byte{0}
		if c.Scenario == Churn {
			c.QoS = []byte{1}
		}
	}
	if c.SubQoS <= 0 {
		for _, q := range c.QoS {
			c.SubQoS = max(c.SubQoS, int(q))
		}
	}
	if c.Payload <= 0 {
		c.Payload = 64
	}
	c.Payload = max(c.Payload, HeaderSize)
	if c.Rate <= 0 {
		c.Rate = 1000
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.ConnectConcurrency <= 0 {
		c.ConnectConcurrency = 256
	}
	if c.ConnectRate <= 0 && c.Scenario == ConnectStorm {
		c.ConnectRate = 1000
	}
	if c.KeepAlive <= 0 && !c.NoKeepAlive {
		c.KeepAlive = 60 * time.Second
	}
	if c.NoKeepAlive {
		c.KeepAlive = 0
	}
	if c.Inflight <= 0 {
		c.Inflight = 64
	}
	if c.Branching <= 0 {
		c.Branching = 4
	}
	if c.Topics <= 0 {
		switch c.Scenario {
		case RetainedStorm:
			c.Topics = 1000
		case Wildcard:
			c.Topics = c.Branching * c.Branching * c.Branching
		}
	}
	if c.TopicPrefix == "" {
		c.TopicPrefix = "mqtt-check/load"
	}
	c.TopicPrefix = strings.TrimRight(c.TopicPrefix, "/")
	if c.ChurnOnline <= 0 {
		c.ChurnOnline = 2 * time.Second
	}
	if c.ChurnOffline <= 0 {
		c.ChurnOffline = 500 * time.Millisecond
	}
	if c.Drain <= 0 {
		c.Drain = 10 * time.Second
	}
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Shards <= 0 {
		c.Shards = 1
	}
	if c.RunID == "" {
		c.RunID = newRunID()
	}
}

// Validate reports the first problem of a defaulted configuration.
func (c *Config) Validate() error {
	known := false
	for _, s := range Scenarios {
		known = known || s.Name == c.Scenario
	}
	switch {
	case !known:
		return fmt.Errorf("%w: unknown scenario %q", ErrConfig, c.Scenario)
	case c.Target == "":
		return fmt.Errorf("%w: no target", ErrConfig)
	case c.Shard < 0 || c.Shard >= c.Shards:
		return fmt.Errorf("%w: shard %d of %d", ErrConfig, c.Shard, c.Shards)
	case c.SubQoS > 2:
		return fmt.Errorf("%w: subscription QoS %d", ErrConfig, c.SubQoS)
	case c.Scenario == Churn && slicesContain(c.QoS, 0):
		return fmt.Errorf("%w: churn needs QoS 1 or 2: brokers do not queue QoS 0 messages for offline sessions", ErrConfig)
	case c.Version != codec.V31 && c.Version != codec.V311 && c.Version != codec.V5:
		return fmt.Errorf("%w: protocol level %d", ErrConfig, c.Version)
	case c.Payload > 256<<20:
		return fmt.Errorf("%w: payload of %d bytes", ErrConfig, c.Payload)
	case c.Inflight > 65535:
		return fmt.Errorf("%w: inflight window %d (at most 65535)", ErrConfig, c.Inflight)
	case c.RampUp > c.Duration:
		return fmt.Errorf("%w: ramp-up %v is longer than the duration %v", ErrConfig, c.RampUp, c.Duration)
	}
	for _, q := range c.QoS {
		if q > 2 {
			return fmt.Errorf("%w: QoS %d", ErrConfig, q)
		}
	}
	return nil
}

func slicesContain(s []byte, v byte) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// ParseQoS reads "0", "1", "2" or a mix such as "0,1,2" or "mix".
func ParseQoS(s string) ([]byte, error) {
	if s == "mix" {
		return []byte{0, 1, 2}, nil
	}
	var out []byte
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n > 2 {
			return nil, fmt.Errorf("%w: QoS %q (want 0, 1, 2, a list such as 0,1 or mix)", ErrConfig, f)
		}
		out = append(out, byte(n))
	}
	return out, nil
}

// ParseVersion reads "3.1", "3.1.1", "5" or "5.0".
func ParseVersion(s string) (codec.Version, error) {
	switch s {
	case "3.1":
		return codec.V31, nil
	case "3.1.1", "":
		return codec.V311, nil
	case "5", "5.0":
		return codec.V5, nil
	}
	return 0, fmt.Errorf("%w: protocol %q (want 3.1.1, 3.1 or 5)", ErrConfig, s)
}

// fileConfig is the JSON form of a scenario file: Config's JSON fields
// plus durations as strings ("30s") and the protocol by name.
type fileConfig struct {
	Config
	Protocol     string `json:"protocol,omitempty"`
	QoSText      any    `json:"qos,omitempty"`
	Duration     string `json:"duration,omitempty"`
	RampUp       string `json:"ramp_up,omitempty"`
	KeepAlive    string `json:"keepalive,omitempty"`
	ChurnOnline  string `json:"churn_online,omitempty"`
	ChurnOffline string `json:"churn_offline,omitempty"`
	Drain        string `json:"drain,omitempty"`
	Interval     string `json:"interval,omitempty"`
	SourceIP     string `json:"source_ip,omitempty"`
}

// LoadFile reads a scenario file (JSON) into c; fields the file leaves
// out keep their value. Unknown fields are an error, so a typo does not
// silently fall back to a default.
func LoadFile(path string, c *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("load: scenario file: %w", err)
	}
	return ParseFile(b, c)
}

// ParseFile is LoadFile on the file's contents.
func ParseFile(b []byte, c *Config) error {
	fc := fileConfig{Config: *c}
	fc.Config.QoS = nil
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return fmt.Errorf("%w: scenario file: %w", ErrConfig, err)
	}
	// Fields tagged json:"-" came through the copy untouched; qos is
	// read below, from its textual forms.
	keepQoS := c.QoS
	*c = fc.Config
	c.QoS = keepQoS
	var err error
	if fc.Protocol != "" {
		if c.Version, err = ParseVersion(fc.Protocol); err != nil {
			return err
		}
	}
	switch q := fc.QoSText.(type) {
	case nil:
	case float64:
		c.QoS, err = ParseQoS(strconv.Itoa(int(q)))
	case string:
		c.QoS, err = ParseQoS(q)
	case []any:
		var parts []string
		for _, x := range q {
			parts = append(parts, fmt.Sprint(x))
		}
		c.QoS, err = ParseQoS(strings.Join(parts, ","))
	default:
		err = fmt.Errorf("%w: qos must be a number, a string or a list", ErrConfig)
	}
	if err != nil {
		return err
	}
	for _, d := range []struct {
		s   string
		dst *time.Duration
	}{{fc.Duration, &c.Duration}, {fc.RampUp, &c.RampUp}, {fc.KeepAlive, &c.KeepAlive},
		{fc.ChurnOnline, &c.ChurnOnline}, {fc.ChurnOffline, &c.ChurnOffline}, {fc.Drain, &c.Drain}, {fc.Interval, &c.Interval}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil {
			return fmt.Errorf("%w: scenario file: %w", ErrConfig, err)
		}
		*d.dst = v
	}
	if fc.SourceIP != "" {
		if c.SourceIPs, err = ParseSourceIPs(fc.SourceIP); err != nil {
			return err
		}
	}
	return nil
}

// ParseShard reads "i/N", "env/N" or "env". "env" takes the index from
// JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) and, without "/N", the
// count from MQTT_CHECK_SHARDS.
func ParseShard(s string) (index, count int, err error) {
	idx, cnt, ok := strings.Cut(s, "/")
	if idx == "env" {
		v := os.Getenv("JOB_COMPLETION_INDEX")
		if v == "" {
			return 0, 0, fmt.Errorf("%w: --shard env: JOB_COMPLETION_INDEX is not set", ErrConfig)
		}
		idx = v
		if !ok {
			cnt, ok = os.Getenv("MQTT_CHECK_SHARDS"), true
			if cnt == "" {
				return 0, 0, fmt.Errorf("%w: --shard env: give the count (env/N) or set MQTT_CHECK_SHARDS", ErrConfig)
			}
		}
	}
	if !ok {
		return 0, 0, fmt.Errorf("%w: shard %q (want i/N, env/N or env)", ErrConfig, s)
	}
	index, err1 := strconv.Atoi(idx)
	count, err2 := strconv.Atoi(cnt)
	if err1 != nil || err2 != nil || count < 1 || index < 0 || index >= count {
		return 0, 0, fmt.Errorf("%w: shard %q (want i/N with 0 <= i < N)", ErrConfig, s)
	}
	return index, count, nil
}

// ParseSourceIPs reads a comma-separated list of addresses and CIDR
// blocks (e.g. "127.0.0.2,127.0.1.0/24"). A block contributes its host
// addresses (without network and broadcast addresses for blocks larger
// than /31), at most 65536 in all.
func ParseSourceIPs(s string) ([]net.IP, error) {
	var out []net.IP
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			ip := net.ParseIP(f)
			if ip == nil {
				return nil, fmt.Errorf("%w: source address %q", ErrConfig, f)
			}
			out = append(out, ip)
			continue
		}
		ip, n, err := net.ParseCIDR(f)
		if err != nil {
			return nil, fmt.Errorf("%w: source block %q: %w", ErrConfig, f, err)
		}
		ip4 := ip.Mask(n.Mask).To4()
		if ip4 == nil {
			return nil, fmt.Errorf("%w: source block %q: IPv4 only", ErrConfig, f)
		}
		ones, bits := n.Mask.Size()
		size := uint64(1) << (bits - ones)
		base := uint64(ip4[0])<<24 | uint64(ip4[1])<<16 | uint64(ip4[2])<<8 | uint64(ip4[3])
		lo, hi := uint64(0), size
		if size > 2 {
			lo, hi = 1, size-1
		}
		for i := lo; i < hi; i++ {
			if len(out) >= 65536 {
				return nil, fmt.Errorf("%w: more than 65536 source addresses", ErrConfig)
			}
			v := base + i
			out = append(out, net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no source address in %q", ErrConfig, s)
	}
	return out, nil
}
