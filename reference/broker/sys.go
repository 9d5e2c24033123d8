package broker

import (
	"strconv"
	"sync/atomic"
	"time"
)

// stats are the broker's counters, published under $SYS.
type stats struct {
	connections atomic.Int64 // accepted network connections, ever
	connected   atomic.Int64 // clients connected now
	received    atomic.Int64 // packets received
	sent        atomic.Int64 // packets sent
	published   atomic.Int64 // application messages routed
	dropped     atomic.Int64 // messages dropped on full queues
	impairDrops atomic.Int64 // messages dropped by the drop impairment
	refused     atomic.Int64 // connections refused by the max-connections impairment
}

// Stats is a snapshot of the broker's counters.
type Stats struct {
	Connections, Connected, PacketsReceived, PacketsSent  int64
	Published, Dropped, ImpairedDrops, RefusedConnections int64
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	return Stats{
		Connections: s.stats.connections.Load(), Connected: s.stats.connected.Load(),
		PacketsReceived: s.stats.received.Load(), PacketsSent: s.stats.sent.Load(),
		Published: s.stats.published.Load(), Dropped: s.stats.dropped.Load(),
		ImpairedDrops: s.stats.impairDrops.Load(), RefusedConnections: s.stats.refused.Load(),
	}
}

// sysLoop publishes the $SYS topics as retained QoS 0 messages.
func (s *Server) sysLoop(every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	s.publishSys()
	for {
		select {
		case <-s.stopSys:
			return
		case <-t.C:
			s.publishSys()
		}
	}
}

func (s *Server) publishSys() {
	st := s.Stats()
	put := func(topic, value string) {
		s.route(&message{topic: "$SYS/broker/" + topic, payload: []byte(value), retain: true}, "")
	}
	i := func(x int64) string { return strconv.FormatInt(x, 10) }
	put("version", s.opts.Version)
	put("uptime", strconv.FormatInt(int64(time.Since(s.started).Seconds()), 10)+" seconds")
	put("clients/connected", i(st.Connected))
	put("clients/total", i(int64(s.SessionCount())))
	put("messages/received", i(st.PacketsReceived))
	put("messages/sent", i(st.PacketsSent))
	put("messages/dropped", i(st.Dropped))
	put("publish/messages/received", i(st.Published))
	put("retained messages/count", i(int64(s.RetainedCount())))
	put("subscriptions/count", i(int64(s.subs.Len())))
}
