package fsm

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"sync/atomic"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

// The read view.
//
// Public list reads (GET /v1/workloads, GET /v1/nodes) and the counts
// behind /v1/cluster and /metrics read an immutable view of the FSM that
// every Apply publishes before it returns, through an atomic pointer:
// they take no lock, so any number of them never delays an Apply, and an
// Apply never waits for them. The view holds one immutable copy of each
// workload and node as of its last change, in two copy-on-write arrays
// (pvec) by position: workloads in submission order (f.order), nodes in
// registration order (f.nodes). An Apply marks what it changes (touchWork,
// touchNode); publish copies just those records and the leaves and
// branches of the arrays that hold them, and swaps the pointer. The view's
// index is the last applied index, so a read says which state it answers
// from (X-Suanli-Index), and a read after ?consistent's barrier sees every
// entry committed before it.

// view is one published state for readers. Never modified once stored.
type view struct {
	index uint64
	work  pvec[pub[api.Workload], workKey]
	nodes pvec[pub[api.Node], nodeKey]
	sites []api.Site
}

// pub is one version of a record, as the view holds it: immutable once
// published, and its JSON, encoded by the first reader that writes it out
// (so a page of records that did not change since the last read costs a
// copy of bytes, not an encoding; the bytes live as long as this version).
// A workload's current version is also the FSM's record (wrec.w points
// into it) until an Apply changes it: touchWork makes a new one first
// (copy-on-write). A node's is a copy of its record with its use.
type pub[T any] struct {
	v  T
	js atomic.Pointer[[]byte]
	// qs is a workload version's queue state, set by publish (zero for
	// nodes).
	qs qstate
}

// json returns the record's JSON encoding (as encoding/json writes it).
func (p *pub[T]) json() []byte {
	if b := p.js.Load(); b != nil {
		return *b
	}
	b, err := json.Marshal(&p.v)
	if err != nil {
		panic(fmt.Sprintf("fsm: encode %T: %v", p.v, err)) // API types always encode
	}
	p.js.Store(&b)
	return b
}

// touchWork is called before an Apply changes r.w. The first time in an
// Apply, r gets a private copy of the version the view shares
// (copy-on-write) and is marked for publish.
func (f *FSM) touchWork(r *wrec) {
	if !r.dirty {
		if f.freeze {
			f.checkFrozen(r.pub)
		}
		np := &pub[api.Workload]{v: *r.w}
		r.pub, r.w, r.dirty = np, &np.v, true
		f.dirtyWork = append(f.dirtyWork, r)
	}
}

// newWork gives a record created in this Apply its first version.
func (f *FSM) newWork(r *wrec, w api.Workload) {
	r.pub = &pub[api.Workload]{v: w}
	r.w, r.dirty = &r.pub.v, true
	f.dirtyWork = append(f.dirtyWork, r)
}

// checkFrozen records an error if published version p changed since it
// was published (tests: freeze).
func (f *FSM) checkFrozen(p *pub[api.Workload]) {
	if fz, ok := f.frozen[&p.v]; ok && !reflect.DeepEqual(p.v, fz) && f.freezeErr == nil {
		f.freezeErr = fmt.Errorf("view: workload %q changed after it was published (an Apply wrote to it without touchWork):\n now       %+v\n published %+v", fz.ID, p.v, fz)
	}
	delete(f.frozen, &p.v)
}

// touchDeleted marks a record gc forgot (its version does not change: it
// leaves the view).
func (f *FSM) touchDeleted(r *wrec) {
	if !r.dirty {
		r.dirty = true
		f.dirtyWork = append(f.dirtyWork, r)
	}
}

// touchNode marks node i (record, state or use) as changed in this Apply.
func (f *FSM) touchNode(i int) {
	if nr := f.nodes[i]; !nr.dirty {
		nr.dirty = true
		f.dirtyNodes = append(f.dirtyNodes, i)
	}
}

// touchAllNodes marks every node changed (the core state was rebuilt).
func (f *FSM) touchAllNodes() {
	for i := range f.nodes {
		f.touchNode(i)
	}
}

