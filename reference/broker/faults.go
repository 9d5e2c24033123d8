package broker

import (
	"fmt"
	"sort"
	"strings"
)

// Fault names one deliberate deviation from one normative statement. A
// broker started with a fault switched on is wrong in exactly that way, so
// the conformance suite can prove that it notices.
type Fault string

// FaultInfo describes a fault switch.
type FaultInfo struct {
	Name        Fault
	Statements  []string // MQTT 3.1.1 statement IDs the fault breaks
	Description string
}

// The fault switches. Each breaks the statements listed in faultTable.
const (
	FaultInvalidUTF8Accepted        Fault = "invalid-utf8-accepted"
	FaultNullCharAccepted           Fault = "null-char-accepted"
	FaultBOMStripped                Fault = "bom-stripped"
	FaultReservedFlagsAccepted      Fault = "reserved-flags-accepted"
	FaultPubrelFlagsAccepted        Fault = "pubrel-flags-accepted"
	FaultSubscribeFlagsAccepted     Fault = "subscribe-flags-accepted"
	FaultUnsubscribeFlagsAccepted   Fault = "unsubscribe-flags-accepted"
	FaultDisconnectFlagsAccepted    Fault = "disconnect-flags-accepted"
	FaultPacketIDZeroAccepted       Fault = "packet-id-zero-accepted"
	FaultPacketIDReuse              Fault = "packet-id-reuse"
	FaultPubackWrongID              Fault = "puback-wrong-id"
	FaultSubackWrongID              Fault = "suback-wrong-id"
	FaultUnsubackWrongID            Fault = "unsuback-wrong-id"
	FaultSecondConnectAccepted      Fault = "second-connect-accepted"
	FaultNonConnectFirstAccepted    Fault = "non-connect-first-accepted"
	FaultProtocolNameAccepted       Fault = "protocol-name-accepted"
	FaultProtocolLevelAccepted      Fault = "protocol-level-accepted"
	FaultConnectReservedAccepted    Fault = "connect-reserved-accepted"
	FaultSessionNotKept             Fault = "session-not-kept"
	FaultNoOfflineQueue             Fault = "no-offline-queue"
	FaultCleanSessionIgnored        Fault = "clean-session-ignored"
	FaultRetainedDeletedOnSessEnd   Fault = "retained-deleted-on-session-end"
	FaultNoWill                     Fault = "no-will"
	FaultWillOnDisconnect           Fault = "will-on-disconnect"
	FaultWillRetainIgnored          Fault = "will-retain-ignored"
	FaultWillAlwaysRetained         Fault = "will-always-retained"
	FaultKeepAliveNotEnforced       Fault = "keepalive-not-enforced"
	FaultKeepAliveEarly             Fault = "keepalive-early"
	FaultLongClientIDRejected       Fault = "long-client-id-rejected"
	FaultEmptyIDNotUnique           Fault = "empty-id-not-unique"
	FaultEmptyIDPersistentAccepted  Fault = "empty-id-persistent-accepted"
	FaultMalformedConnectAnswered   Fault = "malformed-connect-answered"
	FaultNoTakeover                 Fault = "no-takeover"
	FaultProcessAfterReject         Fault = "process-after-reject"
	FaultConnackNotFirst            Fault = "connack-not-first"
	FaultSessionPresentAlways0      Fault = "session-present-always-0"
	FaultSessionPresentAlways1      Fault = "session-present-always-1"
	FaultSessionPresentOnReject     Fault = "session-present-on-reject"
	FaultNoCloseAfterReject         Fault = "no-close-after-reject"
	FaultNoDupOnRedelivery          Fault = "no-dup-on-redelivery"
	FaultDupOnQoS0                  Fault = "dup-on-qos0"
	FaultDupPropagated              Fault = "dup-propagated"
	FaultQoS3Accepted               Fault = "qos3-accepted"
	FaultNoRetain                   Fault = "no-retain"
	FaultRetainQoS0NotReplaced      Fault = "retain-qos0-not-replaced"
	FaultRetainFlagLost             Fault = "retain-flag-lost"
	FaultRetainOnLive               Fault = "retain-on-live"
	FaultRetainEmptyNotCleared      Fault = "retain-empty-not-cleared"
	FaultRetainEmptyNotForwarded    Fault = "retain-empty-not-forwarded"
	FaultNonRetainedReplaces        Fault = "non-retained-replaces"
	FaultWildcardTopicAccepted      Fault = "wildcard-topic-accepted"
	FaultTopicMismatch              Fault = "topic-mismatch"
	FaultNoPuback                   Fault = "no-puback"
	FaultNoPubrec                   Fault = "no-pubrec"
	FaultOverlapMinQoS              Fault = "overlap-min-qos"
	FaultInvalidFilterAccepted      Fault = "invalid-filter-accepted"
	FaultSubscribeOptionsAccepted   Fault = "subscribe-options-accepted"
	FaultNoRetainedOnResubscribe    Fault = "no-retained-on-resubscribe"
	FaultResubscribeDuplicates      Fault = "resubscribe-duplicates"
	FaultSubackSingleCode           Fault = "suback-single-code"
	FaultSubackReordered            Fault = "suback-reordered"
	FaultSubackBadCode              Fault = "suback-bad-code"
	FaultNoQoSDowngrade             Fault = "no-qos-downgrade"
	FaultUnsubscribeIgnored         Fault = "unsubscribe-ignored"
	FaultUnsubscribeNotLiteral      Fault = "unsubscribe-not-literal"
	FaultUnsubscribeDropsInflight   Fault = "unsubscribe-drops-inflight"
	FaultNoUnsubackWhenNothing      Fault = "no-unsuback-when-nothing"
	FaultUnsubackFirstOnly          Fault = "unsuback-first-only"
	FaultNoPingresp                 Fault = "no-pingresp"
	FaultNoRedelivery               Fault = "no-redelivery"
	FaultQoS2DuplicateDelivery      Fault = "qos2-duplicate-delivery"
	FaultNoPubrel                   Fault = "no-pubrel"
	FaultNoPubcomp                  Fault = "no-pubcomp"
	FaultOutOfOrder                 Fault = "out-of-order"
	FaultDollarWildcard             Fault = "dollar-wildcard"
	FaultEmptyTopicAccepted         Fault = "empty-topic-accepted"
	FaultTopicCaseInsensitive       Fault = "topic-case-insensitive"
	FaultMalformedKeepsConnection   Fault = "malformed-keeps-connection"
	FaultWebSocketNoSubprotocol     Fault = "websocket-no-subprotocol"
	FaultWillQoS3Accepted           Fault = "will-qos3-accepted"
	FaultWillFlagsWithoutWillAccept Fault = "will-flags-without-will-accepted"
	FaultPasswordWithoutUserAccept  Fault = "password-without-username-accepted"
)

