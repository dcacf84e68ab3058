package server

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
	"github.com/suanli/suanli/scheduler/server/gossip"
)

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request, _ []byte) *api.Error {
	_, lid := s.raft.LeaderWithID()
	h := api.Health{Status: "ok", ClusterID: s.clusterID(), ID: s.cfg.ID, State: s.raft.State().String(), Leader: string(lid), AppliedIndex: s.fsm.Index(),
		Gossip: s.gossipStatus()}
	status := http.StatusOK
	if lid == "" {
		h.Status, status = "no_leader", http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
	return nil
}

// gossipStatus is this server's view of the gossip pool.
func (s *Server) gossipStatus() *api.GossipStatus {
	g := s.pool.Stats()
	return &api.GossipStatus{Encrypted: g.Encrypted, Joined: g.Joined, Alive: g.Alive, Suspect: g.Suspect, Dead: g.Dead, JoinError: g.JoinError}
}

func (s *Server) handleCluster(w http.ResponseWriter, r *http.Request, _ []byte) *api.Error {
	if e := s.consistent(r); e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, s.clusterStatus())
	return nil
}

func (s *Server) clusterStatus() api.ClusterStatus {
	laddr, lid := s.raft.LeaderWithID()
	lhttp, _ := s.leaderHTTP()
	st := api.ClusterStatus{
		ClusterID: s.clusterID(), ID: s.cfg.ID, State: s.raft.State().String(), LeaderID: string(lid), LeaderAddr: string(laddr), LeaderHTTP: lhttp,
		Term: s.raft.CurrentTerm(), LastIndex: s.raft.LastIndex(), CommitIndex: s.raft.CommitIndex(), AppliedIndex: s.raft.AppliedIndex(),
		Counts: s.fsm.Counts(), Gossip: s.gossipStatus(),
	}
	sc, at := s.schedulerInForce()
	st.Policy = sc.Policy
	if at > 0 {
		st.Scheduler, st.SchedulerIndex = &sc, at
	}
	alive := map[string]bool{}
	for _, m := range s.pool.Members() {
		alive[m.Name] = true // alive or suspect: listed
		st.Members = append(st.Members, api.Member{Name: m.Name, Role: m.Meta.Role, ID: m.Meta.ID, Addr: m.Addr, HTTPAddr: m.Meta.HTTPAddr, State: m.State,
			LogVersion: m.Meta.LogVersion, Version: m.Meta.Version})
	}
	dir := map[string]api.Server{}
	for _, sv := range s.fsm.Servers() {
		dir[sv.ID] = sv
	}
	versions := s.serverVersions()
	if cf := s.raft.GetConfiguration(); cf.Error() == nil {
		for _, rs := range cf.Configuration().Servers {
			sv := dir[string(rs.ID)]
			sv.ID, sv.RaftAddr = string(rs.ID), string(rs.Address)
			if v, ok := versions[sv.ID]; ok {
				sv.LogVersion, sv.Version = v.logVersion, v.version
			}
			sv.Suffrage = strings.ToLower(rs.Suffrage.String())
			sv.Leader = rs.ID == lid
			a := alive[gossip.Name(gossip.RoleServer, sv.ID)]
			sv.Alive = &a
			st.Servers = append(st.Servers, sv)
		}
	}
	sort.Slice(st.Servers, func(a, b int) bool { return st.Servers[a].ID < st.Servers[b].ID })
	return st
}

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request, body []byte) *api.Error {
	var req api.JoinRequest
	if e := decodeStrict(body, &req); e != nil {
		return e
	}
	if !api.ValidID(req.ID) {
		return api.Invalid("id", "server id %q is not a valid id", req.ID)
	}
	for f, a := range map[string]string{"raft_addr": req.RaftAddr, "http_addr": req.HTTPAddr} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return api.Invalid(f, "%s %q: %v", f, a, err)
		}
	}
	if e := s.checkJoinClusterID(&req); e != nil {
		s.log.Warn("join refused", "id", req.ID, "raft", req.RaftAddr, "err", e.Message)
		return e
	}
	cf := s.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return s.raftError(err)
	}
	present, readdress := false, false
	for _, sv := range cf.Configuration().Servers {
		if sv.ID != raft.ServerID(req.ID) {
			continue
		}
		if sv.Address == raft.ServerAddress(req.RaftAddr) {
			present = true // joining again: idempotent
			break
		}
		// The same ID at another address: AddVoter would replace the
		// address. Only do that for a server that is gone (moved, or
		// rebuilt on another address); re-addressing a live one would cut
		// it off the cluster in favour of whoever asked.
		if why, live := s.voterLive(req.ID, string(sv.Address)); live {
			return &api.Error{Code: api.CodeConflict, Field: "raft_addr", Message: fmt.Sprintf(
				"server %s is a live voter at %s (%s); refusing to re-address it to %s: stop it first, or remove it (suanli cluster remove-server %s) and join again",
				req.ID, sv.Address, why, req.RaftAddr, req.ID)}
		}
		s.log.Warn("re-addressing a server that is gone", "id", req.ID, "from", sv.Address, "to", req.RaftAddr)
		readdress = true
	}
	if readdress {
		// Remove, then add at the new address, rather than letting AddVoter
		// replace the address in place: raft v1.7.3 then updates the
		// running replication's peer under its pipeline's feet (a data
		// race, hashicorp/raft#681). Removing stops that replication; the
		// add starts a new one.
		if err := s.raft.RemoveServer(raft.ServerID(req.ID), cf.Index(), s.cfg.ApplyTimeout).Error(); err != nil {
			return s.raftError(err)
		}
	}
	if !present {
		if err := s.raft.AddVoter(raft.ServerID(req.ID), raft.ServerAddress(req.RaftAddr), 0, s.cfg.ApplyTimeout).Error(); err != nil {
			return s.raftError(err)
		}
	}
	joiner := api.Server{ID: req.ID, RaftAddr: req.RaftAddr, HTTPAddr: req.HTTPAddr, GossipAddr: req.GossipAddr}
	if v, ok := s.serverVersions()[req.ID]; ok && v.source == "gossip" {
		joiner.LogVersion, joiner.Version = v.logVersion, v.version // else the recorded ones stay
	}
	if _, _, e := s.apply(fsm.CmdServer, &fsm.ServerCmd{Server: joiner}); e != nil {
		return e
	}
	s.log.Info("server joined", "id", req.ID, "raft", req.RaftAddr, "http", req.HTTPAddr)
	writeJSON(w, http.StatusOK, s.clusterStatus())
	return nil
}

