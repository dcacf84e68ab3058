package server

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
	"github.com/suanli/suanli/scheduler/server/gossip"
)

// cities are the origins workloads name; the latency table is built from
// them and the registered sites.
var cities = nodes.ShandongCities()

// newSnapshot ties a planning state to a latency table over its sites.
func newSnapshot(st *scheduler.State, sites []nodes.Site) (*scheduler.Snapshot, error) {
	lt, err := nodes.NewLatencyTable(nodes.DefaultLatencyModel(), cities, sites)
	if err != nil {
		return nil, fmt.Errorf("latency table: %w", err)
	}
	return scheduler.NewSnapshot(st, lt, cities)
}

// toWorkload converts a spec to the core's workload on snap's topology.
func toWorkload(s *api.WorkloadSpec, snap *scheduler.Snapshot) (scheduler.Workload, error) {
	origin, err := nodes.LookupCity(cities, s.Origin)
	if err != nil {
		return scheduler.Workload{}, err
	}
	w := scheduler.Workload{
		ID: s.ID, Class: s.Class, Origin: origin, Request: s.Request,
		Duration: time.Duration(s.DurationMs) * time.Millisecond, LatencyBoundMs: s.LatencyBoundMs,
		Deadline: s.Deadline, Priority: s.Priority, InputMB: s.InputMB,
	}
	for _, t := range s.Tiers {
		tier, err := nodes.ParseTier(t)
		if err != nil {
			return w, err
		}
		w.Tiers |= nodes.TiersOf(tier)
	}
	if len(s.Sites) > 0 {
		st := snap.State
		w.Sites = scheduler.NewSiteSet(st.NumSites())
		for _, id := range s.Sites {
			if i := st.SiteIndex(id); i >= 0 {
				w.Sites.Add(i)
			}
		}
	}
	return w, nil
}

// planDone is the outcome of one plan entry.
type planDone struct {
	res *fsm.PlanResult
	err *api.Error
	n   int
}

// deferral is a deferred workload the leader will decide again.
type deferral struct {
	at  time.Time
	id  string
	seq uint64
}

type deferHeap []deferral

