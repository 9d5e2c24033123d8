// Package topics implements MQTT topic names, topic filters and a
// subscription trie for the mqtt-check reference broker.
//
// The rules follow MQTT 3.1.1 section 4.7 (topic names and filters) and
// MQTT 5.0 section 4.8.2 (shared subscriptions). Where a function rejects
// input it reports the normative statement it enforces, so that a
// conformance failure can be traced straight back to the specification.
// Statement IDs are the MQTT 3.1.1 ones (for example "MQTT-4.7.1-2"),
// except for shared subscriptions, which only exist in MQTT 5.0 and
// therefore carry MQTT 5.0 IDs ("MQTT-4.8.2-1", "MQTT-4.8.2-2"). Note that
// MQTT 5.0 renumbered the wildcard statements, so an MQTT 5.0 reader looking
// for '#' (3.1.1: MQTT-4.7.1-2) will find it as MQTT-4.7.1-1 there.
//
// Everything works on raw bytes. MQTT-4.7.3-4 forbids normalising topic
// names or filters when matching, so two topics are equal exactly when
// their encoded bytes are equal; working on []byte also lets the broker
// match directly against a decoded packet buffer without copying.
package topics

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// MaxLen is the largest encoded size of a topic name or filter in bytes.
// It exists because MQTT strings carry a two-byte length prefix
// (MQTT-4.7.3-3).
const MaxLen = 65535

// Normative statement IDs reported in Error.Rule. They are kept in one
// place so that the mapping from check to statement can be reviewed
// against the specification at a glance.
const (
	ruleUTF8            = "MQTT-1.5.3-1" // well-formed UTF-8, no surrogates
	ruleNoWildcardName  = "MQTT-4.7.1-1" // wildcards only in filters (also MQTT-3.3.2-2)
	ruleMultiLevel      = "MQTT-4.7.1-2" // '#' alone at its level and last
	ruleSingleLevel     = "MQTT-4.7.1-3" // '+' occupies an entire level
	ruleNonEmpty        = "MQTT-4.7.3-1" // at least one character
	ruleNoNull          = "MQTT-4.7.3-2" // no U+0000 (also MQTT-1.5.3-2)
	ruleMaxLen          = "MQTT-4.7.3-3" // at most 65535 bytes
	ruleShareNameLength = "MQTT-4.8.2-1" // MQTT 5.0: ShareName at least one character
	ruleShareNameForm   = "MQTT-4.8.2-2" // MQTT 5.0: ShareName without '/', '+', '#', then '/' and a filter
)

const (
	kindName   = "topic name"
	kindFilter = "topic filter"
)

// maxQuoted bounds how much of a rejected topic Error.Error prints, because
// a topic may be up to 64 KiB and error strings end up in logs.
const maxQuoted = 128

// Error describes why a topic name or filter was rejected. Validation
// functions return it as *Error so that callers (and conformance reports)
// can extract the exact normative statement with errors.As.
type Error struct {
	// Kind is "topic name" or "topic filter": the same bytes can be a
	// valid filter but an invalid name, so the message must say which
	// interpretation failed.
	Kind string
	// Topic is the rejected input, copied so the error stays valid after
	// the caller reuses its packet buffer.
	Topic string
	// Rule is the normative statement ID that the input violates, for
	// example "MQTT-4.7.1-2".
	Rule string
	// Reason is a short human-readable explanation of the violation.
	Reason string
}

// Error formats the error as
//
//	topic filter "a/#/b": '#' must be the last level [MQTT-4.7.1-2]
//
// quoting the input with %q because rejected topics may contain NUL bytes
// or invalid UTF-8 that would otherwise corrupt a log line.
func (e *Error) Error() string {
	if len(e.Topic) > maxQuoted {
		return fmt.Sprintf("%s %q... (%d bytes): %s [%s]", e.Kind, e.Topic[:maxQuoted], len(e.Topic), e.Reason, e.Rule)
	}
	return fmt.Sprintf("%s %q: %s [%s]", e.Kind, e.Topic, e.Reason, e.Rule)
}

func newError(kind string, topic []byte, rule, reason string) *Error {
	return &Error{Kind: kind, Topic: string(topic), Rule: rule, Reason: reason}
}

