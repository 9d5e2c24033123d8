package broker

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
)

// closeReason says why a connection ended; it decides whether the Will
// is published.
type closeReason uint8

const (
	reasonNone           closeReason = iota
	reasonDisconnect                 // client sent DISCONNECT
	reasonRefused                    // CONNACK with a non-zero return code
	reasonEOF                        // client closed the socket
	reasonIOError                    // read or write failed
	reasonKeepAlive                  // silent beyond 1.5x Keep Alive
	reasonProtocol                   // protocol violation or malformed packet
	reasonTakeover                   // another connection took the client id
	reasonSlow                       // client did not read its messages
	reasonShutdown                   // the server is closing
	reasonConnectTimeout             // no CONNECT in time
)

var reasonText = [...]string{"", "client sent DISCONNECT", "connection refused", "client closed the connection",
	"network error", "keep alive expired", "protocol violation", "client id taken over",
	"slow consumer", "server shutdown", "no CONNECT in time"}

func (r closeReason) String() string { return reasonText[r] }

// publishesWill reports whether a connection closed for this reason
// publishes its Will: every close but DISCONNECT (MQTT-3.1.2-8,
// MQTT-3.14.4-3) and the server's own shutdown.
func (r closeReason) publishesWill() bool {
	return r != reasonDisconnect && r != reasonShutdown && r != reasonRefused && r != reasonNone
}

// maxPending bounds the bytes waiting for a client that does not read.
const maxPending = 32 << 20

// conn is one client network connection. One goroutine reads and handles
// packets (serve); one writes (writeLoop), so that a publisher never
// blocks on a subscriber's socket.
type conn struct {
	srv    *Server
	nc     net.Conn
	remote string
	dec    codec.Decoder

	// Set while handling CONNECT, then read-only.
	version   codec.Version
	clientID  string
	username  string
	keepAlive time.Duration
	sess      *session
	will      *message
	connected bool

	killReason atomic.Uint32 // closeReason set by kill
	lastErr    error

	wmu        sync.Mutex // guards out, spare, closing
	cond       *sync.Cond
	out        []byte
	spare      []byte
	closing    bool
	writerDone chan struct{}
	encBuf     codec.Publish // reused by sendPublish under wmu
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc, remote: nc.RemoteAddr().String(), writerDone: make(chan struct{})}
	c.cond = sync.NewCond(&c.wmu)
	c.dec.MaxPacketSize = s.opts.MaxPacketSize
	return c
}

// serve runs the connection to its end.
func (c *conn) serve() {
	go c.writeLoop()
	reason := c.readLoop()
	if r := closeReason(c.killReason.Load()); r != reasonNone {
		reason = r
	}
	c.finish(reason)
}

// kill closes the connection from outside its read loop.
func (c *conn) kill(r closeReason) {
	c.killReason.CompareAndSwap(0, uint32(r))
	c.nc.Close()
}

// readDeadline is the time by which the next bytes must arrive: the
// CONNECT timeout first, then one and a half times the Keep Alive
// (MQTT-3.1.2-24); none when Keep Alive is zero.
func (c *conn) readDeadline() time.Time {
	if !c.connected {
		return time.Now().Add(c.srv.opts.ConnectTimeout)
	}
	if c.keepAlive == 0 || c.srv.faults.on(FaultKeepAliveNotEnforced) {
		return time.Time{}
	}
	if c.srv.faults.on(FaultKeepAliveEarly) {
		return time.Now().Add(c.keepAlive / 2)
	}
	return time.Now().Add(c.keepAlive * 3 / 2)
}

