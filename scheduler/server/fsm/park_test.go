package fsm

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// pspec is a 1-core workload of priority p.
func pspec(id string, p int) api.WorkloadSpec {
	s := spec(id, 1000)
	s.Priority = p
	return s
}

// wait submits the workloads not yet known and commits one plan telling
// all of them (ready, in the order given) to wait for capacity: they are
// parked in that order.
func (h *harness) wait(specs ...api.WorkloadSpec) {
	h.t.Helper()
	var add []api.WorkloadSpec
	for _, s := range specs {
		if _, ok := h.f.Get(s.ID); !ok {
			add = append(add, s)
		}
	}
	if len(add) > 0 {
		h.submit(add...)
	}
	seqs := map[string]uint64{}
	for _, r := range h.f.ReadyAfter(0, 1<<30, nil) {
		seqs[r.Spec.ID] = r.Seq
	}
	_, ep := h.f.Epochs()
	p := &Plan{At: t0, Epoch: ep}
	for _, s := range specs {
		if seqs[s.ID] == 0 {
			h.t.Fatalf("%s is not ready", s.ID)
		}
		p.Items = append(p.Items, PlanItem{ID: s.ID, ReadySeq: seqs[s.ID], Outcome: OutcomeWait, Reason: "capacity"})
	}
	if res := h.must(CmdPlan, p).(*PlanResult); res.Waiting != len(specs) {
		h.t.Fatalf("wait: %+v, want %d waiting", res, len(specs))
	}
	for _, s := range specs {
		if w, _ := h.f.Get(s.ID); !w.Waiting {
			h.t.Fatalf("%s is not waiting", s.ID)
		}
	}
}

// released runs step (which applies something that may release waiting
// work) and returns the workloads that entered the ready queue during it,
// in ready order: everything made ready gets a higher readySeq than any
// before.
func (h *harness) released(step func()) []string {
	h.t.Helper()
	h.f.mu.RLock()
	cursor := h.f.readySeq
	h.f.mu.RUnlock()
	step()
	var ids []string
	for _, r := range h.f.ReadyAfter(cursor, 1<<30, nil) {
		ids = append(ids, r.Spec.ID)
	}
	return ids
}

// unpark calls the FSM's unpark(budget) as an Apply would (under the
// lock, then publishing) and returns what it released.
func (h *harness) unpark(budget int) []string {
	h.t.Helper()
	ids := h.released(func() {
		h.f.mu.Lock()
		h.f.unpark(budget)
		h.f.publish()
		h.f.mu.Unlock()
	})
	if err := h.f.CheckInvariants(); err != nil {
		h.t.Fatalf("after unpark(%d): %v", budget, err)
	}
	return ids
}

// restore replaces the harness's FSM with one restored from its snapshot.
func (h *harness) restore() {
	h.t.Helper()
	var buf bytes.Buffer
	if err := h.f.Snapshot().Write(&buf); err != nil {
		h.t.Fatal(err)
	}
	g := New(h.f.cfg)
	g.freeze = h.f.freeze
	if err := g.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		h.t.Fatal(err)
	}
	if err := g.CheckInvariants(); err != nil {
		h.t.Fatalf("restored: %v", err)
	}
	if ok, diff := Equal(h.f, g); !ok {
		h.t.Fatalf("restored state differs: %s", diff)
	}
	h.f = g
}

// parkStep is one step of TestWaitingQueueOrder: the one field set says
// which; with none but unpark and want, unpark(unpark) must release
// exactly want, in that order.
type parkStep struct {
	wait    []api.WorkloadSpec // park these (submitted if new), in this order
	unpark  int
	want    []string
	cancel  string    // cancel this workload
	place   [2]string // place workload [0] on node [1] (it is ready)
	down    string    // an operator takes this node down
	requeue string    // internal: take this waiting workload out of the queue and park it again
	gone    string    // this workload is forgotten (cancelled and collected)
}

