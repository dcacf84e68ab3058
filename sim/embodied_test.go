package sim

import (
	"bytes"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/suanli/suanli/scenarios"
	"github.com/suanli/suanli/scheduler"
)

// embodiedScenario is a tiny province for the embodied-carbon tests: 10
// servers of 1,200 kg over 4 years at one site, 4 GPU servers and a
// battery at the other, one day. The second site is down for 3 hours and
// idle servers are switched off, which must not change embodied carbon.
const embodiedScenario = `name: embodied
seed: 3
horizon: 1d
interval: 15m
policies: [binpack, spread]
power_management: {idle_off_after: 15m, keep_on: 0}
node_types:
  cpu-64: {cpu_cores: 64, memory_gib: 256, power: {idle_w: 150, peak_w: 500}, embodied_kg: 1200, lifetime_years: 4}
  gpu-4: {cpu_cores: 32, memory_gib: 256, gpus: 4, power: {idle_w: 600, peak_w: 2500}, embodied_kg: 1500, embodied_kg_per_gpu: 250, lifetime_years: 5}
sites:
  - id: jn-core
    role: core-zone
    city: JN
    nodes: {cpu-64: 10}
  - id: qd-core
    role: provincial
    city: QD
    nodes: {gpu-4: 4}
    solar: {mw: 0.002}
    battery: {mwh: 0.5, embodied_kg_per_kwh: 90, lifetime_years: 8}
workloads:
  - class: analytics
    kind: batch
    cpu_cores: 8
    memory_gib: 16
    duration: 2h
    deadline: 12h
    arrivals: {rate_per_hour: 6}
events:
  - {at: 6h, kind: site-outage, site: qd-core, duration: 3h}
`

// Hand-computed embodied carbon of embodiedScenario over 24 h (years of
// 8,760 h): 10·1200/4 kg a year at jn-core, 4·(1500 + 4·250)/5 kg a year
// of servers and 500 kWh·90/8 kg a year of battery at qd-core.
const (
	wantJNKg      = 10 * 1200.0 / 4 / 8760 * 24 // 8.2191780821917…
	wantQDSrvKg   = 4 * (1500 + 4*250.0) / 5 / 8760 * 24
	wantQDBattKg  = 500 * 90.0 / 8 / 8760 * 24
	wantServersKg = wantJNKg + wantQDSrvKg
)

