package server

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// waitClusterID waits until s's state has a cluster ID and its data
// directory's cluster-id file holds it, and returns it.
func waitClusterID(t *testing.T, s *Server) string {
	t.Helper()
	var id string
	waitFor(t, s.cfg.ID+"'s cluster ID recorded", 15*time.Second, func() bool {
		id = s.FSM().ClusterID()
		stored, err := readClusterID(s.cfg.DataDir)
		return err == nil && id != "" && stored == id
	})
	if len(id) != 32 {
		t.Errorf("cluster ID %q: want 32 hex digits", id)
	}
	return id
}

// TestJoinRefusesAnotherCluster: a server whose data directory is of
// cluster A asks cluster B to add it: B's leader refuses (409, field
// cluster_id, naming both IDs and what to do) and its configuration stays
// without it. A server of B restarted from its data directory with --join
// rejoins as before. Both clusters show their IDs (cluster status, health).
func TestJoinRefusesAnotherCluster(t *testing.T) {
	ssA, logsA := startLoggedCluster(t, 2)
	idA := waitClusterID(t, leaderOf(t, ssA))
	for _, s := range ssA {
		waitClusterID(t, s)
	}

	logsB := map[string]*syncBuffer{}
	ssB := startCluster(t, 3, func(c *Config) {
		c.ID = "b" + c.ID[1:]
		logsB[c.ID] = &syncBuffer{}
		c.Log = logsB[c.ID]
	})
	lb := leaderOf(t, ssB)
	idB := waitClusterID(t, lb)
	if idA == idB {
		t.Fatalf("two clusters with one ID %s", idA)
	}
	for _, s := range ssB {
		if got := waitClusterID(t, s); got != idB {
			t.Fatalf("%s records cluster %s, its leader %s", s.cfg.ID, got, idB)
		}
	}
	st, err := client(ssB[1]).Cluster(ctx(t))
	if err != nil || st.ClusterID != idB {
		t.Fatalf("cluster status: cluster_id %q (err %v), want %s", st.ClusterID, err, idB)
	}
	h, err := client(ssB[1]).Health(ctx(t))
	if err != nil || h.ClusterID != idB {
		t.Fatalf("health: cluster_id %q (err %v), want %s", h.ClusterID, err, idB)
	}

	// The API answer, through a follower of B.
	_, err = client(ssB[1]).Join(ctx(t), api.JoinRequest{ID: "s2", RaftAddr: closedAddr(t), HTTPAddr: closedAddr(t), ClusterID: idA})
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeConflict || ae.Field != "cluster_id" ||
		!strings.Contains(ae.Message, idA) || !strings.Contains(ae.Message, idB) || !strings.Contains(ae.Message, "delete its data directory") {
		t.Fatalf("join with cluster A's ID: %v; want a 409 conflict on cluster_id naming both IDs and the fix", err)
	}

	// The server itself: s2, restarted from A's data directory with
	// --join B while A's other server is down (so it knows no leader of
	// its own and asks B). The refusal is permanent: it fails at once
	// (Failed, Err: ErrJoinRefused naming its data directory, both
	// clusters and what to do), logs that at error level, and stops
	// asking.
	if err := ssA[0].Close(); err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	logsA["s2"] = log
	a := restartServer(t, ssA[1], []string{lb.Addrs().HTTPAddr}, log)
	select {
	case <-a.Failed():
	case <-time.After(15 * time.Second):
		t.Fatalf("a server of another cluster still runs 15 s after asking to join; Err() = %v", a.Err())
	}
	err = a.Err()
	t.Logf("Err() = %v", err)
	if !errors.Is(err, ErrJoinRefused) {
		t.Fatalf("Err() = %v; want ErrJoinRefused", err)
	}
	for _, w := range []string{"s2", a.cfg.DataDir, idA, idB, lb.Addrs().HTTPAddr, "empty --data-dir", "--join a server of that cluster"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Err() = %q lacks %q", err, w)
		}
	}
	logHas(t, log, time.Second, "level=ERROR", "refused to add this server", idA, idB)
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, "retrying") && strings.Contains(line, "cluster_id") {
			t.Errorf("the refused server says it retries: %s", line)
		}
	}
	refusals := func() int {
		n := 0
		for _, b := range logsB {
			n += strings.Count(b.String(), "join refused")
		}
		return n
	}
	asked := refusals()
	if asked == 0 {
		t.Fatalf("cluster B logged no refusal")
	}
	time.Sleep(time.Second) // it would have asked again 3 times
	if n := refusals(); n != asked {
		t.Fatalf("cluster B refused %d joins after the server failed; it should have stopped asking", n-asked)
	}
	if v := voters(leaderOf(t, ssB)); v["s2"] || len(v) != 3 {
		t.Fatalf("cluster B's voters after the refused join: %v", v)
	}
	if got := a.clusterID(); got != idA {
		t.Fatalf("the refused server knows cluster %q, want %s", got, idA)
	}

	// Same cluster: b2 restarted from its data directory with --join.
	lb = leaderOf(t, ssB)
	fs := followers(ssB, lb)
	b2, other := fs[0], fs[1]
	ab := b2.Addrs()
	if _, err := client(other).Join(ctx(t), api.JoinRequest{ID: b2.cfg.ID, RaftAddr: ab.RaftAddr, HTTPAddr: ab.HTTPAddr, GossipAddr: ab.GossipAddr, ClusterID: idB}); err != nil {
		t.Fatalf("join of a member with its own cluster's ID: %v", err)
	}
	blog := &syncBuffer{}
	b2 = restartServer(t, b2, []string{other.Addrs().HTTPAddr}, blog)
	// It asks to join (unless a leader reached it first: then it is a
	// member with nothing to ask) and is a voter again; never refused.
	waitFor(t, "b2 a voter with a leader", 15*time.Second, b2.memberByLeader)
	if strings.Contains(blog.String(), "join failed") {
		t.Fatalf("the same cluster's server was refused:\n%s", blog)
	}
	if got := b2.clusterID(); got != idB {
		t.Fatalf("rejoined server knows cluster %q, want %s", got, idB)
	}
}

