package topics

import "fmt"

// NodeCount returns the number of nodes below the root, so tests can check
// that Unsubscribe prunes the trie back to nothing.
func (t *Trie[V]) NodeCount() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.root.nodes() - 1
}

func (n *node[V]) nodes() int {
	c := 1
	for _, ch := range n.children {
		c += ch.nodes()
	}
	if n.plus != nil {
		c += n.plus.nodes()
	}
	if n.hash != nil {
		c += n.hash.nodes()
	}
	return c
}

// CheckInvariants verifies the trie's internal structure: parent links,
// no empty non-root nodes, filters matching node paths, consistent key
// indexes and a correct subscription count.
func (t *Trie[V]) CheckInvariants() error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.root.parent != nil {
		return fmt.Errorf("root has a parent")
	}
	total, err := t.root.check("", true)
	if err != nil {
		return err
	}
	if total != t.count {
		return fmt.Errorf("count = %d, but %d subscriptions stored", t.count, total)
	}
	return nil
}

func (n *node[V]) check(path string, root bool) (int, error) {
	if !root && n.empty() {
		return 0, fmt.Errorf("node %q is empty but not pruned", path)
	}
	if len(n.subs) > 0 && n.filter != path {
		return 0, fmt.Errorf("node %q stores filter %q", path, n.filter)
	}
	if len(n.subs) == 0 && n.filter != "" {
		return 0, fmt.Errorf("node %q has no subscribers but keeps filter %q", path, n.filter)
	}
	if n.children != nil && len(n.children) == 0 {
		return 0, fmt.Errorf("node %q keeps an empty children map", path)
	}
	if n.index != nil {
		if len(n.index) != len(n.subs) {
			return 0, fmt.Errorf("node %q: index has %d keys, subs has %d", path, len(n.index), len(n.subs))
		}
		for k, i := range n.index {
			if n.subs[i].key != k {
				return 0, fmt.Errorf("node %q: index[%q] = %d points at %q", path, k, i, n.subs[i].key)
			}
		}
	}
	seen := map[string]bool{}
	for _, e := range n.subs {
		if seen[e.key] {
			return 0, fmt.Errorf("node %q: duplicate key %q", path, e.key)
		}
		seen[e.key] = true
	}
	if n.hash != nil && (n.hash.plus != nil || n.hash.hash != nil || n.hash.children != nil) {
		return 0, fmt.Errorf("node %q: '#' node has children", path)
	}
	total := len(n.subs)
	visit := func(level string, c *node[V]) error {
		if c.parent != n {
			return fmt.Errorf("node %q: child %q has wrong parent", path, level)
		}
		if c.level != level {
			return fmt.Errorf("node %q: child stored as %q has level %q", path, level, c.level)
		}
		p := level
		if !root {
			p = path + "/" + level
		}
		k, err := c.check(p, false)
		total += k
		return err
	}
	for level, c := range n.children {
		if level == "+" || level == "#" {
			return 0, fmt.Errorf("node %q: wildcard %q stored as literal child", path, level)
		}
		if err := visit(level, c); err != nil {
			return 0, err
		}
	}
	if n.plus != nil {
		if err := visit("+", n.plus); err != nil {
			return 0, err
		}
	}
	if n.hash != nil {
		if err := visit("#", n.hash); err != nil {
			return 0, err
		}
	}
	return total, nil
}
