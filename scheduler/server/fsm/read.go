package fsm

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/server/api"
)

// Index is the last applied log index (of the published view: no lock).
func (f *FSM) Index() uint64 { return f.view.Load().index }

// Watch returns a channel closed at the next change.
func (f *FSM) Watch() <-chan struct{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.watch
}

// Notify is signalled (capacity 1) after every applied batch; the leader
// loop waits on it.
func (f *FSM) Notify() <-chan struct{} { return f.notify }

// LiveWork is a workload holding resources on a node.
type LiveWork struct {
	ID       string
	Request  nodes.Resources
	Priority int
}

// LiveOn appends the workloads live (placed or running) on node index ni
// to dst, by ID, and returns it.
func (f *FSM) LiveOn(ni int, dst []LiveWork) []LiveWork {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if ni < 0 || ni >= len(f.nodes) {
		return dst
	}
	start := len(dst)
	for r := range f.nodes[ni].live {
		dst = append(dst, LiveWork{ID: r.w.ID, Request: r.w.Request, Priority: r.w.Priority})
	}
	slices.SortFunc(dst[start:], func(a, b LiveWork) int { return strings.Compare(a.ID, b.ID) })
	return dst
}

// Get returns a workload.
func (f *FSM) Get(id string) (api.Workload, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	r := f.work[id]
	if r == nil {
		return api.Workload{}, false
	}
	return *r.w, true
}

// HasSite reports whether a site is registered.
func (f *FSM) HasSite(id string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	_, ok := f.siteIdx[id]
	return ok
}

// Servers returns the server directory, sorted by ID.
func (f *FSM) Servers() []api.Server {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]api.Server, 0, len(f.servers))
	for _, s := range f.servers {
		out = append(out, s)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

// Server returns one server of the directory.
func (f *FSM) Server(id string) (api.Server, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	s, ok := f.servers[id]
	return s, ok
}

// Counts returns workloads by status, nodes by state, and totals.
func (f *FSM) Counts() api.Counts {
	f.mu.RLock()
	defer f.mu.RUnlock()
	c := api.Counts{Workloads: map[string]int{}, Nodes: f.view.Load().nodeCounts(), Agents: len(f.agents), Sites: len(f.sites)}
	for _, s := range api.Statuses() {
		c.Workloads[s] = f.status[s]
	}
	return c
}

// Stats are counters for metrics.
type Stats struct {
	Placements, Conflicts uint64
	Waiting, Deferred     int
}

// Stats returns local counters.
func (f *FSM) Stats() Stats {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return Stats{Placements: f.placements, Conflicts: f.conflicts, Waiting: f.nWaiting, Deferred: len(f.deferred)}
}

// AgentIndex is the index of the last change to the agent's assignments
// (0 for an unknown agent), and whether the agent is known.
func (f *FSM) AgentIndex(agent string) (uint64, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	a := f.agents[agent]
	if a == nil {
		return 0, false
	}
	return a.Index, true
}

// AgentInstance returns the instance (run) of the agent that registered
// last, "" if it gave none or is unknown.
func (f *FSM) AgentInstance(agent string) string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if a := f.agents[agent]; a != nil {
		return a.Instance
	}
	return ""
}

// Assignments returns the work that should run on the agent's nodes
// (placed or running), ordered by placement then ID, with the agent's
// assignment index.
func (f *FSM) Assignments(agent string) (uint64, []api.Assignment, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	a := f.agents[agent]
	if a == nil {
		return 0, nil, false
	}
	out := []api.Assignment{}
	for _, id := range a.Nodes {
		i, ok := f.nodeIdx[id]
		if !ok || f.nodes[i].n.Agent != agent {
			continue
		}
		for r := range f.nodes[i].live {
			out = append(out, api.Assignment{
				WorkloadID: r.w.ID, NodeID: r.w.Node, Request: r.w.Request, DurationMs: r.w.DurationMs,
				PlacedAt: r.w.PlacedAt, Status: r.w.Status, Class: r.w.Class, StartedAt: r.w.StartedAt,
				Placement: r.w.Placement,
			})
		}
	}
	sort.Slice(out, func(x, y int) bool {
		if !out[x].PlacedAt.Equal(out[y].PlacedAt) {
			return out[x].PlacedAt.Before(out[y].PlacedAt)
		}
		return out[x].WorkloadID < out[y].WorkloadID
	})
	return a.Index, out, true
}

// Agents lists the registered agents and whether any of their nodes is up.
func (f *FSM) Agents() map[string][]string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make(map[string][]string, len(f.agents))
	for id, a := range f.agents {
		out[id] = append([]string(nil), a.Nodes...)
	}
	return out
}

