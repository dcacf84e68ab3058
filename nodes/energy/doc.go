// Package energy is the per-site energy model of Suanli: server power
// curves, PUE, on-site solar and wind, green-power contracts (PPAs),
// batteries, the Shandong time-of-use tariff and grid carbon intensity,
// and the per-interval energy balance of a site that ties them together.
//
// # Purity and determinism
//
// The package does no I/O, reads no clock and uses no global randomness.
// CSV readers (ParseTOU, ParseSPECPower, ReadTable) take an io.Reader; a
// TableSource supplied by the caller resolves trace files. Stochastic
// models draw from the caller-seeded *rand.Rand (math/rand/v2) given to
// NewSite, split into one stream per component. Local time is China
// Standard Time (CST, UTC+8), a fixed zone: the zone a time.Time carries
// does not matter.
//
// # Units
//
// Units are in every name: W, kW, kWh, MW, MWh, CNYPerKWh, KgPerKWh, Deg.
// Spec fields carry snake_case yaml/json names with units (capacity_mwh,
// price_cny_per_kwh, mean_kg_per_kwh, ...); decoding a spec fills what
// the input leaves out with its Default…Spec, and every spec has a
// Validate method whose errors name the field path and the allowed range
// ("battery.soc_min 1.2 must be in [0,1]").
//
// # The two callers
//
// The simulator builds one Site per site and run (NewSite) and calls Step
// once per accounting interval, in time order, with the IT energy of the
// interval; Step returns an Interval record. The scheduler's snapshot
// reads Site.Signal (now) and Site.Forecast (expected signals per slot,
// into a caller-owned slice; no allocation); neither draws random numbers,
// so asking for them never changes the simulation. Signal converts to
// scheduler.Signal. Site.PUE and Site.MarginalPUE, and ServerPower's
// marginal watts per core and GPU (SiteMarginalW), turn a request into
// facility kW.
//
// # Balance
//
// In each piece (at most 15 minutes) of an interval, renewables (on-site
// solar and wind first, then contracts in order) serve the facility,
// the battery discharges into the remaining deficit, and the grid covers
// the rest; renewable surplus charges the battery and what is left is
// curtailed. In the battery's grid-charge periods (e.g. valley) it charges
// from the grid instead of discharging. The battery counts on the demand
// side while charging, so every Interval satisfies exactly
//
//	RenewableUsedKWh + BatteryDischargeKWh + GridKWh = FacilityKWh + BatteryChargeKWh
//	RenewableGeneratedKWh = RenewableUsedKWh + CurtailedKWh
//
// BatteryChargeKWh is energy drawn into the battery; √η of it is stored.
// BatteryDischargeKWh is energy delivered out of it; 1/√η of it was
// removed from storage. BatteryLossKWh is the difference, so
// Charge − Discharge − Loss is the change of stored energy. The renewable
// share of a site is RenewableToFacilityKWh / FacilityKWh, where the
// battery's discharge counts as renewable in proportion to the renewable
// energy it holds.
//
// See docs/energy-model.md for the formulas, defaults and sources.
package energy