// publishAll rebuilds the whole view from the records (after a restore).
func (f *FSM) publishAll() {
	clear(f.dirtyWork)
	f.dirtyWork = f.dirtyWork[:0]
	for _, r := range f.order {
		if r.pub == nil || r.w != &r.pub.v { // restored: give it its version
			f.newWork(r, *r.w)
			continue
		}
		r.dirty = true
		f.dirtyWork = append(f.dirtyWork, r)
	}
	f.dirtyNodes = f.dirtyNodes[:0]
	for i, nr := range f.nodes {
		nr.dirty = true
		f.dirtyNodes = append(f.dirtyNodes, i)
	}
	f.workStale, f.nodesStale, f.sitesChanged = true, true, true
	f.publish()
}

// publish makes what this Apply changed visible to readers. With f.mu
// held for writing.
func (f *FSM) publish() {
	for _, r := range f.dirtyWork {
		r.dirty = false // r.pub is shared with the view from now on
		if !r.deleted && r.pub.qs != r.qstate {
			// r.pub is this Apply's version (the queue state changes
			// only after touchWork; checkView verifies it).
			r.pub.qs = r.qstate
		}
		if f.freeze {
			if f.frozen == nil {
				f.frozen = map[*api.Workload]api.Workload{}
			}
			f.frozen[r.w] = *r.w
		}
	}
	if f.workStale {
		// Positions moved (the order was compacted) or the state was
		// replaced: rebuild the array from the order.
		f.workB.reset()
		for i, r := range f.order {
			r.pos = i
			f.workB.set(i, r.pub, !r.deleted)
		}
		f.workStale = false
	} else {
		for _, r := range f.dirtyWork {
			f.workB.set(r.pos, r.pub, !r.deleted)
		}
	}
	clear(f.dirtyWork)
	f.dirtyWork = f.dirtyWork[:0]

	if f.nodesStale {
		f.nodeB.reset()
		f.nodesStale = false
	}
	for _, i := range f.dirtyNodes {
		nr := f.nodes[i]
		nr.pub, nr.dirty = &pub[api.Node]{v: nr.n}, false
		if i < f.st.NumNodes() {
			nr.pub.v.Used = f.st.NodeUsed(i)
		}
		f.nodeB.set(i, nr.pub, true)
	}
	f.dirtyNodes = f.dirtyNodes[:0]

	v := &view{index: f.index, work: f.workB.publish(), nodes: f.nodeB.publish()}
	if old := f.view.Load(); old != nil && !f.sitesChanged {
		v.sites = old.sites
	} else {
		v.sites = slices.Clone(f.sites)
		f.sitesChanged = false
	}
	f.view.Store(v)
}

// checkView verifies that the published view matches the records (with
// f.mu held): a change an Apply forgot to mark would show here.
func (f *FSM) checkView() error {
	if f.freezeErr != nil {
		return f.freezeErr
	}
	v := f.view.Load()
	if v.index != f.index {
		return fmt.Errorf("view at index %d, fsm at %d", v.index, f.index)
	}
	if v.work.Len() != len(f.order) {
		return fmt.Errorf("view has %d workload positions, order %d", v.work.Len(), len(f.order))
	}
	for i, r := range f.order {
		w, live := v.work.At(i)
		if live == r.deleted {
			return fmt.Errorf("view: workload %q at %d live=%v, deleted=%v", r.w.ID, i, live, r.deleted)
		}
		if !r.deleted && (w != r.pub || r.w != &w.v) {
			return fmt.Errorf("view: workload %q: the view holds another version than the record", r.w.ID)
		}
		if !r.deleted && w.qs != r.qstate {
			return fmt.Errorf("view: workload %q: queue state %+v, the record's %+v (changed without touchWork)", r.w.ID, w.qs, r.qstate)
		}
		if fz, ok := f.frozen[&w.v]; f.freeze && (!ok || !reflect.DeepEqual(w.v, fz)) {
			return fmt.Errorf("view: workload %q changed after it was published (an Apply wrote to it without touchWork):\n now       %+v\n published %+v", r.w.ID, w.v, fz)
		}
	}
	if v.nodes.Len() != len(f.nodes) {
		return fmt.Errorf("view has %d nodes, fsm %d", v.nodes.Len(), len(f.nodes))
	}
	for i, nr := range f.nodes {
		want := nr.n
		want.Used = f.st.NodeUsed(i)
		if n, _ := v.nodes.At(i); n.v != want {
			return fmt.Errorf("view: node %s differs from its record:\n view %+v\n fsm  %+v", nr.n.ID, n.v, want)
		}
	}
	if !slices.Equal(v.sites, f.sites) {
		return fmt.Errorf("view: sites %v, fsm %v", v.sites, f.sites)
	}
	return nil
}

