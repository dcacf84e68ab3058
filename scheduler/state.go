package scheduler

import (
	"errors"
	"fmt"
	"math"

	"github.com/suanli/suanli/nodes"
)

// Errors returned by State mutations. They are sentinel values so drivers
// (the simulator, the server's FSM) can tell a conflicting plan from a bug.
var (
	ErrUnknownNode   = errors.New("scheduler: unknown node")
	ErrNodeNotUp     = errors.New("scheduler: node is not up")
	ErrOversubscribe = errors.New("scheduler: allocation would oversubscribe node")
	ErrUnderflow     = errors.New("scheduler: release exceeds what is allocated on node")
)

// free3 is a node's free capacity as seen by the per-site index, and for
// a subtree the component-wise maximum over its nodes. A node that cannot
// take new work (down, draining, or a padding leaf) is stored as
// unschedulable, which no request dominates.
//
// Besides CPU, memory and GPU, it keeps "shape" terms q[i] = min(CPU,
// memory / r_i) for memory-per-core ratios r_i of 2, 4 and 8 GiB (the
// servers' own ratios are 4 and 8; the shipped workload classes ask for 2,
// 4 and 8), and min(CPU, GPUs · 8 cores). A node that fits a request has
// every term at least the request's, so a subtree whose maximum term falls
// short holds no fitting node. The plain per-dimension maxima alone let
// subtrees through whose free CPU and free memory sit on different nodes —
// common once a site is packed and fragmented — and the walk then descended
// into them for nothing (the cost grew with the site's size); the shape
// terms close that gap exactly at the ratios above, and partly near them.
// Requests of other ratios on an adversarially fragmented site can still
// make the walk visit every node of the site (BenchmarkPlaceFragmented).
//
// Values are int32 to keep the index compact; NewState refuses node
// capacities of 2^31 units or more in any dimension.
type free3 struct {
	cpu, mem, gpu int32
	q             [numShapes]int32
}

// numShapes is the number of shape terms in free3.q.
const numShapes = 4

var unschedulable = free3{-1, -1, -1, [numShapes]int32{-1, -1, -1, -1}}

// maxUnits bounds node capacity per dimension (millicores, MiB, milli-GPUs).
const maxUnits = math.MaxInt32

// dominates reports whether f is at least r in every term. It is
// branch-free: every difference is non-negative exactly when their OR has
// no sign bit, and no difference overflows (values lie in [-1, 2^31-1],
// requests in [0, 2^31-1]).
func (f *free3) dominates(r *free3) bool {
	return (f.cpu-r.cpu)|(f.mem-r.mem)|(f.gpu-r.gpu)|
		(f.q[0]-r.q[0])|(f.q[1]-r.q[1])|(f.q[2]-r.q[2])|(f.q[3]-r.q[3]) >= 0
}

// dominates3 checks only CPU, memory and GPU: the cheap per-site test the
// filters run for every site (the walk inside the chosen site uses the
// full test).
func (f *free3) dominates3(r *free3) bool {
	return f.cpu >= r.cpu && f.mem >= r.mem && f.gpu >= r.gpu
}

// shapeKey builds a key from free (or requested) millicores, MiB and
// milli-GPUs, clamped to the index's range.
func shapeKey(cpu, mem, gpu int64) free3 {
	// memory as CPU-equivalents at r GiB per core: MiB·1000/(r·1024)
	// millicores, for r = 2, 4, 8
	m := mem * 1000
	return free3{cpu: clamp32(cpu), mem: clamp32(mem), gpu: clamp32(gpu),
		q: [numShapes]int32{clamp32(min(cpu, m/2048)), clamp32(min(cpu, m/4096)), clamp32(min(cpu, m/8192)),
			clamp32(min(cpu, gpu*8))}} // 8 cores per GPU, both in milli-units
}

func clamp32(v int64) int32 { return int32(min(max(v, 0), maxUnits)) }

// need converts a request to index units; dimensions beyond the index's
// range become unsatisfiable.
func need(r nodes.Resources) free3 {
	return shapeKey(r.CPUMilli, r.MemoryMiB, r.GPUMilli)
}

func max3(a, b free3) free3 {
	return free3{cpu: max(a.cpu, b.cpu), mem: max(a.mem, b.mem), gpu: max(a.gpu, b.gpu),
		q: [numShapes]int32{max(a.q[0], b.q[0]), max(a.q[1], b.q[1]), max(a.q[2], b.q[2]), max(a.q[3], b.q[3])}}
}

