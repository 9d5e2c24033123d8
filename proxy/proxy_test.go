package proxy

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/capture"
	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/broker"
	"github.com/mqtt-check/mqtt-check/reference/mosquitto"
	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// running is a proxy started for a test.
type running struct {
	Addr string
	srv  *Server
	dir  string

	mu       sync.Mutex
	findings []Finding
	events   []Event
}

func (r *running) Findings() []Finding {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Finding(nil), r.findings...)
}

func (r *running) eventText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.events {
		b.WriteString(e.Conn + " " + e.Dir.String() + " " + e.Text + "\n")
	}
	return b.String()
}

// startProxy runs a proxy to target on 127.0.0.1:0 until the test ends.
func startProxy(t *testing.T, target string, opts Options) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &running{Addr: ln.Addr().String(), dir: t.TempDir()}
	opts.Target = target
	opts.Verbose = true
	opts.TranscriptDir = r.dir
	opts.OnFinding = func(f Finding) {
		r.mu.Lock()
		r.findings = append(r.findings, f)
		r.mu.Unlock()
	}
	opts.OnEvent = func(e Event) {
		r.mu.Lock()
		r.events = append(r.events, e)
		r.mu.Unlock()
	}
	r.srv = New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return r
}

// referenceBroker serves the reference broker on 127.0.0.1:0.
func referenceBroker(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := broker.New(broker.Options{SysInterval: -1})
	done := make(chan struct{})
	go func() { srv.Serve(context.Background(), ln); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String()
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func requireClients(t *testing.T) (pub, sub string) {
	t.Helper()
	var err error
	if pub, err = exec.LookPath("mosquitto_pub"); err == nil {
		sub, err = exec.LookPath("mosquitto_sub")
	}
	if err != nil {
		msg := "mosquitto_pub/mosquitto_sub not found (Debian package mosquitto-clients)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return pub, sub
}

// TestRealClientsThroughProxy runs mosquitto_sub and mosquitto_pub through
// the proxy, to mosquitto and to the reference broker, at every QoS, with
// retained messages: correct traffic must give no violation, and the
// bytes must arrive unchanged (the subscriber gets every message).
func TestRealClientsThroughProxy(t *testing.T) {
	pubBin, subBin := requireClients(t)
	targets := map[string]func(t *testing.T) string{
		"mosquitto": func(t *testing.T) string { return mosquitto.Start(t, mosquitto.Options{}).Addr },
		"reference": referenceBroker,
	}
	for _, name := range []string{"mosquitto", "reference"} {
		t.Run(name, func(t *testing.T) {
			p := startProxy(t, targets[name](t), Options{KeepAliveMargin: 500 * time.Millisecond})
			host, port, _ := net.SplitHostPort(p.Addr)
			topic := "proxy-test/" + name
			// A retained message first, so the subscriber gets RETAIN=1
			// once, at subscribe time.
			run(t, pubBin, "-h", host, "-p", port, "-i", "ret-"+name, "-t", topic+"/r", "-m", "kept", "-r", "-q", "1")
			var subOut bytes.Buffer
			sub := exec.Command(subBin, "-h", host, "-p", port, "-i", "sub-"+name, "-t", topic+"/#", "-q", "2", "-v", "-C", "4", "-W", "20", "-k", "5")
			sub.Stdout, sub.Stderr = &subOut, &subOut
			if err := sub.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "the SUBACK", func() bool { return strings.Contains(p.eventText(), "SUBACK") })
			for q := 0; q <= 2; q++ {
				run(t, pubBin, "-h", host, "-p", port, "-t", topic+"/q", "-m", "message "+string(rune('0'+q)), "-q", string(rune('0'+q)))
			}
			if err := sub.Wait(); err != nil {
				t.Fatalf("mosquitto_sub: %v\n%s", err, subOut.String())
			}
			// Clear the retained message.
			run(t, pubBin, "-h", host, "-p", port, "-t", topic+"/r", "-n", "-r", "-q", "1")
			want := []string{topic + "/r kept", topic + "/q message 0", topic + "/q message 1", topic + "/q message 2"}
			got := strings.Split(strings.TrimSpace(subOut.String()), "\n")
			if !slices.Equal(got, want) {
				t.Errorf("subscriber got %q, want %q", got, want)
			}
			waitFor(t, 5*time.Second, "every connection to end", func() bool {
				return strings.Count(p.eventText(), "connection closed") >= 2*6
			})
			if fs := p.Findings(); len(fs) > 0 {
				t.Errorf("violations on correct traffic: %+v\nevents:\n%s", fs, p.eventText())
			}
			if st := p.srv.Stats(); len(st) != 6 {
				t.Errorf("%d connections, want 6", len(st))
			}
			// Each transcript is written once its connection is over.
			waitFor(t, 5*time.Second, "6 transcripts", func() bool {
				files, _ := filepath.Glob(filepath.Join(p.dir, "c*.txt"))
				return len(files) == 6
			})
		})
	}
}

func run(t *testing.T, bin string, args ...string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, out)
	}
}

