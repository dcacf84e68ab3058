package server

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
	"github.com/suanli/suanli/scheduler/server/gossip"
)

// TestRestartFromSnapshot: a server with a low snapshot threshold takes
// snapshots, stops, and restarts from its data directory (snapshot plus
// log tail) with an equal state.
func TestRestartFromSnapshot(t *testing.T) {
	cfg := testConfig(t, "s1")
	cfg.Bootstrap = true
	cfg.Raft.SnapshotThreshold = 16
	cfg.Raft.TrailingLogs = 4
	cfg.Raft.SnapshotInterval = 50 * time.Millisecond
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "leader", 5*time.Second, s.IsLeader)
	c := client(s)
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 2)
	for i := 0; i < 60; i++ {
		submitOK(t, c, wspec(fmt.Sprintf("w%02d", i), 1000))
	}
	waitFor(t, "placements", 10*time.Second, func() bool { return s.FSM().Counts().Workloads[api.StatusPlaced] == 32 })
	if err := s.Raft().Snapshot().Error(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	// More entries after the snapshot: replayed from the log tail.
	if _, err := c.Cancel(ctx(t), "w59"); err != nil {
		t.Fatal(err)
	}
	before := fsm.New(fsm.Config{})
	snapOf(t, s.FSM(), before)
	addrs := s.Addrs()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.Bootstrap = true // must be harmless on existing state
	// Same addresses: the restarted leader has nothing to re-register, so
	// its state must equal the one before, entry for entry.
	cfg.RaftAddr, cfg.HTTPAddr, cfg.Gossip.Addr = addrs.RaftAddr, addrs.HTTPAddr, addrs.GossipAddr
	s2 := startServer(t, cfg)
	waitFor(t, "leader after restart", 5*time.Second, s2.IsLeader)
	waitFor(t, "state restored", 5*time.Second, func() bool { return s2.FSM().Index() >= before.Index() })
	if ok, diff := fsm.Equal(before, s2.FSM()); !ok {
		t.Fatalf("restarted state differs: %s", diff)
	}
	if err := s2.FSM().CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	// And it keeps working.
	submitOK(t, client(s2), wspec("after", 1))
}

// snapOf copies src's state into dst through a snapshot.
func snapOf(t *testing.T, src, dst *fsm.FSM) {
	t.Helper()
	r, w := pipe()
	go func() { _ = src.Snapshot().Write(w); w.Close() }()
	if err := dst.Restore(r); err != nil {
		t.Fatal(err)
	}
}

