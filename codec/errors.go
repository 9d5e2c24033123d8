package codec

import (
	"errors"
	"strings"
)

// ErrIncomplete means the buffer ends before the packet does: read more
// bytes and decode again. It is never wrapped in an *Error.
var ErrIncomplete = errors.New("codec: incomplete packet")

// ErrTooLarge is wrapped by errors for packets over the configured maximum.
var ErrTooLarge = errors.New("codec: packet exceeds maximum size")

// Kind says how bad a decoding problem is.
type Kind uint8

const (
	// Malformed: the bytes cannot be parsed as the packet they claim to be
	// (lengths that overrun, a truncated field, a bad variable byte
	// integer). Nothing useful was decoded.
	Malformed Kind = iota + 1
	// Violation: the packet parsed, but breaks a normative statement
	// (reserved bits set, wildcard in a topic name, invalid UTF-8...).
	// In lenient mode the packet is still returned.
	Violation
)

func (k Kind) String() string {
	switch k {
	case Malformed:
		return "malformed"
	case Violation:
		return "violation"
	}
	return "error"
}

// Error describes a malformed packet or a broken rule.
type Error struct {
	Kind    Kind
	Packet  Type    // packet being decoded or encoded
	Version Version // protocol level the rule IDs belong to
	Field   string  // the field being read, e.g. "topic name"
	Reason  string  // what is wrong, in words
	// Rules are the normative statement IDs broken, e.g. "MQTT-3.3.2-2":
	// MQTT 3.1.1 IDs for levels 3 and 4, MQTT 5.0 IDs for level 5. It may
	// be empty where the specification states a rule without an ID.
	Rules []string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("codec: ")
	b.WriteString(e.Kind.String())
	b.WriteString(" ")
	b.WriteString(e.Packet.String())
	if e.Field != "" {
		b.WriteString(" ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if len(e.Rules) > 0 {
		b.WriteString(" [")
		b.WriteString(strings.Join(e.Rules, " "))
		b.WriteString("]")
	}
	return b.String()
}

// Is lets errors.Is(err, ErrTooLarge) see through size errors.
func (e *Error) Is(target error) bool {
	return target == ErrTooLarge && strings.HasPrefix(e.Reason, "packet of ")
}

// HasRule reports whether the error names the statement id.
func (e *Error) HasRule(id string) bool {
	for _, r := range e.Rules {
		if r == id {
			return true
		}
	}
	return false
}

// rule identifies one checkable statement across protocol versions.
type rule uint8

const (
	ruleNone rule = iota
	ruleUTF8
	ruleNullChar
	ruleReservedFlags
	rulePacketIDZero
	ruleQoS3
	ruleDupQoS0
	ruleTopicWildcard
	ruleTopicEmpty
	ruleFilterHash
	ruleFilterPlus
	ruleFilterEmpty
	ruleProtocolName
	ruleConnectReserved
	ruleWillQoSNoWill
	ruleWillRetainNoWill
	ruleWillQoS3
	rulePasswordNoUser
	ruleSubscribeEmpty
	ruleSubscribeOptions
	ruleUnsubscribeEmpty
	ruleSubackCode
	ruleConnackFlags
	ruleVarIntMinimal
	ruleProperty
	ruleReasonCode
	ruleClientIDUTF8
	ruleWillTopicUTF8
	ruleUsernameUTF8
	ruleFilterUTF8
	ruleUnsubFilterUTF8
	rulePairUTF8
	ruleContentTypeUTF8
	ruleResponseTopicUTF8
	ruleResponseTopicWildcard
	rulePubrelFlags
	ruleSubscribeFlags
	ruleUnsubscribeFlags
	ruleDisconnectFlags
	ruleAuthFlags
	ruleVersion
	ruleTopicAliasZero
	ruleReasonPuback
	ruleReasonPubrec
	ruleReasonPubrel
	ruleReasonPubcomp
	ruleReasonConnack
	ruleReasonUnsuback
	ruleReasonDisconnect
	ruleReasonAuth
)

// ruleIDs maps each rule to the statement IDs of MQTT 3.1.1 ([0]) and
// MQTT 5.0 ([1]). MQTT 3.1 has no numbered statements; its rules are the
// same as 3.1.1's and cite those.
var ruleIDs = map[rule][2][]string{
	ruleUTF8:             {{"MQTT-1.5.3-1"}, {"MQTT-1.5.4-1"}},
	ruleNullChar:         {{"MQTT-1.5.3-2"}, {"MQTT-1.5.4-2"}},
	ruleReservedFlags:    {{"MQTT-2.2.2-1", "MQTT-2.2.2-2"}, {"MQTT-2.1.3-1"}},
	rulePubrelFlags:      {{"MQTT-3.6.1-1", "MQTT-2.2.2-1", "MQTT-2.2.2-2"}, {"MQTT-3.6.1-1", "MQTT-2.1.3-1"}},
	ruleSubscribeFlags:   {{"MQTT-3.8.1-1", "MQTT-2.2.2-1", "MQTT-2.2.2-2"}, {"MQTT-3.8.1-1", "MQTT-2.1.3-1"}},
	ruleUnsubscribeFlags: {{"MQTT-3.10.1-1", "MQTT-2.2.2-1", "MQTT-2.2.2-2"}, {"MQTT-3.10.1-1", "MQTT-2.1.3-1"}},
	ruleDisconnectFlags:  {{"MQTT-3.14.1-1", "MQTT-2.2.2-1", "MQTT-2.2.2-2"}, {"MQTT-3.14.1-1", "MQTT-2.1.3-1"}},
	ruleAuthFlags:        {nil, {"MQTT-3.15.1-1", "MQTT-2.1.3-1"}},
	rulePacketIDZero:     {{"MQTT-2.3.1-1"}, {"MQTT-2.2.1-3", "MQTT-2.2.1-4"}},
	ruleQoS3:             {{"MQTT-3.3.1-4"}, {"MQTT-3.3.1-4"}},
	ruleDupQoS0:          {{"MQTT-3.3.1-2"}, {"MQTT-3.3.1-2"}},
	ruleTopicWildcard:    {{"MQTT-3.3.2-2", "MQTT-4.7.1-1"}, {"MQTT-3.3.2-2", "MQTT-4.7.0-1"}},
	ruleTopicEmpty:       {{"MQTT-4.7.3-1"}, {"MQTT-4.7.3-1"}},
	ruleFilterHash:       {{"MQTT-4.7.1-2"}, {"MQTT-4.7.1-1"}},
	ruleFilterPlus:       {{"MQTT-4.7.1-3"}, {"MQTT-4.7.1-2"}},
	ruleFilterEmpty:      {{"MQTT-4.7.3-1"}, {"MQTT-4.7.3-1"}},
	ruleProtocolName:     {{"MQTT-3.1.2-1"}, {"MQTT-3.1.2-1"}},
	ruleVersion:          {{"MQTT-3.1.2-2"}, {"MQTT-3.1.2-2"}},
	ruleConnectReserved:  {{"MQTT-3.1.2-3"}, {"MQTT-3.1.2-3"}},
	ruleWillQoSNoWill:    {{"MQTT-3.1.2-11", "MQTT-3.1.2-13"}, {"MQTT-3.1.2-11"}},
	ruleWillRetainNoWill: {{"MQTT-3.1.2-11", "MQTT-3.1.2-15"}, {"MQTT-3.1.2-13"}},
	ruleWillQoS3:         {{"MQTT-3.1.2-14"}, {"MQTT-3.1.2-12"}},
	rulePasswordNoUser:   {{"MQTT-3.1.2-22"}, nil},
	ruleSubscribeEmpty:   {{"MQTT-3.8.3-3"}, {"MQTT-3.8.3-2"}},
	ruleSubscribeOptions: {{"MQTT-3.8.3-4"}, {"MQTT-3.8.3-5"}},
	ruleUnsubscribeEmpty: {{"MQTT-3.10.3-2"}, {"MQTT-3.10.3-2"}},
	ruleSubackCode:       {{"MQTT-3.9.3-2"}, {"MQTT-3.9.3-2"}},
	ruleConnackFlags:     {nil, {"MQTT-3.2.2-1"}},
	ruleVarIntMinimal:    {nil, {"MQTT-1.5.5-1"}},
	ruleTopicAliasZero:   {nil, {"MQTT-3.3.2-8"}},
	ruleReasonPuback:     {nil, {"MQTT-3.4.2-1"}},
	ruleReasonPubrec:     {nil, {"MQTT-3.5.2-1"}},
	ruleReasonPubrel:     {nil, {"MQTT-3.6.2-1"}},
	ruleReasonPubcomp:    {nil, {"MQTT-3.7.2-1"}},
	ruleReasonConnack:    {nil, {"MQTT-3.2.2-8"}},
	ruleReasonUnsuback:   {nil, {"MQTT-3.11.3-2"}},
	ruleReasonDisconnect: {nil, {"MQTT-3.14.2-1"}},
	ruleReasonAuth:       {nil, {"MQTT-3.15.2-1"}},
	ruleClientIDUTF8:     {{"MQTT-3.1.3-4", "MQTT-1.5.3-1"}, {"MQTT-3.1.3-4", "MQTT-1.5.4-1"}},
	ruleWillTopicUTF8:    {{"MQTT-3.1.3-10", "MQTT-1.5.3-1"}, {"MQTT-3.1.3-11", "MQTT-1.5.4-1"}},
	ruleUsernameUTF8:     {{"MQTT-3.1.3-11", "MQTT-1.5.3-1"}, {"MQTT-3.1.3-12", "MQTT-1.5.4-1"}},
	ruleFilterUTF8:       {{"MQTT-3.8.3-1", "MQTT-1.5.3-1"}, {"MQTT-3.8.3-1", "MQTT-1.5.4-1"}},
	ruleUnsubFilterUTF8:  {{"MQTT-3.10.3-1", "MQTT-1.5.3-1"}, {"MQTT-3.10.3-1", "MQTT-1.5.4-1"}},
	// The property rules below exist at level 5 only.
	rulePairUTF8:              {nil, {"MQTT-1.5.7-1", "MQTT-1.5.4-1"}},
	ruleContentTypeUTF8:       {nil, {"MQTT-3.3.2-19", "MQTT-1.5.4-1"}},
	ruleResponseTopicUTF8:     {nil, {"MQTT-3.3.2-13", "MQTT-1.5.4-1"}},
	ruleResponseTopicWildcard: {nil, {"MQTT-3.3.2-14"}},
}

// ids returns the statement IDs of r at protocol level v.
func (r rule) ids(v Version) []string {
	e, ok := ruleIDs[r]
	if !ok {
		return nil
	}
	if v == V5 {
		return e[1]
	}
	return e[0]
}

// RuleIDs returns every statement ID the codec can report for level v.
// The conformance catalogue uses it to check that the codec cites only
// statements that exist.
func RuleIDs(v Version) []string {
	seen := map[string]bool{}
	var out []string
	for r := range ruleIDs {
		for _, id := range r.ids(v) {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}
