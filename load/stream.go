package load

import "math/bits"

// stream tracks which sequence numbers of one publisher one subscriber
// has received. Numbers below base have all arrived; bit i of seen is
// number base+i. Leading complete words are dropped as they fill, so a
// stream without losses stays a few words long; a stream with losses
// keeps one bit per message from its oldest gap on, which is what makes
// loss, duplicate and reordering counts exact rather than estimated.
type stream struct {
	base   uint64
	seen   []uint64
	max    uint64 // highest number received + 1 (0: none yet)
	unique int64
	total  int64
	dups   int64
	ooo    int64
}

// add records number n and reports whether it was new.
func (s *stream) add(n uint64) (fresh bool) {
	s.total++
	if n < s.base {
		s.dups++
		return false
	}
	off := n - s.base
	w := int(off / 64)
	for w >= len(s.seen) {
		s.seen = append(s.seen, 0)
	}
	bit := uint64(1) << (off % 64)
	if s.seen[w]&bit != 0 {
		s.dups++
		return false
	}
	s.seen[w] |= bit
	s.unique++
	if n+1 < s.max {
		s.ooo++
	}
	s.max = max(s.max, n+1)
	// Drop complete leading words.
	k := 0
	for k < len(s.seen) && s.seen[k] == ^uint64(0) {
		k++
	}
	if k > 0 {
		s.base += uint64(k) * 64
		s.seen = append(s.seen[:0], s.seen[k:]...)
	}
	return true
}

// has reports whether number n has arrived.
func (s *stream) has(n uint64) bool {
	if n < s.base {
		return true
	}
	off := n - s.base
	w := int(off / 64)
	return w < len(s.seen) && s.seen[w]&(uint64(1)<<(off%64)) != 0
}

// countBelow returns how many distinct numbers below n have arrived.
func (s *stream) countBelow(n uint64) int64 {
	if n <= s.base {
		return int64(n)
	}
	c := int64(s.base)
	off := n - s.base
	for w := 0; w < len(s.seen) && uint64(w)*64 < off; w++ {
		word := s.seen[w]
		if rem := off - uint64(w)*64; rem < 64 {
			word &= (uint64(1) << rem) - 1
		}
		c += int64(bits.OnesCount64(word))
	}
	return c
}
