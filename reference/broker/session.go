package broker

import (
	"sync"

	"github.com/mqtt-check/mqtt-check/codec"
)

// message is an application message as the broker keeps it: its own copy
// of topic and payload, shared read-only by every session it goes to.
type message struct {
	topic   string
	payload []byte
	qos     byte
	retain  bool   // RETAIN flag as published
	from    string // publishing client id, for the retained-on-session-end fault
	dup     bool   // only with the dup-propagated fault
}

// flight states of an outgoing QoS 1/2 message.
const (
	waitPuback  = iota // QoS 1 PUBLISH sent
	waitPubrec         // QoS 2 PUBLISH sent
	waitPubcomp        // PUBREL sent
)

// flight is an outgoing QoS 1/2 message not yet fully acknowledged.
type flight struct {
	id     uint16
	msg    *message
	qos    byte
	retain bool
	state  uint8
}

// queued is a QoS 1/2 message waiting for the client to come online or
// for room in the inflight window.
type queued struct {
	msg    *message
	qos    byte
	retain bool
}

// session is the state the server keeps for a client identifier
// (MQTT-3.1.3-2): subscriptions, messages in flight both ways, and the
// queue of messages for an offline client.
type session struct {
	srv *Server
	id  string

	mu       sync.Mutex // guards everything below
	clean    bool
	conn     *conn // nil while the client is offline
	subs     map[string]byte
	nextID   uint16
	inflight []*flight
	queue    []queued
	// inQoS2 holds ids of QoS 2 messages received and not yet released:
	// a PUBLISH with such an id is a re-send and must not be delivered
	// again (MQTT-4.3.3-2).
	inQoS2  map[uint16]struct{}
	dropped uint64
	ended   bool
	// dupSeq numbers the extra subscriptions of the resubscribe-duplicates fault.
	dupSeq int
}

func newSession(srv *Server, id string, clean bool) *session {
	return &session{srv: srv, id: id, clean: clean, subs: map[string]byte{}, inQoS2: map[uint16]struct{}{}}
}

// deliver hands m to the session at QoS qos with RETAIN flag retain: sent
// at once when the client is online and the window has room, queued
// otherwise (QoS 0 is never queued for an offline client).
func (ss *session) deliver(m *message, qos byte, retain bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.ended {
		return
	}
	f := ss.srv.faults
	if qos == 0 {
		if ss.conn != nil {
			ss.conn.sendPublish(m.topic, m.payload, 0, 0, retain, f.on(FaultDupOnQoS0) || m.dup)
		}
		return
	}
	if ss.conn == nil && f.on(FaultNoOfflineQueue) {
		ss.drop()
		return
	}
	// Anything already queued goes first, to keep per-topic order
	// (MQTT-4.6.0-6).
	if ss.conn != nil && len(ss.queue) == 0 && len(ss.inflight) < ss.srv.opts.MaxInflight {
		ss.sendNew(m, qos, retain)
		return
	}
	if len(ss.queue) >= ss.srv.opts.MaxQueued {
		ss.drop()
		return
	}
	ss.queue = append(ss.queue, queued{m, qos, retain})
}

func (ss *session) drop() {
	ss.dropped++
	ss.srv.stats.dropped.Add(1)
}

// sendNew puts a message in flight under a fresh packet identifier.
// Caller holds ss.mu and has checked that the client is online.
func (ss *session) sendNew(m *message, qos byte, retain bool) {
	id := ss.allocID()
	st := uint8(waitPuback)
	if qos == 2 {
		st = waitPubrec
	}
	ss.inflight = append(ss.inflight, &flight{id: id, msg: m, qos: qos, retain: retain, state: st})
	ss.conn.sendPublish(m.topic, m.payload, qos, id, retain, m.dup)
}

// allocID returns a packet identifier not used by any message in flight
// (MQTT-2.3.1-4), never zero (MQTT-2.3.1-1).
func (ss *session) allocID() uint16 {
	if ss.srv.faults.on(FaultPacketIDReuse) {
		return 1
	}
	for {
		ss.nextID++
		if ss.nextID == 0 {
			continue
		}
		if !ss.inUse(ss.nextID) {
			return ss.nextID
		}
	}
}

func (ss *session) inUse(id uint16) bool {
	for _, f := range ss.inflight {
		if f.id == id {
			return true
		}
	}
	return false
}

// acked processes PUBACK, PUBREC or PUBCOMP from the client.
func (ss *session) acked(t codec.Type, id uint16) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for i, f := range ss.inflight {
		if f.id != id {
			continue
		}
		switch {
		case t == codec.PUBACK && f.state == waitPuback,
			t == codec.PUBCOMP && f.state == waitPubcomp:
			ss.inflight = append(ss.inflight[:i], ss.inflight[i+1:]...)
			ss.pump()
		case t == codec.PUBREC && f.state == waitPubrec:
			f.state = waitPubcomp
			if ss.conn != nil && !ss.srv.faults.on(FaultNoPubrel) {
				ss.conn.sendAck(codec.PUBREL, id)
			}
		case t == codec.PUBREC && f.state == waitPubcomp:
			// The client re-sent PUBREC; answer it again.
			if ss.conn != nil && !ss.srv.faults.on(FaultNoPubrel) {
				ss.conn.sendAck(codec.PUBREL, id)
			}
		}
		return
	}
}

// pump moves queued messages into the inflight window. Caller holds ss.mu.
func (ss *session) pump() {
	for ss.conn != nil && len(ss.queue) > 0 && len(ss.inflight) < ss.srv.opts.MaxInflight {
		var q queued
		if ss.srv.faults.on(FaultOutOfOrder) {
			q = ss.queue[len(ss.queue)-1]
			ss.queue = ss.queue[:len(ss.queue)-1]
		} else {
			q = ss.queue[0]
			ss.queue[0] = queued{}
			ss.queue = ss.queue[1:]
		}
		ss.sendNew(q.msg, q.qos, q.retain)
	}
	if len(ss.queue) == 0 {
		ss.queue = nil // let a drained backing array go
	}
}

// attach binds a connection to the session and, for a resumed session,
// re-sends what was in flight with the same packet identifiers, PUBLISH
// with DUP=1 and PUBREL as PUBREL (MQTT-4.4.0-1, MQTT-3.3.1-1), then
// drains the queue.
func (ss *session) attach(c *conn, resumed bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.conn = c
	if resumed {
		if ss.srv.faults.on(FaultNoRedelivery) {
			ss.inflight = nil
		}
		dup := !ss.srv.faults.on(FaultNoDupOnRedelivery)
		for _, f := range ss.inflight {
			if f.state == waitPubcomp {
				c.sendAck(codec.PUBREL, f.id)
			} else {
				c.sendPublish(f.msg.topic, f.msg.payload, f.qos, f.id, f.retain, dup)
			}
		}
	}
	ss.pump()
}

// detach unbinds c if it is still the session's connection.
func (ss *session) detach(c *conn) {
	ss.mu.Lock()
	if ss.conn == c {
		ss.conn = nil
	}
	ss.mu.Unlock()
}

// connected reports whether c is the session's current connection.
func (ss *session) isCurrent(c *conn) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.conn == c
}