// res32 is a node's capacity or allocation in int32 units: NewState bounds
// capacities below 2^31 in every dimension and Allocate keeps allocations
// within them, so a node record stays 36 bytes and 10,000 of them fit in a
// core's L2 cache (the hot path reads several per decision).
type res32 struct{ cpu, mem, gpu int32 }

func to32(r nodes.Resources) res32 {
	return res32{int32(r.CPUMilli), int32(r.MemoryMiB), int32(r.GPUMilli)}
}

func (r res32) r64() nodes.Resources {
	return nodes.Resources{CPUMilli: int64(r.cpu), MemoryMiB: int64(r.mem), GPUMilli: int64(r.gpu)}
}

type nodeRec struct {
	capacity res32
	used     res32
	site     int32
	leaf     int32 // position among the site's nodes (leaf of its tree)
	state    nodes.NodeState
}

func (n *nodeRec) free() nodes.Resources { return n.capacity.r64().Sub(n.used.r64()) }

func (n *nodeRec) key() free3 {
	if n.state != nodes.NodeUp {
		return unschedulable
	}
	// Free capacity lies in [0, 2^31) in every dimension (NewState bounds
	// capacities, Allocate keeps used within them): no clamping needed,
	// and divisions by powers of two are shifts.
	cpu := int64(n.capacity.cpu - n.used.cpu)
	mem := int64(n.capacity.mem - n.used.mem)
	gpu := int64(n.capacity.gpu - n.used.gpu)
	m := mem * 1000
	return free3{cpu: int32(cpu), mem: int32(mem), gpu: int32(gpu),
		q: [numShapes]int32{int32(min(cpu, m>>11)), int32(min(cpu, m>>12)), int32(min(cpu, m>>13)), int32(min(cpu, gpu*8))}}
}

// siteRec is the per-site aggregate and index.
type siteRec struct {
	// hot fields read for every site of every decision come first
	root     free3 // = tree[1], the site's component-wise maximum free
	tier     nodes.Tier
	upNodes  int32
	gpuNodes int32 // nodes with any GPU hardware

	invUpCPU, invUpMem, invUpGPU float64         // 1/upCapacity per dimension (0 if none)
	upUsed                       nodes.Resources // used on nodes that are up

	info  nodes.Site
	nodes []int32 // node indices, by leaf position
	size  int     // number of leaves, a power of two >= len(nodes)
	tree  []free3 // 1-based segment tree of component-wise maxima; leaves at [size, 2·size)

	capacity   nodes.Resources // all nodes, any state
	upCapacity nodes.Resources // nodes that are up
	used       nodes.Resources // used on all nodes
}

// State is the cluster state the core decides on: every node's capacity,
// allocation and state, aggregated per site with an index for fast search.
// It is owned and mutated by one driver at a time; Decide only reads it.
type State struct {
	sites   []siteRec
	nodes   []nodeRec
	nodeIDs []string
	byID    map[string]int32
}

// NewState builds a state from a topology. Every node starts with nothing
// allocated, in the state the topology gives.
func NewState(t *nodes.Topology) (*State, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("new state: %w", err)
	}
	s := &State{
		sites:   make([]siteRec, len(t.Sites)),
		nodes:   make([]nodeRec, len(t.Nodes)),
		nodeIDs: make([]string, len(t.Nodes)),
		byID:    make(map[string]int32, len(t.Nodes)),
	}
	for i, site := range t.Sites {
		s.sites[i].info = site
		s.sites[i].tier = site.Tier
	}
	for i, n := range t.Nodes {
		if c := n.Capacity; c.CPUMilli >= maxUnits || c.MemoryMiB >= maxUnits || c.GPUMilli >= maxUnits {
			return nil, fmt.Errorf("new state: node %q: capacity %v too large (each dimension must be below %d)", n.ID, c, int64(maxUnits))
		}
		sr := &s.sites[n.Site]
		s.nodes[i] = nodeRec{capacity: to32(n.Capacity), site: int32(n.Site), leaf: int32(len(sr.nodes)), state: n.State}
		sr.nodes = append(sr.nodes, int32(i))
		s.nodeIDs[i] = n.ID
		s.byID[n.ID] = int32(i)
	}
	for i := range s.sites {
		s.rebuildSite(i)
	}
	return s, nil
}

