// Package cluster holds Suanli's multi-process tests: real `suanli
// server` and `suanli agent` processes on 127.0.0.1 (package devcluster
// starts them from a binary the tests build), driven by concurrent API
// clients while servers and agents are killed (SIGKILL), paused (SIGSTOP)
// and restarted.
//
// The package itself is the linearizability model those tests check
// client histories against (porcupine, partitioned by workload ID; see
// Model). The fast tests run in `go test ./...` (about a minute); the
// long chaos runs only with SUANLI_CHAOS set (make chaos, make
// chaos-preempt; SUANLI_CHAOS_SEED picks the fault sequence).
//
// The tests read the workload and node lists (GET /v1/workloads, GET
// /v1/nodes: pages of at most 1,000) to their last page through
// listWorkloads and listNodes (pages_test.go), never one page alone, and
// fail when the pages contradict the paging protocol (a cursor returned
// twice, an item listed twice, totals that disagree with each other or
// with the count read at one index). A consistent view needs every page
// of both lists at one Raft index, and is read again when it moved.
//
// # Chaos
//
// TestChaos loads 3 servers and 2 agents (16 × 16-core nodes each, mostly
// empty) with small identical workloads while it kills and pauses the
// leader, a follower or an agent, and now and then two servers at once
// (no quorum), one fault at a time, each undone before the next (faults).
//
// TestChaosPreempt injects the same faults into servers started with
// --preempt, on a cluster small enough to stay full: 2 agents with 2
// 8-core nodes each (32 cores; memory never binds). Its clients submit a
// mix (preemptMix): first long-running fillers of priority 0 and 1 (1-4
// cores, about 1.4 times the cluster), then, paced, short and a few
// long-running high-priority work (priority 10, always 2 cores), mid
// priority (5; 2 cores short or 3 cores long-running) and short
// priority-0 churn. High arrivals find no room and evict fillers and mid
// work, which goes back to pending and is placed again when room frees.
// Without SUANLI_CHAOS it runs a short fixed fault sequence (an agent
// killed, the leader killed, a follower paused, two servers killed:
// about 25 s), so `go test ./test/cluster/` covers it.
//
// What it checks:
//
//   - During the run, every second, on a consistent view (the workload
//     and node lists read at one Raft index): every live workload is on a
//     known node that is up, the live workloads on each node add up to
//     what the node reports used, and no node is over capacity.
//   - No priority inversion, checked on every quiescent view (every
//     pending workload waits for capacity: nothing in the ready queue, no
//     plan in flight) during the run and at the end: for a waiting
//     workload W of priority p and every up node n, free(n) plus the
//     requests of the live work of priority < p on n does not fit W. That
//     is exactly when the core would place W (free room) or preempt for
//     it (scheduler/preempt.go: only strictly lower priorities are
//     evicted, on a node whose free capacity plus their requests fits),
//     given that the mix's workloads have no latency bound, deadline,
//     tier, site or GPU restriction. A waiting workload that breaks it
//     was parked and never woken although its turn had come.
//   - At the end, with every process back, every node up and the cluster
//     quiescent: every acknowledged workload is present; a high-priority
//     one is placed or running, or completed if short, and never pending
//     (at most 4 long-running and the few short ones of the last seconds,
//     all 2 cores, against 16 2-core slots, so by the inversion rule each
//     must have a node); mid, filler and churn work is placed or running,
//     or completed if short, or pending, waiting for capacity, with a
//     reason; nothing failed, cancelled or rejected, nothing long-running
//     completed.
//     Work the watcher saw re-queued from a node that stayed up (evicted)
//     is among them, so none was lost. Every completed workload ran its
//     whole duration in its last placement: it started, and completed
//     its duration later (a late "completed" of an evicted run must not
//     finish the run placed after it; agent events name their placement,
//     and the watcher sums the events ignored for naming an earlier one).
//   - The agents' assignment lists hold exactly the live workloads, each
//     once, on the node the servers have it on (nothing evicted still
//     assigned), read between two views at the same index.
//   - The client history is linearizable, the servers reach one applied
//     index, and suanli_preemptions_total summed over servers and their
//     restarts is above zero (the test cannot pass without preempting).
package cluster
