package topics_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mqtt-check/mqtt-check/reference/topics"
)

// ruleOf returns the Rule of err, "" for nil, and fails the test if err is
// not an *Error.
func ruleOf(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *topics.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is %T, want *topics.Error", err, err)
	}
	return e.Rule
}

var (
	maxLen  = strings.Repeat("a", topics.MaxLen)
	tooLong = strings.Repeat("a", topics.MaxLen+1)
)

// sharedRows are inputs that must be treated identically by
// ValidateTopicName and ValidateFilter because they contain no wildcards.
var sharedRows = []struct {
	name  string
	input string
	rule  string
}{
	{"single level", "a", ""},
	{"spec example sport/tennis/player1", "sport/tennis/player1", ""},
	{"spec example with space", "Accounts payable", ""},
	{"single separator is two empty levels", "/", ""},
	{"leading separator", "/finance", ""},
	{"trailing separator", "finance/", ""},
	{"empty middle level", "a//b", ""},
	{"only separators", "///", ""},
	{"dollar topic", "$SYS/broker/uptime", ""},
	{"multibyte UTF-8", "ÜBER/日本/😀", ""},
	{"BOM is not stripped but is valid", "\uFEFFa", ""},
	{"control characters are only SHOULD NOT", "a\x01b\x7f", ""},
	{"exactly 65535 bytes", maxLen, ""},

	{"empty [MQTT-4.7.3-1]", "", "MQTT-4.7.3-1"},
	{"null at start [MQTT-4.7.3-2]", "\x00", "MQTT-4.7.3-2"},
	{"null in level [MQTT-4.7.3-2]", "a/b\x00c", "MQTT-4.7.3-2"},
	{"65536 bytes [MQTT-4.7.3-3]", tooLong, "MQTT-4.7.3-3"},
	{"lone continuation byte [MQTT-1.5.3-1]", "a/\x80", "MQTT-1.5.3-1"},
	{"truncated sequence [MQTT-1.5.3-1]", "a/\xe6\x97", "MQTT-1.5.3-1"},
	{"overlong encoding of slash [MQTT-1.5.3-1]", "a\xc0\xafb", "MQTT-1.5.3-1"},
	{"overlong encoding of null [MQTT-1.5.3-1]", "a\xc0\x80", "MQTT-1.5.3-1"},
	{"surrogate U+D800 [MQTT-1.5.3-1]", "a\xed\xa0\x80", "MQTT-1.5.3-1"},
	{"beyond U+10FFFF [MQTT-1.5.3-1]", "\xf4\x90\x80\x80", "MQTT-1.5.3-1"},
}

func TestValidateTopicName(t *testing.T) {
	rows := append([]struct {
		name  string
		input string
		rule  string
	}{}, sharedRows...)
	rows = append(rows, []struct {
		name  string
		input string
		rule  string
	}{
		{"plus alone [MQTT-4.7.1-1]", "+", "MQTT-4.7.1-1"},
		{"hash alone [MQTT-4.7.1-1]", "#", "MQTT-4.7.1-1"},
		{"plus level [MQTT-4.7.1-1]", "sport/+/player1", "MQTT-4.7.1-1"},
		{"trailing hash level [MQTT-4.7.1-1]", "sport/#", "MQTT-4.7.1-1"},
		{"plus inside level [MQTT-4.7.1-1]", "a+b", "MQTT-4.7.1-1"},
		{"hash inside level [MQTT-4.7.1-1]", "a#b", "MQTT-4.7.1-1"},
		{"first violation wins: null before plus", "a\x00+", "MQTT-4.7.3-2"},
	}...)
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			if got := ruleOf(t, topics.ValidateTopicName([]byte(tc.input))); got != tc.rule {
				t.Errorf("ValidateTopicName(%.40q) rule = %q, want %q", tc.input, got, tc.rule)
			}
		})
	}
}

