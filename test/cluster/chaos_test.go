package cluster

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/suanli/suanli/devcluster"
	"github.com/suanli/suanli/scheduler/server/api"
)

// chaosDuration reads SUANLI_CHAOS ("1" = 3 minutes, or a duration like
// "10m") and skips the test when it is unset.
func chaosDuration(t *testing.T) time.Duration {
	v := os.Getenv("SUANLI_CHAOS")
	if v == "" {
		t.Skip("long chaos run: set SUANLI_CHAOS=1 (3 minutes) or a duration (make chaos)")
	}
	if v == "1" {
		return 3 * time.Minute
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > 2*time.Hour {
		t.Fatalf("SUANLI_CHAOS=%q: want 1 or a duration up to 2h", v)
	}
	return d
}

// TestChaos runs load against 3 servers and 2 agents while killing
// (SIGKILL) and pausing (SIGSTOP) leaders, followers and agents, and now
// and then two servers at once (no quorum), restarting and resuming them.
// At the end everything is brought back and the same checks as
// TestClusterFailover run: acknowledged work present and placed once, no
// node over capacity, history linearizable, servers at one index.
// SUANLI_CHAOS_SEED picks the fault sequence (default 1).
func TestChaos(t *testing.T) {
	d := chaosDuration(t)
	seed := uint64(1)
	if v := os.Getenv("SUANLI_CHAOS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SUANLI_CHAOS_SEED=%q: %v", v, err)
		}
		seed = s
	}
	t.Logf("chaos for %v, seed %d", d, seed)
	c := startCluster(t, devcluster.Options{Servers: 3, Agents: twoAgents})
	l := newLoad(c)
	l.longFrac = 0.02
	var loadWG sync.WaitGroup
	loadWG.Add(1)
	go func() { defer loadWG.Done(); l.run(t, 4, 0, seed) }()

	rng := rand.New(rand.NewPCG(seed, 99))
	ctx, cancel := context.WithTimeout(context.Background(), d+5*time.Minute)
	defer cancel()
	pause := func(lo, hi time.Duration) { time.Sleep(lo + time.Duration(rng.Int64N(int64(hi-lo)+1))) }
	var elections []time.Duration
	waitNewLeader := func(old *devcluster.Server) {
		start := time.Now()
		for {
			if nl := c.Leader(ctx); nl != nil && nl != old {
				elections = append(elections, time.Since(start))
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("no new leader after %v", time.Since(start))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	leaderAndFollower := func() (*devcluster.Server, *devcluster.Server) {
		ld, err := c.WaitLeader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var fs []*devcluster.Server
		for _, s := range c.Servers {
			if s != ld {
				fs = append(fs, s)
			}
		}
		return ld, fs[rng.IntN(len(fs))]
	}
	must := func(what string, err error) {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	actions := map[string]int{}
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		ld, fo := leaderAndFollower()
		ag := c.Agents[rng.IntN(len(c.Agents))]
		var act, kind string
		switch r := rng.IntN(100); {
		case r < 25:
			kind = "kill leader"
			act = kind + " " + ld.ID
			must(act, ld.Kill())
			waitNewLeader(ld)
			pause(200*time.Millisecond, 2*time.Second)
			must("restart "+ld.ID, c.RestartServer(ctx, ld))
		case r < 40:
			kind = "kill follower"
			act = kind + " " + fo.ID
			must(act, fo.Kill())
			pause(200*time.Millisecond, 2*time.Second)
			must("restart "+fo.ID, c.RestartServer(ctx, fo))
		case r < 55:
			kind = "pause leader"
			act = kind + " " + ld.ID
			must(act, ld.Pause())
			waitNewLeader(ld)
			pause(500*time.Millisecond, 3*time.Second)
			must("resume "+ld.ID, ld.Resume())
		case r < 65:
			kind = "pause follower"
			act = kind + " " + fo.ID
			must(act, fo.Pause())
			pause(500*time.Millisecond, 3*time.Second)
			must("resume "+fo.ID, fo.Resume())
		case r < 80:
			kind = "kill agent"
			act = kind + " " + ag.ID
			must(act, ag.Kill())
			pause(time.Second, 4*time.Second)
			must("restart "+ag.ID, c.StartAgentAgain(ctx, ag))
		case r < 93:
			kind = "pause agent"
			act = kind + " " + ag.ID
			must(act, ag.Pause())
			pause(time.Second, 4*time.Second)
			must("resume "+ag.ID, ag.Resume())
		default:
			kind = "kill two servers"
			act = kind + " " + ld.ID + "," + fo.ID + " (no quorum)"
			must(act, ld.Kill())
			must(act, fo.Kill())
			pause(500*time.Millisecond, 2*time.Second)
			must("restart "+ld.ID, c.RestartServer(ctx, ld))
			must("restart "+fo.ID, c.RestartServer(ctx, fo))
		}
		actions[kind]++
		t.Logf("%s: %s (submissions so far %d)", time.Now().Format("15:04:05.000"), act, l.done.Load())
		pause(300*time.Millisecond, 1500*time.Millisecond)
	}
	close(l.stop)
	loadWG.Wait()
	for _, a := range c.Agents {
		if !a.Running() {
			must("restart "+a.ID, c.StartAgentAgain(ctx, a))
		}
	}
	slices.Sort(elections)
	if len(elections) > 0 {
		t.Logf("faults: %v; new leader after p50 %v, max %v over %d elections", actions,
			elections[len(elections)/2].Round(time.Millisecond), elections[len(elections)-1].Round(time.Millisecond), len(elections))
		if mx := elections[len(elections)-1]; mx > newLeaderBound {
			t.Errorf("slowest new leader: %v, want <= %v", mx, newLeaderBound)
		}
	}
	t.Logf("load: %v", l.hist.Counts())
	if len(l.giveUps) > 0 {
		t.Errorf("%d submissions never got a definite answer: %v", len(l.giveUps), l.giveUps[:min(10, len(l.giveUps))])
	}
	waitUntil(t, "every node up", 60*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var nl api.NodeList
		if _, err := rawGet(ctx, leaderAddr(t, c), "", "/v1/nodes?state=down", &nl); err != nil {
			return false
		}
		return len(nl.Nodes) == 0
	})
	waitNoPending(t, c, 60*time.Second)
	checkPlacements(t, c, l.ackedIDs(), []string{"a1", "a2"})
	l.checkLinearizable(t)
	waitUntil(t, "all servers at the same applied index", 30*time.Second, func() bool {
		idx := appliedIndexes(c)
		return len(idx) == 3 && idx["s1"] == idx["s2"] && idx["s2"] == idx["s3"]
	})
}
