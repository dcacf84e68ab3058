package sim

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/nodes/energy"
	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/external"
)

// Options tune one run without changing its results (except CheckInvariants,
// which can only stop a run with an error).
type Options struct {
	// Trace, if set, receives one CSV line per workload (see docs/outputs.md),
	// without a header; WriteTraceHeader writes it.
	Trace io.Writer
	// Clock, if set, returns a monotonic time in ns; decision times are
	// measured with it (the only figures that differ between runs).
	Clock func() int64
	// Progress, if set, is called after every interval with the virtual
	// time done and the horizon.
	Progress func(done, horizon time.Duration)
	// CheckInvariants checks, at the end of every interval, the core's
	// State invariants (no node above capacity) and every site's energy
	// balance; a violation stops the run with an error. For tests.
	CheckInvariants bool
	// Explain, when set, asks for the core's explanation of one of a
	// workload's decisions; the run stops right after it (or, for the
	// last decision, at the horizon).
	Explain *ExplainTarget
}

// ExplainTarget names the workload to explain and receives the
// explanation.
type ExplainTarget struct {
	// Class is the class index and Seq the workload's arrival number in
	// it (as in its id "<class>-<seq>").
	Class int
	Seq   int64
	// Decision is which of the workload's decisions to explain: n >= 1
	// the n-th (0 means the first), -1 the last before the horizon (a
	// deferred, queued or preempted workload is decided more than once).
	Decision int
	// Explanation is passed to the core (set WhyNotSites, WhyNotNodes and
	// TopK before the run); Decide fills it.
	Explanation *scheduler.Explanation
	// Done reports the decision was made; Workload and At are what and
	// when, Seen how many decisions of the workload were made up to then
	// (to the horizon when Decision is -1).
	Done     bool
	Workload scheduler.Workload
	At       time.Time
	Seen     int
}

// wants reports whether the next decision of the target is to be
// explained, and counts it.
func (x *ExplainTarget) wants() bool {
	x.Seen++
	switch {
	case x.Decision < 0:
		return true
	case x.Decision <= 1:
		return x.Seen == 1
	default:
		return x.Seen == x.Decision
	}
}

// event kinds, with their priorities at equal times.
const (
	kInterval Kind = iota
	kEventStart
	kEventEnd
	kComplete
	kArrival
	kRedecide
	kExpire
	kRetry
	kPowerOff
)

var kindPrio = [...]uint8{kInterval: 0, kEventStart: 1, kEventEnd: 1, kComplete: 2, kArrival: 3, kRedecide: 4, kExpire: 5, kRetry: 6, kPowerOff: 7}

// workload record states
const (
	wFree uint8 = iota
	wDeferred
	wQueued
	wRunning
)

// wrec is one workload the runner knows about (arrived and not finished).
// Slots are reused through a free list.
type wrec struct {
	arrival  int64  // ns
	deadline int64  // ns, 0 = none
	expire   int64  // while waiting: give up at this time
	duration int64  // ns still to run
	total    int64  // ns of work in all
	started  int64  // ns of the current start (running)
	end      int64  // ns of the planned completion (running)
	until    int64  // interrupted service: the end it was planned for (0 = none)
	seq      int64  // per-class arrival number
	id       string // workload id, only for work with a deadline (the optimizer tracks deferred work by id)
	req      nodes.Resources
	inputMB  float64
	jitterE  float64
	latency  float64 // ms, at first placement
	node     int32
	site     int32 // running: its site; deferred: the expected site
	qprev    int32
	qnext    int32
	nprev    int32
	nnext    int32
	gen      uint32
	class    int16
	origin   int16
	state    uint8
	placed   bool // has run at least once
	late     bool
	interr   uint16 // interruptions
	attempts uint16 // decisions
}

// siteAcc integrates a site's IT power and allocations over time.
type siteAcc struct {
	last                     int64
	kw                       float64 // IT power now
	cpu, gpu                 float64 // allocated on up nodes (cores, GPUs)
	cpuCap, gpuCap           float64 // up capacity
	kwNs, cpuNs, gpuNs       float64 // integrals since the interval start
	cpuCapNs, gpuCapNs       float64
	scale                    float64 // renewable generation scale (droughts)
	waiting                  int     // deferred work expected here
	tier                     nodes.Tier
	marginalCore, marginalGP float64
	idleOn                   int // up nodes that are on with nothing allocated
}

func (a *siteAcc) advance(now int64) {
	// kw is a running sum of per-node changes; when every node of the site
	// stops drawing power, rounding can leave it a few ulps below zero.
	if a.kw < 0 {
		a.kw = 0
	}
	if dt := float64(now - a.last); dt > 0 {
		a.kwNs += a.kw * dt
		a.cpuNs += a.cpu * dt
		a.gpuNs += a.gpu * dt
		a.cpuCapNs += a.cpuCap * dt
		a.gpuCapNs += a.gpuCap * dt
	}
	a.last = now
}

// Runner runs one policy through a Config.
type Runner struct {
	cfg    *Config
	policy string
	opt    Options

	eng   Engine
	st    *scheduler.State
	snap  *scheduler.Snapshot
	sched *scheduler.Scheduler
	rng   *rand.Rand
	w     scheduler.Workload
	gens  []*classGen
	start time.Time
	hor   int64

	recs     []wrec
	freeList []int32

	// per node
	nodeHead  []int32 // running workloads (intrusive list)
	nodePower []*energy.ServerPower
	nodeKW    []float64
	nodeCPU   []float64 // capacity in cores
	nodeGPU   []float64
	nodeDown  []uint16 // active outages covering the node
	// power management (Config.Power): idle is true for an up node with
	// nothing allocated that is counted in its site's idleOn; off for a
	// switched-off node (never idle); idleGen invalidates power-off
	// events; offSince is when the node went off.
	nodeIdle    []bool
	nodeOff     []bool
	nodeIdleGen []uint32
	offSince    []int64
	offKW       float64

	sites    []siteAcc
	siteSets [][]*scheduler.SiteSet // per class, per origin (nil = none)
	outNodes [][]int32              // per scenario event: the nodes it took down

	// Waiting work: one FIFO queue per (class, origin), index
	// class·len(Cities)+origin; see enqueue and retryQueues.
	qHead, qTail []int32
	qDirty       []bool
	qOrder       []int32   // queues in retry order: class priority, then origin
	siteQueues   [][]int32 // per site: the queues whose work may run there
	qLen         int
	deferred     int // records waiting for their NotBefore
	retryPending bool
	lastRetry    int64
	ids          idArena

	intervalStart int64
	fc            [][]scheduler.Signal
	fcBuf         []energy.Signal

	energy []EnergyModel

	res   *Result
	trace *bufio.Writer
	tbuf  []byte
	err   error

	// ids4all gives every workload its ID before its first decision
	// (an external policy's child sees them); otherwise only work with
	// a deadline, and explained work, get one.
	ids4all bool
	closed  bool
}

