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
