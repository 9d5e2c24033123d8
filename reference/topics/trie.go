package topics

import (
	"bytes"
	"strings"
	"sync"
)

// Trie is a set of subscriptions, each a (topic filter, key) pair carrying
// a value of type V, indexed so that all subscriptions matching a topic
// name can be found without scanning every filter.
//
// The key identifies the subscriber, normally the client identifier. MQTT
// allows one subscription per client per filter (MQTT-3.8.4-3), so a
// second Subscribe with the same filter and key replaces the value (for
// example the granted QoS) rather than adding a duplicate.
//
// Filters are stored one level per node. '+' and '#' levels live in
// dedicated child slots rather than in the literal-child map, so that a
// published name level that happens to be "+" or "#" can never be mistaken
// for a wildcard and the matcher never has to test for them.
//
// The zero value is an empty trie ready to use. A Trie is safe for
// concurrent use: Match runs under a read lock, so publishes proceed in
// parallel, while Subscribe and Unsubscribe take the write lock. A Trie
// must not be copied after first use.
type Trie[V any] struct {
	mu    sync.RWMutex
	root  node[V]
	count int
}

// node is one filter level. The path from the root spells the filter, so
// all subscriptions stored at a node share the same filter string.
type node[V any] struct {
	parent *node[V]
	// level is this node's filter level, used to unlink the node from its
	// parent when pruning.
	level string
	// filter is the full filter ending at this node, kept so Match can
	// hand it to the callback without rebuilding it from the path.
	filter   string
	children map[string]*node[V] // literal levels; nil until needed
	plus     *node[V]            // "+" level
	hash     *node[V]            // "#" level; never has children
	subs     []entry[V]
	// index maps key to its position in subs. Most filters have a single
	// subscriber, so it is only built once subs is long enough for a
	// linear scan to hurt (think 10k clients subscribed to "#").
	index map[string]int
}

type entry[V any] struct {
	key string
	v   V
}

// indexThreshold is the number of subscribers per filter above which a
// node keeps a key index instead of scanning linearly.
const indexThreshold = 8

// Subscribe adds the subscription (filter, key) with value v, or replaces
// the value if that pair is already present (MQTT-3.8.4-3), in which case
// it reports replaced=true.
//
// filter is stored literally; MQTT 5.0 brokers should pass the inner
// filter returned by ParseShared, not "$share/...", and encode the share
// group in key or v as they see fit.
//
// Subscribe panics with an *Error if filter is not a valid topic filter
// (see ValidateFilter). Accepting it would create a subscription whose
// matching behaviour the specification does not define, and because the
// broker must reject such filters in SUBSCRIBE anyway, reaching this point
// with one is a programming error.
func (t *Trie[V]) Subscribe(filter string, key string, v V) (replaced bool) {
	if err := ValidateFilter([]byte(filter)); err != nil {
		panic(err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()

	n := &t.root
	for level := range strings.SplitSeq(filter, "/") {
		c := n.child(level)
		if c == nil {
			c = n.addChild(level)
		}
		n = c
	}
	if i := n.find(key); i >= 0 {
		n.subs[i].v = v
		return true
	}
	n.filter = filter
	n.subs = append(n.subs, entry[V]{key: key, v: v})
	if n.index != nil {
		n.index[key] = len(n.subs) - 1
	} else if len(n.subs) > indexThreshold {
		n.index = make(map[string]int, len(n.subs))
		for i, e := range n.subs {
			n.index[e.key] = i
		}
	}
	t.count++
	return false
}

// Unsubscribe removes the subscription (filter, key) and reports whether
// it existed. As MQTT-3.10.4-1 requires, filters are compared literally,
// character by character: unsubscribing "a/+" does not remove "a/b" and
// vice versa. An invalid filter simply matches nothing.
//
// Nodes left without subscriptions or children are pruned, so that a
// broker whose clients subscribe to ever-new topics (e.g. per-request
// reply topics) does not grow without bound.
func (t *Trie[V]) Unsubscribe(filter string, key string) (removed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()

	n := &t.root
	for level := range strings.SplitSeq(filter, "/") {
		if n = n.child(level); n == nil {
			return false
		}
	}
	i := n.find(key)
	if i < 0 {
		return false
	}
	// Swap-remove keeps removal O(1); subscriber order carries no meaning.
	last := len(n.subs) - 1
	if i != last {
		n.subs[i] = n.subs[last]
		if n.index != nil {
			n.index[n.subs[i].key] = i
		}
	}
	n.subs[last] = entry[V]{} // release key and value to the GC
	n.subs = n.subs[:last]
	if n.index != nil {
		delete(n.index, key)
		// Drop the index with some hysteresis so that a filter hovering
		// around the threshold does not rebuild it on every call.
		if len(n.subs) <= indexThreshold/2 {
			n.index = nil
		}
	}
	if len(n.subs) == 0 {
		n.subs = nil
		n.filter = ""
	}
	t.count--

	for n.parent != nil && n.empty() {
		p := n.parent
		p.removeChild(n)
		n = p
	}
	return true
}

// Match calls fn once for every subscription whose filter matches the
// topic name, passing the filter, the key and the value. A client with
// several overlapping subscriptions is reported once per filter; merging
// them (e.g. taking the maximum QoS) is the broker's job.
//
// Matching follows the same rules as the package-level Match function,
// including MQTT-4.7.2-1: filters beginning with a wildcard do not match
// names beginning with '$'. name is not validated.
//
// fn runs while the trie's read lock is held, so it must not call back
// into the trie: Subscribe or Unsubscribe would deadlock, and so can a
// nested Match if a writer is waiting. fn should be quick, since it delays
// writers. The order of calls is unspecified.
//
// Match does not allocate, which matters because it runs for every
// PUBLISH the broker receives.
func (t *Trie[V]) Match(name []byte, fn func(filter string, key string, v V)) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	dollar := len(name) > 0 && name[0] == '$'
	t.root.match(name, 0, !dollar, fn)
}

// Len returns the number of (filter, key) subscriptions in the trie.
func (t *Trie[V]) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.count
}

