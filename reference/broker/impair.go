package broker

import (
	"math/rand/v2"
	"net"
	"time"
)

// Impairments make the broker misbehave at the transport level in
// measured ways, so the load module can be shown to report exactly what
// was injected. They break no MQTT rule the suite checks except message
// loss, which only QoS 0 permits.
type Impairments struct {
	// DropRate is the fraction (0..1) of deliveries silently dropped.
	DropRate float64
	// Delay holds every outgoing write back by this long.
	Delay time.Duration
	// StallEvery and StallFor stop all outgoing writes for StallFor at
	// the start of every StallEvery period (counted from server start).
	StallEvery, StallFor time.Duration
	// MaxConnections refuses (closes at once) connections beyond this
	// many open ones; 0 means no limit.
	MaxConnections int
}

func (s *Server) impairDrop() bool {
	if s.opts.Impair.DropRate <= 0 || rand.Float64() >= s.opts.Impair.DropRate {
		return false
	}
	s.stats.impairDrops.Add(1)
	return true
}

func (s *Server) impairWrite() {
	im := &s.opts.Impair
	if im.Delay > 0 {
		time.Sleep(im.Delay)
	}
	if im.StallEvery > 0 && im.StallFor > 0 {
		phase := time.Since(s.started) % im.StallEvery
		if phase < im.StallFor {
			time.Sleep(im.StallFor - phase)
		}
	}
}

// impairAccept refuses connections beyond MaxConnections.
func (s *Server) impairAccept(nc net.Conn) bool {
	if s.opts.Impair.MaxConnections <= 0 {
		return true
	}
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	if n >= s.opts.Impair.MaxConnections {
		s.stats.refused.Add(1)
		nc.Close()
		return false
	}
	return true
}