// TestAgentDeathReplacesWork: an agent in the gossip pool dies; the leader
// marks its nodes down and its work is placed on another agent's nodes;
// when it returns, its nodes come back up.
func TestAgentDeathReplacesWork(t *testing.T) {
	// Gossip a little less eager than testConfig's (probe timeout 50 ms):
	// under -race with the whole package running on two cores, the
	// servers' pools took a1 for dead before w1 was placed (its node down
	// for a moment, w1 placed on a2: the setup, not the subject, failed).
	ss := startCluster(t, 3, func(c *Config) {
		c.Gossip.ProbeInterval, c.Gossip.ProbeTimeout, c.Gossip.SuspicionMult = 200*time.Millisecond, 150*time.Millisecond, 3
	})
	l := leaderOf(t, ss)
	waitFor(t, "servers gossiping", 10*time.Second, func() bool { return l.pool.NumMembers() == 3 })
	c := client(l)
	startAgent := func(id string) *gossip.Pool {
		p, err := gossip.Start(gossip.Config{BindAddr: "127.0.0.1:0", Key: testKey, Profile: "local",
			ProbeInterval: 200 * time.Millisecond, ProbeTimeout: 150 * time.Millisecond, SuspicionMult: 3,
			Meta: gossip.Meta{Role: gossip.RoleAgent, ID: id}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Join([]string{ss[1].Addrs().GossipAddr}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a1 := startAgent("a1")
	a2 := startAgent("a2")
	defer a2.Shutdown()
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 1)
	registerAgent(t, c, "a2", "x-hz", "HZ", "edge", 1)
	// The leader must have heard of both agents before one dies: a member
	// that dies before its alive message has spread is never known to the
	// leader's pool, its suspect and dead messages are ignored there, and
	// only the reconcile grace (1 h in tests) would take its nodes down.
	waitFor(t, "leader sees both agents", 10*time.Second, func() bool {
		seen := 0
		for _, m := range l.pool.Members() {
			if m.Meta.Role == gossip.RoleAgent {
				seen++
			}
		}
		return seen == 2
	})
	// Near Jinan: placed on a1's node first.
	waitFor(t, "a1's node up", 10*time.Second, func() bool {
		n, err := c.Nodes(ctx(t), "up", "jn-core", "")
		return err == nil && len(n.Nodes) == 1
	})
	submitOK(t, c, wspec("w1", 1000))
	if w := waitStatus(t, c, "w1", api.StatusPlaced); w.Agent != "a1" {
		n, _ := c.Nodes(ctx(t), "", "", "")
		t.Fatalf("w1: got agent %s, want a1 (nodes now: %+v)", w.Agent, n.Nodes)
	}
	_ = a1.Shutdown() // crash: no graceful leave
	var last string
	defer func() {
		if t.Failed() {
			n, _ := c.Nodes(ctx(t), "", "", "")
			t.Logf("w1 last seen: %s; nodes: %+v", last, n)
		}
	}()
	waitFor(t, "w1 re-placed on a2", 30*time.Second, func() bool {
		w, err := c.Get(ctx(t), "w1")
		last = fmt.Sprintf("%+v (err %v)", w, err)
		return err == nil && w.Status == api.StatusPlaced && w.Agent == "a2"
	})
	n, _ := c.Nodes(ctx(t), "", "jn-core", "")
	if n.Nodes[0].State != "down" || n.Nodes[0].DownReason != "gossip" {
		t.Errorf("a1's node: got %s (%s), want down (gossip)", n.Nodes[0].State, n.Nodes[0].DownReason)
	}
	// Its name can be taken back on a new port once the old incarnation
	// has been dead for the reclaim time (2 probe intervals).
	time.Sleep(500 * time.Millisecond)
	a1 = startAgent("a1")
	defer a1.Shutdown()
	waitFor(t, "a1's node up again", 30*time.Second, func() bool {
		n, err := c.Nodes(ctx(t), "up", "jn-core", "")
		return err == nil && len(n.Nodes) == 1
	})
}

func pipe() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }

// TestQuickAgentRestartKeepsNodesUp: an agent killed and restarted faster
// than failure detection registers again under a new instance before the
// pool declares its old instance dead. That death must not take its nodes
// down or move its work; the new instance then takes the name back.
func TestQuickAgentRestartKeepsNodesUp(t *testing.T) {
	ss := startCluster(t, 1, nil)
	l := ss[0]
	c := client(l)
	startAgent := func(id, instance string) *gossip.Pool {
		p, err := gossip.Start(gossip.Config{BindAddr: "127.0.0.1:0", Key: testKey, Profile: "local",
			ProbeInterval: 100 * time.Millisecond, ProbeTimeout: 50 * time.Millisecond, SuspicionMult: 2,
			Meta: gossip.Meta{Role: gossip.RoleAgent, ID: id, Instance: instance}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Join([]string{l.Addrs().GossipAddr}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	register := func(agent, instance, site, city, role string) {
		req := api.RegisterRequest{AgentID: agent, Instance: instance, Sites: []api.Site{{ID: site, City: city, Role: role, PUE: 1.3}},
			Nodes: []api.NodeSpec{{ID: site + "-0", Site: site, Capacity: nodes.Resources{CPUMilli: 16000, MemoryMiB: 65536}}}}
		if _, err := c.Register(ctx(t), req); err != nil {
			t.Fatalf("register %s: %v", agent, err)
		}
	}
	agentSeen := func(id string) bool {
		for _, m := range l.pool.Members() {
			if m.Meta.Role == gossip.RoleAgent && m.Meta.ID == id {
				return true
			}
		}
		return false
	}
	a1 := startAgent("a1", "one")
	a2 := startAgent("a2", "x")
	defer a2.Shutdown()
	register("a1", "one", "jn-core", "JN", "core-zone")
	register("a2", "x", "x-hz", "HZ", "edge")
	waitFor(t, "leader sees both agents", 10*time.Second, func() bool { return agentSeen("a1") && agentSeen("a2") })
	waitFor(t, "a1's node up", 10*time.Second, func() bool {
		n, err := c.Nodes(ctx(t), "up", "jn-core", "")
		return err == nil && len(n.Nodes) == 1
	})
	submitOK(t, c, wspec("w1", 1000))
	if w := waitStatus(t, c, "w1", api.StatusPlaced); w.Agent != "a1" {
		n, _ := c.Nodes(ctx(t), "", "", "")
		t.Fatalf("w1: got agent %s, want a1 (nodes now: %+v)", w.Agent, n.Nodes)
	}

	_ = a1.Shutdown() // SIGKILL-like: no graceful leave
	register("a1", "two", "jn-core", "JN", "core-zone")
	waitFor(t, "the leader's pool drops a1's old instance", 10*time.Second, func() bool { return !agentSeen("a1") })
	time.Sleep(300 * time.Millisecond) // let the membership loop act on the event
	check := func(when string) {
		t.Helper()
		n, err := c.Nodes(ctx(t), "", "jn-core", "")
		if err != nil || len(n.Nodes) != 1 || n.Nodes[0].State != "up" {
			t.Fatalf("%s: a1's node: %+v (err %v), want up", when, n.Nodes, err)
		}
		if w, err := c.Get(ctx(t), "w1"); err != nil || w.Agent != "a1" || w.Status != api.StatusPlaced {
			t.Fatalf("%s: w1 %+v (err %v), want still placed on a1", when, w, err)
		}
	}
	check("old instance declared dead")

	// The new instance takes the name back (after the reclaim time).
	a1 = startAgent("a1", "two")
	defer a1.Shutdown()
	waitFor(t, "the new instance in the leader's pool", 10*time.Second, func() bool { return agentSeen("a1") })
	check("new instance joined")
}
