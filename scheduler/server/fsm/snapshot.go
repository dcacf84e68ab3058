package fsm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

// snapshotVersion is the format version of FSM snapshots.
const snapshotVersion = 1

// maxSnapshotBytes bounds what Restore reads (defence against a corrupt
// or hostile snapshot file).
const maxSnapshotBytes = 4 << 30

// snapData is the whole replicated state, as written to a snapshot. The
// format is JSON: {"version":1, ...}; docs/operations.md describes it.
// Write streams it: snapHead's members, then the workloads and the
// terminal list (the last members).
type snapData struct {
	snapHead
	Workloads []snapWork `json:"workloads"`
	// Terminal lists terminal workload IDs in the order they finished
	// (oldest first), for garbage collection.
	Terminal []string `json:"terminal"`
}

// snapHead is the part of snapData that is not per workload.
type snapHead struct {
	Version int `json:"version"`
	// LogVersion is the lowest log version that can read the snapshot
	// (needs); absent for 1, so that servers of log version 1, which
	// refuse unknown members, restore snapshots that need no more. It
	// follows version: Restore reads both before the rest.
	LogVersion int    `json:"log_version,omitempty"`
	Index      uint64 `json:"index"`
	Seq        uint64 `json:"seq"`
	ReadySeq   uint64 `json:"ready_seq"`
	ParkSeq    uint64 `json:"park_seq"`
	CapEpoch   uint64 `json:"cap_epoch"`
	// ClusterID is the cluster's identity (absent before one is committed,
	// and in snapshots written before cluster IDs existed).
	ClusterID string `json:"cluster_id,omitempty"`
	// Scheduler is the replicated scheduler configuration (absent before
	// one is committed, and in snapshots written before it existed).
	Scheduler *SchedulerState `json:"scheduler,omitempty"`
	Sites     []api.Site      `json:"sites"`
	Nodes     []api.Node      `json:"nodes"`
	Agents    []agentRec      `json:"agents"`
	Servers   []api.Server    `json:"servers"`
}

// snapWork is a workload and its queue state. Its JSON is the workload's
// followed by the queue members (State.Write relies on that order).
type snapWork struct {
	api.Workload
	Queue    queue  `json:"q,omitempty"`
	ReadySeq uint64 `json:"rs,omitempty"`
	ParkSeq  uint64 `json:"ps,omitempty"`
}

// State is a point-in-time state of the FSM, taken by Snapshot; Write
// serializes it (concurrently with further Applies). It holds the small
// parts as copies and the rest as the immutable structures the FSM
// published: the view's workload and node arrays (each workload version
// with its queue state) and the terminal list's entries, which the FSM
// leaves alone while a snapshot shares them (termShared).
type State struct {
	head  snapHead // without sites and nodes, which Write takes from the view
	work  pvec[pub[api.Workload], workKey]
	nodes pvec[pub[api.Node], nodeKey]
	sites []api.Site
	term  []termEnt
}

// Snapshot captures the state for Write. Under the lock it copies only
// the agents (with their node lists), the servers and a few counters:
// O(agents' nodes + servers), however many workloads there are.
func (f *FSM) Snapshot() *State {
	f.mu.RLock()
	defer f.mu.RUnlock()
	// Every Apply and Restore publishes before it releases the write lock,
	// so the view is the state at f.index.
	v := f.view.Load()
	s := &State{
		head: snapHead{
			Version: snapshotVersion, Index: f.index, Seq: f.seq, ReadySeq: f.readySeq, ParkSeq: f.parkSeq, CapEpoch: f.capEpoch,
			ClusterID: f.clusterID, Scheduler: f.scheduler.Load(),
			Servers: make([]api.Server, 0, len(f.servers)),
		},
		work: v.work, nodes: v.nodes, sites: v.sites,
		term: f.terminal[f.termHead:len(f.terminal):len(f.terminal)],
	}
	f.termShared.Store(true)
	ids := make([]string, 0, len(f.agents))
	for id := range f.agents {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := f.agents[id]
		s.head.Agents = append(s.head.Agents, agentRec{ID: a.ID, Nodes: append([]string{}, a.Nodes...), Index: a.Index, Instance: a.Instance})
	}
	for _, sv := range f.servers {
		s.head.Servers = append(s.head.Servers, sv)
	}
	sort.Slice(s.head.Servers, func(a, b int) bool { return s.head.Servers[a].ID < s.head.Servers[b].ID })
	s.head.LogVersion = s.head.needs()
	if s.head.LogVersion < 2 {
		// The directory's versions (log version 2) are informational:
		// left out, so that servers of log version 1 restore it.
		for i := range s.head.Servers {
			s.head.Servers[i].LogVersion, s.head.Servers[i].Version = 0, ""
		}
		s.head.LogVersion = 0 // absent: 1
	}
	return s
}

