package conformance

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// Result is the outcome of one spec against one target, read back from
// the report entries runSpec attached.
type Result struct {
	Target     string        `json:"target"`
	Area       string        `json:"area"`
	Level      string        `json:"level"`
	Name       string        `json:"name"`
	Statements []string      `json:"statements,omitempty"`
	Verdict    string        `json:"verdict"`
	Reason     string        `json:"reason,omitempty"`
	Detail     string        `json:"detail,omitempty"`
	Transcript string        `json:"transcript,omitempty"`
	Deviation  string        `json:"deviation,omitempty"`
	Pcap       string        `json:"pcap,omitempty"`
	Notes      string        `json:"notes,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
	// Location is the spec's source file and line.
	Location string `json:"location,omitempty"`
}

// Results extracts one Result per spec that ran or was skipped from a
// Ginkgo report. Specs filtered out by labels or focus are left out.
func Results(r types.Report) []Result {
	var out []Result
	for _, sr := range r.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt || len(sr.ContainerHierarchyTexts) < 2 {
			continue
		}
		res := Result{Target: sr.ContainerHierarchyTexts[0], Area: sr.ContainerHierarchyTexts[1],
			Name: sr.LeafNodeText, Duration: sr.RunTime, Location: sr.LeafNodeLocation.String()}
		for _, l := range sr.Labels() {
			switch Level(l) {
			case Must, Should, May:
				res.Level = l
			}
		}
		for _, e := range sr.ReportEntries {
			v := e.StringRepresentation()
			switch e.Name {
			case EntryVerdict:
				res.Verdict = v
			case EntryStatements:
				res.Statements = strings.Fields(v)
			case EntryReason:
				res.Reason = v
			case EntryDetail:
				res.Detail = v
			case EntryTranscript:
				res.Transcript = v
			case EntryDeviation:
				res.Deviation = v
			case EntryNotes:
				res.Notes = v
			case EntryPcap:
				res.Pcap = v
			}
		}
		switch {
		case sr.State.Is(types.SpecStatePending) || (sr.State == types.SpecStateSkipped && res.Verdict == ""):
			// Filtered out by the user's label filter, focus or skip.
			continue
		case sr.State.Is(types.SpecStateFailureStates) && res.Verdict != VerdictFail:
			// A panic, a timeout or an interrupt: the spec itself broke.
			res.Verdict = VerdictCouldNotCheck
			res.Reason = sr.State.String() + ": " + firstLine(sr.Failure.Message)
			res.Detail = sr.Failure.Message
		case res.Verdict == "":
			res.Verdict = VerdictCouldNotCheck
			res.Reason = "spec ended as " + sr.State.String()
		}
		out = append(out, res)
	}
	return out
}

// Tally counts results by verdict.
type Tally map[string]int

// Summary groups results by target, then area and level.
type Summary struct {
	ByTarget map[string]Tally
	ByArea   map[string]map[string]Tally // target -> area -> tally
	ByLevel  map[string]map[string]Tally // target -> level -> tally
	Failures []Result
	// Down holds, per target that stopped answering during the run, the
	// first message saying so: reported once, not per spec.
	Down map[string]string
}

// Summarize tallies results.
func Summarize(rs []Result) Summary {
	s := Summary{ByTarget: map[string]Tally{}, ByArea: map[string]map[string]Tally{}, ByLevel: map[string]map[string]Tally{}}
	for _, r := range rs {
		if s.ByTarget[r.Target] == nil {
			s.ByTarget[r.Target] = Tally{}
			s.ByArea[r.Target] = map[string]Tally{}
			s.ByLevel[r.Target] = map[string]Tally{}
		}
		if s.ByArea[r.Target][r.Area] == nil {
			s.ByArea[r.Target][r.Area] = Tally{}
		}
		if s.ByLevel[r.Target][r.Level] == nil {
			s.ByLevel[r.Target][r.Level] = Tally{}
		}
		s.ByTarget[r.Target][r.Verdict]++
		s.ByArea[r.Target][r.Area][r.Verdict]++
		s.ByLevel[r.Target][r.Level][r.Verdict]++
		if r.Verdict == VerdictFail {
			s.Failures = append(s.Failures, r)
		}
		if r.Verdict == VerdictCouldNotCheck && strings.HasPrefix(r.Reason, downPrefix) && s.Down[r.Target] == "" {
			if s.Down == nil {
				s.Down = map[string]string{}
			}
			s.Down[r.Target] = strings.TrimPrefix(r.Reason, downPrefix)
		}
	}
	return s
}

// verdictOrder is the column order of tallies.
var verdictOrder = []string{VerdictPass, VerdictFail, VerdictDeviation, VerdictInfo, VerdictSkip, VerdictCouldNotCheck}

// WriteText writes the summary a person reads after a run: per target a
// table by area with a column per verdict, then every failure with its
// statements and one-line reason.
func (s Summary) WriteText(b *strings.Builder) {
	targets := make([]string, 0, len(s.ByTarget))
	for t := range s.ByTarget {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	for _, t := range targets {
		fmt.Fprintf(b, "\n%s\n", t)
		fmt.Fprintf(b, "  %-12s", "area")
		for _, v := range verdictOrder {
			fmt.Fprintf(b, " %8s", shortVerdict(v))
		}
		b.WriteString("\n")
		for _, a := range Areas {
			tl := s.ByArea[t][string(a)]
			if tl == nil {
				continue
			}
			writeRow(b, string(a), tl)
		}
		for _, l := range []Level{Must, Should, May} {
			if tl := s.ByLevel[t][string(l)]; tl != nil {
				writeRow(b, "level "+string(l), tl)
			}
		}
		writeRow(b, "total", s.ByTarget[t])
	}
	if len(s.Down) > 0 {
		b.WriteString("\n")
		for _, t := range targets {
			if msg := s.Down[t]; msg != "" {
				fmt.Fprintf(b, "TARGET STOPPED ANSWERING: %s: %s; the specs after it could not be checked.\n", t, msg)
			}
		}
	}
	if len(s.Failures) > 0 {
		fmt.Fprintf(b, "\nMUST failures (%d):\n", len(s.Failures))
		for _, f := range s.Failures {
			fmt.Fprintf(b, "  [%s] %s\n      %s\n", f.Target, f.Name, f.Reason)
		}
	}
}

func shortVerdict(v string) string {
	if v == VerdictCouldNotCheck {
		return "unchecked"
	}
	return v
}

func writeRow(b *strings.Builder, name string, tl Tally) {
	fmt.Fprintf(b, "  %-12s", name)
	for _, v := range verdictOrder {
		fmt.Fprintf(b, " %8d", tl[v])
	}
	b.WriteString("\n")
}
