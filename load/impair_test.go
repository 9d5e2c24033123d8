package load

import (
	"strings"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/reference/broker"
	"github.com/mqtt-check/mqtt-check/reports"
)

// The impairment tests prove the figures: the reference broker injects
// a known fault and the load result must report exactly that.

func TestDropIsCountedExactly(t *testing.T) {
	for _, qos := range []byte{0, 1} {
		t.Run("qos="+string('0'+qos), func(t *testing.T) {
			checkNoLeak(t)
			b := startBroker(t, broker.Impairments{DropRate: 0.2})
			r := run(t, Config{Scenario: Pairs, Target: b.Addr, Clients: 10, Rate: 1000, Duration: time.Second, QoS: []byte{qos}})
			drops := b.Stats().ImpairedDrops
			c := r.Counters
			if c.Lost != drops || drops == 0 {
				dump(t, r)
				t.Fatalf("lost = %d, broker dropped %d", c.Lost, drops)
			}
			if c.Expected != c.Sent || c.Received != c.Sent-drops || c.Duplicated != 0 || c.Unexpected != 0 {
				t.Errorf("counters = %+v, want expected = sent, received = sent - %d drops, no duplicates", c, drops)
			}
			if qos == 1 && c.Acked != c.Sent {
				t.Errorf("acked %d of %d: the broker acknowledged what it dropped, so every message is acked", c.Acked, c.Sent)
			}
			var perTopic int64
			for _, tc := range r.ByTopic {
				perTopic += tc.Lost
			}
			if perTopic != drops {
				t.Errorf("per-topic losses add up to %d, want %d", perTopic, drops)
			}
		})
	}
}

// A stall must show in the end-to-end latency, which is measured from
// the INTENDED send time, even for messages that the publisher could not
// send during the stall (its inflight window of 1 was full): their
// service time is short, but they were due long before they went out.
func TestStallShowsAtIntendedTime(t *testing.T) {
	checkNoLeak(t)
	const stall = 250 * time.Millisecond
	b := startBroker(t, broker.Impairments{StallEvery: time.Second, StallFor: stall})
	r := run(t, Config{Scenario: Pairs, Target: b.Addr, Clients: 2, Rate: 400, Duration: 2200 * time.Millisecond,
		QoS: []byte{1}, Inflight: 1})
	e2e, svc, lag := r.Latency[reports.MetricE2E], r.Latency[reports.MetricService], r.Latency[reports.MetricSendLag]
	if e2e == nil || svc == nil || lag == nil {
		t.Fatalf("missing latency metrics: %v", r.Latency)
	}
	if r.Counters.Lost != 0 || r.Counters.Unsent != 0 {
		dump(t, r)
		t.Fatalf("lost %d, unsent %d: a stall delays, it does not lose", r.Counters.Lost, r.Counters.Unsent)
	}
	// About a quarter of the messages were due during a stall, waiting
	// up to 250ms.
	if e2e.P99Ms < 150 || e2e.P90Ms < 20 {
		dump(t, r)
		t.Errorf("end-to-end p90 %.1fms, p99 %.1fms: the %v stalls do not show", e2e.P90Ms, e2e.P99Ms, stall)
	}
	// Only the one message in flight when a stall began waited in the
	// broker; the rest waited in the publisher.
	if svc.P99Ms > 50 {
		t.Errorf("service p99 %.1fms: should stay small, the backlog was sent after the stall", svc.P99Ms)
	}
	if lag.P99Ms < 100 {
		t.Errorf("send lag p99 %.1fms: the publisher was held back by the stall", lag.P99Ms)
	}
}

// At QoS 0 the publisher is not held back (the broker still reads), so
// the stall shows in both figures.
func TestStallQoS0(t *testing.T) {
	checkNoLeak(t)
	b := startBroker(t, broker.Impairments{StallEvery: time.Second, StallFor: 200 * time.Millisecond})
	r := run(t, Config{Scenario: Pairs, Target: b.Addr, Clients: 2, Rate: 400, Duration: 2200 * time.Millisecond})
	e2e, svc := r.Latency[reports.MetricE2E], r.Latency[reports.MetricService]
	if e2e.P99Ms < 100 || svc.P99Ms < 100 {
		dump(t, r)
		t.Errorf("p99 end-to-end %.1fms, service %.1fms: both should show the 200ms stalls", e2e.P99Ms, svc.P99Ms)
	}
	if e2e.P50Ms < svc.P50Ms {
		t.Errorf("end-to-end p50 %.3fms < service p50 %.3fms: intended time comes first", e2e.P50Ms, svc.P50Ms)
	}
}

func TestDelayIsTheMinimum(t *testing.T) {
	checkNoLeak(t)
	const delay = 30 * time.Millisecond
	b := startBroker(t, broker.Impairments{Delay: delay})
	r := run(t, Config{Scenario: Pairs, Target: b.Addr, Clients: 4, Rate: 200, Duration: time.Second})
	for _, m := range []string{reports.MetricE2E, reports.MetricService, reports.MetricConnect} {
		if h := r.Latency[m]; h == nil || h.MinMs < 29.9 {
			t.Errorf("%s min = %v, want at least the %v delay", m, h, delay)
		}
	}
	if r.Counters.Lost != 0 {
		t.Errorf("lost %d", r.Counters.Lost)
	}
}

func TestRefusedConnectionsAreErrors(t *testing.T) {
	checkNoLeak(t)
	b := startBroker(t, broker.Impairments{MaxConnections: 5})
	r := run(t, Config{Scenario: ConnectStorm, Target: b.Addr, Clients: 12, ConnectRate: 500})
	refused := b.Stats().RefusedConnections
	k := r.Connections
	if k.Succeeded != 5 || k.Failed != 7 || refused != 7 || k.Attempted != 12 {
		dump(t, r)
		t.Fatalf("connections %+v, broker refused %d: want 5 succeeded, 7 failed", k, refused)
	}
	var n int64
	for _, e := range r.Errors {
		if strings.HasPrefix(e.Kind, "connect:") {
			n += e.Count
		}
	}
	if n != 7 {
		t.Errorf("connect errors = %d, want 7: %+v", n, r.Errors)
	}
	if h := r.Latency[reports.MetricE2E]; h == nil || h.Count != 5 {
		t.Errorf("connect-from-schedule latency of %v connections, want 5", h)
	}
}
