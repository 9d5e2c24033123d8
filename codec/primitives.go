package codec

import (
	"encoding/binary"
	"unicode/utf8"
)

// AppendVarInt appends x as an MQTT variable byte integer (1 to 4 bytes).
// Values above MaxRemainingLength cannot be encoded; callers check first.
func AppendVarInt(dst []byte, x uint32) []byte {
	for {
		b := byte(x & 0x7f)
		x >>= 7
		if x == 0 {
			return append(dst, b)
		}
		dst = append(dst, b|0x80)
	}
}

// VarIntLen is the number of bytes AppendVarInt writes for x.
func VarIntLen(x uint32) int {
	switch {
	case x < 1<<7:
		return 1
	case x < 1<<14:
		return 2
	case x < 1<<21:
		return 3
	}
	return 4
}

// varint results besides a value.
const (
	varOK = iota
	varShort
	varTooLong  // a fifth byte would be needed: malformed
	varOverlong // encoded in more bytes than needed
)

// readVarInt decodes a variable byte integer from b, returning the value,
// the bytes consumed and a varOK/varShort/varTooLong/varOverlong status.
// An overlong encoding still yields its value and length.
func readVarInt(b []byte) (uint32, int, int) {
	var x uint32
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, varShort
		}
		c := b[i]
		x |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if i > 0 && c == 0 {
				return x, i + 1, varOverlong
			}
			return x, i + 1, varOK
		}
	}
	return 0, 0, varTooLong
}

func appendUint16(dst []byte, x uint16) []byte { return append(dst, byte(x>>8), byte(x)) }

func appendUint32(dst []byte, x uint32) []byte {
	return append(dst, byte(x>>24), byte(x>>16), byte(x>>8), byte(x))
}

// appendString16 appends a two-byte length prefix and b.
func appendString16(dst []byte, b []byte) []byte {
	dst = appendUint16(dst, uint16(len(b)))
	return append(dst, b...)
}

