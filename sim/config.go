package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/nodes/energy"
	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/external"
	"github.com/suanli/suanli/scheduler/optimize"
)

// Config is everything one simulation run needs, in the simulator's own
// terms. FromScenario builds it from a loaded scenario file; tests build it
// directly.
type Config struct {
	// Name names the scenario in outputs.
	Name string
	// Seed derives every random stream of the run.
	Seed uint64
	// Start is the virtual time at which the run starts (its location sets
	// the hour of day and weekday of arrival shapes and tariffs).
	Start time.Time
	// Horizon is how long the run lasts.
	Horizon time.Duration
	// Interval is the energy accounting step (default 15 minutes).
	Interval time.Duration
	// ForecastStep and ForecastSteps shape the forecast the core sees
	// (defaults 1 h and 48).
	ForecastStep  time.Duration
	ForecastSteps int

	Topology nodes.Topology
	Cities   []nodes.City
	Latency  nodes.LatencyModel
	// Jitter is added to the RTT of every placed workload: latency =
	// RTT + E·(JitterBaseMs + JitterFraction·RTT), E ~ Exp(1) drawn per
	// workload.
	JitterBaseMs   float64
	JitterFraction float64
	// BandwidthGbps is the input-transfer bandwidth into each site (by site
	// index; empty or 0 = transfers are instant).
	BandwidthGbps []float64

	// NodePower is the IT power model of each node type (Node.Type); a
	// node's capacity must be its type's capacity. A node that is down
	// draws nothing.
	NodePower map[string]*energy.ServerPower
	// NewEnergy returns a fresh energy model for the site with the given
	// index. Every run gets its own models (they carry state, such as a
	// battery's charge), so policies can run in parallel.
	NewEnergy func(site int) (EnergyModel, error)

	Classes []Class
	Events  []ScenarioEvent
	// Policies are the policies compared when none are asked for.
	Policies []string
	// Power switches idle nodes off and wakes them for work; the zero
	// value keeps every node on.
	Power PowerManagement
	// Preempt lets work that finds no room evict running work of classes
	// with a lower priority (scheduler.Config.Preempt); the evicted work
	// is stopped as by an outage and placed again.
	Preempt bool
	// Scheduler tunes the core for every policy (the scenario's scheduler
	// block); the zero value is the core's defaults. Its Weights are the
	// balanced policy's and reach only balanced and the optimizer (which
	// places work without a deadline as balanced); SchedulerFor gives the
	// config a policy runs with. Its Preempt is ORed with Preempt.
	Scheduler scheduler.Config
	// Embodied is the embodied carbon the hardware of each site (by site
	// index) accrues: its servers' and battery's manufacturing footprint
	// over their lifetimes, whether they are busy, idle, off or down.
	// Empty (or shorter than the sites) means none for the sites left
	// out. The runner adds it per interval and site, never per event.
	Embodied []EmbodiedRate
	// Optimizer tunes the optimizer policy (the scenario's
	// scheduler.optimizer); the zero value is its defaults. SchedulerFor
	// hands it to the optimizer only (scheduler.Config.Options).
	Optimizer optimize.Options
	// External are the external policies a run may name, by NAME: policy
	// "external:NAME" runs a child process of that spec per run
	// (docs/external-policy.md).
	External map[string]external.Spec
	// RetryQuantum is the least virtual time between two retries of
	// waiting work triggered by freed capacity (default 30 s); waiting work
	// is also retried at every interval.
	RetryQuantum time.Duration
}

// EmbodiedRate is the embodied carbon a site's hardware accrues per hour
// of the run, in kg CO2e: servers (with their GPUs) and battery apart.
type EmbodiedRate struct {
	ServersKgPerHour, BatteryKgPerHour float64
}

// Balance is one site's energy account of one interval, as the energy
// model (package nodes/energy) settles it. Energies are in kWh over the
// interval; the identities every interval satisfies (and the runner checks
// in test mode) are
//
//	RenewableUsedKWh + BatteryDischargeKWh + GridKWh = FacilityKWh + BatteryChargeKWh
//	RenewableGeneratedKWh = RenewableUsedKWh + CurtailedKWh
type Balance = energy.Interval