// rebuildSite recomputes a site's aggregates and tree from its nodes.
func (s *State) rebuildSite(i int) {
	sr := &s.sites[i]
	size := 1
	for size < len(sr.nodes) {
		size <<= 1
	}
	sr.size = size
	if cap(sr.tree) >= 2*size {
		sr.tree = sr.tree[:2*size]
	} else {
		sr.tree = make([]free3, 2*size)
	}
	sr.capacity, sr.upCapacity, sr.upUsed, sr.used = nodes.Resources{}, nodes.Resources{}, nodes.Resources{}, nodes.Resources{}
	sr.upNodes, sr.gpuNodes = 0, 0
	for leaf := 0; leaf < size; leaf++ {
		k := unschedulable
		if leaf < len(sr.nodes) {
			n := &s.nodes[sr.nodes[leaf]]
			k = n.key()
			sr.capacity = sr.capacity.Add(n.capacity.r64())
			sr.used = sr.used.Add(n.used.r64())
			if n.capacity.gpu > 0 {
				sr.gpuNodes++
			}
			if n.state == nodes.NodeUp {
				sr.upCapacity = sr.upCapacity.Add(n.capacity.r64())
				sr.upUsed = sr.upUsed.Add(n.used.r64())
				sr.upNodes++
			}
		}
		sr.tree[size+leaf] = k
	}
	for j := size - 1; j >= 1; j-- {
		sr.tree[j] = max3(sr.tree[2*j], sr.tree[2*j+1])
	}
	sr.root = sr.tree[1]
	sr.refreshInv()
}

func (sr *siteRec) refreshInv() {
	inv := func(v int64) float64 {
		if v <= 0 {
			return 0
		}
		return 1 / float64(v)
	}
	sr.invUpCPU, sr.invUpMem, sr.invUpGPU = inv(sr.upCapacity.CPUMilli), inv(sr.upCapacity.MemoryMiB), inv(sr.upCapacity.GPUMilli)
}

// updateLeaf rewrites node n's leaf and the path to the root.
func (s *State) updateLeaf(n int32) {
	nr := &s.nodes[n]
	sr := &s.sites[nr.site]
	j := sr.size + int(nr.leaf)
	k := nr.key()
	grew := k.dominates(&sr.tree[j])
	sr.tree[j] = k
	if grew {
		// Free capacity only grew (a release, a node coming up): every
		// maximum on the path is max(itself, k), no sibling needed, and
		// the walk stops at the first subtree that already covers k.
		for j >>= 1; j >= 1; j >>= 1 {
			m := max3(sr.tree[j], k)
			if m == sr.tree[j] {
				return
			}
			sr.tree[j] = m
		}
		sr.root = sr.tree[1]
		return
	}
	// Recompute the path to the root, stopping as soon as a subtree's
	// maxima come out unchanged: nothing above it can change either.
	for j >>= 1; j >= 1; j >>= 1 {
		m := max3(sr.tree[2*j], sr.tree[2*j+1])
		if m == sr.tree[j] {
			return
		}
		sr.tree[j] = m
	}
	sr.root = sr.tree[1]
}

// NumSites is the number of sites.
func (s *State) NumSites() int { return len(s.sites) }

// NumNodes is the number of nodes.
func (s *State) NumNodes() int { return len(s.nodes) }

// Site returns site i's description.
func (s *State) Site(i int) nodes.Site { return s.sites[i].info }

// NodeID returns node i's id.
func (s *State) NodeID(i int) string { return s.nodeIDs[i] }

// NodeIndex returns the index of the node with the given id.
func (s *State) NodeIndex(id string) (int, bool) {
	i, ok := s.byID[id]
	return int(i), ok
}

// SiteIndex returns the index of the site with the given id, or -1.
func (s *State) SiteIndex(id string) int {
	for i := range s.sites {
		if s.sites[i].info.ID == id {
			return i
		}
	}
	return -1
}

// NodeSite returns the index of node i's site.
func (s *State) NodeSite(i int) int { return int(s.nodes[i].site) }

// NodeCapacity returns node i's capacity.
func (s *State) NodeCapacity(i int) nodes.Resources { return s.nodes[i].capacity.r64() }

// NodeUsed returns what is allocated on node i.
func (s *State) NodeUsed(i int) nodes.Resources { return s.nodes[i].used.r64() }

// NodeFree returns node i's free capacity (capacity minus allocated).
func (s *State) NodeFree(i int) nodes.Resources { return s.nodes[i].free() }

// NodeState returns node i's state.
func (s *State) NodeState(i int) nodes.NodeState { return s.nodes[i].state }

