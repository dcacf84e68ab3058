package benchmarks

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/nodes/energy"
	"github.com/suanli/suanli/scenarios"
	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/sim"
)

// BenchmarkSimEngine measures the simulator's event queue in steady state:
// each op pops the earliest of `pending` events and schedules a new one
// (value-typed events, no allocation).
func BenchmarkSimEngine(b *testing.B) {
	for _, pending := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("pending=%d", pending), func(b *testing.B) {
			e := sim.NewEngine(pending + 1)
			rng := rand.New(rand.NewPCG(1, 1))
			const span = int64(7 * 24 * time.Hour)
			for i := 0; i < pending; i++ {
				e.Schedule(rng.Int64N(span), uint8(i%4), sim.Kind(i%8), int32(i), 0)
			}
			// Warm up: cycle every event about once so the queue's buffers
			// reach their steady-state sizes before timing starts.
			for i := 0; i < pending; i++ {
				ev, _ := e.Next()
				e.Schedule(ev.At+rng.Int64N(span), ev.Prio(), ev.Kind(), ev.Arg, ev.Gen)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ev, _ := e.Next()
				e.Schedule(ev.At+rng.Int64N(span), ev.Prio(), ev.Kind(), ev.Arg, ev.Gen)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// syntheticSimConfig is a province for end-to-end simulator benchmarks:
// the synthetic 28-site 1+3+N+X topology with numNodes nodes, the real
// energy model at every site (solar everywhere, wind at the coast, a
// battery), and five workload classes (edge control, vision, video
// streams, analytics with deadlines, AI training on GPUs) whose arrival
// rates are multiplied by scale.
func syntheticSimConfig(numNodes int, horizon time.Duration, scale float64) *sim.Config {
	topo := nodes.Synthetic(numNodes)
	start := time.Date(2025, 4, 7, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	c := &sim.Config{
		Name:         fmt.Sprintf("synthetic-%d", numNodes),
		Seed:         1,
		Start:        start,
		Horizon:      horizon,
		Interval:     15 * time.Minute,
		Topology:     topo,
		Cities:       nodes.ShandongCities(),
		Latency:      nodes.DefaultLatencyModel(),
		JitterBaseMs: 0.1,
		NodePower: map[string]*energy.ServerPower{
			"cpu-64": mustServerPower(energy.CPUServerPowerSpec(), nodes.CPUServer),
			"gpu-8":  mustServerPower(energy.GPUServerPowerSpec(), nodes.GPUServer),
		},
	}
	c.BandwidthGbps = make([]float64, len(topo.Sites))
	for i, s := range topo.Sites {
		c.BandwidthGbps[i] = 10
		if s.Tier != nodes.TierEdge {
			c.BandwidthGbps[i] = 100
		}
	}
	c.NewEnergy = func(i int) (sim.EnergyModel, error) {
		s := topo.Sites[i]
		spec := energy.SpecFor(s)
		n := 0
		for _, node := range topo.Nodes {
			if node.Site == i {
				n++
			}
		}
		// About a quarter of the site's peak IT power as solar, wind at
		// the coast, a two-hour battery of a tenth of it.
		mw := float64(n) * 0.5 / 1000
		spec.Solar.MW = 0.25 * mw
		if s.City == "QD" || s.City == "YT" || s.City == "DY" || s.City == "WH" || s.City == "RZ" {
			spec.Wind.MW = 0.3 * mw
		}
		spec.Battery.CapacityMWh, spec.Battery.PowerMW = 0.2*mw, 0.1*mw
		return energy.NewSite(spec, start, sim.Stream(1, "energy/"+s.ID), nil)
	}
	shift := make([]float64, 24)
	for h := range shift {
		shift[h] = 0.3
		if h >= 8 {
			shift[h] = 1.5
		}
	}
	slack := sim.Dist{Kind: sim.Uniform, A: 6, B: 24}
	trainSlack := sim.Dist{Kind: sim.Uniform, A: 24, B: 72}
	// Rates are per hour at scale 1 for 10,000 nodes; they grow with
	// the node count so the province stays about as busy.
	k := scale * float64(numNodes) / 10_000
	c.Classes = []sim.Class{
		{Name: "ctrl", Kind: sim.Service, RatePerHour: 600 * k, HourShape: shift, SameCity: true, Tiers: nodes.TiersOf(nodes.TierEdge),
			CPUMilli: sim.ConstDist(1000), MemoryMiB: sim.ConstDist(512), DurationHours: sim.Dist{Kind: sim.Exponential, A: 2, Max: 8},
			LatencyBoundMs: 2},
		{Name: "vision-qc", Kind: sim.Service, RatePerHour: 2000 * k, HourShape: shift,
			CPUMilli: sim.ConstDist(2000), MemoryMiB: sim.ConstDist(4096), GPUMilli: sim.ConstDist(250),
			DurationHours: sim.Dist{Kind: sim.Exponential, A: 4, Max: 8}, LatencyBoundMs: 15},
		{Name: "video", Kind: sim.Service, RatePerHour: 4000 * k,
			CPUMilli: sim.ConstDist(500), MemoryMiB: sim.ConstDist(1024), GPUMilli: sim.ConstDist(100),
			DurationHours: sim.Dist{Kind: sim.Exponential, A: 4, Max: 24}, LatencyBoundMs: 500},
		{Name: "analytics", Kind: sim.Batch, RatePerHour: 1500 * k, BurstsPerDay: 2, BurstFactor: 3, BurstDuration: time.Hour,
			CPUMilli: sim.Dist{Kind: sim.LogUniform, A: 4000, B: 64000, Step: 1000}, MemoryMiB: sim.ConstDist(16384),
			DurationHours: sim.Dist{Kind: sim.LogNormal, A: 3, B: 0.8, Max: 12}, SlackHours: &slack,
			InputMB: sim.Dist{Kind: sim.Uniform, A: 1e4, B: 5e5}, Checkpoint: 30 * time.Minute,
			Tiers: nodes.TiersOf(nodes.TierCore, nodes.TierCluster)},
		{Name: "ai-train", Kind: sim.Batch, RatePerHour: 30 * k,
			CPUMilli: sim.ConstDist(16000), MemoryMiB: sim.ConstDist(65536), GPUMilli: sim.Dist{Kind: sim.Choice, Values: []float64{1000, 2000, 4000, 8000}, Weights: []float64{4, 3, 2, 1}},
			DurationHours: sim.Dist{Kind: sim.LogNormal, A: 6, B: 0.7, Max: 48}, SlackHours: &trainSlack, Checkpoint: 30 * time.Minute,
			Tiers: nodes.TiersOf(nodes.TierCore, nodes.TierCluster)},
	}
	return c
}

// BenchmarkSimWorkloads measures the simulator end to end: arrivals, the
// core's decision, allocation and release, power integration, queueing,
// and per-interval energy accounting with signal refresh, on one day of a
// 10,000-node province with about 200,000 workloads. One op is one whole
// run; workloads/s is submitted workloads per wall-clock second.
func BenchmarkSimWorkloads(b *testing.B) {
	for _, policy := range []string{"balanced", "first-fit", "carbon-window", "optimizer"} {
		b.Run("policy="+policy, func(b *testing.B) {
			cfg := syntheticSimConfig(10_000, 24*time.Hour, 1)
			b.ReportAllocs()
			var workloads, events int64
			for i := 0; i < b.N; i++ {
				r, err := sim.NewRunner(cfg, policy, sim.Options{})
				if err != nil {
					b.Fatal(err)
				}
				res, err := r.Run()
				if err != nil {
					b.Fatal(err)
				}
				workloads += res.Submitted
				events += int64(res.EventsProcessed)
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(workloads)/sec, "workloads/s")
			b.ReportMetric(float64(events)/sec, "events/s")
			b.ReportMetric(float64(workloads)/float64(b.N), "workloads/op")
		})
	}
}

func mustServerPower(spec energy.ServerPowerSpec, capacity nodes.Resources) *energy.ServerPower {
	p, err := energy.NewServerPower(spec, capacity)
	if err != nil {
		panic(err)
	}
	return p
}

// baselineConfig loads ../scenarios/shandong-baseline.yaml, grown by
// scale (1: as shipped).
func baselineConfig(b *testing.B, scale float64) *sim.Config {
	b.Helper()
	path := filepath.Join("..", "scenarios", "shandong-baseline.yaml")
	s, err := scenarios.Load(path, scenarios.LoadOptions{KnownPolicies: scheduler.PolicyNames()})
	if err != nil {
		b.Skipf("baseline scenario: %v", err)
	}
	if scale != 1 {
		if err := sim.ScaleScenario(s, scale); err != nil {
			b.Fatal(err)
		}
	}
	cfg, err := sim.FromScenario(s)
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

func runOnce(b *testing.B, cfg *sim.Config, policy string) *sim.Result {
	b.Helper()
	r, err := sim.NewRunner(cfg, policy, sim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	res, err := r.Run()
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// BenchmarkSimBaseline is the planner's main job: one policy over the
// shipped shandong-baseline scenario, a week of 28 sites and 8,334 nodes
// (about 70,000 workloads). One op is one whole week; the goal is ≤ 10 s.
func BenchmarkSimBaseline(b *testing.B) {
	cfg := baselineConfig(b, 1)
	for _, policy := range scheduler.PolicyNames() {
		b.Run("policy="+policy, func(b *testing.B) {
			b.ReportAllocs()
			var workloads int64
			for i := 0; i < b.N; i++ {
				workloads += runOnce(b, cfg, policy).Submitted
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(sec/float64(b.N), "s/week")
			b.ReportMetric(float64(workloads)/sec, "workloads/s")
		})
	}
}

// BenchmarkSimProvince grows the baseline week by SUANLI_PROVINCE_SCALE
// (default 72: about 600,000 nodes and 5 million workloads) and runs it
// under the balanced policy. It takes minutes, so it only runs when that
// variable is set; benchmarks/README.md records the command and the peak
// memory measured with /usr/bin/time -v around the same run from the CLI.
func BenchmarkSimProvince(b *testing.B) {
	v := os.Getenv("SUANLI_PROVINCE_SCALE")
	if v == "" {
		b.Skip("set SUANLI_PROVINCE_SCALE (e.g. 72) to run the province-scale week")
	}
	scale, err := strconv.ParseFloat(v, 64)
	if err != nil {
		b.Fatalf("SUANLI_PROVINCE_SCALE=%q: %v", v, err)
	}
	cfg := baselineConfig(b, scale)
	policy := os.Getenv("SUANLI_PROVINCE_POLICY")
	if policy == "" {
		policy = "balanced"
	}
	b.ReportAllocs()
	var workloads, events int64
	for i := 0; i < b.N; i++ {
		res := runOnce(b, cfg, policy)
		workloads += res.Submitted
		events += int64(res.EventsProcessed)
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(len(cfg.Topology.Nodes)), "nodes")
	b.ReportMetric(float64(workloads)/float64(b.N), "workloads/op")
	b.ReportMetric(float64(workloads)/sec, "workloads/s")
	b.ReportMetric(float64(events)/sec, "events/s")
}
