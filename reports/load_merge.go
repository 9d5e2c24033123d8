package reports

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// ErrLoadMerge is returned by MergeLoad for documents that cannot be
// added up (different scenarios, interval lengths or schemas).
var ErrLoadMerge = errors.New("result: documents cannot be merged")

// MergeLoad combines the documents of the shards of one run into one
// document, exactly: counters are added, histograms are added (whole-run
// and per interval, intervals matched by their wall-clock slot), and
// every percentile is recomputed from the added histograms. Percentiles
// are never averaged.
//
// The documents must come from the same scenario with the same interval
// length. A missing or repeated shard index is not an error (a shard may
// have failed) but is reported in Notes.
func MergeLoad(rs ...*LoadResult) (*LoadResult, error) {
	if len(rs) == 0 {
		return nil, fmt.Errorf("%w: nothing to merge", ErrLoadMerge)
	}
	first := rs[0]
	for i, r := range rs {
		switch {
		case r.Schema != LoadSchema:
			return nil, fmt.Errorf("%w: document %d has schema %q, want %q", ErrLoadMerge, i+1, r.Schema, LoadSchema)
		case r.Scenario != first.Scenario:
			return nil, fmt.Errorf("%w: document %d is scenario %q, document 1 is %q", ErrLoadMerge, i+1, r.Scenario, first.Scenario)
		case r.IntervalMs != first.IntervalMs:
			return nil, fmt.Errorf("%w: document %d has %dms intervals, document 1 has %dms", ErrLoadMerge, i+1, r.IntervalMs, first.IntervalMs)
		}
	}
	out := &LoadResult{
		Schema: LoadSchema, Tool: first.Tool, RunID: first.RunID, Label: first.Label,
		Scenario: first.Scenario, Target: first.Target, Config: first.Config,
		Shard: LoadShard{Index: -1, Count: first.Shard.Count}, IntervalMs: first.IntervalMs,
		Start: first.Start, End: first.End, PublishStart: first.PublishStart, PublishEnd: first.PublishEnd,
		Latency: map[string]*LatencyHistogram{},
	}
	out.Config.Clients, out.Config.Publishers, out.Config.Subscribers = 0, 0, 0
	out.Config.Rate = 0
	out.Config.Count = 0
	var runIDs []string
	seen := map[int]int{}
	for _, r := range rs {
		if len(r.MergedShards) > 0 {
			out.MergedShards = append(out.MergedShards, r.MergedShards...)
			for _, s := range r.MergedShards {
				seen[s.Index]++
			}
		} else {
			out.MergedShards = append(out.MergedShards, r.Shard)
			seen[r.Shard.Index]++
		}
		if !slices.Contains(runIDs, r.RunID) {
			runIDs = append(runIDs, r.RunID)
		}
		out.Config.Clients += r.Config.Clients
		out.Config.Publishers += r.Config.Publishers
		out.Config.Subscribers += r.Config.Subscribers
		out.Config.Rate += r.Config.Rate
		out.Config.Count += r.Config.Count
		out.Start = loadMinTime(out.Start, r.Start)
		out.End = loadMaxTime(out.End, r.End)
		out.PublishStart = loadMinTime(out.PublishStart, r.PublishStart)
		out.PublishEnd = loadMaxTime(out.PublishEnd, r.PublishEnd)
		out.Counters.Add(r.Counters)
		out.Connections.Add(r.Connections)
		out.TopicsOmitted += r.TopicsOmitted
		out.ByTopic = append(out.ByTopic, r.ByTopic...)
		for _, n := range r.Notes {
			if !slices.Contains(out.Notes, n) {
				out.Notes = append(out.Notes, n)
			}
		}
		addLoadResources(&out.Resources, r.Resources)
	}
	out.RunID = strings.Join(runIDs, "+")
	for idx := 0; idx < out.Shard.Count; idx++ {
		if seen[idx] == 0 {
			out.Notes = append(out.Notes, fmt.Sprintf("shard %d/%d is missing from the merge", idx, out.Shard.Count))
		}
	}
	for idx, n := range seen {
		if n > 1 {
			out.Notes = append(out.Notes, fmt.Sprintf("shard %d appears %d times in the merge", idx, n))
		}
	}
	out.ByQoS = mergeLoadQoS(rs)
	out.Errors = mergeLoadErrors(rs)
	for _, m := range LatencyMetrics {
		var hs []*LatencyHistogram
		for _, r := range rs {
			if h := r.Latency[m]; h != nil {
				hs = append(hs, h)
			}
		}
		if len(hs) == 0 {
			continue
		}
		sum, err := mergeLatency(hs)
		if err != nil {
			return nil, fmt.Errorf("result: merge %s latency: %w", m, err)
		}
		if out.Latency[m], err = SummarizeLatency(sum); err != nil {
			return nil, err
		}
	}
	var err error
	if out.Intervals, err = mergeLoadIntervals(rs, first.IntervalMs); err != nil {
		return nil, err
	}
	out.Derive()
	return out, nil
}

func loadMinTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func loadMaxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func addLoadResources(dst *LoadResources, r LoadResources) {
	dst.Processes += max(r.Processes, 1)
	dst.CPUUserS += r.CPUUserS
	dst.CPUSystemS += r.CPUSystemS
	dst.MaxRSSBytes += r.MaxRSSBytes
	dst.RSSBeforeBytes += r.RSSBeforeBytes
	dst.RSSConnectedBytes += r.RSSConnectedBytes
	dst.Goroutines += r.Goroutines
	if dst.OpenFileLimit == 0 || (r.OpenFileLimit != 0 && r.OpenFileLimit < dst.OpenFileLimit) {
		dst.OpenFileLimit = r.OpenFileLimit
	}
	// KB per connection is a per-process figure; the merge keeps the
	// largest, the figure a capacity plan must assume.
	dst.KBPerConnection = max(dst.KBPerConnection, r.KBPerConnection)
}

func mergeLoadQoS(rs []*LoadResult) []LoadQoSCounters {
	by := map[int]*LoadCounters{}
	for _, r := range rs {
		for _, q := range r.ByQoS {
			if by[q.QoS] == nil {
				by[q.QoS] = &LoadCounters{}
			}
			by[q.QoS].Add(q.LoadCounters)
		}
	}
	var out []LoadQoSCounters
	for q, c := range by {
		out = append(out, LoadQoSCounters{QoS: q, LoadCounters: *c})
	}
	slices.SortFunc(out, func(a, b LoadQoSCounters) int { return a.QoS - b.QoS })
	return out
}

func mergeLoadErrors(rs []*LoadResult) []LoadErrorCount {
	var out []LoadErrorCount
	for _, r := range rs {
		for _, e := range r.Errors {
			i := slices.IndexFunc(out, func(o LoadErrorCount) bool { return o.Kind == e.Kind })
			if i < 0 {
				out = append(out, e)
				continue
			}
			out[i].Count += e.Count
		}
	}
	slices.SortFunc(out, func(a, b LoadErrorCount) int { return strings.Compare(a.Kind, b.Kind) })
	return out
}

func mergeLatency(hs []*LatencyHistogram) (*hdrhistogram.Histogram, error) {
	sum := NewLatencyHistogram()
	for _, h := range hs {
		d, err := h.Decode()
		if err != nil {
			return nil, err
		}
		if dropped := sum.Merge(d); dropped != 0 {
			return nil, fmt.Errorf("%d values outside the shared histogram range", dropped)
		}
	}
	return sum, nil
}

// mergeLoadIntervals adds up the intervals that fall in the same wall-clock
// slot (StartMs / intervalMs).
func mergeLoadIntervals(rs []*LoadResult, intervalMs int64) ([]LoadInterval, error) {
	if intervalMs <= 0 {
		return nil, nil
	}
	type slot struct {
		iv    LoadInterval
		hists map[string]*hdrhistogram.Histogram
	}
	slots := map[int64]*slot{}
	for _, r := range rs {
		for _, iv := range r.Intervals {
			k := iv.StartMs / intervalMs
			s := slots[k]
			if s == nil {
				s = &slot{iv: LoadInterval{StartMs: iv.StartMs, EndMs: iv.EndMs}, hists: map[string]*hdrhistogram.Histogram{}}
				slots[k] = s
			}
			s.iv.StartMs = min(s.iv.StartMs, iv.StartMs)
			s.iv.EndMs = max(s.iv.EndMs, iv.EndMs)
			s.iv.Connected += iv.Connected
			s.iv.Sent += iv.Sent
			s.iv.Acked += iv.Acked
			s.iv.Received += iv.Received
			s.iv.Errors += iv.Errors
			for m, enc := range iv.Latency {
				d, err := DecodeLatency(enc)
				if err != nil {
					return nil, fmt.Errorf("result: interval at %d: %w", iv.StartMs, err)
				}
				if s.hists[m] == nil {
					s.hists[m] = NewLatencyHistogram()
				}
				s.hists[m].Merge(d)
			}
		}
	}
	keys := make([]int64, 0, len(slots))
	for k := range slots {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]LoadInterval, 0, len(keys))
	for _, k := range keys {
		s := slots[k]
		if len(s.hists) > 0 {
			s.iv.Latency = map[string]string{}
			for m, h := range s.hists {
				enc, err := EncodeLatency(h)
				if err != nil {
					return nil, err
				}
				s.iv.Latency[m] = enc
			}
		}
		out = append(out, s.iv)
	}
	return out, nil
}
