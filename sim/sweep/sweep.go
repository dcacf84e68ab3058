package sweep

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/suanli/suanli/scenarios"
	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/external"
	"github.com/suanli/suanli/sim"
)

// Metric is one figure of a policy's run, with the direction that is better.
type Metric struct {
	Name string
	Unit string
	// HigherIsBetter says which way an improvement goes.
	HigherIsBetter bool
	Value          func(*sim.PolicySummary) float64
}

// Metrics are the figures a sweep compares.
var Metrics = []Metric{
	{"renewable_share", "%", true, func(p *sim.PolicySummary) float64 { return 100 * p.RenewableShare }},
	{"pue", "", false, func(p *sim.PolicySummary) float64 { return p.PUE }},
	{"cost", "kCNY", false, func(p *sim.PolicySummary) float64 { return p.CostCNY / 1000 }},
	{"carbon", "t", false, func(p *sim.PolicySummary) float64 { return p.CarbonT }},
	{"total_carbon", "t", false, func(p *sim.PolicySummary) float64 { return p.TotalCarbonT }},
	{"latency_p95", "ms", false, func(p *sim.PolicySummary) float64 { return p.LatencyMs.P95 }},
	{"latency_violations", "", false, func(p *sim.PolicySummary) float64 { return float64(p.Workloads.LatencyViolations) }},
	{"deadline_misses", "", false, func(p *sim.PolicySummary) float64 { return float64(p.Workloads.DeadlineMisses) }},
	{"rejected", "", false, func(p *sim.PolicySummary) float64 { return float64(p.Workloads.Rejected) }},
}

// Spec is what to run.
type Spec struct {
	Scenarios []string // scenario file paths
	Policies  []string // empty: each scenario's own list
	// Seeds are the seeds to run; empty means Runs seeds starting at the
	// scenario's own seed.
	Seeds []uint64
	Runs  int
	// Baseline is the policy the others are compared with (default: the
	// first policy).
	Baseline string
	// Sets are --set overrides applied to every scenario.
	Sets []string
	// Scale grows every scenario's arrivals (0 or 1: as written).
	Scale float64
	// Progress, if set, receives a line per finished scenario × seed.
	Progress io.Writer
	// External, ExternalOptions and ExternalTimeout are the command
	// line's external policies, laid over each scenario's
	// external_policies as in suanli sim (sim.FileOptions,
	// Config.ApplyExternal). Every scenario × seed × external policy run
	// starts its own child.
	External        map[string]external.Spec
	ExternalOptions map[string]map[string]any
	ExternalTimeout time.Duration
	// LogDir, when set, receives each external policy run's child
	// stderr in external-NAME-SCENARIO-seedSEED.log (else it is only
	// quoted in errors).
	LogDir string
}

// ExternalRecord says what an external policy ran in a sweep's runs of
// one scenario (the same for every seed).
type ExternalRecord struct {
	Scenario string `json:"scenario"`
	Policy   string `json:"policy"`
	sim.ExternalRun
}

// Sample is one policy's metrics on one scenario and seed.
type Sample struct {
	Scenario string
	Seed     uint64
	Policy   string
	Values   []float64 // by Metrics index
}

// Stat is a mean with its 95 % confidence half-width over n seeds.
type Stat struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	StdDev float64 `json:"stddev"`
	CI95   float64 `json:"ci95"` // half-width; NaN when n < 2
}

// Row aggregates one scenario × policy × metric.
type Row struct {
	Scenario string `json:"scenario"`
	Policy   string `json:"policy"`
	Metric   string `json:"metric"`
	Unit     string `json:"unit,omitempty"`
	Value    Stat   `json:"value"`
	// Diff is the paired difference policy − baseline over the same seeds.
	Diff Stat `json:"diff_vs_baseline"`
	// Better is +1 when the difference is an improvement whose confidence
	// interval excludes zero, −1 when it is a significant regression, 0
	// otherwise (or for the baseline itself).
	Better int `json:"better"`
}

