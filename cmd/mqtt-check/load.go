package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mqtt-check/mqtt-check/load"
	"github.com/mqtt-check/mqtt-check/reference/broker"
	"github.com/mqtt-check/mqtt-check/reports"
)

func loadCommand() command {
	var sc strings.Builder
	for _, s := range load.Scenarios {
		fmt.Fprintf(&sc, "  %-14s %s\n", s.Name, s.Summary)
	}
	return command{
		name:    "load",
		summary: "Load-test a broker: simulated clients, honest latency, exact delivery accounting",
		usage: `Usage: mqtt-check load [flags]
       mqtt-check load merge [-o FILE] [--report-dir DIR] [--slo EXPR] a.json b.json...

Simulate many MQTT clients against a broker and measure what it delivers:
exact counts (sent, acknowledged, expected, received, lost, duplicated,
out of order, per topic and QoS) and HdrHistogram latencies. Publishers
run open loop by default: each message is due at a scheduled time and its
latency is measured from that INTENDED time, so a broker that stalls shows
up in the percentiles (no coordinated omission); the service time (actual
send to receipt) is reported beside it. With no --target, the embedded
reference broker is started and loaded.

Scenarios (--scenario):
` + sc.String() + `
Target and connection:
  --target HOST:PORT       broker to load (default: the embedded reference broker)
  --websocket              --target is a ws:// or wss:// URL
  --protocol 3.1.1|3.1|5   protocol version (default 3.1.1)
  --username U --password P
  --tls --cafile FILE --cert FILE --key FILE --insecure
  --source-ip LIST         local addresses or CIDR blocks to bind connections
                           to, round robin (e.g. 127.0.0.2,127.0.1.0/24): more
                           than the ~28k ephemeral ports of one address
  --keepalive D            MQTT keepalive (default 60s; 0 disables)
  --persistent             persistent sessions (Clean Session 0)

Shape:
  --scenario NAME          (default pairs)
  --file FILE              scenario file (JSON; the same knobs, see below);
                           flags given on the command line win
  --clients N              simulated clients (default 100)
  --publishers N --subscribers N   override the scenario's split
  --qos 0|1|2|0,1,2|mix    publishers' QoS, round robin for a mix (default 0)
  --sub-qos Q              QoS asked for in SUBSCRIBE (default: highest of --qos)
  --payload BYTES          payload size (default 64, at least 36)
  --topics N               retained topics (retained), tree leaves (wildcard)
  --branching N            wildcard tree branching per level (default 4)
  --topic-prefix P         topic root (default mqtt-check/load; run ID follows)
  --inflight N             QoS 1/2 window per publisher (default 64)
  --churn-online D --churn-offline D   churn cycle (default 2s / 500ms)

Rate and time:
  --rate MSGS_PER_S        target total publish rate (default 1000)
  --closed-loop            send as fast as acknowledgements allow instead
  --duration D             publishing time (default 10s; idle: hold time)
  --count N                stop after N messages in total
  --ramp-up D              grow the rate linearly from 0 over D
  --connect-rate N         connections per second (connect-storm default 1000)
  --connect-concurrency N  connection attempts in flight (default 256)
  --drain D                wait for late messages after publishing (default 10s)
  --interval D             progress and histogram interval (default 1s)

Judgement:
  --slo EXPR               e.g. 'p99<20ms,loss=0': exit 1 when broken. Terms:
                           pNN/max/mean (e2e latency; prefix service., connect.,
                           suback., puback., pubcomp., retained., send_lag.),
                           loss (count or %), dup, ooo, unexpected, failed,
                           unsent, errors, conn_failed, conn_lost, throughput
  --find-max               raise the rate from --rate until the SLO breaks,
                           bisect, and report the highest rate that held
  --find-max-factor F      rate multiplier between steps (default 2)

Sharding (several processes or machines run one scenario):
  --shard i/N              run slice i of N (0-based): each shard runs 1/N of
                           each role's clients and 1/N of the rate on its own
                           topics, so every latency is measured in one process
  --shard env/N, --shard env   index from JOB_COMPLETION_INDEX (Kubernetes
                           Indexed Job); count from /N or MQTT_CHECK_SHARDS
  mqtt-check load merge    adds the shards' result.json files exactly

Output:
  --json FILE              the result document (JSON; schema in reports/SCHEMA-load.md)
  --report-dir DIR         result.json, summary.txt, latency.hgrm,
                           latency.hlog and report.html
  --label TEXT             name of the run in reports
  --run-id ID              run ID in topics and client IDs (default random)
  -q                       no progress line

Scenario file: JSON with any of scenario, target, clients, publishers,
subscribers, qos (0, "0,1" or [0,1]), sub_qos, payload, rate, closed_loop,
duration, count, ramp_up, connect_rate, connect_concurrency, keepalive,
no_keepalive, persistent, inflight, topics, branching, topic_prefix,
churn_online, churn_offline, drain, interval, source_ip, protocol,
username, password, run_id, label. Durations are strings ("30s").

Exit codes: 0 the run completed (and met --slo); 1 the SLO was broken;
2 could not run.

Examples:
  mqtt-check load --scenario pairs --clients 200 --qos 1 --rate 10000 --duration 30s
  mqtt-check load --target 127.0.0.1:1883 --scenario fan-in --clients 1000 --rate 20000 --slo 'p99<20ms,loss=0'
  mqtt-check load --target 127.0.0.1:1883 --scenario idle --clients 10000 --duration 1m
  mqtt-check load --target 127.0.0.1:1883 --scenario pairs --qos 1 --find-max --slo 'p99<10ms,loss=0'
  mqtt-check load --target 127.0.0.1:1883 --shard 0/2 --json a.json &
  mqtt-check load --target 127.0.0.1:1883 --shard 1/2 --json b.json; wait
  mqtt-check load merge --report-dir merged a.json b.json
`,
		run: runLoad,
	}
}

