package server

import (
	"context"
	"strings"
	"testing"
	"time"

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
