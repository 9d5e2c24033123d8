package capture

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// tsharkTypes maps Wireshark's mqtt.msgtype numbers to our names.
func tsharkTypes(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			t.Fatalf("tshark line %q: want port and types", line)
		}
		dir := "client->broker"
		if f[0] == "1883" {
			dir = "broker->client"
		}
		for _, n := range strings.Split(f[1], ",") {
			var typ int
			for _, c := range n {
				typ = typ*10 + int(c-'0')
			}
			got = append(got, f[2]+" "+dir+" "+codec.Type(typ).String())
		}
	}
	return got
}

// TestWriteTranscriptTshark checks WriteTranscript against the real
// dissector: tshark must see the transcript's MQTT packets in the same
// order, with no bad checksum and no TCP analysis complaint (which would
// mean wrong sequence or acknowledgement numbers).
func TestWriteTranscriptTshark(t *testing.T) {
	tshark := requireTool(t, "tshark", "tshark")
	es := entries(t, session())
	path := filepath.Join(t.TempDir(), "session.pcap")
	if err := os.WriteFile(path, writePcap(t, es, PcapOptions{}), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(tshark, append([]string{"-r", path, "-n", "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user profile
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tshark %v: %v\n%s%s", args, err, out, stderr.String())
		}
		return string(out)
	}
	out := run("-Y", "mqtt", "-T", "fields", "-E", "separator=/t", "-e", "tcp.srcport", "-e", "mqtt.msgtype", "-e", "tcp.stream")
	var want []string
	stream := map[string]string{}
	for _, e := range es {
		if e.Dir == probe.DirEvent {
			continue
		}
		if _, ok := stream[e.Conn]; !ok {
			stream[e.Conn] = string(rune('0' + len(stream)))
		}
		dir := "client->broker"
		if e.Dir == probe.DirReceived {
			dir = "broker->client"
		}
		want = append(want, stream[e.Conn]+" "+dir+" "+strings.Fields(e.Text)[0])
	}
	if got := tsharkTypes(t, out); !slices.Equal(got, want) {
		t.Errorf("tshark sees\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if bad := run("-Y", "ip.checksum.status == 0 || tcp.checksum.status == 0 || tcp.analysis.flags || _ws.malformed || _ws.expert.severity >= warning"); strings.TrimSpace(bad) != "" {
		t.Errorf("tshark complains:\n%s", bad)
	}
	// Our own decoder agrees with the transcript too.
	res := decodeBytes(t, writePcap(t, es, PcapOptions{}), DecodeOptions{})
	var got []string
	for i, c := range res.Conns {
		for _, p := range packetTypes(c) {
			got = append(got, string(rune('0'+i))+" "+p)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Decode sees\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