type loadFlags struct {
	target, scenario, file, protocol, username, password string
	tlsClientFlags
	websocket, persistent                              bool
	sourceIP, qos, shard                               string
	clients, publishers, subscribers, subQoS, payload  int
	topics, branching, inflight, connConc              int
	topicPrefix, runID, label, jsonOut, reportDir, slo string
	rate, connectRate, findMaxFactor                   float64
	closedLoop, findMax, quiet                         bool
	count                                              int64
	duration, rampUp, keepalive, drain, interval       time.Duration
	churnOn, churnOff                                  time.Duration
}

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "merge" {
		return runLoadMerge(ctx, args[1:], stdout, stderr)
	}
	fs := newFlagSet("load")
	var f loadFlags
	fs.StringVar(&f.target, "target", "", "broker address")
	fs.StringVar(&f.scenario, "scenario", "", "scenario")
	fs.StringVar(&f.file, "file", "", "scenario file")
	fs.StringVar(&f.protocol, "protocol", "", "protocol version")
	fs.StringVar(&f.username, "username", "", "user name")
	fs.StringVar(&f.password, "password", "", "password")
	f.tlsClientFlags.register(fs)
	fs.BoolVar(&f.websocket, "websocket", false, "target is a WebSocket URL")
	fs.StringVar(&f.sourceIP, "source-ip", "", "local addresses")
	fs.DurationVar(&f.keepalive, "keepalive", 0, "keepalive")
	fs.BoolVar(&f.persistent, "persistent", false, "persistent sessions")
	fs.IntVar(&f.clients, "clients", 0, "clients")
	fs.IntVar(&f.publishers, "publishers", 0, "publishers")
	fs.IntVar(&f.subscribers, "subscribers", 0, "subscribers")
	fs.StringVar(&f.qos, "qos", "", "publish QoS")
	fs.IntVar(&f.subQoS, "sub-qos", -1, "subscription QoS")
	fs.IntVar(&f.payload, "payload", 0, "payload bytes")
	fs.IntVar(&f.topics, "topics", 0, "topics")
	fs.IntVar(&f.branching, "branching", 0, "tree branching")
	fs.StringVar(&f.topicPrefix, "topic-prefix", "", "topic prefix")
	fs.IntVar(&f.inflight, "inflight", 0, "inflight window")
	fs.DurationVar(&f.churnOn, "churn-online", 0, "churn online time")
	fs.DurationVar(&f.churnOff, "churn-offline", 0, "churn offline time")
	fs.Float64Var(&f.rate, "rate", 0, "messages per second")
	fs.BoolVar(&f.closedLoop, "closed-loop", false, "closed loop")
	fs.DurationVar(&f.duration, "duration", 0, "duration")
	fs.Int64Var(&f.count, "count", 0, "message count")
	fs.DurationVar(&f.rampUp, "ramp-up", 0, "ramp-up")
	fs.Float64Var(&f.connectRate, "connect-rate", 0, "connections per second")
	fs.IntVar(&f.connConc, "connect-concurrency", 0, "connection attempts in flight")
	fs.DurationVar(&f.drain, "drain", 0, "drain time")
	fs.DurationVar(&f.interval, "interval", 0, "interval")
	fs.StringVar(&f.slo, "slo", "", "service level objective")
	fs.BoolVar(&f.findMax, "find-max", false, "find the highest rate")
	fs.Float64Var(&f.findMaxFactor, "find-max-factor", 2, "rate factor")
	fs.StringVar(&f.shard, "shard", "", "shard i/N")
	fs.StringVar(&f.runID, "run-id", "", "run ID")
	fs.StringVar(&f.label, "label", "", "label")
	fs.StringVar(&f.jsonOut, "json", "", "JSON result file")
	fs.StringVar(&f.reportDir, "report-dir", "", "report directory")
	fs.BoolVar(&f.quiet, "q", false, "no progress")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("load takes no arguments, got %q (did you mean 'load merge'?)", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })

	var cfg load.Config
	if f.file != "" {
		if err := load.LoadFile(f.file, &cfg); err != nil {
			return usagef("%v", err)
		}
	}
	if err := f.apply(&cfg, set); err != nil {
		return usagef("%v", err)
	}
	var slo *reports.LoadSLO
	if f.slo != "" {
		var err error
		if slo, err = reports.ParseLoadSLO(f.slo); err != nil {
			return usagef("--slo: %v", err)
		}
	}
	if f.findMax && slo == nil {
		return usagef("--find-max needs --slo: the objective a rate must meet")
	}

	// The open-file limit bounds the clients of one process.
	if lim, err := load.RaiseFileLimit(); err != nil {
		fmt.Fprintf(stderr, "mqtt-check load: %v\n", err)
	} else if need := uint64(max(cfg.Clients, 100)) + 64; f.target == "" && need*2 > lim {
		fmt.Fprintf(stderr, "mqtt-check load: open-file limit %d: the embedded broker shares this process, so about %d clients fit; run the broker separately for more\n", lim, (lim-64)/2)
	} else if need > lim {
		fmt.Fprintf(stderr, "mqtt-check load: open-file limit %d caps this process at about %d clients (asked for %d): raise the hard limit (ulimit -Hn) or shard the run\n", lim, lim-64, cfg.Clients)
	}

	if cfg.Target == "" {
		emb, err := broker.StartEmbedded(broker.Options{SysInterval: -1})
		if err != nil {
			return fmt.Errorf("start the embedded broker: %w", err)
		}
		defer emb.Close()
		cfg.Target = emb.Addr
		if cfg.WebSocket {
			cfg.Target = emb.WebSocketURL
		}
		if cfg.TLS != nil {
			cfg.TLS = emb.ClientTLS
			if !cfg.WebSocket {
				cfg.Target = emb.TLSAddr
			}
		}
		fmt.Fprintf(stderr, "mqtt-check load: no --target: loading the embedded reference broker on %s\n", cfg.Target)
	}
	cfg.Tool = strings.TrimSpace("mqtt-check " + version)
	if !f.quiet {
		cfg.Progress = func(p load.Progress) { fmt.Fprintln(stderr, formatProgress(p)) }
	}
	cfg.Logf = func(format string, args ...any) { fmt.Fprintf(stderr, "mqtt-check load: "+format+"\n", args...) }

	var r *reports.LoadResult
	var err error
	if f.findMax {
		r, err = load.FindMax(ctx, cfg, slo, load.FindMaxOptions{Factor: f.findMaxFactor, Step: func(st reports.LoadFindMaxStep) {
			verdict := "held"
			if !st.Passed {
				verdict = "broke: " + st.Why
			}
			fmt.Fprintf(stderr, "find-max: rate %.0f/s -> received %.0f/s, p99 %.3fms: %s\n", st.Rate, st.ReceivedPerS, st.P99Ms, verdict)
		}})
	} else {
		r, err = load.Run(ctx, cfg)
	}
	if err != nil {
		if errors.Is(err, load.ErrConfig) {
			return usagef("%v", err)
		}
		return err
	}
	if slo != nil && r.SLO == nil {
		r.SLO = slo.Evaluate(r)
	}
	if err := writeLoadOutputs(r, f.jsonOut, f.reportDir, stdout); err != nil {
		return err
	}
	if r.Connections.Attempted > 0 && r.Connections.Succeeded == 0 {
		// Nothing was measured: the target is unreachable or refuses
		// everyone, which is "could not run", not a verdict.
		return fmt.Errorf("no connection to %s succeeded", cfg.Target)
	}
	return nil
}

