package load

import (
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/reference/mosquitto"
	"github.com/mqtt-check/mqtt-check/reports"
)

// BenchmarkHarness drives a real mosquitto for a fixed time at a fixed
// rate and reports what the harness cost: CPU seconds per million
// messages (sent plus received) and messages received per second.
// Performance goals live here, never in timed unit tests.
func BenchmarkHarness(b *testing.B) {
	m := mosquitto.Start(b, mosquitto.Options{Config: []string{"max_queued_messages 100000", "log_type none"}})
	for _, tc := range []struct {
		name string
		qos  byte
		rate float64
	}{{"qos=0/rate=20000", 0, 20000}, {"qos=1/rate=10000", 1, 10000}} {
		b.Run(tc.name, func(b *testing.B) {
			var cpu, recv float64
			for i := 0; i < b.N; i++ {
				r := run(b, Config{Scenario: Pairs, Target: m.Addr, Clients: 20, Rate: tc.rate, Duration: 2 * time.Second, QoS: []byte{tc.qos}})
				if r.Counters.Lost != 0 {
					b.Fatalf("lost %d", r.Counters.Lost)
				}
				cpu += r.Resources.CPUPerMillion
				recv += r.Throughput.ReceivedPerS
				_ = reports.MetricE2E
			}
			b.ReportMetric(cpu/float64(b.N), "cpu-s/Mmsg")
			b.ReportMetric(recv/float64(b.N), "recv/s")
		})
	}
}
