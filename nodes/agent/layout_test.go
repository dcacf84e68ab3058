package agent

import (
	"strings"
	"testing"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

func TestSiteLayout(t *testing.T) {
	l, err := SiteLayout(api.Site{ID: "x-jn", City: "JN", Role: "edge", PUE: 1.6}, 12, "cpu-16")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Nodes) != 12 || l.Nodes[0].ID != "x-jn-0" || l.Nodes[11].ID != "x-jn-11" {
		t.Fatalf("nodes: got %d, first %q, last %q; want 12 named x-jn-0 … x-jn-11", len(l.Nodes), l.Nodes[0].ID, l.Nodes[len(l.Nodes)-1].ID)
	}
	want := nodes.Resources{CPUMilli: 16000, MemoryMiB: 65536}
	if l.Nodes[3].Capacity != want || l.Nodes[3].Type != "cpu-16" || l.Nodes[3].Site != "x-jn" {
		t.Errorf("node: got %+v, want cpu-16 %v at x-jn", l.Nodes[3], want)
	}
	sites, tiers, total := l.Summary()
	if len(sites) != 1 || len(tiers) != 1 || tiers[0] != "edge" || total.CPUMilli != 12*16000 {
		t.Errorf("summary: got %v %v %v", sites, tiers, total)
	}
}

func TestSiteLayoutErrors(t *testing.T) {
	good := api.Site{ID: "x-jn", City: "JN", Role: "edge", PUE: 1.6}
	for _, tc := range []struct {
		name  string
		site  api.Site
		n     int
		typ   string
		wants string
	}{
		{"no nodes", good, 0, "cpu-16", "--nodes 0"},
		{"too many", good, MaxNodes + 1, "cpu-16", "--nodes"},
		{"node type", good, 1, "cpu-17", "unknown node type \"cpu-17\" (allowed: cpu-4, cpu-8"},
		{"role", api.Site{ID: "x", City: "JN", Role: "edgy", PUE: 1.5}, 1, "cpu-4", "sites[0].role"},
		{"city", api.Site{ID: "x", City: "Atlantis", Role: "edge", PUE: 1.5}, 1, "cpu-4", "sites[0].city"},
		{"pue", api.Site{ID: "x", City: "JN", Role: "edge", PUE: 0.9}, 1, "cpu-4", "sites[0].pue"},
		{"site id", api.Site{ID: "x y", City: "JN", Role: "edge", PUE: 1.5}, 1, "cpu-4", "sites[0].id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SiteLayout(tc.site, tc.n, tc.typ)
			if err == nil || !strings.Contains(err.Error(), tc.wants) {
				t.Errorf("got %v, want an error containing %q", err, tc.wants)
			}
		})
	}
}

func TestSyntheticLayoutAndShards(t *testing.T) {
	l, err := SyntheticLayout(280)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Sites) != 28 || len(l.Nodes) != 280 {
		t.Fatalf("got %d sites, %d nodes; want 28, 280", len(l.Sites), len(l.Nodes))
	}
	_, tiers, _ := l.Summary()
	if strings.Join(tiers, ",") != "cluster,core,edge" {
		t.Errorf("tiers: got %v, want cluster, core, edge", tiers)
	}
	const n = 3
	seen := map[string]int{}
	for i := 0; i < n; i++ {
		s, err := l.Shard(i, n)
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("shard %d: %v", i, err)
		}
		if len(s.Nodes) < 280/n-28 || len(s.Nodes) > 280/n+28 {
			t.Errorf("shard %d: %d nodes, want about %d", i, len(s.Nodes), 280/n)
		}
		for _, nd := range s.Nodes {
			seen[nd.ID]++
		}
	}
	if len(seen) != 280 {
		t.Errorf("shards cover %d nodes, want 280", len(seen))
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("node %s in %d shards, want 1", id, k)
		}
	}
	if _, err := l.Shard(3, 3); err == nil {
		t.Error("shard 3/3: got nil error")
	}
	one, _ := SiteLayout(api.Site{ID: "x-jn", City: "JN", Role: "edge", PUE: 1.6}, 1, "cpu-4")
	if _, err := one.Shard(1, 2); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty shard: got %v, want an error", err)
	}
}

func TestLookupNodeType(t *testing.T) {
	for _, nt := range NodeTypes() {
		got, err := LookupNodeType(strings.ToUpper(nt.Name))
		if err != nil || got != nt {
			t.Errorf("%s: got %+v, %v", nt.Name, got, err)
		}
	}
	if g, _ := LookupNodeType("gpu-8"); g.Capacity != nodes.GPUServer {
		t.Errorf("gpu-8: got %v, want nodes.GPUServer", g.Capacity)
	}
}