// NewRunner prepares a run of cfg under policy. cfg must not change while
// the runner uses it; it is not modified.
func NewRunner(cfg *Config, policy string, opt Options) (*Runner, error) {
	c := *cfg
	c.withDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("sim config: %w", err)
	}
	extName, isExt := strings.CutPrefix(policy, external.Prefix)
	var sched *scheduler.Scheduler
	if !isExt {
		s, err := scheduler.New(policy, c.SchedulerFor(policy))
		if err != nil {
			return nil, err
		}
		sched = s
	} else if _, ok := c.External[extName]; !ok {
		return nil, fmt.Errorf("sim: %w", c.CheckPolicy(policy))
	}
	topo := c.Topology
	st, err := scheduler.NewState(&topo)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	lt, err := nodes.NewLatencyTable(c.Latency, c.Cities, c.Topology.Sites)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	snap, err := scheduler.NewSnapshot(st, lt, c.Cities)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	for i := range snap.BandwidthGbps {
		if i < len(c.BandwidthGbps) {
			snap.BandwidthGbps[i] = c.BandwidthGbps[i]
		}
	}
	r := &Runner{
		cfg: &c, policy: policy, opt: opt,
		st: st, snap: snap, sched: sched, ids4all: isExt,
		rng:   Stream(c.Seed, "scheduler"),
		start: c.Start,
		hor:   int64(c.Horizon),
	}
	r.eng = *NewEngine(1024)
	r.energy = make([]EnergyModel, len(c.Topology.Sites))
	for i := range r.energy {
		m, err := c.NewEnergy(i)
		if err != nil {
			return nil, fmt.Errorf("sim: energy model of site %s: %w", c.Topology.Sites[i].ID, err)
		}
		r.energy[i] = m
	}
	r.res = newResult(&c, policy)
	if opt.Trace != nil {
		r.trace = bufio.NewWriterSize(opt.Trace, 1<<16)
	}
	nn := len(c.Topology.Nodes)
	r.nodeHead = make([]int32, nn)
	r.nodePower = make([]*energy.ServerPower, nn)
	r.nodeKW = make([]float64, nn)
	r.nodeCPU = make([]float64, nn)
	r.nodeGPU = make([]float64, nn)
	r.nodeDown = make([]uint16, nn)
	r.nodeIdle = make([]bool, nn)
	r.nodeOff = make([]bool, nn)
	r.nodeIdleGen = make([]uint32, nn)
	r.offSince = make([]int64, nn)
	r.offKW = c.Power.OffW / 1000
	r.sites = make([]siteAcc, len(c.Topology.Sites))
	for i := range r.sites {
		r.sites[i].scale = 1
		r.sites[i].tier = c.Topology.Sites[i].Tier
	}
	for i, n := range c.Topology.Nodes {
		r.nodeHead[i] = -1
		p := c.NodePower[n.Type]
		r.nodePower[i] = p
		r.nodeCPU[i] = float64(n.Capacity.CPUMilli) / 1000
		r.nodeGPU[i] = float64(n.Capacity.GPUMilli) / 1000
		if n.State == nodes.NodeUp {
			a := &r.sites[n.Site]
			r.nodeKW[i] = p.PowerW(nodes.Resources{}) / 1000
			a.kw += r.nodeKW[i]
			a.cpuCap += r.nodeCPU[i]
			a.gpuCap += r.nodeGPU[i]
			r.becameIdle(i)
		}
	}
	// The core turns a request into kW with each site's mean marginal
	// watts per core and per GPU.
	wCore, wGPU := siteMarginalW(&c)
	for s := range snap.Energy {
		snap.Energy[s].MarginalWPerCore, snap.Energy[s].MarginalWPerGPU = wCore[s], wGPU[s]
	}
	// Site restrictions per class (and per origin for same-city classes).
	r.siteSets = make([][]*scheduler.SiteSet, len(c.Classes))
	for ci := range c.Classes {
		k := &c.Classes[ci]
		if k.Sites == nil && !k.SameCity {
			continue
		}
		var base *scheduler.SiteSet
		if k.Sites != nil {
			base = scheduler.NewSiteSet(len(r.sites), k.Sites...)
		}
		sets := make([]*scheduler.SiteSet, len(c.Cities))
		for o := range sets {
			if !k.SameCity {
				sets[o] = base
				continue
			}
			s := scheduler.NewSiteSet(len(r.sites))
			for si, site := range c.Topology.Sites {
				if site.City == c.Cities[o].Code && (base == nil || base.Has(si)) {
					s.Add(si)
				}
			}
			sets[o] = s
		}
		r.siteSets[ci] = sets
	}
	if c.Preempt {
		r.snap.Running = r
	}
	r.initQueues()
	r.gens = make([]*classGen, len(c.Classes))
	for ci := range c.Classes {
		r.gens[ci] = newClassGen(&c, ci)
		if g := r.gens[ci]; g.next < r.hor {
			r.schedule(g.next, kArrival, int32(ci), 0)
		}
	}
	r.outNodes = make([][]int32, len(c.Events))
	for i, ev := range c.Events {
		if int64(ev.At) < r.hor {
			r.schedule(int64(ev.At), kEventStart, int32(i), 0)
		}
	}
	r.fcBuf = make([]energy.Signal, c.ForecastSteps)
	r.fc = make([][]scheduler.Signal, len(r.sites))
	for s := range r.fc {
		r.fc[s] = make([]scheduler.Signal, c.ForecastSteps)
	}
	r.refreshSignals(0)
	r.schedule(min(int64(c.Interval), r.hor), kInterval, 0, 0)
	if isExt {
		// The child learns the sites, their energy and the forecast
		// step from the snapshot as it is now, ready for the first
		// decision.
		spec := c.External[extName]
		sc := c.SchedulerFor(policy)
		p, err := external.Start(spec, external.Run{Policy: policy, Scenario: c.Name, Seed: c.Seed, Start: c.Start,
			Cities: c.Cities, Snapshot: snap, Config: sc})
		if err != nil {
			return nil, err
		}
		r.sched = scheduler.NewDecider(policy, "external policy "+strings.Join(spec.Command, " "), p, sc)
	}
	return r, nil
}

