package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/internal/leakcheck"
)

var bg = context.Background()

// connect opens a client to fb and closes it at cleanup.
func connect(t *testing.T, fb *fakeBroker, opts Options) (*Client, *fakeConn) {
	t.Helper()
	opts.Addr = fb.addr()
	if opts.ClientID == "" {
		opts.ClientID = t.Name()
	}
	c, ack, err := Connect(bg, opts)
	if err != nil {
		t.Fatalf("Connect: %v (CONNACK %v)", err, ack)
	}
	t.Cleanup(func() { c.Close() })
	return c, fb.conn()
}

func TestPublishQoS(t *testing.T) {
	fb := newFakeBroker(t)
	c, _ := connect(t, fb, Options{CleanSession: true})
	for qos := byte(0); qos <= 2; qos++ {
		if err := c.Publish(bg, "a/b", []byte{'0' + qos}, qos, false); err != nil {
			t.Fatalf("Publish QoS %d: %v", qos, err)
		}
	}
	fb.waitFor(`PUBLISH qos=0 dup=0 retain=0 topic="a/b" payload=1B "0"`)
	fb.waitFor(`PUBLISH qos=1 dup=0 retain=0 id=1 topic="a/b" payload=1B "1"`)
	fb.waitFor(`PUBLISH qos=2 dup=0 retain=0 id=2 topic="a/b" payload=1B "2"`)
	fb.waitFor(`PUBREL id=2`)
	c.mu.Lock()
	n := len(c.inflight)
	c.mu.Unlock()
	if n != 0 {
		t.Errorf("%d operations still in flight", n)
	}
}

func TestPublishAsyncWindow(t *testing.T) {
	fb := newFakeBroker(t)
	fb.noAcks.Store(true)
	c, fc := connect(t, fb, Options{CleanSession: true, MaxInflight: 2})
	type result struct {
		err error
		at  time.Time
	}
	results := make(chan result, 3)
	done := func(err error, at time.Time) { results <- result{err, at} }
	for i := range 2 {
		if err := c.PublishAsync("t", nil, 1, false, done); err != nil {
			t.Fatalf("PublishAsync %d: %v", i, err)
		}
	}
	if err := c.PublishAsync("t", nil, 1, false, done); !errors.Is(err, ErrWindowFull) {
		t.Fatalf("third PublishAsync = %v, want ErrWindowFull", err)
	}
	// A blocking Publish waits for room rather than fail.
	pubErr := make(chan error, 1)
	go func() { pubErr <- c.Publish(bg, "t", nil, 1, false) }()
	fb.waitFor("id=2")
	before := time.Now()
	if err := fc.send(&codec.Ack{PacketType: codec.PUBACK, PacketID: 1}, &codec.Ack{PacketType: codec.PUBACK, PacketID: 2}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		r := <-results
		if r.err != nil || r.at.Before(before) {
			t.Errorf("done(%v, %v), want nil and a time after the ack was sent", r.err, r.at)
		}
	}
	// The waiting Publish gets id 3 once a slot frees.
	fb.waitFor("id=3")
	if err := fc.send(&codec.Ack{PacketType: codec.PUBACK, PacketID: 3}); err != nil {
		t.Fatal(err)
	}
	if err := <-pubErr; err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func TestPacketIDAllocation(t *testing.T) {
	c := &Client{}
	c.inflight = map[uint16]*pending{1: {}, 3: {}}
	c.nextID = 65534
	var got []uint16
	for range 4 {
		id, err := c.allocIDLocked()
		if err != nil {
			t.Fatal(err)
		}
		c.inflight[id] = &pending{}
		got = append(got, id)
	}
	// 65535, then wraps skipping 0 and the in-flight 1 and 3.
	if want := []uint16{65535, 2, 4, 5}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ids = %v, want %v", got, want)
	}
	for id := uint16(1); id != 0; id++ {
		c.inflight[id] = &pending{}
	}
	if _, err := c.allocIDLocked(); !errors.Is(err, ErrNoPacketID) {
		t.Errorf("with every id in flight: %v, want ErrNoPacketID", err)
	}
}

