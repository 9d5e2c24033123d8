// Package faultcheck proves that the conformance suite tells the truth:
// for every fault switch of the reference broker, the specs that check the
// statements the fault breaks must fail. It runs in its own test binary
// because Ginkgo allows one RunSpecs per process, and here every spec
// failure is expected.
package faultcheck

import (
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/conformance"
	"github.com/mqtt-check/mqtt-check/reference/broker"
)

// swallow is a GinkgoTestingT that records failure without failing the
// Go test: failures are what this test wants, and it judges them itself.
type swallow struct{ failed bool }

func (s *swallow) Fail() { s.failed = true }

// knownGaps lists faults no spec catches yet, each with the reason. The
// test fails if a fault is caught that is listed here (remove it) or a
// fault is missed that is not.
var knownGaps = map[broker.Fault]string{}

func TestEveryFaultIsCaught(t *testing.T) {
	only := os.Getenv("MQTT_CHECK_FAULT") // run one fault while developing
	var targets []*conformance.Target
	faults := map[string]broker.FaultInfo{}
	for _, f := range broker.Faults() {
		if only != "" && string(f.Name) != only {
			continue
		}
		srv := broker.New(broker.Options{Faults: broker.FaultSet{f.Name: true}, SysInterval: 200 * time.Millisecond})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(context.Background(), ln)
		t.Cleanup(func() { srv.Close() })
		tg := &conformance.Target{Name: string(f.Name), Addr: ln.Addr().String(), Version: codec.V311, Only: f.Statements}
		if f.Name == broker.FaultWebSocketNoSubprotocol {
			wl, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go srv.ServeWebSocket(context.Background(), wl)
			tg.WebSocketURL = "ws://" + wl.Addr().String() + "/mqtt"
		}
		// Capabilities are those of the correct broker: probing a faulty
		// one could fail, and a fault must not turn its specs into skips.
		tg.Caps = map[conformance.Capability]bool{}
		for c, v := range correctCaps(t) {
			tg.Caps[c] = v
		}
		tg.Caps[conformance.CapWebSocket] = tg.WebSocketURL != ""
		targets = append(targets, tg)
		faults[string(f.Name)] = f
	}
	var report types.Report
	ginkgo.ReportAfterSuite("fault report", func(r types.Report) { report = r })
	conformance.Build(targets, conformance.Config{Wait: time.Second, Quiet: 300 * time.Millisecond, KeepAliveMargin: 700 * time.Millisecond})
	rc := types.NewDefaultReporterConfig()
	rc.Succinct, rc.NoColor = true, true
	sc := conformance.SuiteConfig("", nil, nil, 15*time.Minute)
	ginkgo.RunSpecs(&swallow{}, "fault switches", sc, rc)

	caught := map[string][]string{}
	checked := map[string]int{}
	for _, sr := range report.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt || len(sr.ContainerHierarchyTexts) == 0 {
			continue
		}
		target := sr.ContainerHierarchyTexts[0]
		if sr.State.Is(types.SpecStatePassed | types.SpecStateFailureStates) {
			checked[target]++
		}
		if sr.State.Is(types.SpecStateFailureStates) {
			caught[target] = append(caught[target], sr.LeafNodeText)
		}
	}
	var missed []string
	for name, f := range faults {
		gap, isGap := knownGaps[f.Name]
		switch {
		case len(caught[name]) > 0 && isGap:
			t.Errorf("fault %s is caught now (by %q): remove it from knownGaps", name, caught[name][0])
		case len(caught[name]) == 0 && !isGap:
			missed = append(missed, fmt.Sprintf("%s (%s; %d specs ran for %s)", name, f.Description, checked[name], strings.Join(f.Statements, " ")))
		case isGap:
			t.Logf("known gap: %s: %s", name, gap)
		}
	}
	sort.Strings(missed)
	if len(missed) > 0 {
		t.Errorf("%d of %d faults caught by no spec:\n  %s", len(faults)-len(missed)-len(knownGaps), len(faults), strings.Join(missed, "\n  "))
	}
	t.Logf("%d faults checked", len(faults))
}

var refCaps map[conformance.Capability]bool

// correctCaps probes a broker without faults once.
func correctCaps(t *testing.T) map[conformance.Capability]bool {
	if refCaps != nil {
		return refCaps
	}
	srv := broker.New(broker.Options{SysInterval: 200 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(context.Background(), ln)
	defer srv.Close()
	tg := &conformance.Target{Name: "probe", Addr: ln.Addr().String(), Version: codec.V311}
	if err := tg.Probe(t.Context(), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	refCaps = tg.Caps
	return refCaps
}
