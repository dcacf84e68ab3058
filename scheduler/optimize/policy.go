package optimize

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/suanli/suanli/scheduler"
)

// Name is the policy name the optimizer registers.
const Name = "optimizer"

func init() {
	if err := scheduler.RegisterDecider(Name,
		"rolling-horizon plan of where and when deadline work runs (min-cost over sites × hours of carbon and price, net of renewable headroom, within capacity); balanced for the rest",
		func(cfg scheduler.Config) (scheduler.Decider, error) { return New(cfg, Options{}) }); err != nil {
		panic(err)
	}
}

// Options tune the optimizer.
type Options struct {
	// CarbonWeight and PriceWeight weigh normalised grid carbon intensity
	// and price in a core-hour's cost (defaults 1 and 1).
	CarbonWeight, PriceWeight float64
	// Utilization is the share of a site's free cores the plan may use
	// for deferrable work, leaving room for services (default 0.8).
	Utilization float64
	// MinShare is the share of a workload's need in the current hour the
	// plan's budget must cover before the binder runs it now (default 0.5).
	MinShare float64
	// ReplanShare is how much the known deferrable demand must change, as
	// a share of the demand the current plan was made for, before a new
	// workload triggers a new plan within the same hour (default 0.05). A
	// new hour always brings a new plan.
	ReplanShare float64
}

func (o Options) withDefaults() Options {
	if o.CarbonWeight == 0 && o.PriceWeight == 0 {
		o.CarbonWeight, o.PriceWeight = 1, 1
	}
	if o.Utilization <= 0 || o.Utilization > 1 {
		o.Utilization = 0.8
	}
	if o.MinShare <= 0 || o.MinShare > 1 {
		o.MinShare = 0.5
	}
	if o.ReplanShare <= 0 {
		o.ReplanShare = 0.05
	}
	return o
}

// entry is deferrable work the optimizer knows about and has not placed.
type entry struct {
	id       string
	cores    float64
	hours    float64
	deadline time.Time
}

// Optimizer is the "optimizer" policy. Like a Scheduler it keeps state
// (its ledger of deferred work and its plan) and is not safe for
// concurrent use.
type Optimizer struct {
	opt      Options
	balanced *scheduler.Scheduler // work without deadline
	greenest *scheduler.Scheduler // binds planned work to a site and node

	ledger []entry
	index  map[string]int

	// the plan: budget[site*h + slot] core-hours left, for slots from
	// planStart at the snapshot's forecast step
	budget    []float64
	h         int
	planStart time.Time
	step      time.Duration
	dirty     bool
	sites     int
	// demand known now and when the plan was made, in core-hours
	demand, planned float64

	cells  []Cell
	due    []float64
	allow  *scheduler.SiteSet
	replan int // number of plans computed (for tests and metrics)
}

var _ scheduler.Decider = (*Optimizer)(nil)

// New returns an optimizer; cfg configures the built-in policies it binds
// work with.
func New(cfg scheduler.Config, opt Options) (*Optimizer, error) {
	b, err := scheduler.New("balanced", cfg)
	if err != nil {
		return nil, err
	}
	g, err := scheduler.New("greenest", cfg)
	if err != nil {
		return nil, err
	}
	return &Optimizer{opt: opt.withDefaults(), balanced: b, greenest: g, index: map[string]int{}}, nil
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
	cores := float64(w.Request.CPUMilli) / 1000
	hours := w.Duration.Hours()
	if _, ok := o.index[w.ID]; !ok {
		o.index[w.ID] = len(o.ledger)
		o.ledger = append(o.ledger, entry{id: w.ID, cores: cores, hours: hours, deadline: w.Deadline})
		o.demand += cores * hours
		if math.Abs(o.demand-o.planned) > o.opt.ReplanShare*o.planned {
			o.dirty = true
		}
	}
	start := snap.ForecastStart
	if now.After(start) {
		start = start.Add(now.Sub(start) / snap.ForecastStep * snap.ForecastStep)
	}
	if o.dirty || !start.Equal(o.planStart) || o.sites != snap.State.NumSites() || o.step != snap.ForecastStep {
		o.plan(snap, start, now)
	}

	// Run now at a site whose budget for this hour covers the work.
	need := cores * math.Min(hours, start.Add(o.step).Sub(now).Hours())
	if o.openSites(w, 0, need) {
		saved := w.Sites
		w.Sites = o.allow
		d := o.greenest.Decide(snap, w, now, rng, ex)
		w.Sites = saved
		if d.Outcome == scheduler.Place {
			o.consume(d.Site, now, cores, hours)
			o.forget(w.ID)
			if ex != nil {
				o.note(ex, fmt.Sprintf("optimizer: planned to run now; sites with plan budget this hour were the candidates (budget %.1f core-hours at %s)", o.budget[d.Site*o.h], snap.State.Site(d.Site).ID))
			}
			return d
		}
	}
	// Defer to the first later hour with budget, within the deadline.
	latest := w.Deadline.Add(-w.Duration)
	for t := 1; t < o.h; t++ {
		at := o.planStart.Add(time.Duration(t) * o.step)
		if at.After(latest) {
			break
		}
		if o.openSites(w, t, cores*math.Min(hours, o.step.Hours())) {
			// Reserve the budget at the site the plan gives most, so work
			// deferred in the same hour spreads over the window.
			best := -1
			for s := 0; s < o.sites; s++ {
				if o.allow.Has(s) && (best < 0 || o.budget[s*o.h+t] > o.budget[best*o.h+t]) {
					best = s
				}
			}
			o.consume(best, at, cores, hours)
			if ex != nil {
				o.greenest.Decide(snap, w, now, rng, ex) // fill in the feasibility picture
				o.note(ex, fmt.Sprintf("optimizer: deferred to %s, the first hour the plan gives this work budget", at.Format(time.RFC3339)))
			}
			return scheduler.Decision{Outcome: scheduler.Defer, Node: -1, Site: -1, NotBefore: at, Reason: scheduler.FilterNone}
		}
	}
	// No room in the plan before the deadline: run now, greenest first.
	d := o.greenest.Decide(snap, w, now, rng, ex)
	if d.Outcome == scheduler.Place {
		o.consume(d.Site, now, cores, hours)
		o.forget(w.ID)
	}
	o.note(ex, "optimizer: the plan has no room for this work before its deadline; placed greenest-first now")
	return d
}

