package server

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
)

// prio is a workload spec of the given priority.
func prio(id string, cpu int64, p int) api.WorkloadSpec {
	s := wspec(id, cpu)
	s.Priority = p
	return s
}

// preemptions reads the server's suanli_preemptions_total.
func preemptions(t testing.TB, s *Server) float64 {
	t.Helper()
	mfs, err := s.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "suanli_preemptions_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no suanli_preemptions_total")
	return 0
}

// waitWaiting waits until workload id is pending and waiting for capacity.
func waitWaiting(t testing.TB, c *api.Client, id string) api.Workload {
	t.Helper()
	var w api.Workload
	waitFor(t, id+" waiting for capacity", 10*time.Second, func() bool {
		var err error
		w, err = c.Get(ctx(t), id)
		return err == nil && w.Status == api.StatusPending && w.Waiting
	})
	return w
}

// TestBatchDecidesHigherPriorityFirst: lo and hi are ready in one batch
// (one bulk entry), lo first, and only one fits the single node. The
// leader decides hi first: hi is placed, lo waits, and nothing is
// preempted. Deciding in queue order placed lo, then evicted it for hi
// in the same batch (a preemption, and an eviction in the log, for
// nothing; found by TestChaosPreempt's preemption counts).
func TestBatchDecidesHigherPriorityFirst(t *testing.T) {
	cfg := testConfig(t, "s1")
	cfg.Bootstrap, cfg.Preempt = true, true
	s := startServer(t, cfg)
	waitFor(t, "leader", 5*time.Second, s.IsLeader)
	c := client(s)
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 1) // one 16-core node
	// One entry: the leader finds both in its ready queue at once, lo first.
	if _, err := c.SubmitBulk(ctx(t), []api.WorkloadSpec{prio("lo", 12000, 1), prio("hi", 8000, 10)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "hi", api.StatusPlaced)
	lo := waitWaiting(t, c, "lo")
	if lo.Attempts != 1 || lo.Reason != "capacity" {
		t.Errorf("lo: attempts %d reason %q, want decided once, waiting for capacity", lo.Attempts, lo.Reason)
	}
	if p := preemptions(t, s); p != 0 {
		t.Errorf("suanli_preemptions_total %v, want 0", p)
	}
	if err := s.fsm.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestReturningCapacityGoesToHigherPriority: lo waits, then hi waits
// behind a filler neither may evict; the filler completes and both come
// back to the ready queue in one entry, lo first. hi takes the room; lo
// keeps waiting; nothing is preempted.
func TestReturningCapacityGoesToHigherPriority(t *testing.T) {
	cfg := testConfig(t, "s1")
	cfg.Bootstrap, cfg.Preempt = true, true
	s := startServer(t, cfg)
	waitFor(t, "leader", 5*time.Second, s.IsLeader)
	c := client(s)
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 1) // one 16-core node
	submitOK(t, c, prio("filler", 16000, 20))
	waitStatus(t, c, "filler", api.StatusPlaced)
	submitOK(t, c, prio("lo", 12000, 1))
	waitWaiting(t, c, "lo")
	submitOK(t, c, prio("hi", 8000, 10))
	waitWaiting(t, c, "hi")
	f := assignmentOf(t, c, "a1", "filler", 0)
	res, err := c.Events(ctx(t), "a1", []api.Event{{WorkloadID: "filler", NodeID: f.NodeID, Kind: api.EventCompleted, At: time.Now(), Placement: f.Placement}})
	if err != nil || res.Results[0].Result != "applied" {
		t.Fatalf("filler completed: %+v, %v", res, err)
	}
	waitStatus(t, c, "hi", api.StatusPlaced)
	waitWaiting(t, c, "lo")
	if p := preemptions(t, s); p != 0 {
		t.Errorf("suanli_preemptions_total %v, want 0 (lo placed, then evicted for hi)", p)
	}
	if err := s.fsm.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestOrderBatch(t *testing.T) {
	r := func(id string, seq uint64, p int) fsm.Ready {
		return fsm.Ready{Seq: seq, Spec: api.WorkloadSpec{ID: id, Priority: p}}
	}
	// Ready work in queue order, then two deferrals that came due (older
	// sequence numbers).
	buf := []fsm.Ready{r("a", 10, 0), r("b", 11, 5), r("c", 12, 0), r("d", 13, 5), r("e", 14, -1), r("f", 3, 0), r("g", 4, 5)}
	orderBatch(buf)
	var got []string
	for _, x := range buf {
		got = append(got, x.Spec.ID)
	}
	if want := []string{"g", "b", "d", "f", "a", "c", "e"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestPreemptionSeesUnappliedPlacements: the leader decides on its
// planning copy before the FSM applies its plans. Work it placed in a
// plan still in flight must be a candidate victim for higher-priority
// work decided after it; otherwise the higher-priority work is parked
// ("waiting for capacity") behind lower-priority work and nothing wakes
// it until some capacity frees (found by TestChaosPreempt: after an
// agent's nodes came back, fillers unparked first took them and
// high-priority work stayed waiting). Within one batch higher priorities
// are decided first (orderBatch), so this is about successive batches:
// decided here one after the other on one planning copy, as the leader
// does while the first plan is in flight.
func TestPreemptionSeesUnappliedPlacements(t *testing.T) {
	f := fsm.New(fsm.Config{})
	var idx uint64
	apply := func(typ fsm.CmdType, body any) any {
		t.Helper()
		b, err := fsm.Encode(typ, body)
		if err != nil {
			t.Fatal(err)
		}
		idx++
		res := f.Apply(idx, b)
		if err, ok := res.(error); ok {
			t.Fatalf("%s: %v", typ, err)
		}
		return res
	}
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	apply(fsm.CmdRegister, &fsm.Register{At: now, AgentID: "a1", Sites: []api.Site{{ID: "jn-core", City: "JN", Role: "core-zone", PUE: 1.3}},
		Nodes: []api.NodeSpec{{ID: "jn-core-0", Site: "jn-core", Capacity: nodes.Resources{CPUMilli: 16000, MemoryMiB: 65536}}}})
	apply(fsm.CmdSubmit, &fsm.Submit{At: now, Workloads: []api.WorkloadSpec{prio("lo", 12000, 1), prio("hi", 8000, 10)}})

	s := &Server{cfg: Config{Preempt: true}}
	sched, err := scheduler.New("balanced", scheduler.Config{Preempt: true})
	if err != nil {
		t.Fatal(err)
	}
	st, sites, _, capEp := f.PlanningCopy(nil, 0)
	snap, err := newSnapshot(st, sites)
	if err != nil {
		t.Fatal(err)
	}
	live := &liveView{f: f, evicted: map[string]bool{}, placed: map[int][]fsm.LiveWork{}, track: true}
	snap.Running = live
	rng := rand.New(rand.NewPCG(1, 1))
	ready := f.ReadyAfter(0, 10, nil)
	if len(ready) != 2 || ready[0].Spec.ID != "lo" {
		t.Fatalf("ready: %+v", ready)
	}
	first := s.decide(sched, snap, live, &ready[0], now, rng) // lo: the first plan
	second := s.decide(sched, snap, live, &ready[1], now, rng)
	if first.Outcome != fsm.OutcomePlace {
		t.Fatalf("lo: %+v, want placed", first)
	}
	if second.Outcome != fsm.OutcomePlace || !slices.Equal(second.Evict, []string{"lo"}) {
		t.Fatalf("hi: %+v, want placed evicting lo, which the plan in flight placed", second)
	}
	// The FSM accepts both plans in order: lo placed, then evicted for hi.
	apply(fsm.CmdPlan, &fsm.Plan{At: now, Epoch: capEp, Items: []fsm.PlanItem{first}})
	res := apply(fsm.CmdPlan, &fsm.Plan{At: now, Epoch: capEp, Items: []fsm.PlanItem{second}}).(*fsm.PlanResult)
	if res.Placed != 1 || res.Preempted != 1 {
		t.Fatalf("second plan: %+v, want hi placed and lo evicted", res)
	}
	if w, _ := f.Get("lo"); w.Status != api.StatusPending || !strings.HasPrefix(w.Reason, "preempted by hi") {
		t.Fatalf("lo: %s (%q), want pending, preempted by hi", w.Status, w.Reason)
	}
	if err := f.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestUnchangedWaitIsNotRepeated: every capacity change wakes waiting
// work, and the leader decides it again, mostly to wait again for the
// same reason. When the explanation is unchanged too the plan item says
// so (KeepExplanation) instead of carrying it into the log again, and
// the FSM keeps the explanation it has; a changed one is sent in full.
func TestUnchangedWaitIsNotRepeated(t *testing.T) {
	f := fsm.New(fsm.Config{})
	var idx uint64
	apply := func(typ fsm.CmdType, body any) any {
		t.Helper()
		b, err := fsm.Encode(typ, body)
		if err != nil {
			t.Fatal(err)
		}
		idx++
		res := f.Apply(idx, b)
		if err, ok := res.(error); ok {
			t.Fatalf("%s: %v", typ, err)
		}
		return res
	}
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	reg := &fsm.Register{At: now, AgentID: "a1", Sites: []api.Site{{ID: "jn-core", City: "JN", Role: "core-zone", PUE: 1.3}},
		Nodes: []api.NodeSpec{{ID: "jn-core-0", Site: "jn-core", Capacity: nodes.Resources{CPUMilli: 16000, MemoryMiB: 65536}},
			{ID: "jn-core-1", Site: "jn-core", Capacity: nodes.Resources{CPUMilli: 16000, MemoryMiB: 65536}}}}
	apply(fsm.CmdRegister, reg)
	apply(fsm.CmdSubmit, &fsm.Submit{At: now, Workloads: []api.WorkloadSpec{prio("f0", 16000, 9), prio("f1", 12000, 9), prio("w", 8000, 1)}})

	s := &Server{cfg: Config{Preempt: true}}
	sched, err := scheduler.New("balanced", scheduler.Config{Preempt: true})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	// plan decides every ready workload on a fresh planning copy and
	// commits the decisions; it returns them and the entry's size.
	plan := func() ([]fsm.PlanItem, int) {
		t.Helper()
		st, sites, _, capEp := f.PlanningCopy(nil, 0)
		snap, err := newSnapshot(st, sites)
		if err != nil {
			t.Fatal(err)
		}
		live := &liveView{f: f, evicted: map[string]bool{}, placed: map[int][]fsm.LiveWork{}}
		snap.Running = live
		ready := f.ReadyAfter(0, 10, nil)
		orderBatch(ready)
		p := &fsm.Plan{At: now, Epoch: capEp}
		for i := range ready {
			p.Items = append(p.Items, s.decide(sched, snap, live, &ready[i], now, rng))
		}
		b, err := fsm.Encode(fsm.CmdPlan, p)
		if err != nil {
			t.Fatal(err)
		}
		apply(fsm.CmdPlan, p)
		return p.Items, len(b)
	}
	waitItem := func(items []fsm.PlanItem) fsm.PlanItem {
		t.Helper()
		for _, it := range items {
			if it.ID == "w" {
				if it.Outcome != fsm.OutcomeWait || it.Reason != "capacity" {
					t.Fatalf("w: %+v, want a wait for capacity", it)
				}
				return it
			}
		}
		t.Fatal("w was not decided")
		return fsm.PlanItem{}
	}
	// f0 and f1 take most of both nodes; w (8 cores, priority 1) fits in
	// neither and may not evict them.
	items, _ := plan()
	first := waitItem(items)
	if first.KeepExplanation || first.Explanation == "" {
		t.Fatalf("first wait: %+v, want the explanation in full", first)
	}
	explained, _ := f.Get("w")
	if explained.Explanation != first.Explanation || !explained.Waiting {
		t.Fatalf("w: %+v, want waiting with the first explanation", explained)
	}
	// The agent registers again (capacity may have grown: every waiting
	// workload is decided again); nothing changed for w.
	apply(fsm.CmdRegister, reg)
	items, size := plan()
	again := waitItem(items)
	if !again.KeepExplanation || again.Explanation != "" {
		t.Fatalf("second wait: %+v, want the explanation kept, not repeated", again)
	}
	if size > 200 {
		t.Errorf("the second plan takes %d bytes in the log, want the wait alone (< 200)", size)
	}
	w, _ := f.Get("w")
	if w.Explanation != first.Explanation || w.Reason != "capacity" || !w.Waiting || w.Attempts != explained.Attempts+1 {
		t.Fatalf("w after the second wait: %+v, want waiting with the first explanation, one more attempt", w)
	}
	// A change that alters the explanation (jn-core-1 drained: f1 waits
	// too, and w finds a node not up) sends it anew.
	apply(fsm.CmdNodeState, &fsm.NodeState{At: now, Nodes: []string{"jn-core-1"}, State: "down", Reason: fsm.ReasonOperator})
	apply(fsm.CmdNodeState, &fsm.NodeState{At: now, Nodes: []string{"jn-core-1"}, State: "draining", Reason: fsm.ReasonOperator})
	items, _ = plan()
	for _, it := range items {
		if it.ID == "w" && (it.KeepExplanation || it.Explanation == first.Explanation || it.Explanation == "") {
			t.Fatalf("w after its site changed: %+v, want a new explanation in full", it)
		}
	}
	if err := f.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	t.Logf("first explanation (%d bytes):\n%s", len(first.Explanation), first.Explanation)
}
