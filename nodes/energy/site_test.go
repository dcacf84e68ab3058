package energy

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2024, 4, 1, 0, 0, 0, 0, CST)

func newTestSite(t testing.TB, spec SiteSpec, seed uint64) *Site {
	t.Helper()
	s, err := NewSite(spec, t0, rand.New(rand.NewPCG(seed, 99)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// randomSiteSpec draws a valid site with any mix of models.
func randomSiteSpec(r *rand.Rand) SiteSpec {
	s := DefaultSiteSpec()
	s.Lat, s.Lon = 34.5+3*r.Float64(), 115.5+6.5*r.Float64()
	s.PUE.Design = 1 + r.Float64()*0.8
	if r.IntN(2) == 0 {
		s.PUE.Model, s.PUE.RatedITKW, s.PUE.FixedFraction = PUELoad, 10+r.Float64()*5000, r.Float64()
	}
	if r.IntN(3) == 0 {
		s.PUE.MonthlyOverheadFactor = ShandongMonthlyOverhead()
	}
	if r.IntN(4) != 0 {
		s.Solar.MW = r.Float64() * 5
		s.Solar.NoiseSigma = []float64{0, 0.1, 0.3}[r.IntN(3)]
	}
	if r.IntN(3) != 0 {
		s.Wind.MW, s.Wind.CFMean = r.Float64()*5, 0.1+0.3*r.Float64()
	}
	for range r.IntN(3) {
		k := DefaultContractSpec()
		k.MW = r.Float64() * 2
		k.Shape = []ContractShape{ContractFlat, ContractSolar, ContractWind}[r.IntN(3)]
		k.PriceCNYPerKWh = r.Float64()
		s.Contracts = append(s.Contracts, k)
	}
	if r.IntN(4) != 0 {
		s.Battery.CapacityMWh = r.Float64() * 10
		s.Battery.PowerMW = 0.1 + r.Float64()*5
		s.Battery.RoundTripEfficiency = 0.5 + 0.5*r.Float64()
		s.Battery.SoCMin = 0.3 * r.Float64()
		s.Battery.SoCMax = s.Battery.SoCMin + 0.05 + (0.95-s.Battery.SoCMin)*r.Float64()
		s.Battery.InitialSoC = s.Battery.SoCMin + (s.Battery.SoCMax-s.Battery.SoCMin)*r.Float64()
		if r.IntN(3) == 0 {
			s.Battery.GridChargePeriods = []Period{PeriodValley, PeriodDeepValley}
		}
	}
	if r.IntN(2) == 0 {
		s.Carbon.Shape = CarbonFlat
	}
	return s
}

// TestSiteBalanceProperty steps random sites with random loads, interval
// lengths and gaps, and checks every interval balances exactly, the
// battery stays in its bounds and power limit, and its energy is
// conserved up to the stated losses.
func TestSiteBalanceProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(2024, 4))
	steps := []time.Duration{5 * time.Minute, 15 * time.Minute, 15 * time.Minute, time.Hour, 37 * time.Minute, 3 * time.Hour}
	for trial := range 150 {
		spec := randomSiteSpec(r)
		s := newTestSite(t, spec, uint64(trial))
		ts := t0.Add(time.Duration(r.IntN(365*24)) * time.Hour)
		s.next = time.Time{}
		var storedPrev float64
		if s.battery != nil {
			storedPrev = s.battery.StoredKWh()
		}
		for k := range 300 {
			dt := steps[r.IntN(len(steps))]
			itKW := []float64{0, r.Float64() * 100, r.Float64() * 3000, r.Float64() * 20000}[r.IntN(4)]
			if r.IntN(10) == 0 {
				s.SetRenewableScale(r.Float64())
			}
			iv, err := s.Step(ts, dt, itKW*dt.Hours())
			if err != nil {
				t.Fatalf("trial %d step %d: %v", trial, k, err)
			}
			if err := iv.Check(1e-9); err != nil {
				t.Fatalf("trial %d step %d: %v\n%+v", trial, k, err, iv)
			}
			if !approx(iv.CostCNY, iv.GridCostCNY+iv.ContractCostCNY, 1e-12) || iv.CostCNY < 0 || iv.CarbonKg < 0 {
				t.Fatalf("trial %d step %d: cost %v = grid %v + contract %v, carbon %v", trial, k, iv.CostCNY, iv.GridCostCNY, iv.ContractCostCNY, iv.CarbonKg)
			}
			if iv.ContractUsedKWh > iv.ContractKWh*(1+1e-12)+1e-9 || iv.RenewableToFacilityKWh > iv.FacilityKWh*(1+1e-12)+1e-9 {
				t.Fatalf("trial %d step %d: contract used %v of %v, renewable to facility %v of %v", trial, k, iv.ContractUsedKWh, iv.ContractKWh, iv.RenewableToFacilityKWh, iv.FacilityKWh)
			}
			if b := s.battery; b != nil {
				lim := b.PowerKW() * dt.Hours() * (1 + 1e-12)
				if iv.BatteryChargeKWh > lim || iv.BatteryDischargeKWh > lim {
					t.Fatalf("trial %d step %d: charge %v / discharge %v kWh over the %v kWh limit", trial, k, iv.BatteryChargeKWh, iv.BatteryDischargeKWh, lim)
				}
				if iv.SoCFraction < spec.Battery.SoCMin-1e-12 || iv.SoCFraction > spec.Battery.SoCMax+1e-12 {
					t.Fatalf("trial %d step %d: SoC %v outside [%v,%v]", trial, k, iv.SoCFraction, spec.Battery.SoCMin, spec.Battery.SoCMax)
				}
				// energy conservation in the battery
				eta := math.Sqrt(spec.Battery.RoundTripEfficiency)
				d := iv.SoCKWh - storedPrev
				if want := eta*iv.BatteryChargeKWh - iv.BatteryDischargeKWh/eta; !approx(d, want, 1e-9) {
					t.Fatalf("trial %d step %d: stored energy changed by %v, want %v", trial, k, d, want)
				}
				if !approx(iv.BatteryLossKWh, iv.BatteryChargeKWh-iv.BatteryDischargeKWh-d, 1e-9) {
					t.Fatalf("trial %d step %d: loss %v, want charge − discharge − Δstored = %v", trial, k, iv.BatteryLossKWh, iv.BatteryChargeKWh-iv.BatteryDischargeKWh-d)
				}
				storedPrev = iv.SoCKWh
				if p := s.tariff.Period(ts.Add(dt / 2)); iv.BatteryGridChargeKWh > 0 && !b.GridCharges(p) && dt <= maxSubStep {
					t.Fatalf("trial %d step %d: grid charging in %v", trial, k, p)
				}
			} else if iv.BatteryChargeKWh != 0 || iv.BatteryDischargeKWh != 0 || iv.SoCKWh != 0 {
				t.Fatalf("trial %d step %d: battery energy without a battery: %+v", trial, k, iv)
			}
			ts = ts.Add(dt)
			if r.IntN(20) == 0 {
				ts = ts.Add(time.Duration(r.IntN(48)) * time.Hour) // a gap
			}
		}
	}
}

// flatSite has deterministic supply: a flat contract of contractKW.
func flatSite(t testing.TB, contractKW float64, price float64, battery BatterySpec, pue float64) *Site {
	spec := DefaultSiteSpec()
	spec.Lat, spec.Lon = 36.651, 117.12
	spec.PUE.Design = pue
	spec.Carbon.Shape = CarbonFlat
	if contractKW > 0 {
		k := DefaultContractSpec()
		k.MW, k.PriceCNYPerKWh = contractKW/1000, price
		spec.Contracts = []ContractSpec{k}
	}
	spec.Battery = battery
	return newTestSite(t, spec, 1)
}

func TestSiteDispatch(t *testing.T) {
	bat := func(capMWh, mw, soc float64, grid ...Period) BatterySpec {
		b := DefaultBatterySpec()
		b.CapacityMWh, b.PowerMW, b.InitialSoC, b.RoundTripEfficiency = capMWh, mw, soc, 0.81
		b.GridChargePeriods = grid
		return b
	}
	flat := time.Date(2024, 4, 1, 8, 0, 0, 0, CST)    // flat, 0.614
	valley := time.Date(2024, 4, 1, 10, 0, 0, 0, CST) // valley, 0.2773
	price := func(m float64) float64 { return 0.133 + m*0.481 }
	cases := []struct {
		name     string
		site     func() *Site
		at       time.Time
		itKW     float64
		want     Interval // fields compared where noted below
		gridCost float64
		ctrCost  float64
	}{
		{"grid only", func() *Site { return flatSite(t, 0, 0, BatterySpec{}, 1.25) }, flat, 800,
			Interval{FacilityKWh: 250, GridKWh: 250}, 250 * price(1), 0},
		{"contract covers part", func() *Site { return flatSite(t, 600, 0.4, BatterySpec{}, 1.25) }, flat, 800,
			Interval{FacilityKWh: 250, ContractKWh: 150, RenewableGeneratedKWh: 150, RenewableUsedKWh: 150, RenewableDirectKWh: 150, RenewableToFacilityKWh: 150, ContractUsedKWh: 150, GridKWh: 100}, 100 * price(1), 150 * 0.4},
		{"surplus curtailed without battery", func() *Site { return flatSite(t, 2000, 0.4, BatterySpec{}, 1.25) }, flat, 800,
			Interval{FacilityKWh: 250, ContractKWh: 500, RenewableGeneratedKWh: 500, RenewableUsedKWh: 250, RenewableDirectKWh: 250, RenewableToFacilityKWh: 250, ContractUsedKWh: 250, CurtailedKWh: 250}, 0, 250 * 0.4},
		// 1 MW battery for 15 min: at most 250 kWh drawn; √η = 0.9
		{"surplus charges battery", func() *Site { return flatSite(t, 2000, 0.4, bat(10, 1, 0.5), 1.25) }, flat, 800,
			Interval{FacilityKWh: 250, ContractKWh: 500, RenewableGeneratedKWh: 500, RenewableUsedKWh: 500, RenewableDirectKWh: 250, RenewableToFacilityKWh: 250, ContractUsedKWh: 500, BatteryChargeKWh: 250, BatteryLossKWh: 25, SoCKWh: 5225}, 0, 500 * 0.4},
		{"battery near full curtails the rest", func() *Site { return flatSite(t, 2000, 0.4, bat(10, 1, 0.9), 1.25) }, flat, 800,
			Interval{FacilityKWh: 250, ContractKWh: 500, RenewableGeneratedKWh: 500, RenewableUsedKWh: 250, RenewableDirectKWh: 250, RenewableToFacilityKWh: 250, ContractUsedKWh: 250, CurtailedKWh: 250, SoCKWh: 9000}, 0, 250 * 0.4},
		{"deficit from battery", func() *Site { return flatSite(t, 0, 0, bat(10, 0.5, 0.5), 1.25) }, flat, 800,
			Interval{FacilityKWh: 250, BatteryDischargeKWh: 125, BatteryLossKWh: 125/0.9 - 125, GridKWh: 125, SoCKWh: 5000 - 125/0.9}, 125 * price(1), 0},
		{"valley grid charging", func() *Site { return flatSite(t, 0, 0, bat(10, 1, 0.5, PeriodValley), 1.25) }, valley, 800,
			Interval{FacilityKWh: 250, BatteryChargeKWh: 250, BatteryGridChargeKWh: 250, BatteryLossKWh: 25, GridKWh: 500, SoCKWh: 5225}, 500 * price(0.3), 0},
		{"no grid charging outside its periods", func() *Site { return flatSite(t, 0, 0, bat(10, 1, 0.5, PeriodValley), 1.25) }, flat, 800,
			Interval{FacilityKWh: 250, BatteryDischargeKWh: 250, BatteryLossKWh: 250/0.9 - 250, SoCKWh: 5000 - 250/0.9}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.site()
			iv, err := s.Step(tc.at, 15*time.Minute, tc.itKW*0.25)
			if err != nil {
				t.Fatal(err)
			}
			if err := iv.Check(1e-12); err != nil {
				t.Fatal(err)
			}
			w := tc.want
			for _, f := range []struct {
				name      string
				got, want float64
			}{
				{"facility", iv.FacilityKWh, w.FacilityKWh}, {"contract", iv.ContractKWh, w.ContractKWh},
				{"generated", iv.RenewableGeneratedKWh, w.RenewableGeneratedKWh}, {"used", iv.RenewableUsedKWh, w.RenewableUsedKWh},
				{"direct", iv.RenewableDirectKWh, w.RenewableDirectKWh}, {"to facility", iv.RenewableToFacilityKWh, w.RenewableToFacilityKWh},
				{"contract used", iv.ContractUsedKWh, w.ContractUsedKWh}, {"curtailed", iv.CurtailedKWh, w.CurtailedKWh},
				{"charge", iv.BatteryChargeKWh, w.BatteryChargeKWh}, {"grid charge", iv.BatteryGridChargeKWh, w.BatteryGridChargeKWh},
				{"discharge", iv.BatteryDischargeKWh, w.BatteryDischargeKWh}, {"loss", iv.BatteryLossKWh, w.BatteryLossKWh},
				{"grid", iv.GridKWh, w.GridKWh}, {"soc", iv.SoCKWh, w.SoCKWh},
				{"grid cost", iv.GridCostCNY, tc.gridCost}, {"contract cost", iv.ContractCostCNY, tc.ctrCost},
				{"carbon", iv.CarbonKg, w.GridKWh * ShandongCarbonKgPerKWh},
			} {
				if !approx(f.got, f.want, 1e-9) {
					t.Errorf("%s: got %.6f kWh, want %.6f", f.name, f.got, f.want)
				}
			}
		})
	}
}

