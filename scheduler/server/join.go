package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/gossip"
)

// How joinLoop paces itself. The gossip rejoin backoff starts at
// gossipRejoinMin and doubles up to gossipRejoinMax while every attempt
// fails; a failed Raft join is retried after 100 ms, doubling up to
// raftJoinMax. Long-lasting trouble (no leader, removed) is logged again
// every warnAgain.
const (
	gossipRejoinMin = 100 * time.Millisecond
	gossipRejoinMax = 10 * time.Second
	raftJoinMax     = 2 * time.Second
	checkEvery      = time.Second
	joinSettle      = 30 * time.Second // after a join answer, the time the new configuration may take to arrive
	warnAgain       = 5 * time.Minute
)

// joinState is joinLoop's memory between rounds.
type joinState struct {
	// Raft: asking the Config.Join servers to add this server as a voter.
	needRaft    bool
	joinedAt    time.Time // when a join request was answered, until this server finds itself a voter
	raftAttempt int
	raftNext    time.Time
	raftWait    time.Duration

	// gossip: seeds are the configured ones and those learned from join
	// answers; the directory's and the --join servers' are added per try.
	seeds       []string
	gossipNext  time.Time
	gossipWait  time.Duration
	gossipFails int  // consecutive failed joins
	joined      bool // saw another live member at the last look

	// membership: whether the last look found this server outside its
	// own Raft configuration, and since when no leader is known.
	memberNext    time.Time
	removed       bool
	noLeaderSince time.Time
	noLeaderNext  time.Time
}

// joinLoop makes this server a member of the cluster and of the gossip
// pool, and keeps it one for the server's life:
//
//   - Raft: with Config.Join, it asks those servers (any of them: a
//     follower forwards to the leader) to add it as a voter, at every
//     start, whether or not the data directory has state. The leader
//     answers at once for a voter it has (nothing changes but the
//     directory's addresses) and adds one it lacks: a new server, or one
//     removed earlier (suanli cluster remove-server) and now restarted
//     from its old data directory, whose log the leader then brings up to
//     date (log entries, or a snapshot). It retries until one answers, or
//     until this server hears from a leader while it is a voter in its
//     own configuration (it is a member: nothing to ask). A refusal that
//     asking again cannot change (permanentJoinError: another cluster's
//     data directory, a wrong token) ends the loop and fails the server
//     (Server.Failed).
//   - Gossip: whenever this server sees no other live member of the pool
//     — at start, and again if every other member vanished later (the
//     pool restarted elsewhere, a partition made everyone declare this
//     server dead) — it joins its gossip seeds, the servers' gossip
//     addresses from the directory and, after a failure, those the
//     Config.Join servers report now, with backoff (gossipRejoinMin
//     doubling to gossipRejoinMax), logging at warn level. The pool's
//     Stats (GET /v1/health: joined, join_error) show it.
//   - Removal: it warns when this server is not a voter in its own Raft
//     configuration (it was removed), and when it has known no leader for
//     a long time, naming the likely reason (asking the other servers
//     whether the leader still lists it).
func (s *Server) joinLoop() {
	defer s.wg.Done()
	// Tell the pool our HTTP address now that we know it.
	_ = s.pool.SetMeta(s.serverMeta(), time.Second)
	j := &joinState{
		needRaft: len(s.cfg.Join) > 0,
		seeds:    append([]string(nil), s.cfg.Gossip.Join...),
		raftWait: 100 * time.Millisecond, gossipWait: gossipRejoinMin,
	}
	for {
		now := time.Now()
		if j.needRaft && !now.Before(j.raftNext) {
			if err := s.raftJoinStep(j); err != nil {
				// Refused for good: asking again would get the same answer.
				s.log.Error("the cluster refused to add this server, and would refuse it again: stopping. "+
					"Fix the cause and start the server again", "join", strings.Join(s.cfg.Join, ","), "err", err)
				s.fail(err)
				return
			}
		}
		if !time.Now().Before(j.gossipNext) {
			s.gossipStep(j)
		}
		if !time.Now().Before(j.memberNext) {
			s.membershipStep(j)
		}
		wake := j.gossipNext
		if j.memberNext.Before(wake) {
			wake = j.memberNext
		}
		if j.needRaft && j.raftNext.Before(wake) {
			wake = j.raftNext
		}
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(max(time.Until(wake), 10*time.Millisecond)):
		}
	}
}