// ---- reads ----

// Limits of the list reads' pages.
const (
	DefaultListLimit  = 100  // workloads per page when no limit is given
	DefaultNodesLimit = 1000 // nodes per page when no limit is given
	MaxListLimit      = 1000 // largest page of either
)

// ListFilter selects workloads; empty fields match everything.
type ListFilter struct {
	Status, Class, Site, Node, Agent string
	// After is the Seq to start after (pagination cursor).
	After uint64
	// Limit caps the page (default 100, at most 1000).
	Limit int
}

// workKey is a workload filter, the key of the view's memoised counts.
type workKey struct{ status, class, site, node, agent string }

func (flt ListFilter) key() workKey {
	return workKey{flt.Status, flt.Class, flt.Site, flt.Node, flt.Agent}
}

// match returns the filter's predicate, nil for "everything".
func (k workKey) match() func(*pub[api.Workload]) bool {
	if k == (workKey{}) {
		return nil
	}
	return func(p *pub[api.Workload]) bool {
		w := &p.v
		return (k.status == "" || w.Status == k.status) && (k.class == "" || w.Class == k.class) &&
			(k.site == "" || w.Site == k.site) && (k.node == "" || w.Node == k.node) && (k.agent == "" || w.Agent == k.agent)
	}
}

// WorkloadPage is one page of GET /v1/workloads: api.WorkloadList, with
// the view's records.
type WorkloadPage struct {
	Index uint64
	Next  string
	Total int
	items []*pub[api.Workload]
}

// Workloads returns the page's workloads: the view's, to read, never to
// modify.
func (p WorkloadPage) Workloads() []*api.Workload {
	out := make([]*api.Workload, len(p.items))
	for i, it := range p.items {
		out[i] = &it.v
	}
	return out
}

// WriteJSON writes the page as api.WorkloadList, byte for byte what
// encoding/json's Encoder writes for it, reusing each record's encoding.
func (p WorkloadPage) WriteJSON(w io.Writer) error {
	return writeList(w, p.Index, nil, "workloads", p.items, p.Next, p.Total)
}

// List returns a page of the workloads that match the filter, in
// submission order, starting after the cursor flt.After; the number of
// workloads that match in the whole state (not only from the cursor on);
// the cursor of the next page ("" when no match follows the page); and
// the index of the state it read. It reads the published view: no lock.
func (f *FSM) List(flt ListFilter) WorkloadPage {
	if flt.Limit <= 0 {
		flt.Limit = DefaultListLimit
	}
	flt.Limit = min(flt.Limit, MaxListLimit)
	v := f.view.Load()
	key := flt.key()
	match := key.match()
	out := WorkloadPage{Index: v.index, Total: v.work.count(key, match)}
	// Positions are in Seq order; Seq is never 0.
	start := sort.Search(v.work.Len(), func(p int) bool {
		w, _ := v.work.At(p)
		return w.v.Seq > flt.After
	})
	out.items = make([]*pub[api.Workload], 0, min(flt.Limit, out.Total))
	v.work.scan(start, key, match, func(_ int, w *pub[api.Workload]) bool {
		if len(out.items) == flt.Limit {
			out.Next = strconv.FormatUint(out.items[len(out.items)-1].v.Seq, 10)
			return false
		}
		out.items = append(out.items, w)
		return true
	})
	return out
}

// NodeFilter selects nodes; empty fields match everything.
type NodeFilter struct {
	State, Site, Agent string
	// After is how many registration positions to skip: the cursor of
	// the next page is the position after the last node of this one.
	After int
	// Limit caps the page (default 1000, at most 1000).
	Limit int
}

// nodeKey is a node filter, the key of the view's memoised counts.
type nodeKey struct{ state, site, agent string }

func (flt NodeFilter) key() nodeKey { return nodeKey{flt.State, flt.Site, flt.Agent} }

// match returns the filter's predicate, nil for "everything".
func (k nodeKey) match() func(*pub[api.Node]) bool {
	if k == (nodeKey{}) {
		return nil
	}
	return func(p *pub[api.Node]) bool {
		n := &p.v
		return (k.state == "" || n.State == k.state) && (k.site == "" || n.Site == k.site) && (k.agent == "" || n.Agent == k.agent)
	}
}

