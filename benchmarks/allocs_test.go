package benchmarks

import (
	"math/rand/v2"
	"testing"

	"github.com/suanli/suanli/scheduler"
)

// TestDecideAllocatesNothing holds the hot path to its zero-allocation
// claim outside the benchmarks: once warm, a decision and applying it
// allocate nothing, for every built-in policy of the core.
func TestDecideAllocatesNothing(t *testing.T) {
	f, err := NewPlaceFixture(1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, policy := range scheduler.PolicyNames() {
		t.Run(policy, func(t *testing.T) {
			f.snap.State = mustFresh(f.snap.State)
			s, err := scheduler.New(policy, scheduler.Config{})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 1))
			i := 0
			step := func() {
				w := &f.workloads[i%len(f.workloads)]
				i++
				d := s.Decide(f.snap, w, f.now, rng, nil)
				if d.Outcome != scheduler.Place {
					return
				}
				if err := f.snap.State.Allocate(d.Node, w.Request); err != nil {
					t.Fatal(err)
				}
				if err := f.snap.State.Release(d.Node, w.Request); err != nil {
					t.Fatal(err)
				}
			}
			for k := 0; k < 100; k++ { // warm up scratch buffers
				step()
			}
			if a := testing.AllocsPerRun(500, step); a != 0 {
				t.Errorf("%s: %.2f allocations per decision, want 0", policy, a)
			}
		})
	}
}