// Close releases what the run's policy holds outside memory: it stops an
// external policy's child (Run does at its end). It returns the child's
// failure to exit cleanly, if any.
func (r *Runner) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	return r.sched.Close()
}

func (r *Runner) schedule(at int64, k Kind, arg int32, gen uint32) {
	r.eng.Schedule(at, kindPrio[k], k, arg, gen)
}

func (r *Runner) now() time.Time { return r.start.Add(time.Duration(r.eng.Now())) }

// Run runs to the horizon and returns the result; it closes the runner
// (Close) either way.
func (r *Runner) Run() (*Result, error) {
	err := r.RunUntil(r.hor)
	if cerr := r.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return r.finish()
}

// RunUntil processes every event before virtual time t (ns since Start).
// The interval boundary at the horizon runs too.
func (r *Runner) RunUntil(t int64) error {
	for r.err == nil && (r.opt.Explain == nil || !r.opt.Explain.Done) {
		ev, ok := r.eng.Peek()
		if !ok || ev.At > r.hor || (ev.At >= t && !(ev.At == r.hor && t == r.hor && ev.Kind() == kInterval)) {
			break
		}
		r.eng.Next()
		r.dispatch(ev)
	}
	return r.err
}

func (r *Runner) dispatch(ev Event) {
	switch ev.Kind() {
	case kArrival:
		r.arrive(int(ev.Arg))
	case kComplete:
		if rec := &r.recs[ev.Arg]; rec.gen == ev.Gen && rec.state == wRunning {
			r.complete(ev.Arg)
		}
	case kRedecide:
		if rec := &r.recs[ev.Arg]; rec.gen == ev.Gen && rec.state == wDeferred {
			if rec.site >= 0 {
				r.sites[rec.site].waiting--
			}
			r.deferred--
			rec.state = wFree // transiently: decided afresh
			// A deferral is the policy's choice, not waiting for
			// capacity: the patience counts from now, when the work
			// is ready to start (as after an interruption).
			rec.expire = r.expiry(&r.cfg.Classes[rec.class].Patience, rec, r.eng.Now())
			r.decide(ev.Arg, false)
		}
	case kExpire:
		if rec := &r.recs[ev.Arg]; rec.gen == ev.Gen && rec.state == wQueued {
			r.dequeue(ev.Arg)
			r.giveUp(ev.Arg)
		}
	case kRetry:
		r.retryPending = false
		r.retryQueues(false)
	case kInterval:
		r.interval()
	case kEventStart:
		r.eventStart(int(ev.Arg))
	case kEventEnd:
		r.eventEnd(int(ev.Arg))
	case kPowerOff:
		r.powerOff(int(ev.Arg), ev.Gen)
	}
}

// alloc returns a free record slot.
func (r *Runner) alloc() int32 {
	if n := len(r.freeList); n > 0 {
		s := r.freeList[n-1]
		r.freeList = r.freeList[:n-1]
		return s
	}
	r.recs = append(r.recs, wrec{})
	return int32(len(r.recs) - 1)
}

func (r *Runner) release(slot int32) {
	rec := &r.recs[slot]
	gen := rec.gen + 1
	*rec = wrec{gen: gen}
	r.freeList = append(r.freeList, slot)
}

// arrive generates the next arrival of class ci: one workload, or Tasks
// identical instances arriving together, each decided on its own.
func (r *Runner) arrive(ci int) {
	g := r.gens[ci]
	now := r.eng.Now()
	slot := r.alloc()
	rec := &r.recs[slot]
	gen := rec.gen
	*rec = wrec{gen: gen, class: int16(ci), node: -1, site: -1, qprev: -1, qnext: -1, nprev: -1, nnext: -1}
	g.fill(rec, now)
	n := g.tasks()
	if g.next = g.after(now); g.next < r.hor {
		r.schedule(g.next, kArrival, int32(ci), 0)
	}
	first := *rec
	for k := 0; k < n; k++ {
		if k > 0 {
			slot = r.alloc()
			rec = &r.recs[slot]
			gen := rec.gen
			*rec = first
			rec.gen = gen
			rec.seq = g.count
			g.count++
		}
		if rec.deadline > 0 || r.ids4all {
			rec.id = r.ids.make(g.cls.Name, rec.seq)
		}
		r.res.Submitted++
		r.res.classes[ci].Submitted++
		rec.expire = r.expiry(&g.cls.Patience, rec, now)
		r.decide(slot, false)
	}
}

// expiry is when waiting work gives up: after its class's Patience, or
// without one at its deadline, or never (batch work without either).
func (r *Runner) expiry(patience *time.Duration, rec *wrec, now int64) int64 {
	switch {
	case *patience > 0:
		return now + int64(*patience)
	case rec.deadline > 0:
		return rec.deadline
	}
	return math.MaxInt64
}

// workload fills r.w for the record.
func (r *Runner) workload(rec *wrec) *scheduler.Workload {
	c := &r.cfg.Classes[rec.class]
	w := &r.w
	w.ID = rec.id
	w.Class = c.Name
	w.Origin = int(rec.origin)
	w.Request = rec.req
	w.Duration = time.Duration(rec.duration)
	w.LatencyBoundMs = 0
	if c.LatencyBoundMs > 0 {
		w.LatencyBoundMs = c.LatencyBoundMs
	}
	w.Deadline = time.Time{}
	if rec.deadline > 0 {
		w.Deadline = r.start.Add(time.Duration(rec.deadline))
	}
	w.Checkpoint = c.Checkpoint
	w.Priority = c.Priority
	w.InputMB = rec.inputMB
	w.Tiers = c.Tiers
	w.Sites = nil
	if sets := r.siteSets[rec.class]; sets != nil {
		w.Sites = sets[rec.origin]
	}
	return w
}

