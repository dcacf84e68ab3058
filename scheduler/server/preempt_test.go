package server

import (
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// TestPreemptionSeesUnappliedPlacements: the leader decides a batch of
// ready work on its planning copy before the FSM applies any of it. Work
// it placed earlier in the batch (or in a plan still in flight) must be a
// candidate victim for higher-priority work decided after it; otherwise
// the higher-priority work is parked ("waiting for capacity") behind
// lower-priority work and nothing wakes it until some capacity frees
// (found by TestChaosPreempt: after an agent's nodes came back, fillers
// unparked first took them and high-priority work stayed waiting).
func TestPreemptionSeesUnappliedPlacements(t *testing.T) {
	cfg := testConfig(t, "s1")
	cfg.Bootstrap, cfg.Preempt = true, true
	s := startServer(t, cfg)
	waitFor(t, "leader", 5*time.Second, s.IsLeader)
	c := client(s)
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 1) // one 16-core node
	lo := wspec("lo", 12000)
	lo.Priority = 1
	hi := wspec("hi", 8000)
	hi.Priority = 10
	// One entry: the leader finds both in its ready queue at once and
	// decides lo (which fits) first.
	if _, err := c.SubmitBulk(ctx(t), []api.WorkloadSpec{lo, hi}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "hi", api.StatusPlaced)
	w := waitStatus(t, c, "lo", api.StatusPending)
	waitFor(t, "lo waiting", 5*time.Second, func() bool {
		w, _ = c.Get(ctx(t), "lo")
		return w.Waiting
	})
	if w.Status != api.StatusPending {
		t.Errorf("lo is %s, want pending", w.Status)
	}
	if err := s.fsm.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}