// EnergyModel is one site's energy system (PUE, on-site generation,
// contracts, battery, tariff, grid carbon) as the runner drives it;
// *energy.Site implements it. Step is called once per interval and site,
// never per event; Signal and Forecast must not change the model's
// random state (they are asked once per interval too).
type EnergyModel interface {
	// Step accounts [t, t+dt) in which the site's IT equipment used itKWh,
	// and advances the model (battery, weather).
	Step(t time.Time, dt time.Duration, itKWh float64) (energy.Interval, error)
	// SetRenewableScale scales generation from now on (1 normally, lower
	// during a drought event).
	SetRenewableScale(f float64)
	// Signal is the signal at t with itKW of IT load.
	Signal(t time.Time, itKW float64) energy.Signal
	// Forecast fills dst[k] with the expected signal of [t+k·step,
	// t+(k+1)·step) if the site keeps drawing itKW of IT power.
	Forecast(t time.Time, step time.Duration, itKW float64, dst []energy.Signal) []energy.Signal
	// PUE is the facility's power usage effectiveness at itKW of IT load.
	PUE(t time.Time, itKW float64) float64
}

var _ EnergyModel = (*energy.Site)(nil)

// ClassKind says how a class's work behaves.
type ClassKind uint8

const (
	// Service work runs for its lifetime and has no deadline; it waits in
	// the queue for at most Patience.
	Service ClassKind = iota
	// Batch work has a deadline (usually) and may be deferred by window
	// policies and the optimizer.
	Batch
)

// Class is one stream of work: its arrival process (Poisson, or the
// records of a trace) and the work it brings.
type Class struct {
	// Name is unique among classes; it names the class's random streams
	// and its rows in the outputs.
	Name string
	// Group is the workload class the stream belongs to (several streams
	// may share one, e.g. "analytics"); demand surges select by Group or
	// Name. Empty means Name.
	Group string
	Kind  ClassKind
	// RatePerHour is the mean province-wide arrival rate before shaping
	// (ignored when Records is set).
	RatePerHour float64
	// OriginWeights weighs the cities (by origin index) work comes from;
	// nil means all cities equally.
	OriginWeights []float64
	// HourShape and WeekdayShape multiply the rate by hour of day (0–23)
	// and weekday (Sunday = 0); nil means flat.
	HourShape    []float64
	WeekdayShape []float64
	// Bursts: bursts start as a Poisson process of BurstsPerDay; each
	// multiplies the rate by BurstFactor for BurstDuration.
	BurstsPerDay  float64
	BurstFactor   float64
	BurstDuration time.Duration

	// CPUMilli, MemoryMiB and GPUMilli size one workload; Duration is its
	// run time (service lifetime) in hours; Slack, if set, gives its
	// deadline in hours after arrival; InputMB its input data.
	CPUMilli, MemoryMiB, GPUMilli Dist
	DurationHours                 Dist
	SlackHours                    *Dist
	InputMB                       Dist

	// Tasks is how many identical single-node instances one arrival
	// brings (rounded; below 1 means 1).
	Tasks Dist
	// Records, when set, replace the Poisson process: one arrival per
	// record, at its time, with its size and duration (the distributions
	// above are not used for those; Tasks is not used at all).
	Records []TraceRecord

	// LatencyBoundMs bounds the network RTT from the origin to the site
	// (0 = none); the core only considers sites within it.
	LatencyBoundMs float64
	Priority       int
	// Tiers restricts tiers (0 = any); Sites restricts sites by index (nil
	// = any); SameCity restricts the work to sites in its origin city.
	Tiers    nodes.TierSet
	Sites    []int
	SameCity bool
	// Patience is how long work may wait for capacity. 0 means the
	// default: 15 minutes for services; for batch work, until its deadline
	// (or, without one, until the horizon).
	Patience time.Duration
	// Checkpoint is how often running batch work saves progress; work
	// interrupted by an outage resumes from its last checkpoint (0: it
	// restarts from the beginning). Services always resume for their
	// remaining lifetime.
	Checkpoint time.Duration
}

// TraceRecord is one arrival of a replayed trace.
type TraceRecord struct {
	// At is the arrival time since the run's start.
	At       time.Duration
	Duration time.Duration
	Request  nodes.Resources
}

// DistKind is the family of a distribution.
type DistKind uint8

const (
	// Const is always A.
	Const DistKind = iota
	// Uniform is uniform on [A, B).
	Uniform
	// LogNormal has median A and log-space standard deviation B.
	LogNormal
	// LogUniform is log-uniform on [A, B).
	LogUniform
	// Exponential has mean A.
	Exponential
	// Choice picks one of Values with the probabilities Weights.
	Choice
)

