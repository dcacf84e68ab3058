package optimize

import (
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler"
)

// TestOptimizerAdoptKeepsTheReservations: a new leader's optimizer that
// adopts the deferrals of the old leader's decides the work that follows
// exactly as the old one would (after a full plan), while one that starts
// empty promises the green window, already full, to new work again.
func TestOptimizerAdoptKeepsTheReservations(t *testing.T) {
	type deferral struct {
		w    scheduler.Workload
		site int
		at   time.Time
	}
	// The old leader: six jobs, four deferred into the green window (it
	// holds four), two placed now.
	snap := newProvince(t)
	old, err := New(scheduler.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var deferred []deferral
	for i := 0; i < 6; i++ {
		w := greenJob(i)
		switch d := old.Decide(snap, &w, t0, nil, nil); d.Outcome {
		case scheduler.Defer:
			deferred = append(deferred, deferral{w, d.Site, d.NotBefore})
		case scheduler.Place:
			if err := snap.State.Allocate(d.Node, w.Request); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("job %d: %v", i, d.Outcome)
		}
	}
	if len(deferred) != 4 {
		t.Fatalf("%d deferred, want 4", len(deferred))
	}
	old.dirty = true // a new leader plans afresh: compare with a fresh plan

	adopted, _ := New(scheduler.Config{}, Options{})
	empty, _ := New(scheduler.Config{}, Options{})
	for _, d := range deferred {
		adopted.Adopt(snap, &d.w, d.site, d.at)
		adopted.Adopt(snap, &d.w, d.site, d.at) // twice: ignored
	}
	noDeadline := greenJob(99)
	noDeadline.Deadline = time.Time{}
	adopted.Adopt(snap, &noDeadline, 0, t0) // ignored: nothing to plan

	// The next jobs, each decided by the three; placements go to three
	// copies of the state.
	states := map[*Optimizer]*scheduler.State{old: snap.State.Clone(), adopted: snap.State.Clone(), empty: snap.State.Clone()}
	var emptyDeferred int
	for i := 6; i < 9; i++ {
		w := greenJob(i)
		var got [3]scheduler.Decision
		for k, o := range []*Optimizer{old, adopted, empty} {
			snap.State = states[o]
			got[k] = o.Decide(snap, &w, t0, nil, nil)
			if got[k].Outcome == scheduler.Place {
				if err := snap.State.Allocate(got[k].Node, w.Request); err != nil {
					t.Fatal(err)
				}
			}
		}
		if got[0].Outcome != got[1].Outcome || got[0].Site != got[1].Site || got[0].Node != got[1].Node || !got[0].NotBefore.Equal(got[1].NotBefore) {
			t.Errorf("job %d: the adopting optimizer decided %+v, the old one %+v", i, got[1], got[0])
		}
		if got[0].Outcome != scheduler.Place {
			t.Errorf("job %d: the old optimizer %v it, want placed now (the window is full)", i, got[0].Outcome)
		}
		if got[2].Outcome == scheduler.Defer {
			emptyDeferred++
		}
	}
	if emptyDeferred == 0 {
		t.Error("an optimizer without the old deferrals deferred none of the new jobs: the test shows nothing")
	}

	// The adopted work returning gets its reservation back: it runs in
	// its window.
	snap.State = states[adopted]
	for _, d := range deferred {
		w := d.w
		if got := adopted.Decide(snap, &w, d.at, nil, nil); got.Outcome != scheduler.Place {
			t.Errorf("%s back at %v: %v, want placed", w.ID, d.at, got.Outcome)
		} else if err := snap.State.Allocate(got.Node, w.Request); err != nil {
			t.Fatal(err)
		}
	}
}
