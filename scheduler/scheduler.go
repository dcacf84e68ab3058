package scheduler

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/suanli/suanli/nodes"
	"time"
)

// Scheduler makes decisions under one policy. It keeps scratch space and
// round-robin cursors, so it is not safe for concurrent use: give each
// goroutine its own (they are cheap).
type Scheduler struct {
	spec    PolicySpec
	cfg     Config
	weights Weights
	scored  bool
	ext     Decider // a policy implemented outside this package

	cands   []cand
	late    []cand        // late candidates held back while on-time ones are tried
	running []RunningWork // preemption scratch
	trial   []int64
	victims []int64
	vals    []float64 // window policies' per-slot figures
	rrSite  int
	rrNode  []int32
	nodeBuf [maxNodeCandidates]int32
}

// Forgetter is a policy that remembers work between decisions (the
// optimizer's plan of deferred work): drivers tell it when work leaves
// without being placed.
type Forgetter interface {
	Forget(id string)
}

// Forget tells the policy that workload id left without being placed (it
// gave up waiting, was cancelled or rejected), so nothing stays reserved
// for it. Built-in policies keep no such state; it costs nothing for them.
func (s *Scheduler) Forget(id string) {
	if f, ok := s.ext.(Forgetter); ok {
		f.Forget(id)
	}
}

// Adopter is a policy that remembers work between decisions and can take
// over work an earlier instance of it deferred: a new leader's optimizer
// learns of the deferrals the old leader's made, so its plan keeps their
// reservations instead of promising the same window to new work.
type Adopter interface {
	Adopt(snap *Snapshot, w *Workload, site int, at time.Time)
}

// Adopt tells the policy that w was deferred, by an earlier instance of
// it, to start at site (an index into snap's sites, or -1 if unknown) at
// at. Built-in policies keep no such state; it costs nothing for them.
func (s *Scheduler) Adopt(snap *Snapshot, w *Workload, site int, at time.Time) {
	if a, ok := s.ext.(Adopter); ok {
		a.Adopt(snap, w, site, at)
	}
}

// cand is a site that passed the filters.
type cand struct {
	site     int32
	late     bool
	total    float64
	transfer time.Duration
}

// New returns a scheduler for the named policy.
func New(policy string, cfg Config) (*Scheduler, error) {
	spec, err := LookupPolicy(policy)
	if err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	if d, ok := deciders[policy]; ok {
		ext, err := d.factory(cfg)
		if err != nil {
			return nil, fmt.Errorf("scheduler: policy %s: %w", policy, err)
		}
		return &Scheduler{spec: spec, cfg: c, ext: ext}, nil
	}
	s := &Scheduler{spec: spec, cfg: c, weights: spec.Weights}
	if cfg.Weights != nil {
		s.weights = *cfg.Weights
	}
	s.scored = spec.site == siteScore
	return s, nil
}

// Policy returns the policy's name.
func (s *Scheduler) Policy() string { return s.spec.Name }

// Weights returns the scorer weights in use.
func (s *Scheduler) Weights() Weights { return s.weights }

