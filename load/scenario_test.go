package load

import (
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/reference/broker"
	"github.com/mqtt-check/mqtt-check/reference/mosquitto"
	"github.com/mqtt-check/mqtt-check/reports"
)

// scenarioCases runs every scenario small and short; each must deliver
// everything it owes on a healthy broker.
var scenarioCases = []struct {
	name string
	cfg  Config
	// check is extra per-scenario judgement.
	check func(t *testing.T, r *reports.LoadResult)
}{
	{"fan-in", Config{Scenario: FanIn, Clients: 12, Subscribers: 2, Rate: 500, QoS: []byte{1}}, func(t *testing.T, r *reports.LoadResult) {
		if r.Counters.Expected != 2*r.Counters.Sent {
			t.Errorf("expected %d, want 2 subscribers x %d sent", r.Counters.Expected, r.Counters.Sent)
		}
	}},
	{"fan-out", Config{Scenario: FanOut, Clients: 11, Rate: 100, QoS: []byte{0}}, func(t *testing.T, r *reports.LoadResult) {
		if r.Counters.Expected != 10*r.Counters.Sent {
			t.Errorf("expected %d, want 10 subscribers x %d sent", r.Counters.Expected, r.Counters.Sent)
		}
	}},
	{"pairs-mix", Config{Scenario: Pairs, Clients: 6, Rate: 300, QoS: []byte{0, 1, 2}}, func(t *testing.T, r *reports.LoadResult) {
		if len(r.ByQoS) != 3 || r.Latency[reports.MetricPubcomp] == nil || r.Latency[reports.MetricPuback] == nil {
			t.Errorf("by QoS %+v; want QoS 0, 1 and 2 with PUBACK and PUBCOMP latencies", r.ByQoS)
		}
	}},
	{"shared", Config{Scenario: Shared, Clients: 5, Rate: 100, QoS: []byte{1}}, func(t *testing.T, r *reports.LoadResult) {
		if r.Counters.Expected != 5*r.Counters.Sent {
			t.Errorf("expected %d, want 5 x %d", r.Counters.Expected, r.Counters.Sent)
		}
	}},
	{"wildcard", Config{Scenario: Wildcard, Clients: 24, Rate: 400, Branching: 2}, nil},
	{"connect-storm", Config{Scenario: ConnectStorm, Clients: 30, ConnectRate: 300}, func(t *testing.T, r *reports.LoadResult) {
		if r.Connections.Succeeded != 30 {
			t.Errorf("%d of 30 connected", r.Connections.Succeeded)
		}
	}},
	{"idle", Config{Scenario: Idle, Clients: 30, Duration: 300 * time.Millisecond}, func(t *testing.T, r *reports.LoadResult) {
		if r.Connections.Peak != 30 || r.Resources.RSSConnectedBytes == 0 {
			t.Errorf("peak %d, RSS %d", r.Connections.Peak, r.Resources.RSSConnectedBytes)
		}
	}},
	{"churn", Config{Scenario: Churn, Clients: 6, Rate: 300, Duration: 2 * time.Second, ChurnOnline: 400 * time.Millisecond, ChurnOffline: 200 * time.Millisecond}, func(t *testing.T, r *reports.LoadResult) {
		if r.Connections.Reconnects < 3 || r.Connections.SessionLost != 0 {
			t.Errorf("connections %+v: want reconnects with their sessions", r.Connections)
		}
	}},
	{"retained", Config{Scenario: RetainedStorm, Clients: 8, Topics: 50}, func(t *testing.T, r *reports.LoadResult) {
		if r.Counters.Received != 8*50 || r.Latency[reports.MetricRetained] == nil {
			t.Errorf("received %d retained messages, want 8 x 50", r.Counters.Received)
		}
	}},
}

func runScenarios(t *testing.T, target string) {
	for _, tc := range scenarioCases {
		t.Run(tc.name, func(t *testing.T) {
			checkNoLeak(t)
			cfg := tc.cfg
			cfg.Target = target
			if cfg.Duration == 0 {
				cfg.Duration = 700 * time.Millisecond
			}
			r := run(t, cfg)
			c := r.Counters
			dups := c.Duplicated
			if cfg.Scenario == Churn {
				// QoS 1 is at least once: a message whose PUBACK was cut
				// off by the DISCONNECT is delivered again on reconnect.
				dups = 0
				c.Received -= c.Duplicated
			}
			if c.Lost != 0 || dups != 0 || c.Unexpected != 0 || c.Unsent != 0 || len(r.Errors) != 0 || c.Received != c.Expected {
				dump(t, r)
				t.Fatalf("counters %+v, errors %+v: want every owed message once and nothing else", c, r.Errors)
			}
			if cfg.Scenario != Idle && cfg.Scenario != ConnectStorm && c.Received == 0 {
				t.Fatalf("nothing received")
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func TestScenariosReferenceBroker(t *testing.T) {
	b := startBroker(t, broker.Impairments{})
	runScenarios(t, b.Addr)
	if n := b.RetainedCount(); n != 0 {
		t.Errorf("%d retained messages left on the broker", n)
	}
	if n := b.SessionCount(); n != 0 {
		t.Errorf("%d sessions left on the broker", n)
	}
}

func TestScenariosMosquitto(t *testing.T) {
	m := mosquitto.Start(t, mosquitto.Options{Config: []string{"max_queued_messages 100000"}})
	runScenarios(t, m.Addr)
}
