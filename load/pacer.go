package load

import (
	"math"
	"time"
)

// A Pacer says when each message is due: Due(n) is the intended send
// time of the n-th message (from 0), as an offset from the start of the
// schedule. Unlike vegeta's Pacer, which answers "how long to wait now",
// it answers with the schedule itself, because the intended time is
// what latency is measured from, and a publisher that fell behind must
// still know when each message of its backlog was due.
type Pacer interface {
	Due(n uint64) time.Duration
}

// ConstantPacer sends Rate messages per second, starting at Phase.
type ConstantPacer struct {
	Rate  float64 // per second, > 0
	Phase time.Duration
}

// Due implements Pacer.
func (p ConstantPacer) Due(n uint64) time.Duration {
	return p.Phase + time.Duration(float64(n)*float64(time.Second)/p.Rate)
}

// RampPacer grows the rate linearly from 0 to Rate over Ramp, then keeps
// it constant.
type RampPacer struct {
	Rate  float64 // per second, > 0
	Ramp  time.Duration
	Phase time.Duration
}

// Due implements Pacer: during the ramp, n(t) = Rate t^2 / (2 Ramp), so
// t = sqrt(2 Ramp n / Rate); afterwards one message every 1/Rate.
func (p RampPacer) Due(n uint64) time.Duration {
	if p.Ramp <= 0 {
		return ConstantPacer{Rate: p.Rate, Phase: p.Phase}.Due(n)
	}
	ramp := p.Ramp.Seconds()
	inRamp := p.Rate * ramp / 2 // messages sent during the ramp
	var t float64
	if x := float64(n); x < inRamp {
		t = math.Sqrt(2 * ramp * x / p.Rate)
	} else {
		t = ramp + (x-inRamp)/p.Rate
	}
	return p.Phase + time.Duration(t*float64(time.Second))
}