// readLoop reads into one buffer and decodes whatever whole packets it
// holds; only a packet that straddles two reads is moved (nats-style).
func (c *conn) readLoop() closeReason {
	buf := make([]byte, 1024)
	start, end := 0, 0
	for {
		if err := c.nc.SetReadDeadline(c.readDeadline()); err != nil {
			return reasonIOError
		}
		if end == len(buf) {
			if start > 0 {
				end = copy(buf, buf[start:end])
				start = 0
			} else {
				buf = append(buf, make([]byte, len(buf))...)[:cap(buf)]
			}
		}
		n, rerr := c.nc.Read(buf[end:])
		end += n
		for start < end {
			p, used, err := c.dec.Decode(buf[start:end])
			if err == codec.ErrIncomplete {
				// Make room for the whole packet if the buffer is too small.
				if h, herr := codec.ParseFixedHeader(buf[start:end]); herr == nil && h.PacketLen() > len(buf)-start {
					nb := make([]byte, max(h.PacketLen(), 2*len(buf)))
					end = copy(nb, buf[start:end])
					buf, start = nb, 0
				}
				break
			}
			if err != nil || !c.violationsTolerated() {
				if err == nil {
					err = &c.dec.Violations[0]
				}
				c.lastErr = err
				c.srv.log.Info("closing connection on a bad packet", "remote", c.remote, "client", c.clientID, "err", err)
				var ce *codec.Error
				if used > 0 && errors.As(err, &ce) && ce.Kind == codec.Malformed && c.srv.faults.on(FaultMalformedKeepsConnection) {
					start += used
					continue
				}
				if !c.connected && c.srv.faults.on(FaultMalformedConnectAnswered) && len(buf[start:end]) > 0 && codec.Type(buf[start]>>4) == codec.CONNECT {
					c.sendConnack(false, codec.ConnRefusedIdentifier)
				}
				return reasonProtocol
			}
			start += used
			c.srv.stats.received.Add(1)
			if r := c.handle(p, buf[start-used]&0x0f); r != reasonNone {
				return r
			}
		}
		if start == end {
			start, end = 0, 0
		}
		if rerr != nil {
			c.lastErr = rerr
			var ne net.Error
			switch {
			case errors.As(rerr, &ne) && ne.Timeout(), errors.Is(rerr, os.ErrDeadlineExceeded):
				if !c.connected {
					return reasonConnectTimeout
				}
				return reasonKeepAlive
			case errors.Is(rerr, io.EOF):
				return reasonEOF
			}
			return reasonIOError
		}
	}
}

// violationsTolerated reports whether the last decoded packet broke no
// rule, or only rules a switched-on fault lets through.
func (c *conn) violationsTolerated() bool {
	for i := range c.dec.Violations {
		if !c.srv.faults.tolerates(c.dec.Violations[i].Rules) {
			return false
		}
	}
	return true
}

// finish tears the connection down: flush what is queued, publish the
// Will if the reason calls for it, leave the session, and close the
// socket. The socket closes last, so a client that sees the close knows
// the broker is done with the connection (a test can then rely on the
// session being offline and the Will published).
func (c *conn) finish(reason closeReason) {
	c.wmu.Lock()
	c.closing = true
	c.cond.Signal()
	c.wmu.Unlock()
	<-c.writerDone
	defer c.nc.Close()
	c.srv.log.Debug("connection closed", "remote", c.remote, "client", c.clientID, "reason", reason.String(), "err", c.lastErr)
	if !c.connected {
		return
	}
	c.srv.stats.connected.Add(-1)
	f := c.srv.faults
	if c.will != nil && (reason.publishesWill() || (reason == reasonDisconnect && f.on(FaultWillOnDisconnect))) && !f.on(FaultNoWill) {
		w := *c.will
		if f.on(FaultWillRetainIgnored) {
			w.retain = false
		}
		if f.on(FaultWillAlwaysRetained) {
			w.retain = true
		}
		c.srv.route(&w, "")
	}
	c.srv.leave(c)
}

// writeLoop writes whatever the handlers queued, in batches.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	c.wmu.Lock()
	for {
		for len(c.out) == 0 && !c.closing {
			c.cond.Wait()
		}
		if len(c.out) == 0 {
			c.wmu.Unlock()
			return
		}
		buf := c.out
		c.out = c.spare[:0]
		c.wmu.Unlock()
		c.srv.impairWrite()
		c.nc.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
		_, err := c.nc.Write(buf)
		c.wmu.Lock()
		if cap(buf) <= 64<<10 {
			c.spare = buf[:0]
		}
		if err != nil {
			c.lastErr = err
			c.out = nil
			c.closing = true
			c.wmu.Unlock()
			c.kill(reasonIOError)
			return
		}
	}
}

// queue appends one encoded packet to the outgoing buffer.
func (c *conn) queue(p codec.Packet) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.queueLocked(p)
}

func (c *conn) queueLocked(p codec.Packet) {
	if c.closing {
		return
	}
	out, err := p.Append(c.out, c.version)
	if err != nil {
		c.srv.log.Warn("cannot encode packet", "client", c.clientID, "err", err)
		return
	}
	c.out = out
	c.srv.stats.sent.Add(1)
	if len(c.out) > maxPending {
		c.closing = true
		c.out = c.out[:0]
		go c.kill(reasonSlow)
	}
	c.cond.Signal()
}

