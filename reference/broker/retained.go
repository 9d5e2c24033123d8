package broker

import (
	"sync"

	"github.com/mqtt-check/mqtt-check/reference/topics"
)

// retainedStore holds the last retained message per topic name
// (MQTT-3.3.1-5). Retained messages outlive sessions (MQTT-3.1.2-7).
type retainedStore struct {
	mu sync.RWMutex
	m  map[string]*message
}

func (r *retainedStore) set(m *message) {
	r.mu.Lock()
	r.m[m.topic] = m
	r.mu.Unlock()
}

func (r *retainedStore) get(topic string) *message {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.m[topic]
}

func (r *retainedStore) remove(topic string) {
	r.mu.Lock()
	delete(r.m, topic)
	r.mu.Unlock()
}

func (r *retainedStore) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.m)
}

// removeFrom deletes the retained messages published by client id (only
// the retained-deleted-on-session-end fault does this).
func (r *retainedStore) removeFrom(id string) {
	r.mu.Lock()
	for t, m := range r.m {
		if m.from == id {
			delete(r.m, t)
		}
	}
	r.mu.Unlock()
}

// matching returns the retained messages whose topic matches filter,
// using match (topics.Match, or a faulty matcher).
func (r *retainedStore) matching(filter string, match func(filter, name []byte) bool) []*message {
	if match == nil {
		match = topics.Match
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []*message
	for t, m := range r.m {
		if match([]byte(filter), []byte(t)) {
			out = append(out, m)
		}
	}
	return out
}
