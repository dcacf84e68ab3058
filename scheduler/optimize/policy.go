package optimize

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler"
)

// Name is the policy name the optimizer registers.
const Name = "optimizer"

func init() {
	if err := scheduler.RegisterDecider(Name,
		"rolling-horizon plan of where and when deadline work runs (min-cost over sites × hours of carbon and price, net of renewable headroom, within capacity); balanced for the rest",
		func(cfg scheduler.Config) (scheduler.Decider, error) {
			opt, err := OptionsOf(cfg.Options)
			if err != nil {
				return nil, err
			}
			return New(cfg, opt)
		}); err != nil {
		panic(err)
	}
}

// OptionsOf returns the optimizer's options carried in a
// scheduler.Config's Options, as the registered policy takes them: nil
// gives the defaults (Options{}); an Options or a non-nil *Options is
// used as it is; anything else is an error.
func OptionsOf(v any) (Options, error) {
	switch o := v.(type) {
	case nil:
		return Options{}, nil
	case Options:
		return o, nil
	case *Options:
		if o != nil {
			return *o, nil
		}
		return Options{}, nil
	}
	return Options{}, fmt.Errorf("options of type %T, want optimize.Options", v)
}

// Options tune the optimizer. The zero value is the defaults; like
// scheduler.Config, a field writes "none" as a negative value where 0
// means its default. A scenario sets them in its scheduler.optimizer
// block (docs/scenario-format.md).
type Options struct {
	// CarbonWeight and PriceWeight weigh normalised grid carbon intensity
	// and price in a core-hour's cost (defaults 1 and 1, when both are 0).
	CarbonWeight, PriceWeight float64
	// Utilization is the share of a site's free cores the plan may use
	// for deferrable work, leaving room for services (default 0.8; a
	// value outside (0, 1] means the default).
	Utilization float64
	// MinShare is the share of a workload's need in an hour the plan's
	// budget must cover before the binder starts it then (default 0.5).
	MinShare float64
	// Tolerance is how much cheaper (as a fraction) a later start must be
	// before the binder defers rather than runs now: it runs now when now
	// costs at most (1 + Tolerance) times the best start. 0 means the
	// default (0.05); negative means none (it defers for any gain).
	Tolerance float64
	// RecoveryHours is over how many hours the plan assumes the cores busy
	// now become free again for deferrable work (running work finishes):
	// slot k may use free + (capacity·Utilization − free)·min(1, k/RecoveryHours)
	// cores. 0 means the default (4); negative means never (plan on the
	// cores free now only).
	RecoveryHours float64
	// ReplanShare is how much deferrable demand may be added to the
	// current plan incrementally (each new workload filled into the
	// capacity the plan left), as a share of the demand the plan was made
	// for, before a new workload triggers a full plan within the same hour.
	// 0 means the default (0.5); negative means none (every new workload
	// brings a full plan). A new hour always brings a full plan.
	ReplanShare float64
}

// Defaults of Options, in force for its zero fields.
const (
	DefaultTolerance     = 0.05
	DefaultRecoveryHours = 4.0
	DefaultReplanShare   = 0.5
	DefaultUtilization   = 0.8
)

// WithDefaults returns o with its defaults filled in, as New uses it: the
// weights (1 and 1 when both are 0), Utilization and MinShare in (0, 1],
// Tolerance and ReplanShare in force (the default for 0, 0 for a negative
// value). RecoveryHours keeps its encoding (negative: never). Like
// scheduler.Config.WithDefaults it is not idempotent for a Tolerance or
// ReplanShare of none: pass the result to New only as it came.
func (o Options) WithDefaults() Options { return o.withDefaults() }

func (o Options) withDefaults() Options {
	if o.CarbonWeight == 0 && o.PriceWeight == 0 {
		o.CarbonWeight, o.PriceWeight = 1, 1
	}
	if o.Utilization <= 0 || o.Utilization > 1 {
		o.Utilization = DefaultUtilization
	}
	if o.MinShare <= 0 || o.MinShare > 1 {
		o.MinShare = 0.5
	}
	switch {
	case o.ReplanShare == 0:
		o.ReplanShare = DefaultReplanShare
	case o.ReplanShare < 0:
		o.ReplanShare = 0
	}
	switch {
	case o.Tolerance == 0:
		o.Tolerance = DefaultTolerance
	case o.Tolerance < 0:
		o.Tolerance = 0
	}
	if o.RecoveryHours == 0 {
		o.RecoveryHours = DefaultRecoveryHours
	}
	return o
}

