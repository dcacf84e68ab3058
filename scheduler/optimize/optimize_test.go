package optimize

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler"
)

// simplexOptimum solves the same allocation as Fill as a linear program
// with gonum's simplex: minimise Σ cost·x subject to x ≤ capacity, the
// suffix bounds, and Σ x = served.
func simplexOptimum(t *testing.T, cells []Cell, due []float64, served float64) float64 {
	t.Helper()
	n, h := len(cells), len(due)
	// inequalities: x_i ≤ cap_i (n rows), −x_i ≤ 0 (n rows: Convert's
	// general form leaves x free), suffix sums ≤ suffix demand (h rows)
	G := mat.NewDense(2*n+h, n, nil)
	hv := make([]float64, 2*n+h)
	for i, c := range cells {
		G.Set(i, i, 1)
		hv[i] = c.Capacity
		G.Set(n+i, i, -1)
	}
	suffix := 0.0
	for tt := h - 1; tt >= 0; tt-- {
		suffix += due[tt]
		for i, c := range cells {
			if c.Slot >= tt {
				G.Set(2*n+tt, i, 1)
			}
		}
		hv[2*n+tt] = suffix
	}
	A := mat.NewDense(1, n, nil)
	for i := range cells {
		A.Set(0, i, 1)
	}
	c := make([]float64, n)
	for i, cell := range cells {
		c[i] = cell.Cost
	}
	cNew, aNew, bNew := lp.Convert(c, G, hv, A, []float64{served})
	opt, _, err := lp.Simplex(cNew, aNew, bNew, 1e-10, nil)
	if err != nil {
		t.Fatalf("simplex: %v", err)
	}
	return opt
}

// TestFillIsOptimal compares the greedy fill with gonum's simplex on random
// small instances: same total served, same minimal cost.
func TestFillIsOptimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for iter := 0; iter < 40; iter++ {
		sites, h := 1+rng.IntN(3), 1+rng.IntN(6)
		var cells []Cell
		for s := 0; s < sites; s++ {
			for k := 0; k < h; k++ {
				cells = append(cells, Cell{Site: s, Slot: k, Capacity: float64(rng.IntN(20)), Cost: math.Round(rng.Float64()*100) / 10})
			}
		}
		due := make([]float64, h)
		for k := range due {
			due[k] = float64(rng.IntN(25))
		}
		alloc, served, err := Fill(cells, due)
		if err != nil {
			t.Fatal(err)
		}
		// feasibility
		used := make([]float64, h)
		cost := 0.0
		for i, c := range cells {
			if alloc[i] < -1e-9 || alloc[i] > c.Capacity+1e-9 {
				t.Fatalf("iter %d: cell %d allocated %g of %g", iter, i, alloc[i], c.Capacity)
			}
			used[c.Slot] += alloc[i]
			cost += alloc[i] * c.Cost
		}
		suffixUsed, suffixDue := 0.0, 0.0
		for k := h - 1; k >= 0; k-- {
			suffixUsed += used[k]
			suffixDue += due[k]
			if suffixUsed > suffixDue+1e-9 {
				t.Fatalf("iter %d: slots ≥ %d take %g but only %g is due there", iter, k, suffixUsed, suffixDue)
			}
		}
		// maximal: the LP cannot serve more
		capSum := 0.0
		for _, c := range cells {
			capSum += c.Capacity
		}
		if served < 1e-9 {
			continue
		}
		want := simplexOptimum(t, cells, due, served)
		if math.Abs(cost-want) > 1e-6*math.Max(1, want) {
			t.Fatalf("iter %d: greedy cost %g, simplex optimum %g (cells %v due %v)", iter, cost, want, cells, due)
		}
	}
}

func TestFillRejectsBadInput(t *testing.T) {
	if _, _, err := Fill([]Cell{{Slot: 3, Capacity: 1}}, make([]float64, 2)); err == nil {
		t.Error("slot outside the horizon accepted")
	}
	if _, _, err := Fill([]Cell{{Slot: 0, Capacity: -1}}, make([]float64, 1)); err == nil {
		t.Error("negative capacity accepted")
	}
	if _, _, err := Fill(nil, []float64{-1}); err == nil {
		t.Error("negative demand accepted")
	}
}