// Result is a finished sweep.
type Result struct {
	Baseline string   `json:"baseline"`
	Seeds    []uint64 `json:"seeds"`
	Samples  []Sample `json:"-"`
	Rows     []Row    `json:"rows"`
	// External are the external policies run, per scenario.
	External []ExternalRecord `json:"-"`
}

// InputError marks errors caused by the spec or the scenario files.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Run runs the sweep: for each scenario and seed, every policy on the
// identical workload stream (in parallel, one goroutine per policy).
func Run(spec Spec) (*Result, error) {
	if len(spec.Scenarios) == 0 {
		return nil, &InputError{errors.New("sweep: no scenarios given")}
	}
	for _, p := range spec.Policies {
		if strings.HasPrefix(p, external.Prefix) {
			continue // checked against each scenario's, below
		}
		if _, err := scheduler.LookupPolicy(p); err != nil {
			return nil, &InputError{fmt.Errorf("--policy: %w", err)}
		}
	}
	if spec.Runs <= 0 {
		spec.Runs = 1
	}
	res := &Result{}
	for _, path := range spec.Scenarios {
		s, err := scenarios.Load(path, scenarios.LoadOptions{KnownPolicies: scheduler.PolicyNames(), Sets: spec.Sets})
		if err != nil {
			return nil, &InputError{err}
		}
		seeds := spec.Seeds
		if len(seeds) == 0 {
			for i := 0; i < spec.Runs; i++ {
				seeds = append(seeds, s.Seed+uint64(i))
			}
		}
		policies := spec.Policies
		if len(policies) == 0 {
			policies = s.Policies
		}
		if res.Baseline == "" {
			res.Baseline = spec.Baseline
			if res.Baseline == "" {
				res.Baseline = policies[0]
			}
		}
		if !contains(policies, res.Baseline) {
			return nil, &InputError{fmt.Errorf("--baseline %q is not among the policies run on %s (%s)", res.Baseline, path, strings.Join(policies, ", "))}
		}
		res.Seeds = seeds
		for k, seed := range seeds {
			// Each seed loads afresh: the scale and seed change the scenario.
			s, err := scenarios.Load(path, scenarios.LoadOptions{KnownPolicies: scheduler.PolicyNames(), Sets: spec.Sets})
			if err != nil {
				return nil, &InputError{err}
			}
			s.Seed = seed
			if spec.Scale != 0 && spec.Scale != 1 {
				if err := sim.ScaleScenario(s, spec.Scale); err != nil {
					return nil, &InputError{fmt.Errorf("--scale: %w", err)}
				}
			}
			cfg, err := sim.FromScenario(s)
			if err != nil {
				return nil, &InputError{fmt.Errorf("%s: %w", path, err)}
			}
			if err := cfg.ApplyExternal(spec.External, spec.ExternalOptions, spec.ExternalTimeout); err != nil {
				return nil, &InputError{fmt.Errorf("%s: %w", path, err)}
			}
			for _, p := range policies {
				if err := cfg.CheckPolicy(p); err != nil {
					return nil, &InputError{fmt.Errorf("%s: --policy: %w", path, err)}
				}
			}
			if err := cfg.Validate(); err != nil {
				return nil, &InputError{fmt.Errorf("%s: %w", path, err)}
			}
			closeLogs, err := externalLogs(spec.LogDir, cfg, policies, s.Name, seed)
			if err != nil {
				return nil, err
			}
			runs, err := sim.RunPolicies(cfg, policies, sim.RunOptions{})
			closeLogs()
			if err != nil {
				return nil, fmt.Errorf("sweep %s (scenario %s) seed %d: %w", path, s.Name, seed, err)
			}
			sum := sim.NewSummary(sim.MetaOf(s, cfg), runs)
			for i := range sum.Policies {
				p := &sum.Policies[i]
				if k == 0 && p.External != nil {
					res.External = append(res.External, ExternalRecord{Scenario: s.Name, Policy: p.Policy, ExternalRun: *p.External})
				}
				smp := Sample{Scenario: s.Name, Seed: seed, Policy: p.Policy, Values: make([]float64, len(Metrics))}
				for k, m := range Metrics {
					smp.Values[k] = m.Value(p)
				}
				res.Samples = append(res.Samples, smp)
			}
			if spec.Progress != nil {
				fmt.Fprintf(spec.Progress, "sweep: %s seed %d done (%d policies)\n", s.Name, seed, len(policies))
			}
		}
	}
	res.Rows = Aggregate(res.Samples, res.Baseline)
	return res, nil
}

