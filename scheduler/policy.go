package scheduler

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// siteMode is how a policy picks among feasible sites.
type siteMode uint8

const (
	siteScore    siteMode = iota // highest weighted score
	siteFirst                    // lowest site index
	siteRandom                   // uniformly at random
	siteRotate                   // round-robin over site indices
	siteNearest                  // lowest RTT
	siteExternal                 // chosen outside the core (Placer, NewDecider)
)

// nodeMode is how a policy picks a node inside the chosen site.
type nodeMode uint8

const (
	nodeFirst    nodeMode = iota // leftmost node that fits
	nodeRandom                   // first fit from a random position
	nodeRotate                   // first fit from a per-site cursor
	nodeBestFit                  // best of k leftmost fits by best-fit score
	nodeWorstFit                 // best of k fits from a random position by free share
)

// windowMode is whether a policy may defer deadline work to a better window.
type windowMode uint8

const (
	windowNone windowMode = iota
	windowCarbon
	windowPrice
)

// PolicySpec describes a policy: how it picks a site and a node, how it
// weighs the scorers, and whether it defers work to a greener or cheaper
// window. Built-in policies are registered by name; Register adds more.
type PolicySpec struct {
	Name        string
	Description string
	site        siteMode
	node        nodeMode
	window      windowMode
	// Weights of the scorers when the policy scores sites.
	Weights Weights
}

// Config tunes a Scheduler.
type Config struct {
	// Weights, if non-nil, replace the policy's scorer weights.
	Weights *Weights
	// NodeCandidates is how many fitting nodes the best-fit and worst-fit
	// node choices compare inside the chosen site (default 4).
	NodeCandidates int
	// DeferThreshold is how much better (as a fraction) a future window
	// must be than starting now before a window policy defers: 0 means
	// the default (0.1), negative means any improvement at all.
	DeferThreshold float64
	// DeferSlack is how long before its latest start (deadline − transfer
	// − duration) a deferred start must lie, so deferred work that finds
	// no room when it comes back can still start a step later or at
	// another site and meet its deadline. 0 means one forecast step;
	// negative means none (defer to the last moment).
	DeferSlack time.Duration
	// DeferSlackFraction (0: DefaultDeferSlackFraction; negative: none)
	// raises the slack of work to at least
	// DeferSlackFraction times the run time one interruption can cost it
	// (Workload.AtRisk: what is left of its run, or one checkpoint period;
	// see SlackFor): interrupted work restarts from its last checkpoint
	// (from scratch without checkpoints), so a deferred start with a slack
	// of the run time at risk can absorb one interruption and still meet
	// its deadline.
	DeferSlackFraction float64
	// Preempt lets work that finds no room evict running work of lower
	// priority (Workload.Priority) when the snapshot describes the running
	// work (Snapshot.Running): see Decision.Preempt.
	Preempt bool
	// Options are the own options of a policy implemented outside this
	// package (RegisterDecider), handed to its factory with the rest of
	// the Config; the core does not read them. nil means the policy's
	// defaults; a factory refuses options of a type it does not take (the
	// optimizer takes optimize.Options). Built-in policies have none and
	// ignore them.
	Options any
}

func (c *Config) withDefaults() Config {
	out := *c
	if out.NodeCandidates <= 0 {
		out.NodeCandidates = 4
	}
	if out.NodeCandidates > maxNodeCandidates {
		out.NodeCandidates = maxNodeCandidates
	}
	switch {
	case out.DeferThreshold == 0:
		out.DeferThreshold = 0.1
	case out.DeferThreshold < 0:
		out.DeferThreshold = 0
	}
	switch {
	case out.DeferSlackFraction == 0:
		out.DeferSlackFraction = DefaultDeferSlackFraction
	case out.DeferSlackFraction < 0:
		out.DeferSlackFraction = 0
	}
	return out
}

// DefaultDeferSlackFraction is the DeferSlackFraction in force when a
// Config leaves it 0: a deferred start leaves room for one interruption
// (docs/ARCHITECTURE.md, "Deferral slack", has the measurements behind
// it). The simulator's scenario default and the servers use the same.
const DefaultDeferSlackFraction = 1.0

// WithDefaults returns c with its defaults filled in, as New uses it:
// NodeCandidates in [1, 32], DeferThreshold in force (0.1 for 0, 0 for a
// negative value). DeferSlack keeps its encoding (0: one forecast step,
// negative: none); Slack and SlackFor resolve it.
func (c Config) WithDefaults() Config { return c.withDefaults() }

const maxNodeCandidates = 32

// Slack is the DeferSlack in force for forecasts of the given step.
func (c *Config) Slack(step time.Duration) time.Duration {
	switch {
	case c.DeferSlack < 0:
		return 0
	case c.DeferSlack == 0:
		return step
	}
	return c.DeferSlack
}

// SlackFor is the slack in force before the latest start of work with
// run time dur at risk (Workload.AtRisk), with forecasts of the given
// step: the larger of Slack(step) and DeferSlackFraction·dur.
func (c *Config) SlackFor(step, dur time.Duration) time.Duration {
	s := c.Slack(step)
	if c.DeferSlackFraction > 0 && dur > 0 {
		f := math.Round(c.DeferSlackFraction * float64(dur))
		if f >= math.MaxInt64 {
			return time.Duration(math.MaxInt64)
		}
		if time.Duration(f) > s {
			s = time.Duration(f)
		}
	}
	return s
}