// TestClusterIDMismatchRefusesStart: a data directory whose cluster-id
// file names another cluster than its Raft state (log, then snapshot)
// does not start (ErrBadConfig, naming both IDs); with the right file it
// does, and the ID survives a restart from a snapshot.
func TestClusterIDMismatchRefusesStart(t *testing.T) {
	cfg := testConfig(t, "s1")
	cfg.Bootstrap = true
	s := startServer(t, cfg)
	waitFor(t, "leader", 5*time.Second, s.IsLeader)
	id := waitClusterID(t, s)
	const other = "0123456789abcdef0123456789abcdef"

	refused := func(what string) {
		t.Helper()
		if err := writeClusterID(cfg.DataDir, other); err != nil {
			t.Fatal(err)
		}
		bad, err := New(cfg)
		if err == nil {
			bad.Close()
			t.Fatalf("%s: started with another cluster's cluster-id file", what)
		}
		if !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), other) {
			t.Fatalf("%s: %v; want ErrBadConfig naming %s and %s", what, err, id, other)
		}
		if err := writeClusterID(cfg.DataDir, id); err != nil {
			t.Fatal(err)
		}
	}

	// The ID is in the log only.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	refused("log")

	// The ID is in a snapshot.
	s = startServer(t, cfg)
	waitFor(t, "leader after restart", 10*time.Second, s.IsLeader)
	submitOK(t, client(s), wspec("w1", 1)) // something new to snapshot
	if err := s.Raft().Snapshot().Error(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	refused("snapshot")

	s = startServer(t, cfg)
	waitFor(t, "leader after restart", 10*time.Second, s.IsLeader)
	if got := s.FSM().ClusterID(); got != id {
		t.Fatalf("cluster ID after restart from a snapshot %q, want %s", got, id)
	}
}