// decide asks the core about a record that is not queued and applies the
// decision. queued reports whether it already waits in the queue (then a
// transient rejection leaves it there).
func (r *Runner) decide(slot int32, queued bool) bool {
	rec := &r.recs[slot]
	now := r.eng.Now()
	w := r.workload(rec)
	var t0 int64
	if r.opt.Clock != nil {
		t0 = r.opt.Clock()
	}
	var ex *scheduler.Explanation
	if x := r.opt.Explain; x != nil && !x.Done && int(rec.class) == x.Class && rec.seq == x.Seq && x.wants() {
		ex = x.Explanation
		if w.ID == "" {
			w.ID = r.ids.make(r.cfg.Classes[rec.class].Name, rec.seq)
		}
		x.Workload, x.At = *w, r.now()
		x.Done = x.Decision >= 0
	}
	d := r.sched.Decide(r.snap, w, r.now(), r.rng, ex)
	if r.opt.Clock != nil {
		r.res.decisionNs.Add(float64(r.opt.Clock() - t0))
	}
	if r.ids4all {
		// an external policy: its child may have failed (crashed, hung,
		// broken the protocol); the run stops with its error
		if err := r.sched.Err(); err != nil {
			r.err = err
			return false
		}
	}
	rec.attempts++
	r.res.Decisions++
	switch d.Outcome {
	case scheduler.Place:
		var victims []int32 // copied: deciding them again reuses d.Preempt
		for _, id := range d.Preempt {
			victims = append(victims, int32(id))
			r.evict(int32(id))
		}
		if err := r.st.Allocate(d.Node, rec.req); err != nil {
			// The core's decision does not fit the state: a bug in the
			// core; stop rather than oversubscribe.
			r.err = fmt.Errorf("sim: policy %s placed %s on node %d: %w", r.policy, w.ID, d.Node, err)
			return false
		}
		if queued {
			r.dequeue(slot)
		}
		r.start1(slot, d)
		// the evicted work is placed again (it may preempt work of a still
		// lower priority; priorities fall, so this ends)
		for _, v := range victims {
			r.decide(v, false)
		}
		return true
	case scheduler.Defer:
		if queued {
			r.dequeue(slot)
		}
		at := d.NotBefore.Sub(r.start).Nanoseconds()
		if at <= now {
			at = now + int64(time.Minute) // never spin at one instant
		}
		rec.state = wDeferred
		rec.site = int32(d.Site)
		if d.Site >= 0 {
			r.sites[d.Site].waiting++
		}
		r.res.Deferrals++
		r.deferred++
		rec.gen++
		r.schedule(at, kRedecide, slot, rec.gen)
		return true
	default:
		if queued {
			if d.Reason.Transient() && now < rec.expire {
				return false // still waiting
			}
			r.dequeue(slot)
		}
		switch {
		case !d.Reason.Transient():
			r.reject(slot, d.Reason.String())
		case now < rec.expire:
			r.enqueue(slot)
		default:
			r.giveUp(slot) // its patience ran out exactly now
		}
		return false
	}
}

// start1 starts a placed workload.
func (r *Runner) start1(slot int32, d scheduler.Decision) {
	rec := &r.recs[slot]
	now := r.eng.Now()
	c := &r.cfg.Classes[rec.class]
	rec.state = wRunning
	rec.node = int32(d.Node)
	rec.site = int32(d.Site)
	rec.started = now
	boot := r.wake(d.Node)
	delay := int64(d.TransferTime) + boot
	if rec.until > 0 {
		rec.duration = max(rec.until-now-delay, 0)
	}
	rec.end = now + delay + rec.duration
	if d.Late {
		rec.late = true
	}
	// node list
	rec.nprev = -1
	rec.nnext = r.nodeHead[d.Node]
	if rec.nnext >= 0 {
		r.recs[rec.nnext].nprev = slot
	}
	r.nodeHead[d.Node] = slot
	r.nodeChanged(d.Node, float64(rec.req.CPUMilli)/1000, float64(rec.req.GPUMilli)/1000)
	if !rec.placed {
		rec.placed = true
		r.res.Placed++
		cr := &r.res.classes[rec.class]
		cr.Placed++
		rtt := r.snap.Latency.RTTMs(int(rec.origin), d.Site)
		lat := rtt + rec.jitterE*(r.cfg.JitterBaseMs+r.cfg.JitterFraction*rtt)
		rec.latency = lat
		r.res.latency.Add(lat)
		cr.latency.Add(lat)
		if c.LatencyBoundMs > 0 && lat > c.LatencyBoundMs {
			r.res.LatencyViolations++
			cr.LatencyViolations++
		}
		if wait := now + boot - rec.arrival; wait > 0 { // a node's boot is waiting too
			r.res.waitHours += float64(wait) / float64(hourNs)
		}
	}
	rec.gen++
	r.schedule(rec.end, kComplete, slot, rec.gen)
}

// nodeChanged updates node n's power and its site's allocation by
// (dcpu, dgpu) at the current time.
func (r *Runner) nodeChanged(n int, dcpu, dgpu float64) {
	a := &r.sites[r.st.NodeSite(n)]
	a.advance(r.eng.Now())
	if r.nodeDown[n] > 0 {
		return // a down node draws nothing and its work is not counted
	}
	a.cpu += dcpu
	a.gpu += dgpu
	used := r.st.NodeUsed(n)
	kw := r.nodePower[n].PowerW(used) / 1000
	a.kw += kw - r.nodeKW[n]
	r.nodeKW[n] = kw
	if empty := used == (nodes.Resources{}); empty && !r.nodeIdle[n] {
		r.becameIdle(n)
	} else if !empty && r.nodeIdle[n] {
		r.nodeIdle[n] = false
		a.idleOn--
	}
}

// becameIdle counts up node n, on with nothing allocated, as idle and,
// with power management on, schedules its switch-off.
func (r *Runner) becameIdle(n int) {
	r.nodeIdle[n] = true
	r.sites[r.st.NodeSite(n)].idleOn++
	if d := r.cfg.Power.IdleOffAfter; d > 0 {
		r.nodeIdleGen[n]++
		if at := r.eng.Now() + int64(d); at < r.hor {
			r.schedule(at, kPowerOff, int32(n), r.nodeIdleGen[n])
		}
	}
}

