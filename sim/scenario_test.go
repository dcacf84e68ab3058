package sim

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suanli/suanli/scenarios"
	"github.com/suanli/suanli/scheduler"
)

// shippedScenarios lists the scenario files shipped in ../scenarios.
func shippedScenarios(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "scenarios", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no shipped scenarios in ../scenarios")
	}
	return files
}

func loadConfig(t *testing.T, path string, sets ...string) (*scenarios.Scenario, *Config) {
	t.Helper()
	s, err := scenarios.Load(path, scenarios.LoadOptions{KnownPolicies: scheduler.PolicyNames(), Sets: sets})
	if err != nil {
		if strings.Contains(err.Error(), "shared") || os.IsNotExist(err) {
			t.Skipf("%s needs data that is absent here: %v", path, err)
		}
		t.Fatal(err)
	}
	cfg, err := FromScenario(s)
	if err != nil {
		t.Fatal(err)
	}
	return s, cfg
}

// eventsHorizon is the shortest horizon of at least least that lets every
// event of cfg start and end, with an hour after the last for the work
// it disturbed to be placed again, in whole intervals and at most
// cfg.Horizon.
func eventsHorizon(cfg *Config, least time.Duration) time.Duration {
	h := least
	for _, e := range cfg.Events {
		h = max(h, e.At+e.Duration+time.Hour)
	}
	h = (h + cfg.Interval - 1) / cfg.Interval * cfg.Interval
	return min(h, cfg.Horizon)
}

// checkEventsRan checks that every event of cfg started and ended within
// the run (outages took nodes down), so the run's checks covered them.
func checkEventsRan(t *testing.T, cfg *Config, r Run) {
	t.Helper()
	if len(r.Events) != len(cfg.Events) {
		t.Errorf("%s: %d events ran, want the scenario's %d", r.Policy, len(r.Events), len(cfg.Events))
		return
	}
	ran := map[string]EventRecord{} // the records are in the order the events started
	for _, rec := range r.Events {
		ran[rec.Name] = rec
	}
	for _, e := range cfg.Events {
		rec, ok := ran[e.Name]
		if !ok || rec.StartHours != e.At.Hours() || rec.EndHours != (e.At+e.Duration).Hours() {
			t.Errorf("%s: event %s ran as %+v, want [%gh, %gh)", r.Policy, e.Name, rec, e.At.Hours(), (e.At + e.Duration).Hours())
		}
		if (e.Kind == SiteOutage || e.Kind == NodeOutage) && rec.NodesDown == 0 {
			t.Errorf("%s: outage %s took no node down", r.Policy, e.Name)
		}
	}
}

// TestShippedScenarios runs every shipped scenario under two policies in
// test mode, over its first day or, when it has events, until an hour
// after its last event ends (so its outages and surges run under the
// checks): every interval's energy balance, the core's State invariants
// (no node above capacity) and workload conservation are checked as the
// run goes; the balance is checked again here on the recorded intervals.
func TestShippedScenarios(t *testing.T) {
	for _, path := range shippedScenarios(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			_, cfg := loadConfig(t, path)
			cfg.Horizon = eventsHorizon(cfg, 24*time.Hour)
			policies := []string{cfg.Policies[0], "carbon-window"}
			runs, err := RunPolicies(cfg, policies, RunOptions{CheckInvariants: true})
			if err != nil {
				t.Fatal(err)
			}
			// and once with idle servers switched off (the invariant
			// checks then cover its bookkeeping through the outages)
			pm := *cfg
			pm.Power = PowerManagement{IdleOffAfter: 15 * time.Minute, OffW: 10, Wake: 2 * time.Minute, KeepOn: 1}
			pmRuns, err := RunPolicies(&pm, []string{"binpack"}, RunOptions{CheckInvariants: true})
			if err != nil {
				t.Fatalf("power-managed: %v", err)
			}
			if pmRuns[0].SwitchOffs == 0 || pmRuns[0].Wakeups == 0 {
				t.Errorf("power-managed binpack: %d switch-offs, %d wake-ups; want both", pmRuns[0].SwitchOffs, pmRuns[0].Wakeups)
			}
			runs = append(runs, pmRuns...)
			for _, r := range runs {
				checkEventsRan(t, cfg, r)
				if r.Submitted == 0 || r.Placed == 0 {
					t.Errorf("%s: submitted %d placed %d, want work", r.Policy, r.Submitted, r.Placed)
				}
				if got := r.Completed + r.Rejected + r.InFlight; got != r.Submitted {
					t.Errorf("%s: completed %d + rejected %d + in flight %d = %d, want submitted %d", r.Policy, r.Completed, r.Rejected, r.InFlight, got, r.Submitted)
				}
				for i := range r.Intervals {
					for s := range r.Intervals[i].Sites {
						if err := r.Intervals[i].Sites[s].Check(1e-9); err != nil {
							t.Fatalf("%s interval %d site %s: %v", r.Policy, i, r.SiteNames()[s], err)
						}
					}
				}
				if err := r.Energy.Check(1e-9); err != nil {
					t.Errorf("%s: totals: %v", r.Policy, err)
				}
			}
		})
	}
}

