package energy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// contract is a built green-power contract. (Concrete fields rather than
// an interface keep the clock argument on the stack: no allocation.)
type contract struct {
	name   string
	flatKW float64 // shape flat
	solar  *Solar  // shape solar
	wind   *Wind   // shape wind
	price  float64
}

// kwAt advances the profile's random state to m and returns the power.
func (k *contract) kwAt(m time.Time, c *clock, scale float64) float64 {
	switch {
	case k.solar != nil:
		return k.solar.kwAt(m, c) * scale
	case k.wind != nil:
		return k.wind.kwAt(m, c) * scale
	}
	return k.flatKW
}

// expectKW is the expected power at m; it never draws.
func (k *contract) expectKW(m time.Time, c *clock, scale float64) float64 {
	switch {
	case k.solar != nil:
		return k.solar.expectKW(m, c) * scale
	case k.wind != nil:
		return k.wind.expectKW(m, c) * scale
	}
	return k.flatKW
}

// Site is the energy system of one data-centre site: PUE, solar, wind,
// green-power contracts, battery, tariff and grid carbon, with their state
// (battery charge, cloud and wind processes). The simulator calls Step
// once per accounting interval, in time order; Signal and Forecast read
// the state for the scheduler and never draw random numbers, so asking for
// them does not change the simulation. A Site is not safe for concurrent
// use; build one per site and per run.
type Site struct {
	pue       *PUE
	solar     *Solar
	wind      *Wind
	contracts []contract
	offered   []float64 // per-contract energy of the current piece
	battery   *Battery
	tariff    *Tariff
	carbon    *Carbon
	scale     float64
	next      time.Time // end of the last stepped interval
}

// NewSite validates spec and builds the site's models with their state at
// start. rng is the site's own random stream (seeded by the caller); each
// stochastic component gets an independent stream derived from it in a
// fixed order (solar, wind, contracts in order), so adding a contract does
// not change the site's solar or wind. src reads trace files; it may be
// nil when no model uses a trace.
func NewSite(spec SiteSpec, start time.Time, rng *rand.Rand, src TableSource) (*Site, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("energy site: nil *rand.Rand (seed one per site)")
	}
	s := &Site{scale: 1, next: start}
	var err error
	if s.pue, err = NewPUE(spec.PUE); err != nil {
		return nil, err
	}
	if s.tariff, err = NewTariff(spec.Tariff); err != nil {
		return nil, err
	}
	if s.carbon, err = NewCarbon(spec.Carbon, src); err != nil {
		return nil, err
	}
	if s.battery, err = NewBattery(spec.Battery); err != nil {
		return nil, err
	}
	solarRng, windRng := subRand(rng), subRand(rng)
	if spec.Solar.MW > 0 {
		if s.solar, err = newSolar(spec.Solar, spec.Solar.MW, spec.Lat, spec.Lon, start, solarRng, src); err != nil {
			return nil, fmt.Errorf("solar: %w", err)
		}
	}
	if spec.Wind.MW > 0 {
		if s.wind, err = newWind(spec.Wind, spec.Wind.MW, start, windRng, src); err != nil {
			return nil, fmt.Errorf("wind: %w", err)
		}
	}
	for i, ks := range spec.Contracts {
		kr := subRand(rng)
		k := contract{name: ks.Name, price: ks.PriceCNYPerKWh}
		switch ks.Shape {
		case ContractFlat:
			k.flatKW = ks.MW * 1000
		case ContractSolar:
			g, err := newSolar(ks.Solar, ks.MW, spec.Lat, spec.Lon, start, kr, src)
			if err != nil {
				return nil, fmt.Errorf("contracts[%d] solar: %w", i, err)
			}
			k.solar = g
		case ContractWind:
			g, err := newWind(ks.Wind, ks.MW, start, kr, src)
			if err != nil {
				return nil, fmt.Errorf("contracts[%d] wind: %w", i, err)
			}
			k.wind = g
		}
		s.contracts = append(s.contracts, k)
	}
	s.offered = make([]float64, len(s.contracts))
	return s, nil
}

// SetRenewableScale multiplies on-site solar and wind and solar- or
// wind-shaped contracts by f >= 0 from now on (1 normally; a "renewable
// drought" event lowers it). Flat contracts are firm and not scaled. It
// affects Step, Signal and Forecast.
func (s *Site) SetRenewableScale(f float64) {
	if !(f >= 0) || math.IsInf(f, 0) {
		f = 0
	}
	s.scale = f
}

