// Package load is the capacity-planning half of mqtt-check: it simulates
// thousands of MQTT clients in one process (reference/client connections,
// about 5 KB each when idle), drives a broker with a scenario, and
// measures what the broker did with exact delivery accounting and
// HdrHistogram latencies.
//
// The shape follows tsenart/vegeta's attack/pacer/metrics split: a Pacer
// says when each message is due, publishers emit records (a sent message,
// an acknowledgement, a delivery), and the metrics aggregator adds them up
// (Add) and produces the document (Close). Where it differs from vegeta:
// latency is stamped from the SCHEDULED send time, carried in the
// payload, not from when a worker picked the message up. MQTT connections
// are a bounded resource (a publisher cannot open another connection when
// its inflight window is full), so a publisher that falls behind sends
// its backlog late and every late message is charged the wait: a broker
// that stalls shows up in the percentiles instead of slowing the test
// down (no coordinated omission). The service time (actual send to
// receipt) is recorded beside it.
//
// Each payload starts with a 36-byte header: magic, run tag, publisher id,
// per-publisher sequence number, intended and actual send times (in
// nanoseconds of the process's monotonic clock, so latency is only ever
// computed where publisher and subscriber share a clock). Subscribers
// track, per publisher, which sequence numbers arrived, which makes
// losses, duplicates and reordering exact, per topic and per QoS.
//
// A run produces a reports.LoadResult (package load/result), which merges
// exactly across shards (Config.Shard) and which package reports renders.
package load
