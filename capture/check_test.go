package capture

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
)

// pk is one packet shown to a Checker: c for the client, b for the broker.
type pk struct {
	from string
	p    codec.Packet
	at   time.Duration // since t0; zero means 1ms after the previous
}

func ack(t codec.Type, id uint16) *codec.Ack { return &codec.Ack{PacketType: t, PacketID: id} }

func runChecker(ps []pk, prepare func(*Checker)) []Finding {
	c := NewChecker()
	c.KeepAliveMargin = 100 * time.Millisecond
	if prepare != nil {
		prepare(c)
	}
	var out []Finding
	at := t0
	for _, x := range ps {
		if x.at != 0 {
			at = t0.Add(x.at)
		} else {
			at = at.Add(time.Millisecond)
		}
		d := ClientToBroker
		if x.from == "b" {
			d = BrokerToClient
		}
		// Encode and decode, as the decoder and the proxy do.
		b, err := x.p.Append(nil, codec.V311)
		if err != nil {
			panic(err)
		}
		h, _ := codec.ParseFixedHeader(b)
		var dec codec.Decoder
		p, _, err := dec.Decode(b)
		if err != nil {
			p = nil
		}
		out = append(out, c.Packet(d, at, h, p)...)
	}
	return out
}

func TestChecker(t *testing.T) {
	open := []pk{{"c", connect("x", 0), 0}, {"b", &codec.Connack{}, 0}}
	with := func(ps ...pk) []pk { return append(append([]pk(nil), open...), ps...) }
	tests := []struct {
		name    string
		packets []pk
		prepare func(*Checker)
		want    []string // statement IDs found, in order; nil means none
		dir     Dir      // of the first finding
	}{
		{name: "correct QoS 0, 1 and 2 flows", packets: with(
			pk{"c", sub(1, "a/#", "b"), 0}, pk{"b", &codec.Suback{PacketID: 1, ReturnCodes: []byte{1, 0x80}}, 0},
			pk{"c", publish("a/1", "x", 1, 2), 0}, pk{"b", publish("a/1", "x", 1, 2), 0}, pk{"b", ack(codec.PUBACK, 2), 0}, pk{"c", ack(codec.PUBACK, 2), 0},
			pk{"c", publish("a/2", "y", 2, 2), 0}, pk{"b", ack(codec.PUBREC, 2), 0}, pk{"c", ack(codec.PUBREL, 2), 0}, pk{"b", ack(codec.PUBCOMP, 2), 0},
			pk{"b", publish("a/3", "z", 2, 1), 0}, pk{"c", ack(codec.PUBREC, 1), 0}, pk{"b", ack(codec.PUBREL, 1), 0}, pk{"c", ack(codec.PUBCOMP, 1), 0},
			pk{"c", publish("a/2", "again", 2, 2), 0}, // the id is free again
			pk{"c", &codec.Unsubscribe{PacketID: 3, Filters: [][]byte{[]byte("a/#")}}, 0}, pk{"b", &codec.Unsuback{PacketID: 3}, 0},
			pk{"c", &codec.Disconnect{}, 0})},
		{name: "first packet not CONNECT", packets: []pk{{"c", &codec.Pingreq{}, 0}}, want: []string{"MQTT-3.1.0-1"}, dir: ClientToBroker},
		{name: "first packet not CONNECT, joined late", packets: []pk{{"c", &codec.Pingreq{}, 0}}, prepare: (*Checker).Lost},
		{name: "second CONNECT", packets: with(pk{"c", connect("x", 0), 0}), want: []string{"MQTT-3.1.0-2"}, dir: ClientToBroker},
		{name: "broker first packet not CONNACK", packets: []pk{{"c", connect("x", 0), 0}, {"b", &codec.Pingresp{}, 0}}, want: []string{"MQTT-3.2.0-1"}, dir: BrokerToClient},
		{name: "session present to a clean session", packets: []pk{{"c", connect("x", 0), 0}, {"b", &codec.Connack{SessionPresent: true}, 0}},
			want: []string{"MQTT-3.2.2-1"}, dir: BrokerToClient},
		{name: "client id reuse", packets: with(pk{"c", publish("t", "", 1, 5), 0}, pk{"c", sub(5, "t"), 0}), want: []string{"MQTT-2.3.1-2"}, dir: ClientToBroker},
		{name: "client resend with DUP is no reuse", packets: with(pk{"c", publish("t", "", 1, 5), 0},
			pk{"c", &codec.Publish{Topic: []byte("t"), QoS: 1, PacketID: 5, Dup: true}, 0})},
		{name: "server id reuse", packets: with(pk{"b", publish("t", "", 2, 5), 0}, pk{"b", publish("u", "", 1, 5), 0}), want: []string{"MQTT-2.3.1-4"}, dir: BrokerToClient},
		{name: "PUBACK for unknown id", packets: with(pk{"b", ack(codec.PUBACK, 9), 0}), want: []string{"MQTT-2.3.1-6"}, dir: BrokerToClient},
		{name: "client PUBACK for unknown id, session resumed", packets: []pk{
			{"c", &codec.Connect{ProtocolLevel: codec.V311, ClientID: []byte("p")}, 0}, {"b", &codec.Connack{SessionPresent: true}, 0},
			{"c", ack(codec.PUBACK, 9), 0}, {"c", ack(codec.PUBREL, 4), 0}, {"b", ack(codec.PUBCOMP, 4), 0}}},
		{name: "PUBREL before PUBREC", packets: with(pk{"c", publish("t", "", 2, 1), 0}, pk{"c", ack(codec.PUBREL, 1), 0},
			pk{"b", ack(codec.PUBREC, 1), 0}, pk{"b", ack(codec.PUBCOMP, 1), 0}), want: []string{"MQTT-4.3.3-1"}, dir: ClientToBroker},
		{name: "PUBCOMP before PUBREL", packets: with(pk{"c", publish("t", "", 2, 1), 0}, pk{"b", ack(codec.PUBCOMP, 1), 0}),
			want: []string{"MQTT-4.3.3-2"}, dir: BrokerToClient},
		{name: "PUBREC for QoS 1", packets: with(pk{"c", publish("t", "", 1, 1), 0}, pk{"b", ack(codec.PUBREC, 1), 0}),
			want: []string{"MQTT-4.3.2-2"}, dir: BrokerToClient},
		{name: "PUBLISH resent after PUBREL", packets: with(pk{"c", publish("t", "", 2, 1), 0}, pk{"b", ack(codec.PUBREC, 1), 0},
			pk{"c", ack(codec.PUBREL, 1), 0}, pk{"c", &codec.Publish{Topic: []byte("t"), QoS: 2, PacketID: 1, Dup: true}, 0}),
			want: []string{"MQTT-4.3.3-1"}, dir: ClientToBroker},
		{name: "SUBACK count", packets: with(pk{"c", sub(1, "a", "b"), 0}, pk{"b", &codec.Suback{PacketID: 1, ReturnCodes: []byte{0}}, 0}),
			want: []string{"MQTT-3.8.4-5"}, dir: BrokerToClient},
		{name: "SUBACK echoes nothing", packets: with(pk{"c", sub(1, "a"), 0}, pk{"b", &codec.Suback{PacketID: 2, ReturnCodes: []byte{0}}, 0}),
			want: []string{"MQTT-2.3.1-7", "MQTT-3.8.4-2"}, dir: BrokerToClient},
		{name: "UNSUBACK echoes nothing", packets: with(pk{"b", &codec.Unsuback{PacketID: 4}, 0}),
			want: []string{"MQTT-2.3.1-7", "MQTT-3.10.4-4"}, dir: BrokerToClient},
		{name: "after DISCONNECT", packets: with(pk{"c", &codec.Disconnect{}, 0}, pk{"c", &codec.Pingreq{}, 0}),
			want: []string{"MQTT-3.14.4-2"}, dir: ClientToBroker},
		{name: "keep alive kept", packets: []pk{{"c", connect("x", 1), 0}, {"b", &codec.Connack{}, 0},
			{"c", &codec.Pingreq{}, 1050 * time.Millisecond}, {"c", &codec.Pingreq{}, 2100 * time.Millisecond}}},
		{name: "keep alive broken", packets: []pk{{"c", connect("x", 1), 0}, {"b", &codec.Connack{}, 0},
			{"c", &codec.Pingreq{}, 1200 * time.Millisecond}}, want: []string{"MQTT-3.1.2-23"}, dir: ClientToBroker},
		{name: "retained at subscribe, then live with RETAIN=1", packets: with(pk{"c", sub(1, "r/#", "r/x"), 0},
			pk{"b", &codec.Publish{Topic: []byte("r/x"), Retain: true}, 0}, pk{"b", &codec.Suback{PacketID: 1, ReturnCodes: []byte{0, 0}}, 0},
			pk{"b", &codec.Publish{Topic: []byte("r/x"), Retain: true}, 0},        // second filter: still fine
			pk{"b", &codec.Publish{Topic: []byte("r/y"), Retain: true}, 0},        // only r/# matches: fine
			pk{"b", &codec.Publish{Topic: []byte("r/x"), Retain: true}, 0}), want: []string{"MQTT-3.3.1-9"}, dir: BrokerToClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := runChecker(tt.packets, tt.prepare)
			var got []string
			for _, f := range fs {
				got = append(got, f.Rules...)
			}
			if !slices.Equal(got, tt.want) {
				var texts []string
				for _, f := range fs {
					texts = append(texts, f.Text)
				}
				t.Fatalf("found %q, want %q: %s", got, tt.want, strings.Join(texts, "; "))
			}
			if len(fs) > 0 && fs[0].Dir != tt.dir {
				t.Errorf("finding blames %s, want %s", fs[0].Dir, tt.dir)
			}
		})
	}
}

// TestCheckerSilenceTimer: the deadline a live observer arms, and the
// finding once it passed.
func TestCheckerSilenceTimer(t *testing.T) {
	c := NewChecker()
	c.KeepAliveMargin = 500 * time.Millisecond
	h := codec.FixedHeader{Type: codec.CONNECT}
	c.Packet(ClientToBroker, t0, h, connect("x", 2))
	dl, ok := c.KeepAliveDeadline()
	if !ok || !dl.Equal(t0.Add(2500*time.Millisecond)) {
		t.Fatalf("deadline %v %v, want t0+2.5s", dl, ok)
	}
	if fs := c.Silence(dl); len(fs) != 0 {
		t.Errorf("finding at the deadline itself: %v", fs)
	}
	fs := c.Silence(dl.Add(time.Millisecond))
	if len(fs) != 1 || !strings.Contains(fs[0].Text, "no packet from the client for 2.501s, more than its keep alive of 2s (margin 500ms)") {
		t.Errorf("got %+v", fs)
	}
	if fs := c.Silence(dl.Add(time.Second)); len(fs) != 0 {
		t.Errorf("reported twice: %v", fs)
	}
}
