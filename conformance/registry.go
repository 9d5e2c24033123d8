// Package conformance holds the MQTT conformance suite: Ginkgo v2 specs,
// each checking one rule of the specification and labelled with the
// normative statement IDs it checks, plus the machinery to run them
// against one or more target brokers as a CI gate.
//
// Specs register themselves (Register) at init; Build turns the registry
// into a Ginkgo tree with one copy of every spec per target, so one
// RunSpecs call checks several brokers.
package conformance

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/conformance/catalogue"
)

// Level is how strongly the specification asks for the behaviour. Only
// MUST failures fail a run; SHOULD and MAY findings are information.
type Level string

// Levels.
const (
	Must   Level = "must"
	Should Level = "should"
	May    Level = "may"
)

// Area groups specs for reports and label filters.
type Area string

// The closed set of areas.
const (
	AreaConnect   Area = "connect"
	AreaPublish   Area = "publish"
	AreaQoS       Area = "qos"
	AreaSubscribe Area = "subscribe"
	AreaRetain    Area = "retain"
	AreaWill      Area = "will"
	AreaKeepAlive Area = "keepalive"
	AreaSession   Area = "session"
	AreaTopics    Area = "topics"
	AreaMalformed Area = "malformed"
	AreaAuth      Area = "auth"
	AreaTLS       Area = "tls"
	AreaWebSocket Area = "websocket"
)

// Areas lists every area in report order.
var Areas = []Area{AreaConnect, AreaPublish, AreaQoS, AreaSubscribe, AreaRetain, AreaWill,
	AreaKeepAlive, AreaSession, AreaTopics, AreaMalformed, AreaAuth, AreaTLS, AreaWebSocket}

// Spec is one conformance check.
type Spec struct {
	// Name says what the broker must do, as a sentence fragment:
	// "closes a connection silent beyond 1.5x the keep alive".
	Name string
	// IDs are the normative statements the spec checks (at least one
	// for MUST specs).
	IDs   []string
	Level Level
	Area  Area
	// Versions the spec applies to; nil means MQTT 3.1 and 3.1.1.
	Versions []codec.Version
	// Needs are the optional capabilities without which the spec is
	// skipped with a reason.
	Needs []Capability
	// Run is the spec body.
	Run func(t *T)

	file string
	line int
}

// FullName is the spec's name with its statement IDs, unique in the suite.
func (s *Spec) FullName() string {
	if len(s.IDs) == 0 {
		return s.Name
	}
	return strings.Join(s.IDs, " ") + " " + s.Name
}

// Location is where the spec was registered.
func (s *Spec) Location() string { return fmt.Sprintf("%s:%d", s.file, s.line) }

// AppliesTo reports whether the spec is meant for protocol level v.
func (s *Spec) AppliesTo(v codec.Version) bool {
	if len(s.Versions) == 0 {
		return v == codec.V31 || v == codec.V311
	}
	for _, x := range s.Versions {
		if x == v {
			return true
		}
	}
	return false
}

var registry []*Spec

// Register adds a spec to the suite. It returns true so that spec files
// can register at package level: var _ = Register(...).
func Register(s Spec) bool {
	_, file, line, _ := runtime.Caller(1)
	if i := strings.LastIndex(file, "/conformance/"); i >= 0 {
		file = file[i+1:]
	}
	s.file, s.line = file, line
	registry = append(registry, &s)
	return true
}

// Specs returns every registered spec, sorted by area then name.
func Specs() []*Spec {
	out := append([]*Spec(nil), registry...)
	order := map[Area]int{}
	for i, a := range Areas {
		order[a] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Area != out[j].Area {
			return order[out[i].Area] < order[out[j].Area]
		}
		return out[i].FullName() < out[j].FullName()
	})
	return out
}

// Validate checks the registry and reports every mistake at once, each
// with its file:line: unknown statement IDs, MUST specs without IDs,
// unknown areas or levels, duplicate names, missing bodies.
func Validate() error {
	cat := catalogue.MQTT311()
	var errs []error
	seen := map[string]string{}
	areas := map[Area]bool{}
	for _, a := range Areas {
		areas[a] = true
	}
	for _, s := range registry {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: spec %q: %s", s.Location(), s.Name, fmt.Sprintf(format, args...)))
		}
		if prev, dup := seen[s.FullName()]; dup {
			bad("same name as the spec at %s", prev)
		}
		seen[s.FullName()] = s.Location()
		for _, id := range s.IDs {
			if _, ok := cat.Lookup(id); !ok {
				bad("unknown statement id %s", id)
			}
		}
		switch s.Level {
		case Must:
			if len(s.IDs) == 0 {
				bad("a MUST spec names no statement")
			}
		case Should, May:
		default:
			bad("unknown level %q", s.Level)
		}
		if !areas[s.Area] {
			bad("unknown area %q", s.Area)
		}
		if s.Run == nil {
			bad("no body")
		}
		for _, n := range s.Needs {
			if !knownCapability(n) {
				bad("unknown capability %q", n)
			}
		}
	}
	return errors.Join(errs...)
}

// Checked returns the statement IDs checked by at least one spec.
func Checked() map[string]bool {
	m := map[string]bool{}
	for _, s := range registry {
		for _, id := range s.IDs {
			m[id] = true
		}
	}
	return m
}
