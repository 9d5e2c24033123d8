package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/internal/leakcheck"
)

// TestMain fails the package if any reader goroutine outlives its test.
func TestMain(m *testing.M) { leakcheck.Main(m, "probe.(*Conn)") }

// serve starts a one-connection fake broker on 127.0.0.1:0 that runs
// script on the accepted connection, then closes it. It returns the
// address; cleanup waits for the script.
func serve(t *testing.T, script func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		script(c)
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// dial connects a probe to addr and closes it at cleanup.
func dial(t *testing.T, addr string, opts Options) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		if t.Failed() {
			t.Logf("transcript:\n%s", c.Transcript())
		}
	})
	return c
}

// enc encodes packets at 3.1.1 for a fake server to write.
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

// readPackets reads n packets from c, for a fake server that must see
// what the probe sent before it answers.
func readPackets(c net.Conn, n int) []codec.Packet {
	rd := codec.NewReader(c)
	var out []codec.Packet
	for range n {
		_, b, err := rd.ReadPacket()
		if err != nil {
			return out
		}
		var d codec.Decoder
		p, _, err := d.Decode(append([]byte(nil), b...))
		if err != nil {
			return out
		}
		out = append(out, p)
	}
	return out
}

// hold keeps a fake server's connection open until the probe closes it.
func hold(c net.Conn) { io.Copy(io.Discard, c) }

func pub(topic, payload string) *codec.Publish {
	return &codec.Publish{Topic: []byte(topic), Payload: []byte(payload)}
}

var ctx = context.Background()

func TestExpectKeepsNonMatchingPackets(t *testing.T) {
	wire := enc(t, &codec.Pingresp{}, pub("a", "1"),
		&codec.Suback{PacketID: 7, ReturnCodes: []byte{1}}, pub("b", "2"))
	addr := serve(t, func(c net.Conn) { c.Write(wire); hold(c) })
	c := dial(t, addr, Options{})

	r, err := c.Expect(ctx, time.Second, "SUBACK", IsAck(codec.SUBACK, 7))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Packet.(*codec.Suback).ReturnCodes; !bytes.Equal(got, []byte{1}) {
		t.Errorf("SUBACK codes = %v, want [1]", got)
	}
	// The packets before and after it must all wait, in arrival order;
	// poll until the last one is in.
	var pending []*Received
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if pending = c.Pending(); len(pending) == 3 {
			break
		}
	}
	var got []string
	for _, p := range pending {
		got = append(got, p.String())
	}
	want := []string{"PINGRESP", `PUBLISH qos=0 dup=0 retain=0 topic="a" payload=1B "1"`, `PUBLISH qos=0 dup=0 retain=0 topic="b" payload=1B "2"`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("pending = %q, want %q", got, want)
	}
	// Each Received owns its packet: the two PUBLISHes do not share memory.
	r1, err := c.ExpectType(ctx, codec.PUBLISH, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.ExpectType(ctx, codec.PUBLISH, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := string(r1.Packet.(*codec.Publish).Topic), string(r2.Packet.(*codec.Publish).Topic); a != "a" || b != "b" {
		t.Errorf("topics = %q, %q, want a, b", a, b)
	}
	if n := len(c.Pending()); n != 1 {
		t.Errorf("%d pending, want 1 (the PINGRESP)", n)
	}
}

func TestExpectFailures(t *testing.T) {
	tests := []struct {
		name    string
		script  func(c net.Conn)
		wantMsg string
		wantErr error
		wantBy  string
	}{
		{
			name:    "silence",
			script:  hold,
			wantMsg: "c1: expected CONNACK: sent nothing within 50ms",
			wantErr: ErrTimeout,
		},
		{
			name: "other packet",
			script: func(c net.Conn) {
				c.Write([]byte{0xd0, 0}) // PINGRESP
				hold(c)
			},
			wantMsg: "c1: expected CONNACK: received PINGRESP instead within 50ms",
			wantErr: ErrTimeout,
		},
		{
			name: "closed after a packet",
			script: func(c net.Conn) {
				c.Write([]byte{0x30, 4, 0, 1, 'x', '!'})
			},
			wantMsg: `c1: expected CONNACK: closed the connection (connection closed by peer (EOF)) at +0.0`,
			wantErr: io.EOF,
			wantBy:  ByPeer,
		},
		{
			name: "reset",
			script: func(c net.Conn) {
				// Let the dial finish first: a reset racing the handshake
				// fails Dial instead.
				time.Sleep(10 * time.Millisecond)
				c.(*net.TCPConn).SetLinger(0)
			},
			wantMsg: `c1: expected CONNACK: closed the connection (connection reset by peer)`,
			wantBy:  ByReset,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serve(t, tt.script)
			c := dial(t, addr, Options{Label: "c1"})
			start := time.Now()
			_, err := c.ExpectType(ctx, codec.CONNACK, 50*time.Millisecond)
			if err == nil {
				t.Fatal("Expect succeeded")
			}
			if !strings.HasPrefix(err.Error(), tt.wantMsg) {
				t.Errorf("error = %q\nwant prefix %q", err, tt.wantMsg)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantErr)
			}
			var ce *ClosedError
			switch {
			case tt.wantBy == "" && errors.As(err, &ce):
				t.Errorf("error wraps %v, want no closure", ce)
			case tt.wantBy != "" && !errors.As(err, &ce):
				t.Errorf("error does not wrap *ClosedError")
			case tt.wantBy != "" && ce.By != tt.wantBy:
				t.Errorf("closed by %q, want %q", ce.By, tt.wantBy)
			}
			if errors.Is(err, ErrTimeout) && time.Since(start) < 50*time.Millisecond {
				t.Errorf("timed out after %v, before the deadline", time.Since(start))
			}
		})
	}
}

