package server

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/server/api"
)

// adoptProbe is a policy that defers all work for an hour to the first
// site and records what it is asked to adopt.
type adoptProbe struct {
	mu      sync.Mutex
	adopted map[string]adoptCall
}

type adoptCall struct {
	site string
	at   time.Time
}

var adoptP = &adoptProbe{adopted: map[string]adoptCall{}}

func init() {
	if err := scheduler.RegisterDecider("test-adopt", "tests: defers everything an hour to the first site, records Adopt calls",
		func(scheduler.Config) (scheduler.Decider, error) { return adoptP, nil }); err != nil {
		panic(err)
	}
}

func (p *adoptProbe) Decide(_ *scheduler.Snapshot, _ *scheduler.Workload, now time.Time, _ *rand.Rand, _ *scheduler.Explanation) scheduler.Decision {
	return scheduler.Decision{Outcome: scheduler.Defer, Node: -1, Site: 0, NotBefore: now.Add(time.Hour).Truncate(time.Millisecond), Reason: scheduler.FilterNone}
}

func (p *adoptProbe) Adopt(snap *scheduler.Snapshot, w *scheduler.Workload, site int, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := "?"
	if site >= 0 {
		id = snap.State.Site(site).ID
	}
	p.adopted[w.ID] = adoptCall{id, at}
}

func (p *adoptProbe) calls() map[string]adoptCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]adoptCall, len(p.adopted))
	for k, v := range p.adopted {
		out[k] = v
	}
	return out
}

// TestNewLeaderAdoptsDeferrals: work deferred by one leader's policy is
// handed to the next leader's (scheduler.Adopter), with the site and time
// it was deferred to — so the optimizer's plan keeps its reservations
// across a leader change. The API shows the site too.
func TestNewLeaderAdoptsDeferrals(t *testing.T) {
	adoptP.mu.Lock()
	adoptP.adopted = map[string]adoptCall{}
	adoptP.mu.Unlock()
	cfg := testConfig(t, "s1")
	cfg.Bootstrap, cfg.Policy = true, "test-adopt"
	s := startServer(t, cfg)
	waitFor(t, "leader", 5*time.Second, s.IsLeader)
	c := client(s)
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 1)
	registerAgent(t, c, "a2", "qd-core", "QD", "provincial", 1)
	ids := []string{"d1", "d2", "d3"}
	for _, id := range ids {
		submitOK(t, c, wspec(id, 1000))
	}
	want := map[string]api.Workload{}
	waitFor(t, "deferred", 10*time.Second, func() bool {
		for _, id := range ids {
			w, ok := s.FSM().Get(id)
			if !ok || w.NotBefore.IsZero() {
				return false
			}
			want[id] = w
		}
		return true
	})
	for id, w := range want {
		if w.DeferSite != "jn-core" {
			t.Errorf("%s: defer_site %q, want jn-core", id, w.DeferSite)
		}
		got, err := c.Get(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if got.DeferSite != "jn-core" {
			t.Errorf("%s through the API: defer_site %q, want jn-core", id, got.DeferSite)
		}
	}
	if n := len(adoptP.calls()); n != 0 {
		t.Fatalf("the first leader adopted %d deferrals, want none", n)
	}

	// A new leader (the same server restarted from its data directory).
	addrs := s.Addrs()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.RaftAddr, cfg.HTTPAddr, cfg.Gossip.Addr = addrs.RaftAddr, addrs.HTTPAddr, addrs.GossipAddr
	s2 := startServer(t, cfg)
	waitFor(t, "leader after restart", 5*time.Second, s2.IsLeader)
	waitFor(t, "deferrals adopted", 10*time.Second, func() bool { return len(adoptP.calls()) == len(ids) })
	for id, call := range adoptP.calls() {
		w := want[id]
		if call.site != "jn-core" || !call.at.Equal(w.NotBefore) {
			t.Errorf("%s adopted at %s %v, want jn-core %v", id, call.site, call.at, w.NotBefore)
		}
	}
}