// voterLive reports whether the server id, a voter at raftAddr, looks
// alive, and why: this server's gossip pool lists it (alive or suspect)
// advertising that Raft address, or a TCP connection to the address
// succeeds within half a second. Either is enough to refuse replacing its
// address.
func (s *Server) voterLive(id, raftAddr string) (string, bool) {
	name := gossip.Name(gossip.RoleServer, id)
	for _, m := range s.pool.Members() {
		if m.Name == name && (m.Meta.RaftAddr == "" || m.Meta.RaftAddr == raftAddr) {
			return fmt.Sprintf("its gossip member at %s is %s", m.Addr, m.State), true
		}
	}
	conn, err := net.DialTimeout("tcp", raftAddr, 500*time.Millisecond)
	if err == nil {
		_ = conn.Close()
		return "its Raft address accepts connections", true
	}
	return "", false
}

func (s *Server) handleRemove(w http.ResponseWriter, r *http.Request, body []byte) *api.Error {
	var req api.RemoveRequest
	if e := decodeStrict(body, &req); e != nil {
		return e
	}
	if !api.ValidID(req.ID) {
		return api.Invalid("id", "server id %q is not a valid id", req.ID)
	}
	cf := s.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return s.raftError(err)
	}
	present, voters := false, 0
	for _, sv := range cf.Configuration().Servers {
		present = present || sv.ID == raft.ServerID(req.ID)
		if sv.Suffrage == raft.Voter {
			voters++
		}
	}
	if present && req.ID == s.cfg.ID {
		// The leader itself: hand leadership over first and let the new
		// leader remove this server (raft would otherwise remove its own
		// leader mid-request and the answer would be lost).
		if voters < 2 {
			return onlyVoter(req.ID)
		}
		return s.removeSelf(w, r, body)
	}
	if present {
		if err := s.raft.RemoveServer(raft.ServerID(req.ID), 0, s.cfg.ApplyTimeout).Error(); err != nil {
			return s.raftError(err)
		}
		s.log.Info("server removed", "id", req.ID)
	}
	// Not (or no longer) in the configuration: forget its directory entry
	// all the same, so removing twice answers alike.
	if _, _, e := s.apply(fsm.CmdServer, &fsm.ServerCmd{Remove: true, Server: api.Server{ID: req.ID}}); e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, s.clusterStatus())
	return nil
}