var faultTable = []FaultInfo{
	{FaultInvalidUTF8Accepted, []string{"MQTT-1.5.3-1"}, "strings with ill-formed UTF-8 or surrogates are accepted instead of closing the connection"},
	{FaultNullCharAccepted, []string{"MQTT-1.5.3-2", "MQTT-4.7.3-2"}, "strings containing U+0000 are accepted instead of closing the connection"},
	{FaultBOMStripped, []string{"MQTT-1.5.3-3"}, "a leading U+FEFF (EF BB BF) is stripped from topic names"},
	{FaultReservedFlagsAccepted, []string{"MQTT-2.2.2-1", "MQTT-2.2.2-2"}, "invalid fixed-header flags on PINGREQ/PUBACK/PUBREC/PUBCOMP/CONNECT are ignored"},
	{FaultPubrelFlagsAccepted, []string{"MQTT-3.6.1-1"}, "PUBREL with flags other than 0010 is processed"},
	{FaultSubscribeFlagsAccepted, []string{"MQTT-3.8.1-1"}, "SUBSCRIBE with flags other than 0010 is processed"},
	{FaultUnsubscribeFlagsAccepted, []string{"MQTT-3.10.1-1"}, "UNSUBSCRIBE with flags other than 0010 is processed"},
	{FaultDisconnectFlagsAccepted, []string{"MQTT-3.14.1-1"}, "DISCONNECT with non-zero flags is treated as a normal DISCONNECT"},
	{FaultPacketIDZeroAccepted, []string{"MQTT-2.3.1-1"}, "SUBSCRIBE, UNSUBSCRIBE and QoS>0 PUBLISH with packet identifier 0 are processed"},
	{FaultPacketIDReuse, []string{"MQTT-2.3.1-4"}, "outgoing QoS>0 PUBLISH packets all use packet identifier 1, even while one is in flight"},
	{FaultPubackWrongID, []string{"MQTT-2.3.1-6", "MQTT-4.3.2-2"}, "PUBACK and PUBREC carry the packet identifier plus one"},
	{FaultSubackWrongID, []string{"MQTT-2.3.1-7", "MQTT-3.8.4-2"}, "SUBACK carries the SUBSCRIBE packet identifier plus one"},
	{FaultUnsubackWrongID, []string{"MQTT-2.3.1-7", "MQTT-3.10.4-4"}, "UNSUBACK carries the UNSUBSCRIBE packet identifier plus one"},
	{FaultSecondConnectAccepted, []string{"MQTT-3.1.0-2"}, "a second CONNECT on a connection is ignored instead of closing it"},
	{FaultNonConnectFirstAccepted, []string{"MQTT-4.8.0-1"}, "a first packet other than CONNECT is ignored instead of closing the connection"},
	{FaultProtocolNameAccepted, []string{"MQTT-3.1.2-1"}, "a CONNECT with an unknown protocol name is accepted"},
	{FaultProtocolLevelAccepted, []string{"MQTT-3.1.2-2"}, "a CONNECT with an unsupported protocol level is accepted as 3.1.1"},
	{FaultConnectReservedAccepted, []string{"MQTT-3.1.2-3"}, "a CONNECT with the reserved flag set is accepted"},
	{FaultSessionNotKept, []string{"MQTT-3.1.2-4", "MQTT-4.1.0-1"}, "a CleanSession=0 session is discarded when its connection closes"},
	{FaultNoOfflineQueue, []string{"MQTT-3.1.2-5"}, "QoS 1 and 2 messages for a disconnected persistent session are dropped"},
	{FaultCleanSessionIgnored, []string{"MQTT-3.1.2-6", "MQTT-3.2.2-1"}, "CleanSession=1 resumes the stored session (subscriptions survive)"},
	{FaultRetainedDeletedOnSessEnd, []string{"MQTT-3.1.2-7"}, "retained messages published by a clean session are deleted when it ends"},
	{FaultNoWill, []string{"MQTT-3.1.2-8"}, "the Will Message is never published"},
	{FaultWillOnDisconnect, []string{"MQTT-3.1.2-10", "MQTT-3.14.4-3"}, "the Will Message is published even after a DISCONNECT"},
	{FaultWillRetainIgnored, []string{"MQTT-3.1.2-17"}, "a Will with Will Retain=1 is published as a non-retained message"},
	{FaultWillAlwaysRetained, []string{"MQTT-3.1.2-16"}, "a Will with Will Retain=0 is published as a retained message"},
	{FaultKeepAliveNotEnforced, []string{"MQTT-3.1.2-24"}, "silent clients are never disconnected"},
	{FaultKeepAliveEarly, []string{"MQTT-3.1.2-24"}, "silent clients are disconnected after half the Keep Alive instead of 1.5 times"},
	{FaultLongClientIDRejected, []string{"MQTT-3.1.3-5"}, "client identifiers longer than 8 bytes are rejected with return code 0x02"},
	{FaultEmptyIDNotUnique, []string{"MQTT-3.1.3-6"}, "every zero-length client identifier is assigned the same identifier"},
	{FaultEmptyIDPersistentAccepted, []string{"MQTT-3.1.3-8"}, "a zero-length client identifier with CleanSession=0 is accepted"},
	{FaultMalformedConnectAnswered, []string{"MQTT-3.1.4-1"}, "a malformed CONNECT is answered with a CONNACK before closing"},
	{FaultNoTakeover, []string{"MQTT-3.1.4-2"}, "a second connection with a client identifier in use leaves the first one open"},
	{FaultProcessAfterReject, []string{"MQTT-3.1.4-5"}, "packets sent after a rejected CONNECT are processed"},
	{FaultConnackNotFirst, []string{"MQTT-3.2.0-1"}, "a PINGRESP is sent before the CONNACK"},
	{FaultSessionPresentAlways0, []string{"MQTT-3.2.2-2"}, "Session Present is always 0"},
	{FaultSessionPresentAlways1, []string{"MQTT-3.2.2-1", "MQTT-3.2.2-3"}, "Session Present is always 1 on an accepted connection"},
	{FaultSessionPresentOnReject, []string{"MQTT-3.2.2-4"}, "a CONNACK with a non-zero return code has Session Present 1"},
	{FaultNoCloseAfterReject, []string{"MQTT-3.2.2-5"}, "the connection stays open after a CONNACK with a non-zero return code"},
	{FaultNoDupOnRedelivery, []string{"MQTT-3.3.1-1", "MQTT-4.4.0-1"}, "PUBLISH packets re-sent after reconnection have DUP=0"},
	{FaultDupOnQoS0, []string{"MQTT-3.3.1-2", "MQTT-4.3.1-1"}, "QoS 0 messages are forwarded with DUP=1"},
	{FaultDupPropagated, []string{"MQTT-3.3.1-3"}, "the DUP flag of an incoming PUBLISH is copied to the forwarded copies"},
	{FaultQoS3Accepted, []string{"MQTT-3.3.1-4"}, "a PUBLISH with QoS 3 is processed as QoS 2"},
	{FaultNoRetain, []string{"MQTT-3.3.1-5", "MQTT-3.3.1-6"}, "retained messages are never stored"},
	{FaultRetainQoS0NotReplaced, []string{"MQTT-3.3.1-7"}, "a retained QoS 0 message does not replace the stored retained message"},
	{FaultRetainFlagLost, []string{"MQTT-3.3.1-8"}, "retained messages sent on subscription have RETAIN=0"},
	{FaultRetainOnLive, []string{"MQTT-3.3.1-9"}, "messages forwarded to existing subscriptions keep RETAIN=1"},
	{FaultRetainEmptyNotCleared, []string{"MQTT-3.3.1-10", "MQTT-3.3.1-11"}, "a zero-length retained message is stored instead of clearing the topic"},
	{FaultRetainEmptyNotForwarded, []string{"MQTT-3.3.1-10"}, "a zero-length retained message is not forwarded to current subscribers"},
	{FaultNonRetainedReplaces, []string{"MQTT-3.3.1-12"}, "a RETAIN=0 message replaces the stored retained message"},
	{FaultWildcardTopicAccepted, []string{"MQTT-3.3.2-2", "MQTT-4.7.1-1"}, "a PUBLISH whose topic name holds '+' or '#' is processed"},
	{FaultTopicMismatch, []string{"MQTT-3.3.2-3"}, "messages are delivered with the subscription's filter as their topic name"},
	{FaultNoPuback, []string{"MQTT-3.3.4-1", "MQTT-4.3.2-2"}, "QoS 1 PUBLISH packets are not acknowledged"},
	{FaultNoPubrec, []string{"MQTT-3.3.4-1", "MQTT-4.3.3-2"}, "QoS 2 PUBLISH packets are not acknowledged"},
	{FaultOverlapMinQoS, []string{"MQTT-3.3.5-1"}, "with overlapping subscriptions the message goes out at the lowest granted QoS"},
	{FaultInvalidFilterAccepted, []string{"MQTT-4.7.1-2", "MQTT-4.7.1-3"}, "syntactically invalid topic filters are granted"},
	{FaultSubscribeOptionsAccepted, []string{"MQTT-3.8.3-4"}, "SUBSCRIBE with reserved option bits or QoS 3 is processed"},
	{FaultNoRetainedOnResubscribe, []string{"MQTT-3.8.4-3"}, "re-subscribing to an existing filter does not re-send retained messages"},
	{FaultResubscribeDuplicates, []string{"MQTT-3.8.4-3"}, "re-subscribing to an existing filter adds a second subscription"},
	{FaultSubackSingleCode, []string{"MQTT-3.8.4-4", "MQTT-3.8.4-5"}, "a SUBSCRIBE with several filters gets a SUBACK with a single return code"},
	{FaultSubackReordered, []string{"MQTT-3.9.3-1"}, "SUBACK return codes come in reverse filter order"},
	{FaultSubackBadCode, []string{"MQTT-3.9.3-2"}, "a granted QoS 2 is reported with return code 0x03"},
	{FaultNoQoSDowngrade, []string{"MQTT-3.8.4-6"}, "messages are delivered at the published QoS even above the granted QoS"},
	{FaultUnsubscribeIgnored, []string{"MQTT-3.10.4-2"}, "UNSUBSCRIBE is acknowledged but the subscription stays"},
	{FaultUnsubscribeNotLiteral, []string{"MQTT-3.10.4-1"}, "UNSUBSCRIBE also removes subscriptions whose filters match the given filter as a topic"},
	{FaultUnsubscribeDropsInflight, []string{"MQTT-3.10.4-3"}, "UNSUBSCRIBE abandons in-flight QoS 1 and 2 deliveries on the removed filter"},
	{FaultNoUnsubackWhenNothing, []string{"MQTT-3.10.4-5"}, "UNSUBSCRIBE of a filter that was not subscribed gets no UNSUBACK"},
	{FaultUnsubackFirstOnly, []string{"MQTT-3.10.4-6"}, "UNSUBSCRIBE with several filters removes only the first"},
	{FaultNoPingresp, []string{"MQTT-3.12.4-1"}, "PINGREQ is not answered"},
	{FaultNoRedelivery, []string{"MQTT-4.4.0-1"}, "unacknowledged PUBLISH and PUBREL packets are not re-sent on reconnection"},
	{FaultQoS2DuplicateDelivery, []string{"MQTT-4.3.3-2"}, "a re-sent QoS 2 PUBLISH (same packet identifier, before PUBREL) is delivered again"},
	{FaultNoPubrel, []string{"MQTT-4.3.3-1"}, "PUBREC from a subscriber is not answered with PUBREL"},
	{FaultNoPubcomp, []string{"MQTT-4.3.3-2"}, "PUBREL is not answered with PUBCOMP"},
	{FaultOutOfOrder, []string{"MQTT-4.6.0-6"}, "messages queued for a session are delivered newest first"},
	{FaultDollarWildcard, []string{"MQTT-4.7.2-1"}, "filters starting with '#' or '+' match topic names starting with '$'"},
	{FaultEmptyTopicAccepted, []string{"MQTT-4.7.3-1"}, "zero-length topic names and filters are accepted"},
	{FaultTopicCaseInsensitive, []string{"MQTT-4.7.3-4"}, "topic matching ignores letter case"},
	{FaultMalformedKeepsConnection, []string{"MQTT-4.8.0-1"}, "a malformed packet is skipped instead of closing the connection"},
	{FaultWebSocketNoSubprotocol, []string{"MQTT-6.0.0-4"}, "the WebSocket handshake does not return the mqtt subprotocol"},
	{FaultWillQoS3Accepted, []string{"MQTT-3.1.2-14", "MQTT-3.1.4-1"}, "a CONNECT with Will QoS 3 is accepted"},
	{FaultWillFlagsWithoutWillAccept, []string{"MQTT-3.1.2-13", "MQTT-3.1.2-15", "MQTT-3.1.4-1"}, "a CONNECT with Will QoS or Will Retain set but no Will flag is accepted"},
	{FaultPasswordWithoutUserAccept, []string{"MQTT-3.1.2-22", "MQTT-3.1.4-1"}, "a CONNECT with the Password flag but no User Name flag is accepted"},
}

