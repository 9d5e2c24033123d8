// The load test document: what one run of `mqtt-check load` measured,
// as written to result.json (schema "mqtt-check/load-result/v1",
// described field by field in SCHEMA-load.md).
//
// It lives here, not in package load, for the reason ConformanceDoc
// does: this package imports no code of the module (see
// TestImportsNoProtocolCode), so a renderer can never depend on how a
// result was produced. Package load builds a LoadResult and imports
// nothing else from here; the merge of shards (load_merge.go) and the
// SLO verdict (load_slo.go) work on documents alone, so `mqtt-check
// load merge` and `mqtt-check report load` need no load engine.
//
// Latency values are recorded in nanoseconds in HdrHistogram form and
// kept in the document as the V2 compressed, base64 encoding that .hlog
// lines carry, so that shards merge by adding histograms, never by
// averaging percentiles. The summary figures beside each encoding are in
// milliseconds and are recomputed from the histogram after a merge.

package reports

import (
	"fmt"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// LoadSchema identifies the document format; it changes when a field changes
// meaning.
const LoadSchema = "mqtt-check/load-result/v1"

// Latency metric names, the keys of LoadResult.Latency and LoadInterval.Latency.
const (
	// MetricE2E is end-to-end latency from the INTENDED send time (the
	// pacer's schedule) to receipt: a broker that stalls, or a publisher
	// held back by a full inflight window, shows up here.
	MetricE2E = "e2e"
	// MetricService is from the actual send (just before the PUBLISH is
	// written) to receipt.
	MetricService = "service"
	// MetricConnect is TCP (+TLS/WebSocket) connection plus CONNACK. In the
	// connect-storm scenario it is measured from the scheduled connect
	// time.
	MetricConnect = "connect"
	// MetricSuback is SUBSCRIBE to SUBACK.
	MetricSuback = "suback"
	// MetricPuback is QoS 1 PUBLISH written to PUBACK read.
	MetricPuback = "puback"
	// MetricPubcomp is QoS 2 PUBLISH written to PUBCOMP read.
	MetricPubcomp = "pubcomp"
	// MetricRetained is SUBSCRIBE sent to each retained message read
	// (retained scenario).
	MetricRetained = "retained"
	// MetricSendLag is how late publishers sent each message (actual minus
	// intended send time): the harness's own lateness, the part of MetricE2E
	// that MetricService leaves out. Large values mean the publishers were
	// held back (full inflight window, blocked socket) or the harness
	// could not keep up.
	MetricSendLag = "send_lag"
)

// LatencyMetrics lists the latency metrics in display order.
var LatencyMetrics = []string{MetricE2E, MetricService, MetricConnect, MetricSuback, MetricPuback, MetricPubcomp, MetricRetained, MetricSendLag}

// Histogram geometry shared by every latency histogram: nanoseconds, 1µs
// to 1h, 3 significant digits. Equal geometry is what makes merges exact.
const (
	LatencyLowestNs  = int64(time.Microsecond)
	LatencyHighestNs = int64(time.Hour)
	LatencySigFigs   = 3
)

// NewLatencyHistogram returns an empty latency histogram with the shared
// geometry.
func NewLatencyHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(LatencyLowestNs, LatencyHighestNs, LatencySigFigs)
}

