package codec

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestCutEveryFixture decodes every prefix of every fixture: each one is
// ErrIncomplete, and nothing panics (nats parser_test style).
func TestCutEveryFixture(t *testing.T) {
	for _, g := range goldens() {
		for _, strict := range []bool{true, false} {
			d := &Decoder{Version: g.v, Strict: strict}
			for i := 0; i < len(g.raw); i++ {
				p, n, err := d.Decode(g.raw[:i])
				if err != ErrIncomplete || p != nil || n != 0 {
					t.Fatalf("%s cut at %d/%d (strict=%v): %v, %d, %v; want ErrIncomplete", g.name, i, len(g.raw), strict, p, n, err)
				}
			}
		}
	}
	// Broken fixtures must not panic either when cut; while the header
	// says more is coming, the answer is ErrIncomplete.
	for _, c := range bads() {
		d := &Decoder{Version: c.v}
		for i := 0; i < len(c.raw); i++ {
			_, _, err := d.Decode(c.raw[:i])
			h, herr := ParseFixedHeader(c.raw[:i])
			if (herr == ErrIncomplete || herr == nil && h.PacketLen() > i) && err != ErrIncomplete {
				t.Errorf("%s cut at %d: %v, want ErrIncomplete", c.name, i, err)
			}
		}
	}
}

// TestDecodeStopsAtPacketEnd appends bytes after each fixture: Decode
// reports the fixture's own length and ignores the rest.
func TestDecodeStopsAtPacketEnd(t *testing.T) {
	for _, g := range goldens() {
		d := &Decoder{Version: g.v, Strict: true}
		buf := cat(g.raw, []byte{0xc0, 0x00, 0xff})
		p, n, err := d.Decode(buf)
		if err != nil || n != len(g.raw) {
			t.Fatalf("%s: Decode = %d, %v; want %d bytes", g.name, n, err, len(g.raw))
		}
		if diff := diffPackets(p, g.want); diff != "" {
			t.Errorf("%s: %s", g.name, diff)
		}
	}
}

func TestDecoderMaxPacketSize(t *testing.T) {
	d := &Decoder{MaxPacketSize: 5}
	raw := []byte{0x30, 4, 0, 1, 't', 'x'} // 6 bytes
	_, _, err := d.Decode(raw[:2])         // the header alone is enough to refuse it
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Decode = %v, want ErrTooLarge", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Kind != Malformed {
		t.Errorf("error %v is not a Malformed *Error", err)
	}
	d.MaxPacketSize = 6
	if _, _, err := d.Decode(raw); err != nil {
		t.Errorf("a packet of exactly MaxPacketSize: %v", err)
	}
}

// byLevel concatenates the golden fixtures of level v.
func byLevel(v Version) (all []byte, gs []golden) {
	for _, g := range goldens() {
		if g.v == v {
			all = append(all, g.raw...)
			gs = append(gs, g)
		}
	}
	return all, gs
}

// TestReaderOneByte feeds every level's fixtures through a Reader that
// gets one byte per Read: it yields the same packets and never reads
// past the one it returns.
func TestReaderOneByte(t *testing.T) {
	for _, v := range []Version{V31, V311, V5} {
		all, gs := byLevel(v)
		src := bytes.NewReader(all)
		rd := NewReader(iotest.OneByteReader(src))
		d := &Decoder{Version: v, Strict: true}
		left := len(all)
		for _, g := range gs {
			h, pkt, err := rd.ReadPacket()
			if err != nil {
				t.Fatalf("%s: ReadPacket: %v", g.name, err)
			}
			left -= len(g.raw)
			if src.Len() != left {
				t.Fatalf("%s: underlying reader has %d bytes left, want %d (read past the packet)", g.name, src.Len(), left)
			}
			if !bytes.Equal(pkt, g.raw) || h.PacketLen() != len(g.raw) || h.Type != g.want.Type() {
				t.Fatalf("%s: ReadPacket = %+v % x, want % x", g.name, h, pkt, g.raw)
			}
			p, err := d.DecodeBody(h, pkt[h.HeaderLen:])
			if err != nil {
				t.Fatalf("%s: DecodeBody: %v", g.name, err)
			}
			if diff := diffPackets(p, g.want); diff != "" {
				t.Errorf("%s: %s", g.name, diff)
			}
		}
		if _, _, err := rd.ReadPacket(); err != io.EOF {
			t.Errorf("level %s: after the last packet: %v, want io.EOF", v, err)
		}
	}
}