// writeLoadOutputs prints the summary, writes the requested files and
// turns a broken SLO into exit code 1.
func writeLoadOutputs(r *reports.LoadResult, jsonOut, reportDir string, stdout io.Writer) error {
	if err := reports.WriteLoadSummary(stdout, r); err != nil {
		return err
	}
	if jsonOut != "" {
		if err := writeFileWith(jsonOut, func(w io.Writer) error { return reports.WriteLoadJSON(w, r) }); err != nil {
			return err
		}
	}
	if reportDir != "" {
		if err := reports.WriteLoadDir(reportDir, r); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Reports written to %s\n", reportDir)
	}
	if r.SLO != nil && !r.SLO.Passed {
		return checkFailed("SLO %s broken: %s", r.SLO.Expr, strings.Join(r.SLO.Failures(), "; "))
	}
	if r.FindMax != nil && r.FindMax.MaxRate == 0 {
		return checkFailed("--find-max: no rate met the SLO")
	}
	return nil
}

// writeFileWith creates path and writes it with fn.
func writeFileWith(path string, fn func(io.Writer) error) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(fh); err != nil {
		fh.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return fh.Close()
}

// formatProgress is the live progress line.
func formatProgress(p load.Progress) string {
	lat := "p50 -, p99 -"
	if p.P99 > 0 {
		lat = fmt.Sprintf("p50 %s, p99 %s", fmtDur(p.P50), fmtDur(p.P99))
	}
	return fmt.Sprintf("[%6.1fs] %-9s connected %6d | out %8.0f/s | in %8.0f/s | %s | errors %d",
		p.Elapsed.Seconds(), p.Phase, p.Connected, p.SentPerS, p.RecvPerS, lat, p.Errors)
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.0fus", float64(d)/1e3)
}

