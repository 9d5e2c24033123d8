package interop_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/interop"
	"github.com/mqtt-check/mqtt-check/reports"
)

func sampleDoc(target string) reports.ConformanceDoc {
	return reports.ConformanceDoc{
		Schema: reports.ConformanceSchema,
		Tool:   reports.Tool{Name: "mqtt-check", Version: "test"},
		Targets: []reports.Target{{Name: target, Address: target, Protocol: "3.1.1",
			Capabilities:      map[string]bool{"qos2": false, "retain": true},
			CapabilityReasons: map[string]string{"qos2": "a QoS 2 subscription was granted QoS 1"},
			Deviations:        []reports.Deviation{{Spec: "MQTT-3.1.0-2 closes the connection on a second CONNECT", Statement: "MQTT-3.1.0-2", Evidence: "e"}}}},
		Results: []reports.Result{
			{Target: target, Area: "connect", Level: "must", Spec: "MQTT-3.1.0-2 closes the connection on a second CONNECT", Statements: []string{"MQTT-3.1.0-2"}, Verdict: reports.VerdictDeviation},
			{Target: target, Area: "connect", Level: "must", Spec: "MQTT-3.1.2-3 closes the connection when the CONNECT reserved flag is 1", Statements: []string{"MQTT-3.1.2-3"}, Verdict: reports.VerdictFail, Reason: "accepted it"},
			{Target: target, Area: "qos", Level: "must", Spec: "MQTT-4.3.3-1 QoS 2", Statements: []string{"MQTT-4.3.3-1"}, Verdict: reports.VerdictSkip},
			{Target: target, Area: "publish", Level: "must", Spec: "MQTT-3.3.1-1 x", Statements: []string{"MQTT-3.3.1-1"}, Verdict: reports.VerdictPass},
		},
	}
}

func TestRenameTarget(t *testing.T) {
	doc := sampleDoc("127.0.0.1:21000")
	if err := interop.RenameTarget(&doc, "rabbitmq", "RabbitMQ 3.10.8"); err != nil {
		t.Fatal(err)
	}
	if got := doc.TargetNames(); len(got) != 1 || got[0] != "rabbitmq" {
		t.Fatalf("targets %q", got)
	}
	tg := doc.Targets[0]
	if tg.Address != "127.0.0.1:21000" || tg.Banner != "RabbitMQ 3.10.8" {
		t.Errorf("target %+v", tg)
	}
	for _, v := range doc.StatementVerdicts {
		if v.Target != "rabbitmq" {
			t.Errorf("statement verdict still on %q", v.Target)
		}
	}
	two := sampleDoc("a:1")
	two.Targets = append(two.Targets, reports.Target{Name: "b:2"})
	if err := interop.RenameTarget(&two, "x", ""); err == nil {
		t.Error("renamed a document with two targets")
	}
}

func TestRenameTargetFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := reports.WriteConformanceJSON(f, sampleDoc("127.0.0.1:1")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := interop.RenameTargetFile(path, "aedes", ""); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	doc, err := reports.DecodeConformanceJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Results[0].Target != "aedes" || doc.Targets[0].Banner != "" {
		t.Errorf("%+v", doc.Targets[0])
	}
}

func TestReadMeta(t *testing.T) {
	m, err := interop.ReadMeta(strings.NewReader("# c\nSTART_RC=0\n\nVERSION=mosquitto 2.0.11 (x=y)\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m["START_RC"] != "0" || m["VERSION"] != "mosquitto 2.0.11 (x=y)" {
		t.Errorf("%v", m)
	}
	if _, err := interop.ReadMeta(strings.NewReader("garbage\n")); err == nil {
		t.Error("accepted a line without =")
	}
}

func TestHeadlineAndGate(t *testing.T) {
	doc := sampleDoc("rabbitmq")
	ok := reports.ConformanceDoc{Targets: []reports.Target{{Name: "mochi"}},
		Results: []reports.Result{{Target: "mochi", Spec: "s", Verdict: reports.VerdictPass}}}
	brokers := []*interop.Broker{
		{Name: "rabbitmq", Meta: map[string]string{"START_RC": "0", "RUN_RC": "1", "RUN_S": "115", "VERSION": "RabbitMQ 3.10.8"}, Doc: &doc},
		{Name: "mochi", Meta: map[string]string{"START_RC": "0", "RUN_RC": "0", "LOAD_RC": "0"}, Doc: &ok},
		{Name: "activemq", Meta: map[string]string{"START_RC": "1"}, StartLog: "activemq: exited before answering\nNoClassDefFoundError: org/fusesource/mqtt/codec/PINGRESP"},
	}
	var b strings.Builder
	if err := interop.WriteHeadline(&b, brokers, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "mqtt-check test"); err != nil {
		t.Fatal(err)
	}
	h := b.String()
	for _, want := range []string{
		"| rabbitmq | RabbitMQ 3.10.8 | FAIL (1 not accepted) | 1 | 1 | 1 | 0 | 1 | 0 |",
		"1m55s",
		"- rabbitmq: MQTT-3.1.0-2 - MQTT-3.1.0-2 closes the connection on a second CONNECT",
		"- rabbitmq: MQTT-3.1.2-3 closes the connection when the CONNECT reserved flag is 1 - accepted it",
		"qos2 (a QoS 2 subscription was granted QoS 1)",
		"| mochi |  | pass |",
		"### activemq: could not start",
		"NoClassDefFoundError: org/fusesource/mqtt/codec/PINGRESP",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("headline lacks %q:\n%s", want, h)
		}
	}
	err := interop.Gate(brokers)
	if !errors.Is(err, interop.ErrFailed) || !strings.Contains(err.Error(), "activemq: could not start") {
		t.Errorf("gate: %v", err)
	}
	if err := interop.Gate(brokers[1:2]); err != nil {
		t.Errorf("gate on a passing broker: %v", err)
	}
	brokers[1].Meta["LOAD_RC"] = "1"
	if err := interop.Gate(brokers[1:2]); err == nil {
		t.Error("gate ignores a failed load smoke run")
	}
}