// raftJoinStep asks the Config.Join servers, in order, to add this server
// as a voter, until one answers. When none added it and one refused it for
// good (permanentJoinError), it returns that refusal (ErrJoinRefused):
// the caller stops asking. Any other failure is retried with backoff.
func (s *Server) raftJoinStep(j *joinState) error {
	if s.memberByLeader() {
		// A leader replicates to this server and it is a voter: it is in
		// the cluster (a restart whose --join servers are gone, say).
		j.needRaft = false
		return nil
	}
	var refused error
	for _, a := range s.cfg.Join {
		st, err := s.askJoin(a)
		if err != nil {
			if perm := s.permanentJoinError(a, err); perm != nil {
				if refused == nil {
					refused = perm
				}
				continue
			}
			if j.raftAttempt%20 == 0 {
				s.log.Warn("join failed, retrying", "via", a, "attempts", j.raftAttempt+1, "err", err)
			}
			continue
		}
		j.needRaft, j.joinedAt = false, time.Now()
		for _, sv := range st {
			if sv.GossipAddr != "" && sv.ID != s.cfg.ID {
				j.seeds = append(j.seeds, sv.GossipAddr)
			}
		}
		s.log.Info("joined the cluster as a voter", "via", a, "servers", len(st), "had_state", s.hadState)
		return nil
	}
	if refused != nil {
		j.needRaft = false
		return refused
	}
	j.raftAttempt++
	j.raftNext = time.Now().Add(j.raftWait)
	j.raftWait = min(2*j.raftWait, raftJoinMax)
	return nil
}

// ErrJoinRefused marks a join the cluster refused for good: the server
// at a Config.Join address (or the leader it forwarded to) answered that
// it will never add this server as configured. The server then stops
// asking and fails (Server.Failed, Server.Err).
var ErrJoinRefused = errors.New("join refused")

// permanentJoinError returns the ErrJoinRefused error for a join answer
// that asking again cannot change, or nil for one worth retrying. The
// permanent answers are the ones a property of this server decides:
//
//   - 409 on cluster_id: the data directory belongs to another cluster;
//   - 401 or 403: the cluster refuses this server's API token;
//   - 400: the request itself is invalid (its ID or addresses, or a
//     server of another version that does not know a field).
//
// Everything else is transient: no leader or a leader change (503), a
// server not answering, and the 409 on raft_addr — a live voter with this
// server's ID at another Raft address, which clears without any change
// here once that voter stops (the leader's pool drops it and its Raft port
// refuses connections) or an operator removes it; a server replacing a
// moved one is commonly started before the old one is stopped.
func (s *Server) permanentJoinError(httpAddr string, err error) error {
	var ae *api.Error
	if !errors.As(err, &ae) {
		return nil // network, timeout, or the server's own shutdown
	}
	switch {
	case ae.Status == http.StatusConflict && ae.Field == "cluster_id":
		theirs := "another cluster"
		if st, cerr := s.clusterAt(httpAddr, 2*time.Second); cerr == nil && st.ClusterID != "" {
			theirs = "cluster " + st.ClusterID
		}
		return fmt.Errorf("%w: data directory %s belongs to cluster %s (its %s file), the cluster at %s is %s. "+
			"To add this server to that cluster, start it with an empty --data-dir (delete this one or choose another); "+
			"to keep it in cluster %s, --join a server of that cluster: %w",
			ErrJoinRefused, s.cfg.DataDir, s.clusterID(), clusterIDFile, httpAddr, theirs, s.clusterID(), err)
	case ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden:
		return fmt.Errorf("%w: the server at %s refuses this server's API token (HTTP %d): "+
			"start this server with the cluster's token (--token or SUANLI_TOKEN): %w", ErrJoinRefused, httpAddr, ae.Status, err)
	case ae.Status == http.StatusBadRequest:
		return fmt.Errorf("%w: the server at %s finds the join request invalid (HTTP 400): "+
			"check this server's --id and addresses, and that it runs the cluster's version: %w", ErrJoinRefused, httpAddr, err)
	}
	return nil
}

// memberByLeader reports whether a leader is known and this server is a
// voter in its own latest Raft configuration. A leader replicates only to
// servers of its configuration, so a removed server never hears of one.
func (s *Server) memberByLeader() bool {
	if _, lid := s.raft.LeaderWithID(); lid == "" {
		return false
	}
	voter, _ := s.localVoter()
	return voter
}

// localVoter reports whether this server is a voter in its own latest
// Raft configuration, and how many servers that configuration has.
func (s *Server) localVoter() (voter bool, servers int) {
	cf := s.raft.GetConfiguration()
	if cf.Error() != nil {
		return false, 0
	}
	for _, sv := range cf.Configuration().Servers {
		if sv.ID == raft.ServerID(s.cfg.ID) && sv.Suffrage == raft.Voter {
			voter = true
		}
	}
	return voter, len(cf.Configuration().Servers)
}