// removeSelf serves a request to remove this server, the leader: it
// transfers leadership to another voter, waits for the new leader to be
// known, and forwards the request there. Nothing is removed if the
// transfer fails (no_leader: retry).
func (s *Server) removeSelf(w http.ResponseWriter, r *http.Request, body []byte) *api.Error {
	s.log.Info("asked to remove this server, the leader: handing leadership over first")
	if err := s.raft.LeadershipTransfer().Error(); err != nil {
		return &api.Error{Code: api.CodeNoLeader, Message: fmt.Sprintf(
			"server %s is the leader and could not hand leadership over (%v); it was not removed: retry", s.cfg.ID, err)}
	}
	deadline := s.handoverDeadline()
	for {
		addr, lid, ok := s.awaitNewLeader(r.Context(), deadline)
		if ok && addr != "" && s.forwardTo(w, r, body, addr, lid) {
			return nil
		}
		if !ok || !s.waitLeader(r.Context(), deadline) {
			return &api.Error{Code: api.CodeNoLeader, Message: fmt.Sprintf(
				"server %s handed leadership over, but no new leader answered in time; it was not removed: retry", s.cfg.ID)}
		}
	}
}

// handoverDeadline is how long a server that handed leadership over waits
// to learn the new leader.
func (s *Server) handoverDeadline() time.Time {
	return time.Now().Add(max(s.cfg.LeaderHold, 5*time.Second))
}

// awaitNewLeader waits until a leader other than this server is known,
// and returns it with its HTTP address (empty while the directory does
// not have it); false once deadline passes or ctx ends first.
func (s *Server) awaitNewLeader(ctx context.Context, deadline time.Time) (addr, id string, ok bool) {
	for {
		if addr, lid := s.leaderHTTP(); lid != "" && lid != s.cfg.ID {
			return addr, lid, true
		}
		if !s.waitLeader(ctx, deadline) {
			return "", "", false
		}
	}
}

// handleTransferLeader hands leadership to another voter — the one named,
// or the one raft finds most up to date — as an operator does before
// stopping or upgrading the leader, so that the cluster is without a
// leader for one round of messages instead of an election timeout. It
// answers with the cluster status once a new leader is known (this
// server, a follower by then, answers). Naming the leader itself changes
// nothing.
func (s *Server) handleTransferLeader(w http.ResponseWriter, r *http.Request, body []byte) *api.Error {
	var req api.TransferLeaderRequest
	if len(bytes.TrimSpace(body)) > 0 {
		if e := decodeStrict(body, &req); e != nil {
			return e
		}
	}
	if req.ID != "" && !api.ValidID(req.ID) {
		return api.Invalid("id", "server id %q is not a valid id", req.ID)
	}
	cf := s.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return s.raftError(err)
	}
	var (
		target raft.Server
		found  bool
		voters []string
	)
	for _, sv := range cf.Configuration().Servers {
		if sv.Suffrage != raft.Voter {
			continue
		}
		voters = append(voters, string(sv.ID))
		if string(sv.ID) == req.ID {
			target, found = sv, true
		}
	}
	switch {
	case req.ID != "" && !found:
		return api.Invalid("id", "server %q is not a voter (voters: %s)", req.ID, strings.Join(voters, ", "))
	case req.ID == s.cfg.ID:
		writeJSON(w, http.StatusOK, s.clusterStatus())
		return nil
	case len(voters) < 2:
		return &api.Error{Code: api.CodeConflict, Message: fmt.Sprintf(
			"server %s is the cluster's only voter: there is no one to hand leadership to; add another server (--join) first", s.cfg.ID)}
	}
	s.log.Info("handing leadership over on request", "to", req.ID)
	var f raft.Future
	if found {
		f = s.raft.LeadershipTransferToServer(target.ID, target.Address)
	} else {
		f = s.raft.LeadershipTransfer()
	}
	if err := await(r.Context(), f); err != nil {
		return &api.Error{Code: api.CodeNoLeader, Message: fmt.Sprintf(
			"server %s could not hand leadership over (%v): retry", s.cfg.ID, err)}
	}
	if _, _, ok := s.awaitNewLeader(r.Context(), s.handoverDeadline()); !ok {
		return &api.Error{Code: api.CodeNoLeader, Message: fmt.Sprintf(
			"server %s handed leadership over, but no new leader was known in time: check suanli cluster status", s.cfg.ID)}
	}
	writeJSON(w, http.StatusOK, s.clusterStatus())
	return nil
}

