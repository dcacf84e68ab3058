package fsm

import (
	"fmt"
	"strings"
	"time"

	"github.com/suanli/suanli/scenarios"
	"github.com/suanli/suanli/scheduler"
	_ "github.com/suanli/suanli/scheduler/optimize" // the optimizer policy: every server knows the same policies
	"github.com/suanli/suanli/scheduler/server/api"
)

// SetScheduler sets the cluster's scheduler configuration (the policy and
// the core's settings every leader schedules with). The FSM checks it
// again (CheckSchedulerConfig) and refuses a bad one.
type SetScheduler struct {
	Config api.SchedulerConfig `json:"config"`
	// CAS, if set, applies the command only if the configuration was last
	// set at index *CAS (0: only if none is set yet, as the first leader
	// seeds it); otherwise it is refused as a conflict on "cas".
	CAS *uint64 `json:"cas,omitempty"`
}

// SchedulerState is the replicated scheduler configuration and the index
// of the entry that set it.
type SchedulerState struct {
	Config      api.SchedulerConfig `json:"config"`
	ModifyIndex uint64              `json:"modify_index"`
}

// SetSchedulerResult is the result of a SetScheduler command: the
// configuration in force after it.
type SetSchedulerResult struct {
	SchedulerState
}

func (f *FSM) applySetScheduler(index uint64, c *SetScheduler) any {
	cur := f.scheduler.Load()
	if c.CAS != nil {
		var at uint64
		if cur != nil {
			at = cur.ModifyIndex
		}
		if at != *c.CAS {
			msg := fmt.Sprintf("check-and-set index %d is stale: the scheduler configuration was set at index %d since; read it again (GET /v1/operator/scheduler) and retry with ?cas=%d", *c.CAS, at, at)
			if at == 0 {
				msg = fmt.Sprintf("check-and-set index %d: no scheduler configuration is set yet; use ?cas=0", *c.CAS)
			}
			return &api.Error{Code: api.CodeConflict, Field: "cas", Message: msg}
		}
	}
	if e := CheckSchedulerConfig(&c.Config); e != nil {
		return e
	}
	st := &SchedulerState{Config: c.Config, ModifyIndex: index}
	f.scheduler.Store(st)
	return &SetSchedulerResult{SchedulerState: *st}
}

// Scheduler returns the replicated scheduler configuration; ok is false
// while none is set. It takes no lock.
func (f *FSM) Scheduler() (st SchedulerState, ok bool) {
	if p := f.scheduler.Load(); p != nil {
		return *p, true
	}
	return SchedulerState{}, false
}

// DefaultSchedulerConfig is the configuration of a scenario without a
// scheduler block, with the given policy and preemption: what a server
// seeds a cluster with from --policy and --preempt alone.
func DefaultSchedulerConfig(policy string, preempt bool) api.SchedulerConfig {
	b := scenarios.DefaultScheduler()
	return SchedulerConfigFromScenario(policy, preempt, &b)
}

// SchedulerConfigFromScenario is the configuration that runs policy with
// a scenario's scheduler block (its forecast is not part of it: the
// servers' energy source has its own).
func SchedulerConfigFromScenario(policy string, preempt bool, b *scenarios.Scheduler) api.SchedulerConfig {
	w, o := b.Weights, b.Optimizer
	return api.SchedulerConfig{
		Policy: policy, Preempt: preempt,
		Weights:            api.SchedulerWeights{Latency: w.Latency, Cost: w.Cost, Carbon: w.Carbon, BinPack: w.BinPack, Spread: w.Spread},
		NodeCandidates:     b.NodeCandidates,
		DeferThreshold:     b.DeferThreshold,
		DeferSlackMs:       b.DeferSlack.D().Milliseconds(),
		DeferSlackFraction: b.DeferSlackFraction,
		Optimizer: api.OptimizerSettings{Tolerance: o.Tolerance, RecoveryHours: o.RecoveryHours, ReplanShare: o.ReplanShare,
			CarbonWeight: o.CarbonWeight, PriceWeight: o.PriceWeight, Utilization: o.Utilization},
	}
}

// block is c as a scenario's scheduler block (forecast: the default).
func block(c *api.SchedulerConfig) scenarios.Scheduler {
	b := scenarios.DefaultScheduler()
	w, o := c.Weights, c.Optimizer
	b.Weights = scenarios.ScorerWeights{Latency: w.Latency, Cost: w.Cost, Carbon: w.Carbon, BinPack: w.BinPack, Spread: w.Spread}
	b.NodeCandidates = c.NodeCandidates
	b.DeferThreshold = c.DeferThreshold
	b.DeferSlack = scenarios.Duration(time.Duration(c.DeferSlackMs) * time.Millisecond)
	b.DeferSlackFraction = c.DeferSlackFraction
	b.Optimizer = scenarios.Optimizer{Tolerance: o.Tolerance, RecoveryHours: o.RecoveryHours, ReplanShare: o.ReplanShare,
		CarbonWeight: o.CarbonWeight, PriceWeight: o.PriceWeight, Utilization: o.Utilization}
	return b
}

// CoreConfig is the core's config for policy under c, built as the
// simulator builds a run's from a scenario's scheduler block
// (scenarios.Scheduler.For); policy "" means c.Policy.
func CoreConfig(c *api.SchedulerConfig, policy string) scheduler.Config {
	if policy == "" {
		policy = c.Policy
	}
	b := block(c)
	return b.For(policy, c.Preempt)
}

// CheckSchedulerConfig checks a scheduler configuration: a known policy,
// and every setting in the range a scenario's scheduler block allows
// (scenarios.Scheduler.CheckCore: the same checks). The error names the
// first bad field by its JSON path (weights.latency, defer_slack_ms,
// optimizer.utilization) and lists every bad one. Deterministic: the
// FSM refuses what it returns an error for.
func CheckSchedulerConfig(c *api.SchedulerConfig) *api.Error {
	var fields, msgs []string
	if c.Policy == "" {
		fields, msgs = append(fields, "policy"), append(msgs, fmt.Sprintf("policy is required (allowed: %s)", strings.Join(scheduler.PolicyNames(), ", ")))
	} else if _, err := scheduler.LookupPolicy(c.Policy); err != nil {
		fields, msgs = append(fields, "policy"), append(msgs, fmt.Sprintf("policy %q is unknown (allowed: %s)", c.Policy, strings.Join(scheduler.PolicyNames(), ", ")))
	}
	if ms := c.DeferSlackMs; ms < 0 || ms > scenarios.MaxDeferSlack.Milliseconds() {
		// Checked here: a huge value would overflow the block's duration.
		fields = append(fields, "defer_slack_ms")
		msgs = append(msgs, fmt.Sprintf("defer_slack_ms: %d must be in [0, %d] (0 to 7 days in ms; 0: no slack)", ms, scenarios.MaxDeferSlack.Milliseconds()))
	}
	b := block(c)
	if c.DeferSlackMs < 0 || c.DeferSlackMs > scenarios.MaxDeferSlack.Milliseconds() {
		b.DeferSlack = 0
	}
	b.CheckCore(nil, func(field, msg string) {
		if field == "defer_slack" {
			field = "defer_slack_ms"
		}
		fields, msgs = append(fields, field), append(msgs, field+": "+msg)
	})
	if len(fields) == 0 {
		return nil
	}
	return api.Invalid(fields[0], "%s", strings.Join(msgs, "; "))
}
