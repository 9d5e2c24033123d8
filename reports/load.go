package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Load report files written by WriteLoadDir.
const (
	LoadJSONFile    = "result.json"
	LoadSummaryFile = "summary.txt"
	LoadHGRMFile    = "latency.hgrm"
	LoadHlogFile    = "latency.hlog"
	LoadHTMLFile    = "report.html"
)

// metricTitles are the human names of the latency metrics.
var metricTitles = map[string]string{
	MetricE2E:      "end-to-end (from intended send)",
	MetricService:  "service (actual send -> receipt)",
	MetricSendLag:  "send lag (intended -> actual send)",
	MetricConnect:  "connect (dial -> CONNACK)",
	MetricSuback:   "SUBACK",
	MetricPuback:   "PUBACK (QoS 1)",
	MetricPubcomp:  "PUBCOMP (QoS 2)",
	MetricRetained: "retained (SUBSCRIBE -> message)",
}

// metricTitle names a metric in a run's tables: in connect-storm the
// end-to-end metric is the connect latency from the scheduled time.
func metricTitle(r *LoadResult, m string) string {
	if m == MetricE2E && r.Scenario == "connect-storm" {
		return "connect (from scheduled time)"
	}
	return metricTitles[m]
}

// WriteLoadJSON writes r as indented JSON.
func WriteLoadJSON(w io.Writer, r *LoadResult) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("reports: encode load result: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// ReadLoadJSON reads a load result document and checks its schema.
func ReadLoadJSON(rd io.Reader) (*LoadResult, error) {
	var r LoadResult
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("reports: decode load result: %w", err)
	}
	if r.Schema != LoadSchema {
		return nil, fmt.Errorf("reports: schema %q is not a load result (%s)", r.Schema, LoadSchema)
	}
	return &r, nil
}

