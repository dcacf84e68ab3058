package agent

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// hostNodes builds an agent hosting n nodes with one workload running on
// each, as Run would after registering and applying its first assignment
// list, and returns it with the heap growth it caused.
func hostNodes(t testing.TB, n int) (*Agent, uint64) {
	before := heapInUse()
	l, err := SiteLayout(api.Site{ID: "x-jn", City: "JN", Role: "edge", PUE: 1.6}, n, "cpu-16")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, []string{"127.0.0.1:1"}, 1)
	cfg.Layout = l
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	as := api.Assignments{Index: 1, Assignments: make([]api.Assignment, n)}
	for i := range as.Assignments {
		as.Assignments[i] = asg(fmt.Sprintf("workload-%08d", i), l.Nodes[i].ID, 1000, 3_600_000)
	}
	a.run.apply(as)
	a.run.takeEvents(n) // sent: the queue is empty in steady state
	as = api.Assignments{}
	after := heapInUse()
	runtime.KeepAlive(a)
	if after < before {
		return a, 0
	}
	return a, after - before
}

// TestMemoryPerNode: an agent hosting 10,000 nodes, each running one
// workload, uses far less than the 100 KiB per node budget.
func TestMemoryPerNode(t *testing.T) {
	const n = 10_000
	a, grew := hostNodes(t, n)
	perNode := float64(grew) / n
	t.Logf("agent hosting %d nodes, one workload each: heap +%d bytes = %.0f bytes/node (budget 102400)", n, grew, perNode)
	if s := a.Stats(); s.Nodes != n || s.Running != n {
		t.Fatalf("got %d nodes, %d running; want %d, %d", s.Nodes, s.Running, n, n)
	}
	if perNode > 100*1024 {
		t.Errorf("memory per node: got %.0f bytes, want <= %d", perNode, 100*1024)
	}
	if perNode < 50 {
		t.Errorf("memory per node: got %.0f bytes; the measurement cannot be right (a node record alone is larger)", perNode)
	}
}

// TestMemoryPerNodeRunning measures a running agent end to end against a
// fake server: registration, long-poll, 10,000 workloads started and
// their events sent. The fake server's own state is in the same heap, so
// this over-estimates the agent's share.
func TestMemoryPerNodeRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	const n = 10_000
	before := heapInUse()
	f := newFakeServer(t, token)
	cfg := testConfig(t, []string{f.addr()}, 1)
	l, err := SiteLayout(api.Site{ID: "x-jn", City: "JN", Role: "edge", PUE: 1.6}, n, "cpu-16")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Layout = l
	a, stop := runAgent(t, cfg)
	waitFor(t, "registration", 10*time.Second, func() bool { return a.Stats().Registered })
	for i := 0; i < n; i++ {
		f.assign("a1", fmt.Sprintf("workload-%08d", i), l.Nodes[i].ID, 1000, 3_600_000_000)
	}
	waitFor(t, "all running", 30*time.Second, func() bool {
		return f.count(func(f *fakeServer) int { return f.applied["started:workload-00009999"] }) == 1 && a.Stats().EventsPending == 0
	})
	grew := heapInUse() - before
	t.Logf("running agent + fake server, %d nodes, one workload each: heap +%d bytes = %.0f bytes/node", n, grew, float64(grew)/n)
	if float64(grew)/n > 100*1024 {
		t.Errorf("memory per node: got %.0f bytes, want <= %d", float64(grew)/n, 100*1024)
	}
	_ = stop()
}

// BenchmarkHostNodes reports the heap per hosted node (with one running
// workload each) at 10,000 nodes.
func BenchmarkHostNodes(b *testing.B) {
	b.ReportAllocs()
	var grew uint64
	for i := 0; i < b.N; i++ {
		_, g := hostNodes(b, 10_000)
		grew = g
	}
	b.ReportMetric(float64(grew)/10_000, "bytes/node")
}

// BenchmarkApplyAssignments measures reconciling a 10,000-workload
// assignment list in which one workload changed (the steady-state cost of
// one long-poll answer).
func BenchmarkApplyAssignments(b *testing.B) {
	const n = 10_000
	l, _ := SiteLayout(api.Site{ID: "x-jn", City: "JN", Role: "edge", PUE: 1.6}, n, "cpu-16")
	r := newRunner(l, newManualClock(), 1)
	as := api.Assignments{Index: 1, Assignments: make([]api.Assignment, n)}
	for i := range as.Assignments {
		as.Assignments[i] = asg(fmt.Sprintf("workload-%08d", i), l.Nodes[i].ID, 1000, 3_600_000)
	}
	r.apply(as)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % n
		as.Index++
		as.Assignments[k].WorkloadID = fmt.Sprintf("workload-%08d-%d", k, i)
		r.apply(as)
		r.takeEvents(10)
	}
}
