package cluster

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/devcluster"
	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

// TestRemovedServerRejoins runs 3 server processes, removes a follower
// (suanli cluster remove-server's request) and stops it, writes while it
// is out, then: restarted from its data directory without --join it stays
// out (never leads, says so in its log, the cluster keeps 2 voters);
// restarted with --join it is a voter again and catches up with the
// writes it missed.
func TestRemovedServerRejoins(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test; skipped with -short")
	}
	c := startCluster(t, devcluster.Options{Servers: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var victim *devcluster.Server
	for _, s := range c.Servers {
		if s != leader {
			victim = s
			break
		}
	}
	submit := func(id string) {
		t.Helper()
		spec := api.WorkloadSpec{ID: id, Origin: "JN", Request: nodes.Resources{CPUMilli: 100, MemoryMiB: 64}, DurationMs: 1000}
		retry(t, "submit "+id, 30*time.Second, func(ctx context.Context) (api.SubmitResult, error) {
			l := c.Leader(ctx)
			if l == nil {
				return api.SubmitResult{}, fmt.Errorf("no leader")
			}
			return c.Client(l).Submit(ctx, spec) // same ID: idempotent
		})
	}
	voters := func(s *devcluster.Server) map[string]bool {
		st, err := c.Client(s).Cluster(ctx)
		if err != nil {
			return nil
		}
		out := map[string]bool{}
		for _, sv := range st.Servers {
			if sv.Suffrage == "voter" {
				out[sv.ID] = true
			}
		}
		return out
	}
	submit("before")
	retry(t, "remove "+victim.ID, 30*time.Second, func(ctx context.Context) (api.ClusterStatus, error) {
		return c.Client(leader).RemoveServer(ctx, victim.ID)
	})
	if err := victim.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		submit(fmt.Sprintf("out-%02d", i))
	}

	// Without --join: it stays out and says why (in the log of this run).
	before, _ := os.ReadFile(victim.LogPath)
	if err := c.RestartServer(ctx, victim); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the removal explained in its log", 20*time.Second, func() bool {
		b, _ := os.ReadFile(victim.LogPath)
		run := string(b[min(len(before), len(b)):])
		// "not in its Raft configuration" when the removal reached it
		// before it stopped (the usual case); otherwise, after a few
		// seconds without a leader, a warning naming removal as a cause.
		return strings.Contains(run, "removed") && strings.Contains(run, "restart it with --join")
	})
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if h, err := c.Client(victim).Health(ctx); err == nil && h.State == "Leader" {
			t.Fatalf("the removed server %s leads: %+v", victim.ID, h)
		}
	}
	if v := voters(leader); len(v) != 2 || v[victim.ID] {
		t.Fatalf("voters %v, want the two others", v)
	}

	// With --join: a voter again, caught up.
	if err := victim.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.RejoinServer(ctx, victim); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, victim.ID+" a voter again", 30*time.Second, func() bool {
		l := c.Leader(ctx)
		return l != nil && voters(l)[victim.ID] && len(voters(l)) == 3
	})
	waitUntil(t, victim.ID+" caught up", 30*time.Second, func() bool {
		w, err := c.Client(victim).Get(ctx, "out-19")
		return err == nil && w.ID == "out-19"
	})
	h, err := c.Client(victim).Health(ctx)
	if err != nil || h.Leader == "" {
		t.Errorf("the rejoined server's health: %+v, %v; want a leader known", h, err)
	}
}