// TestShippedSameSeedSameOutputs runs every shipped scenario twice under
// two policies and compares the files byte for byte (summary.json apart
// from its timing objects). To keep it short, the run lasts 12 hours, and
// a scenario's events are moved earlier (keeping their order, spacing and
// lengths) so that all of them start and end within it.
func TestShippedSameSeedSameOutputs(t *testing.T) {
	for _, path := range shippedScenarios(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			out := func() (string, *Config) {
				s, cfg := loadConfig(t, path)
				if len(cfg.Events) > 0 {
					first := cfg.Events[0].At
					for _, e := range cfg.Events {
						first = min(first, e.At)
					}
					shift := max(0, first-2*time.Hour).Truncate(time.Hour)
					for i := range cfg.Events {
						cfg.Events[i].At -= shift
					}
				}
				cfg.Horizon = eventsHorizon(cfg, 12*time.Hour)
				dir := t.TempDir()
				var clock atomic.Int64
				runs, err := RunPolicies(cfg, []string{cfg.Policies[0], "price-window"}, RunOptions{Clock: func() int64 { return clock.Add(777) }, TraceDir: dir})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range runs {
					checkEventsRan(t, cfg, r)
				}
				if _, err := WriteOutputs(dir, cfg, MetaOf(s, cfg), runs); err != nil {
					t.Fatal(err)
				}
				return dir, cfg
			}
			a, cfg := out()
			b, _ := out()
			for _, name := range []string{"timeseries.csv", "trace.csv", "report.html"} {
				x, _ := os.ReadFile(filepath.Join(a, name))
				y, _ := os.ReadFile(filepath.Join(b, name))
				if len(x) == 0 || !bytes.Equal(x, y) {
					t.Errorf("%s differs between two runs of the same seed (%d vs %d bytes)", name, len(x), len(y))
				}
			}
			x, _ := os.ReadFile(filepath.Join(a, "summary.json"))
			y, _ := os.ReadFile(filepath.Join(b, "summary.json"))
			if !bytes.Equal(stripTiming(t, x), stripTiming(t, y)) {
				t.Error("summary.json differs (apart from timing) between two runs of the same seed")
			}
			t.Logf("%d events within %v", len(cfg.Events), cfg.Horizon)
		})
	}
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s; rerun with -update if the change is intended\n%s", path, firstDiff(string(got), string(want)))
	}
}