// powerOff switches node n off if it has stayed idle since the event was
// scheduled (gen) and its site keeps more than KeepOn idle nodes on.
func (r *Runner) powerOff(n int, gen uint32) {
	if gen != r.nodeIdleGen[n] || !r.nodeIdle[n] || r.nodeDown[n] > 0 {
		return
	}
	a := &r.sites[r.st.NodeSite(n)]
	if a.idleOn <= r.cfg.Power.KeepOn {
		return // part of the warm pool until another node goes idle
	}
	a.advance(r.eng.Now())
	r.nodeIdle[n] = false
	a.idleOn--
	r.nodeOff[n] = true
	r.offSince[n] = r.eng.Now()
	a.kw += r.offKW - r.nodeKW[n]
	r.nodeKW[n] = r.offKW
	r.res.SwitchOffs++
}

// checkPower checks the power-management bookkeeping against the nodes:
// every site's idleOn counts its up, on, empty nodes; an off node is up,
// empty and draws OffW; each site's IT power is the sum of its nodes'.
func (r *Runner) checkPower() error {
	idle := make([]int, len(r.sites))
	kw := make([]float64, len(r.sites))
	for n := range r.nodeOff {
		s := r.st.NodeSite(n)
		kw[s] += r.nodeKW[n]
		empty := r.st.NodeUsed(n) == (nodes.Resources{})
		up := r.nodeDown[n] == 0
		switch {
		case r.nodeOff[n] && (!up || !empty || r.nodeIdle[n] || r.nodeKW[n] != r.offKW):
			return fmt.Errorf("node %d is off but up=%v empty=%v idle=%v draws %g kW", n, up, empty, r.nodeIdle[n], r.nodeKW[n])
		case r.nodeIdle[n] && (!up || !empty):
			return fmt.Errorf("node %d counted idle but up=%v empty=%v", n, up, empty)
		case !r.nodeOff[n] && up && empty && !r.nodeIdle[n]:
			return fmt.Errorf("node %d is on, up and empty but not counted idle", n)
		}
		if r.nodeIdle[n] {
			idle[s]++
		}
	}
	for s := range r.sites {
		if idle[s] != r.sites[s].idleOn {
			return fmt.Errorf("site %d counts %d idle nodes on, has %d", s, r.sites[s].idleOn, idle[s])
		}
		if d := math.Abs(kw[s] - max(r.sites[s].kw, 0)); d > 1e-6*math.Max(1, kw[s]) {
			return fmt.Errorf("site %d draws %g kW by its running sum, %g by its nodes", s, r.sites[s].kw, kw[s])
		}
	}
	return nil
}

// wake switches node n back on if it is off, before work starts on it,
// and returns the boot delay (0 for a node that is on).
func (r *Runner) wake(n int) int64 {
	if !r.nodeOff[n] {
		return 0
	}
	r.nodeOff[n] = false
	r.res.offNs += float64(r.eng.Now() - r.offSince[n])
	r.res.Wakeups++
	// on and empty until nodeChanged allocates the work
	r.nodeIdle[n] = true
	r.sites[r.st.NodeSite(n)].idleOn++
	return int64(r.cfg.Power.Wake)
}

// unlinkNode removes a running record from its node's list.
func (r *Runner) unlinkNode(slot int32) {
	rec := &r.recs[slot]
	if rec.nprev >= 0 {
		r.recs[rec.nprev].nnext = rec.nnext
	} else {
		r.nodeHead[rec.node] = rec.nnext
	}
	if rec.nnext >= 0 {
		r.recs[rec.nnext].nprev = rec.nprev
	}
	rec.nprev, rec.nnext = -1, -1
}

func (r *Runner) complete(slot int32) {
	rec := &r.recs[slot]
	n, site := int(rec.node), int(rec.site)
	if err := r.st.Release(n, rec.req); err != nil {
		r.err = fmt.Errorf("sim: release: %w", err)
		return
	}
	r.unlinkNode(slot)
	r.nodeChanged(n, -float64(rec.req.CPUMilli)/1000, -float64(rec.req.GPUMilli)/1000)
	r.res.Completed++
	r.res.coreMilliNs += float64(rec.req.CPUMilli) * float64(rec.total)
	cr := &r.res.classes[rec.class]
	cr.Completed++
	if rec.deadline > 0 && rec.end > rec.deadline {
		r.res.DeadlineMisses++
		cr.DeadlineMisses++
	}
	r.traceRec(slot, "completed", "")
	r.release(slot)
	r.capacityFreed(site)
}

func (r *Runner) reject(slot int32, reason string) {
	rec := &r.recs[slot]
	r.res.Rejected++
	cr := &r.res.classes[rec.class]
	cr.Rejected++
	r.res.rejectReasons[reason]++
	r.traceRec(slot, "rejected", reason)
	if rec.id != "" {
		r.sched.Forget(rec.id) // a plan (the optimizer's) reserves nothing more for it
	}
	r.release(slot)
}

// giveUp rejects waiting work whose patience or deadline ran out.
func (r *Runner) giveUp(slot int32) {
	rec := &r.recs[slot]
	if rec.deadline > 0 {
		r.res.DeadlineMisses++
		r.res.classes[rec.class].DeadlineMisses++
	}
	r.reject(slot, "expired")
}

// enqueue appends waiting work to the tail of its (class, origin) queue
// and arms its expiry.
func (r *Runner) enqueue(slot int32) {
	rec := &r.recs[slot]
	q := r.queueOf(rec)
	rec.state = wQueued
	rec.qnext = -1
	rec.qprev = r.qTail[q]
	if rec.qprev >= 0 {
		r.recs[rec.qprev].qnext = slot
	} else {
		r.qHead[q] = slot
	}
	r.qTail[q] = slot
	r.qLen++
	rec.gen++
	r.schedule(rec.expire, kExpire, slot, rec.gen)
}

func (r *Runner) queueOf(rec *wrec) int { return int(rec.class)*len(r.cfg.Cities) + int(rec.origin) }

func (r *Runner) dequeue(slot int32) {
	rec := &r.recs[slot]
	q := r.queueOf(rec)
	if rec.qprev >= 0 {
		r.recs[rec.qprev].qnext = rec.qnext
	} else {
		r.qHead[q] = rec.qnext
	}
	if rec.qnext >= 0 {
		r.recs[rec.qnext].qprev = rec.qprev
	} else {
		r.qTail[q] = rec.qprev
	}
	rec.qprev, rec.qnext = -1, -1
	rec.state = wFree
	r.qLen--
}

