package capture

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
)

// Dir says which way an Entry went, or that it is a note.
type Dir uint8

// Directions of entries and findings.
const (
	// ClientToBroker is a packet the client sent (for a finding: a rule
	// the client broke).
	ClientToBroker Dir = iota + 1
	// BrokerToClient is a packet the broker sent.
	BrokerToClient
	// Note is something about the capture or the connection rather than a
	// packet: a handshake, a closure, lost bytes, a resynchronisation.
	Note
)

func (d Dir) String() string {
	switch d {
	case ClientToBroker:
		return "client->broker"
	case BrokerToClient:
		return "broker->client"
	case Note:
		return "note"
	}
	return "?"
}

// MarshalText renders d as String does, for JSON.
func (d Dir) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Side names who sent in direction d: "client" or "broker".
func (d Dir) Side() string {
	if d == BrokerToClient {
		return "broker"
	}
	return "client"
}

// Violation is one broken rule of a packet.
type Violation struct {
	// Rules are the statement IDs (MQTT 3.1.1 IDs for levels 3 and 4,
	// MQTT 5.0 IDs for level 5).
	Rules []string `json:"rules"`
	// Field is the part of the packet at fault, when the codec names one.
	Field string `json:"field,omitempty"`
	// Reason says what is wrong, in words.
	Reason string `json:"reason"`
	// Source is "codec" for a rule the packet breaks by itself, "state"
	// for one it breaks given what came before on the connection.
	Source string `json:"source"`
}

// Entry is one line of a connection's transcript.
type Entry struct {
	Time time.Time `json:"time"`
	Dir  Dir       `json:"dir"`
	// Type is the packet type ("PUBLISH"); empty for notes.
	Type string `json:"type,omitempty"`
	// Text is the packet rendered by codec.Format, the decoding error of a
	// malformed packet, or the note.
	Text string `json:"text"`
	// Len is the packet's size in bytes.
	Len        int         `json:"len,omitempty"`
	Malformed  bool        `json:"malformed,omitempty"`
	Violations []Violation `json:"violations,omitempty"`

	pkt    *checkPacket // what the state checks need, until they ran
	lost   bool         // a marker: bytes went missing from here on
	closes bool         // a FIN or RST note
}

// checkPacket is a packet kept for the state checks.
type checkPacket struct {
	header codec.FixedHeader
	raw    []byte // nil when the packet could not be decoded
}

// Conn is the transcript of one TCP connection that carried MQTT.
type Conn struct {
	Label  string `json:"label"`
	Client string `json:"client"`
	Broker string `json:"broker"`
	// Transport is "tcp" or "websocket".
	Transport string `json:"transport"`
	// Protocol is the level from the CONNECT seen ("3.1.1"), or "" when
	// no CONNECT was seen.
	Protocol string    `json:"protocol,omitempty"`
	Entries  []Entry   `json:"entries"`
	Summary  ConnStats `json:"summary"`
}

// ConnStats sums up one connection.
type ConnStats struct {
	ClientPackets int `json:"client_packets"`
	BrokerPackets int `json:"broker_packets"`
	Malformed     int `json:"malformed"`
	Notes         int `json:"notes"`
	// Violations counts broken rules by statement IDs and side, e.g.
	// "MQTT-3.3.2-2 MQTT-4.7.1-1 (client)".
	Violations map[string]int `json:"violations,omitempty"`
	// ViolationCount is the number of violations (an entry breaking one
	// rule with two IDs counts once).
	ViolationCount int `json:"violation_count"`
}

// Result is everything Decode found in a capture.
type Result struct {
	// Format describes the file ("pcap, snap length 262144" or "pcapng").
	Format string `json:"format"`
	Frames int    `json:"frames"`
	// Notes are about the file rather than a connection: frames that are
	// not TCP, an unsupported link type, a file cut short.
	Notes []string `json:"notes,omitempty"`
	Conns []*Conn  `json:"connections"`
}

// Violations returns the total of violations and malformed packets over
// every connection.
func (r *Result) Violations() int {
	n := 0
	for _, c := range r.Conns {
		n += c.Summary.ViolationCount + c.Summary.Malformed
	}
	return n
}