// apply copies the flags given on the command line onto cfg.
func (f *loadFlags) apply(cfg *load.Config, set map[string]bool) error {
	str := func(name string, dst *string, v string) {
		if set[name] {
			*dst = v
		}
	}
	num := func(name string, dst *int, v int) {
		if set[name] {
			*dst = v
		}
	}
	dur := func(name string, dst *time.Duration, v time.Duration) {
		if set[name] {
			*dst = v
		}
	}
	str("target", &cfg.Target, f.target)
	str("scenario", &cfg.Scenario, f.scenario)
	str("topic-prefix", &cfg.TopicPrefix, f.topicPrefix)
	str("run-id", &cfg.RunID, f.runID)
	str("label", &cfg.Label, f.label)
	num("clients", &cfg.Clients, f.clients)
	num("publishers", &cfg.Publishers, f.publishers)
	num("subscribers", &cfg.Subscribers, f.subscribers)
	num("payload", &cfg.Payload, f.payload)
	num("topics", &cfg.Topics, f.topics)
	num("branching", &cfg.Branching, f.branching)
	num("inflight", &cfg.Inflight, f.inflight)
	num("connect-concurrency", &cfg.ConnectConcurrency, f.connConc)
	dur("duration", &cfg.Duration, f.duration)
	dur("ramp-up", &cfg.RampUp, f.rampUp)
	dur("drain", &cfg.Drain, f.drain)
	dur("interval", &cfg.Interval, f.interval)
	dur("churn-online", &cfg.ChurnOnline, f.churnOn)
	dur("churn-offline", &cfg.ChurnOffline, f.churnOff)
	if set["keepalive"] {
		cfg.KeepAlive, cfg.NoKeepAlive = f.keepalive, f.keepalive == 0
	}
	if set["sub-qos"] {
		cfg.SubQoS = f.subQoS
	}
	if set["rate"] {
		cfg.Rate = f.rate
	}
	if set["connect-rate"] {
		cfg.ConnectRate = f.connectRate
	}
	if set["count"] {
		cfg.Count = f.count
	}
	if set["closed-loop"] {
		cfg.ClosedLoop = f.closedLoop
	}
	if set["persistent"] {
		cfg.Persistent = f.persistent
	}
	if set["websocket"] {
		cfg.WebSocket = f.websocket
	}
	if set["username"] {
		cfg.Username = &f.username
	}
	if set["password"] {
		cfg.Password = &f.password
	}
	if set["qos"] {
		q, err := load.ParseQoS(f.qos)
		if err != nil {
			return err
		}
		cfg.QoS = q
	}
	if set["protocol"] {
		v, err := load.ParseVersion(f.protocol)
		if err != nil {
			return err
		}
		cfg.Version = v
	}
	if set["source-ip"] {
		ips, err := load.ParseSourceIPs(f.sourceIP)
		if err != nil {
			return err
		}
		cfg.SourceIPs = ips
	}
	if set["shard"] {
		i, n, err := load.ParseShard(f.shard)
		if err != nil {
			return err
		}
		cfg.Shard, cfg.Shards = i, n
	}
	tc, err := f.tlsClientFlags.config()
	if err != nil {
		return err
	}
	cfg.TLS = tc
	if cfg.Rate < 0 || cfg.Clients < 0 || cfg.Count < 0 || cfg.Duration < 0 {
		return errors.New("--rate, --clients, --count and --duration cannot be negative")
	}
	return nil
}