// needs is the lowest log version that can read a snapshot of this state:
// the highest version of the members present that older versions do not
// know (version.go), and never an optional informational one.
func (h *snapHead) needs() int {
	v := 1
	if h.Scheduler != nil {
		v = max(v, CmdScheduler.Version())
	}
	return v
}

// Index is the log index the state was taken at.
func (s *State) Index() uint64 { return s.head.Index }

// Write serializes the state: byte for byte what encoding/json's Encoder
// writes for its snapData, streamed, reusing the workloads' cached JSON.
func (s *State) Write(w io.Writer) error {
	if err := s.write(w); err != nil {
		return fmt.Errorf("write fsm snapshot: %w", err)
	}
	return nil
}

func (s *State) write(w io.Writer) error {
	head := s.head
	head.Sites = s.sites
	if head.Sites == nil {
		head.Sites = []api.Site{}
	}
	head.Nodes = make([]api.Node, s.nodes.Len())
	for i := range head.Nodes {
		n, _ := s.nodes.At(i)
		head.Nodes[i] = n.v
		head.Nodes[i].Used = nodes.Resources{}
	}
	hj, err := json.Marshal(&head)
	if err != nil {
		return fmt.Errorf("head: %w", err)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.Write(hj[:len(hj)-1]) // without its closing brace
	bw.WriteString(`,"workloads":[`)
	var sc scratch
	var tail []byte
	sep := ""
	s.work.scan(0, workKey{}, nil, func(_ int, p *pub[api.Workload]) bool {
		var b []byte
		if b, err = sc.encode(&p.v, p.js.Load()); err != nil {
			err = fmt.Errorf("workload %q: %w", p.v.ID, err)
			return false
		}
		// The workload's members without its closing brace, then
		// snapWork's.
		tail = tail[:0]
		if p.qs.q != qNone {
			tail = strconv.AppendUint(append(tail, `,"q":`...), uint64(p.qs.q), 10)
		}
		if p.qs.readySeq != 0 {
			tail = strconv.AppendUint(append(tail, `,"rs":`...), p.qs.readySeq, 10)
		}
		if p.qs.parkSeq != 0 {
			tail = strconv.AppendUint(append(tail, `,"ps":`...), p.qs.parkSeq, 10)
		}
		tail = append(tail, '}')
		bw.WriteString(sep)
		bw.Write(b[:len(b)-1])
		_, err = bw.Write(tail)
		sep = ","
		return err == nil // a failed write stops the scan
	})
	if err != nil {
		return err
	}
	bw.WriteString(`],"terminal":`)
	if len(s.term) == 0 {
		bw.WriteString("null") // as encoding/json writes the nil list the old snapshot had
	} else {
		bw.WriteByte('[')
		var b []byte
		for i, e := range s.term {
			b = b[:0]
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSONString(b, e.id); err != nil {
				return fmt.Errorf("terminal %q: %w", e.id, err)
			}
			if _, err := bw.Write(b); err != nil {
				return err
			}
		}
		bw.WriteByte(']')
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// scratch encodes values one at a time into a reused buffer.
type scratch struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// encode returns v's JSON as json.Marshal writes it, valid until the next
// call: cached, if given, else encoded (and not cached: a snapshot should
// not grow the view by every workload's JSON).
func (sc *scratch) encode(v any, cached *[]byte) ([]byte, error) {
	if cached != nil {
		return *cached, nil
	}
	if sc.enc == nil {
		sc.enc = json.NewEncoder(&sc.buf)
	}
	sc.buf.Reset()
	if err := sc.enc.Encode(v); err != nil {
		return nil, err
	}
	b := sc.buf.Bytes()
	return b[:len(b)-1], nil // Encode adds a newline
}

// appendJSONString appends s as encoding/json writes a string: as is,
// quoted, when nothing in it needs escaping (IDs), else through json.
func appendJSONString(dst []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, err := json.Marshal(s)
			return append(dst, b...), err
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"'), nil
}

// Restore replaces the FSM's state with a snapshot's. On error the FSM is
// unchanged.
//
// A snapshot of a newer log version than this server's (written by a newer
// server, with members this one does not know) is refused with a
// *SnapshotVersionError, before anything else is decoded, and halts the
// FSM (ErrHalted): this server cannot catch up until it is upgraded.
// Otherwise the decoding is strict: an unknown member in a snapshot of a
// version this server knows is corruption.
func (f *FSM) Restore(r io.Reader) error {
	if h := f.halt.Load(); h != nil {
		return fmt.Errorf("restore fsm snapshot: %w", h)
	}
	br := bufio.NewReaderSize(io.LimitReader(r, maxSnapshotBytes), 1<<16)
	if e := peekLogVersion(br); e != nil {
		return f.refuseSnapshot(e)
	}
	var d snapData
	dec := json.NewDecoder(br)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return fmt.Errorf("restore fsm snapshot: decode: %w", err)
	}
	if d.Version != snapshotVersion {
		return fmt.Errorf("restore fsm snapshot: version %d, want %d", d.Version, snapshotVersion)
	}
	if d.LogVersion > LogVersion {
		return f.refuseSnapshot(&SnapshotVersionError{Index: d.Index, LogVersion: d.LogVersion})
	}
	nf := New(f.cfg)
	if err := nf.load(&d); err != nil {
		return fmt.Errorf("restore fsm snapshot: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sites, f.siteIdx, f.nodes, f.nodeIdx, f.agents, f.servers = nf.sites, nf.siteIdx, nf.nodes, nf.nodeIdx, nf.agents, nf.servers
	f.work, f.order, f.nWaiting, f.deferred, f.status = nf.work, nf.order, nf.nWaiting, nf.deferred, nf.status
	f.ready, f.readyHead, f.parked, f.terminal, f.termHead = nf.ready, 0, nf.parked, nf.terminal, 0
	f.st, f.index, f.seq, f.readySeq, f.parkSeq, f.capEpoch = nf.st, nf.index, nf.seq, nf.readySeq, nf.parkSeq, nf.capEpoch
	f.clusterID = nf.clusterID
	f.scheduler.Store(nf.scheduler.Load())
	f.termShared.Store(false) // a new array; snapshots may keep the old one
	f.topoGen++
	f.publishAll()
	f.changed()
	return nil
}

// refuseSnapshot halts the FSM on a snapshot of a newer log version.
func (f *FSM) refuseSnapshot(e *SnapshotVersionError) error {
	h := &HaltError{Snapshot: e}
	f.stop(h)
	f.cfg.Log.Error("refused a snapshot written by a newer server: this server cannot catch up. "+
		"Upgrade it to the version the other servers run (suanli cluster status, VERSION) and start it again",
		"snapshot_index", e.Index, "snapshot_log_version", e.LogVersion, "log_version", LogVersion)
	return fmt.Errorf("restore fsm snapshot: %w", h)
}

// peekLogVersion reads the snapshot's first members without consuming
// them — version, log_version and index, which State.Write writes first —
// and returns the refusal of a log version newer than this server's, so
// that it is reported as such rather than as the unknown member the
// newer version added. A snapshot that does not start that way is left to
// the full decode.
func peekLogVersion(br *bufio.Reader) *SnapshotVersionError {
	prefix, _ := br.Peek(512)
	dec := json.NewDecoder(bytes.NewReader(prefix))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var e SnapshotVersionError
	for range 3 {
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			break
		}
		var n uint64
		if err := dec.Decode(&n); err != nil {
			break
		}
		switch key {
		case "log_version":
			e.LogVersion = int(min(n, 1<<31))
		case "index":
			e.Index = n
		}
	}
	if e.LogVersion > LogVersion {
		return &e
	}
	return nil
}

// load fills an empty FSM from snapshot data, validating it.
func (f *FSM) load(d *snapData) error {
	f.index, f.seq, f.readySeq, f.parkSeq, f.capEpoch = d.Index, d.Seq, d.ReadySeq, d.ParkSeq, d.CapEpoch
	f.clusterID = d.ClusterID
	if sc := d.Scheduler; sc != nil {
		if e := CheckSchedulerConfig(&sc.Config); e != nil {
			return fmt.Errorf("scheduler: %s: %s", e.Field, e.Message)
		}
		if sc.ModifyIndex == 0 || sc.ModifyIndex > d.Index {
			return fmt.Errorf("scheduler: modify_index %d out of range (1 to the snapshot's index %d)", sc.ModifyIndex, d.Index)
		}
		st := *sc
		f.scheduler.Store(&st)
	}
	for i := range d.Sites {
		s := d.Sites[i]
		if err := s.Validate(fmt.Sprintf("sites[%d]", i)); err != nil {
			return err
		}
		if _, dup := f.siteIdx[s.ID]; dup {
			return fmt.Errorf("duplicate site %q", s.ID)
		}
		f.siteIdx[s.ID] = len(f.sites)
		f.sites = append(f.sites, s)
	}
	for i := range d.Nodes {
		n := d.Nodes[i]
		if err := n.NodeSpec.Validate(fmt.Sprintf("nodes[%d]", i)); err != nil {
			return err
		}
		si, ok := f.siteIdx[n.Site]
		if !ok {
			return fmt.Errorf("node %q: unknown site %q", n.ID, n.Site)
		}
		if _, err := nodes.ParseNodeState(n.State); err != nil {
			return fmt.Errorf("node %q: %w", n.ID, err)
		}
		switch n.OperatorState {
		case "":
			// Written before operator states were kept: only an operator
			// drains a node or takes it down with that reason.
			if n.State == nodes.NodeDraining.String() || (n.State == nodes.NodeDown.String() && n.DownReason == ReasonOperator) {
				n.OperatorState = n.State
			}
		case nodes.NodeDraining.String(), nodes.NodeDown.String():
		default:
			return fmt.Errorf("node %q: operator_state %q (allowed: draining, down, or none)", n.ID, n.OperatorState)
		}
		if _, dup := f.nodeIdx[n.ID]; dup {
			return fmt.Errorf("duplicate node %q", n.ID)
		}
		n.Workloads = 0
		f.nodeIdx[n.ID] = len(f.nodes)
		f.nodes = append(f.nodes, &nodeRec{n: n, site: si, live: map[*wrec]struct{}{}})
	}
	for _, a := range d.Agents {
		if _, dup := f.agents[a.ID]; dup {
			return fmt.Errorf("duplicate agent %q", a.ID)
		}
		a := a
		f.agents[a.ID] = &a
	}
	for _, s := range d.Servers {
		f.servers[s.ID] = s
	}
	var ready []seqEnt
	var prev uint64
	for i := range d.Workloads {
		sw := &d.Workloads[i]
		if err := sw.WorkloadSpec.Validate(fmt.Sprintf("workloads[%d]", i)); err != nil || sw.ID == "" {
			return fmt.Errorf("workload %d (%q): invalid spec", i, sw.ID)
		}
		if _, dup := f.work[sw.ID]; dup {
			return fmt.Errorf("duplicate workload %q", sw.ID)
		}
		if sw.Seq <= prev {
			return fmt.Errorf("workload %q: seq %d out of order", sw.ID, sw.Seq)
		}
		prev = sw.Seq
		r := &wrec{node: -1}
		f.newWork(r, sw.Workload)
		st := r.w.Status
		r.w.Status = ""
		valid := false
		for _, s := range api.Statuses() {
			valid = valid || s == st
		}
		if !valid {
			return fmt.Errorf("workload %q: unknown status %q", sw.ID, st)
		}
		r.w.Status = st
		f.status[st]++
		if api.Live(st) {
			ni, ok := f.nodeIdx[r.w.Node]
			if !ok {
				return fmt.Errorf("workload %q: unknown node %q", sw.ID, r.w.Node)
			}
			r.node = int32(ni)
			f.nodes[ni].live[r] = struct{}{}
			f.nodes[ni].n.Workloads++
		}
		if st == api.StatusPending {
			switch sw.Queue {
			case qReady:
				r.q, r.readySeq = qReady, sw.ReadySeq
				ready = append(ready, seqEnt{sw.ReadySeq, r})
			case qWaiting:
				r.q, r.parkSeq = qWaiting, sw.ParkSeq
				f.parked = append(f.parked, parkEnt{prio: r.w.Priority, seq: sw.ParkSeq, r: r})
				f.nWaiting++
			case qDeferred:
				r.q, r.readySeq = qDeferred, sw.ReadySeq
				f.deferred[r] = struct{}{}
			default:
				return fmt.Errorf("workload %q: pending without a queue", sw.ID)
			}
		}
		f.work[r.w.ID] = r
		f.order = append(f.order, r)
	}
	sort.Slice(ready, func(a, b int) bool { return ready[a].seq < ready[b].seq })
	// The waiting queue's order is its keys' (priority, parkSeq), both
	// restored: sorted, it is a valid heap and releases the workloads in
	// the order the snapshotted FSM would have.
	slices.SortFunc(f.parked, cmpPark)
	f.ready = ready
	listed := make(map[*wrec]bool, len(d.Terminal))
	for _, id := range d.Terminal {
		r := f.work[id]
		if r == nil || !api.Terminal(r.w.Status) {
			return fmt.Errorf("terminal list names %q, which is not a terminal workload", id)
		}
		if listed[r] {
			return fmt.Errorf("terminal list names %q twice", id)
		}
		listed[r] = true
		f.terminal = append(f.terminal, termEnt{r, id})
	}
	return f.rebuild(f.index, true)
}

// checkLocked verifies indexes and the core state's invariants.
func (f *FSM) checkLocked() error {
	if err := f.st.CheckInvariants(); err != nil {
		return err
	}
	if f.st.NumNodes() != len(f.nodes) {
		return fmt.Errorf("state has %d nodes, fsm %d", f.st.NumNodes(), len(f.nodes))
	}
	if err := f.checkView(); err != nil {
		return err
	}
	if sc := f.scheduler.Load(); sc != nil {
		if e := CheckSchedulerConfig(&sc.Config); e != nil || sc.ModifyIndex == 0 || sc.ModifyIndex > f.index {
			return fmt.Errorf("scheduler configuration set at %d (index %d) is not valid: %v", sc.ModifyIndex, f.index, e)
		}
	}
	var used = make([]nodes.Resources, len(f.nodes))
	count := map[string]int{}
	waiting := 0
	for id, r := range f.work {
		if r.w.ID != id || r.deleted {
			return fmt.Errorf("workload index broken at %q", id)
		}
		count[r.w.Status]++
		if api.Live(r.w.Status) {
			if r.node < 0 || f.nodes[r.node].n.ID != r.w.Node {
				return fmt.Errorf("workload %q: live on %q but node index %d", id, r.w.Node, r.node)
			}
			if _, ok := f.nodes[r.node].live[r]; !ok {
				return fmt.Errorf("workload %q: missing from node %q", id, r.w.Node)
			}
			used[r.node] = used[r.node].Add(r.w.Request)
		} else if r.node >= 0 {
			return fmt.Errorf("workload %q: %s but holds node %d", id, r.w.Status, r.node)
		}
		if (r.w.Status == api.StatusPending) != (r.q != qNone) {
			return fmt.Errorf("workload %q: status %s in queue %d", id, r.w.Status, r.q)
		}
		if r.q == qWaiting {
			waiting++
		}
	}
	// A snapshot writes the terminal list from termHead on as it stands:
	// each entry a distinct, kept, terminal workload.
	listed := make(map[*wrec]bool, len(f.terminal)-f.termHead)
	for _, e := range f.terminal[f.termHead:] {
		if e.r == nil || e.r.deleted || !api.Terminal(e.r.w.Status) || e.id != e.r.w.ID || listed[e.r] {
			return fmt.Errorf("terminal list: bad entry %q (record %p)", e.id, e.r)
		}
		listed[e.r] = true
	}
	if waiting != f.nWaiting {
		return fmt.Errorf("waiting count %d, want %d", f.nWaiting, waiting)
	}
	for s, n := range count {
		if f.status[s] != n {
			return fmt.Errorf("status count %s = %d, want %d", s, f.status[s], n)
		}
	}
	for i, nr := range f.nodes {
		if got := f.st.NodeUsed(i); got != used[i] {
			return fmt.Errorf("node %s: state has %v used, placements sum to %v", nr.n.ID, got, used[i])
		}
		if len(nr.live) != nr.n.Workloads {
			return fmt.Errorf("node %s: workload count %d, live %d", nr.n.ID, nr.n.Workloads, len(nr.live))
		}
		if s, _ := nodes.ParseNodeState(nr.n.State); f.st.NodeState(i) != s {
			return fmt.Errorf("node %s: state %s, core says %s", nr.n.ID, nr.n.State, f.st.NodeState(i))
		}
	}
	return nil
}

// Equal reports whether two FSMs hold the same replicated state (for
// tests: snapshot round trips, replicas after a leader change).
func Equal(a, b *FSM) (bool, string) {
	var ba, bb bytes.Buffer
	if err := a.Snapshot().Write(&ba); err != nil {
		return false, err.Error()
	}
	if err := b.Snapshot().Write(&bb); err != nil {
		return false, err.Error()
	}
	ja, jb := ba.Bytes(), bb.Bytes()
	if bytes.Equal(ja, jb) {
		return true, ""
	}
	// Find the first differing byte for a readable message.
	i := 0
	for i < len(ja) && i < len(jb) && ja[i] == jb[i] {
		i++
	}
	lo := max(0, i-80)
	return false, fmt.Sprintf("differ at byte %d: %q vs %q", i, string(ja[lo:min(len(ja), i+80)]), string(jb[lo:min(len(jb), i+80)]))
}