func TestValidateFilter(t *testing.T) {
	rows := append([]struct {
		name  string
		input string
		rule  string
	}{}, sharedRows...)
	rows = append(rows, []struct {
		name  string
		input string
		rule  string
	}{
		// Valid examples from MQTT 3.1.1 section 4.7.1.
		{"spec: hash alone", "#", ""},
		{"spec: sport/tennis/#", "sport/tennis/#", ""},
		{"spec: plus alone", "+", ""},
		{"spec: +/tennis/#", "+/tennis/#", ""},
		{"spec: sport/+/player1", "sport/+/player1", ""},
		{"spec: +/+", "+/+", ""},
		{"spec: /+", "/+", ""},
		{"plus as empty-level neighbour", "+//+", ""},
		{"plus then hash", "+/#", ""},
		{"hash after empty level", "a//#", ""},
		{"hash after leading separator", "/#", ""},
		{"dollar filter", "$SYS/#", ""},
		{"shared subscription is a plain filter in 3.1.1", "$share/g/a/+", ""},

		// MQTT-4.7.1-2: '#' alone at its level and last.
		{"spec: sport/tennis# [MQTT-4.7.1-2]", "sport/tennis#", "MQTT-4.7.1-2"},
		{"spec: sport/tennis/#/ranking [MQTT-4.7.1-2]", "sport/tennis/#/ranking", "MQTT-4.7.1-2"},
		{"hash not last [MQTT-4.7.1-2]", "a/#/b", "MQTT-4.7.1-2"},
		{"hash followed by empty level [MQTT-4.7.1-2]", "#/", "MQTT-4.7.1-2"},
		{"hash prefix of level [MQTT-4.7.1-2]", "a/#b", "MQTT-4.7.1-2"},
		{"double hash [MQTT-4.7.1-2]", "##", "MQTT-4.7.1-2"},
		{"two hash levels [MQTT-4.7.1-2]", "#/#", "MQTT-4.7.1-2"},

		// MQTT-4.7.1-3: '+' occupies an entire level.
		{"spec: sport+ [MQTT-4.7.1-3]", "sport+", "MQTT-4.7.1-3"},
		{"plus prefix of level [MQTT-4.7.1-3]", "+a", "MQTT-4.7.1-3"},
		{"plus in middle level [MQTT-4.7.1-3]", "a/b+c/d", "MQTT-4.7.1-3"},
		{"double plus [MQTT-4.7.1-3]", "++", "MQTT-4.7.1-3"},
		{"plus then hash in one level [MQTT-4.7.1-3]", "+#", "MQTT-4.7.1-3"},
		{"hash then plus in one level [MQTT-4.7.1-2]", "#+", "MQTT-4.7.1-2"},
	}...)
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			if got := ruleOf(t, topics.ValidateFilter([]byte(tc.input))); got != tc.rule {
				t.Errorf("ValidateFilter(%.40q) rule = %q, want %q", tc.input, got, tc.rule)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"hash not last", topics.ValidateFilter([]byte("a/#/b")),
			`topic filter "a/#/b": '#' must be the last level [MQTT-4.7.1-2]`},
		{"wildcard in name", topics.ValidateTopicName([]byte("a/+")),
			`topic name "a/+": must not contain the wildcard '+' [MQTT-4.7.1-1]`},
		{"null is quoted", topics.ValidateTopicName([]byte("a\x00")),
			`topic name "a\x00": must not contain the null character U+0000 [MQTT-4.7.3-2]`},
		{"long input is truncated", topics.ValidateTopicName([]byte(tooLong)),
			`topic name "` + tooLong[:128] + `"... (65536 bytes): must not exceed 65535 bytes, is 65536 [MQTT-4.7.3-3]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("got nil error")
			}
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}

	// The error must not alias the caller's buffer, which a broker reuses
	// for the next packet.
	buf := []byte("a/#/b")
	err := topics.ValidateFilter(buf)
	copy(buf, "xxxxx")
	var e *topics.Error
	if !errors.As(err, &e) || e.Topic != "a/#/b" || e.Kind != "topic filter" {
		t.Errorf("error = %#v after reusing buffer", e)
	}
}

func TestHasWildcard(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", false},
		{"a/b/c", false},
		{"$SYS/x", false},
		{"+", true},
		{"#", true},
		{"a/+/c", true},
		{"a/#", true},
		{"a+b", true}, // not a valid filter, but still contains a wildcard
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := topics.HasWildcard([]byte(tc.in)); got != tc.want {
				t.Errorf("HasWildcard(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseShared(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		share  string
		inner  string
		ok     bool
		rule   string
	}{
		{"plain filter", "a/+/c", "", "a/+/c", false, ""},
		{"plain invalid filter is validated", "a/#/c", "", "", false, "MQTT-4.7.1-2"},
		{"plain empty filter", "", "", "", false, "MQTT-4.7.3-1"},
		{"$share without slash is a plain filter", "$share", "", "$share", false, ""},
		{"$shared prefix is a plain filter", "$shared/g/a", "", "$shared/g/a", false, ""},
		{"prefix is case sensitive", "$SHARE/g/a", "", "$SHARE/g/a", false, ""},

		{"simple", "$share/group/a/b", "group", "a/b", true, ""},
		{"inner wildcard", "$share/g/sport/+/player1", "g", "sport/+/player1", true, ""},
		{"inner hash", "$share/g/#", "g", "#", true, ""},
		{"inner plus", "$share/g/+", "g", "+", true, ""},
		{"inner leading empty level", "$share/g//a", "g", "/a", true, ""},
		{"inner dollar filter", "$share/g/$SYS/#", "g", "$SYS/#", true, ""},
		{"multibyte share name", "$share/グループ/a", "グループ", "a", true, ""},
		{"one character share name", "$share/x/y", "x", "y", true, ""},

		{"no share name [MQTT-4.8.2-1]", "$share/", "", "", true, "MQTT-4.8.2-1"},
		{"empty share name [MQTT-4.8.2-1]", "$share//a", "", "", true, "MQTT-4.8.2-1"},
		{"share name without filter [MQTT-4.8.2-2]", "$share/g", "", "", true, "MQTT-4.8.2-2"},
		{"share name with empty filter [MQTT-4.8.2-2]", "$share/g/", "", "", true, "MQTT-4.8.2-2"},
		{"plus share name [MQTT-4.8.2-2]", "$share/+/a", "", "", true, "MQTT-4.8.2-2"},
		{"hash share name [MQTT-4.8.2-2]", "$share/#", "", "", true, "MQTT-4.8.2-2"},
		{"wildcard inside share name [MQTT-4.8.2-2]", "$share/g+/a", "", "", true, "MQTT-4.8.2-2"},
		{"null in share name [MQTT-4.7.3-2]", "$share/g\x00/a", "", "", true, "MQTT-4.7.3-2"},
		{"bad UTF-8 in share name [MQTT-1.5.3-1]", "$share/\xff/a", "", "", true, "MQTT-1.5.3-1"},
		{"too long [MQTT-4.7.3-3]", "$share/g/" + tooLong, "", "", true, "MQTT-4.7.3-3"},
		{"invalid inner filter [MQTT-4.7.1-2]", "$share/g/a/#/b", "", "", true, "MQTT-4.7.1-2"},
		{"invalid inner plus [MQTT-4.7.1-3]", "$share/g/a+", "", "", true, "MQTT-4.7.1-3"},
		{"null in inner filter [MQTT-4.7.3-2]", "$share/g/a\x00", "", "", true, "MQTT-4.7.3-2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			share, inner, ok, err := topics.ParseShared([]byte(tc.filter))
			if got := ruleOf(t, err); got != tc.rule {
				t.Fatalf("ParseShared(%.40q) rule = %q (%v), want %q", tc.filter, got, err, tc.rule)
			}
			if ok != tc.ok || string(share) != tc.share || string(inner) != tc.inner {
				t.Errorf("ParseShared(%.40q) = %q, %q, %v; want %q, %q, %v",
					tc.filter, share, inner, ok, tc.share, tc.inner, tc.ok)
			}
			if err != nil {
				if share != nil || inner != nil {
					t.Errorf("share, inner = %q, %q with error; want nil", share, inner)
				}
				var e *topics.Error
				errors.As(err, &e)
				if e.Topic != tc.filter {
					t.Errorf("error reports topic %.40q, want the whole filter %.40q", e.Topic, tc.filter)
				}
			}
		})
	}
}

// matchRows holds (filter, name) cases. The first block is every example
// from MQTT 3.1.1 section 4.7.
var matchRows = []struct {
	name   string
	filter string
	topic  string
	want   bool
}{
	// 4.7.1.2 Multi-level wildcard.
	{"spec: player1/# matches parent", "sport/tennis/player1/#", "sport/tennis/player1", true},
	{"spec: player1/# matches child", "sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
	{"spec: player1/# matches grandchild", "sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
	{"spec: sport/# matches sport", "sport/#", "sport", true},
	{"spec: # matches everything", "#", "sport/tennis/player1", true},
	{"spec: sport/tennis/# matches", "sport/tennis/#", "sport/tennis/player2", true},
	// 4.7.1.3 Single-level wildcard.
	{"spec: tennis/+ matches player1", "sport/tennis/+", "sport/tennis/player1", true},
	{"spec: tennis/+ matches player2", "sport/tennis/+", "sport/tennis/player2", true},
	{"spec: tennis/+ does not match deeper", "sport/tennis/+", "sport/tennis/player1/ranking", false},
	{"spec: sport/+ does not match sport", "sport/+", "sport", false},
	{"spec: sport/+ matches sport/", "sport/+", "sport/", true},
	{"spec: +/+ matches /finance", "+/+", "/finance", true},
	{"spec: /+ matches /finance", "/+", "/finance", true},
	{"spec: + does not match /finance", "+", "/finance", false},
	{"spec: sport/+/player1", "sport/+/player1", "sport/tennis/player1", true},
	{"spec: +/tennis/#", "+/tennis/#", "sport/tennis/player1/ranking", true},
	// 4.7.2 Topics beginning with $.
	{"spec: # does not match $SYS [MQTT-4.7.2-1]", "#", "$SYS/broker/clients", false},
	{"spec: # does not match bare $SYS [MQTT-4.7.2-1]", "#", "$SYS", false},
	{"spec: +/monitor/Clients does not match $SYS [MQTT-4.7.2-1]", "+/monitor/Clients", "$SYS/monitor/Clients", false},
	{"spec: $SYS/# matches $SYS topic", "$SYS/#", "$SYS/monitor/Clients", true},
	{"spec: $SYS/monitor/+ matches", "$SYS/monitor/+", "$SYS/monitor/Clients", true},
	{"$SYS/# matches $SYS", "$SYS/#", "$SYS", true},
	{"+/# does not match $ topic [MQTT-4.7.2-1]", "+/#", "$SYS/x", false},
	{"+ does not match lone $ [MQTT-4.7.2-1]", "+", "$", false},
	{"$ rule only applies to first level", "a/+", "a/$b", true},
	{"# under literal matches $ level", "a/#", "a/$SYS/x", true},
	{"literal $ filter", "$", "$", true},
	// 4.7.3 Topic semantic and usage.
	{"spec: case sensitive", "ACCOUNTS", "Accounts", false},
	{"spec: /finance differs from finance", "/finance", "finance", false},
	{"no normalisation of composed vs decomposed é [MQTT-4.7.3-4]", "caf\u00e9", "cafe\u0301", false},
	{"raw bytes equal", "caf\u00e9/+", "caf\u00e9/x", true},

	// Empty levels and edge cases.
	{"exact", "a/b/c", "a/b/c", true},
	{"filter longer", "a/b/c", "a/b", false},
	{"name longer", "a/b", "a/b/c", false},
	{"prefix is not a level", "a/b", "a/bc", false},
	{"level prefix is not a level", "a/bc", "a/b", false},
	{"trailing slash differs", "a/b", "a/b/", false},
	{"empty middle level exact", "a//b", "a//b", true},
	{"plus matches empty middle level", "a/+/b", "a//b", true},
	{"plus matches empty first level", "+/a", "/a", true},
	{"plus matches empty last level", "a/+", "a/", true},
	{"plus plus matches lone slash", "+/+", "/", true},
	{"plus does not match lone slash", "+", "/", false},
	{"hash matches lone slash", "#", "/", true},
	{"slash-hash matches lone slash", "/#", "/", true},
	{"slash-hash matches empty first level only", "/#", "", true},
	{"a/# matches a/", "a/#", "a/", true},
	{"a/# does not match ab", "a/#", "ab", false},
	{"a/+/# matches a/b", "a/+/#", "a/b", true},
	{"a/+/# does not match a", "a/+/#", "a", false},
	{"+/# matches single level", "+/#", "a", true},
	{"many levels", "+/+/+/+/+/+/+/+/#", "1/2/3/4/5/6/7/8/9/10", true},
	{"many levels short", "+/+/+/+/+/+/+/+/+/+/+", "1/2/3/4/5/6/7/8/9/10", false},

	// Names are not validated by Match; they are compared literally.
	{"empty name vs hash", "#", "", true},
	{"empty name vs plus", "+", "", true},
	{"empty name vs literal", "a", "", false},
	{"name containing plus matches plus", "+/+", "a/+", true},
	{"name containing plus is literal", "a/b", "a/+", false},
	{"name hash level vs +", "a/+", "a/#", true},
}

func TestMatch(t *testing.T) {
	for _, tc := range matchRows {
		t.Run(tc.name, func(t *testing.T) {
			if err := topics.ValidateFilter([]byte(tc.filter)); err != nil {
				t.Fatalf("test filter is invalid: %v", err)
			}
			if got := topics.Match([]byte(tc.filter), []byte(tc.topic)); got != tc.want {
				t.Errorf("Match(%q, %q) = %v, want %v", tc.filter, tc.topic, got, tc.want)
			}
			if got := refMatch(tc.filter, tc.topic); got != tc.want {
				t.Errorf("reference matcher disagrees: refMatch(%q, %q) = %v", tc.filter, tc.topic, got)
			}
		})
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	filter := []byte("sport/+/player1/#")
	name := []byte("sport/tennis/player1/score/wimbledon")
	if n := testing.AllocsPerRun(100, func() { topics.Match(filter, name) }); n != 0 {
		t.Errorf("Match allocates %v times per call, want 0", n)
	}
}

// TestMatchInvalidFilterNoPanic pins down only that invalid filters are
// tolerated; their result is unspecified.
func TestMatchInvalidFilterNoPanic(t *testing.T) {
	for _, f := range []string{"", "a/#/b", "#/", "##", "a+", "+a/b", "\x00", "\xff"} {
		for _, n := range []string{"", "a", "a/b", "$x", "/", "\xff"} {
			topics.Match([]byte(f), []byte(n))
		}
	}
}

// refMatch is an independent, deliberately naive implementation of the
// matching rules over split levels, used as an oracle.
func refMatch(filter, name string) bool {
	if strings.HasPrefix(name, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	fs := strings.Split(filter, "/")
	ns := strings.Split(name, "/")
	for i, f := range fs {
		if f == "#" {
			return true // the validator guarantees this is the last level
		}
		if i >= len(ns) {
			return false
		}
		if f != "+" && f != ns[i] {
			return false
		}
	}
	return len(fs) == len(ns)
}