// ReadLoadFile reads a load result document from a file.
func ReadLoadFile(path string) (*LoadResult, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	r, err := ReadLoadJSON(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// errWriter keeps the first write error, so a long report is written
// with plain Fprintf calls and checked once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

// LoadTitle is a one-line name for a run: its label, or scenario, rate
// and QoS.
func LoadTitle(r *LoadResult) string {
	if r.Label != "" {
		return r.Label
	}
	var b strings.Builder
	b.WriteString(r.Scenario)
	if q := qosList(r.Config.QoS); q != "" {
		b.WriteString(" QoS " + q)
	}
	switch {
	case r.Config.ClosedLoop:
		b.WriteString(" closed loop")
	case r.Config.Rate > 0:
		fmt.Fprintf(&b, " %s msg/s", fmtCount(r.Config.Rate))
	}
	if len(r.MergedShards) > 0 {
		fmt.Fprintf(&b, " (%d shards)", len(r.MergedShards))
	}
	return b.String()
}

func qosList(q []int) string {
	parts := make([]string, len(q))
	for i, v := range q {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

// fmtCount formats a rate or count without useless decimals.
func fmtCount(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// fmtMsCell formats milliseconds for a table cell.
func fmtMsCell(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// WriteLoadSummary writes the summary table of a run: what was run,
// the delivery accounting per QoS, latencies, connections, the harness's
// own cost, errors, notes and the SLO verdict.
func WriteLoadSummary(w io.Writer, r *LoadResult) error {
	ew := &errWriter{w: w}
	c := r.Config
	ew.printf("mqtt-check load: %s against %s (MQTT %s over %s)\n", r.Scenario, r.Target, c.Protocol, c.Transport)
	shard := ""
	switch {
	case len(r.MergedShards) > 0:
		shard = fmt.Sprintf(", merged from %d shards", len(r.MergedShards))
	case r.Shard.Count > 1:
		shard = fmt.Sprintf(", shard %d/%d", r.Shard.Index, r.Shard.Count)
	}
	ew.printf("Run %s, %s, %s%s\n", r.RunID, r.Start.UTC().Format(time.RFC3339), r.End.Sub(r.Start).Round(time.Millisecond), shard)
	ew.printf("%s\n", shapeLine(r))
	if r.PublishEnd.After(r.PublishStart) && r.Counters.Sent+r.Counters.Received > 0 {
		ew.printf("Throughput: sent %s msg/s, received %s msg/s over %s\n",
			fmtCount(round1(r.Throughput.SentPerS)), fmtCount(round1(r.Throughput.ReceivedPerS)),
			r.PublishEnd.Sub(r.PublishStart).Round(time.Millisecond))
	}

	if r.Counters.Sent+r.Counters.Received+r.Counters.Expected > 0 {
		ew.printf("\n")
		tw := tabwriter.NewWriter(ew, 4, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "Messages\tsent\tacked\tfailed\tunsent\texpected\treceived\tlost\tdup\tout-of-order\tunexpected\t\n")
		row := func(name string, k LoadCounters) {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", name, k.Sent, k.Acked, k.Failed, k.Unsent,
				k.Expected, k.Received, k.Lost, k.Duplicated, k.OutOfOrder, k.Unexpected)
		}
		for _, q := range r.ByQoS {
			row(fmt.Sprintf("QoS %d", q.QoS), q.LoadCounters)
		}
		row("total", r.Counters)
		if err := tw.Flush(); err != nil {
			return err
		}
		if r.Counters.Expected > 0 {
			ew.printf("Loss: %d of %d expected deliveries (%.4g%%)\n", r.Counters.Lost, r.Counters.Expected, 100*r.Counters.LossRatio())
		}
	}

	if len(r.Latency) > 0 {
		ew.printf("\n")
		tw := tabwriter.NewWriter(ew, 4, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "Latency (ms)\tcount\tmin\tp50\tp90\tp99\tp99.9\tp99.99\tmax\tmean\t\n")
		for _, m := range LatencyMetrics {
			h := r.Latency[m]
			if h == nil || h.Count == 0 {
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", metricTitle(r, m), h.Count,
				fmtMsCell(h.MinMs), fmtMsCell(h.P50Ms), fmtMsCell(h.P90Ms), fmtMsCell(h.P99Ms),
				fmtMsCell(h.P999Ms), fmtMsCell(h.P9999Ms), fmtMsCell(h.MaxMs), fmtMsCell(h.MeanMs))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	k := r.Connections
	ew.printf("\nConnections: %d attempted, %d succeeded, %d failed, %d lost, peak %d open", k.Attempted, k.Succeeded, k.Failed, k.Lost, k.Peak)
	if k.Reconnects > 0 || k.SessionLost > 0 {
		ew.printf(", %d reconnects (%d without their session)", k.Reconnects, k.SessionLost)
	}
	ew.printf("\n")
	res := r.Resources
	cpu := res.CPUUserS + res.CPUSystemS
	ew.printf("Harness: CPU %.2fs (user %.2fs, system %.2fs), %.2f cores", cpu, res.CPUUserS, res.CPUSystemS, res.CPUCores)
	if res.CPUPerMillion > 0 {
		ew.printf(", %.2f CPU s per million messages", res.CPUPerMillion)
	}
	ew.printf("; max RSS %s", fmtBytes(res.MaxRSSBytes))
	if res.KBPerConnection > 0 {
		ew.printf("; %.1f KB per connection", res.KBPerConnection)
	}
	if res.Processes > 1 {
		ew.printf(" (%d processes)", res.Processes)
	}
	ew.printf("; open-file limit %d\n", res.OpenFileLimit)
	if len(r.Errors) == 0 {
		ew.printf("Errors: none\n")
	} else {
		ew.printf("Errors:\n")
		for _, e := range r.Errors {
			ew.printf("  %8d  %s", e.Count, e.Kind)
			if e.Example != "" {
				ew.printf("  (e.g. %s)", e.Example)
			}
			ew.printf("\n")
		}
	}
	for _, n := range r.Notes {
		ew.printf("Note: %s\n", n)
	}
	if r.FindMax != nil {
		ew.printf("\nFind-max: highest rate that held: %s msg/s\n", fmtCount(round1(r.FindMax.MaxRate)))
		for _, s := range r.FindMax.Steps {
			v := "held"
			if !s.Passed {
				v = "broke: " + s.Why
			}
			ew.printf("  %10s msg/s  received %10s/s  p99 %8sms  %s\n", fmtCount(round1(s.Rate)), fmtCount(round1(s.ReceivedPerS)), fmtMsCell(s.P99Ms), v)
		}
	}
	if r.SLO != nil {
		verdict := "MET"
		if !r.SLO.Passed {
			verdict = "BROKEN"
		}
		ew.printf("\nSLO %s: %s\n", r.SLO.Expr, verdict)
		for _, t := range r.SLO.Terms {
			mark := "ok  "
			if !t.Passed {
				mark = "FAIL"
			}
			ew.printf("  %s %-24s measured %s\n", mark, t.Term, t.Measured)
		}
	}
	return ew.err
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }

// shapeLine describes the scenario's shape in one line.
func shapeLine(r *LoadResult) string {
	c := r.Config
	var parts []string
	switch {
	case c.Publishers+c.Subscribers > 0 && r.Scenario == "shared":
		parts = append(parts, fmt.Sprintf("%d clients, each publishing and subscribing", c.Clients))
	case c.Publishers+c.Subscribers > 0:
		parts = append(parts, fmt.Sprintf("%d clients (%d publishers, %d subscribers)", c.Clients, c.Publishers, c.Subscribers))
	default:
		parts = append(parts, fmt.Sprintf("%d clients", c.Clients))
	}
	if c.Publishers > 0 {
		parts = append(parts, "QoS "+qosList(c.QoS), fmt.Sprintf("payload %d B", c.PayloadBytes))
		if c.ClosedLoop {
			parts = append(parts, "closed loop")
		} else {
			parts = append(parts, fmt.Sprintf("open loop at %s msg/s", fmtCount(round1(c.Rate))))
		}
		if c.RampUpS > 0 {
			parts = append(parts, fmt.Sprintf("ramp-up %gs", c.RampUpS))
		}
		if c.Count > 0 {
			parts = append(parts, fmt.Sprintf("%d messages", c.Count))
		}
	}
	if r.Scenario != "connect-storm" {
		parts = append(parts, fmt.Sprintf("duration %gs", c.DurationS))
	}
	if c.ConnectRate > 0 {
		parts = append(parts, fmt.Sprintf("%s connections/s", fmtCount(c.ConnectRate)))
	}
	parts = append(parts, fmt.Sprintf("keepalive %gs", c.KeepAliveS))
	if !c.CleanSession {
		parts = append(parts, "persistent sessions")
	}
	return strings.Join(parts, ", ")
}

// WriteLoadText writes the summary table followed by the HdrHistogram
// percentile distribution of the end-to-end latency (and of the service
// time), in milliseconds.
func WriteLoadText(w io.Writer, r *LoadResult) error {
	if err := WriteLoadSummary(w, r); err != nil {
		return err
	}
	for _, m := range []string{MetricE2E, MetricService, MetricConnect, MetricRetained} {
		h := r.Latency[m]
		if h == nil || h.Count == 0 {
			continue
		}
		if _, err := fmt.Fprintf(w, "\nPercentile distribution, %s, milliseconds:\n", metricTitle(r, m)); err != nil {
			return err
		}
		if err := WriteLoadHGRM(w, r, m); err != nil {
			return err
		}
	}
	return nil
}

// ErrNoMetric is returned when a run has no values for a metric.
var ErrNoMetric = errors.New("reports: no values for this metric")

// WriteLoadHGRM writes the percentile distribution of one metric in the
// HdrHistogram .hgrm format (outputPercentileDistribution, 5 ticks per
// half distance, values in milliseconds), which HdrHistogram's plotter
// reads.
func WriteLoadHGRM(w io.Writer, r *LoadResult, metric string) error {
	h := r.Latency[metric]
	if h == nil {
		return fmt.Errorf("%w: %s", ErrNoMetric, metric)
	}
	d, err := h.Decode()
	if err != nil {
		return err
	}
	_, err = d.PercentilesPrint(w, 5, 1e6)
	return err
}

// WriteLoadHlog writes the interval histograms as an HdrHistogram
// interval log (.hlog, format 1.3, as HistogramLogProcessor reads it):
// end-to-end latency untagged (what the processor reads by default), the
// other metrics tagged with their names (select one with -tag). Times
// are seconds since the run's start; values are nanoseconds (the
// Interval_Max column is in milliseconds).
func WriteLoadHlog(w io.Writer, r *LoadResult) error {
	lw := hdrhistogram.NewHistogramLogWriter(w)
	start := r.Start.UnixMilli()
	if len(r.Intervals) > 0 {
		start = min(start, r.Intervals[0].StartMs)
	}
	ew := &errWriter{w: w}
	steps := []func() error{
		func() error {
			return lw.OutputComment("[Logged with " + toolOr(r.Tool) + ", mqtt-check load " + r.Scenario + " run " + r.RunID + "]")
		},
		lw.OutputLogFormatVersion,
		func() error { return lw.OutputStartTime(start) },
		func() error { return lw.OutputBaseTime(start) },
		lw.OutputLegend,
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	lw.SetBaseTime(start)
	for _, iv := range r.Intervals {
		for _, m := range LatencyMetrics {
			enc, ok := iv.Latency[m]
			if !ok {
				continue
			}
			h, err := DecodeLatency(enc)
			if err != nil {
				return err
			}
			h.SetStartTimeMs(iv.StartMs)
			h.SetEndTimeMs(iv.EndMs)
			if m != MetricE2E {
				h.SetTag(m)
			}
			if err := lw.OutputIntervalHistogram(h); err != nil {
				return err
			}
		}
	}
	return ew.err
}

func toolOr(t string) string {
	if t == "" {
		return "mqtt-check"
	}
	return t
}

// WriteLoadComparison writes several runs side by side: one row per run
// with its throughput, loss and latency percentiles.
func WriteLoadComparison(w io.Writer, runs []*LoadResult) error {
	tw := tabwriter.NewWriter(w, 4, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "Run\tclients\tsent/s\treceived/s\tlost\tdup\tp50 ms\tp99 ms\tp99.9 ms\tmax ms\tservice p99 ms\tCPU s/M msgs\t\n")
	for _, r := range runs {
		e2e, svc := r.Latency[MetricE2E], r.Latency[MetricService]
		cell := func(h *LatencyHistogram, f func(*LatencyHistogram) float64) string {
			if h == nil || h.Count == 0 {
				return "-"
			}
			return fmtMsCell(f(h))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%.2f\t\n", LoadTitle(r), r.Config.Clients,
			fmtCount(round1(r.Throughput.SentPerS)), fmtCount(round1(r.Throughput.ReceivedPerS)),
			r.Counters.Lost, r.Counters.Duplicated,
			cell(e2e, func(h *LatencyHistogram) float64 { return h.P50Ms }),
			cell(e2e, func(h *LatencyHistogram) float64 { return h.P99Ms }),
			cell(e2e, func(h *LatencyHistogram) float64 { return h.P999Ms }),
			cell(e2e, func(h *LatencyHistogram) float64 { return h.MaxMs }),
			cell(svc, func(h *LatencyHistogram) float64 { return h.P99Ms }),
			r.Resources.CPUPerMillion)
	}
	return tw.Flush()
}

// WriteLoadDir writes every load report of r into dir (created if
// needed): result.json, summary.txt (summary and percentile
// distributions), latency.hgrm (end-to-end), latency.hlog (all metrics,
// per interval) and report.html.
func WriteLoadDir(dir string, r *LoadResult) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{LoadJSONFile, func(w io.Writer) error { return WriteLoadJSON(w, r) }},
		{LoadSummaryFile, func(w io.Writer) error { return WriteLoadText(w, r) }},
		{LoadHGRMFile, func(w io.Writer) error {
			m := MetricE2E
			if r.Latency[m] == nil {
				for _, k := range LatencyMetrics {
					if r.Latency[k] != nil {
						m = k
						break
					}
				}
			}
			if r.Latency[m] == nil {
				_, err := io.WriteString(w, "# no latency values\n")
				return err
			}
			return WriteLoadHGRM(w, r, m)
		}},
		{LoadHlogFile, func(w io.Writer) error { return WriteLoadHlog(w, r) }},
		{LoadHTMLFile, func(w io.Writer) error { return WriteLoadHTML(w, []*LoadResult{r}) }},
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		fh, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("reports: %w", err)
		}
		if err := f.write(fh); err != nil {
			fh.Close()
			return fmt.Errorf("reports: write %s: %w", path, err)
		}
		if err := fh.Close(); err != nil {
			return fmt.Errorf("reports: write %s: %w", path, err)
		}
	}
	return nil
}
