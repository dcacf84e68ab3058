package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/suanli/suanli/sim"
)

func init() { subcommands = append(subcommands, newSimCmd) }

// checkScale refuses --scale 0 and below here: to the simulator 0 means
// "unscaled" (the larger bound it checks itself).
func checkScale(scale float64) error {
	if !(scale > 0) {
		return badInput(fmt.Errorf("--scale: scale %g must be in (0, 10000]", scale))
	}
	return nil
}

func newSimCmd() *cobra.Command {
	var (
		policies []string
		seed     uint64
		out      string
		sets     []string
		trace    bool
		quiet    bool
		scale    float64
		ext      externalFlags
	)
	cmd := &cobra.Command{
		Use:   "sim SCENARIO",
		Short: "Replay a scenario under several scheduling policies and compare them",
		Long: `sim replays a scenario file (see docs/scenario-format.md) under every requested
policy on the identical workload stream, prints a comparison table (renewable
share against the 25 % target, PUE against 1.25, cost, carbon, latency, deadline
misses, rejections, utilisation per tier) and writes summary.json,
timeseries.csv and report.html into the output directory (docs/outputs.md).`,
		Example: `  suanli sim scenarios/shandong-baseline.yaml
  suanli sim scenarios/shandong-baseline.yaml --policy greenest,price-window --out out/try
  suanli sim scenarios/shandong-baseline.yaml --set sites[dy-clu].battery.mwh=5 --seed 7
  suanli sim scenarios/shandong-baseline.yaml --policy greenest,external:green \
      --external green='python3 examples/policies/greedy_green.py'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ps, err := sim.PolicyFlag(policies, cmd.Flags().Changed("policy"))
			if err != nil {
				return badInput(err)
			}
			defs, err := ext.parse(cmd.Flags())
			if err != nil {
				return badInput(err)
			}
			opt := sim.FileOptions{
				Policies:        ps,
				Sets:            sets,
				OutDir:          out,
				Trace:           trace,
				Scale:           scale,
				External:        defs.specs,
				ExternalOptions: defs.options,
				ExternalTimeout: defs.timeout,
			}
			if cmd.Flags().Changed("seed") {
				opt.Seed = &seed
			}
			if err := checkScale(scale); err != nil {
				return err
			}
			if !quiet && isTerminal(os.Stderr) {
				opt.Progress = cmd.ErrOrStderr()
			}
			t0 := time.Now()
			opt.Clock = func() int64 { return time.Since(t0).Nanoseconds() }
			res, err := sim.RunFile(args[0], opt)
			if err != nil {
				if sim.IsInputError(err) {
					return badInput(err)
				}
				return err
			}
			w := cmd.OutOrStdout()
			if err := sim.WriteTable(w, res.Summary); err != nil {
				return err
			}
			if !quiet {
				printFiles(w, res)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&policies, "policy", nil, "policies to compare, comma-separated, each once (default: the scenario's list; see suanli policies)")
	f.Uint64Var(&seed, "seed", 0, "random seed (default: the scenario's)")
	f.StringVar(&out, "out", "", "output directory (default out/<scenario name>)")
	f.StringArrayVar(&sets, "set", nil, "override a scenario field, e.g. --set horizon=2d --set sites[jn-core].battery.mwh=20 (repeatable)")
	f.BoolVar(&trace, "trace", false, "also write trace.csv with one row per workload")
	f.BoolVar(&quiet, "quiet", false, "no progress and no list of files")
	f.Float64Var(&scale, "scale", 1, "grow the province: multiply arrival rates, node counts and on-site energy capacities by this factor, in (0, 10000] and within the scenario limits (docs/scenario-format.md)")
	ext.register(f)
	return cmd
}

func printFiles(w io.Writer, res *sim.FileResult) {
	fmt.Fprintln(w)
	for _, f := range res.Files {
		fmt.Fprintln(w, "wrote", f)
	}
}

// isTerminal reports whether f is a character device (a terminal), so
// progress lines stay out of logs and pipes.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
