// Package cluster holds Suanli's multi-process tests: real `suanli
// server` and `suanli agent` processes on 127.0.0.1 (package devcluster
// starts them from a binary the tests build), driven by concurrent API
// clients while servers and agents are killed (SIGKILL), paused (SIGSTOP)
// and restarted.
//
// The package itself is the linearizability model those tests check
// client histories against (porcupine, partitioned by workload ID; see
// Model). The fast tests run in `go test ./...` (about a minute); the
// long chaos runs only with SUANLI_CHAOS set (make chaos).
package cluster
