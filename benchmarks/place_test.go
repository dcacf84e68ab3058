package benchmarks

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler"
)

// placeFixture is a synthetic province with varied energy signals and a
// pre-generated mix of workloads.
type placeFixture struct {
	snap      *scheduler.Snapshot
	workloads []scheduler.Workload
	now       time.Time
}

func newPlaceFixture(tb testing.TB, numNodes int) *placeFixture {
	tb.Helper()
	topo := nodes.Synthetic(numNodes)
	st, err := scheduler.NewState(&topo)
	if err != nil {
		tb.Fatal(err)
	}
	cities := nodes.ShandongCities()
	lt, err := nodes.NewLatencyTable(nodes.DefaultLatencyModel(), cities, topo.Sites)
	if err != nil {
		tb.Fatal(err)
	}
	snap, err := scheduler.NewSnapshot(st, lt, cities)
	if err != nil {
		tb.Fatal(err)
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
	f := &placeFixture{snap: snap, now: now}
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
	return f
}

// ringLen is how many live placements keep the busiest resource
// dimension about half used, given the workload mix.
func (f *placeFixture) ringLen() int {
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

// BenchmarkPlace measures one scheduling decision plus applying it
// (Allocate) and, in steady state, releasing the oldest placement, so the
// cluster stays about half full. Topologies are the synthetic 1+3+N+X
// layout (28 sites) at 1,000, 10,000 and 100,000 nodes.
func BenchmarkPlace(b *testing.B) {
	for _, policy := range []string{"balanced", "binpack", "nearest", "spread", "greenest", "carbon-window", "first-fit"} {
		for _, n := range []int{1_000, 10_000, 100_000} {
			b.Run(fmt.Sprintf("policy=%s/nodes=%d", policy, n), func(b *testing.B) {
				f := newPlaceFixture(b, n)
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
				ringLen := f.ringLen()
				type live struct {
					node int
					req  nodes.Resources
				}
				ring := make([]live, ringLen)
				head, size := 0, 0
				place := func(i int) {
					w := &f.workloads[i%len(f.workloads)]
					d := s.Decide(f.snap, w, f.now, rng, nil)
					if d.Outcome != scheduler.Place {
						return
					}
					if err := f.snap.State.Allocate(d.Node, w.Request); err != nil {
						b.Fatal(err)
					}
					if size == ringLen {
						old := ring[head]
						if err := f.snap.State.Release(old.node, old.req); err != nil {
							b.Fatal(err)
						}
						size--
					}
					ring[(head+size)%ringLen] = live{d.Node, w.Request}
					if size == ringLen-1 {
						head = (head + 1) % ringLen
					}
					size++
				}
				// warm up to steady state
				for i := 0; i < ringLen; i++ {
					place(i)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					place(i)
				}
			})
		}
	}
}