// RenewableScale is the current generation scale.
func (s *Site) RenewableScale() float64 { return s.scale }

// PUE is facility / IT power at itKW of IT load at t (see PUE.Ratio).
func (s *Site) PUE(t time.Time, itKW float64) float64 { return s.pue.Ratio(itKW, t) }

// MarginalPUE is the facility kW one more IT kW costs at t.
func (s *Site) MarginalPUE(t time.Time) float64 { return s.pue.Marginal(t) }

// FacilityKW is the facility power at itKW of IT load at t.
func (s *Site) FacilityKW(t time.Time, itKW float64) float64 { return s.pue.FacilityKW(itKW, t) }

// Tariff is the site's tariff.
func (s *Site) Tariff() *Tariff { return s.tariff }

// Carbon is the site's grid carbon model; MarginalKgPerKWh gives the
// intensity for valuing shifted load.
func (s *Site) Carbon() *Carbon { return s.carbon }

// Battery is the site's battery, or nil; use it to read the state of
// charge, not to change it.
func (s *Site) Battery() *Battery { return s.battery }

// Interval is one site's energy account of one interval [Start,
// Start+Duration). Energies are kWh over the interval. The battery counts
// on the demand side when it charges, so the identities are
//
//	RenewableUsedKWh + BatteryDischargeKWh + GridKWh = FacilityKWh + BatteryChargeKWh
//	RenewableGeneratedKWh = RenewableUsedKWh + CurtailedKWh
//	RenewableUsedKWh = RenewableDirectKWh + BatteryChargeKWh − BatteryGridChargeKWh
//	BatteryChargeKWh − BatteryDischargeKWh − BatteryLossKWh = change of stored energy
//
// (Check verifies the first three and the signs).
type Interval struct {
	Start    time.Time
	Duration time.Duration
	// ITKWh is the IT energy the caller gave; FacilityKWh = IT × PUE.
	ITKWh       float64
	FacilityKWh float64
	// SolarKWh, WindKWh and ContractKWh are what on-site solar, on-site
	// wind and the contracts offered; RenewableGeneratedKWh is their sum.
	SolarKWh              float64
	WindKWh               float64
	ContractKWh           float64
	RenewableGeneratedKWh float64
	// RenewableUsedKWh is renewable energy taken: by the facility directly
	// (RenewableDirectKWh) or into the battery.
	RenewableUsedKWh   float64
	RenewableDirectKWh float64
	// RenewableToFacilityKWh is renewable energy that reached the facility:
	// directly, or out of the battery (the renewable-origin share of its
	// discharge). RenewableShare is this over FacilityKWh.
	RenewableToFacilityKWh float64
	// CurtailedKWh is renewable energy offered but not taken.
	CurtailedKWh float64
	// ContractUsedKWh is contract energy taken (and paid for); on-site
	// generation is used first.
	ContractUsedKWh float64
	// BatteryChargeKWh is energy drawn into the battery (before charging
	// losses), BatteryGridChargeKWh the part of it from the grid;
	// BatteryDischargeKWh is energy delivered out of it (after losses);
	// BatteryLossKWh is what both conversions lost.
	BatteryChargeKWh     float64
	BatteryGridChargeKWh float64
	BatteryDischargeKWh  float64
	BatteryLossKWh       float64
	// SoCKWh and SoCFraction are the battery's charge at the end (0 with
	// no battery).
	SoCKWh      float64
	SoCFraction float64
	// GridKWh is energy drawn from the grid: the facility's remaining
	// deficit plus any grid charging of the battery.
	GridKWh float64
	// Period is the tariff period at Start.
	Period Period
	// PriceCNYPerKWh and CarbonKgPerKWh are the grid's price and carbon
	// intensity, time-averaged over the interval.
	PriceCNYPerKWh float64
	CarbonKgPerKWh float64
	// GridCostCNY is grid energy × its price (piece by piece),
	// ContractCostCNY contract energy taken × the contract price, CostCNY
	// their sum.
	GridCostCNY     float64
	ContractCostCNY float64
	CostCNY         float64
	// CarbonKg is grid energy × its carbon intensity (renewable and
	// contract energy count as zero).
	CarbonKg float64
}

