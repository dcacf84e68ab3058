// Package api holds the wire types of the Suanli server's HTTP API (/v1),
// its stable error codes, and a small Go client used by the CLI and by
// node agents (package nodes/agent).
//
// The types are plain data with JSON tags; they import nothing of the
// server's runtime (no raft, no memberlist), so any program can speak the
// API by importing this package alone. docs/api.md documents every route
// with request and response examples.
//
// # Durability
//
// A write the server answers with 2xx is committed on a quorum of servers
// (the Raft log entry is replicated and applied on the leader). A write
// whose outcome the server cannot know (leadership was lost while the
// entry was in flight) is answered with 503 and code "unknown_outcome":
// the write may or may not have been applied. Clients that need to retry
// such writes safely give workloads their own IDs: submitting the same ID
// and spec again is idempotent.
package api
