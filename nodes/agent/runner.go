package agent

import (
	"container/heap"
	"sync"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

// simNode is one simulated node: what it can hold and what it runs.
type simNode struct {
	id    string
	cap   nodes.Resources
	used  nodes.Resources
	tasks int32
}

// task is a workload running on one of the agent's nodes.
type task struct {
	id   string
	node int32
	// placement is the servers' identity of this run (Assignment.
	// Placement), echoed in its events; 0 from servers without them.
	placement uint64
	req       nodes.Resources
	due       time.Time // clock time it completes
	hi        int       // index in the heap
}

// taskHeap orders running tasks by completion time, then ID (so equal
// times complete in a deterministic order).
type taskHeap []*task

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(a, b int) bool {
	if !h[a].due.Equal(h[b].due) {
		return h[a].due.Before(h[b].due)
	}
	return h[a].id < h[b].id
}
func (h taskHeap) Swap(a, b int) {
	h[a], h[b] = h[b], h[a]
	h[a].hi, h[b].hi = a, b
}
func (h *taskHeap) Push(x any) {
	t := x.(*task)
	t.hi = len(*h)
	*h = append(*h, t)
}
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.hi = -1
	return t
}

// finished remembers a workload that completed here until the servers
// have acknowledged its completion and stopped assigning it, so a late
// assignment list does not start it again.
type finished struct {
	node      int32
	placement uint64
	// ack is the Raft index of the entry that carried the completion (0
	// while unacknowledged).
	ack uint64
}

// RunStats counts what the runner did.
type RunStats struct {
	Nodes     int
	Running   int
	Started   uint64 // workloads started
	Completed uint64 // workloads that ran to completion
	Stopped   uint64 // workloads stopped because the servers no longer assign them here
	// UnknownNode counts assignments to nodes this agent does not host.
	UnknownNode uint64
	// Overcommitted counts starts that took a node beyond its capacity
	// (the servers must never do that; the integration tests check it is 0).
	Overcommitted uint64
	// Stale counts assignment lists ignored because they were older than
	// one already applied.
	Stale uint64
	// Index is the assignment index last applied.
	Index uint64
}

// runner is the agent's simulation of its nodes: it turns assignment
// lists into running tasks and due tasks into completion events. It does
// no I/O; the agent's goroutines drive it.
type runner struct {
	clock Clock
	speed float64

	mu      sync.Mutex
	nodes   []simNode
	nodeIdx map[string]int32
	tasks   map[string]*task
	heap    taskHeap
	done    map[string]finished
	outbox  []api.Event
	st      RunStats
	applied bool // an assignment list was applied (Index is meaningful)
}

func newRunner(l Layout, clock Clock, speed float64) *runner {
	r := &runner{
		clock: clock, speed: speed,
		nodes:   make([]simNode, len(l.Nodes)),
		nodeIdx: make(map[string]int32, len(l.Nodes)),
		tasks:   map[string]*task{},
		done:    map[string]finished{},
	}
	for i, n := range l.Nodes {
		r.nodes[i] = simNode{id: n.ID, cap: n.Capacity}
		r.nodeIdx[n.ID] = int32(i)
	}
	return r
}

// runTime is how long a workload of the given duration runs on the clock.
func (r *runner) runTime(durationMs int64) time.Duration {
	d := time.Duration(durationMs) * time.Millisecond
	if r.speed > 0 && r.speed != 1 {
		d = time.Duration(float64(d) / r.speed)
	}
	return d
}

// apply makes the running set match an assignment list: it starts what is
// new (queueing "started" events), stops what is no longer assigned here,
// restarts what is assigned in a new placement (another node, or the same
// node placed anew), and leaves the rest running. A list older than the
// last applied one is ignored. It reports whether the earliest completion
// may have changed.
func (r *runner) apply(as api.Assignments) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.applied && as.Index < r.st.Index {
		r.st.Stale++
		return false
	}
	r.applied = true
	r.st.Index = as.Index
	now := r.clock.Now()
	listed := make(map[string]struct{}, len(as.Assignments))
	changed := false
	for i := range as.Assignments {
		a := &as.Assignments[i]
		ni, ok := r.nodeIdx[a.NodeID]
		if !ok {
			r.st.UnknownNode++
			continue
		}
		listed[a.WorkloadID] = struct{}{}
		if f, ok := r.done[a.WorkloadID]; ok && f.node == ni {
			if f.placement == a.Placement && (f.ack == 0 || as.Index < f.ack) {
				continue // finished here; the servers have not seen it yet
			}
			// Assigned here in another placement (the run that finished
			// was evicted or moved before its completion landed, and the
			// servers will ignore that completion), or, from servers
			// without placements, assigned again after the completion was
			// applied (or ignored as stale): a new placement.
			delete(r.done, a.WorkloadID)
		}
		if t, ok := r.tasks[a.WorkloadID]; ok {
			if t.node == ni && t.placement == a.Placement {
				continue
			}
			// Moved to another of our nodes, or placed again on this one
			// (evicted and re-placed between two of our polls): the run
			// we have is over; start the new one afresh.
			r.stopLocked(t)
		}
		r.startLocked(a, ni, now)
		changed = true
	}
	for id, t := range r.tasks {
		if _, ok := listed[id]; !ok {
			r.stopLocked(t)
			r.st.Stopped++
			changed = true
		}
	}
	for id, f := range r.done {
		if _, ok := listed[id]; !ok && f.ack != 0 && as.Index >= f.ack {
			delete(r.done, id)
		}
	}
	return changed
}

