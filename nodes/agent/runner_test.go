package agent

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

// manualClock is a Clock that moves only when told to.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []manualWaiter
}

type manualWaiter struct {
	at time.Time
	ch chan time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, manualWaiter{c.now.Add(d), ch})
	return ch
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

func testLayout(t testing.TB, n int) Layout {
	t.Helper()
	l, err := SiteLayout(api.Site{ID: "x-jn", City: "JN", Role: "edge", PUE: 1.6}, n, "cpu-16")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func asg(id, node string, cpu, durMs int64) api.Assignment {
	return api.Assignment{WorkloadID: id, NodeID: node, Request: nodes.Resources{CPUMilli: cpu, MemoryMiB: 1024}, DurationMs: durMs, Status: api.StatusPlaced}
}

func kinds(evs []api.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind+":"+e.WorkloadID+"@"+e.NodeID)
	}
	return out
}

func eqStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRunnerLifecycle(t *testing.T) {
	clk := newManualClock()
	t0 := clk.Now()
	r := newRunner(testLayout(t, 2), clk, 60) // a minute per second
	if !r.apply(api.Assignments{Index: 5, Assignments: []api.Assignment{
		asg("w1", "x-jn-0", 4000, 60_000),  // 1 s at speed 60
		asg("w2", "x-jn-1", 8000, 120_000), // 2 s
	}}) {
		t.Fatal("apply: got no change, want two starts")
	}
	if got, want := kinds(r.takeEvents(10)), []string{"started:w1@x-jn-0", "started:w2@x-jn-1"}; !eqStrings(got, want) {
		t.Fatalf("events: got %v, want %v", got, want)
	}
	if due, ok := r.next(); !ok || !due.Equal(t0.Add(time.Second)) {
		t.Fatalf("next: got %v %v, want %v", due, ok, t0.Add(time.Second))
	}
	u := r.usage()
	if u[0].Used.CPUMilli != 4000 || u[1].Used.CPUMilli != 8000 || u[0].Tasks != 1 {
		t.Fatalf("usage: got %+v", u)
	}
	clk.Advance(999 * time.Millisecond)
	if n := r.complete(clk.Now()); n != 0 {
		t.Fatalf("complete before due: got %d, want 0", n)
	}
	clk.Advance(time.Millisecond)
	if n := r.complete(clk.Now()); n != 1 {
		t.Fatalf("complete at due: got %d, want 1", n)
	}
	evs := r.takeEvents(10)
	if got, want := kinds(evs), []string{"completed:w1@x-jn-0"}; !eqStrings(got, want) {
		t.Fatalf("events: got %v, want %v", got, want)
	}
	if !evs[0].At.Equal(t0.Add(time.Second)) {
		t.Errorf("completed at: got %v, want %v", evs[0].At, t0.Add(time.Second))
	}
	// The servers have not seen the completion yet and still list w1: it
	// must not start again.
	r.apply(api.Assignments{Index: 6, Assignments: []api.Assignment{asg("w1", "x-jn-0", 4000, 60_000), asg("w2", "x-jn-1", 8000, 120_000)}})
	if evs := r.takeEvents(10); len(evs) != 0 {
		t.Fatalf("re-listed finished work: got events %v, want none", kinds(evs))
	}
	r.acked([]api.Event{{WorkloadID: "w1", NodeID: "x-jn-0", Kind: api.EventCompleted}}, 7)
	// A lagging server's older list is ignored.
	if r.apply(api.Assignments{Index: 3}) {
		t.Error("stale list: got a change, want none")
	}
	if s := r.stats(); s.Stale != 1 || s.Running != 1 {
		t.Errorf("stats after stale list: got %+v, want Stale 1, Running 1", s)
	}
	// w2 cancelled (absent from the list): it stops without an event.
	r.apply(api.Assignments{Index: 8})
	if evs := r.takeEvents(10); len(evs) != 0 {
		t.Errorf("stop: got events %v, want none", kinds(evs))
	}
	s := r.stats()
	if s.Running != 0 || s.Started != 2 || s.Completed != 1 || s.Stopped != 1 || s.Overcommitted != 0 {
		t.Errorf("stats: got %+v", s)
	}
	if _, ok := r.next(); ok {
		t.Error("next: got a due task, want none")
	}
	if u := r.usage(); u[1].Used != (nodes.Resources{}) || u[1].Tasks != 0 {
		t.Errorf("usage after stop: got %+v, want zero", u[1])
	}
	if len(r.done) != 0 {
		t.Errorf("done: got %v, want empty once acked and unlisted", r.done)
	}
}

func TestRunnerReassignedAfterAck(t *testing.T) {
	clk := newManualClock()
	r := newRunner(testLayout(t, 2), clk, 1)
	r.apply(api.Assignments{Index: 1, Assignments: []api.Assignment{asg("w1", "x-jn-0", 1000, 10)}})
	clk.Advance(10 * time.Millisecond)
	r.complete(clk.Now())
	r.takeEvents(10)
	r.acked([]api.Event{{WorkloadID: "w1", NodeID: "x-jn-0", Kind: api.EventCompleted}}, 4)
	// Still listed at index 3 (before the completion's entry): not restarted.
	r.apply(api.Assignments{Index: 3, Assignments: []api.Assignment{asg("w1", "x-jn-0", 1000, 10)}})
	if n := r.stats().Running; n != 0 {
		t.Fatalf("running after a pre-ack list: got %d, want 0", n)
	}
	// Listed at index 9 (the completion was ignored as stale and the work
	// was placed here again): it runs again.
	r.apply(api.Assignments{Index: 9, Assignments: []api.Assignment{asg("w1", "x-jn-0", 1000, 10)}})
	if n := r.stats().Running; n != 1 {
		t.Fatalf("running after re-placement: got %d, want 1", n)
	}
}

