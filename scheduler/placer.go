package scheduler

import (
	"math/rand/v2"
	"time"

	"github.com/suanli/suanli/nodes"
)

// Feasibility is a site that passed the core's hard filters for a
// workload: a candidate a policy deciding outside the core may choose.
type Feasibility struct {
	Site  int
	RTTMs float64
	// Late is set when the work, after moving its input there, cannot
	// finish by its deadline (the soft deadline filter).
	Late bool
	// Transfer is how long the work's input takes to reach the site.
	Transfer time.Duration
}

// Placer is the core's half of a policy whose site choice is made
// elsewhere (package scheduler/external: a policy in another process). It
// runs the core's filters, listing the sites left, and places work in a
// site the other half chose with the core's best-fit node rule, so that
// half cannot oversubscribe a node. Like a Scheduler, it is not safe for
// concurrent use.
type Placer struct {
	s *Scheduler
}

// NewPlacer returns a Placer for the policy named name (used in
// explanations); cfg.NodeCandidates is how many fitting nodes its best-fit
// rule compares.
func NewPlacer(name string, cfg Config) *Placer {
	return &Placer{s: &Scheduler{
		spec: PolicySpec{Name: name, site: siteExternal, node: nodeBestFit},
		cfg:  cfg.withDefaults(),
	}}
}

// Feasible appends to dst the sites that pass every hard filter for w at
// now (latency, tier, allowed sites, node up, GPU, capacity: the filters
// Decide runs, in the same order), nearest first, with the deadline
// filter's verdict in Late, and returns them with the reason to give if
// none is left: the last filter that removed a site (FilterCapacity when
// there are no sites; FilterInvalid for a malformed workload). ex, when
// non-nil, is begun as Decide begins it and records the filters' counts
// and the candidates; finish it with Explanation.Conclude.
func (p *Placer) Feasible(snap *Snapshot, w *Workload, now time.Time, ex *Explanation, dst []Feasibility) ([]Feasibility, Filter) {
	s := p.s
	st := snap.State
	if ex != nil {
		ex.begin(s, snap, w, now)
	}
	if w.Origin < 0 || w.Origin >= snap.Latency.Origins() || w.Request.CPUMilli <= 0 || !w.Request.NonNegative() || w.Duration < 0 {
		return dst, FilterInvalid
	}
	order := snap.Latency.ByRTT(w.Origin)
	row := snap.Latency.Row(w.Origin)
	tiers := w.tiers()
	key := need(w.Request)
	hasDeadline := !w.Deadline.IsZero()
	var slack time.Duration
	if hasDeadline {
		slack = w.Deadline.Sub(now) - w.Duration
	}
	last := FilterNone
	n0 := len(dst)
	for i, si := range order {
		site := int(si)
		rtt := row[site]
		if w.LatencyBoundMs > 0 && rtt > w.LatencyBoundMs {
			if last == FilterNone || FilterLatency > last {
				last = FilterLatency
			}
			if ex != nil {
				for _, rest := range order[i:] {
					ex.removed(st, int(rest), FilterLatency, row[rest])
				}
			}
			break
		}
		if f := siteFilter(&st.sites[site], site, w, tiers, &key); f != FilterNone {
			if last == FilterNone || f > last {
				last = f
			}
			if ex != nil {
				ex.removed(st, site, f, rtt)
			}
			continue
		}
		c := Feasibility{Site: site, RTTMs: rtt}
		if hasDeadline {
			c.Transfer = snap.transferTime(w, site)
			c.Late = c.Transfer > slack
		}
		dst = append(dst, c)
	}
	if ex != nil {
		cands := s.cands[:0]
		for _, c := range dst[n0:] {
			cands = append(cands, cand{site: int32(c.Site), late: c.Late, transfer: c.Transfer})
		}
		s.cands = cands
		ex.candidates(s, snap, w, cands, row)
	}
	if last == FilterNone {
		last = FilterCapacity
	}
	return dst, last
}

// NodeAt picks the node at site for w by the core's best-fit rule (the
// best of Config.NodeCandidates fitting nodes), or returns -1 when no up
// node there has room for w's whole request. Placing there is then
// snap.State.Allocate(node, w.Request).
func (p *Placer) NodeAt(snap *Snapshot, w *Workload, site int, rng *rand.Rand) int {
	st := snap.State
	if site < 0 || site >= st.NumSites() {
		return -1
	}
	key := need(w.Request)
	if st.sites[site].upNodes == 0 || !st.sites[site].root.dominates3(&key) {
		return -1
	}
	node, _ := p.s.pickNode(st, site, w.Request, key, rng)
	return node
}

// siteFilter is the first of the hard filters after latency (tier,
// allowed sites, node up, GPU, capacity) that site, whose record is sr,
// fails for w, or FilterNone. tiers is w.tiers() and key need(w.Request).
// It is the switch in Decide's loop (kept there, inline, for speed);
// TestPlacerFeasibleMatchesDecide holds the two equal.
func siteFilter(sr *siteRec, site int, w *Workload, tiers nodes.TierSet, key *free3) Filter {
	switch {
	case !tiers.Has(sr.tier):
		return FilterTier
	case w.Sites != nil && !w.Sites.Has(site):
		return FilterSite
	case sr.upNodes == 0:
		return FilterDown
	case w.Request.GPUMilli > 0 && sr.gpuNodes == 0:
		return FilterGPU
	case !sr.root.dominates3(key):
		return FilterCapacity
	}
	return FilterNone
}

// Failer is a policy that can fail outside the core's control (a policy
// in another process crashed or broke its protocol): after a failure its
// decisions mean nothing, and drivers stop using it.
type Failer interface {
	Err() error
}

// Err is the policy's failure, if it is a Failer that failed; drivers
// check it after every decision of such a policy. Built-in policies never
// fail.
func (s *Scheduler) Err() error {
	if f, ok := s.ext.(Failer); ok {
		return f.Err()
	}
	return nil
}

// Closer is a policy that holds resources outside the process's memory
// (a child process): drivers close it when its run ends.
type Closer interface {
	Close() error
}

// Close releases what the policy holds outside memory (it stops an
// external policy's process); built-in policies hold nothing.
func (s *Scheduler) Close() error {
	if c, ok := s.ext.(Closer); ok {
		return c.Close()
	}
	return nil
}

// NewDecider returns a Scheduler for policy name that delegates to d, a
// Decider built by the caller rather than registered (RegisterDecider):
// an external policy, started per run.
func NewDecider(name, description string, d Decider, cfg Config) *Scheduler {
	return &Scheduler{spec: PolicySpec{Name: name, Description: description, site: siteExternal}, cfg: cfg.withDefaults(), ext: d}
}