// runLoadMerge is 'mqtt-check load merge': it adds up the result
// documents of the shards of one run.
func runLoadMerge(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("load merge")
	var out, dir, sloExpr string
	fs.StringVar(&out, "o", "", "output file")
	fs.StringVar(&dir, "report-dir", "", "report directory")
	fs.StringVar(&sloExpr, "slo", "", "objective")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("load merge needs result files (result.json of each shard)")
	}
	var rs []*reports.LoadResult
	for _, path := range fs.Args() {
		r, err := reports.ReadLoadFile(path)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	m, err := reports.MergeLoad(rs...)
	if err != nil {
		return err
	}
	if sloExpr != "" {
		slo, err := reports.ParseLoadSLO(sloExpr)
		if err != nil {
			return usagef("--slo: %v", err)
		}
		m.SLO = slo.Evaluate(m)
	} else if rs[0].SLO != nil {
		if slo, err := reports.ParseLoadSLO(rs[0].SLO.Expr); err == nil {
			m.SLO = slo.Evaluate(m)
		}
	}
	if out == "" && dir == "" {
		if err := reports.WriteLoadJSON(stdout, m); err != nil {
			return err
		}
		if m.SLO != nil && !m.SLO.Passed {
			return checkFailed("SLO %s broken: %s", m.SLO.Expr, strings.Join(m.SLO.Failures(), "; "))
		}
		return nil
	}
	return writeLoadOutputs(m, out, dir, stdout)
}