// externalLogs points the stderr of every external policy among
// policies at dir/external-NAME-SCENARIO-seedSEED.log (nothing without a
// dir) and returns the function that closes the files.
func externalLogs(dir string, cfg *sim.Config, policies []string, scenario string, seed uint64) (func(), error) {
	var files []*os.File
	done := func() {
		for _, f := range files {
			f.Close()
		}
	}
	if dir == "" {
		return done, nil
	}
	ext := make(map[string]external.Spec, len(cfg.External))
	for n, s := range cfg.External {
		ext[n] = s
	}
	for _, p := range policies {
		name, ok := strings.CutPrefix(p, external.Prefix)
		if !ok {
			continue
		}
		spec := ext[name]
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("external-%s-%s-seed%d.log", name, scenario, seed)))
		if err != nil {
			done()
			return nil, fmt.Errorf("sweep: log of external policy %s: %w", name, err)
		}
		files = append(files, f)
		spec.Stderr = f
		ext[name] = spec
	}
	cfg.External = ext
	return done, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Aggregate turns samples into rows: per scenario, policy (in first-seen
// order) and metric, the mean and 95 % interval over seeds and the paired
// difference from the baseline.
func Aggregate(samples []Sample, baseline string) []Row {
	type key struct{ scenario, policy string }
	var scenOrder []string
	polOrder := map[string][]string{}
	bySeed := map[key]map[uint64][]float64{}
	for _, s := range samples {
		k := key{s.Scenario, s.Policy}
		if _, ok := polOrder[s.Scenario]; !ok {
			scenOrder = append(scenOrder, s.Scenario)
		}
		if bySeed[k] == nil {
			bySeed[k] = map[uint64][]float64{}
			polOrder[s.Scenario] = append(polOrder[s.Scenario], s.Policy)
		}
		bySeed[k][s.Seed] = s.Values
	}
	var rows []Row
	for _, scen := range scenOrder {
		base := bySeed[key{scen, baseline}]
		for _, pol := range polOrder[scen] {
			seeds := sortedSeeds(bySeed[key{scen, pol}])
			for m, metric := range Metrics {
				var vals, diffs []float64
				for _, seed := range seeds {
					v := bySeed[key{scen, pol}][seed][m]
					vals = append(vals, v)
					if b, ok := base[seed]; ok {
						diffs = append(diffs, v-b[m])
					}
				}
				r := Row{Scenario: scen, Policy: pol, Metric: metric.Name, Unit: metric.Unit, Value: describe(vals)}
				if pol != baseline {
					r.Diff = describe(diffs)
					if !math.IsNaN(r.Diff.CI95) && math.Abs(r.Diff.Mean) > r.Diff.CI95 {
						improved := r.Diff.Mean < 0
						if metric.HigherIsBetter {
							improved = r.Diff.Mean > 0
						}
						r.Better = -1
						if improved {
							r.Better = 1
						}
					}
				}
				rows = append(rows, r)
			}
		}
	}
	return rows
}

func sortedSeeds(m map[uint64][]float64) []uint64 {
	out := make([]uint64, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// describe computes the mean, standard deviation and the half-width of the
// 95 % confidence interval of the mean (Student's t, n−1 degrees of
// freedom).
func describe(v []float64) Stat {
	s := Stat{N: len(v), CI95: math.NaN()}
	if len(v) == 0 {
		s.Mean, s.StdDev = math.NaN(), math.NaN()
		return s
	}
	if len(v) == 1 {
		s.Mean = v[0]
		return s
	}
	s.Mean, s.StdDev = stat.MeanStdDev(v, nil)
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(v) - 1)}.Quantile(0.975)
	s.CI95 = t * s.StdDev / math.Sqrt(float64(len(v)))
	return s
}