var t0 = time.Date(2025, 4, 7, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))

// newProvince is two core sites on the same grid; in hours 4–7 qd-core has
// renewable headroom for a limited amount of work (64 cores' worth).
func newProvince(t *testing.T) *scheduler.Snapshot {
	t.Helper()
	return newProvinceOf(t, nodes.CPUServer, 4)
}

// newProvinceOf is newProvince with n nodes of capacity c per site.
func newProvinceOf(t *testing.T, c nodes.Resources, n int) *scheduler.Snapshot {
	t.Helper()
	cities := nodes.ShandongCities()
	topo := nodes.Topology{Sites: []nodes.Site{
		{ID: "jn-core", City: "JN", Lat: 36.651, Lon: 117.12, Tier: nodes.TierCore, Role: nodes.RoleCoreZone, PUE: 1.25},
		{ID: "qd-core", City: "QD", Lat: 36.067, Lon: 120.383, Tier: nodes.TierCore, Role: nodes.RoleProvincial, PUE: 1.25},
	}}
	for s := 0; s < 2; s++ {
		for k := 0; k < n; k++ {
			topo.Nodes = append(topo.Nodes, nodes.Node{ID: topo.Sites[s].ID + "-" + string(rune('a'+k)), Site: s, Capacity: c})
		}
	}
	st, err := scheduler.NewState(&topo)
	if err != nil {
		t.Fatal(err)
	}
	lt, err := nodes.NewLatencyTable(nodes.DefaultLatencyModel(), cities, topo.Sites)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := scheduler.NewSnapshot(st, lt, cities)
	if err != nil {
		t.Fatal(err)
	}
	snap.ForecastStart, snap.ForecastStep = t0, time.Hour
	for s := range snap.Energy {
		e := &snap.Energy[s]
		e.MarginalWPerCore = 5
		e.Now = scheduler.Signal{PriceCNYPerKWh: 0.6, CarbonKgPerKWh: 0.62}
		e.Forecast = make([]scheduler.Signal, 24)
		for k := range e.Forecast {
			e.Forecast[k] = e.Now
			if s == 1 && k >= 4 && k < 8 {
				// 0.4 kW of headroom: 64 cores' worth at 5 W × 1.25
				e.Forecast[k].RenewableHeadroomKW = 0.4
			}
		}
	}
	snap.Refresh()
	return snap
}

// greenJob is job i of the green-window tests: 32 cores for 2 h from
// JN, due within 20 h.
func greenJob(i int) scheduler.Workload {
	return scheduler.Workload{ID: string(rune('a' + i)), Origin: 0, Request: nodes.Resources{CPUMilli: 32_000, MemoryMiB: 1024},
		Duration: 2 * time.Hour, Deadline: t0.Add(20 * time.Hour)}
}

