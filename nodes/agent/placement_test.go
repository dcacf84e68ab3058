package agent

import (
	"slices"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

func placed(id, node string, cpu, durMs int64, placement uint64) api.Assignment {
	a := asg(id, node, cpu, durMs)
	a.Placement = placement
	return a
}

func placementsOf(evs []api.Event) []uint64 {
	var out []uint64
	for _, e := range evs {
		out = append(out, e.Placement)
	}
	return out
}

// TestRunnerEchoesPlacements: every event names the placement of the run
// it is about; work the servers place anew on the same node (evicted and
// re-placed between two polls) is restarted in the new placement, and
// work that finished here is started again when it comes back in a new
// placement, even before the servers acknowledged the completion (which
// they will ignore: it is about the old placement).
func TestRunnerEchoesPlacements(t *testing.T) {
	clk := newManualClock()
	t0 := clk.Now()
	r := newRunner(testLayout(t, 1), clk, 1)
	r.apply(api.Assignments{Index: 10, Assignments: []api.Assignment{placed("w1", "x-jn-0", 1000, 1000, 10), placed("w2", "x-jn-0", 1000, 500, 10)}})
	if evs := r.takeEvents(10); !slices.Equal(kinds(evs), []string{"started:w1@x-jn-0", "started:w2@x-jn-0"}) || !slices.Equal(placementsOf(evs), []uint64{10, 10}) {
		t.Fatalf("events: %v placements %v", kinds(evs), placementsOf(evs))
	}
	// 600 ms in, w1 is evicted and placed on the same node again
	// (placement 12): its run starts afresh, a full second from now.
	clk.Advance(600 * time.Millisecond)
	r.complete(clk.Now()) // w2 finishes (placement 10)
	r.apply(api.Assignments{Index: 12, Assignments: []api.Assignment{placed("w1", "x-jn-0", 1000, 1000, 12), placed("w2", "x-jn-0", 1000, 500, 10)}})
	evs := r.takeEvents(10)
	if got, want := kinds(evs), []string{"completed:w2@x-jn-0", "started:w1@x-jn-0"}; !slices.Equal(got, want) {
		t.Fatalf("events: got %v, want %v", got, want)
	}
	if got := placementsOf(evs); !slices.Equal(got, []uint64{10, 12}) {
		t.Fatalf("placements: got %v, want [10 12]", got)
	}
	if due, ok := r.next(); !ok || !due.Equal(t0.Add(1600*time.Millisecond)) {
		t.Fatalf("w1 due %v, want a second after its new placement (%v)", due, t0.Add(1600*time.Millisecond))
	}
	if u := r.usage(); u[0].Tasks != 1 || u[0].Used.CPUMilli != 1000 {
		t.Fatalf("usage: %+v, want w1 alone", u[0])
	}
	// w2 comes back in placement 13 before its completion (placement 10)
	// was acknowledged: a new run, started at once.
	r.apply(api.Assignments{Index: 13, Assignments: []api.Assignment{placed("w1", "x-jn-0", 1000, 1000, 12), placed("w2", "x-jn-0", 1000, 500, 13)}})
	evs = r.takeEvents(10)
	if got := kinds(evs); !slices.Equal(got, []string{"started:w2@x-jn-0"}) || evs[0].Placement != 13 {
		t.Fatalf("events: got %v placements %v, want w2 started in placement 13", got, placementsOf(evs))
	}
	// The acknowledgement of the old completion does not mark the new run.
	r.acked([]api.Event{{WorkloadID: "w2", NodeID: "x-jn-0", Kind: api.EventCompleted, Placement: 10}}, 14)
	clk.Advance(time.Second)
	r.complete(clk.Now())
	evs = r.takeEvents(10)
	if got := kinds(evs); !slices.Equal(got, []string{"completed:w2@x-jn-0", "completed:w1@x-jn-0"}) || !slices.Equal(placementsOf(evs), []uint64{13, 12}) {
		t.Fatalf("events: got %v placements %v, want w2 (13) then w1 (12) completed", got, placementsOf(evs))
	}
	// Still listed in the finished placements (the servers have not seen
	// the completions): not started again.
	r.apply(api.Assignments{Index: 15, Assignments: []api.Assignment{placed("w1", "x-jn-0", 1000, 1000, 12), placed("w2", "x-jn-0", 1000, 500, 13)}})
	if evs := r.takeEvents(10); len(evs) != 0 {
		t.Fatalf("finished work listed again in the same placement: events %v, want none", kinds(evs))
	}
	if s := r.stats(); s.Started != 4 || s.Completed != 3 || s.Running != 0 || s.Overcommitted != 0 {
		t.Fatalf("stats: %+v", s)
	}
}

// TestAgentRestartsWorkPlacedAgain: against a server that names
// placements, a workload evicted and placed again on the same node while
// the agent runs it is restarted; the run's events carry its placement,
// so the first run never completes the second.
func TestAgentRestartsWorkPlacedAgain(t *testing.T) {
	f := newFakeServer(t, token)
	a, stop := runAgent(t, testConfig(t, []string{f.addr()}, 1))
	waitFor(t, "registration", 5*time.Second, func() bool { return a.Stats().Registered })
	// 2,000 s of work at speed 1000: 2 s.
	f.assign("a1", "w", "x-jn-0", 1000, 2_000_000)
	waitFor(t, "w running", 5*time.Second, func() bool { return f.status("w") == api.StatusRunning })
	f.mu.Lock()
	first := f.work["w"].a.Placement
	f.mu.Unlock()
	second := f.replace("w")
	waitFor(t, "w running again", 5*time.Second, func() bool { return f.status("w") == api.StatusRunning })
	waitFor(t, "w completed", 10*time.Second, func() bool { return f.status("w") == api.StatusCompleted })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// A batch whose answer the agent did not get (here: stopping it right
	// after the fake applied the completion) is sent again: compare the
	// placements named, not how often.
	if got, want := slices.Compact(f.placements["started:w"]), []uint64{first, second}; !slices.Equal(got, want) {
		t.Errorf("started events named placements %v, want %v", f.placements["started:w"], want)
	}
	if got, want := slices.Compact(f.placements["completed:w"]), []uint64{second}; !slices.Equal(got, want) {
		t.Errorf("completed events named placements %v, want only %d (the first run never completed)", f.placements["completed:w"], second)
	}
	if s := a.Stats(); s.Started != 2 || s.Completed != 1 || s.Running != 0 || s.Overcommitted != 0 {
		t.Errorf("stats: %+v", s)
	}
}
