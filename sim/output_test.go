package sim

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testMeta(c *Config) Meta {
	m := Meta{Scenario: c.Name, ScenarioSHA256: "0000", Seed: c.Seed, Horizon: c.Horizon, Start: c.Start, Interval: c.Interval, Sites: len(c.Topology.Sites), Nodes: len(c.Topology.Nodes)}
	for _, k := range c.Classes {
		m.Classes = append(m.Classes, k.Name)
	}
	return m
}

// runOutputs runs cfg's policies and writes the outputs into a fresh dir.
func runOutputs(t *testing.T, cfg *Config, trace bool) string {
	t.Helper()
	dir := t.TempDir()
	var clock atomic.Int64 // shared by the policies' goroutines
	opt := RunOptions{CheckInvariants: true, Clock: func() int64 { return clock.Add(1000) }}
	if trace {
		opt.TraceDir = dir
	}
	runs, err := RunPolicies(cfg, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteOutputs(dir, cfg, testMeta(cfg), runs); err != nil {
		t.Fatal(err)
	}
	return dir
}

// stripTiming removes every "timing" object from a summary.
func stripTiming(t *testing.T, b []byte) []byte {
	t.Helper()
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	for i := range s.Policies {
		s.Policies[i].Timing = Timing{}
	}
	var out bytes.Buffer
	if err := s.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestSameSeedSameOutputs(t *testing.T) {
	cfg := testConfig(300, 42)
	cfg.Horizon = 24 * time.Hour
	cfg.Events = []ScenarioEvent{{Kind: SiteOutage, At: 5 * time.Hour, Duration: 2 * time.Hour, Sites: []int{2}}}
	a := runOutputs(t, cfg, true)
	b := runOutputs(t, testConfigWithEvents(cfg), true)
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
	// A different seed gives a different stream.
	c2 := testConfigWithEvents(cfg)
	c2.Seed = 43
	z, _ := os.ReadFile(filepath.Join(runOutputs(t, c2, false), "timeseries.csv"))
	xs, _ := os.ReadFile(filepath.Join(a, "timeseries.csv"))
	if bytes.Equal(xs, z) {
		t.Error("seeds 42 and 43 gave identical timeseries")
	}
}

func testConfigWithEvents(c *Config) *Config {
	d := testConfig(300, c.Seed)
	d.Horizon = c.Horizon
	d.Events = append([]ScenarioEvent(nil), c.Events...)
	return d
}

func TestAddingAClassKeepsOtherArrivals(t *testing.T) {
	arrivals := func(cfg *Config, class string) []int64 {
		for i := range cfg.Classes {
			if cfg.Classes[i].Name == class {
				g := newClassGen(cfg, i)
				var out []int64
				for t := g.next; t < g.horizon && len(out) < 200; t = g.after(t) {
					out = append(out, t)
				}
				return out
			}
		}
		return nil
	}
	a := testConfig(100, 5)
	b := testConfig(100, 5)
	b.Classes = append([]Class{{Name: "extra", RatePerHour: 100, CPUMilli: ConstDist(1000), DurationHours: ConstDist(1)}}, b.Classes...)
	x, y := arrivals(a, "analytics"), arrivals(b, "analytics")
	if len(x) == 0 || len(x) != len(y) {
		t.Fatalf("got %d and %d arrivals", len(x), len(y))
	}
	for i := range x {
		if x[i] != y[i] {
			t.Fatalf("arrival %d: %d vs %d after adding a class", i, x[i], y[i])
		}
	}
}

func TestReportWellFormedOneChartPerSection(t *testing.T) {
	t.Run("plain", func(t *testing.T) { checkReport(t, testConfig(200, 3), false) })
	t.Run("power-managed", func(t *testing.T) {
		cfg := testConfig(200, 3)
		cfg.Power = PowerManagement{IdleOffAfter: 15 * time.Minute, OffW: 10, Wake: 2 * time.Minute, KeepOn: 1}
		checkReport(t, cfg, true)
	})
}

// checkReport checks the report of a run of cfg: well-formed, offline, one
// chart per section, and the power-management table exactly when pm.
func checkReport(t *testing.T, cfg *Config, pm bool) {
	dir := runOutputs(t, cfg, false)
	b, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("http://")) && bytes.Count(b, []byte("http://")) != bytes.Count(b, []byte("xmlns=\"http://")) {
		t.Error("report references the network")
	}
	if bytes.Contains(b, []byte("<script")) || bytes.Contains(b, []byte("https://")) {
		t.Error("report has scripts or remote references")
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	dec.Entity = xml.HTMLEntity
	charts := map[string]int{}
	sections := map[string]bool{}
	var cur string
	depth := 0
	sectionDepth := -1
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("report.html is not well-formed: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			if el.Name.Local == "section" {
				for _, a := range el.Attr {
					if a.Name.Local == "id" {
						cur = a.Value
						sections[cur] = true
						sectionDepth = depth
					}
				}
			}
			if el.Name.Local == "svg" && cur != "" {
				charts[cur]++
			}
		case xml.EndElement:
			if el.Name.Local == "section" && depth == sectionDepth {
				cur = ""
			}
			depth--
		}
	}
	for _, s := range ReportSections {
		if !sections[s] {
			t.Errorf("section %s missing", s)
		}
		if charts[s] != 1 {
			t.Errorf("section %s: got %d charts, want 1", s, charts[s])
		}
	}
	if !strings.Contains(string(b), "comparison") || !strings.Contains(string(b), "scenario sha256") {
		t.Error("report lacks the comparison table or the scenario metadata")
	}
	if got := strings.Contains(string(b), "servers switched off"); got != pm {
		t.Errorf("power-management table shown: %v, want %v", got, pm)
	}
}

