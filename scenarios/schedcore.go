package scenarios

import (
	"fmt"
	"time"

	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/optimize"
)

// MaxDeferSlack bounds scheduler.defer_slack.
const MaxDeferSlack = 7 * 24 * time.Hour

// CheckCore checks the settings of the block that the scheduling core
// takes (weights, node_candidates, defer_threshold, defer_slack,
// defer_slack_fraction, optimizer; not the forecast, which shapes the
// simulator's signals). It reports each bad setting by its path below the
// block ("weights.latency", "optimizer.utilization") with the range it
// takes. has tells whether a path was given (it only chooses where a
// both-zero optimizer weight is reported); nil means every path was.
// The scenario loader and the server's replicated scheduler configuration
// (scheduler/server) check with it, so both take the same values.
func (s *Scheduler) CheckCore(has func(field string) bool, report func(field, msg string)) {
	if has == nil {
		has = func(string) bool { return true }
	}
	check := func(ok bool, field, format string, args ...any) bool {
		if !ok {
			report(field, fmt.Sprintf(format, args...))
		}
		return ok
	}
	rangeCheck := func(field string, x, lo, hi float64) bool {
		return check(x >= lo && x <= hi, field, "%s must be in [%s, %s]", formatFloat(x), formatFloat(lo), formatFloat(hi))
	}
	w := &s.Weights
	ok := true
	for _, x := range []struct {
		name string
		w    float64
	}{{"latency", w.Latency}, {"cost", w.Cost}, {"carbon", w.Carbon}, {"binpack", w.BinPack}, {"spread", w.Spread}} {
		ok = rangeCheck("weights."+x.name, x.w, 0, 1000) && ok
	}
	if ok && w.Latency+w.Cost+w.Carbon+w.BinPack+w.Spread == 0 {
		report("weights", "every weight is 0; at least one of latency, cost, carbon, binpack, spread must be > 0 (balanced would have nothing to choose by)")
	}
	check(s.NodeCandidates >= 1 && s.NodeCandidates <= 32, "node_candidates", "%d must be in [1, 32]", s.NodeCandidates)
	rangeCheck("defer_threshold", s.DeferThreshold, 0, 1)
	check(s.DeferSlack >= 0 && s.DeferSlack.D() <= MaxDeferSlack, "defer_slack", "%s must be in [0, 7d] (0: no slack)", s.DeferSlack)
	rangeCheck("defer_slack_fraction", s.DeferSlackFraction, 0, 10)

	o := &s.Optimizer
	rangeCheck("optimizer.tolerance", o.Tolerance, 0, 10)
	rangeCheck("optimizer.recovery_hours", o.RecoveryHours, 0, 168)
	rangeCheck("optimizer.replan_share", o.ReplanShare, 0, 10)
	okC := rangeCheck("optimizer.carbon_weight", o.CarbonWeight, 0, 1000)
	okP := rangeCheck("optimizer.price_weight", o.PriceWeight, 0, 1000)
	if okC && okP && o.CarbonWeight+o.PriceWeight == 0 {
		at := "optimizer.carbon_weight"
		if !has(at) {
			at = "optimizer.price_weight"
		}
		report(at, "carbon_weight and price_weight are both 0; at least one must be > 0 (the plan would have nothing to choose by)")
	}
	check(o.Utilization > 0 && o.Utilization <= 1, "optimizer.utilization", "%s must be in (0, 1]", formatFloat(o.Utilization))
}

// Core maps the block to the core's config (without per-policy choices:
// see For). The block writes "none" as 0 (defer_threshold 0: defer for
// any gain; defer_slack 0: no slack), which the core writes as a
// negative value (its 0 means the default).
func (s *Scheduler) Core() scheduler.Config {
	w := s.Weights
	c := scheduler.Config{
		Weights:            &scheduler.Weights{scheduler.ScoreLatency: w.Latency, scheduler.ScoreCost: w.Cost, scheduler.ScoreCarbon: w.Carbon, scheduler.ScoreBinPack: w.BinPack, scheduler.ScoreSpread: w.Spread},
		NodeCandidates:     s.NodeCandidates,
		DeferThreshold:     s.DeferThreshold,
		DeferSlack:         s.DeferSlack.D(),
		DeferSlackFraction: s.DeferSlackFraction,
	}
	if c.DeferThreshold == 0 {
		c.DeferThreshold = -1
	}
	if c.DeferSlack == 0 {
		c.DeferSlack = -1
	}
	if c.DeferSlackFraction == 0 {
		c.DeferSlackFraction = -1
	}
	return c
}

// Options maps the optimizer block to the optimizer's options. The block
// writes "none" as 0 (tolerance 0: defer for any gain; recovery_hours 0:
// never; replan_share 0: a full plan for every new workload), which the
// optimizer writes as a negative value (its 0 means the default). A block
// of zeros from a hand-built scenario (both weights 0, utilization 0)
// keeps the optimizer's default weights and utilization.
func (b *Optimizer) Options() optimize.Options {
	o := optimize.Options{
		Tolerance: b.Tolerance, RecoveryHours: b.RecoveryHours, ReplanShare: b.ReplanShare,
		CarbonWeight: b.CarbonWeight, PriceWeight: b.PriceWeight, Utilization: b.Utilization,
	}
	if o.Tolerance == 0 {
		o.Tolerance = -1
	}
	if o.RecoveryHours == 0 {
		o.RecoveryHours = -1
	}
	if o.ReplanShare == 0 {
		o.ReplanShare = -1
	}
	return o
}

// For is the core's config for a run of policy with the block, as the
// simulator builds it (sim.Config.SchedulerFor): the weights only for
// balanced and the optimizer (the other scored policies keep their own
// objective), the optimizer block as the optimizer's Options (no other
// policy gets any), and preempt.
func (s *Scheduler) For(policy string, preempt bool) scheduler.Config {
	c := s.Core()
	if policy != "balanced" && policy != optimize.Name {
		c.Weights = nil
	}
	if policy == optimize.Name {
		c.Options = s.Optimizer.Options()
	}
	c.Preempt = preempt
	return c
}
