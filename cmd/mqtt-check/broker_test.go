package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The config file sets what the command line leaves unset; an unknown
// key is an error, not silently ignored.
func TestBrokerConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broker.json")
	os.WriteFile(path, []byte(`{"listen": "127.0.0.1:1999", "max-inflight": 7, "fault": ["no-will", "no-retain"], "sys-interval": "2s"}`), 0o644)
	fs := newFlagSet("broker")
	var bf brokerFlags
	bf.register(fs)
	if err := parseFlags(fs, []string{"--max-inflight", "9", "--config", path}); err != nil {
		t.Fatal(err)
	}
	if err := applyConfigFile(fs, path); err != nil {
		t.Fatal(err)
	}
	if bf.listen != "127.0.0.1:1999" || bf.maxInflight != 9 || bf.sysInterval.String() != "2s" || bf.faults.String() != "no-will,no-retain" {
		t.Fatalf("got listen=%s inflight=%d sys=%s faults=%s", bf.listen, bf.maxInflight, bf.sysInterval, bf.faults.String())
	}
	opts, err := bf.options(os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.Faults) != 2 || opts.MaxInflight != 9 {
		t.Fatalf("options %+v", opts)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"listne": "x"}`), 0o644)
	fs2 := newFlagSet("broker")
	var bf2 brokerFlags
	bf2.register(fs2)
	if err := applyConfigFile(fs2, bad); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Fatalf("unknown key: got %v", err)
	}
}

func TestBrokerListFaults(t *testing.T) {
	var out, errOut strings.Builder
	if err := runBroker(t.Context(), []string{"--list-faults"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 50 {
		t.Fatalf("%d faults listed", len(lines))
	}
	for _, l := range lines {
		if f := strings.Fields(l); len(f) < 3 || !strings.HasPrefix(f[1], "MQTT-") {
			t.Fatalf("line %q: want name, statement IDs, description", l)
		}
	}
}
