package fsm

import (
	"fmt"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

// benchCluster registers n nodes of 64 cores across 4 sites.
func benchCluster(b *testing.B, n int) *harness {
	h := newHarness(b)
	var ns []api.NodeSpec
	sites := []api.Site{site("jn-core", "JN", "core-zone"), site("qd-core", "QD", "provincial"), site("yt-reg", "YT", "regional"), site("x-jn", "JN", "edge")}
	for i := 0; i < n; i++ {
		ns = append(ns, api.NodeSpec{ID: fmt.Sprintf("n%05d", i), Site: sites[i%4].ID, Capacity: nodes.CPUServer})
	}
	h.must(CmdRegister, &Register{AgentID: "a1", Sites: sites, Nodes: ns})
	return h
}

func applyBench(b *testing.B, h *harness, data []byte) {
	b.Helper()
	h.idx++
	if err, ok := h.f.Apply(h.idx, data).(error); ok {
		b.Fatal(err)
	}
}

// BenchmarkFSMApply measures applying one log entry per command type on a
// 1000-node FSM (batch sizes as the leader and the HTTP API produce them).
func BenchmarkFSMApply(b *testing.B) {
	for _, batch := range []int{1, 256} {
		b.Run(fmt.Sprintf("submit/batch=%d", batch), func(b *testing.B) {
			h := benchCluster(b, 1000)
			b.ReportAllocs()
			entries := make([][]byte, b.N)
			for i := range entries {
				specs := make([]api.WorkloadSpec, batch)
				for k := range specs {
					specs[k] = spec(fmt.Sprintf("w%d-%d", i, k), 1000)
				}
				entries[i], _ = Encode(CmdSubmit, &Submit{At: t0, Workloads: specs})
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				applyBench(b, h, entries[i])
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "workloads/s")
		})
		b.Run(fmt.Sprintf("plan/batch=%d", batch), func(b *testing.B) {
			h := benchCluster(b, 1000)
			b.ReportAllocs()
			// Enough capacity: 1000 nodes × 64 cores / 100m.
			entries := make([][]byte, b.N)
			total := 0
			for i := range entries {
				specs := make([]api.WorkloadSpec, batch)
				for k := range specs {
					specs[k] = spec(fmt.Sprintf("w%d-%d", i, k), 1)
					specs[k].Request.MemoryMiB = 0
				}
				applyBench(b, h, mustEncode(CmdSubmit, &Submit{At: t0, Workloads: specs}))
				p := &Plan{At: t0}
				for k, r := range h.f.ReadyAfter(0, batch, nil) {
					p.Items = append(p.Items, PlanItem{ID: r.Spec.ID, ReadySeq: r.Seq, Outcome: OutcomePlace, Node: fmt.Sprintf("n%05d", (total+k)%1000)})
				}
				total += batch
				// Apply now (ready order); the timed loop re-applies the same
				// shape on fresh workloads.
				entries[i] = mustEncode(CmdPlan, p)
				applyBench(b, h, entries[i])
			}
			// Timed: a second set of workloads planned the same way.
			plans := make([][]byte, b.N)
			for i := range plans {
				specs := make([]api.WorkloadSpec, batch)
				for k := range specs {
					specs[k] = spec(fmt.Sprintf("v%d-%d", i, k), 1)
					specs[k].Request.MemoryMiB = 0
				}
				applyBench(b, h, mustEncode(CmdSubmit, &Submit{At: t0, Workloads: specs}))
			}
			rd := h.f.ReadyAfter(0, b.N*batch, nil)
			for i := range plans {
				p := &Plan{At: t0}
				for k, r := range rd[i*batch : (i+1)*batch] {
					p.Items = append(p.Items, PlanItem{ID: r.Spec.ID, ReadySeq: r.Seq, Outcome: OutcomePlace, Node: fmt.Sprintf("n%05d", (i*batch+k)%1000)})
				}
				plans[i] = mustEncode(CmdPlan, p)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				applyBench(b, h, plans[i])
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "placements/s")
		})
	}
	b.Run("events/batch=256", func(b *testing.B) {
		h := benchCluster(b, 1000)
		b.ReportAllocs()
		const batch = 256
		evs := make([][]byte, b.N)
		for i := range evs {
			specs := make([]api.WorkloadSpec, batch)
			for k := range specs {
				specs[k] = spec(fmt.Sprintf("w%d-%d", i, k), 1)
				specs[k].Request.MemoryMiB = 0
			}
			applyBench(b, h, mustEncode(CmdSubmit, &Submit{At: t0, Workloads: specs}))
			p := &Plan{At: t0}
			e := &Events{At: t0, AgentID: "a1"}
			for k, r := range h.f.ReadyAfter(0, batch, nil) {
				n := fmt.Sprintf("n%05d", k%1000)
				p.Items = append(p.Items, PlanItem{ID: r.Spec.ID, ReadySeq: r.Seq, Outcome: OutcomePlace, Node: n})
				e.Events = append(e.Events, api.Event{WorkloadID: r.Spec.ID, NodeID: n, Kind: api.EventCompleted, At: t0.Add(time.Minute)})
			}
			applyBench(b, h, mustEncode(CmdPlan, p))
			evs[i] = mustEncode(CmdEvents, e)
			if i < b.N-1 {
				applyBench(b, h, evs[i])
			}
		}
		// Re-apply the last one timed, b.N times (all but the first are
		// "stale" events: measures decode + checks). Good enough for allocs.
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			applyBench(b, h, evs[b.N-1])
		}
	})
	b.Run("node_state", func(b *testing.B) {
		h := benchCluster(b, 1000)
		b.ReportAllocs()
		down := mustEncode(CmdNodeState, &NodeState{Nodes: []string{"n00001"}, State: "down", Reason: "operator"})
		up := mustEncode(CmdNodeState, &NodeState{Nodes: []string{"n00001"}, State: "up", Reason: "operator"})
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i%2 == 0 {
				applyBench(b, h, down)
			} else {
				applyBench(b, h, up)
			}
		}
	})
}

