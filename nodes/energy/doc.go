// Package energy is the per-site energy model of Suanli: server power
// curves, PUE, on-site solar and wind, green-power contracts, batteries,
// the Shandong time-of-use tariff and grid carbon intensity, and the
// per-interval balance of a site that ties them together.
//
// The package is pure: no files, network, clock or global randomness.
// CSV readers take an io.Reader; stochastic models draw from a
// caller-seeded *rand.Rand (math/rand/v2). Local time is China Standard
// Time (UTC+8, CST), a fixed zone. Units are in every name: W, kW, kWh,
// MW, MWh, CNYPerKWh, KgPerKWh.
//
// See docs/energy-model.md for the formulas, defaults and sources.
package energy
