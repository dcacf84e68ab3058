package fsm

import (
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

var (
	snapBenchMu sync.Mutex
	snapBenchH  = map[int]*harness{}
)

// snapBenchFSM returns an FSM of 1,000 nodes and n workloads (n a multiple
// of 1,000), built once per process: of each 1,000, 600 placed (200 of
// them then completed), 100 waiting for capacity, 100 deferred and 200
// ready, so the snapshot has every queue and a terminal list.
func snapBenchFSM(b *testing.B, n int) *harness {
	snapBenchMu.Lock()
	defer snapBenchMu.Unlock()
	if h := snapBenchH[n]; h != nil {
		return h
	}
	h := benchCluster(b, 1000)
	h.t = nil // shared across benchmarks; applyBench reports through b
	const batch = 1000
	k := 0
	for base := 0; base < n; base += batch {
		specs := make([]api.WorkloadSpec, batch)
		for i := range specs {
			specs[i] = spec(fmt.Sprintf("s%07d", base+i), 100)
			specs[i].Request.MemoryMiB = 0
			specs[i].Class = []string{"batch", "inference", "etl", "training"}[(base+i)%4]
		}
		applyBench(b, h, mustEncode(CmdSubmit, &Submit{At: t0, Workloads: specs}))
		p := &Plan{At: t0}
		e := &Events{At: t0.Add(time.Minute), AgentID: "a1"}
		for i, r := range h.f.ReadyAfter(0, 600, nil) {
			node := fmt.Sprintf("n%05d", k%1000)
			k++
			p.Items = append(p.Items, PlanItem{ID: r.Spec.ID, ReadySeq: r.Seq, Outcome: OutcomePlace, Node: node})
			if i < 200 {
				e.Events = append(e.Events, api.Event{WorkloadID: r.Spec.ID, NodeID: node, Kind: api.EventCompleted, At: t0.Add(time.Minute)})
			}
		}
		applyBench(b, h, mustEncode(CmdPlan, p))
		applyBench(b, h, mustEncode(CmdEvents, e))
	}
	// Then, of the 400 of each 1,000 still ready, 100 wait and 100 are
	// deferred (after the completions, which would have unparked them).
	rd := h.f.ReadyAfter(0, n, nil)
	for lo := 0; lo < len(rd); lo += batch {
		_, ep := h.f.Epochs()
		p := &Plan{At: t0, Epoch: ep}
		for j, r := range rd[lo:min(lo+batch, len(rd))] {
			it := PlanItem{ID: r.Spec.ID, ReadySeq: r.Seq}
			switch (lo + j) % 4 {
			case 0:
				it.Outcome, it.Reason = OutcomeWait, "capacity"
			case 1:
				it.Outcome, it.NotBefore, it.Reason = OutcomeDefer, t0.Add(time.Hour), "energy"
			default:
				continue
			}
			p.Items = append(p.Items, it)
		}
		applyBench(b, h, mustEncode(CmdPlan, p))
	}
	c, st := h.f.Counts(), h.f.Stats()
	if c.Workloads[api.StatusPlaced] != n*4/10 || c.Workloads[api.StatusCompleted] != n*2/10 || c.Workloads[api.StatusPending] != n*4/10 ||
		st.Waiting != n/10 || st.Deferred != n/10 {
		b.Fatalf("snapshot benchmark fixture: workloads %v, %d waiting, %d deferred", c.Workloads, st.Waiting, st.Deferred)
	}
	snapBenchH[n] = h
	return h
}

// BenchmarkFSMSnapshot times FSM.Snapshot (the part raft runs on the FSM
// goroutine, under the FSM's read lock, so Applies wait for it) and
// State.Write (run by raft concurrently with further Applies) on 1,000
// nodes and 10,000 or 100,000 workloads.
func BenchmarkFSMSnapshot(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("workloads=%d/snapshot", n), func(b *testing.B) {
			h := snapBenchFSM(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if s := h.f.Snapshot(); s.Index() != h.idx {
					b.Fatalf("snapshot at %d, fsm at %d", s.Index(), h.idx)
				}
			}
		})
		b.Run(fmt.Sprintf("workloads=%d/write", n), func(b *testing.B) {
			h := snapBenchFSM(b, n)
			s := h.f.Snapshot()
			var cw countWriter
			b.ReportAllocs()
			for b.Loop() {
				cw = 0
				if err := s.Write(&cw); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cw), "bytes")
		})
	}
}

// countWriter counts what is written to it.
type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

var _ io.Writer = (*countWriter)(nil)