func enc(t *testing.T, ps ...codec.Packet) []byte {
	t.Helper()
	var b []byte
	for _, p := range ps {
		var err error
		if b, err = p.Append(b, codec.V311); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func connect(id string, keepAlive uint16) *codec.Connect {
	return &codec.Connect{ProtocolLevel: codec.V311, CleanSession: true, ClientID: []byte(id), KeepAlive: keepAlive}
}

// TestClientViolations sends what a broken client would through the proxy
// to the reference broker; the proxy must flag each with its statement.
func TestClientViolations(t *testing.T) {
	p := startProxy(t, referenceBroker(t), Options{KeepAliveMargin: 200 * time.Millisecond})
	ctx := context.Background()
	dial := func(label string) *probe.Conn {
		c, err := probe.Dial(ctx, p.Addr, probe.Options{Label: label})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	connectOK := func(c *probe.Conn, id string, ka uint16) {
		if _, err := c.Connect(ctx, connect(id, ka), 2*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		script func(t *testing.T)
		want   string // statement ID
		text   string // in the finding
	}{
		{"wildcard in PUBLISH topic", func(t *testing.T) {
			c := dial("wild")
			connectOK(c, "wild", 0)
			c.Send(&codec.Publish{Topic: []byte("a/+/b"), Payload: []byte("x")})
		}, "MQTT-3.3.2-2", "wildcard"},
		{"packet id reused in flight", func(t *testing.T) {
			c := dial("reuse")
			connectOK(c, "reuse", 0)
			// Both in one write: the broker cannot have acknowledged the
			// first before the second reaches the proxy.
			c.SendRaw(enc(t, &codec.Publish{Topic: []byte("r"), QoS: 1, PacketID: 7}, &codec.Publish{Topic: []byte("r"), QoS: 1, PacketID: 7}))
		}, "MQTT-2.3.1-2", "reuses an identifier still in flight"},
		{"first packet not CONNECT", func(t *testing.T) {
			c := dial("noconnect")
			c.Send(&codec.Pingreq{})
		}, "MQTT-3.1.0-1", "not CONNECT"},
		{"second CONNECT", func(t *testing.T) {
			c := dial("twice")
			connectOK(c, "twice", 0)
			c.Send(connect("twice", 0))
		}, "MQTT-3.1.0-2", "second CONNECT"},
		{"PUBREL before PUBREC", func(t *testing.T) {
			c := dial("qos2")
			connectOK(c, "qos2", 0)
			c.SendRaw(enc(t, &codec.Publish{Topic: []byte("q"), QoS: 2, PacketID: 3}, &codec.Ack{PacketType: codec.PUBREL, PacketID: 3}))
		}, "MQTT-4.3.3-1", "before receiving PUBREC"},
		{"PUBACK for an unknown id", func(t *testing.T) {
			c := dial("ack")
			connectOK(c, "ack", 0)
			c.Send(&codec.Ack{PacketType: codec.PUBACK, PacketID: 99})
		}, "MQTT-2.3.1-6", "for no PUBLISH in flight"},
		{"packet after DISCONNECT", func(t *testing.T) {
			c := dial("after")
			connectOK(c, "after", 0)
			c.SendRaw(enc(t, &codec.Disconnect{}, &codec.Pingreq{}))
		}, "MQTT-3.14.4-2", "after its DISCONNECT"},
		{"keep alive silence", func(t *testing.T) {
			c := dial("silent")
			connectOK(c, "silent", 1)
			// Say nothing: the proxy reports at 1s + 200ms margin, before
			// the broker closes at 1.5s.
		}, "MQTT-3.1.2-23", "more than its keep alive of 1s (margin 200ms)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.script(t)
			waitFor(t, 5*time.Second, tt.want, func() bool {
				for _, f := range p.Findings() {
					if slices.Contains(f.Rules, tt.want) && strings.Contains(f.Text, tt.text) {
						return true
					}
				}
				return false
			})
		})
	}
	// Nothing was flagged that the scripts did not do on purpose.
	wantIDs := map[string]bool{}
	for _, tt := range tests {
		wantIDs[tt.want] = true
	}
	wantIDs["MQTT-4.7.1-1"] = true // cited with MQTT-3.3.2-2
	for _, f := range p.Findings() {
		for _, id := range f.Rules {
			if !wantIDs[id] {
				t.Errorf("unexpected finding %+v", f)
			}
		}
	}
}

// fakeBroker serves one scripted connection.
func fakeBroker(t *testing.T, script func(c net.Conn, read func() codec.Packet)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		defer c.Close()
		rd := codec.NewReader(c)
		var d codec.Decoder
		script(c, func() codec.Packet {
			_, b, err := rd.ReadPacket()
			if err != nil {
				return nil
			}
			p, _, _ := d.Decode(b)
			return p
		})
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// TestBrokerViolations: a scripted broker that answers wrongly; the proxy
// must flag its side.
func TestBrokerViolations(t *testing.T) {
	addr := fakeBroker(t, func(c net.Conn, read func() codec.Packet) {
		read() // CONNECT
		c.Write(enc(t, &codec.Connack{}))
		read() // SUBSCRIBE id 1, one filter
		w := func(ps ...codec.Packet) { c.Write(enc(t, ps...)) }
		w(&codec.Suback{PacketID: 1, ReturnCodes: []byte{0, 0}})        // two codes for one filter
		w(&codec.Suback{PacketID: 5, ReturnCodes: []byte{0}})           // answers nothing
		w(&codec.Publish{Topic: []byte("s/x"), Retain: true})           // retained at subscribe: fine
		w(&codec.Publish{Topic: []byte("s/x"), Retain: true})           // a live forward with RETAIN=1
		w(&codec.Ack{PacketType: codec.PUBACK, PacketID: 42})           // acknowledges nothing
		w(&codec.Publish{Topic: []byte("s/y"), QoS: 1, PacketID: 9})    // in flight...
		w(&codec.Publish{Topic: []byte("s/z"), QoS: 1, PacketID: 9})    // ...and reused
		w(&codec.Publish{Topic: []byte("s/#"), Payload: []byte("bad")}) // wildcard from the broker
	})
	p := startProxy(t, addr, Options{})
	ctx := context.Background()
	c, err := probe.Dial(ctx, p.Addr, probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Connect(ctx, connect("victim", 0), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	c.Send(&codec.Subscribe{PacketID: 1, Filters: []codec.Subscription{{Filter: []byte("s/#")}}})
	want := map[string]string{
		"MQTT-3.8.4-5": "carries 2 return code(s) for a SUBSCRIBE of 1 filter(s)",
		"MQTT-2.3.1-7": "SUBACK id=5 answers no SUBSCRIBE in flight",
		"MQTT-3.3.1-9": "live forward",
		"MQTT-2.3.1-6": "PUBACK id=42 for no PUBLISH in flight",
		"MQTT-2.3.1-4": "reuses an identifier still in flight",
		"MQTT-3.3.2-2": "wildcard",
	}
	waitFor(t, 5*time.Second, "every broker violation", func() bool {
		n := 0
		for id, text := range want {
			for _, f := range p.Findings() {
				if slices.Contains(f.Rules, id) && strings.Contains(f.Text, text) && f.Dir == capture.BrokerToClient {
					n++
					break
				}
			}
		}
		return n == len(want)
	})
	retains := 0
	for _, f := range p.Findings() {
		if slices.Contains(f.Rules, "MQTT-3.3.1-9") {
			retains++
		}
	}
	if retains != 1 {
		t.Errorf("%d RETAIN findings, want 1 (the first delivery was a retained message at subscribe time)", retains)
	}
}

// TestProxyForwardsUnchanged: whatever bytes go in come out, even bytes
// that are no MQTT at all, and the proxy's pcap holds them.
func TestProxyForwardsUnchanged(t *testing.T) {
	var got bytes.Buffer
	junk := []byte("\x10\xff\xff\xff\xff\x7fnot mqtt at all")
	addr := fakeBroker(t, func(c net.Conn, read func() codec.Packet) {
		buf := make([]byte, 64)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		for got.Len() < len(junk) {
			n, err := c.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				return
			}
		}
		c.Write([]byte("reply"))
	})
	var pcap bytes.Buffer
	pw, err := capture.NewPcapWriter(&pcap, capture.PcapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, addr, Options{Pcap: pw})
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(junk)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	reply := make([]byte, 5)
	if _, err := c.Read(reply); err != nil || string(reply) != "reply" {
		t.Fatalf("reply %q, %v", reply, err)
	}
	if !bytes.Equal(got.Bytes(), junk) {
		t.Errorf("broker got %q, want %q", got.Bytes(), junk)
	}
	waitFor(t, 2*time.Second, "the malformed finding", func() bool { return len(p.Findings()) > 0 })
}
