// Package server is the Raft-replicated Suanli scheduler service: `suanli
// server`. A cluster of (usually three) servers replicates one state
// machine (package fsm) with hashicorp/raft over TCP, keeping the log and
// stable store in BoltDB (raft-boltdb/v2) and snapshots in files under the
// data directory.
//
// # Writes and durability
//
// Every change is a Raft log entry applied by every server's FSM. An HTTP
// write is answered 2xx only after its entry is committed on a quorum and
// applied on the leader. If leadership is lost while an entry is in
// flight, the outcome is unknown: the answer is 503 with code
// "unknown_outcome" (see package api). Followers forward writes to the
// leader. Single submissions arriving together are grouped into one log
// entry (group commit); a bulk submission is one entry.
//
// # The leader's loop
//
// The leader plans: it reads ready workloads from its FSM, decides each
// with the scheduling core (package scheduler, any policy by name) on a
// planning copy of the FSM's scheduler.State, and commits the decisions as
// Plan entries, pipelining a few in flight. The copy is refreshed from the
// FSM when capacity changed (and no plan is in flight), and rebuilt when
// the topology changed. Every FSM re-checks each placement against the
// latest state before applying it (State.Allocate refuses to oversubscribe
// a node), so an optimistic plan can never oversubscribe a node, even
// across leader changes. Transient rejections (no capacity, no node up)
// wait in the FSM until capacity changes; permanent ones are rejected with
// the core's explanation stored on the workload.
//
// # Membership
//
// Servers and node agents join one memberlist pool (package gossip),
// encrypted with a key every member shares (required outside Dev). The
// leader marks an agent's nodes down when the pool declares the agent dead
// or gone (their work is re-placed), and up when it returns — heeding only
// the member whose metadata carries the instance of the agent's last
// registration, and never above the state an operator set on a node.
// GET /v1/health reports this server's view of the pool, which the server
// rejoins whenever it finds itself alone in it. A join request may
// re-address a Raft voter only once that voter is gone.
//
// A server with Config.Join asks to be a voter at every start: a server
// removed from the configuration and restarted from its old data
// directory is added back and caught up; without Join it stays out (raft
// gives no vote to a server outside its own configuration) and logs what
// to do. Removing the leader hands leadership over first.
//
// # Configuration
//
// Config's zero values mean defaults (see Config and the Default*
// constants); Config.Validate, which New calls, refuses negative values
// and malformed addresses, naming the flag or field.
package server