// TestReaderCutStream cuts the concatenated fixtures at every offset: a
// cut between packets ends in io.EOF, one inside a packet in
// io.ErrUnexpectedEOF.
func TestReaderCutStream(t *testing.T) {
	all, gs := byLevel(V5)
	ends := map[int]bool{0: true}
	off := 0
	for _, g := range gs {
		off += len(g.raw)
		ends[off] = true
	}
	for cut := 0; cut <= len(all); cut++ {
		rd := NewReader(iotest.OneByteReader(bytes.NewReader(all[:cut])))
		var err error
		for err == nil {
			_, _, err = rd.ReadPacket()
		}
		if ends[cut] {
			if err != io.EOF {
				t.Errorf("cut at %d (a packet boundary): %v, want io.EOF", cut, err)
			}
		} else if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d (inside a packet): %v, want io.ErrUnexpectedEOF", cut, err)
		}
	}
}

func TestReaderMaxPacketSize(t *testing.T) {
	raw := cat([]byte{0x30, 0xcb, 0x01, 0, 1, 't'}, payload200) // 206 bytes
	src := bytes.NewReader(cat(raw, []byte{0xc0, 0}))
	rd := NewReader(src)
	rd.MaxPacketSize = 100
	_, _, err := rd.ReadPacket()
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadPacket = %v, want ErrTooLarge", err)
	}
	// Only the fixed header was consumed.
	if got, want := src.Len(), len(raw)+2-3; got != want {
		t.Errorf("underlying reader has %d bytes left, want %d", got, want)
	}

	// The default refuses a hostile length before allocating for it.
	rd = NewReader(bytes.NewReader([]byte{0x30, 0xff, 0xff, 0xff, 0x7f}))
	if _, _, err := rd.ReadPacket(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("268 MB packet: %v, want ErrTooLarge", err)
	}

	// A fifth length byte is malformed.
	rd = NewReader(bytes.NewReader([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}))
	var e *Error
	if _, _, err := rd.ReadPacket(); !errors.As(err, &e) || e.Kind != Malformed {
		t.Errorf("five-byte remaining length: %v, want a Malformed *Error", err)
	}

	// Exactly at the limit is fine, and a larger packet than the buffer
	// grows it.
	rd = NewReader(bytes.NewReader(raw))
	rd.MaxPacketSize = len(raw)
	if _, pkt, err := rd.ReadPacket(); err != nil || !bytes.Equal(pkt, raw) {
		t.Errorf("packet at the limit: % x, %v", pkt, err)
	}
}

func TestReaderReset(t *testing.T) {
	rd := NewReader(strings.NewReader("\xc0\x00"))
	if _, _, err := rd.ReadPacket(); err != nil {
		t.Fatal(err)
	}
	rd.Reset(strings.NewReader("\xd0\x00"))
	h, _, err := rd.ReadPacket()
	if err != nil || h.Type != PINGRESP {
		t.Errorf("after Reset: %+v, %v", h, err)
	}
	// A zero Reader works too.
	var zr Reader
	zr.Reset(strings.NewReader("\xe0\x00"))
	if h, _, err := zr.ReadPacket(); err != nil || h.Type != DISCONNECT {
		t.Errorf("zero Reader: %+v, %v", h, err)
	}
}

// TestReaderErrors passes on a read error other than EOF.
func TestReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	rd := NewReader(iotest.ErrReader(boom))
	if _, _, err := rd.ReadPacket(); !errors.Is(err, boom) {
		t.Errorf("ReadPacket = %v, want boom", err)
	}
	rd = NewReader(io.MultiReader(strings.NewReader("\x30\x05\x00"), iotest.ErrReader(boom)))
	if _, _, err := rd.ReadPacket(); !errors.Is(err, boom) {
		t.Errorf("ReadPacket in a body = %v, want boom", err)
	}
}