// validate reports options no optimizer can run with: numbers that are
// not finite, negative weights.
func (o Options) validate() error {
	for _, f := range []struct {
		name string
		x    float64
	}{{"carbon weight", o.CarbonWeight}, {"price weight", o.PriceWeight}, {"utilization", o.Utilization}, {"min share", o.MinShare},
		{"tolerance", o.Tolerance}, {"recovery hours", o.RecoveryHours}, {"replan share", o.ReplanShare}} {
		if math.IsNaN(f.x) || math.IsInf(f.x, 0) {
			return fmt.Errorf("optimizer %s %g is not a finite number", f.name, f.x)
		}
	}
	if o.CarbonWeight < 0 || o.PriceWeight < 0 {
		return fmt.Errorf("optimizer weights carbon %g and price %g must be >= 0", o.CarbonWeight, o.PriceWeight)
	}
	return nil
}

// entry is deferrable work the optimizer knows about and has not placed.
type entry struct {
	id       string
	cores    float64
	gpus     float64
	hours    float64
	deadline time.Time
	group    int // index into Optimizer.groups
	// site and at are where and when deferred work was told to come back
	// (site −1: not deferred); its budget there stays reserved across
	// plans until it returns.
	site int
	at   time.Time
}

// group is deferrable work that may run at the same sites and either
// needs GPUs or not: the plan is computed per group, most constrained
// first, so work that may only run at two sites is not planned onto a
// third, and GPU work is planned on free GPUs as well as cores.
type group struct {
	eligible  []bool // by site
	count     int    // eligible sites
	gpu       bool   // GPU work (planned on GPUs as well as cores)
	budget    []float64
	cores     float64 // known demand in the group, for its power per core
	gpus      float64
	kwPerCore []float64 // by site: the group's facility kW per core
	// sorted are the group's cells of the last full plan in cost order,
	// for extend to fill new work without sorting again; filled says the
	// last full plan computed them (there may be none: no capacity left).
	sorted []cellRef
	filled bool
}

// cellRef is a plan cell: the free (on-site renewable or stored), the
// contract (green-power contract, carbon-free but paid) or the grid part
// of a (site, slot).
type cellRef struct {
	site, slot int32
	kind       cellKind
}

// cellKind says which supply a plan cell's energy comes from.
type cellKind uint8

const (
	cellGrid cellKind = iota
	cellFree
	cellContract
)

// Optimizer is the "optimizer" policy. Like a Scheduler it keeps state
// (its ledger of deferred work and its plan) and is not safe for
// concurrent use.
type Optimizer struct {
	opt      Options
	cfg      scheduler.Config     // DeferSlack, DeferSlackFraction
	balanced *scheduler.Scheduler // work without deadline
	greenest *scheduler.Scheduler // binds planned work to a site and node

	ledger []entry
	index  map[string]int
	groups []group

	// the plan covers slots of length step from planStart
	h         int
	planStart time.Time
	step      time.Duration
	dirty     bool
	sites     int
	cellCost  []float64 // normalised grid cost of a kWh at (site, slot)
	cellHead  []float64 // free renewable headroom kW at (site, slot): on-site and stored
	cellCtr   []float64 // green-power contract headroom kW at (site, slot)
	ctrCost   []float64 // normalised cost of a kWh of contract power at (site, slot)
	// demand known now and when the plan was made, in core-hours
	demand, planned float64
	extended        float64 // demand added by extend since the last full plan

	cells    []Cell
	filler   Filler
	mask     []bool
	orderBuf []int
	due      []float64
	coreLeft []float64
	gpuLeft  []float64 // GPU-hours the plan may still use at (site, slot)
	headLeft []float64
	ctrLeft  []float64
	kinds    []cellKind // the kind of each of cells
	order    []int
	allow    *scheduler.SiteSet
	replan   int // number of plans computed (for tests and metrics)
}

var (
	_ scheduler.Decider   = (*Optimizer)(nil)
	_ scheduler.Forgetter = (*Optimizer)(nil)
	_ scheduler.Adopter   = (*Optimizer)(nil)
)

// New returns an optimizer; cfg configures the built-in policies it binds
// work with.
func New(cfg scheduler.Config, opt Options) (*Optimizer, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	// The built-in policies it binds with take no options.
	cfg.Options = nil
	b, err := scheduler.New("balanced", cfg)
	if err != nil {
		return nil, err
	}
	// Config.Weights are balanced's weights (the scenario's
	// scheduler.weights); the binder keeps greenest's own.
	gcfg := cfg
	gcfg.Weights = nil
	g, err := scheduler.New("greenest", gcfg)
	if err != nil {
		return nil, err
	}
	return &Optimizer{opt: opt.withDefaults(), cfg: cfg.WithDefaults(), balanced: b, greenest: g, index: map[string]int{}}, nil
}

