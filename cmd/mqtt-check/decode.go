package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/mqtt-check/mqtt-check/capture"
)

func decodeCommand() command {
	return command{
		name:    "decode",
		summary: "Decode MQTT from a pcap or pcapng capture and check every packet",
		usage: `Usage: mqtt-check decode [flags] FILE

Read a capture (pcap or pcapng, as tcpdump, tshark or Wireshark write it;
"-" reads standard input), reassemble every TCP connection to an MQTT port
in both directions and print a transcript per connection: time, direction,
each packet in compact form, and under it every normative statement it
breaks, by ID. Packets are decoded leniently at the protocol level of the
CONNECT seen on their connection, so a broken packet is still shown; a
malformed one prints its error. Rules that span packets (first packet
CONNECT, identifiers reused in flight, acknowledgements that echo nothing,
QoS 2 order, SUBACK counts, keep alive, RETAIN on live forwards...) are
judged too, as long as nothing went missing on that connection.

What real captures hold is reported as notes, not failures: packets split
over and merged within segments, retransmissions, out-of-order segments,
a capture that starts mid-stream (decoding starts at the first plausible
packet boundary: "joined mid-stream, N bytes skipped"), frames cut by the
snap length, a file cut short.

Flags (they may come before or after FILE):
  --port N            broker port carrying MQTT (repeatable; default 1883)
  --ws-port N         broker port carrying MQTT over WebSocket (repeatable):
                      the HTTP upgrade is parsed and the frames unmasked
  --json              print the result as JSON instead of text
  --no-state          judge packets one by one only (codec rules)
  --keepalive-margin D   added to a client's keep alive before its
                      silence counts (default 1s)

Exit codes: 0 no violation; 1 at least one violation or malformed packet;
2 the file could not be read.

Examples:
  tcpdump -i lo -w mqtt.pcap port 1883      # capture, then:
  mqtt-check decode mqtt.pcap
  mqtt-check decode --port 1883 --port 11883 capture.pcapng
  mqtt-check decode --ws-port 8080 websocket.pcap
  mqtt-check decode --json mqtt.pcap > transcript.json

Output (abridged):
  == c1 127.0.0.1:40001 -> 127.0.0.1:1883 (tcp, MQTT 3.1.1), from 2026-01-02 15:04:05 UTC
  15:04:05.001000  note            connection opened: SYN from 127.0.0.1:40001
  15:04:05.001000  client->broker  CONNECT level=4 name="MQTT" clean=1 keepalive=60 id="alpha"
  15:04:05.002000  broker->client  CONNACK session-present=0 rc=0x00
  15:04:05.010000  client->broker  PUBLISH qos=0 dup=0 retain=0 topic="a/+" payload=4B "wild"
                                   !! MQTT-3.3.2-2 MQTT-4.7.1-1 topic name: wildcard '+' in a topic name
  Summary: 27 frames (pcap, snap length 262144), 1 MQTT connection(s), 4 packets, 1 violation(s)
    c1 127.0.0.1:40001 -> 127.0.0.1:1883: 2 client / 2 broker packets, 1 note(s), 1 violation(s):
        MQTT-3.3.2-2 MQTT-4.7.1-1 (client) x1
`,
		run: runDecode,
	}
}

// portList is a repeatable port flag.
type portList []uint16

func (p *portList) String() string { return fmt.Sprint(*p) }
func (p *portList) Set(v string) error {
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil || n == 0 {
		return fmt.Errorf("not a port: %q", v)
	}
	*p = append(*p, uint16(n))
	return nil
}

// parseInterleaved parses flags that may come before or after the
// positional arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func runDecode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("decode")
	var ports, wsPorts portList
	fs.Var(&ports, "port", "MQTT port (repeatable)")
	fs.Var(&wsPorts, "ws-port", "MQTT over WebSocket port (repeatable)")
	asJSON := fs.Bool("json", false, "JSON output")
	noState := fs.Bool("no-state", false, "codec rules only")
	margin := fs.Duration("keepalive-margin", capture.DefaultKeepAliveMargin, "keep alive margin")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("decode takes one capture file, got %d arguments", len(pos))
	}
	if *margin < 0 {
		return usagef("--keepalive-margin must not be negative")
	}
	var in io.Reader = os.Stdin
	name := pos[0]
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	opts := capture.DecodeOptions{Ports: ports, WebSocketPorts: wsPorts, NoStateChecks: *noState,
		KeepAliveMargin: max(*margin, time.Nanosecond)}
	if len(ports) == 0 && len(wsPorts) > 0 {
		opts.Ports = []uint16{capture.DefaultPort}
	}
	res, err := capture.Decode(in, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if *asJSON {
		err = res.WriteJSON(stdout)
	} else {
		err = res.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if n := res.Violations(); n > 0 {
		return checkFailed("%s: %d violation(s) or malformed packet(s)", name, n)
	}
	return nil
}
