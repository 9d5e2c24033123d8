package conformance_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/conformance"
	"github.com/mqtt-check/mqtt-check/conformance/catalogue"
	"github.com/mqtt-check/mqtt-check/reference/broker"
	"github.com/mqtt-check/mqtt-check/reference/mosquitto"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

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
	// The reference broker with its TLS and WebSocket listeners, checked
	// at both protocol levels.
	emb, err := broker.StartEmbedded(broker.Options{SysInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	for _, v := range []codec.Version{codec.V311, codec.V31} {
		targets = append(targets, &conformance.Target{Name: "reference-" + v.String(), Addr: emb.Addr, Version: v,
			TLSAddr: emb.TLSAddr, ClientTLS: emb.ClientTLS, WebSocketURL: emb.WebSocketURL})
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
	// A reference broker that requires a password, for the auth specs.
	auth := broker.NewAuth()
	if err := auth.AddUser("mqtt-check", "secret"); err != nil {
		t.Fatal(err)
	}
	secured, err := broker.StartEmbedded(broker.Options{Auth: auth, SysInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { secured.Close() })
	authTarget := &conformance.Target{Name: "reference-auth", Addr: secured.Addr, Version: codec.V311,
		Username: "mqtt-check", Password: "secret", Only: []string{"MQTT-3.1.4-4", "MQTT-3.2.2-4", "MQTT-3.2.2-5", "MQTT-3.3.5-2"}}
	prepare(t, authTarget, nil)
	targets = append(targets, authTarget)
	conformance.Build(targets, cfg)
	ginkgo.RunSpecs(t, "MQTT conformance", conformance.SuiteConfig(os.Getenv("MQTT_CHECK_LABELS"), nil, nil, 10*time.Minute), quietReporter())
	for _, tg := range targets {
		if tg.Only == nil {
			checkNothingLeft(t, tg)
		}
	}
}

// checkNothingLeft subscribes to every topic and requires that no
// retained message of the run is still on the target: the suite must be
// safe to point at a shared broker.
func checkNothingLeft(t *testing.T, tg *conformance.Target) {
	t.Helper()
	c, err := probe.Dial(t.Context(), tg.Addr, probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Connect(t.Context(), &codec.Connect{ClientID: []byte("leftover-check"), CleanSession: true}, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(t.Context(), 2*time.Second, codec.Subscription{Filter: []byte("#")}); err != nil {
		t.Fatal(err)
	}
	c.ExpectNothing(t.Context(), 500*time.Millisecond, nil)
	for _, r := range c.Drain() {
		if p, ok := r.Packet.(*codec.Publish); ok && p.Retain && strings.HasPrefix(string(p.Topic), "mc") {
			t.Errorf("%s: the run left a retained message on %q", tg.Name, p.Topic)
		}
	}
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

// TestCoverage requires every statement that binds a server to be checked
// by a spec or declared untestable with a reason in the catalogue.
func TestCoverage(t *testing.T) {
	cv := catalogue.MQTT311().Coverage(conformance.Checked())
	t.Logf("%d server statements: %d checked, %d untestable", cv.Server, cv.Covered, cv.Untestable)
	if len(cv.Missing) > 0 {
		t.Errorf("statements neither checked nor declared untestable: %v", cv.Missing)
	}
}