// SiteNodes returns the indices of site i's nodes. The caller must not
// modify the slice.
func (s *State) SiteNodes(i int) []int32 { return s.sites[i].nodes }

// SiteCapacity returns the total capacity of site i's nodes that are up.
func (s *State) SiteCapacity(i int) nodes.Resources { return s.sites[i].upCapacity }

// SiteUsed returns what is allocated on site i's nodes that are up.
func (s *State) SiteUsed(i int) nodes.Resources { return s.sites[i].upUsed }

// SiteUsedAll returns what is allocated on all of site i's nodes.
func (s *State) SiteUsedAll(i int) nodes.Resources { return s.sites[i].used }

// SiteUpNodes is the number of site i's nodes that are up.
func (s *State) SiteUpNodes(i int) int { return int(s.sites[i].upNodes) }

// SiteMaxFree is the component-wise maximum free capacity over site i's
// up nodes (each dimension may come from a different node), or -1 in every
// dimension when no node is up.
func (s *State) SiteMaxFree(i int) nodes.Resources {
	t := s.sites[i].root
	return nodes.Resources{CPUMilli: int64(t.cpu), MemoryMiB: int64(t.mem), GPUMilli: int64(t.gpu)}
}

// Allocate reserves req on node n. It fails, changing nothing, if the node
// is unknown, not up, or would be oversubscribed in any dimension.
func (s *State) Allocate(n int, req nodes.Resources) error {
	if n < 0 || n >= len(s.nodes) {
		return fmt.Errorf("allocate on node %d: %w", n, ErrUnknownNode)
	}
	nr := &s.nodes[n]
	if nr.state != nodes.NodeUp {
		return fmt.Errorf("allocate on node %s (%s): %w", s.nodeIDs[n], nr.state, ErrNodeNotUp)
	}
	if !req.NonNegative() {
		return fmt.Errorf("allocate %v on node %s: negative request", req, s.nodeIDs[n])
	}
	if !nr.free().Fits(req) {
		return fmt.Errorf("allocate %v on node %s with %v free: %w", req, s.nodeIDs[n], nr.free(), ErrOversubscribe)
	}
	nr.used = to32(nr.used.r64().Add(req))
	sr := &s.sites[nr.site]
	sr.used = sr.used.Add(req)
	sr.upUsed = sr.upUsed.Add(req)
	s.updateLeaf(int32(n))
	return nil
}

// Release returns req from node n. It fails, changing nothing, if more
// would be released than is allocated.
func (s *State) Release(n int, req nodes.Resources) error {
	if n < 0 || n >= len(s.nodes) {
		return fmt.Errorf("release on node %d: %w", n, ErrUnknownNode)
	}
	nr := &s.nodes[n]
	if !req.NonNegative() || !nr.used.r64().Fits(req) {
		return fmt.Errorf("release %v on node %s with %v allocated: %w", req, s.nodeIDs[n], nr.used.r64(), ErrUnderflow)
	}
	nr.used = to32(nr.used.r64().Sub(req))
	sr := &s.sites[nr.site]
	sr.used = sr.used.Sub(req)
	if nr.state == nodes.NodeUp {
		sr.upUsed = sr.upUsed.Sub(req)
	}
	s.updateLeaf(int32(n))
	return nil
}

// SetNodeState changes node n's state. Allocations stay; the driver decides
// what happens to work on a node that went down.
func (s *State) SetNodeState(n int, st nodes.NodeState) error {
	if n < 0 || n >= len(s.nodes) {
		return fmt.Errorf("set state of node %d: %w", n, ErrUnknownNode)
	}
	nr := &s.nodes[n]
	if nr.state == st {
		return nil
	}
	sr := &s.sites[nr.site]
	if nr.state == nodes.NodeUp {
		sr.upCapacity = sr.upCapacity.Sub(nr.capacity.r64())
		sr.upUsed = sr.upUsed.Sub(nr.used.r64())
		sr.upNodes--
	}
	nr.state = st
	if st == nodes.NodeUp {
		sr.upCapacity = sr.upCapacity.Add(nr.capacity.r64())
		sr.upUsed = sr.upUsed.Add(nr.used.r64())
		sr.upNodes++
	}
	sr.refreshInv()
	s.updateLeaf(int32(n))
	return nil
}