// initQueues sets up the per-(class, origin) queues, their retry order
// (higher class priority first, then class order, then origin) and, per
// site, the queues whose work could ever run there (tier, allowed sites,
// same city and latency bound from the origin all permit it).
func (r *Runner) initQueues() {
	c := r.cfg
	nc, ns := len(c.Cities), len(c.Topology.Sites)
	nq := len(c.Classes) * nc
	r.qHead, r.qTail = make([]int32, nq), make([]int32, nq)
	r.qDirty = make([]bool, nq)
	for i := range r.qHead {
		r.qHead[i], r.qTail[i] = -1, -1
	}
	classes := make([]int, len(c.Classes))
	for i := range classes {
		classes[i] = i
	}
	sort.SliceStable(classes, func(a, b int) bool { return c.Classes[classes[a]].Priority > c.Classes[classes[b]].Priority })
	for _, ci := range classes {
		for o := 0; o < nc; o++ {
			r.qOrder = append(r.qOrder, int32(ci*nc+o))
		}
	}
	r.siteQueues = make([][]int32, ns)
	for ci := range c.Classes {
		k := &c.Classes[ci]
		tiers := k.Tiers
		if tiers == 0 {
			tiers = nodes.AllTiers
		}
		for o := 0; o < nc; o++ {
			for s := 0; s < ns; s++ {
				if !tiers.Has(c.Topology.Sites[s].Tier) {
					continue
				}
				if sets := r.siteSets[ci]; sets != nil && sets[o] != nil && !sets[o].Has(s) {
					continue
				}
				if k.LatencyBoundMs > 0 && r.snap.Latency.RTTMs(o, s) > k.LatencyBoundMs {
					continue
				}
				r.siteQueues[s] = append(r.siteQueues[s], int32(ci*nc+o))
			}
		}
	}
}

// capacityFreed marks the queues that could use capacity freed at site
// (every queue when site < 0) and arms a retry, at most one per
// RetryQuantum of virtual time.
func (r *Runner) capacityFreed(site int) {
	if r.qLen == 0 {
		return
	}
	any := false
	if site < 0 {
		for q := range r.qDirty {
			if r.qHead[q] >= 0 {
				r.qDirty[q], any = true, true
			}
		}
	} else {
		for _, q := range r.siteQueues[site] {
			if r.qHead[q] >= 0 {
				r.qDirty[q], any = true, true
			}
		}
	}
	if !any || r.retryPending {
		return
	}
	// Releases are throttled to one retry per quantum; nodes coming
	// back (site < 0) are retried at once.
	at := r.lastRetry + int64(r.cfg.RetryQuantum)
	if now := r.eng.Now(); at < now || site < 0 {
		at = now
	}
	r.retryPending = true
	r.schedule(at, kRetry, 0, 0)
}

// retryQueues re-decides waiting work: in each queue (all of them, or only
// those marked since the last retry) the head first, in arrival order,
// until one is refused for a transient reason (strict head-of-line
// blocking per class and origin, no backfilling).
func (r *Runner) retryQueues(all bool) {
	r.lastRetry = r.eng.Now()
	for _, q := range r.qOrder {
		if !all && !r.qDirty[q] {
			continue
		}
		r.qDirty[q] = false
		for slot := r.qHead[q]; slot >= 0 && r.err == nil; slot = r.qHead[q] {
			if !r.decide(slot, true) && r.qHead[q] == slot {
				break // still waiting at the head
			}
		}
	}
}

// interrupt stops running work on node n (going down) and places it again
// with what is left of it: a service its remaining lifetime, batch work
// from its last checkpoint (or from the start without checkpoints).
func (r *Runner) interrupt(n int) {
	for slot := r.nodeHead[n]; slot >= 0; slot = r.nodeHead[n] {
		if !r.stop(slot) {
			return
		}
		r.res.Interrupted++
		r.decide(slot, false)
	}
}

// stop takes running work off its node (released, unlinked) and readies it
// to be placed again: a service keeps its planned end, checkpointed work
// what it has done. The caller decides it again.
func (r *Runner) stop(slot int32) bool {
	rec := &r.recs[slot]
	c := &r.cfg.Classes[rec.class]
	now := r.eng.Now()
	if err := r.st.Release(int(rec.node), rec.req); err != nil {
		r.err = fmt.Errorf("sim: release: %w", err)
		return false
	}
	r.unlinkNode(slot)
	ran := now - rec.started
	switch {
	case c.Kind == Service:
		// A service is needed until its planned end: placed again, it
		// runs only what is left of that.
		rec.until = rec.end
	case c.Checkpoint > 0:
		done := max(ran, 0) / int64(c.Checkpoint) * int64(c.Checkpoint)
		rec.duration = max(rec.duration-done, 0)
	}
	rec.interr++
	rec.state = wFree
	rec.gen++
	rec.expire = r.expiry(&c.Patience, rec, now)
	return true
}

// evict stops running work preempted by higher-priority work; its node
// stays up, so its power and allocation change.
func (r *Runner) evict(slot int32) {
	rec := &r.recs[slot]
	n := int(rec.node)
	if !r.stop(slot) {
		return
	}
	r.nodeChanged(n, -float64(rec.req.CPUMilli)/1000, -float64(rec.req.GPUMilli)/1000)
	r.res.Preempted++
}

// RunningOn lists the work running on node n for the core's preemption
// (scheduler.Running): record slots, requests, class priorities.
func (r *Runner) RunningOn(n int, dst []scheduler.RunningWork) []scheduler.RunningWork {
	for slot := r.nodeHead[n]; slot >= 0; slot = r.recs[slot].nnext {
		rec := &r.recs[slot]
		dst = append(dst, scheduler.RunningWork{ID: int64(slot), Request: rec.req, Priority: r.cfg.Classes[rec.class].Priority})
	}
	return dst
}

func (r *Runner) setNodeDown(n int, down bool) {
	a := &r.sites[r.st.NodeSite(n)]
	a.advance(r.eng.Now())
	if down {
		r.nodeDown[n]++
		if r.nodeDown[n] > 1 {
			return
		}
		_ = r.st.SetNodeState(n, nodes.NodeDown)
		a.kw -= r.nodeKW[n]
		r.nodeKW[n] = 0
		if r.nodeOff[n] { // a node that is down is neither on nor off; it boots when it is back
			r.nodeOff[n] = false
			r.res.offNs += float64(r.eng.Now() - r.offSince[n])
		}
		if r.nodeIdle[n] {
			r.nodeIdle[n] = false
			a.idleOn--
		}
		used := r.st.NodeUsed(n)
		a.cpu -= float64(used.CPUMilli) / 1000
		a.gpu -= float64(used.GPUMilli) / 1000
		a.cpuCap -= r.nodeCPU[n]
		a.gpuCap -= r.nodeGPU[n]
		return
	}
	if r.nodeDown[n] == 0 {
		return
	}
	r.nodeDown[n]--
	if r.nodeDown[n] > 0 {
		return
	}
	_ = r.st.SetNodeState(n, nodes.NodeUp)
	a.cpuCap += r.nodeCPU[n]
	a.gpuCap += r.nodeGPU[n]
	r.nodeChanged(n, 0, 0)
}

