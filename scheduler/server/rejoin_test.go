package server

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/suanli/suanli/scheduler/server/api"
)

// startLoggedCluster starts n servers like startCluster, each logging into
// its own buffer (by ID).
func startLoggedCluster(t *testing.T, n int) ([]*Server, map[string]*syncBuffer) {
	t.Helper()
	logs := map[string]*syncBuffer{}
	ss := startCluster(t, n, func(c *Config) {
		b := &syncBuffer{}
		logs[c.ID] = b
		c.Log = b
	})
	t.Cleanup(func() {
		if t.Failed() {
			for id, b := range logs {
				t.Logf("---- %s log\n%s", id, b.String())
			}
		}
	})
	return ss, logs
}

// restartServer stops s (gracefully) and starts it again from its data
// directory on the same addresses, with join as its --join servers,
// logging into log.
func restartServer(t *testing.T, s *Server, join []string, log *syncBuffer) *Server {
	t.Helper()
	cfg := s.cfg
	a := s.Addrs()
	if err := s.Close(); err != nil {
		t.Fatalf("close %s: %v", cfg.ID, err)
	}
	cfg.RaftAddr, cfg.HTTPAddr, cfg.Gossip.Addr = a.RaftAddr, a.HTTPAddr, a.GossipAddr
	cfg.Bootstrap, cfg.Join, cfg.Log = false, join, log
	return startServer(t, cfg)
}

// removeOK asks the servers via (in turn) to remove id until one answers
// 200, resubmitting through the 503s of an election (no_leader,
// not_leader, unknown_outcome) like submitOK: removing is idempotent, and
// a loaded machine can cost the leader its lease right after a removal
// (the remaining quorum is smaller).
func removeOK(t *testing.T, id string, via ...*Server) api.ClusterStatus {
	t.Helper()
	ctx := ctx(t)
	for i, backoff := 0, 10*time.Millisecond; ; i, backoff = i+1, min(2*backoff, 250*time.Millisecond) {
		st, err := client(via[i%len(via)]).RemoveServer(ctx, id)
		switch {
		case err == nil:
			return st
		case isCode(err, api.CodeUnknownOutcome), isCode(err, api.CodeNoLeader), isCode(err, api.CodeNotLeader):
		default:
			t.Fatalf("remove %s: %v", id, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("remove %s: no answer but %v before the deadline", id, err)
		}
		t.Logf("remove %s: %v; again", id, err)
		time.Sleep(backoff)
	}
}

// voters lists the voters of s's latest Raft configuration.
func voters(s *Server) map[string]bool {
	out := map[string]bool{}
	cf := s.Raft().GetConfiguration()
	if cf.Error() != nil {
		return out
	}
	for _, sv := range cf.Configuration().Servers {
		if sv.Suffrage == raft.Voter {
			out[string(sv.ID)] = true
		}
	}
	return out
}

// followers returns the servers of ss other than l.
func followers(ss []*Server, l *Server) []*Server {
	var out []*Server
	for _, s := range ss {
		if s != l {
			out = append(out, s)
		}
	}
	return out
}

// neverLeads fails the test if s becomes leader within d, or still knows
// a leader at its end (a removed server hears from no leader).
func neverLeads(t *testing.T, s *Server, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if s.IsLeader() {
			t.Fatalf("%s became leader: a removed server must not lead a cluster of its own", s.cfg.ID)
		}
	}
	if _, lid := s.Raft().LeaderWithID(); lid != "" {
		t.Fatalf("%s knows leader %s: a removed server must not hear from the cluster", s.cfg.ID, lid)
	}
}

// toldRemoved waits for the warning that tells the operator this server
// was removed and what to do: "not in its Raft configuration" when the
// leader's last replication reached it, "leader does not list this
// server" when it did not (raft does not guarantee it: a removal can race
// the leader's replication to the server, and one removed while down
// never hears of it) and the server asked the others.
func toldRemoved(t *testing.T, b *syncBuffer) string {
	t.Helper()
	var found string
	waitFor(t, "the warning that this server was removed", 30*time.Second, func() bool {
		for _, line := range strings.Split(b.String(), "\n") {
			if strings.Contains(line, "level=WARN") &&
				(strings.Contains(line, "not in its Raft configuration") || strings.Contains(line, "leader does not list this server")) {
				found = line
				return true
			}
		}
		return false
	})
	t.Logf("log: %s", found)
	for _, w := range []string{"removed", "restart it with --join", "delete its data directory"} {
		if !strings.Contains(found, w) {
			t.Errorf("warning %q lacks %q", found, w)
		}
	}
	return found
}

