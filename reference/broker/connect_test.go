package broker_test

import (
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/broker"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

func TestConnectAccepted(t *testing.T) {
	_, addr := start(t, broker.Options{})
	s := dial(t, addr, nil)
	ack := s.connect("c1", true, 30)
	if ack.ReturnCode != 0 || ack.SessionPresent {
		t.Fatalf("got %+v, want accepted with Session Present 0 (MQTT-3.2.2-1)", ack)
	}
	if err := s.c.Ping(t.Context(), wait); err != nil {
		t.Fatalf("PINGREQ not answered (MQTT-3.12.4-1): %v", err)
	}
}

func TestConnectMQTT31(t *testing.T) {
	_, addr := start(t, broker.Options{})
	s := dial(t, addr, nil)
	ack, err := s.c.Connect(t.Context(), &codec.Connect{ProtocolLevel: codec.V31, ClientID: []byte("old-client"), CleanSession: true}, wait)
	if err != nil || ack.ReturnCode != 0 {
		t.Fatalf("MQTT 3.1 CONNECT: %v %+v", err, ack)
	}
	s.subscribe("v31/t", 1)
	s.publish("v31/t", "x", 1, false)
	s.expectPublish("v31/t")
	// MQTT 3.1 limits client identifiers to 23 characters.
	s2 := dial(t, addr, s.tr)
	ack, _ = s2.c.Connect(t.Context(), &codec.Connect{ProtocolLevel: codec.V31, ClientID: []byte("abcdefghijklmnopqrstuvwxyz"), CleanSession: true}, wait)
	if ack == nil || ack.ReturnCode != codec.ConnRefusedIdentifier {
		t.Fatalf("got %+v, want CONNACK 0x02 for a 26-character 3.1 client id", ack)
	}
	s2.expectClosed(wait)
}

func TestConnectRefusals(t *testing.T) {
	_, addr := start(t, broker.Options{})
	cases := []struct {
		name    string
		connect *codec.Connect
		raw     []byte
		wantRC  int // -1: closed without CONNACK
	}{
		{"unsupported level gets 0x01 (MQTT-3.1.2-2)", &codec.Connect{ProtocolLevel: 9, ClientID: []byte("x"), CleanSession: true}, nil, 1},
		{"level 5 gets 0x01 from a 3.1.1 server", &codec.Connect{ProtocolLevel: 5, ClientID: []byte("x"), CleanSession: true}, nil, 1},
		{"empty id with persistent session gets 0x02 (MQTT-3.1.3-8)", &codec.Connect{CleanSession: false}, nil, 2},
		{"wrong protocol name closes (MQTT-3.1.2-1)", &codec.Connect{ProtocolName: []byte("MQTX"), ProtocolLevel: 4, ClientID: []byte("x"), CleanSession: true}, nil, -1},
		{"reserved flag closes (MQTT-3.1.2-3)", &codec.Connect{ReservedFlag: true, ClientID: []byte("x"), CleanSession: true}, nil, -1},
		{"will QoS 3 closes (MQTT-3.1.2-14)", &codec.Connect{WillFlag: true, WillQoS: 3, WillTopic: []byte("w"), ClientID: []byte("x"), CleanSession: true}, nil, -1},
		{"password without user closes (MQTT-3.1.2-22)", &codec.Connect{PasswordFlag: true, Password: []byte("p"), ClientID: []byte("x"), CleanSession: true}, nil, -1},
		{"invalid UTF-8 client id closes (MQTT-1.5.3-1)", &codec.Connect{ClientID: []byte("a\xffb"), CleanSession: true}, nil, -1},
		{"truncated CONNECT closes (MQTT-3.1.4-1)", nil, []byte{0x10, 0x04, 0x00, 0x04, 'M', 'Q'}, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := dial(t, addr, nil)
			var err error
			if tc.raw != nil {
				err = s.c.SendRaw(tc.raw)
			} else {
				err = s.c.Send(tc.connect)
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantRC < 0 {
				s.expectClosed(wait)
				if p := s.c.Pending(); len(p) > 0 {
					t.Fatalf("broker sent %s before closing", p[0])
				}
				return
			}
			r, err := s.c.ExpectType(t.Context(), codec.CONNACK, wait)
			if err != nil {
				t.Fatal(err)
			}
			ack := r.Packet.(*codec.Connack)
			if int(ack.ReturnCode) != tc.wantRC || ack.SessionPresent {
				t.Fatalf("got %+v, want return code %d with Session Present 0", ack, tc.wantRC)
			}
			s.expectClosed(wait) // MQTT-3.2.2-5
		})
	}
}

func TestFirstPacketMustBeConnect(t *testing.T) {
	_, addr := start(t, broker.Options{})
	s := dial(t, addr, nil)
	s.c.Send(&codec.Pingreq{})
	s.expectClosed(wait)
}

func TestSecondConnectCloses(t *testing.T) {
	_, addr := start(t, broker.Options{})
	s := client(t, addr, "twice", nil)
	s.c.Send(&codec.Connect{ClientID: []byte("twice"), CleanSession: true})
	s.expectClosed(wait)
}

func TestAssignedClientIDsAreUnique(t *testing.T) {
	srv, addr := start(t, broker.Options{})
	a := client(t, addr, "", nil)
	b := client(t, addr, "", a.tr)
	// Both stay connected: had they been given the same id, b would
	// have taken a's over.
	if err := a.c.Ping(t.Context(), wait); err != nil {
		t.Fatalf("first zero-length-id client lost its connection: %v", err)
	}
	if err := b.c.Ping(t.Context(), wait); err != nil {
		t.Fatal(err)
	}
	if n := srv.SessionCount(); n != 2 {
		t.Fatalf("got %d sessions, want 2", n)
	}
}

func TestTakeover(t *testing.T) {
	_, addr := start(t, broker.Options{})
	first := client(t, addr, "same", nil)
	second := dial(t, addr, first.tr)
	second.connect("same", true, 0)
	first.expectClosed(wait) // MQTT-3.1.4-2
	if err := second.c.Ping(t.Context(), wait); err != nil {
		t.Fatal(err)
	}
}

func TestKeepAliveEnforced(t *testing.T) {
	_, addr := start(t, broker.Options{})
	s := dial(t, addr, nil)
	s.connect("idle", true, 1)
	began := time.Now()
	s.expectClosed(3 * time.Second)
	// MQTT-3.1.2-24: closed after 1.5x the keep alive, not before.
	if el := time.Since(began); el < 1400*time.Millisecond || el > 2500*time.Millisecond {
		t.Fatalf("closed after %v, want about 1.5s", el)
	}
}

func TestKeepAliveResetByTraffic(t *testing.T) {
	_, addr := start(t, broker.Options{})
	s := dial(t, addr, nil)
	s.connect("pinger", true, 1)
	for i := 0; i < 4; i++ {
		time.Sleep(700 * time.Millisecond)
		if err := s.c.Ping(t.Context(), wait); err != nil {
			t.Fatalf("ping %d: %v", i, err)
		}
	}
}

func TestMalformedClosesOnlyThatConnection(t *testing.T) {
	_, addr := start(t, broker.Options{})
	good := client(t, addr, "good", nil)
	good.subscribe("m/t", 0)
	cases := map[string][]byte{
		"remaining length of five bytes": {0x30, 0xff, 0xff, 0xff, 0xff, 0x01},
		"reserved packet type 0":         {0x00, 0x00},
		"PUBREL flags 0000":              {0x60, 0x02, 0x00, 0x01},
		"wildcard in topic":              {0x30, 0x05, 0x00, 0x03, 'a', '/', '#'},
		"QoS 3":                          {0x36, 0x07, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x01},
		"packet id 0":                    {0x32, 0x07, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x00},
		"subscribe filter a/#/b":         {0x82, 0x0a, 0x00, 0x01, 0x00, 0x05, 'a', '/', '#', '/', 'b', 0x00},
		"subscribe option bits":          {0x82, 0x08, 0x00, 0x01, 0x00, 0x03, 'a', '/', 'b', 0x04},
		"subscribe without filters":      {0x82, 0x02, 0x00, 0x01},
		"CONNACK from a client":          {0x20, 0x02, 0x00, 0x00},
		"topic with U+0000":              {0x30, 0x05, 0x00, 0x03, 'a', 0x00, 'b'},
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			bad := client(t, addr, "bad", good.tr)
			bad.c.SendRaw(raw)
			bad.expectClosed(wait)
		})
	}
	// The well-behaved client was never disturbed.
	p := client(t, addr, "pub", good.tr)
	p.publish("m/t", "still here", 0, false)
	good.expectPublish("m/t")
}

func TestConnectTimeout(t *testing.T) {
	_, addr := start(t, broker.Options{ConnectTimeout: 300 * time.Millisecond})
	s := dial(t, addr, nil)
	s.expectClosed(2 * time.Second)
}

func TestTranscriptShared(t *testing.T) {
	_, addr := start(t, broker.Options{})
	tr := probe.NewTranscript()
	client(t, addr, "t1", tr)
	client(t, addr, "t2", tr)
	if tr.Len() < 4 {
		t.Fatalf("transcript has %d entries", tr.Len())
	}
}
