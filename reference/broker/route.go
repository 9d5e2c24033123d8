package broker

import (
	"bytes"
	"strings"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/topics"
)

// target is one session a message goes to, at the granted QoS of the
// subscription that matched (the highest one, when several did).
type target struct {
	sess   *session
	qos    byte
	filter string
}

// route is routeDup without the propagated-DUP fault.
func (s *Server) route(m *message, from string) { s.routeDup(m, from, false) }

// routeDup applies the retained-message rules to m, then hands it to
// every matching subscriber's session (MQTT-4.5.0-1).
func (s *Server) routeDup(m *message, from string, dup bool) {
	f := s.faults
	s.stats.published.Add(1)
	if m.retain {
		switch {
		case len(m.payload) == 0 && !f.on(FaultRetainEmptyNotCleared):
			// A zero-byte retained message clears the topic and is never
			// stored itself (MQTT-3.3.1-10, MQTT-3.3.1-11).
			s.retained.remove(m.topic)
		case f.on(FaultNoRetain):
		case m.qos == 0 && f.on(FaultRetainQoS0NotReplaced) && s.retained.get(m.topic) != nil:
		default:
			// Store it, replacing the previous one (MQTT-3.3.1-5/7).
			s.retained.set(m)
		}
		if len(m.payload) == 0 && f.on(FaultRetainEmptyNotForwarded) {
			return
		}
	} else if f.on(FaultNonRetainedReplaces) && s.retained.get(m.topic) != nil {
		r := *m
		r.retain = true
		s.retained.set(&r)
	}
	// RETAIN=0 messages never touch the store (MQTT-3.3.1-12).
	if dup {
		c := *m
		c.dup = true
		m = &c
	}
	for _, t := range s.match(m.topic) {
		if s.impairDrop() {
			continue
		}
		qos := min(m.qos, t.qos) // MQTT-3.8.4-6
		if f.on(FaultNoQoSDowngrade) {
			qos = m.qos
		}
		// Live forwards carry RETAIN=0 (MQTT-3.3.1-9).
		retain := m.retain && f.on(FaultRetainOnLive)
		mm := m
		if f.on(FaultTopicMismatch) {
			c := *m
			c.topic = t.filter
			mm = &c
		}
		t.sess.deliver(mm, qos, retain)
	}
}

// match finds the sessions subscribed to topic, one target per session
// at the highest QoS of its matching subscriptions (MQTT-3.3.5-1).
func (s *Server) match(topic string) []target {
	f := s.faults
	var out []target
	var index map[*session]int
	add := func(filter string, e subEntry) {
		if f.on(FaultResubscribeDuplicates) {
			out = append(out, target{e.sess, e.qos, filter})
			return
		}
		i := -1
		if index != nil {
			if j, ok := index[e.sess]; ok {
				i = j
			}
		} else {
			for j := range out {
				if out[j].sess == e.sess {
					i = j
					break
				}
			}
		}
		if i < 0 {
			out = append(out, target{e.sess, e.qos, filter})
			if index == nil && len(out) > 16 {
				index = make(map[*session]int, 2*len(out))
				for j := range out {
					index[out[j].sess] = j
				}
			} else if index != nil {
				index[e.sess] = len(out) - 1
			}
			return
		}
		if f.on(FaultOverlapMinQoS) {
			out[i].qos = min(out[i].qos, e.qos)
		} else if e.qos > out[i].qos {
			out[i].qos = e.qos
		}
	}
	if f.on(FaultDollarWildcard) || f.on(FaultTopicCaseInsensitive) {
		// Faulty matching rules cannot use the trie: scan every session.
		s.mu.Lock()
		sessions := make([]*session, 0, len(s.sessions))
		for _, ss := range s.sessions {
			sessions = append(sessions, ss)
		}
		s.mu.Unlock()
		for _, ss := range sessions {
			ss.mu.Lock()
			for filter, q := range ss.subs {
				if s.matcher()([]byte(filter), []byte(topic)) {
					add(filter, subEntry{ss, q})
				}
			}
			ss.mu.Unlock()
		}
		return out
	}
	s.subs.Match([]byte(topic), func(filter, _ string, e subEntry) { add(filter, e) })
	return out
}

// matcher returns the topic matching function, faulty or not.
func (s *Server) matcher() func(filter, name []byte) bool {
	f := s.faults
	switch {
	case f.on(FaultDollarWildcard):
		return func(filter, name []byte) bool {
			if len(name) > 0 && name[0] == '$' && len(filter) > 0 && (filter[0] == '#' || filter[0] == '+') {
				// Pretend the '$' is an ordinary character.
				return topics.Match(filter, append([]byte("x"), name[1:]...))
			}
			return topics.Match(filter, name)
		}
	case f.on(FaultTopicCaseInsensitive):
		return func(filter, name []byte) bool {
			return topics.Match(bytes.ToLower(filter), bytes.ToLower(name))
		}
	}
	return topics.Match
}

// subscribe adds or replaces the session's subscription to filter
// (MQTT-3.8.4-3) and reports whether it replaced one.
func (s *Server) subscribe(ss *session, filter string, qos byte) bool {
	ss.mu.Lock()
	if ss.ended {
		ss.mu.Unlock()
		return false
	}
	_, existed := ss.subs[filter]
	ss.subs[filter] = qos
	key := ss.id
	if existed && s.faults.on(FaultResubscribeDuplicates) {
		ss.dupSeq++
		key = ss.id + "\x00dup" + string(rune('a'+ss.dupSeq%26))
	}
	ss.mu.Unlock()
	if topics.ValidateFilter([]byte(filter)) == nil {
		s.subs.Subscribe(filter, key, subEntry{ss, qos})
	}
	return existed
}

