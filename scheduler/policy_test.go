package scheduler

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
)

func small(cores int64) nodes.Resources {
	return nodes.Resources{CPUMilli: cores * 1000, MemoryMiB: cores * 2048}
}

func TestFilters(t *testing.T) {
	type tc struct {
		name    string
		policy  string
		w       Workload
		setup   func(t *testing.T, s *Snapshot)
		outcome Outcome
		site    string // expected site for Place
		reason  Filter // expected reason for Reject
		late    bool
		removed map[Filter]int // expected removed site counts (explained)
	}
	allDown := func(site string) func(t *testing.T, s *Snapshot) {
		return func(t *testing.T, s *Snapshot) {
			for _, n := range s.State.SiteNodes(siteIdx(t, s, site)) {
				if err := s.State.SetNodeState(int(n), nodes.NodeDown); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	cases := []tc{
		{name: "latency bound keeps work in its city", policy: "balanced",
			w: Workload{Origin: city(t, "WF"), Request: small(1), LatencyBoundMs: 1}, outcome: Place, site: "x-wf",
			removed: map[Filter]int{FilterLatency: 4}},
		{name: "latency bound nobody meets", policy: "balanced",
			w: Workload{Origin: city(t, "WF"), Request: small(1), LatencyBoundMs: 0.5}, outcome: Reject, reason: FilterLatency,
			removed: map[Filter]int{FilterLatency: 5}},
		{name: "tier restriction", policy: "nearest",
			w: Workload{Origin: city(t, "WF"), Request: small(1), Tiers: nodes.TiersOf(nodes.TierCore)}, outcome: Place, site: "qd-core",
			removed: map[Filter]int{FilterTier: 3}},
		{name: "allowed sites", policy: "nearest",
			w: Workload{Origin: city(t, "JN"), Request: small(1), Sites: NewSiteSet(5, 2)}, outcome: Place, site: "dz-reg",
			removed: map[Filter]int{FilterSite: 4}},
		{name: "site down is transient", policy: "nearest", setup: allDown("x-wf"),
			w: Workload{Origin: city(t, "WF"), Request: small(1), LatencyBoundMs: 1}, outcome: Reject, reason: FilterDown,
			removed: map[Filter]int{FilterLatency: 4, FilterDown: 1}},
		{name: "gpu hardware missing", policy: "nearest",
			w:       Workload{Origin: city(t, "WF"), Request: nodes.Resources{CPUMilli: 2000, GPUMilli: 250}, Tiers: nodes.TiersOf(nodes.TierEdge, nodes.TierCluster)},
			outcome: Reject, reason: FilterGPU, removed: map[Filter]int{FilterTier: 2, FilterGPU: 3}},
		{name: "gpu work goes to a gpu site", policy: "nearest",
			w: Workload{Origin: city(t, "WF"), Request: nodes.Resources{CPUMilli: 2000, GPUMilli: 250}}, outcome: Place, site: "qd-core"},
		{name: "too big for any node", policy: "balanced",
			w: Workload{Origin: city(t, "JN"), Request: small(100)}, outcome: Reject, reason: FilterCapacity,
			removed: map[Filter]int{FilterCapacity: 5}},
		{name: "deadline prefers the site holding the data", policy: "greenest",
			setup: func(t *testing.T, s *Snapshot) {
				s.Energy[siteIdx(t, s, "qd-core")].Now.CarbonKgPerKWh = 0.1
				s.Refresh()
			},
			w: Workload{Origin: city(t, "JN"), Request: small(8), Duration: 50 * time.Minute, Deadline: t0.Add(time.Hour),
				InputMB: 1_000_000, Tiers: nodes.TiersOf(nodes.TierCore)},
			outcome: Place, site: "jn-core", removed: map[Filter]int{FilterTier: 3, FilterDeadline: 1}},
		{name: "deadline nobody meets places late", policy: "nearest",
			w:       Workload{Origin: city(t, "JN"), Request: small(8), Duration: 2 * time.Hour, Deadline: t0.Add(time.Hour)},
			outcome: Place, site: "jn-core", late: true},
		{name: "malformed workload", policy: "balanced",
			w: Workload{Origin: city(t, "JN"), Request: nodes.Resources{MemoryMiB: 10}}, outcome: Reject, reason: FilterInvalid},
		{name: "origin out of range", policy: "balanced",
			w: Workload{Origin: 99, Request: small(1)}, outcome: Reject, reason: FilterInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			snap := newFixture(t)
			if c.setup != nil {
				c.setup(t, snap)
			}
			s := mustNew(t, c.policy)
			ex := &Explanation{}
			d := s.Decide(snap, &c.w, t0, rand.New(rand.NewPCG(1, 2)), ex)
			d2 := s.Decide(snap, &c.w, t0, rand.New(rand.NewPCG(1, 2)), nil)
			if !reflect.DeepEqual(d, d2) {
				t.Errorf("decision with explanation %+v differs from without %+v", d, d2)
			}
			if d.Outcome != c.outcome {
				t.Fatalf("outcome = %v (reason %v), want %v\n%s", d.Outcome, d.Reason, c.outcome, ex)
			}
			switch d.Outcome {
			case Place:
				if got := snap.State.Site(d.Site).ID; got != c.site {
					t.Errorf("site = %s, want %s\n%s", got, c.site, ex)
				}
				if snap.State.NodeSite(d.Node) != d.Site {
					t.Errorf("node %d is not in site %d", d.Node, d.Site)
				}
				if !snap.State.NodeFree(d.Node).Fits(c.w.Request) {
					t.Errorf("chosen node cannot fit the request")
				}
				if d.Late != c.late {
					t.Errorf("late = %v, want %v", d.Late, c.late)
				}
			case Reject:
				if d.Reason != c.reason {
					t.Errorf("reason = %v, want %v\n%s", d.Reason, c.reason, ex)
				}
			}
			for f, want := range c.removed {
				if got := ex.Removed[f].Sites; got != want {
					t.Errorf("filter %s removed %d sites, want %d\n%s", f, got, want, ex)
				}
			}
			// Counts add up: every site is removed by one filter or feasible.
			total := ex.Feasible
			for f := Filter(0); f < NumFilters; f++ {
				total += ex.Removed[f].Sites
			}
			if c.reason != FilterInvalid && total != ex.Sites && !(d.Outcome == Place && d.Late) {
				t.Errorf("filter counts add up to %d sites, want %d\n%s", total, ex.Sites, ex)
			}
		})
	}
}

func TestPolicies(t *testing.T) {
	type tc struct {
		name   string
		policy string
		origin string
		req    nodes.Resources
		setup  func(t *testing.T, s *Snapshot)
		want   []string // site of each successive placement (allocated in between)
		node   string   // expected node of the first placement, if set
	}
	cases := []tc{
		{name: "first-fit takes site 0 and its first node", policy: "first-fit", origin: "WF", req: small(1),
			want: []string{"jn-core", "jn-core"}, node: "jn-core-0"},
		{name: "nearest", policy: "nearest", origin: "WF", req: small(1), want: []string{"x-wf"}},
		{name: "nearest spills when full", policy: "nearest", origin: "WF", req: small(16),
			want: []string{"x-wf", "x-wf", "qd-core"}},
		{name: "round-robin rotates over sites", policy: "round-robin", origin: "JN", req: small(1),
			want: []string{"jn-core", "qd-core", "dz-reg", "x-jn", "x-wf", "jn-core"}},
		{name: "greenest follows low carbon", policy: "greenest", origin: "JN", req: small(4),
			setup: func(t *testing.T, s *Snapshot) {
				s.Energy[siteIdx(t, s, "dz-reg")].Now.CarbonKgPerKWh = 0.3
				s.Refresh()
			}, want: []string{"dz-reg"}},
		{name: "greenest counts renewable headroom", policy: "greenest", origin: "JN", req: small(4),
			setup: func(t *testing.T, s *Snapshot) {
				s.Energy[siteIdx(t, s, "x-wf")].Now.RenewableHeadroomKW = 10
				s.Refresh()
			}, want: []string{"x-wf"}},
		{name: "greenest penalises high PUE", policy: "greenest", origin: "JN", req: small(4),
			want: []string{"jn-core"}},
		{name: "cheapest follows price", policy: "cheapest", origin: "JN", req: small(4),
			setup: func(t *testing.T, s *Snapshot) {
				s.Energy[siteIdx(t, s, "qd-core")].Now.PriceCNYPerKWh = 0.18
				s.Refresh()
			}, want: []string{"qd-core"}},
		// x-wf's headroom is all green-power contract, priced above the
		// grid's valley price: carbon-free but not free of charge
		{name: "greenest takes contract power", policy: "greenest", origin: "JN", req: small(4),
			setup: contractSite("x-wf", 0.3949, 0.2), want: []string{"x-wf"}},
		{name: "cheapest leaves dear contract power for the cheaper grid", policy: "cheapest", origin: "JN", req: small(4),
			setup: contractSite("x-wf", 0.3949, 0.2), want: []string{"jn-core"}},
		{name: "cheapest takes contract power dearer grid", policy: "cheapest", origin: "JN", req: small(4),
			setup: contractSite("x-wf", 0.3949, 0.9), want: []string{"x-wf"}},
		{name: "binpack prefers the fuller site", policy: "binpack", origin: "JN", req: small(4),
			setup: func(t *testing.T, s *Snapshot) {
				if err := s.State.Allocate(nodeIdx(t, s, "dz-reg-1"), small(60)); err != nil {
					t.Fatal(err)
				}
			}, want: []string{"dz-reg", "dz-reg"}, node: "dz-reg-1"}, // exactly fills dz-reg-1
		{name: "binpack fills the best-fitting node", policy: "binpack", origin: "JN", req: small(4),
			setup: func(t *testing.T, s *Snapshot) {
				for id, cores := range map[string]int64{"jn-core-0": 40, "jn-core-1": 50, "jn-core-2": 58} {
					if err := s.State.Allocate(nodeIdx(t, s, id), small(cores)); err != nil {
						t.Fatal(err)
					}
				}
			}, want: []string{"jn-core"}, node: "jn-core-2"},
		{name: "spread prefers the emptier site", policy: "spread", origin: "JN", req: small(4),
			setup: func(t *testing.T, s *Snapshot) {
				for _, id := range []string{"jn-core-0", "jn-core-1", "jn-core-2"} {
					if err := s.State.Allocate(nodeIdx(t, s, id), small(60)); err != nil {
						t.Fatal(err)
					}
				}
			}, want: []string{"qd-core"}},
		{name: "binpack keeps cpu work off gpu nodes", policy: "binpack", origin: "JN", req: small(4),
			setup: func(t *testing.T, s *Snapshot) {
				// jn-core's cpu nodes are nearly full; its gpu node is empty
				for _, id := range []string{"jn-core-0", "jn-core-1", "jn-core-2"} {
					if err := s.State.Allocate(nodeIdx(t, s, id), small(62)); err != nil {
						t.Fatal(err)
					}
				}
			}, want: []string{"jn-core"}, node: "jn-core-3"},
		{name: "random picks only feasible sites", policy: "random", origin: "JN", req: small(4),
			setup: onlySite("qd-core"), want: []string{"qd-core", "qd-core", "qd-core"}},
		// x-wf is nearest, but its PUE of 1.6 costs more in energy and
		// carbon than the few milliseconds to qd-core
		{name: "balanced weighs PUE against latency", policy: "balanced", origin: "WF", req: small(4),
			want: []string{"qd-core"}},
		{name: "balanced goes farther for much greener, cheaper power", policy: "balanced", origin: "WF", req: small(4),
			setup: func(t *testing.T, s *Snapshot) {
				s.Energy[siteIdx(t, s, "dz-reg")].Now.RenewableHeadroomKW = 10
				s.Refresh()
			}, want: []string{"dz-reg"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			snap := newFixture(t)
			if c.setup != nil {
				c.setup(t, snap)
			}
			s := mustNew(t, c.policy)
			for i, want := range c.want {
				w := Workload{Origin: city(t, c.origin), Request: c.req}
				ex := &Explanation{}
				d := s.Decide(snap, &w, t0, rand.New(rand.NewPCG(3, 4)), ex)
				if d.Outcome != Place {
					t.Fatalf("placement %d: %v (%v)\n%s", i, d.Outcome, d.Reason, ex)
				}
				if got := snap.State.Site(d.Site).ID; got != want {
					t.Fatalf("placement %d: site %s, want %s\n%s", i, got, want, ex)
				}
				if i == 0 && c.node != "" && snap.State.NodeID(d.Node) != c.node {
					t.Errorf("node = %s, want %s\n%s", snap.State.NodeID(d.Node), c.node, ex)
				}
				if err := snap.State.Allocate(d.Node, w.Request); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestRandomIsSeededAndCoversFeasibleSites: the random policy draws from
// the injected generator only: one seed gives one sequence, and over many
// draws every feasible site is used.
func TestRandomIsSeededAndCoversFeasibleSites(t *testing.T) {
	run := func(seed uint64) []int {
		snap := newFixture(t)
		s := mustNew(t, "random")
		rng := rand.New(rand.NewPCG(seed, 1))
		var sites []int
		for i := 0; i < 200; i++ {
			w := Workload{Origin: city(t, "JN"), Request: small(1)}
			d := s.Decide(snap, &w, t0, rng, nil)
			if d.Outcome != Place {
				t.Fatalf("draw %d: %v", i, d.Outcome)
			}
			sites = append(sites, d.Site)
		}
		return sites
	}
	a, b, c := run(1), run(1), run(2)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave different sequences")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds gave the same sequence")
	}
	seen := map[int]bool{}
	for _, site := range a {
		seen[site] = true
	}
	if len(seen) != len(fixtureSites) {
		t.Errorf("200 draws used %d of %d sites", len(seen), len(fixtureSites))
	}
}

// onlySite takes down every node outside site id.
func onlySite(id string) func(t *testing.T, s *Snapshot) {
	return func(t *testing.T, s *Snapshot) {
		for n := 0; n < s.State.NumNodes(); n++ {
			if s.State.Site(s.State.NodeSite(n)).ID != id {
				if err := s.State.SetNodeState(n, nodes.NodeDown); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// contractSite sets every site's grid price to gridPrice and gives site id
// ample renewable headroom that is all green-power contract at ctrPrice.
func contractSite(id string, ctrPrice, gridPrice float64) func(t *testing.T, s *Snapshot) {
	return func(t *testing.T, s *Snapshot) {
		for i := range s.Energy {
			s.Energy[i].Now.PriceCNYPerKWh = gridPrice
		}
		e := &s.Energy[siteIdx(t, s, id)].Now
		e.RenewableHeadroomKW, e.ContractHeadroomKW, e.ContractPriceCNYPerKWh = 1000, 1000, ctrPrice
		s.Refresh()
	}
}

func TestShares(t *testing.T) {
	for _, c := range []struct {
		kw, head, free  float64
		wantCtr, wantGr float64
	}{
		{kw: 0, head: 5, free: 5, wantCtr: 0, wantGr: 1},
		{kw: 10, head: 0, free: 0, wantCtr: 0, wantGr: 1},
		{kw: 10, head: 20, free: 20, wantCtr: 0, wantGr: 0},   // free covers it all
		{kw: 10, head: 20, free: 0, wantCtr: 1, wantGr: 0},    // contracts cover it all
		{kw: 10, head: 6, free: 2, wantCtr: 0.4, wantGr: 0.4}, // free, then contract, then grid
		{kw: 10, head: 15, free: 4, wantCtr: 0.6, wantGr: 0},
	} {
		ctr, grid := shares(c.kw, c.head, c.free)
		if math.Abs(ctr-c.wantCtr) > 1e-12 || math.Abs(grid-c.wantGr) > 1e-12 {
			t.Errorf("shares(%g, %g, %g) = %g, %g; want %g, %g", c.kw, c.head, c.free, ctr, grid, c.wantCtr, c.wantGr)
		}
	}
}

func TestRandomPolicyCoversSites(t *testing.T) {
	snap := newFixture(t)
	s := mustNew(t, "random")
	rng := rand.New(rand.NewPCG(9, 9))
	seen := map[int]int{}
	for i := 0; i < 500; i++ {
		w := Workload{Origin: 0, Request: small(1)}
		d := s.Decide(snap, &w, t0, rng, nil)
		if d.Outcome != Place {
			t.Fatal(d)
		}
		seen[d.Site]++
	}
	if len(seen) != 5 {
		t.Errorf("random policy used %d of 5 sites: %v", len(seen), seen)
	}
}

func TestEveryPolicyIsDeterministic(t *testing.T) {
	for _, p := range PolicyNames() {
		t.Run(p, func(t *testing.T) {
			run := func() []Decision {
				snap := newSnapshot(t, nodes.Synthetic(300))
				s := mustNew(t, p)
				rng := rand.New(rand.NewPCG(5, 6))
				var out []Decision
				for i := 0; i < 400; i++ {
					w := Workload{Origin: i % 16, Request: small(int64(1 + i%16)), Duration: time.Hour}
					d := s.Decide(snap, &w, t0, rng, nil)
					if d.Outcome == Place {
						if err := snap.State.Allocate(d.Node, w.Request); err != nil {
							t.Fatal(err)
						}
					}
					out = append(out, d)
				}
				return out
			}
			a, b := run(), run()
			for i := range a {
				if !reflect.DeepEqual(a[i], b[i]) {
					t.Fatalf("decision %d differs between runs: %+v vs %+v", i, a[i], b[i])
				}
			}
		})
	}
}

func TestScorerTerms(t *testing.T) {
	snap := newFixture(t)
	jn := siteIdx(t, snap, "jn-core")
	xwf := siteIdx(t, snap, "x-wf")
	snap.Energy[xwf].Now.RenewableHeadroomKW = 1e9
	snap.Refresh()
	w := Workload{Origin: city(t, "JN"), Request: nodes.Resources{CPUMilli: 64_000, MemoryMiB: 128 * 1024}}
	var a, b [NumScorers]float64
	snap.siteTerms(&w, jn, snap.Latency.RTTMs(w.Origin, jn), &a)
	snap.siteTerms(&w, xwf, snap.Latency.RTTMs(w.Origin, xwf), &b)
	for k := range a {
		if a[k] < 0 || a[k] > 1 || b[k] < 0 || b[k] > 1 {
			t.Errorf("%s terms out of [0,1]: %v %v", Scorer(k), a[k], b[k])
		}
	}
	if !(a[ScoreLatency] > b[ScoreLatency]) {
		t.Errorf("latency: jn-core %.3f should beat x-wf %.3f for JN work", a[ScoreLatency], b[ScoreLatency])
	}
	if b[ScoreCarbon] != 1 || b[ScoreCost] != 1 {
		t.Errorf("fully renewable-covered site should score 1 on carbon and cost, got %.3f %.3f", b[ScoreCarbon], b[ScoreCost])
	}
	// the same headroom as a green-power contract at the grid's price:
	// still carbon-free, but it costs what the grid would
	snap.Energy[xwf].Now.ContractHeadroomKW = 1e9
	snap.Energy[xwf].Now.ContractPriceCNYPerKWh = snap.Energy[xwf].Now.PriceCNYPerKWh
	snap.Refresh()
	var c [NumScorers]float64
	snap.siteTerms(&w, xwf, snap.Latency.RTTMs(w.Origin, xwf), &c)
	snap.Energy[xwf].Now.RenewableHeadroomKW, snap.Energy[xwf].Now.ContractHeadroomKW = 0, 0
	snap.Refresh()
	var d [NumScorers]float64
	snap.siteTerms(&w, xwf, snap.Latency.RTTMs(w.Origin, xwf), &d)
	if c[ScoreCarbon] != 1 || math.Abs(c[ScoreCost]-d[ScoreCost]) > 1e-12 || c[ScoreCost] == 1 {
		t.Errorf("contract-covered site: carbon %.3f (want 1), cost %.3f (want the grid's %.3f)", c[ScoreCarbon], c[ScoreCost], d[ScoreCost])
	}
	// utilisation after placing 64 cores on jn-core's 256 cores: 0.25 cpu,
	// 128 GiB of 1280 GiB memory: 0.1; mean 0.175
	if got := a[ScoreBinPack]; got < 0.1749 || got > 0.1751 {
		t.Errorf("binpack term = %.4f, want 0.175", got)
	}
	if a[ScoreSpread]+a[ScoreBinPack] != 1 {
		t.Errorf("spread and binpack should be complements")
	}
}

func TestCarbonWindowDefers(t *testing.T) {
	mk := func(t *testing.T, drop bool) *Snapshot {
		s := newFixture(t)
		s.ForecastStart = t0.Truncate(time.Hour)
		s.ForecastStep = time.Hour
		for i := range s.Energy {
			f := make([]Signal, 48)
			for k := range f {
				f[k] = Signal{PriceCNYPerKWh: 0.614, CarbonKgPerKWh: 0.62}
				if drop && k >= 5 && k < 9 {
					f[k].CarbonKgPerKWh = 0.3
				}
			}
			s.Energy[i].Forecast = f
		}
		s.Refresh()
		return s
	}
	batch := func(deadline time.Duration) Workload {
		return Workload{Origin: 0, Request: small(8), Duration: 2 * time.Hour, Deadline: t0.Add(deadline)}
	}
	t.Run("defers to the green window", func(t *testing.T) {
		snap := mk(t, true)
		w := batch(24 * time.Hour)
		ex := &Explanation{WhyNotSites: []int{0}}
		d := mustNew(t, "carbon-window").Decide(snap, &w, t0, nil, ex)
		if d.Outcome != Defer || !d.NotBefore.Equal(t0.Truncate(time.Hour).Add(5*time.Hour)) {
			t.Fatalf("got %+v, want defer to %v\n%s", d, t0.Add(5*time.Hour), ex)
		}
		if !strings.Contains(ex.String(), "defer until") {
			t.Errorf("explanation does not mention the deferral:\n%s", ex)
		}
	})
	t.Run("places when the window is too late for the deadline", func(t *testing.T) {
		snap := mk(t, true)
		w := batch(5 * time.Hour)
		if d := mustNew(t, "carbon-window").Decide(snap, &w, t0, nil, nil); d.Outcome != Place {
			t.Fatalf("got %+v, want place", d)
		}
	})
	t.Run("places when nothing is better", func(t *testing.T) {
		snap := mk(t, false)
		w := batch(24 * time.Hour)
		if d := mustNew(t, "carbon-window").Decide(snap, &w, t0, nil, nil); d.Outcome != Place {
			t.Fatalf("got %+v, want place", d)
		}
	})
	t.Run("keeps slack before the deadline", func(t *testing.T) {
		// The green window opens at hour 5; the 1 h job is due 30 min
		// after a start then would finish: without slack it waits for the
		// window, with the default slack (one step, 1 h) it may not.
		due := t0.Truncate(time.Hour).Add(6*time.Hour + 30*time.Minute).Sub(t0)
		for _, c := range []struct {
			slack time.Duration
			want  Outcome
		}{{0, Place}, {-1, Defer}, {20 * time.Minute, Defer}, {2 * time.Hour, Place}} {
			snap := mk(t, true)
			w := batch(due)
			w.Duration = time.Hour
			s, err := New("carbon-window", Config{DeferSlack: c.slack, DeferSlackFraction: -1}) // the fixed slack alone
			if err != nil {
				t.Fatal(err)
			}
			if d := s.Decide(snap, &w, t0, nil, nil); d.Outcome != c.want {
				t.Errorf("DeferSlack %v: got %v, want %v", c.slack, d.Outcome, c.want)
			}
		}
	})
	t.Run("keeps slack for the run time at risk", func(t *testing.T) {
		// As above with no fixed slack: the slack is DeferSlackFraction
		// times the run time one interruption can cost (all of the 1 h
		// job, or one checkpoint period); 30 min are left.
		due := t0.Truncate(time.Hour).Add(6*time.Hour + 30*time.Minute).Sub(t0)
		for _, c := range []struct {
			frac       float64
			checkpoint time.Duration
			want       Outcome
		}{{1, 0, Place}, {0.25, 0, Defer}, {0.5, 0, Defer}, {0.75, 0, Place}, {1, 15 * time.Minute, Defer}, {2, 15 * time.Minute, Defer}, {3, 15 * time.Minute, Place}, {-1, 0, Defer}, {0, 0, Place} /* 0: the default, 1 */} {
			snap := mk(t, true)
			w := batch(due)
			w.Duration, w.Checkpoint = time.Hour, c.checkpoint
			s, err := New("carbon-window", Config{DeferSlack: -1, DeferSlackFraction: c.frac})
			if err != nil {
				t.Fatal(err)
			}
			if d := s.Decide(snap, &w, t0, nil, nil); d.Outcome != c.want {
				t.Errorf("DeferSlackFraction %g, checkpoint %v: got %v, want %v", c.frac, c.checkpoint, d.Outcome, c.want)
			}
		}
	})
	t.Run("defers for any gain with a negative threshold", func(t *testing.T) {
		for _, c := range []struct {
			threshold float64
			want      Outcome
		}{{0, Defer}, {-1, Defer}, {0.99, Place}} {
			snap := mk(t, true)
			w := batch(24 * time.Hour)
			s, err := New("carbon-window", Config{DeferThreshold: c.threshold})
			if err != nil {
				t.Fatal(err)
			}
			if d := s.Decide(snap, &w, t0, nil, nil); d.Outcome != c.want {
				t.Errorf("DeferThreshold %g: got %v, want %v", c.threshold, d.Outcome, c.want)
			}
		}
	})
	t.Run("places once the window has come", func(t *testing.T) {
		snap := mk(t, true)
		w := batch(24 * time.Hour)
		at := t0.Truncate(time.Hour).Add(5 * time.Hour)
		if d := mustNew(t, "carbon-window").Decide(snap, &w, at, nil, nil); d.Outcome != Place {
			t.Fatalf("got %+v, want place", d)
		}
	})
	t.Run("services without deadline are never deferred", func(t *testing.T) {
		snap := mk(t, true)
		w := Workload{Origin: 0, Request: small(1), Duration: time.Hour}
		if d := mustNew(t, "price-window").Decide(snap, &w, t0, nil, nil); d.Outcome != Place {
			t.Fatalf("got %+v, want place", d)
		}
	})
}

func TestUnknownPolicy(t *testing.T) {
	_, err := New("fastest", Config{})
	if err == nil || !strings.Contains(err.Error(), "allowed: balanced, binpack") {
		t.Fatalf("got %v, want an error listing the allowed policies", err)
	}
}

// TestExplainingDoesNotChangeDecisions drives every policy through a varied
// stream twice, once asking for explanations and once not, and requires the
// same decisions: the fast paths taken without an explanation (the nearest
// site tried at once, the best site tracked during the scan) must choose
// exactly what the explained path chooses.
func TestExplainingDoesNotChangeDecisions(t *testing.T) {
	for _, p := range PolicyNames() {
		t.Run(p, func(t *testing.T) {
			snaps := [2]*Snapshot{}
			for k := range snaps {
				snaps[k] = newSnapshot(t, nodes.Synthetic(400))
				sig := rand.New(rand.NewPCG(9, 9))
				for i := range snaps[k].Energy {
					e := &snaps[k].Energy[i]
					e.Now = Signal{PriceCNYPerKWh: 0.2 + sig.Float64(), CarbonKgPerKWh: 0.4 + sig.Float64()*0.3, RenewableHeadroomKW: sig.Float64() * 50}
					e.Forecast = make([]Signal, 24)
					for j := range e.Forecast {
						e.Forecast[j] = e.Now
						e.Forecast[j].CarbonKgPerKWh *= 0.7 + 0.6*sig.Float64()
						e.Forecast[j].PriceCNYPerKWh *= 0.7 + 0.6*sig.Float64()
					}
				}
				snaps[k].ForecastStart = t0
				snaps[k].Refresh()
			}
			scheds := [2]*Scheduler{mustNew(t, p), mustNew(t, p)}
			rngs := [2]*rand.Rand{rand.New(rand.NewPCG(3, 4)), rand.New(rand.NewPCG(3, 4))}
			gen := rand.New(rand.NewPCG(7, 8))
			sizes := []nodes.Resources{small(1), small(4), small(16), {CPUMilli: 8000, MemoryMiB: 32768, GPUMilli: 1000}, small(64)}
			for i := 0; i < 3000; i++ {
				w := Workload{Origin: gen.IntN(16), Request: sizes[gen.IntN(len(sizes))], Duration: time.Duration(1+gen.IntN(6)) * time.Hour, InputMB: gen.Float64() * 5000}
				switch gen.IntN(4) {
				case 0:
					w.LatencyBoundMs = 1 + gen.Float64()*6
				case 1:
					w.Deadline = t0.Add(w.Duration + time.Duration(gen.IntN(600))*time.Second)
				case 2:
					w.Tiers = nodes.TiersOf(nodes.TierCore, nodes.TierCluster)
				}
				var got [2]Decision
				for k := range got {
					var ex *Explanation
					if k == 1 {
						ex = &Explanation{}
					}
					got[k] = scheds[k].Decide(snaps[k], &w, t0, rngs[k], ex)
					if got[k].Outcome == Place {
						if err := snaps[k].State.Allocate(got[k].Node, w.Request); err != nil {
							t.Fatal(err)
						}
					}
				}
				if !reflect.DeepEqual(got[0], got[1]) {
					t.Fatalf("workload %d (%+v): without explanation %+v, with %+v", i, w, got[0], got[1])
				}
			}
		})
	}
}

func TestSlackFor(t *testing.T) {
	h := time.Hour
	for _, c := range []struct {
		cfg  Config
		dur  time.Duration
		want time.Duration
	}{
		{Config{}, 5 * h, h},
		{Config{DeferSlack: -1}, 5 * h, 0},
		{Config{DeferSlack: 3 * h}, 5 * h, 3 * h},
		{Config{DeferSlackFraction: 1}, 5 * h, 5 * h},
		{Config{DeferSlackFraction: 1}, 30 * time.Minute, h},
		{Config{DeferSlackFraction: 0.5, DeferSlack: -1}, 30 * time.Minute, 15 * time.Minute},
		{Config{DeferSlackFraction: 0.5, DeferSlack: 4 * h}, 6 * h, 4 * h},
		{Config{DeferSlackFraction: -2}, 5 * h, h},
		{Config{DeferSlackFraction: 1e300}, 5 * h, time.Duration(math.MaxInt64)},
	} {
		if got := c.cfg.SlackFor(h, c.dur); got != c.want {
			t.Errorf("%+v, run time %v: slack %v, want %v", c.cfg, c.dur, got, c.want)
		}
	}
	w := Workload{Duration: 5 * h}
	if w.AtRisk() != 5*h {
		t.Errorf("no checkpoints: at risk %v", w.AtRisk())
	}
	w.Checkpoint = 30 * time.Minute
	if w.AtRisk() != 30*time.Minute {
		t.Errorf("checkpoint 30m: at risk %v", w.AtRisk())
	}
	w.Duration = 10 * time.Minute
	if w.AtRisk() != 10*time.Minute {
		t.Errorf("checkpoint longer than the run: at risk %v", w.AtRisk())
	}
	if c := (Config{DeferThreshold: -0.5, NodeCandidates: 99}).WithDefaults(); c.DeferThreshold != 0 || c.NodeCandidates != 32 {
		t.Errorf("WithDefaults: %+v", c)
	}
	if c := (Config{}).WithDefaults(); c.DeferThreshold != 0.1 || c.NodeCandidates != 4 {
		t.Errorf("WithDefaults of the zero config: %+v", c)
	}
}
