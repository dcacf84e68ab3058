package fsm

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// The read benchmarks' FSM: 8,192 nodes (64 cores, 4 sites) and 50,000
// workloads, 40,000 of them placed (5 per node at most) and 10,000 pending,
// built once per process.
const (
	readBenchNodes   = 8192
	readBenchPlaced  = 40000
	readBenchPending = 10000
)

var (
	readBenchOnce sync.Once
	readBenchH    *harness
)

func readBenchFSM(b *testing.B) *harness {
	readBenchOnce.Do(func() {
		h := benchCluster(b, readBenchNodes)
		h.t = nil // shared across benchmarks; applyBench reports through b
		const batch = 1000
		k := 0
		for n := 0; n < readBenchPlaced+readBenchPending; n += batch {
			specs := make([]api.WorkloadSpec, batch)
			for i := range specs {
				specs[i] = spec(fmt.Sprintf("r%06d", n+i), 100)
				specs[i].Class = []string{"batch", "inference", "etl", "training"}[(n+i)%4]
			}
			applyBench(b, h, mustEncode(CmdSubmit, &Submit{At: t0, Workloads: specs}))
			if n >= readBenchPlaced {
				continue
			}
			p := &Plan{At: t0}
			for _, r := range h.f.ReadyAfter(0, batch, nil) {
				p.Items = append(p.Items, PlanItem{ID: r.Spec.ID, ReadySeq: r.Seq, Outcome: OutcomePlace, Node: fmt.Sprintf("n%05d", k%readBenchNodes)})
				k++
			}
			applyBench(b, h, mustEncode(CmdPlan, p))
		}
		readBenchH = h
	})
	if readBenchH == nil {
		b.Fatal("read benchmark fixture failed")
	}
	return readBenchH
}

// BenchmarkFSMRead times the public list reads on a 50,000-workload,
// 8,192-node FSM: GET /v1/workloads's List with its filters and page
// sizes, and GET /v1/nodes's Nodes.
func BenchmarkFSMRead(b *testing.B) {
	for _, c := range []struct {
		name string
		flt  ListFilter
	}{
		{"list/all/limit=100", ListFilter{Limit: 100}},
		{"list/status=placed/limit=1000", ListFilter{Status: api.StatusPlaced, Limit: 1000}},
		{"list/status=pending/limit=100", ListFilter{Status: api.StatusPending, Limit: 100}},
		{"list/class=etl/limit=100", ListFilter{Class: "etl", Limit: 100}},
		{"list/node=n00042/limit=100", ListFilter{Node: "n00042", Limit: 100}},
		{"list/all/after=25000/limit=100", ListFilter{After: 25000, Limit: 100}},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := readBenchFSM(b)
			b.ReportAllocs()
			for b.Loop() {
				p := h.f.List(c.flt)
				if len(p.Workloads()) == 0 || p.Total == 0 {
					b.Fatalf("empty page (total %d)", p.Total)
				}
			}
		})
	}
	for _, c := range []struct{ name, state, site string }{
		{"nodes/all", "", ""},
		{"nodes/site=x-jn", "", "x-jn"},
		{"nodes/state=down", "down", ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := readBenchFSM(b)
			b.ReportAllocs()
			for b.Loop() {
				_ = h.f.Nodes(c.state, c.site, "")
			}
		})
	}
	// What GET /v1/nodes reads now: one page of the default 1,000.
	for _, c := range []struct{ name, site string }{
		{"nodes/page/limit=1000", ""},
		{"nodes/page/site=x-jn/limit=1000", "x-jn"},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := readBenchFSM(b)
			b.ReportAllocs()
			for b.Loop() {
				if p := h.f.NodePage(NodeFilter{Site: c.site}); len(p.Nodes()) == 0 || p.Total == 0 {
					b.Fatal("empty page")
				}
			}
		})
	}
}

// BenchmarkFSMApplyUnderReads applies single-workload submit entries (what
// a group commit of one submission is) to the read benchmark's FSM while
// 0 or 2 goroutines list workloads (first page, all filters empty) and
// nodes back to back. Each op is one applied entry; apply-p50/p99-us are
// the latency of Apply itself (waiting for the lock included), reads/s
// what the readers got done meanwhile.
func BenchmarkFSMApplyUnderReads(b *testing.B) {
	for _, readers := range []int{0, 2} {
		b.Run(fmt.Sprintf("readers=%d", readers), func(b *testing.B) {
			h := readBenchFSM(b)
			entries := make([][]byte, b.N)
			base := h.idx
			for i := range entries {
				entries[i] = mustEncode(CmdSubmit, &Submit{At: t0, PerItem: true, Workloads: []api.WorkloadSpec{spec(fmt.Sprintf("u%d-%d", base, i), 100)}})
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var reads atomic.Int64
			for r := 0; r < readers; r++ {
				wg.Add(1)
				go func(r int) {
					defer wg.Done()
					for k := r; ; k++ {
						select {
						case <-stop:
							return
						default:
						}
						if k%2 == 0 {
							h.f.List(ListFilter{})
						} else {
							h.f.Nodes("", "", "")
						}
						reads.Add(1)
					}
				}(r)
			}
			lat := make([]time.Duration, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t := time.Now()
				applyBench(b, h, entries[i])
				lat[i] = time.Since(t)
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			sort.Slice(lat, func(x, y int) bool { return lat[x] < lat[y] })
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "apply-p50-us")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "apply-p99-us")
			if readers > 0 {
				b.ReportMetric(float64(reads.Load())/b.Elapsed().Seconds(), "reads/s")
			}
		})
	}
}

// BenchmarkFSMReadJSON is what a list request costs the server beyond the
// read: a full page (1,000 workloads, 1,000 nodes) read and encoded to
// JSON as the handlers do.
func BenchmarkFSMReadJSON(b *testing.B) {
	b.Run("workloads/limit=1000", func(b *testing.B) {
		h := readBenchFSM(b)
		b.ReportAllocs()
		for b.Loop() {
			if err := h.f.List(ListFilter{Status: api.StatusPlaced, Limit: 1000}).WriteJSON(io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nodes/limit=1000", func(b *testing.B) {
		h := readBenchFSM(b)
		b.ReportAllocs()
		for b.Loop() {
			if err := h.f.NodePage(NodeFilter{}).WriteJSON(io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFSMHeap reports the live heap of an FSM holding the read
// benchmarks' state (8,192 nodes, 50,000 workloads, 40,000 placed), per
// workload, after a GC. One op builds one FSM.
func BenchmarkFSMHeap(b *testing.B) {
	var ms runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		h := benchCluster(b, readBenchNodes)
		const batch = 1000
		k := 0
		for n := 0; n < readBenchPlaced+readBenchPending; n += batch {
			specs := make([]api.WorkloadSpec, batch)
			for i := range specs {
				specs[i] = spec(fmt.Sprintf("r%06d", n+i), 100)
			}
			applyBench(b, h, mustEncode(CmdSubmit, &Submit{At: t0, Workloads: specs}))
			if n >= readBenchPlaced {
				continue
			}
			p := &Plan{At: t0}
			for _, r := range h.f.ReadyAfter(0, batch, nil) {
				p.Items = append(p.Items, PlanItem{ID: r.Spec.ID, ReadySeq: r.Seq, Outcome: OutcomePlace, Node: fmt.Sprintf("n%05d", k%readBenchNodes)})
				k++
			}
			applyBench(b, h, mustEncode(CmdPlan, p))
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc-before)/float64(readBenchPlaced+readBenchPending), "heap-B/workload")
		runtime.KeepAlive(h)
	}
}