// unsubscribe removes the session's subscription to exactly filter
// (MQTT-3.10.4-1) and reports whether there was one.
func (s *Server) unsubscribe(ss *session, filter string) bool {
	ss.mu.Lock()
	_, ok := ss.subs[filter]
	delete(ss.subs, filter)
	ss.mu.Unlock()
	if ok {
		s.unsubscribeAll(filter, ss)
	}
	return ok
}

// unsubscribeAll removes every trie entry of ss for filter, including the
// extra ones the resubscribe-duplicates fault adds.
func (s *Server) unsubscribeAll(filter string, ss *session) {
	if topics.ValidateFilter([]byte(filter)) != nil {
		return
	}
	s.subs.Unsubscribe(filter, ss.id)
	if s.faults.on(FaultResubscribeDuplicates) {
		for i := 0; i < 26; i++ {
			s.subs.Unsubscribe(filter, ss.id+"\x00dup"+string(rune('a'+i)))
		}
	}
}

// handleSubscribe grants each filter (MQTT-3.8.4-4), answers with one
// SUBACK listing a code per filter in order (MQTT-3.8.4-1, -5,
// MQTT-3.9.3-1), then sends the retained messages that match
// (MQTT-3.3.1-6) with RETAIN=1 (MQTT-3.3.1-8).
func (c *conn) handleSubscribe(p *codec.Subscribe) {
	s, f := c.srv, c.srv.faults
	type grant struct {
		filter   string
		qos      byte
		replaced bool
	}
	codes := make([]byte, 0, len(p.Filters))
	grants := make([]grant, 0, len(p.Filters))
	for _, sub := range p.Filters {
		filter := string(sub.Filter)
		if !s.maySubscribe(c.username, filter) {
			codes = append(codes, codec.SubackFailure)
			continue
		}
		q := min(sub.QoS(), s.opts.MaxQoS)
		replaced := s.subscribe(c.sess, filter, q)
		codes = append(codes, q)
		grants = append(grants, grant{filter, q, replaced})
	}
	if f.on(FaultSubackBadCode) {
		for i, q := range codes {
			if q == 2 {
				codes[i] = 3
			}
		}
	}
	if f.on(FaultSubackReordered) {
		for i, j := 0, len(codes)-1; i < j; i, j = i+1, j-1 {
			codes[i], codes[j] = codes[j], codes[i]
		}
	}
	if f.on(FaultSubackSingleCode) && len(codes) > 1 {
		codes = codes[:1]
	}
	id := p.PacketID // MQTT-3.8.4-2
	if f.on(FaultSubackWrongID) {
		id++
	}
	c.queue(&codec.Suback{PacketID: id, ReturnCodes: codes})
	for _, g := range grants {
		if g.replaced && f.on(FaultNoRetainedOnResubscribe) {
			continue
		}
		for _, m := range s.retained.matching(g.filter, s.matcher()) {
			c.sess.deliver(m, min(m.qos, g.qos), !f.on(FaultRetainFlagLost))
		}
	}
}

// handleUnsubscribe removes each filter (MQTT-3.10.4-6) and always
// answers with an UNSUBACK carrying the same packet identifier
// (MQTT-3.10.4-4, MQTT-3.10.4-5).
func (c *conn) handleUnsubscribe(p *codec.Unsubscribe) {
	s, f := c.srv, c.srv.faults
	any := false
	for i, fb := range p.Filters {
		if i > 0 && f.on(FaultUnsubackFirstOnly) {
			break
		}
		filter := string(fb)
		removed := false
		if !f.on(FaultUnsubscribeIgnored) {
			removed = s.unsubscribe(c.sess, filter)
		}
		if f.on(FaultUnsubscribeNotLiteral) {
			c.sess.mu.Lock()
			var also []string
			for other := range c.sess.subs {
				if !topics.HasWildcard([]byte(other)) && topics.Match(fb, []byte(other)) {
					also = append(also, other)
				}
			}
			c.sess.mu.Unlock()
			for _, o := range also {
				s.unsubscribe(c.sess, o)
			}
		}
		if removed && f.on(FaultUnsubscribeDropsInflight) {
			c.sess.mu.Lock()
			kept := c.sess.inflight[:0]
			for _, fl := range c.sess.inflight {
				if !topics.Match(fb, []byte(fl.msg.topic)) {
					kept = append(kept, fl)
				}
			}
			c.sess.inflight = kept
			c.sess.mu.Unlock()
		}
		any = any || removed
	}
	if !any && f.on(FaultNoUnsubackWhenNothing) {
		return
	}
	id := p.PacketID
	if f.on(FaultUnsubackWrongID) {
		id++
	}
	c.queue(&codec.Unsuback{PacketID: id})
}

// isSysTopic reports whether a topic belongs to the broker's $SYS tree,
// which clients may read but not write.
func isSysTopic(t []byte) bool { return strings.HasPrefix(string(t), "$SYS/") || string(t) == "$SYS" }