func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request, body []byte) *api.Error {
	var spec api.WorkloadSpec
	if e := decodeStrict(body, &spec); e != nil {
		return e
	}
	if e := spec.Validate(""); e != nil {
		return e
	}
	if spec.ID == "" {
		spec.ID = s.cfg.NewID()
	}
	req := &submitReq{spec: spec, done: make(chan submitResp, 1)}
	select {
	case s.submitCh <- req:
	case <-r.Context().Done():
		return &api.Error{Code: api.CodeTimeout, Message: "request cancelled before it was enqueued; not applied"}
	}
	resp := <-req.done
	if resp.err != nil {
		return resp.err
	}
	if resp.res.Error != nil {
		return resp.res.Error
	}
	out := resp.res
	if wl, ok := s.fsm.Get(out.ID); ok {
		out.Workload = &wl
	}
	setIndex(w, resp.index)
	status := http.StatusCreated
	if out.Result == "exists" {
		status = http.StatusOK
	}
	writeJSON(w, status, out)
	return nil
}

func (s *Server) handleBulk(w http.ResponseWriter, r *http.Request, body []byte) *api.Error {
	var specs []api.WorkloadSpec
	if e := decodeStrict(body, &specs); e != nil {
		return e
	}
	if len(specs) == 0 {
		return api.Invalid("body", "an array of at least one workload is required")
	}
	if len(specs) > api.MaxBulkSubmit {
		return api.Invalid("body", "at most %d workloads per bulk request (got %d)", api.MaxBulkSubmit, len(specs))
	}
	seen := make(map[string]int, len(specs))
	for i := range specs {
		p := fmt.Sprintf("[%d]", i)
		if e := specs[i].Validate(p); e != nil {
			return e
		}
		if specs[i].ID == "" {
			specs[i].ID = s.cfg.NewID()
		}
		if j, dup := seen[specs[i].ID]; dup {
			return api.Invalid(p+".id", "duplicate id %q (also at [%d])", specs[i].ID, j)
		}
		seen[specs[i].ID] = i
	}
	res, idx, e := s.apply(fsm.CmdSubmit, &fsm.Submit{At: s.clock.Now(), Workloads: specs})
	if e != nil {
		return e
	}
	sr := res.(*fsm.SubmitResult)
	out := api.BulkSubmitResponse{Index: idx, Results: sr.Items}
	for _, it := range sr.Items {
		if it.Result == "created" {
			out.Created++
		} else {
			out.Exists++
		}
	}
	setIndex(w, idx)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request, body []byte) *api.Error {
	id := r.PathValue("id")
	if !api.ValidID(id) {
		return api.Invalid("id", "workload id %q is not a valid id", id)
	}
	if e := decodeNoFields(body); e != nil {
		return e
	}
	res, idx, e := s.apply(fsm.CmdCancel, &fsm.Cancel{At: s.clock.Now(), ID: id})
	if e != nil {
		return e
	}
	s.cancelled(id)
	setIndex(w, idx)
	writeJSON(w, http.StatusOK, api.CancelResponse{Index: idx, Workload: res.(*fsm.CancelResult).Workload})
	return nil
}

// nodeStateRequest is POST /v1/nodes/{id}/state.
type nodeStateRequest struct {
	State string `json:"state"`
}

