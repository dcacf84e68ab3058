package sweep

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	cases := []struct {
		in                []float64
		mean, sd, ci95    float64
		nanCI, nanMeanAll bool
	}{
		// t(0.975, 4) = 2.776445; sd of 1..5 = 1.581139
		{in: []float64{1, 2, 3, 4, 5}, mean: 3, sd: 1.5811388, ci95: 2.776445 * 1.5811388 / math.Sqrt(5)},
		// t(0.975, 1) = 12.7062
		{in: []float64{10, 12}, mean: 11, sd: math.Sqrt2, ci95: 12.7062047 * math.Sqrt2 / math.Sqrt2},
		{in: []float64{7}, mean: 7, nanCI: true},
		{in: nil, nanCI: true, nanMeanAll: true},
	}
	for _, c := range cases {
		s := describe(c.in)
		if c.nanMeanAll {
			if !math.IsNaN(s.Mean) {
				t.Errorf("describe(%v).Mean = %v, want NaN", c.in, s.Mean)
			}
			continue
		}
		if math.Abs(s.Mean-c.mean) > 1e-9 {
			t.Errorf("describe(%v).Mean = %v, want %v", c.in, s.Mean, c.mean)
		}
		if c.nanCI {
			if !math.IsNaN(s.CI95) {
				t.Errorf("describe(%v).CI95 = %v, want NaN", c.in, s.CI95)
			}
			continue
		}
		if math.Abs(s.StdDev-c.sd) > 1e-6 || math.Abs(s.CI95-c.ci95) > 1e-5 {
			t.Errorf("describe(%v) = sd %v ci %v, want sd %v ci %v", c.in, s.StdDev, s.CI95, c.sd, c.ci95)
		}
	}
}

func TestAggregatePairsBySeed(t *testing.T) {
	n := len(Metrics)
	vals := func(cost float64) []float64 {
		v := make([]float64, n)
		v[2] = cost // "cost": lower is better
		return v
	}
	// Policy b is 10 cheaper than a on every seed although the seeds vary
	// a lot: paired, the difference is exact; unpaired it would not be.
	var samples []Sample
	for i, base := range []float64{100, 300, 200, 500} {
		seed := uint64(i + 1)
		samples = append(samples,
			Sample{Scenario: "s", Seed: seed, Policy: "a", Values: vals(base)},
			Sample{Scenario: "s", Seed: seed, Policy: "b", Values: vals(base - 10)},
			Sample{Scenario: "s", Seed: seed, Policy: "c", Values: vals(base + float64(i%2)*2 - 1)},
		)
	}
	rows := Aggregate(samples, "a")
	if len(rows) != 3*n {
		t.Fatalf("got %d rows, want %d", len(rows), 3*n)
	}
	get := func(policy string) Row {
		for _, r := range rows {
			if r.Policy == policy && r.Metric == "cost" {
				return r
			}
		}
		t.Fatalf("no cost row for %s", policy)
		return Row{}
	}
	b := get("b")
	if b.Diff.Mean != -10 || b.Diff.CI95 != 0 || b.Better != 1 {
		t.Errorf("b: diff %+v better %d, want −10 ±0 and better", b.Diff, b.Better)
	}
	if c := get("c"); c.Better != 0 {
		t.Errorf("c: a ±1 wobble must not be significant, got better=%d (diff %+v)", c.Better, c.Diff)
	}
	if a := get("a"); a.Better != 0 || a.Diff.N != 0 {
		t.Errorf("baseline row has a difference: %+v", a)
	}
	worse := Aggregate([]Sample{
		{Scenario: "s", Seed: 1, Policy: "a", Values: vals(1)}, {Scenario: "s", Seed: 1, Policy: "b", Values: vals(3)},
		{Scenario: "s", Seed: 2, Policy: "a", Values: vals(2)}, {Scenario: "s", Seed: 2, Policy: "b", Values: vals(4.1)},
		{Scenario: "s", Seed: 3, Policy: "a", Values: vals(3)}, {Scenario: "s", Seed: 3, Policy: "b", Values: vals(5)},
	}, "a")
	for _, r := range worse {
		if r.Policy == "b" && r.Metric == "cost" && r.Better != -1 {
			t.Errorf("b costs 2 more on every seed: better = %d, want −1", r.Better)
		}
	}
}

func TestParseSeeds(t *testing.T) {
	got, err := ParseSeeds("1, 3-5,9")
	if err != nil || len(got) != 5 || got[0] != 1 || got[1] != 3 || got[3] != 5 || got[4] != 9 {
		t.Fatalf("ParseSeeds = %v, %v", got, err)
	}
	for _, bad := range []string{"", "x", "5-1", "1-20000"} {
		if _, err := ParseSeeds(bad); err == nil {
			t.Errorf("ParseSeeds(%q) accepted", bad)
		}
	}
}