// Plans is how many plans the optimizer has computed.
func (o *Optimizer) Plans() int { return o.replan }

// Decide implements scheduler.Decider.
func (o *Optimizer) Decide(snap *scheduler.Snapshot, w *scheduler.Workload, now time.Time, rng *rand.Rand, ex *scheduler.Explanation) scheduler.Decision {
	if w.Deadline.IsZero() || snap.ForecastStep <= 0 || len(snap.ForecastWindow()) == 0 {
		d := o.balanced.Decide(snap, w, now, rng, ex)
		o.note(ex, "no deadline or no forecast: placed by the balanced policy")
		return d
	}
	o.topology(snap)
	cores := float64(w.Request.CPUMilli) / 1000
	gpus := float64(w.Request.GPUMilli) / 1000
	hours := w.Duration.Hours()
	start := snap.ForecastStart
	if now.After(start) {
		start = start.Add(now.Sub(start) / snap.ForecastStep * snap.ForecastStep)
	}
	fresh := false
	if _, ok := o.index[w.ID]; !ok {
		g := o.groupOf(snap, w)
		o.index[w.ID] = len(o.ledger)
		o.ledger = append(o.ledger, entry{id: w.ID, cores: cores, gpus: gpus, hours: hours, deadline: w.Deadline, group: g, site: -1})
		o.demand += cores * hours
		fresh = true
		if o.demand-o.planned > o.opt.ReplanShare*o.planned {
			o.dirty = true
		}
	}
	if o.dirty || !start.Equal(o.planStart) || o.step != snap.ForecastStep {
		o.plan(snap, start, now)
	} else if fresh {
		// Fill the new work into the capacity the plan left.
		o.extend(snap, o.index[w.ID])
	}
	me := &o.ledger[o.index[w.ID]]
	gi := me.group
	// Work coming back from a deferral gets its reservation back.
	if me.site >= 0 {
		o.consume(gi, me.site, me.at, -me.cores, me.hours)
		me.site = -1
	}
	jobKW := func(site int) float64 {
		e := &snap.Energy[site]
		return (cores*e.MarginalWPerCore + gpus*e.MarginalWPerGPU) * e.PUE / 1000
	}

	// Among the hours up to the work's latest start where the plan has
	// budget for it, pick the one whose mean cost over the work's run (grid
	// energy net of renewable headroom, at the best site with budget) is
	// lowest; run now when now is within Tolerance of that.
	stepH := o.step.Hours()
	durSlots := int(math.Ceil(hours / stepH))
	if durSlots < 1 {
		durSlots = 1
	}
	latestSlot := int(w.Deadline.Add(-w.Duration).Sub(o.planStart) / o.step)
	if latestSlot > o.h-1 {
		latestSlot = o.h - 1
	}
	need0 := cores * math.Min(hours, start.Add(o.step).Sub(now).Hours())
	// a deferred start keeps slack before the deadline, so work that finds
	// no node free when it comes back can still start a step later or
	// elsewhere in time
	slack := o.cfg.SlackFor(o.step, w.AtRisk())
	search := func(from int) (bestT, bestSite int, bestScore, nowScore float64) {
		bestT, bestSite, bestScore, nowScore = -1, -1, math.Inf(1), math.Inf(1)
		for t := from; t <= latestSlot; t++ {
			need := cores * math.Min(hours, stepH)
			if t == 0 {
				need = need0
			}
			if !o.openSites(w, gi, t, need) {
				continue
			}
			at := now
			if t > 0 {
				at = o.planStart.Add(time.Duration(t) * o.step)
			}
			for site := 0; site < o.sites; site++ {
				if !o.allow.Has(site) {
					continue
				}
				end := at.Add(snap.TransferTime(w, site) + w.Duration)
				if t > 0 {
					end = end.Add(slack)
				}
				if end.After(w.Deadline) {
					continue // starting here then would finish late
				}
				sc := o.runCost(site, t, durSlots, jobKW(site))
				if t == 0 && sc < nowScore {
					nowScore = sc
				}
				if sc < bestScore {
					bestT, bestSite, bestScore = t, site, sc
				}
			}
		}
		return
	}
	bestT, bestSite, bestScore, nowScore := search(0)
	if bestT >= 0 && nowScore <= bestScore*(1+o.opt.Tolerance)+1e-12 {
		o.openSites(w, gi, 0, need0)
		d := o.bindAt(snap, w, now, rng, ex, "the optimizer's plan gives this work no budget at this site this hour")
		if d.Outcome == scheduler.Place {
			o.consume(gi, d.Site, now, cores, hours)
			o.forget(w.ID)
			if ex != nil {
				o.note(ex, fmt.Sprintf("optimizer: runs now: the plan gives it budget this hour and no later start within its deadline is cheaper by more than %.0f %% (cost index now %.4g, best %.4g)",
					100*o.opt.Tolerance, nowScore, bestScore))
			}
			return d
		}
		// No single node fits at the sites the plan budgets now (their
		// free cores are spread over several nodes): run now at another
		// eligible site where that costs no more than the plan's best
		// start, rather than wait an hour for a node there.
		limit := bestScore*(1+o.opt.Tolerance) + 1e-12
		if o.spillSites(snap, w, gi, now, durSlots, limit, jobKW) {
			d := o.bindAt(snap, w, now, rng, ex, "the optimizer ran this work now at a site no dearer than its best planned start, and this site is dearer or late")
			if d.Outcome == scheduler.Place {
				o.consume(gi, d.Site, now, cores, hours)
				o.forget(w.ID)
				if ex != nil {
					o.note(ex, fmt.Sprintf("optimizer: runs now at %s: no node is free for it at the sites the plan budgets this hour, and running here now costs no more than the best planned start (cost index %.4g)",
						snap.State.Site(d.Site).ID, bestScore))
				}
				return d
			}
		}
		// nothing fits now: look later
		bestT, bestSite, bestScore, _ = search(1)
	}
	if bestT > 0 {
		at := o.planStart.Add(time.Duration(bestT) * o.step)
		// Reserve the budget, so later work sees what is left instead of
		// piling into the same hour; plans keep the reservation.
		o.consume(gi, bestSite, at, cores, hours)
		me := &o.ledger[o.index[w.ID]]
		me.site, me.at = bestSite, at
		d := scheduler.Decision{Outcome: scheduler.Defer, Node: -1, Site: bestSite, NotBefore: at, Reason: scheduler.FilterNone}
		if ex != nil {
			o.greenest.Decide(snap, w, now, rng, ex) // fill in the feasibility picture
			ex.Conclude(snap, w, d)
			o.note(ex, fmt.Sprintf("optimizer: deferred to %s at %s, the cheapest start within its deadline (less %v of slack) where the plan has budget (cost index %.4g vs %.4g now)",
				at.Format(time.RFC3339), snap.State.Site(bestSite).ID, slack, bestScore, nowScore))
		}
		return d
	}
	// No room in the plan before the deadline: run now, greenest first.
	d := o.greenest.Decide(snap, w, now, rng, ex)
	if d.Outcome == scheduler.Place {
		o.consume(gi, d.Site, now, cores, hours)
		o.forget(w.ID)
	}
	o.note(ex, "optimizer: the plan has no room for this work before its deadline; placed greenest-first now")
	return d
}

