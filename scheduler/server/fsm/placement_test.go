package fsm

import (
	"bytes"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// assignment returns the agent's assignment of workload id.
func (h *harness) assignment(agent, id string) api.Assignment {
	h.t.Helper()
	_, as, _ := h.f.Assignments(agent)
	for _, a := range as {
		if a.WorkloadID == id {
			return a
		}
	}
	h.t.Fatalf("%s is not assigned to %s", id, agent)
	return api.Assignment{}
}

func (h *harness) event(agent string, e api.Event) api.EventResult {
	h.t.Helper()
	if e.At.IsZero() {
		e.At = t0.Add(time.Minute)
	}
	res := h.must(CmdEvents, &Events{At: e.At, AgentID: agent, Events: []api.Event{e}}).(*EventsResult)
	return res.Results[0]
}

// TestStaleEventOfEarlierPlacementIsIgnored: a run that was evicted (its
// agent had it running, or had just finished it) reports late, after the
// workload was placed again on the same node. Only the workload, node
// and agent matched before placements, so the old run's "completed"
// finished the new run, which never ran (found by TestChaosPreempt). The
// event names the placement it is about now, and the FSM ignores it.
func TestStaleEventOfEarlierPlacementIsIgnored(t *testing.T) {
	pri := func(id string, cpu int64, p int) api.WorkloadSpec { s := spec(id, cpu); s.Priority = p; return s }
	h := setup(t) // n3: a2's 8-core node
	h.submit(pri("lo", 6000, 0))
	h.place("lo", "n3")
	first := h.assignment("a2", "lo")
	if first.Placement == 0 {
		t.Fatal("the assignment carries no placement")
	}
	if w, _ := h.f.Get("lo"); w.Placement != first.Placement {
		t.Fatalf("workload placement %d, assignment %d", w.Placement, first.Placement)
	}
	if r := h.event("a2", api.Event{WorkloadID: "lo", NodeID: "n3", Kind: api.EventStarted, Placement: first.Placement}); r.Result != "applied" {
		t.Fatalf("started: %+v", r)
	}
	// hi evicts lo from n3; hi finishes, and lo is placed on n3 again.
	h.submit(pri("hi", 6000, 10))
	_, ep := h.f.Epochs()
	if res := h.must(CmdPlan, &Plan{At: t0.Add(2 * time.Second), Epoch: ep, Items: []PlanItem{
		{ID: "hi", ReadySeq: h.readySeq("hi"), Outcome: OutcomePlace, Node: "n3", Evict: []string{"lo"}}}}).(*PlanResult); res.Preempted != 1 {
		t.Fatalf("plan: %+v, want lo evicted", res)
	}
	if w, _ := h.f.Get("lo"); w.Status != api.StatusPending || w.Placement != 0 {
		t.Fatalf("evicted lo: status %s placement %d, want pending without a placement", w.Status, w.Placement)
	}
	hi := h.assignment("a2", "hi")
	if r := h.event("a2", api.Event{WorkloadID: "hi", NodeID: "n3", Kind: api.EventCompleted, Placement: hi.Placement}); r.Result != "applied" {
		t.Fatalf("hi completed: %+v", r)
	}
	h.place("lo", "n3")
	second := h.assignment("a2", "lo")
	if second.Placement == first.Placement || second.NodeID != first.NodeID || second.Status != api.StatusPlaced {
		t.Fatalf("re-placed lo: %+v, want placed on n3 in a new placement (the first was %d)", second, first.Placement)
	}

	// The first run's late events are ignored, whatever their kind.
	for _, kind := range []string{api.EventCompleted, api.EventFailed, api.EventStarted} {
		res := h.must(CmdEvents, &Events{At: t0.Add(time.Minute), AgentID: "a2", Events: []api.Event{
			{WorkloadID: "lo", NodeID: "n3", Kind: kind, At: t0.Add(time.Minute), Placement: first.Placement}}}).(*EventsResult)
		if r := res.Results[0]; r.Result != "ignored" || res.Why[0] != IgnoredPlacement || res.Ignored[IgnoredPlacement] != 1 {
			t.Fatalf("%s of the first placement: %+v (why %q), want ignored as placement", kind, r, res.Why[0])
		}
		if w, _ := h.f.Get("lo"); w.Status != api.StatusPlaced || w.Placement != second.Placement {
			t.Fatalf("after the first run's %s: lo %s in placement %d, want placed in %d", kind, w.Status, w.Placement, second.Placement)
		}
	}
	if n := h.nodeOf("n3"); n.Used.CPUMilli != 6000 {
		t.Fatalf("n3 uses %d millicores, want lo's 6000", n.Used.CPUMilli)
	}

	// Snapshot and restore keep the placement: the restored FSM tells the
	// runs apart too.
	var buf bytes.Buffer
	if err := h.f.Snapshot().Write(&buf); err != nil {
		t.Fatal(err)
	}
	g := New(Config{})
	if err := g.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if w, _ := g.Get("lo"); w.Placement != second.Placement {
		t.Fatalf("restored lo placement %d, want %d", w.Placement, second.Placement)
	}
	h.f = g
	if a := h.assignment("a2", "lo"); a.Placement != second.Placement {
		t.Fatalf("restored assignment placement %d, want %d", a.Placement, second.Placement)
	}
	if r := h.event("a2", api.Event{WorkloadID: "lo", NodeID: "n3", Kind: api.EventCompleted, Placement: first.Placement}); r.Result != "ignored" {
		t.Fatalf("after restore, the first run's completed: %+v, want ignored", r)
	}
	// The current run's events apply.
	if r := h.event("a2", api.Event{WorkloadID: "lo", NodeID: "n3", Kind: api.EventStarted, Placement: second.Placement}); r.Result != "applied" {
		t.Fatalf("started of the current placement: %+v", r)
	}
	if r := h.event("a2", api.Event{WorkloadID: "lo", NodeID: "n3", Kind: api.EventCompleted, Placement: second.Placement}); r.Result != "applied" {
		t.Fatalf("completed of the current placement: %+v", r)
	}
	if w, _ := h.f.Get("lo"); w.Status != api.StatusCompleted || w.Placement != second.Placement || w.Node != "n3" {
		t.Fatalf("lo: %s in placement %d on %q, want completed in %d on n3", w.Status, w.Placement, w.Node, second.Placement)
	}
}

// TestStaleEventOnAnotherNodeIsIgnored: a run evicted from one node
// reports late while the workload is placed on another node (of the same
// agent, or another): the node already tells them apart, with or without
// a placement in the event.
func TestStaleEventOnAnotherNodeIsIgnored(t *testing.T) {
	h := setup(t) // a1: n1, n2; a2: n3
	h.submit(spec("w", 3000))
	h.place("w", "n1")
	first := h.assignment("a1", "w")
	// n1 goes down: w goes back to pending and is placed on n2.
	h.must(CmdNodeState, &NodeState{At: t0, Nodes: []string{"n1"}, State: "down", Reason: ReasonOperator})
	h.place("w", "n2")
	second := h.assignment("a1", "w")
	if second.Placement == first.Placement {
		t.Fatalf("placed again in the same placement %d", first.Placement)
	}
	for _, p := range []uint64{first.Placement, 0} {
		if r := h.event("a1", api.Event{WorkloadID: "w", NodeID: "n1", Kind: api.EventCompleted, Placement: p}); r.Result != "ignored" {
			t.Fatalf("completed on n1 (placement %d): %+v, want ignored", p, r)
		}
	}
	// The old placement on the right node is no better.
	if r := h.event("a1", api.Event{WorkloadID: "w", NodeID: "n2", Kind: api.EventCompleted, Placement: first.Placement}); r.Result != "ignored" {
		t.Fatalf("completed on n2 naming the n1 placement: %+v, want ignored", r)
	}
	// Another agent's event for the current placement is not applied.
	if r := h.event("a2", api.Event{WorkloadID: "w", NodeID: "n2", Kind: api.EventCompleted, Placement: second.Placement}); r.Result != "ignored" {
		t.Fatalf("a2's event about a1's node: %+v, want ignored", r)
	}
	if w, _ := h.f.Get("w"); w.Status != api.StatusPlaced || w.Node != "n2" {
		t.Fatalf("w: %s on %s, want placed on n2", w.Status, w.Node)
	}
}

// TestEventWithoutPlacementIsMatchedAsBefore: an agent that predates
// placements sends none; its events are matched by workload, node and
// agent, as before (and counted as unidentified).
func TestEventWithoutPlacementIsMatchedAsBefore(t *testing.T) {
	h := setup(t)
	h.submit(spec("w", 3000))
	h.place("w", "n1")
	res := h.must(CmdEvents, &Events{At: t0.Add(time.Minute), AgentID: "a1", Events: []api.Event{
		{WorkloadID: "w", NodeID: "n1", Kind: api.EventStarted, At: t0.Add(time.Minute)},
		{WorkloadID: "w", NodeID: "n1", Kind: api.EventCompleted, At: t0.Add(2 * time.Minute)}}}).(*EventsResult)
	if res.Results[0].Result != "applied" || res.Results[1].Result != "applied" || res.Unidentified != 2 || len(res.Ignored) != 0 {
		t.Fatalf("got %+v", res)
	}
	if w, _ := h.f.Get("w"); w.Status != api.StatusCompleted {
		t.Fatalf("w is %s, want completed", w.Status)
	}
}

// TestWaitKeepsAnUnchangedExplanation: a wait decision that says its
// explanation is unchanged (KeepExplanation) keeps the one the workload
// has, if the reason is the same; with another reason there is nothing
// to keep.
func TestWaitKeepsAnUnchangedExplanation(t *testing.T) {
	h := setup(t)
	h.submit(spec("w", 3000))
	wait := func(it PlanItem) api.Workload {
		t.Helper()
		_, ep := h.f.Epochs()
		it.ID, it.ReadySeq, it.Outcome = "w", h.readySeq("w"), OutcomeWait
		h.must(CmdPlan, &Plan{At: t0, Epoch: ep, Items: []PlanItem{it}})
		w, _ := h.f.Get("w")
		// An agent registers again (capacity may have grown): w is ready
		// to be decided again.
		h.must(CmdRegister, &Register{At: t0, AgentID: "a2", Nodes: []api.NodeSpec{node("n3", "x-jn", 8000, 16384, 1000)}})
		return w
	}
	if w := wait(PlanItem{Reason: "capacity", Explanation: "full"}); w.Explanation != "full" || !w.Waiting {
		t.Fatalf("first wait: %+v", w)
	}
	if w := wait(PlanItem{Reason: "capacity", KeepExplanation: true}); w.Explanation != "full" || w.Reason != "capacity" || w.Attempts != 2 {
		t.Fatalf("kept: %+v, want the explanation kept", w)
	}
	if w := wait(PlanItem{Reason: "down", KeepExplanation: true}); w.Explanation != "" || w.Reason != "down" {
		t.Fatalf("another reason: %+v, want no explanation kept", w)
	}
}