// logHas waits for a line of b holding every one of want.
func logHas(t *testing.T, b *syncBuffer, timeout time.Duration, want ...string) string {
	t.Helper()
	var found string
	waitFor(t, "a log line with "+strings.Join(want, " … "), timeout, func() bool {
		for _, line := range strings.Split(b.String(), "\n") {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(line, w)
			}
			if ok {
				found = line
				return true
			}
		}
		return false
	})
	t.Logf("log: %s", found)
	return found
}

// TestRemovedServerRejoinsWithJoin: a follower removed from the cluster
// while running notices it (it is not in its own configuration, or the
// leader no longer lists it), says so and never leads; restarted from its old data directory with --join, it
// is added back as a voter, catches up with what was written while it was
// out, and counts for the quorum again.
func TestRemovedServerRejoinsWithJoin(t *testing.T) {
	ss, logs := startLoggedCluster(t, 3)
	l := leaderOf(t, ss)
	fs := followers(ss, l)
	victim, other := fs[0], fs[1]
	id := victim.cfg.ID
	submitOK(t, client(l), wspec("before", 1))

	st := removeOK(t, id, other, l) // through a follower first
	if len(st.Servers) != 2 {
		t.Errorf("status after the removal lists %d servers, want 2: %+v", len(st.Servers), st.Servers)
	}
	toldRemoved(t, logs[id])
	neverLeads(t, victim, 10*victim.cfg.Raft.ElectionTimeout)

	for _, w := range []string{"while-out-1", "while-out-2"} {
		submitOK(t, client(l), wspec(w, 1))
	}
	log := &syncBuffer{}
	logs[id] = log
	victim = restartServer(t, victim, []string{other.Addrs().HTTPAddr}, log)
	waitFor(t, "the victim a voter on the leader again", 15*time.Second, func() bool { return voters(leaderOf(t, []*Server{l, other}))[id] })
	waitFor(t, "the victim caught up", 15*time.Second, func() bool {
		_, ok := victim.FSM().Get("while-out-2")
		return ok && voters(victim)[id]
	})
	logHas(t, log, 10*time.Second, "joined the cluster as a voter", "had_state=true")
	if strings.Contains(log.String(), "restart it with --join") {
		t.Errorf("the server added back told the operator to restart it with --join:\n%s", log)
	}

	// It counts: with the old leader gone, the victim and the other
	// follower elect a leader and commit.
	l.Kill()
	nl := leaderOf(t, []*Server{victim, other})
	submitOK(t, client(nl), wspec("after", 1))
	waitFor(t, "the write on both", 10*time.Second, func() bool {
		_, a := victim.FSM().Get("after")
		_, b := other.FSM().Get("after")
		return a && b
	})
}

// TestRemovedServerWithoutJoinStaysOut: a removed server restarted from
// its data directory without --join does not elect itself (raft: not a
// voter in its own configuration), says why and what to do, and the
// cluster goes on without it.
func TestRemovedServerWithoutJoinStaysOut(t *testing.T) {
	ss, logs := startLoggedCluster(t, 3)
	l := leaderOf(t, ss)
	victim := followers(ss, l)[0]
	id := victim.cfg.ID
	removeOK(t, id, followers(ss, victim)...)
	toldRemoved(t, logs[id])
	// Keep the server directory (the others' addresses) across the
	// restart, in case the victim missed its removal and must ask them.
	if err := victim.Raft().Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	logs[id] = log
	victim = restartServer(t, victim, nil, log)
	toldRemoved(t, log)
	neverLeads(t, victim, 12*victim.cfg.Raft.ElectionTimeout)
	if h, err := client(victim).Health(ctx(t)); err == nil || h.Leader != "" {
		t.Errorf("the removed server's health: %+v, %v; want 503 no_leader", h, err)
	}
	if got := voters(l); len(got) != 2 || got[id] {
		t.Errorf("leader's voters %v, want the two others", got)
	}
	submitOK(t, client(l), wspec("without-victim", 1))
}