// TestWaitingQueueOrder: the waiting queue releases the highest priority
// first, oldest first within a priority, whatever the budget, skipping
// entries left behind by workloads that left the queue otherwise, and a
// snapshot restored before any release releases the same.
func TestWaitingQueueOrder(t *testing.T) {
	rel := func(budget int, ids ...string) parkStep {
		return parkStep{unpark: budget, want: append([]string{}, ids...)}
	}
	wait := func(s ...api.WorkloadSpec) parkStep { return parkStep{wait: s} }
	tests := []struct {
		name  string
		steps []parkStep
	}{
		{name: "priority first, then oldest first", steps: []parkStep{
			wait(pspec("a0", 0), pspec("b0", 0), pspec("c5", 5), pspec("d1", 1), pspec("e5", 5), pspec("f0", 0)),
			rel(2, "c5", "e5"),
			rel(1, "d1"),
			rel(0),
			rel(-1, "a0", "b0", "f0"),
			rel(-1),
		}},
		{name: "budget one at a time; negative priorities last", steps: []parkStep{
			wait(pspec("m1", -1), pspec("z0", 0), pspec("p9", 9), pspec("m2", -1), pspec("q9", 9)),
			rel(1, "p9"), rel(1, "q9"), rel(1, "z0"), rel(1, "m1"), rel(1, "m2"), rel(1),
		}},
		{name: "budget covering the queue releases all in order", steps: []parkStep{
			wait(pspec("a1", 1), pspec("b2", 2), pspec("c1", 1), pspec("d3", 3)),
			rel(4, "d3", "b2", "a1", "c1"),
		}},
		{name: "newer higher priority work overtakes older lower", steps: []parkStep{
			wait(pspec("old0", 0), pspec("old1", 0)),
			wait(pspec("new7", 7)),
			rel(1, "new7"),
			wait(pspec("newer3", 3)),
			rel(2, "newer3", "old0"),
			rel(-1, "old1"),
		}},
		{name: "work told to wait again queues behind older work of its priority", steps: []parkStep{
			wait(pspec("a1", 1), pspec("b1", 1), pspec("c0", 0)),
			rel(1, "a1"),
			wait(pspec("a1", 1)), // decided again: no room, waits again
			rel(2, "b1", "a1"),
			rel(5, "c0"),
		}},
		{name: "cancelled while waiting is skipped and does not use the budget", steps: []parkStep{
			wait(pspec("a2", 2), pspec("b2", 2), pspec("c1", 1), pspec("d0", 0), pspec("e0", 0)),
			{cancel: "a2"}, {cancel: "c1"}, {gone: "a2"}, // MaxTerminal 1: a2 is forgotten when c1 is cancelled
			rel(1, "b2"),
			rel(1, "d0"),
			{cancel: "e0"},
			rel(10),
		}},
		{name: "cancelled entries with a budget covering the queue", steps: []parkStep{
			wait(pspec("a2", 2), pspec("b2", 2), pspec("c1", 1), pspec("d0", 0)),
			{cancel: "b2"}, {cancel: "d0"},
			rel(4, "a2", "c1"),
		}},
		{name: "placed, repended by its node going down, waits again as new", steps: []parkStep{
			wait(pspec("a1", 1), pspec("b0", 0), pspec("c1", 1)),
			rel(1, "a1"),
			{place: [2]string{"a1", "n1"}},
			wait(pspec("d1", 1)),
			{down: "n1"}, // a1 back to the ready queue (not released: no capacity grew)
			wait(pspec("a1", 1)),
			rel(3, "c1", "d1", "a1"),
			rel(-1, "b0"),
		}},
		{name: "an entry left behind by a workload parked again is skipped", steps: []parkStep{
			wait(pspec("a1", 1), pspec("b1", 1), pspec("c0", 0)),
			{requeue: "a1"}, // its first entry (ahead of b1) is stale
			rel(1, "b1"),
			rel(1, "a1"),
			rel(1, "c0"),
			rel(-1),
		}},
		{name: "an entry left behind, released all at once", steps: []parkStep{
			wait(pspec("a1", 1), pspec("b1", 1), pspec("c0", 0)),
			{requeue: "a1"},
			rel(-1, "b1", "a1", "c0"),
		}},
	}
	for _, tc := range tests {
		for _, mode := range []string{"plain", "restored"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				h := setup(t)
				h.f.cfg.MaxTerminal = 1
				for k, s := range tc.steps {
					switch {
					case s.wait != nil:
						h.wait(s.wait...)
					case s.cancel != "":
						h.must(CmdCancel, &Cancel{At: t0, ID: s.cancel})
					case s.place[0] != "":
						if res := h.place(s.place[0], s.place[1]); res.Placed != 1 {
							t.Fatalf("step %d: place: %+v", k, res)
						}
					case s.down != "":
						h.must(CmdNodeState, &NodeState{At: t0, Nodes: []string{s.down}, State: "down", Reason: ReasonOperator})
					case s.requeue != "":
						h.f.mu.Lock()
						r := h.f.work[s.requeue]
						h.f.makeReady(r)
						h.f.park(r)
						h.f.publish()
						h.f.mu.Unlock()
					case s.gone != "":
						if st := h.status(s.gone); st != "absent" {
							t.Fatalf("step %d: %s is %s, want forgotten", k, s.gone, st)
						}
					default:
						if mode == "restored" {
							h.restore()
						}
						if got := h.unpark(s.unpark); !slices.Equal(got, s.want) {
							t.Fatalf("step %d: unpark(%d) released %v, want %v", k, s.unpark, got, s.want)
						}
					}
					if err := h.f.CheckInvariants(); err != nil {
						t.Fatalf("step %d: %v", k, err)
					}
				}
			})
		}
	}
}

