package scheduler

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/suanli/suanli/nodes"
)

func TestStateAllocateRelease(t *testing.T) {
	snap := newFixture(t)
	st := snap.State
	n := nodeIdx(t, snap, "x-jn-0")
	req := nodes.Resources{CPUMilli: 10_000, MemoryMiB: 1024}
	if err := st.Allocate(n, req); err != nil {
		t.Fatal(err)
	}
	if got, want := st.NodeFree(n), cpu16.Sub(req); got != want {
		t.Errorf("free after allocate = %v, want %v", got, want)
	}
	if err := st.Allocate(n, req); !errors.Is(err, ErrOversubscribe) {
		t.Errorf("second allocate: got %v, want ErrOversubscribe", err)
	}
	if err := st.Release(n, req.Add(req)); !errors.Is(err, ErrUnderflow) {
		t.Errorf("over-release: got %v, want ErrUnderflow", err)
	}
	if err := st.Release(n, req); err != nil {
		t.Fatal(err)
	}
	if err := st.Allocate(-1, req); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("unknown node: got %v", err)
	}
	if err := st.SetNodeState(n, nodes.NodeDown); err != nil {
		t.Fatal(err)
	}
	if err := st.Allocate(n, req); !errors.Is(err, ErrNodeNotUp) {
		t.Errorf("allocate on down node: got %v, want ErrNodeNotUp", err)
	}
	if err := st.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestNoOversubscription is a property test: no sequence of decisions,
