package conformance_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/conformance"
	"github.com/mqtt-check/mqtt-check/reference/broker"
	"github.com/mqtt-check/mqtt-check/reference/mosquitto"
)

// startReference runs an in-process reference broker on 127.0.0.1:0.
func startReference(t *testing.T, opts broker.Options) string {
	t.Helper()
	if opts.SysInterval == 0 {
		opts.SysInterval = 200 * time.Millisecond
	}
	srv := broker.New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(context.Background(), ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestRegistryIsValid(t *testing.T) {
	if err := conformance.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestConformance runs the whole suite against the reference broker, at
// MQTT 3.1.1 and 3.1, and against a real mosquitto: every spec must pass
// on the reference broker, and mosquitto may fail only where its profile
// records a confirmed deviation.
func TestConformance(t *testing.T) {
	cfg := conformance.Config{Wait: 2 * time.Second, Quiet: 300 * time.Millisecond, KeepAliveMargin: 700 * time.Millisecond}
	var targets []*conformance.Target
	ref := startReference(t, broker.Options{})
	for _, v := range []codec.Version{codec.V311, codec.V31} {
		name := "reference-" + v.String()
		targets = append(targets, &conformance.Target{Name: name, Addr: ref, Version: v})
	}
	if _, err := mosquitto.Find(); err == nil || os.Getenv("CI") != "" {
		m := mosquitto.Start(t, mosquitto.Options{})
		tg := &conformance.Target{Name: "mosquitto", Addr: m.Addr, Version: codec.V311}
		p, err := conformance.LoadProfile(filepath.Join("profiles", "mosquitto.json"))
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, tg)
		defer func() {
			if t.Failed() {
				t.Logf("mosquitto log:\n%s", m.Log())
			}
		}()
		prepare(t, tg, p)
	} else {
		t.Log("mosquitto not installed: running against the reference broker only")
	}
	for _, tg := range targets[:2] {
		prepare(t, tg, nil)
	}
	conformance.Build(targets, cfg)
	ginkgo.RunSpecs(t, "MQTT conformance", conformance.SuiteConfig(os.Getenv("MQTT_CHECK_LABELS"), nil, nil, 10*time.Minute), quietReporter())
}

func prepare(t *testing.T, tg *conformance.Target, p *conformance.Profile) {
	t.Helper()
	if err := tg.Probe(t.Context(), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if p != nil {
		p.Apply(tg)
	}
}

func quietReporter() types.ReporterConfig {
	rc := types.NewDefaultReporterConfig()
	rc.Succinct = true
	rc.NoColor = true
	return rc
}