// RenewableShare is RenewableToFacilityKWh / FacilityKWh (0 when the
// facility used nothing).
func (iv *Interval) RenewableShare() float64 {
	if iv.FacilityKWh <= 0 {
		return 0
	}
	return iv.RenewableToFacilityKWh / iv.FacilityKWh
}

// Check verifies the balance identities to relative error rel and that no
// energy is negative or NaN.
func (iv *Interval) Check(rel float64) error {
	near := func(a, b float64) bool {
		return math.Abs(a-b) <= rel*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
	}
	if l, r := iv.RenewableUsedKWh+iv.BatteryDischargeKWh+iv.GridKWh, iv.FacilityKWh+iv.BatteryChargeKWh; !near(l, r) {
		return fmt.Errorf("renewable used %.12g + discharge %.12g + grid %.12g = %.12g kWh, facility %.12g + charge %.12g = %.12g kWh",
			iv.RenewableUsedKWh, iv.BatteryDischargeKWh, iv.GridKWh, l, iv.FacilityKWh, iv.BatteryChargeKWh, r)
	}
	if l, r := iv.RenewableGeneratedKWh, iv.RenewableUsedKWh+iv.CurtailedKWh; !near(l, r) {
		return fmt.Errorf("renewable generated %.12g kWh, used %.12g + curtailed %.12g = %.12g kWh", l, iv.RenewableUsedKWh, iv.CurtailedKWh, r)
	}
	if l, r := iv.RenewableUsedKWh, iv.RenewableDirectKWh+iv.BatteryChargeKWh-iv.BatteryGridChargeKWh; !near(l, r) {
		return fmt.Errorf("renewable used %.12g kWh, direct %.12g + green charge %.12g = %.12g kWh", l, iv.RenewableDirectKWh, iv.BatteryChargeKWh-iv.BatteryGridChargeKWh, r)
	}
	if l, r := iv.RenewableGeneratedKWh, iv.SolarKWh+iv.WindKWh+iv.ContractKWh; !near(l, r) {
		return fmt.Errorf("renewable generated %.12g kWh, solar + wind + contracts = %.12g kWh", l, r)
	}
	tol := -rel * math.Max(1, iv.FacilityKWh+iv.RenewableGeneratedKWh)
	for _, v := range [...]struct {
		name string
		v    float64
	}{
		{"it", iv.ITKWh}, {"facility", iv.FacilityKWh}, {"solar", iv.SolarKWh}, {"wind", iv.WindKWh},
		{"contract", iv.ContractKWh}, {"renewable used", iv.RenewableUsedKWh}, {"renewable direct", iv.RenewableDirectKWh},
		{"renewable to facility", iv.RenewableToFacilityKWh}, {"curtailed", iv.CurtailedKWh}, {"battery charge", iv.BatteryChargeKWh},
		{"battery grid charge", iv.BatteryGridChargeKWh}, {"battery discharge", iv.BatteryDischargeKWh}, {"battery loss", iv.BatteryLossKWh},
		{"grid", iv.GridKWh},
	} {
		if math.IsNaN(v.v) || v.v < tol {
			return fmt.Errorf("%s energy %g kWh is negative or NaN", v.name, v.v)
		}
	}
	return nil
}

