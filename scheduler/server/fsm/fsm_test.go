package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// harness applies commands to an FSM with increasing log indexes.
type harness struct {
	t   testing.TB
	f   *FSM
	idx uint64
	// log holds the entries apply applied, log[i] at index i+1 (when
	// nothing else advanced idx).
	log [][]byte
}

// newHarness returns a harness on a new FSM. In tests (not benchmarks) the
// FSM keeps a copy of each workload version it publishes, and
// CheckInvariants fails if one changed afterwards (a write without
// touchWork).
func newHarness(t testing.TB) *harness { return newHarnessWith(t, Config{}) }

// newHarnessWith is newHarness with a configuration.
func newHarnessWith(t testing.TB, cfg Config) *harness {
	f := New(cfg)
	_, bench := t.(*testing.B)
	f.freeze = !bench
	return &harness{t: t, f: f}
}

func (h *harness) apply(typ CmdType, body any) any {
	h.t.Helper()
	b, err := Encode(typ, body)
	if err != nil {
		h.t.Fatal(err)
	}
	h.idx++
	h.log = append(h.log, b)
	res := h.f.Apply(h.idx, b)
	if err := h.f.CheckInvariants(); err != nil {
		h.t.Fatalf("after %s: invariants: %v", typ, err)
	}
	return res
}

func (h *harness) must(typ CmdType, body any) any {
	h.t.Helper()
	res := h.apply(typ, body)
	if err, ok := res.(error); ok {
		h.t.Fatalf("%s: %v", typ, err)
	}
	return res
}

func site(id, city, role string) api.Site { return api.Site{ID: id, City: city, Role: role, PUE: 1.3} }

func node(id, site string, cpu, mem, gpu int64) api.NodeSpec {
	return api.NodeSpec{ID: id, Site: site, Capacity: nodes.Resources{CPUMilli: cpu, MemoryMiB: mem, GPUMilli: gpu}}
}

func spec(id string, cpu int64) api.WorkloadSpec {
	return api.WorkloadSpec{ID: id, Origin: "JN", Request: nodes.Resources{CPUMilli: cpu, MemoryMiB: 1024}, DurationMs: 60000}
}

// setup registers agent a1 with two 4-core nodes at jn-core and agent a2
// with one 8-core node at x-jn.
func setup(t testing.TB) *harness { return setupWith(t, Config{}) }

// setupWith is setup with a configuration.
func setupWith(t testing.TB, cfg Config) *harness {
	h := newHarnessWith(t, cfg)
	h.must(CmdRegister, &Register{At: t0, AgentID: "a1",
		Sites: []api.Site{site("jn-core", "JN", "core-zone")},
		Nodes: []api.NodeSpec{node("n1", "jn-core", 4000, 8192, 0), node("n2", "jn-core", 4000, 8192, 0)}})
	h.must(CmdRegister, &Register{At: t0, AgentID: "a2",
		Sites: []api.Site{site("x-jn", "JN", "edge")},
		Nodes: []api.NodeSpec{node("n3", "x-jn", 8000, 16384, 1000)}})
	return h
}

func (h *harness) submit(specs ...api.WorkloadSpec) {
	h.t.Helper()
	h.must(CmdSubmit, &Submit{At: t0, Workloads: specs})
}

// readySeq returns the ready sequence number of a ready workload.
func (h *harness) readySeq(id string) uint64 {
	h.t.Helper()
	for _, r := range h.f.ReadyAfter(0, 1<<30, nil) {
		if r.Spec.ID == id {
			return r.Seq
		}
	}
	h.t.Fatalf("%s is not ready", id)
	return 0
}

func (h *harness) place(id, node string) *PlanResult {
	h.t.Helper()
	_, ep := h.f.Epochs()
	return h.must(CmdPlan, &Plan{At: t0.Add(time.Second), Epoch: ep, Items: []PlanItem{{ID: id, ReadySeq: h.readySeq(id), Outcome: OutcomePlace, Node: node}}}).(*PlanResult)
}

func (h *harness) status(id string) string {
	h.t.Helper()
	w, ok := h.f.Get(id)
	if !ok {
		return "absent"
	}
	return w.Status
}

