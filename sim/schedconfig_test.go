package sim

import (
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
		NodeCandidates: 4, DeferThreshold: 0.1, DeferSlackHours: 1, DeferSlackFraction: scenarios.DefaultDeferSlackFraction}
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