func (h deferHeap) Len() int           { return len(h) }
func (h deferHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deferHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deferHeap) Push(x any)        { *h = append(*h, x.(deferral)) }
func (h *deferHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// runLeader is the leader's work: make sure the FSM is current, register
// this server in the directory, then plan and watch membership until
// leadership ends.
func (s *Server) runLeader(ctx context.Context) {
	s.metrics.isLeader.Set(1)
	defer s.metrics.isLeader.Set(0)
	// Wait until the FSM has applied everything earlier leaders committed;
	// retry while still leading (a barrier can time out under load).
	for {
		err := await(ctx, s.raft.Barrier(s.cfg.ApplyTimeout))
		if err == nil {
			break
		}
		s.log.Warn("leader barrier failed", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.log.Info("leading", "term", s.raft.CurrentTerm(), "index", s.fsm.Index())
	if sv, ok := s.fsm.Server(s.cfg.ID); !ok || sv.HTTPAddr != s.addrs.HTTPAddr || sv.GossipAddr != s.addrs.GossipAddr || sv.RaftAddr != s.addrs.RaftAddr ||
		sv.LogVersion != s.logVersion() || sv.Version != BuildVersion() {
		_, _, _ = s.apply(fsm.CmdServer, &fsm.ServerCmd{Server: api.Server{ID: s.cfg.ID, RaftAddr: s.addrs.RaftAddr, HTTPAddr: s.addrs.HTTPAddr, GossipAddr: s.addrs.GossipAddr,
			LogVersion: s.logVersion(), Version: BuildVersion()}})
	}
	s.ensureClusterID()
	s.ensureScheduler()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.membershipLoop(ctx)
	}()
	s.planLoop(ctx)
	<-done
}

// deferRecheck is how soon the leader looks again at a deferral that came
// due while the plan deferring it was still being committed.
const deferRecheck = 20 * time.Millisecond

// planLoop decides ready workloads and commits the decisions, with the
// policy of the replicated scheduler configuration; when that changes, it
// builds the new policy once the plans in flight have landed and hands it
// the deferred work (adopt), as at the start of a leadership.
func (s *Server) planLoop(ctx context.Context) {
	sc, schedAt := s.schedulerInForce()
	sched, err := scheduler.New(sc.Policy, fsm.CoreConfig(&sc, ""))
	if err != nil {
		s.log.Error("policy", "err", err, "policy", sc.Policy)
		return
	}
	preempt := sc.Preempt
	rng := rand.New(rand.NewPCG(s.cfg.Seed, s.raft.CurrentTerm()))
	var (
		plan        *scheduler.State
		snap        *scheduler.Snapshot
		topo, capEp uint64
		cursor      uint64
		inflight    int
		results     = make(chan planDone, s.cfg.PlanPipeline)
		defers      deferHeap
		buf         []fsm.Ready
		energySnap  *scheduler.Snapshot // the snapshot energy signals were last set on, and when
		energyAt    time.Time
		live        = &liveView{f: s.fsm, evicted: map[string]bool{}, placed: map[int][]fsm.LiveWork{}, track: preempt}
	)
	// The work earlier leaders deferred: this one wakes it when due, and
	// its policy takes over the reservations (adopt, once a snapshot is
	// built).
	adopt := s.fsm.Deferred()
	for _, d := range adopt {
		heap.Push(&defers, deferral{at: d.NotBefore, id: d.Spec.ID, seq: d.Seq})
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	failed := false
	handle := func(d planDone) bool {
		inflight--
		if d.err != nil {
			s.log.Warn("plan not committed", "err", d.err, "items", d.n)
			if s.raft.State() != raft.Leader {
				return false
			}
			// Still leading (e.g. an enqueue timeout): start over from the
			// FSM once the pipeline is empty; decisions that did land are
			// recognised by their ready sequence numbers.
			failed = true
		}
		if d.res == nil {
			return true
		}
		s.metrics.placements.Add(float64(d.res.Placed))
		s.metrics.preemptions.Add(float64(d.res.Preempted))
		s.metrics.conflicts.Add(float64(d.res.Conflicts))
		return true
	}
	// settle handles a finished plan; false (leadership is gone) once
	// every plan still in flight has been collected too.
	settle := func(d planDone) bool {
		if handle(d) {
			return true
		}
		for inflight > 0 {
			handle(<-results)
		}
		return false
	}
	for {
		select {
		case <-ctx.Done():
			for inflight > 0 {
				handle(<-results)
			}
			return
		default:
		}
		// Collect finished plans without blocking.
		for inflight > 0 {
			select {
			case d := <-results:
				if !settle(d) {
					return
				}
				continue
			default:
			}
			break
		}
		if failed && inflight == 0 {
			failed, plan, cursor = false, nil, 0
			select {
			case <-ctx.Done():
				continue
			case <-time.After(50 * time.Millisecond):
			}
		}
		curTopo, curCap := s.fsm.Epochs()
		if plan == nil || curTopo != topo || curCap != capEp {
			if inflight > 0 {
				// Let in-flight plans land before refreshing the copy.
				if !settle(<-results) {
					return
				}
				continue
			}
			st, sites, t, c := s.fsm.PlanningCopy(plan, topo)
			if sites != nil {
				sn, err := newSnapshot(st, sites)
				if err != nil {
					s.log.Error("planning snapshot", "err", err)
					return
				}
				snap = sn
			}
			plan, topo, capEp = st, t, c
			// Every plan has landed: the FSM shows every placement and
			// eviction made.
			clear(live.evicted)
			clear(live.placed)
			snap.Running = nil
			if preempt {
				snap.Running = live
			}
		}
		if st, ok := s.fsm.Scheduler(); ok && st.ModifyIndex != schedAt {
			if inflight > 0 {
				// Let in-flight plans land first: the new policy adopts
				// the deferrals they commit.
				if !settle(<-results) {
					return
				}
				continue
			}
			ns, err := scheduler.New(st.Config.Policy, fsm.CoreConfig(&st.Config, ""))
			if err != nil {
				// The FSM checked it: only a policy this binary lacks.
				s.log.Error("scheduler configuration not usable: keeping the current policy", "err", err, "index", st.ModifyIndex)
				schedAt = st.ModifyIndex
				continue
			}
			sched, schedAt, preempt = ns, st.ModifyIndex, st.Config.Preempt
			live.track = preempt
			snap.Running = nil
			if preempt {
				snap.Running = live
			}
			adopt = s.fsm.Deferred()
			s.log.Info("scheduler rebuilt from the replicated configuration", "policy", st.Config.Policy, "preempt", preempt,
				"index", st.ModifyIndex, "deferred", len(adopt))
		}
		if inflight >= s.cfg.PlanPipeline {
			if !settle(<-results) {
				return
			}
			continue
		}
		now := s.clock.Now()
		if s.cfg.Energy != nil && (snap != energySnap || now.Sub(energyAt) >= s.cfg.EnergyRefresh) {
			s.applyEnergy(snap, now)
			energySnap, energyAt = snap, now
		}
		if len(adopt) > 0 && snap != nil {
			s.adopt(sched, snap, adopt)
			adopt = nil
		}
		buf = s.fsm.ReadyAfter(cursor, s.cfg.PlanBatch, buf[:0])
		if n := len(buf); n > 0 {
			cursor = buf[n-1].Seq
		}
		s.forgetAll(sched)
		for len(defers) > 0 && !defers[0].at.After(now) && len(buf) < 2*s.cfg.PlanBatch {
			d := heap.Pop(&defers).(deferral)
			if r, ok := s.fsm.DeferredOne(d.id, d.seq); ok {
				if r.NotBefore.After(now) {
					heap.Push(&defers, deferral{at: r.NotBefore, id: d.id})
					continue
				}
				buf = append(buf, r)
			} else if s.left(d.id) {
				// Cancelled while deferred (through an earlier leader, or a
				// cancel this one missed): the plan reserves nothing more.
				sched.Forget(d.id)
			} else if inflight > 0 {
				// Due before the plan that deferred it has been applied (a
				// deferral shorter than a commit): look again once it may
				// have been. Dropped here, it would stay deferred in the
				// FSM with nothing to wake it until the next leader.
				heap.Push(&defers, deferral{at: now.Add(deferRecheck), id: d.id, seq: d.seq})
			}
		}
		if len(buf) == 0 {
			// Nothing to do: wait for the FSM, a plan, a deferral or the end.
			if len(defers) > 0 {
				timer.Reset(max(defers[0].at.Sub(now), time.Millisecond))
			}
			select {
			case <-ctx.Done():
			case <-s.fsm.Notify():
			case d := <-results:
				if !settle(d) {
					return
				}
			case <-timer.C:
			case id := <-s.forgetCh:
				sched.Forget(id)
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			continue
		}
		orderBatch(buf)
		p := &fsm.Plan{At: now, Epoch: capEp, Leader: s.cfg.ID, Items: make([]fsm.PlanItem, 0, len(buf))}
		for i := range buf {
			it := s.decide(sched, snap, live, &buf[i], now, rng)
			switch it.Outcome {
			case fsm.OutcomeDefer:
				heap.Push(&defers, deferral{at: it.NotBefore, id: it.ID})
			case fsm.OutcomeReject:
				sched.Forget(it.ID) // rejected for good: nothing stays reserved for it
			}
			p.Items = append(p.Items, it)
		}
		data, err := fsm.Encode(fsm.CmdPlan, p)
		if err != nil {
			s.log.Error("encode plan", "err", err)
			return
		}
		inflight++
		start := time.Now()
		f := s.raft.Apply(data, s.cfg.ApplyTimeout)
		n := len(p.Items)
		go func() {
			if err := await(ctx, f); err != nil {
				results <- planDone{err: s.raftError(err), n: n}
				return
			}
			s.metrics.commitLatency.WithLabelValues("plan").Observe(time.Since(start).Seconds())
			res, _ := f.Response().(*fsm.PlanResult)
			if res == nil {
				res = &fsm.PlanResult{}
			}
			results <- planDone{res: res, n: n}
		}()
	}
}

// forgetAll tells the policy about the workloads cancelled through this
// server since it last looked (Server.cancelled).
func (s *Server) forgetAll(sched *scheduler.Scheduler) {
	for {
		select {
		case id := <-s.forgetCh:
			sched.Forget(id)
		default:
			return
		}
	}
}

// cancelled hands a workload this server (the leader) cancelled to the
// plan loop, which tells the policy to forget it (a deferred workload's
// reservation in the optimizer's plan is freed at once, not at its
// deadline). Never blocks: if the plan loop lags that far behind, the
// workload is forgotten when its deferral comes due (Server.left).
func (s *Server) cancelled(id string) {
	select {
	case s.forgetCh <- id:
	default:
	}
}

// left reports whether a workload is gone from the FSM or finished
// (cancelled, rejected, failed, completed): not merely deferred again
// (with another ready sequence number), back in the ready queue, waiting,
// or deferred by a plan not yet applied.
func (s *Server) left(id string) bool {
	w, ok := s.fsm.Get(id)
	return !ok || api.Terminal(w.Status)
}

// adopt hands the deferrals of earlier leaders to this leader's policy
// (scheduler.Adopter: the optimizer keeps their reservations in its plan
// instead of offering the same hours to new work).
func (s *Server) adopt(sched *scheduler.Scheduler, snap *scheduler.Snapshot, deferred []fsm.Ready) {
	for i := range deferred {
		r := &deferred[i]
		w, err := toWorkload(&r.Spec, snap)
		if err != nil {
			continue // decided (and rejected) when it comes due
		}
		site := -1
		if r.DeferSite != "" {
			site = snap.State.SiteIndex(r.DeferSite)
		}
		sched.Adopt(snap, &w, site, r.NotBefore)
	}
	s.metrics.adopted.Add(float64(len(deferred)))
}

// orderBatch puts a batch of ready work (what ReadyAfter read past the
// cursor, then the deferrals that came due) in the order the leader
// decides it: higher priority first, and within a priority by ready
// sequence number — the order in which the work became ready (submitted,
// or back in the queue after a wait, an eviction or a deferral), like
// kube-scheduler's active queue. Deciding in queue order instead placed
// low-priority work that higher-priority work later in the same batch
// then evicted (after capacity returned, say): a preemption and an
// eviction in the log for nothing.
//
// The order is within one batch only: the batch is still read in queue
// order, and everything read is decided in it, so no work waits behind
// higher-priority work that became ready after it was read (no
// starvation; the cursor is the last sequence number read, whatever the
// order of decisions). Within a batch no placement is evicted by a later
// decision of the same batch (preemption evicts strictly lower
// priorities only); work placed by an earlier plan still in flight can
// be (liveView.placed).
func orderBatch(buf []fsm.Ready) {
	slices.SortStableFunc(buf, func(a, b fsm.Ready) int {
		if c := cmp.Compare(b.Spec.Priority, a.Spec.Priority); c != 0 {
			return c
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
}

// liveView shows the core the work live on each node (for preemption):
// the FSM's, plus what this leader placed on its planning copy that the
// FSM has not applied yet, less what plans not yet applied evict.
// RunningWork.ID indexes ids, filled anew for every decision.
type liveView struct {
	f       *fsm.FSM
	buf     []fsm.LiveWork
	ids     []fsm.LiveWork
	evicted map[string]bool
	// placed is the work placed on each node (by node index) since the
	// planning copy was taken. Until its plan is applied the FSM does not
	// list it, yet the copy holds its resources: without it, higher-
	// priority work decided after it (later in the batch, or while its
	// plan is in flight) could not evict it, would wait, and would be
	// parked behind it until capacity next grew.
	placed map[int][]fsm.LiveWork
	// track: the policy preempts, so decide records what it places in
	// placed.
	track bool
}

func (v *liveView) RunningOn(n int, dst []scheduler.RunningWork) []scheduler.RunningWork {
	v.buf = v.f.LiveOn(n, v.buf[:0])
	if extra := v.placed[n]; len(extra) > 0 {
		applied := len(v.buf)
		for _, lw := range extra {
			if !slices.ContainsFunc(v.buf[:applied], func(x fsm.LiveWork) bool { return x.ID == lw.ID }) {
				v.buf = append(v.buf, lw)
			}
		}
		// In ID order, as the FSM lists them (victimsOn breaks ties by order).
		slices.SortFunc(v.buf, func(a, b fsm.LiveWork) int { return strings.Compare(a.ID, b.ID) })
	}
	for _, lw := range v.buf {
		if v.evicted[lw.ID] {
			continue
		}
		dst = append(dst, scheduler.RunningWork{ID: int64(len(v.ids)), Request: lw.Request, Priority: lw.Priority})
		v.ids = append(v.ids, lw)
	}
	return dst
}

// evict takes the victims of a preempting decision out of the planning
// copy and returns their IDs; ok is false (and the copy unchanged) if the
// copy does not hold one of them.
func (v *liveView) evict(st *scheduler.State, node int, victims []int64) (ids []string, ok bool) {
	for k, id := range victims {
		lw := v.ids[id]
		if err := st.Release(node, lw.Request); err != nil {
			for _, undo := range victims[:k] {
				_ = st.Allocate(node, v.ids[undo].Request)
			}
			return nil, false
		}
		ids = append(ids, lw.ID)
	}
	for _, id := range ids {
		v.evicted[id] = true
	}
	return ids, true
}

// restore undoes evict.
func (v *liveView) restore(st *scheduler.State, node int, victims []int64) {
	for _, id := range victims {
		_ = st.Allocate(node, v.ids[id].Request)
		delete(v.evicted, v.ids[id].ID)
	}
}

// decide runs the core on one workload and turns the decision into a plan
// item, applying a placement (and the evictions it needs) to the planning
// copy.
func (s *Server) decide(sched *scheduler.Scheduler, snap *scheduler.Snapshot, live *liveView, r *fsm.Ready, now time.Time, rng *rand.Rand) fsm.PlanItem {
	it := fsm.PlanItem{ID: r.Spec.ID, ReadySeq: r.Seq}
	w, err := toWorkload(&r.Spec, snap)
	if err != nil {
		it.Outcome, it.Reason, it.Explanation = fsm.OutcomeReject, "invalid", err.Error()
		return it
	}
	live.ids = live.ids[:0]
	d := sched.Decide(snap, &w, now, rng, nil)
	switch d.Outcome {
	case scheduler.Place:
		if len(d.Preempt) > 0 {
			ids, ok := live.evict(snap.State, d.Node, d.Preempt)
			if !ok {
				it.Outcome, it.Reason = fsm.OutcomeWait, "capacity"
				return it
			}
			it.Evict = ids
		}
		if err := snap.State.Allocate(d.Node, w.Request); err != nil {
			live.restore(snap.State, d.Node, d.Preempt)
			it.Outcome, it.Reason, it.Evict = fsm.OutcomeWait, "capacity", nil
			return it
		}
		it.Outcome, it.Node, it.Late = fsm.OutcomePlace, snap.State.NodeID(d.Node), d.Late
		if live.track {
			live.placed[d.Node] = append(live.placed[d.Node], fsm.LiveWork{ID: w.ID, Request: w.Request, Priority: w.Priority})
		}
	case scheduler.Defer:
		it.Outcome, it.NotBefore = fsm.OutcomeDefer, d.NotBefore
		if d.Site >= 0 {
			it.DeferSite = snap.State.Site(d.Site).ID
		}
		it.Reason = "deferred to a better window"
	default:
		// Explain rejections (the cost is paid only here).
		ex := &scheduler.Explanation{TopK: 3}
		sched.Decide(snap, &w, now, nil, ex)
		it.Reason, it.Explanation = d.Reason.String(), ex.String()
		if d.Reason.Transient() {
			it.Outcome = fsm.OutcomeWait
			if it.Reason == r.Reason && it.Explanation == r.Explanation {
				// Waiting again, for the same reason, explained alike:
				// the FSM keeps what it has; the log need not repeat it.
				it.Explanation, it.KeepExplanation = "", true
			}
		} else {
			it.Outcome = fsm.OutcomeReject
		}
	}
	return it
}

// membershipLoop marks agents' nodes down when the gossip pool loses
// them and up when they return, heeding only members of the agent run
// (instance) that registered the nodes (speaksFor).
func (s *Server) membershipLoop(ctx context.Context) {
	ticker := time.NewTicker(s.cfg.ReconcileInterval)
	defer ticker.Stop()
	missingSince := map[string]time.Time{}
	s.reconcile(missingSince)
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-s.memberCh:
			if e.Member.Meta.Role == gossip.RoleServer && e.Kind != gossip.EventLeave {
				// A server joined or changed (restarted on another
				// version): record its versions, and seed the scheduler
				// configuration if the upgrade gate kept it back.
				s.serversChanged()
				continue
			}
			if e.Member.Meta.Role != gossip.RoleAgent {
				continue
			}
			id := e.Member.Meta.ID
			if _, known := s.fsm.AgentIndex(id); !known {
				continue
			}
			inst := s.fsm.AgentInstance(id)
			switch e.Kind {
			case gossip.EventLeave:
				if !speaksFor(inst, e.Member.Meta.Instance) {
					// Not the run that registered the nodes: an older one
					// (a restart quicker than failure detection: the new
					// run holds the same nodes and work, and the pool
					// admits it once the old one is dead), or a stray
					// member under the agent's name. Its nodes stay up; if
					// the registered run never joins, reconcile takes them
					// down after AgentGrace.
					s.log.Info("agent member gone, but it is not the registered instance: nodes stay up", "agent", id,
						"member_instance", e.Member.Meta.Instance, "registered", inst)
					continue
				}
				s.setAgent(id, "down")
			case gossip.EventJoin:
				if !speaksFor(inst, e.Member.Meta.Instance) {
					// A stale or stray member (or a restarted agent that
					// joined before its registration committed: reconcile
					// brings its nodes up once the two agree).
					s.log.Info("agent member joined, but it is not the registered instance: nodes not brought up", "agent", id,
						"member_instance", e.Member.Meta.Instance, "member_addr", e.Member.Addr, "registered", inst)
					continue
				}
				delete(missingSince, id)
				s.setAgent(id, "up")
			}
		case <-ticker.C:
			s.reconcile(missingSince)
			s.serversChanged()
		}
	}
}

// serversChanged records the servers' versions in the directory and, if
// the cluster has no scheduler configuration yet because a server was too
// old for it, tries to seed it again (the leader's membership loop, on
// server membership events and at every reconcile).
func (s *Server) serversChanged() {
	s.recordVersions()
	if _, ok := s.fsm.Scheduler(); !ok {
		s.ensureScheduler()
	}
}

// speaksFor reports whether a gossip member of an agent, with instance
// member in its metadata, stands for the run of the agent that registered
// its nodes (instance registered): only then may its joining bring the
// nodes up, and its death take them down. A registration without an
// instance (a client that predates instances) is matched by name alone.
func speaksFor(registered, member string) bool {
	return registered == "" || member == registered
}

// reconcile compares the FSM's agents with the pool's live members: an
// agent counts as present only through a member of its registered
// instance.
func (s *Server) reconcile(missingSince map[string]time.Time) {
	instances := map[string]string{} // agent ID -> instance of its live member
	for _, m := range s.pool.Members() {
		if m.Meta.Role == gossip.RoleAgent {
			instances[m.Meta.ID] = m.Meta.Instance
		}
	}
	now := s.clock.Now()
	for id, c := range s.fsm.AgentNodeStates(fsm.ReasonGossip) {
		live, gossipDown := c[0], c[1]
		inst, listed := instances[id]
		if listed && speaksFor(s.fsm.AgentInstance(id), inst) {
			delete(missingSince, id)
			if gossipDown > 0 {
				s.setAgent(id, "up")
			}
			continue
		}
		if live == 0 {
			continue
		}
		since, ok := missingSince[id]
		if !ok {
			missingSince[id] = now
			continue
		}
		if now.Sub(since) >= s.cfg.AgentGrace {
			s.setAgent(id, "down")
		}
	}
}

func (s *Server) setAgent(id, state string) {
	cmd := &fsm.NodeState{At: s.clock.Now(), AgentID: id, State: state, Reason: fsm.ReasonGossip}
	if state == "up" {
		cmd.OnlyReason = fsm.ReasonGossip
	}
	res, _, e := s.apply(fsm.CmdNodeState, cmd)
	if e != nil {
		s.log.Warn("membership change not committed", "agent", id, "state", state, "err", e)
		return
	}
	if r, ok := res.(*fsm.NodeStateResult); ok && r.Changed > 0 {
		s.log.Info("agent membership", "agent", id, "state", state, "nodes", r.Changed, "requeued", r.Repended)
	}
}