func TestOptimizerDefersIntoTheGreenWindowWithinCapacity(t *testing.T) {
	snap := newProvince(t)
	sched, err := scheduler.New(Name, scheduler.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// Six 32-core jobs of 2 h, due within 20 h: the green window (hours
	// 4–7 at qd-core) holds 64 cores × 4 h = 256 core-hours, i.e. four of
	// them; the rest are no better off later, so they run now.
	var deferred, now int
	for i := 0; i < 6; i++ {
		w := greenJob(i)
		ex := &scheduler.Explanation{}
		d := sched.Decide(snap, &w, t0, nil, ex)
		switch d.Outcome {
		case scheduler.Defer:
			deferred++
			if d.NotBefore.Before(t0.Add(4*time.Hour)) || !d.NotBefore.Before(t0.Add(8*time.Hour)) {
				t.Errorf("job %d deferred to %v, want inside the green window 12:00–16:00", i, d.NotBefore)
			}
		case scheduler.Place:
			now++
			if err := snap.State.Allocate(d.Node, w.Request); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("job %d rejected: %v\n%s", i, d.Reason, ex)
		}
		if len(ex.Notes) == 0 || ex.Policy != Name {
			t.Errorf("explanation lacks the optimizer's note:\n%s", ex)
		}
	}
	if deferred != 4 || now != 2 {
		t.Errorf("deferred %d and placed now %d, want 4 and 2 (the green window holds four jobs)", deferred, now)
	}
}

// TestOptimizerForgetFreesTheReservation: the green window holds four of
// the jobs; once the driver says a deferred one left (it gave up waiting
// or was cancelled), a later job takes its place in the window instead of
// running now.
func TestOptimizerForgetFreesTheReservation(t *testing.T) {
	for _, forget := range []bool{false, true} {
		snap := newProvince(t)
		sched, err := scheduler.New(Name, scheduler.Config{})
		if err != nil {
			t.Fatal(err)
		}
		var deferred []string
		for i := 0; i < 6; i++ {
			w := greenJob(i)
			switch d := sched.Decide(snap, &w, t0, nil, nil); d.Outcome {
			case scheduler.Defer:
				deferred = append(deferred, w.ID)
			case scheduler.Place:
				if err := snap.State.Allocate(d.Node, w.Request); err != nil {
					t.Fatal(err)
				}
			}
		}
		if len(deferred) != 4 {
			t.Fatalf("%d deferred, want 4", len(deferred))
		}
		if forget {
			sched.Forget(deferred[0])
			sched.Forget("never-seen") // ignored
		}
		w := greenJob(6)
		d := sched.Decide(snap, &w, t0, nil, nil)
		if want := map[bool]scheduler.Outcome{false: scheduler.Place, true: scheduler.Defer}[forget]; d.Outcome != want {
			t.Errorf("forget %v: the seventh job got %v, want %v", forget, d.Outcome, want)
		}
	}
}

// TestOptimizerPaysForContractPower: when the window's headroom is a
// green-power contract dearer than the grid, an optimizer that weighs
// price alone has no reason to wait for it, while one that weighs carbon
// alone defers into it as into free renewables.
func TestOptimizerPaysForContractPower(t *testing.T) {
	for _, c := range []struct {
		name         string
		opt          Options
		wantDeferred int
	}{
		{"price only", Options{PriceWeight: 1}, 0},
		{"carbon only", Options{CarbonWeight: 1}, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			snap := newProvince(t)
			for k := 4; k < 8; k++ {
				f := &snap.Energy[1].Forecast[k]
				f.ContractHeadroomKW, f.ContractPriceCNYPerKWh = f.RenewableHeadroomKW, 0.9 // grid: 0.6
			}
			snap.Refresh()
			opt, err := New(scheduler.Config{}, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			deferred := 0
			for i := 0; i < 6; i++ {
				w := greenJob(i)
				ex := &scheduler.Explanation{}
				d := opt.Decide(snap, &w, t0, nil, ex)
				switch d.Outcome {
				case scheduler.Defer:
					deferred++
				case scheduler.Place:
					if err := snap.State.Allocate(d.Node, w.Request); err != nil {
						t.Fatal(err)
					}
				default:
					t.Fatalf("job %d rejected: %v\n%s", i, d.Reason, ex)
				}
			}
			if deferred != c.wantDeferred {
				t.Errorf("deferred %d jobs, want %d", deferred, c.wantDeferred)
			}
		})
	}
}

func TestOptimizerPlacesServicesBalanced(t *testing.T) {
	snap := newProvince(t)
	opt, err := New(scheduler.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := scheduler.Workload{ID: "svc", Origin: 0, Request: nodes.Resources{CPUMilli: 1000}, Duration: time.Hour}
	if d := opt.Decide(snap, &w, t0, nil, nil); d.Outcome != scheduler.Place {
		t.Fatalf("service not placed: %+v", d)
	}
	if opt.Plans() != 0 {
		t.Errorf("a service decision computed %d plans, want 0", opt.Plans())
	}
}

func TestOptimizerIsRegistered(t *testing.T) {
	found := false
	for _, n := range scheduler.PolicyNames() {
		found = found || n == Name
	}
	if !found {
		t.Fatalf("%q missing from %v", Name, scheduler.PolicyNames())
	}
}

func BenchmarkPlan(b *testing.B) {
	topo := nodes.Synthetic(10_000)
	cities := nodes.ShandongCities()
	st, _ := scheduler.NewState(&topo)
	lt, _ := nodes.NewLatencyTable(nodes.DefaultLatencyModel(), cities, topo.Sites)
	snap, _ := scheduler.NewSnapshot(st, lt, cities)
	rng := rand.New(rand.NewPCG(1, 1))
	snap.ForecastStart, snap.ForecastStep = t0, time.Hour
	for s := range snap.Energy {
		e := &snap.Energy[s]
		e.Forecast = make([]scheduler.Signal, 48)
		for k := range e.Forecast {
			e.Forecast[k] = scheduler.Signal{PriceCNYPerKWh: 0.2 + rng.Float64(), CarbonKgPerKWh: 0.4 + rng.Float64()*0.3, RenewableHeadroomKW: rng.Float64() * 100}
		}
	}
	snap.Refresh()
	o, _ := New(scheduler.Config{}, Options{})
	o.sites = snap.State.NumSites()
	any := o.groupOf(snap, &scheduler.Workload{Request: nodes.Resources{CPUMilli: 1000}})
	core := o.groupOf(snap, &scheduler.Workload{Request: nodes.Resources{CPUMilli: 1000}, Tiers: nodes.TiersOf(nodes.TierCore)})
	for i := 0; i < 500; i++ {
		o.index[string(rune(i))] = len(o.ledger)
		o.ledger = append(o.ledger, entry{id: string(rune(i)), cores: 16, hours: 4, deadline: t0.Add(time.Duration(4+rng.IntN(40)) * time.Hour),
			group: []int{any, core}[i%2], site: -1})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o.plan(snap, t0, t0)
	}
}

// TestOptimizerDecideAllocatesNothingWithoutExplanation guards the hot
// path: a deadline workload placed now without an explanation must not
// allocate (the plan is already computed).
func TestOptimizerDecideAllocatesNothingWithoutExplanation(t *testing.T) {
	snap := newProvince(t)
	o, err := New(scheduler.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := scheduler.Workload{ID: "a", Origin: 0, Request: nodes.Resources{CPUMilli: 1000, MemoryMiB: 1024}, Duration: time.Hour, Deadline: t0.Add(time.Hour + 30*time.Minute)}
	o.Decide(snap, &w, t0, nil, nil) // plan once
	allocs := testing.AllocsPerRun(100, func() {
		o.index[w.ID] = len(o.ledger)
		o.ledger = append(o.ledger, entry{id: w.ID, cores: 1, hours: 1, deadline: w.Deadline})
		o.demand++
		o.planned = o.demand
		if d := o.Decide(snap, &w, t0, nil, nil); d.Outcome != scheduler.Place {
			t.Fatalf("got %+v, want place", d)
		}
	})
	if allocs > 0 {
		t.Errorf("Decide allocated %.1f times per run, want 0", allocs)
	}
}

// TestOptimizerPlansRestrictedWorkAtItsSites: work that may only run at
// jn-core must not be planned into qd-core's green window (the plan is per
// group of eligible sites); with nothing cheaper later at jn-core it runs
// now, while unrestricted work still goes to the window.
func TestOptimizerPlansRestrictedWorkAtItsSites(t *testing.T) {
	snap := newProvince(t)
	sched, err := scheduler.New(Name, scheduler.Config{})
	if err != nil {
		t.Fatal(err)
	}
	onlyJN := scheduler.NewSiteSet(2, 0)
	w := scheduler.Workload{ID: "hpc-1", Origin: 0, Request: nodes.Resources{CPUMilli: 32_000}, Duration: 2 * time.Hour,
		Deadline: t0.Add(20 * time.Hour), Sites: onlyJN}
	ex := &scheduler.Explanation{}
	if d := sched.Decide(snap, &w, t0, nil, ex); d.Outcome != scheduler.Place || snap.State.Site(d.Site).ID != "jn-core" {
		t.Fatalf("restricted work: got %+v, want placed now at jn-core\n%s", d, ex)
	}
	free := scheduler.Workload{ID: "any-1", Origin: 0, Request: nodes.Resources{CPUMilli: 32_000}, Duration: 2 * time.Hour, Deadline: t0.Add(20 * time.Hour)}
	if d := sched.Decide(snap, &free, t0, nil, nil); d.Outcome != scheduler.Defer {
		t.Fatalf("unrestricted work: got %+v, want deferred into the green window", d)
	}
}

// TestOptimizerSlackCoversTheRunTimeAtRisk: as above without a fixed
// slack, with a slack of a fraction of the run time one interruption can
// cost (the 2 h job, or one checkpoint period); 30 min are left.
func TestOptimizerSlackCoversTheRunTimeAtRisk(t *testing.T) {
	for _, c := range []struct {
		frac       float64
		checkpoint time.Duration
		want       scheduler.Outcome
	}{{1, 0, scheduler.Place}, {0.25, 0, scheduler.Defer}, {0.5, 0, scheduler.Place}, {1, 20 * time.Minute, scheduler.Defer}} {
		snap := newProvince(t)
		opt, err := New(scheduler.Config{DeferSlack: -1, DeferSlackFraction: c.frac}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		w := greenJob(0)
		w.Deadline = t0.Add(6*time.Hour + 30*time.Minute)
		w.Checkpoint = c.checkpoint
		ex := &scheduler.Explanation{}
		if d := opt.Decide(snap, &w, t0, nil, ex); d.Outcome != c.want {
			t.Errorf("DeferSlackFraction %g, checkpoint %v: got %v, want %v\n%s", c.frac, c.checkpoint, d.Outcome, c.want, ex)
		}
	}
}

// TestOptimizerBindsWithGreenestsWeights: Config.Weights (balanced's,
// from a scenario) reach the optimizer's balanced placements only, not the
// greenest binder of planned work.
func TestOptimizerBindsWithGreenestsWeights(t *testing.T) {
	w := scheduler.Weights{scheduler.ScoreBinPack: 1}
	o, err := New(scheduler.Config{Weights: &w}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o.balanced.Weights() != w {
		t.Errorf("balanced placements weigh %v, want %v", o.balanced.Weights(), w)
	}
	g, _ := scheduler.LookupPolicy("greenest")
	if o.greenest.Weights() != g.Weights {
		t.Errorf("the binder weighs %v, want greenest's %v", o.greenest.Weights(), g.Weights)
	}
}

// TestOptimizerBurstIsPlanned: many tasks of one job arriving together
// each get budget (the plan is extended task by task), so none falls back
// to running at once in an expensive hour.
func TestOptimizerBurstIsPlanned(t *testing.T) {
	snap := newProvince(t)
	o, err := New(scheduler.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	deferred := 0
	for i := 0; i < 20; i++ { // 20 × 12 core-hours; the window holds 256
		w := scheduler.Workload{ID: fmt.Sprintf("job-%d", i), Origin: 0, Request: nodes.Resources{CPUMilli: 8_000}, Duration: 90 * time.Minute, Deadline: t0.Add(20 * time.Hour)}
		if d := o.Decide(snap, &w, t0, nil, nil); d.Outcome == scheduler.Defer {
			deferred++
		}
	}
	if deferred != 20 {
		t.Errorf("%d of 20 tasks deferred into the green window, want 20", deferred)
	}
	if o.Plans() > 8 {
		t.Errorf("%d full plans for one burst of 20, want at most 8 (the rest extend the plan)", o.Plans())
	}
}

// TestOptimizerKeepsSlackBeforeTheDeadline: a job whose deadline leaves the
// green window (hours 4–7) only at its last possible start is deferred into
// it without slack and run now with the default slack of one step.
func TestOptimizerKeepsSlackBeforeTheDeadline(t *testing.T) {
	for _, c := range []struct {
		slack time.Duration
		want  scheduler.Outcome
	}{{0, scheduler.Place}, {-1, scheduler.Defer}} {
		snap := newProvince(t)
		// the fixed slack alone (no run-time-at-risk term)
		opt, err := New(scheduler.Config{DeferSlack: c.slack, DeferSlackFraction: -1}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		w := greenJob(0)
		w.Deadline = t0.Add(6*time.Hour + 30*time.Minute)
		ex := &scheduler.Explanation{}
		d := opt.Decide(snap, &w, t0, nil, ex)
		if d.Outcome != c.want {
			t.Fatalf("DeferSlack %v: got %v, want %v\n%s", c.slack, d.Outcome, c.want, ex)
		}
		if d.Outcome == scheduler.Defer && !d.NotBefore.Equal(t0.Add(4*time.Hour)) {
			t.Errorf("deferred to %v, want the window's first hour %v", d.NotBefore, t0.Add(4*time.Hour))
		}
	}
}

// TestOptimizerRunsElsewhereWhenThePlannedSiteIsFragmented: the plan
// budgets the job at one site whose free cores are spread over its nodes
// (none fits 32 cores); the other site costs the same now, so the job runs
// there now instead of being deferred an hour to wait for a node.
func TestOptimizerRunsElsewhereWhenThePlannedSiteIsFragmented(t *testing.T) {
	snap := newProvince(t)
	opt, err := New(scheduler.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := greenJob(0)
	w.Deadline = t0.Add(3 * time.Hour) // the green window is out of reach
	// Ask once without fragmentation to learn where the plan puts it.
	probe, err := New(scheduler.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d0 := probe.Decide(snap, &w, t0, nil, nil)
	if d0.Outcome != scheduler.Place {
		t.Fatalf("unfragmented: got %v, want place", d0.Outcome)
	}
	planned := d0.Site
	// Fragment it: 44 of 64 cores used on every node, 80 cores free in all.
	for n := 0; n < snap.State.NumNodes(); n++ {
		if snap.State.NodeSite(n) == planned {
			if err := snap.State.Allocate(n, nodes.Resources{CPUMilli: 44_000, MemoryMiB: 1024}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ex := &scheduler.Explanation{}
	d := opt.Decide(snap, &w, t0, nil, ex)
	if d.Outcome != scheduler.Place || d.Site == planned {
		t.Fatalf("got %v at site %d, want placed now at the other site than %d\n%s", d.Outcome, d.Site, planned, ex)
	}
	if len(ex.Notes) == 0 || !strings.Contains(ex.Notes[len(ex.Notes)-1], "no node is free for it at the sites the plan budgets") {
		t.Errorf("explanation does not say why it ran elsewhere:\n%s", ex)
	}
}

// TestOptimizerExplainsItsDeferral: the explanation of a deferral names
// the deferral, not the placement of the policy it binds work with.
func TestOptimizerExplainsItsDeferral(t *testing.T) {
	snap := newProvince(t)
	opt, err := New(scheduler.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := greenJob(0)
	ex := &scheduler.Explanation{WhyNotSites: []int{0, 1}}
	d := opt.Decide(snap, &w, t0, nil, ex)
	if d.Outcome != scheduler.Defer {
		t.Fatalf("got %v, want defer\n%s", d.Outcome, ex)
	}
	if ex.Decision.Outcome != scheduler.Defer || ex.ChosenNode != "" || ex.ChosenSite != "qd-core" {
		t.Errorf("explanation records %v at %q/%q, want the deferral to qd-core", ex.Decision.Outcome, ex.ChosenSite, ex.ChosenNode)
	}
	s := ex.String()
	if !strings.Contains(s, "decision: defer until") || strings.Count(s, "the policy deferred the work") != 2 {
		t.Errorf("explanation:\n%s", s)
	}
}

// TestOptimizerPlansGPUWorkOnFreeGPUs: qd-core's green window has cores
// to spare but every GPU taken (and the plan expects none back), so GPU
// work is not deferred into it but runs now where GPUs are free.
func TestOptimizerPlansGPUWorkOnFreeGPUs(t *testing.T) {
	snap := newProvinceOf(t, nodes.GPUServer, 2)
	for s := range snap.Energy {
		snap.Energy[s].MarginalWPerGPU = 0 // the window's headroom powers the work whether it uses GPUs or not
	}
	snap.Refresh()
	for n := 0; n < snap.State.NumNodes(); n++ {
		if snap.State.NodeSite(n) == 1 {
			if err := snap.State.Allocate(n, nodes.Resources{CPUMilli: 8_000, MemoryMiB: 1024, GPUMilli: 8_000}); err != nil {
				t.Fatal(err)
			}
		}
	}
	opt, err := New(scheduler.Config{}, Options{RecoveryHours: -1})
	if err != nil {
		t.Fatal(err)
	}
	w := scheduler.Workload{ID: "train", Origin: 0, Request: nodes.Resources{CPUMilli: 8_000, MemoryMiB: 1024, GPUMilli: 4_000},
		Duration: 2 * time.Hour, Deadline: t0.Add(20 * time.Hour)}
	ex := &scheduler.Explanation{}
	d := opt.Decide(snap, &w, t0, nil, ex)
	if d.Outcome != scheduler.Place || d.Site != 0 {
		t.Fatalf("got %v at site %d, want placed now at jn-core (qd-core has no GPU free)\n%s", d.Outcome, d.Site, ex)
	}
	// The same work without GPUs waits for qd-core's window.
	w.ID, w.Request.GPUMilli = "cpu", 0
	ex = &scheduler.Explanation{}
	if d := opt.Decide(snap, &w, t0, nil, ex); d.Outcome != scheduler.Defer || d.Site != 1 {
		t.Fatalf("CPU work: got %v at site %d, want deferred to qd-core's window\n%s", d.Outcome, d.Site, ex)
	}
}

// TestOptimizerExplainsSitesOutsideItsPlan: a site the work may use but
// the plan gave no budget is explained by the plan, not as a site the
// work is not allowed at.
func TestOptimizerExplainsSitesOutsideItsPlan(t *testing.T) {
	snap := newProvince(t)
	opt, err := New(scheduler.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := greenJob(0)
	w.Deadline = t0.Add(3 * time.Hour)
	ex := &scheduler.Explanation{WhyNotSites: []int{0, 1}}
	d := opt.Decide(snap, &w, t0, nil, ex)
	if d.Outcome != scheduler.Place {
		t.Fatalf("got %v, want place\n%s", d.Outcome, ex)
	}
	other := ex.WhyNot[1-d.Site]
	if other.Filter != scheduler.FilterSite || !strings.Contains(other.Reason, "plan gives this work no budget") {
		t.Errorf("why not %s: [%v] %s", other.Site, other.Filter, other.Reason)
	}
	if w.Sites != nil {
		t.Error("Decide left the workload's allowed sites changed")
	}
}

// cheaperLater is newProvince without renewable headroom, where qd-core's
// price in hours 4–7 is price (0.6 elsewhere and now): a later start
// there is cheaper, but not free, so the binder's tolerance decides.
func cheaperLater(t *testing.T, price float64) *scheduler.Snapshot {
	t.Helper()
	snap := newProvince(t)
	for s := range snap.Energy {
		for k := range snap.Energy[s].Forecast {
			f := &snap.Energy[s].Forecast[k]
			f.RenewableHeadroomKW = 0
			if s == 1 && k >= 4 && k < 8 {
				f.PriceCNYPerKWh = price
			}
		}
	}
	snap.Refresh()
	return snap
}

// decideJobs decides the six green-window jobs at t0 with sched and
// counts the deferrals (placed work is allocated).
func decideJobs(t *testing.T, snap *scheduler.Snapshot, sched scheduler.Decider) int {
	t.Helper()
	deferred := 0
	for i := 0; i < 6; i++ {
		w := greenJob(i)
		switch d := sched.Decide(snap, &w, t0, nil, nil); d.Outcome {
		case scheduler.Defer:
			deferred++
		case scheduler.Place:
			if err := snap.State.Allocate(d.Node, w.Request); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("job %d rejected: %v", i, d.Reason)
		}
	}
	return deferred
}

// TestOptimizerToleranceReachesThePolicy: the options in
// scheduler.Config.Options reach the registered policy. The plan may use
// 3 % of each site's cores (7.68), so one 64-core-hour job is planned
// partly into qd-core's cheaper hours 4–7 and partly now, and the binder
// (which starts work in an hour where the budget covers a tenth of its
// need) weighs the two. With the price halved there a run costs 1.5
// against 2 now (normalised carbon 1 + price 0.5 against 1 + 1): the job
// is deferred while the tolerance is below a third and runs now from a
// third up. With the price only 1 % lower (1.99 against 2) the default
// tolerance runs it now and a tolerance of none (negative) defers it.
func TestOptimizerToleranceReachesThePolicy(t *testing.T) {
	for _, c := range []struct {
		price     float64
		tolerance float64
		ptr       bool // pass *Options
		want      scheduler.Outcome
	}{
		{0.3, 0, false, scheduler.Defer},
		{0.3, 0.3, false, scheduler.Defer},
		{0.3, 0.34, false, scheduler.Place},
		{0.3, 10, true, scheduler.Place},
		{0.594, 0, false, scheduler.Place},
		{0.594, -1, true, scheduler.Defer},
	} {
		t.Run(fmt.Sprintf("price=%g/tolerance=%g", c.price, c.tolerance), func(t *testing.T) {
			snap := cheaperLater(t, c.price)
			opt := Options{Tolerance: c.tolerance, Utilization: 0.03, MinShare: 0.1}
			var o any = opt
			if c.ptr {
				o = &opt
			}
			sched, err := scheduler.New(Name, scheduler.Config{Options: o})
			if err != nil {
				t.Fatal(err)
			}
			w := greenJob(0)
			ex := &scheduler.Explanation{}
			if d := sched.Decide(snap, &w, t0, nil, ex); d.Outcome != c.want {
				t.Errorf("got %v, want %v\n%s", d.Outcome, c.want, ex)
			}
		})
	}
	// Without options the registered policy runs with the defaults: the
	// plan's budget (80 % of the cores) fits the job into the cheap hours
	// alone, so it is deferred there.
	sched, err := scheduler.New(Name, scheduler.Config{})
	if err != nil {
		t.Fatal(err)
	}
	w := greenJob(0)
	if d := sched.Decide(cheaperLater(t, 0.594), &w, t0, nil, nil); d.Outcome != scheduler.Defer {
		t.Errorf("defaults: got %v, want defer", d.Outcome)
	}
}

// TestOptimizerRefusesForeignOptions: the registered policy takes
// optimize.Options only, and no numbers it cannot run with.
func TestOptimizerRefusesForeignOptions(t *testing.T) {
	for _, opt := range []any{3, "tolerance=1", scheduler.Weights{}, Options{Tolerance: math.NaN()}, Options{CarbonWeight: -1, PriceWeight: 1}} {
		if _, err := scheduler.New(Name, scheduler.Config{Options: opt}); err == nil {
			t.Errorf("options %#v accepted", opt)
		}
	}
	if _, err := scheduler.New(Name, scheduler.Config{Options: (*Options)(nil)}); err != nil {
		t.Errorf("a nil *Options: %v", err)
	}
	// The built-in policies ignore options.
	if _, err := scheduler.New("balanced", scheduler.Config{Options: Options{Tolerance: 1}}); err != nil {
		t.Errorf("balanced with options: %v", err)
	}
}

// TestOptimizerReplanShare: each new job fills the plan it left while
// the added demand stays within ReplanShare of the planned; with a
// share of none every new job brings a full plan.
func TestOptimizerReplanShare(t *testing.T) {
	for _, c := range []struct {
		share     float64
		wantPlans int
	}{
		// Jobs 1–4 are deferred, 5 and 6 run now (and leave the
		// ledger). Default 0.5: full plans for job 1 (a new group), job 2
		// (added 64 core-hours > 0.5 × 64 planned) and job 4 (128 > 0.5 ×
		// 128); jobs 3, 5 and 6 are filled in.
		{0, 3},
		// None: every job that adds demand; job 6 does not (job 5 left).
		{-1, 5},
		// 10: job 1 only.
		{10, 1},
	} {
		opt, err := New(scheduler.Config{}, Options{ReplanShare: c.share})
		if err != nil {
			t.Fatal(err)
		}
		decideJobs(t, newProvince(t), opt)
		if opt.Plans() != c.wantPlans {
			t.Errorf("replan share %g: %d plans, want %d", c.share, opt.Plans(), c.wantPlans)
		}
	}
}

// TestOptionsDefaults: the zero Options resolve to the documented
// defaults, and "none" to 0.
func TestOptionsDefaults(t *testing.T) {
	got := Options{}.WithDefaults()
	want := Options{CarbonWeight: 1, PriceWeight: 1, Utilization: DefaultUtilization, MinShare: 0.5,
		Tolerance: DefaultTolerance, RecoveryHours: DefaultRecoveryHours, ReplanShare: DefaultReplanShare}
	if got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
	none := Options{Tolerance: -1, ReplanShare: -1, RecoveryHours: -1, PriceWeight: 1}.WithDefaults()
	if none.Tolerance != 0 || none.ReplanShare != 0 || none.RecoveryHours >= 0 || none.CarbonWeight != 0 {
		t.Errorf("none: %+v", none)
	}
}
