package server

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/gossip"
)

// TestGossipJoinFailureReported: a server whose gossip seeds are all
// unreachable logs a warning naming them, and reports the failure in
// GET /v1/health and GET /v1/cluster; once another member joins, health
// shows it joined, and a member's death shows as dead.
func TestGossipJoinFailureReported(t *testing.T) {
	var logs syncBuffer
	seed := closedAddr(t)
	s := single(t, func(c *Config) { c.Gossip.Join, c.Log = []string{seed}, &logs })
	waitFor(t, "a warning naming the seed", 10*time.Second, func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "level=WARN") && strings.Contains(line, "gossip join failed") && strings.Contains(line, seed) {
				return true
			}
		}
		return false
	})
	c := client(s)
	gossipOf := func() (api.GossipStatus, api.GossipStatus) {
		t.Helper()
		h, err := c.Health(ctx(t))
		if err != nil || h.Gossip == nil {
			t.Fatalf("health: %+v, %v; want a gossip section", h, err)
		}
		st, err := c.Cluster(ctx(t))
		if err != nil || st.Gossip == nil {
			t.Fatalf("cluster: %+v, %v; want a gossip section", st, err)
		}
		return *h.Gossip, *st.Gossip
	}
	h, cl := gossipOf()
	if !h.Encrypted || h.Joined || h.Alive != 1 || !strings.Contains(h.JoinError, seed) {
		t.Errorf("health while alone: got %+v, want encrypted, not joined, 1 alive, the join error naming %s", h, seed)
	}
	if cl != h {
		t.Errorf("cluster status gossip %+v differs from health's %+v", cl, h)
	}

	a := startMember(t, gossip.RoleAgent, "a1", "", s.Addrs().GossipAddr)
	waitFor(t, "joined", 10*time.Second, func() bool { h, _ := gossipOf(); return h.Joined })
	if h, _ := gossipOf(); h != (api.GossipStatus{Encrypted: true, Joined: true, Alive: 2}) {
		t.Errorf("health with an agent: got %+v, want encrypted, joined, 2 alive, no join error", h)
	}
	_ = a.Shutdown() // crash
	waitFor(t, "the agent dead", 10*time.Second, func() bool { h, _ := gossipOf(); return h.Dead == 1 })
	if h, _ := gossipOf(); h.Alive != 1 || h.Joined || h.Suspect != 0 {
		t.Errorf("health after the agent died: got %+v, want 1 alive, not joined", h)
	}
}

// TestHealthGossipUnencryptedInDev: a --dev server without a key says its
// gossip is not encrypted.
func TestHealthGossipUnencryptedInDev(t *testing.T) {
	s := single(t, func(c *Config) { c.Dev, c.Gossip.Key = true, nil })
	h, err := client(s).Health(context.Background())
	if err != nil || h.Gossip == nil || h.Gossip.Encrypted {
		t.Fatalf("got %+v (gossip %+v), %v; want gossip not encrypted", h, h.Gossip, err)
	}
}

func TestSpeaksFor(t *testing.T) {
	for _, tc := range []struct {
		registered, member string
		want               bool
	}{
		{"run-2", "run-2", true},
		{"run-2", "run-1", false}, // an older run
		{"run-2", "", false},      // a member without an instance
		{"", "run-1", true},       // a registration without an instance: by name
		{"", "", true},
	} {
		if got := speaksFor(tc.registered, tc.member); got != tc.want {
			t.Errorf("speaksFor(registered %q, member %q) = %v, want %v", tc.registered, tc.member, got, tc.want)
		}
	}
}

// registerInstance registers agent with one 16-core node at site, as run
// instance.
func registerInstance(t testing.TB, c *api.Client, agent, instance, site, city, role string) {
	t.Helper()
	req := api.RegisterRequest{AgentID: agent, Instance: instance, Sites: []api.Site{{ID: site, City: city, Role: role, PUE: 1.3}},
		Nodes: []api.NodeSpec{{ID: site + "-0", Site: site, Capacity: nodes.Resources{CPUMilli: 16000, MemoryMiB: 65536}}}}
	if _, err := c.Register(ctx(t), req); err != nil {
		t.Fatalf("register %s: %v", agent, err)
	}
}

