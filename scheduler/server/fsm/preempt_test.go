package fsm

import (
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// TestEvictionWakesWaitingWork: an eviction can free more than the
// preemptor takes (the core evicts the lowest priority first, the largest
// first among equals). Work waiting for capacity that fits in what is left
// must get another look, as after a completion; otherwise it waits beside
// free capacity until some other capacity change (found by
// TestChaosPreempt: a 1-core workload waited on a node with a core free).
func TestEvictionWakesWaitingWork(t *testing.T) {
	pri := func(id string, cpu int64, p int) api.WorkloadSpec { s := spec(id, cpu); s.Priority = p; return s }
	h := setup(t) // n3: 8 cores
	h.submit(pri("big", 5000, 0), pri("mid", 3000, 0))
	h.place("big", "n3")
	h.place("mid", "n3")
	// small (1 core) is told to wait: the leader saw no room for it.
	h.submit(pri("small", 1000, 0))
	_, ep := h.f.Epochs()
	h.must(CmdPlan, &Plan{At: t0.Add(time.Second), Epoch: ep, Items: []PlanItem{
		{ID: "small", ReadySeq: h.readySeq("small"), Outcome: OutcomeWait, Reason: "capacity"}}})
	if w, _ := h.f.Get("small"); !w.Waiting {
		t.Fatalf("small: waiting %v, want parked", w.Waiting)
	}
	// hi (2 cores) evicts mid (3 cores): a core is left free on n3.
	h.submit(pri("hi", 2000, 10))
	_, ep = h.f.Epochs()
	res := h.must(CmdPlan, &Plan{At: t0.Add(2 * time.Second), Epoch: ep, Items: []PlanItem{
		{ID: "hi", ReadySeq: h.readySeq("hi"), Outcome: OutcomePlace, Node: "n3", Evict: []string{"mid"}}}}).(*PlanResult)
	if res.Placed != 1 || res.Preempted != 1 {
		t.Fatalf("got %+v, want hi placed and mid evicted", res)
	}
	if n := h.nodeOf("n3"); n.Used.CPUMilli != 7000 {
		t.Fatalf("n3 uses %d millicores, want 7000", n.Used.CPUMilli)
	}
	w, _ := h.f.Get("small")
	if w.Status != api.StatusPending || w.Waiting {
		t.Errorf("small: %s, waiting %v; want pending and back in the ready queue", w.Status, w.Waiting)
	}
	h.readySeq("small")
	h.readySeq("mid") // the victim is ready again too
}
