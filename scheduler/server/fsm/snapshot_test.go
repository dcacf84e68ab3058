package fsm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

// legacySnapshot is the snapshot as it was written before Snapshot shared
// the view: the whole state copied under the lock, then encoded by
// encoding/json's Encoder. The reference for State.Write's bytes.
func legacySnapshot(t testing.TB, f *FSM) []byte {
	t.Helper()
	f.mu.RLock()
	d := snapData{snapHead: snapHead{
		Version: snapshotVersion, Index: f.index, Seq: f.seq, ReadySeq: f.readySeq, ParkSeq: f.parkSeq, CapEpoch: f.capEpoch,
		ClusterID: f.clusterID,
		Sites:     append([]api.Site{}, f.sites...),
		Nodes:     make([]api.Node, len(f.nodes)),
		Servers:   make([]api.Server, 0, len(f.servers)),
	}, Workloads: make([]snapWork, 0, len(f.work))}
	for i, nr := range f.nodes {
		d.Nodes[i] = nr.n
		d.Nodes[i].Used = nodes.Resources{}
	}
	ids := make([]string, 0, len(f.agents))
	for id := range f.agents {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := f.agents[id]
		d.Agents = append(d.Agents, agentRec{ID: a.ID, Nodes: append([]string{}, a.Nodes...), Index: a.Index, Instance: a.Instance})
	}
	for _, s := range f.servers {
		d.Servers = append(d.Servers, s)
	}
	sort.Slice(d.Servers, func(a, b int) bool { return d.Servers[a].ID < d.Servers[b].ID })
	for _, r := range f.order {
		if !r.deleted {
			d.Workloads = append(d.Workloads, snapWork{Workload: *r.w, Queue: r.q, ReadySeq: r.readySeq, ParkSeq: r.parkSeq})
		}
	}
	for _, e := range f.terminal[f.termHead:] {
		if e.r != nil && !e.r.deleted {
			d.Terminal = append(d.Terminal, e.r.w.ID)
		}
	}
	f.mu.RUnlock()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(&d); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeState writes s and returns the bytes.
func writeState(t testing.TB, s *State) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// diffAt describes the first difference between two snapshots.
func diffAt(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-80)
	return fmt.Sprintf("lengths %d and %d, first difference at byte %d:\n %q\n %q", len(a), len(b), i, a[lo:min(len(a), i+80)], b[lo:min(len(b), i+80)])
}

// fillQueues brings every node up and submits p0..p9: p0-p2 placed (on
// n1, n2, n3), p3-p4 waiting, p5-p6 deferred, p7-p9 ready.
func fillQueues(h *harness) {
	h.must(CmdNodeState, &NodeState{At: t0, Nodes: []string{"n1", "n2", "n3"}, State: "up", Reason: ReasonOperator})
	var specs []api.WorkloadSpec
	for i := range 10 {
		specs = append(specs, spec(fmt.Sprintf("p%d", i), 10))
	}
	h.submit(specs...)
	for i, n := range []string{"n1", "n2", "n3"} {
		if res := h.place(fmt.Sprintf("p%d", i), n); res.Placed != 1 {
			h.t.Fatalf("p%d not placed on %s: %+v", i, n, res)
		}
	}
	_, ep := h.f.Epochs()
	p := &Plan{At: t0, Epoch: ep}
	for i := 3; i < 7; i++ {
		id := fmt.Sprintf("p%d", i)
		it := PlanItem{ID: id, ReadySeq: h.readySeq(id), Outcome: OutcomeWait, Reason: "capacity"}
		if i >= 5 {
			it.Outcome, it.NotBefore = OutcomeDefer, t0.Add(time.Hour)
		}
		p.Items = append(p.Items, it)
	}
	if res := h.must(CmdPlan, p).(*PlanResult); res.Waiting != 2 || res.Deferred != 2 {
		h.t.Fatalf("fill the queues: %+v", res)
	}
}