func TestPacketIDsUniqueUnderLoad(t *testing.T) {
	fb := newFakeBroker(t)
	c, _ := connect(t, fb, Options{CleanSession: true, MaxInflight: 16})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				if err := c.Publish(bg, "x", []byte("y"), 1, false); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := fb.count("PUBLISH qos=1"); n != 100 {
		t.Errorf("broker read %d PUBLISHes, want 100", n)
	}
	if fb.count("id=0 ") != 0 {
		t.Error("packet identifier 0 used")
	}
}

func TestReceive(t *testing.T) {
	fb := newFakeBroker(t)
	var mu sync.Mutex
	var got []string
	onMsg := func(m *Message) {
		mu.Lock()
		got = append(got, fmt.Sprintf("%s q%d %s", m.Topic, m.QoS, m.Payload))
		mu.Unlock()
	}
	c, fc := connect(t, fb, Options{CleanSession: true, OnMessage: onMsg})
	_ = c
	big := bytes.Repeat([]byte("x"), 3000) // larger than the read buffer
	send := func(p codec.Packet) {
		t.Helper()
		if err := fc.send(p); err != nil {
			t.Fatal(err)
		}
	}
	send(&codec.Publish{Topic: []byte("q0"), Payload: []byte("a")})
	send(&codec.Publish{QoS: 1, PacketID: 10, Topic: []byte("q1"), Payload: []byte("b")})
	fb.waitFor("PUBACK id=10")
	send(&codec.Publish{QoS: 2, PacketID: 11, Topic: []byte("q2"), Payload: []byte("c")})
	fb.waitFor("PUBREC id=11")
	// A resend before PUBREL must be acknowledged but not delivered twice.
	send(&codec.Publish{QoS: 2, Dup: true, PacketID: 11, Topic: []byte("q2"), Payload: []byte("c")})
	for deadline := time.Now().Add(5 * time.Second); fb.count("PUBREC id=11") < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no second PUBREC")
		}
	}
	send(&codec.Ack{PacketType: codec.PUBREL, PacketID: 11})
	fb.waitFor("PUBCOMP id=11")
	// The id is free again: a new message with it is a new message.
	send(&codec.Publish{QoS: 2, PacketID: 11, Topic: []byte("q2"), Payload: []byte("d")})
	for deadline := time.Now().Add(5 * time.Second); fb.count("PUBREC id=11") < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no third PUBREC")
		}
	}
	send(&codec.Publish{QoS: 1, PacketID: 12, Topic: []byte("big"), Payload: big})
	fb.waitFor("PUBACK id=12")
	mu.Lock()
	defer mu.Unlock()
	want := []string{"q0 q0 a", "q1 q1 b", "q2 q2 c", "q2 q2 d", "big q1 " + string(big)}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("delivered:\n%.200q\nwant:\n%.200q", got, want)
	}
}

func TestAckAfterOnMessage(t *testing.T) {
	// The PUBACK must follow the delivery, so that a crash inside
	// OnMessage does not acknowledge an unprocessed message.
	fb := newFakeBroker(t)
	release := make(chan struct{})
	inCallback := make(chan struct{})
	c, fc := connect(t, fb, Options{CleanSession: true, OnMessage: func(*Message) {
		close(inCallback)
		<-release
	}})
	_ = c
	if err := fc.send(&codec.Publish{QoS: 1, PacketID: 5, Topic: []byte("t")}); err != nil {
		t.Fatal(err)
	}
	<-inCallback
	time.Sleep(20 * time.Millisecond)
	if fb.count("PUBACK") != 0 {
		t.Error("PUBACK sent before OnMessage returned")
	}
	close(release)
	fb.waitFor("PUBACK id=5")
}