// memberSeen reports whether s's pool lists agent id with that instance.
func memberSeen(s *Server, id, instance string) bool {
	for _, m := range s.pool.Members() {
		if m.Meta.Role == gossip.RoleAgent && m.Meta.ID == id && m.Meta.Instance == instance {
			return true
		}
	}
	return false
}

func nodeState(t testing.TB, c *api.Client, site string) api.Node {
	t.Helper()
	n, err := c.Nodes(ctx(t), "", site, "")
	if err != nil || len(n.Nodes) != 1 {
		t.Fatalf("nodes at %s: %+v, %v", site, n.Nodes, err)
	}
	return n.Nodes[0]
}

// TestStrayMemberDoesNotTakeNodesDown: a member under a registered agent's
// name but not of its registered instance (an older run, or one without
// an instance) leaving or dying leaves the agent's nodes and work alone.
func TestStrayMemberDoesNotTakeNodesDown(t *testing.T) {
	for _, tc := range []struct {
		name, instance string
		graceful       bool
	}{
		{"older instance leaves", "run-1", true},
		{"member without instance dies", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := single(t, nil)
			c := client(l)
			registerInstance(t, c, "a1", "run-2", "jn-core", "JN", "core-zone")
			stray := startMember(t, gossip.RoleAgent, "a1", tc.instance, l.Addrs().GossipAddr)
			waitFor(t, "the leader sees the stray member", 10*time.Second, func() bool { return memberSeen(l, "a1", tc.instance) })
			if _, err := c.Submit(ctx(t), wspec("w1", 1000)); err != nil {
				t.Fatal(err)
			}
			waitStatus(t, c, "w1", api.StatusPlaced)
			if tc.graceful {
				_ = stray.Leave(time.Second)
			}
			_ = stray.Shutdown()
			waitFor(t, "the leader's pool drops it", 10*time.Second, func() bool { return !memberSeen(l, "a1", tc.instance) })
			time.Sleep(5 * l.cfg.ReconcileInterval) // let the membership loop act, if it would
			if n := nodeState(t, c, "jn-core"); n.State != "up" {
				t.Errorf("a1's node: got %s (%s), want up", n.State, n.DownReason)
			}
			if w, err := c.Get(ctx(t), "w1"); err != nil || w.Status != api.StatusPlaced || w.Agent != "a1" {
				t.Errorf("w1: got %+v (%v), want still placed on a1", w, err)
			}
		})
	}
}

// TestStrayMemberDoesNotBringNodesUp: once the registered run of an agent
// died and its nodes went down, a member under its name of another
// instance (or none) does not bring them up; the registered run does.
func TestStrayMemberDoesNotBringNodesUp(t *testing.T) {
	for _, strayInstance := range []string{"someone-else", ""} {
		t.Run("stray instance "+strayInstance, func(t *testing.T) {
			l := single(t, nil)
			c := client(l)
			real := startMember(t, gossip.RoleAgent, "a1", "run-1", l.Addrs().GossipAddr)
			registerInstance(t, c, "a1", "run-1", "jn-core", "JN", "core-zone")
			waitFor(t, "the leader sees a1", 10*time.Second, func() bool { return memberSeen(l, "a1", "run-1") })
			_ = real.Shutdown() // crash
			waitFor(t, "a1's node down (gossip)", 10*time.Second, func() bool {
				n := nodeState(t, c, "jn-core")
				return n.State == "down" && n.DownReason == "gossip"
			})

			time.Sleep(300 * time.Millisecond) // the name may be reclaimed after 2 probe intervals
			stray := startMember(t, gossip.RoleAgent, "a1", strayInstance, l.Addrs().GossipAddr)
			waitFor(t, "the leader sees the stray member", 10*time.Second, func() bool { return memberSeen(l, "a1", strayInstance) })
			time.Sleep(5 * l.cfg.ReconcileInterval) // the join event and a few reconciles
			if n := nodeState(t, c, "jn-core"); n.State != "down" {
				t.Fatalf("a1's node with a stray member in the pool: got %s, want down", n.State)
			}

			// The registered run comes back: its nodes come up.
			_ = stray.Leave(time.Second)
			_ = stray.Shutdown()
			waitFor(t, "the stray member gone", 10*time.Second, func() bool { return !memberSeen(l, "a1", strayInstance) })
			time.Sleep(300 * time.Millisecond)
			startMember(t, gossip.RoleAgent, "a1", "run-1", l.Addrs().GossipAddr)
			waitFor(t, "a1's node up again", 10*time.Second, func() bool { return nodeState(t, c, "jn-core").State == "up" })
		})
	}
}

