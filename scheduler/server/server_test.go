package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
)

func TestSingleServerLifecycle(t *testing.T) {
	cfg := testConfig(t, "s1")
	cfg.Bootstrap = true
	s := startServer(t, cfg)
	waitFor(t, "leader", 5*time.Second, s.IsLeader)
	c := client(s)
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 2)

	res, err := c.Submit(ctx(t), wspec("w1", 4000))
	if err != nil || res.Result != "created" {
		t.Fatalf("submit: got %+v, %v", res, err)
	}
	w := waitStatus(t, c, "w1", api.StatusPlaced)
	if w.Site != "jn-core" || w.Agent != "a1" {
		t.Errorf("placed: got %+v, want at jn-core by a1", w)
	}
	// Same id and spec again: idempotent.
	if res, err := c.Submit(ctx(t), wspec("w1", 4000)); err != nil || res.Result != "exists" {
		t.Errorf("resubmit: got %+v, %v; want exists", res, err)
	}
	// Same id, other spec: conflict.
	if _, err := c.Submit(ctx(t), wspec("w1", 5000)); !isCode(err, api.CodeConflict) {
		t.Errorf("conflicting resubmit: got %v, want conflict", err)
	}
	// The agent sees it, starts and completes it.
	as, err := c.Assignments(ctx(t), "a1", 0, time.Second)
	if err != nil || len(as.Assignments) != 1 || as.Assignments[0].WorkloadID != "w1" {
		t.Fatalf("assignments: got %+v, %v", as, err)
	}
	if _, err := c.Events(ctx(t), "a1", []api.Event{{WorkloadID: "w1", NodeID: w.Node, Kind: api.EventStarted, At: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "w1", api.StatusRunning)
	ev, err := c.Events(ctx(t), "a1", []api.Event{{WorkloadID: "w1", NodeID: w.Node, Kind: api.EventCompleted, At: time.Now()}})
	if err != nil || ev.Results[0].Result != "applied" {
		t.Fatalf("complete: got %+v, %v", ev, err)
	}
	waitStatus(t, c, "w1", api.StatusCompleted)
	as, _ = c.Assignments(ctx(t), "a1", 0, time.Second)
	if len(as.Assignments) != 0 {
		t.Errorf("assignments after completion: got %+v, want none", as.Assignments)
	}

	// Too big for any node: waits for capacity (pending, explained).
	submitOK(t, c, wspec("huge", 32000))
	waitFor(t, "huge waiting", 5*time.Second, func() bool {
		w, err := c.Get(ctx(t), "huge")
		return err == nil && w.Waiting && w.Reason == "capacity" && strings.Contains(w.Explanation, "capacity")
	})
	// A bigger node arrives: it gets placed.
	registerAgent(t, c, "a2", "qd-core", "QD", "provincial", 0)
	big := api.RegisterRequest{AgentID: "a2", Nodes: []api.NodeSpec{{ID: "big-0", Site: "qd-core", Capacity: wspec("", 64000).Request}}}
	big.Nodes[0].Capacity.MemoryMiB = 1 << 20
	if _, err := c.Register(ctx(t), big); err != nil {
		t.Fatal(err)
	}
	if w := waitStatus(t, c, "huge", api.StatusPlaced); w.Node != "big-0" {
		t.Errorf("huge: got node %s, want big-0", w.Node)
	}

	// Latency bound no site can meet: rejected for good, with the reason.
	far := wspec("far", 1000)
	far.Origin, far.LatencyBoundMs = "HZ", 0.6
	submitOK(t, c, far)
	if w := waitStatus(t, c, "far", api.StatusRejected); w.Reason != "latency" || w.Explanation == "" {
		t.Errorf("far: got reason %q explanation %q, want latency with an explanation", w.Reason, w.Explanation)
	}

	// Cancel a pending one.
	pend := wspec("p1", 1000)
	pend.Sites = []string{"nowhere"}
	submitOK(t, c, pend)
	waitStatus(t, c, "p1", api.StatusRejected) // no allowed site exists: permanent
	if _, err := c.Cancel(ctx(t), "p1"); !isCode(err, api.CodeConflict) {
		t.Errorf("cancel rejected: got %v, want conflict", err)
	}

	// List with filters.
	l, err := c.List(ctx(t), api.ListOptions{Status: api.StatusRejected})
	if err != nil || l.Total != 2 {
		t.Errorf("list rejected: got %+v, %v; want 2", l, err)
	}
	if _, err := c.List(ctx(t), api.ListOptions{Status: "sleeping"}); !isCode(err, api.CodeInvalid) {
		t.Errorf("bad status filter: got %v, want invalid", err)
	}
	// Consistent read on the leader.
	if _, err := c.List(ctx(t), api.ListOptions{Consistent: true}); err != nil {
		t.Errorf("consistent list: %v", err)
	}

	// Dry run with why-not.
	pr, err := c.Plan(ctx(t), api.PlanRequest{Workload: wspec("", 2000), WhyNotSites: []string{"qd-core"}})
	if err != nil || pr.Outcome != "place" || pr.Site == "" || len(pr.Explanation.WhyNot) != 1 || pr.Explanation.Text == "" {
		t.Errorf("plan: got %+v, %v", pr, err)
	}
	if _, err := c.Get(ctx(t), pr.Node); !isCode(err, api.CodeNotFound) {
		t.Errorf("the dry run must commit nothing")
	}

	// Metrics.
	resp, err := http.Get("http://" + s.Addrs().HTTPAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"suanli_placements_total", "suanli_pending_workloads", "suanli_commit_latency_seconds_bucket", "suanli_leader_changes_total", `suanli_nodes{state="up"}`, `suanli_workloads{status="completed"} 1`} {
		if !bytes.Contains(b, []byte(m)) {
			t.Errorf("metrics lack %s", m)
		}
	}
	if err := s.FSM().CheckInvariants(); err != nil {
		t.Error(err)
	}
	a, err := ReadAddrs(cfg.DataDir)
	if err != nil || a != s.Addrs() {
		t.Errorf("addrs.json: got %+v, %v; want %+v", a, err, s.Addrs())
	}
}

func isCode(err error, code string) bool {
	e, ok := err.(*api.Error)
	return ok && e.Code == code
}

// TestClusterWritesSurviveLeaderChange: a 3-server cluster over real TCP
// with durable stores; every acknowledged write survives the leader's
// crash, and the cluster keeps placing work under the new leader.
func TestClusterWritesSurviveLeaderChange(t *testing.T) {
	ss := startCluster(t, 3, nil)
	l := leaderOf(t, ss)
	// Talk to a follower: writes are forwarded.
	var f *Server
	for _, s := range ss {
		if s != l {
			f = s
			break
		}
	}
	c := client(f)
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 4)
	var acked []string
	for i := 0; i < 20; i++ {
		id := "w" + string(rune('a'+i))
		submitOK(t, c, wspec(id, 1000))
		acked = append(acked, id)
	}
	bulk := make([]api.WorkloadSpec, 50)
	for i := range bulk {
		bulk[i] = wspec("b"+string(rune('a'+i%26))+string(rune('a'+i/26)), 500)
		acked = append(acked, bulk[i].ID)
	}
	if r, err := c.SubmitBulk(ctx(t), bulk); err != nil || r.Created != 50 {
		t.Fatalf("bulk: got %+v, %v", r, err)
	}
	waitFor(t, "all placed", 10*time.Second, func() bool { return l.FSM().Counts().Workloads[api.StatusPlaced] == 70 })

	l.Kill()
	var rest []*Server
	for _, s := range ss {
		if s != l {
			rest = append(rest, s)
		}
	}
	nl := leaderOf(t, rest)
	nc := client(nl)
	// Linearizable reads: a plain read right after the change may come
	// from a new leader that has not applied the old term's entries yet.
	for _, id := range acked {
		w, err := nc.GetConsistent(ctx(t), id)
		if err != nil || w.Status != api.StatusPlaced {
			t.Fatalf("%s after leader change: got %+v, %v", id, w, err)
		}
	}
	submitOK(t, nc, wspec("after", 1000))
	waitStatus(t, nc, "after", api.StatusPlaced)
	// The survivors converge to the same state.
	waitFor(t, "replicas equal", 10*time.Second, func() bool {
		ok, _ := fsm.Equal(rest[0].FSM(), rest[1].FSM())
		return ok
	})
	for _, s := range rest {
		if err := s.FSM().CheckInvariants(); err != nil {
			t.Errorf("%s: %v", s.cfg.ID, err)
		}
	}
}

