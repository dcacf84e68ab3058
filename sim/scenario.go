package sim

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/nodes/energy"
	"github.com/suanli/suanli/scenarios"
	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/external"
	"github.com/suanli/suanli/scheduler/optimize"
)

// FromScenario turns a loaded scenario into the simulator's Config: the
// topology (sites in file order, each site's nodes by node type in file
// order), the server power models, one energy model per site (its PUE,
// solar, wind, contract and battery with the scenario's grid tariff and
// carbon), the latency model and bandwidths, one class per workload and the
// events. The energy models draw from the stream "energy/<site id>", so
// every policy sees the same weather. Every node type's power model and
// every site's energy model is built once here, so a scenario the loader
// accepted but the simulator cannot run is an error from FromScenario,
// naming the field (node_types.<name>.power, sites[<id>]), not from a run;
// callers report it as bad input. The loader checks what these models
// check, so this is a safety net.
func FromScenario(s *scenarios.Scenario) (*Config, error) {
	c := &Config{
		Name:          s.Name,
		Seed:          s.Seed,
		Start:         s.Start,
		Horizon:       s.Horizon.D(),
		Interval:      s.Interval.D(),
		ForecastStep:  s.Scheduler.Forecast.Step.D(),
		ForecastSteps: s.Scheduler.Forecast.Steps(),
		Cities:        s.Cities,
		Latency:       s.Network.LatencyModel(),
		JitterBaseMs:  s.Network.JitterMeanMs,
		Policies:      append([]string(nil), s.Policies...),
		NodePower:     map[string]*energy.ServerPower{},
		Preempt:       s.Preemption,
		Power: PowerManagement{
			IdleOffAfter: s.PowerManagement.IdleOffAfter.D(),
			OffW:         s.PowerManagement.OffW,
			Wake:         s.PowerManagement.Wake.D(),
			KeepOn:       s.PowerManagement.KeepOn,
		},
	}
	c.Scheduler = SchedulerConfig(&s.Scheduler)
	// The file's external policies, each run in the file's directory;
	// nothing is started here (ApplyExternal lays the command line's
	// over them).
	for i := range s.ExternalPolicies {
		e := &s.ExternalPolicies[i]
		if c.External == nil {
			c.External = map[string]external.Spec{}
		}
		c.External[e.Name] = e.Spec(s.Dir)
	}
	c.Optimizer = OptimizerOptions(&s.Scheduler.Optimizer)
	for i := range s.NodeTypes {
		t := &s.NodeTypes[i]
		spec := energy.ServerPowerSpec{Name: t.Name, IdleW: t.Power.IdleW, PeakW: t.Power.PeakW, GPUPowerShare: t.Power.GPUPowerShare}
		if len(t.Power.CurveW) > 0 {
			spec.CurveW = append([]float64(nil), t.Power.CurveW...)
		}
		p, err := energy.NewServerPower(spec, t.Resources())
		if err != nil {
			return nil, fmt.Errorf("node_types.%s.power: %w", t.Name, err)
		}
		c.NodePower[t.Name] = p
	}
	specs := make([]energy.SiteSpec, len(s.Sites))
	for i := range s.Sites {
		site := &s.Sites[i]
		c.Topology.Sites = append(c.Topology.Sites, site.NodeSite())
		ratedKW := 0.0
		for _, nc := range site.Nodes {
			t, ok := s.NodeTypes.Lookup(nc.Type)
			if !ok {
				return nil, fmt.Errorf("site %s: unknown node type %q", site.ID, nc.Type)
			}
			for k := 0; k < nc.Count; k++ {
				c.Topology.Nodes = append(c.Topology.Nodes, nodes.Node{
					ID:       fmt.Sprintf("%s/%s-%d", site.ID, nc.Type, k),
					Site:     i,
					Type:     nc.Type,
					Capacity: t.Resources(),
				})
			}
			ratedKW += float64(nc.Count) * t.Power.PeakW / 1000
		}
		c.BandwidthGbps = append(c.BandwidthGbps, site.BandwidthGbps)
		c.Embodied = append(c.Embodied, embodiedRate(s, site))
		spec, err := siteEnergySpec(s, site, ratedKW)
		if err != nil {
			return nil, fmt.Errorf("sites[%s]: %w", site.ID, err)
		}
		specs[i] = spec
	}
	tables := energy.CachedTables(func(name string) (io.ReadCloser, error) { return os.Open(s.Path(name)) })
	seed, start, ids := s.Seed, s.Start, make([]string, len(s.Sites))
	for i := range s.Sites {
		ids[i] = s.Sites[i].ID
	}
	c.NewEnergy = func(i int) (EnergyModel, error) {
		return energy.NewSite(specs[i], start, Stream(seed, "energy/"+ids[i]), tables)
	}
	// Build every site's model once now, so that a problem the loader
	// did not catch is an error of the scenario (naming the site) rather
	// than of a run; it also reads the trace files into the cache.
	for i := range s.Sites {
		if _, err := c.NewEnergy(i); err != nil {
			return nil, fmt.Errorf("sites[%s]: energy model: %w", ids[i], err)
		}
	}
	for i := range s.Workloads {
		k, err := workloadClass(s, &s.Workloads[i])
		if err != nil {
			return nil, fmt.Errorf("workload %s: %w", s.Workloads[i].Name, err)
		}
		c.Classes = append(c.Classes, k)
	}
	for i := range s.Events {
		c.Events = append(c.Events, scenarioEvent(&s.Events[i]))
	}
	return c, nil
}

