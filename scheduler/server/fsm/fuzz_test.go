package fsm

import (
	"bytes"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// FuzzFSMApply feeds arbitrary log entries to an FSM holding some state:
// Apply must return a value (often an error), never panic, and leave the
// state consistent.
func FuzzFSMApply(f *testing.F) {
	seeds := []struct {
		t    CmdType
		body any
	}{
		{CmdSubmit, &Submit{Workloads: []api.WorkloadSpec{spec("x", 100)}}},
		{CmdPlan, &Plan{Items: []PlanItem{{ID: "w1", ReadySeq: 3, Outcome: OutcomePlace, Node: "n1"}}}},
		{CmdEvents, &Events{Events: []api.Event{{WorkloadID: "w1", NodeID: "n1", Kind: "completed", At: t0}}}},
		{CmdNodeState, &NodeState{AgentID: "a1", State: "down"}},
		{CmdCancel, &Cancel{ID: "w1"}},
		{CmdRegister, &Register{AgentID: "a1", Nodes: []api.NodeSpec{node("n1", "jn-core", 1, 1, 0)}}},
		{CmdServer, &ServerCmd{Server: api.Server{ID: "s"}}},
	}
	for _, s := range seeds {
		b, _ := Encode(s.t, s.body)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{4, '{', '"', 'i', 't', 'e', 'm', 's', '"', ':', 'n', 'u', 'l', 'l', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		h := setup(t)
		h.submit(spec("w1", 1000), spec("w2", 2000))
		h.place("w1", "n1")
		h.idx++
		_ = h.f.Apply(h.idx, data)
		if err := h.f.CheckInvariants(); err != nil {
			t.Fatalf("invariants after %q: %v", data, err)
		}
	})
}

// FuzzSnapshotRestore: arbitrary snapshot bytes make Restore return an
// error or a consistent state, never panic.
func FuzzSnapshotRestore(f *testing.F) {
	var buf bytes.Buffer
	h := randomHistory(f, 1, 60)
	_ = h.f.Snapshot().Write(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := New(Config{})
		if err := g.Restore(bytes.NewReader(data)); err != nil {
			return
		}
		if err := g.CheckInvariants(); err != nil {
			t.Fatalf("restored an inconsistent state: %v", err)
		}
	})
}

var _ = time.Second