// TestTinyScenarioGolden runs testdata/tiny.yaml (a small province that
// runs out of capacity: queueing, expiry, outages, a surge, a drought,
// deferral) end to end through RunFile and compares summary.json, apart
// from timing, with the golden file.
func TestTinyScenarioGolden(t *testing.T) {
	var clock atomic.Int64
	dir := t.TempDir()
	res, err := RunFile(filepath.Join("testdata", "tiny.yaml"), FileOptions{OutDir: dir, Clock: func() int64 { return clock.Add(1000) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Summary.Policies {
		w := p.Workloads
		if w.Submitted != w.Completed+w.Rejected+w.InFlight {
			t.Errorf("%s: submitted %d != completed %d + rejected %d + in flight %d", p.Policy, w.Submitted, w.Completed, w.Rejected, w.InFlight)
		}
		if p.RejectReasons["expired"] == 0 || w.Interrupted == 0 || p.MeanWaitHours == 0 {
			t.Errorf("%s: expired %d, interrupted %d, mean wait %g h: want the queue and outage paths exercised", p.Policy, p.RejectReasons["expired"], w.Interrupted, p.MeanWaitHours)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "tiny-summary.golden.json", stripTiming(t, b))
}

// TestExplainGolden explains one decision of the tiny scenario.
func TestExplainGolden(t *testing.T) {
	res, err := ExplainFile(filepath.Join("testdata", "tiny.yaml"), ExplainOptions{
		Workload: "vision-qc-41", WhyNotSites: []string{"x-jn", "dy-clu"}, WhyNotNodes: []string{"jn-core/cpu-64-0"}})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("at " + res.At.Format(time.RFC3339) + " policy " + res.Policy + "\n")
	if err := res.Explanation.Format(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "explain.golden", b.Bytes())
	// The explained decision is the one the simulation makes: the trace
	// of a full run places the workload where the explanation says.
	var buf bytes.Buffer
	cfg := func() *Config {
		_, c := loadConfig(t, filepath.Join("testdata", "tiny.yaml"))
		return c
	}()
	r, err := NewRunner(cfg, res.Policy, Options{Trace: &buf})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		if f := strings.Split(line, ","); len(f) > 8 && f[1] == "vision-qc-41" && f[15] == "0" {
			if f[7] != res.Explanation.ChosenSite {
				t.Errorf("the run placed vision-qc-41 at %s, the explanation says %s", f[7], res.Explanation.ChosenSite)
			}
			return
		}
	}
	t.Error("vision-qc-41 not found (uninterrupted) in the trace")
}

// TestExplainLaterDecisions explains the first, the n-th and the last
// decision of a workload the optimizer deferred, against the trace of the
// same run.
func TestExplainLaterDecisions(t *testing.T) {
	path := filepath.Join("testdata", "tiny.yaml")
	_, cfg := loadConfig(t, path)
	var buf bytes.Buffer
	r, err := NewRunner(cfg, "optimizer", Options{Trace: &buf})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(); err != nil {
		t.Fatal(err)
	}
	var id, site string
	var n int
	for _, line := range strings.Split(buf.String(), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 16 || f[9] != "completed" || f[15] != "0" {
			continue
		}
		if k, _ := strconv.Atoi(f[14]); k >= 3 {
			id, site, n = f[1], f[7], k
			break
		}
	}
	if id == "" {
		t.Fatal("no completed workload decided three times or more in the optimizer's trace of tiny.yaml")
	}
	explain := func(k int) *ExplainResult {
		t.Helper()
		res, err := ExplainFile(path, ExplainOptions{Workload: id, Policy: "optimizer", Decision: k})
		if err != nil {
			t.Fatalf("decision %d of %s: %v", k, id, err)
		}
		return res
	}
	if res := explain(0); res.Decision != 1 || res.Explanation.Decision.Outcome != scheduler.Defer {
		t.Errorf("first decision of %s: #%d %v, want #1 defer", id, res.Decision, res.Explanation.Decision.Outcome)
	}
	second := explain(2)
	if second.Decision != 2 || !second.At.After(explain(1).At) {
		t.Errorf("second decision of %s: #%d at %v, want #2 after the first", id, second.Decision, second.At)
	}
	last := explain(-1)
	if last.Decision != n || last.Explanation.Decision.Outcome != scheduler.Place || last.Explanation.ChosenSite != site {
		t.Errorf("last decision of %s: #%d %v at %s, want #%d place at %s (the trace)", id, last.Decision,
			last.Explanation.Decision.Outcome, last.Explanation.ChosenSite, n, site)
	}
	if lastN := explain(n); lastN.Explanation.ChosenNode != last.Explanation.ChosenNode || !lastN.At.Equal(last.At) {
		t.Errorf("decision %d and the last differ: %s at %v vs %s at %v", n, lastN.Explanation.ChosenNode, lastN.At,
			last.Explanation.ChosenNode, last.At)
	}
	_, err = ExplainFile(path, ExplainOptions{Workload: id, Policy: "optimizer", Decision: n + 1})
	if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), fmt.Sprintf("decided only %d time(s)", n)) {
		t.Errorf("decision %d of %d: got %v, want an input error", n+1, n, err)
	}
}

func TestExplainBadInput(t *testing.T) {
	for _, tc := range []struct {
		opt  ExplainOptions
		want string
	}{
		{ExplainOptions{Workload: "nope-1"}, `unknown class "nope"`},
		{ExplainOptions{Workload: "ctrl"}, "want <class>-<n>"},
		{ExplainOptions{Workload: "ctrl-x"}, "not an instance number"},
		{ExplainOptions{Workload: "ctrl-99999"}, "only"},
		{ExplainOptions{Workload: "ctrl-1", WhyNotSites: []string{"mars"}}, `unknown site "mars"`},
		{ExplainOptions{Workload: "ctrl-1", Policy: "fastest"}, `unknown policy "fastest"`},
		{ExplainOptions{Workload: "ctrl-1", Decision: -2}, "want a decision number"},
	} {
		_, err := ExplainFile(filepath.Join("testdata", "tiny.yaml"), tc.opt)
		if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want an input error containing %q", tc.opt, err, tc.want)
		}
	}
}