func TestRegister(t *testing.T) {
	tests := []struct {
		name    string
		cmd     Register
		wantErr string
		check   func(t *testing.T, h *harness)
	}{
		{name: "new agent adds sites and nodes up",
			cmd: Register{AgentID: "a3", Sites: []api.Site{site("qd-core", "QD", "provincial")}, Nodes: []api.NodeSpec{node("n9", "qd-core", 2000, 1024, 0)}},
			check: func(t *testing.T, h *harness) {
				nl := h.f.Nodes("", "qd-core", "")
				if len(nl.Nodes) != 1 || nl.Nodes[0].State != "up" || nl.Nodes[0].Agent != "a3" {
					t.Errorf("got %+v, want n9 up owned by a3", nl.Nodes)
				}
			}},
		{name: "re-register without a node takes it down",
			cmd: Register{AgentID: "a1", Nodes: []api.NodeSpec{node("n1", "jn-core", 4000, 8192, 0)}},
			check: func(t *testing.T, h *harness) {
				n := h.f.Nodes("", "", "")
				if got := n.Nodes[1]; got.ID != "n2" || got.State != "down" || got.DownReason != "deregistered" {
					t.Errorf("got %s %s %s, want n2 down deregistered", got.ID, got.State, got.DownReason)
				}
			}},
		{name: "unknown site is refused", cmd: Register{AgentID: "a1", Nodes: []api.NodeSpec{node("n1", "nowhere", 1, 1, 0)}}, wantErr: "unknown site"},
		{name: "bad role is refused", cmd: Register{AgentID: "a1", Sites: []api.Site{site("s", "JN", "moon")}}, wantErr: "unknown role"},
		{name: "capacity change rebuilds", cmd: Register{AgentID: "a2", Nodes: []api.NodeSpec{node("n3", "x-jn", 16000, 16384, 1000)}},
			check: func(t *testing.T, h *harness) {
				if got := h.f.Nodes("", "x-jn", "").Nodes[0].Capacity.CPUMilli; got != 16000 {
					t.Errorf("got cpu %d, want 16000", got)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := setup(t)
			res := h.apply(CmdRegister, &tc.cmd)
			err, _ := res.(error)
			if tc.wantErr != "" {
				if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.wantErr)) {
					t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, h)
		})
	}
}

func TestShrinkingNodeRependsWhatNoLongerFits(t *testing.T) {
	h := setup(t)
	h.submit(spec("w1", 3000), spec("w2", 3000))
	h.place("w1", "n3")
	h.place("w2", "n3")
	// n3 shrinks to 4 cores: w1 (earlier) stays, w2 goes back to pending.
	h.must(CmdRegister, &Register{AgentID: "a2", Nodes: []api.NodeSpec{node("n3", "x-jn", 4000, 16384, 1000)}})
	if got := h.status("w1"); got != api.StatusPlaced {
		t.Errorf("w1: got %s, want placed", got)
	}
	if got := h.status("w2"); got != api.StatusPending {
		t.Errorf("w2: got %s, want pending", got)
	}
}

func TestNodeState(t *testing.T) {
	h := setup(t)
	h.submit(spec("w1", 1000), spec("w2", 1000))
	h.place("w1", "n1")
	h.place("w2", "n3")
	res := h.must(CmdNodeState, &NodeState{At: t0, AgentID: "a1", State: "down", Reason: "gossip"}).(*NodeStateResult)
	if res.Changed != 2 || res.Repended != 1 {
		t.Errorf("down: got %+v, want 2 changed, 1 repended", res)
	}
	if got := h.status("w1"); got != api.StatusPending {
		t.Errorf("w1 after its node went down: got %s, want pending", got)
	}
	if got := h.status("w2"); got != api.StatusPlaced {
		t.Errorf("w2 on another agent: got %s, want placed", got)
	}
	// An operator takes n3 down; gossip "up" for a1 must not bring n3 up.
	h.must(CmdNodeState, &NodeState{At: t0, Nodes: []string{"n3"}, State: "down", Reason: "operator"})
	h.must(CmdNodeState, &NodeState{At: t0, AgentID: "a2", State: "up", Reason: "gossip", OnlyReason: "gossip"})
	if got := h.f.Nodes("", "x-jn", "").Nodes[0].State; got != "down" {
		t.Errorf("n3 after gossip up: got %s, want down (operator)", got)
	}
	res = h.must(CmdNodeState, &NodeState{At: t0, AgentID: "a1", State: "up", Reason: "gossip", OnlyReason: "gossip"}).(*NodeStateResult)
	if res.Changed != 2 {
		t.Errorf("up: got %d changed, want 2", res.Changed)
	}
	if err, _ := h.apply(CmdNodeState, &NodeState{Nodes: []string{"zz"}, State: "down"}).(*api.Error); err == nil || err.Code != api.CodeNotFound {
		t.Errorf("unknown node: got %v, want not_found", err)
	}
	if err, _ := h.apply(CmdNodeState, &NodeState{Nodes: []string{"n1"}, State: "sideways"}).(*api.Error); err == nil || err.Code != api.CodeInvalid {
		t.Errorf("bad state: got %v, want invalid", err)
	}
}

