package codec

import (
	"bytes"
	"errors"
	flagpkg "flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

var updateCorpus = flagpkg.Bool("update-corpus", false, "rewrite the seed corpus in testdata/fuzz from the fixtures")

// fuzzVersion maps the fuzzer's level byte to a protocol level: 3, 4 and 5
// map to themselves.
func fuzzVersion(level byte) Version { return Version(3 + level%3) }

// FuzzDecode decodes arbitrary bytes at every level, strictly and
// leniently. Nothing panics; a strictly decoded canonical packet
// re-encodes to the same bytes; every decoded packet re-encodes to bytes
// that decode to an equal packet and encode to themselves again.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, level byte, strict bool) {
		v := fuzzVersion(level)
		d := &Decoder{Version: v, Strict: strict}
		p, n, err := d.Decode(data)
		other := &Decoder{Version: v, Strict: !strict}
		op, on, oerr := other.Decode(data)

		if err != nil {
			checkDecodeError(t, data, err, strict)
			var e *Error
			switch {
			case err == ErrIncomplete:
				if oerr != ErrIncomplete {
					t.Fatalf("incomplete in one mode, %v in the other", oerr)
				}
			case strict && errors.As(err, &e) && e.Kind == Malformed:
				// Lenient decoding takes the same path past no violation.
				if !errors.As(oerr, &e) || e.Kind != Malformed {
					t.Fatalf("malformed in one mode, %v in the other", oerr)
				}
			}
			return
		}
		if p == nil || n <= 0 || n > len(data) {
			t.Fatalf("Decode = %v, %d with no error", p, n)
		}
		_ = Format(p, v)
		if strict {
			// What strict decoding accepts, lenient decoding accepts
			// without a violation.
			if oerr != nil || on != n || len(other.Violations) != 0 {
				t.Fatalf("strict ok, lenient: %v, %d, %v", oerr, on, other.Violations)
			}
			if diff := diffPackets(op, p); diff != "" {
				t.Fatalf("strict and lenient packets differ: %s", diff)
			}
		} else {
			if len(d.Violations) > 0 && d.Canonical() {
				t.Fatalf("Canonical() with violations %v", d.Violations)
			}
			for _, e := range d.Violations {
				if e.Kind != Violation {
					t.Fatalf("Violations holds %v", &e)
				}
			}
		}

		ev := encodeVersion(p, v)
		enc, err := p.Append(nil, ev)
		if err != nil {
			t.Fatalf("Append of a decoded packet: %v\n%s", err, Format(p, v))
		}
		if strict && d.Canonical() && !bytes.Equal(enc, data[:n]) {
			t.Fatalf("canonical packet re-encodes differently:\n got % x\nwant % x\n%s", enc, data[:n], Format(p, v))
		}
		if c, ok := p.(*Connect); ok && c.ProtocolLevel == 0 {
			// Level 0 is written as the encoder's level (Connect.Append),
			// which may not match the protocol name; Decode said so.
			if d.Canonical() {
				t.Fatalf("a CONNECT of level 0 is canonical")
			}
			return
		}

		d2 := &Decoder{Version: v, Strict: strict}
		p2, n2, err := d2.Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded packet does not decode: %v\n% x\n%s", err, enc, Format(p, v))
		}
		if n2 != len(enc) {
			t.Fatalf("re-encoded packet decodes to %d of %d bytes", n2, len(enc))
		}
		if !d2.Canonical() && !(!strict && len(d2.Violations) > 0) {
			t.Fatalf("the encoder's own form is not canonical: % x", enc)
		}
		if diff := diffPackets(p2, p); diff != "" {
			t.Fatalf("re-encoded packet decodes differently: %s\n% x\n% x", diff, data[:n], enc)
		}
		enc2, err := p2.Append(nil, encodeVersion(p2, v))
		if err != nil || !bytes.Equal(enc2, enc) {
			t.Fatalf("encoding is not stable:\n% x\n% x (%v)", enc, enc2, err)
		}
	})
}