// Decide places, defers or rejects w on snap at time now. rng is used by
// the random policies and must be seeded by the caller (nil makes them
// deterministic: first candidate). ex, when non-nil, is filled with the
// explanation; see Explanation for what to set on it before the call.
//
// Decide does not change snap: the driver applies a Place decision with
// snap.State.Allocate(d.Node, w.Request).
func (s *Scheduler) Decide(snap *Snapshot, w *Workload, now time.Time, rng *rand.Rand, ex *Explanation) Decision {
	if s.ext != nil {
		return s.ext.Decide(snap, w, now, rng, ex)
	}
	st := snap.State
	if w.Origin < 0 || w.Origin >= snap.Latency.Origins() || w.Request.CPUMilli <= 0 || !w.Request.NonNegative() || w.Duration < 0 {
		d := reject(FilterInvalid)
		if ex != nil {
			ex.begin(s, snap, w, now)
			ex.finish(s, snap, w, d)
		}
		return d
	}
	if ex != nil {
		ex.begin(s, snap, w, now)
	}
	if n := st.NumSites(); len(s.rrNode) < n {
		s.rrNode = make([]int32, n)
	}
	order := snap.Latency.ByRTT(w.Origin)
	row := snap.Latency.Row(w.Origin)
	tiers := w.tiers()
	req := w.Request
	hasDeadline := !w.Deadline.IsZero()
	// last is the latest-stage hard filter that removed a site: the
	// reason given if nothing can be placed. (Deadline is soft: late
	// sites are still used when no site is on time.)
	last := FilterNone
	note := func(f Filter) {
		if f != FilterDeadline && (last == FilterNone || f > last) {
			last = f
		}
	}

	tc := snap.newTermCtx(w)
	key := need(req)
	var slack time.Duration // how long transfers may take and still meet the deadline
	if hasDeadline {
		slack = w.Deadline.Sub(now) - w.Duration
	}
	cands := s.cands[:0]
	onTime := 0
	// bestOn is the best on-time site's position among the on-time sites
	// (its index once late ones are dropped); bestAll the best site's index.
	bestOn, bestAll, bestOnTotal := -1, -1, 0.0
	nearestNow := s.spec.site == siteNearest && s.spec.window == windowNone && ex == nil
	for i, si := range order {
		site := int(si)
		rtt := row[site]
		if w.LatencyBoundMs > 0 && rtt > w.LatencyBoundMs {
			note(FilterLatency)
			if ex != nil {
				for _, rest := range order[i:] {
					ex.removed(st, int(rest), FilterLatency, row[rest])
				}
			}
			break
		}
		sr := &st.sites[site]
		f := FilterNone
		switch {
		case !tiers.Has(sr.tier):
			f = FilterTier
		case w.Sites != nil && !w.Sites.Has(site):
			f = FilterSite
		case sr.upNodes == 0:
			f = FilterDown
		case req.GPUMilli > 0 && sr.gpuNodes == 0:
			f = FilterGPU
		case !sr.root.dominates3(&key):
			f = FilterCapacity
		}
		if f != FilterNone {
			note(f)
			if ex != nil {
				ex.removed(st, site, f, rtt)
			}
			continue
		}
		c := cand{site: int32(site)}
		if hasDeadline {
			c.transfer = snap.transferTime(w, site)
			if c.transfer > slack {
				c.late = true
				note(FilterDeadline)
			}
		}
		if s.scored {
			lat, cost, carbon, u := tc.parts(site, rtt)
			wt := &s.weights
			c.total = wt[0]*lat + wt[1]*cost + wt[2]*carbon + wt[3]*u + wt[4]*(1-u)
			// Track the best site as pickSite would choose it (first
			// maximum, among on-time sites if any), saving it a pass.
			if !c.late && (bestOn < 0 || c.total > bestOnTotal) {
				bestOn, bestOnTotal = onTime, c.total
			}
			if bestAll < 0 || c.total > cands[bestAll].total {
				bestAll = len(cands)
			}
		}
		if !c.late {
			if nearestNow {
				// The nearest on-time site wins outright: try it now
				// and skip scoring the rest (without an explanation
				// to fill, nothing else needs them).
				if node, _ := s.pickNode(st, site, req, key, rng); node >= 0 {
					s.cands = cands
					return Decision{Outcome: Place, Node: node, Site: site, Reason: FilterNone, TransferTime: c.transfer}
				}
				note(FilterCapacity)
				continue
			}
			onTime++
		}
		cands = append(cands, c)
	}
	// Late sites are used only when no site can meet the deadline: they
	// are held back while the on-time sites are tried, and tried when none
	// of those has a node that fits (the nearest fast path tried them
	// already and kept only the late ones).
	late := s.late[:0]
	if onTime > 0 && onTime < len(cands) {
		j := 0
		for _, c := range cands {
			if !c.late {
				cands[j] = c
				j++
			} else {
				late = append(late, c)
				if ex != nil {
					ex.removed(st, int(c.site), FilterDeadline, row[c.site])
				}
			}
		}
		cands = cands[:j]
	}
	s.cands, s.late = cands, late
	if ex != nil {
		ex.candidates(s, snap, w, cands, row)
	}

	if s.spec.window != windowNone && hasDeadline && onTime > 0 && len(snap.ForecastWindow()) > 0 {
		if d, ok := s.window(snap, w, now, cands); ok {
			if ex != nil {
				ex.finish(s, snap, w, d)
			}
			return d
		}
	}

	first := -1
	if s.scored {
		first = bestAll
		if onTime > 0 {
			first = bestOn
		}
	}
	for len(cands) > 0 || len(late) > 0 {
		if len(cands) == 0 {
			// No on-time site has a node that fits: the late ones now.
			cands, late, first = late, nil, -1
			if ex != nil {
				ex.reinstateLate(s, snap, w, cands, row)
			}
		}
		ci := first
		if ci < 0 {
			ci = s.pickSite(cands, rng)
		}
		first = -1
		c := cands[ci]
		node, _ := s.pickNode(st, int(c.site), req, key, rng)
		if node >= 0 {
			d := Decision{Outcome: Place, Node: node, Site: int(c.site), Reason: FilterNone, Late: c.late, Score: c.total, TransferTime: c.transfer}
			if ex != nil {
				ex.finish(s, snap, w, d)
			}
			return d
		}
		// The site's per-dimension maxima came from different nodes: no
		// single node fits after all.
		note(FilterCapacity)
		if ex != nil {
			ex.removed(st, int(c.site), FilterCapacity, row[c.site])
		}
		if s.spec.site == siteNearest {
			cands = append(cands[:ci], cands[ci+1:]...) // keep RTT order
		} else {
			cands[ci] = cands[len(cands)-1]
			cands = cands[:len(cands)-1]
		}
	}
	if last == FilterNone {
		last = FilterCapacity // no sites at all
	}
	if last == FilterCapacity && s.cfg.Preempt && snap.Running != nil {
		if d, ok := s.preempt(snap, w, now, ex); ok {
			if ex != nil {
				ex.finish(s, snap, w, d)
			}
			return d
		}
	}
	d := reject(last)
	if ex != nil {
		ex.finish(s, snap, w, d)
	}
	return d
}