func TestSubmit(t *testing.T) {
	tests := []struct {
		name     string
		specs    []api.WorkloadSpec
		wantCode string
		want     []string // per item results
	}{
		{name: "created", specs: []api.WorkloadSpec{spec("a", 1000), spec("b", 1000)}, want: []string{"created", "created"}},
		{name: "same spec again exists", specs: []api.WorkloadSpec{spec("w0", 1000), spec("c", 1)}, want: []string{"exists", "created"}},
		{name: "different spec conflicts, nothing applied", specs: []api.WorkloadSpec{spec("d", 1), spec("w0", 2000)}, wantCode: api.CodeConflict},
		{name: "invalid spec", specs: []api.WorkloadSpec{{ID: "e", Origin: "JN"}}, wantCode: api.CodeInvalid},
		{name: "missing id", specs: []api.WorkloadSpec{{Origin: "JN", Request: nodes.Resources{CPUMilli: 1}}}, wantCode: api.CodeInvalid},
		{name: "duplicate in batch", specs: []api.WorkloadSpec{spec("f", 1), spec("f", 1)}, wantCode: api.CodeInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := setup(t)
			h.submit(spec("w0", 1000))
			res := h.apply(CmdSubmit, &Submit{At: t0, Workloads: tc.specs})
			if tc.wantCode != "" {
				var ae *api.Error
				if err, _ := res.(error); !errors.As(err, &ae) || ae.Code != tc.wantCode {
					t.Fatalf("got %v, want code %s", res, tc.wantCode)
				}
				if got := h.f.Counts().Workloads[api.StatusPending]; got != 1 {
					t.Errorf("pending after refused submit: got %d, want 1", got)
				}
				return
			}
			sr, ok := res.(*SubmitResult)
			if !ok {
				t.Fatalf("got %v, want *SubmitResult", res)
			}
			for i, it := range sr.Items {
				if it.Result != tc.want[i] {
					t.Errorf("item %d: got %s, want %s", i, it.Result, tc.want[i])
				}
			}
		})
	}
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name   string
		item   func(h *harness) PlanItem
		epoch  func(h *harness) uint64
		want   PlanResult
		status string
		check  func(t *testing.T, h *harness)
	}{
		{name: "place", item: func(h *harness) PlanItem {
			return PlanItem{ID: "w1", ReadySeq: h.readySeq("w1"), Outcome: OutcomePlace, Node: "n1"}
		}, want: PlanResult{Placed: 1}, status: api.StatusPlaced,
			check: func(t *testing.T, h *harness) {
				w, _ := h.f.Get("w1")
				if w.Node != "n1" || w.Site != "jn-core" || w.Agent != "a1" || !w.PlacedAt.Equal(t0.Add(time.Minute)) {
					t.Errorf("got %+v, want on n1 at jn-core by a1", w)
				}
				if _, as, _ := h.f.Assignments("a1"); len(as) != 1 || as[0].WorkloadID != "w1" {
					t.Errorf("assignments of a1: got %+v, want w1", as)
				}
			}},
		{name: "oversubscribing placement is refused and re-pended", item: func(h *harness) PlanItem {
			return PlanItem{ID: "big", ReadySeq: h.readySeq("big"), Outcome: OutcomePlace, Node: "n1"}
		}, want: PlanResult{Conflicts: 1}, status: api.StatusPending,
			check: func(t *testing.T, h *harness) {
				if h.readySeq("big") == 0 {
					t.Error("big is not ready again")
				}
				if used := h.f.Nodes("", "", "").Nodes[0].Used; used.CPUMilli != 0 {
					t.Errorf("n1 used: got %v, want nothing", used)
				}
			}},
		{name: "placement on a down node is refused", item: func(h *harness) PlanItem {
			h.must(CmdNodeState, &NodeState{Nodes: []string{"n2"}, State: "down", Reason: "operator"})
			return PlanItem{ID: "w1", ReadySeq: h.readySeq("w1"), Outcome: OutcomePlace, Node: "n2"}
		}, want: PlanResult{Conflicts: 1}, status: api.StatusPending},
		{name: "placement on an unknown node is refused", item: func(h *harness) PlanItem {
			return PlanItem{ID: "w1", ReadySeq: h.readySeq("w1"), Outcome: OutcomePlace, Node: "nope"}
		}, want: PlanResult{Conflicts: 1}, status: api.StatusPending},
		{name: "stale ready seq is ignored", item: func(h *harness) PlanItem {
			return PlanItem{ID: "w1", ReadySeq: h.readySeq("w1") + 1000, Outcome: OutcomePlace, Node: "n1"}
		}, want: PlanResult{Stale: 1}, status: api.StatusPending},
		{name: "unknown workload is stale", item: func(h *harness) PlanItem {
			return PlanItem{ID: "ghost", ReadySeq: 1, Outcome: OutcomePlace, Node: "n1"}
		}, want: PlanResult{Stale: 1}, status: api.StatusPending},
		{name: "defer", item: func(h *harness) PlanItem {
			return PlanItem{ID: "w1", ReadySeq: h.readySeq("w1"), Outcome: OutcomeDefer, NotBefore: t0.Add(time.Hour)}
		}, want: PlanResult{Deferred: 1}, status: api.StatusPending,
			check: func(t *testing.T, h *harness) {
				d := h.f.Deferred()
				if len(d) != 1 || d[0].Spec.ID != "w1" || !d[0].NotBefore.Equal(t0.Add(time.Hour)) {
					t.Errorf("deferred: got %+v, want w1 until t0+1h", d)
				}
				if _, ok := h.f.DeferredOne("w1", d[0].Seq); !ok {
					t.Error("DeferredOne: not found")
				}
			}},
		{name: "wait parks until capacity changes", item: func(h *harness) PlanItem {
			return PlanItem{ID: "big", ReadySeq: h.readySeq("big"), Outcome: OutcomeWait, Reason: "capacity", Explanation: "no room"}
		}, want: PlanResult{Waiting: 1}, status: api.StatusPending,
			check: func(t *testing.T, h *harness) {
				w, _ := h.f.Get("big")
				if !w.Waiting || w.Reason != "capacity" || w.Explanation != "no room" {
					t.Errorf("got %+v, want waiting for capacity with explanation", w)
				}
				for _, r := range h.f.ReadyAfter(0, 100, nil) {
					if r.Spec.ID == "big" {
						t.Error("a waiting workload is in the ready queue")
					}
				}
				// A node coming up releases it.
				h.must(CmdRegister, &Register{AgentID: "a9", Nodes: []api.NodeSpec{node("n9", "x-jn", 64000, 65536, 0)}})
				h.readySeq("big")
			}},
		{name: "wait on an old capacity epoch retries", epoch: func(h *harness) uint64 { _, e := h.f.Epochs(); return e - 1 },
			item: func(h *harness) PlanItem {
				return PlanItem{ID: "big", ReadySeq: h.readySeq("big"), Outcome: OutcomeWait, Reason: "capacity"}
			}, want: PlanResult{Waiting: 1}, status: api.StatusPending,
			check: func(t *testing.T, h *harness) { h.readySeq("big") }},
		{name: "reject", item: func(h *harness) PlanItem {
			return PlanItem{ID: "w1", ReadySeq: h.readySeq("w1"), Outcome: OutcomeReject, Reason: "latency", Explanation: "too far"}
		}, want: PlanResult{Rejected: 1}, status: api.StatusRejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := setup(t)
			h.submit(spec("w1", 1000), spec("big", 32000))
			it := tc.item(h)
			_, ep := h.f.Epochs()
			if tc.epoch != nil {
				ep = tc.epoch(h)
			}
			res := h.must(CmdPlan, &Plan{At: t0.Add(time.Minute), Epoch: ep, Items: []PlanItem{it}}).(*PlanResult)
			if *res != tc.want {
				t.Errorf("got %+v, want %+v", *res, tc.want)
			}
			if got := h.status(it.ID); it.ID != "ghost" && got != tc.status {
				t.Errorf("%s: got status %s, want %s", it.ID, got, tc.status)
			}
			if tc.check != nil {
				tc.check(t, h)
			}
		})
	}
}