// ValidateTopicName reports whether name is a valid MQTT topic name, the
// thing a PUBLISH packet is sent to. It returns nil or an *Error.
//
// A topic name must be non-empty (MQTT-4.7.3-1), at most 65535 bytes
// (MQTT-4.7.3-3), well-formed UTF-8 (MQTT-1.5.3-1), free of U+0000
// (MQTT-4.7.3-2) and free of the wildcards '+' and '#' (MQTT-4.7.1-1, which
// MQTT-3.3.2-2 restates for PUBLISH). Empty levels are allowed: "/", "a//b"
// and "a/" are all valid and distinct.
//
// The SHOULD NOT rule on control characters and non-characters (section
// 1.5.3) is deliberately not enforced: it is not a MUST, and a conformance
// harness must not reject what a compliant peer may send.
func ValidateTopicName(name []byte) error {
	return validate(kindName, name)
}

// ValidateFilter reports whether filter is a valid MQTT topic filter, the
// thing a SUBSCRIBE or UNSUBSCRIBE packet names. It returns nil or an
// *Error.
//
// On top of the rules shared with topic names (MQTT-4.7.3-1, -2, -3 and
// MQTT-1.5.3-1), '#' must occupy a whole level and be the last level
// (MQTT-4.7.1-2) and '+' must occupy a whole level (MQTT-4.7.1-3).
//
// ValidateFilter applies MQTT 3.1.1 rules only: "$share/g/x" is an ordinary
// valid filter here. MQTT 5.0 servers should call ParseShared instead, which
// also checks the shared-subscription syntax.
func ValidateFilter(filter []byte) error {
	return validate(kindFilter, filter)
}

// validate implements both validators in a single pass. The byte-wise scan
// is safe on UTF-8 because '/', '+', '#' and NUL are ASCII and so can
// never appear inside a multi-byte sequence.
func validate(kind string, b []byte) error {
	if len(b) == 0 {
		return newError(kind, b, ruleNonEmpty, "must be at least one character long")
	}
	if len(b) > MaxLen {
		return newError(kind, b, ruleMaxLen, fmt.Sprintf("must not exceed %d bytes, is %d", MaxLen, len(b)))
	}
	if !utf8.Valid(b) {
		return newError(kind, b, ruleUTF8, "must be well-formed UTF-8")
	}
	isFilter := kind == kindFilter
	levelStart := 0
	for i, c := range b {
		switch c {
		case 0:
			return newError(kind, b, ruleNoNull, "must not contain the null character U+0000")
		case '/':
			levelStart = i + 1
		case '+':
			if !isFilter {
				return newError(kind, b, ruleNoWildcardName, "must not contain the wildcard '+'")
			}
			if i != levelStart || (i+1 < len(b) && b[i+1] != '/') {
				return newError(kind, b, ruleSingleLevel, "'+' must occupy an entire level")
			}
		case '#':
			if !isFilter {
				return newError(kind, b, ruleNoWildcardName, "must not contain the wildcard '#'")
			}
			if i != levelStart || (i+1 < len(b) && b[i+1] != '/') {
				return newError(kind, b, ruleMultiLevel, "'#' must occupy an entire level")
			}
			if i+1 < len(b) {
				return newError(kind, b, ruleMultiLevel, "'#' must be the last level")
			}
		}
	}
	return nil
}

// HasWildcard reports whether b contains '+' or '#' anywhere. It does not
// validate b; it exists so that a broker can cheaply tell an exact filter
// (which can be looked up directly, e.g. for retained messages) from a
// wildcard one.
func HasWildcard(b []byte) bool {
	for _, c := range b {
		if c == '+' || c == '#' {
			return true
		}
	}
	return false
}

