// Package benchmarks holds Suanli's cross-package benchmark suites and their
// fixtures: the scheduling hot path over synthetic 1+3+N+X topologies, the
// simulator engine and end-to-end scenario runs, and the replicated
// cluster's commit throughput. Recorded results and the commands that
// produced them are in README.md beside this file.
package benchmarks