// TestPlanRecheckRejectsOversubscription is the plan applier's invariant:
// two plans made on the same stale copy cannot both fill a node.
func TestPlanRecheckRejectsOversubscription(t *testing.T) {
	h := setup(t)
	h.submit(spec("w1", 3000), spec("w2", 3000))
	_, ep := h.f.Epochs()
	p1 := &Plan{At: t0, Epoch: ep, Items: []PlanItem{{ID: "w1", ReadySeq: h.readySeq("w1"), Outcome: OutcomePlace, Node: "n1"}}}
	p2 := &Plan{At: t0, Epoch: ep, Items: []PlanItem{{ID: "w2", ReadySeq: h.readySeq("w2"), Outcome: OutcomePlace, Node: "n1"}}}
	r1 := h.must(CmdPlan, p1).(*PlanResult)
	r2 := h.must(CmdPlan, p2).(*PlanResult)
	if r1.Placed != 1 || r2.Conflicts != 1 || r2.Placed != 0 {
		t.Fatalf("got %+v then %+v, want the second refused", r1, r2)
	}
	if got := h.f.Nodes("", "", "").Nodes[0].Used.CPUMilli; got != 3000 {
		t.Errorf("n1 used cpu: got %d, want 3000", got)
	}
	if _, e2 := h.f.Epochs(); e2 == ep {
		t.Error("capacity epoch did not change after a refused placement")
	}
}