// Step accounts the interval [t, t+dt) in which the site's IT equipment
// used itKWh (mean IT power itKWh/dt), advances the site's state to t+dt
// and returns the interval's record. Intervals must not overlap and come
// in time order (gaps are allowed; the random processes advance across
// them). The interval is integrated in equal pieces of at most 15 minutes:
// per piece, generation, price and carbon are taken at its midpoint and
// dispatched: renewables serve the facility first (on-site before
// contracts), then the battery discharges, then the grid covers the rest;
// renewable surplus charges the battery and the remainder is curtailed. In
// the battery's grid-charge periods it charges from the grid instead of
// discharging. Step draws from the site's random stream and does not
// allocate.
func (s *Site) Step(t time.Time, dt time.Duration, itKWh float64) (Interval, error) {
	if dt <= 0 {
		return Interval{}, fmt.Errorf("energy step at %v: duration %v must be > 0", t, dt)
	}
	if !(itKWh >= 0) || math.IsInf(itKWh, 0) {
		return Interval{}, fmt.Errorf("energy step at %v: IT energy %g kWh must be finite and >= 0", t, itKWh)
	}
	if t.Before(s.next) {
		return Interval{}, fmt.Errorf("energy step at %v: starts before the previous interval's end %v (steps must be in time order)", t, s.next)
	}
	H := dt.Hours()
	itKW := itKWh / H
	iv := Interval{Start: t, Duration: dt, ITKWh: itKWh}
	c0 := localClock(t)
	iv.Period = s.tariff.periodAt(&c0)
	n := int64((dt + maxSubStep - 1) / maxSubStep)
	for k := range n {
		a := t.Add(time.Duration(int64(dt) * k / n))
		b := t.Add(time.Duration(int64(dt) * (k + 1) / n))
		m := a.Add(b.Sub(a) / 2)
		h := b.Sub(a).Hours()
		c := localClock(m)

		fac := s.pue.facilityKW(itKW, c.month) * h
		var sol, wnd, ctr float64
		if s.solar != nil {
			sol = s.solar.kwAt(m, &c) * s.scale * h
		}
		if s.wind != nil {
			wnd = s.wind.kwAt(m, &c) * s.scale * h
		}
		for i := range s.contracts {
			e := s.contracts[i].kwAt(m, &c, s.scale) * h
			s.offered[i] = e
			ctr += e
		}
		onsite := sol + wnd
		gen := onsite + ctr
		price := s.tariff.priceAt(&c)
		period := s.tariff.periodAt(&c)
		ci := s.carbon.at(m, &c)

		direct := min(fac, gen)
		deficit := fac - direct
		surplus := gen - direct
		var chGreen, chGrid, dis, disGreen float64
		if bt := s.battery; bt != nil {
			before := bt.storedKWh
			if surplus > 0 {
				chGreen = bt.Charge(surplus, h, 0, true)
			}
			if bt.gridCharge[period] {
				chGrid = bt.Charge(math.Inf(1), h, chGreen, false)
			} else if deficit > 0 {
				dis, disGreen = bt.Discharge(deficit, h)
			}
			iv.BatteryLossKWh += chGreen + chGrid - dis - (bt.storedKWh - before)
		}
		used := direct + chGreen
		grid := deficit - dis + chGrid
		taken := max(0, used-onsite) // contract energy taken, on-site first
		var ccost float64
		for i := range s.contracts {
			x := min(taken, s.offered[i])
			ccost += x * s.contracts[i].price
			taken -= x
		}

		iv.FacilityKWh += fac
		iv.SolarKWh += sol
		iv.WindKWh += wnd
		iv.ContractKWh += ctr
		iv.RenewableGeneratedKWh += gen
		iv.RenewableUsedKWh += used
		iv.RenewableDirectKWh += direct
		iv.RenewableToFacilityKWh += direct + disGreen
		iv.CurtailedKWh += surplus - chGreen
		iv.ContractUsedKWh += max(0, used-onsite)
		iv.BatteryChargeKWh += chGreen + chGrid
		iv.BatteryGridChargeKWh += chGrid
		iv.BatteryDischargeKWh += dis
		iv.GridKWh += grid
		iv.PriceCNYPerKWh += price * h / H
		iv.CarbonKgPerKWh += ci * h / H
		iv.GridCostCNY += grid * price
		iv.ContractCostCNY += ccost
		iv.CarbonKg += grid * ci
	}
	iv.CostCNY = iv.GridCostCNY + iv.ContractCostCNY
	if s.battery != nil {
		iv.SoCKWh = s.battery.storedKWh
		iv.SoCFraction = s.battery.SoC()
	}
	s.next = t.Add(dt)
	return iv, nil
}

// Signal is a site's energy situation at one time, as the scheduler reads
// it. Its fields match scheduler.Signal, so a value converts directly:
// scheduler.Signal(sig).
type Signal struct {
	// PriceCNYPerKWh is the grid energy price.
	PriceCNYPerKWh float64 `json:"price_cny_per_kwh"`
	// CarbonKgPerKWh is the grid's carbon intensity.
	CarbonKgPerKWh float64 `json:"carbon_kg_per_kwh"`
	// RenewableHeadroomKW is how much more facility load renewables and the
	// battery could cover without drawing on the grid:
	// max(0, renewable kW + battery kW − facility kW at the current load),
	// green-power contracts included.
	RenewableHeadroomKW float64 `json:"renewable_headroom_kw"`
	// ContractHeadroomKW is the part of RenewableHeadroomKW that
	// green-power contracts supply: contracted power the site does not take
	// yet. It is carbon-free but paid for, at ContractPriceCNYPerKWh (the
	// mean price of that power, contracts taken in their order); the rest
	// of the headroom — on-site solar and wind, stored energy — costs
	// nothing more to use.
	ContractHeadroomKW     float64 `json:"contract_headroom_kw,omitempty"`
	ContractPriceCNYPerKWh float64 `json:"contract_price_cny_per_kwh,omitempty"`
}

