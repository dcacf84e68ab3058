// Package optimize is Suanli's latency-, cost- and renewable-aware
// optimizer: a rolling-horizon plan of where and when deferrable work (work
// with a deadline) should run, and the binder that follows it. It registers
// the scheduling policy "optimizer"; import it for its side effect:
//
//	import _ "github.com/suanli/suanli/scheduler/optimize"
//
// # The plan
//
// Every time deferrable demand or the hour changes, the optimizer solves a
// fluid min-cost allocation over cells (site, hour) of the forecast horizon,
// in the spirit of Google's virtual capacity curves: each cell offers the
// site's free cores for that hour in two parts, the part renewable headroom
// can power (nearly free) and the grid part (cost per core-hour = facility
// kW per core × a weighted, normalised sum of grid carbon intensity and
// price forecast). Demand is the core-hours of known deferrable work,
// bucketed by deadline: work due by hour d may only use cells of hours ≤ d.
//
// Because the deadline sets are nested, the feasible allocations form a
// polymatroid (one laminar family of suffix constraints), so filling cells
// greedily in ascending cost while keeping every suffix within its demand
// gives an optimal allocation (Fill). It costs O(cells · hours), about a
// hundred microseconds for a province-sized horizon — where gonum's dense
// simplex took seconds on the same problem (see optimize_test.go), so the
// optimizer uses this exact combinatorial solution instead.
//
// # The binder
//
// A deferrable workload runs now at one of the sites whose plan budget for
// the current hour covers it (the greenest such site, through the core's
// filters and node choice), or is deferred to the first later hour within
// its deadline where the plan has budget for it, or, when the plan has no
// room for it at all before its deadline, runs now at the greenest feasible
// site. Work without a deadline is placed by the balanced policy.
package optimize