func TestEvents(t *testing.T) {
	tests := []struct {
		name   string
		ev     api.Event
		agent  string
		result string
		status string
	}{
		{"started", api.Event{WorkloadID: "w1", NodeID: "n1", Kind: api.EventStarted}, "a1", "applied", api.StatusRunning},
		{"completed", api.Event{WorkloadID: "w1", NodeID: "n1", Kind: api.EventCompleted}, "a1", "applied", api.StatusCompleted},
		{"failed", api.Event{WorkloadID: "w1", NodeID: "n1", Kind: api.EventFailed}, "a1", "applied", api.StatusFailed},
		{"wrong node is stale", api.Event{WorkloadID: "w1", NodeID: "n2", Kind: api.EventCompleted}, "a1", "ignored", api.StatusPlaced},
		{"other agent", api.Event{WorkloadID: "w1", NodeID: "n1", Kind: api.EventCompleted}, "a2", "ignored", api.StatusPlaced},
		{"unknown workload", api.Event{WorkloadID: "zz", NodeID: "n1", Kind: api.EventCompleted}, "a1", "ignored", ""},
		{"bad kind", api.Event{WorkloadID: "w1", NodeID: "n1", Kind: "exploded"}, "a1", "ignored", api.StatusPlaced},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := setup(t)
			h.submit(spec("w1", 4000), spec("w2", 4000))
			h.place("w1", "n1")
			// w2 waits for capacity on a full cluster view.
			_, ep := h.f.Epochs()
			h.must(CmdPlan, &Plan{Epoch: ep, Items: []PlanItem{{ID: "w2", ReadySeq: h.readySeq("w2"), Outcome: OutcomeWait, Reason: "capacity"}}})
			tc.ev.At = t0.Add(time.Minute)
			res := h.must(CmdEvents, &Events{AgentID: tc.agent, Events: []api.Event{tc.ev}}).(*EventsResult)
			if got := res.Results[0].Result; got != tc.result {
				t.Errorf("got %s (%s), want %s", got, res.Results[0].Reason, tc.result)
			}
			if tc.status != "" {
				if got := h.status("w1"); got != tc.status {
					t.Errorf("w1: got %s, want %s", got, tc.status)
				}
			}
			if api.Terminal(tc.status) {
				if used := h.f.Nodes("", "", "").Nodes[0].Used; !used.IsZero() {
					t.Errorf("n1 used after finish: got %v, want nothing", used)
				}
				h.readySeq("w2") // released capacity un-parks waiting work
			}
		})
	}
}

