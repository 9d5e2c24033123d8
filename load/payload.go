package load

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
)

// HeaderSize is the size of the header at the start of every payload the
// harness publishes:
//
//	offset size field
//	0      2    magic "mc"
//	2      1    header version (1)
//	3      1    QoS the message was published with
//	4      4    run tag (from the run ID), so another run's messages are told apart
//	8      4    publisher id (global client index)
//	12     8    sequence number, per publisher, from 0
//	20     8    intended send time, ns since the run's clock base
//	28     8    actual send time, ns since the run's clock base
//
// All integers are big-endian. The rest of the payload is padding.
const HeaderSize = 36

const headerVersion = 1

// header is the decoded payload header.
type header struct {
	qos      byte
	run      uint32
	pub      uint32
	seq      uint64
	intended int64
	sent     int64
}

// put writes h into b, which has at least HeaderSize bytes.
func (h *header) put(b []byte) {
	b[0], b[1], b[2], b[3] = 'm', 'c', headerVersion, h.qos
	binary.BigEndian.PutUint32(b[4:], h.run)
	binary.BigEndian.PutUint32(b[8:], h.pub)
	binary.BigEndian.PutUint64(b[12:], h.seq)
	binary.BigEndian.PutUint64(b[20:], uint64(h.intended))
	binary.BigEndian.PutUint64(b[28:], uint64(h.sent))
}

// parse reads a header; ok is false when b does not start with one.
func (h *header) parse(b []byte) (ok bool) {
	if len(b) < HeaderSize || b[0] != 'm' || b[1] != 'c' || b[2] != headerVersion {
		return false
	}
	h.qos = b[3]
	h.run = binary.BigEndian.Uint32(b[4:])
	h.pub = binary.BigEndian.Uint32(b[8:])
	h.seq = binary.BigEndian.Uint64(b[12:])
	h.intended = int64(binary.BigEndian.Uint64(b[20:]))
	h.sent = int64(binary.BigEndian.Uint64(b[28:]))
	return true
}

// newRunID returns 8 random hex digits.
func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// runTag is the 32-bit FNV-1a hash of the run ID and shard, carried in
// every header.
func runTag(runID string, shard int) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(runID); i++ {
		h ^= uint32(runID[i])
		h *= 16777619
	}
	h ^= uint32(shard)
	h *= 16777619
	return h
}