// changeEverything applies, after a snapshot, commands that change or
// forget what the snapshot holds: a random mix (submits, plans that place,
// park, defer and reject, completions, cancels, node states, a
// re-registration), node n1 down and up (its work re-pended), and 1,500
// rejected workloads, so that the GC forgets every terminal workload the
// snapshot lists and compacts the terminal list it shares.
func changeEverything(h *harness, seed uint64) {
	randomStepsNamed(h, seed, 300, "v")
	h.must(CmdNodeState, &NodeState{At: t0, Nodes: []string{"n1"}, State: "down", Reason: ReasonOperator})
	h.must(CmdNodeState, &NodeState{At: t0, Nodes: []string{"n1"}, State: "up", Reason: ReasonOperator})
	rejectMany(h, "x", 15, 100)
}

// rejectMany submits and rejects batches of size workloads (IDs
// prefixBB-IIII).
func rejectMany(h *harness, prefix string, batches, size int) {
	h.t.Helper()
	for b := range batches {
		specs := make([]api.WorkloadSpec, size)
		for i := range specs {
			specs[i] = spec(fmt.Sprintf("%s%02d-%04d", prefix, b, i), 100)
		}
		h.submit(specs...)
		p := &Plan{At: t0}
		for _, r := range h.f.ReadyAfter(0, 1<<30, nil) {
			if strings.HasPrefix(r.Spec.ID, prefix) {
				p.Items = append(p.Items, PlanItem{ID: r.Spec.ID, ReadySeq: r.Seq, Outcome: OutcomeReject, Reason: "test"})
			}
		}
		if res := h.must(CmdPlan, p).(*PlanResult); res.Rejected != len(specs) {
			h.t.Fatalf("batch %d: %d rejected, want %d", b, res.Rejected, len(specs))
		}
	}
}

// TestSnapshotWriteAfterApplies takes a snapshot, applies many more
// commands (while a first Write runs, and before a second one), and checks
// that both writes are byte for byte the state at the snapshot's index:
// the old copy-everything snapshot taken at that moment, and the snapshot
// of a second FSM that replayed the log up to that index; and that
// restoring the bytes gives that state back.
func TestSnapshotWriteAfterApplies(t *testing.T) {
	cfg := Config{MaxTerminal: 40, UnparkBudget: 4}
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			h := setupWith(t, cfg)
			// 3,000 rejected at once first: the terminal list's array,
			// compacted in place, then has room for all that comes after
			// the snapshot, so the GC would write over the entries the
			// snapshot shares (were it not for termShared).
			rejectMany(h, "y", 1, 3000)
			randomSteps(h, seed, 300)
			fillQueues(h)
			want := legacySnapshot(t, h.f)
			at := h.idx
			s := h.f.Snapshot()
			if s.Index() != at {
				t.Fatalf("snapshot index %d, want %d", s.Index(), at)
			}
			if len(s.term) == 0 {
				t.Fatal("the history left no terminal workload: the test would not check the terminal list")
			}

			var during bytes.Buffer
			done := make(chan error, 1)
			go func() { done <- s.Write(&during) }()
			changeEverything(h, seed+100)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			after := writeState(t, s)

			if !bytes.Equal(after, want) {
				t.Fatalf("write after the applies differs from the state at the snapshot: %s", diffAt(after, want))
			}
			if !bytes.Equal(during.Bytes(), want) {
				t.Fatalf("write during the applies differs from the state at the snapshot: %s", diffAt(during.Bytes(), want))
			}

			// What changed since the snapshot, so that the checks below
			// could fail: workloads forgotten, or in another version or
			// queue; and the terminal list compacted into a new array.
			gone, changed, requeued := 0, 0, 0
			s.work.scan(0, workKey{}, nil, func(_ int, p *pub[api.Workload]) bool {
				switch r := h.f.work[p.v.ID]; {
				case r == nil:
					gone++
				case r.pub != p:
					changed++
					if r.qstate != p.qs {
						requeued++
					}
				}
				return true
			})
			for _, e := range s.term {
				if h.f.work[e.id] != nil {
					t.Errorf("terminal %s still kept after the GC", e.id)
				}
			}
			if gone == 0 || changed == 0 || requeued == 0 || h.f.termShared.Load() {
				t.Fatalf("the commands after the snapshot did too little: %d workloads gone, %d changed, %d requeued, terminal list still shared %v",
					gone, changed, requeued, h.f.termShared.Load())
			}

			// A second FSM replays the log to the snapshot's index.
			g := New(cfg)
			for i, e := range h.log[:at] {
				g.Apply(uint64(i+1), e) // the same results as the first time
			}
			if got := writeState(t, g.Snapshot()); !bytes.Equal(got, after) {
				t.Fatalf("snapshot of the replayed FSM differs: %s", diffAt(got, after))
			}

			// Restoring the bytes gives that state back.
			r := New(cfg)
			if err := r.Restore(bytes.NewReader(after)); err != nil {
				t.Fatal(err)
			}
			if err := r.CheckInvariants(); err != nil {
				t.Fatalf("restored: %v", err)
			}
			if ok, diff := Equal(r, g); !ok {
				t.Fatalf("restored state differs from the replayed one: %s", diff)
			}
			if got := legacySnapshot(t, r); !bytes.Equal(got, want) {
				t.Fatalf("restored state differs: %s", diffAt(got, want))
			}
		})
	}
}