func TestCancel(t *testing.T) {
	h := setup(t)
	h.submit(spec("p", 1000), spec("q", 1000), spec("r", 1000))
	h.place("q", "n1")
	if res := h.must(CmdCancel, &Cancel{ID: "p"}).(*CancelResult); res.Workload.Status != api.StatusCancelled {
		t.Errorf("pending: got %s, want cancelled", res.Workload.Status)
	}
	h.must(CmdCancel, &Cancel{ID: "q"})
	if used := h.f.Nodes("", "", "").Nodes[0].Used; !used.IsZero() {
		t.Errorf("n1 after cancel: got %v, want nothing used", used)
	}
	for _, tc := range []struct{ id, code string }{{"p", api.CodeConflict}, {"nope", api.CodeNotFound}} {
		err, _ := h.apply(CmdCancel, &Cancel{ID: tc.id}).(*api.Error)
		if err == nil || err.Code != tc.code {
			t.Errorf("cancel %s: got %v, want %s", tc.id, err, tc.code)
		}
	}
	// A plan naming a cancelled workload is stale.
	res := h.must(CmdPlan, &Plan{Items: []PlanItem{{ID: "p", ReadySeq: 1, Outcome: OutcomePlace, Node: "n1"}}}).(*PlanResult)
	if res.Stale != 1 {
		t.Errorf("plan on cancelled: got %+v, want stale", res)
	}
}

func TestServerDirectory(t *testing.T) {
	h := newHarness(t)
	h.must(CmdServer, &ServerCmd{Server: api.Server{ID: "s1", RaftAddr: "127.0.0.1:1", HTTPAddr: "127.0.0.1:2"}})
	h.must(CmdServer, &ServerCmd{Server: api.Server{ID: "s2", RaftAddr: "127.0.0.1:3", HTTPAddr: "127.0.0.1:4"}})
	h.must(CmdServer, &ServerCmd{Remove: true, Server: api.Server{ID: "s1"}})
	got := h.f.Servers()
	if len(got) != 1 || got[0].ID != "s2" {
		t.Errorf("got %+v, want only s2", got)
	}
	if err, _ := h.apply(CmdServer, &ServerCmd{Server: api.Server{ID: "bad id"}}).(error); err == nil {
		t.Error("bad id: got nil, want error")
	}
}

func TestApplyBadEntries(t *testing.T) {
	// (An unknown type halts the FSM instead: TestUnknownCommandHalts.)
	for _, data := range [][]byte{nil, {0}, {byte(CmdSubmit), 'x'}, {byte(CmdPlan), '[', ']'}} {
		res := New(Config{}).Apply(1, data)
		if err, ok := res.(error); !ok || !errors.Is(err, ErrDecode) {
			t.Errorf("Apply(%q): got %v, want ErrDecode", data, res)
		}
	}
}

func TestGCForgetsOldestTerminal(t *testing.T) {
	h := setup(t)
	h.f.cfg.MaxTerminal = 3
	for i := 0; i < 6; i++ {
		id := fmt.Sprintf("w%d", i)
		h.submit(spec(id, 1))
		h.must(CmdCancel, &Cancel{ID: id})
		h.must(CmdPlan, &Plan{}) // gc runs after plans too
	}
	for i := 0; i < 6; i++ {
		_, ok := h.f.Get(fmt.Sprintf("w%d", i))
		if want := i >= 3; ok != want {
			t.Errorf("w%d kept: got %v, want %v", i, ok, want)
		}
	}
}

// randomHistory drives an FSM through a seeded random mix of commands.
func randomHistory(t testing.TB, seed uint64, steps int) *harness {
	h := setup(t)
	randomSteps(h, seed, steps)
	return h
}

// randomSteps applies a seeded random mix of commands to h.
func randomSteps(h *harness, seed uint64, steps int) { randomStepsNamed(h, seed, steps, "w") }

