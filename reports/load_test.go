package reports

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// synthLoad makes a deterministic load result from latency values (ns),
// spread over intervals of one second from start.
func synthLoad(t *testing.T, start time.Time, shard int, values []int64) *LoadResult {
	t.Helper()
	total := NewLatencyHistogram()
	r := &LoadResult{
		Schema: LoadSchema, RunID: "synth", Scenario: "pairs", Target: "127.0.0.1:1883",
		Shard: LoadShard{Index: shard, Count: 2}, IntervalMs: 1000,
		Start: start, End: start.Add(3 * time.Second), PublishStart: start, PublishEnd: start.Add(2 * time.Second),
		Config:      LoadConfig{Protocol: "3.1.1", Transport: "tcp", Clients: 4, Publishers: 2, Subscribers: 2, QoS: []int{1}, SubQoS: 1, PayloadBytes: 64, Rate: 100, DurationS: 2, KeepAliveS: 60, CleanSession: true, Inflight: 64},
		Counters:    LoadCounters{Sent: int64(len(values)), Acked: int64(len(values)), Expected: int64(len(values)), Received: int64(len(values)) - 1, Lost: 1},
		Connections: LoadConnections{Attempted: 4, Succeeded: 4, Peak: 4},
		Resources:   LoadResources{Processes: 1, CPUUserS: 0.5, CPUSystemS: 0.25, MaxRSSBytes: 20 << 20, OpenFileLimit: 1024},
		Latency:     map[string]*LatencyHistogram{},
	}
	r.ByQoS = []LoadQoSCounters{{QoS: 1, LoadCounters: r.Counters}}
	for i := 0; i < 2; i++ {
		iv := NewLatencyHistogram()
		for j := i; j < len(values); j += 2 {
			_ = iv.RecordValue(values[j])
			_ = total.RecordValue(values[j])
		}
		enc, err := EncodeLatency(iv)
		if err != nil {
			t.Fatal(err)
		}
		s := start.Add(time.Duration(i) * time.Second).UnixMilli()
		r.Intervals = append(r.Intervals, LoadInterval{StartMs: s, EndMs: s + 1000, Connected: 4, Sent: iv.TotalCount(), Acked: iv.TotalCount(), Received: iv.TotalCount(), Latency: map[string]string{MetricE2E: enc}})
	}
	h, err := SummarizeLatency(total)
	if err != nil {
		t.Fatal(err)
	}
	r.Latency[MetricE2E] = h
	r.Derive()
	return r
}

func randValues(seed uint64, n int, scale int64) []int64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]int64, n)
	for i := range out {
		out[i] = 50_000 + rng.Int64N(scale)
	}
	return out
}

// Merging adds histograms: the merged percentiles are those of all the
// values together, not an average of the shards' percentiles.
func TestMergeLoadIsExact(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := randValues(1, 5000, 1_000_000)
	b := randValues(2, 3000, 50_000_000) // a slow shard
	ra, rb := synthLoad(t, start, 0, a), synthLoad(t, start.Add(300*time.Millisecond), 1, b)
	m, err := MergeLoad(ra, rb)
	if err != nil {
		t.Fatal(err)
	}
	all := NewLatencyHistogram()
	for _, v := range append(append([]int64{}, a...), b...) {
		_ = all.RecordValue(v)
	}
	want, _ := SummarizeLatency(all)
	got := m.Latency[MetricE2E]
	if got.Count != want.Count || got.P99Ms != want.P99Ms || got.P50Ms != want.P50Ms || got.MaxMs != want.MaxMs || got.HDR != want.HDR {
		t.Errorf("merged e2e %+v\nwant             %+v", *got, *want)
	}
	if avg := (ra.Latency[MetricE2E].P99Ms + rb.Latency[MetricE2E].P99Ms) / 2; avg == got.P99Ms {
		t.Errorf("merged p99 equals the average of the shards' p99")
	}
	if m.Counters.Sent != 8000 || m.Counters.Lost != 2 || m.Resources.Processes != 2 || m.Config.Rate != 200 {
		t.Errorf("merged counters %+v resources %+v rate %v", m.Counters, m.Resources, m.Config.Rate)
	}
	// Intervals line up by wall-clock slot.
	if len(m.Intervals) != 2 || m.Intervals[0].Sent != 4000 {
		t.Errorf("merged intervals %+v", m.Intervals)
	}
	if len(m.Notes) != 0 {
		t.Errorf("notes %v", m.Notes)
	}
	if _, err := MergeLoad(ra, &LoadResult{Schema: LoadSchema, Scenario: "idle", IntervalMs: 1000}); !errors.Is(err, ErrLoadMerge) {
		t.Errorf("merging different scenarios: %v", err)
	}
	m2, _ := MergeLoad(ra)
	if len(m2.Notes) != 1 || !strings.Contains(m2.Notes[0], "shard 1/2 is missing") {
		t.Errorf("a missing shard is not noted: %v", m2.Notes)
	}
}