func TestSubscribeUnsubscribe(t *testing.T) {
	fb := newFakeBroker(t)
	c, _ := connect(t, fb, Options{CleanSession: true})
	granted, err := c.Subscribe(bg, codec.Subscription{Filter: []byte("a/+"), Options: 2},
		codec.Subscription{Filter: []byte("b/#"), Options: 0})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(granted, []byte{2, 0}) {
		t.Errorf("granted = %v, want [2 0]", granted)
	}
	fb.waitFor(`SUBSCRIBE id=1 ["a/+" qos=2, "b/#" qos=0]`)
	if _, err := c.Unsubscribe(bg, "a/+"); err != nil {
		t.Fatal(err)
	}
	fb.waitFor(`UNSUBSCRIBE id=2 ["a/+"]`)
}

func TestKeepalive(t *testing.T) {
	fb := newFakeBroker(t)
	connect(t, fb, Options{CleanSession: true, KeepAlive: 30 * time.Millisecond})
	fb.waitFor("CONNECT level=4 name=\"MQTT\" clean=1 keepalive=1 ")
	for deadline := time.Now().Add(5 * time.Second); fb.count("PINGREQ") < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d PINGREQs in 5s with a 30ms keepalive", fb.count("PINGREQ"))
		}
	}
}

func TestKeepaliveIdleOnly(t *testing.T) {
	// Traffic resets the idle clock: no PINGREQ while publishing.
	fb := newFakeBroker(t)
	c, _ := connect(t, fb, Options{CleanSession: true, KeepAlive: 200 * time.Millisecond})
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if err := c.Publish(bg, "t", nil, 0, false); err != nil {
			t.Fatal(err)
		}
	}
	if n := fb.count("PINGREQ"); n != 0 {
		t.Errorf("%d PINGREQs while the client kept sending", n)
	}
}