// Match reports whether the topic name matches the topic filter.
//
// Levels are compared as raw bytes (MQTT-4.7.3-4). '+' matches exactly one
// level, which may be empty ("sport/+" matches "sport/" but not "sport").
// '#' matches any number of levels including zero, so "sport/#" also
// matches the parent "sport". Filters whose first character is a wildcard
// never match names beginning with '$' (MQTT-4.7.2-1), which keeps "#"
// subscribers from seeing "$SYS" traffic; "$SYS/#" still matches
// "$SYS/broker/uptime".
//
// Match does not validate its arguments, because the broker validates once
// at SUBSCRIBE/PUBLISH time and matches many times. For any name and a
// filter accepted by ValidateFilter the result follows the rules above
// (names are treated literally, so the name "a/+" matches the filter "+/+"
// but not "a/b"). For invalid filters the result is unspecified, but Match
// never panics. Match does not allocate.
func Match(filter, name []byte) bool {
	if len(name) > 0 && name[0] == '$' && len(filter) > 0 && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		fEnd := bytes.IndexByte(filter, '/')
		fLast := fEnd < 0
		if fLast {
			fEnd = len(filter)
		}
		fLevel := filter[:fEnd]
		if len(fLevel) == 1 && fLevel[0] == '#' {
			// Matches this level and everything below it.
			return true
		}
		nEnd := bytes.IndexByte(name, '/')
		nLast := nEnd < 0
		if nLast {
			nEnd = len(name)
		}
		if !(len(fLevel) == 1 && fLevel[0] == '+') && !bytes.Equal(fLevel, name[:nEnd]) {
			return false
		}
		switch {
		case fLast && nLast:
			return true
		case fLast:
			// The name has more levels than the filter can consume.
			return false
		case nLast:
			// The name is exhausted; only a trailing "/#" may remain,
			// because '#' also matches its parent level.
			rest := filter[fEnd+1:]
			return len(rest) == 1 && rest[0] == '#'
		}
		filter = filter[fEnd+1:]
		name = name[nEnd+1:]
	}
}

// sharePrefix introduces an MQTT 5.0 shared subscription (section 4.8.2).
const sharePrefix = "$share/"

// ParseShared validates filter as an MQTT 5.0 SUBSCRIBE topic filter and
// splits off the shared-subscription prefix if there is one.
//
// For "$share/{ShareName}/{filter}" it returns ok=true, the ShareName and
// the inner filter, which is what the broker must match topic names
// against (the '$' rule of MQTT-4.7.2-1 therefore applies to the inner
// filter: "$share/g/#" does not receive "$SYS" messages). The ShareName
// must be at least one character (MQTT-4.8.2-1), must not contain '/', '+'
// or '#', and must be followed by '/' and a valid topic filter
// (MQTT-4.8.2-2).
//
// For any other filter it returns ok=false, err=ValidateFilter(filter)
// and, if that is nil, inner=filter, so a single call fully validates a
// subscription whichever form it takes. "$share" without a trailing '/' is
// an ordinary filter, since only the "$share/" prefix is reserved.
//
// ok reports the "$share/" prefix even when err is non-nil, so that a
// server which does not support shared subscriptions can answer with the
// specific reason code rather than a generic "invalid filter".
//
// share and inner alias filter; copy them if filter's buffer is reused.
// When err is non-nil, share and inner are nil.
func ParseShared(filter []byte) (share, inner []byte, ok bool, err error) {
	if len(filter) < len(sharePrefix) || string(filter[:len(sharePrefix)]) != sharePrefix {
		if err := ValidateFilter(filter); err != nil {
			return nil, nil, false, err
		}
		return nil, filter, false, nil
	}
	// Check the rules that concern the whole string first, so that a NUL
	// or bad UTF-8 in the ShareName is reported as such.
	if len(filter) > MaxLen {
		return nil, nil, true, newError(kindFilter, filter, ruleMaxLen, fmt.Sprintf("must not exceed %d bytes, is %d", MaxLen, len(filter)))
	}
	if !utf8.Valid(filter) {
		return nil, nil, true, newError(kindFilter, filter, ruleUTF8, "must be well-formed UTF-8")
	}
	rest := filter[len(sharePrefix):]
	slash := bytes.IndexByte(rest, '/')
	name := rest
	if slash >= 0 {
		name = rest[:slash]
	}
	if len(name) == 0 {
		return nil, nil, true, newError(kindFilter, filter, ruleShareNameLength, "shared subscription ShareName must be at least one character long")
	}
	if bytes.IndexByte(name, 0) >= 0 {
		return nil, nil, true, newError(kindFilter, filter, ruleNoNull, "must not contain the null character U+0000")
	}
	if HasWildcard(name) {
		return nil, nil, true, newError(kindFilter, filter, ruleShareNameForm, "shared subscription ShareName must not contain '+' or '#'")
	}
	if slash < 0 || slash+1 == len(rest) {
		return nil, nil, true, newError(kindFilter, filter, ruleShareNameForm, "shared subscription ShareName must be followed by '/' and a topic filter")
	}
	inner = rest[slash+1:]
	if err := ValidateFilter(inner); err != nil {
		// Report the whole filter the client sent, not just the part
		// after the ShareName, so the message is recognisable.
		e := err.(*Error)
		e.Topic = string(filter)
		return nil, nil, true, e
	}
	return name, inner, true, nil
}