// topology forgets groups (their site masks), the ledger and the plan
// when snap's sites are not the ones they were made for.
func (o *Optimizer) topology(snap *scheduler.Snapshot) {
	if o.sites != snap.State.NumSites() {
		o.groups, o.ledger, o.index = nil, o.ledger[:0], map[string]int{}
		o.demand, o.planned, o.sites = 0, 0, snap.State.NumSites()
		o.dirty = true
	}
}

// Adopt takes over deadline work an earlier optimizer deferred to start at
// site at at (a new leader's, for the old leader's deferrals): it enters
// the ledger as if this optimizer had deferred it, so the next plan keeps
// its reservation there, and it gets it back when it returns. Without it
// a new leader's plan offered the same window to new work, and the
// returning work found it taken. site −1 (not known: deferred by another
// policy, or by a log from before deferrals named their site) counts the
// work's demand without a reservation. Work already known, or without a
// deadline, is ignored.
func (o *Optimizer) Adopt(snap *scheduler.Snapshot, w *scheduler.Workload, site int, at time.Time) {
	if w.Deadline.IsZero() {
		return
	}
	o.topology(snap)
	if _, ok := o.index[w.ID]; ok {
		return
	}
	if site >= o.sites {
		site = -1
	}
	cores, hours := float64(w.Request.CPUMilli)/1000, w.Duration.Hours()
	o.index[w.ID] = len(o.ledger)
	o.ledger = append(o.ledger, entry{id: w.ID, cores: cores, gpus: float64(w.Request.GPUMilli) / 1000, hours: hours,
		deadline: w.Deadline, group: o.groupOf(snap, w), site: site, at: at})
	o.demand += cores * hours
	o.dirty = true
}

