// Package agent is `suanli agent`: one process hosting many simulated
// nodes of the Suanli cluster.
//
// An Agent registers its sites and nodes with the servers' HTTP API
// (POST /v1/agent/register), joins the gossip pool (package
// scheduler/server/gossip) so the leader can tell when it dies, receives
// its placements by long-polling GET /v1/agent/{id}/assignments, runs each
// workload for its duration on an injected Clock (optionally accelerated:
// Speed 60 runs a minute of work per second), and reports "started" and
// "completed" events (POST /v1/agent/{id}/events).
//
// Every assignment names its placement (the servers' identity of that
// placement of the workload); the agent echoes it in every event about
// the run, so the servers can ignore a late event of a run that is over
// (evicted, moved, stopped). Work it runs that comes back in a new
// placement, even on the same node, is stopped and started afresh.
//
// # Failure handling
//
// Every request goes to the leader when it is known and otherwise rotates
// over the known servers (the configured list, the cluster's server
// directory and the servers seen in the gossip pool), with capped
// exponential backoff and jitter. Events are kept until a server
// acknowledges them and are resent after any failure: they are idempotent
// on the server (a repeated "started" or "completed" is ignored), so an
// unknown outcome (a leader dying mid-request) is simply retried. A
// long-poll answer older than the last one seen (a lagging follower) is
// ignored. If the servers no longer know the agent (404), it registers
// again.
//
// # What a simulated node costs
//
// A node is a small record (ID, capacity, usage) and a running workload
// is one heap entry; there is no goroutine per node or workload: one timer
// goroutine completes whatever is due. TestMemoryPerNode measures the heap
// per node of an agent hosting 10,000 nodes with work running on every one
// of them (the budget is 100 KiB; a few hundred bytes are used).
//
// # Layouts
//
// The nodes an agent hosts come from a Layout: one site from flags
// (SiteLayout), the synthetic 28-site 1+3+N+X province (SyntheticLayout),
// and a share of any layout for one of several agents (Layout.Shard).
package agent