// embodiedRate is the embodied carbon a site's servers and battery accrue
// per hour (docs/energy-model.md, embodied carbon): every server the site
// has, on or off, and its battery's capacity.
func embodiedRate(s *scenarios.Scenario, site *scenarios.Site) EmbodiedRate {
	var e EmbodiedRate
	for _, nc := range site.Nodes {
		if t, ok := s.NodeTypes.Lookup(nc.Type); ok {
			e.ServersKgPerHour += float64(nc.Count) * t.EmbodiedKgPerHour()
		}
	}
	e.BatteryKgPerHour = site.Battery.EmbodiedKgPerHour()
	return e
}

// SchedulerConfig maps a scenario's scheduler block to the core's config
// (scenarios.Scheduler.Core: the block writes "none" as 0, the core as a
// negative value).
func SchedulerConfig(b *scenarios.Scheduler) scheduler.Config { return b.Core() }

// OptimizerOptions maps a scenario's scheduler.optimizer block to the
// optimizer's options (scenarios.Optimizer.Options).
func OptimizerOptions(b *scenarios.Optimizer) optimize.Options { return b.Options() }

// MetaOf describes a scenario and its config for the outputs.
func MetaOf(s *scenarios.Scenario, c *Config) Meta {
	m := Meta{
		Scenario: s.Name, ScenarioSHA256: s.SHA256, Seed: c.Seed, Horizon: c.Horizon, Start: c.Start, Interval: c.Interval,
		Sites: len(c.Topology.Sites), Nodes: len(c.Topology.Nodes),
	}
	ss := c.SchedulerSettings()
	m.Scheduler = &ss
	m.External = c.External
	for _, k := range c.Classes {
		m.Classes = append(m.Classes, k.Name)
	}
	return m
}

