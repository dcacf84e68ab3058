package scheduler

import (
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from golden file (go test -update, then review the diff):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestExplanationGolden(t *testing.T) {
	cases := []struct {
		name   string
		policy string
		w      Workload
		setup  func(t *testing.T, s *Snapshot)
		sites  []string
		nodes  []string
	}{
		{
			name: "reject-capacity", policy: "balanced",
			w: Workload{ID: "vision-7", Class: "vision-qc", Origin: city(t, "WF"), Request: nodes.Resources{CPUMilli: 12_000, MemoryMiB: 16_384, GPUMilli: 250}, LatencyBoundMs: 6},
			setup: func(t *testing.T, s *Snapshot) {
				for _, id := range []string{"jn-core-3", "qd-core-2"} { // the GPU nodes
					if err := s.State.Allocate(nodeIdx(t, s, id), nodes.Resources{CPUMilli: 60_000, GPUMilli: 8000}); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.State.SetNodeState(nodeIdx(t, s, "jn-core-0"), nodes.NodeDown); err != nil {
					t.Fatal(err)
				}
			},
			sites: []string{"x-wf", "qd-core", "dz-reg"},
			nodes: []string{"qd-core-2", "qd-core-0"},
		},
		{
			name: "place-balanced-why-not", policy: "balanced",
			w: Workload{ID: "twin-3", Class: "twin", Origin: city(t, "ZB"), Request: nodes.Resources{CPUMilli: 8000, MemoryMiB: 32_768}, LatencyBoundMs: 8,
				Tiers: nodes.TiersOf(nodes.TierCore, nodes.TierCluster)},
			setup: func(t *testing.T, s *Snapshot) {
				s.Energy[siteIdx(t, s, "dz-reg")].Now.RenewableHeadroomKW = 0.05
				s.Energy[siteIdx(t, s, "qd-core")].Now.PriceCNYPerKWh = 0.2777
				s.Refresh()
				if err := s.State.Allocate(nodeIdx(t, s, "jn-core-1"), nodes.Resources{CPUMilli: 30_000, MemoryMiB: 65_536}); err != nil {
					t.Fatal(err)
				}
			},
			sites: []string{"jn-core", "qd-core", "x-jn"},
			nodes: []string{"jn-core-0", "jn-core-2", "dz-reg-0"},
		},
		{
			name: "place-late-deadline", policy: "greenest",
			w: Workload{ID: "analytics-9", Class: "analytics", Origin: city(t, "JN"), Request: nodes.Resources{CPUMilli: 32_000, MemoryMiB: 65_536},
				Duration: 3 * time.Hour, Deadline: t0.Add(3*time.Hour + 10*time.Minute), InputMB: 1_000_000},
			sites: []string{"qd-core", "x-wf"},
		},
		{
			// jn-core, the only on-time site, has the CPU and the memory
			// free but on different nodes: the work goes late to qd-core
			// rather than being refused.
			name: "place-late-fragmented", policy: "greenest",
			w: Workload{ID: "analytics-9", Class: "analytics", Origin: city(t, "JN"), Request: nodes.Resources{CPUMilli: 32_000, MemoryMiB: 65_536},
				Duration: 3 * time.Hour, Deadline: t0.Add(3*time.Hour + 10*time.Minute), InputMB: 1_000_000},
			setup: fragmentJN,
			sites: []string{"jn-core", "qd-core"},
			nodes: []string{"jn-core-0", "jn-core-1"},
		},
		{
			name: "place-late-fragmented-nearest", policy: "nearest",
			w: Workload{ID: "analytics-9", Class: "analytics", Origin: city(t, "JN"), Request: nodes.Resources{CPUMilli: 32_000, MemoryMiB: 65_536},
				Duration: 3 * time.Hour, Deadline: t0.Add(3*time.Hour + 10*time.Minute), InputMB: 1_000_000},
			setup: fragmentJN,
			sites: []string{"jn-core", "qd-core"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			snap := newFixture(t)
			if c.setup != nil {
				c.setup(t, snap)
			}
			ex := &Explanation{TopK: 3}
			for _, id := range c.sites {
				ex.WhyNotSites = append(ex.WhyNotSites, siteIdx(t, snap, id))
			}
			for _, id := range c.nodes {
				ex.WhyNotNodes = append(ex.WhyNotNodes, nodeIdx(t, snap, id))
			}
			mustNew(t, c.policy).Decide(snap, &c.w, t0, nil, ex)
			golden(t, "explain/"+c.name+".golden", ex.String())
		})
	}
}

// fragmentJN leaves jn-core 40 cores and 56 GiB free on jn-core-0 and 24
// cores with all memory free on its other nodes: the site's per-dimension
// maxima fit 32 cores and 64 GiB, no node does.
func fragmentJN(t *testing.T, s *Snapshot) {
	t.Helper()
	use := map[string]nodes.Resources{
		"jn-core-0": {CPUMilli: 24_000, MemoryMiB: 200 * 1024},
		"jn-core-1": {CPUMilli: 40_000},
		"jn-core-2": {CPUMilli: 40_000},
		"jn-core-3": {CPUMilli: 40_000},
	}
	for _, id := range []string{"jn-core-0", "jn-core-1", "jn-core-2", "jn-core-3"} {
		if err := s.State.Allocate(nodeIdx(t, s, id), use[id]); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLateSitesWhenOnTimeSitesAreFragmented: when the on-time sites pass
// the per-site capacity test but no node in them fits, every policy
// places the work late at another site, with and without an explanation.
func TestLateSitesWhenOnTimeSitesAreFragmented(t *testing.T) {
	for _, policy := range PolicyNames() {
		t.Run(policy, func(t *testing.T) {
			var got [2]Decision
			for i, explain := range []bool{false, true} {
				snap := newFixture(t)
				fragmentJN(t, snap)
				w := Workload{ID: "a", Origin: city(t, "JN"), Request: nodes.Resources{CPUMilli: 32_000, MemoryMiB: 65_536},
					Duration: 3 * time.Hour, Deadline: t0.Add(3*time.Hour + 10*time.Minute), InputMB: 1_000_000}
				var ex *Explanation
				if explain {
					ex = &Explanation{}
				}
				got[i] = mustNew(t, policy).Decide(snap, &w, t0, rand.New(rand.NewPCG(1, 2)), ex)
				if got[i].Outcome != Place || !got[i].Late || snap.State.Site(got[i].Site).ID == "jn-core" {
					t.Fatalf("explain=%v: got %v late=%v at site %d, want placed late away from jn-core\n%v", explain, got[i].Outcome, got[i].Late, got[i].Site, ex)
				}
			}
			if got[0].Node != got[1].Node {
				t.Errorf("explaining changed the decision: node %d without, %d with", got[0].Node, got[1].Node)
			}
		})
	}
}

// TestWhyNotNodeOutsideTheComparedNodes: binpack compares the first k
// fitting nodes of the chosen site; a better-fitting node beyond them is
// explained as such, not as having lost on score.
func TestWhyNotNodeOutsideTheComparedNodes(t *testing.T) {
	snap := newSnapshot(t, buildTopology([]siteDef{
		{"s", "JN", nodes.RoleCoreZone, 1.25, []nodes.Resources{cpu64, cpu64, cpu64, cpu64, cpu64, cpu64}},
	}))
	if err := snap.State.Allocate(nodeIdx(t, snap, "s-5"), nodes.Resources{CPUMilli: 56_000, MemoryMiB: 200 * 1024}); err != nil {
		t.Fatal(err)
	}
	w := Workload{ID: "w", Origin: city(t, "JN"), Request: nodes.Resources{CPUMilli: 4000, MemoryMiB: 8192}}
	ex := &Explanation{WhyNotNodes: []int{nodeIdx(t, snap, "s-5"), nodeIdx(t, snap, "s-1")}}
	d := mustNew(t, "binpack").Decide(snap, &w, t0, nil, ex)
	if d.Outcome != Place || ex.ChosenNode != "s-0" {
		t.Fatalf("got %v on %s, want s-0", d.Outcome, ex.ChosenNode)
	}
	if r := ex.WhyNot[0].Reason; !strings.Contains(r, "fitting node 6 of its site in node order and the policy compares only the first 4") {
		t.Errorf("s-5: %s", r)
	}
	if r := ex.WhyNot[1].Reason; !strings.Contains(r, "best-fit score") || strings.Contains(r, "compares only") {
		t.Errorf("s-1: %s", r)
	}
}