func TestGoldenSummary(t *testing.T) {
	cfg := testConfig(120, 7)
	cfg.Horizon = 12 * time.Hour
	cfg.Policies = []string{"first-fit", "price-window"}
	dir := runOutputs(t, cfg, false)
	got, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	got = stripTiming(t, got)
	golden := filepath.Join("testdata", "golden-summary.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGoldenSummary -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("summary.json differs from %s; rerun with -update if the change is intended\n%s", golden, firstDiff(string(got), string(want)))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return "line " + strconv.Itoa(i+1) + ": got " + al[i] + ", want " + bl[i]
		}
	}
	return "lengths differ"
}

// TestTargetFlags checks the target flags tolerate float rounding and no
// more.
func TestTargetFlags(t *testing.T) {
	for _, tc := range []struct {
		name         string
		pue, share   float64
		pueOK, renOK bool
	}{
		{"exact", 1.25, 0.25, true, true},
		{"rounded past the target", 1.2500000000000002, 0.24999999999999997, true, true},
		{"within 1e-9", 1.25 * (1 + 0.9e-9), 0.25 * (1 - 0.9e-9), true, true},
		{"beyond 1e-9", 1.25 * (1 + 2e-9), 0.25 * (1 - 2e-9), false, false},
		{"clearly", 1.251, 0.249, false, false},
		{"better", 1.1, 0.3, true, true},
		{"no IT energy", 0, 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MeetsPUETarget(tc.pue); got != tc.pueOK {
				t.Errorf("MeetsPUETarget(%v) = %v, want %v", tc.pue, got, tc.pueOK)
			}
			if got := MeetsRenewableTarget(tc.share); got != tc.renOK {
				t.Errorf("MeetsRenewableTarget(%v) = %v, want %v", tc.share, got, tc.renOK)
			}
		})
	}
}

// TestMinimalScenarioMeetsPUE runs the minimal scenario, whose sites are
// all at PUE 1.25 (constant model): the summed energies give a PUE a
// rounding error above 1.25, which must still meet the target.
func TestMinimalScenarioMeetsPUE(t *testing.T) {
	res, err := RunFile(filepath.Join("..", "scenarios", "testdata", "valid", "minimal.yaml"), FileOptions{OutDir: t.TempDir(), Policies: []string{"balanced"}})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Summary.Policies[0]
	if math.Abs(p.PUE-1.25) > 1e-12 {
		t.Fatalf("pue %v, want 1.25 (to rounding): the scenario changed", p.PUE)
	}
	if !p.Targets.PUEMax125 {
		t.Errorf("pue %v: pue_max_1_25 false, want true", p.PUE)
	}
}