func mustEncode(t CmdType, body any) []byte {
	b, err := Encode(t, body)
	if err != nil {
		panic(err)
	}
	return b
}

// parkedCluster returns a 1,000-node FSM with n workloads waiting for
// capacity, of priorities 0 to prios-1 in a fixed pseudo-random order
// (parked through the log: submitted, then told to wait by plan entries),
// and with placed workloads whose completions free capacity (benchmarks
// complete one per op).
func parkedCluster(b *testing.B, n, prios, placed int) *harness {
	h := benchCluster(b, 1000)
	const batch = 1024
	for i := 0; i < placed; i += batch {
		specs := make([]api.WorkloadSpec, 0, batch)
		for k := i; k < min(i+batch, placed); k++ {
			s := spec(fmt.Sprintf("p%d", k), 1)
			s.Request.MemoryMiB = 0
			specs = append(specs, s)
		}
		applyBench(b, h, mustEncode(CmdSubmit, &Submit{At: t0, Workloads: specs}))
		p := &Plan{At: t0}
		for _, r := range h.f.ReadyAfter(0, batch, nil) {
			p.Items = append(p.Items, PlanItem{ID: r.Spec.ID, ReadySeq: r.Seq, Outcome: OutcomePlace, Node: fmt.Sprintf("n%05d", len(p.Items)%1000)})
		}
		applyBench(b, h, mustEncode(CmdPlan, p))
	}
	x := uint64(1)
	for i := 0; i < n; i += batch {
		specs := make([]api.WorkloadSpec, 0, batch)
		for k := i; k < min(i+batch, n); k++ {
			s := spec(fmt.Sprintf("w%d", k), 1)
			x = x*6364136223846793005 + 1442695040888963407
			s.Priority = int((x >> 33) % uint64(prios))
			specs = append(specs, s)
		}
		applyBench(b, h, mustEncode(CmdSubmit, &Submit{At: t0, Workloads: specs}))
		waitAll(b, h)
	}
	if got := h.f.Stats().Waiting; got != n {
		b.Fatalf("%d waiting, want %d", got, n)
	}
	return h
}