// LoadResult is one run's document (or the merge of several shards' runs).
type LoadResult struct {
	// Schema is always the constant LoadSchema.
	Schema string `json:"schema"`
	// Tool is the mqtt-check version that measured it.
	Tool string `json:"tool,omitempty"`
	// RunID names the run (it is part of every topic and client ID).
	RunID string `json:"run_id"`
	// Label is a free text name for comparisons (--label); defaults to
	// scenario and rate.
	Label string `json:"label,omitempty"`
	// Scenario is the scenario name (fan-in, pairs, idle...).
	Scenario string `json:"scenario"`
	// Target is the broker address (or URL for WebSocket).
	Target string `json:"target"`
	// Config is the scenario as run.
	Config LoadConfig `json:"config"`
	// Shard is which slice of the clients this process ran; Count 1 for
	// an unsharded run. After a merge, Index is -1 and MergedShards lists
	// what went in.
	Shard        LoadShard   `json:"shard"`
	MergedShards []LoadShard `json:"merged_shards,omitempty"`

	// Start and End bound the whole run (connect to disconnect).
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// PublishStart and PublishEnd bound the measured publishing phase;
	// rates divide by its length.
	PublishStart time.Time `json:"publish_start"`
	PublishEnd   time.Time `json:"publish_end"`

	// Counters is the exact delivery accounting of the whole run;
	// ByQoS and ByTopic break it down (ByTopic may be cut to the topics
	// with anomalies, see TopicsOmitted).
	Counters      LoadCounters        `json:"counters"`
	ByQoS         []LoadQoSCounters   `json:"by_qos,omitempty"`
	ByTopic       []LoadTopicCounters `json:"by_topic,omitempty"`
	TopicsOmitted int                 `json:"topics_omitted,omitempty"`

	// Connections counts connection attempts and their fate.
	Connections LoadConnections `json:"connections"`
	// Errors counts failures by kind, sorted by kind.
	Errors []LoadErrorCount `json:"errors,omitempty"`

	// Latency holds the whole-run histogram of each metric that has
	// values; keys are the metric names above.
	Latency map[string]*LatencyHistogram `json:"latency"`

	// IntervalMs is the length of one interval; Intervals are aligned to
	// multiples of it in wall-clock time (so shards line up) and carry
	// each interval's counters and histograms.
	IntervalMs int64          `json:"interval_ms"`
	Intervals  []LoadInterval `json:"intervals,omitempty"`

	// Throughput is derived: messages per second over the publishing
	// phase.
	Throughput LoadThroughput `json:"throughput"`
	// Resources is what the harness process itself used.
	Resources LoadResources `json:"resources"`

	// SLO is the verdict of --slo, when given.
	SLO *LoadSLOResult `json:"slo,omitempty"`
	// FindMax is the rate search of --find-max, when run.
	FindMax *LoadFindMax `json:"find_max,omitempty"`
	// Notes are warnings a reader must see (file limit capped the
	// clients, target rate not reached...).
	Notes []string `json:"notes,omitempty"`
}

// LoadShard identifies one process's slice of a sharded run.
type LoadShard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// LoadConfig is the scenario as run (after defaults and the shard split).
type LoadConfig struct {
	Protocol     string   `json:"protocol"`
	Transport    string   `json:"transport"` // tcp, tls, ws, wss
	Clients      int      `json:"clients"`
	Publishers   int      `json:"publishers"`
	Subscribers  int      `json:"subscribers"`
	QoS          []int    `json:"qos"`
	SubQoS       int      `json:"sub_qos"`
	PayloadBytes int      `json:"payload_bytes"`
	Rate         float64  `json:"rate"` // target messages/s, all publishers
	ClosedLoop   bool     `json:"closed_loop,omitempty"`
	DurationS    float64  `json:"duration_s"`
	Count        int64    `json:"count,omitempty"`
	RampUpS      float64  `json:"ramp_up_s,omitempty"`
	ConnectRate  float64  `json:"connect_rate,omitempty"`
	KeepAliveS   float64  `json:"keepalive_s"`
	CleanSession bool     `json:"clean_session"`
	Inflight     int      `json:"inflight"`
	Topics       int      `json:"topics,omitempty"`
	TopicPrefix  string   `json:"topic_prefix"`
	SourceIPs    []string `json:"source_ips,omitempty"`
	ChurnOnS     float64  `json:"churn_online_s,omitempty"`
	ChurnOffS    float64  `json:"churn_offline_s,omitempty"`
}

