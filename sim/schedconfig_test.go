package sim

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/scenarios"
	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/optimize"
)

// TestSchedulerDefaultsAgree: the scenario's default scheduler block is
// the core's defaults (balanced's weights, node candidates, threshold,
// one forecast step of slack), apart from defer_slack_fraction, which
// the scenario sets.
func TestSchedulerDefaultsAgree(t *testing.T) {
	def := scenarios.DefaultScheduler()
	got := SchedulerConfig(&def)
	spec, err := scheduler.LookupPolicy("balanced")
	if err != nil {
		t.Fatal(err)
	}
	if *got.Weights != spec.Weights {
		t.Errorf("default weights %v, balanced's %v", *got.Weights, spec.Weights)
	}
	core := (scheduler.Config{}).WithDefaults()
	eff := got.WithDefaults()
	if eff.NodeCandidates != core.NodeCandidates || eff.DeferThreshold != core.DeferThreshold {
		t.Errorf("node candidates %d, threshold %g; the core's %d, %g", eff.NodeCandidates, eff.DeferThreshold, core.NodeCandidates, core.DeferThreshold)
	}
	if s, c := eff.Slack(time.Hour), core.Slack(time.Hour); s != c {
		t.Errorf("slack %v, the core's %v", s, c)
	}
	if eff.DeferSlackFraction != scenarios.DefaultDeferSlackFraction {
		t.Errorf("slack fraction %g, want %g", eff.DeferSlackFraction, scenarios.DefaultDeferSlackFraction)
	}
	// The scenario's zeros are "none", not "default".
	zero := scenarios.Scheduler{Weights: def.Weights, NodeCandidates: 4}
	z := SchedulerConfig(&zero)
	if e := z.WithDefaults(); e.DeferThreshold != 0 || e.Slack(time.Hour) != 0 || e.SlackFor(time.Hour, 3*time.Hour) != 0 {
		t.Errorf("defer_threshold 0, defer_slack 0, fraction 0: threshold %g, slack %v, %v", e.DeferThreshold, e.Slack(time.Hour), e.SlackFor(time.Hour, 3*time.Hour))
	}
}

// TestSchedulerForPolicy: the weights reach balanced and the optimizer
// only; the other knobs every policy; preemption from either place.
func TestSchedulerForPolicy(t *testing.T) {
	w := scheduler.Weights{2, 0, 5, 0, 0}
	c := &Config{Preempt: true, Scheduler: scheduler.Config{Weights: &w, NodeCandidates: 9, DeferSlack: 3 * time.Hour}}
	for _, p := range scheduler.PolicyNames() {
		sc := c.SchedulerFor(p)
		wantW := p == "balanced" || p == optimize.Name
		if (sc.Weights != nil) != wantW {
			t.Errorf("%s: weights %v, want them: %v", p, sc.Weights, wantW)
		}
		if sc.NodeCandidates != 9 || sc.DeferSlack != 3*time.Hour || !sc.Preempt {
			t.Errorf("%s: %+v", p, sc)
		}
		s, err := scheduler.New(p, sc)
		if err != nil {
			t.Fatal(err)
		}
		if p == "balanced" && s.Weights() != w {
			t.Errorf("balanced runs with %v, want %v", s.Weights(), w)
		}
	}
	if sc := c.SchedulerFor("balanced"); sc.Weights == c.Scheduler.Weights {
		t.Error("SchedulerFor shares the weights with the config")
	}
}

func runTiny(t *testing.T, policies []string, sets ...string) *Summary {
	t.Helper()
	res, err := RunFile(filepath.Join("testdata", "tiny.yaml"), FileOptions{OutDir: t.TempDir(), Policies: policies, Sets: sets})
	if err != nil {
		t.Fatal(err)
	}
	return res.Summary
}