func TestRunnerMovesRunningStatusAndUnknownNodes(t *testing.T) {
	clk := newManualClock()
	r := newRunner(testLayout(t, 2), clk, 1)
	running := asg("w1", "x-jn-0", 1000, 1000)
	running.Status = api.StatusRunning
	r.apply(api.Assignments{Index: 1, Assignments: []api.Assignment{running, asg("w2", "nowhere-0", 1000, 1000)}})
	if evs := r.takeEvents(10); len(evs) != 0 {
		t.Errorf("already running work: got events %v, want none", kinds(evs))
	}
	if s := r.stats(); s.Running != 1 || s.UnknownNode != 1 {
		t.Errorf("stats: got %+v, want Running 1, UnknownNode 1", s)
	}
	// Moved to the other node: restarted there.
	r.apply(api.Assignments{Index: 2, Assignments: []api.Assignment{asg("w1", "x-jn-1", 1000, 1000)}})
	u := r.usage()
	if u[0].Tasks != 0 || u[1].Tasks != 1 {
		t.Errorf("usage after move: got %+v", u)
	}
	if got, want := kinds(r.takeEvents(10)), []string{"started:w1@x-jn-1"}; !eqStrings(got, want) {
		t.Errorf("events: got %v, want %v", got, want)
	}
}

func TestRunnerOvercommitAndOrder(t *testing.T) {
	clk := newManualClock()
	r := newRunner(testLayout(t, 1), clk, 1)
	var as []api.Assignment
	for i := 0; i < 5; i++ {
		as = append(as, asg(fmt.Sprintf("w%d", 4-i), "x-jn-0", 4000, 100)) // all due together
	}
	r.apply(api.Assignments{Index: 1, Assignments: as})
	if s := r.stats(); s.Overcommitted != 1 {
		t.Errorf("overcommitted: got %d, want 1 (5 × 4 cores on a 16-core node)", s.Overcommitted)
	}
	r.takeEvents(10)
	clk.Advance(time.Second)
	r.complete(clk.Now())
	got := kinds(r.takeEvents(10))
	want := []string{"completed:w0@x-jn-0", "completed:w1@x-jn-0", "completed:w2@x-jn-0", "completed:w3@x-jn-0", "completed:w4@x-jn-0"}
	if !eqStrings(got, want) {
		t.Errorf("completion order: got %v, want %v", got, want)
	}
}

func TestRunnerRequeueKeepsOrder(t *testing.T) {
	r := newRunner(testLayout(t, 1), newManualClock(), 1)
	r.apply(api.Assignments{Index: 1, Assignments: []api.Assignment{asg("a", "x-jn-0", 1, 1), asg("b", "x-jn-0", 1, 1), asg("c", "x-jn-0", 1, 1)}})
	first := r.takeEvents(2)
	r.requeue(first)
	if got, want := kinds(r.takeEvents(10)), []string{"started:a@x-jn-0", "started:b@x-jn-0", "started:c@x-jn-0"}; !eqStrings(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestRunTime(t *testing.T) {
	for _, tc := range []struct {
		speed float64
		ms    int64
		want  time.Duration
	}{
		{1, 1500, 1500 * time.Millisecond},
		{60, 60_000, time.Second},
		{0.5, 1000, 2 * time.Second},
		{1000, 0, 0},
	} {
		r := &runner{speed: tc.speed}
		if got := r.runTime(tc.ms); got != tc.want {
			t.Errorf("speed %g, %d ms: got %v, want %v", tc.speed, tc.ms, got, tc.want)
		}
	}
}

// TestRunnerKeepsStartTimeOfRunningWork: a restarted agent receives work
// that was already running with its start time, and finishes it on the
// original schedule rather than a full duration from now.
func TestRunnerKeepsStartTimeOfRunningWork(t *testing.T) {
	clk := newManualClock()
	r := newRunner(testLayout(t, 1), clk, 1)
	running := asg("w1", "x-jn-0", 1000, 60_000)
	running.Status, running.StartedAt = api.StatusRunning, clk.Now().Add(-40*time.Second)
	fresh := asg("w2", "x-jn-0", 1000, 60_000)
	r.apply(api.Assignments{Index: 1, Assignments: []api.Assignment{running, fresh}})
	clk.Advance(19 * time.Second)
	if n := r.complete(clk.Now()); n != 0 {
		t.Fatalf("after 19 s: %d completed, want 0", n)
	}
	clk.Advance(2 * time.Second)
	if n := r.complete(clk.Now()); n != 1 {
		t.Fatalf("after 21 s: %d completed, want 1 (w1 started 40 s before the restart)", n)
	}
	clk.Advance(40 * time.Second)
	if n := r.complete(clk.Now()); n != 1 {
		t.Fatalf("after 61 s: %d completed, want 1 (w2, a full minute)", n)
	}
}