// LoadCounters is exact delivery accounting. Every message a publisher
// writes carries its publisher id and a per-publisher sequence number,
// and every subscriber tracks, per publisher, which sequence numbers it
// has seen, so a message the broker acknowledged and then dropped is
// counted in Lost, never hidden.
type LoadCounters struct {
	// Sent: PUBLISH packets written.
	Sent int64 `json:"sent"`
	// Acked: QoS 1/2 messages acknowledged (PUBACK, or PUBCOMP).
	Acked int64 `json:"acked"`
	// Failed: QoS 1/2 messages never acknowledged (connection lost
	// with a clean session, or still in flight when the run ended).
	// The broker owes nothing for them; if they arrive anyway they
	// count in Unexpected.
	Failed int64 `json:"failed"`
	// Unsent: messages the schedule called for but the publisher could
	// not send before the run's deadline (open loop: the target rate
	// was not reached).
	Unsent int64 `json:"unsent"`
	// Expected: deliveries owed, one per matching subscription for each
	// message the broker took responsibility for (QoS 0: written; QoS
	// 1/2: acknowledged).
	Expected int64 `json:"expected"`
	// Received: deliveries read, duplicates included.
	Received int64 `json:"received"`
	// Lost: expected deliveries that never arrived.
	Lost int64 `json:"lost"`
	// Duplicated: deliveries of a message the subscriber already had.
	Duplicated int64 `json:"duplicated"`
	// OutOfOrder: first deliveries of a message older than one the
	// subscriber already had from the same publisher.
	OutOfOrder int64 `json:"out_of_order"`
	// Unexpected: deliveries nobody owed: failed messages that got
	// through anyway, messages from a publisher the subscription does
	// not match, payloads of another run.
	Unexpected int64 `json:"unexpected"`
}

// Add adds o to c.
func (c *LoadCounters) Add(o LoadCounters) {
	c.Sent += o.Sent
	c.Acked += o.Acked
	c.Failed += o.Failed
	c.Unsent += o.Unsent
	c.Expected += o.Expected
	c.Received += o.Received
	c.Lost += o.Lost
	c.Duplicated += o.Duplicated
	c.OutOfOrder += o.OutOfOrder
	c.Unexpected += o.Unexpected
}

// LossRatio is Lost/Expected (0 when nothing was expected).
func (c LoadCounters) LossRatio() float64 {
	if c.Expected == 0 {
		return 0
	}
	return float64(c.Lost) / float64(c.Expected)
}

// LoadQoSCounters is the accounting of the messages published at one QoS.
type LoadQoSCounters struct {
	QoS int `json:"qos"`
	LoadCounters
}

// LoadTopicCounters is the accounting of one publisher topic at one QoS.
type LoadTopicCounters struct {
	Topic string `json:"topic"`
	QoS   int    `json:"qos"`
	LoadCounters
}

// LoadConnections counts connection attempts.
type LoadConnections struct {
	// Attempted: CONNECTs tried (first connections and reconnects).
	Attempted int64 `json:"attempted"`
	// Succeeded: CONNACKs accepting the connection.
	Succeeded int64 `json:"succeeded"`
	// Failed: attempts that did not end in an accepting CONNACK
	// (refused, closed, timed out); Errors says why.
	Failed int64 `json:"failed"`
	// Lost: established connections that ended other than by the
	// harness closing them.
	Lost int64 `json:"lost"`
	// Reconnects: planned reconnections (churn) and recoveries.
	Reconnects int64 `json:"reconnects"`
	// SessionLost: persistent-session reconnections whose CONNACK had
	// Session Present 0.
	SessionLost int64 `json:"session_lost"`
	// Peak: most connections open at once.
	Peak int64 `json:"peak"`
}

// Add adds o to c (Peak adds too: shards run at the same time).
func (c *LoadConnections) Add(o LoadConnections) {
	c.Attempted += o.Attempted
	c.Succeeded += o.Succeeded
	c.Failed += o.Failed
	c.Lost += o.Lost
	c.Reconnects += o.Reconnects
	c.SessionLost += o.SessionLost
	c.Peak += o.Peak
}

// LoadErrorCount is how often one kind of error happened.
type LoadErrorCount struct {
	Kind  string `json:"kind"`
	Count int64  `json:"count"`
	// Example is the first error message of this kind.
	Example string `json:"example,omitempty"`
}