// Clone returns a deep copy, for a driver that wants to plan on a copy
// while the original keeps changing (the server's leader loop).
func (s *State) Clone() *State {
	c := &State{
		sites:   make([]siteRec, len(s.sites)),
		nodes:   append([]nodeRec(nil), s.nodes...),
		nodeIDs: s.nodeIDs, // immutable after construction
		byID:    s.byID,    // immutable after construction
	}
	for i := range s.sites {
		c.sites[i] = s.sites[i]
		c.sites[i].nodes = s.sites[i].nodes // immutable after construction
		c.sites[i].tree = append([]free3(nil), s.sites[i].tree...)
	}
	return c
}

// CopyFrom makes s equal to o, reusing s's memory where it can. Both must
// come from the same topology (Clone of one another).
func (s *State) CopyFrom(o *State) {
	if len(s.nodes) != len(o.nodes) || len(s.sites) != len(o.sites) {
		*s = *o.Clone()
		return
	}
	copy(s.nodes, o.nodes)
	for i := range o.sites {
		tree := s.sites[i].tree
		s.sites[i] = o.sites[i]
		s.sites[i].tree = append(tree[:0], o.sites[i].tree...)
	}
}

// CheckInvariants verifies every aggregate and index entry against the
// nodes, and that no node is oversubscribed. Tests and the FSM's
// consistency checks call it; it costs O(nodes).
func (s *State) CheckInvariants() error {
	for i := range s.nodes {
		n := &s.nodes[i]
		if u, c := n.used.r64(), n.capacity.r64(); !u.NonNegative() || !c.Fits(u) {
			return fmt.Errorf("node %s: used %v exceeds capacity %v", s.nodeIDs[i], u, c)
		}
	}
	for i := range s.sites {
		sr := &s.sites[i]
		var capAll, upCap, upUsed, used nodes.Resources
		var up int32
		for leaf, ni := range sr.nodes {
			n := &s.nodes[ni]
			if int(n.leaf) != leaf || int(n.site) != i {
				return fmt.Errorf("site %s: node %s index mismatch", sr.info.ID, s.nodeIDs[ni])
			}
			capAll, used = capAll.Add(n.capacity.r64()), used.Add(n.used.r64())
			if n.state == nodes.NodeUp {
				upCap, upUsed = upCap.Add(n.capacity.r64()), upUsed.Add(n.used.r64())
				up++
			}
			if sr.tree[sr.size+leaf] != n.key() {
				return fmt.Errorf("site %s: stale index leaf for node %s", sr.info.ID, s.nodeIDs[ni])
			}
		}
		if sr.root != sr.tree[1] {
			return fmt.Errorf("site %s: cached root out of date", sr.info.ID)
		}
		if capAll != sr.capacity || upCap != sr.upCapacity || upUsed != sr.upUsed || used != sr.used || up != sr.upNodes {
			return fmt.Errorf("site %s: aggregates out of date", sr.info.ID)
		}
		for j := sr.size - 1; j >= 1; j-- {
			if sr.tree[j] != max3(sr.tree[2*j], sr.tree[2*j+1]) {
				return fmt.Errorf("site %s: index node %d out of date", sr.info.ID, j)
			}
		}
	}
	return nil
}

// findFrom returns the leftmost leaf position >= from in site sr whose node
// can take req, or -1.
func (sr *siteRec) findFrom(req free3, from int) int {
	var buf [1]int32
	if sr.collect(req, from, len(sr.nodes), buf[:]) == 0 {
		return -1
	}
	return int(buf[0])
}

// collect appends to buf the leaf positions in [from, to) of site sr whose
// nodes can take req, in order, until buf is full; it returns how many it
// appended. It is one iterative depth-first walk for all k results that
// never enters a subtree whose maxima do not dominate req.
func (sr *siteRec) collect(req free3, from, to int, buf []int32) int {
	if from >= to || len(buf) == 0 || !sr.root.dominates(&req) {
		return 0
	}
	k := 0
	j, lo, width := 1, 0, sr.size
	for {
		if lo >= to {
			return k
		}
		if lo+width > from && sr.tree[j].dominates(&req) {
			if width > 1 { // descend into the left child
				j <<= 1
				width >>= 1
				continue
			}
			buf[k] = int32(lo)
			if k++; k == len(buf) {
				return k
			}
		}
		// Move to the next subtree to the right: climb while j is a right
		// child, then step to the sibling.
		for j&1 == 1 {
			if j == 1 {
				return k
			}
			j >>= 1
			lo -= width
			width <<= 1
		}
		if j == 1 {
			return k
		}
		j++
		lo += width
	}
}