// Dist is a distribution of a non-negative quantity. Samples are clamped
// to [Min, Max] (when Max > 0) and rounded to a multiple of Step (when
// Step > 0).
type Dist struct {
	Kind     DistKind
	A, B     float64
	Values   []float64
	Weights  []float64
	Min, Max float64
	Step     float64
}

// ConstDist returns the constant distribution v.
func ConstDist(v float64) Dist { return Dist{Kind: Const, A: v} }

// Sample draws one value.
func (d *Dist) Sample(r *rand.Rand) float64 {
	var v float64
	switch d.Kind {
	case Const:
		v = d.A
	case Uniform:
		v = d.A + (d.B-d.A)*r.Float64()
	case LogNormal:
		v = d.A * math.Exp(d.B*r.NormFloat64())
	case LogUniform:
		v = math.Exp(math.Log(d.A) + (math.Log(d.B)-math.Log(d.A))*r.Float64())
	case Exponential:
		v = d.A * r.ExpFloat64()
	case Choice:
		total := 0.0
		for _, w := range d.Weights {
			total += w
		}
		x := r.Float64() * total
		v = d.Values[len(d.Values)-1]
		for i, w := range d.Weights {
			if x < w {
				v = d.Values[i]
				break
			}
			x -= w
		}
	}
	if d.Step > 0 {
		v = math.Round(v/d.Step) * d.Step
	}
	if v < d.Min {
		v = d.Min
	}
	if d.Max > 0 && v > d.Max {
		v = d.Max
	}
	if v < 0 {
		v = 0
	}
	return v
}

func (d *Dist) validate() error {
	switch d.Kind {
	case Const, Exponential:
		if !(d.A >= 0) {
			return fmt.Errorf("parameter %g must be >= 0", d.A)
		}
	case Uniform:
		if !(d.A >= 0 && d.B >= d.A) {
			return fmt.Errorf("uniform [%g,%g) must have 0 <= min <= max", d.A, d.B)
		}
	case LogNormal:
		if !(d.A > 0 && d.B >= 0) {
			return fmt.Errorf("lognormal median %g must be > 0 and sigma %g >= 0", d.A, d.B)
		}
	case LogUniform:
		if !(d.A > 0 && d.B >= d.A) {
			return fmt.Errorf("log-uniform [%g,%g) must have 0 < min <= max", d.A, d.B)
		}
	case Choice:
		if len(d.Values) == 0 || len(d.Values) != len(d.Weights) {
			return fmt.Errorf("choice needs as many weights as values (got %d values, %d weights)", len(d.Values), len(d.Weights))
		}
		for _, w := range d.Weights {
			if !(w >= 0) {
				return fmt.Errorf("choice weight %g must be >= 0", w)
			}
		}
	default:
		return fmt.Errorf("unknown distribution kind %d", d.Kind)
	}
	if d.Max > 0 && d.Max < d.Min {
		return fmt.Errorf("max %g < min %g", d.Max, d.Min)
	}
	return nil
}

// EventKind is the type of a scenario event.
type EventKind uint8

const (
	// SiteOutage takes every node of Sites down for the window.
	SiteOutage EventKind = iota
	// NodeOutage takes Nodes nodes (or Fraction of them) of the one site in
	// Sites down, only nodes of NodeType when it is set; they are chosen at
	// random from the event's own stream.
	NodeOutage
	// DemandSurge multiplies the arrival rate of the classes in Classes
	// (matched against Class.Group and Class.Name; empty = every class)
	// from the origins in Cities (empty = every city) by Factor.
	DemandSurge
	// RenewableDrought scales solar and wind generation of Sites (empty =
	// every site) by Factor.
	RenewableDrought
)

var eventKindNames = []string{"site-outage", "node-outage", "demand-surge", "renewable-drought"}

