package benchmarks

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler"
)

// PlaceFixture is a synthetic province with varied energy signals and a
// pre-generated mix of workloads: the fixture of BenchmarkPlace and of
// `suanli bench place`.
type PlaceFixture struct {
	snap      *scheduler.Snapshot
	workloads []scheduler.Workload
	now       time.Time
}

// NewPlaceFixture builds the fixture over nodes.Synthetic(numNodes).
func NewPlaceFixture(numNodes int) (*PlaceFixture, error) {
	topo := nodes.Synthetic(numNodes)
	st, err := scheduler.NewState(&topo)
	if err != nil {
		return nil, err
	}
	cities := nodes.ShandongCities()
	lt, err := nodes.NewLatencyTable(nodes.DefaultLatencyModel(), cities, topo.Sites)
	if err != nil {
		return nil, err
	}
	snap, err := scheduler.NewSnapshot(st, lt, cities)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(1, 1))
	now := time.Date(2025, 4, 7, 12, 0, 0, 0, time.FixedZone("CST", 8*3600))
	snap.ForecastStart, snap.ForecastStep = now.Truncate(time.Hour), time.Hour
	for i := range snap.Energy {
		e := &snap.Energy[i]
		e.Now = scheduler.Signal{
			PriceCNYPerKWh:      0.18 + rng.Float64()*0.9,
			CarbonKgPerKWh:      0.4 + rng.Float64()*0.3,
			RenewableHeadroomKW: rng.Float64() * 200,
		}
		e.MarginalWPerCore, e.MarginalWPerGPU = 5.5, 660
		e.Forecast = make([]scheduler.Signal, 48)
		for k := range e.Forecast {
			e.Forecast[k] = e.Now
			e.Forecast[k].CarbonKgPerKWh *= 0.8 + 0.4*rng.Float64()
		}
		snap.BandwidthGbps[i] = 10
	}
	snap.Refresh()
	sizes := []nodes.Resources{
		{CPUMilli: 1000, MemoryMiB: 2048},
		{CPUMilli: 2000, MemoryMiB: 4096, GPUMilli: 250},
		{CPUMilli: 4000, MemoryMiB: 8192},
		{CPUMilli: 8000, MemoryMiB: 32768, GPUMilli: 1000},
		{CPUMilli: 16000, MemoryMiB: 65536},
		{CPUMilli: 500, MemoryMiB: 1024, GPUMilli: 100},
	}
	f := &PlaceFixture{snap: snap, now: now}
	for i := 0; i < 4096; i++ {
		w := scheduler.Workload{
			ID:       fmt.Sprintf("w%d", i),
			Origin:   rng.IntN(len(cities)),
			Request:  sizes[rng.IntN(len(sizes))],
			Duration: time.Duration(1+rng.IntN(8)) * time.Hour,
			InputMB:  rng.Float64() * 1000,
		}
		switch rng.IntN(4) {
		case 0:
			w.LatencyBoundMs = 2 + rng.Float64()*10
		case 1:
			w.Deadline = now.Add(w.Duration + time.Duration(rng.IntN(24))*time.Hour)
		case 2:
			w.Tiers = nodes.TiersOf(nodes.TierCore, nodes.TierCluster)
		}
		f.workloads = append(f.workloads, w)
	}
	return f, nil
}

// ringLen is how many live placements keep the busiest resource
// dimension about half used, given the workload mix.
func (f *PlaceFixture) ringLen() int {
	var capacity, demand nodes.Resources
	for i := 0; i < f.snap.State.NumSites(); i++ {
		capacity = capacity.Add(f.snap.State.SiteCapacity(i))
	}
	for _, w := range f.workloads {
		demand = demand.Add(w.Request)
	}
	n := float64(len(f.workloads))
	ring := float64(capacity.CPUMilli) / (float64(demand.CPUMilli) / n)
	ring = min(ring, float64(capacity.MemoryMiB)/(float64(demand.MemoryMiB)/n))
	ring = min(ring, float64(capacity.GPUMilli)/(float64(demand.GPUMilli)/n))
	return int(ring / 2)
}

// Bench measures one placement: a decision of the core plus applying it
// (State.Allocate), as Nomad's and kube-scheduler's benchmarks time
// placements. Completions of older work are a separate event: to hold the
// province about half full in its busiest dimension, the oldest live
// placements are released in batches with the timer stopped, and their cost
// is reported as its own metric, release-ns (per Release). Every call
// starts from an empty province.
func (f *PlaceFixture) Bench(b *testing.B, policy string) {
	f.snap.State = mustFresh(f.snap.State)
	s, err := scheduler.New(policy, scheduler.Config{})
	if err != nil {
		b.Fatal(err)
	}
	if policy == "balanced" {
		for k, w := range s.Weights() {
			if w == 0 {
				b.Fatalf("balanced: scorer %s is off", scheduler.Scorer(k))
			}
		}
	}
	rng := rand.New(rand.NewPCG(2, 2))
	target := f.ringLen()
	batch := min(max(target/8, 64), 4096)
	type live struct {
		node int
		req  nodes.Resources
	}
	lives := make([]live, 0, target+batch)
	var released int
	var releaseTime time.Duration
	release := func() {
		start := time.Now()
		for _, l := range lives[:batch] {
			if err := f.snap.State.Release(l.node, l.req); err != nil {
				b.Fatal(err)
			}
		}
		releaseTime += time.Since(start)
		released += batch
		lives = lives[:copy(lives, lives[batch:])]
	}
	place := func(i int) {
		w := &f.workloads[i%len(f.workloads)]
		d := s.Decide(f.snap, w, f.now, rng, nil)
		if d.Outcome != scheduler.Place {
			return
		}
		if err := f.snap.State.Allocate(d.Node, w.Request); err != nil {
			b.Fatal(err)
		}
		lives = append(lives, live{d.Node, w.Request})
	}
	// warm up to steady state: fill to the target, then cycle once
	for i := 0; len(lives) < target+batch && i < 4*target; i++ {
		place(i)
	}
	if len(lives) >= batch {
		release()
	}
	released, releaseTime = 0, 0
	// Collect the setup's garbage now, so a GC cycle it started does not
	// run (on the other core, and through write barriers) while timing.
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		place(i)
		if len(lives) == cap(lives) {
			b.StopTimer()
			release()
			b.StartTimer()
		}
	}
	if released > 0 {
		b.ReportMetric(float64(releaseTime.Nanoseconds())/float64(released), "release-ns")
	}
}

// mustFresh returns an empty state over the same topology (a state's
// allocations are released by copying its empty twin).
func mustFresh(st *scheduler.State) *scheduler.State {
	c := st.Clone()
	for n := 0; n < c.NumNodes(); n++ {
		if u := c.NodeUsed(n); !u.IsZero() {
			_ = c.Release(n, u)
		}
	}
	return c
}

// PlacePolicies are the policies BenchmarkPlace and `suanli bench place`
// measure by default.
var PlacePolicies = []string{"balanced", "binpack", "nearest", "spread", "greenest", "carbon-window", "first-fit"}

// PlaceSizes are the synthetic province sizes measured by default.
var PlaceSizes = []int{1_000, 10_000, 100_000}

// PlaceName is the sub-benchmark name for a policy and size.
func PlaceName(policy string, numNodes int) string {
	return fmt.Sprintf("policy=%s/nodes=%d", policy, numNodes)
}