func (s *Server) handleNodeState(w http.ResponseWriter, r *http.Request, body []byte) *api.Error {
	var req nodeStateRequest
	if e := decodeStrict(body, &req); e != nil {
		return e
	}
	if _, err := nodes.ParseNodeState(req.State); err != nil {
		return api.Invalid("state", "%v", err)
	}
	_, idx, e := s.apply(fsm.CmdNodeState, &fsm.NodeState{At: s.clock.Now(), Nodes: []string{r.PathValue("id")}, State: req.State, Reason: fsm.ReasonOperator})
	if e != nil {
		if e.Field == "nodes[0]" {
			e.Field = "id"
		}
		return e
	}
	n, ok := s.fsm.Node(r.PathValue("id"))
	if !ok {
		return &api.Error{Code: api.CodeNotFound, Message: "node vanished"}
	}
	setIndex(w, idx)
	writeJSON(w, http.StatusOK, n)
	return nil
}

// handlePlan is the dry run: decide on a copy of the current state,
// commit nothing, explain.
func (s *Server) handlePlan(w http.ResponseWriter, r *http.Request, body []byte) *api.Error {
	var req api.PlanRequest
	if e := decodeStrict(body, &req); e != nil {
		return e
	}
	if e := req.Workload.Validate("workload"); e != nil {
		return e
	}
	// The cluster's configuration, with another policy if the request
	// names one (its settings as the simulator would give that policy).
	sc, _ := s.schedulerInForce()
	policy := req.Policy
	if policy == "" {
		policy = sc.Policy
	}
	sched, err := scheduler.New(policy, fsm.CoreConfig(&sc, policy))
	if err != nil {
		return api.Invalid("policy", "%v", err)
	}
	st, sites, _, _ := s.fsm.PlanningCopy(nil, 0)
	snap, err := newSnapshot(st, sites)
	if err != nil {
		return &api.Error{Code: api.CodeInternal, Message: err.Error()}
	}
	live := &liveView{f: s.fsm, evicted: map[string]bool{}}
	if sc.Preempt {
		snap.Running = live
	}
	s.applyEnergy(snap, s.clock.Now())
	wl, err := toWorkload(&req.Workload, snap)
	if err != nil {
		return api.Invalid("workload", "%v", err)
	}
	if req.TopK < 0 || req.TopK > api.MaxTopK {
		return api.Invalid("top_k", "top_k %d must be in [1, %d] (0 or absent: 5)", req.TopK, api.MaxTopK)
	}
	ex := &scheduler.Explanation{TopK: req.TopK}
	if ex.TopK == 0 {
		ex.TopK = 5
	}
	for i, id := range req.WhyNotSites {
		si := st.SiteIndex(id)
		if si < 0 {
			return api.Invalid(fmt.Sprintf("why_not_sites[%d]", i), "unknown site %q", id)
		}
		ex.WhyNotSites = append(ex.WhyNotSites, si)
	}
	for i, id := range req.WhyNotNodes {
		ni, ok := st.NodeIndex(id)
		if !ok {
			return api.Invalid(fmt.Sprintf("why_not_nodes[%d]", i), "unknown node %q", id)
		}
		ex.WhyNotNodes = append(ex.WhyNotNodes, ni)
	}
	now := s.clock.Now()
	d := sched.Decide(snap, &wl, now, nil, ex)
	out := api.PlanResponse{Index: s.fsm.Index(), Policy: policy, Outcome: d.Outcome.String(), Late: d.Late, Score: d.Score, NotBefore: d.NotBefore}
	if d.Outcome == scheduler.Place {
		out.Node, out.Site = st.NodeID(d.Node), st.Site(d.Site).ID
		for _, id := range d.Preempt {
			out.Preempt = append(out.Preempt, live.ids[id].ID)
		}
	}
	if d.Outcome == scheduler.Reject {
		out.Reason, out.Transient = d.Reason.String(), d.Reason.Transient()
	}
	out.Explanation = explanationOf(ex)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func explanationOf(ex *scheduler.Explanation) api.PlanExplanation {
	pe := api.PlanExplanation{Text: ex.String(), Feasible: ex.Feasible, Removed: map[string]api.FilterCount{}, Candidates: []api.Candidate{}}
	for f := scheduler.Filter(0); f < scheduler.NumFilters; f++ {
		if c := ex.Removed[f]; c.Sites > 0 {
			pe.Removed[f.String()] = api.FilterCount{Sites: c.Sites, Nodes: c.Nodes}
		}
	}
	names := scheduler.ScorerNames()
	for _, c := range ex.Candidates {
		ac := api.Candidate{Site: c.Site, RTTMs: c.RTTMs, Total: c.Total, Late: c.Late, Terms: map[string]float64{}}
		for k, v := range c.Terms {
			if k < len(names) && ex.Weights[k] != 0 {
				ac.Terms[names[k]] = v
			}
		}
		pe.Candidates = append(pe.Candidates, ac)
	}
	for _, wn := range ex.WhyNot {
		pe.WhyNot = append(pe.WhyNot, api.WhyNot{Site: wn.Site, Node: wn.Node, Filter: wn.Filter.String(), Reason: wn.Reason, ScoreGap: wn.ScoreGap})
	}
	return pe
}

// ---- agent endpoints ----

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request, body []byte) *api.Error {
	var req api.RegisterRequest
	if e := decodeStrict(body, &req); e != nil {
		return e
	}
	if e := req.Validate(s.fsm.HasSite); e != nil {
		return e
	}
	if req.Sites == nil {
		req.Sites = []api.Site{}
	}
	_, idx, e := s.apply(fsm.CmdRegister, &fsm.Register{At: s.clock.Now(), AgentID: req.AgentID, Sites: req.Sites, Nodes: req.Nodes, Instance: req.Instance})
	if e != nil {
		return e
	}
	setIndex(w, idx)
	writeJSON(w, http.StatusOK, api.RegisterResponse{Index: idx, Nodes: len(req.Nodes), Sites: len(req.Sites)})
	return nil
}

