// Package external runs scheduling policies implemented outside Go: a
// child process that speaks a small, versioned JSON-lines protocol over
// its stdin and stdout (docs/external-policy.md).
//
// Both sides are here. The simulator's side is Start, which starts the
// child, shakes hands and returns a Policy: a scheduler.Decider that, for
// each decision, runs the core's filters (scheduler.Placer), sends the
// child the workload and the feasible sites, and turns its reply into a
// decision after checking it — a site it names must be one of the
// feasible ones, and the core picks the node there with its best-fit
// rule, so the child cannot oversubscribe a node; a deferral must leave
// the work time to meet its deadline. Any breach of the protocol (the
// child crashed, hung past the per-decision timeout, wrote garbage,
// answered for another workload, named an unknown or infeasible site,
// deferred past the deadline) fails the policy with an error naming the
// policy, the workload and what was wrong (Policy.Err); drivers stop the
// run. The child's side is Serve, for children written in Go.
//
// The scheduling core stays pure (no os, no clock): process handling and
// timeouts live in this package, which the core does not import.
package external
