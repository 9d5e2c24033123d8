package load

import (
	"fmt"
	"strconv"

	"github.com/mqtt-check/mqtt-check/reference/topics"
)

// pubPlan is one publisher of the plan.
type pubPlan struct {
	id       uint32 // global index, in the payload header
	clientID string
	topic    string
	qos      byte
	count    uint64 // message limit, when limited
	limited  bool
}

// subPlan is one subscriber of the plan.
type subPlan struct {
	id       uint32
	clientID string
	filter   string
	// pubs are the indices (into plan.pubs) of the publishers whose
	// topic the filter matches: what the subscriber is owed.
	pubs []int
	// pubIndex, when >= 0, makes this subscriber share the connection of
	// plan.pubs[pubIndex] (shared scenario).
	pubIndex int
}

// plan is this shard's slice of a scenario: who publishes where and who
// expects what. It is built before any connection, deterministically
// from the configuration and the shard.
type plan struct {
	prefix string
	pubs   []pubPlan
	subs   []subPlan
	// others are clients with no publish or subscribe role (idle,
	// connect-storm): their global indices.
	others []uint32
	notes  []string
}

// share returns the half-open range of the n items that shard i of k
// gets.
func share(n, i, k int) (lo, hi int) {
	return n * i / k, n * (i + 1) / k
}

// roles splits cfg.Clients into publishers and subscribers for the
// scenario (both counts are over all shards).
func roles(cfg *Config) (pubs, subs int) {
	n := cfg.Clients
	switch cfg.Scenario {
	case FanIn:
		subs = 1
		if cfg.Subscribers > 0 {
			subs = cfg.Subscribers
		}
		pubs = max(n-subs, 1)
	case FanOut:
		pubs = 1
		if cfg.Publishers > 0 {
			pubs = cfg.Publishers
		}
		subs = max(n-pubs, 1)
	case Pairs, Churn:
		pubs = max(n/2, 1)
		subs = pubs
	case Shared:
		pubs, subs = n, n
	case Wildcard:
		pubs = max(n/2, 1)
		subs = max(n-pubs, 1)
	case RetainedStorm:
		pubs, subs = 1, n
	default:
		return 0, 0
	}
	if cfg.Publishers > 0 && cfg.Scenario != Pairs && cfg.Scenario != Churn && cfg.Scenario != Shared {
		pubs = cfg.Publishers
	}
	if cfg.Subscribers > 0 && cfg.Scenario != Pairs && cfg.Scenario != Churn && cfg.Scenario != Shared {
		subs = cfg.Subscribers
	}
	return pubs, subs
}

// clientID is short enough for MQTT 3.1's 23-character limit with the
// default 8-character run ID.
func clientID(runID string, role byte, id uint32) string {
	return "mc" + runID + string(role) + strconv.FormatUint(uint64(id), 10)
}

// buildPlan makes this shard's plan.
func buildPlan(cfg *Config) (*plan, error) {
	p := &plan{prefix: cfg.TopicPrefix + "/" + cfg.RunID}
	if cfg.Shards > 1 {
		p.prefix += "/s" + strconv.Itoa(cfg.Shard)
	}
	switch cfg.Scenario {
	case Idle, ConnectStorm:
		lo, hi := share(cfg.Clients, cfg.Shard, cfg.Shards)
		for g := lo; g < hi; g++ {
			p.others = append(p.others, uint32(g))
		}
		return p, nil
	}
	np, ns := roles(cfg)
	plo, phi := share(np, cfg.Shard, cfg.Shards)
	slo, shi := share(ns, cfg.Shard, cfg.Shards)
	if phi == plo {
		phi = plo + 1
		p.notes = append(p.notes, fmt.Sprintf("%d publishers cannot be split over %d shards: this shard runs one of its own", np, cfg.Shards))
	}
	if shi == slo && cfg.Scenario != RetainedStorm {
		shi = slo + 1
		p.notes = append(p.notes, fmt.Sprintf("%d subscribers cannot be split over %d shards: this shard runs one of its own", ns, cfg.Shards))
	}
	if cfg.Scenario == RetainedStorm {
		// One seeding publisher per shard, whatever the split says.
		plo, phi = cfg.Shard, cfg.Shard+1
	}
	qosOf := func(g int) byte { return cfg.QoS[g%len(cfg.QoS)] }
	var perPub uint64
	if cfg.Count > 0 {
		// The message count is split like the rate: evenly over every
		// publisher of every shard, remainder to the first ones.
		perPub = uint64(cfg.Count) / uint64(np)
	}
	for g := plo; g < phi; g++ {
		pp := pubPlan{id: uint32(g), clientID: clientID(cfg.RunID, 'p', uint32(g)), qos: qosOf(g)}
		if cfg.Count > 0 {
			pp.count, pp.limited = perPub, true
			if uint64(g) < uint64(cfg.Count)%uint64(np) {
				pp.count++
			}
		}
		switch cfg.Scenario {
		case FanIn, FanOut, Pairs, Churn:
			pp.topic = p.prefix + "/" + cfg.Scenario + "/" + strconv.Itoa(g)
		case Shared:
			pp.topic = p.prefix + "/shared"
			pp.clientID = clientID(cfg.RunID, 'c', uint32(g))
		case Wildcard:
			pp.topic = p.prefix + "/wild/" + leaf(g%cfg.Topics, cfg.Branching)
		case RetainedStorm:
			pp.topic = p.prefix + "/retained"
			pp.qos = max(pp.qos, 1)
		}
		p.pubs = append(p.pubs, pp)
	}
	for g := slo; g < shi; g++ {
		sp := subPlan{id: uint32(g), clientID: clientID(cfg.RunID, 's', uint32(g)), pubIndex: -1}
		switch cfg.Scenario {
		case FanIn, FanOut:
			sp.filter = p.prefix + "/" + cfg.Scenario + "/+"
		case Pairs, Churn:
			sp.filter = p.prefix + "/" + cfg.Scenario + "/" + strconv.Itoa(g)
		case Shared:
			sp.filter = p.prefix + "/shared"
			sp.pubIndex = g - slo
			sp.clientID = p.pubs[g-slo].clientID
		case Wildcard:
			sp.filter = p.prefix + "/wild/" + wildFilter(g, cfg.Branching)
		case RetainedStorm:
			sp.filter = p.prefix + "/retained/#"
		}
		if cfg.Scenario == RetainedStorm {
			for i := range p.pubs {
				sp.pubs = append(sp.pubs, i)
			}
		} else {
			for i, pp := range p.pubs {
				if topics.Match([]byte(sp.filter), []byte(pp.topic)) {
					sp.pubs = append(sp.pubs, i)
				}
			}
		}
		p.subs = append(p.subs, sp)
	}
	return p, nil
}

// leaf names leaf l of a three-level tree with b branches per level.
func leaf(l, b int) string {
	return strconv.Itoa(l/(b*b)%b) + "/" + strconv.Itoa(l/b%b) + "/" + strconv.Itoa(l%b)
}

// wildFilter gives subscriber g one of six filter shapes over the tree.
func wildFilter(g, b int) string {
	x, y := strconv.Itoa(g%b), strconv.Itoa(g/b%b)
	switch g % 6 {
	case 0:
		return "#"
	case 1:
		return x + "/#"
	case 2:
		return x + "/+/" + y
	case 3:
		return "+/" + x + "/+"
	case 4:
		return "+/+/" + x
	}
	return x + "/" + y + "/+"
}