// NodesPage is one page of GET /v1/nodes: api.NodeList, with the view's
// sites and records.
type NodesPage struct {
	Index uint64
	Sites []api.Site // the view's: read, never modify
	Next  string
	Total int
	items []*pub[api.Node]
}

// Nodes returns the page's nodes: the view's, to read, never to modify.
func (p NodesPage) Nodes() []*api.Node {
	out := make([]*api.Node, len(p.items))
	for i, it := range p.items {
		out[i] = &it.v
	}
	return out
}

// WriteJSON writes the page as api.NodeList, byte for byte what
// encoding/json's Encoder writes for it, reusing each record's encoding.
func (p NodesPage) WriteJSON(w io.Writer) error {
	return writeList(w, p.Index, p.Sites, "nodes", p.items, p.Next, p.Total)
}

// NodePage returns a page of the nodes that match the filter, in
// registration order, from position flt.After on, with every registered
// site, the number of matching nodes in the whole state, and the cursor
// of the next page ("" when no match follows). It reads the published
// view: no lock.
func (f *FSM) NodePage(flt NodeFilter) NodesPage {
	if flt.Limit <= 0 {
		flt.Limit = DefaultNodesLimit
	}
	flt.Limit = min(flt.Limit, MaxListLimit)
	v := f.view.Load()
	key := flt.key()
	match := key.match()
	out := NodesPage{Index: v.index, Sites: v.sites, Total: v.nodes.count(key, match)}
	if out.Sites == nil {
		out.Sites = []api.Site{}
	}
	out.items = make([]*pub[api.Node], 0, min(flt.Limit, out.Total))
	v.nodes.scan(max(flt.After, 0), key, match, func(p int, n *pub[api.Node]) bool {
		if len(out.items) == flt.Limit {
			out.Next = strconv.Itoa(p)
			return false
		}
		out.items = append(out.items, n)
		return true
	})
	return out
}

// Nodes returns every registered site and every node of the given state,
// site and agent ("" = any), in registration order, from the view.
func (f *FSM) Nodes(state, site, agent string) api.NodeList {
	v := f.view.Load()
	key := nodeKey{state, site, agent}
	match := key.match()
	out := api.NodeList{Index: v.index, Sites: append([]api.Site{}, v.sites...), Nodes: []api.Node{}}
	v.nodes.scan(0, key, match, func(_ int, n *pub[api.Node]) bool {
		out.Nodes = append(out.Nodes, n.v)
		return true
	})
	out.Total = len(out.Nodes)
	return out
}

// Node returns one node with its use.
func (f *FSM) Node(id string) (api.Node, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	i, ok := f.nodeIdx[id]
	if !ok {
		return api.Node{}, false
	}
	n := f.nodes[i].n
	if i < f.st.NumNodes() {
		n.Used = f.st.NodeUsed(i)
	}
	return n, true
}

// nodeCounts counts nodes by state from the view.
func (v *view) nodeCounts() map[string]int {
	out := map[string]int{}
	for _, s := range []nodes.NodeState{nodes.NodeUp, nodes.NodeDraining, nodes.NodeDown} {
		key := nodeKey{state: s.String()}
		out[key.state] = v.nodes.count(key, key.match())
	}
	return out
}

// writeList writes {"index":…,["sites":…,]"<key>":[…],["next":…,]"total":…}
// and a newline, as encoding/json's Encoder writes api.WorkloadList and
// api.NodeList (sites nil: no sites member), streaming the records'
// encodings through a small buffer.
func writeList[T any](w io.Writer, index uint64, sites []api.Site, key string, items []*pub[T], next string, total int) error {
	b := bufio.NewWriterSize(w, 32<<10)
	b.WriteString(`{"index":`)
	b.Write(strconv.AppendUint(b.AvailableBuffer(), index, 10))
	if sites != nil {
		sj, err := json.Marshal(sites)
		if err != nil {
			return err
		}
		b.WriteString(`,"sites":`)
		b.Write(sj)
	}
	b.WriteString(`,"` + key + `":[`)
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it.json())
	}
	b.WriteByte(']')
	if next != "" {
		nj, err := json.Marshal(next)
		if err != nil {
			return err
		}
		b.WriteString(`,"next":`)
		b.Write(nj)
	}
	b.WriteString(`,"total":`)
	b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(total), 10))
	b.WriteString("}\n")
	return b.Flush()
}