func TestLoadSLO(t *testing.T) {
	r := synthLoad(t, time.Unix(0, 0), 0, randValues(3, 1000, 10_000_000))
	for _, tc := range []struct {
		expr string
		pass bool
	}{
		{"p99<20ms", true},
		{"p99<1ms", false},
		{"p99.9<=1s,loss<1%", true},
		{"loss=0", false},
		{"loss<=1", true},
		{"max<1s, mean < 1s", true},
		{"throughput>=400", true},
		{"throughput>=1000", false},
		{"errors=0,conn_failed=0", true},
		{"service.p99<1s", false}, // not measured: not met
	} {
		slo, err := ParseLoadSLO(tc.expr)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if got := slo.Evaluate(r); got.Passed != tc.pass {
			t.Errorf("%q: passed = %v, want %v (%+v)", tc.expr, got.Passed, tc.pass, got.Terms)
		}
	}
	for _, bad := range []string{"", "p99", "p99<fast", "latency<1ms", "dup<1%", "nosuch.p99<1ms", "p0<1ms"} {
		if _, err := ParseLoadSLO(bad); !errors.Is(err, ErrLoadSLO) {
			t.Errorf("ParseLoadSLO(%q) = %v, want ErrLoadSLO", bad, err)
		}
	}
}

// The .hlog is read back by hdrhistogram-go's own log reader (the
// format HistogramLogProcessor reads), interval by interval.
func TestLoadHlogReadsBack(t *testing.T) {
	r := synthLoad(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), 0, randValues(4, 2000, 5_000_000))
	var b bytes.Buffer
	if err := WriteLoadHlog(&b, r); err != nil {
		t.Fatal(err)
	}
	rd := hdrhistogram.NewHistogramLogReader(&b)
	var n int64
	var intervals int
	for {
		h, err := rd.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		intervals++
		n += h.TotalCount()
	}
	if intervals != 2 || n != 2000 {
		t.Errorf("read %d intervals with %d values, want 2 with 2000", intervals, n)
	}
}

func TestLoadGolden(t *testing.T) {
	r := synthLoad(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), 0, randValues(5, 2000, 5_000_000))
	r.Errors = []LoadErrorCount{{Kind: "connection lost: closed by the broker", Count: 1, Example: "client: connection lost: EOF"}}
	r.Notes = []string{"a note"}
	slo, _ := ParseLoadSLO("p99<20ms,loss=0")
	r.SLO = slo.Evaluate(r)
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"load-summary.txt", func(w io.Writer) error { return WriteLoadText(w, r) }},
		{"load-report.html", func(w io.Writer) error {
			r2 := synthLoad(t, r.Start, 1, randValues(6, 2000, 20_000_000))
			r2.Label = "slower run"
			return WriteLoadHTML(w, []*LoadResult{r, r2})
		}},
		{"load-result.json", func(w io.Writer) error { return WriteLoadJSON(w, r) }},
	} {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		checkGolden(t, f.name, b.Bytes())
	}
	// And the JSON reads back.
	var b bytes.Buffer
	_ = WriteLoadJSON(&b, r)
	back, err := ReadLoadJSON(&b)
	if err != nil || back.Counters != r.Counters || back.Latency[MetricE2E].HDR != r.Latency[MetricE2E].HDR {
		t.Errorf("read back: %v", err)
	}
}

// loadFailWriter fails after n bytes: every writer must pass the error on.
type loadFailWriter struct{ n int }

func (f *loadFailWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestLoadWritersReportWriteErrors(t *testing.T) {
	r := synthLoad(t, time.Unix(0, 0), 0, randValues(7, 100, 1_000_000))
	for name, w := range map[string]func(io.Writer) error{
		"summary": func(w io.Writer) error { return WriteLoadSummary(w, r) },
		"text":    func(w io.Writer) error { return WriteLoadText(w, r) },
		"html":    func(w io.Writer) error { return WriteLoadHTML(w, []*LoadResult{r}) },
		"hlog":    func(w io.Writer) error { return WriteLoadHlog(w, r) },
		"hgrm":    func(w io.Writer) error { return WriteLoadHGRM(w, r, MetricE2E) },
		"json":    func(w io.Writer) error { return WriteLoadJSON(w, r) },
	} {
		if err := w(&loadFailWriter{n: 100}); err == nil {
			t.Errorf("%s: write error lost", name)
		}
	}
}