func loadEmbodied(t *testing.T, sets ...string) (*scenarios.Scenario, *Config) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "embodied.yaml")
	if err := os.WriteFile(path, []byte(embodiedScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := scenarios.Load(path, scenarios.LoadOptions{KnownPolicies: scheduler.PolicyNames(), Sets: sets})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := FromScenario(s)
	if err != nil {
		t.Fatal(err)
	}
	return s, cfg
}

// runEmbodied runs the scenario's policies and writes the outputs.
func runEmbodied(t *testing.T, s *scenarios.Scenario, cfg *Config) (string, *Summary) {
	t.Helper()
	dir := t.TempDir()
	var clock atomic.Int64
	runs, err := RunPolicies(cfg, nil, RunOptions{CheckInvariants: true, Clock: func() int64 { return clock.Add(1000) }})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := WriteOutputs(dir, cfg, MetaOf(s, cfg), runs)
	if err != nil {
		t.Fatal(err)
	}
	return dir, sum
}

func near(got, want float64) bool { return math.Abs(got-want) <= 1e-12*math.Max(1, math.Abs(want)) }

// TestEmbodiedAccounting checks embodied carbon against the hand-computed
// figures: in summary.json per policy (whatever the policy, with servers
// switched off and a site down), and in timeseries.csv per interval and
// site, and that it adds to the operational carbon without changing it.
func TestEmbodiedAccounting(t *testing.T) {
	if math.Abs(wantJNKg-8.219178082191781) > 1e-12 {
		t.Fatalf("hand figure %g", wantJNKg) // 10 × 1,200 kg / 4 years over 24 h
	}
	s, cfg := loadEmbodied(t)
	dir, sum := runEmbodied(t, s, cfg)
	if len(sum.Policies) != 2 {
		t.Fatalf("%d policies", len(sum.Policies))
	}
	for _, p := range sum.Policies {
		if !near(p.EmbodiedCarbonSplitT.Servers*1000, wantServersKg) || !near(p.EmbodiedCarbonSplitT.Batteries*1000, wantQDBattKg) {
			t.Errorf("%s: embodied servers %.12g kg, batteries %.12g kg; want %.12g, %.12g", p.Policy,
				p.EmbodiedCarbonSplitT.Servers*1000, p.EmbodiedCarbonSplitT.Batteries*1000, wantServersKg, wantQDBattKg)
		}
		if !near(p.EmbodiedCarbonT*1000, wantServersKg+wantQDBattKg) {
			t.Errorf("%s: embodied %.12g kg, want %.12g", p.Policy, p.EmbodiedCarbonT*1000, wantServersKg+wantQDBattKg)
		}
		if p.CarbonT <= 0 || !near(p.TotalCarbonT, p.CarbonT+p.EmbodiedCarbonT) {
			t.Errorf("%s: total %g t, want carbon %g + embodied %g", p.Policy, p.TotalCarbonT, p.CarbonT, p.EmbodiedCarbonT)
		}
		if p.CompletedCoreHours <= 0 || !near(p.TotalCarbonKgPerCoreHour, 1000*p.TotalCarbonT/p.CompletedCoreHours) {
			t.Errorf("%s: %g kg per core-hour over %g core-hours (total %g t)", p.Policy, p.TotalCarbonKgPerCoreHour, p.CompletedCoreHours, p.TotalCarbonT)
		}
		// Every analytics job is 8 cores × 2 h.
		if got, want := p.CompletedCoreHours, 16*float64(p.Workloads.Completed); !near(got, want) {
			t.Errorf("%s: %g completed core-hours, want 16 × %d completed", p.Policy, got, p.Workloads.Completed)
		}
		if p.PowerManagement == nil || p.PowerManagement.OffNodeHours <= 0 {
			t.Errorf("%s: no node was switched off (%+v); the test needs some", p.Policy, p.PowerManagement)
		}
	}

	// timeseries.csv: the last column, per interval and site.
	f, err := os.Open(filepath.Join(dir, "timeseries.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := rows[0]
	col := len(head) - 1
	if head[col] != "embodied_carbon_kg" || head[col-1] != "queue_length" {
		t.Fatalf("header ends %v, want queue_length, embodied_carbon_kg appended last", head[col-1:])
	}
	perInterval := map[string]float64{ // 15 minutes of each
		"jn-core":  wantJNKg / 96,
		"qd-core":  (wantQDSrvKg + wantQDBattKg) / 96,
		"province": (wantServersKg + wantQDBattKg) / 96,
	}
	sums := map[string]float64{}
	for _, r := range rows[1:] {
		v, err := strconv.ParseFloat(r[col], 64)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := perInterval[r[3]]
		if !ok {
			t.Fatalf("unexpected site %q", r[3])
		}
		// printed to 4 decimals
		if math.Abs(v-want) > 0.00005 {
			t.Errorf("%s %s %s: embodied %s kg, want %.6f", r[0], r[1], r[3], r[col], want)
		}
		sums[r[0]+"/"+r[3]] += v
	}
	if n := len(rows) - 1; n != 2*96*3 {
		t.Errorf("%d rows, want 2 policies × 96 intervals × 3", n)
	}
	for _, pol := range []string{"binpack", "spread"} {
		if got := sums[pol+"/province"]; math.Abs(got-(wantServersKg+wantQDBattKg)) > 96*0.00005 {
			t.Errorf("%s: province rows sum to %g kg, want %g", pol, got, wantServersKg+wantQDBattKg)
		}
	}

	// Without embodied footprints the operational figures are the same
	// (carbon_t is operational carbon and nothing else).
	s0, cfg0 := loadEmbodied(t, "node_types.cpu-64.embodied_kg=0", "node_types.gpu-4.embodied_kg=0", "node_types.gpu-4.embodied_kg_per_gpu=0",
		"sites[qd-core].battery.embodied_kg_per_kwh=0")
	_, sum0 := runEmbodied(t, s0, cfg0)
	for i, p := range sum0.Policies {
		q := sum.Policies[i]
		if p.EmbodiedCarbonT != 0 || p.TotalCarbonT != p.CarbonT {
			t.Errorf("%s without footprints: embodied %g t, total %g t, carbon %g t", p.Policy, p.EmbodiedCarbonT, p.TotalCarbonT, p.CarbonT)
		}
		if p.CarbonT != q.CarbonT || p.EnergyMWh != q.EnergyMWh || p.CostCNY != q.CostCNY || p.Workloads != q.Workloads {
			t.Errorf("%s: operational figures changed with the embodied footprints: carbon %v vs %v t", p.Policy, p.CarbonT, q.CarbonT)
		}
	}
}

// TestEmbodiedFollowsTheHardware: embodied carbon scales with what
// exists (--scale grows node counts and battery capacity), not with what
// the policies do.
func TestEmbodiedFollowsTheHardware(t *testing.T) {
	s, _ := loadEmbodied(t)
	if err := ScaleScenario(s, 2); err != nil {
		t.Fatal(err)
	}
	cfg, err := FromScenario(s)
	if err != nil {
		t.Fatal(err)
	}
	want := []EmbodiedRate{
		{ServersKgPerHour: 2 * wantJNKg / 24},
		{ServersKgPerHour: 2 * wantQDSrvKg / 24, BatteryKgPerHour: 2 * wantQDBattKg / 24},
	}
	for i, w := range want {
		g := cfg.Embodied[i]
		if !near(g.ServersKgPerHour, w.ServersKgPerHour) || !near(g.BatteryKgPerHour, w.BatteryKgPerHour) {
			t.Errorf("site %d at scale 2: %+v, want %+v", i, g, w)
		}
	}
}

// TestEmbodiedDeterministic: the same seed gives byte-identical
// timeseries.csv and report.html and the same summary.json apart from
// timing, embodied carbon included.
func TestEmbodiedDeterministic(t *testing.T) {
	s, cfg := loadEmbodied(t)
	a, sa := runEmbodied(t, s, cfg)
	s2, cfg2 := loadEmbodied(t)
	b, _ := runEmbodied(t, s2, cfg2)
	if sa.Policies[0].EmbodiedCarbonT == 0 {
		t.Fatal("no embodied carbon: the test would compare nothing new")
	}
	for _, name := range []string{"timeseries.csv", "report.html"} {
		x, _ := os.ReadFile(filepath.Join(a, name))
		y, _ := os.ReadFile(filepath.Join(b, name))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs of the same seed", name)
		}
	}
	x, _ := os.ReadFile(filepath.Join(a, "summary.json"))
	y, _ := os.ReadFile(filepath.Join(b, "summary.json"))
	if !bytes.Equal(stripTiming(t, x), stripTiming(t, y)) {
		t.Error("summary.json differs (apart from timing) between two runs of the same seed")
	}
	if !bytes.Contains(x, []byte(`"embodied_carbon_t"`)) {
		t.Error("summary.json has no embodied_carbon_t")
	}
	// The report stacks embodied on operational carbon and labels both.
	rep, _ := os.ReadFile(filepath.Join(a, "report.html"))
	if !strings.Contains(string(rep), " t embodied</text>") || !strings.Contains(string(rep), "<th>embodied t</th><th>total carbon t</th>") {
		t.Error("report.html does not show embodied carbon in the cost-carbon chart and the comparison table")
	}
}

// TestComparisonTableEmbodiedNote: the printed table keeps its columns
// and says the embodied carbon under it.
func TestComparisonTableEmbodiedNote(t *testing.T) {
	p := PolicySummary{Policy: "a", CarbonT: 2, EmbodiedCarbonT: 1.25, EmbodiedCarbonSplitT: EmbodiedSplit{Servers: 1, Batteries: 0.25}, TotalCarbonT: 3.25}
	q := p
	q.Policy = "b"
	var buf bytes.Buffer
	if err := WriteTable(&buf, &Summary{Policies: []PolicySummary{p, q}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 || lines[3] != "embodied carbon 1.2 t (servers 1.0 t, batteries 0.25 t) for every policy; total carbon = carbon t + 1.2 t" {
		t.Errorf("table:\n%s", buf.String())
	}
	if strings.Contains(lines[0], "embodied") {
		t.Errorf("header gained a column: %s", lines[0])
	}
	q.EmbodiedCarbonT, q.TotalCarbonT = 2, 4
	buf.Reset()
	if err := WriteTable(&buf, &Summary{Policies: []PolicySummary{p, q}}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(buf.String(), "a: embodied carbon 1.2 t, total carbon 3.2 t\nb: embodied carbon 2.0 t, total carbon 4.0 t\n") {
		t.Errorf("policies that differ in embodied carbon:\n%s", buf.String())
	}
	p.EmbodiedCarbonT = 0
	buf.Reset()
	if err := WriteTable(&buf, &Summary{Policies: []PolicySummary{p}}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "embodied") {
		t.Errorf("a run without embodied carbon printed a note:\n%s", buf.String())
	}
}
