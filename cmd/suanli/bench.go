package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/suanli/suanli/benchmarks"
	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/sim"
	"github.com/suanli/suanli/sim/sweep"
)

func init() { subcommands = append(subcommands, newBenchCmd) }

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Researchers' benchmarks: policy quality over scenarios × seeds, and the scheduling hot path",
		Long: `bench runs the researchers' measurements from the binary.

  suanli bench policies   policy quality over scenarios × seeds, with 95 % confidence
                          intervals and paired differences from a baseline policy
  suanli bench place      the scheduling hot path (one decision + applying it) over
                          synthetic 1+3+N+X provinces, as go test -bench BenchmarkPlace

The full benchmark suites (hot path, simulator engine, end-to-end runs, the
replicated cluster) run with 'make bench' and compare with benchstat; see
benchmarks/README.md.`,
	}
	cmd.AddCommand(newBenchPoliciesCmd(), newBenchPlaceCmd())
	return cmd
}

func newBenchPoliciesCmd() *cobra.Command {
	var (
		policies []string
		seeds    string
		runs     int
		baseline string
		sets     []string
		scale    float64
		out      string
		quiet    bool
		ext      externalFlags
	)
	cmd := &cobra.Command{
		Use:   "policies SCENARIO...",
		Short: "Compare policies over scenarios × seeds with 95 % confidence intervals",
		Long: `policies runs every policy on every scenario for several seeds (each seed
is a different workload stream and weather; all policies of one seed see the
same one) and prints, per scenario and policy, each metric's mean ± the 95 %
confidence half-width over seeds (Student's t), and the paired difference from
the baseline policy, marked + when significantly better and − when
significantly worse. It writes sweep.csv (every sample) and sweep.json (the
aggregates) into --out.

External policies (docs/external-policy.md) take part as in suanli sim: define
them with --external NAME=COMMAND (or in a scenario's external_policies) and
name them in --policy as external:NAME; every scenario × seed run starts its
own child, whose stderr goes to external-NAME-SCENARIO-seedSEED.log in --out.
A child that fails fails the whole sweep.`,
		Example: `  suanli bench policies scenarios/shandong-baseline.yaml --policy balanced,greenest,carbon-window,optimizer --runs 5
  suanli bench policies scenarios/*.yaml --seeds 1-10 --baseline first-fit --set horizon=2d
  suanli bench policies scenarios/shandong-baseline.yaml --policy greenest,external:green --baseline greenest \
      --external green='python3 examples/policies/greedy_green.py'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkScale(scale); err != nil {
				return err
			}
			ps, err := sim.PolicyFlag(policies, cmd.Flags().Changed("policy"))
			if err != nil {
				return badInput(err)
			}
			defs, err := ext.parse(cmd.Flags())
			if err != nil {
				return badInput(err)
			}
			spec := sweep.Spec{Scenarios: args, Policies: ps, Runs: runs, Baseline: baseline, Sets: sets, Scale: scale,
				External: defs.specs, ExternalOptions: defs.options, ExternalTimeout: defs.timeout}
			if seeds != "" {
				s, err := sweep.ParseSeeds(seeds)
				if err != nil {
					return badInput(fmt.Errorf("--seeds: %w", err))
				}
				spec.Seeds = s
			}
			if runs < 1 {
				return badInput(fmt.Errorf("--runs %d must be at least 1", runs))
			}
			if !quiet {
				spec.Progress = cmd.ErrOrStderr()
			}
			if out != "" {
				// The external policies' logs are written as they run.
				if err := os.MkdirAll(out, 0o755); err != nil {
					return fmt.Errorf("bench policies: --out: %w", err)
				}
				spec.LogDir = out
			}
			res, err := sweep.Run(spec)
			if err != nil {
				var ie *sweep.InputError
				if asErr(err, &ie) {
					return badInput(err)
				}
				return err
			}
			if err := res.WriteTable(cmd.OutOrStdout()); err != nil {
				return err
			}
			if out == "" {
				return nil
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			if err := sim.WriteFilesAtomic(
				[]string{filepath.Join(out, "sweep.csv"), filepath.Join(out, "sweep.json")},
				[]func(io.Writer) error{res.WriteCSV, res.WriteJSON}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nwrote %s and %s\n", filepath.Join(out, "sweep.csv"), filepath.Join(out, "sweep.json"))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&policies, "policy", nil, "policies to compare, comma-separated (default: each scenario's list)")
	f.StringVar(&seeds, "seeds", "", "seeds to run, e.g. 1,2,3 or 1-10 (default: --runs seeds from the scenario's own)")
	f.IntVar(&runs, "runs", 5, "number of seeds when --seeds is not given")
	f.StringVar(&baseline, "baseline", "", "policy the others are compared with (default: the first)")
	f.StringArrayVar(&sets, "set", nil, "override a scenario field in every scenario (repeatable)")
	f.Float64Var(&scale, "scale", 1, "grow every scenario by this factor (as suanli sim --scale)")
	f.StringVar(&out, "out", "out/bench-policies", "directory for sweep.csv and sweep.json (empty: none)")
	f.BoolVar(&quiet, "quiet", false, "no progress lines")
	ext.register(f)
	return cmd
}

func newBenchPlaceCmd() *cobra.Command {
	var (
		policies  []string
		sizes     string
		benchtime time.Duration
		count     int
	)
	cmd := &cobra.Command{
		Use:   "place",
		Short: "Measure the scheduling hot path (decision + allocate + release) per policy and province size",
		Long: `place runs the same measurement as 'go test -bench BenchmarkPlace ./benchmarks/'
(benchmarks.PlaceFixture) from the binary: one decision of the core plus applying
it, in steady state about half full, over the synthetic 1+3+N+X province (28
sites) at each size. Output lines are in go test -bench format, so benchstat
reads them.`,
		Example: `  suanli bench place --policy balanced --nodes 10000 --count 6 > new.txt && benchstat new.txt`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps, err := sim.PolicyFlag(policies, cmd.Flags().Changed("policy"))
			if err != nil {
				return badInput(err)
			}
			if len(ps) == 0 {
				ps = benchmarks.PlacePolicies
			}
			for _, p := range ps {
				if _, err := scheduler.LookupPolicy(p); err != nil {
					return badInput(fmt.Errorf("--policy: %w", err))
				}
			}
			var ns []int
			for _, s := range strings.Split(sizes, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || n < 28 || n > 2_000_000 {
					return badInput(fmt.Errorf("--nodes %q: want comma-separated node counts in [28, 2000000]", s))
				}
				ns = append(ns, n)
			}
			if count < 1 || benchtime <= 0 {
				return badInput(fmt.Errorf("--count must be ≥ 1 and --benchtime > 0"))
			}
			w := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
			for _, n := range ns {
				f, err := benchmarks.NewPlaceFixture(n)
				if err != nil {
					return err
				}
				for _, p := range ps {
					for i := 0; i < count; i++ {
						r := benchmarkFor(benchtime, func(b *testing.B) { f.Bench(b, p) })
						fmt.Fprintf(tw, "BenchmarkPlace/%s-%d\t%d\t%.1f ns/op\t%.1f release-ns\t%d B/op\t%d allocs/op\n",
							benchmarks.PlaceName(p, n), gomaxprocs(), r.N, float64(r.T.Nanoseconds())/float64(r.N), r.Extra["release-ns"], r.AllocedBytesPerOp(), r.AllocsPerOp())
						tw.Flush()
					}
				}
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&policies, "policy", nil, "policies, comma-separated (default: "+strings.Join(benchmarks.PlacePolicies, ",")+")")
	f.StringVar(&sizes, "nodes", "1000,10000,100000", "province sizes in nodes, comma-separated")
	f.DurationVar(&benchtime, "benchtime", time.Second, "target time per measurement")
	f.IntVar(&count, "count", 1, "measurements per policy and size (use 6+ for benchstat)")
	return cmd
}

// benchmarkFor runs fn as a Go benchmark for about d (testing.Benchmark
// reads the test.benchtime flag, so it is set here).
func benchmarkFor(d time.Duration, fn func(*testing.B)) testing.BenchmarkResult {
	benchInit.Do(testing.Init)
	_ = flag.Set("test.benchtime", d.String())
	return testing.Benchmark(fn)
}

var benchInit sync.Once

func gomaxprocs() int { return runtime.GOMAXPROCS(0) }

// asErr is errors.As for the sweep's input errors.
func asErr(err error, target **sweep.InputError) bool { return errors.As(err, target) }
