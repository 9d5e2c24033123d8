package conformance

import (
	"fmt"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
)

// RunOptions configure one run of the suite from a program (the
// mqtt-check binary) rather than from go test.
type RunOptions struct {
	Targets     []*Target
	Config      Config
	LabelFilter string
	Focus, Skip []string
	// Timeout bounds the whole run (default 30 minutes).
	Timeout time.Duration
	// JUnitReport and JSONReport, when set, are files Ginkgo's own
	// reporters write.
	JUnitReport, JSONReport string
	Verbose, NoColor        bool
}

// Outcome is what a run produced.
type Outcome struct {
	Report  types.Report
	Results []Result
}

// Failed reports whether any MUST spec failed.
func (o *Outcome) Failed() bool {
	for _, r := range o.Results {
		if r.Verdict == VerdictFail {
			return true
		}
	}
	return false
}

// recorder is the GinkgoTestingT of a run outside go test: the verdict
// comes from the report, not from this.
type recorder struct{ failed bool }

func (r *recorder) Fail() { r.failed = true }

// Run builds the suite for the targets and runs it once. Ginkgo allows a
// single run per process.
func Run(opts RunOptions) (*Outcome, error) {
	if err := Validate(); err != nil {
		return nil, fmt.Errorf("conformance: invalid suite: %w", err)
	}
	if len(opts.Targets) == 0 {
		return nil, fmt.Errorf("conformance: no target")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Minute
	}
	out := &Outcome{}
	ginkgo.ReportAfterSuite("mqtt-check results", func(r types.Report) { out.Report = r })
	Build(opts.Targets, opts.Config)
	sc := SuiteConfig(opts.LabelFilter, opts.Focus, opts.Skip, opts.Timeout)
	rc := types.NewDefaultReporterConfig()
	rc.Succinct = !opts.Verbose
	rc.Verbose = opts.Verbose
	rc.NoColor = opts.NoColor
	rc.JUnitReport = opts.JUnitReport
	rc.JSONReport = opts.JSONReport
	ginkgo.RunSpecs(&recorder{}, "mqtt-check conformance", sc, rc)
	out.Results = Results(out.Report)
	return out, nil
}