// randomStepsNamed is randomSteps with workload IDs prefix0, prefix1, ...
func randomStepsNamed(h *harness, seed uint64, steps int, prefix string) {
	rng := rand.New(rand.NewPCG(seed, 1))
	nodesIDs := []string{"n1", "n2", "n3"}
	at := t0
	for i := 0; i < steps; i++ {
		at = at.Add(time.Second)
		switch rng.IntN(8) {
		case 0, 1:
			h.submit(spec(fmt.Sprintf("%s%d", prefix, i), int64(500+rng.IntN(4000))))
		case 2, 3:
			rd := h.f.ReadyAfter(0, 3, nil)
			_, ep := h.f.Epochs()
			p := &Plan{At: at, Epoch: ep}
			for _, r := range rd {
				out := []string{OutcomePlace, OutcomePlace, OutcomeWait, OutcomeDefer, OutcomeReject}[rng.IntN(5)]
				p.Items = append(p.Items, PlanItem{ID: r.Spec.ID, ReadySeq: r.Seq, Outcome: out, Node: nodesIDs[rng.IntN(3)], NotBefore: at.Add(time.Hour), Reason: "capacity"})
			}
			h.must(CmdPlan, p)
		case 4:
			var evs []api.Event
			for _, a := range []string{"a1", "a2"} {
				_, as, _ := h.f.Assignments(a)
				for _, x := range as {
					k := []string{api.EventStarted, api.EventCompleted, api.EventFailed}[rng.IntN(3)]
					// The current placement, none (an older agent) or a stale one.
					p := []uint64{x.Placement, 0, x.Placement - 1}[rng.IntN(3)]
					evs = append(evs, api.Event{WorkloadID: x.WorkloadID, NodeID: x.NodeID, Kind: k, At: at, Placement: p})
				}
			}
			h.must(CmdEvents, &Events{At: at, Events: evs})
		case 5:
			st := []string{"up", "down", "draining"}[rng.IntN(3)]
			h.must(CmdNodeState, &NodeState{At: at, Nodes: []string{nodesIDs[rng.IntN(3)]}, State: st, Reason: "operator"})
		case 6:
			if i > 0 {
				h.apply(CmdCancel, &Cancel{At: at, ID: fmt.Sprintf("%s%d", prefix, rng.IntN(i))})
			}
		case 7:
			if rng.IntN(4) == 0 {
				h.must(CmdRegister, &Register{At: at, AgentID: "a2", Nodes: []api.NodeSpec{node("n3", "x-jn", int64(4000+rng.IntN(8000)), 16384, 1000)}})
			}
		}
	}
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			h := randomHistory(t, seed, 300)
			var buf bytes.Buffer
			if err := h.f.Snapshot().Write(&buf); err != nil {
				t.Fatal(err)
			}
			g := New(Config{})
			if err := g.Restore(bytes.NewReader(buf.Bytes())); err != nil {
				t.Fatal(err)
			}
			if err := g.CheckInvariants(); err != nil {
				t.Fatalf("restored: %v", err)
			}
			if ok, diff := Equal(h.f, g); !ok {
				t.Fatalf("restored state differs: %s", diff)
			}
			// Both continue identically.
			if got, want := g.ReadyAfter(0, 1000, nil), h.f.ReadyAfter(0, 1000, nil); len(got) != len(want) {
				t.Errorf("ready after restore: got %d, want %d", len(got), len(want))
			}
		})
	}
}

func TestRestoreRejectsGarbage(t *testing.T) {
	h := setup(t)
	var buf bytes.Buffer
	_ = h.f.Snapshot().Write(&buf)
	good := buf.String()
	for name, s := range map[string]string{
		"empty":         "",
		"not json":      "{{{",
		"wrong version": `{"version":9}`,
		"unknown field": `{"version":1,"bogus":1}`,
		"truncated":     good[:len(good)/2],
		"unknown node":  `{"version":1,"sites":[],"nodes":[{"id":"n","site":"nowhere","state":"up","capacity":{"cpu_milli":1}}]}`,
	} {
		f := setup(t).f
		before := f.Index()
		if err := f.Restore(bytes.NewReader([]byte(s))); err == nil {
			t.Errorf("%s: got nil error", name)
		}
		if f.Index() != before {
			t.Errorf("%s: failed restore changed the FSM", name)
		}
	}
}

func TestListPagination(t *testing.T) {
	h := setup(t)
	for i := 0; i < 25; i++ {
		h.submit(spec(fmt.Sprintf("w%02d", i), 100))
	}
	h.place("w03", "n1")
	var got []string
	after := uint64(0)
	for pages := 0; pages < 10; pages++ {
		p := h.f.List(ListFilter{Status: api.StatusPending, After: after, Limit: 10})
		page, total, next := p.Workloads(), p.Total, p.Next
		if total != 24 {
			t.Errorf("page %d: total %d, want 24 (every pending workload, whatever the cursor)", pages, total)
		}
		for _, w := range page {
			got = append(got, w.ID)
		}
		if next == "" {
			break
		}
		fmt.Sscan(next, &after)
	}
	if len(got) != 24 || got[0] != "w00" || got[3] != "w04" {
		t.Errorf("got %v, want 24 pending in order without w03", got)
	}
	page := h.f.List(ListFilter{Node: "n1"}).Workloads()
	if len(page) != 1 || page[0].ID != "w03" {
		t.Errorf("by node: got %v, want w03", page)
	}
}

