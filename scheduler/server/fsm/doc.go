// Package fsm is the replicated state machine of the Suanli server: the
// registered sites and nodes, the workloads and their placements, and the
// commands that change them. Every server applies the same Raft log to its
// own FSM, so every FSM holds the same state.
//
// # Commands
//
// A log entry is one command: a type byte followed by a JSON body (see
// command.go). The commands are: register an agent's sites and nodes; set
// nodes down or up; submit workloads (one entry may carry many: group
// commit); commit a plan (placements, deferrals and rejections decided by
// the leader); agent events (started, completed, failed); cancel a
// workload; the server directory (join, remove); and the cluster's ID
// (committed once by its first leader). Apply never reads a
// clock or a random source: times travel inside the commands. Apply never
// panics on malformed bytes; it returns an error value. A command type it
// does not know (a newer server wrote it) halts it instead: it applies
// nothing more (halt.go; log versions: version.go).
//
// # The plan re-check
//
// The leader plans on a copy of the state, optimistically. The FSM checks
// every placement again against the latest state with
// scheduler.State.Allocate, which refuses to oversubscribe a node or place
// on a node that is not up. A refused placement goes back to the ready
// queue (the leader plans it again); nothing is ever oversubscribed, even
// when an old leader's plan arrives after a new leader's.
//
// # Placements
//
// Every placement of a workload is named by the index of the plan entry
// that made it (api.Workload.Placement, in the agent's assignment). A
// workload evicted, moved or sent back to pending and placed again, even
// on the same node, has a new one. Agents name it in their events, and an
// event about any other placement than the workload's current one is
// ignored: it is about a run that is over, reporting late. Events that
// name none (older agents) are matched by workload, node and agent.
//
// # Queues
//
// Pending workloads are either ready (in the ready queue, in order of a
// ready sequence number the leader reads from), waiting (a transient
// rejection: no capacity, or no node up; they go back to the ready queue
// when capacity changes, highest priority first and oldest first within a
// priority, up to a budget or all of them) or deferred (ready, with a
// NotBefore the leader honours).
package fsm