// groupOf returns the group of w: the sites it may run at (by tier,
// allowed sites and GPU hardware; batch work has no latency bound, but one
// is honoured) and whether it needs GPUs, creating it if new.
func (o *Optimizer) groupOf(snap *scheduler.Snapshot, w *scheduler.Workload) int {
	st := snap.State
	if cap(o.mask) < st.NumSites() {
		o.mask = make([]bool, st.NumSites())
	}
	mask := o.mask[:st.NumSites()]
	count := 0
	tiers := w.Tiers
	if tiers == 0 {
		tiers = nodes.AllTiers
	}
	for s := range mask {
		site := st.Site(s)
		ok := tiers.Has(site.Tier) && (w.Sites == nil || w.Sites.Has(s)) &&
			(w.Request.GPUMilli == 0 || st.SiteCapacity(s).GPUMilli > 0 || st.SiteUsedAll(s).GPUMilli > 0) &&
			(w.LatencyBoundMs <= 0 || snap.Latency.RTTMs(w.Origin, s) <= w.LatencyBoundMs)
		mask[s] = ok
		if ok {
			count++
		}
	}
	gpu := w.Request.GPUMilli > 0
	for i := range o.groups {
		if o.groups[i].gpu == gpu && equalMask(o.groups[i].eligible, mask) {
			return i
		}
	}
	o.groups = append(o.groups, group{eligible: append([]bool(nil), mask...), count: count, gpu: gpu})
	o.dirty = true // the new group needs a budget
	return len(o.groups) - 1
}

