package scenarios

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// shippedFiles are the scenario files planners use.
func shippedFiles(t testing.TB) []string {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d shipped scenarios, want at least 4", len(files))
	}
	return files
}

// TestShipped loads every shipped scenario and checks it is sized to
// simulate in seconds: ~10^3-10^5 nodes and 10^4-10^5 expected workload
// instances.
func TestShipped(t *testing.T) {
	for _, f := range shippedFiles(t) {
		t.Run(f, func(t *testing.T) {
			s, err := Load(f, LoadOptions{KnownPolicies: testPolicies})
			if err != nil {
				t.Fatal(err)
			}
			if n := s.TotalNodes(); n < 1000 || n > 100_000 {
				t.Errorf("%d nodes, want 10^3..10^5", n)
			}
			total := 0.0
			for i := range s.Workloads {
				total += s.ExpectedInstances(&s.Workloads[i])
			}
			if total < 1e4 || total > 1.5e5 {
				t.Errorf("%.0f expected instances, want 10^4..1.5·10^5", total)
			}
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(raw, []byte("# yaml-language-server: $schema=./scenario.schema.json\n")) {
				t.Errorf("%s does not start with the schema modeline", f)
			}
		})
	}
}

// TestResolvedRoundTrip checks that the resolved form of every valid
// scenario loads again into the same scenario and resolves to the same
// bytes.
func TestResolvedRoundTrip(t *testing.T) {
	files := append(shippedFiles(t), "testdata/valid/minimal.yaml")
	more, _ := filepath.Glob("testdata/valid/*.yaml")
	files = append(files, more...)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			s, err := Load(f, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			y1, err := s.EncodeYAML()
			if err != nil {
				t.Fatal(err)
			}
			s2, err := Parse(f, y1, LoadOptions{})
			if err != nil {
				t.Fatalf("resolved form does not load: %v\n%s", err, y1)
			}
			y2, err := s2.EncodeYAML()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(y1, y2) {
				t.Errorf("resolved form is not stable:\n%s\n---\n%s", y1, y2)
			}
			if s.Scheduler != s2.Scheduler {
				t.Errorf("scheduler %+v, %+v after round trip", s.Scheduler, s2.Scheduler)
			}
			if len(s.Sites) != len(s2.Sites) || s.TotalNodes() != s2.TotalNodes() {
				t.Errorf("sites %d/%d nodes %d/%d after round trip", len(s.Sites), len(s2.Sites), s.TotalNodes(), s2.TotalNodes())
			}
			for i := range s.Workloads {
				a, b := &s.Workloads[i], &s2.Workloads[i]
				if !reflect.DeepEqual(a.OriginRatePerHour, b.OriginRatePerHour) || len(a.Records) != len(b.Records) {
					t.Errorf("workload %s differs after round trip", a.Name)
				}
			}
			j, err := s.EncodeJSON()
			if err != nil {
				t.Fatal(err)
			}
			// JSON is YAML: the JSON form loads too.
			if _, err := Parse(f, j, LoadOptions{}); err != nil {
				t.Errorf("JSON form does not load: %v", err)
			}
		})
	}
}

