package load

import (
	"sync"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/reference/broker"
	"github.com/mqtt-check/mqtt-check/reports"
)

// Two shards run at once and merged must account for exactly what one
// process running the whole scenario does.
func TestShardsMergeLikeOneProcess(t *testing.T) {
	checkNoLeak(t)
	b := startBroker(t, broker.Impairments{})
	base := Config{Scenario: Pairs, Target: b.Addr, Clients: 8, Rate: 400, Count: 400, Duration: 2 * time.Second, QoS: []byte{1}}
	one := run(t, base)
	var shards [2]*reports.LoadResult
	var wg sync.WaitGroup
	for i := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := base
			cfg.Shard, cfg.Shards = i, 2
			shards[i] = run(t, cfg)
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	m, err := reports.MergeLoad(shards[0], shards[1])
	if err != nil {
		t.Fatal(err)
	}
	if m.Counters != one.Counters {
		t.Errorf("merged counters %+v\none process     %+v", m.Counters, one.Counters)
	}
	if m.Counters.Sent != 400 || m.Counters.Received != 400 {
		t.Errorf("merged sent %d received %d, want 400", m.Counters.Sent, m.Counters.Received)
	}
	for _, metric := range []string{reports.MetricE2E, reports.MetricPuback} {
		got := m.Latency[metric].Count
		want := shards[0].Latency[metric].Count + shards[1].Latency[metric].Count
		if got != want || got != one.Latency[metric].Count {
			t.Errorf("%s: merged %d values, shards %d, one process %d", metric, got, want, one.Latency[metric].Count)
		}
	}
	if m.Config.Publishers != 4 || m.Config.Rate != 400 || len(m.MergedShards) != 2 || len(m.Notes) != 0 {
		t.Errorf("merged config %+v shards %v notes %v", m.Config, m.MergedShards, m.Notes)
	}
}