// gossipStep joins the pool if this server sees no other live member.
func (s *Server) gossipStep(j *joinState) {
	now := time.Now()
	if s.pool.NumMembers() >= 2 {
		j.joined = true
		j.gossipFails, j.gossipWait = 0, gossipRejoinMin
		j.gossipNext = now.Add(checkEvery)
		return
	}
	cand := s.gossipCandidates(j)
	if len(cand) == 0 {
		// Alone with nobody to ask: a one-server cluster without agents.
		j.joined = false
		j.gossipNext = now.Add(checkEvery)
		return
	}
	if j.joined {
		s.log.Warn("this server sees no other live member of the gossip pool; rejoining", "tried", strings.Join(cand, ","))
		j.joined = false
	}
	n, err := s.pool.Join(cand)
	if err != nil {
		j.gossipFails++
		if j.gossipFails == 1 || j.gossipFails%10 == 0 {
			s.log.Warn("gossip join failed, retrying", "tried", strings.Join(cand, ","), "attempts", j.gossipFails, "next_in", j.gossipWait, "err", err)
		}
		j.gossipNext = now.Add(j.gossipWait)
		j.gossipWait = min(2*j.gossipWait, gossipRejoinMax)
		return
	}
	s.log.Info("joined the gossip pool", "via", n, "members", s.pool.NumMembers(), "after_failures", j.gossipFails)
	j.joined = s.pool.NumMembers() >= 2
	j.gossipFails, j.gossipWait = 0, gossipRejoinMin
	j.gossipNext = time.Now().Add(checkEvery)
}

// gossipCandidates are the addresses to join: the seeds, the other
// servers' gossip addresses in the directory, and after a failure those
// the Config.Join servers report now (the pool may have moved to other
// ports); never this server's own.
func (s *Server) gossipCandidates(j *joinState) []string {
	cand := append([]string(nil), j.seeds...)
	for _, sv := range s.fsm.Servers() {
		if sv.ID != s.cfg.ID && sv.GossipAddr != "" {
			cand = append(cand, sv.GossipAddr)
		}
	}
	if j.gossipFails > 0 {
		for _, a := range s.cfg.Join {
			st, err := s.clusterAt(a, 2*time.Second)
			if err != nil {
				continue
			}
			for _, sv := range st.Servers {
				if sv.ID != s.cfg.ID && sv.GossipAddr != "" {
					cand = append(cand, sv.GossipAddr)
				}
			}
		}
	}
	cand = slices.DeleteFunc(cand, func(a string) bool { return a == s.addrs.GossipAddr })
	slices.Sort(cand)
	return slices.Compact(cand)
}

// membershipStep warns when this server is not a voter in its own Raft
// configuration, and when it has known no leader for long.
func (s *Server) membershipStep(j *joinState) {
	now := time.Now()
	j.memberNext = now.Add(checkEvery)
	voter, n := s.localVoter()
	removed := n > 0 && !voter
	if voter || now.Sub(j.joinedAt) >= joinSettle {
		j.joinedAt = time.Time{}
	}
	if removed && !j.joinedAt.IsZero() {
		// Just added: the leader's configuration is on its way.
		removed = false
	}
	switch {
	case removed && !j.removed:
		if j.needRaft {
			s.log.Warn("this server is not in its Raft configuration: it was removed from the cluster; asking to be added back as a voter",
				"via", strings.Join(s.cfg.Join, ","))
		} else {
			s.log.Warn("this server is not in its Raft configuration: it was removed from the cluster, and takes no part in elections or writes " +
				"(its state is no longer updated). To add it back, restart it with --join <HTTP address of a cluster server>: its data directory " +
				"is kept and brought up to date. To retire it, stop it and delete its data directory.")
		}
	case !removed && j.removed:
		s.log.Info("this server is a voter in its Raft configuration again")
	}
	j.removed = removed

	if _, lid := s.raft.LeaderWithID(); lid != "" || s.raft.State() == raft.Leader {
		j.noLeaderSince, j.noLeaderNext = time.Time{}, time.Time{}
		return
	}
	if j.noLeaderSince.IsZero() {
		j.noLeaderSince = now
	}
	// Removed (said above) or still asking to join (its failures are
	// logged): nothing to add.
	if removed || j.needRaft || now.Sub(j.noLeaderSince) < s.noLeaderWarnAfter() || now.Before(j.noLeaderNext) {
		return
	}
	j.noLeaderNext = now.Add(warnAgain)
	since := now.Sub(j.noLeaderSince).Round(time.Second)
	if n == 0 {
		s.log.Warn("no Raft leader known and no Raft configuration: this server is in no cluster. Start the first server of a cluster with --bootstrap, "+
			"the others with --join <HTTP address of a cluster server>", "for", since)
		return
	}
	if lid, via := s.leaderWithout(); lid != "" {
		s.log.Warn("the cluster's leader does not list this server in its Raft configuration: it was removed while it was down, and "+
			"the others refuse its votes. To add it back, restart it with --join <HTTP address of a cluster server> (its data directory is "+
			"kept and brought up to date); to retire it, stop it and delete its data directory", "leader", lid, "asked", via, "for", since)
		return
	}
	s.log.Warn("no Raft leader known: a quorum of the servers in this server's configuration is down or unreachable "+
		"(or this server was removed from the cluster while it was down: then restart it with --join <HTTP address of a cluster server>)",
		"for", since, "configuration", s.configText())
}