// TestWaitingQueueReleasesThroughTheLog: the commands that release waiting
// work release it by priority: a completion (UnparkBudget + 8 per
// workload released), the cancellation of live work (UnparkBudget) and a
// node coming up (all); a snapshot restored between them changes
// nothing.
func TestWaitingQueueReleasesThroughTheLog(t *testing.T) {
	for _, restore := range []bool{false, true} {
		t.Run(fmt.Sprintf("restore=%v", restore), func(t *testing.T) {
			h := setup(t)
			h.f.cfg.UnparkBudget = 1
			h.submit(spec("f1", 1000), spec("f2", 1000))
			h.place("f1", "n3")
			h.place("f2", "n3")
			// 14 waiting: priorities 0-6, two of each, submitted lowest first.
			var specs []api.WorkloadSpec
			for p := 0; p < 7; p++ {
				specs = append(specs, pspec(fmt.Sprintf("p%d-a", p), p), pspec(fmt.Sprintf("p%d-b", p), p))
			}
			h.wait(specs...)
			maybe := func() {
				if restore {
					h.restore()
				}
			}
			maybe()
			a := h.assignment("a2", "f1")
			got := h.released(func() {
				h.event("a2", api.Event{WorkloadID: "f1", NodeID: "n3", Kind: api.EventCompleted, At: t0.Add(time.Minute), Placement: a.Placement})
			})
			want := []string{"p6-a", "p6-b", "p5-a", "p5-b", "p4-a", "p4-b", "p3-a", "p3-b", "p2-a"} // 1 + 8
			if !slices.Equal(got, want) {
				t.Fatalf("completion released %v, want %v", got, want)
			}
			maybe()
			got = h.released(func() { h.must(CmdCancel, &Cancel{At: t0, ID: "f2"}) })
			if want := []string{"p2-b"}; !slices.Equal(got, want) {
				t.Fatalf("cancelling live work released %v, want %v", got, want)
			}
			h.must(CmdNodeState, &NodeState{At: t0, Nodes: []string{"n1"}, State: "down", Reason: ReasonOperator})
			maybe()
			got = h.released(func() {
				h.must(CmdNodeState, &NodeState{At: t0, Nodes: []string{"n1"}, State: "up", Reason: ReasonOperator})
			})
			if want := []string{"p1-a", "p1-b", "p0-a", "p0-b"}; !slices.Equal(got, want) {
				t.Fatalf("a node coming up released %v, want %v", got, want)
			}
		})
	}
}