func TestExpectClosedAfterAPacketListsIt(t *testing.T) {
	addr := serve(t, func(c net.Conn) { c.Write(enc(t, pub("t", "x"))) })
	c := dial(t, addr, Options{})
	if err := c.ExpectClosed(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	_, err := c.ExpectType(ctx, codec.CONNACK, time.Second)
	if err == nil || !strings.Contains(err.Error(), `after sending PUBLISH qos=0 dup=0 retain=0 topic="t"`) {
		t.Errorf("error = %v, want it to name the queued PUBLISH", err)
	}
	// Packets that came before the close are still there to take.
	if _, err := c.ExpectType(ctx, codec.PUBLISH, time.Second); err != nil {
		t.Errorf("PUBLISH sent before the close: %v", err)
	}
}

func TestExpectClosed(t *testing.T) {
	t.Run("peer closes", func(t *testing.T) {
		addr := serve(t, func(c net.Conn) { time.Sleep(20 * time.Millisecond) })
		c := dial(t, addr, Options{})
		if err := c.ExpectClosed(ctx, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		closed, at, reason := c.Closed()
		if !closed || at.IsZero() || !errors.Is(reason, io.EOF) {
			t.Errorf("Closed() = %v, %v, %v; want true, a time, EOF", closed, at, reason)
		}
	})
	t.Run("still open", func(t *testing.T) {
		addr := serve(t, func(c net.Conn) { c.Write([]byte{0xd0, 0}); hold(c) })
		c := dial(t, addr, Options{})
		start := time.Now()
		err := c.ExpectClosed(ctx, 60*time.Millisecond)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("error = %v, want ErrTimeout", err)
		}
		if el := time.Since(start); el < 60*time.Millisecond {
			t.Errorf("gave up after %v", el)
		}
		if !strings.Contains(err.Error(), "expected the connection to be closed") {
			t.Errorf("error = %q", err)
		}
	})
	t.Run("closed locally", func(t *testing.T) {
		addr := serve(t, hold)
		c := dial(t, addr, Options{})
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("second Close = %v", err)
		}
		err := c.ExpectClosed(ctx, time.Second)
		var ce *ClosedError
		if !errors.As(err, &ce) || ce.By != ByLocal {
			t.Errorf("ExpectClosed after Close = %v, want a local closure error", err)
		}
	})
	t.Run("context", func(t *testing.T) {
		addr := serve(t, hold)
		c := dial(t, addr, Options{})
		cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		if err := c.ExpectClosed(cctx, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v, want the context's", err)
		}
	})
}

