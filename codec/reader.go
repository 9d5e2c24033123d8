package codec

import (
	"errors"
	"fmt"
	"io"
)

// DefaultMaxPacketSize bounds packets a Reader accepts unless told
// otherwise: large enough for any sensible message, small enough that a
// hostile length cannot make a reader allocate hundreds of megabytes.
const DefaultMaxPacketSize = 1 << 20

// Reader reads whole packets from a byte stream into one reused buffer.
// It never consumes bytes past the end of the packet it returns, so the
// underlying reader can be handed on (wrap it in a bufio.Reader to avoid
// a system call per header byte).
type Reader struct {
	r   io.Reader
	buf []byte
	one [1]byte // header bytes are read one at a time into this
	// MaxPacketSize is the largest total packet size accepted; zero
	// means DefaultMaxPacketSize. Larger packets fail with an error
	// wrapping ErrTooLarge before their body is read.
	MaxPacketSize int
}

// NewReader returns a Reader over r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: r, buf: make([]byte, 0, 512)}
}

// Reset makes the Reader read from r, keeping its buffer.
func (rd *Reader) Reset(r io.Reader) { rd.r = r }

// ReadPacket reads the next packet and returns its fixed header and the
// whole packet's bytes (header included). The bytes are valid until the
// next call. At a clean end of stream between packets it returns io.EOF;
// a stream that ends inside a packet gives io.ErrUnexpectedEOF.
func (rd *Reader) ReadPacket() (FixedHeader, []byte, error) {
	b := rd.buf[:0]
	one := rd.one[:]
	for {
		// One byte at a time until the remaining length is complete: a
		// reader that must not read past the packet cannot do better.
		if _, err := io.ReadFull(rd.r, one); err != nil {
			if len(b) > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return FixedHeader{}, nil, err
		}
		b = append(b, one[0])
		h, err := ParseFixedHeader(b)
		if err == ErrIncomplete {
			continue
		}
		if err != nil {
			return h, b, err
		}
		max := rd.MaxPacketSize
		if max <= 0 {
			max = DefaultMaxPacketSize
		}
		if h.PacketLen() > max {
			return h, b, fmt.Errorf("codec: %s of %d bytes exceeds the maximum packet size %d: %w",
				h.Type, h.PacketLen(), max, ErrTooLarge)
		}
		if cap(b) < h.PacketLen() {
			nb := make([]byte, len(b), h.PacketLen())
			copy(nb, b)
			b = nb
		}
		b = b[:h.PacketLen()]
		if _, err := io.ReadFull(rd.r, b[h.HeaderLen:]); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return h, nil, fmt.Errorf("codec: reading %s body: %w", h.Type, err)
		}
		rd.buf = b
		return h, b, nil
	}
}