// TestRunTinyScenario runs the simulator's tiny scenario over 3 seeds and
// checks the sweep is complete, deterministic and well-formed.
func TestRunTinyScenario(t *testing.T) {
	run := func() *Result {
		r, err := Run(Spec{Scenarios: []string{"../testdata/tiny.yaml"}, Policies: []string{"first-fit", "greenest"}, Runs: 3})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := run(), run()
	if len(a.Samples) != 2*3 || len(a.Rows) != 2*len(Metrics) || a.Baseline != "first-fit" {
		t.Fatalf("got %d samples, %d rows, baseline %q", len(a.Samples), len(a.Rows), a.Baseline)
	}
	var ja, jb, tbl, csvb bytes.Buffer
	if err := a.WriteJSON(&ja); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteJSON(&jb); err != nil {
		t.Fatal(err)
	}
	if ja.String() != jb.String() {
		t.Error("two sweeps of the same spec differ")
	}
	var parsed map[string]any
	if err := json.Unmarshal(ja.Bytes(), &parsed); err != nil {
		t.Fatalf("sweep JSON does not parse: %v", err)
	}
	if err := a.WriteTable(&tbl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tbl.String(), "greenest") || !strings.Contains(tbl.String(), "Δ") {
		t.Errorf("table lacks the policies or the differences:\n%s", tbl.String())
	}
	if err := a.WriteCSV(&csvb); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(csvb.String(), "\n"); lines != 1+6*len(Metrics) {
		t.Errorf("csv has %d lines, want %d", lines, 1+6*len(Metrics))
	}
}

func TestRunBadInput(t *testing.T) {
	if _, err := Run(Spec{}); err == nil {
		t.Error("empty spec accepted")
	}
	_, err := Run(Spec{Scenarios: []string{"../testdata/tiny.yaml"}, Policies: []string{"fastest"}})
	var ie *InputError
	if err == nil || !asInput(err, &ie) || !strings.Contains(err.Error(), "allowed") {
		t.Errorf("unknown policy: got %v, want an input error listing the allowed policies", err)
	}
	_, err = Run(Spec{Scenarios: []string{"../testdata/tiny.yaml"}, Policies: []string{"first-fit"}, Baseline: "greenest"})
	if err == nil || !strings.Contains(err.Error(), "--baseline") {
		t.Errorf("baseline not run: got %v", err)
	}
	if _, err := Run(Spec{Scenarios: []string{"nope.yaml"}}); err == nil {
		t.Error("missing scenario file accepted")
	}
}

func asInput(err error, target **InputError) bool {
	e, ok := err.(*InputError)
	if ok {
		*target = e
	}
	return ok
}

// TestRunSiteGoesDark is a regression case the sweep found: on the tiny
// scenario, seed 8, carbon-window, a site whose every node stopped drawing
// power was left with an IT power a few ulps below zero, which the energy
// model (rightly) refused.
func TestRunSiteGoesDark(t *testing.T) {
	if _, err := Run(Spec{Scenarios: []string{"../testdata/tiny.yaml"}, Policies: []string{"carbon-window"}, Seeds: []uint64{8}}); err != nil {
		t.Fatal(err)
	}
}

// TestRunSweepsSchedulerSettings: --set reaches the scheduler block, so
// a sweep compares deferral settings like any other parameter.
func TestRunSweepsSchedulerSettings(t *testing.T) {
	run := func(sets ...string) []Sample {
		r, err := Run(Spec{Scenarios: []string{"../testdata/tiny.yaml"}, Policies: []string{"greenest", "carbon-window"}, Runs: 1, Sets: sets})
		if err != nil {
			t.Fatal(err)
		}
		return r.Samples
	}
	base, changed := run(), run("scheduler.defer_threshold=0", "scheduler.defer_slack=0", "scheduler.defer_slack_fraction=0")
	if !reflect.DeepEqual(base[0].Values, changed[0].Values) {
		t.Error("greenest changed with the deferral settings")
	}
	if reflect.DeepEqual(base[1].Values, changed[1].Values) {
		t.Error("carbon-window did not change with the deferral settings")
	}
	_, err := Run(Spec{Scenarios: []string{"../testdata/tiny.yaml"}, Policies: []string{"greenest"}, Sets: []string{"scheduler.node_candidates=0"}})
	var ie *InputError
	if err == nil || !asInput(err, &ie) || !strings.Contains(err.Error(), "scheduler.node_candidates: 0 must be in [1, 32]") {
		t.Errorf("bad scheduler override: got %v, want an input error naming the field", err)
	}
}