// siteEnergySpec maps a scenario site and the scenario's grid to the
// energy model's spec; ratedKW is the site's peak IT power (the load PUE
// model's full load).
func siteEnergySpec(s *scenarios.Scenario, site *scenarios.Site, ratedKW float64) (energy.SiteSpec, error) {
	spec := energy.SpecFor(site.NodeSite())
	rated := site.PUE.RatedITKW // the loader fills it; ratedKW for hand-built scenarios
	if rated <= 0 {
		rated = ratedKW
	}
	spec.PUE = energy.PUESpec{
		Model:         energy.PUEModel(site.PUE.Model),
		Design:        site.PUE.Design,
		RatedITKW:     rated,
		FixedFraction: site.PUE.FixedOverheadFraction,
	}
	switch {
	case site.PUE.Seasonal.Factors != nil:
		spec.PUE.MonthlyOverheadFactor = append([]float64(nil), site.PUE.Seasonal.Factors...)
	case site.PUE.Seasonal.Name == "shandong":
		spec.PUE.MonthlyOverheadFactor = energy.ShandongMonthlyOverhead()
	}
	if sol := site.Solar; sol != nil {
		spec.Solar.MW = sol.MW
		spec.Solar.Derate = sol.Derate
		spec.Solar.TiltDeg = sol.TiltDeg
		spec.Solar.CloudAlpha, spec.Solar.CloudBeta = sol.CloudAlpha, sol.CloudBeta
		spec.Solar.NoiseSigma, spec.Solar.NoiseTauHours = sol.NoiseSigma, sol.NoiseTauHours
		if sol.CSV != "" {
			spec.Solar.Model = energy.SolarTrace
			spec.Solar.Trace = traceSpec(sol.SeriesRef, energy.NormalizeNone)
		}
	}
	if w := site.Wind; w != nil {
		spec.Wind.MW = w.MW
		spec.Wind.CFMean = w.CapacityFactor
		if spec.Wind.CFMean == 0 {
			spec.Wind.CFMean = energy.OnshoreCFMean
			if w.Offshore {
				spec.Wind.CFMean = energy.OffshoreCFMean
			}
		}
		spec.Wind.RhoHourly, spec.Wind.Spread = w.RhoHourly, w.Spread
		if w.CSV != "" {
			spec.Wind.Model = energy.WindTrace
			spec.Wind.Trace = traceSpec(w.SeriesRef, energy.NormalizeMax)
		}
	}
	if k := site.Contract; k != nil {
		cs := energy.DefaultContractSpec()
		cs.Name = site.ID + "-contract"
		cs.MW, cs.Shape, cs.PriceCNYPerKWh = k.MW, energy.ContractShape(k.Shape), k.PriceCNYPerKWh
		switch {
		case k.CapacityFactor > 0:
			cs.Wind.CFMean = k.CapacityFactor
		case k.Offshore:
			cs.Wind.CFMean = energy.OffshoreCFMean
		}
		spec.Contracts = []energy.ContractSpec{cs}
	}
	if b := site.Battery; b != nil {
		spec.Battery = energy.BatterySpec{CapacityMWh: b.MWh, PowerMW: b.MW, RoundTripEfficiency: b.Efficiency,
			SoCMin: b.SoCMin, SoCMax: b.SoCMax, InitialSoC: b.SoCInitial}
		for _, name := range b.GridCharge {
			p, err := energy.ParsePeriod(name)
			if err != nil {
				return spec, fmt.Errorf("battery grid_charge: %w", err)
			}
			spec.Battery.GridChargePeriods = append(spec.Battery.GridChargePeriods, p)
		}
	}
	g := &s.Grid
	spec.Tariff.FixedCNYPerKWh, spec.Tariff.EnergyCNYPerKWh = g.Tariff.FixedCNYPerKWh, g.Tariff.EnergyCNYPerKWh
	switch {
	case g.Tariff.CSV != "":
		b, err := os.ReadFile(s.Path(g.Tariff.CSV))
		if err != nil {
			return spec, fmt.Errorf("grid tariff: %w", err)
		}
		rules, err := energy.ParseTOU(bytes.NewReader(b))
		if err != nil {
			return spec, fmt.Errorf("grid tariff %s: %w", g.Tariff.CSV, err)
		}
		spec.Tariff.Rules = rules
	case g.Tariff.Table == "flat":
		spec.Tariff.Rules = nil
	default:
		spec.Tariff.Rules = energy.Shandong2024Rules()
	}
	spec.Carbon.MeanKgPerKWh = g.CarbonKgPerKWh
	spec.Carbon.MarginalKgPerKWh = g.MarginalCarbonKgPerKWh
	switch g.CarbonShape.Kind {
	case "flat":
		spec.Carbon.Shape = energy.CarbonFlat
	case "trace":
		spec.Carbon.Shape = energy.CarbonTrace
		if sr := g.CarbonShape.Series; sr != nil {
			spec.Carbon.Trace = energy.TraceSpec{File: sr.CSV, Column: sr.Column, Normalize: energy.NormalizeMean}
			if sr.Anchor != nil {
				spec.Carbon.Trace.Anchor = *sr.Anchor
			}
		}
	default:
		spec.Carbon.Shape = energy.CarbonShandong
	}
	if err := spec.Validate(); err != nil {
		return spec, fmt.Errorf("energy model: %w", err)
	}
	return spec, nil
}

