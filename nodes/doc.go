// Package nodes describes the infrastructure Suanli schedules onto: the tiers
// of Shandong's "1+3+N+X" industrial big-data-centre system (core, cluster,
// edge), data-centre sites with their city, coordinates and PUE, the nodes
// inside them with their capacity and state, and the network latency between
// an origin city and a site. The energy models of a site (power curves, PUE,
// solar, wind, battery, time-of-use tariff and grid carbon intensity) are in
// the subpackage nodes/energy, so the scheduling core, which imports this
// package, stays small.
//
// Everything here is plain data and pure functions: no I/O, no clock, no
// global randomness. Readers of CSV series take an io.Reader; random models
// take a *rand.Rand the caller seeded. Units are part of every field name
// (CPUMilli, MemoryMiB, GPUMilli, Ms, KW, KWh, CNYPerKWh, KgPerKWh).
package nodes