// TestPreemption: with --preempt, high-priority work that finds every
// node full evicts lower-priority work, which goes back to pending (and is
// no longer assigned to the agent); without it, it waits.
func TestPreemption(t *testing.T) {
	for _, preempt := range []bool{true, false} {
		t.Run(fmt.Sprintf("preempt=%v", preempt), func(t *testing.T) {
			cfg := testConfig(t, "s1")
			cfg.Bootstrap, cfg.Preempt = true, preempt
			s := startServer(t, cfg)
			waitFor(t, "leader", 5*time.Second, s.IsLeader)
			c := client(s)
			registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 1) // one 16-core node
			lo := wspec("lo", 12000)
			lo.Priority = 1
			submitOK(t, c, lo)
			waitStatus(t, c, "lo", api.StatusPlaced)
			hi := wspec("hi", 8000)
			hi.Priority = 10
			// the dry run names the victim and evicts nothing
			pr, err := c.Plan(ctx(t), api.PlanRequest{Workload: hi})
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]string{true: "place [lo]", false: "reject []"}[preempt]; fmt.Sprintf("%s %v", pr.Outcome, pr.Preempt) != want {
				t.Errorf("dry run: %s %v, want %s", pr.Outcome, pr.Preempt, want)
			}
			if w, _ := c.Get(ctx(t), "lo"); w.Status != api.StatusPlaced {
				t.Fatalf("after the dry run lo is %s, want still placed", w.Status)
			}
			submitOK(t, c, hi)
			if !preempt {
				w := waitStatus(t, c, "hi", api.StatusPending)
				time.Sleep(300 * time.Millisecond)
				if w, _ = c.Get(ctx(t), "hi"); w.Status != api.StatusPending {
					t.Fatalf("without preemption hi is %s, want pending", w.Status)
				}
				if w, _ := c.Get(ctx(t), "lo"); w.Status != api.StatusPlaced {
					t.Fatalf("without preemption lo is %s, want still placed", w.Status)
				}
				return
			}
			waitStatus(t, c, "hi", api.StatusPlaced)
			waitStatus(t, c, "lo", api.StatusPending)
			// the leader counts the eviction when the plan's result comes back
			waitFor(t, "suanli_preemptions_total 1", 5*time.Second, func() bool {
				resp, err := http.Get("http://" + s.Addrs().HTTPAddr + "/metrics")
				if err != nil {
					return false
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return bytes.Contains(b, []byte("\nsuanli_preemptions_total 1\n"))
			})
			as, err := c.Assignments(ctx(t), "a1", 0, time.Second)
			if err != nil || len(as.Assignments) != 1 || as.Assignments[0].WorkloadID != "hi" {
				t.Fatalf("assignments: got %+v, %v; want only hi", as, err)
			}
			if err := s.fsm.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
			// lo (12 cores) does not fit beside hi (8 of 16) and may not
			// evict it: it waits.
			time.Sleep(300 * time.Millisecond)
			if w, _ := c.Get(ctx(t), "hi"); w.Status != api.StatusPlaced {
				t.Errorf("hi is %s after lo waited, want still placed", w.Status)
			}
		})
	}
}

