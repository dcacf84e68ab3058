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
// The plan is made per group of work that may run at the same sites (by
// tier, allowed sites and GPU hardware), most constrained group first, so
// work restricted to two sites is never planned onto a third. Capacity per
// cell is the site's free cores, recovering linearly to its up capacity
// over RecoveryHours as running work finishes. A new hour brings a full
// plan; new work within the hour is filled into the capacity the plan left
// (so a job's many tasks arriving together each find budget), with a full
// plan once that added demand grows past ReplanShare of the planned.
//
// # The binder
//
// For a deadline workload it looks at every hour up to its latest start
// (its deadline less its run and input transfer) where its group's plan
// has budget for it, costs a run starting then at each such site (grid
// cost of the part of its power renewable headroom does not cover, over
// its whole run) and picks the cheapest: it runs now (greenest feasible
// node among the sites with budget, through the core's filters) when now
// is within Tolerance of that, and otherwise is deferred there, keeping
// the budget reserved across plans until it comes back. When the plan has
// no room for it before its deadline it runs now at the greenest feasible
// site. Work without a deadline is placed by the balanced policy.
//
// # Options
//
// Options (Tolerance, RecoveryHours, ReplanShare, the carbon and price
// weights, Utilization) tune the plan and the binder; the registered
// policy takes them from scheduler.Config.Options (nil: the defaults), and
// a scenario sets them in its scheduler.optimizer block
// (docs/scenario-format.md). The plan covers the snapshot's forecast,
// whatever its step and length (a scenario's scheduler.forecast).
package optimize