// TestWaitingQueueMatchesModel drives the queue at random — parks of
// random priorities, cancellations of waiting work (enough to compact the
// queue), releases of random budgets, snapshot restores — and checks every
// release against a model: the waiting workloads sorted by priority
// (descending), then by when they were parked.
func TestWaitingQueueMatchesModel(t *testing.T) {
	seeds := uint64(3)
	if raceOn {
		seeds = 1
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			h := setup(t)
			h.f.cfg.MaxTerminal = 100
			type mw struct {
				id   string
				prio int
				seq  int
			}
			var model []mw // waiting, in no particular order
			next, parks, compacted := 0, 0, false
			for round := 0; round < 40; round++ {
				// Park: new work, and work released earlier told to wait again.
				var specs []api.WorkloadSpec
				nw := rng.IntN(80)
				if round == 0 {
					nw = 1500 // enough for compactParked (over 1,024 entries)
				}
				for range nw {
					next++
					specs = append(specs, pspec(fmt.Sprintf("w%d", next), rng.IntN(5)-1))
				}
				for _, r := range h.f.ReadyAfter(0, rng.IntN(20), nil) {
					specs = append(specs, r.Spec)
				}
				rng.Shuffle(len(specs), func(i, j int) { specs[i], specs[j] = specs[j], specs[i] })
				if len(specs) > 0 {
					h.wait(specs...)
					for _, s := range specs {
						parks++
						model = append(model, mw{s.ID, s.Priority, parks})
					}
				}
				// Cancel some waiting work (many in some rounds).
				nc := rng.IntN(8)
				if round%10 == 1 {
					nc = len(model) * 3 / 4
				}
				h.f.mu.RLock()
				before := len(h.f.parked)
				h.f.mu.RUnlock()
				var idx []uint64
				var data [][]byte
				for range min(nc, len(model)) {
					i := rng.IntN(len(model))
					h.idx++
					idx = append(idx, h.idx)
					data = append(data, mustEncode(CmdCancel, &Cancel{At: t0, ID: model[i].id}))
					model = slices.Delete(model, i, i+1)
				}
				for k, res := range h.f.ApplyBatch(idx, data) { // one entry each, checked once
					if _, ok := res.(*CancelResult); !ok {
						t.Fatalf("round %d: cancel %d: %v", round, k, res)
					}
				}
				if err := h.f.CheckInvariants(); err != nil {
					t.Fatalf("round %d: after cancels: %v", round, err)
				}
				// Cancelling pops nothing: only compactParked shrinks the queue.
				h.f.mu.RLock()
				if len(h.f.parked) < before {
					compacted = true
				}
				h.f.mu.RUnlock()
				if rng.IntN(4) == 0 {
					h.restore()
				}
				// Release.
				budget := rng.IntN(60)
				if rng.IntN(8) == 0 && round > 0 {
					budget = -1
				}
				slices.SortFunc(model, func(a, b mw) int {
					if c := cmp.Compare(b.prio, a.prio); c != 0 {
						return c
					}
					return cmp.Compare(a.seq, b.seq)
				})
				n := len(model)
				if budget >= 0 {
					n = min(n, budget)
				}
				var want []string
				for _, m := range model[:n] {
					want = append(want, m.id)
				}
				model = model[n:]
				if got := h.unpark(budget); !slices.Equal(got, want) {
					t.Fatalf("round %d: unpark(%d) released %v, want %v", round, budget, got, want)
				}
			}
			if !compacted {
				t.Error("the queue was never compacted: the test does not reach compactParked")
			}
		})
	}
}