// TestFollowerHoldsWritesThroughAnElection: a write sent to a follower
// right after the leader dies (while the follower still takes the dead
// server for the leader, then knows no leader) is held until the new
// leader is elected and applied there, instead of failing with no_leader;
// with the hold off it fails at once, applying nothing.
func TestFollowerHoldsWritesThroughAnElection(t *testing.T) {
	// A hold well above the 3 s default: under -race on two loaded cores
	// an election has taken longer than 3 s. The test is of the holding.
	for _, hold := range []time.Duration{10 * time.Second, NoLeaderHold} {
		t.Run(fmt.Sprintf("hold=%v", hold), func(t *testing.T) {
			ss := startCluster(t, 3, func(c *Config) { c.LeaderHold = hold })
			l := leaderOf(t, ss)
			var f *Server
			for _, s := range ss {
				if s != l {
					f = s
					break
				}
			}
			c := client(f)
			waitFor(t, "the follower knows the leader's address", 5*time.Second, func() bool {
				addr, id := f.leaderHTTP()
				return addr != "" && id == l.cfg.ID
			})
			// A request on a kept-alive connection to the dying leader
			// may have reached it: unknown_outcome, correctly. Start
			// from fresh connections, which the dead leader refuses.
			f.fwd.CloseIdleConnections()
			l.Kill()
			_, err := c.Submit(ctx(t), wspec("held", 1000))
			if hold < 0 {
				var ae *api.Error
				if !errors.As(err, &ae) || ae.Code != api.CodeNoLeader {
					t.Fatalf("without a hold: got %v, want no_leader", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("write through the election: %v", err)
			}
			var rest []*Server
			for _, s := range ss {
				if s != l {
					rest = append(rest, s)
				}
			}
			if w, err := client(leaderOf(t, rest)).GetConsistent(ctx(t), "held"); err != nil || w.ID != "held" {
				t.Fatalf("read back: %+v, %v", w, err)
			}
		})
	}
}