func TestPolicyFlag(t *testing.T) {
	for _, tc := range []struct {
		values []string
		given  bool
		want   []string
		err    string
	}{
		{nil, false, nil, ""},
		{[]string{"balanced"}, true, []string{"balanced"}, ""},
		{[]string{" balanced , greenest", "spread"}, true, []string{"balanced", "greenest", "spread"}, ""},
		{[]string{}, true, nil, "empty policy list"},
		{[]string{" "}, true, nil, "empty policy list"},
		{[]string{"balanced,,greenest"}, true, nil, `--policy "balanced,,greenest": empty policy name`},
		{[]string{"balanced,balanced"}, true, nil, `duplicate policy "balanced"`},
		{[]string{"balanced", "balanced"}, true, nil, `duplicate policy "balanced"`},
	} {
		got, err := PolicyFlag(tc.values, tc.given)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: got %v, want an error containing %q", tc.values, err, tc.err)
		case tc.err == "" && (err != nil || !slices.Equal(got, tc.want)):
			t.Errorf("%q: got %q, %v; want %q", tc.values, got, err, tc.want)
		}
	}
	// A library caller's duplicate policies are refused as bad input too.
	_, err := RunFile(filepath.Join("..", "scenarios", "testdata", "valid", "minimal.yaml"), FileOptions{OutDir: t.TempDir(), Policies: []string{"balanced", "balanced"}})
	if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), `duplicate policy "balanced"`) {
		t.Errorf("RunFile with a duplicate policy: got %v, want an input error", err)
	}
}

// TestScaleLimits: the province benchmark's ×72 baseline is within the
// limits; scales beyond them are refused before anything changes, naming
// the largest scale the scenario allows.
func TestScaleLimits(t *testing.T) {
	path := filepath.Join("..", "scenarios", "shandong-baseline.yaml")
	for _, tc := range []struct {
		k    float64
		want string
	}{
		{72, ""},
		{599, ""},
		{600, "would have 5000400 nodes, more than the limit of 5000000 (unscaled 8334; this scenario allows at most --scale 599)"},
		{1000, "instances over 7d, more than the limit of 50000000 (unscaled ~69611; this scenario allows at most --scale 718)"},
		{10001, "scale 10001 must be in (0, 10000]"},
	} {
		s, _ := loadConfig(t, path)
		nodes, expected := s.TotalNodes(), s.ExpectedTotal()
		err := ScaleScenario(s, tc.k)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("scale %g: %v", tc.k, err)
		case tc.want == "" && s.TotalNodes() < int(tc.k)*nodes:
			t.Errorf("scale %g: %d nodes, want at least %d", tc.k, s.TotalNodes(), int(tc.k)*nodes)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("scale %g: got %v, want an error containing %q", tc.k, err, tc.want)
		case tc.want != "" && (s.TotalNodes() != nodes || s.ExpectedTotal() != expected):
			t.Errorf("scale %g: refused, but the scenario changed", tc.k)
		}
	}
}

// TestOutputsAtomic: outputs are written as a set through temporary
// files, so a failure while writing leaves the previous files (or none),
// never a truncated one, and no temporary files; a NaN figure is an error
// naming its field rather than an encoding failure.
func TestOutputsAtomic(t *testing.T) {
	cfg := testConfig(60, 3)
	cfg.Horizon = 6 * time.Hour
	runs, err := RunPolicies(cfg, nil, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good, fresh := t.TempDir(), t.TempDir()
	if _, err := WriteOutputs(good, cfg, testMeta(cfg), runs); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, name := range []string{"summary.json", "timeseries.csv", "report.html"} {
		before[name], _ = os.ReadFile(filepath.Join(good, name))
	}
	r := *runs[0].Result
	r.Energy.GridKWh = math.NaN()
	runs[0].Result = &r
	want := "summary.policies[" + runs[0].Policy + "].energy_mwh.grid is NaN, which JSON cannot hold"
	for _, dir := range []string{good, fresh} {
		_, err := WriteOutputs(dir, cfg, testMeta(cfg), runs)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NaN grid energy: got %v, want an error containing %q", err, want)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("temporary file %s left behind", e.Name())
			}
		}
	}
	for name, b := range before {
		got, _ := os.ReadFile(filepath.Join(good, name))
		if len(b) == 0 || !bytes.Equal(got, b) {
			t.Errorf("%s changed (%d bytes, was %d) by a failed write", name, len(got), len(b))
		}
		if _, err := os.Stat(filepath.Join(fresh, name)); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed first write (%v)", name, err)
		}
	}
}