func traceSpec(r scenarios.SeriesRef, def energy.Normalization) energy.TraceSpec {
	t := energy.TraceSpec{File: r.CSV, Column: r.Column, Normalize: def}
	if r.Normalize != "" {
		t.Normalize = energy.Normalization(r.Normalize)
	}
	if r.Anchor != nil {
		t.Anchor = *r.Anchor
	}
	return t
}

// distOf converts a scenario distribution, multiplying its values by k
// (cores to millicores, GiB to MiB, seconds to hours).
func distOf(d scenarios.Dist, k float64) Dist {
	var out Dist
	switch d.Kind {
	case scenarios.DistFixed:
		out = Dist{Kind: Const, A: d.Value * k}
		return out
	case scenarios.DistUniform:
		out = Dist{Kind: Uniform, A: d.Min * k, B: d.Max * k}
	case scenarios.DistLogUniform:
		out = Dist{Kind: LogUniform, A: d.Min * k, B: d.Max * k}
	case scenarios.DistLogNormal:
		out = Dist{Kind: LogNormal, A: d.Median * k, B: d.Sigma, Min: d.Min * k, Max: d.Max * k}
	case scenarios.DistExponential:
		out = Dist{Kind: Exponential, A: d.Mean * k, Min: d.Min * k, Max: d.Max * k}
	case scenarios.DistChoice:
		out = Dist{Kind: Choice}
		for _, v := range d.Values {
			out.Values = append(out.Values, v*k)
		}
		out.Weights = append([]float64(nil), d.Weights...)
		if len(out.Weights) == 0 {
			for range out.Values {
				out.Weights = append(out.Weights, 1)
			}
		}
		return out
	}
	out.Step = d.Step * k
	return out
}