// match matches the name level starting at name[start:] against n's
// children. wild is false only at the root for '$' names, which is how
// MQTT-4.7.2-1 is enforced without ever looking at the filter strings.
func (n *node[V]) match(name []byte, start int, wild bool, fn func(string, string, V)) {
	end := bytes.IndexByte(name[start:], '/')
	last := end < 0
	if last {
		end = len(name)
	} else {
		end += start
	}
	if wild {
		if n.hash != nil {
			n.hash.emit(fn)
		}
		if n.plus != nil {
			n.plus.descend(name, end, last, fn)
		}
	}
	if len(n.children) > 0 {
		// The string conversion in a map index does not allocate.
		if c := n.children[string(name[start:end])]; c != nil {
			c.descend(name, end, last, fn)
		}
	}
}

// descend continues matching below n, which matched the name level ending
// at end.
func (n *node[V]) descend(name []byte, end int, last bool, fn func(string, string, V)) {
	if !last {
		n.match(name, end+1, true, fn)
		return
	}
	n.emit(fn)
	// "x/#" matches "x" as well: '#' includes the parent level.
	if n.hash != nil {
		n.hash.emit(fn)
	}
}

func (n *node[V]) emit(fn func(string, string, V)) {
	for i := range n.subs {
		e := &n.subs[i]
		fn(n.filter, e.key, e.v)
	}
}

func (n *node[V]) child(level string) *node[V] {
	switch level {
	case "+":
		return n.plus
	case "#":
		return n.hash
	}
	return n.children[level]
}

func (n *node[V]) addChild(level string) *node[V] {
	c := &node[V]{parent: n, level: level}
	switch level {
	case "+":
		n.plus = c
	case "#":
		n.hash = c
	default:
		if n.children == nil {
			n.children = make(map[string]*node[V])
		}
		n.children[level] = c
	}
	return c
}

func (n *node[V]) removeChild(c *node[V]) {
	switch c.level {
	case "+":
		n.plus = nil
	case "#":
		n.hash = nil
	default:
		delete(n.children, c.level)
		if len(n.children) == 0 {
			// A map never shrinks its buckets; dropping it is the only
			// way to give the memory back.
			n.children = nil
		}
	}
	c.parent = nil
}

func (n *node[V]) empty() bool {
	return len(n.subs) == 0 && len(n.children) == 0 && n.plus == nil && n.hash == nil
}

// find returns the position of key in n.subs, or -1.
func (n *node[V]) find(key string) int {
	if n.index != nil {
		if i, ok := n.index[key]; ok {
			return i
		}
		return -1
	}
	for i := range n.subs {
		if n.subs[i].key == key {
			return i
		}
	}
	return -1
}
