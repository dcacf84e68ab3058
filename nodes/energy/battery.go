package energy

import (
	"fmt"
	"math"
)

// BatterySpec configures a site battery. The round-trip efficiency η is
// split evenly: charging stores √η of the energy drawn, discharging
// delivers √η of the energy removed. The power limit applies on the site
// side (energy drawn while charging, delivered while discharging).
type BatterySpec struct {
	// CapacityMWh is the usable-range-inclusive energy capacity; 0 means
	// no battery.
	CapacityMWh float64 `yaml:"capacity_mwh" json:"capacity_mwh"`
	// PowerMW limits charge and discharge power, > 0 when there is a
	// battery.
	PowerMW float64 `yaml:"power_mw" json:"power_mw"`
	// RoundTripEfficiency η is in (0,1].
	RoundTripEfficiency float64 `yaml:"round_trip_efficiency" json:"round_trip_efficiency"`
	// SoCMin and SoCMax bound the state of charge (fractions of capacity),
	// 0 <= soc_min < soc_max <= 1.
	SoCMin float64 `yaml:"soc_min" json:"soc_min"`
	SoCMax float64 `yaml:"soc_max" json:"soc_max"`
	// InitialSoC is the state of charge at the start, in [soc_min,soc_max].
	InitialSoC float64 `yaml:"initial_soc" json:"initial_soc"`
	// GridChargePeriods lists tariff periods (e.g. valley, deep_valley) in
	// which the battery also charges from the grid, up to soc_max, and does
	// not discharge. Empty: it charges from renewable surplus only.
	GridChargePeriods []Period `yaml:"grid_charge_periods" json:"grid_charge_periods"`
}

// Battery defaults (shandong-facts.md §5.1 [A/K]): round-trip 0.88, SoC
// 10–90 %, start half full.
const (
	DefaultRoundTripEfficiency = 0.88
	DefaultSoCMin              = 0.1
	DefaultSoCMax              = 0.9
	DefaultInitialSoC          = 0.5
)

// DefaultBatterySpec has the defaults above and no capacity.
func DefaultBatterySpec() BatterySpec {
	return BatterySpec{
		RoundTripEfficiency: DefaultRoundTripEfficiency,
		SoCMin:              DefaultSoCMin,
		SoCMax:              DefaultSoCMax,
		InitialSoC:          DefaultInitialSoC,
	}
}

// Validate checks capacity_mwh >= 0 and, for a battery with capacity,
// power_mw > 0, round_trip_efficiency in (0,1], 0 <= soc_min < soc_max <= 1,
// initial_soc in [soc_min,soc_max] and known grid-charge periods.
func (s BatterySpec) Validate() error {
	c := &checker{prefix: "battery"}
	s.validate(c)
	return c.err()
}

func (s BatterySpec) validate(c *checker) {
	c.nonNeg("capacity_mwh", s.CapacityMWh)
	if !(s.CapacityMWh > 0) {
		return
	}
	c.positive("power_mw", s.PowerMW)
	c.inOpenLow("round_trip_efficiency", s.RoundTripEfficiency, 0, 1)
	c.in("soc_min", s.SoCMin, 0, 1)
	c.in("soc_max", s.SoCMax, 0, 1)
	if s.SoCMin >= s.SoCMax && s.SoCMin >= 0 && s.SoCMax <= 1 {
		c.fail("soc_max", s.SoCMax, fmt.Sprintf("must be > soc_min %g", s.SoCMin))
	}
	if !(s.InitialSoC >= s.SoCMin && s.InitialSoC <= s.SoCMax) {
		c.fail("initial_soc", s.InitialSoC, fmt.Sprintf("must be in [soc_min,soc_max] = [%g,%g]", s.SoCMin, s.SoCMax))
	}
	for i, p := range s.GridChargePeriods {
		if p >= NumPeriods {
			c.fail(fmt.Sprintf("grid_charge_periods[%d]", i), int(p), "must be a tariff period (flat, critical, peak, valley, deep_valley)")
		}
	}
}

