package codec

import (
	"fmt"
	"reflect"
	"strings"
)

// b is shorthand for a byte slice in expected packets.
func b(s string) []byte { return []byte(s) }

// cat joins byte slices, for fixtures built from a repeated payload.
func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// mkProps builds Properties from (id, value...) items: numeric properties
// take an int, string and binary ones a string, PropUser two strings, and
// PropSubscriptionID an int (repeat it for several).
func mkProps(items ...any) Properties {
	var p Properties
	for i := 0; i < len(items); i++ {
		id := items[i].(PropID)
		i++
		switch {
		case id == PropUser:
			p.AddUser(b(items[i].(string)), b(items[i+1].(string)))
			i++
		case id == PropSubscriptionID:
			p.SubscriptionIDs = append(p.SubscriptionIDs, uint32(items[i].(int)))
		case props[id].kind == kStr || props[id].kind == kBin:
			p.SetBytes(id, b(items[i].(string)))
		default:
			p.SetUint(id, uint32(items[i].(int)))
		}
	}
	return p
}

// diffPackets compares two packets field by field and describes the first
// differences, or returns "" when they are equal. Nil and empty slices are
// equal (a decoded empty string aliases the input and is not nil), and
// Properties compare by content, not by the storage of absent values.
func diffPackets(got, want Packet) string {
	if got == nil || want == nil {
		if got == nil && want == nil {
			return ""
		}
		return fmt.Sprintf("got %v, want %v", got, want)
	}
	var diffs []string
	diffValue(&diffs, reflect.TypeOf(want).Elem().Name(), reflect.ValueOf(got), reflect.ValueOf(want))
	return strings.Join(diffs, "\n")
}

var propertiesType = reflect.TypeOf(Properties{})

func diffValue(diffs *[]string, path string, got, want reflect.Value) {
	if got.Type() != want.Type() {
		*diffs = append(*diffs, fmt.Sprintf("%s: type %s, want %s", path, got.Type(), want.Type()))
		return
	}
	if got.Type() == propertiesType {
		gp := got.Addr().Interface().(*Properties)
		wp := want.Addr().Interface().(*Properties)
		if d := diffProps(gp, wp); d != "" {
			*diffs = append(*diffs, path+": "+d)
		}
		return
	}
	switch got.Kind() {
	case reflect.Pointer:
		if got.IsNil() || want.IsNil() {
			if got.IsNil() != want.IsNil() {
				*diffs = append(*diffs, path+": nil mismatch")
			}
			return
		}
		diffValue(diffs, path, got.Elem(), want.Elem())
	case reflect.Struct:
		for i := 0; i < got.NumField(); i++ {
			diffValue(diffs, path+"."+got.Type().Field(i).Name, got.Field(i), want.Field(i))
		}
	case reflect.Slice:
		if got.Len() != want.Len() {
			*diffs = append(*diffs, fmt.Sprintf("%s: len %d, want %d (got %s, want %s)", path, got.Len(), want.Len(), show(got), show(want)))
			return
		}
		for i := 0; i < got.Len(); i++ {
			diffValue(diffs, fmt.Sprintf("%s[%d]", path, i), got.Index(i), want.Index(i))
		}
	case reflect.Bool:
		if got.Bool() != want.Bool() {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v, want %v", path, got.Bool(), want.Bool()))
		}
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if got.Uint() != want.Uint() {
			*diffs = append(*diffs, fmt.Sprintf("%s: %#x, want %#x", path, got.Uint(), want.Uint()))
		}
	case reflect.Int, reflect.Int64:
		if got.Int() != want.Int() {
			*diffs = append(*diffs, fmt.Sprintf("%s: %d, want %d", path, got.Int(), want.Int()))
		}
	default:
		*diffs = append(*diffs, path+": cannot compare kind "+got.Kind().String())
	}
}

func show(v reflect.Value) string {
	if v.Type().Elem().Kind() == reflect.Uint8 {
		bs := make([]byte, v.Len())
		for i := range bs {
			bs[i] = byte(v.Index(i).Uint())
		}
		return fmt.Sprintf("%q", bs)
	}
	return fmt.Sprint(v.Len(), " elements")
}

// diffProps compares two property sets by content.
func diffProps(got, want *Properties) string {
	var d []string
	for id := PropID(1); id <= maxPropID; id++ {
		info := props[id]
		if info.kind == kNone || id == PropUser || id == PropSubscriptionID {
			continue
		}
		gh, wh := got.Has(id), want.Has(id)
		if gh != wh {
			d = append(d, fmt.Sprintf("%s present=%v, want %v", id, gh, wh))
			continue
		}
		if !gh {
			continue
		}
		switch info.kind {
		case kStr, kBin:
			g, _ := got.Bytes(id)
			w, _ := want.Bytes(id)
			if string(g) != string(w) {
				d = append(d, fmt.Sprintf("%s=%q, want %q", id, g, w))
			}
		default:
			g, _ := got.Uint(id)
			w, _ := want.Uint(id)
			if g != w {
				d = append(d, fmt.Sprintf("%s=%d, want %d", id, g, w))
			}
		}
	}
	if fmt.Sprint(got.SubscriptionIDs) != fmt.Sprint(want.SubscriptionIDs) {
		d = append(d, fmt.Sprintf("SubscriptionIDs=%v, want %v", got.SubscriptionIDs, want.SubscriptionIDs))
	}
	if len(got.User) != len(want.User) {
		d = append(d, fmt.Sprintf("%d user properties, want %d", len(got.User), len(want.User)))
	} else {
		for i := range got.User {
			if string(got.User[i].Key) != string(want.User[i].Key) || string(got.User[i].Value) != string(want.User[i].Value) {
				d = append(d, fmt.Sprintf("User[%d]=%q:%q, want %q:%q", i, got.User[i].Key, got.User[i].Value, want.User[i].Key, want.User[i].Value))
			}
		}
	}
	return strings.Join(d, "; ")
}

// encodeVersion is the level a decoded packet re-encodes at: its own for
// CONNECT, the decoder's for everything else.
func encodeVersion(p Packet, v Version) Version {
	if c, ok := p.(*Connect); ok && c.ProtocolLevel != 0 {
		return c.ProtocolLevel
	}
	return v.orDefault()
}