// LoadInterval is one interval of the run.
type LoadInterval struct {
	// StartMs and EndMs are Unix milliseconds.
	StartMs int64 `json:"start_ms"`
	EndMs   int64 `json:"end_ms"`
	// Connected is the number of open connections at the interval's
	// end.
	Connected int64 `json:"connected"`
	// Sent, Acked, Received and Errors happened in the interval.
	Sent     int64 `json:"sent"`
	Acked    int64 `json:"acked"`
	Received int64 `json:"received"`
	Errors   int64 `json:"errors"`
	// Latency maps metric names to the interval's histogram, V2
	// compressed and base64 encoded (empty histograms are left out).
	Latency map[string]string `json:"latency,omitempty"`
}

// LoadThroughput is derived from the counters and the publishing phase.
type LoadThroughput struct {
	// SentPerS and ReceivedPerS are messages per second.
	SentPerS     float64 `json:"sent_per_s"`
	ReceivedPerS float64 `json:"received_per_s"`
}

// LoadResources is what the harness process used, from getrusage and
// /proc/self.
type LoadResources struct {
	// Processes is how many harness processes these figures add up.
	Processes int `json:"processes"`
	// CPUUserS and CPUSystemS are CPU seconds over the whole run.
	CPUUserS   float64 `json:"cpu_user_s"`
	CPUSystemS float64 `json:"cpu_system_s"`
	// CPUPerMillion is CPU seconds per million messages handled (sent
	// plus received), the harness's cost per message.
	CPUPerMillion float64 `json:"cpu_s_per_million_msgs"`
	// CPUCores is CPU seconds over wall seconds: the cores the harness
	// kept busy on average (all processes together after a merge).
	CPUCores float64 `json:"cpu_cores"`
	// MaxRSSBytes is the peak resident set (getrusage).
	MaxRSSBytes int64 `json:"max_rss_bytes"`
	// RSSBeforeBytes and RSSConnectedBytes are the resident set before
	// the first connection and once every client had connected (for
	// idle runs: after a GC).
	RSSBeforeBytes    int64 `json:"rss_before_bytes"`
	RSSConnectedBytes int64 `json:"rss_connected_bytes"`
	// KBPerConnection is (RSSConnected - RSSBefore) / connections / 1024.
	KBPerConnection float64 `json:"kb_per_connection,omitempty"`
	// Goroutines once every client had connected.
	Goroutines int `json:"goroutines"`
	// OpenFileLimit is the RLIMIT_NOFILE soft limit in force.
	OpenFileLimit uint64 `json:"open_file_limit"`
}

// LoadSLOResult is the verdict of a service level objective.
type LoadSLOResult struct {
	// Expr is the objective as given, e.g. "p99<20ms,loss=0".
	Expr string `json:"expr"`
	// Passed is true when every term held.
	Passed bool `json:"passed"`
	// Terms lists each term with the measured value.
	Terms []LoadSLOTerm `json:"terms"`
}

// LoadSLOTerm is one term of an objective.
type LoadSLOTerm struct {
	Term     string `json:"term"`
	Measured string `json:"measured"`
	Passed   bool   `json:"passed"`
}

// LoadFindMax is the outcome of --find-max.
type LoadFindMax struct {
	// MaxRate is the highest target rate whose step met the LoadSLO (0 if
	// none did).
	MaxRate float64 `json:"max_rate"`
	// Steps in the order run.
	Steps []LoadFindMaxStep `json:"steps"`
}

// LoadFindMaxStep is one rate tried.
type LoadFindMaxStep struct {
	Rate         float64 `json:"rate"`
	ReceivedPerS float64 `json:"received_per_s"`
	P99Ms        float64 `json:"p99_ms"`
	Lost         int64   `json:"lost"`
	Unsent       int64   `json:"unsent"`
	Passed       bool    `json:"passed"`
	// Why is what broke, when it did not pass.
	Why string `json:"why,omitempty"`
}