func TestSiteRenewableShareCreditsGreenDischarge(t *testing.T) {
	b := DefaultBatterySpec()
	b.CapacityMWh, b.PowerMW, b.InitialSoC, b.SoCMin, b.SoCMax, b.RoundTripEfficiency = 1, 1, 0, 0, 1, 1
	s := flatSite(t, 1000, 0, b, 1)
	ts := time.Date(2024, 4, 1, 8, 0, 0, 0, CST)
	// an hour with no load: 1000 kWh of contract energy fills the battery
	if _, err := s.Step(ts, time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	if g := s.Battery().GreenKWh(); !approx(g, 1000, 1e-12) {
		t.Fatalf("green stored %v, want 1000", g)
	}
	// then 2 MW of load for 30 min: 500 kWh direct, 500 kWh from the battery
	iv, err := s.Step(ts.Add(time.Hour), 30*time.Minute, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !approx(iv.RenewableShare(), 1, 1e-12) || iv.GridKWh > 1e-9 {
		t.Errorf("renewable share %v grid %v, want 1 and 0", iv.RenewableShare(), iv.GridKWh)
	}
}

func TestSitePUEAtFullLoad(t *testing.T) {
	spec := DefaultSiteSpec()
	spec.PUE = PUESpec{Model: PUELoad, Design: 1.25, RatedITKW: 2000, FixedFraction: 0.4}
	s := newTestSite(t, spec, 1)
	iv, err := s.Step(t0, time.Hour, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if got := iv.FacilityKWh / iv.ITKWh; !approx(got, 1.25, 1e-12) {
		t.Errorf("facility/IT at full load: got %v, want 1.25", got)
	}
	if got := s.PUE(t0, 2000); !approx(got, 1.25, 1e-12) {
		t.Errorf("PUE at full load: got %v, want 1.25", got)
	}
	if got := s.PUE(t0, 500); !(got > 1.25) {
		t.Errorf("PUE at quarter load: got %v, want above 1.25", got)
	}
}

func TestSiteStepErrors(t *testing.T) {
	s := newTestSite(t, DefaultSiteSpec(), 1)
	cases := []struct {
		name string
		at   time.Time
		dt   time.Duration
		it   float64
		want string
	}{
		{"zero duration", t0, 0, 1, "duration 0s must be > 0"},
		{"negative IT", t0, time.Hour, -1, "IT energy -1 kWh must be finite and >= 0"},
		{"NaN IT", t0, time.Hour, math.NaN(), "must be finite"},
		{"before start", t0.Add(-time.Minute), time.Hour, 1, "starts before the previous interval's end"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Step(tc.at, tc.dt, tc.it); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := s.Step(t0, time.Hour, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Step(t0.Add(30*time.Minute), time.Hour, 1); err == nil {
		t.Error("overlapping interval: got no error")
	}
	if _, err := NewSite(DefaultSiteSpec(), t0, nil, nil); err == nil {
		t.Error("nil rng: got no error")
	}
	bad := DefaultSiteSpec()
	bad.Battery.CapacityMWh, bad.Battery.PowerMW, bad.Battery.SoCMin = 1, 1, 2
	if _, err := NewSite(bad, t0, rand.New(rand.NewPCG(1, 1)), nil); err == nil || !strings.Contains(err.Error(), "battery.soc_min 2 must be in [0,1]") {
		t.Errorf("invalid spec: got %v", err)
	}
}

// baselineSite is a Dongying-like "wind-solar-storage + DC" site
// (shandong-facts.md §5.1, dy-clu) scaled to its IT load.
func baselineSite() SiteSpec {
	s := DefaultSiteSpec()
	s.Lat, s.Lon = 37.434, 118.675
	s.PUE.Design = 1.2
	s.Solar.MW = 1.5
	s.Wind.MW, s.Wind.CFMean = 2, OffshoreCFMean
	k := DefaultContractSpec()
	k.Name, k.MW, k.Shape = "offshore", 1, ContractWind
	k.Wind.CFMean = 0.39
	s.Contracts = []ContractSpec{k}
	s.Battery.CapacityMWh, s.Battery.PowerMW = 4, 2
	return s
}

func TestSiteDeterminismAndForecastDoesNotDraw(t *testing.T) {
	a := newTestSite(t, baselineSite(), 77)
	b := newTestSite(t, baselineSite(), 77)
	dst := make([]Signal, 48)
	ts := t0
	for k := range 2000 {
		// b is asked for signals and forecasts all the time; a never is
		b.Forecast(ts, time.Hour, 1500, dst)
		b.Signal(ts, 1500)
		ia, errA := a.Step(ts, 15*time.Minute, 400)
		ib, errB := b.Step(ts, 15*time.Minute, 400)
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if ia != ib {
			t.Fatalf("step %d: intervals differ:\n%+v\n%+v", k, ia, ib)
		}
		ts = ts.Add(15 * time.Minute)
	}
}

func TestSiteForecast(t *testing.T) {
	s := newTestSite(t, baselineSite(), 5)
	ts := time.Date(2024, 4, 1, 0, 0, 0, 0, CST)
	for k := range 40 {
		if _, err := s.Step(ts.Add(time.Duration(k)*15*time.Minute), 15*time.Minute, 300); err != nil {
			t.Fatal(err)
		}
	}
	now := ts.Add(10 * time.Hour)
	dst := make([]Signal, 48)
	got := s.Forecast(now, time.Hour, 1200, dst)
	if len(got) != 48 || &got[0] != &dst[0] {
		t.Fatalf("Forecast returned %d slots, not dst", len(got))
	}
	for k, g := range got {
		m := now.Add(time.Duration(k)*time.Hour + 30*time.Minute)
		if g.PriceCNYPerKWh != s.Tariff().Price(m) || g.CarbonKgPerKWh != s.Carbon().IntensityAt(m) {
			t.Errorf("slot %d: price %v carbon %v, want %v %v", k, g.PriceCNYPerKWh, g.CarbonKgPerKWh, s.Tariff().Price(m), s.Carbon().IntensityAt(m))
		}
		if g.RenewableHeadroomKW < 0 {
			t.Errorf("slot %d: negative headroom %v", k, g.RenewableHeadroomKW)
		}
	}
	// 10:00–11:00 in April is the valley, 11:00–14:00 the deep valley
	if got[0].PriceCNYPerKWh > 0.28 || got[1].PriceCNYPerKWh > 0.19 {
		t.Errorf("midday prices %v %v, want valley and deep valley", got[0].PriceCNYPerKWh, got[1].PriceCNYPerKWh)
	}
	// at night with no solar and a large load the headroom is at most wind
	// + contract + battery
	night := now.Add(14 * time.Hour)
	sig := s.Signal(night, 1e6)
	if sig.RenewableHeadroomKW != 0 {
		t.Errorf("headroom under a huge load: got %v, want 0", sig.RenewableHeadroomKW)
	}
	// more load, less headroom
	if a, b := s.Signal(now, 100), s.Signal(now, 1000); !(a.RenewableHeadroomKW >= b.RenewableHeadroomKW) {
		t.Errorf("headroom rose with load: %v at 100 kW, %v at 1000 kW", a.RenewableHeadroomKW, b.RenewableHeadroomKW)
	}
	// without generation and battery the headroom is 0 and signals are the
	// tariff and carbon
	plain := newTestSite(t, DefaultSiteSpec(), 1)
	for _, g := range plain.Forecast(now, time.Hour, 10, dst) {
		if g.RenewableHeadroomKW != 0 {
			t.Fatalf("headroom %v at a site with no renewables", g.RenewableHeadroomKW)
		}
	}
	// a battery alone gives headroom = its power while it has charge
	bs := DefaultSiteSpec()
	bs.Battery.CapacityMWh, bs.Battery.PowerMW, bs.Battery.InitialSoC = 2, 1, 0.9
	bsite := newTestSite(t, bs, 1)
	fc := bsite.Forecast(time.Date(2024, 4, 1, 0, 0, 0, 0, CST), time.Hour, 0, dst[:4])
	if !approx(fc[0].RenewableHeadroomKW, 1000, 1e-12) {
		t.Errorf("battery-only headroom: got %v kW, want the 1000 kW power limit", fc[0].RenewableHeadroomKW)
	}
	// with a 400 kW load the projection drains it: 1.6 MWh above soc_min
	// lasts ~3.4 h at 400 kW, so the hourly headroom falls
	fc = bsite.Forecast(time.Date(2024, 4, 1, 0, 0, 0, 0, CST), time.Hour, 320, dst[:6]) // 320 kW IT = 400 kW facility
	if !(fc[0].RenewableHeadroomKW > fc[5].RenewableHeadroomKW) || fc[5].RenewableHeadroomKW != 0 {
		t.Errorf("projected battery headroom %v did not run out", fc)
	}
}

func TestSiteForecastAllocs(t *testing.T) {
	s := newTestSite(t, baselineSite(), 5)
	dst := make([]Signal, 48)
	if n := testing.AllocsPerRun(100, func() { s.Forecast(t0, time.Hour, 500, dst) }); n != 0 {
		t.Errorf("Forecast allocates %v times per call, want 0", n)
	}
	ts := t0
	if n := testing.AllocsPerRun(100, func() {
		if _, err := s.Step(ts, 15*time.Minute, 100); err != nil {
			t.Fatal(err)
		}
		ts = ts.Add(15 * time.Minute)
	}); n != 0 {
		t.Errorf("Step allocates %v times per call, want 0", n)
	}
}

func BenchmarkSiteStep(b *testing.B) {
	s := newTestSite(b, baselineSite(), 5)
	ts := t0
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Step(ts, 15*time.Minute, 100); err != nil {
			b.Fatal(err)
		}
		ts = ts.Add(15 * time.Minute)
	}
}

func BenchmarkSiteForecast48h(b *testing.B) {
	s := newTestSite(b, baselineSite(), 5)
	dst := make([]Signal, 48)
	ts := t0
	b.ReportAllocs()
	for b.Loop() {
		s.Forecast(ts, time.Hour, 500, dst)
		ts = ts.Add(15 * time.Minute)
	}
}

// TestSignalContractHeadroom: contracts are taken after on-site power and
// in their order, and the signal reports what they could still deliver
// and at what mean price.
func TestSignalContractHeadroom(t *testing.T) {
	spec := DefaultSiteSpec()
	spec.PUE.Design = 1
	a, b := DefaultContractSpec(), DefaultContractSpec()
	a.Name, a.MW, a.PriceCNYPerKWh = "a", 0.2, 0.30 // 200 kW flat
	b.Name, b.MW, b.PriceCNYPerKWh = "b", 0.3, 0.50 // 300 kW flat
	spec.Contracts = []ContractSpec{a, b}
	s := newTestSite(t, spec, 1)
	night := time.Date(2024, 4, 1, 2, 0, 0, 0, CST)
	for _, c := range []struct {
		itKW                  float64
		head, ctrHead, ctrPri float64
	}{
		{0, 500, 500, (200*0.30 + 300*0.50) / 500},
		{100, 400, 400, (100*0.30 + 300*0.50) / 400}, // a partly taken
		{200, 300, 300, 0.50},                        // a taken, b left
		{450, 50, 50, 0.50},
		{500, 0, 0, 0},
		{900, 0, 0, 0},
	} {
		g := s.Signal(night, c.itKW)
		if !approx(g.RenewableHeadroomKW, c.head, 1e-9) || !approx(g.ContractHeadroomKW, c.ctrHead, 1e-9) || !approx(g.ContractPriceCNYPerKWh, c.ctrPri, 1e-9) {
			t.Errorf("IT %v kW: headroom %v, contract %v at %v; want %v, %v at %v", c.itKW,
				g.RenewableHeadroomKW, g.ContractHeadroomKW, g.ContractPriceCNYPerKWh, c.head, c.ctrHead, c.ctrPri)
		}
	}
	// a battery adds free headroom on top; the contract part is unchanged
	spec.Battery.CapacityMWh, spec.Battery.PowerMW, spec.Battery.InitialSoC = 2, 0.1, 0.9
	sb := newTestSite(t, spec, 1)
	g := sb.Signal(night, 100)
	if !approx(g.RenewableHeadroomKW, 500, 1e-9) || !approx(g.ContractHeadroomKW, 400, 1e-9) {
		t.Errorf("with a 100 kW battery: headroom %v (want 500), contract %v (want 400)", g.RenewableHeadroomKW, g.ContractHeadroomKW)
	}
	// the forecast reports the same split
	fc := sb.Forecast(night.Add(-30*time.Minute), time.Hour, 100, make([]Signal, 1))
	if !approx(fc[0].ContractHeadroomKW, 400, 1e-9) || !approx(fc[0].ContractPriceCNYPerKWh, (100*0.30+300*0.50)/400, 1e-9) {
		t.Errorf("forecast contract headroom %v at %v", fc[0].ContractHeadroomKW, fc[0].ContractPriceCNYPerKWh)
	}
}