func equalMask(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// runCost is the mean cost of running a job drawing jobKW at site for
// slots t..t+n-1 (the last forecast slot repeats): each hour's normalised
// cost of its power once free renewable headroom has covered what it can,
// green-power contracts (at their price, carbon-free) next, the grid the
// rest.
func (o *Optimizer) runCost(site, t, n int, jobKW float64) float64 {
	sum := 0.0
	for k := t; k < t+n; k++ {
		i := k
		if i >= o.h {
			i = o.h - 1
		}
		j := site*o.h + i
		free := math.Min(jobKW, o.cellHead[j])
		ctr := math.Min(jobKW-free, o.cellCtr[j])
		sum += o.cellCost[j]*(jobKW-free-ctr) + o.ctrCost[j]*ctr
	}
	return sum / float64(n)
}

func (o *Optimizer) note(ex *scheduler.Explanation, s string) {
	if ex != nil {
		ex.Policy = Name
		ex.Notes = append(ex.Notes, s)
	}
}

// bindAt asks greenest to place w now at the sites in o.allow (w itself
// is left as it was). In an explanation, sites the work itself may use
// but o.allow left out are not "outside the allowed sites": their why-not
// says why (the optimizer's reason).
func (o *Optimizer) bindAt(snap *scheduler.Snapshot, w *scheduler.Workload, now time.Time, rng *rand.Rand, ex *scheduler.Explanation, why string) scheduler.Decision {
	saved := w.Sites
	w.Sites = o.allow
	d := o.greenest.Decide(snap, w, now, rng, ex)
	w.Sites = saved
	if ex != nil {
		for i := range ex.WhyNot {
			wn := &ex.WhyNot[i]
			if wn.Filter != scheduler.FilterSite {
				continue
			}
			if site := snap.State.SiteIndex(wn.Site); site >= 0 && (saved == nil || saved.Has(site)) {
				if wn.Node != "" {
					wn.Reason = "its site " + wn.Site + ": " + why
				} else {
					wn.Reason = why
				}
			}
		}
	}
	return d
}

// spillSites sets o.allow to the sites of group gi (and of the work's
// own allowed sites) where the work, started now, meets its deadline and
// costs at most limit over its run, and reports whether there is any.
func (o *Optimizer) spillSites(snap *scheduler.Snapshot, w *scheduler.Workload, gi int, now time.Time, durSlots int, limit float64, jobKW func(int) float64) bool {
	o.allow.Clear()
	any := false
	for s, ok := range o.groups[gi].eligible {
		if !ok || (w.Sites != nil && !w.Sites.Has(s)) {
			continue
		}
		if now.Add(snap.TransferTime(w, s) + w.Duration).After(w.Deadline) {
			continue
		}
		if o.runCost(s, 0, durSlots, jobKW(s)) <= limit {
			o.allow.Add(s)
			any = true
		}
	}
	return any
}

// openSites sets o.allow to the sites whose budget for group gi in slot t
// covers at least MinShare of need (intersected with the work's own
// allowed sites) and reports whether there is any.
func (o *Optimizer) openSites(w *scheduler.Workload, gi, t int, need float64) bool {
	if o.allow == nil || o.allow.Len() != o.sites {
		o.allow = scheduler.NewSiteSet(o.sites)
	}
	o.allow.Clear()
	any := false
	b := o.groups[gi].budget
	if len(b) < o.sites*o.h {
		return false
	}
	for s := 0; s < o.sites; s++ {
		if w.Sites != nil && !w.Sites.Has(s) {
			continue
		}
		if v := b[s*o.h+t]; v > 0 && v >= need*o.opt.MinShare {
			o.allow.Add(s)
			any = true
		}
	}
	return any
}

// consume takes cores × hours out of group gi's budget at site, hour by
// hour from at (negative cores give it back).
func (o *Optimizer) consume(gi, site int, at time.Time, cores, hours float64) {
	if site < 0 || site >= o.sites {
		return
	}
	b := o.groups[gi].budget
	if len(b) < o.sites*o.h {
		return
	}
	left := hours
	for t := 0; t < o.h && left > 0; t++ {
		end := o.planStart.Add(time.Duration(t+1) * o.step)
		if !end.After(at) {
			continue
		}
		from := at
		if slotStart := o.planStart.Add(time.Duration(t) * o.step); slotStart.After(at) {
			from = slotStart
		}
		d := math.Min(left, end.Sub(from).Hours())
		b[site*o.h+t] -= cores * d
		left -= d
	}
}

// Forget drops work that left without being placed — it gave up
// waiting, was cancelled or rejected — so the plan reserves nothing more
// for it: its reservation at a deferred start is freed at once and its
// demand no longer counts (work unknown to the plan is ignored). Without
// it the plan kept such work until its deadline.
func (o *Optimizer) Forget(id string) {
	i, ok := o.index[id]
	if !ok {
		return
	}
	if e := &o.ledger[i]; e.site >= 0 {
		o.consume(e.group, e.site, e.at, -e.cores, e.hours)
	}
	o.forget(id)
}

func (o *Optimizer) forget(id string) {
	i, ok := o.index[id]
	if !ok {
		return
	}
	last := len(o.ledger) - 1
	o.demand -= o.ledger[i].cores * o.ledger[i].hours
	o.ledger[i] = o.ledger[last]
	o.index[o.ledger[i].id] = i
	o.ledger = o.ledger[:last]
	delete(o.index, id)
}

// plan recomputes every group's budget from the ledger and the snapshot.
func (o *Optimizer) plan(snap *scheduler.Snapshot, start, now time.Time) {
	o.replan++
	o.dirty = false
	defer func() { o.planned, o.extended = o.demand, 0 }()
	o.planStart, o.step = start, snap.ForecastStep
	// Drop work whose deadline has passed: its driver gave up on it.
	for i := 0; i < len(o.ledger); {
		if !o.ledger[i].deadline.After(now) {
			o.forget(o.ledger[i].id)
			continue
		}
		i++
	}
	offset := int(start.Sub(snap.ForecastStart) / o.step)
	h := len(snap.ForecastWindow()) - offset
	if h < 1 {
		h = 1
	}
	o.h = h
	stepH := o.step.Hours()
	n := o.sites * h

	// Per cell: normalised grid cost of a kWh, renewable headroom, and
	// the cores the plan may use.
	maxCO2, maxPrice := 0.0, 0.0
	for s := 0; s < o.sites; s++ {
		for k := 0; k < h; k++ {
			g := signal(snap, s, offset+k)
			maxCO2 = math.Max(maxCO2, g.CarbonKgPerKWh)
			maxPrice = math.Max(maxPrice, g.PriceCNYPerKWh)
			if g.ContractHeadroomKW > 0 {
				maxPrice = math.Max(maxPrice, g.ContractPriceCNYPerKWh)
			}
		}
	}
	o.cellCost = resize(o.cellCost, n)
	o.cellHead = resize(o.cellHead, n)
	o.cellCtr = resize(o.cellCtr, n)
	o.ctrCost = resize(o.ctrCost, n)
	o.coreLeft = resize(o.coreLeft, n)
	o.gpuLeft = resize(o.gpuLeft, n)
	o.headLeft = resize(o.headLeft, n)
	o.ctrLeft = resize(o.ctrLeft, n)
	for s := 0; s < o.sites; s++ {
		capRes, used := snap.State.SiteCapacity(s), snap.State.SiteUsed(s)
		capacity := float64(capRes.CPUMilli) / 1000 * o.opt.Utilization
		free := float64(capRes.CPUMilli-used.CPUMilli) / 1000 * o.opt.Utilization
		gpuCap := float64(capRes.GPUMilli) / 1000 * o.opt.Utilization
		gpuFree := float64(capRes.GPUMilli-used.GPUMilli) / 1000 * o.opt.Utilization
		for k := 0; k < h; k++ {
			avail, gpus := free, gpuFree
			if o.opt.RecoveryHours > 0 {
				r := math.Min(1, float64(k)*stepH/o.opt.RecoveryHours)
				avail += math.Max(capacity-free, 0) * r
				gpus += math.Max(gpuCap-gpuFree, 0) * r
			}
			g := signal(snap, s, offset+k)
			cost := 0.0
			if maxCO2 > 0 {
				cost += o.opt.CarbonWeight * g.CarbonKgPerKWh / maxCO2
			}
			if maxPrice > 0 {
				cost += o.opt.PriceWeight * g.PriceCNYPerKWh / maxPrice
			}
			i := s*h + k
			head := math.Max(g.RenewableHeadroomKW, 0)
			ctr := math.Min(math.Max(g.ContractHeadroomKW, 0), head)
			o.cellCost[i] = cost
			o.cellHead[i] = head - ctr
			o.headLeft[i] = head - ctr
			o.cellCtr[i] = ctr
			o.ctrLeft[i] = ctr
			if maxPrice > 0 {
				o.ctrCost[i] = o.opt.PriceWeight * g.ContractPriceCNYPerKWh / maxPrice
			}
			o.coreLeft[i] = math.Max(0, avail) * stepH
			o.gpuLeft[i] = math.Max(0, gpus) * stepH
		}
	}

	// Group demand and power per core.
	for gi := range o.groups {
		g := &o.groups[gi]
		g.cores, g.gpus, g.filled = 0, 0, false
		g.budget = resize(g.budget, n)
	}
	for _, e := range o.ledger {
		g := &o.groups[e.group]
		g.cores += e.cores * e.hours
		g.gpus += e.gpus * e.hours
	}
	// Most constrained groups first (fewest sites; ties: creation order).
	o.order = o.order[:0]
	for gi := range o.groups {
		o.order = append(o.order, gi)
	}
	sort.SliceStable(o.order, func(a, b int) bool { return o.groups[o.order[a]].count < o.groups[o.order[b]].count })

	for _, gi := range o.order {
		g := &o.groups[gi]
		if g.cores <= 0 {
			continue
		}
		g.kwPerCore = resize(g.kwPerCore, o.sites)
		for s := 0; s < o.sites; s++ {
			e := &snap.Energy[s]
			g.kwPerCore[s] = (e.MarginalWPerCore + g.gpus/g.cores*e.MarginalWPerGPU) * e.PUE / 1000
		}
		o.due = resize(o.due, h)
		for _, e := range o.ledger {
			if e.group == gi {
				o.addDue(e)
			}
		}
		o.fillGroup(gi)
	}
	for _, e := range o.ledger {
		if e.site >= 0 && !e.at.Before(start) {
			o.consume(e.group, e.site, e.at, e.cores, e.hours)
		}
	}
}

// dueSlot is the last slot e's work may be planned in: the one before the
// slot its deadline falls in (it must finish by then).
func (o *Optimizer) dueSlot(e entry) int {
	t := int(e.deadline.Sub(o.planStart) / o.step)
	if t >= o.h {
		t = o.h - 1
	}
	if t < 0 {
		t = 0
	}
	if t > 0 {
		t--
	}
	return t
}

// addDue adds e's core-hours to o.due at its due slot.
func (o *Optimizer) addDue(e entry) { o.due[o.dueSlot(e)] += e.cores * e.hours }

// fillGroup fills o.due for group gi into the capacity and headroom the
// plan has left (o.coreLeft, o.headLeft), adding the allocation to the
// group's budget and taking it out of what is left.
func (o *Optimizer) fillGroup(gi int) {
	g := &o.groups[gi]
	g.filled, g.sorted = true, g.sorted[:0]
	h, stepH := o.h, o.step.Hours()
	o.cells = o.cells[:0]
	o.kinds = o.kinds[:0]
	for s := 0; s < o.sites; s++ {
		if !g.eligible[s] {
			continue
		}
		kpc := g.kwPerCore[s]
		for k := 0; k < h; k++ {
			i := s*h + k
			capTotal := o.cellCores(g, i)
			if capTotal <= 0 {
				continue
			}
			free, ctr := o.split(i, kpc, capTotal)
			eps := 1e-9 * float64(k)
			if free > 0 {
				o.cells = append(o.cells, Cell{Site: s, Slot: k, Capacity: free, Cost: eps})
				o.kinds = append(o.kinds, cellFree)
			}
			if ctr > 0 {
				o.cells = append(o.cells, Cell{Site: s, Slot: k, Capacity: ctr, Cost: kpc*o.ctrCost[i] + eps})
				o.kinds = append(o.kinds, cellContract)
			}
			if rest := capTotal - free - ctr; rest > 0 {
				o.cells = append(o.cells, Cell{Site: s, Slot: k, Capacity: rest, Cost: kpc*o.cellCost[i] + eps})
				o.kinds = append(o.kinds, cellGrid)
			}
		}
	}
	alloc, _, err := o.filler.Fill(o.cells, o.due)
	if err != nil {
		return // cannot happen: cells and demand are built valid above
	}
	o.orderBuf = o.filler.Order(o.orderBuf)
	g.sorted = g.sorted[:0]
	for _, j := range o.orderBuf {
		c := &o.cells[j]
		g.sorted = append(g.sorted, cellRef{site: int32(c.Site), slot: int32(c.Slot), kind: o.kinds[j]})
	}
	for j, c := range o.cells {
		if alloc[j] == 0 {
			continue
		}
		i := c.Site*h + c.Slot
		g.budget[i] += alloc[j]
		o.take(g, i, alloc[j])
		o.useHeadroom(o.kinds[j], i, alloc[j]*g.kwPerCore[c.Site]/stepH)
	}
}

// extend fills ledger entry i, new since the last full plan, into the
// capacity the plan left, walking the group's cells in the plan's cost
// order (no sorting): a greedy step that keeps bursts of work (a job's
// many tasks) from finding no budget, usually after a few cells.
func (o *Optimizer) extend(snap *scheduler.Snapshot, i int) {
	e := o.ledger[i]
	g := &o.groups[e.group]
	if len(g.budget) < o.sites*o.h || len(g.kwPerCore) < o.sites || !g.filled {
		o.plan(snap, o.planStart, o.planStart)
		return
	}
	d := o.dueSlot(e)
	stepH := o.step.Hours()
	need := e.cores * e.hours
	for _, c := range g.sorted {
		if need <= 0 {
			break
		}
		if int(c.slot) > d {
			continue
		}
		site := int(c.site)
		idx := site*o.h + int(c.slot)
		kpc := g.kwPerCore[site]
		capTotal := o.cellCores(g, idx)
		free, ctr := o.split(idx, kpc, capTotal)
		var avail float64
		switch c.kind {
		case cellFree:
			avail = free
		case cellContract:
			avail = ctr
		default:
			avail = capTotal - free - ctr
		}
		if avail <= 0 {
			continue
		}
		take := math.Min(avail, need)
		g.budget[idx] += take
		o.take(g, idx, take)
		o.useHeadroom(c.kind, idx, take*kpc/stepH)
		need -= take
	}
	o.extended += e.cores * e.hours
}

// cellCores is how many core-hours of cell i group g may still plan: the
// cores left, and for GPU work also the GPUs left, at the group's ratio
// of cores to GPUs (the plan budgets cores, so GPU work must not be
// planned onto a site whose GPUs are taken).
func (o *Optimizer) cellCores(g *group, i int) float64 {
	c := o.coreLeft[i]
	if g.gpus > 0 {
		c = math.Min(c, o.gpuLeft[i]*g.cores/g.gpus)
	}
	return c
}

// take records that group g planned cores core-hours in cell i.
func (o *Optimizer) take(g *group, i int, cores float64) {
	o.coreLeft[i] -= cores
	if g.gpus > 0 && g.cores > 0 {
		o.gpuLeft[i] -= cores * g.gpus / g.cores
	}
}

// split divides capCores of cell i's core-hours, for work drawing kpc kW
// per core, into what the free headroom left powers and what the
// contract headroom left powers; the rest draws on the grid.
func (o *Optimizer) split(i int, kpc, capCores float64) (free, ctr float64) {
	if kpc <= 0 {
		return 0, 0
	}
	stepH := o.step.Hours()
	free = math.Min(capCores, o.headLeft[i]/kpc*stepH)
	ctr = math.Min(capCores-free, o.ctrLeft[i]/kpc*stepH)
	return free, ctr
}

// useHeadroom takes kw of cell i's free or contract headroom.
func (o *Optimizer) useHeadroom(kind cellKind, i int, kw float64) {
	switch kind {
	case cellFree:
		o.headLeft[i] = math.Max(0, o.headLeft[i]-kw)
	case cellContract:
		o.ctrLeft[i] = math.Max(0, o.ctrLeft[i]-kw)
	}
}

// resize returns v with length n, zeroed.
func resize(v []float64, n int) []float64 {
	if cap(v) < n {
		return make([]float64, n)
	}
	v = v[:n]
	clear(v)
	return v
}

// signal returns site s's forecast at slot k (the last one past the end).
func signal(snap *scheduler.Snapshot, s, k int) scheduler.Signal {
	f := snap.Energy[s].Forecast
	if len(f) == 0 {
		return snap.Energy[s].Now
	}
	if k >= len(f) {
		k = len(f) - 1
	}
	return f[k]
}
