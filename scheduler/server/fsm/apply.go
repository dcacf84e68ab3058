package fsm

import (
	"fmt"
	"slices"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

// RegisterResult is the result of a Register command.
type RegisterResult struct {
	Sites, Nodes int
	// Rebuilt tells whether the topology changed.
	Rebuilt bool
}

// NodeStateResult is the result of a NodeState command.
type NodeStateResult struct {
	Changed  int // nodes whose state changed
	Repended int // workloads sent back to pending
}

// SubmitResult is the result of a Submit command.
type SubmitResult struct {
	Items []api.SubmitResult
}

// PlanResult counts what a Plan command did.
type PlanResult struct {
	Placed, Deferred, Waiting, Rejected int
	// Conflicts are placements the re-check refused (the node was full,
	// down or gone); those workloads went back to the ready queue.
	Conflicts int
	// Stale are decisions about workloads that changed since the leader
	// read them (cancelled, or a newer incarnation); ignored.
	Stale int
	// Preempted are live workloads evicted for higher-priority ones (sent
	// back to pending).
	Preempted int
}

// EventsResult is the result of an Events command.
type EventsResult struct {
	Results []api.EventResult
	// Why is, for each ignored event (by position), why (the Ignored*
	// constants); "" for an applied one.
	Why []string
	// Ignored counts the ignored events by why.
	Ignored map[string]int
	// Unidentified counts the applied events that carried no placement
	// (from agents that predate placements).
	Unidentified int
}

// Why agent events are ignored (EventsResult.Ignored).
const (
	IgnoredInvalid   = "invalid"   // the event does not validate
	IgnoredUnknown   = "unknown"   // no such workload (or forgotten)
	IgnoredStale     = "stale"     // not live on that node: pending, finished, or live elsewhere
	IgnoredPlacement = "placement" // live on that node, but placed again since the run the event is about
	IgnoredAgent     = "agent"     // the node belongs to another agent
	IgnoredDuplicate = "duplicate" // started, but already running
)

// CancelResult is the result of a Cancel command.
type CancelResult struct {
	Workload api.Workload
}

func (f *FSM) applyRegister(index uint64, c *Register) any {
	req := api.RegisterRequest{AgentID: c.AgentID, Nodes: c.Nodes, Sites: c.Sites}
	if err := req.Validate(func(id string) bool { _, ok := f.siteIdx[id]; return ok }); err != nil {
		return err
	}
	rebuild := false
	for _, s := range c.Sites {
		if i, ok := f.siteIdx[s.ID]; ok {
			if siteOf(f.sites[i]) != siteOf(s) {
				rebuild = true
			}
			f.sites[i] = s
			f.sitesChanged = true
			continue
		}
		f.siteIdx[s.ID] = len(f.sites)
		f.sites = append(f.sites, s)
		f.sitesChanged = true
		rebuild = true
	}
	a := f.agents[c.AgentID]
	if a == nil {
		a = &agentRec{ID: c.AgentID}
		f.agents[c.AgentID] = a
	}
	listed := make(map[string]bool, len(c.Nodes))
	var ups []int
	for _, ns := range c.Nodes {
		listed[ns.ID] = true
		si := f.siteIdx[ns.Site]
		if i, ok := f.nodeIdx[ns.ID]; ok {
			nr := f.nodes[i]
			if nr.n.Site != ns.Site || nr.n.Capacity != ns.Capacity || nr.n.Type != ns.Type {
				rebuild = true
			}
			if nr.n.Agent != c.AgentID {
				if old := f.agents[nr.n.Agent]; old != nil {
					old.Nodes = slices.DeleteFunc(old.Nodes, func(id string) bool { return id == ns.ID })
					old.Index = index
				}
			}
			f.touchNode(i)
			nr.n.NodeSpec = ns
			nr.site = si
			nr.n.Agent = c.AgentID
			nr.n.ModifyIndex = index
			ups = append(ups, i)
			continue
		}
		f.nodeIdx[ns.ID] = len(f.nodes)
		f.nodes = append(f.nodes, &nodeRec{
			n:    api.Node{NodeSpec: ns, Agent: c.AgentID, State: nodes.NodeUp.String(), ModifyIndex: index},
			site: si,
			live: map[*wrec]struct{}{},
		})
		f.touchNode(len(f.nodes) - 1)
		rebuild = true
	}
	// Nodes the agent had and no longer lists go down.
	for _, id := range a.Nodes {
		if listed[id] {
			continue
		}
		if i, ok := f.nodeIdx[id]; ok && f.nodes[i].n.Agent == c.AgentID {
			f.setNodeState(i, nodes.NodeDown, ReasonDeregistered, index)
		}
	}
	a.Nodes = a.Nodes[:0]
	for _, ns := range c.Nodes {
		a.Nodes = append(a.Nodes, ns.ID)
	}
	a.Index = index
	a.Instance = c.Instance
	// Listed nodes come up, to the state an operator left them in at most.
	if rebuild {
		for _, i := range ups {
			st, reason := f.returning(i)
			f.touchNode(i)
			f.nodes[i].n.State, f.nodes[i].n.DownReason = st.String(), reason
		}
		if err := f.rebuild(index, false); err != nil {
			return err
		}
	} else {
		for _, i := range ups {
			st, reason := f.returning(i)
			f.setNodeState(i, st, reason, index)
		}
	}
	f.capacityChanged(-1)
	return &RegisterResult{Sites: len(c.Sites), Nodes: len(c.Nodes), Rebuilt: rebuild}
}

func (f *FSM) applyNodeState(index uint64, c *NodeState) any {
	s, err := nodes.ParseNodeState(c.State)
	if err != nil {
		return api.Invalid("state", "%v", err)
	}
	var idx []int
	if c.AgentID != "" {
		a := f.agents[c.AgentID]
		if a == nil {
			return &api.Error{Code: api.CodeNotFound, Field: "agent_id", Message: fmt.Sprintf("unknown agent %q", c.AgentID)}
		}
		for _, id := range a.Nodes {
			if i, ok := f.nodeIdx[id]; ok {
				idx = append(idx, i)
			}
		}
	}
	for k, id := range c.Nodes {
		i, ok := f.nodeIdx[id]
		if !ok {
			return &api.Error{Code: api.CodeNotFound, Field: fmt.Sprintf("nodes[%d]", k), Message: fmt.Sprintf("unknown node %q", id)}
		}
		idx = append(idx, i)
	}
	res := &NodeStateResult{}
	for _, i := range idx {
		target, reason := s, c.Reason
		if s == nodes.NodeUp && c.OnlyReason != "" {
			if f.nodes[i].n.State != nodes.NodeDown.String() || f.nodes[i].n.DownReason != c.OnlyReason {
				continue
			}
			target, reason = f.returning(i)
		}
		if c.Reason == ReasonOperator {
			f.touchNode(i)
			f.nodes[i].n.OperatorState = ""
			if s != nodes.NodeUp {
				f.nodes[i].n.OperatorState = s.String()
			}
		}
		changed, rp := f.setNodeState(i, target, reason, index)
		if changed {
			res.Changed++
		}
		res.Repended += rp
	}
	if s == nodes.NodeUp && res.Changed > 0 {
		f.capacityChanged(-1)
	}
	return res
}

// returning is the state node i takes when its agent is back (registers
// it, or rejoins the gossip pool): up, unless an operator drained it or
// took it down.
func (f *FSM) returning(i int) (nodes.NodeState, string) {
	switch f.nodes[i].n.OperatorState {
	case nodes.NodeDown.String():
		return nodes.NodeDown, ReasonOperator
	case nodes.NodeDraining.String():
		return nodes.NodeDraining, ""
	}
	return nodes.NodeUp, ""
}

func sameSpec(a, b *api.WorkloadSpec) bool {
	return a.ID == b.ID && a.Class == b.Class && a.Origin == b.Origin && a.Request == b.Request &&
		a.DurationMs == b.DurationMs && a.LatencyBoundMs == b.LatencyBoundMs && a.Deadline.Equal(b.Deadline) &&
		a.Priority == b.Priority && a.InputMB == b.InputMB && slices.Equal(a.Tiers, b.Tiers) && slices.Equal(a.Sites, b.Sites)
}

// applySubmit is all or nothing unless c.PerItem.
func (f *FSM) applySubmit(index uint64, c *Submit) any {
	res := &SubmitResult{Items: make([]api.SubmitResult, len(c.Workloads))}
	if c.PerItem {
		for i := range c.Workloads {
			res.Items[i] = f.submitOne(index, c.At, &c.Workloads[i], fmt.Sprintf("[%d]", i))
		}
		return res
	}
	seen := make(map[string]bool, len(c.Workloads))
	for i := range c.Workloads {
		w := &c.Workloads[i]
		p := fmt.Sprintf("[%d]", i)
		if err := checkSpec(w, p); err != nil {
			return err
		}
		if seen[w.ID] {
			return api.Invalid(p+".id", "duplicate id %q in one submission", w.ID)
		}
		seen[w.ID] = true
		if r := f.work[w.ID]; r != nil && !sameSpec(&r.w.WorkloadSpec, w) {
			return &api.Error{Code: api.CodeConflict, Field: p + ".id", Message: fmt.Sprintf("workload %q exists with a different spec", w.ID)}
		}
	}
	for i := range c.Workloads {
		res.Items[i] = f.submitOne(index, c.At, &c.Workloads[i], fmt.Sprintf("[%d]", i))
	}
	return res
}

func checkSpec(w *api.WorkloadSpec, p string) *api.Error {
	if w.ID == "" {
		return api.Invalid(p+".id", "id is required in the log")
	}
	return w.Validate(p)
}

// submitOne creates one workload, or reports why not.
func (f *FSM) submitOne(index uint64, at time.Time, w *api.WorkloadSpec, p string) api.SubmitResult {
	if err := checkSpec(w, p); err != nil {
		return api.SubmitResult{ID: w.ID, Result: "invalid", Error: err}
	}
	if r := f.work[w.ID]; r != nil {
		if !sameSpec(&r.w.WorkloadSpec, w) {
			return api.SubmitResult{ID: w.ID, Result: "conflict", Error: &api.Error{Code: api.CodeConflict, Field: p + ".id", Message: fmt.Sprintf("workload %q exists with a different spec", w.ID)}}
		}
		return api.SubmitResult{ID: w.ID, Result: "exists"}
	}
	f.seq++
	r := &wrec{node: -1, pos: len(f.order)}
	f.newWork(r, api.Workload{WorkloadSpec: *w, SubmittedAt: at, Seq: f.seq, CreateIndex: index})
	f.work[r.w.ID] = r
	f.order = append(f.order, r)
	f.setStatus(r, api.StatusPending, index)
	f.makeReady(r)
	return api.SubmitResult{ID: r.w.ID, Result: "created"}
}

func (f *FSM) applyPlan(index uint64, c *Plan) any {
	res := &PlanResult{}
	freed := false
	for k := range c.Items {
		it := &c.Items[k]
		r := f.work[it.ID]
		if r == nil || r.w.Status != api.StatusPending || r.readySeq != it.ReadySeq || it.ReadySeq == 0 {
			res.Stale++
			continue
		}
		f.touchWork(r)
		switch it.Outcome {
		case OutcomePlace:
			ni, ok := f.nodeIdx[it.Node]
			if ok && ni < f.st.NumNodes() && f.evictable(r, ni, it.Evict) {
				for _, id := range it.Evict {
					f.repend(f.work[id], "preempted by "+r.w.ID, index)
					res.Preempted++
					freed = true
				}
				if err := f.st.Allocate(ni, r.w.Request); err == nil {
					f.place(r, ni, c.At, it.Late, index)
					res.Placed++
					continue
				}
			}
			// The re-check refused it: back to the ready queue, and tell
			// the leader its planning copy is out of date.
			res.Conflicts++
			f.conflicts++
			r.w.Attempts++
			r.w.ModifyIndex = index
			f.makeReady(r)
			freed = true
		case OutcomeDefer:
			r.w.Attempts++
			r.w.ModifyIndex = index
			r.w.Reason, r.w.Explanation = it.Reason, it.Explanation
			f.deferTo(r, it.NotBefore, it.DeferSite)
			res.Deferred++
		case OutcomeWait:
			r.w.Attempts++
			r.w.ModifyIndex = index
			if !it.KeepExplanation || r.w.Reason != it.Reason {
				r.w.Explanation = it.Explanation
			}
			r.w.Reason = it.Reason
			if c.Epoch != f.capEpoch {
				// Capacity changed after the leader looked: try again.
				f.makeReady(r)
			} else {
				f.park(r)
			}
			res.Waiting++
		case OutcomeReject:
			r.w.Attempts++
			r.w.Reason, r.w.Explanation = it.Reason, it.Explanation
			f.leaveQueue(r)
			r.w.FinishedAt = c.At
			f.setStatus(r, api.StatusRejected, index)
			res.Rejected++
		default:
			res.Stale++
		}
	}
	switch {
	case res.Preempted > 0:
		// An eviction can free more than the preemptor takes: waiting work
		// gets another look, as after a completion.
		f.capacityChanged(f.cfg.UnparkBudget)
	case freed:
		f.capEpoch++
	}
	f.compactReady()
	f.compactParked()
	f.gc()
	return res
}

// evictable reports whether every workload in ids is live on node ni with
// a lower priority than r, with no duplicates, and whether evicting them
// makes room for r there (always true for no ids).
func (f *FSM) evictable(r *wrec, ni int, ids []string) bool {
	if len(ids) == 0 {
		return true
	}
	if f.st.NodeState(ni) != nodes.NodeUp {
		return false
	}
	free := f.st.NodeFree(ni)
	for k, id := range ids {
		v := f.work[id]
		if v == nil || !api.Live(v.w.Status) || int(v.node) != ni || v.w.Priority >= r.w.Priority || slices.Contains(ids[:k], id) {
			return false
		}
		free = free.Add(v.w.Request)
	}
	return free.Fits(r.w.Request)
}

// applyEvents applies agent events. An event counts only if the workload
// is live on the event's node, that node belongs to the reporting agent,
// and the event names the workload's current placement (or none: an
// agent that predates placements); anything else is about a run that is
// over (evicted, moved, stopped, finished) and is ignored with a reason.
func (f *FSM) applyEvents(index uint64, c *Events) any {
	res := &EventsResult{Results: make([]api.EventResult, len(c.Events)), Why: make([]string, len(c.Events))}
	released := 0
	ignore := func(k int, why, reason string) {
		res.Results[k].Result, res.Results[k].Reason, res.Why[k] = "ignored", reason, why
		if res.Ignored == nil {
			res.Ignored = map[string]int{}
		}
		res.Ignored[why]++
	}
	for k := range c.Events {
		e := &c.Events[k]
		out := &res.Results[k]
		out.WorkloadID = e.WorkloadID
		if err := e.Validate(fmt.Sprintf("events[%d]", k)); err != nil {
			ignore(k, IgnoredInvalid, err.Message)
			continue
		}
		r := f.work[e.WorkloadID]
		if r == nil {
			ignore(k, IgnoredUnknown, "unknown workload")
			continue
		}
		if !api.Live(r.w.Status) || r.w.Node != e.NodeID {
			ignore(k, IgnoredStale, fmt.Sprintf("stale: workload is %s on node %q", r.w.Status, r.w.Node))
			continue
		}
		if e.Placement != 0 && e.Placement != r.w.Placement {
			ignore(k, IgnoredPlacement, fmt.Sprintf("stale: placement %d is over; the workload is %s on node %q in placement %d",
				e.Placement, r.w.Status, r.w.Node, r.w.Placement))
			continue
		}
		if c.AgentID != "" && r.w.Agent != c.AgentID {
			ignore(k, IgnoredAgent, fmt.Sprintf("node %s belongs to agent %s", e.NodeID, r.w.Agent))
			continue
		}
		f.touchWork(r)
		switch e.Kind {
		case api.EventStarted:
			if r.w.Status == api.StatusRunning {
				ignore(k, IgnoredDuplicate, "already running")
				continue
			}
			r.w.StartedAt = e.At
			f.setStatus(r, api.StatusRunning, index)
			f.bumpAgent(r.w.Agent, index)
		case api.EventCompleted, api.EventFailed:
			f.release(r, index)
			r.w.FinishedAt = e.At
			st := api.StatusCompleted
			if e.Kind == api.EventFailed {
				st = api.StatusFailed
			}
			f.setStatus(r, st, index)
			released++
		}
		out.Result = "applied"
		if e.Placement == 0 {
			res.Unidentified++
		}
	}
	if released > 0 {
		f.capacityChanged(f.cfg.UnparkBudget + 8*released)
	}
	f.compactReady()
	f.compactParked()
	f.gc()
	return res
}

func (f *FSM) applyCancel(index uint64, c *Cancel) any {
	r := f.work[c.ID]
	if r == nil {
		return &api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf("no workload %q", c.ID)}
	}
	if api.Terminal(r.w.Status) {
		return &api.Error{Code: api.CodeConflict, Message: fmt.Sprintf("workload %q is already %s", c.ID, r.w.Status)}
	}
	f.touchWork(r)
	live := api.Live(r.w.Status)
	if live {
		f.release(r, index)
	}
	f.leaveQueue(r)
	r.w.FinishedAt = c.At
	f.setStatus(r, api.StatusCancelled, index)
	if live {
		f.capacityChanged(f.cfg.UnparkBudget)
	}
	f.compactReady()
	f.compactParked()
	f.gc()
	return &CancelResult{Workload: *r.w}
}

func (f *FSM) applyServer(c *ServerCmd) any {
	if c.Remove {
		delete(f.servers, c.Server.ID)
		return nil
	}
	if !api.ValidID(c.Server.ID) {
		return api.Invalid("id", "server id %q is not a valid id", c.Server.ID)
	}
	s := c.Server
	s.Suffrage, s.Leader, s.Alive = "", false, nil
	if old, ok := f.servers[s.ID]; ok && s.LogVersion == 0 && s.Version == "" {
		// Sent without versions (the joiner's were not known yet, or an
		// older leader sent it): the recorded ones stay.
		s.LogVersion, s.Version = old.LogVersion, old.Version
	}
	f.servers[s.ID] = s
	return nil
}