// workloadClass maps a scenario workload to a class.
func workloadClass(s *scenarios.Scenario, w *scenarios.Workload) (Class, error) {
	k := Class{
		Name:           w.Name,
		Group:          w.Class,
		Kind:           Service,
		CPUMilli:       distOf(w.CPUCores, 1000),
		MemoryMiB:      distOf(w.MemoryGiB, 1024),
		GPUMilli:       distOf(w.GPUs, 1000),
		DurationHours:  distOf(w.Duration.Dist, 1.0/3600),
		InputMB:        distOf(w.InputGB, 1000),
		Tasks:          distOf(w.Tasks, 1),
		LatencyBoundMs: w.LatencyMs,
		Priority:       w.Priority,
		SameCity:       w.SameCity,
		Tiers:          w.TierSet,
		Patience:       w.Patience.D(),
		Checkpoint:     w.Checkpoint.D(),
		OriginWeights:  append([]float64(nil), w.OriginWeights...),
	}
	if w.Kind == scenarios.Batch {
		k.Kind = Batch
	}
	if k.Tiers == nodes.AllTiers {
		k.Tiers = 0
	}
	if w.Deadline != nil {
		d := distOf(w.Deadline.Dist, 1.0/3600)
		k.SlackHours = &d
	}
	// Allowed sites: the listed ones, then only those of the listed roles.
	if w.SiteIndex != nil || len(w.Roles) > 0 {
		cand := w.SiteIndex
		if cand == nil {
			for i := range s.Sites {
				cand = append(cand, i)
			}
		}
		k.Sites = []int{}
		for _, i := range cand {
			ok := len(w.Roles) == 0
			for _, r := range w.Roles {
				ok = ok || s.Sites[i].Role == r
			}
			if ok {
				k.Sites = append(k.Sites, i)
			}
		}
	}
	switch {
	case w.Trace != nil:
		for _, r := range w.Records {
			k.Records = append(k.Records, TraceRecord{At: r.Submit, Duration: r.Duration,
				Request: nodes.Resources{CPUMilli: r.CPUMilli, MemoryMiB: r.MemoryMiB, GPUMilli: r.GPUMilli}})
		}
		if k.Records == nil {
			k.Records = []TraceRecord{} // a trace with nothing inside the horizon
		}
	case w.Arrivals != nil:
		a := w.Arrivals
		k.RatePerHour = w.RatePerHour
		if w.OriginRatePerHour != nil {
			k.OriginWeights = append([]float64(nil), w.OriginRatePerHour...)
		}
		if a.Shape != "" && a.Shape != "flat" {
			sh, ok := s.Shapes.Lookup(a.Shape)
			if !ok {
				return k, fmt.Errorf("unknown shape %q", a.Shape)
			}
			k.HourShape = append([]float64(nil), sh.Hourly[:]...)
			k.WeekdayShape = append([]float64(nil), sh.Daily[:]...)
		}
		if b := a.Bursts; b != nil {
			k.BurstsPerDay, k.BurstFactor, k.BurstDuration = b.PerDay, b.Factor, b.Duration.D()
		}
	default:
		return k, fmt.Errorf("neither arrivals nor trace")
	}
	if k.OriginWeights != nil {
		sum := 0.0
		for _, x := range k.OriginWeights {
			sum += x
		}
		if !(sum > 0) {
			k.OriginWeights = nil // no origin: no arrivals either (rate 0)
		}
	}
	return k, nil
}

func scenarioEvent(e *scenarios.Event) ScenarioEvent {
	ev := ScenarioEvent{
		Name:     e.Name,
		At:       e.At.D(),
		Duration: e.Duration.D(),
		Sites:    append([]int(nil), e.SiteIndex...),
		Nodes:    e.Nodes,
		Fraction: e.Fraction,
		NodeType: e.NodeType,
		Classes:  append([]string(nil), e.Classes...),
		Factor:   e.Factor,
	}
	if !e.Cities.All {
		ev.Cities = append([]int(nil), e.Cities.Index...)
	}
	switch e.Kind {
	case scenarios.SiteOutage:
		ev.Kind = SiteOutage
	case scenarios.NodeOutage:
		ev.Kind = NodeOutage
	case scenarios.DemandSurge:
		ev.Kind = DemandSurge
	case scenarios.RenewableDrought:
		ev.Kind = RenewableDrought
	}
	return ev
}

// ScaleScenario grows a scenario by factor k: every Poisson arrival rate
// is multiplied by k, and so are on-site solar, wind, contracts and
// batteries, so the province keeps its mix and its energy proportions at
// k times the size. Node counts are scaled by ScaledCount: a count of 0
// stays 0, any other count becomes round(count·k) (halves away from zero)
// but at least 1, so a site keeps every node type it has and gains none.
// A site's rated IT power (the load PUE model's full load) follows its
// nodes: it is multiplied by the ratio of the site's peak IT power after
// and before scaling (k itself, up to that rounding). Trace workloads
// replay unchanged. It is how the province-scale benchmark turns the
// baseline week into millions of workloads. The grown scenario must keep
// the loader's limits on nodes (scenarios.MaxTotalNodes) and expected
// instances (scenarios.MaxExpectedInstances); otherwise s is left
// unchanged and the error says the largest scale the scenario allows.
func ScaleScenario(s *scenarios.Scenario, k float64) error {
	if !(k > 0) || k > 1e4 {
		return fmt.Errorf("scale %g must be in (0, 10000]", k)
	}
	if err := checkScaled(s, k); err != nil {
		return err
	}
	for i := range s.Workloads {
		w := &s.Workloads[i]
		w.RatePerHour *= k
		for o := range w.OriginRatePerHour {
			w.OriginRatePerHour[o] *= k
		}
	}
	for i := range s.Sites {
		site := &s.Sites[i]
		nodes := make(scenarios.NodeCounts, len(site.Nodes))
		var peakBefore, peakAfter float64
		for j, nc := range site.Nodes {
			nodes[j] = nc
			nodes[j].Count = ScaledCount(nc.Count, k)
			if t, ok := s.NodeTypes.Lookup(nc.Type); ok {
				peakBefore += float64(nc.Count) * t.Power.PeakW
				peakAfter += float64(nodes[j].Count) * t.Power.PeakW
			}
		}
		site.Nodes = nodes
		if peakBefore > 0 {
			site.PUE.RatedITKW *= peakAfter / peakBefore
		} else {
			site.PUE.RatedITKW *= k
		}
		if site.Solar != nil {
			x := *site.Solar
			x.MW *= k
			site.Solar = &x
		}
		if site.Wind != nil {
			x := *site.Wind
			x.MW *= k
			site.Wind = &x
		}
		if site.Contract != nil {
			x := *site.Contract
			x.MW *= k
			site.Contract = &x
		}
		if site.Battery != nil {
			x := *site.Battery
			x.MWh *= k
			x.MW *= k
			site.Battery = &x
		}
	}
	return nil
}

