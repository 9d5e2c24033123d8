package load

import (
	"context"
	"fmt"
	"strings"

	"github.com/mqtt-check/mqtt-check/reports"
)

// FindMaxOptions tune the rate search.
type FindMaxOptions struct {
	// Factor multiplies the rate after each step that held (default 2).
	Factor float64
	// Precision stops the bisection once the gap between the highest
	// rate that held and the lowest that broke is below this fraction
	// (default 0.05).
	Precision float64
	// MaxSteps bounds the number of runs (default 16).
	MaxSteps int
	// Step, when set, is called after each run.
	Step func(reports.LoadFindMaxStep)
}

// FindMax runs the scenario at cfg.Rate, then at higher and higher rates
// (multiplying by Factor) until a run breaks the objective, then bisects
// between the last rate that held and the first that broke. A step holds
// when the SLO passes and every scheduled message was sent (a rate the
// publishers could not reach has not been shown to hold). It returns the
// result of the highest rate that held (or of the first step, if none
// did) with the search in its FindMax field.
func FindMax(ctx context.Context, cfg Config, slo *reports.LoadSLO, opts FindMaxOptions) (*reports.LoadResult, error) {
	if cfg.ClosedLoop {
		return nil, fmt.Errorf("%w: --find-max needs the open loop (a target rate to raise)", ErrConfig)
	}
	if opts.Factor <= 1 {
		opts.Factor = 2
	}
	if opts.Precision <= 0 {
		opts.Precision = 0.05
	}
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = 16
	}
	cfg.Defaults()
	baseID := cfg.RunID
	fm := &reports.LoadFindMax{}
	var best, first *reports.LoadResult
	lo, hi := 0.0, 0.0 // highest rate that held, lowest that broke
	rate := cfg.Rate
	for step := 0; step < opts.MaxSteps; step++ {
		c := cfg
		c.Rate = rate
		c.RunID = fmt.Sprintf("%s%d", baseID, step)
		r, err := Run(ctx, c)
		if err != nil {
			return nil, err
		}
		r.SLO = slo.Evaluate(r)
		st := reports.LoadFindMaxStep{Rate: rate, ReceivedPerS: r.Throughput.ReceivedPerS, Lost: r.Counters.Lost, Unsent: r.Counters.Unsent}
		if h := r.Latency[reports.MetricE2E]; h != nil {
			st.P99Ms = h.P99Ms
		}
		var why []string
		if !r.SLO.Passed {
			why = append(why, r.SLO.Failures()...)
		}
		if r.Counters.Unsent > 0 {
			why = append(why, fmt.Sprintf("%d messages not sent: the publishers could not reach the rate", r.Counters.Unsent))
		}
		st.Passed = len(why) == 0
		st.Why = strings.Join(why, "; ")
		fm.Steps = append(fm.Steps, st)
		if opts.Step != nil {
			opts.Step(st)
		}
		if first == nil {
			first = r
		}
		if st.Passed {
			lo, best = rate, r
		} else {
			hi = rate
		}
		switch {
		case hi == 0:
			rate *= opts.Factor
		case lo == 0 && step == 0:
			// The first rate already broke: search below it.
			rate /= opts.Factor
		case lo == 0:
			if hi < 1 {
				step = opts.MaxSteps
			}
			rate = hi / opts.Factor
		default:
			if (hi-lo)/lo <= opts.Precision {
				step = opts.MaxSteps
			}
			rate = (lo + hi) / 2
		}
	}
	fm.MaxRate = lo
	out := best
	if out == nil {
		out = first
	}
	out.FindMax = fm
	return out, nil
}