// pickSite chooses among the candidates by the policy's site mode.
func (s *Scheduler) pickSite(cands []cand, rng *rand.Rand) int {
	best := 0
	switch s.spec.site {
	case siteScore:
		for i := 1; i < len(cands); i++ {
			if cands[i].total > cands[best].total {
				best = i
			}
		}
	case siteFirst:
		for i := 1; i < len(cands); i++ {
			if cands[i].site < cands[best].site {
				best = i
			}
		}
	case siteRandom:
		if rng != nil {
			best = rng.IntN(len(cands))
		}
	case siteRotate:
		n := len(s.rrNode)
		dist := func(site int32) int { return (int(site) - s.rrSite%n + n) % n }
		for i := 1; i < len(cands); i++ {
			if dist(cands[i].site) < dist(cands[best].site) {
				best = i
			}
		}
		s.rrSite = int(cands[best].site) + 1
	case siteNearest:
		// candidates are in RTT order already
	}
	return best
}

// pickNode chooses a node inside site by the policy's node mode, returning
// the node index (or -1) and its node score.
func (s *Scheduler) pickNode(st *State, site int, req nodes.Resources, key free3, rng *rand.Rand) (int, float64) {
	sr := &st.sites[site]
	n := len(sr.nodes)
	start := 0
	switch s.spec.node {
	case nodeRandom, nodeWorstFit:
		if rng != nil && n > 1 {
			start = rng.IntN(n)
		}
	case nodeRotate:
		start = int(s.rrNode[site]) % n
	}
	switch s.spec.node {
	case nodeFirst, nodeRandom, nodeRotate:
		leaf := sr.findFrom(key, start)
		if leaf < 0 && start > 0 {
			leaf = sr.findFrom(key, 0)
		}
		if leaf < 0 {
			return -1, 0
		}
		if s.spec.node == nodeRotate {
			s.rrNode[site] = int32(leaf + 1)
		}
		return int(sr.nodes[leaf]), 0
	}
	// best of k fits
	k := s.collect(sr, key, start)
	best, bestScore := -1, math.Inf(-1)
	for _, leaf := range s.nodeBuf[:k] {
		nr := &st.nodes[sr.nodes[leaf]]
		var v float64
		if s.spec.node == nodeBestFit {
			v = nodeFitScore(nr, req)
		} else {
			v = nodeSpreadScore(nr, req)
		}
		if v > bestScore {
			best, bestScore = int(sr.nodes[leaf]), v
		}
	}
	return best, bestScore
}

// collect gathers up to cfg.NodeCandidates fitting leaves of sr, scanning
// from start and wrapping around, into s.nodeBuf; it returns how many.
func (s *Scheduler) collect(sr *siteRec, req free3, start int) int {
	buf := s.nodeBuf[:s.cfg.NodeCandidates]
	k := sr.collect(req, start, len(sr.nodes), buf)
	if k < len(buf) && start > 0 {
		k += sr.collect(req, 0, start, buf[k:])
	}
	return k
}
