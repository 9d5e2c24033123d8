package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/mqtt-check/mqtt-check/capture"
	"github.com/mqtt-check/mqtt-check/proxy"
)

func proxyCommand() command {
	return command{
		name:    "proxy",
		summary: "Forward MQTT between any client and broker and check both sides live",
		usage: `Usage: mqtt-check proxy [flags]

Listen for MQTT clients and forward each connection to the target broker,
unchanged and byte for byte in both directions, while checking what both
sides say against the statements of the specification that the wire can
judge: every rule a packet breaks by itself (wildcards in a PUBLISH topic,
reserved flags, invalid UTF-8...), and the rules that span packets (first
packet CONNECT, a second CONNECT, packet identifiers reused while in
flight, QoS 1/2 flows out of order, acknowledgements that echo no request,
SUBACK return code counts, the client's keep alive with a stated margin,
packets after DISCONNECT, RETAIN=1 on a live forward). Only what is certain
from the wire is reported.

Each violation is printed on stdout as it happens, one line:
  TIME CONNECTION DIRECTION STATEMENT-IDS what happened
and a summary per connection when the proxy stops (Ctrl-C).

Flags:
  --listen ADDR          where clients connect (default 127.0.0.1:1884)
  --target HOST:PORT     the broker (default 127.0.0.1:1883)
  --transcript-dir DIR   write every connection's transcript to DIR/cN.txt
  --pcap FILE            write the traffic as a capture (synthesised frames,
                         the broker on port 1883) that Wireshark opens
  --json                 print violations as JSON lines
  --keepalive-margin D   added to a client's keep alive before its silence
                         counts (default 1s)
  -v                     print every packet and connection event on stderr

Exit codes: 0 no violation seen; 1 violations seen; 2 could not run.

Examples:
  mqtt-check proxy --listen 127.0.0.1:1884 --target 127.0.0.1:1883
  mosquitto_sub -p 1884 -t 'sensors/#' -v     # clients use the proxy's port
  mqtt-check proxy --target broker.example:1883 --pcap live.pcap --transcript-dir transcripts

Output:
  15:04:05.123456 c3 client->broker MQTT-3.3.2-2 MQTT-4.7.1-1 PUBLISH topic name: wildcard '+' in a topic name
  15:04:07.002311 c4 client->broker MQTT-2.3.1-2 client PUBLISH qos=1 id=7 reuses an identifier still in flight (QoS 1 PUBLISH awaiting PUBACK)
  15:05:08.301002 c5 client->broker MQTT-3.1.2-23 no packet from the client for 61.001s, more than its keep alive of 1m0s (margin 1s)
`,
		run: runProxy,
	}
}

func runProxy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("proxy")
	listen := fs.String("listen", "127.0.0.1:1884", "listen address")
	target := fs.String("target", "127.0.0.1:1883", "broker address")
	trDir := fs.String("transcript-dir", "", "transcript directory")
	pcapPath := fs.String("pcap", "", "capture file")
	asJSON := fs.Bool("json", false, "JSON lines")
	margin := fs.Duration("keepalive-margin", capture.DefaultKeepAliveMargin, "keep alive margin")
	verbose := fs.Bool("v", false, "verbose")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("proxy takes no arguments, got %q", fs.Args())
	}
	if *target == "" {
		return usagef("--target is required")
	}
	if *trDir != "" {
		if err := os.MkdirAll(*trDir, 0o755); err != nil {
			return err
		}
	}
	var out sync.Mutex // one line at a time from concurrent connections
	opts := proxy.Options{Target: *target, KeepAliveMargin: *margin, TranscriptDir: *trDir, Verbose: *verbose}
	opts.OnFinding = func(f proxy.Finding) {
		out.Lock()
		defer out.Unlock()
		if *asJSON {
			b, _ := json.Marshal(struct {
				Time  string   `json:"time"`
				Conn  string   `json:"conn"`
				Dir   string   `json:"dir"`
				Rules []string `json:"rules"`
				Text  string   `json:"text"`
			}{f.Time.Format("2006-01-02T15:04:05.000000Z07:00"), f.Conn, f.Dir.String(), f.Rules, f.Text})
			fmt.Fprintf(stdout, "%s\n", b)
			return
		}
		ids := strings.Join(f.Rules, " ")
		if ids == "" {
			ids = "(malformed)"
		}
		fmt.Fprintf(stdout, "%s %s %s %s %s\n", f.Time.Format("15:04:05.000000"), f.Conn, f.Dir, ids, f.Text)
	}
	opts.OnEvent = func(e proxy.Event) {
		if !*verbose && e.Dir != capture.Note {
			return
		}
		out.Lock()
		defer out.Unlock()
		fmt.Fprintf(stderr, "%s %s %s %s\n", e.Time.Format("15:04:05.000000"), e.Conn, e.Dir, e.Text)
	}
	if *pcapPath != "" {
		f, err := os.Create(*pcapPath)
		if err != nil {
			return err
		}
		bw := bufio.NewWriter(f)
		pw, err := capture.NewPcapWriter(bw, capture.PcapOptions{})
		if err != nil {
			f.Close()
			return err
		}
		opts.Pcap = pw
		defer func() {
			bw.Flush()
			f.Close()
		}()
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mqtt-check proxy: listening on %s, forwarding to %s\n", ln.Addr(), *target)
	srv := proxy.New(opts)
	serr := srv.Serve(ctx, ln)
	writeProxySummary(stderr, srv)
	if serr != nil {
		return serr
	}
	if n := srv.Findings(); n > 0 {
		return checkFailed("%d violation(s) seen", n)
	}
	return nil
}

func writeProxySummary(w io.Writer, srv *proxy.Server) {
	stats := srv.Stats()
	fmt.Fprintf(w, "Summary: %d connection(s), %d violation(s)\n", len(stats), srv.Findings())
	for _, s := range stats {
		fmt.Fprintf(w, "  %s %s: %d packets (%d from the client), %d violation(s)\n",
			s.Label, s.Client, s.Packets, s.ClientPackets, s.Findings)
	}
}
