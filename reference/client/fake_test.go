package client

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/internal/leakcheck"
)

// TestMain fails the package if a client goroutine outlives the tests.
func TestMain(m *testing.M) { leakcheck.Main(m, "client.(*link)") }

// fakeBroker is just enough of a server to exercise the client: it
// answers CONNECT, the QoS flows, SUBSCRIBE, UNSUBSCRIBE and PINGREQ, logs
// every packet it reads in codec.Format form, and lets a test push
// packets or break the rules through its knobs.
type fakeBroker struct {
	t  *testing.T
	ln net.Listener

	// Knobs, set before or during a test.
	connack        atomic.Pointer[codec.Connack] // nil: accept
	silent         atomic.Bool                   // read CONNECT, answer nothing
	noPingresp     atomic.Bool
	noAcks         atomic.Bool // no PUBACK/PUBREC/PUBCOMP
	noPubcomp      atomic.Bool
	sessionPresent atomic.Bool

	mu    sync.Mutex
	log   []string
	conns []*fakeConn
	wg    sync.WaitGroup
	newc  chan *fakeConn
}

type fakeConn struct {
	nc  net.Conn
	ver codec.Version
	wmu sync.Mutex
}

// send writes packets to the client.
func (fc *fakeConn) send(ps ...codec.Packet) error {
	var b []byte
	for _, p := range ps {
		var err error
		if b, err = p.Append(b, fc.ver); err != nil {
			return err
		}
	}
	return fc.raw(b)
}

func (fc *fakeConn) raw(b []byte) error {
	fc.wmu.Lock()
	defer fc.wmu.Unlock()
	_, err := fc.nc.Write(b)
	return err
}

func newFakeBroker(t *testing.T) *fakeBroker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fb := &fakeBroker{t: t, ln: ln, newc: make(chan *fakeConn, 16)}
	fb.wg.Add(1)
	go fb.accept()
	t.Cleanup(fb.close)
	return fb
}

func (fb *fakeBroker) addr() string { return fb.ln.Addr().String() }

func (fb *fakeBroker) close() {
	fb.ln.Close()
	fb.mu.Lock()
	for _, c := range fb.conns {
		c.nc.Close()
	}
	fb.mu.Unlock()
	fb.wg.Wait()
}

func (fb *fakeBroker) accept() {
	defer fb.wg.Done()
	for {
		nc, err := fb.ln.Accept()
		if err != nil {
			return
		}
		fc := &fakeConn{nc: nc, ver: codec.V311}
		fb.mu.Lock()
		fb.conns = append(fb.conns, fc)
		fb.mu.Unlock()
		fb.wg.Add(1)
		go fb.serve(fc)
	}
}

// conn waits for the next accepted connection.
func (fb *fakeBroker) conn() *fakeConn {
	fb.t.Helper()
	select {
	case fc := <-fb.newc:
		return fc
	case <-time.After(5 * time.Second):
		fb.t.Fatal("no connection accepted")
		return nil
	}
}

// packets returns the log of packets read so far.
func (fb *fakeBroker) packets() []string {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	return append([]string(nil), fb.log...)
}

// waitFor polls until the log holds a line containing s, and returns it.
func (fb *fakeBroker) waitFor(s string) string {
	fb.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		for _, l := range fb.packets() {
			if strings.Contains(l, s) {
				return l
			}
		}
	}
	fb.t.Fatalf("broker never read %q; log:\n%s", s, strings.Join(fb.packets(), "\n"))
	return ""
}

// count returns how many logged packets contain s.
func (fb *fakeBroker) count(s string) int {
	n := 0
	for _, l := range fb.packets() {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

func (fb *fakeBroker) serve(fc *fakeConn) {
	defer fb.wg.Done()
	defer fc.nc.Close()
	rd := codec.NewReader(fc.nc)
	d := codec.Decoder{Version: codec.V311, Strict: true}
	for {
		_, b, err := rd.ReadPacket()
		if err != nil {
			return
		}
		p, _, err := d.Decode(b)
		if err != nil {
			fb.t.Errorf("fake broker: client sent a bad packet: %v", err)
			return
		}
		fb.mu.Lock()
		fb.log = append(fb.log, codec.Format(p, fc.ver))
		fb.mu.Unlock()
		var out []codec.Packet
		switch p := p.(type) {
		case *codec.Connect:
			fc.ver = p.ProtocolLevel
			d.Version = p.ProtocolLevel
			if fb.silent.Load() {
				fb.newc <- fc
				continue
			}
			ack := &codec.Connack{SessionPresent: fb.sessionPresent.Load()}
			if a := fb.connack.Load(); a != nil {
				ack = a
			}
			out = append(out, ack)
			if err := fc.send(out...); err != nil {
				return
			}
			fb.newc <- fc
			continue
		case *codec.Publish:
			switch {
			case fb.noAcks.Load():
			case p.QoS == 1:
				out = append(out, &codec.Ack{PacketType: codec.PUBACK, PacketID: p.PacketID})
			case p.QoS == 2:
				out = append(out, &codec.Ack{PacketType: codec.PUBREC, PacketID: p.PacketID})
			}
		case *codec.Ack:
			switch p.PacketType {
			case codec.PUBREL:
				if !fb.noAcks.Load() && !fb.noPubcomp.Load() {
					out = append(out, &codec.Ack{PacketType: codec.PUBCOMP, PacketID: p.PacketID})
				}
			}
		case *codec.Subscribe:
			codes := make([]byte, len(p.Filters))
			for i, f := range p.Filters {
				codes[i] = f.QoS()
			}
			out = append(out, &codec.Suback{PacketID: p.PacketID, ReturnCodes: codes})
		case *codec.Unsubscribe:
			out = append(out, &codec.Unsuback{PacketID: p.PacketID})
		case *codec.Pingreq:
			if !fb.noPingresp.Load() {
				out = append(out, &codec.Pingresp{})
			}
		case *codec.Disconnect:
			return
		}
		if len(out) > 0 {
			if err := fc.send(out...); err != nil {
				return
			}
		}
	}
}