// Battery is a built battery with its state of charge. Energies are kWh on
// the site side unless named "stored": charging draws e and stores √η·e;
// discharging removes s from storage and delivers √η·s. It also tracks
// how much of the stored energy came from renewables (the initial charge
// counts as grid energy), so the renewable share can credit discharge.
type Battery struct {
	capKWh     float64
	minKWh     float64
	maxKWh     float64
	powerKW    float64
	eff        float64 // √η, one way
	storedKWh  float64
	greenKWh   float64 // renewable-origin part of storedKWh
	gridCharge [NumPeriods]bool
}

// NewBattery builds a battery at its initial state of charge; a spec with
// no capacity gives a nil battery and no error.
func NewBattery(spec BatterySpec) (*Battery, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if !(spec.CapacityMWh > 0) {
		return nil, nil
	}
	capKWh := spec.CapacityMWh * 1000
	b := &Battery{
		capKWh:    capKWh,
		minKWh:    spec.SoCMin * capKWh,
		maxKWh:    spec.SoCMax * capKWh,
		powerKW:   spec.PowerMW * 1000,
		eff:       math.Sqrt(spec.RoundTripEfficiency),
		storedKWh: spec.InitialSoC * capKWh,
	}
	for _, p := range spec.GridChargePeriods {
		b.gridCharge[p] = true
	}
	return b, nil
}

// CapacityKWh is the energy capacity.
func (b *Battery) CapacityKWh() float64 { return b.capKWh }

// PowerKW is the charge and discharge power limit (site side).
func (b *Battery) PowerKW() float64 { return b.powerKW }

// StoredKWh is the energy stored now.
func (b *Battery) StoredKWh() float64 { return b.storedKWh }

// SoC is the state of charge as a fraction of capacity.
func (b *Battery) SoC() float64 { return b.storedKWh / b.capKWh }

// GreenKWh is the part of the stored energy that came from renewables.
func (b *Battery) GreenKWh() float64 { return b.greenKWh }

// GridCharges reports whether the battery charges from the grid in period p.
func (b *Battery) GridCharges(p Period) bool { return b.gridCharge[p] }

// Charge draws up to offerKWh over hours h, limited by the power limit
// (powerUsedKWh of the h-hour budget is already taken) and by the room up
// to soc_max, stores √η of it and returns the energy drawn. green says
// whether the energy is renewable.
func (b *Battery) Charge(offerKWh, h, powerUsedKWh float64, green bool) (drawnKWh float64) {
	drawn := min(offerKWh, max(0, b.powerKW*h-powerUsedKWh))
	if !(drawn > 0) {
		return 0
	}
	room := b.maxKWh - b.storedKWh
	if room <= 0 {
		return 0
	}
	stored := drawn * b.eff
	if stored >= room {
		stored = room
		drawn = room / b.eff
		b.storedKWh = b.maxKWh
	} else {
		b.storedKWh += stored
	}
	if green {
		b.greenKWh = min(b.storedKWh, b.greenKWh+stored)
	}
	return drawn
}

// Discharge delivers up to wantKWh over hours h, limited by the power limit
// and by the energy above soc_min, and returns the energy delivered and
// the part of it that was renewable.
func (b *Battery) Discharge(wantKWh, h float64) (deliveredKWh, greenKWh float64) {
	del := min(wantKWh, b.powerKW*h)
	if !(del > 0) {
		return 0, 0
	}
	avail := b.storedKWh - b.minKWh
	if avail <= 0 {
		return 0, 0
	}
	share := 0.0
	if b.storedKWh > 0 {
		share = b.greenKWh / b.storedKWh
	}
	removed := del / b.eff
	if removed >= avail {
		removed = avail
		del = avail * b.eff
		b.storedKWh = b.minKWh
	} else {
		b.storedKWh -= removed
	}
	b.greenKWh = max(0, min(b.storedKWh, b.greenKWh-removed*share))
	return del, del * share
}

// availableKW is the discharge power the battery can sustain for h hours.
func (b *Battery) availableKW(h float64) float64 {
	return min(b.powerKW, max(0, b.storedKWh-b.minKWh)*b.eff/h)
}