func (c *Conn) summarise() {
	s := ConnStats{}
	for _, e := range c.Entries {
		switch e.Dir {
		case ClientToBroker:
			if e.Type != "" {
				s.ClientPackets++
			}
		case BrokerToClient:
			if e.Type != "" {
				s.BrokerPackets++
			}
		case Note:
			s.Notes++
		}
		if e.Malformed {
			s.Malformed++
		}
		for _, v := range e.Violations {
			s.ViolationCount++
			if s.Violations == nil {
				s.Violations = map[string]int{}
			}
			s.Violations[strings.Join(v.Rules, " ")+" ("+e.Dir.Side()+")"]++
		}
	}
	c.Summary = s
}

// versionName renders a protocol level for humans.
func versionName(v codec.Version) string {
	if v == 0 {
		return ""
	}
	return v.String()
}

// WriteJSON writes r as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "client->broker", not "client-\u003ebroker"
	return enc.Encode(r)
}

// timeFormat is the per-line timestamp: the date is in each connection's
// heading.
const timeFormat = "15:04:05.000000"

// WriteText writes a transcript per connection and a summary:
//
//	== c1 127.0.0.1:40001 -> 127.0.0.1:1883 (tcp, MQTT 3.1.1), from 2026-01-02 15:04:05 UTC
//	15:04:05.000100  client->broker  CONNECT level=4 name="MQTT" clean=1 keepalive=60 id="a"
//	15:04:05.000200  broker->client  CONNACK session-present=0 rc=0x00
//	15:04:05.000300  client->broker  PUBLISH qos=0 dup=0 retain=0 topic="a/+" payload=2B "hi"
//	                                 !! MQTT-3.3.2-2 MQTT-4.7.1-1 topic name: ...
//
// It returns the first write error.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, c := range r.Conns {
		writeConn(&b, c)
		b.WriteByte('\n')
	}
	if len(r.Notes) > 0 {
		b.WriteString("Capture notes:\n")
		for _, n := range r.Notes {
			b.WriteString("  ")
			b.WriteString(n)
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	r.writeSummary(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeConn(b *strings.Builder, c *Conn) {
	fmt.Fprintf(b, "== %s %s -> %s (%s", c.Label, c.Client, c.Broker, c.Transport)
	if c.Protocol != "" {
		b.WriteString(", MQTT " + c.Protocol)
	}
	b.WriteString(")")
	if len(c.Entries) > 0 {
		b.WriteString(", from " + c.Entries[0].Time.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	b.WriteByte('\n')
	for _, e := range c.Entries {
		b.WriteString(e.Time.UTC().Format(timeFormat))
		fmt.Fprintf(b, "  %-14s  ", e.Dir)
		b.WriteString(strings.ReplaceAll(e.Text, "\n", `\n`))
		b.WriteByte('\n')
		for _, v := range e.Violations {
			b.WriteString(strings.Repeat(" ", len(timeFormat)+2+14+2))
			b.WriteString("!! ")
			if len(v.Rules) > 0 {
				b.WriteString(strings.Join(v.Rules, " "))
				b.WriteString(" ")
			}
			if v.Field != "" {
				b.WriteString(v.Field + ": ")
			}
			b.WriteString(v.Reason)
			b.WriteByte('\n')
		}
	}
}

func (r *Result) writeSummary(b *strings.Builder) {
	packets := 0
	for _, c := range r.Conns {
		packets += c.Summary.ClientPackets + c.Summary.BrokerPackets
	}
	fmt.Fprintf(b, "Summary: %d frames (%s), %d MQTT connection(s), %d packets, %d violation(s)\n",
		r.Frames, r.Format, len(r.Conns), packets, r.Violations())
	for _, c := range r.Conns {
		s := c.Summary
		fmt.Fprintf(b, "  %s %s -> %s: %d client / %d broker packets", c.Label, c.Client, c.Broker, s.ClientPackets, s.BrokerPackets)
		if s.Malformed > 0 {
			fmt.Fprintf(b, ", %d malformed", s.Malformed)
		}
		if s.Notes > 0 {
			fmt.Fprintf(b, ", %d note(s)", s.Notes)
		}
		if s.ViolationCount == 0 {
			b.WriteString(", no violations\n")
			continue
		}
		fmt.Fprintf(b, ", %d violation(s):\n", s.ViolationCount)
		ids := make([]string, 0, len(s.Violations))
		for id := range s.Violations {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			b.WriteString("      " + id + " x" + strconv.Itoa(s.Violations[id]) + "\n")
		}
	}
}