// TestJoinRefusesToReaddressALiveVoter: POST /v1/cluster/join with the ID
// of a live voter and another Raft address is a 409 conflict naming the
// voter; joining again with its own address is idempotent (200); once the
// voter is gone, its address may be replaced.
func TestJoinRefusesToReaddressALiveVoter(t *testing.T) {
	ss := startCluster(t, 3, nil)
	l := leaderOf(t, ss)
	var victim, other *Server
	for _, s := range ss {
		if s != l {
			if victim == nil {
				victim = s
			} else {
				other = s
			}
		}
	}
	waitFor(t, "all servers in the leader's pool", 10*time.Second, func() bool { return l.pool.NumMembers() == 3 })
	c := client(other) // through a follower: forwarded to the leader
	joinReq := func(s *Server, raftAddr string) api.JoinRequest {
		a := s.Addrs()
		return api.JoinRequest{ID: a.ID, RaftAddr: raftAddr, HTTPAddr: a.HTTPAddr, GossipAddr: a.GossipAddr}
	}
	config := func() map[string]string {
		t.Helper()
		cf := l.Raft().GetConfiguration()
		if err := cf.Error(); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, sv := range cf.Configuration().Servers {
			out[string(sv.ID)] = string(sv.Address)
		}
		return out
	}
	before := config()
	elsewhere := closedAddr(t)

	for _, tc := range []struct {
		name string
		req  api.JoinRequest
	}{
		{"a follower", joinReq(victim, elsewhere)},
		{"the leader itself", joinReq(l, elsewhere)},
	} {
		t.Run("re-address "+tc.name, func(t *testing.T) {
			_, err := c.Join(ctx(t), tc.req)
			var ae *api.Error
			if !errors.As(err, &ae) || ae.Code != api.CodeConflict || ae.Status != http.StatusConflict || ae.Field != "raft_addr" {
				t.Fatalf("got %v, want 409 conflict on raft_addr", err)
			}
			for _, w := range []string{tc.req.ID, "live voter", before[tc.req.ID], elsewhere} {
				if !strings.Contains(ae.Message, w) {
					t.Errorf("message %q lacks %q", ae.Message, w)
				}
			}
		})
	}
	t.Run("join again at the same address", func(t *testing.T) {
		st, err := c.Join(ctx(t), joinReq(victim, victim.Addrs().RaftAddr))
		if err != nil {
			t.Fatalf("got %v, want 200", err)
		}
		if len(st.Servers) != 3 {
			t.Errorf("cluster status lists %d servers, want 3", len(st.Servers))
		}
	})
	if got := config(); !maps.Equal(got, before) {
		t.Fatalf("raft configuration changed: got %v, want %v", got, before)
	}

	inPool := func() bool {
		for _, m := range l.pool.Members() {
			if m.Name == gossip.Name(gossip.RoleServer, victim.Addrs().ID) {
				return true
			}
		}
		return false
	}
	t.Run("re-address a voter out of the pool whose raft port answers", func(t *testing.T) {
		_ = victim.pool.Shutdown() // its gossip dies, its Raft goes on
		waitFor(t, "the leader's pool drops the victim", 10*time.Second, func() bool { return !inPool() })
		_, err := c.Join(ctx(t), joinReq(victim, elsewhere))
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Status != http.StatusConflict || !strings.Contains(ae.Message, "Raft address accepts connections") {
			t.Fatalf("got %v, want 409: its Raft address accepts connections", err)
		}
	})
	t.Run("re-address a gone voter", func(t *testing.T) {
		victim.Kill()
		if _, err := c.Join(ctx(t), joinReq(victim, elsewhere)); err != nil {
			t.Fatalf("got %v, want 200", err)
		}
		if got := config()[victim.Addrs().ID]; got != elsewhere {
			t.Errorf("victim's raft address: got %s, want %s", got, elsewhere)
		}
	})
}