func TestExpectNothing(t *testing.T) {
	t.Run("silence", func(t *testing.T) {
		addr := serve(t, hold)
		c := dial(t, addr, Options{})
		start := time.Now()
		if err := c.ExpectNothing(ctx, 50*time.Millisecond, nil); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < 50*time.Millisecond {
			t.Errorf("returned after %v", el)
		}
	})
	t.Run("packet arrives", func(t *testing.T) {
		addr := serve(t, func(c net.Conn) {
			time.Sleep(20 * time.Millisecond)
			c.Write(enc(t, pub("x", "")))
			hold(c)
		})
		c := dial(t, addr, Options{})
		start := time.Now()
		err := c.ExpectNothing(ctx, 5*time.Second, nil)
		if !errors.Is(err, ErrUnexpected) {
			t.Fatalf("error = %v, want ErrUnexpected", err)
		}
		if el := time.Since(start); el > 4*time.Second {
			t.Errorf("noticed the packet only after %v", el)
		}
		if !strings.Contains(err.Error(), `received PUBLISH`) {
			t.Errorf("error = %q", err)
		}
		if len(c.Pending()) != 1 {
			t.Errorf("the offending packet was taken from the queue")
		}
	})
	t.Run("other packets pass", func(t *testing.T) {
		addr := serve(t, func(c net.Conn) { c.Write([]byte{0xd0, 0}); hold(c) })
		c := dial(t, addr, Options{})
		if err := c.ExpectNothing(ctx, 50*time.Millisecond, IsType(codec.PUBLISH)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("closure is not nothing", func(t *testing.T) {
		addr := serve(t, func(net.Conn) {})
		c := dial(t, addr, Options{})
		err := c.ExpectNothing(ctx, 5*time.Second, nil)
		var ce *ClosedError
		if !errors.As(err, &ce) {
			t.Fatalf("error = %v, want a closure", err)
		}
	})
}

func TestLenientDecoding(t *testing.T) {
	wire := []byte{
		0x30, 5, 0, 3, 'a', '/', '+', // PUBLISH with a wildcard topic: a violation
		0x30, 3, 0, 9, 'a', // PUBLISH whose topic overruns it: malformed
		0xd0, 0, // PINGRESP, still in sync
	}
	addr := serve(t, func(c net.Conn) { c.Write(wire); hold(c) })
	c := dial(t, addr, Options{})
	r, err := c.ExpectType(ctx, codec.PUBLISH, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Rules(); !strings.Contains(strings.Join(got, " "), "MQTT-3.3.2-2") {
		t.Errorf("rules = %v, want MQTT-3.3.2-2", got)
	}
	r, err = c.ExpectType(ctx, codec.PUBLISH, time.Second)
	var ce *codec.Error
	if !errors.As(err, &ce) || ce.Kind != codec.Malformed || r == nil || r.Packet != nil {
		t.Fatalf("malformed PUBLISH: r=%v err=%v", r, err)
	}
	if _, err := c.ExpectType(ctx, codec.PINGRESP, time.Second); err != nil {
		t.Fatal(err)
	}
	var viol []string
	for _, e := range c.Transcript().Entries() {
		viol = append(viol, e.Violations...)
	}
	if !strings.Contains(strings.Join(viol, " "), "MQTT-3.3.2-2") {
		t.Errorf("transcript violations = %v", viol)
	}
}

func TestLostFraming(t *testing.T) {
	addr := serve(t, func(c net.Conn) {
		c.Write([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 1, 2, 3})
	})
	c := dial(t, addr, Options{})
	r, err := c.ExpectType(ctx, codec.PUBLISH, time.Second)
	if err == nil || r == nil || r.Err == nil {
		t.Fatalf("r=%v err=%v, want a malformed PUBLISH", r, err)
	}
	if err := c.ExpectClosed(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if s := c.Transcript().String(); !strings.Contains(s, "unframed bytes") {
		t.Errorf("transcript does not show the bytes after the broken header:\n%s", s)
	}
}

func TestOversizedPacketIsSkipped(t *testing.T) {
	addr := serve(t, func(c net.Conn) {
		n := MaxPacketSize // header + n > MaxPacketSize
		hdr := codec.AppendVarInt([]byte{0x30}, uint32(n))
		c.Write(hdr)
		c.Write(make([]byte, n))
		c.Write([]byte{0xd0, 0})
		hold(c)
	})
	c := dial(t, addr, Options{})
	if _, err := c.ExpectType(ctx, codec.PINGRESP, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if s := c.Transcript().String(); !strings.Contains(s, "skipped PUBLISH") {
		t.Errorf("transcript:\n%s", s)
	}
}

func TestHelpers(t *testing.T) {
	addr := serve(t, func(c net.Conn) {
		rd := codec.NewReader(c)
		var d codec.Decoder
		for {
			_, b, err := rd.ReadPacket()
			if err != nil {
				return
			}
			p, _, err := d.Decode(b)
			if err != nil {
				return
			}
			var out []codec.Packet
			switch p := p.(type) {
			case *codec.Connect:
				out = append(out, &codec.Connack{})
			case *codec.Subscribe:
				// A retained message may come before the SUBACK.
				out = append(out, pub("r", "retained"), &codec.Suback{PacketID: p.PacketID, ReturnCodes: []byte{p.Filters[0].QoS()}})
			case *codec.Unsubscribe:
				out = append(out, &codec.Unsuback{PacketID: p.PacketID})
			case *codec.Publish:
				switch p.QoS {
				case 1:
					out = append(out, &codec.Pingresp{}, &codec.Ack{PacketType: codec.PUBACK, PacketID: p.PacketID})
				case 2:
					out = append(out, &codec.Ack{PacketType: codec.PUBREC, PacketID: p.PacketID})
				}
			case *codec.Ack:
				out = append(out, &codec.Ack{PacketType: codec.PUBCOMP, PacketID: p.PacketID})
			case *codec.Pingreq:
				out = append(out, &codec.Pingresp{})
			case *codec.Disconnect:
				return
			}
			c.Write(enc(t, out...))
		}
	})
	c := dial(t, addr, Options{})
	d := time.Second
	if ack, err := c.Connect(ctx, &codec.Connect{ClientID: []byte("x"), CleanSession: true}, d); err != nil || ack.ReturnCode != 0 {
		t.Fatalf("Connect = %v, %v", ack, err)
	}
	suback, err := c.Subscribe(ctx, d, codec.Subscription{Filter: []byte("a/#"), Options: 1})
	if err != nil || !bytes.Equal(suback.ReturnCodes, []byte{1}) {
		t.Fatalf("Subscribe = %v, %v", suback, err)
	}
	if _, err := c.Unsubscribe(ctx, d, "a/#"); err != nil {
		t.Fatal(err)
	}
	for qos := byte(0); qos <= 2; qos++ {
		p := &codec.Publish{QoS: qos, Topic: []byte("a/b"), Payload: []byte("hi")}
		ack, err := c.Publish(ctx, p, d)
		if err != nil {
			t.Fatalf("Publish QoS %d: %v", qos, err)
		}
		if qos > 0 && ack == nil {
			t.Fatalf("Publish QoS %d returned no ack", qos)
		}
		if p.PacketID != 0 {
			t.Errorf("Publish modified the caller's packet")
		}
	}
	if err := c.Ping(ctx, d); err != nil {
		t.Fatal(err)
	}
	// The retained PUBLISH and the PINGRESP interleaved with the acks
	// are still queued, not dropped (Ping took the first PINGRESP, so
	// wait for the second).
	var got []codec.Type
	for deadline := time.Now().Add(time.Second); len(got) < 2 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		got = got[:0]
		for _, r := range c.Pending() {
			got = append(got, r.Type())
		}
	}
	if fmt.Sprint(got) != "[PUBLISH PINGRESP]" {
		t.Errorf("pending = %v, want [PUBLISH PINGRESP]", got)
	}
	if err := c.Disconnect(); err != nil {
		t.Fatal(err)
	}
}

func TestConnectRefused(t *testing.T) {
	addr := serve(t, func(c net.Conn) {
		readPackets(c, 1)
		c.Write(enc(t, &codec.Connack{ReturnCode: codec.ConnRefusedNotAuthorized}))
		hold(c)
	})
	c := dial(t, addr, Options{})
	ack, err := c.Connect(ctx, &codec.Connect{ClientID: []byte("x")}, time.Second)
	if !errors.Is(err, ErrRefused) || ack == nil || ack.ReturnCode != 5 {
		t.Fatalf("Connect = %v, %v; want a refusal with code 5", ack, err)
	}
}

var lineRE = regexp.MustCompile(`^\+\d+\.\d{3}s (c1|c2) (->|<-|\*\*) \S`)

func TestTranscriptText(t *testing.T) {
	addr := serve(t, func(c net.Conn) {
		readPackets(c, 1)
		c.Write([]byte{0x20, 2, 0, 0, 0x30, 5, 0, 3, 'a', '/', '#'})
	})
	tr := NewTranscript()
	c1 := dial(t, addr, Options{Transcript: tr})
	c2, err := Dial(ctx, "127.0.0.1:1", Options{Transcript: tr, DialTimeout: time.Second})
	if err == nil {
		c2.Close()
		t.Skip("something listens on port 1")
	}
	if err := c1.Send(&codec.Connect{ClientID: []byte("id"), KeepAlive: 30, CleanSession: true}); err != nil {
		t.Fatal(err)
	}
	if err := c1.ExpectClosed(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c1.SendRaw([]byte{0xc0, 0, 0x30}); err != nil {
		t.Logf("SendRaw after close: %v", err) // either outcome is fine
	}
	var b bytes.Buffer
	if err := tr.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for _, l := range lines {
		if !lineRE.MatchString(l) {
			t.Errorf("line %q does not match %s", l, lineRE)
		}
	}
	for _, want := range []string{
		"c1 ** dial " + addr + " ok",
		"c2 ** dial 127.0.0.1:1 failed",
		`c1 -> CONNECT level=4 name="MQTT" clean=1 keepalive=30 id="id"`,
		"c1 <- CONNACK session-present=0 rc=0x00",
		`c1 <- PUBLISH qos=0 dup=0 retain=0 topic="a/#" payload=0B !! topic name: wildcard '#' in a topic name !! [MQTT-3.3.2-2 MQTT-4.7.1-1]`,
		"c1 ** connection closed by peer (EOF)",
		"c1 -> raw PINGREQ | incomplete packet, 1 bytes: 30",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("transcript lacks %q:\n%s", want, text)
		}
	}
	if tr.Len() != len(lines) {
		t.Errorf("Len() = %d, %d lines", tr.Len(), len(lines))
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	addr := serve(t, func(c net.Conn) {})
	before := runtime.NumGoroutine()
	for range 10 {
		c, err := Dial(ctx, addr, Options{})
		if err != nil {
			// The fake server accepts only one; later dials may be
			// refused once it has stopped listening - still no leak.
			continue
		}
		c.Close()
	}
	if leaked := leakcheck.Lingering("probe.(*Conn).readLoop", 2*time.Second); leaked != "" {
		t.Fatalf("reader goroutines left:\n%s", leaked)
	}
	for deadline := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > before; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before", runtime.NumGoroutine(), before)
		}
	}
}

// FuzzReceive feeds arbitrary bytes from a "broker" through a net.Pipe:
// the probe must never panic, must record everything, and must notice the
// close.
func FuzzReceive(f *testing.F) {
	f.Add([]byte{0x20, 2, 0, 0})
	f.Add([]byte{0x30, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x30, 3, 0, 9, 'a'})
	f.Add([]byte{0x90, 3, 0, 1, 0x80, 0xb0, 2, 0, 0})
	f.Add([]byte{0xf0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v := range []codec.Version{codec.V311, codec.V5} {
			client, server := net.Pipe()
			c, err := Dial(ctx, "pipe", Options{Version: v, Dialer: func(context.Context, string, string) (net.Conn, error) {
				return client, nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				server.Write(data)
				server.Close()
			}()
			if err := c.ExpectClosed(ctx, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			for _, r := range c.Drain() {
				_ = r.String()
				_ = r.Rules()
			}
			_ = c.Transcript().String()
			c.Close()
		}
	})
}
