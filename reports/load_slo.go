package reports

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrLoadSLO is wrapped by every objective syntax error.
var ErrLoadSLO = errors.New("invalid LoadSLO")

// LoadSLO is a parsed service level objective: terms that must all hold.
//
// Syntax: terms separated by commas, each "NAME OP VALUE" with OP one of
// < <= = >= >:
//
//	p50, p90, p99, p99.9 ... (any percentile), max, mean
//	    end-to-end latency (from the intended send time); prefix with a
//	    metric to judge another one: service.p99, connect.p99,
//	    suback.max, puback.p99.9, pubcomp.p99, retained.p99, send_lag.p99.
//	    VALUE is a duration: 20ms, 1.5s, 800us.
//	loss                lost deliveries: a count (loss=0) or a percentage
//	                    of expected ones (loss<0.1%)
//	dup, ooo, unexpected, failed, unsent, errors, conn_failed, conn_lost
//	                    counts (dup=0)
//	throughput          received messages per second (throughput>=9000)
//
// Example: "p99<20ms,loss=0,connect.p99<100ms".
type LoadSLO struct {
	Expr  string
	terms []loadSLOTerm
}

type loadSLOTerm struct {
	text   string
	metric string  // latency metric, or "" for counters
	stat   string  // pNN, max, mean; or the counter name
	pct    float64 // percentile for pNN
	op     string
	value  float64 // nsToMs for latency; count, ratio or rate otherwise
	ratio  bool    // loss given in percent
}

var loadSLOOps = []string{"<=", ">=", "==", "<", ">", "="}

// ParseLoadSLO parses an objective.
func ParseLoadSLO(expr string) (*LoadSLO, error) {
	s := &LoadSLO{Expr: expr}
	for _, raw := range strings.Split(expr, ",") {
		t := strings.TrimSpace(raw)
		if t == "" {
			continue
		}
		term, err := parseLoadSLOTerm(t)
		if err != nil {
			return nil, err
		}
		s.terms = append(s.terms, term)
	}
	if len(s.terms) == 0 {
		return nil, fmt.Errorf("%w: %q has no terms", ErrLoadSLO, expr)
	}
	return s, nil
}

func parseLoadSLOTerm(t string) (loadSLOTerm, error) {
	term := loadSLOTerm{text: t}
	i, op := -1, ""
	for _, o := range loadSLOOps {
		if j := strings.Index(t, o); j > 0 && (i < 0 || j < i || (j == i && len(o) > len(op))) {
			i, op = j, o
		}
	}
	if i < 0 {
		return term, fmt.Errorf("%w: term %q has no comparison (<, <=, =, >=, >)", ErrLoadSLO, t)
	}
	name, val := strings.TrimSpace(t[:i]), strings.TrimSpace(t[i+len(op):])
	if op == "==" {
		op = "="
	}
	term.op = op
	metric, stat, hasMetric := strings.Cut(name, ".")
	if !hasMetric || (len(metric) > 1 && metric[0] == 'p' && sloDigits(metric[1:])) {
		metric, stat = "", name
	}
	isLatency := stat == "max" || stat == "mean" || (strings.HasPrefix(stat, "p") && len(stat) > 1 && sloNumber(stat[1:]))
	if isLatency {
		if metric == "" {
			metric = MetricE2E
		}
		known := false
		for _, m := range LatencyMetrics {
			known = known || m == metric
		}
		if !known {
			return term, fmt.Errorf("%w: term %q: unknown metric %q (one of %s)", ErrLoadSLO, t, metric, strings.Join(LatencyMetrics, ", "))
		}
		term.metric, term.stat = metric, stat
		if strings.HasPrefix(stat, "p") {
			term.stat = "p"
			p, _ := strconv.ParseFloat(stat[1:], 64)
			if p <= 0 || p > 100 {
				return term, fmt.Errorf("%w: term %q: percentile out of range", ErrLoadSLO, t)
			}
			term.pct = p
		}
		d, err := time.ParseDuration(val)
		if err != nil {
			return term, fmt.Errorf("%w: term %q: %q is not a duration (20ms, 1s)", ErrLoadSLO, t, val)
		}
		term.value = float64(d) / 1e6
		return term, nil
	}
	if metric != "" {
		return term, fmt.Errorf("%w: term %q: only latency figures take a metric prefix", ErrLoadSLO, t)
	}
	switch stat {
	case "loss", "dup", "ooo", "unexpected", "failed", "unsent", "errors", "conn_failed", "conn_lost", "throughput":
	default:
		return term, fmt.Errorf("%w: term %q: unknown figure %q", ErrLoadSLO, t, stat)
	}
	term.stat = stat
	if strings.HasSuffix(val, "%") {
		if stat != "loss" {
			return term, fmt.Errorf("%w: term %q: only loss takes a percentage", ErrLoadSLO, t)
		}
		term.ratio = true
		val = strings.TrimSuffix(val, "%")
	}
	v, err := strconv.ParseFloat(val, 64)
	if err != nil {
		return term, fmt.Errorf("%w: term %q: %q is not a number", ErrLoadSLO, t, val)
	}
	if term.ratio {
		v /= 100
	}
	term.value = v
	return term, nil
}

func sloDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func sloNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func sloCompare(a float64, op string, b float64) bool {
	switch op {
	case "<":
		return a < b
	case "<=":
		return a <= b
	case "=":
		return a == b
	case ">=":
		return a >= b
	case ">":
		return a > b
	}
	return false
}

// Evaluate judges r. A latency term on a metric with no values fails
// (an objective nobody measured is not met).
func (s *LoadSLO) Evaluate(r *LoadResult) *LoadSLOResult {
	out := &LoadSLOResult{Expr: s.Expr, Passed: true}
	for _, t := range s.terms {
		var measured string
		var ok bool
		if t.metric != "" {
			h := r.Latency[t.metric]
			if h == nil || h.Count == 0 {
				measured = "no values"
			} else {
				var v float64
				switch t.stat {
				case "max":
					v = h.MaxMs
				case "mean":
					v = h.MeanMs
				default:
					pv, err := h.Percentile(t.pct)
					if err != nil {
						measured = err.Error()
						break
					}
					v = pv
				}
				if measured == "" {
					measured = fmtMillis(v)
					ok = sloCompare(v, t.op, t.value)
				}
			}
		} else {
			c := r.Counters
			var v float64
			switch t.stat {
			case "loss":
				v = float64(c.Lost)
				if t.ratio {
					v = c.LossRatio()
				}
			case "dup":
				v = float64(c.Duplicated)
			case "ooo":
				v = float64(c.OutOfOrder)
			case "unexpected":
				v = float64(c.Unexpected)
			case "failed":
				v = float64(c.Failed)
			case "unsent":
				v = float64(c.Unsent)
			case "errors":
				for _, e := range r.Errors {
					v += float64(e.Count)
				}
			case "conn_failed":
				v = float64(r.Connections.Failed)
			case "conn_lost":
				v = float64(r.Connections.Lost)
			case "throughput":
				v = r.Throughput.ReceivedPerS
			}
			switch {
			case t.ratio:
				measured = strconv.FormatFloat(v*100, 'g', 4, 64) + "%"
			case t.stat == "throughput":
				measured = strconv.FormatFloat(v, 'f', 1, 64) + "/s"
			default:
				measured = strconv.FormatFloat(v, 'f', -1, 64)
			}
			ok = sloCompare(v, t.op, t.value)
		}
		out.Terms = append(out.Terms, LoadSLOTerm{Term: t.text, Measured: measured, Passed: ok})
		out.Passed = out.Passed && ok
	}
	return out
}

// fmtMillis formats milliseconds as a duration.
func fmtMillis(v float64) string {
	return time.Duration(v * 1e6).Round(time.Microsecond).String()
}

// Failures returns the terms that failed, as "term (measured X)".
func (s *LoadSLOResult) Failures() []string {
	var out []string
	for _, t := range s.Terms {
		if !t.Passed {
			out = append(out, fmt.Sprintf("%s (measured %s)", t.Term, t.Measured))
		}
	}
	return out
}
