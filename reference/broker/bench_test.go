package broker_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/broker"
)

// rawClient is a minimal benchmark client: the probe keeps transcripts
// and allocates per packet, which would measure the harness, not the
// broker.
type rawClient struct {
	nc  net.Conn
	w   *bufio.Writer
	r   *codec.Reader
	dec codec.Decoder
	buf []byte
}

func dialRaw(b *testing.B, addr, id string) *rawClient {
	b.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	c := &rawClient{nc: nc, w: bufio.NewWriterSize(nc, 64<<10), r: codec.NewReader(bufio.NewReaderSize(nc, 64<<10))}
	c.send(&codec.Connect{ClientID: []byte(id), CleanSession: true})
	c.w.Flush()
	if p := c.read(b); p.Type() != codec.CONNACK {
		b.Fatalf("got %s, want CONNACK", p.Type())
	}
	return c
}

func (c *rawClient) send(p codec.Packet) {
	c.buf, _ = p.Append(c.buf[:0], codec.V311)
	c.w.Write(c.buf)
}

func (c *rawClient) read(b *testing.B) codec.Packet {
	h, raw, err := c.r.ReadPacket()
	if err != nil {
		b.Fatal(err)
	}
	p, err := c.dec.DecodeBody(h, raw[h.HeaderLen:])
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// subscribe subscribes and waits for the SUBACK.
func (c *rawClient) subscribe(b *testing.B, filter string, qos byte) {
	c.send(&codec.Subscribe{PacketID: 1, Filters: []codec.Subscription{{Filter: []byte(filter), Options: qos}}})
	c.w.Flush()
	for c.read(b).Type() != codec.SUBACK {
	}
}

// drain reads n PUBLISH packets, acknowledging QoS 1 ones.
func (c *rawClient) drain(b *testing.B, n int, done *sync.WaitGroup) {
	defer done.Done()
	got := 0
	for got < n {
		h, raw, err := c.r.ReadPacket()
		if err != nil {
			b.Error(err)
			return
		}
		if h.Type != codec.PUBLISH {
			continue
		}
		got++
		if (h.Flags>>1)&3 == 1 {
			p, err := c.dec.DecodeBody(h, raw[h.HeaderLen:])
			if err != nil {
				b.Error(err)
				return
			}
			c.send(&codec.Ack{PacketType: codec.PUBACK, PacketID: p.(*codec.Publish).PacketID})
			if got%64 == 0 {
				c.w.Flush()
			}
		}
	}
	c.w.Flush()
}

// publishMany sends n messages, reading acknowledgements concurrently.
func (c *rawClient) publishMany(b *testing.B, topic string, n int, qos byte, payload []byte) {
	var acks sync.WaitGroup
	if qos == 1 {
		acks.Add(1)
		go func() {
			defer acks.Done()
			for got := 0; got < n; {
				h, _, err := c.r.ReadPacket()
				if err != nil {
					b.Error(err)
					return
				}
				if h.Type == codec.PUBACK {
					got++
				}
			}
		}()
	}
	p := &codec.Publish{Topic: []byte(topic), Payload: payload, QoS: qos}
	for i := 0; i < n; i++ {
		p.PacketID = uint16(i%65535 + 1)
		c.send(p)
	}
	c.w.Flush()
	acks.Wait()
}

func benchBroker(b *testing.B) string {
	srv := broker.New(broker.Options{SysInterval: -1, MaxInflight: 1000, MaxQueued: 1 << 20})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(context.Background(), ln)
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// BenchmarkFanOut: one publisher, many subscribers on one topic; the
// figure is deliveries per second.
func BenchmarkFanOut(b *testing.B) {
	for _, subs := range []int{10, 100} {
		for _, qos := range []byte{0, 1} {
			b.Run(fmt.Sprintf("subs=%d/qos=%d", subs, qos), func(b *testing.B) {
				addr := benchBroker(b)
				var done sync.WaitGroup
				clients := make([]*rawClient, subs)
				for i := range clients {
					clients[i] = dialRaw(b, addr, fmt.Sprint("s", i))
					clients[i].subscribe(b, "fan/out", qos)
				}
				pub := dialRaw(b, addr, "pub")
				payload := make([]byte, 64)
				b.ResetTimer()
				start := time.Now()
				done.Add(subs)
				for _, c := range clients {
					go c.drain(b, b.N, &done)
				}
				pub.publishMany(b, "fan/out", b.N, qos, payload)
				done.Wait()
				el := time.Since(start)
				b.ReportMetric(float64(b.N*subs)/el.Seconds(), "deliveries/s")
			})
		}
	}
}

// BenchmarkFanIn: many publishers, one subscriber on a wildcard; the
// figure is deliveries per second.
func BenchmarkFanIn(b *testing.B) {
	for _, pubs := range []int{10, 100} {
		for _, qos := range []byte{0, 1} {
			b.Run(fmt.Sprintf("pubs=%d/qos=%d", pubs, qos), func(b *testing.B) {
				addr := benchBroker(b)
				sub := dialRaw(b, addr, "sub")
				sub.subscribe(b, "fan/in/+", qos)
				publishers := make([]*rawClient, pubs)
				for i := range publishers {
					publishers[i] = dialRaw(b, addr, fmt.Sprint("p", i))
				}
				per := b.N/pubs + 1
				payload := make([]byte, 64)
				var done sync.WaitGroup
				done.Add(1)
				b.ResetTimer()
				start := time.Now()
				go sub.drain(b, per*pubs, &done)
				var pw sync.WaitGroup
				for i, p := range publishers {
					pw.Add(1)
					go func() {
						defer pw.Done()
						p.publishMany(b, fmt.Sprint("fan/in/", i), per, qos, payload)
					}()
				}
				pw.Wait()
				done.Wait()
				el := time.Since(start)
				b.ReportMetric(float64(per*pubs)/el.Seconds(), "deliveries/s")
			})
		}
	}
}