func TestApplySet(t *testing.T) {
	base := "testdata/valid/minimal.yaml"
	tests := []struct {
		name  string
		sets  []string
		check func(*Scenario) string
	}{
		{"scalar", []string{"horizon=3d"}, func(s *Scenario) string {
			return want(s.Horizon.String(), "3d")
		}},
		{"by id", []string{"sites[qd-core].pue=1.2"}, func(s *Scenario) string {
			return want(formatFloat(s.Sites[1].PUE.Design), "1.2")
		}},
		{"by index creates field", []string{"sites[0].battery.mwh=20"}, func(s *Scenario) string {
			if s.Sites[0].Battery == nil {
				return "no battery"
			}
			return want(formatFloat(s.Sites[0].Battery.MW), "10")
		}},
		{"flow value", []string{"policies=[greenest, spread]"}, func(s *Scenario) string {
			return want(strings.Join(s.Policies, ","), "greenest,spread")
		}},
		{"workload by class", []string{"workloads[analytics].arrivals.rate_per_hour=5"}, func(s *Scenario) string {
			return want(formatFloat(s.Workloads[0].RatePerHour), "5")
		}},
		{"map key with dash", []string{"node_types.gpu-8.power.peak_w=7000"}, func(s *Scenario) string {
			return want(formatFloat(s.NodeTypes[1].Power.PeakW), "7000")
		}},
		{"scheduler slack", []string{"scheduler.defer_slack=4h"}, func(s *Scenario) string {
			return want(s.Scheduler.DeferSlack.String(), "4h") + want(formatFloat(s.Scheduler.DeferThreshold), "0.1")
		}},
		{"scheduler weight keeps the others", []string{"scheduler.weights.carbon=3"}, func(s *Scenario) string {
			w := s.Scheduler.Weights
			return want(fmt.Sprint(w), fmt.Sprint(ScorerWeights{Latency: 1, Cost: 1, Carbon: 3, BinPack: 0.5, Spread: 0.1}))
		}},
		{"scheduler block", []string{"scheduler={node_candidates: 8, defer_slack_fraction: 1}"}, func(s *Scenario) string {
			return want(fmt.Sprint(s.Scheduler.NodeCandidates, s.Scheduler.DeferSlackFraction, s.Scheduler.DeferSlack), "8 1 1h")
		}},
		{"later wins", []string{"seed=5", "seed=7"}, func(s *Scenario) string {
			return want(formatFloat(float64(s.Seed)), "7")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load(base, LoadOptions{Sets: tc.sets})
			if err != nil {
				t.Fatal(err)
			}
			if msg := tc.check(s); msg != "" {
				t.Error(msg)
			}
			if !reflect.DeepEqual(s.Sets, tc.sets) {
				t.Errorf("sets = %v, want %v", s.Sets, tc.sets)
			}
			plain, _ := Load(base, LoadOptions{})
			if plain.SHA256 == s.SHA256 {
				t.Error("sha256 does not change with --set")
			}
		})
	}
}

func want(got, w string) string {
	if got != w {
		return "got " + got + ", want " + w
	}
	return ""
}

func TestApplySetErrors(t *testing.T) {
	base := "testdata/valid/minimal.yaml"
	tests := []struct{ set, want string }{
		{"horizon", `--set "horizon": want path=value`},
		{"sites[nowhere].pue=1.2", `--set "sites[nowhere].pue=1.2": sites[nowhere]: no element with id "nowhere" (allowed: jn-core, qd-core)`},
		{"sites[5].pue=1.2", `sites[5]: index 5 out of range (the list has 2 elements)`},
		{"horizon.days=2", `horizon is string "1d", not a mapping with field "days"`},
		{"sites.id=x", `sites is a list, not a mapping with field "id"`},
		{"sites[0.pue=1", `unclosed [`},
		{"policies=[a", `is not valid YAML`},
		// Values set on the command line are validated like the file, and
		// their errors name the override.
		{"sites[jn-core].battery.soc_min=2", `testdata/valid/minimal.yaml: --set "sites[jn-core].battery.soc_min=2": sites[jn-core].battery.soc_min: 2 must be in [0, 1]`},
		{"sites[jn-core].city=Laiwu", `--set "sites[jn-core].city=Laiwu": sites[jn-core].city: unknown city "Laiwu" (allowed: JN`},
		{"horizon=soon", `--set "horizon=soon": horizon: invalid duration "soon"`},
		{"scheduler.defer_slack=soon", `--set "scheduler.defer_slack=soon": scheduler.defer_slack: invalid duration "soon"`},
		{"scheduler.defer_slack=4", `scheduler.defer_slack: invalid duration "4": missing unit`},
		{"scheduler.weights.carbn=2", `scheduler.weights.carbn: unknown field "carbn"; did you mean "carbon"? (allowed: latency, cost, carbon, binpack, spread)`},
		{"scheduler.node_candidates=64", `scheduler.node_candidates: 64 must be in [1, 32]`},
		{"scheduler.defer_threshold=-0.1", `scheduler.defer_threshold: -0.1 must be in [0, 1]`},
	}
	for _, tc := range tests {
		t.Run(tc.set, func(t *testing.T) {
			_, err := Load(base, LoadOptions{Sets: []string{tc.set}})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to contain %q", err, tc.want)
			}
			for _, e := range Errors(err) {
				if e.Set != tc.set {
					t.Errorf("error %v does not name the override", e)
				}
			}
		})
	}
}

