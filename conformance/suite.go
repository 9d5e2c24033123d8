package conformance

import (
	"fmt"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mqtt-check/mqtt-check/reference/probe"
)

// Config holds the timing of a run.
type Config struct {
	// Wait is the deadline for anything the broker must do promptly
	// (default 3s).
	Wait time.Duration
	// Quiet is how long to watch before concluding that something does
	// not happen (default 500ms).
	Quiet time.Duration
	// SpecTimeout bounds each spec (default 60s).
	SpecTimeout time.Duration
	// KeepAliveMargin is the scheduling and network allowance added to
	// 1.5x the keep alive before a broker is late (default 1s).
	KeepAliveMargin time.Duration
	// PcapDir, when set, receives a pcap of the wire transcript of every
	// failed spec (and deviation), which Wireshark and tshark dissect.
	PcapDir string
}

func (c *Config) setDefaults() {
	if c.Wait <= 0 {
		c.Wait = 3 * time.Second
	}
	if c.Quiet <= 0 {
		c.Quiet = 500 * time.Millisecond
	}
	if c.SpecTimeout <= 0 {
		c.SpecTimeout = 60 * time.Second
	}
	if c.KeepAliveMargin <= 0 {
		c.KeepAliveMargin = time.Second
	}
}

// Report entry names the suite attaches to specs; reports read them.
const (
	EntryVerdict    = "verdict"    // pass, fail, info, deviation, could-not-check, skip
	EntryStatements = "statements" // the IDs checked, space separated
	EntryReason     = "reason"     // one line: why it failed, was skipped...
	EntryDetail     = "detail"     // expected / happened
	EntryTranscript = "transcript" // the wire transcript
	EntryTarget     = "target"     // target name
	EntryDeviation  = "deviation"  // evidence of an accepted deviation
	EntryNotes      = "notes"
	EntryPcap       = "pcap" // path of the failure's capture, in Config.PcapDir
)

// downPrefix starts the reason of specs skipped because their target
// stopped answering.
const downPrefix = "target stopped answering: "

// Verdicts.
const (
	VerdictPass          = "pass"
	VerdictFail          = "fail"
	VerdictInfo          = "info"
	VerdictDeviation     = "deviation"
	VerdictCouldNotCheck = "could-not-check"
	VerdictSkip          = "skip"
)

// Build adds one Ginkgo container per target holding every spec that
// applies to its protocol version, labelled with the spec's statement
// IDs, level, area and version. Call it before RunSpecs.
func Build(targets []*Target, cfg Config) {
	cfg.setDefaults()
	specs := Specs()
	for _, tg := range targets {
		tg := tg
		ginkgo.Describe(tg.Name, ginkgo.Label("target-"+tg.Name), func() {
			for _, area := range Areas {
				var in []*Spec
				for _, s := range specs {
					if s.Area == area && s.AppliesTo(tg.Version) {
						in = append(in, s)
					}
				}
				if len(in) == 0 {
					continue
				}
				ginkgo.Describe(string(area), func() {
					for _, s := range in {
						s := s
						labels := append([]string{string(s.Level), string(s.Area), "v" + tg.Version.String()}, s.IDs...)
						ginkgo.It(s.FullName(), ginkgo.Label(labels...), ginkgo.NodeTimeout(cfg.SpecTimeout),
							func(ctx ginkgo.SpecContext) { runSpec(ctx, tg, s, cfg) })
					}
				})
			}
		})
	}
}

func selected(tg *Target, s *Spec) bool {
	if len(tg.Only) == 0 {
		return true
	}
	for _, id := range s.IDs {
		for _, o := range tg.Only {
			if id == o {
				return true
			}
		}
	}
	return false
}

func entry(name string, value any) {
	ginkgo.AddReportEntry(name, value, ginkgo.ReportEntryVisibilityNever)
}

// runSpec runs one spec against one target and turns its outcome into a
// Ginkgo result plus report entries.
func runSpec(ctx ginkgo.SpecContext, tg *Target, s *Spec, cfg Config) {
	entry(EntryTarget, tg.Name)
	entry(EntryStatements, strings.Join(s.IDs, " "))
	if !selected(tg, s) {
		entry(EntryVerdict, VerdictSkip)
		ginkgo.Skip("not selected for this target")
	}
	if msg := tg.down(); msg != "" {
		entry(EntryVerdict, VerdictCouldNotCheck)
		entry(EntryReason, downPrefix+msg)
		ginkgo.Skip("could not check: target stopped answering: " + msg)
	}
	for _, need := range s.Needs {
		if !tg.Has(need) {
			why := fmt.Sprintf("broker lacks %s: %s", need, tg.Why[need])
			entry(EntryVerdict, VerdictSkip)
			entry(EntryReason, why)
			ginkgo.Skip(why)
		}
	}
	t := &T{ctx: ctx, Target: tg, spec: s, cfg: cfg, prefix: tg.nextPrefix(), tr: probe.NewTranscript(),
		retained: map[string]bool{}, persistent: map[string]bool{}}
	res := t.run()
	t.cleanup()
	if len(t.notes) > 0 {
		entry(EntryNotes, strings.Join(t.notes, "\n"))
	}
	dev, expected := tg.Deviations[s.FullName()]
	switch res.kind {
	case passed:
		entry(EntryVerdict, VerdictPass)
		if expected {
			entry(EntryNotes, "the deviation recorded for this target was not observed: "+dev.Evidence)
		}
	case skipped:
		entry(EntryVerdict, VerdictSkip)
		entry(EntryReason, res.message)
		ginkgo.Skip(res.message)
	case couldNotCheck:
		entry(EntryVerdict, VerdictCouldNotCheck)
		entry(EntryReason, res.message)
		entry(EntryTranscript, t.transcript())
		ginkgo.Skip("could not check: " + res.message)
	case failed:
		entry(EntryTranscript, t.transcript())
		if cfg.PcapDir != "" {
			name, err := t.writePcap(cfg.PcapDir)
			if err != nil {
				t.notes = append(t.notes, "could not write the pcap: "+err.Error())
				entry(EntryNotes, strings.Join(t.notes, "\n"))
			} else {
				entry(EntryPcap, name)
			}
		}
		entry(EntryDetail, res.message)
		entry(EntryReason, firstLine(res.message))
		switch {
		case expected:
			entry(EntryVerdict, VerdictDeviation)
			entry(EntryDeviation, dev.Evidence)
		case s.Level != Must:
			entry(EntryVerdict, VerdictInfo)
		default:
			entry(EntryVerdict, VerdictFail)
			ginkgo.Fail(fmt.Sprintf("[%s] %s\n\nwire transcript:\n%s", strings.Join(s.IDs, " "), res.message, t.transcript()))
		}
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " / " + strings.SplitN(s[i+1:], "\n", 2)[0]
	}
	return s
}

// run executes the body, catching the abort panics of Fail and
// CouldNotCheck; any other panic (a bug in a spec, a Gomega failure)
// goes on to Ginkgo.
func (t *T) run() (res abort) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(*abort)
			if !ok {
				panic(r)
			}
			res = *a
		}
	}()
	t.spec.Run(t)
	return abort{kind: passed}
}

// SuiteConfig returns Ginkgo's suite configuration for a run: label
// filter, focus and skip expressions, and a timeout.
func SuiteConfig(labelFilter string, focus, skip []string, timeout time.Duration) types.SuiteConfig {
	sc := types.NewDefaultSuiteConfig()
	sc.LabelFilter = labelFilter
	sc.FocusStrings = focus
	sc.SkipStrings = skip
	if timeout > 0 {
		sc.Timeout = timeout
	}
	return sc
}
