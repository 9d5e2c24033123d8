package load

import (
	"net"
	"testing"
	"time"
)

func TestStream(t *testing.T) {
	var s stream
	for _, n := range []uint64{0, 1, 2, 5, 3, 3, 1, 200, 4, 7} {
		s.add(n)
	}
	// Unique: 0 1 2 3 4 5 7 200 = 8; dups: 3, 1; out of order: 3 (after
	// 5), 4 (after 200), 7 (after 200).
	if s.unique != 8 || s.dups != 2 || s.ooo != 3 || s.total != 10 {
		t.Errorf("unique %d dups %d ooo %d total %d, want 8 2 3 10", s.unique, s.dups, s.ooo, s.total)
	}
	for n, want := range map[uint64]bool{0: true, 4: true, 6: false, 199: false, 200: true, 201: false} {
		if got := s.has(n); got != want {
			t.Errorf("has(%d) = %v, want %v", n, got, want)
		}
	}
	if got := s.countBelow(8); got != 7 {
		t.Errorf("countBelow(8) = %d, want 7", got)
	}
	// In-order streams stay small.
	var in stream
	for n := uint64(0); n < 100000; n++ {
		in.add(n)
	}
	if len(in.seen) > 1 || in.base < 99900 {
		t.Errorf("in-order stream keeps %d words from %d", len(in.seen), in.base)
	}
}

func TestPacers(t *testing.T) {
	c := ConstantPacer{Rate: 1000, Phase: time.Millisecond}
	if got := c.Due(10); got != 11*time.Millisecond {
		t.Errorf("constant Due(10) = %v, want 11ms", got)
	}
	r := RampPacer{Rate: 100, Ramp: 2 * time.Second}
	// 100 messages during the 2s ramp (half of 200), then 100/s.
	if got := r.Due(100); got != 2*time.Second {
		t.Errorf("ramp Due(100) = %v, want 2s", got)
	}
	if got := r.Due(200); got != 3*time.Second {
		t.Errorf("ramp Due(200) = %v, want 3s", got)
	}
	if got := r.Due(25); got != time.Second {
		t.Errorf("ramp Due(25) = %v, want 1s (n = rate t^2 / 2 ramp)", got)
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	b := make([]byte, 64)
	h := header{qos: 2, run: 0xdeadbeef, pub: 7, seq: 1 << 40, intended: 123, sent: -5}
	h.put(b)
	var g header
	if !g.parse(b) || g != h {
		t.Fatalf("parse = %+v, want %+v", g, h)
	}
	if g.parse(b[:HeaderSize-1]) || g.parse(make([]byte, 64)) {
		t.Error("parse accepted a short or foreign payload")
	}
}

func TestParseShardAndSourceIPs(t *testing.T) {
	if i, n, err := ParseShard("1/3"); err != nil || i != 1 || n != 3 {
		t.Errorf("ParseShard(1/3) = %d %d %v", i, n, err)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "2")
	if i, n, err := ParseShard("env/4"); err != nil || i != 2 || n != 4 {
		t.Errorf("ParseShard(env/4) = %d %d %v", i, n, err)
	}
	t.Setenv("MQTT_CHECK_SHARDS", "5")
	if i, n, err := ParseShard("env"); err != nil || i != 2 || n != 5 {
		t.Errorf("ParseShard(env) = %d %d %v", i, n, err)
	}
	for _, bad := range []string{"3/3", "x", "-1/2", "1/0"} {
		if _, _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	ips, err := ParseSourceIPs("127.0.0.9, 127.0.1.0/30")
	if err != nil || len(ips) != 3 || !ips[1].Equal(net.ParseIP("127.0.1.1")) || !ips[2].Equal(net.ParseIP("127.0.1.2")) {
		t.Errorf("ParseSourceIPs = %v, %v", ips, err)
	}
}

// Every shard runs its own slice; together they are the whole.
func TestShardPlans(t *testing.T) {
	total := map[uint32]bool{}
	for i := 0; i < 3; i++ {
		cfg := Config{Scenario: Pairs, Target: "x", Clients: 20, Shard: i, Shards: 3, RunID: "r"}
		cfg.Defaults()
		p, err := buildPlan(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, pp := range p.pubs {
			if total[pp.id] {
				t.Errorf("publisher %d in two shards", pp.id)
			}
			total[pp.id] = true
		}
		for _, sp := range p.subs {
			if len(sp.pubs) != 1 || p.pubs[sp.pubs[0]].id != sp.id {
				t.Errorf("shard %d: subscriber %d owed %v", i, sp.id, sp.pubs)
			}
		}
	}
	if len(total) != 10 {
		t.Errorf("%d publishers over the shards, want 10", len(total))
	}
}

func TestScenarioFile(t *testing.T) {
	var c Config
	err := ParseFile([]byte(`{"scenario":"fan-in","clients":50,"qos":"0,1","duration":"3s","ramp_up":"1s","rate":500,"protocol":"5"}`), &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.Scenario != FanIn || c.Clients != 50 || len(c.QoS) != 2 || c.Duration != 3*time.Second || c.RampUp != time.Second || c.Version != 5 {
		t.Errorf("config %+v", c)
	}
	if err := ParseFile([]byte(`{"sceanrio":"x"}`), &c); err == nil {
		t.Error("unknown field accepted")
	}
}