// checkDecodeError checks that a decoding error is one of the documented
// results.
func checkDecodeError(t *testing.T, data []byte, err error, strict bool) {
	t.Helper()
	if err == ErrIncomplete {
		h, herr := ParseFixedHeader(data)
		if herr != ErrIncomplete && (herr != nil || h.PacketLen() <= len(data)) {
			t.Fatalf("ErrIncomplete for a whole packet (%+v, %v)", h, herr)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is neither ErrIncomplete nor *Error", err, err)
	}
	switch e.Kind {
	case Malformed:
	case Violation:
		if !strict {
			t.Fatalf("lenient decoding returned a violation: %v", e)
		}
	default:
		t.Fatalf("error of kind %d: %v", e.Kind, e)
	}
	_ = e.Error()
}

// FuzzReader reads arbitrary bytes through a Reader one byte at a time.
// Each packet it returns is the next slice of the input, it never reads
// past that packet, and it ends with io.EOF only at a packet boundary.
func FuzzReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		src := bytes.NewReader(data)
		rd := NewReader(iotest.OneByteReader(src))
		rd.MaxPacketSize = 1 << 12
		var d Decoder
		off := 0
		for {
			h, pkt, err := rd.ReadPacket()
			if err != nil {
				var e *Error
				switch {
				case err == io.EOF:
					if off != len(data) {
						t.Fatalf("io.EOF at %d of %d", off, len(data))
					}
				case errors.Is(err, io.ErrUnexpectedEOF):
					if off == len(data) {
						t.Fatalf("io.ErrUnexpectedEOF at the end of the input")
					}
				case errors.Is(err, ErrTooLarge):
					if h.PacketLen() <= rd.MaxPacketSize {
						t.Fatalf("ErrTooLarge for %d bytes", h.PacketLen())
					}
				case errors.As(err, &e) && e.Kind == Malformed:
				default:
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !bytes.Equal(pkt, data[off:off+len(pkt)]) || len(pkt) != h.PacketLen() {
				t.Fatalf("packet at %d: % x, %+v", off, pkt, h)
			}
			off += len(pkt)
			if src.Len() != len(data)-off {
				t.Fatalf("Reader read past the packet: %d left, want %d", src.Len(), len(data)-off)
			}
			// The Decoder agrees on where the packet ends.
			if _, n, err := d.Decode(pkt); err == ErrIncomplete || (err == nil && n != len(pkt)) {
				t.Fatalf("Decode of a whole packet: %d, %v", n, err)
			}
		}
	})
}

// corpusFile renders values in the Go fuzzing corpus format.
func corpusFile(vals ...any) []byte {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch v := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case byte:
			fmt.Fprintf(&b, "byte(%q)\n", v)
		case bool:
			fmt.Fprintf(&b, "bool(%v)\n", v)
		default:
			panic(fmt.Sprintf("corpusFile: %T", v))
		}
	}
	return []byte(b.String())
}

func corpusName(prefix, name string) string {
	return prefix + "-" + strings.NewReplacer("/", "-", ".", "").Replace(name)
}

// seedCorpus returns the seed files of each fuzz target, made from the
// golden and broken fixtures.
func seedCorpus() map[string]map[string][]byte {
	dec := map[string][]byte{}
	rdr := map[string][]byte{}
	for _, g := range goldens() {
		dec[corpusName("golden", g.name)] = corpusFile(g.raw, byte(g.v), true)
		dec[corpusName("golden-lenient", g.name)] = corpusFile(g.raw, byte(g.v), false)
	}
	for _, c := range bads() {
		dec[corpusName("bad", c.name)] = corpusFile(c.raw, byte(c.v), false)
	}
	for _, v := range []Version{V31, V311, V5} {
		all, _ := byLevel(v)
		rdr[corpusName("stream", v.String())] = corpusFile(all)
		rdr[corpusName("stream-cut", v.String())] = corpusFile(all[:len(all)-3])
	}
	for _, c := range bads() {
		if strings.Contains(c.name, "header/") {
			rdr[corpusName("bad", c.name)] = corpusFile(c.raw)
		}
	}
	return map[string]map[string][]byte{"FuzzDecode": dec, "FuzzReader": rdr}
}

// TestSeedCorpus checks that testdata/fuzz holds a seed for every fixture;
// run with -update-corpus to write them:
//
//	go test -run TestSeedCorpus -update-corpus ./codec
func TestSeedCorpus(t *testing.T) {
	for target, files := range seedCorpus() {
		dir := filepath.Join("testdata", "fuzz", target)
		if *updateCorpus {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for name, want := range files {
			path := filepath.Join(dir, name)
			if *updateCorpus {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s is missing or stale; run go test -run TestSeedCorpus -update-corpus", path)
			}
		}
	}
}
