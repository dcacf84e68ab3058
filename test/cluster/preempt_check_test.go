package cluster

import (
	"strings"
	"testing"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

// TestPreemptChecks: the checks TestChaosPreempt runs on views find what
// they should (so a clean run is not a blind one).
func TestPreemptChecks(t *testing.T) {
	cpu := func(m int64) nodes.Resources { return nodes.Resources{CPUMilli: m} }
	node := func(id, state string, used int64) api.Node {
		return api.Node{NodeSpec: api.NodeSpec{ID: id, Capacity: nodes.Resources{CPUMilli: 8000, MemoryMiB: 32768}}, State: state, Used: cpu(used)}
	}
	live := func(id, on string, m int64, prio int) api.Workload {
		return api.Workload{WorkloadSpec: api.WorkloadSpec{ID: id, Request: cpu(m), Priority: prio}, Status: api.StatusRunning, Node: on}
	}
	waiting := func(id string, m int64, prio int) api.Workload {
		return api.Workload{WorkloadSpec: api.WorkloadSpec{ID: id, Request: cpu(m), Priority: prio}, Status: api.StatusPending, Waiting: true, Reason: "capacity"}
	}
	view := func(ns []api.Node, ws ...api.Workload) placementView {
		v := placementView{work: map[string]api.Workload{}, nodes: map[string]api.Node{}}
		for _, n := range ns {
			v.nodes[n.ID] = n
		}
		for _, w := range ws {
			v.work[w.ID] = w
		}
		return v
	}
	full := []api.Node{node("n1", "up", 8000), node("n2", "down", 0)}
	for _, c := range []struct {
		name       string
		v          placementView
		inversion  string // substring of the one expected finding, "" = none
		quiescent  bool
		viewProbed string // substring of the one expected viewProblems finding
	}{
		{"equal priority is no inversion", view(full, live("a", "n1", 8000, 5), waiting("w", 2000, 5)), "", true, ""},
		{"lower priority that makes room is", view(full, live("a", "n1", 6000, 5), live("b", "n1", 2000, 1), waiting("w", 2000, 5)), "w (priority 5", true, ""},
		{"lower priority that does not make room is not", view(full, live("a", "n1", 7000, 5), live("b", "n1", 1000, 1), waiting("w", 2000, 5)), "", true, ""},
		{"free room plus lower priority", view([]api.Node{node("n1", "up", 7000)}, live("a", "n1", 6000, 9), live("b", "n1", 1000, 1), waiting("w", 2000, 5)), "1000 millicores free", true, ""},
		{"down nodes do not count", view([]api.Node{node("n1", "up", 8000), node("n2", "down", 0)}, live("a", "n1", 8000, 9), waiting("w", 2000, 5)), "", true, ""},
		{"ready work is not quiescent", view(full, live("a", "n1", 8000, 1), api.Workload{WorkloadSpec: api.WorkloadSpec{ID: "r", Request: cpu(1000)}, Status: api.StatusPending}), "", false, ""},
		{"over capacity", view([]api.Node{node("n1", "up", 9000)}, live("a", "n1", 9000, 1)), "", true, "over capacity"},
		{"used disagrees", view([]api.Node{node("n1", "up", 3000)}, live("a", "n1", 2000, 1)), "", true, "add up to"},
		{"live on a down node", view([]api.Node{node("n2", "down", 1000)}, live("a", "n2", 1000, 1)), "", true, "which is down"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := quiescent(c.v); got != c.quiescent {
				t.Errorf("quiescent: got %v, want %v", got, c.quiescent)
			}
			inv := inversions(c.v)
			switch {
			case c.inversion == "" && len(inv) > 0:
				t.Errorf("inversions: got %q, want none", inv)
			case c.inversion != "" && (len(inv) != 1 || !strings.Contains(inv[0], c.inversion)):
				t.Errorf("inversions: got %q, want one containing %q", inv, c.inversion)
			}
			vp := viewProblems(c.v)
			switch {
			case c.viewProbed == "" && len(vp) > 0:
				t.Errorf("viewProblems: got %q, want none", vp)
			case c.viewProbed != "" && (len(vp) != 1 || !strings.Contains(vp[0], c.viewProbed)):
				t.Errorf("viewProblems: got %q, want one containing %q", vp, c.viewProbed)
			}
		})
	}
	if got := acceptPreempt(waiting("w", 2000, prioHigh)); got == "" {
		t.Error("a waiting high-priority workload was accepted")
	}
	if got := acceptPreempt(waiting("w", 2000, prioMid)); got != "" {
		t.Errorf("a waiting mid-priority workload: %s", got)
	}
}