func (o *Optimizer) note(ex *scheduler.Explanation, s string) {
	if ex != nil {
		ex.Policy = Name
		ex.Notes = append(ex.Notes, s)
	}
}

// openSites sets o.allow to the sites whose budget in slot t covers at least
// MinShare of need (intersected with the work's own allowed sites) and
// reports whether there is any.
func (o *Optimizer) openSites(w *scheduler.Workload, t int, need float64) bool {
	if o.allow == nil || o.allow.Len() != o.sites {
		o.allow = scheduler.NewSiteSet(o.sites)
	}
	o.allow.Clear()
	any := false
	for s := 0; s < o.sites; s++ {
		if w.Sites != nil && !w.Sites.Has(s) {
			continue
		}
		if b := o.budget[s*o.h+t]; b > 0 && b >= need*o.opt.MinShare {
			o.allow.Add(s)
			any = true
		}
	}
	return any
}

// consume takes the work's core-hours out of the plan at site, hour by
// hour from now.
func (o *Optimizer) consume(site int, now time.Time, cores, hours float64) {
	left := hours
	for t := 0; t < o.h && left > 0; t++ {
		end := o.planStart.Add(time.Duration(t+1) * o.step)
		if !end.After(now) {
			continue
		}
		from := now
		if slotStart := o.planStart.Add(time.Duration(t) * o.step); slotStart.After(now) {
			from = slotStart
		}
		d := math.Min(left, end.Sub(from).Hours())
		o.budget[site*o.h+t] -= cores * d
		left -= d
	}
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

// plan recomputes the budget from the ledger and the snapshot.
func (o *Optimizer) plan(snap *scheduler.Snapshot, start, now time.Time) {
	o.replan++
	o.dirty = false
	defer func() { o.planned = o.demand }()
	o.planStart, o.step = start, snap.ForecastStep
	o.sites = snap.State.NumSites()
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

	o.due = append(o.due[:0], make([]float64, h)...)
	for _, e := range o.ledger {
		t := int(e.deadline.Sub(start) / o.step)
		if t >= h {
			t = h - 1
		}
		if t < 0 {
			t = 0
		}
		// Work due in slot t must run in slots before it: it finishes by
		// the deadline, which falls inside slot t.
		if t > 0 {
			t--
		}
		o.due[t] += e.cores * e.hours
	}

	maxCO2, maxPrice := 0.0, 0.0
	for s := 0; s < o.sites; s++ {
		for k := 0; k < h; k++ {
			g := signal(snap, s, offset+k)
			maxCO2 = math.Max(maxCO2, g.CarbonKgPerKWh)
			maxPrice = math.Max(maxPrice, g.PriceCNYPerKWh)
		}
	}
	o.cells = o.cells[:0]
	for s := 0; s < o.sites; s++ {
		e := &snap.Energy[s]
		free := float64(snap.State.SiteCapacity(s).CPUMilli-snap.State.SiteUsed(s).CPUMilli) / 1000 * o.opt.Utilization
		if free <= 0 {
			continue
		}
		kwPerCore := e.MarginalWPerCore * e.PUE / 1000
		for k := 0; k < h; k++ {
			g := signal(snap, s, offset+k)
			capTotal := free * stepH
			green := 0.0
			if kwPerCore > 0 {
				green = math.Min(capTotal, g.RenewableHeadroomKW/kwPerCore*stepH)
			}
			eps := 1e-9 * float64(k)
			if green > 0 {
				o.cells = append(o.cells, Cell{Site: s, Slot: k, Capacity: green, Cost: eps})
			}
			cost := 0.0
			if maxCO2 > 0 {
				cost += o.opt.CarbonWeight * g.CarbonKgPerKWh / maxCO2
			}
			if maxPrice > 0 {
				cost += o.opt.PriceWeight * g.PriceCNYPerKWh / maxPrice
			}
			if rest := capTotal - green; rest > 0 {
				o.cells = append(o.cells, Cell{Site: s, Slot: k, Capacity: rest, Cost: kwPerCore*cost + eps})
			}
		}
	}
	alloc, _, err := Fill(o.cells, o.due)
	o.budget = append(o.budget[:0], make([]float64, o.sites*h)...)
	if err != nil {
		return // cannot happen: cells and demand are built valid above
	}
	for i, c := range o.cells {
		o.budget[c.Site*h+c.Slot] += alloc[i]
	}
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