// noLeaderWarnAfter is how long a server knows no leader before it says so.
func (s *Server) noLeaderWarnAfter() time.Duration {
	return max(20*s.cfg.Raft.ElectionTimeout, 5*time.Second)
}

// configText lists this server's Raft configuration as id@addr.
func (s *Server) configText() string {
	cf := s.raft.GetConfiguration()
	if cf.Error() != nil {
		return ""
	}
	var out []string
	for _, sv := range cf.Configuration().Servers {
		out = append(out, string(sv.ID)+"@"+string(sv.Address))
	}
	return strings.Join(out, ",")
}

// leaderWithout asks the other servers this server knows of (the
// directory, the Config.Join servers, the gossip pool) for the cluster's
// status: if one reports a leader whose configuration lacks this server,
// it returns that leader and the server asked.
func (s *Server) leaderWithout() (leader, via string) {
	var addrs []string
	for _, sv := range s.fsm.Servers() {
		if sv.ID != s.cfg.ID && sv.HTTPAddr != "" {
			addrs = append(addrs, sv.HTTPAddr)
		}
	}
	for _, m := range s.pool.Members() {
		if m.Meta.Role == gossip.RoleServer && m.Meta.ID != s.cfg.ID && m.Meta.HTTPAddr != "" {
			addrs = append(addrs, m.Meta.HTTPAddr)
		}
	}
	addrs = append(addrs, s.cfg.Join...)
	slices.Sort(addrs)
	addrs = slices.Compact(addrs)
	for _, a := range addrs {
		if a == s.addrs.HTTPAddr {
			continue
		}
		st, err := s.clusterAt(a, 2*time.Second)
		if err != nil || st.LeaderID == "" || st.LeaderID == s.cfg.ID || len(st.Servers) == 0 {
			continue
		}
		if !slices.ContainsFunc(st.Servers, func(sv api.Server) bool { return sv.ID == s.cfg.ID }) {
			return st.LeaderID, a
		}
		return "", "" // listed: not removed
	}
	return "", ""
}

// clusterAt reads the cluster status from the server at httpAddr.
func (s *Server) clusterAt(httpAddr string, timeout time.Duration) (api.ClusterStatus, error) {
	c := api.NewClientTLS(httpAddr, s.cfg.Token, s.peerTLS)
	c.HTTP.Timeout = timeout
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	return c.Cluster(ctx)
}

// askJoin posts a join request to a server (forwarded to the leader).
func (s *Server) askJoin(httpAddr string) ([]api.Server, error) {
	c := api.NewClientTLS(httpAddr, s.cfg.Token, s.peerTLS)
	c.HTTP.Timeout = 10 * time.Second
	ctx, cancel := context.WithTimeout(s.ctx, 15*time.Second)
	defer cancel()
	st, err := c.Join(ctx, api.JoinRequest{ID: s.cfg.ID, RaftAddr: s.addrs.RaftAddr, HTTPAddr: s.addrs.HTTPAddr, GossipAddr: s.addrs.GossipAddr,
		ClusterID: s.clusterID()})
	if err != nil {
		return nil, err
	}
	return st.Servers, nil
}

// onlyVoter is the answer to removing the only voter.
func onlyVoter(id string) *api.Error {
	return &api.Error{Code: api.CodeConflict, Field: "id", Message: fmt.Sprintf(
		"server %s is the cluster's only voter: removing it would leave no cluster; add another server (--join) first", id)}
}
