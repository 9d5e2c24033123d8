package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// maxFrame bounds one captured frame. Real captures stay far below (the
// largest loopback frame is about 64 KiB, tcpdump's default snap length
// 256 KiB); a damaged file must not make the reader allocate gigabytes.
const maxFrame = 1 << 20

// frameSource yields captured frames with their link type.
type frameSource interface {
	next() (data []byte, ci gopacket.CaptureInfo, link layers.LinkType, err error)
	// format names the file format for the summary.
	format() string
}

// openCapture picks the pcap or pcapng reader by the file's magic number.
func openCapture(r io.Reader) (frameSource, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("%w: %d bytes", errNotCapture, len(magic))
	}
	switch binary.LittleEndian.Uint32(magic) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("capture: pcap header: %w", err)
		}
		snap := pr.Snaplen()
		// pcapgo allocates up to the snap length for a frame: bound it.
		// Writers that declare a small snap length and write larger frames
		// exist (65535 with 65550-byte loopback frames), so the bound is
		// the same for every file.
		pr.SetSnaplen(maxFrame)
		return &pcapSource{r: pr, snap: snap}, nil
	case 0x0a0d0d0a:
		ng, err := pcapgo.NewNgReader(&ngGuard{r: br}, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			return nil, fmt.Errorf("capture: pcapng header: %w", err)
		}
		return &ngSource{r: ng}, nil
	}
	return nil, fmt.Errorf("%w (magic %x)", errNotCapture, magic)
}

type pcapSource struct {
	r    *pcapgo.Reader
	snap uint32
}

func (s *pcapSource) next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	data, ci, err := s.r.ReadPacketData()
	return data, ci, s.r.LinkType(), err
}

func (s *pcapSource) format() string { return fmt.Sprintf("pcap, snap length %d", s.snap) }

type ngSource struct{ r *pcapgo.NgReader }

func (s *ngSource) next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	data, ci, err := s.r.ReadPacketData()
	link := s.r.LinkType()
	if len(ci.AncillaryData) > 0 {
		if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
			link = lt
		}
	}
	return data, ci, link, err
}

func (s *ngSource) format() string { return "pcapng" }

// ngGuard passes a pcapng stream through whole block by whole block,
// checking each block's length (and an enhanced or obsolete packet block's
// captured length) before the pcapng reader sees it: pcapgo allocates what
// those fields claim, so a damaged or hostile file could otherwise make it
// allocate gigabytes.
type ngGuard struct {
	r     io.Reader
	order binary.ByteOrder
	block []byte // current block, served from off
	off   int
	err   error
}

var errNgBlock = errors.New("capture: pcapng block")

func (g *ngGuard) Read(p []byte) (int, error) {
	if g.off == len(g.block) {
		if g.err != nil {
			return 0, g.err
		}
		if err := g.fill(); err != nil {
			g.err = err
			if len(g.block) == g.off {
				return 0, err
			}
		}
	}
	n := copy(p, g.block[g.off:])
	g.off += n
	return n, nil
}

func (g *ngGuard) fill() error {
	g.block, g.off = g.block[:0], 0
	var hdr [12]byte
	if _, err := io.ReadFull(g.r, hdr[:8]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: file ends inside a block header", errNgBlock)
		}
		return err
	}
	typ := binary.LittleEndian.Uint32(hdr[:4]) // 0x0a0d0d0a reads the same either way
	if typ == 0x0a0d0d0a {
		// A section header: its byte-order magic sets the order of
		// every length until the next section.
		if _, err := io.ReadFull(g.r, hdr[8:12]); err != nil {
			return fmt.Errorf("%w: file ends inside a section header", errNgBlock)
		}
		switch binary.LittleEndian.Uint32(hdr[8:12]) {
		case 0x1a2b3c4d:
			g.order = binary.LittleEndian
		case 0x4d3c2b1a:
			g.order = binary.BigEndian
		default:
			return fmt.Errorf("%w: bad byte-order magic %x", errNgBlock, hdr[8:12])
		}
	}
	if g.order == nil {
		return fmt.Errorf("%w: no section header first", errNgBlock)
	}
	typ = g.order.Uint32(hdr[:4])
	length := g.order.Uint32(hdr[4:8])
	have := 8
	if typ == 0x0a0d0d0a {
		have = 12
	}
	if length < 12 || length%4 != 0 || length > maxFrame+256 || int(length) < have {
		return fmt.Errorf("%w: implausible block length %d", errNgBlock, length)
	}
	if cap(g.block) < int(length) {
		g.block = make([]byte, 0, length)
	}
	g.block = g.block[:length]
	copy(g.block, hdr[:have])
	if _, err := io.ReadFull(g.r, g.block[have:]); err != nil {
		g.block = g.block[:0]
		return fmt.Errorf("%w: file ends inside a block of %d bytes", errNgBlock, length)
	}
	// Enhanced (6) and obsolete (2) packet blocks: the captured length
	// must fit the block (28 bytes of header and 4 of trailing length).
	if (typ == 6 || typ == 2) && length >= 32 {
		if capLen := g.order.Uint32(g.block[20:24]); capLen > length-32 {
			g.block = g.block[:0]
			return fmt.Errorf("%w: captured length %d exceeds its block of %d bytes", errNgBlock, capLen, length)
		}
	}
	return nil
}