func (r *Runner) eventStart(i int) {
	ev := &r.cfg.Events[i]
	end := min(int64(ev.At+ev.Duration), r.hor)
	r.res.Events = append(r.res.Events, EventRecord{Kind: ev.Kind.String(), Name: ev.Name, StartHours: ev.At.Hours(), EndHours: float64(end) / float64(hourNs)})
	switch ev.Kind {
	case SiteOutage, NodeOutage:
		var chosen []int32
		if ev.Kind == SiteOutage {
			for _, s := range ev.Sites {
				chosen = append(chosen, r.st.SiteNodes(s)...)
			}
		} else {
			var pool []int32
			for _, n := range r.st.SiteNodes(ev.Sites[0]) {
				if ev.NodeType == "" || r.cfg.Topology.Nodes[n].Type == ev.NodeType {
					pool = append(pool, n)
				}
			}
			k := ev.Nodes
			if ev.Fraction > 0 {
				k = int(math.Round(ev.Fraction * float64(len(pool))))
			}
			// The event's own stream: adding another event changes
			// nothing here.
			name := ev.Name
			if name == "" {
				name = strconv.Itoa(i)
			}
			perm := Stream(r.cfg.Seed, "events/"+name).Perm(len(pool))
			for _, p := range perm[:min(k, len(pool))] {
				chosen = append(chosen, pool[p])
			}
			sort.Slice(chosen, func(a, b int) bool { return chosen[a] < chosen[b] })
		}
		r.outNodes[i] = chosen
		// All down first, so re-placed work does not land on them.
		for _, n := range chosen {
			r.setNodeDown(int(n), true)
		}
		before := r.res.Interrupted
		for _, n := range chosen {
			r.interrupt(int(n))
		}
		rec := &r.res.Events[len(r.res.Events)-1]
		rec.NodesDown, rec.Interrupted = len(chosen), r.res.Interrupted-before
	case RenewableDrought:
		r.applyDroughts()
	}
	r.schedule(end, kEventEnd, int32(i), 0)
}

func (r *Runner) eventEnd(i int) {
	ev := &r.cfg.Events[i]
	switch ev.Kind {
	case SiteOutage, NodeOutage:
		for _, n := range r.outNodes[i] {
			r.setNodeDown(int(n), false)
		}
		r.outNodes[i] = nil
		r.capacityFreed(-1)
	case RenewableDrought:
		r.applyDroughts()
	}
}

// applyDroughts recomputes every site's generation scale from the droughts
// active now.
func (r *Runner) applyDroughts() {
	now := r.eng.Now()
	for s := range r.sites {
		r.sites[s].scale = 1
	}
	for _, ev := range r.cfg.Events {
		if ev.Kind != RenewableDrought || int64(ev.At) > now || now >= int64(ev.At+ev.Duration) {
			continue
		}
		if len(ev.Sites) == 0 {
			for s := range r.sites {
				r.sites[s].scale *= ev.Factor
			}
		}
		for _, s := range ev.Sites {
			r.sites[s].scale *= ev.Factor
		}
	}
}

// meanScale is site's time-averaged generation scale over [from, to),
// computed from the drought events alone (so it is the same under every
// policy).
func (r *Runner) meanScale(site int, from, to int64) float64 {
	cuts := []int64{from, to}
	var evs []*ScenarioEvent
	for i := range r.cfg.Events {
		ev := &r.cfg.Events[i]
		if ev.Kind != RenewableDrought || int64(ev.At) >= to || int64(ev.At+ev.Duration) <= from {
			continue
		}
		hit := len(ev.Sites) == 0
		for _, s := range ev.Sites {
			hit = hit || s == site
		}
		if !hit {
			continue
		}
		evs = append(evs, ev)
		cuts = append(cuts, max(int64(ev.At), from), min(int64(ev.At+ev.Duration), to))
	}
	if len(evs) == 0 {
		return 1
	}
	sort.Slice(cuts, func(a, b int) bool { return cuts[a] < cuts[b] })
	sum := 0.0
	for k := 1; k < len(cuts); k++ {
		a, b := cuts[k-1], cuts[k]
		if b <= a {
			continue
		}
		f := 1.0
		for _, ev := range evs {
			if int64(ev.At) <= a && a < int64(ev.At+ev.Duration) {
				f *= ev.Factor
			}
		}
		sum += f * float64(b-a)
	}
	return sum / float64(to-from)
}

