package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suanli/suanli/nodes"
)

func TestLoadScenarioBaseline(t *testing.T) {
	path := filepath.Join("..", "..", "scenarios", "shandong-baseline.yaml")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no %s: %v", path, err)
	}
	l, err := LoadScenario(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Sites) < 20 || len(l.Nodes) < 1000 {
		t.Fatalf("got %d sites, %d nodes; want the baseline's province", len(l.Sites), len(l.Nodes))
	}
	byID := map[string]bool{}
	for _, n := range l.Nodes {
		if byID[n.ID] {
			t.Fatalf("duplicate node id %s", n.ID)
		}
		byID[n.ID] = true
	}
	// jn-core: 2000 cpu-64 then 200 gpu-8.
	first, gpu := l.Nodes[0], l.Nodes[2000]
	if first.ID != "jn-core-00000" || first.Capacity != (nodes.Resources{CPUMilli: 64000, MemoryMiB: 256 * 1024}) {
		t.Errorf("first node: got %+v", first)
	}
	if gpu.ID != "jn-core-02000" || gpu.Type != "gpu-8" || gpu.Capacity.GPUMilli != 8000 {
		t.Errorf("node 2000: got %+v, want jn-core's first gpu-8", gpu)
	}
	sites, tiers, _ := l.Summary()
	if len(sites) != len(l.Sites) || strings.Join(tiers, ",") != "cluster,core,edge" {
		t.Errorf("summary: %d sites, tiers %v", len(sites), tiers)
	}
}

func TestLoadScenarioErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: x\nsites: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadScenario(bad)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:") {
		t.Errorf("got %v, want an error naming bad.yaml:line:col", err)
	}
	if _, err := LoadScenario(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file: got nil error")
	}
}
