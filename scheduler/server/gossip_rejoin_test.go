package server

import (
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/gossip"
)

// TestGossipRejoinsWhenAlone: a server that joined the pool through its
// seed and later lost every other member (the seed crashed: the server
// declares it dead) tries its seed again, with backoff, for as long as it
// is alone: it warns, health shows joined=false and the join error naming
// the seed, and once a member answers at the seed's address again the
// server is back in the pool (joined, no join error).
func TestGossipRejoinsWhenAlone(t *testing.T) {
	log := &syncBuffer{}
	seedPool := func(id, addr string) *gossip.Pool {
		p, err := gossip.Start(gossip.Config{BindAddr: addr, Key: testKey, Profile: "local",
			ProbeInterval: 100 * time.Millisecond, ProbeTimeout: 50 * time.Millisecond, SuspicionMult: 2,
			Meta: gossip.Meta{Role: gossip.RoleAgent, ID: id}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Shutdown() })
		return p
	}
	first := seedPool("a1", "127.0.0.1:0")
	seed := first.Addr()
	s := single(t, func(c *Config) { c.Gossip.Join, c.Log = []string{seed}, log })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", log)
		}
	})
	c := client(s)
	health := func() api.GossipStatus {
		t.Helper()
		h, err := c.Health(ctx(t))
		if err != nil || h.Gossip == nil {
			t.Fatalf("health: %+v, %v", h, err)
		}
		return *h.Gossip
	}
	waitFor(t, "joined through the seed", 10*time.Second, func() bool { return health().Joined })

	_ = first.Shutdown() // crash: the server declares it dead and is alone
	waitFor(t, "alone, retrying the seed", 20*time.Second, func() bool {
		g := health()
		return !g.Joined && strings.Contains(g.JoinError, seed)
	})
	logHas(t, log, 10*time.Second, "level=WARN", "sees no other live member", seed)
	logHas(t, log, 10*time.Second, "level=WARN", "gossip join failed, retrying", seed)
	// Alone for a while: the retries back off but go on.
	time.Sleep(time.Second)

	seedPool("a2", seed) // the pool comes back at the seed's address
	waitFor(t, "rejoined", 30*time.Second, func() bool {
		g := health()
		return g.Joined && g.JoinError == "" && g.Alive == 2
	})
	if !memberSeen(s, "a2", "") {
		t.Errorf("the server's pool lacks the new member a2: %+v", s.pool.Members())
	}
}