// interval closes the accounting interval ending now.
func (r *Runner) interval() {
	now := r.eng.Now()
	from := r.intervalStart
	start := r.start.Add(time.Duration(from))
	dur := time.Duration(now - from)
	row := IntervalRow{Start: time.Duration(from), End: time.Duration(now), Sites: make([]SiteRow, len(r.sites)), Waiting: r.qLen + r.deferred}
	for s := range r.sites {
		a := &r.sites[s]
		a.advance(now)
		itKWh := a.kwNs / 3.6e12
		// A drought that starts or ends inside the interval counts with
		// its share of the interval.
		m := r.energy[s]
		m.SetRenewableScale(r.meanScale(s, from, now))
		b, err := m.Step(start, dur, itKWh)
		m.SetRenewableScale(a.scale)
		if err != nil {
			r.err = fmt.Errorf("sim: site %s: %w", r.cfg.Topology.Sites[s].ID, err)
			return
		}
		if r.opt.CheckInvariants {
			if err := b.Check(1e-9); err != nil {
				r.err = fmt.Errorf("sim: site %s, interval at %v: energy balance: %w", r.cfg.Topology.Sites[s].ID, time.Duration(from), err)
				return
			}
			if math.Abs(b.ITKWh-itKWh) > 1e-9*math.Max(1, itKWh) {
				r.err = fmt.Errorf("sim: site %s: model reports IT %g kWh, runner integrated %g", r.cfg.Topology.Sites[s].ID, b.ITKWh, itKWh)
				return
			}
		}
		sr := &row.Sites[s]
		sr.Balance = b
		if a.cpuCapNs > 0 {
			sr.CPUUtil = a.cpuNs / a.cpuCapNs
		}
		if a.gpuCapNs > 0 {
			sr.GPUUtil = a.gpuNs / a.gpuCapNs
		}
		sr.Waiting = a.waiting
		if s < len(r.cfg.Embodied) {
			// Hardware accrues its embodied carbon for as long as it
			// exists, whatever it does.
			e := &r.cfg.Embodied[s]
			srv, bat := e.ServersKgPerHour*dur.Hours(), e.BatteryKgPerHour*dur.Hours()
			sr.EmbodiedKg = srv + bat
			r.res.EmbodiedServersKg += srv
			r.res.EmbodiedBatteriesKg += bat
		}
		t := &r.res.tiers[a.tier]
		t.cpuNs += a.cpuNs
		t.cpuCapNs += a.cpuCapNs
		t.gpuNs += a.gpuNs
		t.gpuCapNs += a.gpuCapNs
		r.res.addBalance(s, &b)
		a.kwNs, a.cpuNs, a.gpuNs, a.cpuCapNs, a.gpuCapNs = 0, 0, 0, 0, 0
	}
	r.res.Intervals = append(r.res.Intervals, row)
	if r.opt.CheckInvariants {
		if err := r.st.CheckInvariants(); err != nil {
			r.err = fmt.Errorf("sim: at %v: %w", time.Duration(now), err)
			return
		}
		if err := r.checkPower(); err != nil {
			r.err = fmt.Errorf("sim: at %v: power management: %w", time.Duration(now), err)
			return
		}
	}
	r.intervalStart = now
	if now < r.hor {
		r.refreshSignals(now)
		r.schedule(min(now+int64(r.cfg.Interval), r.hor), kInterval, 0, 0)
		// Queued work is retried at every interval too (signals and
		// capacity may have changed).
		if r.qLen > 0 {
			r.retryQueues(true)
		}
	}
	if r.opt.Progress != nil {
		r.opt.Progress(time.Duration(now), time.Duration(r.hor))
	}
}

// refreshSignals asks every site's energy model for the signals now and
// forecast, at the current load, and refreshes the snapshot.
func (r *Runner) refreshSignals(now int64) {
	at := r.start.Add(time.Duration(now))
	for s := range r.sites {
		a := &r.sites[s]
		m := r.energy[s]
		m.SetRenewableScale(a.scale)
		f := r.fc[s]
		for k, sig := range m.Forecast(at, r.cfg.ForecastStep, a.kw, r.fcBuf) {
			f[k] = scheduler.Signal(sig)
		}
		e := &r.snap.Energy[s]
		e.Now = scheduler.Signal(m.Signal(at, a.kw))
		e.Forecast = f
		e.PUE = m.PUE(at, a.kw)
	}
	r.snap.ForecastStart = at
	r.snap.ForecastStep = r.cfg.ForecastStep
	r.snap.Refresh()
}

// finish closes the run at the horizon: counts work in flight, writes its
// trace rows and computes the summary figures.
func (r *Runner) finish() (*Result, error) {
	if r.err != nil {
		return nil, r.err
	}
	for slot := range r.recs {
		rec := &r.recs[slot]
		switch rec.state {
		case wRunning, wQueued, wDeferred:
			r.res.InFlight++
			r.res.classes[rec.class].InFlight++
			// Known misses: the deadline has passed, or the work runs and
			// is planned to end after it, or it waits (queued or
			// deferred) and would end after it even if it started now.
			if rec.deadline > 0 && (rec.deadline <= r.hor ||
				(rec.state == wRunning && rec.end > rec.deadline) ||
				(rec.state != wRunning && r.hor+rec.duration > rec.deadline)) {
				r.res.DeadlineMisses++
				r.res.classes[rec.class].DeadlineMisses++
			}
			r.traceRec(int32(slot), "in-flight", stateName(rec.state))
		}
	}
	if r.trace != nil {
		if err := r.trace.Flush(); err != nil {
			return nil, fmt.Errorf("sim: write trace: %w", err)
		}
	}
	for n, off := range r.nodeOff {
		if off {
			r.res.offNs += float64(r.hor - r.offSince[n])
		}
	}
	r.res.Events = append([]EventRecord{}, r.res.Events...)
	r.res.finalize(r.eng.Processed)
	if got := r.res.Completed + r.res.Rejected + r.res.InFlight; got != r.res.Submitted {
		return nil, errors.New("sim: workload conservation violated: " + strconv.FormatInt(got, 10) + " != " + strconv.FormatInt(r.res.Submitted, 10))
	}
	return r.res, nil
}

func stateName(s uint8) string {
	switch s {
	case wRunning:
		return "running"
	case wQueued:
		return "queued"
	case wDeferred:
		return "deferred"
	}
	return "free"
}

// State and Snapshot expose the run's live state (for explain).
func (r *Runner) State() *scheduler.State       { return r.st }
func (r *Runner) Snapshot() *scheduler.Snapshot { return r.snap }

// Now is the virtual time the runner has reached.
func (r *Runner) Now() time.Time { return r.now() }

// siteMarginalW is each site's mean marginal IT power per allocated core
// and per GPU over its nodes (energy.SiteMarginalW by node type).
func siteMarginalW(c *Config) (perCore, perGPU []float64) {
	type typeCount struct {
		p *energy.ServerPower
		n int
	}
	perSite := make([][]typeCount, len(c.Topology.Sites))
	for _, n := range c.Topology.Nodes {
		p := c.NodePower[n.Type]
		found := false
		for k := range perSite[n.Site] {
			if perSite[n.Site][k].p == p {
				perSite[n.Site][k].n++
				found = true
			}
		}
		if !found {
			perSite[n.Site] = append(perSite[n.Site], typeCount{p, 1})
		}
	}
	perCore, perGPU = make([]float64, len(perSite)), make([]float64, len(perSite))
	for s, tcs := range perSite {
		servers := make([]*energy.ServerPower, len(tcs))
		counts := make([]int, len(tcs))
		for k, tc := range tcs {
			servers[k], counts[k] = tc.p, tc.n
		}
		perCore[s], perGPU[s] = energy.SiteMarginalW(servers, counts)
	}
	return perCore, perGPU
}