// ScaledCount is a node count of a site scaled by k > 0 (ScaleScenario):
// 0 stays 0; any other count becomes round(n·k), halves away from zero,
// and at least 1 (a small k keeps one node of each type a site has).
func ScaledCount(n int, k float64) int {
	if n <= 0 {
		return 0
	}
	return max(1, int(math.Round(float64(n)*k)))
}

// checkScaled checks that s grown by k (as ScaleScenario grows it) keeps
// the limits on nodes and expected instances.
func checkScaled(s *scenarios.Scenario, k float64) error {
	var synthetic, replayed float64
	for i := range s.Workloads {
		w := &s.Workloads[i]
		if n := s.ExpectedInstances(w); w.Trace != nil {
			replayed += n // traces replay unchanged
		} else {
			synthetic += n
		}
	}
	if total := synthetic*k + replayed; total > scenarios.MaxExpectedInstances {
		return fmt.Errorf("at scale %g, %s would be expected to start ~%.0f instances over %s, more than the limit of %d (unscaled ~%.0f; this scenario allows at most --scale %s)",
			k, s.Name, total, s.Horizon, scenarios.MaxExpectedInstances, synthetic+replayed, floorScale((scenarios.MaxExpectedInstances-replayed)/synthetic))
	}
	nodes, unscaled := 0, 0
	for i := range s.Sites {
		for _, nc := range s.Sites[i].Nodes {
			nodes += ScaledCount(nc.Count, k)
			unscaled += nc.Count
		}
	}
	if nodes > scenarios.MaxTotalNodes {
		return fmt.Errorf("at scale %g, %s would have %d nodes, more than the limit of %d (unscaled %d; this scenario allows at most --scale %s)",
			k, s.Name, nodes, scenarios.MaxTotalNodes, unscaled, floorScale(float64(scenarios.MaxTotalNodes)/float64(max(unscaled, 1))))
	}
	return nil
}

// floorScale formats a largest allowed scale, rounded down to 3
// significant digits so that it passes.
func floorScale(k float64) string {
	if k >= 100 {
		return strconv.FormatFloat(math.Floor(k), 'f', -1, 64)
	}
	p := math.Pow(10, 2-math.Floor(math.Log10(k)))
	return strconv.FormatFloat(math.Floor(k*p)/p, 'g', -1, 64)
}

// CheckScenario reports whether the simulator can run a loaded scenario:
// FromScenario builds its config and models, and the config is valid. The
// error names the field (see FromScenario); `suanli scenario validate`
// runs it after the loader, so a file it accepts also starts.
func CheckScenario(s *scenarios.Scenario) error {
	c, err := FromScenario(s)
	if err != nil {
		return err
	}
	return c.Validate()
}