// LatencyHistogram is one latency histogram: its summary in milliseconds and
// the histogram itself.
type LatencyHistogram struct {
	Count    int64   `json:"count"`
	MinMs    float64 `json:"min_ms"`
	MeanMs   float64 `json:"mean_ms"`
	StdDevMs float64 `json:"stddev_ms"`
	P50Ms    float64 `json:"p50_ms"`
	P90Ms    float64 `json:"p90_ms"`
	P99Ms    float64 `json:"p99_ms"`
	P999Ms   float64 `json:"p99_9_ms"`
	P9999Ms  float64 `json:"p99_99_ms"`
	MaxMs    float64 `json:"max_ms"`
	// HDR is the histogram (values in nanoseconds), V2 compressed and
	// base64 encoded: hdrhistogram.Decode reads it, and so does every
	// other HdrHistogram implementation.
	HDR string `json:"hdr"`
}

// nsToMs converts nanoseconds to milliseconds.
func nsToMs(ns float64) float64 { return ns / 1e6 }

// SummarizeLatency returns the document form of h.
func SummarizeLatency(h *hdrhistogram.Histogram) (*LatencyHistogram, error) {
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil, fmt.Errorf("result: encode histogram: %w", err)
	}
	out := &LatencyHistogram{HDR: string(enc), Count: h.TotalCount()}
	if out.Count == 0 {
		return out, nil
	}
	out.MinMs = nsToMs(float64(h.Min()))
	out.MeanMs = nsToMs(h.Mean())
	out.StdDevMs = nsToMs(h.StdDev())
	out.MaxMs = nsToMs(float64(h.Max()))
	out.P50Ms = nsToMs(float64(h.ValueAtQuantile(50)))
	out.P90Ms = nsToMs(float64(h.ValueAtQuantile(90)))
	out.P99Ms = nsToMs(float64(h.ValueAtQuantile(99)))
	out.P999Ms = nsToMs(float64(h.ValueAtQuantile(99.9)))
	out.P9999Ms = nsToMs(float64(h.ValueAtQuantile(99.99)))
	return out, nil
}

// Decode returns the histogram h carries.
func (h *LatencyHistogram) Decode() (*hdrhistogram.Histogram, error) {
	if h == nil || h.HDR == "" {
		return NewLatencyHistogram(), nil
	}
	d, err := hdrhistogram.Decode([]byte(h.HDR))
	if err != nil {
		return nil, fmt.Errorf("result: decode histogram: %w", err)
	}
	return d, nil
}

// Percentile returns the value at percentile p (0..100) in milliseconds,
// from the histogram itself.
func (h *LatencyHistogram) Percentile(p float64) (float64, error) {
	d, err := h.Decode()
	if err != nil {
		return 0, err
	}
	return nsToMs(float64(d.ValueAtQuantile(p))), nil
}

// EncodeLatency encodes an interval histogram for LoadInterval.Latency.
func EncodeLatency(h *hdrhistogram.Histogram) (string, error) {
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("result: encode interval histogram: %w", err)
	}
	return string(enc), nil
}

// DecodeLatency decodes an interval histogram of LoadInterval.Latency.
func DecodeLatency(s string) (*hdrhistogram.Histogram, error) {
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("result: decode interval histogram: %w", err)
	}
	return h, nil
}

// Derive recomputes the figures derived from counters and phases
// (throughput, CPU per million messages, CPU cores).
func (r *LoadResult) Derive() {
	el := r.PublishEnd.Sub(r.PublishStart).Seconds()
	if el > 0 {
		r.Throughput.SentPerS = float64(r.Counters.Sent) / el
		r.Throughput.ReceivedPerS = float64(r.Counters.Received) / el
	}
	cpu := r.Resources.CPUUserS + r.Resources.CPUSystemS
	if n := r.Counters.Sent + r.Counters.Received; n > 0 {
		r.Resources.CPUPerMillion = cpu / (float64(n) / 1e6)
	}
	if wall := r.End.Sub(r.Start).Seconds(); wall > 0 {
		r.Resources.CPUCores = cpu / wall
	}
}