func (r *runner) startLocked(a *api.Assignment, ni int32, now time.Time) {
	n := &r.nodes[ni]
	n.used = n.used.Add(a.Request)
	n.tasks++
	if !n.cap.Fits(n.used) {
		r.st.Overcommitted++
	}
	start := now
	if a.Status == api.StatusRunning && !a.StartedAt.IsZero() && a.StartedAt.Before(now) {
		// Already running before this agent (re)started: keep its
		// original finishing time (due now if that has passed).
		start = a.StartedAt
	}
	t := &task{id: a.WorkloadID, node: ni, placement: a.Placement, req: a.Request, due: start.Add(r.runTime(a.DurationMs))}
	r.tasks[t.id] = t
	heap.Push(&r.heap, t)
	r.st.Started++
	if a.Status != api.StatusRunning {
		r.outbox = append(r.outbox, api.Event{WorkloadID: t.id, NodeID: n.id, Kind: api.EventStarted, At: now, Placement: t.placement})
	}
}

func (r *runner) stopLocked(t *task) {
	n := &r.nodes[t.node]
	n.used = n.used.Sub(t.req)
	n.tasks--
	if t.hi >= 0 {
		heap.Remove(&r.heap, t.hi)
	}
	delete(r.tasks, t.id)
}

// complete finishes every task due at or before now, queueing a
// "completed" event for each (at its due time). It returns how many.
func (r *runner) complete(now time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := 0
	for len(r.heap) > 0 && !r.heap[0].due.After(now) {
		t := r.heap[0]
		r.stopLocked(t)
		r.done[t.id] = finished{node: t.node, placement: t.placement}
		r.outbox = append(r.outbox, api.Event{WorkloadID: t.id, NodeID: r.nodes[t.node].id, Kind: api.EventCompleted, At: t.due, Placement: t.placement})
		r.st.Completed++
		k++
	}
	return k
}

// next is the earliest completion time, if anything runs.
func (r *runner) next() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.heap) == 0 {
		return time.Time{}, false
	}
	return r.heap[0].due, true
}

// takeEvents removes up to max queued events, oldest first.
func (r *runner) takeEvents(max int) []api.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(max, len(r.outbox))
	if n == 0 {
		return nil
	}
	out := make([]api.Event, n)
	copy(out, r.outbox[:n])
	r.outbox = append(r.outbox[:0], r.outbox[n:]...)
	return out
}

// pendingEvents is how many events wait to be sent.
func (r *runner) pendingEvents() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.outbox)
}

// acked records that the servers applied a batch of events in the entry
// at index.
func (r *runner) acked(evs []api.Event, index uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range evs {
		if e.Kind != api.EventCompleted {
			continue
		}
		if f, ok := r.done[e.WorkloadID]; ok && f.ack == 0 && r.nodes[f.node].id == e.NodeID && f.placement == e.Placement {
			f.ack = index
			r.done[e.WorkloadID] = f
		}
	}
}

func (r *runner) stats() RunStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.st
	s.Nodes = len(r.nodes)
	s.Running = len(r.tasks)
	return s
}

// NodeUsage is one node's current usage as the agent sees it.
type NodeUsage struct {
	ID       string
	Capacity nodes.Resources
	Used     nodes.Resources
	Tasks    int
}

// usage lists the nodes' usage, in layout order.
func (r *runner) usage() []NodeUsage {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]NodeUsage, len(r.nodes))
	for i, n := range r.nodes {
		out[i] = NodeUsage{ID: n.id, Capacity: n.cap, Used: n.used, Tasks: int(n.tasks)}
	}
	return out
}

// requeue puts an unsent batch back in front of the queue.
func (r *runner) requeue(evs []api.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outbox = append(append(make([]api.Event, 0, len(evs)+len(r.outbox)), evs...), r.outbox...)
}

// resetIndex makes the next assignment list acceptable whatever its index
// (after registering again).
func (r *runner) resetIndex() {
	r.mu.Lock()
	r.applied = false
	r.mu.Unlock()
}
