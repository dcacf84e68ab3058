package scheduler

import (
	"flag"
	"os"
	"path/filepath"
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