// handleAssignments is a blocking query: it answers once the agent's
// assignment index exceeds ?index (or after ?wait, default 30 s, capped by
// the server's MaxWait).
func (s *Server) handleAssignments(w http.ResponseWriter, r *http.Request, _ []byte) *api.Error {
	agent := r.PathValue("id")
	if !api.ValidID(agent) {
		return api.Invalid("id", "agent id %q is not a valid id", agent)
	}
	q := r.URL.Query()
	var min uint64
	if v := q.Get("index"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return api.Invalid("index", "index %q must be a non-negative integer", v)
		}
		min = n
	}
	wait := 30 * time.Second
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return api.Invalid("wait", "wait %q must be a duration like 30s", v)
		}
		wait = d
	}
	if wait > s.cfg.MaxWait {
		wait = s.cfg.MaxWait
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		ch := s.fsm.Watch()
		idx, known := s.fsm.AgentIndex(agent)
		if !known {
			return &api.Error{Code: api.CodeNotFound, Field: "id", Message: fmt.Sprintf("unknown agent %q: register first", agent)}
		}
		if idx > min || min == 0 {
			break
		}
		select {
		case <-ch:
			continue
		case <-timer.C:
		case <-r.Context().Done():
			return nil
		case <-s.ctx.Done():
		}
		break
	}
	idx, as, _ := s.fsm.Assignments(agent)
	setIndex(w, idx)
	writeJSON(w, http.StatusOK, api.Assignments{Index: idx, Assignments: as})
	return nil
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, body []byte) *api.Error {
	agent := r.PathValue("id")
	if !api.ValidID(agent) {
		return api.Invalid("id", "agent id %q is not a valid id", agent)
	}
	var req api.EventsRequest
	if e := decodeStrict(body, &req); e != nil {
		return e
	}
	if len(req.Events) == 0 {
		return api.Invalid("events", "at least one event is required")
	}
	if len(req.Events) > api.MaxEventsPerReq {
		return api.Invalid("events", "at most %d events per request", api.MaxEventsPerReq)
	}
	for i := range req.Events {
		if e := req.Events[i].Validate(fmt.Sprintf("events[%d]", i)); e != nil {
			return e
		}
	}
	if _, known := s.fsm.AgentIndex(agent); !known {
		return &api.Error{Code: api.CodeNotFound, Field: "id", Message: fmt.Sprintf("unknown agent %q: register first", agent)}
	}
	res, idx, e := s.apply(fsm.CmdEvents, &fsm.Events{At: s.clock.Now(), AgentID: agent, Events: req.Events})
	if e != nil {
		return e
	}
	er := res.(*fsm.EventsResult)
	s.noteEvents(agent, idx, req.Events, er)
	setIndex(w, idx)
	writeJSON(w, http.StatusOK, api.EventsResponse{Index: idx, Results: er.Results})
	return nil
}
