// Package sim is Suanli's discrete-event simulator: a virtual clock and an
// event queue with a total order (time, priority, sequence), and the runner
// that drives sites, workloads, energy models and the scheduling core
// (package scheduler) through a scenario, one policy at a time, on an
// identical workload stream.
//
// # Engine
//
// Engine holds value-typed events in a radix heap (virtual time never goes
// backwards, so events are bucketed by the highest bit in which their time
// differs from the current minimum) and returns them in (At, Prio, Seq)
// order; Seq is assigned at scheduling time, so two events at the same time
// and priority run in the order they were scheduled. Events carry a typed
// Kind and two integer arguments; the runner dispatches on Kind with a
// switch, so the hot path has no interface calls and allocates nothing once
// the buckets have grown to their working size.
//
// # Randomness
//
// Every component draws from its own stream, Stream(seed, name) =
// PCG(seed, FNV-1a(name)), so adding a site or a class never reshuffles the
// arrivals of another class.
//
// # Runner
//
// FromScenario turns a loaded scenario into a Config; RunFile is
// `suanli sim` (load, run every policy in parallel, write the outputs) and
// ExplainFile is `suanli explain`. A Runner builds, for one policy, the
// scheduler State and Snapshot from a Config, generates the workloads of every class (non-homogeneous Poisson
// arrivals shaped by hour of day and day of week, bursts, size, duration and
// deadline distributions, origins among cities), applies scenario events
// (site and node outages, demand surges, renewable droughts), calls the core
// for every arrival and re-decides deferred and queued work, integrates IT
// power per site between events, and every Interval steps each site's energy
// model, records the interval and refreshes the energy signals the core
// reads. See docs/outputs.md for the outputs and the rules the runner
// follows (queueing, outages, latency, violations).
package sim