// tieBreak is a tiny latency weight that makes single-objective policies
// prefer the nearer of two otherwise equal sites, deterministically.
const tieBreak = 1e-3

var registry = map[string]PolicySpec{}

func init() {
	for _, p := range []PolicySpec{
		{Name: "first-fit", Description: "first site (by index) and first node that fit", site: siteFirst, node: nodeFirst},
		{Name: "random", Description: "a feasible site and node chosen uniformly at random", site: siteRandom, node: nodeRandom},
		{Name: "round-robin", Description: "rotates over sites and over nodes within each site", site: siteRotate, node: nodeRotate},
		{Name: "nearest", Description: "lowest network latency from the origin (latency only)", site: siteNearest, node: nodeFirst},
		{Name: "cheapest", Description: "lowest energy cost now (price × PUE, less free renewable headroom; contract power at its price)", site: siteScore, node: nodeBestFit,
			Weights: Weights{ScoreCost: 1, ScoreLatency: tieBreak}},
		{Name: "greenest", Description: "lowest carbon now (grid intensity × PUE, less renewable headroom)", site: siteScore, node: nodeBestFit,
			Weights: Weights{ScoreCarbon: 1, ScoreLatency: tieBreak}},
		{Name: "binpack", Description: "fullest site and best-fitting node (Nomad-like bin packing)", site: siteScore, node: nodeBestFit,
			Weights: Weights{ScoreBinPack: 1, ScoreLatency: tieBreak}},
		{Name: "spread", Description: "least allocated site and node (kube-scheduler-like LeastAllocated)", site: siteScore, node: nodeWorstFit,
			Weights: Weights{ScoreSpread: 1, ScoreLatency: tieBreak}},
		{Name: "balanced", Description: "weighted latency, cost, carbon, bin-pack and spread", site: siteScore, node: nodeBestFit,
			Weights: Weights{ScoreLatency: 1, ScoreCost: 1, ScoreCarbon: 1, ScoreBinPack: 0.5, ScoreSpread: 0.1}},
		{Name: "carbon-window", Description: "greenest now, but defers deadline work to the lowest-carbon forecast window that still meets the deadline", site: siteScore, node: nodeBestFit, window: windowCarbon,
			Weights: Weights{ScoreCarbon: 1, ScoreLatency: tieBreak}},
		{Name: "price-window", Description: "cheapest now, but defers deadline work to the cheapest forecast window that still meets the deadline", site: siteScore, node: nodeBestFit, window: windowPrice,
			Weights: Weights{ScoreCost: 1, ScoreLatency: tieBreak}},
	} {
		registry[p.Name] = p
	}
}

// Decider is a policy implemented outside this package (the optimizer in
// scheduler/optimize): it decides like Scheduler.Decide and may use
// Schedulers of built-in policies to place work.
type Decider interface {
	Decide(snap *Snapshot, w *Workload, now time.Time, rng *rand.Rand, ex *Explanation) Decision
}

type deciderEntry struct {
	description string
	factory     func(Config) (Decider, error)
}

var deciders = map[string]deciderEntry{}

// RegisterDecider adds a policy implemented by a Decider; New(name, cfg)
// then returns a Scheduler that delegates to factory(cfg). The factory
// takes its own options from cfg.Options (nil: its defaults) and returns
// an error for options it does not take. Call it from an init function;
// it fails if the name is taken.
func RegisterDecider(name, description string, factory func(Config) (Decider, error)) error {
	if _, ok := registry[name]; ok {
		return fmt.Errorf("scheduler: policy %q already registered", name)
	}
	if _, ok := deciders[name]; ok {
		return fmt.Errorf("scheduler: policy %q already registered", name)
	}
	deciders[name] = deciderEntry{description, factory}
	return nil
}

// PolicyNames lists the registered policies in sorted order.
func PolicyNames() []string {
	out := make([]string, 0, len(registry)+len(deciders))
	for n := range registry {
		out = append(out, n)
	}
	for n := range deciders {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// LookupPolicy returns the named policy's spec.
func LookupPolicy(name string) (PolicySpec, error) {
	p, ok := registry[name]
	if d, isDecider := deciders[name]; isDecider {
		return PolicySpec{Name: name, Description: d.description}, nil
	}
	if !ok {
		return PolicySpec{}, fmt.Errorf("scheduler: unknown policy %q (allowed: %s)", name, strings.Join(PolicyNames(), ", "))
	}
	return p, nil
}

// Register adds a scored policy with the given weights: it picks the best
// site by weighted score and the best-fitting node. It fails if the name is
// taken. Register is not safe for concurrent use with New; call it from init.
func Register(name, description string, w Weights) error {
	if _, ok := registry[name]; ok {
		return fmt.Errorf("scheduler: policy %q already registered", name)
	}
	for i, v := range w {
		if v < 0 {
			return fmt.Errorf("scheduler: policy %q: weight of %s is negative", name, Scorer(i))
		}
	}
	registry[name] = PolicySpec{Name: name, Description: description, site: siteScore, node: nodeBestFit, Weights: w}
	return nil
}
