package sim

import (
	"math"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/nodes/energy"
)

// testEnergy is a small, exact energy model for tests: constant PUE, a
// solar bell 06–18 h, a battery, a two-level tariff and constant carbon.
type testEnergy struct {
	pue                 float64
	solarPeakKW         float64
	capKWh, rateKW, eff float64
	soc                 float64
	carbon              float64
	peakPrice, offPrice float64
	scale               float64
	loc                 *time.Location
}

func (m *testEnergy) solarKW(t time.Time) float64 {
	h := float64(t.In(m.loc).Hour()) + float64(t.In(m.loc).Minute())/60
	if h < 6 || h >= 18 {
		return 0
	}
	return m.solarPeakKW * math.Sin(math.Pi*(h-6)/12)
}

func (m *testEnergy) price(t time.Time) float64 {
	if h := t.In(m.loc).Hour(); h >= 8 && h < 22 {
		return m.peakPrice
	}
	return m.offPrice
}

func (m *testEnergy) Step(start time.Time, dur time.Duration, itKWh float64) (energy.Interval, error) {
	hrs := dur.Hours()
	b := energy.Interval{Start: start, Duration: dur, ITKWh: itKWh, FacilityKWh: itKWh * m.pue}
	b.SolarKWh = m.solarKW(start) * hrs * m.scale
	b.RenewableGeneratedKWh = b.SolarKWh
	b.RenewableDirectKWh = math.Min(b.SolarKWh, b.FacilityKWh)
	surplus := b.SolarKWh - b.RenewableDirectKWh
	b.BatteryChargeKWh = math.Min(surplus, math.Min((m.capKWh-m.soc)/m.eff, m.rateKW*hrs))
	m.soc += b.BatteryChargeKWh * m.eff
	b.BatteryLossKWh = b.BatteryChargeKWh * (1 - m.eff)
	b.RenewableUsedKWh = b.RenewableDirectKWh + b.BatteryChargeKWh
	b.CurtailedKWh = surplus - b.BatteryChargeKWh
	deficit := b.FacilityKWh - b.RenewableDirectKWh
	b.BatteryDischargeKWh = math.Min(deficit, math.Min(m.soc, m.rateKW*hrs))
	m.soc -= b.BatteryDischargeKWh
	b.RenewableToFacilityKWh = b.RenewableDirectKWh + b.BatteryDischargeKWh
	b.GridKWh = deficit - b.BatteryDischargeKWh
	b.SoCKWh = m.soc
	b.PriceCNYPerKWh = m.price(start)
	b.CarbonKgPerKWh = m.carbon
	b.GridCostCNY = b.GridKWh * b.PriceCNYPerKWh
	b.CostCNY = b.GridCostCNY
	b.CarbonKg = b.GridKWh * b.CarbonKgPerKWh
	return b, nil
}

func (m *testEnergy) SetRenewableScale(f float64) { m.scale = f }

func (m *testEnergy) Signal(t time.Time, itKW float64) energy.Signal {
	head := math.Max(0, m.solarKW(t)*m.scale-itKW*m.pue)
	if m.soc > 0 {
		head += m.rateKW
	}
	return energy.Signal{PriceCNYPerKWh: m.price(t), CarbonKgPerKWh: m.carbon, RenewableHeadroomKW: head}
}

func (m *testEnergy) Forecast(start time.Time, step time.Duration, itKW float64, dst []energy.Signal) []energy.Signal {
	for i := range dst {
		dst[i] = m.Signal(start.Add(time.Duration(i)*step), itKW)
	}
	return dst
}

func (m *testEnergy) PUE(time.Time, float64) float64 { return m.pue }

// testConfig is a small province: the synthetic 28-site topology with n
// nodes, three classes, two days.
func testConfig(n int, seed uint64) *Config {
	loc := time.FixedZone("CST", 8*3600)
	topo := nodes.Synthetic(n)
	c := &Config{
		Name:           "test",
		Seed:           seed,
		Start:          time.Date(2024, 4, 1, 0, 0, 0, 0, loc),
		Horizon:        48 * time.Hour,
		Interval:       15 * time.Minute,
		ForecastStep:   time.Hour,
		ForecastSteps:  24,
		Topology:       topo,
		Cities:         nodes.ShandongCities(),
		Latency:        nodes.DefaultLatencyModel(),
		JitterBaseMs:   0.2,
		JitterFraction: 0.1,
		NodePower: map[string]*energy.ServerPower{
			"cpu-64": mustServerPower(energy.CPUServerPowerSpec(), nodes.CPUServer),
			"gpu-8":  mustServerPower(energy.ServerPowerSpec{Name: "gpu-8", CurveW: []float64{1200, 2800, 3850, 4600, 5000, 5400, 5750, 6000, 6200, 6350, 6500}, GPUPowerShare: 0.9}, nodes.GPUServer),
		},
		Policies: []string{"first-fit", "greenest", "carbon-window"},
	}
	c.NewEnergy = func(i int) (EnergyModel, error) {
		return &testEnergy{pue: topo.Sites[i].PUE, solarPeakKW: float64(5 + 3*(i%4)), capKWh: 20, rateKW: 10, eff: 0.9, carbon: 0.6 + 0.01*float64(i%5), peakPrice: 0.95, offPrice: 0.28, scale: 1, loc: loc}, nil
	}
	shift := make([]float64, 24)
	for h := range shift {
		shift[h] = 0.3
		if h >= 8 {
			shift[h] = 1.5
		}
	}
	slack := Dist{Kind: Uniform, A: 6, B: 24}
	c.Classes = []Class{
		{Name: "vision", Kind: Service, RatePerHour: 60, HourShape: shift, WeekdayShape: []float64{0.6, 1, 1, 1, 1, 1, 0.6},
			CPUMilli: ConstDist(2000), MemoryMiB: ConstDist(4096), GPUMilli: ConstDist(250),
			DurationHours: ConstDist(8), LatencyBoundMs: 50, InputMB: ConstDist(0)},
		{Name: "ctrl", Kind: Service, RatePerHour: 30, SameCity: true, Tiers: nodes.TiersOf(nodes.TierEdge),
			CPUMilli: ConstDist(1000), MemoryMiB: ConstDist(1024), GPUMilli: ConstDist(0),
			DurationHours: ConstDist(8), LatencyBoundMs: 2, InputMB: ConstDist(0)},
		{Name: "analytics", Kind: Batch, RatePerHour: 20, BurstsPerDay: 2, BurstFactor: 4, BurstDuration: time.Hour,
			CPUMilli: Dist{Kind: LogUniform, A: 4000, B: 32000, Step: 1000}, MemoryMiB: ConstDist(16384), GPUMilli: ConstDist(0),
			DurationHours: Dist{Kind: LogNormal, A: 2, B: 0.7, Max: 12}, SlackHours: &slack, InputMB: Dist{Kind: Uniform, A: 1e4, B: 5e5},
			Checkpoint: 30 * time.Minute},
	}
	c.BandwidthGbps = make([]float64, len(topo.Sites))
	for i := range c.BandwidthGbps {
		c.BandwidthGbps[i] = 10
	}
	return c
}

func mustServerPower(spec energy.ServerPowerSpec, capacity nodes.Resources) *energy.ServerPower {
	p, err := energy.NewServerPower(spec, capacity)
	if err != nil {
		panic(err)
	}
	return p
}
