package scheduler

import (
	"reflect"
	"strings"
	"testing"
)

// fakeRunning is the running work per node, as a driver would list it.
type fakeRunning map[int][]RunningWork

func (f fakeRunning) RunningOn(n int, dst []RunningWork) []RunningWork { return append(dst, f[n]...) }

func TestPreemption(t *testing.T) {
	type work struct {
		id    int64
		cores int64
		prio  int
	}
	// x-jn's two 16-core nodes are full of work.
	node0 := []work{{1, 8, 0}, {2, 8, 2}}
	node1 := []work{{3, 4, 1}, {4, 4, 1}, {5, 8, 1}}
	for _, c := range []struct {
		name    string
		cores   int64
		prio    int
		off     bool // Config.Preempt off
		node0   []work
		want    []int64 // victims; nil: rejected for capacity
		wantIdx int     // node index within x-jn
	}{
		{name: "evicts the lowest priority", cores: 8, prio: 3, want: []int64{1}, wantIdx: 0},
		{name: "only lower priorities", cores: 8, prio: 1, want: []int64{1}, wantIdx: 0},
		{name: "never equal or higher priority", cores: 8, prio: 0, want: nil},
		{name: "off unless configured", cores: 8, prio: 3, off: true, want: nil},
		{name: "lowest highest-victim priority wins over node order", cores: 12, prio: 3, want: []int64{5, 3}, wantIdx: 1},
		{name: "victims that are not needed are spared", cores: 12, prio: 5, node0: []work{{6, 2, 0}, {7, 14, 1}}, want: []int64{7}, wantIdx: 0},
		{name: "too big even after evicting everything", cores: 17, prio: 9, want: nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			snap := newFixture(t)
			xjn := siteIdx(t, snap, "x-jn")
			nodesOf := snap.State.SiteNodes(xjn)
			run := fakeRunning{}
			n0 := node0
			if c.node0 != nil {
				n0 = c.node0
			}
			for i, ws := range [][]work{n0, node1} {
				n := int(nodesOf[i])
				for _, w := range ws {
					if err := snap.State.Allocate(n, small(w.cores)); err != nil {
						t.Fatal(err)
					}
					run[n] = append(run[n], RunningWork{ID: w.id, Request: small(w.cores), Priority: w.prio})
				}
			}
			snap.Running = run
			s, err := New("balanced", Config{Preempt: !c.off})
			if err != nil {
				t.Fatal(err)
			}
			w := Workload{ID: "urgent", Origin: city(t, "JN"), Request: small(c.cores), Priority: c.prio,
				Sites: NewSiteSet(snap.State.NumSites(), xjn)}
			ex := &Explanation{}
			d := s.Decide(snap, &w, t0, nil, ex)
			if c.want == nil {
				if d.Outcome != Reject || d.Reason != FilterCapacity || len(d.Preempt) != 0 {
					t.Fatalf("got %v %v preempting %v, want a capacity rejection\n%s", d.Outcome, d.Reason, d.Preempt, ex)
				}
				return
			}
			if d.Outcome != Place || d.Node != int(nodesOf[c.wantIdx]) || !reflect.DeepEqual(d.Preempt, c.want) {
				t.Fatalf("got %v on node %d preempting %v, want node %d preempting %v\n%s", d.Outcome, d.Node, d.Preempt, nodesOf[c.wantIdx], c.want, ex)
			}
			if !strings.Contains(ex.String(), "preemption: no node had room") {
				t.Errorf("explanation lacks the preemption note:\n%s", ex)
			}
			// Evicting the victims makes the placement fit.
			for _, id := range d.Preempt {
				for _, r := range run[d.Node] {
					if r.ID == id {
						if err := snap.State.Release(d.Node, r.Request); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			if err := snap.State.Allocate(d.Node, w.Request); err != nil {
				t.Errorf("after evicting %v the work still does not fit: %v", d.Preempt, err)
			}
		})
	}
}