// policyJSON is a policy's summary without timing, for comparing runs.
func policyJSON(t *testing.T, s *Summary, policy string) string {
	t.Helper()
	for _, p := range s.Policies {
		if p.Policy == policy {
			p.Timing = Timing{}
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	t.Fatalf("no policy %s", policy)
	return ""
}

// TestScenarioSchedulerBlockReachesRuns: --set scheduler.weights changes
// balanced's run and not greenest's; --set scheduler.defer_slack changes
// the window policy's; summary.json records the settings in force.
func TestScenarioSchedulerBlockReachesRuns(t *testing.T) {
	ps := []string{"balanced", "greenest", "carbon-window"}
	base := runTiny(t, ps)
	want := SchedulerSettings{Weights: WeightSettings{Latency: 1, Cost: 1, Carbon: 1, BinPack: 0.5, Spread: 0.1},
		NodeCandidates: 4, DeferThreshold: 0.1, DeferSlackHours: 1, DeferSlackFraction: scenarios.DefaultDeferSlackFraction,
		Optimizer: OptimizerSettings{Tolerance: 0.05, RecoveryHours: 4, ReplanShare: 0.5, CarbonWeight: 1, PriceWeight: 1, Utilization: 0.8},
		Forecast:  ForecastSettings{StepHours: 1, HorizonHours: 48}}
	if base.Scheduler == nil || *base.Scheduler != want {
		t.Errorf("default settings %+v, want %+v", base.Scheduler, want)
	}
	w := runTiny(t, ps, "scheduler.weights={latency: 0, cost: 0, carbon: 0, binpack: 1, spread: 0}")
	if policyJSON(t, w, "balanced") == policyJSON(t, base, "balanced") {
		t.Error("balanced ran the same with binpack-only weights")
	}
	for _, p := range []string{"greenest", "carbon-window"} {
		if policyJSON(t, w, p) != policyJSON(t, base, p) {
			t.Errorf("%s changed with balanced's weights", p)
		}
	}
	if got := w.Scheduler.Weights; got != (WeightSettings{BinPack: 1}) {
		t.Errorf("summary weights %+v", got)
	}
	sl := runTiny(t, ps, "scheduler.defer_slack=0", "scheduler.defer_slack_fraction=0", "scheduler.defer_threshold=0")
	if policyJSON(t, sl, "carbon-window") == policyJSON(t, base, "carbon-window") {
		t.Error("carbon-window ran the same without slack or threshold")
	}
	for _, p := range []string{"balanced", "greenest"} {
		if policyJSON(t, sl, p) != policyJSON(t, base, p) {
			t.Errorf("%s changed with the deferral settings", p)
		}
	}
	if s := sl.Scheduler; s.DeferSlackHours != 0 || s.DeferSlackFraction != 0 || s.DeferThreshold != 0 {
		t.Errorf("summary settings %+v", s)
	}
}

// TestExplainUsesScenarioScheduler: explain decides with the config sim
// runs with (balanced's weights from the scenario, greenest's own).
func TestExplainUsesScenarioScheduler(t *testing.T) {
	for _, tc := range []struct {
		policy string
		want   scheduler.Weights
	}{
		{"balanced", scheduler.Weights{1, 1, 5, 0.5, 0.1}},
		{"greenest", scheduler.Weights{scheduler.ScoreCarbon: 1, scheduler.ScoreLatency: 1e-3}},
	} {
		res, err := ExplainFile(filepath.Join("testdata", "tiny.yaml"), ExplainOptions{Policy: tc.policy, Workload: "vision-qc-41",
			Sets: []string{"scheduler.weights.carbon=5"}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Explanation.Weights != tc.want {
			t.Errorf("%s: explained with weights %v, want %v", tc.policy, res.Explanation.Weights, tc.want)
		}
	}
}

// TestReportShowsScheduler: report.html lists the settings in force.
func TestReportShowsScheduler(t *testing.T) {
	dir := t.TempDir()
	if _, err := RunFile(filepath.Join("testdata", "tiny.yaml"), FileOptions{OutDir: dir, Policies: []string{"greenest"},
		Sets: []string{"scheduler.defer_slack=4h", "scheduler.node_candidates=8"}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"<th>scheduler</th>", "node candidates 8", "defer slack max(4 h, "} {
		if !strings.Contains(string(b), s) {
			t.Errorf("report lacks %q", s)
		}
	}
}

// TestCoreOutageDeferralSlack is the case behind the default
// defer_slack_fraction: with a slack of one forecast step the window
// policies defer checkpoint-less HPC tasks close to their latest start,
// the jn-core outage kills them and they miss their deadlines; with the
// default slack (the run time at risk) a restart still meets them.
func TestCoreOutageDeferralSlack(t *testing.T) {
	path := filepath.Join("..", "scenarios", "core-outage.yaml")
	ps := []string{"carbon-window", "price-window"}
	for _, tc := range []struct {
		sets   []string
		misses bool
	}{
		{[]string{"horizon=2d"}, false},
		{[]string{"horizon=2d", "scheduler.defer_slack_fraction=0"}, true},
	} {
		_, cfg := loadConfig(t, path, tc.sets...)
		runs, err := RunPolicies(cfg, ps, RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if m := r.DeadlineMisses; (m > 0) != tc.misses {
				t.Errorf("%v: %s missed %d deadlines, want misses: %v", tc.sets, r.Policy, m, tc.misses)
			}
		}
	}
}

func TestConfigValidatesSchedulerWeights(t *testing.T) {
	for _, w := range []scheduler.Weights{{-1, 1, 1, 1, 1}, {}} {
		cfg := testConfig(28, 1)
		cfg.Scheduler.Weights = &w
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "scheduler: ") {
			t.Errorf("weights %v: got %v", w, err)
		}
	}
	cfg := testConfig(28, 1)
	w := scheduler.Weights{scheduler.ScoreCarbon: 2}
	cfg.Scheduler.Weights = &w
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}

// TestDefaultSlackFractionIsTheCores: a scenario without a scheduler
// block defers as the servers do.
func TestDefaultSlackFractionIsTheCores(t *testing.T) {
	if scenarios.DefaultDeferSlackFraction != scheduler.DefaultDeferSlackFraction {
		t.Fatalf("scenario default %g, core default %g", scenarios.DefaultDeferSlackFraction, scheduler.DefaultDeferSlackFraction)
	}
}

// TestOptimizerDefaultsAgree: the scenario's default scheduler.optimizer
// block is the optimizer's own defaults (so a scenario without it runs as
// before), and its zeros are "none", not "default".
func TestOptimizerDefaultsAgree(t *testing.T) {
	def := scenarios.DefaultScheduler()
	if got, want := OptimizerOptions(&def.Optimizer).WithDefaults(), (optimize.Options{}).WithDefaults(); got != want {
		t.Errorf("scenario defaults %+v, the optimizer's %+v", got, want)
	}
	zero := scenarios.Optimizer{CarbonWeight: 1, Utilization: 0.5}
	got := OptimizerOptions(&zero).WithDefaults()
	if got.Tolerance != 0 || got.ReplanShare != 0 || got.RecoveryHours >= 0 || got.PriceWeight != 0 || got.Utilization != 0.5 {
		t.Errorf("tolerance, replan_share, recovery_hours 0 and price_weight 0: %+v", got)
	}
	c := &Config{Optimizer: OptimizerOptions(&zero)}
	if o := c.SchedulerSettings().Optimizer; o != (OptimizerSettings{CarbonWeight: 1, Utilization: 0.5}) {
		t.Errorf("summary settings %+v", o)
	}
}

// TestSchedulerForGivesOptionsToTheOptimizerOnly: the optimizer runs
// with Config.Optimizer; no other policy gets options.
func TestSchedulerForGivesOptionsToTheOptimizerOnly(t *testing.T) {
	c := &Config{Optimizer: optimize.Options{Tolerance: 0.3}, Scheduler: scheduler.Config{Options: "stale"}}
	for _, p := range scheduler.PolicyNames() {
		sc := c.SchedulerFor(p)
		if p == optimize.Name {
			if o, ok := sc.Options.(optimize.Options); !ok || o.Tolerance != 0.3 {
				t.Errorf("optimizer: options %#v", sc.Options)
			}
		} else if sc.Options != nil {
			t.Errorf("%s: options %#v", p, sc.Options)
		}
		if _, err := scheduler.New(p, sc); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// TestScenarioOptimizerBlockReachesRuns: --set scheduler.optimizer
// changes the optimizer's run and no other policy's (a large tolerance
// runs deadline work now that the default defers: fewer deferrals), and
// summary.json records the options in force; the same overrides and seed
// give the same summary again.
func TestScenarioOptimizerBlockReachesRuns(t *testing.T) {
	ps := []string{"optimizer", "price-window"}
	base := runTiny(t, ps)
	tol := runTiny(t, ps, "scheduler.optimizer.tolerance=10")
	if got, was := deferrals(t, tol, "optimizer"), deferrals(t, base, "optimizer"); got >= was {
		t.Errorf("optimizer with tolerance 10: %d deferrals, want fewer than the default's %d", got, was)
	}
	if policyJSON(t, tol, "price-window") != policyJSON(t, base, "price-window") {
		t.Error("price-window changed with the optimizer's tolerance")
	}
	if got := tol.Scheduler.Optimizer.Tolerance; got != 10 {
		t.Errorf("summary tolerance %g, want 10", got)
	}
	again := runTiny(t, ps, "scheduler.optimizer.tolerance=10")
	if policyJSON(t, again, "optimizer") != policyJSON(t, tol, "optimizer") {
		t.Error("the same scenario, overrides and seed ran the optimizer differently")
	}
	// The carbon-only optimizer plans differently.
	w := runTiny(t, ps, "scheduler.optimizer={carbon_weight: 1, price_weight: 0, recovery_hours: 0, replan_share: 0}")
	if policyJSON(t, w, "optimizer") == policyJSON(t, base, "optimizer") {
		t.Error("the optimizer ran the same planning for carbon alone, without recovery, replanning for every workload")
	}
	if o := w.Scheduler.Optimizer; o != (OptimizerSettings{Tolerance: 0.05, CarbonWeight: 1, Utilization: 0.8}) {
		t.Errorf("summary settings %+v", o)
	}
}

func deferrals(t *testing.T, s *Summary, policy string) int64 {
	t.Helper()
	for _, p := range s.Policies {
		if p.Policy == policy {
			return p.Workloads.Deferrals
		}
	}
	t.Fatalf("no policy %s", policy)
	return 0
}

// TestScenarioForecastReachesRuns: scheduler.forecast sets the forecast
// the policies see: a forecast of one step leaves no later window, so no
// policy defers; the summary records it; the slack follows the step.
func TestScenarioForecastReachesRuns(t *testing.T) {
	ps := []string{"optimizer", "price-window"}
	base := runTiny(t, ps)
	one := runTiny(t, ps, "scheduler.forecast.horizon=1h")
	for _, p := range ps {
		if d := deferrals(t, base, p); d == 0 {
			t.Errorf("%s defers nothing with the default forecast; the test needs it to", p)
		}
		if d := deferrals(t, one, p); d != 0 {
			t.Errorf("%s: %d deferrals with a forecast of one step, want 0", p, d)
		}
	}
	if f := one.Scheduler.Forecast; f != (ForecastSettings{StepHours: 1, HorizonHours: 1}) {
		t.Errorf("summary forecast %+v", f)
	}
	q := runTiny(t, ps, "scheduler.forecast={step: 15m, horizon: 12h}")
	if s := q.Scheduler; s.Forecast != (ForecastSettings{StepHours: 0.25, HorizonHours: 12}) || s.DeferSlackHours != 0.25 {
		t.Errorf("summary forecast %+v, slack %g h", s.Forecast, s.DeferSlackHours)
	}
	s, err := scenarios.Load(filepath.Join("testdata", "tiny.yaml"), scenarios.LoadOptions{Sets: []string{"scheduler.forecast={step: 15m, horizon: 12h}"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := FromScenario(s)
	if err != nil {
		t.Fatal(err)
	}
	if c.ForecastStep != 15*time.Minute || c.ForecastSteps != 48 || c.Scheduler.DeferSlack != 15*time.Minute {
		t.Errorf("config forecast %v × %d, slack %v", c.ForecastStep, c.ForecastSteps, c.Scheduler.DeferSlack)
	}
}

// TestForecastHorizonLimitsDeferral: a job arriving at 08:00 (peak price
// until 22:00) due at midnight is deferred to 22:00 by the price-aware
// policies only when the forecast reaches past 22:00; a shorter forecast
// shows them only peak hours, so they run it at once. (16 steps, not 15:
// the optimizer's plan keeps work due beyond the forecast out of its last
// slot, dueSlot.)
func TestForecastHorizonLimitsDeferral(t *testing.T) {
	slack := ConstDist(16)
	for _, policy := range []string{"price-window", optimize.Name} {
		for _, tc := range []struct {
			steps     int
			deferrals int64
			startH    float64
		}{
			{1, 0, 8}, {4, 0, 8}, {14, 0, 8}, {16, 1, 22}, {48, 1, 22},
		} {
			cfg := oneNodeConfig(Class{Name: "job", Kind: Batch, SlackHours: &slack, Records: []TraceRecord{rec(8*time.Hour, 32, time.Hour)}})
			cfg.Horizon, cfg.ForecastSteps = 26*time.Hour, tc.steps
			var buf bytes.Buffer
			r, err := NewRunner(cfg, policy, Options{Trace: &buf, CheckInvariants: true})
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Run()
			if err != nil {
				t.Fatal(err)
			}
			f := strings.Split(strings.TrimSpace(buf.String()), ",")
			if res.Deferrals != tc.deferrals || f[9] != "completed" || secs(t, f[5]) != tc.startH*3600 {
				t.Errorf("%s, forecast of %d h: %d deferrals, %s at %s s; want %d, completed at %g h", policy, tc.steps, res.Deferrals, f[9], f[5], tc.deferrals, tc.startH)
			}
		}
	}
}
