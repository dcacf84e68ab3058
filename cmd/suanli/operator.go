package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/suanli/suanli/scenarios"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
)

func init() { subcommands = append(subcommands, newOperatorCmd) }

// loadSchedulerBlock loads a scenario file strictly (file:line:col
// errors; bad input) and returns its scheduler block. flag names the
// flag in errors.
func loadSchedulerBlock(flag, path string) (*scenarios.Scheduler, error) {
	sc, err := scenarios.Load(path, scenarioLoadOptions(nil, true))
	if err != nil {
		return nil, badInput(fmt.Errorf("%s: %w", flag, err))
	}
	return &sc.Scheduler, nil
}

func newOperatorCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "operator", Short: "Change the cluster's replicated settings"}
	cf.register(cmd)
	sched := &cobra.Command{Use: "scheduler", Short: "The cluster's scheduler configuration: the policy and the core's settings every leader uses"}
	get := &cobra.Command{
		Use:   "get-config",
		Short: "Show the cluster's scheduler configuration and the index it was set at",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := timeout()
			defer cancel()
			r, err := cf.client().SchedulerConfig(ctx)
			if err != nil {
				return apiErr(err)
			}
			if cf.json {
				return api.WriteJSON(cmd.OutOrStdout(), r)
			}
			return api.FormatSchedulerConfig(cmd.OutOrStdout(), r)
		},
	}
	var (
		policy, from string
		preempt      bool
		sets         []string
		cas          int64
	)
	set := &cobra.Command{
		Use:   "set-config",
		Short: "Change the cluster's scheduler configuration (read, change, write back with a check-and-set)",
		Long: `Change the cluster's scheduler configuration at runtime: every leader schedules
with it (a running leader switches at once, handing its deferred work to the
new policy). It reads the configuration, changes what the flags say, and writes
it back with a check-and-set at the index read (--cas to give another): a
change made meanwhile by someone else is refused (409) rather than overwritten.

--from-scenario takes the settings of a scenario file's scheduler block
(weights, node_candidates, defer_threshold, defer_slack, defer_slack_fraction,
optimizer; not its forecast); --policy, --preempt and --set apply after it.
--set takes field=value by JSON path (see suanli operator scheduler
get-config --json): weights.carbon=2, node_candidates=8,
defer_slack_ms=7200000, optimizer.tolerance=0.1.`,
		Example: `  suanli operator scheduler set-config --policy optimizer
  suanli operator scheduler set-config --from-scenario scenarios/shandong-baseline.yaml --policy balanced
  suanli operator scheduler set-config --set weights.carbon=3 --set defer_threshold=0.2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fl := cmd.Flags()
			if !fl.Changed("policy") && !fl.Changed("preempt") && from == "" && len(sets) == 0 {
				return badInput(fmt.Errorf("nothing to set: give --policy, --preempt, --from-scenario or --set (see --help)"))
			}
			if fl.Changed("cas") && cas < 0 {
				return badInput(fmt.Errorf("--cas %d: want the modify index read (get-config), 0 or more", cas))
			}
			var block *scenarios.Scheduler
			if from != "" {
				var err error
				if block, err = loadSchedulerBlock("--from-scenario", from); err != nil {
					return err
				}
			}
			change := func(c *api.SchedulerConfig) error {
				if block != nil {
					*c = fsm.SchedulerConfigFromScenario(c.Policy, c.Preempt, block)
				}
				if fl.Changed("policy") {
					c.Policy = policy
				}
				if fl.Changed("preempt") {
					c.Preempt = preempt
				}
				if err := applySets(c, sets); err != nil {
					return err
				}
				if e := fsm.CheckSchedulerConfig(c); e != nil {
					return badInput(fmt.Errorf("%s: %s", e.Field, e.Message))
				}
				return nil
			}
			// The changes on their own, before asking the server.
			probe := fsm.DefaultSchedulerConfig("balanced", false)
			if err := change(&probe); err != nil {
				return err
			}
			ctx, cancel := timeout()
			defer cancel()
			c := cf.client()
			cur, err := c.SchedulerConfig(ctx)
			if err != nil {
				return apiErr(err)
			}
			next := fsm.DefaultSchedulerConfig("balanced", false)
			if cur.Scheduler != nil {
				next = *cur.Scheduler
			}
			if err := change(&next); err != nil {
				return err
			}
			at := int64(cur.ModifyIndex)
			if fl.Changed("cas") {
				at = cas
			}
			r, err := c.SetSchedulerConfig(ctx, next, at)
			if err != nil {
				return apiErr(err)
			}
			if cf.json {
				return api.WriteJSON(cmd.OutOrStdout(), r)
			}
			return api.FormatSchedulerConfig(cmd.OutOrStdout(), r)
		},
	}
	f := set.Flags()
	f.StringVar(&policy, "policy", "", "scheduling policy (see suanli policies)")
	f.BoolVar(&preempt, "preempt", false, "let work that finds no room evict live work of a lower priority (--preempt=false to stop)")
	f.StringVar(&from, "from-scenario", "", "take the settings of this scenario file's scheduler block (checked strictly)")
	f.StringArrayVar(&sets, "set", nil, "field=value by JSON path, e.g. weights.carbon=2 (repeatable)")
	f.Int64Var(&cas, "cas", 0, "write only if the configuration was last set at this index (default: the index read; 0: only if none is set)")
	sched.AddCommand(get, set)
	cmd.AddCommand(sched)
	return cmd
}

// applySets applies --set field=value changes (JSON paths of
// api.SchedulerConfig) to c; an unknown field or a value of the wrong
// kind is bad input naming it.
func applySets(c *api.SchedulerConfig, sets []string) error {
	if len(sets) == 0 {
		return nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return badInput(fmt.Errorf("--set %q: want field=value, e.g. weights.carbon=2 or defer_slack_ms=7200000", s))
		}
		parts := strings.Split(k, ".")
		at := m
		for i, p := range parts {
			cur, known := at[p]
			if !known {
				keys := make([]string, 0, len(at))
				for key := range at {
					keys = append(keys, key)
				}
				slices.Sort(keys)
				return badInput(fmt.Errorf("--set %q: unknown field %q (%s takes: %s)", s, strings.Join(parts[:i+1], "."), groupName(parts[:i]), strings.Join(keys, ", ")))
			}
			sub, group := cur.(map[string]any)
			if i < len(parts)-1 {
				if !group {
					return badInput(fmt.Errorf("--set %q: %s is not a group of fields", s, strings.Join(parts[:i+1], ".")))
				}
				at = sub
				continue
			}
			if group {
				return badInput(fmt.Errorf("--set %q: %s is a group; set its fields (%s.<field>)", s, k, k))
			}
			var val any
			if err := json.Unmarshal([]byte(v), &val); err != nil {
				val = v // a bare string (a policy name)
			}
			at[p] = val
		}
	}
	if b, err = json.Marshal(m); err != nil {
		return err
	}
	var out api.SchedulerConfig
	if e := api.DecodeStrict(b, &out); e != nil {
		return badInput(fmt.Errorf("--set %s: %s", e.Field, e.Message))
	}
	*c = out
	return nil
}

func groupName(parts []string) string {
	if len(parts) == 0 {
		return "the configuration"
	}
	return strings.Join(parts, ".")
}
