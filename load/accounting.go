package load

import (
	"cmp"
	"slices"

	"github.com/mqtt-check/mqtt-check/reports"
)

// maxTopics bounds the per-topic breakdown in the document; beyond it
// only topics with something wrong are listed.
const maxTopics = 1000

type topicKey struct {
	topic string
	qos   byte
}

// accounting computes the exact delivery counters once every client is
// closed (the streams are no longer written).
func (e *engine) accounting() (total reports.LoadCounters, byQoS []reports.LoadQoSCounters, byTopic []reports.LoadTopicCounters, omitted int) {
	per := map[topicKey]*reports.LoadCounters{}
	get := func(p *publisher) *reports.LoadCounters {
		k := topicKey{p.plan.topic, p.plan.qos}
		c := per[k]
		if c == nil {
			c = &reports.LoadCounters{}
			per[k] = c
		}
		return c
	}
	// What each publisher's messages are owed: QoS 0, every message
	// written; QoS 1/2, every message written and not failed.
	failedSets := make([][]uint64, len(e.pubs))
	for i, p := range e.pubs {
		c := get(p)
		sent := p.sent.Load()
		c.Sent += sent
		c.Unsent += p.unsent
		if p.plan.qos > 0 {
			p.mu.Lock()
			failedSets[i] = slices.Clone(p.failed)
			p.mu.Unlock()
			c.Acked += p.acked.Load()
			c.Failed += int64(len(failedSets[i]))
		}
	}
	owed := func(i int) int64 {
		return e.pubs[i].sent.Load() - int64(len(failedSets[i]))
	}
	var foreign reports.LoadCounters
	for _, s := range e.subs {
		expect := map[uint32]int{}
		for _, pi := range s.plan.pubs {
			expect[e.pubs[pi].plan.id] = pi
		}
		for _, pi := range s.plan.pubs {
			if _, ok := s.streams[e.pubs[pi].plan.id]; !ok {
				// Owed, and nothing arrived.
				c := get(e.pubs[pi])
				c.Expected += owed(pi)
				c.Lost += owed(pi)
			}
		}
		for _, id := range sortedKeys(s.streams) {
			st := s.streams[id]
			pi := e.pubByID[id]
			c := get(e.pubs[pi])
			c.Received += st.total
			c.Duplicated += st.dups
			c.OutOfOrder += st.ooo
			if _, ok := expect[id]; !ok {
				c.Unexpected += st.unique
				continue
			}
			var extra int64 // failed messages that arrived anyway
			for _, n := range failedSets[pi] {
				if st.has(n) {
					extra++
				}
			}
			o := owed(pi)
			c.Expected += o
			c.Lost += o - (st.unique - extra)
			c.Unexpected += extra
		}
		foreign.Received += s.foreign
		foreign.Unexpected += s.foreign
	}
	if e.cfg.Scenario == RetainedStorm {
		// Retained messages of different topics come in no defined order.
		for _, c := range per {
			c.OutOfOrder = 0
		}
	}
	qos := map[byte]*reports.LoadCounters{}
	keys := make([]topicKey, 0, len(per))
	for k, c := range per {
		keys = append(keys, k)
		total.Add(*c)
		if qos[k.qos] == nil {
			qos[k.qos] = &reports.LoadCounters{}
		}
		qos[k.qos].Add(*c)
	}
	total.Add(foreign)
	for q := byte(0); q <= 2; q++ {
		if c := qos[q]; c != nil {
			byQoS = append(byQoS, reports.LoadQoSCounters{QoS: int(q), LoadCounters: *c})
		}
	}
	slices.SortFunc(keys, func(a, b topicKey) int {
		return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.qos, b.qos))
	})
	for _, k := range keys {
		c := per[k]
		bad := c.Lost+c.Duplicated+c.OutOfOrder+c.Unexpected+c.Failed+c.Unsent > 0
		if len(keys) > maxTopics && !bad {
			omitted++
			continue
		}
		if len(byTopic) >= maxTopics {
			omitted++
			continue
		}
		byTopic = append(byTopic, reports.LoadTopicCounters{Topic: k.topic, QoS: int(k.qos), LoadCounters: *c})
	}
	return total, byQoS, byTopic, omitted
}