func TestWriteFilesAtomic(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	text := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	fail := func(w io.Writer) error { io.WriteString(w, "half"); return errors.New("disk full") }
	if err := WriteFilesAtomic([]string{a, b}, []func(io.Writer) error{text("one"), text("two")}); err != nil {
		t.Fatal(err)
	}
	err := WriteFilesAtomic([]string{a, b}, []func(io.Writer) error{text("new"), fail})
	if err == nil || !strings.Contains(err.Error(), "write "+b+": disk full") {
		t.Errorf("got %v, want the failure naming %s", err, b)
	}
	for path, want := range map[string]string{a: "one", b: "two"} {
		if got, _ := os.ReadFile(path); string(got) != want {
			t.Errorf("%s = %q after a failed set, want %q", path, got, want)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v (%v), want 0644", path, fi.Mode(), err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%d files in the directory, want 2 (no temporary files)", len(entries))
	}
}

// TestScaleNodeCounts: --scale keeps a count of 0 at 0, rounds other
// counts to the nearest integer (halves away from zero) but never below
// one, and scales a site's rated IT power with the peak power of the
// nodes it ends up with.
func TestScaleNodeCounts(t *testing.T) {
	for _, tc := range []struct {
		n    int
		k    float64
		want int
	}{
		{0, 1, 0}, {0, 72, 0}, {0, 0.01, 0},
		{1, 0.01, 1}, {3, 0.1, 1}, {10, 0.25, 3}, {10, 0.35, 4}, {5, 0.5, 3}, {7, 72, 504}, {3, 1.5, 5},
	} {
		if got := ScaledCount(tc.n, tc.k); got != tc.want {
			t.Errorf("ScaledCount(%d, %g) = %d, want %d", tc.n, tc.k, got, tc.want)
		}
	}
	path := filepath.Join(t.TempDir(), "zero.yaml")
	err := os.WriteFile(path, []byte(`name: zero
horizon: 1d
policies: [balanced]
node_types:
  cpu-64: {cpu_cores: 64, memory_gib: 256, power: {idle_w: 150, peak_w: 500}}
  gpu-8: {cpu_cores: 64, memory_gib: 512, gpus: 8, power: {idle_w: 1200, peak_w: 6500}}
sites:
  - {id: jn-core, role: core-zone, city: JN, nodes: {cpu-64: 10, gpu-8: 0}, pue: {design: 1.25, model: load}}
  - {id: qd-core, role: provincial, city: QD, nodes: {cpu-64: 0, gpu-8: 3}}
workloads:
  - {class: analytics, kind: batch, cpu_cores: 8, duration: 2h, arrivals: {rate_per_hour: 2}}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		k      float64
		counts [2][2]int
		rated  [2]float64 // kW
	}{
		{0.1, [2][2]int{{1, 0}, {0, 1}}, [2]float64{0.5, 6.5}},
		{0.25, [2][2]int{{3, 0}, {0, 1}}, [2]float64{1.5, 6.5}},
		{2, [2][2]int{{20, 0}, {0, 6}}, [2]float64{10, 39}},
	} {
		s, _ := loadConfig(t, path)
		if err := ScaleScenario(s, tc.k); err != nil {
			t.Fatalf("scale %g: %v", tc.k, err)
		}
		for i := range s.Sites {
			site := &s.Sites[i]
			for j, nc := range site.Nodes {
				if nc.Count != tc.counts[i][j] {
					t.Errorf("scale %g: %s has %d %s nodes, want %d", tc.k, site.ID, nc.Count, nc.Type, tc.counts[i][j])
				}
			}
			if got := site.PUE.RatedITKW; math.Abs(got-tc.rated[i]) > 1e-9 {
				t.Errorf("scale %g: %s rated IT %g kW, want %g (its scaled nodes at peak)", tc.k, site.ID, got, tc.rated[i])
			}
		}
		cfg, err := FromScenario(s)
		if err != nil {
			t.Fatal(err)
		}
		want := tc.counts[0][0] + tc.counts[0][1] + tc.counts[1][0] + tc.counts[1][1]
		if len(cfg.Topology.Nodes) != want {
			t.Errorf("scale %g: %d nodes simulated, want %d", tc.k, len(cfg.Topology.Nodes), want)
		}
	}
}

// TestTimeseriesRefusesNaN: a NaN or infinite figure in timeseries.csv
// is an error naming the column, policy, site and interval (as a NaN in
// summary.json names its field), and no output is written.
func TestTimeseriesRefusesNaN(t *testing.T) {
	cfg := testConfig(60, 3)
	cfg.Horizon = 2 * time.Hour
	runs, err := RunPolicies(cfg, []string{"greenest"}, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// copies, so that each case spoils one figure of its own
	spoil := func(f func(r *Result)) []Run {
		r := *runs[0].Result
		r.Intervals = append([]IntervalRow(nil), r.Intervals...)
		for k := range r.Intervals {
			r.Intervals[k].Sites = append([]SiteRow(nil), r.Intervals[k].Sites...)
		}
		f(&r)
		return []Run{{Result: &r}}
	}
	site := cfg.Topology.Sites[3].ID
	for _, tc := range []struct {
		name string
		runs []Run
		want string
	}{
		{"site grid", spoil(func(r *Result) { r.Intervals[2].Sites[3].GridKWh = math.NaN() }),
			"timeseries.csv: policy greenest, site " + site + ", interval 2024-04-01T00:30:00+08:00 (hour 0.5): column grid_kw is NaN"},
		{"site util", spoil(func(r *Result) { r.Intervals[0].Sites[3].CPUUtil = math.Inf(1) }),
			"policy greenest, site " + site + ", interval 2024-04-01T00:00:00+08:00 (hour 0): column cpu_util is +Inf"},
		// a NaN battery charge at one site reaches the province row too,
		// but the site's row comes first
		{"soc", spoil(func(r *Result) { r.Intervals[7].Sites[0].SoCKWh = math.Inf(-1) }),
			"site " + cfg.Topology.Sites[0].ID + ", interval 2024-04-01T01:45:00+08:00 (hour 1.75): column battery_soc_kwh is -Inf"},
		// the last column, after queue_length
		{"embodied", spoil(func(r *Result) { r.Intervals[1].Sites[2].EmbodiedKg = math.NaN() }),
			"site " + cfg.Topology.Sites[2].ID + ", interval 2024-04-01T00:15:00+08:00 (hour 0.25): column embodied_carbon_kg is NaN"},
	} {
		var buf bytes.Buffer
		tiers := make([]nodes.Tier, len(cfg.Topology.Sites))
		err := WriteTimeseries(&buf, cfg.Start, tc.runs, tiers)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
		if strings.Contains(buf.String(), "NaN") || strings.Contains(buf.String(), "Inf") {
			t.Errorf("%s: wrote a non-finite figure", tc.name)
		}
		dir := t.TempDir()
		if _, err := WriteOutputs(dir, cfg, testMeta(cfg), tc.runs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: WriteOutputs: got %v, want %q", tc.name, err, tc.want)
		}
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			t.Errorf("%s: a refused write left %d files", tc.name, len(entries))
		}
	}
	// The unspoilt run writes.
	var buf bytes.Buffer
	if err := WriteTimeseries(&buf, cfg.Start, runs, make([]nodes.Tier, len(cfg.Topology.Sites))); err != nil {
		t.Fatal(err)
	}
}