func (k EventKind) String() string {
	if int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// ScenarioEvent is something that happens to the province during a run,
// over [At, At+Duration).
type ScenarioEvent struct {
	Kind     EventKind
	Name     string
	At       time.Duration // since Start
	Duration time.Duration
	Sites    []int // site indices
	Nodes    int
	Fraction float64
	NodeType string
	Classes  []string
	Cities   []int // origin indices
	Factor   float64
}

// Validate checks the config is complete and consistent.
func (c *Config) Validate() error {
	var errs []error
	add := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	if c.Horizon <= 0 {
		add("horizon %v must be > 0", c.Horizon)
	}
	if c.Interval <= 0 {
		add("interval %v must be > 0", c.Interval)
	}
	if c.ForecastStep <= 0 || c.ForecastSteps < 1 {
		add("forecast step %v and steps %d must be > 0", c.ForecastStep, c.ForecastSteps)
	}
	if err := c.Topology.Validate(); err != nil {
		add("topology: %w", err)
	}
	if len(c.Topology.Sites) == 0 || len(c.Topology.Nodes) == 0 {
		add("topology needs at least one site and one node")
	}
	if len(c.Cities) == 0 {
		add("no cities")
	}
	if c.NewEnergy == nil {
		add("no energy models (NewEnergy is nil)")
	}
	for _, n := range c.Topology.Nodes {
		p, ok := c.NodePower[n.Type]
		if !ok || p == nil {
			add("node %s: no power model for node type %q", n.ID, n.Type)
			break
		}
		if p.Capacity() != n.Capacity {
			add("node %s: capacity %v differs from its type %q's power model capacity %v", n.ID, n.Capacity, n.Type, p.Capacity())
			break
		}
	}
	if len(c.Classes) == 0 {
		add("no workload classes")
	}
	seen, groups := map[string]bool{}, map[string]bool{}
	for i := range c.Classes {
		k := &c.Classes[i]
		if k.Name == "" || seen[k.Name] {
			add("class %d: empty or duplicate name %q", i, k.Name)
		}
		seen[k.Name] = true
		groups[k.Group] = true
		if k.Kind != Service && k.Kind != Batch {
			add("class %s: unknown kind %d", k.Name, k.Kind)
		}
		for j, tr := range k.Records {
			if tr.At < 0 || tr.Duration < 0 || tr.Request.CPUMilli <= 0 || !tr.Request.NonNegative() {
				add("class %s: record %d: at %v, duration %v, request %v need at, duration >= 0 and cpu > 0", k.Name, j, tr.At, tr.Duration, tr.Request)
				break
			}
			if j > 0 && tr.At < k.Records[j-1].At {
				add("class %s: record %d arrives at %v, before record %d (%v): records must be in time order", k.Name, j, tr.At, j-1, k.Records[j-1].At)
				break
			}
		}
		if !(k.RatePerHour >= 0) {
			add("class %s: rate %g must be >= 0", k.Name, k.RatePerHour)
		}
		if k.OriginWeights != nil && len(k.OriginWeights) != len(c.Cities) {
			add("class %s: %d origin weights for %d cities", k.Name, len(k.OriginWeights), len(c.Cities))
		}
		if k.HourShape != nil && len(k.HourShape) != 24 {
			add("class %s: hour shape needs 24 values, got %d", k.Name, len(k.HourShape))
		}
		if k.WeekdayShape != nil && len(k.WeekdayShape) != 7 {
			add("class %s: weekday shape needs 7 values, got %d", k.Name, len(k.WeekdayShape))
		}
		for _, d := range []struct {
			name string
			d    *Dist
		}{{"cpu_milli", &k.CPUMilli}, {"memory_mib", &k.MemoryMiB}, {"gpu_milli", &k.GPUMilli}, {"duration", &k.DurationHours}, {"input_mb", &k.InputMB}, {"tasks", &k.Tasks}} {
			if err := d.d.validate(); err != nil {
				add("class %s: %s: %w", k.Name, d.name, err)
			}
		}
		if k.SlackHours != nil {
			if err := k.SlackHours.validate(); err != nil {
				add("class %s: slack: %w", k.Name, err)
			}
		}
		for _, s := range k.Sites {
			if s < 0 || s >= len(c.Topology.Sites) {
				add("class %s: site index %d out of range", k.Name, s)
			}
		}
	}
	for i, e := range c.Events {
		if e.At < 0 || e.Duration <= 0 {
			add("event %d (%s): at %v must be >= 0 and duration %v > 0", i, e.Kind, e.At, e.Duration)
		}
		for _, s := range e.Sites {
			if s < 0 || s >= len(c.Topology.Sites) {
				add("event %d (%s): site index %d out of range", i, e.Kind, s)
			}
		}
		for _, o := range e.Cities {
			if o < 0 || o >= len(c.Cities) {
				add("event %d (%s): city index %d out of range", i, e.Kind, o)
			}
		}
		switch e.Kind {
		case SiteOutage:
			if len(e.Sites) == 0 {
				add("event %d (%s): no site", i, e.Kind)
			}
		case NodeOutage:
			if len(e.Sites) != 1 {
				add("event %d (%s): needs exactly one site, got %d", i, e.Kind, len(e.Sites))
			}
			if e.Nodes < 0 || !(e.Fraction >= 0 && e.Fraction <= 1) || (e.Nodes == 0) == (e.Fraction == 0) {
				add("event %d (%s): needs nodes > 0 or a fraction in (0,1], not both (got %d, %g)", i, e.Kind, e.Nodes, e.Fraction)
			}
		case DemandSurge, RenewableDrought:
			if !(e.Factor >= 0) || math.IsInf(e.Factor, 0) {
				add("event %d (%s): factor %g must be a finite number >= 0", i, e.Kind, e.Factor)
			}
		default:
			add("event %d: unknown kind %d", i, e.Kind)
		}
		for _, k := range e.Classes {
			if !seen[k] && !groups[k] {
				add("event %d (%s): unknown class %q", i, e.Kind, k)
			}
		}
	}
	for _, p := range c.Policies {
		if err := c.CheckPolicy(p); err != nil {
			add("%w", err)
		}
	}
	if w := c.Scheduler.Weights; w != nil {
		sum := 0.0
		for k, x := range w {
			if !(x >= 0) || math.IsInf(x, 0) {
				add("scheduler: weight of %s is %g; want a finite number >= 0", scheduler.Scorer(k), x)
			}
			sum += x
		}
		if sum == 0 {
			add("scheduler: every weight is 0")
		}
	}
	if f := c.Scheduler.DeferSlackFraction; math.IsNaN(f) || math.IsInf(f, 0) || math.IsNaN(c.Scheduler.DeferThreshold) {
		add("scheduler: defer slack fraction %g and threshold %g must be numbers", f, c.Scheduler.DeferThreshold)
	}
	return errors.Join(errs...)
}

// CheckPolicy reports whether a run of c can use policy: a registered
// one, or "external:NAME" with NAME in External.
func (c *Config) CheckPolicy(policy string) error {
	name, ok := strings.CutPrefix(policy, external.Prefix)
	if !ok {
		_, err := scheduler.LookupPolicy(policy)
		return err
	}
	if !external.ValidName(name) {
		return fmt.Errorf("policy %s: an external policy's name is %s", policy, external.NameRule)
	}
	if _, ok := c.External[name]; !ok {
		known := make([]string, 0, len(c.External))
		for n := range c.External {
			known = append(known, n)
		}
		sort.Strings(known)
		if len(known) == 0 {
			return fmt.Errorf("policy %s: no external policy %q is defined (give its command with --external %s=COMMAND, or in the scenario's external_policies)", policy, name, name)
		}
		return fmt.Errorf("policy %s: no external policy %q is defined (defined: %s)", policy, name, strings.Join(known, ", "))
	}
	return nil
}

// SchedulerFor is the core's config for a run of policy: Scheduler, with
// its Weights only for balanced and the optimizer (the other scored
// policies keep their own objective), Optimizer as the optimizer's
// Options (no other policy gets any), and Preempt set when either Preempt
// is.
func (c *Config) SchedulerFor(policy string) scheduler.Config {
	sc := c.Scheduler
	if sc.Weights != nil {
		w := *sc.Weights
		sc.Weights = &w
	}
	if policy != "balanced" && policy != optimize.Name {
		sc.Weights = nil
	}
	sc.Options = nil
	if policy == optimize.Name {
		sc.Options = c.Optimizer
	}
	sc.Preempt = sc.Preempt || c.Preempt
	return sc
}

// SchedulerSettings are the core's settings in force for a run of c, as
// summary.json records them (docs/outputs.md).
type SchedulerSettings struct {
	// Weights are the balanced policy's scorer weights.
	Weights            WeightSettings `json:"weights"`
	NodeCandidates     int            `json:"node_candidates"`
	DeferThreshold     float64        `json:"defer_threshold"`
	DeferSlackHours    float64        `json:"defer_slack_hours"`
	DeferSlackFraction float64        `json:"defer_slack_fraction"`
	Preemption         bool           `json:"preemption"`
	// Optimizer are the optimizer policy's options in force.
	Optimizer OptimizerSettings `json:"optimizer"`
	// Forecast is the forecast the window policies and the optimizer see.
	Forecast ForecastSettings `json:"forecast"`
}

// OptimizerSettings are the optimizer's options in force, in the
// scenario's terms (scheduler.optimizer): 0 is none (never, for
// RecoveryHours).
type OptimizerSettings struct {
	Tolerance     float64 `json:"tolerance"`
	RecoveryHours float64 `json:"recovery_hours"`
	ReplanShare   float64 `json:"replan_share"`
	CarbonWeight  float64 `json:"carbon_weight"`
	PriceWeight   float64 `json:"price_weight"`
	Utilization   float64 `json:"utilization"`
}

// ForecastSettings are the forecast's step and reach in hours.
type ForecastSettings struct {
	StepHours    float64 `json:"step_hours"`
	HorizonHours float64 `json:"horizon_hours"`
}

// WeightSettings are scorer weights by scorer name (scheduler.ScorerNames).
type WeightSettings struct {
	Latency float64 `json:"latency"`
	Cost    float64 `json:"cost"`
	Carbon  float64 `json:"carbon"`
	BinPack float64 `json:"binpack"`
	Spread  float64 `json:"spread"`
}

// SchedulerSettings resolves c.Scheduler (and Preempt) to the settings in
// force: defaults filled in, the slack of one forecast step in hours.
func (c *Config) SchedulerSettings() SchedulerSettings {
	sc := c.SchedulerFor("balanced")
	eff := sc.WithDefaults()
	w := eff.Weights
	if w == nil {
		spec, err := scheduler.LookupPolicy("balanced")
		if err != nil {
			panic(err) // built in
		}
		w = &spec.Weights
	}
	step, steps := c.ForecastStep, c.ForecastSteps
	if step <= 0 {
		step = time.Hour
	}
	if steps <= 0 {
		steps = 48
	}
	o := c.Optimizer.WithDefaults()
	return SchedulerSettings{
		Optimizer: OptimizerSettings{Tolerance: o.Tolerance, RecoveryHours: max(o.RecoveryHours, 0), ReplanShare: o.ReplanShare,
			CarbonWeight: o.CarbonWeight, PriceWeight: o.PriceWeight, Utilization: o.Utilization},
		Forecast: ForecastSettings{StepHours: step.Hours(), HorizonHours: (time.Duration(steps) * step).Hours()},
		Weights: WeightSettings{Latency: w[scheduler.ScoreLatency], Cost: w[scheduler.ScoreCost], Carbon: w[scheduler.ScoreCarbon],
			BinPack: w[scheduler.ScoreBinPack], Spread: w[scheduler.ScoreSpread]},
		NodeCandidates:     eff.NodeCandidates,
		DeferThreshold:     eff.DeferThreshold,
		DeferSlackHours:    eff.Slack(step).Hours(),
		DeferSlackFraction: eff.DeferSlackFraction,
		Preemption:         eff.Preempt,
	}
}

// DefaultServicePatience is how long service work waits for capacity
// when its class does not say.
const DefaultServicePatience = 15 * time.Minute

// PowerManagement switches nodes with nothing allocated off after
// IdleOffAfter (0: never), leaving KeepOn idle nodes on per site; an off
// node draws OffW watts, and work placed on it starts Wake later (the node
// draws its loaded power from the moment it is woken).
type PowerManagement struct {
	IdleOffAfter time.Duration
	OffW         float64
	Wake         time.Duration
	KeepOn       int
}

// withDefaults fills zero durations with their defaults.
func (c *Config) withDefaults() {
	if c.Interval == 0 {
		c.Interval = 15 * time.Minute
	}
	if c.ForecastStep == 0 {
		c.ForecastStep = time.Hour
	}
	if c.ForecastSteps == 0 {
		c.ForecastSteps = 48
	}
	if c.RetryQuantum == 0 {
		c.RetryQuantum = 30 * time.Second
	}
	classes := make([]Class, len(c.Classes))
	for i, k := range c.Classes {
		if k.Group == "" {
			k.Group = k.Name
		}
		if k.Patience == 0 && k.Kind == Service {
			k.Patience = DefaultServicePatience
		}
		classes[i] = k
	}
	c.Classes = classes
}