// TestSnapshotWriteMatchesLegacy: after random histories (with and
// without GC, list reads caching some workloads' JSON), Write is byte for
// byte the old encoding of the same state, and an empty FSM's too.
func TestSnapshotWriteMatchesLegacy(t *testing.T) {
	if got, want := writeState(t, New(Config{}).Snapshot()), legacySnapshot(t, New(Config{})); !bytes.Equal(got, want) {
		t.Fatalf("empty FSM: %s", diffAt(got, want))
	}
	for _, cfg := range []Config{{}, {MaxTerminal: 5}} {
		for seed := uint64(1); seed <= 3; seed++ {
			h := setupWith(t, cfg)
			randomSteps(h, seed, 200)
			h.f.List(ListFilter{Limit: 50}) // caches 50 workloads' JSON
			h.must(CmdServer, &ServerCmd{Server: api.Server{ID: "s2", RaftAddr: "10.0.0.2:7000"}})
			h.must(CmdServer, &ServerCmd{Server: api.Server{ID: "s1", RaftAddr: "10.0.0.1:7000"}})
			h.must(CmdClusterID, &ClusterID{ID: "c1"})
			if got, want := writeState(t, h.f.Snapshot()), legacySnapshot(t, h.f); !bytes.Equal(got, want) {
				t.Fatalf("MaxTerminal %d, seed %d: %s", cfg.MaxTerminal, seed, diffAt(got, want))
			}
		}
	}
}

// TestRestoreRejectsDuplicateTerminal: a terminal list that names a
// workload twice is refused (no snapshot has one; State.Write relies on
// each kept terminal workload being listed once).
func TestRestoreRejectsDuplicateTerminal(t *testing.T) {
	h := randomHistory(t, 1, 200)
	var d snapData
	if err := json.Unmarshal(writeState(t, h.f.Snapshot()), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Terminal) == 0 {
		t.Fatal("no terminal workload in the history")
	}
	d.Terminal = append(d.Terminal, d.Terminal[0])
	b, err := json.Marshal(&d)
	if err != nil {
		t.Fatal(err)
	}
	f := New(Config{})
	if err := f.Restore(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("got %v, want an error naming the duplicate", err)
	}
}

// TestAppendJSONString: terminal IDs are written as json.Marshal writes
// them, escaping or not.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "w1", "plain-id_1.2:x", "a<b>&c", `q"uote`, `back\slash`, "tab\t", "\x01", "é", "\u2028", "\xff"} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendJSONString([]byte("x"), s)
		if err != nil || string(got) != "x"+string(want) {
			t.Errorf("%q: got %s, %v; want x%s", s, got, err, want)
		}
	}
}