// SWAR (SIMD within a register) constants: a byte of each in every lane.
const (
	lanes01 = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// plainASCII reports whether b holds only ASCII bytes other than NUL and,
// when noWild is set, other than '+' and '#': the common case, checked
// eight bytes at a time. False means "look closer", not "invalid".
func plainASCII(b []byte, noWild bool) bool {
	n := len(b)
	if n < 8 {
		for _, c := range b {
			if c >= 0x80 || c == 0 || noWild && (c == '+' || c == '#') {
				return false
			}
		}
		return true
	}
	var wild uint64
	if noWild {
		wild = ^uint64(0)
	}
	var bad uint64
	for i := 0; i+8 <= n; i += 8 {
		bad |= notPlain(binary.LittleEndian.Uint64(b[i:]), wild)
	}
	if n%8 != 0 {
		// The last eight bytes, overlapping the words already seen.
		bad |= notPlain(binary.LittleEndian.Uint64(b[n-8:]), wild)
	}
	return bad == 0
}

// plainTopic is plainASCII(b, true) for topic names, two words per step.
func plainTopic(b []byte) bool {
	n := len(b)
	if n < 8 {
		return plainASCII(b, true)
	}
	const all = ^uint64(0)
	var bad uint64
	i := 0
	for ; i+16 <= n; i += 16 {
		bad |= notPlain(binary.LittleEndian.Uint64(b[i:]), all) | notPlain(binary.LittleEndian.Uint64(b[i+8:]), all)
	}
	if i+8 <= n {
		bad |= notPlain(binary.LittleEndian.Uint64(b[i:]), all)
		i += 8
	}
	if i < n {
		bad |= notPlain(binary.LittleEndian.Uint64(b[n-8:]), all)
	}
	return bad == 0
}

// notPlain is non-zero when a byte of x is non-ASCII or NUL, or, with
// wild set to all ones, '+' or '#'. While every byte is 0x01-0x7f, no
// lane of x-lanes01 borrows or sets its top bit; a NUL lane does. '#'
// (0x23) and '+' (0x2b) differ only in bit 3, so x|0x08 turns both into
// '+', which the XOR turns into NUL.
func notPlain(x, wild uint64) uint64 {
	const plus = lanes01 * '+'
	const bit3 = lanes01 * 0x08
	return (x | (x - lanes01) | ((x|bit3)^plus-lanes01)&wild) & lanes80
}

// validUTF8 reports whether b is well-formed UTF-8 (no surrogates, no
// overlong forms: unicode/utf8 rejects both) and whether it holds U+0000.
// ASCII is the common case for topics and client ids.
func validUTF8(b []byte) (ok, hasNull bool) {
	if plainASCII(b, false) {
		return true, false
	}
	for i, c := range b {
		if c == 0 {
			hasNull = true
		}
		if c >= 0x80 {
			ok = utf8.Valid(b[i:])
			if !hasNull {
				for _, c2 := range b[i:] {
					if c2 == 0 {
						hasNull = true
						break
					}
				}
			}
			return ok, hasNull
		}
	}
	return true, hasNull
}

// cursor reads the fields of one packet body; each read names the field
// it reads so errors can say which one was malformed.
type cursor struct {
	b   []byte
	off int
	d   *Decoder
}

func (c *cursor) rest() int { return len(c.b) - c.off }

func (c *cursor) short(field string) error {
	return c.d.malformed(field, "packet ends inside this field")
}

func (c *cursor) u8(field string) (byte, error) {
	if c.off >= len(c.b) {
		return 0, c.short(field)
	}
	x := c.b[c.off]
	c.off++
	return x, nil
}

func (c *cursor) u16(field string) (uint16, error) {
	if c.off+2 > len(c.b) {
		return 0, c.short(field)
	}
	x := binary.BigEndian.Uint16(c.b[c.off:])
	c.off += 2
	return x, nil
}

func (c *cursor) u32(field string) (uint32, error) {
	if c.off+4 > len(c.b) {
		return 0, c.short(field)
	}
	x := binary.BigEndian.Uint32(c.b[c.off:])
	c.off += 4
	return x, nil
}

func (c *cursor) varint(field string) (uint32, error) {
	x, n, st := readVarInt(c.b[c.off:])
	switch st {
	case varShort:
		return 0, c.short(field)
	case varTooLong:
		return 0, c.d.malformedRule(field, "variable byte integer longer than 4 bytes", ruleVarIntMinimal)
	case varOverlong:
		c.d.noncanonical = true
		if err := c.d.violate(field, "variable byte integer not in its shortest form", ruleVarIntMinimal); err != nil {
			return 0, err
		}
	}
	c.off += n
	return x, nil
}

// binary16 reads a two-byte length then that many bytes, aliasing c.b.
func (c *cursor) binary16(field string) ([]byte, error) {
	n, err := c.u16(field)
	if err != nil {
		return nil, err
	}
	if c.off+int(n) > len(c.b) {
		return nil, c.d.malformed(field, "length prefix runs past the end of the packet")
	}
	b := c.b[c.off : c.off+int(n) : c.off+int(n)]
	c.off += int(n)
	return b, nil
}

// str reads a UTF-8 encoded string and checks it against the string
// rules (MQTT-1.5.3-1/2, MQTT-1.5.4-1/2); utf8Rule is the field-specific
// statement that also applies (e.g. the client identifier's), or ruleUTF8.
func (c *cursor) str(field string, utf8Rule rule) ([]byte, error) {
	b, err := c.binary16(field)
	if err != nil {
		return nil, err
	}
	return b, c.d.checkString(field, b, utf8Rule)
}

// checkString applies the UTF-8 string rules to b.
func (d *Decoder) checkString(field string, b []byte, utf8Rule rule) error {
	if plainASCII(b, false) {
		return nil
	}
	ok, hasNull := validUTF8(b)
	if !ok {
		if err := d.violate(field, "not well-formed UTF-8", utf8Rule); err != nil {
			return err
		}
	}
	if hasNull {
		return d.violate(field, "contains U+0000", ruleNullChar)
	}
	return nil
}