func TestPingTimeoutLosesConnection(t *testing.T) {
	fb := newFakeBroker(t)
	fb.noPingresp.Store(true)
	lost := make(chan error, 1)
	connect(t, fb, Options{CleanSession: true, KeepAlive: 20 * time.Millisecond,
		PingTimeout: 20 * time.Millisecond, OnConnectionLost: func(err error) { lost <- err }})
	select {
	case err := <-lost:
		if !errors.Is(err, ErrConnectionLost) || !errors.Is(err, ErrPingTimeout) {
			t.Errorf("lost with %v, want ErrConnectionLost wrapping ErrPingTimeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("connection not declared lost")
	}
}

func TestConnectionLost(t *testing.T) {
	fb := newFakeBroker(t)
	fb.noAcks.Store(true)
	lost := make(chan error, 1)
	c, fc := connect(t, fb, Options{CleanSession: true, OnConnectionLost: func(err error) { lost <- err }})
	pubErr := make(chan error, 1)
	go func() { pubErr <- c.Publish(bg, "t", nil, 1, false) }()
	subErr := make(chan error, 1)
	go func() {
		_, err := c.Subscribe(bg, codec.Subscription{Filter: []byte("never")})
		subErr <- err
	}()
	fb.waitFor("PUBLISH qos=1")
	fb.waitFor("SUBSCRIBE")
	// The fake broker does answer SUBSCRIBE; make sure the SUBACK could not
	// win by closing right away... the SUBACK may still arrive first, which
	// is also fine.
	fc.nc.Close()
	select {
	case err := <-lost:
		if !errors.Is(err, ErrConnectionLost) {
			t.Errorf("OnConnectionLost(%v)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnConnectionLost not called")
	}
	if err := <-pubErr; !errors.Is(err, ErrConnectionLost) {
		t.Errorf("Publish = %v, want ErrConnectionLost (clean session)", err)
	}
	<-subErr
	if c.Connected() {
		t.Error("Connected() after the loss")
	}
	if err := c.PublishAsync("t", nil, 1, false, nil); !errors.Is(err, ErrNotConnected) {
		t.Errorf("PublishAsync after loss = %v, want ErrNotConnected", err)
	}
}

func TestReconnectResendsWithDup(t *testing.T) {
	fb := newFakeBroker(t)
	fb.noPubcomp.Store(true)
	fb.noAcks.Store(false)
	lost := make(chan error, 1)
	opts := Options{ClientID: "persist", OnConnectionLost: func(err error) { lost <- err }}
	c, fc := connect(t, fb, opts)
	fb.noAcks.Store(true) // nothing acknowledged: QoS 1 stays in flight
	var acked atomic.Int32
	done := func(err error, _ time.Time) {
		if err != nil {
			t.Errorf("done(%v)", err)
		}
		acked.Add(1)
	}
	if err := c.PublishAsync("one", []byte("1"), 1, false, done); err != nil {
		t.Fatal(err)
	}
	fb.waitFor(`id=1 topic="one"`)
	fb.noAcks.Store(false) // the QoS 2 gets its PUBREC but no PUBCOMP
	if err := c.PublishAsync("two", []byte("2"), 2, false, done); err != nil {
		t.Fatal(err)
	}
	fb.waitFor("PUBREL id=2")
	fc.nc.Close()
	<-lost
	fb.noPubcomp.Store(false)
	fb.sessionPresent.Store(true)
	ack, err := c.Reconnect(bg)
	if err != nil || !ack.SessionPresent {
		t.Fatalf("Reconnect = %v, %v", ack, err)
	}
	fb.conn()
	// The QoS 1 PUBLISH comes again with DUP and its id; the QoS 2 flow
	// resumes with the PUBREL (MQTT-4.4.0-1).
	fb.waitFor(`PUBLISH qos=1 dup=1 retain=0 id=1 topic="one"`)
	for deadline := time.Now().Add(5 * time.Second); fb.count("PUBREL id=2") < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("PUBREL not resent:\n%s", strings.Join(fb.packets(), "\n"))
		}
	}
	for deadline := time.Now().Add(5 * time.Second); acked.Load() < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 messages acknowledged after reconnect", acked.Load())
		}
	}
	if fb.count(`topic="two"`) != 1 {
		t.Errorf("QoS 2 PUBLISH resent after its PUBREC")
	}
	if !c.Connected() {
		t.Error("not connected after Reconnect")
	}
}