func TestSubmitPerItem(t *testing.T) {
	h := setup(t)
	h.submit(spec("w0", 1000))
	res := h.must(CmdSubmit, &Submit{At: t0, PerItem: true, Workloads: []api.WorkloadSpec{
		spec("a", 1), spec("w0", 2000), {ID: "bad", Origin: "JN"}, spec("w0", 1000), spec("a", 5),
	}}).(*SubmitResult)
	want := []string{"created", "conflict", "invalid", "exists", "conflict"}
	for i, it := range res.Items {
		if it.Result != want[i] {
			t.Errorf("item %d: got %s, want %s", i, it.Result, want[i])
		}
		if (it.Error != nil) != (want[i] == "conflict" || want[i] == "invalid") {
			t.Errorf("item %d: error %v", i, it.Error)
		}
	}
	if got := h.status("a"); got != api.StatusPending {
		t.Errorf("a: got %s, want pending", got)
	}
}

// TestPlanPreemption: a placement that lists victims evicts them (back to
// pending, ready again) only when each is live on that node with a lower
// priority and evicting them makes room; otherwise it is a conflict and
// nothing changes.
func TestPlanPreemption(t *testing.T) {
	pri := func(id string, cpu int64, p int) api.WorkloadSpec { s := spec(id, cpu); s.Priority = p; return s }
	plan := func(h *harness, id, node string, evict ...string) *PlanResult {
		_, ep := h.f.Epochs()
		return h.must(CmdPlan, &Plan{At: t0.Add(2 * time.Second), Epoch: ep, Items: []PlanItem{
			{ID: id, ReadySeq: h.readySeq(id), Outcome: OutcomePlace, Node: node, Evict: evict}}}).(*PlanResult)
	}
	for _, c := range []struct {
		name      string
		high      api.WorkloadSpec
		node      string
		evict     []string
		wantPlace bool
	}{
		{"evicts lower priority to make room", pri("hi", 2000, 5), "n1", []string{"lo1"}, true},
		{"equal priority is never evicted", pri("hi", 3000, 1), "n1", []string{"lo2"}, false},
		{"victim must be on that node", pri("hi", 3000, 5), "n1", []string{"lo3"}, false},
		{"victims must make room", pri("hi", 4000, 5), "n1", []string{"lo1"}, false},
		{"no duplicates", pri("hi", 4000, 5), "n1", []string{"lo1", "lo1"}, false},
		{"unknown victim", pri("hi", 3000, 5), "n1", []string{"nope"}, false},
		{"two victims", pri("hi", 4000, 5), "n1", []string{"lo1", "lo2"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := setup(t)
			h.submit(pri("lo1", 2000, 0), pri("lo2", 2000, 1), pri("lo3", 2000, 0))
			h.place("lo1", "n1")
			h.place("lo2", "n1")
			h.place("lo3", "n2")
			h.submit(c.high)
			res := plan(h, "hi", c.node, c.evict...)
			if !c.wantPlace {
				if res.Placed != 0 || res.Conflicts != 1 || res.Preempted != 0 {
					t.Fatalf("got %+v, want one conflict and nothing evicted", res)
				}
				for _, id := range []string{"lo1", "lo2", "lo3"} {
					if h.status(id) != api.StatusPlaced {
						t.Errorf("%s is %s, want still placed", id, h.status(id))
					}
				}
				return
			}
			if res.Placed != 1 || res.Preempted != len(c.evict) || h.status("hi") != api.StatusPlaced {
				t.Fatalf("got %+v (hi %s), want hi placed and %d evicted", res, h.status("hi"), len(c.evict))
			}
			for _, id := range c.evict {
				w, _ := h.f.Get(id)
				if w.Status != api.StatusPending || w.Node != "" || w.Reason != "preempted by hi" {
					t.Errorf("%s: status %s node %q reason %q, want pending, no node, preempted by hi", id, w.Status, w.Node, w.Reason)
				}
				h.readySeq(id) // ready to be placed again
			}
		})
	}
}
