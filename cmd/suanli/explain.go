package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/suanli/suanli/sim"
)

func init() { subcommands = append(subcommands, newExplainCmd) }

func newExplainCmd() *cobra.Command {
	var (
		policy   string
		workload string
		whySites []string
		whyNodes []string
		topK     int
		seed     uint64
		sets     []string
		asJSON   bool
		decision string
		ext      externalFlags
	)
	cmd := &cobra.Command{
		Use:   "explain SCENARIO --workload CLASS-N",
		Short: "Explain one scheduling decision of a simulated scenario",
		Long: `explain runs a scenario under one policy until the named workload (its id as in
trace.csv: <class>-<n>, the n-th instance of the class from 0) is decided (the
first time, or the decision chosen with --decision: work that is deferred, waits
in a queue or is preempted is decided again, trace.csv's decisions column counts
them), and prints the core's explanation of that decision: how many sites and nodes
each filter removed (latency, tier, allowed sites, nodes up, GPU, capacity,
deadline), the best scored candidates with every scorer's weighted term, and
for the sites and nodes named with --why-not-site/--why-not-node the exact
reason they were not chosen.`,
		Example: `  suanli explain scenarios/shandong-baseline.yaml --workload vision-qc-120 --policy greenest --why-not-site x-jn,jn-core
  suanli explain scenarios/shandong-baseline.yaml --workload ai-train-109 --policy optimizer --decision last`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			defs, err := ext.parse(cmd.Flags())
			if err != nil {
				return badInput(err)
			}
			opt := sim.ExplainOptions{Policy: policy, Workload: workload, WhyNotSites: sim.ParsePolicies(whySites),
				WhyNotNodes: sim.ParsePolicies(whyNodes), TopK: topK, Sets: sets,
				External: defs.specs, ExternalOptions: defs.options, ExternalTimeout: defs.timeout,
				ExternalStderr: func(name string) io.Writer {
					return &prefixWriter{w: cmd.ErrOrStderr(), prefix: "[external:" + name + "] "}
				}}
			if cmd.Flags().Changed("seed") {
				opt.Seed = &seed
			}
			if topK < 1 {
				return badInput(fmt.Errorf("--top %d: want at least 1 candidate", topK))
			}
			n, err := parseDecision(decision)
			if err != nil {
				return badInput(err)
			}
			opt.Decision = n
			res, err := sim.ExplainFile(args[0], opt)
			if err != nil {
				if sim.IsInputError(err) {
					return badInput(err)
				}
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(res.Explanation)
			}
			fmt.Fprintf(w, "decision %d of %s at %s (policy %s):\n", res.Decision, res.Workload.ID, res.At.Format("2006-01-02 15:04:05 MST"), res.Policy)
			return res.Explanation.Format(w)
		},
	}
	f := cmd.Flags()
	f.StringVar(&policy, "policy", "", "policy to run (default: the scenario's first)")
	f.StringVar(&workload, "workload", "", "workload id <class>-<n> (required)")
	f.StringSliceVar(&whySites, "why-not-site", nil, "explain why these sites were not chosen (ids, comma-separated)")
	f.StringSliceVar(&whyNodes, "why-not-node", nil, "explain why these nodes were not chosen (ids <site>/<type>-<n>)")
	f.IntVar(&topK, "top", 5, "how many scored candidates to list")
	ext.register(f)
	f.Uint64Var(&seed, "seed", 0, "random seed (default: the scenario's)")
	f.StringArrayVar(&sets, "set", nil, "override a scenario field (repeatable)")
	f.BoolVar(&asJSON, "json", false, "print the explanation as JSON")
	f.StringVar(&decision, "decision", "1", "which of the workload's decisions to explain: a number from 1, or last")
	_ = cmd.MarkFlagRequired("workload")
	return cmd
}

// parseDecision reads --decision: "last" or a number >= 1.
func parseDecision(s string) (int, error) {
	if s == "last" {
		return -1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("--decision %q: want a decision number >= 1, or last", s)
	}
	return n, nil
}
