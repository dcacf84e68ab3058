package scheduler

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
)

// TestPlacerFeasibleMatchesDecide holds the Placer's filters to Decide's:
// on random work over a synthetic province filling up, every site
// Feasible lists is one Decide found feasible (on time or late), every
// site it leaves out Decide removed with the same filter, the reason it
// gives when none is left is Decide's, and NodeAt picks greenest's node
// at greenest's site.
func TestPlacerFeasibleMatchesDecide(t *testing.T) {
	snap := newSnapshot(t, nodes.Synthetic(400))
	sig := rand.New(rand.NewPCG(5, 6))
	for i := range snap.Energy {
		snap.Energy[i].Now = Signal{PriceCNYPerKWh: 0.3 + sig.Float64(), CarbonKgPerKWh: 0.5 + sig.Float64()*0.2, RenewableHeadroomKW: sig.Float64() * 30}
	}
	snap.Refresh()
	// bring a few sites down
	for _, site := range []int{1, 7} {
		for _, n := range snap.State.SiteNodes(site) {
			if err := snap.State.SetNodeState(int(n), nodes.NodeDown); err != nil {
				t.Fatal(err)
			}
		}
	}
	p := NewPlacer("external:test", Config{})
	green := mustNew(t, "greenest")
	gen := rand.New(rand.NewPCG(1, 1))
	sizes := []nodes.Resources{small(1), small(8), small(32), {CPUMilli: 8000, MemoryMiB: 32768, GPUMilli: 1000}, small(200)}
	var feas []Feasibility
	checkedNone, placed := 0, 0
	for i := 0; i < 2000; i++ {
		w := Workload{Origin: gen.IntN(16), Request: sizes[gen.IntN(len(sizes))], Duration: time.Duration(1+gen.IntN(6)) * time.Hour, InputMB: gen.Float64() * 8000}
		switch gen.IntN(5) {
		case 0:
			w.LatencyBoundMs = 1 + gen.Float64()*6
		case 1:
			w.Deadline = t0.Add(w.Duration + time.Duration(gen.IntN(600))*time.Second)
		case 2:
			w.Tiers = nodes.TiersOf(nodes.TierCore, nodes.TierCluster)
		case 3:
			w.Sites = NewSiteSet(snap.State.NumSites(), gen.IntN(snap.State.NumSites()), gen.IntN(snap.State.NumSites()))
		}
		ex := &Explanation{}
		d := mustNew(t, "first-fit").Decide(snap, &w, t0, nil, ex)
		var why Filter
		feas, why = p.Feasible(snap, &w, t0, nil, feas[:0])
		in := make(map[int]Feasibility)
		for _, f := range feas {
			in[f.Site] = f
		}
		for site, v := range ex.verdicts {
			f, ok := in[site]
			switch {
			case !v.seen:
				t.Fatalf("workload %d: Decide did not look at site %d", i, site)
			case v.filter == FilterNone || v.filter == FilterDeadline:
				// Decide's fallback can mark a feasible site removed for
				// capacity (no single node fits): only the hard filters
				// are compared
				if !ok {
					t.Fatalf("workload %d (%+v): site %d feasible for Decide, not listed", i, w, site)
				}
				if f.Late != (v.filter == FilterDeadline || lateAt(snap, &w, site)) {
					t.Fatalf("workload %d: site %d late=%v, Decide's verdict %v", i, site, f.Late, v.filter)
				}
			case v.filter == FilterCapacity && ok:
				// feasible by the maxima, no single node fitted in Decide
			default:
				if ok {
					t.Fatalf("workload %d (%+v): site %d listed, Decide removed it for %v", i, w, site, v.filter)
				}
			}
		}
		if len(feas) == 0 {
			checkedNone++
			if d.Outcome != Reject || d.Reason != why {
				t.Fatalf("workload %d: nothing feasible, reason %v; Decide: %v %v", i, why, d.Outcome, d.Reason)
			}
			continue
		}
		gd := green.Decide(snap, &w, t0, nil, nil)
		if gd.Outcome == Place {
			if got := p.NodeAt(snap, &w, gd.Site, nil); got != gd.Node {
				t.Fatalf("workload %d: NodeAt(%d) = %d, greenest chose node %d", i, gd.Site, got, gd.Node)
			}
			if err := snap.State.Allocate(gd.Node, w.Request); err != nil {
				t.Fatal(err)
			}
			placed++
		}
	}
	if checkedNone < 50 || placed < 200 {
		t.Fatalf("weak test: %d workloads with nothing feasible, %d placed", checkedNone, placed)
	}
	if got := p.NodeAt(snap, &Workload{Request: small(1)}, -1, nil); got != -1 {
		t.Errorf("NodeAt(-1) = %d", got)
	}
	if got := p.NodeAt(snap, &Workload{Request: small(1)}, 1, nil); got != -1 {
		t.Errorf("NodeAt at a site that is down = %d", got)
	}
}

func lateAt(snap *Snapshot, w *Workload, site int) bool {
	return !w.Deadline.IsZero() && snap.transferTime(w, site) > w.Deadline.Sub(t0)-w.Duration
}