// AgentNodeStates returns, per agent, how many of its nodes are live (up
// or draining: what its death would take down) and how many are down for
// the given reason.
func (f *FSM) AgentNodeStates(reason string) map[string][2]int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make(map[string][2]int, len(f.agents))
	for id, a := range f.agents {
		var c [2]int
		for _, nid := range a.Nodes {
			i, ok := f.nodeIdx[nid]
			if !ok || f.nodes[i].n.Agent != id {
				continue
			}
			switch {
			case f.nodes[i].n.State == nodes.NodeUp.String() || f.nodes[i].n.State == nodes.NodeDraining.String():
				c[0]++
			case f.nodes[i].n.State == nodes.NodeDown.String() && f.nodes[i].n.DownReason == reason:
				c[1]++
			}
		}
		out[id] = c
	}
	return out
}

// ---- leader-facing ----

// Ready is a pending workload the leader should decide on.
type Ready struct {
	Seq  uint64 // ready sequence number, to name in the PlanItem
	Spec api.WorkloadSpec
	// NotBefore is set for deferred work, and DeferSite if the policy
	// that deferred it named the site it means to start it at.
	NotBefore time.Time
	DeferSite string
	// Reason and Explanation are what the workload was last told (a
	// previous wait's), so that the leader can leave an unchanged
	// explanation out of its plan (PlanItem.KeepExplanation).
	Reason, Explanation string
}

// ReadyAfter appends to dst up to max ready workloads whose ready sequence
// number is above cursor, in order.
func (f *FSM) ReadyAfter(cursor uint64, max int, dst []Ready) []Ready {
	f.mu.RLock()
	defer f.mu.RUnlock()
	q := f.ready[f.readyHead:]
	i := sort.Search(len(q), func(i int) bool { return q[i].seq > cursor })
	for _, e := range q[i:] {
		if len(dst) >= max {
			break
		}
		if e.r.q != qReady || e.r.readySeq != e.seq || e.r.deleted {
			continue
		}
		dst = append(dst, Ready{Seq: e.seq, Spec: e.r.w.WorkloadSpec, Reason: e.r.w.Reason, Explanation: e.r.w.Explanation})
	}
	return dst
}

// Deferred returns every deferred workload.
func (f *FSM) Deferred() []Ready {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]Ready, 0, len(f.deferred))
	for r := range f.deferred {
		out = append(out, Ready{Seq: r.readySeq, Spec: r.w.WorkloadSpec, NotBefore: r.w.NotBefore, DeferSite: r.w.DeferSite, Reason: r.w.Reason, Explanation: r.w.Explanation})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Seq < out[b].Seq })
	return out
}

// DeferredOne returns a deferred workload if it is still deferred (with
// ready sequence number seq, unless seq is 0).
func (f *FSM) DeferredOne(id string, seq uint64) (Ready, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	r := f.work[id]
	if r == nil || r.q != qDeferred || (seq != 0 && r.readySeq != seq) {
		return Ready{}, false
	}
	return Ready{Seq: r.readySeq, Spec: r.w.WorkloadSpec, NotBefore: r.w.NotBefore, DeferSite: r.w.DeferSite, Reason: r.w.Reason, Explanation: r.w.Explanation}, true
}

// Epochs returns the topology generation (changes when the state is
// rebuilt: the planning copy must be rebuilt) and the capacity epoch.
func (f *FSM) Epochs() (topo, capacity uint64) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.topoGen, f.capEpoch
}

// PlanningCopy copies the current scheduler state into dst for the leader
// to plan on. When dst is nil or the topology changed since dstTopo, it
// returns a fresh clone and the sites (for the latency table). It returns
// the topology generation and capacity epoch of the copy.
func (f *FSM) PlanningCopy(dst *scheduler.State, dstTopo uint64) (st *scheduler.State, sites []nodes.Site, topo, capEpoch uint64) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if dst == nil || dstTopo != f.topoGen {
		st = f.st.Clone()
		sites = make([]nodes.Site, st.NumSites())
		for i := range sites {
			sites[i] = st.Site(i)
		}
	} else {
		dst.CopyFrom(f.st)
		st = dst
	}
	return st, sites, f.topoGen, f.capEpoch
}

// CheckInvariants verifies the FSM's indexes against its records and the
// core state's invariants (no node oversubscribed). For tests.
func (f *FSM) CheckInvariants() error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if err := f.checkLocked(); err != nil {
		return err
	}
	return f.checkParked()
}
