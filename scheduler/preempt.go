package scheduler

import (
	"fmt"
	"slices"
	"time"

	"github.com/suanli/suanli/nodes"
)

// RunningWork is one piece of work running on a node, as a driver
// describes it for preemption.
type RunningWork struct {
	// ID is the driver's handle for the work; Decision.Preempt returns it.
	ID int64
	// Request is what the work holds on the node.
	Request nodes.Resources
	// Priority is the work's priority; only work of a lower priority than
	// the newcomer's is ever preempted.
	Priority int
}

// Running is how the core sees the work running on each node. A driver
// that sets Snapshot.Running (and Config.Preempt) lets the core preempt.
type Running interface {
	// RunningOn appends the work running on node n to dst and returns it.
	RunningOn(n int, dst []RunningWork) []RunningWork
}

// preemptPick is a node where evicting lower-priority work makes room.
type preemptPick struct {
	node, site int
	maxPrio    int           // highest priority among the victims
	count      int           // victims
	freed      int64         // CPU millicores the victims hold
	transfer   time.Duration // input transfer into the site
	late       bool
}

// better orders preemption choices: the lowest highest-victim priority,
// then the fewest victims, then the least CPU evicted (the order
// kube-scheduler's preemption uses); ties keep the earlier (nearer) one.
func (p *preemptPick) better(o *preemptPick) bool {
	if p.maxPrio != o.maxPrio {
		return p.maxPrio < o.maxPrio
	}
	if p.count != o.count {
		return p.count < o.count
	}
	return p.freed < o.freed
}

// preempt looks for a node where evicting work of lower priority than w's
// makes room for w, among the sites that pass every filter but capacity,
// nearest first; on-time sites are preferred to late ones. It returns the
// Place decision, with the victims in Decision.Preempt, and true; false
// when no eviction helps. It visits every node of those sites (the slow
// path: it runs only when nothing fits).
func (s *Scheduler) preempt(snap *Snapshot, w *Workload, now time.Time, ex *Explanation) (Decision, bool) {
	st := snap.State
	req := w.Request
	order := snap.Latency.ByRTT(w.Origin)
	row := snap.Latency.Row(w.Origin)
	tiers := w.tiers()
	hasDeadline := !w.Deadline.IsZero()
	var slack time.Duration
	if hasDeadline {
		slack = w.Deadline.Sub(now) - w.Duration
	}
	var best preemptPick
	found := false
	for _, si := range order {
		site := int(si)
		if w.LatencyBoundMs > 0 && row[site] > w.LatencyBoundMs {
			break
		}
		sr := &st.sites[site]
		if !tiers.Has(sr.tier) || (w.Sites != nil && !w.Sites.Has(site)) || sr.upNodes == 0 || (req.GPUMilli > 0 && sr.gpuNodes == 0) {
			continue
		}
		transfer := snap.transferTime(w, site)
		late := hasDeadline && transfer > slack
		if found && late && !best.late {
			continue // an on-time choice beats any late one
		}
		for _, n32 := range st.SiteNodes(site) {
			n := int(n32)
			if st.NodeState(n) != nodes.NodeUp || !st.NodeCapacity(n).Fits(req) {
				continue
			}
			pick, ok := s.victimsOn(snap, n, w)
			if !ok {
				continue
			}
			pick.site, pick.transfer, pick.late = site, transfer, late
			if !found || (!pick.late && best.late) || (pick.late == best.late && pick.better(&best)) {
				best, found = pick, true
				s.victims = append(s.victims[:0], s.trial...)
			}
		}
	}
	if !found {
		return Decision{}, false
	}
	d := Decision{Outcome: Place, Node: best.node, Site: best.site, Reason: FilterNone, Late: best.late,
		TransferTime: best.transfer, Preempt: s.victims}
	if ex != nil {
		ex.Notes = append(ex.Notes, fmt.Sprintf("preemption: no node had room; evicting %d workload(s) of priority ≤ %d (below %d) on node %s frees it",
			best.count, best.maxPrio, w.Priority, st.NodeID(best.node)))
	}
	return d, true
}

// victimsOn chooses the work to evict from node n so that w fits: the
// lowest-priority work first (then the largest, then by ID), and then
// every victim whose eviction turns out unneeded is spared again, highest
// priority first. The victims' IDs are left in s.trial.
func (s *Scheduler) victimsOn(snap *Snapshot, n int, w *Workload) (preemptPick, bool) {
	st := snap.State
	free := st.NodeFree(n)
	s.running = snap.Running.RunningOn(n, s.running[:0])
	lower := s.running[:0]
	var evictable nodes.Resources
	for _, r := range s.running {
		if r.Priority < w.Priority {
			lower = append(lower, r)
			evictable = evictable.Add(r.Request)
		}
	}
	if len(lower) == 0 || !free.Add(evictable).Fits(w.Request) {
		return preemptPick{}, false
	}
	slices.SortFunc(lower, func(a, b RunningWork) int {
		switch {
		case a.Priority != b.Priority:
			return a.Priority - b.Priority
		case a.Request.CPUMilli != b.Request.CPUMilli:
			return int(b.Request.CPUMilli - a.Request.CPUMilli)
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	k := 0
	for ; k < len(lower) && !free.Fits(w.Request); k++ {
		free = free.Add(lower[k].Request)
	}
	chosen := lower[:k]
	// Spare, highest priority first, every victim the rest already make
	// room without.
	for i := len(chosen) - 1; i >= 0; i-- {
		if without := free.Sub(chosen[i].Request); without.Fits(w.Request) {
			free = without
			chosen = append(chosen[:i], chosen[i+1:]...)
		}
	}
	p := preemptPick{node: n, count: len(chosen), maxPrio: chosen[0].Priority}
	s.trial = s.trial[:0]
	for _, c := range chosen {
		p.maxPrio = max(p.maxPrio, c.Priority)
		p.freed += c.Request.CPUMilli
		s.trial = append(s.trial, c.ID)
	}
	return p, true
}
