package fsm

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/suanli/suanli/scheduler/server/api"
)

// nodeOf returns node id's record as the API shows it.
func (h *harness) nodeOf(id string) api.Node {
	h.t.Helper()
	for _, n := range h.f.Nodes("", "", "").Nodes {
		if n.ID == id {
			return n
		}
	}
	h.t.Fatalf("no node %s", id)
	return api.Node{}
}

// TestOperatorStateSurvivesTheAgent: a node an operator drained or took
// down stays so when its agent registers it again (after a quick restart,
// a crash the pool noticed, or with a new capacity) or rejoins the gossip
// pool; an operator's "up" lifts it. Nodes the operator did not touch come
// up.
func TestOperatorStateSurvivesTheAgent(t *testing.T) {
	a1 := func(instance string, cpu int64) *Register {
		return &Register{At: t0, AgentID: "a1", Instance: instance,
			Nodes: []api.NodeSpec{node("n1", "jn-core", cpu, 8192, 0), node("n2", "jn-core", 4000, 8192, 0)}}
	}
	gossipDown := &NodeState{At: t0, AgentID: "a1", State: "down", Reason: ReasonGossip}
	gossipUp := &NodeState{At: t0, AgentID: "a1", State: "up", Reason: ReasonGossip, OnlyReason: ReasonGossip}
	type step struct {
		typ  CmdType
		body any
	}
	paths := []struct {
		name  string
		steps []step
	}{
		{"re-registration (quick restart)", []step{{CmdRegister, a1("run-2", 4000)}}},
		{"re-registration with a new capacity (rebuild)", []step{{CmdRegister, a1("run-2", 6000)}}},
		{"death, then re-registration", []step{{CmdNodeState, gossipDown}, {CmdRegister, a1("run-2", 4000)}}},
		{"death, then back in the pool", []step{{CmdNodeState, gossipDown}, {CmdNodeState, gossipUp}}},
		{"death, back in the pool, re-registration", []step{{CmdNodeState, gossipDown}, {CmdNodeState, gossipUp}, {CmdRegister, a1("run-2", 4000)}}},
	}
	for _, op := range []struct {
		state, wantState, wantReason string
	}{
		{"draining", "draining", ""},
		{"down", "down", ReasonOperator},
	} {
		for _, p := range paths {
			t.Run(op.state+" then "+p.name, func(t *testing.T) {
				h := setup(t)
				h.must(CmdNodeState, &NodeState{At: t0, Nodes: []string{"n1"}, State: op.state, Reason: ReasonOperator})
				for _, s := range p.steps {
					h.must(s.typ, s.body)
				}
				if n := h.nodeOf("n1"); n.State != op.wantState || n.DownReason != op.wantReason || n.OperatorState != op.state {
					t.Errorf("n1: got %s (reason %q, operator %q), want %s (reason %q, operator %q)",
						n.State, n.DownReason, n.OperatorState, op.wantState, op.wantReason, op.state)
				}
				if n := h.nodeOf("n2"); n.State != "up" || n.OperatorState != "" {
					t.Errorf("n2 (untouched): got %s (operator %q), want up", n.State, n.OperatorState)
				}
				// The operator lifts it; the next registration keeps it up.
				h.must(CmdNodeState, &NodeState{At: t0, Nodes: []string{"n1"}, State: "up", Reason: ReasonOperator})
				h.must(CmdRegister, a1("run-3", 4000))
				if n := h.nodeOf("n1"); n.State != "up" || n.OperatorState != "" {
					t.Errorf("n1 after the operator's up: got %s (operator %q), want up", n.State, n.OperatorState)
				}
			})
		}
	}
}

// TestDrainedNodeKeepsItsWork: re-registering a drained node with work on
// it neither drops the work nor opens the node to new work.
func TestDrainedNodeKeepsItsWork(t *testing.T) {
	h := setup(t)
	h.submit(spec("w1", 1000), spec("w2", 1000))
	h.place("w1", "n1")
	h.must(CmdNodeState, &NodeState{At: t0, Nodes: []string{"n1"}, State: "draining", Reason: ReasonOperator})
	h.must(CmdRegister, &Register{At: t0, AgentID: "a1", Instance: "run-2",
		Nodes: []api.NodeSpec{node("n1", "jn-core", 4000, 8192, 0), node("n2", "jn-core", 4000, 8192, 0)}})
	if got := h.status("w1"); got != api.StatusPlaced {
		t.Errorf("w1 on the drained node: got %s, want placed", got)
	}
	if res := h.place("w2", "n1"); res.Placed != 0 || res.Conflicts != 1 {
		t.Errorf("placing w2 on the drained node: got %+v, want a conflict", res)
	}
}

// TestAgentDeathKeepsTheOperatorsReason: a node an operator took down
// still says so after its agent died (the others say gossip).
func TestAgentDeathKeepsTheOperatorsReason(t *testing.T) {
	h := setup(t)
	h.must(CmdNodeState, &NodeState{At: t0, Nodes: []string{"n1"}, State: "down", Reason: ReasonOperator})
	h.must(CmdNodeState, &NodeState{At: t0, AgentID: "a1", State: "down", Reason: ReasonGossip})
	if n1, n2 := h.nodeOf("n1"), h.nodeOf("n2"); n1.DownReason != ReasonOperator || n2.DownReason != ReasonGossip {
		t.Errorf("after the agent died: n1 down for %q, n2 for %q; want operator, gossip", n1.DownReason, n2.DownReason)
	}
}

// TestRestoreDerivesOperatorState: a snapshot written before nodes carried
// operator_state restores a drained node, and one an operator took down,
// with the operator's state; an unknown operator_state is refused.
func TestRestoreDerivesOperatorState(t *testing.T) {
	h := setup(t)
	h.must(CmdNodeState, &NodeState{At: t0, Nodes: []string{"n1"}, State: "draining", Reason: ReasonOperator})
	h.must(CmdNodeState, &NodeState{At: t0, Nodes: []string{"n3"}, State: "down", Reason: ReasonOperator})
	var buf bytes.Buffer
	if err := h.f.Snapshot().Write(&buf); err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(buf.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	for _, n := range d["nodes"].([]any) {
		delete(n.(map[string]any), "operator_state") // as an older server wrote it
	}
	old, _ := json.Marshal(d)
	f := New(Config{})
	if err := f.Restore(bytes.NewReader(old)); err != nil {
		t.Fatal(err)
	}
	if ok, diff := Equal(h.f, f); !ok {
		t.Errorf("restored state differs: %s", diff)
	}

	d["nodes"].([]any)[0].(map[string]any)["operator_state"] = "sideways"
	bad, _ := json.Marshal(d)
	if err := New(Config{}).Restore(bytes.NewReader(bad)); err == nil || !bytes.Contains([]byte(err.Error()), []byte(`operator_state "sideways"`)) {
		t.Errorf("restore with a bad operator_state: got %v, want an error naming it", err)
	}
}