// waitAll commits a plan telling every ready workload to wait (parked).
func waitAll(b *testing.B, h *harness) {
	_, ep := h.f.Epochs()
	p := &Plan{At: t0, Epoch: ep}
	for _, r := range h.f.ReadyAfter(0, 1<<30, nil) {
		p.Items = append(p.Items, PlanItem{ID: r.Spec.ID, ReadySeq: r.Seq, Outcome: OutcomeWait, Reason: "capacity", KeepExplanation: true})
	}
	applyBench(b, h, mustEncode(CmdPlan, p))
}

// cycleAll releases every waiting workload and parks them again, outside
// an Apply: afterwards every record has its private version (touchWork),
// so the queue benchmarks time the queue, not the records' first copy.
func cycleAll(f *FSM) {
	f.mu.Lock()
	defer f.mu.Unlock()
	from := len(f.ready)
	f.unpark(-1)
	for _, e := range f.ready[from:] {
		f.park(e.r)
	}
	f.compactReady()
}

// BenchmarkFSMPark measures the waiting queue with many workloads waiting
// for capacity, of priorities 0-7 (prio=8) or all the same (prio=1: the
// release order is the order parked, before and after priorities).
//
//   - queue: one op takes the default unpark budget (1,024) off the queue
//     and parks them again (the queue's own cost, no log entry);
//     queue/all releases every waiting workload and parks them again (a
//     node coming up).
//   - apply: one op applies an events entry completing one workload (its
//     completion releases 1,024 + 8 waiting workloads to the ready queue)
//     and the plan entry that tells all of them to wait again; the plan is
//     built untimed.
func BenchmarkFSMPark(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("queue/waiting=%d", n), func(b *testing.B) {
			h := parkedCluster(b, n, 8, 0)
			f := h.f
			cycleAll(f)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f.mu.Lock()
				from := len(f.ready)
				f.unpark(1024)
				for _, e := range f.ready[from:] {
					f.park(e.r)
				}
				f.compactReady()
				f.mu.Unlock()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1024), "ns/workload")
		})
	}
	b.Run("queue/all/waiting=10000", func(b *testing.B) {
		const n = 10_000
		h := parkedCluster(b, n, 8, 0)
		f := h.f
		cycleAll(f)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			f.mu.Lock()
			from := len(f.ready)
			f.unpark(-1)
			for _, e := range f.ready[from:] {
				f.park(e.r)
			}
			f.compactReady()
			f.mu.Unlock()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/workload")
	})
	for _, c := range []struct{ n, prios int }{{10_000, 8}, {100_000, 8}, {10_000, 1}, {100_000, 1}} {
		n := c.n
		b.Run(fmt.Sprintf("apply/waiting=%d/prio=%d", n, c.prios), func(b *testing.B) {
			h := parkedCluster(b, n, c.prios, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// Completes p<i>, placed on n<i%1024%1000> by parkedCluster.
				node := fmt.Sprintf("n%05d", i%1024%1000)
				applyBench(b, h, mustEncode(CmdEvents, &Events{At: t0, AgentID: "a1", Events: []api.Event{
					{WorkloadID: fmt.Sprintf("p%d", i), NodeID: node, Kind: api.EventCompleted, At: t0.Add(time.Minute)}}}))
				b.StopTimer()
				_, ep := h.f.Epochs()
				p := &Plan{At: t0, Epoch: ep}
				for _, r := range h.f.ReadyAfter(0, 1<<30, nil) {
					p.Items = append(p.Items, PlanItem{ID: r.Spec.ID, ReadySeq: r.Seq, Outcome: OutcomeWait, Reason: "capacity", KeepExplanation: true})
				}
				if len(p.Items) != 1024+8 {
					b.Fatalf("%d unparked, want %d", len(p.Items), 1024+8)
				}
				data := mustEncode(CmdPlan, p)
				b.StartTimer()
				applyBench(b, h, data)
			}
		})
	}
}
