package energy

import "fmt"

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