// allocations, releases and node state changes ever oversubscribes a node,
// and the aggregates and index always match the nodes.
func TestNoOversubscription(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		topo := nodes.Synthetic(200)
		snap := newSnapshot(t, topo)
		st := snap.State
		policies := PolicyNames()
		scheds := make([]*Scheduler, len(policies))
		for i, p := range policies {
			scheds[i] = mustNew(t, p)
		}
		type alloc struct {
			node int
			req  nodes.Resources
		}
		var live []alloc
		for step := 0; step < 3000; step++ {
			switch op := rng.IntN(10); {
			case op < 6: // decide and place
				w := Workload{
					ID:     "w",
					Origin: rng.IntN(16),
					Request: nodes.Resources{
						CPUMilli:  int64(1+rng.IntN(64)) * 1000,
						MemoryMiB: int64(rng.IntN(256)) * 1024,
						GPUMilli:  int64(rng.IntN(3)) * int64(rng.IntN(9)) * 1000 / 2,
					},
					Duration: 3600e9,
				}
				if rng.IntN(4) == 0 {
					w.LatencyBoundMs = 1 + rng.Float64()*8
				}
				d := scheds[rng.IntN(len(scheds))].Decide(snap, &w, t0, rng, nil)
				if d.Outcome == Place {
					if err := st.Allocate(d.Node, w.Request); err != nil {
						t.Fatalf("seed %d step %d: decision %+v does not fit: %v", seed, step, d, err)
					}
					live = append(live, alloc{d.Node, w.Request})
				}
			case op < 9: // release
				if len(live) == 0 {
					continue
				}
				i := rng.IntN(len(live))
				if err := st.Release(live[i].node, live[i].req); err != nil {
					t.Fatal(err)
				}
				live[i] = live[len(live)-1]
				live = live[:len(live)-1]
			default: // node state change
				n := rng.IntN(st.NumNodes())
				if err := st.SetNodeState(n, nodes.NodeState(rng.IntN(3))); err != nil {
					t.Fatal(err)
				}
			}
			// Random extra allocations straight on the state must be refused
			// when they do not fit, and never break the invariants.
			n := rng.IntN(st.NumNodes())
			req := nodes.Resources{CPUMilli: int64(rng.IntN(70_000))}
			if err := st.Allocate(n, req); err == nil {
				live = append(live, alloc{n, req})
			}
			if step%100 == 0 {
				if err := st.CheckInvariants(); err != nil {
					t.Fatalf("seed %d step %d: %v", seed, step, err)
				}
			}
		}
		if err := st.CheckInvariants(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

func TestCloneIsIndependent(t *testing.T) {
	snap := newFixture(t)
	c := snap.State.Clone()
	n := nodeIdx(t, snap, "jn-core-0")
	if err := c.Allocate(n, nodes.Resources{CPUMilli: 1000}); err != nil {
		t.Fatal(err)
	}
	if snap.State.NodeUsed(n).CPUMilli != 0 {
		t.Fatal("allocation on clone leaked into the original")
	}
	snap.State.CopyFrom(c)
	if snap.State.NodeUsed(n).CPUMilli != 1000 {
		t.Fatal("CopyFrom did not copy")
	}
	if err := snap.State.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestFindFromBacktracks(t *testing.T) {
	// Two nodes: one with much CPU and little memory, one the reverse. The
	// root's maxima dominate the request but no node fits.
	topo := buildTopology([]siteDef{{"s", "JN", nodes.RoleCoreZone, 1.2, []nodes.Resources{
		{CPUMilli: 64_000, MemoryMiB: 1024}, {CPUMilli: 1000, MemoryMiB: 256 * 1024}, {CPUMilli: 8000, MemoryMiB: 8192},
	}}})
	snap := newSnapshot(t, topo)
	sr := &snap.State.sites[0]
	if got := sr.findFrom(need(nodes.Resources{CPUMilli: 32_000, MemoryMiB: 64 * 1024}), 0); got != -1 {
		t.Errorf("findFrom found leaf %d, want none", got)
	}
	if got := sr.findFrom(need(nodes.Resources{CPUMilli: 4000, MemoryMiB: 4096}), 0); got != 2 {
		t.Errorf("findFrom = %d, want 2", got)
	}
	if got := sr.findFrom(need(nodes.Resources{CPUMilli: 500, MemoryMiB: 512}), 1); got != 1 {
		t.Errorf("findFrom(from=1) = %d, want 1", got)
	}
}

// TestCollectMatchesScan checks the index walk against a plain scan of the
// nodes, over random states, requests and ranges.
func TestCollectMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for iter := 0; iter < 300; iter++ {
		n := 1 + rng.IntN(40)
		var def []nodes.Resources
		for i := 0; i < n; i++ {
			def = append(def, nodes.Resources{CPUMilli: int64(1+rng.IntN(8)) * 1000, MemoryMiB: int64(1+rng.IntN(8)) * 1024, GPUMilli: int64(rng.IntN(3)) * 1000})
		}
		snap := newSnapshot(t, buildTopology([]siteDef{{"s", "JN", nodes.RoleCoreZone, 1.2, def}}))
		st := snap.State
		for i := 0; i < n; i++ {
			if rng.IntN(3) == 0 {
				_ = st.Allocate(i, nodes.Resources{CPUMilli: int64(rng.IntN(8)) * 1000, MemoryMiB: int64(rng.IntN(8)) * 1024})
			}
			if rng.IntN(8) == 0 {
				_ = st.SetNodeState(i, nodes.NodeDown)
			}
		}
		req := nodes.Resources{CPUMilli: int64(1+rng.IntN(6)) * 1000, MemoryMiB: int64(rng.IntN(6)) * 1024, GPUMilli: int64(rng.IntN(2)) * 500}
		from, to := rng.IntN(n+1), rng.IntN(n+2)
		k := 1 + rng.IntN(6)
		buf := make([]int32, k)
		got := buf[:st.sites[0].collect(need(req), from, to, buf)]
		var want []int32
		for leaf := from; leaf < to && leaf < n && len(want) < k; leaf++ {
			ni := st.sites[0].nodes[leaf]
			if st.NodeState(int(ni)) == nodes.NodeUp && st.NodeFree(int(ni)).Fits(req) {
				want = append(want, int32(leaf))
			}
		}
		if len(got) != len(want) {
			t.Fatalf("iter %d: collect(%v, %d, %d, k=%d) = %v, want %v", iter, req, from, to, k, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("iter %d: collect = %v, want %v", iter, got, want)
			}
		}
		if f := st.sites[0].findFrom(need(req), from); (len(want) > 0 && to > n) && int32(f) != want[0] {
			t.Fatalf("iter %d: findFrom = %d, want %d", iter, f, want[0])
		}
	}
}
