// Package scheduler is Suanli's scheduling core: the one place where
// placement decisions are made, called by both the simulator (package sim)
// and the replicated server (package scheduler/server).
//
// A decision is a pure function of a read-only Snapshot (nodes and their
// free capacity, sites, per-origin network latency, and per site the energy
// price, grid carbon intensity and renewable headroom now and forecast), a
// Workload, the current time and a seeded *rand.Rand:
//
//	d := sched.Decide(snap, &w, now, rng, nil)
//
// The result places the workload on a node now, defers it until a later
// time (work with a deadline, under window policies), or rejects it with a
// reason. Passing a non-nil *Explanation additionally records how many sites
// and nodes each filter removed, every scorer's term for the best
// candidates, and for any named site or node the exact reason it was not
// chosen. Explanations cost nothing when not asked for.
//
// # Purity and determinism
//
// This package does no I/O, reads no clock and uses no global randomness;
// it imports no networking, raft or memberlist code (deps_test.go enforces
// it). Given the same snapshot, workload, time, random state and Scheduler
// state (round-robin cursors), Decide returns the same decision.
//
// # Cost
//
// State keeps per site the aggregate free capacity and a segment tree over
// its nodes' free capacity, with "shape" maxima at 2, 4 and 8 GiB per core
// and 8 cores per GPU, so a decision costs O(sites + k·log nodes) and
// allocates nothing in steady state. The bound is exact for requests at
// those shapes; a request of another memory-per-core ratio on a site whose
// free CPU and free memory sit on different nodes can make the walk visit
// every node of that site (BenchmarkPlaceFragmented measures it). The
// owner of the state (the simulator, or the server's FSM) applies decisions
// with State.Allocate and State.Release, which refuse to oversubscribe a node.
package scheduler
