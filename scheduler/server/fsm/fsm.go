package fsm

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/server/api"
)

// Config tunes an FSM. Every server of a cluster must use the same values
// (they change which terminal workloads are kept).
type Config struct {
	// MaxTerminal is how many finished (completed, failed, cancelled,
	// rejected) workloads are kept; older ones are forgotten, oldest first.
	// Default 100000.
	MaxTerminal int
	// UnparkBudget is how many waiting workloads go back to the ready queue
	// (highest priority first, oldest first within a priority) when a
	// command frees capacity (completions, cancellations, evictions); nodes
	// coming up or new nodes release all of them. Default 1024.
	UnparkBudget int
	// Log receives what the FSM must tell the operator (it halted on an
	// unknown command type, skipped an ignorable one); it changes no
	// state. nil: discarded.
	Log *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxTerminal <= 0 {
		c.MaxTerminal = 100000
	}
	if c.UnparkBudget <= 0 {
		c.UnparkBudget = 1024
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// queue says which queue a pending workload is in.
type queue uint8

const (
	qNone     queue = iota // not pending
	qReady                 // in the ready queue
	qWaiting               // waiting for capacity
	qDeferred              // deferred until NotBefore
)

// qstate is where a pending workload is queued: kept by its record,
// and by each published version as of its publish (for snapshots).
type qstate struct {
	q        queue
	readySeq uint64 // incarnation of the pending state the leader must name
	parkSeq  uint64
}

type wrec struct {
	// w is the workload's current version. Once published (!dirty) the
	// view shares it and it must not change: touchWork gives the record
	// a private copy before an Apply writes to it. Its queue state too
	// changes only after touchWork (leaveQueue), so publish copies it to
	// the version.
	w *api.Workload
	qstate
	node    int32 // index of the node it is live on, or -1
	deleted bool
	// pos is its position in f.order (and the view's array); pub its
	// entry in the published view (sharing w once published); dirty that
	// an Apply touched it since the last publish.
	pos   int
	pub   *pub[api.Workload]
	dirty bool
}

// termEnt is a terminal workload's entry in the GC order, with its ID
// (immutable, so a snapshot that shares the list reads no record).
type termEnt struct {
	r  *wrec
	id string
}

type seqEnt struct {
	seq uint64
	r   *wrec
}

// parkEnt is an entry of the waiting queue, keyed (priority, parkSeq).
// The priority is copied from the spec (which never changes) so that
// comparisons do not follow r.
type parkEnt struct {
	prio int
	seq  uint64
	r    *wrec
}

// before orders the waiting queue: higher priority first, then lower
// parkSeq (parked earlier). Keys are unique (parkSeq is), so the order is
// total and any two FSMs holding the same entries release them alike,
// whatever the layout of their heaps.
func (a parkEnt) before(b parkEnt) bool {
	return a.prio > b.prio || (a.prio == b.prio && a.seq < b.seq)
}

func cmpPark(a, b parkEnt) int {
	switch {
	case a.before(b):
		return -1
	case b.before(a):
		return 1
	}
	return 0
}

// live reports whether e still names its record's current wait. Entries
// are deleted lazily: a workload that leaves the waiting queue otherwise
// than through unpark (cancelled, and then perhaps forgotten) leaves its
// entry behind, and a workload parked again gets a new entry.
func (e parkEnt) live() bool {
	return e.r.q == qWaiting && e.r.parkSeq == e.seq && !e.r.deleted
}

// parkHeap is a binary min-heap by before. It is hand-written rather than
// container/heap, whose Push and Pop box every entry.
type parkHeap []parkEnt

func (h *parkHeap) push(e parkEnt) {
	*h = append(*h, e)
	q := *h
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q[i].before(q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

// pop removes and returns the first entry; h must not be empty.
func (h *parkHeap) pop() parkEnt {
	q := *h
	n := len(q) - 1
	top := q[0]
	q[0] = q[n]
	q[n] = parkEnt{}
	*h = q[:n]
	if n > 0 {
		h.down(0)
	}
	return top
}

func (h parkHeap) down(i int) {
	n := len(h)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if r := c + 1; r < n && h[r].before(h[c]) {
			c = r
		}
		if !h[c].before(h[i]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// init restores the heap order of any arrangement in O(n).
func (h parkHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

type nodeRec struct {
	n    api.Node
	site int
	live map[*wrec]struct{}
	// pub is its copy in the published view; dirty that an Apply changed
	// it (or its use) since.
	pub   *pub[api.Node]
	dirty bool
}

type agentRec struct {
	ID    string   `json:"id"`
	Nodes []string `json:"nodes"`
	Index uint64   `json:"index"`
	// Instance is the run of the agent that registered last.
	Instance string `json:"instance,omitempty"`
}

// FSM is the replicated state. It is safe for concurrent use: Apply takes
// a write lock, readers a read lock, except the list reads, which read the
// view Apply publishes and take no lock (view.go).
type FSM struct {
	mu  sync.RWMutex
	cfg Config

	// view is what the list reads read; publish replaces it at the end
	// of every Apply. The rest is the builders' state, under mu.
	view         atomic.Pointer[view]
	workB        pbuilder[pub[api.Workload], workKey]
	nodeB        pbuilder[pub[api.Node], nodeKey]
	dirtyWork    []*wrec
	dirtyNodes   []int
	workStale    bool // positions in f.order moved: rebuild the workload array
	nodesStale   bool // the node array is rebuilt from scratch
	sitesChanged bool
	// With freeze (tests), frozen holds a copy of every published
	// workload version, and checkView fails if an Apply wrote to one.
	freeze    bool
	frozen    map[*api.Workload]api.Workload
	freezeErr error

	sites   []api.Site
	siteIdx map[string]int
	nodes   []*nodeRec
	nodeIdx map[string]int
	agents  map[string]*agentRec
	servers map[string]api.Server
	// clusterID is the cluster's identity (ClusterID), "" until committed.
	clusterID string
	// scheduler is the replicated scheduler configuration (SetScheduler),
	// nil until committed; written under mu, read without it.
	scheduler atomic.Pointer[SchedulerState]

	work  map[string]*wrec
	order []*wrec // by Seq; deleted records are compacted away

	ready     []seqEnt
	readyHead int
	// parked is the waiting queue: a heap by (priority descending,
	// parkSeq ascending), with lazily deleted entries (parkEnt.live);
	// nWaiting counts the live ones.
	parked   parkHeap
	nWaiting int
	deferred map[*wrec]struct{}
	terminal []termEnt
	termHead int
	// termShared is set when a snapshot shares f.terminal's array: the
	// entries from termHead on must not change until the array is
	// replaced (appending after them is fine).
	termShared atomic.Bool

	st *scheduler.State

	index    uint64 // last applied log index
	seq      uint64 // workload submission counter
	readySeq uint64
	parkSeq  uint64
	// capEpoch changes (deterministically, inside Apply) whenever capacity
	// may have grown or a placement was refused: a "wait" decision taken
	// on an older epoch is retried instead of parked.
	capEpoch uint64
	// topoGen is local: it changes whenever the scheduler.State is rebuilt.
	topoGen uint64

	status     map[string]int
	placements uint64 // placements committed (local counter, for metrics)
	conflicts  uint64

	watch  chan struct{} // closed on every change
	notify chan struct{} // leader wake-up, capacity 1

	// halt is set, and halted closed, once the FSM met a log entry it
	// cannot apply or a snapshot of a newer log version: from then on it
	// applies and restores nothing (halt.go).
	halt     atomic.Pointer[HaltError]
	halted   chan struct{}
	haltOnce sync.Once
}

// New returns an empty FSM.
func New(cfg Config) *FSM {
	f := &FSM{cfg: cfg.withDefaults(), halted: make(chan struct{})}
	f.reset()
	f.publishAll()
	return f
}

func (f *FSM) reset() {
	f.sites = nil
	f.siteIdx = map[string]int{}
	f.nodes = nil
	f.nodeIdx = map[string]int{}
	f.agents = map[string]*agentRec{}
	f.servers = map[string]api.Server{}
	f.clusterID = ""
	f.scheduler.Store(nil)
	f.work = map[string]*wrec{}
	f.order = nil
	f.ready, f.readyHead = nil, 0
	f.parked, f.nWaiting = nil, 0
	f.deferred = map[*wrec]struct{}{}
	f.terminal, f.termHead = nil, 0
	f.termShared.Store(false)
	f.status = map[string]int{}
	f.index, f.seq, f.readySeq, f.parkSeq, f.capEpoch = 0, 0, 0, 0, 0
	st, _ := scheduler.NewState(&nodes.Topology{})
	f.st = st
	f.topoGen++
	if f.watch == nil {
		f.watch = make(chan struct{})
	}
	if f.notify == nil {
		f.notify = make(chan struct{}, 1)
	}
}

// Apply applies one log entry at the given index and returns the command's
// result (see the Result types) or an error value. It never panics on bad
// data.
func (f *FSM) Apply(index uint64, data []byte) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	res := f.applyLocked(index, data)
	f.publish()
	f.changed()
	return res
}

// ApplyBatch applies consecutive entries under one lock.
func (f *FSM) ApplyBatch(indexes []uint64, data [][]byte) []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]any, len(data))
	for i := range data {
		out[i] = f.applyLocked(indexes[i], data[i])
	}
	f.publish()
	f.changed()
	return out
}

// changed wakes long-polls and the leader.
func (f *FSM) changed() {
	close(f.watch)
	f.watch = make(chan struct{})
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

func (f *FSM) applyLocked(index uint64, data []byte) (res any) {
	if h := f.halt.Load(); h != nil {
		return h // applies nothing more (and its index stays where it halted)
	}
	t, cmd, err := Decode(data)
	if errors.Is(err, ErrUnknownCommand) {
		if CmdType(data[0])&IgnoreUnknownFlag == 0 {
			return f.haltAt(index, data[0])
		}
		f.cfg.Log.Warn("skipped a log entry of a command type this server does not know, marked as safe to ignore by the newer server that wrote it; "+
			"upgrade this server to the version the others run", "index", index, "type", data[0]&^byte(IgnoreUnknownFlag), "log_version", LogVersion)
		if index > f.index {
			f.index = index
		}
		return nil
	}
	if index > f.index {
		f.index = index
	}
	if err != nil {
		return err
	}
	switch c := cmd.(type) {
	case *Register:
		return f.applyRegister(index, c)
	case *NodeState:
		return f.applyNodeState(index, c)
	case *Submit:
		return f.applySubmit(index, c)
	case *Plan:
		return f.applyPlan(index, c)
	case *Events:
		return f.applyEvents(index, c)
	case *Cancel:
		return f.applyCancel(index, c)
	case *ServerCmd:
		return f.applyServer(c)
	case *ClusterID:
		return f.applyClusterID(c)
	case *SetScheduler:
		return f.applySetScheduler(index, c)
	}
	return fmt.Errorf("%w: unhandled command %s", ErrDecode, t)
}

// ClusterIDResult is the result of a ClusterID command: the cluster's ID
// after it (the one committed first).
type ClusterIDResult struct {
	ID string
}

func (f *FSM) applyClusterID(c *ClusterID) any {
	if c.ID == "" {
		return fmt.Errorf("%w: cluster_id: empty id", ErrDecode)
	}
	if f.clusterID == "" {
		f.clusterID = c.ID
	}
	return &ClusterIDResult{ID: f.clusterID}
}

// ClusterID returns the cluster's identity, or "" if none is committed
// (yet).
func (f *FSM) ClusterID() string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.clusterID
}

// ---- bookkeeping helpers (all with f.mu held) ----

func (f *FSM) setStatus(r *wrec, s string, index uint64) {
	if r.w.Status != "" {
		f.status[r.w.Status]--
	}
	f.touchWork(r)
	r.w.Status = s
	f.status[s]++
	r.w.ModifyIndex = index
	if api.Terminal(s) {
		f.terminal = append(f.terminal, termEnt{r, r.w.ID})
	}
}

func (f *FSM) leaveQueue(r *wrec) {
	switch r.q {
	case qWaiting:
		f.nWaiting--
	case qDeferred:
		delete(f.deferred, r)
	}
	f.touchWork(r)
	r.q = qNone
	r.readySeq, r.parkSeq = 0, 0
	r.w.Waiting = false
	r.w.NotBefore, r.w.DeferSite = time.Time{}, ""
}

func (f *FSM) makeReady(r *wrec) {
	f.leaveQueue(r)
	f.readySeq++
	r.readySeq = f.readySeq
	r.q = qReady
	f.ready = append(f.ready, seqEnt{f.readySeq, r})
}

func (f *FSM) park(r *wrec) {
	f.leaveQueue(r)
	f.parkSeq++
	r.parkSeq = f.parkSeq
	r.q = qWaiting
	r.w.Waiting = true
	f.nWaiting++
	f.parked.push(parkEnt{prio: r.w.Priority, seq: f.parkSeq, r: r})
}

func (f *FSM) deferTo(r *wrec, nb time.Time, site string) {
	f.leaveQueue(r)
	f.readySeq++
	r.readySeq = f.readySeq
	r.q = qDeferred
	r.w.NotBefore, r.w.DeferSite = nb, site
	f.deferred[r] = struct{}{}
}

// unpark moves up to budget waiting workloads back to the ready queue,
// highest priority first and oldest (lowest parkSeq) first within a
// priority, as the simulator retries its queues by class priority; budget
// < 0 means all. O(log n) per workload taken off the queue (stale entries
// included); releasing all of them sorts the queue once instead.
//
// makeReady gives the released workloads increasing readySeqs in the
// order released, so they stand in the ready queue in priority order too,
// after any work that was ready before them. That is enough for the
// leader: it reads the ready queue in readySeq order, in batches
// (ReadyAfter), and orders each batch by priority (orderBatch). Wherever
// a batch boundary falls among the released work, the earlier batch holds
// the higher priorities of it, so lower-priority work released at the
// same time is never decided before them; inside a batch the leader's
// order decides. Work that was ready before (submitted, evicted, released
// by an earlier change) keeps its place ahead of them across batches:
// that is the leader's no-starvation rule, not the waiting queue's.
func (f *FSM) unpark(budget int) {
	if budget < 0 || budget >= len(f.parked) {
		// Everything live goes: one sort instead of a pop each. The
		// release order is the same (keys are unique).
		slices.SortFunc(f.parked, cmpPark)
		for _, e := range f.parked {
			if e.live() {
				f.makeReady(e.r)
			}
		}
		clear(f.parked)
		f.parked = f.parked[:0]
		return
	}
	for len(f.parked) > 0 && budget != 0 {
		e := f.parked.pop()
		if !e.live() {
			continue
		}
		f.makeReady(e.r)
		budget--
	}
	f.compactParked()
}

// checkParked verifies the waiting queue: heap order, and one live entry
// for every waiting workload (for CheckInvariants).
func (f *FSM) checkParked() error {
	live := 0
	for i, e := range f.parked {
		if i > 0 && e.before(f.parked[(i-1)/2]) {
			return fmt.Errorf("waiting queue: entry %d (%s) before its parent", i, e.r.w.ID)
		}
		if e.live() {
			if e.prio != e.r.w.Priority {
				return fmt.Errorf("waiting queue: %s has priority %d, its entry %d", e.r.w.ID, e.r.w.Priority, e.prio)
			}
			live++
		}
	}
	if live != f.nWaiting {
		return fmt.Errorf("waiting queue: %d live entries, %d waiting", live, f.nWaiting)
	}
	return nil
}

// compactParked drops the stale entries of the waiting queue once they
// outnumber the live ones (and there are more than 1,024 entries): O(n),
// so O(1) amortised per stale entry. Stale entries come from workloads
// that leave the waiting queue otherwise than through unpark (today:
// cancelled while waiting), which unpark alone would drop only when they
// reach the top. When it runs differs between servers (a restored FSM
// starts without stale entries), and so does the heap's layout; what the
// queue releases does not: it is decided by the live entries' keys alone.
func (f *FSM) compactParked() {
	if len(f.parked) <= 1024 || len(f.parked) <= 2*f.nWaiting {
		return
	}
	j := 0
	for _, e := range f.parked {
		if e.live() {
			f.parked[j] = e
			j++
		}
	}
	clear(f.parked[j:])
	f.parked = f.parked[:j]
	f.parked.init()
}

// capacityChanged records that capacity may have grown and retries up to
// budget waiting workloads.
func (f *FSM) capacityChanged(budget int) {
	f.capEpoch++
	f.unpark(budget)
}

func (f *FSM) bumpAgent(agent string, index uint64) {
	if a := f.agents[agent]; a != nil {
		a.Index = index
	}
}

// place records r as live on node ni (already allocated in f.st).
func (f *FSM) place(r *wrec, ni int, at time.Time, late bool, index uint64) {
	nr := f.nodes[ni]
	f.leaveQueue(r)
	r.node = int32(ni)
	r.w.Node, r.w.Site, r.w.Agent = nr.n.ID, nr.n.Site, nr.n.Agent
	// The entry that places it names the placement: unique, the same on
	// every server, and new for every placement of the workload.
	r.w.Placement = index
	r.w.PlacedAt, r.w.StartedAt, r.w.FinishedAt = at, time.Time{}, time.Time{}
	r.w.Late = late
	r.w.Reason, r.w.Explanation = "", ""
	nr.live[r] = struct{}{}
	nr.n.Workloads = len(nr.live)
	nr.n.ModifyIndex = index
	f.touchNode(ni)
	f.setStatus(r, api.StatusPlaced, index)
	f.bumpAgent(nr.n.Agent, index)
	f.placements++
}

// release frees r's resources on its node. The caller sets the new status.
func (f *FSM) release(r *wrec, index uint64) {
	if r.node < 0 {
		return
	}
	nr := f.nodes[r.node]
	// The state always holds live placements (invariant), so Release
	// cannot fail; keep going if it ever does, the invariant check in
	// tests catches it.
	_ = f.st.Release(int(r.node), r.w.Request)
	f.touchNode(int(r.node))
	delete(nr.live, r)
	nr.n.Workloads = len(nr.live)
	nr.n.ModifyIndex = index
	f.bumpAgent(nr.n.Agent, index)
	r.node = -1
}

// repend sends a live workload back to the ready queue (its node went down
// or shrank).
func (f *FSM) repend(r *wrec, reason string, index uint64) {
	f.touchWork(r)
	f.release(r, index)
	r.w.Node, r.w.Site, r.w.Agent, r.w.Placement = "", "", "", 0
	r.w.PlacedAt, r.w.StartedAt = time.Time{}, time.Time{}
	r.w.Late = false
	r.w.Reason = reason
	r.w.Explanation = ""
	f.setStatus(r, api.StatusPending, index)
	f.makeReady(r)
}

// gc forgets the oldest terminal workloads beyond MaxTerminal.
func (f *FSM) gc() {
	for len(f.terminal)-f.termHead > f.cfg.MaxTerminal {
		r := f.terminal[f.termHead].r
		if !f.termShared.Load() {
			f.terminal[f.termHead] = termEnt{} // let it be collected
		}
		f.termHead++
		if r.deleted || !api.Terminal(r.w.Status) {
			continue
		}
		r.deleted = true
		f.touchDeleted(r)
		delete(f.work, r.w.ID)
		f.status[r.w.Status]--
	}
	if f.termHead > 1024 && f.termHead > len(f.terminal)/2 {
		if f.termShared.Load() {
			// A snapshot may still be reading the old array.
			f.terminal = slices.Clone(f.terminal[f.termHead:])
			f.termShared.Store(false)
		} else {
			f.terminal = append(f.terminal[:0], f.terminal[f.termHead:]...)
		}
		f.termHead = 0
		// Compact the submission order too.
		j := 0
		for _, r := range f.order {
			if !r.deleted {
				f.order[j] = r
				j++
			}
		}
		clear(f.order[j:])
		f.order = f.order[:j]
		f.workStale = true
	}
}

func (f *FSM) compactReady() {
	for f.readyHead < len(f.ready) {
		e := f.ready[f.readyHead]
		if e.r.q == qReady && e.r.readySeq == e.seq && !e.r.deleted {
			break
		}
		f.ready[f.readyHead] = seqEnt{}
		f.readyHead++
	}
	if f.readyHead == len(f.ready) {
		f.ready, f.readyHead = f.ready[:0], 0
	} else if f.readyHead > 1024 && f.readyHead > len(f.ready)/2 {
		f.ready = append(f.ready[:0], f.ready[f.readyHead:]...)
		f.readyHead = 0
	}
}

// siteOf converts a registered site to the core's type.
func siteOf(s api.Site) nodes.Site {
	role, _ := nodes.ParseRole(s.Role)
	out := nodes.Site{ID: s.ID, City: s.City, Lat: s.Lat, Lon: s.Lon, Tier: role.Tier(), Role: role, PUE: s.PUE}
	if s.Lat == 0 && s.Lon == 0 {
		cities := nodes.ShandongCities()
		if ci, err := nodes.LookupCity(cities, s.City); err == nil {
			out.Lat, out.Lon, out.City = cities[ci].Lat, cities[ci].Lon, cities[ci].Code
		}
	}
	return out
}

// topology builds the core's topology from the registered sites and nodes,
// every node up (rebuild sets the real states after re-allocating).
func (f *FSM) topology() nodes.Topology {
	t := nodes.Topology{Sites: make([]nodes.Site, len(f.sites)), Nodes: make([]nodes.Node, len(f.nodes))}
	for i, s := range f.sites {
		t.Sites[i] = siteOf(s)
	}
	for i, nr := range f.nodes {
		t.Nodes[i] = nodes.Node{ID: nr.n.ID, Site: nr.site, Type: nr.n.Type, Capacity: nr.n.Capacity, State: nodes.NodeUp}
	}
	return t
}

// errRestore marks a snapshot whose placements do not fit its nodes.
var errRestore = errors.New("fsm: snapshot placements do not fit their nodes")

// rebuild builds a new scheduler.State after the topology changed and
// re-allocates every live placement on it, in submission order. A
// placement that no longer fits (its node shrank) goes back to pending,
// unless strict (restore), where that is an error.
func (f *FSM) rebuild(index uint64, strict bool) error {
	topo := f.topology()
	st, err := scheduler.NewState(&topo)
	if err != nil {
		return fmt.Errorf("fsm: rebuild state: %w", err)
	}
	var misfits []*wrec
	for _, r := range f.order {
		if r.deleted || r.node < 0 {
			continue
		}
		if err := st.Allocate(int(r.node), r.w.Request); err != nil {
			if strict {
				return fmt.Errorf("%w: %s on %s: %v", errRestore, r.w.ID, r.w.Node, err)
			}
			misfits = append(misfits, r)
		}
	}
	for i, nr := range f.nodes {
		s, _ := nodes.ParseNodeState(nr.n.State)
		if err := st.SetNodeState(i, s); err != nil {
			return fmt.Errorf("fsm: rebuild state: %w", err)
		}
	}
	f.st = st
	f.topoGen++
	f.touchAllNodes()
	for _, r := range misfits {
		// Not allocated in the new state: detach without releasing.
		f.touchWork(r)
		nr := f.nodes[r.node]
		delete(nr.live, r)
		nr.n.Workloads = len(nr.live)
		f.bumpAgent(nr.n.Agent, index)
		r.node = -1
		r.w.Node, r.w.Site, r.w.Agent, r.w.Placement = "", "", "", 0
		r.w.Reason = "node shrank"
		f.setStatus(r, api.StatusPending, index)
		f.makeReady(r)
	}
	return nil
}

// setNodeState changes node i's state in the records and the core state;
// going down re-pends its work. A node already down keeps its reason when
// the new one is "gossip": the agent's death does not hide that an
// operator took the node down or that the agent no longer lists it (and
// its return must not bring such a node up).
func (f *FSM) setNodeState(i int, s nodes.NodeState, reason string, index uint64) (changed bool, repended int) {
	nr := f.nodes[i]
	f.touchNode(i)
	if nr.n.State == s.String() {
		if s == nodes.NodeDown && nr.n.DownReason != reason && reason != "" && reason != ReasonGossip {
			nr.n.DownReason = reason
			nr.n.ModifyIndex = index
		}
		return false, 0
	}
	if s == nodes.NodeDown {
		live := make([]*wrec, 0, len(nr.live))
		for r := range nr.live {
			live = append(live, r)
		}
		sort.Slice(live, func(a, b int) bool { return live[a].w.Seq < live[b].w.Seq })
		for _, r := range live {
			f.repend(r, "node "+nr.n.ID+" down", index)
		}
		repended = len(live)
		nr.n.DownReason = reason
	} else {
		nr.n.DownReason = ""
	}
	nr.n.State = s.String()
	nr.n.ModifyIndex = index
	_ = f.st.SetNodeState(i, s)
	f.bumpAgent(nr.n.Agent, index)
	return true, repended
}
