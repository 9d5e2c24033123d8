package broker

import (
	"bytes"
	"errors"
	"time"

	"github.com/mqtt-check/mqtt-check/codec"
)

// handleConnect answers the first packet of a connection. Malformed
// CONNECTs never reach it: the read loop closes those without a CONNACK
// (MQTT-3.1.4-1).
func (c *conn) handleConnect(p *codec.Connect) closeReason {
	f := c.srv.faults
	level := p.ProtocolLevel
	if level != codec.V31 && level != codec.V311 {
		// Unsupported level: CONNACK 0x01, then close (MQTT-3.1.2-2).
		if !f.on(FaultProtocolLevelAccepted) {
			c.version = codec.V311
			return c.refuse(codec.ConnRefusedVersion, "unsupported protocol level "+level.String())
		}
		level = codec.V311
	}
	c.version = level
	c.dec.Version = level

	id := string(p.ClientID)
	clean := p.CleanSession
	switch {
	case id == "" && !clean && !f.on(FaultEmptyIDPersistentAccepted):
		// MQTT-3.1.3-8: a zero-length id needs CleanSession=1.
		return c.refuse(codec.ConnRefusedIdentifier, "empty client id with CleanSession=0")
	case id == "":
		id = c.srv.assignClientID() // MQTT-3.1.3-6
	case level == codec.V31 && len(id) > 23:
		// MQTT 3.1 limits identifiers to 23 characters.
		return c.refuse(codec.ConnRefusedIdentifier, "client id longer than 23 characters (MQTT 3.1)")
	case f.on(FaultLongClientIDRejected) && len(id) > 8:
		return c.refuse(codec.ConnRefusedIdentifier, "client id longer than 8 bytes (fault)")
	}

	if a := c.srv.opts.Auth; a != nil {
		var user, pass []byte
		if p.UsernameFlag {
			user = p.Username
		}
		if p.PasswordFlag {
			pass = p.Password
		}
		if rc := a.authenticate(p.UsernameFlag, user, p.PasswordFlag, pass); rc != codec.ConnAccepted {
			return c.refuse(rc, "authentication failed")
		}
		c.username = string(user)
	} else if p.UsernameFlag {
		c.username = string(p.Username)
	}

	if f.on(FaultConnackNotFirst) {
		c.queue(&codec.Pingresp{})
	}
	c.clientID = id
	sess, present := c.srv.join(c, id, clean)
	c.sess = sess
	switch {
	case f.on(FaultSessionPresentAlways0):
		present = false
	case f.on(FaultSessionPresentAlways1):
		present = true
	}
	c.sendConnack(present, codec.ConnAccepted) // MQTT-3.2.0-1, MQTT-3.1.4-4
	c.keepAlive = time.Duration(p.KeepAlive) * time.Second
	c.connected = true
	c.srv.stats.connected.Add(1)
	if p.WillFlag {
		// Stored now, published if the connection ends without
		// DISCONNECT (MQTT-3.1.2-8).
		c.will = &message{topic: string(p.WillTopic), payload: bytes.Clone(p.WillPayload), qos: min(p.WillQoS, 2), retain: p.WillRetain, from: id}
		if c.will.payload == nil {
			c.will.payload = []byte{}
		}
	}
	sess.attach(c, present && !f.on(FaultSessionPresentAlways1))
	return reasonNone
}

// refuse sends a CONNACK with a non-zero return code, Session Present 0
// (MQTT-3.2.2-4), and closes the connection (MQTT-3.2.2-5). Nothing the
// client sent after the CONNECT is processed (MQTT-3.1.4-5).
func (c *conn) refuse(rc byte, why string) closeReason {
	c.lastErr = errors.New(why)
	f := c.srv.faults
	c.sendConnack(f.on(FaultSessionPresentOnReject), rc)
	if f.on(FaultNoCloseAfterReject) || f.on(FaultProcessAfterReject) {
		// Carry on as if connected so later packets are processed.
		c.version = codec.V311
		c.dec.Version = codec.V311
		c.clientID = "rejected-" + c.remote
		c.sess, _ = c.srv.join(c, c.clientID, true)
		c.connected = true
		c.srv.stats.connected.Add(1)
		c.sess.attach(c, false)
		return reasonNone
	}
	return reasonRefused
}

// join binds c to the session of client id, taking the id over from any
// connection that holds it (MQTT-3.1.4-2), and applies CleanSession
// (MQTT-3.1.2-4, MQTT-3.1.2-6). It reports whether a stored session was
// resumed, which is the CONNACK Session Present flag (MQTT-3.2.2-1..3).
func (s *Server) join(c *conn, id string, clean bool) (*session, bool) {
	s.mu.Lock()
	old := s.sessions[id]
	var oldConn *conn
	if old != nil {
		old.mu.Lock()
		oldConn = old.conn
		old.mu.Unlock()
	}
	if oldConn != nil && !s.faults.on(FaultNoTakeover) {
		s.mu.Unlock()
		oldConn.kill(reasonTakeover)
		// Wait until the old connection has left the session, so its Will
		// and clean-up come before the new connection's state.
		deadline := time.Now().Add(s.opts.WriteTimeout + time.Second)
		for old.isCurrent(oldConn) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		s.mu.Lock()
		old = s.sessions[id]
	}
	defer s.mu.Unlock()
	resume := old != nil && !old.ended && (!old.clean || s.faults.on(FaultCleanSessionIgnored))
	if clean && !s.faults.on(FaultCleanSessionIgnored) {
		resume = false
	}
	if resume {
		old.mu.Lock()
		old.clean = clean && !s.faults.on(FaultCleanSessionIgnored)
		old.mu.Unlock()
		return old, true
	}
	if old != nil {
		s.endSessionLocked(old)
	}
	ss := newSession(s, id, clean)
	s.sessions[id] = ss
	return ss, false
}

// leave detaches a closing connection from its session and ends the
// session if it was clean (MQTT-3.1.2-6).
func (s *Server) leave(c *conn) {
	ss := c.sess
	if ss == nil {
		return
	}
	ss.detach(c)
	ss.mu.Lock()
	end := ss.clean || s.faults.on(FaultSessionNotKept)
	ss.mu.Unlock()
	if !end {
		return
	}
	s.mu.Lock()
	if s.sessions[ss.id] == ss && !ss.isOnline() {
		s.endSessionLocked(ss)
	}
	s.mu.Unlock()
	if s.faults.on(FaultRetainedDeletedOnSessEnd) {
		s.retained.removeFrom(ss.id)
	}
}

// endSessionLocked discards a session and its subscriptions. Caller
// holds s.mu. Retained messages are not touched (MQTT-3.1.2-7).
func (s *Server) endSessionLocked(ss *session) {
	ss.mu.Lock()
	ss.ended = true
	filters := ss.subs
	ss.subs = map[string]byte{}
	ss.queue, ss.inflight = nil, nil
	ss.mu.Unlock()
	for filter := range filters {
		s.unsubscribeAll(filter, ss)
	}
	if s.sessions[ss.id] == ss {
		delete(s.sessions, ss.id)
	}
}

func (ss *session) isOnline() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.conn != nil
}