// TestServerRemovedWhileDownIsToldWhy: a server removed while it was down
// still finds itself in its configuration when it restarts without
// --join: it asks for votes the others refuse, so it never leads; after a
// while it asks the servers it knows and warns that the leader no longer
// lists it. Restarted with --join, it is added back.
func TestServerRemovedWhileDownIsToldWhy(t *testing.T) {
	ss, logs := startLoggedCluster(t, 3)
	l := leaderOf(t, ss)
	fs := followers(ss, l)
	victim, other := fs[0], fs[1]
	id := victim.cfg.ID
	submitOK(t, client(l), wspec("w1", 1))
	waitFor(t, "the victim applied w1", 10*time.Second, func() bool { _, ok := victim.FSM().Get("w1"); return ok })
	// A snapshot keeps the server directory (the others' HTTP addresses)
	// across the restart.
	if err := victim.Raft().Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	cfg, a := victim.cfg, victim.Addrs()
	if err := victim.Close(); err != nil {
		t.Fatal(err)
	}
	removeOK(t, id, l, other)
	// Another Raft port: the leader's last attempt to replicate to the
	// victim (made when it removed it, maybe still backing off) must not
	// reach the restarted server and tell it of its removal.
	cfg.RaftAddr, cfg.HTTPAddr, cfg.Gossip.Addr = "127.0.0.1:0", a.HTTPAddr, a.GossipAddr
	log := &syncBuffer{}
	logs[id] = log
	cfg.Join, cfg.Log = nil, log
	victim = startServer(t, cfg)
	if !voters(victim)[id] {
		t.Fatalf("the victim's own configuration %v lacks it: the test wants a server that missed its removal", voters(victim))
	}
	neverLeads(t, victim, 12*cfg.Raft.ElectionTimeout)
	// leader= names whichever server leads by then: on a loaded machine
	// the two-server cluster may have elected the other one.
	logHas(t, log, 20*time.Second, "level=WARN", "leader does not list this server", "leader=s", "--join")

	victim = restartServer(t, victim, []string{other.Addrs().HTTPAddr}, log)
	waitFor(t, "the victim a voter on the leader again", 15*time.Second, func() bool { return voters(l)[id] })
	waitFor(t, "the victim follows the leader", 15*time.Second, func() bool {
		_, lid := victim.Raft().LeaderWithID()
		return lid != "" && voters(victim)[id]
	})
}

// TestRemoveTheLeader: asking the leader to remove itself hands leadership
// to another server, which removes it; the answer is 200 and the removed
// server stays up (raft is not shut down under it), never leads and says
// it was removed. The only voter cannot be removed (409). Removing a
// server that is not in the configuration changes nothing (200).
func TestRemoveTheLeader(t *testing.T) {
	ss, logs := startLoggedCluster(t, 3)
	l := leaderOf(t, ss)
	id := l.cfg.ID
	submitOK(t, client(l), wspec("w1", 1))
	// Asked of the leader itself; retried through the others.
	st := removeOK(t, id, append([]*Server{l}, followers(ss, l)...)...)
	if len(st.Servers) != 2 || st.LeaderID == id {
		t.Errorf("status after the removal: leader %s, servers %+v; want 2 servers led by another", st.LeaderID, st.Servers)
	}
	rest := followers(ss, l)
	nl := leaderOf(t, rest)
	if v := voters(nl); v[id] || len(v) != 2 {
		t.Errorf("new leader's voters %v, want the two others", v)
	}
	toldRemoved(t, logs[id])
	if st := l.Raft().State(); st != raft.Follower && st != raft.Candidate {
		t.Errorf("the removed leader's raft is %v, want Follower (or Candidate: asking for votes it does not get)", st)
	}
	neverLeads(t, l, 10*l.cfg.Raft.ElectionTimeout)
	submitOK(t, client(nl), wspec("w2", 1))

	t.Run("a server not in the configuration", func(t *testing.T) {
		if st := removeOK(t, id, rest...); len(st.Servers) != 2 {
			t.Fatalf("removing %s again: %+v; want 200 with 2 servers", id, st.Servers)
		}
	})
	t.Run("the only voter", func(t *testing.T) {
		s := single(t, nil)
		_, err := client(s).RemoveServer(ctx(t), s.cfg.ID)
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Status != http.StatusConflict || !strings.Contains(ae.Message, "only voter") {
			t.Fatalf("got %v, want 409: the only voter", err)
		}
		if !s.IsLeader() || !voters(s)[s.cfg.ID] {
			t.Fatal("the only voter changed")
		}
	})
}