func TestAckTimeout(t *testing.T) {
	fb := newFakeBroker(t)
	fb.noAcks.Store(true)
	lost := make(chan error, 1)
	c, _ := connect(t, fb, Options{ClientID: "p", AckTimeout: 30 * time.Millisecond,
		OnConnectionLost: func(err error) { lost <- err }})
	if err := c.PublishAsync("t", nil, 1, false, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-lost:
		if !errors.Is(err, ErrAckTimeout) {
			t.Errorf("lost with %v, want ErrAckTimeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("overdue acknowledgement did not end the connection")
	}
	// Persistent session: the message waits for Reconnect.
	c.mu.Lock()
	n := len(c.inflight)
	c.mu.Unlock()
	if n != 1 {
		t.Errorf("%d in flight after the loss, want 1 kept for Reconnect", n)
	}
}

func TestConnectRefused(t *testing.T) {
	fb := newFakeBroker(t)
	fb.connack.Store(&codec.Connack{ReturnCode: codec.ConnRefusedBadCredentials})
	user, pass := "u", "p"
	c, ack, err := Connect(bg, Options{Addr: fb.addr(), ClientID: "x", Username: &user, Password: &pass})
	var ce *ConnectError
	if c != nil || !errors.As(err, &ce) || ce.Code != 4 || ack == nil || ack.ReturnCode != 4 {
		t.Fatalf("Connect = %v, %v, %v; want a refusal with code 4", c, ack, err)
	}
	fb.waitFor(`user="u" password=1B`)
}

func TestConnectTimeout(t *testing.T) {
	fb := newFakeBroker(t)
	fb.silent.Store(true)
	start := time.Now()
	_, _, err := Connect(bg, Options{Addr: fb.addr(), ClientID: "x", ConnectTimeout: 50 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect = %v, want a deadline error", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("gave up after %v", el)
	}
}

func TestProtocolViolationClosesConnection(t *testing.T) {
	fb := newFakeBroker(t)
	lost := make(chan error, 1)
	_, fc := connect(t, fb, Options{CleanSession: true, OnConnectionLost: func(err error) { lost <- err }})
	// A PUBLISH whose topic holds a wildcard (MQTT-3.3.2-2).
	if err := fc.raw([]byte{0x30, 5, 0, 3, 'a', '/', '#'}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-lost:
		var ce *codec.Error
		if !errors.Is(err, ErrProtocol) || !errors.As(err, &ce) || !ce.HasRule("MQTT-3.3.2-2") {
			t.Errorf("lost with %v, want ErrProtocol citing MQTT-3.3.2-2", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("connection kept after a protocol violation")
	}
}

func TestDisconnect(t *testing.T) {
	fb := newFakeBroker(t)
	called := make(chan error, 1)
	c, _ := connect(t, fb, Options{CleanSession: true, OnConnectionLost: func(err error) { called <- err }})
	if err := c.Disconnect(bg); err != nil {
		t.Fatal(err)
	}
	fb.waitFor("DISCONNECT")
	if err := c.Publish(bg, "t", nil, 0, false); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Disconnect = %v, want ErrClosed", err)
	}
	select {
	case err := <-called:
		t.Errorf("OnConnectionLost(%v) after Disconnect", err)
	case <-time.After(20 * time.Millisecond):
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after Disconnect = %v", err)
	}
}

func TestV5(t *testing.T) {
	fb := newFakeBroker(t)
	ack := &codec.Connack{}
	ack.Properties.SetUint(codec.PropReceiveMaximum, 1)
	fb.connack.Store(ack)
	fb.noAcks.Store(true)
	c, fc := connect(t, fb, Options{Version: codec.V5, CleanSession: true, MaxInflight: 10})
	fb.waitFor("CONNECT level=5")
	errs := make(chan error, 1)
	if err := c.PublishAsync("t", nil, 1, false, func(err error, _ time.Time) { errs <- err }); err != nil {
		t.Fatal(err)
	}
	// Receive Maximum 1 from the server caps the window.
	if err := c.PublishAsync("t", nil, 1, false, nil); !errors.Is(err, ErrWindowFull) {
		t.Errorf("second PublishAsync = %v, want ErrWindowFull", err)
	}
	fb.waitFor("PUBLISH qos=1")
	if err := fc.send(&codec.Ack{PacketType: codec.PUBACK, PacketID: 1, ReasonCode: 0x87}); err != nil {
		t.Fatal(err)
	}
	var ae *AckError
	if err := <-errs; !errors.As(err, &ae) || ae.Code != 0x87 {
		t.Errorf("done(%v), want an AckError with 0x87", err)
	}
}

func TestCloseReleasesEverything(t *testing.T) {
	fb := newFakeBroker(t)
	fb.noAcks.Store(true)
	for range 5 {
		c, _, err := Connect(bg, Options{Addr: fb.addr(), ClientID: "x", KeepAlive: time.Second, AckTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		fb.conn()
		errs := make(chan error, 1)
		if err := c.PublishAsync("t", nil, 2, false, func(err error, _ time.Time) { errs <- err }); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-errs; !errors.Is(err, ErrClosed) && !errors.Is(err, ErrConnectionLost) {
			t.Errorf("pending publish completed with %v", err)
		}
	}
	if leaked := leakcheck.Lingering("client.(*link)", 2*time.Second); leaked != "" {
		t.Fatalf("goroutines left after Close:\n%s", leaked)
	}
}