// Faults lists every fault switch, sorted by name.
func Faults() []FaultInfo {
	out := append([]FaultInfo(nil), faultTable...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LookupFault returns the description of a fault switch.
func LookupFault(name string) (FaultInfo, bool) {
	for _, f := range faultTable {
		if string(f.Name) == name {
			return f, true
		}
	}
	return FaultInfo{}, false
}

// FaultSet is a set of switched-on faults.
type FaultSet map[Fault]bool

// ParseFaults builds a FaultSet from names, rejecting unknown ones.
func ParseFaults(names []string) (FaultSet, error) {
	fs := FaultSet{}
	for _, n := range names {
		for _, part := range strings.Split(n, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if _, ok := LookupFault(part); !ok {
				return nil, fmt.Errorf("unknown fault %q (see --list-faults)", part)
			}
			fs[Fault(part)] = true
		}
	}
	return fs, nil
}

// on reports whether fault f is switched on.
func (fs FaultSet) on(f Fault) bool { return fs[f] }

// tolerates reports whether a switched-on "-accepted" fault lets the
// broker carry on past a packet that breaks any of the statements ids.
func (fs FaultSet) tolerates(ids []string) bool {
	for f := range fs {
		if !strings.HasSuffix(string(f), "-accepted") {
			continue
		}
		info, _ := LookupFault(string(f))
		for _, a := range info.Statements {
			for _, id := range ids {
				if a == id {
					return true
				}
			}
		}
	}
	return false
}