// TestSeriesCheckedAtLoad: CSV series and tariff files are read when the
// scenario loads, so a bad one is an input error at the scenario field
// naming it (exit code 2) before any run, and the files the loader
// accepts run.
func TestSeriesCheckedAtLoad(t *testing.T) {
	dir := filepath.Join("..", "scenarios", "testdata")
	for _, tc := range []struct{ file, want string }{
		{"broken/csv-series.yaml", `csv-series.yaml:11:25: sites[a].solar.csv: ` + filepath.Join(dir, "series", "not-a-number.csv") + `: line 4, column 27 (pv): "abc" is not a number`},
		{"broken/csv-series.yaml", `csv-series.yaml:12:24: sites[a].wind.csv: ` + filepath.Join(dir, "series", "one-row.csv") + `: time series: need at least two data rows`},
		{"broken/csv-grid.yaml", `csv-grid.yaml:5:23: grid.carbon_shape.csv: ` + filepath.Join(dir, "series", "out-of-range.csv") + `: line 3, column 36 (carbon): -20 is outside [0, 1000000000]`},
		{"broken/csv-tariff.yaml", `csv-tariff.yaml:6:17: grid.tariff.csv: `},
	} {
		out := t.TempDir()
		_, err := RunFile(filepath.Join(dir, tc.file), FileOptions{OutDir: out})
		if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an input error containing %q", tc.file, err, tc.want)
		}
		if files, _ := os.ReadDir(out); len(files) > 0 {
			t.Errorf("%s: refused, but wrote %d files", tc.file, len(files))
		}
	}
	res, err := RunFile(filepath.Join(dir, "valid", "series.yaml"), FileOptions{OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Summary.Policies[0].EnergyMWh; !(e.Solar > 0 && e.Wind > 0) {
		t.Errorf("solar %g MWh, wind %g MWh from the traces, want both > 0", e.Solar, e.Wind)
	}
}

// TestModelErrorsAreInputErrors: a power or energy model the simulator
// cannot build is an error of the scenario. The loader refuses the known
// cases at their field (file:line:col); whatever else slips past it is
// refused by FromScenario (the safety net behind the loader, which
// `suanli scenario validate` runs too), naming the field, before any run,
// so `suanli sim` exits with code 2.
func TestModelErrorsAreInputErrors(t *testing.T) {
	dir := filepath.Join("..", "scenarios", "testdata")
	for _, tc := range []struct{ file, want string }{
		{"broken/power-curve.yaml", "power-curve.yaml:11:46: node_types.old-1u.power.specpower: "},
		{"broken/power-curve.yaml", "power-curve.yaml:15:22: node_types.speck.cpu_cores: 0.0004 rounds to 0 millicores"},
		{"broken/csv-normalize.yaml", "csv-normalize.yaml:7:23: grid.carbon_shape.csv: "},
		{"broken/csv-normalize.yaml", `csv-normalize.yaml:16:24: sites[a].wind.csv: ` + filepath.Join(dir, "series", "tiny.csv") + `: column "pv": its max 1e-320 is too small to normalise by`},
	} {
		out := t.TempDir()
		_, err := RunFile(filepath.Join(dir, tc.file), FileOptions{OutDir: out})
		if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an input error containing %q", tc.file, err, tc.want)
		}
	}
	// Past the loader (a scenario changed after loading): FromScenario
	// names the site or node type.
	for _, tc := range []struct {
		name   string
		change func(s *scenarios.Scenario)
		want   string
	}{
		{"energy spec", func(s *scenarios.Scenario) {
			s.Sites[0].Solar = &scenarios.Solar{MW: 1, Derate: 0, CloudAlpha: 5, CloudBeta: 2}
		},
			"sites[jn-core]: energy model: solar.derate 0 must be in (0,1]"},
		{"trace file", func(s *scenarios.Scenario) {
			s.Sites[1].Wind = &scenarios.Wind{MW: 1, SeriesRef: scenarios.SeriesRef{CSV: "gone.csv", Column: "wind", Normalize: "max"}}
		}, "sites[qd-core]: energy model: wind: trace gone.csv: "},
		{"power curve", func(s *scenarios.Scenario) { s.NodeTypes[0].Power.CurveW = []float64{9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 1} },
			"node_types.cpu-64.power: server_power.curve_w[1] 8 must be >= curve_w[0] 9"},
	} {
		s, _ := loadConfig(t, filepath.Join(dir, "valid", "minimal.yaml"))
		tc.change(s)
		_, err := FromScenario(s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
		if err2 := CheckScenario(s); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("%s: CheckScenario gave %v, want FromScenario's %v", tc.name, err2, err)
		}
	}
}