// onsiteKW is the expected on-site (solar and wind) power at m.
func (s *Site) onsiteKW(m time.Time, c *clock) (kw float64) {
	if s.solar != nil {
		kw += s.solar.expectKW(m, c) * s.scale
	}
	if s.wind != nil {
		kw += s.wind.expectKW(m, c) * s.scale
	}
	return kw
}

// signalAt is the signal at m for facility load facKW with batKW of
// battery power: the site takes on-site power first, then the contracts in
// order (as Step settles them); what the contracts could still deliver is
// the contract headroom. It also returns the expected renewable power,
// contracts included.
func (s *Site) signalAt(m time.Time, c *clock, batKW, facKW float64) (g Signal, renewKW float64) {
	g.PriceCNYPerKWh = s.tariff.priceAt(c)
	g.CarbonKgPerKWh = s.carbon.at(m, c)
	onsite := s.onsiteKW(m, c)
	taken := max(0, facKW-onsite) // contract power already in use
	renewKW = onsite
	var left, cost float64
	for i := range s.contracts {
		e := s.contracts[i].expectKW(m, c, s.scale)
		renewKW += e
		x := min(taken, e)
		taken -= x
		left += e - x
		cost += (e - x) * s.contracts[i].price
	}
	g.RenewableHeadroomKW = max(0, renewKW+batKW-facKW)
	if left > 0 && g.RenewableHeadroomKW > 0 {
		g.ContractHeadroomKW = min(left, g.RenewableHeadroomKW)
		g.ContractPriceCNYPerKWh = cost / left
	}
	return g, renewKW
}

// Signal is the site's signal at t with itKW of IT load: the price and
// carbon intensity at t and the headroom from the expected renewable power
// at t (given the current cloud and wind state) plus the power the battery
// can sustain for an hour (none in its grid-charge periods), with the part
// green-power contracts supply and its price. It never draws random
// numbers.
func (s *Site) Signal(t time.Time, itKW float64) Signal {
	c := localClock(t)
	p := s.tariff.periodAt(&c)
	var bat float64
	if s.battery != nil && !s.battery.gridCharge[p] {
		bat = s.battery.availableKW(1)
	}
	g, _ := s.signalAt(t, &c, bat, s.pue.facilityKW(itKW, c.month))
	return g
}

// Forecast fills every element of dst with the expected signal of one
// slot, dst[k] covering [t+k·step, t+(k+1)·step) (step <= 0 means one
// hour), evaluated at the slot's midpoint, if the site keeps drawing itKW
// of IT load, and returns dst. Tariff and carbon are known exactly; solar
// is the clear-sky output times today's cloud factor for the rest of
// today and the mean cloud factor after it; wind is its conditional
// expectation given the current state, decaying to the mean; traces are
// read as they are. The battery's contribution follows a projection of its
// charge through the slots at that load (charging from expected surplus,
// discharging to cover expected deficit). Forecast never draws random
// numbers and does not allocate.
func (s *Site) Forecast(t time.Time, step time.Duration, itKW float64, dst []Signal) []Signal {
	if step <= 0 {
		step = time.Hour
	}
	sh := step.Hours()
	var bat Battery
	hasBat := s.battery != nil
	if hasBat {
		bat = *s.battery
	}
	for k := range dst {
		m := t.Add(time.Duration(k)*step + step/2)
		c := localClock(m)
		p := s.tariff.periodAt(&c)
		f := s.pue.facilityKW(itKW, c.month)
		var bkw float64
		if hasBat && !bat.gridCharge[p] {
			bkw = bat.availableKW(sh)
		}
		var r float64
		dst[k], r = s.signalAt(m, &c, bkw, f)
		if hasBat {
			net := (r - f) * sh
			var g float64
			if net > 0 {
				g = bat.Charge(net, sh, 0, true)
			}
			if bat.gridCharge[p] {
				bat.Charge(math.Inf(1), sh, g, false)
			} else if net < 0 {
				bat.Discharge(-net, sh)
			}
		}
	}
	return dst
}