func (c *conn) sendPublish(topic string, payload []byte, qos byte, id uint16, retain, dup bool) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	p := &c.encBuf
	p.Topic = append(p.Topic[:0], topic...)
	p.Payload, p.QoS, p.PacketID, p.Retain, p.Dup = payload, qos, id, retain, dup
	c.queueLocked(p)
	p.Payload = nil
}

func (c *conn) sendAck(t codec.Type, id uint16) {
	c.queue(&codec.Ack{PacketType: t, PacketID: id})
}

func (c *conn) sendConnack(sessionPresent bool, rc byte) {
	c.queue(&codec.Connack{SessionPresent: sessionPresent, ReturnCode: rc})
}

// handle processes one decoded packet; flags is its fixed-header nibble.
func (c *conn) handle(p codec.Packet, flags byte) closeReason {
	f := c.srv.faults
	if !c.connected {
		cp, ok := p.(*codec.Connect)
		if !ok {
			// The first packet must be CONNECT; anything else is a
			// protocol violation (MQTT-3.1.0-1, MQTT-4.8.0-1).
			if f.on(FaultNonConnectFirstAccepted) {
				return reasonNone
			}
			c.lastErr = errors.New("first packet is " + p.Type().String() + ", not CONNECT")
			return reasonProtocol
		}
		return c.handleConnect(cp)
	}
	switch p := p.(type) {
	case *codec.Connect:
		// A second CONNECT is a protocol violation (MQTT-3.1.0-2).
		if f.on(FaultSecondConnectAccepted) {
			return reasonNone
		}
		c.lastErr = errors.New("second CONNECT")
		return reasonProtocol
	case *codec.Publish:
		return c.handlePublish(p)
	case *codec.Ack:
		switch p.PacketType {
		case codec.PUBREL:
			// Release a QoS 2 message: forget its id, then PUBCOMP even
			// for an unknown id, so the client can finish (MQTT-4.3.3-2).
			c.sess.mu.Lock()
			delete(c.sess.inQoS2, p.PacketID)
			c.sess.mu.Unlock()
			if !f.on(FaultNoPubcomp) {
				c.sendAck(codec.PUBCOMP, p.PacketID)
			}
		default:
			c.sess.acked(p.PacketType, p.PacketID)
		}
	case *codec.Subscribe:
		c.handleSubscribe(p)
	case *codec.Unsubscribe:
		c.handleUnsubscribe(p)
	case *codec.Pingreq:
		// MQTT-3.12.4-1.
		if !f.on(FaultNoPingresp) {
			c.queue(&codec.Pingresp{})
		}
	case *codec.Disconnect:
		return reasonDisconnect
	default:
		// CONNACK, SUBACK, UNSUBACK, PINGRESP are server-to-client only.
		c.lastErr = errors.New(p.Type().String() + " sent by a client")
		return reasonProtocol
	}
	return reasonNone
}

// handlePublish routes an application message and acknowledges it.
func (c *conn) handlePublish(p *codec.Publish) closeReason {
	f := c.srv.faults
	topic := p.Topic
	if f.on(FaultBOMStripped) {
		topic = bytes.TrimPrefix(topic, []byte("\xef\xbb\xbf"))
	}
	qos := p.QoS
	if qos == 3 {
		qos = 2 // only with the qos3-accepted fault: decoding closed otherwise
	}
	allowed := c.srv.mayPublish(c.username, topic)
	deliver := true
	if qos == 2 {
		c.sess.mu.Lock()
		_, seen := c.sess.inQoS2[p.PacketID]
		c.sess.inQoS2[p.PacketID] = struct{}{}
		c.sess.mu.Unlock()
		// A re-sent QoS 2 PUBLISH must not be delivered twice.
		deliver = !seen || f.on(FaultQoS2DuplicateDelivery)
	}
	if allowed && deliver {
		m := &message{topic: string(topic), payload: bytes.Clone(p.Payload), qos: qos, retain: p.Retain, from: c.clientID}
		if m.payload == nil {
			m.payload = []byte{}
		}
		dup := p.Dup && f.on(FaultDupPropagated)
		c.srv.routeDup(m, c.clientID, dup)
	}
	// Unauthorised messages are acknowledged normally and dropped
	// (MQTT-3.3.5-2 allows this or closing the connection).
	id := p.PacketID
	if f.on(FaultPubackWrongID) {
		id++
	}
	switch qos {
	case 1:
		if !f.on(FaultNoPuback) {
			c.sendAck(codec.PUBACK, id)
		}
	case 2:
		if !f.on(FaultNoPubrec) {
			c.sendAck(codec.PUBREC, id)
		}
	}
	return reasonNone
}