// TestOperatorStateSurvivesAgentRestart: an operator drains one of an
// agent's nodes and takes another down over the API; the agent crashes,
// the pool notices, and a new run registers the same nodes and joins the
// pool: the drained node is draining again, the other stays down, the
// untouched one is up. The operator's "up" lifts the drain for good.
func TestOperatorStateSurvivesAgentRestart(t *testing.T) {
	l := single(t, nil)
	c := client(l)
	register := func(instance string) {
		t.Helper()
		req := api.RegisterRequest{AgentID: "a1", Instance: instance, Sites: []api.Site{{ID: "jn-core", City: "JN", Role: "core-zone", PUE: 1.3}}}
		for _, id := range []string{"n0", "n1", "n2"} {
			req.Nodes = append(req.Nodes, api.NodeSpec{ID: id, Site: "jn-core", Capacity: nodes.Resources{CPUMilli: 16000, MemoryMiB: 65536}})
		}
		if _, err := c.Register(ctx(t), req); err != nil {
			t.Fatalf("register %s: %v", instance, err)
		}
	}
	type want struct{ state, reason, operator string }
	check := func(when string, wants map[string]want) {
		t.Helper()
		nl, err := c.Nodes(ctx(t), "", "jn-core", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nl.Nodes {
			if w := wants[n.ID]; (want{n.State, n.DownReason, n.OperatorState}) != w {
				t.Errorf("%s: %s: got %s (reason %q, operator %q), want %s (reason %q, operator %q)",
					when, n.ID, n.State, n.DownReason, n.OperatorState, w.state, w.reason, w.operator)
			}
		}
	}

	run1 := startMember(t, gossip.RoleAgent, "a1", "run-1", l.Addrs().GossipAddr)
	register("run-1")
	waitFor(t, "the leader sees run-1", 10*time.Second, func() bool { return memberSeen(l, "a1", "run-1") })
	if n, err := c.SetNodeState(ctx(t), "n0", "draining"); err != nil || n.State != "draining" || n.OperatorState != "draining" {
		t.Fatalf("drain n0: got %+v, %v", n, err)
	}
	if n, err := c.SetNodeState(ctx(t), "n1", "down"); err != nil || n.State != "down" || n.OperatorState != "down" {
		t.Fatalf("n1 down: got %+v, %v", n, err)
	}

	_ = run1.Shutdown() // the agent crashes
	waitFor(t, "the agent's nodes down", 10*time.Second, func() bool { return nodeDown(t, c, "n0") && nodeDown(t, c, "n2") })
	check("agent dead", map[string]want{"n0": {"down", "gossip", "draining"}, "n1": {"down", "operator", "down"}, "n2": {"down", "gossip", ""}})

	register("run-2") // the restarted agent registers ...
	check("new run registered", map[string]want{"n0": {"draining", "", "draining"}, "n1": {"down", "operator", "down"}, "n2": {"up", "", ""}})
	time.Sleep(300 * time.Millisecond)
	startMember(t, gossip.RoleAgent, "a1", "run-2", l.Addrs().GossipAddr) // ... and joins the pool
	waitFor(t, "the leader sees run-2", 10*time.Second, func() bool { return memberSeen(l, "a1", "run-2") })
	time.Sleep(5 * l.cfg.ReconcileInterval)
	check("new run in the pool", map[string]want{"n0": {"draining", "", "draining"}, "n1": {"down", "operator", "down"}, "n2": {"up", "", ""}})

	if _, err := c.SetNodeState(ctx(t), "n0", "up"); err != nil {
		t.Fatal(err)
	}
	register("run-2")
	check("operator lifted the drain", map[string]want{"n0": {"up", "", ""}, "n1": {"down", "operator", "down"}, "n2": {"up", "", ""}})
}

func nodeDown(t testing.TB, c *api.Client, id string) bool {
	t.Helper()
	nl, err := c.Nodes(ctx(t), "down", "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nl.Nodes {
		if n.ID == id {
			return true
		}
	}
	return false
}
