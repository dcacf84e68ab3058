package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// TestFreedCapacityGoesToHigherPriorityWaitingWork: the only node is
// full; low-priority work waits for capacity, then higher-priority work
// does; the filler completes, freeing room for one of them. The
// high-priority workload is placed, and no low one. The FSM used to
// release waiting work oldest first, whatever its priority, so the old
// low-priority work took the room:
//
//   - "unpark budget": a completion releases UnparkBudget + 8 waiting
//     workloads (9 here) and 12 low ones wait ahead of hi: only low ones
//     came back (hi stayed parked until capacity next grew);
//   - "plan batch": everything comes back, but the leader reads one
//     workload per batch, so the first released is decided first (the
//     priority order of orderBatch holds within a batch only).
//
// Preemption is off: the filler outranks everything anyway.
func TestFreedCapacityGoesToHigherPriorityWaitingWork(t *testing.T) {
	tests := []struct {
		name  string
		lows  int
		tweak func(*Config)
	}{
		{"unpark budget", 12, func(c *Config) { c.FSM.UnparkBudget = 1 }},
		{"plan batch", 1, func(c *Config) { c.PlanBatch = 1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, "s1")
			cfg.Bootstrap = true
			tc.tweak(&cfg)
			s := startServer(t, cfg)
			waitFor(t, "leader", 5*time.Second, s.IsLeader)
			c := client(s)
			registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 1) // one 16-core node
			submitOK(t, c, prio("filler", 16000, 20))
			waitStatus(t, c, "filler", api.StatusPlaced)
			var ids []string
			for i := range tc.lows {
				id := fmt.Sprintf("lo%d", i)
				ids = append(ids, id)
				submitOK(t, c, prio(id, 12000, 1))
				waitWaiting(t, c, id)
			}
			submitOK(t, c, prio("hi", 8000, 10))
			waitWaiting(t, c, "hi")
			ids = append(ids, "hi")

			// Free the node: room for hi (8 cores) or one lo (12), not both.
			f := assignmentOf(t, c, "a1", "filler", 0)
			res, err := c.Events(ctx(t), "a1", []api.Event{{WorkloadID: "filler", NodeID: f.NodeID, Kind: api.EventCompleted, At: time.Now(), Placement: f.Placement}})
			if err != nil || res.Results[0].Result != "applied" {
				t.Fatalf("filler completed: %+v, %v", res, err)
			}
			var placed string
			waitFor(t, "one waiting workload placed", 10*time.Second, func() bool {
				for _, id := range ids {
					if w, err := c.Get(ctx(t), id); err == nil && api.Live(w.Status) {
						placed = id
						return true
					}
				}
				return false
			})
			if placed != "hi" {
				t.Fatalf("%s was placed first, want hi (priority 10 over 1)", placed)
			}
			for _, id := range ids[:len(ids)-1] {
				waitWaiting(t, c, id)
			}
			if err := s.fsm.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