func TestApplySetAlias(t *testing.T) {
	// Overriding a value reached through an alias or a merge changes that
	// place only.
	src := `
name: alias
horizon: 1d
policies: [balanced]
node_types:
  cpu-64: {cpu_cores: 64, memory_gib: 256, power: {idle_w: 150, peak_w: 500}}
sites:
  - &site {id: a, role: edge, city: JN, nodes: {cpu-64: 1}, battery: &bat {mwh: 1}}
  - {<<: *site, id: b, city: QD}
  - {id: c, role: edge, city: YT, nodes: {cpu-64: 1}, battery: *bat}
workloads:
  - {class: ctrl, kind: service, cpu_cores: 1, duration: 1h, arrivals: {rate_per_hour: 1}}
`
	s, err := Parse("alias.yaml", []byte(src), LoadOptions{Sets: []string{"sites[b].battery.mwh=4", "sites[c].battery.mwh=8"}})
	if err != nil {
		t.Fatal(err)
	}
	got := []float64{s.Sites[0].Battery.MWh, s.Sites[1].Battery.MWh, s.Sites[2].Battery.MWh}
	if !reflect.DeepEqual(got, []float64{1, 4, 8}) {
		t.Errorf("battery mwh = %v, want [1 4 8]", got)
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		out  string
	}{
		{"15m", 15 * time.Minute, "15m"},
		{"7d", 7 * 24 * time.Hour, "7d"},
		{"1.5d", 36 * time.Hour, "1d12h"},
		{"2w", 14 * 24 * time.Hour, "14d"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"250ms", 250 * time.Millisecond, "0.25s"},
		{"0", 0, "0s"},
	} {
		got, err := ParseDuration(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		if s := formatDuration(got); s != tc.out {
			t.Errorf("format(%v) = %q, want %q", got, s, tc.out)
		}
		if back, _ := ParseDuration(tc.out); back != got {
			t.Errorf("format/parse round trip of %v gives %v", got, back)
		}
	}
	for _, bad := range []string{"", "5", "-1h", "1x", "h", "1e400h", "99999999999d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

func TestDistSampleAndMean(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dists := []Dist{
		Fixed(3),
		{Kind: DistUniform, Min: 6, Max: 24},
		{Kind: DistLogNormal, Median: 4, Sigma: 0.5},
		{Kind: DistExponential, Mean: 2},
		{Kind: DistLogUniform, Min: 4, Max: 64},
		{Kind: DistChoice, Values: []float64{1, 2, 4, 8}, Weights: []float64{8, 4, 2, 1}},
	}
	for _, d := range dists {
		const n = 200_000
		sum := 0.0
		lo, hi := math.Inf(1), math.Inf(-1)
		for range n {
			x := d.Sample(r)
			sum += x
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
		mean := sum / n
		if rel := math.Abs(mean-d.MeanValue()) / d.MeanValue(); rel > 0.02 {
			t.Errorf("%v: sample mean %g, MeanValue %g", d, mean, d.MeanValue())
		}
		if up, ok := d.Upper(); ok && hi > up {
			t.Errorf("%v: sample %g above Upper %g", d, hi, up)
		}
		if lo < d.Lower() {
			t.Errorf("%v: sample %g below Lower %g", d, lo, d.Lower())
		}
	}
	// Clamp and step.
	d := Dist{Kind: DistLogNormal, Median: 64, Sigma: 2, Min: 8, Max: 256, Step: 8}
	for range 10_000 {
		x := d.Sample(r)
		if x < 8 || x > 256 || math.Mod(x, 8) != 0 {
			t.Fatalf("%v: sample %g outside [8,256] or not a multiple of 8", d, x)
		}
	}
}

func TestDistYAML(t *testing.T) {
	for _, src := range []string{
		"4", "{dist: uniform, min: 1, max: 4}", "{dist: lognormal, median: 64, sigma: 1, max: 4096, step: 1}",
		"{dist: exponential, mean: 2}", "{dist: loguniform, min: 256, max: 4096}", "{dist: choice, values: [1, 2], weights: [3, 1]}",
		"{value: 2}",
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(src), &n); err != nil {
			t.Fatal(err)
		}
		c := newCollector("t")
		var d Dist
		d.decodeYAML(newDecoder(c), n.Content[0], "x")
		if err := c.err(); err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		out, err := yaml.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var n2 yaml.Node
		if err := yaml.Unmarshal(out, &n2); err != nil {
			t.Fatal(err)
		}
		var d2 Dist
		d2.decodeYAML(newDecoder(c), n2.Content[0], "x")
		if !reflect.DeepEqual(d, d2) {
			t.Errorf("%s: round trip %+v -> %s -> %+v", src, d, out, d2)
		}
	}
}

func TestEditDistance(t *testing.T) {
	if got := closest("horizn", []string{"name", "horizon", "interval"}); got != "horizon" {
		t.Errorf("closest = %q, want horizon", got)
	}
	if got := closest("xyzzy", []string{"name", "horizon"}); got != "" {
		t.Errorf("closest = %q, want none", got)
	}
}

// TestApplySetEventByName: events are selected by their name in --set.
func TestApplySetEventByName(t *testing.T) {
	src := `
name: events
horizon: 2d
policies: [balanced]
node_types:
  cpu-64: {cpu_cores: 64, memory_gib: 256, power: {idle_w: 150, peak_w: 500}}
sites:
  - {id: a, role: edge, city: JN, nodes: {cpu-64: 1}}
workloads:
  - {class: ctrl, kind: service, cpu_cores: 1, duration: 1h, arrivals: {rate_per_hour: 1}}
events:
  - {name: first, at: 1h, kind: site-outage, site: a, duration: 1h}
  - {name: second, at: 5h, kind: site-outage, site: a, duration: 1h}
`
	s, err := Parse("events.yaml", []byte(src), LoadOptions{Sets: []string{"events[second].duration=3h"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{s.Events[0].Duration.String(), s.Events[1].Duration.String()}; !reflect.DeepEqual(got, []string{"1h", "3h"}) {
		t.Errorf("durations %v, want [1h 3h]", got)
	}
}

// TestDefaultEventNames: events the file does not name are named
// <kind>@<at>; names that would repeat (two unnamed events of a kind at
// one time, or a default a named event already uses) get #2, #3, ... in
// file order, so every event has its own name in the outputs and can be
// selected by it with --set.
func TestDefaultEventNames(t *testing.T) {
	src := `name: events
horizon: 2d
start: "2025-04-07T00:00:00+08:00"
policies: [balanced]
node_types:
  cpu-64: {cpu_cores: 64, memory_gib: 256, power: {idle_w: 150, peak_w: 500}}
sites:
  - {id: a, role: edge, city: JN, nodes: {cpu-64: 4}}
  - {id: b, role: edge, city: QD, nodes: {cpu-64: 4}}
workloads:
  - {class: ctrl, kind: service, cpu_cores: 1, duration: 1h, arrivals: {rate_per_hour: 1}}
events:
  - {at: 34h, kind: site-outage, site: a, duration: 2h}
  - {at: 1d10h, kind: site-outage, site: b, duration: 2h}
  - {name: "site-outage@1d10h#3", at: 1h, kind: renewable-drought, sites: all, factor: 0.5, duration: 1h}
  - {at: "2025-04-08T10:00:00+08:00", kind: renewable-drought, site: a, factor: 0, duration: 1h}
  - {at: 34h, kind: demand-surge, factor: 2, duration: 1h}
  - {at: 10h, kind: site-outage, site: a, duration: 1h}
`
	s, err := Parse("events.yaml", []byte(src), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"site-outage@1d10h", "site-outage@1d10h#2", "site-outage@1d10h#3", "renewable-drought@1d10h", "demand-surge@1d10h", "site-outage@10h"}
	var got []string
	for _, e := range s.Events {
		got = append(got, e.Name)
	}
	if !reflect.DeepEqual(got, wantNames) {
		t.Fatalf("event names %q, want %q", got, wantNames)
	}
	// --set selects by them (the third is the named drought, not a
	// third default).
	for _, tc := range []struct {
		set   string
		index int
		check func(e *Event) bool
	}{
		{"events[site-outage@1d10h#2].duration=5h", 1, func(e *Event) bool { return e.Duration.D() == 5*time.Hour }},
		{"events[site-outage@1d10h].duration=30m", 0, func(e *Event) bool { return e.Duration.D() == 30*time.Minute }},
		{"events[site-outage@1d10h#3].factor=0.25", 2, func(e *Event) bool { return e.Factor == 0.25 }},
		{"events[renewable-drought@1d10h].factor=0.5", 3, func(e *Event) bool { return e.Factor == 0.5 }},
		{"events[site-outage@10h].duration=3h", 5, func(e *Event) bool { return e.Duration.D() == 3*time.Hour }},
	} {
		s, err := Parse("events.yaml", []byte(src), LoadOptions{Sets: []string{tc.set}})
		if err != nil {
			t.Errorf("%s: %v", tc.set, err)
			continue
		}
		if !tc.check(&s.Events[tc.index]) {
			t.Errorf("%s did not change events[%d]: %+v", tc.set, tc.index, s.Events[tc.index])
		}
		if s.Events[tc.index].Name != wantNames[tc.index] {
			t.Errorf("%s: events[%d] is now %q, want it to keep %q", tc.set, tc.index, s.Events[tc.index].Name, wantNames[tc.index])
		}
	}
	_, err = Parse("events.yaml", []byte(src), LoadOptions{Sets: []string{"events[site-outage@9h].duration=1h"}})
	if err == nil || !strings.Contains(err.Error(), `no event named "site-outage@9h" (allowed: site-outage@1d10h, site-outage@1d10h#2, site-outage@1d10h#3, renewable-drought@1d10h, demand-surge@1d10h, site-outage@10h)`) {
		t.Errorf("unknown event name: got %v", err)
	}
	// The resolved form names every event, and loads to the same names.
	y, err := s.EncodeYAML()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Parse("events.yaml", y, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range s2.Events {
		if s2.Events[i].Name != wantNames[i] {
			t.Errorf("resolved form: events[%d] named %q, want %q", i, s2.Events[i].Name, wantNames[i])
		}
	}
}

// TestSchedulerBlock: a scenario without a scheduler block gets the
// defaults; the block's values (and a weight left out keeping its
// default) load as given; show writes the block out.
func TestSchedulerBlock(t *testing.T) {
	s, err := Load("testdata/valid/minimal.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Scheduler != DefaultScheduler() {
		t.Errorf("no block: %+v, want the defaults %+v", s.Scheduler, DefaultScheduler())
	}
	s, err = Load("testdata/valid/scheduler.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantS := Scheduler{
		Weights:        ScorerWeights{Latency: 0.5, Cost: 1, Carbon: 3, BinPack: 0, Spread: 0.2},
		NodeCandidates: 8, DeferThreshold: 0, DeferSlack: Duration(90 * time.Minute), DeferSlackFraction: 0.5,
		Optimizer: Optimizer{Tolerance: 0, RecoveryHours: 0, ReplanShare: 2, CarbonWeight: 2, PriceWeight: 0, Utilization: 0.6},
		Forecast:  Forecast{Step: Duration(30 * time.Minute), Horizon: Duration(24 * time.Hour)},
	}
	if s.Scheduler != wantS {
		t.Errorf("got %+v, want %+v", s.Scheduler, wantS)
	}
	y, err := s.EncodeYAML()
	if err != nil {
		t.Fatal(err)
	}
	const block = `scheduler:
  weights:
    latency: 0.5
    cost: 1
    carbon: 3
    binpack: 0
    spread: 0.2
  node_candidates: 8
  defer_threshold: 0
  defer_slack: 1h30m
  defer_slack_fraction: 0.5
  optimizer:
    tolerance: 0
    recovery_hours: 0
    replan_share: 2
    carbon_weight: 2
    price_weight: 0
    utilization: 0.6
  forecast:
    step: 30m
    horizon: 1d
`
	if !strings.Contains(string(y), block) {
		t.Errorf("resolved form lacks\n%s\ngot:\n%s", block, y)
	}
}

// TestPowerManagementDefaults: switching idle servers off with only
// idle_off_after given uses the documented defaults for the rest (off_w
// 10 W, wake 2m, keep_on 1), in the file or through --set.
func TestPowerManagementDefaults(t *testing.T) {
	want := PowerManagement{IdleOffAfter: Duration(15 * time.Minute), OffW: 10, Wake: Duration(2 * time.Minute), KeepOn: 1}
	for _, sets := range [][]string{
		{"power_management.idle_off_after=15m"},
		{"power_management={idle_off_after: 15m}"},
	} {
		s, err := Load("testdata/valid/minimal.yaml", LoadOptions{Sets: sets})
		if err != nil {
			t.Fatal(err)
		}
		if s.PowerManagement != want {
			t.Errorf("%v: %+v, want %+v", sets, s.PowerManagement, want)
		}
	}
	s, err := Load("testdata/valid/minimal.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want.IdleOffAfter = 0; s.PowerManagement != want {
		t.Errorf("no block: %+v, want %+v", s.PowerManagement, want)
	}
}

// TestSchedulerOptimizerAndForecast: each field of scheduler.optimizer
// and scheduler.forecast loads within its range (through --set, so the
// overrides work on them too) and is refused outside it, at its path with
// the range; a field left out keeps its default, and defer_slack left out
// follows the forecast step.
func TestSchedulerOptimizerAndForecast(t *testing.T) {
	def := DefaultScheduler()
	for _, tc := range []struct {
		set   string
		check func(s *Scheduler) bool
		err   string // "" = loads
	}{
		{"scheduler.optimizer.tolerance=0", func(s *Scheduler) bool { return s.Optimizer.Tolerance == 0 && s.Optimizer.ReplanShare == 0.5 }, ""},
		{"scheduler.optimizer.tolerance=10", func(s *Scheduler) bool { return s.Optimizer.Tolerance == 10 }, ""},
		{"scheduler.optimizer.tolerance=10.5", nil, "scheduler.optimizer.tolerance: 10.5 must be in [0, 10]"},
		{"scheduler.optimizer.tolerance=-0.01", nil, "scheduler.optimizer.tolerance: -0.01 must be in [0, 10]"},
		{"scheduler.optimizer.tolerance=.nan", nil, "scheduler.optimizer.tolerance: expected a finite number"},
		{"scheduler.optimizer.recovery_hours=0", func(s *Scheduler) bool { return s.Optimizer.RecoveryHours == 0 }, ""},
		{"scheduler.optimizer.recovery_hours=168", func(s *Scheduler) bool { return s.Optimizer.RecoveryHours == 168 }, ""},
		{"scheduler.optimizer.recovery_hours=168.5", nil, "scheduler.optimizer.recovery_hours: 168.5 must be in [0, 168]"},
		{"scheduler.optimizer.recovery_hours=4h", nil, `scheduler.optimizer.recovery_hours: expected a number, got string "4h"`},
		{"scheduler.optimizer.replan_share=0", func(s *Scheduler) bool { return s.Optimizer.ReplanShare == 0 }, ""},
		{"scheduler.optimizer.replan_share=10", func(s *Scheduler) bool { return s.Optimizer.ReplanShare == 10 }, ""},
		{"scheduler.optimizer.replan_share=-1", nil, "scheduler.optimizer.replan_share: -1 must be in [0, 10]"},
		{"scheduler.optimizer.carbon_weight=0", func(s *Scheduler) bool { return s.Optimizer.CarbonWeight == 0 && s.Optimizer.PriceWeight == 1 }, ""},
		{"scheduler.optimizer.price_weight=1000", func(s *Scheduler) bool { return s.Optimizer.PriceWeight == 1000 }, ""},
		{"scheduler.optimizer.price_weight=1001", nil, "scheduler.optimizer.price_weight: 1001 must be in [0, 1000]"},
		{"scheduler.optimizer={carbon_weight: 0, price_weight: 0}", nil, "scheduler.optimizer.carbon_weight: carbon_weight and price_weight are both 0"},
		{"scheduler.optimizer.utilization=1", func(s *Scheduler) bool { return s.Optimizer.Utilization == 1 }, ""},
		{"scheduler.optimizer.utilization=0", nil, "scheduler.optimizer.utilization: 0 must be in (0, 1]"},
		{"scheduler.optimizer.utilization=1.01", nil, "scheduler.optimizer.utilization: 1.01 must be in (0, 1]"},
		{"scheduler.optimizer.tolerence=1", nil, `scheduler.optimizer.tolerence: unknown field "tolerence"; did you mean "tolerance"?`},
		{"scheduler.optimizer={tolerance: 0.2}", func(s *Scheduler) bool {
			o := def.Optimizer
			o.Tolerance = 0.2
			return s.Optimizer == o
		}, ""},
		{"scheduler.forecast.step=5m", func(s *Scheduler) bool {
			return s.Forecast.Step.D() == 5*time.Minute && s.Forecast.Steps() == 576 && s.DeferSlack.D() == 5*time.Minute
		}, ""},
		{"scheduler.forecast={step: 6h, horizon: 7d}", func(s *Scheduler) bool {
			return s.Forecast.Steps() == 28 && s.DeferSlack.D() == 6*time.Hour
		}, ""},
		{"scheduler.forecast={step: 15m, horizon: 15m}", func(s *Scheduler) bool { return s.Forecast.Steps() == 1 }, ""},
		{"scheduler.forecast.horizon=6h", func(s *Scheduler) bool {
			return s.Forecast.Steps() == 6 && s.Forecast.Step == def.Forecast.Step && s.DeferSlack == def.DeferSlack
		}, ""},
		{"scheduler.forecast={step: 5m, horizon: 56h}", func(s *Scheduler) bool { return s.Forecast.Steps() == MaxForecastSteps }, ""},
		{"scheduler.forecast.step=4m59s", nil, "scheduler.forecast.step: 4m59s must be in [5m, 6h]"},
		{"scheduler.forecast.step=7h", nil, "scheduler.forecast.step: 7h must be in [5m, 6h]"},
		{"scheduler.forecast.step=0", nil, "scheduler.forecast.step: 0s must be in [5m, 6h]"},
		{"scheduler.forecast.step=1", nil, "scheduler.forecast.step: invalid duration"},
		{"scheduler.forecast.horizon=0", nil, "scheduler.forecast.horizon: 0s must be in [step, 7d]"},
		{"scheduler.forecast.horizon=7d1h", nil, "scheduler.forecast.horizon: 7d1h must be in [step, 7d]"},
		{"scheduler.forecast.horizon=30m", nil, "scheduler.forecast.horizon: 30m is shorter than the step 1h"},
		{"scheduler.forecast.horizon=90m", nil, "scheduler.forecast.horizon: 1h30m is not a whole number of steps of 1h"},
		{"scheduler.forecast={step: 5m, horizon: 56h5m}", nil, "scheduler.forecast.horizon: 2d8h5m is 673 steps of 5m, more than the limit of 672"},
		// defer_slack given keeps its value whatever the step.
		{"scheduler={forecast: {step: 15m}, defer_slack: 2h}", func(s *Scheduler) bool { return s.DeferSlack.D() == 2*time.Hour }, ""},
		{"scheduler={forecast: {step: 15m}, defer_slack: 0}", func(s *Scheduler) bool { return s.DeferSlack == 0 }, ""},
	} {
		s, err := Load("testdata/valid/minimal.yaml", LoadOptions{Sets: []string{tc.set}})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: got %v, want an error with %q", tc.set, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.set, err)
			continue
		}
		if !tc.check(&s.Scheduler) {
			t.Errorf("%s: got %+v", tc.set, s.Scheduler)
		}
		// The resolved form loads to the same block.
		y, err := s.EncodeYAML()
		if err != nil {
			t.Fatal(err)
		}
		s2, err := Parse("resolved.yaml", y, LoadOptions{})
		if err != nil {
			t.Fatalf("%s: resolved form: %v", tc.set, err)
		}
		if s2.Scheduler != s.Scheduler {
			t.Errorf("%s: resolved form loads %+v, want %+v", tc.set, s2.Scheduler, s.Scheduler)
		}
	}
}
