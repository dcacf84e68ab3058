package external

import (
	"math"
	"sort"
)

// GreedyGreen is the example policies' rule (examples/policies has it in
// Go and in Python 3): the feasible site where the work's power draws
// the least grid carbon now — grid intensity × PUE × the share of its
// facility power that the site's renewable headroom (contracts
// included) does not cover — sites that meet the deadline first, ties by
// RTT. It names every candidate in that order, so the work goes to the
// next one when the first has no single node with room. It is the rule of
// the built-in greenest policy without greenest's tiny latency term
// (docs/external-policy.md compares the two).
func GreedyGreen(s *Session, r *Request) Reply {
	type ranked struct {
		site string
		late bool
		key  float64
		rtt  float64
	}
	cores := float64(r.Workload.CPUMilli) / 1000
	gpus := float64(r.Workload.GPUMilli) / 1000
	rs := make([]ranked, len(r.Candidates))
	for k, c := range r.Candidates {
		i := s.Site(c.Site)
		info, e := &s.Hello.Sites[i], &s.Energy[i]
		kw := (cores*info.MarginalWPerCore + gpus*info.MarginalWPerGPU) * e.PUE / 1000
		grid := 1.0
		if kw > 0 {
			grid = 1 - math.Min(math.Max(e.HeadroomKW, 0)/kw, 1)
		}
		rs[k] = ranked{site: c.Site, late: c.Late, key: e.Carbon * e.PUE * grid, rtt: c.RTTMs}
	}
	sort.SliceStable(rs, func(a, b int) bool {
		x, y := &rs[a], &rs[b]
		if x.late != y.late {
			return !x.late
		}
		if x.key != y.key {
			return x.key < y.key
		}
		return x.rtt < y.rtt
	})
	sites := make([]string, len(rs))
	for k := range rs {
		sites[k] = rs[k].site
	}
	return s.Place(r, sites...)
}