// TestUnnamedEventsHaveOwnNames: two unnamed node outages at one time
// (at different sites) are reported under different names in
// summary.json and choose their nodes from different random streams.
func TestUnnamedEventsHaveOwnNames(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.yaml")
	err := os.WriteFile(path, []byte(`name: events
horizon: 6h
policies: [balanced]
node_types:
  cpu-64: {cpu_cores: 64, memory_gib: 256, power: {idle_w: 150, peak_w: 500}}
sites:
  - {id: a, role: edge, city: JN, nodes: {cpu-64: 40}}
  - {id: b, role: edge, city: QD, nodes: {cpu-64: 40}}
workloads:
  - {class: ctrl, kind: service, cpu_cores: 1, duration: 1h, arrivals: {rate_per_hour: 10}}
events:
  - {at: 1h, kind: node-outage, site: a, nodes: 5, duration: 1h}
  - {at: 1h, kind: node-outage, site: b, nodes: 5, duration: 1h}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunFile(path, FileOptions{OutDir: filepath.Join(dir, "out"), Trace: false})
	if err != nil {
		t.Fatal(err)
	}
	evs := res.Summary.Policies[0].Events
	if len(evs) != 2 || evs[0].Name != "node-outage@1h" || evs[1].Name != "node-outage@1h#2" {
		t.Fatalf("events %+v, want node-outage@1h and node-outage@1h#2", evs)
	}
	_, cfg := loadConfig(t, path)
	r, err := NewRunner(cfg, "balanced", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RunUntil(int64(90 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	local := func(ns []int32) []int {
		var out []int
		for _, n := range ns {
			out = append(out, int(n)-int(r.st.SiteNodes(cfg.Topology.Nodes[n].Site)[0]))
		}
		return out
	}
	a, b := local(r.outNodes[0]), local(r.outNodes[1])
	if len(a) != 5 || len(b) != 5 || slices.Equal(a, b) {
		t.Errorf("the outages took nodes %v of a and %v of b; want five each, chosen from different streams", a, b)
	}
}
