package scenarios

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/external"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

const idRule = "use letters, digits, '-' and '_', starting with a letter or digit, at most 64 characters"

// eventNamePattern is an id that may also hold the characters of default
// event names (<kind>@<at>#n), which `scenario show` writes out.
var eventNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@#:-]{0,79}$`)

const eventNameRule = "use letters, digits and - _ . @ # :, starting with a letter or digit, at most 80 characters"

func validID(s string) bool { return idPattern.MatchString(s) }

// Limits on sizes, so that a scenario that loads can also be simulated.
const (
	maxHorizon      = 366 * 24 * time.Hour
	maxNodesPerSite = 1_000_000
	maxMW           = 100_000
)

// Limits a scaled scenario (suanli sim --scale) must keep as well.
const (
	// MaxTotalNodes bounds the nodes of a province.
	MaxTotalNodes = 5_000_000
	// MaxExpectedInstances bounds the workload instances a scenario is
	// expected to start over its horizon (ExpectedTotal): a run keeps a
	// record of every instance, so this bounds its memory (the ×72
	// province benchmark has ~5 million).
	MaxExpectedInstances = 50_000_000
	// MaxRatePerHour bounds an arrival process's rate_per_hour.
	MaxRatePerHour = 10_000_000
)

type validator struct {
	s     *Scenario
	c     *collector
	opts  LoadOptions
	files map[string][]byte
	// tables holds the CSV time series read (by full path).
	tables map[string]tableResult
	// siteIndex maps site ids to indices in s.Sites.
	siteIndex map[string]int
	classes   []string
	// nodeTypesOK is false when a node type had errors (then fit checks
	// against node types are skipped).
	nodeTypesOK bool
}

func (v *validator) run() {
	v.externalPolicies()
	v.top()
	v.network()
	v.powerManagement()
	v.scheduler()
	v.grid()
	v.nodeTypes()
	v.sites()
	v.workloads()
	v.events()
	v.expected()
}

// expected checks the expected instances over the horizon against
// MaxExpectedInstances; the error is at the rate (or trace) of the largest
// contributor and lists the contributors.
func (v *validator) expected() {
	s := v.s
	if len(v.c.list) > 0 {
		// Rates, shapes or surges may be unresolved; the figure would
		// mislead.
		return
	}
	total, parts := s.expectedParts()
	if total <= MaxExpectedInstances {
		return
	}
	w := &s.Workloads[parts[0].index]
	p := s.workloadPath(parts[0].index)
	at := p + ".arrivals.rate_per_hour"
	if w.Trace != nil {
		at = p + ".trace.file"
	}
	v.errf(at, "the workloads are expected to start ~%.0f instances over the horizon %s, more than the limit of %d (a run keeps a record of every instance); %s; lower the rates, shape factors, surges or the horizon",
		total, s.Horizon, MaxExpectedInstances, describeParts(s, parts, total))
}

// workloadPath is the field path of workload i (workloads[name]).
func (s *Scenario) workloadPath(i int) string {
	if p := s.Workloads[i].path; p != "" {
		return p
	}
	return fmt.Sprintf("workloads[%d]", i)
}

// expectedPart is one workload's share of the expected instances.
type expectedPart struct {
	index int
	n     float64
}

// ExpectedTotal is the expected number of instances all workloads start
// over the horizon (the sum of ExpectedInstances).
func (s *Scenario) ExpectedTotal() float64 {
	total, _ := s.expectedParts()
	return total
}

// expectedParts returns the total and the workloads' contributions,
// largest first.
func (s *Scenario) expectedParts() (float64, []expectedPart) {
	total := 0.0
	parts := make([]expectedPart, 0, len(s.Workloads))
	for i := range s.Workloads {
		n := s.ExpectedInstances(&s.Workloads[i])
		total += n
		parts = append(parts, expectedPart{i, n})
	}
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].n > parts[j].n })
	return total, parts
}

// describeParts lists the largest contributors ("workloads[a] ~N (x %)").
func describeParts(s *Scenario, parts []expectedPart, total float64) string {
	const show = 5
	var b strings.Builder
	b.WriteString("from ")
	for k, pt := range parts {
		if k == show {
			fmt.Fprintf(&b, " and %d more", len(parts)-show)
			break
		}
		if k > 0 {
			b.WriteString(", ")
		}
		share := 0.0
		if total > 0 {
			share = 100 * pt.n / total
		}
		fmt.Fprintf(&b, "%s ~%.0f (%.0f %%)", s.workloadPath(pt.index), pt.n, share)
	}
	return b.String()
}

func (v *validator) has(p string) bool { return v.c.has(p) }

func (v *validator) errf(p, format string, args ...any) { v.c.errf(p, format, args...) }

// check reports msg at p when !ok.
func (v *validator) check(ok bool, p, format string, args ...any) bool {
	if !ok {
		v.errf(p, format, args...)
	}
	return ok
}

func (v *validator) required(p string) bool {
	if !v.has(p) {
		if _, null := v.c.nulls[p]; null {
			v.errf(p, "required field is null; give a value")
			return false
		}
		v.errf(p, "required field is missing")
		return false
	}
	return true
}

// rangeCheck reports x outside [lo, hi].
func (v *validator) rangeCheck(p string, x, lo, hi float64) bool {
	return v.check(x >= lo && x <= hi, p, "%s must be in [%s, %s]", formatFloat(x), formatFloat(lo), formatFloat(hi))
}

func (v *validator) top() {
	s := v.s
	if v.required("name") {
		v.check(validID(s.Name), "name", "invalid name %q: %s", s.Name, idRule)
	}
	if v.required("horizon") {
		h := s.Horizon.D()
		if v.check(h > 0, "horizon", "must be > 0") {
			v.check(h <= maxHorizon, "horizon", "%s is longer than the limit of 366d", s.Horizon)
		}
	}
	iv := s.Interval.D()
	if v.check(iv >= time.Second && iv <= 24*time.Hour, "interval", "%s must be between 1s and 1d", s.Interval) && s.Horizon > 0 {
		v.check(s.Horizon.D()%iv == 0, "interval", "horizon %s is not a whole number of intervals of %s", s.Horizon, s.Interval)
	}
	if v.required("policies") {
		// The allowed names: the scheduler's, then the file's external
		// policies.
		allowed := append(sortedCopy(v.opts.KnownPolicies), s.ExternalPolicies.PolicyNames()...)
		if len(s.Policies) == 0 {
			v.c.allowed("policies", allowed, "must list at least one policy")
		}
		seen := map[string]bool{}
		for i, p := range s.Policies {
			pp := fmt.Sprintf("policies[%d]", i)
			if seen[p] {
				v.errf(pp, "duplicate policy %q", p)
				continue
			}
			seen[p] = true
			if name, ok := strings.CutPrefix(p, external.Prefix); ok {
				// Checked with or without KnownPolicies: the file
				// defines them.
				if _, ok := s.ExternalPolicies.Lookup(name); !ok {
					v.c.allowed(pp, allowed, "unknown policy %q: no external policy %q is defined in external_policies", p, name)
				}
				continue
			}
			if v.opts.KnownPolicies != nil && !contains(v.opts.KnownPolicies, p) {
				v.c.allowed(pp, allowed, "unknown policy %q", p)
			}
		}
	}
	v.classes = append([]string(nil), BuiltinClasses...)
	for i, c := range s.Classes {
		cp := fmt.Sprintf("classes[%d]", i)
		switch {
		case !validID(c):
			v.errf(cp, "invalid class name %q: %s", c, idRule)
		case contains(v.classes, c):
			v.errf(cp, "class %q is already defined (built-in classes: %s)", c, strings.Join(BuiltinClasses, ", "))
		default:
			v.classes = append(v.classes, c)
		}
	}
}

func (v *validator) powerManagement() {
	p := &v.s.PowerManagement
	v.check(p.IdleOffAfter >= 0 && p.IdleOffAfter.D() <= 7*24*time.Hour, "power_management.idle_off_after", "%s must be in [0, 7d] (0: never switch nodes off)", p.IdleOffAfter)
	v.rangeCheck("power_management.off_w", p.OffW, 0, 1000)
	v.check(p.Wake >= 0 && p.Wake.D() <= time.Hour, "power_management.wake", "%s must be in [0, 1h]", p.Wake)
	v.check(p.KeepOn >= 0 && p.KeepOn <= 1_000_000, "power_management.keep_on", "%d must be in [0, 1000000]", p.KeepOn)
}

func (v *validator) scheduler() {
	sc := &v.s.Scheduler
	sc.CheckCore(func(field string) bool { return v.has("scheduler." + field) }, func(field, msg string) { v.errf("scheduler."+field, "%s", msg) })

	f := &sc.Forecast
	step, reach := f.Step.D(), f.Horizon.D()
	stepOK := v.check(step >= MinForecastStep && step <= MaxForecastStep, "scheduler.forecast.step", "%s must be in [5m, 6h]", f.Step)
	switch {
	case !v.check(reach > 0 && reach <= MaxForecastReach, "scheduler.forecast.horizon", "%s must be in [step, 7d]", f.Horizon):
	case !stepOK:
	case !v.check(reach >= step, "scheduler.forecast.horizon", "%s is shorter than the step %s; it must be in [step, 7d]", f.Horizon, f.Step):
	case !v.check(reach%step == 0, "scheduler.forecast.horizon", "%s is not a whole number of steps of %s", f.Horizon, f.Step):
	default:
		v.check(f.Steps() <= MaxForecastSteps, "scheduler.forecast.horizon", "%s is %d steps of %s, more than the limit of %d (the optimizer plans over every step, at a cost growing with their square); use a longer step or a shorter horizon",
			f.Horizon, f.Steps(), f.Step, MaxForecastSteps)
	}
	// The slack's default is one forecast step.
	if !v.has("scheduler.defer_slack") && stepOK {
		sc.DeferSlack = f.Step
	}
}

func (v *validator) network() {
	n := &v.s.Network
	v.check(n.FiberMicrosPerKm > 0 && n.FiberMicrosPerKm <= 100, "network.fiber_us_per_km", "%s must be in (0, 100]", formatFloat(n.FiberMicrosPerKm))
	v.rangeCheck("network.route_factor", n.RouteFactor, 1, 10)
	v.rangeCheck("network.hop_ms", n.HopMs, 0, 100)
	v.check(n.BaseHops >= 0 && n.BaseHops <= 100, "network.base_hops", "%d must be in [0, 100]", n.BaseHops)
	v.check(n.KmPerHop > 0, "network.km_per_hop", "%s must be > 0", formatFloat(n.KmPerHop))
	v.rangeCheck("network.access_ms", n.AccessMs, 0, 1000)
	v.rangeCheck("network.jitter_mean_ms", n.JitterMeanMs, 0, 1000)
	for _, b := range []struct {
		name string
		x    float64
	}{{"core", n.BandwidthGbps.Core}, {"cluster", n.BandwidthGbps.Cluster}, {"edge", n.BandwidthGbps.Edge}} {
		v.check(b.x > 0 && b.x <= 1e6, "network.bandwidth_gbps."+b.name, "%s must be in (0, 1000000] Gbit/s", formatFloat(b.x))
	}
}

func (v *validator) grid() {
	g := &v.s.Grid
	v.rangeCheck("grid.carbon_kg_per_kwh", g.CarbonKgPerKWh, 0, 5)
	v.rangeCheck("grid.marginal_carbon_kg_per_kwh", g.MarginalCarbonKgPerKWh, 0, 5)
	if g.CarbonShape.Series != nil {
		sr := g.CarbonShape.Series
		v.series("grid.carbon_shape", seriesCarbon, sr.CSV, sr.Column, sr.Normalize, sr.Anchor, "mean")
	}
	t := &g.Tariff
	v.rangeCheck("grid.tariff.fixed_cny_per_kwh", t.FixedCNYPerKWh, 0, 10)
	v.rangeCheck("grid.tariff.energy_cny_per_kwh", t.EnergyCNYPerKWh, 0, 10)
	switch {
	case v.has("grid.tariff.csv") && v.has("grid.tariff.table"):
		v.errf("grid.tariff.csv", "give either table or csv, not both")
	case v.has("grid.tariff.csv"):
		t.Table = ""
		if v.check(t.CSV != "", "grid.tariff.csv", "must name a file") {
			if v.csvColumns("grid.tariff.csv", t.CSV, "season", "months", "period", "start_hour", "end_hour", "multiplier") {
				v.tariffData("grid.tariff.csv", t.CSV)
			}
		}
	default:
		if !contains(TariffTables, t.Table) {
			v.c.allowed("grid.tariff.table", TariffTables, "unknown tariff table %q", t.Table)
		}
	}
}

// series checks a CSV series reference at path p (fields csv, column,
// normalize, anchor) of the given kind, and the series itself
// (seriesData).
func (v *validator) series(p string, kind seriesKind, file, column, normalize string, anchor *time.Time, allowed ...string) {
	if !contains(allowed, normalize) {
		v.c.allowed(p+".normalize", allowed, "unknown normalisation %q", normalize)
	}
	if !v.check(file != "", p+".csv", "required field is missing (a CSV file)") {
		return
	}
	if !v.check(column != "", p+".column", "required field is missing (the value column's header)") {
		return
	}
	if v.csvColumns(p, file, column) && contains(allowed, normalize) {
		v.seriesData(p, kind, file, column, normalize, anchor)
	}
}

// csvColumns checks file exists and its header (first line that is not a
// '#' comment) has the columns. p is the path of the reference; file
// errors go to p.csv (or p itself when it ends in .csv or .file). It
// reports whether the file was read and has the columns (false with
// SkipData).
func (v *validator) csvColumns(p, file string, cols ...string) bool {
	if v.opts.SkipData {
		return false
	}
	fp := p
	if !strings.HasSuffix(p, ".csv") && !strings.HasSuffix(p, ".file") {
		fp = p + ".csv"
	}
	data, full, err := v.readData(file)
	if err != nil {
		v.errf(fp, "cannot read %s: %v", full, err)
		return false
	}
	header := csvHeader(data)
	ok := true
	for _, c := range cols {
		if !contains(header, c) {
			cp := p + ".column"
			if len(cols) > 1 || !v.has(cp) {
				cp = fp
			}
			v.c.allowed(cp, header, "%s has no column %q", full, c)
			ok = false
		}
	}
	return ok
}

// csvHeader returns the fields of the first line that is not empty or a
// '#' comment.
func csvHeader(data []byte) []string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := csv.NewReader(strings.NewReader(line))
		f, err := r.Read()
		if err != nil {
			return nil
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		return f
	}
	return nil
}

func (v *validator) nodeTypes() {
	if !v.required("node_types") {
		return
	}
	if len(v.s.NodeTypes) == 0 {
		v.errf("node_types", "must define at least one node type")
	}
	before := len(v.c.list)
	defer func() {
		v.nodeTypesOK = len(v.c.list) == before
		for _, b := range v.c.bad {
			if related(b, "node_types") {
				v.nodeTypesOK = false
			}
		}
	}()
	for i := range v.s.NodeTypes {
		t := &v.s.NodeTypes[i]
		p := "node_types." + t.Name
		if v.required(p + ".cpu_cores") {
			if v.check(t.CPUCores > 0 && t.CPUCores <= 4096, p+".cpu_cores", "%s must be in (0, 4096]", formatFloat(t.CPUCores)) {
				// The simulator counts cores in millicores (and a server
				// without CPU has no utilisation to draw power by).
				v.check(milli(t.CPUCores) > 0, p+".cpu_cores", "%s rounds to 0 millicores (cores are counted in thousandths; allowed: 0.001 to 4096)", formatFloat(t.CPUCores))
			}
		}
		v.rangeCheck(p+".memory_gib", t.MemoryGiB, 0, 1<<20)
		v.rangeCheck(p+".gpus", t.GPUs, 0, 64)
		v.power(p+".power", &t.Power)
		v.rangeCheck(p+".embodied_kg", t.EmbodiedKg, 0, maxEmbodiedKg)
		v.rangeCheck(p+".embodied_kg_per_gpu", t.EmbodiedKgPerGPU, 0, maxEmbodiedKgPerGPU)
		v.lifetime(p+".lifetime_years", t.LifetimeYears)
	}
}

// Ranges of the embodied-carbon fields: a footprint of 0 leaves the
// hardware out of embodied carbon; the upper bounds are an order of
// magnitude above any published figure.
const (
	maxEmbodiedKg       = 100_000 // kg CO2e per server without GPUs
	maxEmbodiedKgPerGPU = 10_000  // kg CO2e per GPU
	maxEmbodiedKgPerKWh = 1_000   // kg CO2e per kWh of battery capacity
	maxLifetimeYears    = 50
)

// lifetime checks a service life in years: (0, 50].
func (v *validator) lifetime(p string, years float64) bool {
	return v.check(years > 0 && years <= maxLifetimeYears, p, "%s must be in (0, %d] years", formatFloat(years), maxLifetimeYears)
}

func (v *validator) power(p string, pw *Power) {
	if !v.required(p) {
		return
	}
	if pw.SpecPower != "" || v.has(p+".specpower") {
		if v.has(p+".curve_w") || v.has(p+".idle_w") {
			v.errf(p, "give either specpower (optionally with peak_w) or idle_w/peak_w/curve_w, not both")
			return
		}
		v.rangeCheck(p+".gpu_power_share", pw.GPUPowerShare, 0, 1)
		if !v.required(p + ".file") {
			return
		}
		if v.has(p+".peak_w") && !v.check(pw.PeakW > 0 && pw.PeakW <= 1e6, p+".peak_w", "%s must be in (0, 1000000] W", formatFloat(pw.PeakW)) {
			return
		}
		v.specPower(p, pw)
		return
	}
	if v.has(p + ".file") {
		v.errf(p+".file", "file is only used with specpower")
	}
	v.rangeCheck(p+".gpu_power_share", pw.GPUPowerShare, 0, 1)
	if len(pw.CurveW) > 0 {
		if !v.check(len(pw.CurveW) == 11, p+".curve_w", "needs 11 points (W at 0, 10, ..., 100 %% utilisation), got %d", len(pw.CurveW)) {
			return
		}
		for i, w := range pw.CurveW {
			if !v.check(w >= 0 && w <= 1e6, fmt.Sprintf("%s.curve_w[%d]", p, i), "%s must be in [0, 1000000] W", formatFloat(w)) {
				return
			}
			if i > 0 && !v.check(w >= pw.CurveW[i-1], fmt.Sprintf("%s.curve_w[%d]", p, i), "%s W at %d %% is below %s W at %d %%: a power curve must not decrease (allowed: [%s, 1000000] W)",
				formatFloat(w), 10*i, formatFloat(pw.CurveW[i-1]), 10*(i-1), formatFloat(pw.CurveW[i-1])) {
				return
			}
		}
		if v.has(p+".idle_w") && pw.IdleW != pw.CurveW[0] || v.has(p+".peak_w") && pw.PeakW != pw.CurveW[10] {
			v.errf(p, "idle_w and peak_w, when given with curve_w, must equal its first and last points (%s and %s W)", formatFloat(pw.CurveW[0]), formatFloat(pw.CurveW[10]))
			return
		}
		pw.IdleW, pw.PeakW = pw.CurveW[0], pw.CurveW[10]
		v.check(pw.PeakW > 0, p+".curve_w", "the 100 %% point must be > 0 W")
		return
	}
	if v.required(p+".idle_w") && v.required(p+".peak_w") {
		if v.rangeCheck(p+".idle_w", pw.IdleW, 0, 1e6) && v.check(pw.PeakW > 0 && pw.PeakW <= 1e6, p+".peak_w", "%s must be in (0, 1000000] W", formatFloat(pw.PeakW)) {
			v.check(pw.PeakW >= pw.IdleW, p+".peak_w", "peak_w %s must be >= idle_w %s", formatFloat(pw.PeakW), formatFloat(pw.IdleW))
		}
	}
}

// specPower fills pw.CurveW from the SPECpower row pw.SpecPower of
// pw.File (columns model, w0, w10, ..., w100).
func (v *validator) specPower(p string, pw *Power) {
	if v.opts.SkipData {
		return
	}
	data, full, err := v.readData(pw.File)
	if err != nil {
		v.errf(p+".file", "cannot read %s: %v", full, err)
		return
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	// Rows are named by their line in the file (comments and blank lines
	// counted), as an editor shows it.
	var rows [][]string
	var lines []int
	for {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			v.errf(p+".file", "%s: not a SPECpower CSV: %v", full, err)
			return
		}
		line, _ := r.FieldPos(0)
		rows, lines = append(rows, row), append(lines, line)
	}
	if len(rows) == 0 {
		v.errf(p+".file", "%s: not a SPECpower CSV: no header row", full)
		return
	}
	header := rows[0]
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	need := []string{"model"}
	for i := 0; i <= 100; i += 10 {
		need = append(need, "w"+strconv.Itoa(i))
	}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			v.c.allowed(p+".file", header, "%s has no column %q", full, n)
			return
		}
	}
	var models []string
	for li, row := range rows[1:] {
		if len(row) <= col["model"] {
			continue
		}
		m := strings.TrimSpace(row[col["model"]])
		models = append(models, m)
		if m != pw.SpecPower {
			continue
		}
		curve := make([]float64, 11)
		for i := range curve {
			ci := col["w"+strconv.Itoa(10*i)]
			x := math.NaN()
			if ci < len(row) {
				x, err = strconv.ParseFloat(strings.TrimSpace(row[ci]), 64)
			}
			if err != nil || !(x >= 0) || math.IsInf(x, 0) {
				v.errf(p+".specpower", "%s line %d (%s): column w%d is not a non-negative number", full, lines[li+1], m, 10*i)
				return
			}
			if i > 0 && x < curve[i-1] {
				v.errf(p+".specpower", "%s line %d (%s): column w%d (%s W) is below w%d (%s W): a power curve must not decrease", full, lines[li+1], m, 10*i, formatFloat(x), 10*(i-1), formatFloat(curve[i-1]))
				return
			}
			curve[i] = x
		}
		if curve[10] <= 0 {
			v.errf(p+".specpower", "%s line %d (%s): w100 must be > 0", full, lines[li+1], m)
			return
		}
		if v.has(p + ".peak_w") {
			scale := pw.PeakW / curve[10]
			for i := range curve {
				curve[i] = math.Round(curve[i]*scale*1000) / 1000
			}
			// The curve is kept to 0.001 W.
			if !v.check(curve[10] > 0, p+".peak_w", "%s W rounds the curve's 100 %% point to 0 W (the curve is kept to 0.001 W; allowed: 0.001 to 1000000)", formatFloat(pw.PeakW)) {
				return
			}
		}
		pw.CurveW = curve
		pw.IdleW, pw.PeakW = curve[0], curve[10]
		return
	}
	v.c.allowed(p+".specpower", models, "unknown SPECpower model %q in %s", pw.SpecPower, full)
}

func (v *validator) sites() {
	s := v.s
	if len(s.Sites) == 0 && len(s.SiteGroups) == 0 {
		v.errf("sites", "required field is missing (give sites, site_groups or both)")
		return
	}
	v.siteIndex = map[string]int{}
	firstPath := map[string]string{}
	total := 0
	addSite := func(site *Site, idPath string) {
		if prev, dup := firstPath[site.ID]; dup {
			v.errf(idPath, "duplicate site id %q (first defined at %s)", site.ID, v.where(prev))
			return
		}
		firstPath[site.ID] = idPath
		v.siteIndex[site.ID] = -1
	}
	explicit := s.Sites
	var all []Site
	for i := range explicit {
		site := &explicit[i]
		p := site.path
		if p == "" {
			p = fmt.Sprintf("sites[%d]", i)
		}
		if v.required(p + ".id") {
			if v.check(validID(site.ID), p+".id", "invalid site id %q: %s", site.ID, idRule) {
				addSite(site, p+".id")
			}
		}
		if v.required(p + ".city") {
			ci, err := nodes.LookupCity(s.Cities, site.City)
			if err != nil {
				v.c.allowed(p+".city", nodes.CityCodes(s.Cities), "unknown city %q", site.City)
			} else {
				c := s.Cities[ci]
				site.City, site.CityIndex = c.Code, ci
				if !v.has(p + ".lat") {
					site.Lat = c.Lat
				}
				if !v.has(p + ".lon") {
					site.Lon = c.Lon
				}
			}
		}
		v.rangeCheck(p+".lat", site.Lat, -90, 90)
		v.rangeCheck(p+".lon", site.Lon, -180, 180)
		v.siteSpec(p, &site.SiteSpec)
		total += site.Nodes.Total()
		all = append(all, *site)
	}
	for gi := range s.SiteGroups {
		g := &s.SiteGroups[gi]
		p := g.path
		if p == "" {
			p = fmt.Sprintf("site_groups[%d]", gi)
		}
		if !v.has(p+".id_prefix") && !v.has(p+".id_suffix") {
			v.errf(p, "a site group needs id_prefix and/or id_suffix (site ids are prefix + city code + suffix)")
		}
		v.siteSpec(p, &g.SiteSpec)
		idx := v.cities(p+".cities", &g.Cities)
		for _, ci := range idx {
			c := s.Cities[ci]
			site := Site{
				ID: g.IDPrefix + strings.ToLower(c.Code) + g.IDSuffix, City: c.Code, Lat: c.Lat, Lon: c.Lon,
				SiteSpec: g.SiteSpec, Group: g.IDPrefix, CityIndex: ci, path: p,
			}
			site.SiteSpec = cloneSpec(g.SiteSpec)
			if !v.check(validID(site.ID), p+".id_prefix", "generated site id %q is invalid: %s", site.ID, idRule) {
				break
			}
			addSite(&site, p+".id_prefix")
			total += site.Nodes.Total()
			all = append(all, site)
		}
	}
	if total > MaxTotalNodes {
		v.errf("sites", "%d nodes in total; the limit is %d", total, MaxTotalNodes)
	}
	s.Sites = all
	for i := range s.Sites {
		v.siteIndex[s.Sites[i].ID] = i
	}
}

// where describes the position of path for "first defined at" notes.
func (v *validator) where(path string) string {
	n := v.c.node(path)
	if n == nil {
		return path
	}
	if set, ok := v.c.setOf[n]; ok {
		return "--set " + strconv.Quote(set)
	}
	return fmt.Sprintf("line %d", n.Line)
}

func cloneSpec(s SiteSpec) SiteSpec {
	out := s
	out.Nodes = append(NodeCounts(nil), s.Nodes...)
	out.PUE.Seasonal.Factors = append([]float64(nil), s.PUE.Seasonal.Factors...)
	if s.Solar != nil {
		x := *s.Solar
		out.Solar = &x
	}
	if s.Wind != nil {
		x := *s.Wind
		out.Wind = &x
	}
	if s.Contract != nil {
		x := *s.Contract
		out.Contract = &x
	}
	if s.Battery != nil {
		x := *s.Battery
		x.GridCharge = append([]string(nil), s.Battery.GridCharge...)
		out.Battery = &x
	}
	return out
}

// cities resolves a city set at p into indices (and canonical codes).
func (v *validator) cities(p string, cs *CitySet) []int {
	if cs.All {
		cs.Index = make([]int, len(v.s.Cities))
		for i := range cs.Index {
			cs.Index[i] = i
		}
		return cs.Index
	}
	if !v.check(len(cs.Names) > 0, p, "must be all or list at least one city") {
		return nil
	}
	seen := map[int]bool{}
	cs.Index = cs.Index[:0]
	for i, name := range cs.Names {
		ep := fmt.Sprintf("%s[%d]", p, i)
		ci, err := nodes.LookupCity(v.s.Cities, name)
		if err != nil {
			v.c.allowed(ep, nodes.CityCodes(v.s.Cities), "unknown city %q", name)
			continue
		}
		if seen[ci] {
			v.errf(ep, "city %q listed twice", name)
			continue
		}
		seen[ci] = true
		cs.Names[i] = v.s.Cities[ci].Code
		cs.Index = append(cs.Index, ci)
	}
	return cs.Index
}

func (v *validator) siteSpec(p string, sp *SiteSpec) {
	if v.required(p + ".role") {
		if v.has(p+".tier") && sp.Tier != sp.Role.Tier() {
			v.errf(p+".tier", "tier %s does not match role %s (whose tier is %s)", sp.Tier, sp.Role, sp.Role.Tier())
		}
		sp.Tier = sp.Role.Tier()
	}
	pp := p + ".pue"
	// When pue is a plain number, .design has no node of its own and the
	// error points at the number.
	v.rangeCheck(pp+".design", sp.PUE.Design, 1, 3)
	if !contains(PUEModels, sp.PUE.Model) {
		v.c.allowed(pp+".model", PUEModels, "unknown PUE model %q", sp.PUE.Model)
	}
	v.rangeCheck(pp+".fixed_overhead_fraction", sp.PUE.FixedOverheadFraction, 0, 1)
	if v.has(pp + ".rated_it_kw") {
		v.check(sp.PUE.RatedITKW > 0 && sp.PUE.RatedITKW <= 1e7, pp+".rated_it_kw", "%s must be in (0, 10000000] kW", formatFloat(sp.PUE.RatedITKW))
	}
	for i, f := range sp.PUE.Seasonal.Factors {
		v.check(f > 0 && f <= 5, fmt.Sprintf("%s.seasonal[%d]", pp, i), "%s must be in (0, 5]", formatFloat(f))
	}
	if v.required(p + ".nodes") {
		if len(sp.Nodes) == 0 {
			v.c.allowed(p+".nodes", v.s.NodeTypes.Names(), "must list at least one node type")
		}
		total := 0
		for _, nc := range sp.Nodes {
			np := p + ".nodes." + nc.Type
			if _, ok := v.s.NodeTypes.Lookup(nc.Type); !ok {
				v.c.allowed(np, v.s.NodeTypes.Names(), "unknown node type %q", nc.Type)
			}
			if v.check(nc.Count >= 0 && nc.Count <= maxNodesPerSite, np, "node count %d must be in [0, %d]", nc.Count, maxNodesPerSite) {
				total += nc.Count
			}
		}
		if len(sp.Nodes) > 0 && total == 0 {
			v.errf(p+".nodes", "a site needs at least one node")
		}
		if !v.has(pp + ".rated_it_kw") {
			// The nodes at peak power.
			sp.PUE.RatedITKW = 0
			for _, nc := range sp.Nodes {
				if t, ok := v.s.NodeTypes.Lookup(nc.Type); ok && nc.Count > 0 {
					sp.PUE.RatedITKW += float64(nc.Count) * t.Power.PeakW / 1000
				}
			}
		}
	}
	if sp.Solar != nil {
		sl, s := p+".solar", sp.Solar
		v.rangeCheck(sl+".mw", s.MW, 0, maxMW)
		v.check(s.Derate > 0 && s.Derate <= 1, sl+".derate", "%s must be in (0, 1]", formatFloat(s.Derate))
		v.rangeCheck(sl+".tilt_deg", s.TiltDeg, 0, 90)
		v.check(s.CloudAlpha > 0 && s.CloudAlpha <= 1000, sl+".cloud_alpha", "%s must be in (0, 1000]", formatFloat(s.CloudAlpha))
		v.check(s.CloudBeta > 0 && s.CloudBeta <= 1000, sl+".cloud_beta", "%s must be in (0, 1000]", formatFloat(s.CloudBeta))
		v.check(s.NoiseSigma >= 0 && s.NoiseSigma <= 1, sl+".noise_sigma", "%s must be in [0, 1]", formatFloat(s.NoiseSigma))
		v.check(s.NoiseTauHours > 0 && s.NoiseTauHours <= 1000, sl+".noise_tau_hours", "%s must be in (0, 1000]", formatFloat(s.NoiseTauHours))
		v.seriesRef(sl, seriesSolar, &s.SeriesRef, "none")
	}
	if sp.Wind != nil {
		wl, w := p+".wind", sp.Wind
		v.rangeCheck(wl+".mw", w.MW, 0, maxMW)
		if !v.has(wl + ".capacity_factor") {
			w.CapacityFactor = 0.24
			if w.Offshore {
				w.CapacityFactor = 0.37
			}
		}
		v.check(w.CapacityFactor > 0 && w.CapacityFactor < 1, wl+".capacity_factor", "%s must be in (0, 1)", formatFloat(w.CapacityFactor))
		v.check(w.RhoHourly >= 0 && w.RhoHourly < 1, wl+".rho_hourly", "%s must be in [0, 1)", formatFloat(w.RhoHourly))
		v.check(w.Spread > 0 && w.Spread <= 10, wl+".spread", "%s must be in (0, 10]", formatFloat(w.Spread))
		v.seriesRef(wl, seriesWind, &w.SeriesRef, "max")
	}
	if sp.Contract != nil {
		cl, c := p+".contract", sp.Contract
		v.rangeCheck(cl+".mw", c.MW, 0, maxMW)
		if !contains(ContractShapes, c.Shape) {
			v.c.allowed(cl+".shape", ContractShapes, "unknown contract shape %q", c.Shape)
		}
		if c.Shape == "wind" {
			if !v.has(cl + ".capacity_factor") {
				c.CapacityFactor = 0.24
				if c.Offshore {
					c.CapacityFactor = 0.37
				}
			}
			v.check(c.CapacityFactor > 0 && c.CapacityFactor < 1, cl+".capacity_factor", "%s must be in (0, 1)", formatFloat(c.CapacityFactor))
		} else if v.has(cl+".offshore") || v.has(cl+".capacity_factor") {
			v.errf(cl+".shape", "offshore and capacity_factor apply to shape wind only")
		}
		v.rangeCheck(cl+".price_cny_per_kwh", c.PriceCNYPerKWh, 0, 10)
	}
	if sp.Battery != nil {
		bl, b := p+".battery", sp.Battery
		mwhOK := v.rangeCheck(bl+".mwh", b.MWh, 0, maxMW)
		if !v.has(bl + ".mw") {
			if !mwhOK {
				b.MWh = 0
			}
			b.MW = b.MWh / 2
		}
		if b.MWh > 0 {
			v.check(b.MW > 0 && b.MW <= maxMW, bl+".mw", "%s must be in (0, %d] for a battery with capacity", formatFloat(b.MW), maxMW)
		} else {
			v.rangeCheck(bl+".mw", b.MW, 0, maxMW)
		}
		v.check(b.Efficiency > 0 && b.Efficiency <= 1, bl+".efficiency", "%s must be in (0, 1]", formatFloat(b.Efficiency))
		okMin := v.rangeCheck(bl+".soc_min", b.SoCMin, 0, 1)
		okMax := v.rangeCheck(bl+".soc_max", b.SoCMax, 0, 1)
		if okMin && okMax {
			if v.check(b.SoCMin < b.SoCMax, bl+".soc_min", "soc_min %s must be < soc_max %s", formatFloat(b.SoCMin), formatFloat(b.SoCMax)) {
				v.check(b.SoCInitial >= b.SoCMin && b.SoCInitial <= b.SoCMax, bl+".soc_initial", "%s must be in [soc_min %s, soc_max %s]", formatFloat(b.SoCInitial), formatFloat(b.SoCMin), formatFloat(b.SoCMax))
			}
		}
		for i, g := range b.GridCharge {
			if !contains(TariffPeriods, g) {
				v.c.allowed(fmt.Sprintf("%s.grid_charge[%d]", bl, i), TariffPeriods, "unknown tariff period %q", g)
			}
		}
		v.rangeCheck(bl+".embodied_kg_per_kwh", b.EmbodiedKgPerKWh, 0, maxEmbodiedKgPerKWh)
		v.lifetime(bl+".lifetime_years", b.LifetimeYears)
	}
	if !v.has(p + ".bandwidth_gbps") {
		sp.BandwidthGbps = v.s.Network.BandwidthGbps.Of(sp.Tier)
	}
	v.check(sp.BandwidthGbps > 0 && sp.BandwidthGbps <= 1e6, p+".bandwidth_gbps", "%s must be in (0, 1000000] Gbit/s", formatFloat(sp.BandwidthGbps))
}

// seriesRef checks an optional trace of a generator; def is its default
// normalisation.
func (v *validator) seriesRef(p string, kind seriesKind, r *SeriesRef, def string) {
	if r.CSV == "" && r.Column == "" && !v.has(p+".csv") && !v.has(p+".column") {
		if v.has(p+".normalize") || v.has(p+".anchor") {
			v.errf(p, "normalize and anchor need csv and column")
		}
		return
	}
	if r.Normalize == "" {
		r.Normalize = def
	}
	v.series(p, kind, r.CSV, r.Column, r.Normalize, r.Anchor, "none", "max")
}

func (v *validator) workloads() {
	s := v.s
	if !v.required("workloads") {
		return
	}
	if len(s.Workloads) == 0 {
		v.errf("workloads", "must list at least one workload")
		return
	}
	firstName := map[string]string{}
	for i := range s.Workloads {
		w := &s.Workloads[i]
		p := w.path
		if p == "" {
			p = fmt.Sprintf("workloads[%d]", i)
		}
		v.workload(p, w)
		if w.Name != "" && validID(w.Name) {
			if prev, dup := firstName[w.Name]; dup {
				np := p + ".name"
				if !v.has(np) {
					np = p + ".class"
				}
				v.errf(np, "duplicate workload name %q (first at %s); give each workload of the same class its own name", w.Name, v.where(prev))
			} else {
				firstName[w.Name] = p
			}
		}
	}
}

func (v *validator) workload(p string, w *Workload) {
	s := v.s
	if v.required(p+".class") && !contains(v.classes, w.Class) {
		v.c.allowed(p+".class", v.classes, "unknown class %q", w.Class)
	}
	if !v.has(p + ".name") {
		w.Name = w.Class
	} else {
		v.check(validID(w.Name), p+".name", "invalid workload name %q: %s", w.Name, idRule)
	}
	v.required(p + ".kind")
	// Sizes.
	synthetic := w.Trace == nil
	if synthetic {
		if v.required(p + ".cpu_cores") {
			v.check(!(w.CPUCores.Kind == DistFixed && w.CPUCores.Value == 0), p+".cpu_cores", "must be > 0")
		}
		v.required(p + ".duration")
		if !v.has(p+".arrivals") && !v.has(p+".trace") {
			v.errf(p, "needs arrivals (a synthetic arrival process) or trace (a trace file to replay)")
		}
		v.distCap(p+".cpu_cores", w.CPUCores, 4096)
		v.distCap(p+".memory_gib", w.MemoryGiB, 1<<20)
		v.distCap(p+".gpus", w.GPUs, 64)
		v.distCap(p+".input_gb", w.InputGB, 1e6)
		if w.Duration.Kind == DistFixed && v.has(p+".duration") {
			v.check(w.Duration.Value > 0, p+".duration", "must be > 0")
		}
	} else {
		for _, f := range []string{"arrivals", "cpu_cores", "memory_gib", "gpus", "duration"} {
			if v.has(p + "." + f) {
				v.errf(p+"."+f, "a trace workload takes %s from its trace; remove this field", strings.ReplaceAll(f, "_", " "))
			}
		}
		v.distCap(p+".input_gb", w.InputGB, 1e6)
	}
	v.rangeCheck(p+".latency_ms", w.LatencyMs, 0, 1e6)
	v.rangeCheck(p+".compute_ms", w.ComputeMs, 0, 1e6)
	v.check(w.Priority >= -1000 && w.Priority <= 1000, p+".priority", "%d must be in [-1000, 1000]", w.Priority)
	if w.Deadline != nil {
		if w.Kind == Service {
			v.errf(p+".deadline", "a service has no deadline (it runs for its duration once placed); use kind: batch")
		} else if w.Deadline.Kind == DistFixed {
			v.check(w.Deadline.Value > 0, p+".deadline", "must be > 0")
		}
	}
	if w.Kind == Service && !v.has(p+".patience") {
		w.Patience = Duration(15 * time.Minute)
	}
	if w.Kind == Service && w.Checkpoint > 0 {
		v.errf(p+".checkpoint", "checkpoint applies to batch work; a service resumes for its remaining lifetime")
	}
	// Placement constraints.
	w.TierSet = 0
	for _, t := range w.Tiers {
		w.TierSet |= nodes.TiersOf(t)
	}
	if len(w.Tiers) == 0 {
		w.TierSet = nodes.AllTiers
	}
	if v.has(p+".tiers") && len(w.Tiers) == 0 {
		v.c.allowed(p+".tiers", nodes.TierNames(), "must list at least one tier (or leave tiers out for all)")
	}
	if v.has(p+".roles") && len(w.Roles) == 0 {
		v.c.allowed(p+".roles", nodes.RoleNames(), "must list at least one role (or leave roles out for all)")
	}
	if v.has(p + ".tasks") {
		switch up, bounded := w.Tasks.Upper(); {
		case w.Trace != nil && !(w.Tasks.Kind == DistFixed && w.Tasks.Value == 1):
			v.errf(p+".tasks", "a trace workload takes its tasks from the trace (see trace.wide)")
		case w.Tasks.Lower() < 1:
			v.errf(p+".tasks", "must be >= 1 (for lognormal and exponential give min: 1)")
		case !bounded:
			v.errf(p+".tasks", "needs max (at most %d tasks per arrival)", maxSplit)
		case up > maxSplit:
			v.errf(p+".tasks", "values up to %s exceed the limit %d", formatFloat(up), maxSplit)
		}
	}
	w.SiteIndex = nil
	for i, id := range w.Sites {
		si, ok := v.siteIndex[id]
		if !ok {
			v.c.allowed(fmt.Sprintf("%s.sites[%d]", p, i), v.siteIDs(), "unknown site %q", id)
			continue
		}
		w.SiteIndex = append(w.SiteIndex, si)
	}
	if v.has(p+".sites") && len(w.Sites) == 0 {
		v.errf(p+".sites", "must list at least one site (or leave sites out for all)")
	}
	eligible := v.eligible(w)
	if len(eligible) == 0 && len(s.Sites) > 0 {
		var why []string
		if len(w.Tiers) > 0 {
			why = append(why, "tiers "+w.TierSet.String())
		}
		if len(w.Roles) > 0 {
			rs := make([]string, len(w.Roles))
			for i, r := range w.Roles {
				rs[i] = r.String()
			}
			why = append(why, "roles "+strings.Join(rs, ","))
		}
		if len(w.Sites) > 0 {
			why = append(why, "sites "+strings.Join(w.Sites, ","))
		}
		v.errf(p, "no site matches %s", strings.Join(why, " and "))
	}
	// Origins.
	weights := v.origins(p+".origins", &w.Origins)
	// Fit on one node.
	maxNode := v.largestNode(eligible)
	if synthetic && len(eligible) > 0 && v.nodeTypesOK {
		v.fits(p, w, eligible)
	}
	if synthetic && w.Arrivals != nil && weights != nil {
		v.arrivals(p+".arrivals", w, weights, eligible)
	}
	if w.Trace != nil && weights != nil {
		w.OriginWeights = weights
		v.trace(p+".trace", w, maxNode)
	}
	if w.SameCity && weights != nil && len(eligible) > 0 {
		has := make([]bool, len(s.Cities))
		for _, si := range eligible {
			has[s.Sites[si].CityIndex] = true
		}
		src := weights
		if w.OriginRatePerHour != nil {
			src = w.OriginRatePerHour
		}
		var missing []string
		for ci, x := range src {
			if x > 0 && !has[ci] {
				missing = append(missing, s.Cities[ci].Code)
			}
		}
		if len(missing) > 0 {
			v.errf(p+".same_city", "origin cities %s have no allowed site in the same city; restrict origins or allow more sites", strings.Join(missing, ", "))
		}
	}
}

func (v *validator) siteIDs() []string {
	out := make([]string, len(v.s.Sites))
	for i := range v.s.Sites {
		out[i] = v.s.Sites[i].ID
	}
	return out
}

// distCap checks a size distribution's upper bound is at most hi.
func (v *validator) distCap(p string, d Dist, hi float64) {
	if up, ok := d.Upper(); ok && up > hi {
		v.errf(p, "values up to %s exceed the limit %s", formatFloat(up), formatFloat(hi))
	}
}

// eligible returns the indices of the sites a workload may use.
func (v *validator) eligible(w *Workload) []int {
	var out []int
	for i := range v.s.Sites {
		if !w.TierSet.Has(v.s.Sites[i].Tier) {
			continue
		}
		if len(w.Sites) > 0 && !containsInt(w.SiteIndex, i) {
			continue
		}
		if len(w.Roles) > 0 && !containsRole(w.Roles, v.s.Sites[i].Role) {
			continue
		}
		out = append(out, i)
	}
	return out
}

func containsRole(list []nodes.Role, r nodes.Role) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

func containsInt(list []int, x int) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// largestNode is the component-wise largest node type at the sites.
func (v *validator) largestNode(sites []int) nodes.Resources {
	var m nodes.Resources
	for _, si := range sites {
		for _, nc := range v.s.Sites[si].Nodes {
			if t, ok := v.s.NodeTypes.Lookup(nc.Type); ok && nc.Count > 0 {
				m = m.Max(t.Resources())
			}
		}
	}
	return m
}

// fits checks that the largest request a workload can draw (its
// distributions' upper bounds, or means when unbounded) fits on one node
// of some type at an allowed site.
func (v *validator) fits(p string, w *Workload, sites []int) {
	bound := func(d Dist) float64 {
		if up, ok := d.Upper(); ok {
			return up
		}
		return d.MeanValue()
	}
	req := nodes.Resources{CPUMilli: milli(bound(w.CPUCores)), MemoryMiB: mib(bound(w.MemoryGiB)), GPUMilli: milli(bound(w.GPUs))}
	var best []string
	for _, si := range sites {
		for _, nc := range v.s.Sites[si].Nodes {
			t, ok := v.s.NodeTypes.Lookup(nc.Type)
			if !ok || nc.Count == 0 {
				continue
			}
			if t.Resources().Fits(req) {
				return
			}
			if !contains(best, t.Name) {
				best = append(best, t.Name)
			}
		}
	}
	var desc []string
	for _, name := range best {
		t, _ := v.s.NodeTypes.Lookup(name)
		desc = append(desc, fmt.Sprintf("%s (%s cores, %s GiB, %s GPUs)", name, formatFloat(t.CPUCores), formatFloat(t.MemoryGiB), formatFloat(t.GPUs)))
	}
	v.errf(p, "one instance may request %s cores, %s GiB, %s GPUs, which no node at the allowed sites can hold; a workload runs on one node (node types there: %s)",
		formatFloat(float64(req.CPUMilli)/1000), formatFloat(float64(req.MemoryMiB)/1024), formatFloat(float64(req.GPUMilli)/1000), strings.Join(desc, "; "))
}

// origins resolves the origin cities into weights summing to 1 (indexed
// like Scenario.Cities), or nil on error.
func (v *validator) origins(p string, o *Origins) []float64 {
	n := len(v.s.Cities)
	w := make([]float64, n)
	if o.All {
		for i := range w {
			w[i] = 1 / float64(n)
		}
		return w
	}
	if !v.check(len(o.Names) > 0, p, "must be all, a list of cities or a mapping of city to weight") {
		return nil
	}
	ok := true
	seen := map[int]bool{}
	total := 0.0
	for i, name := range o.Names {
		ep := fmt.Sprintf("%s[%d]", p, i)
		if o.Weights != nil {
			ep = p + "." + name
		}
		ci, err := nodes.LookupCity(v.s.Cities, name)
		if err != nil {
			v.c.allowed(ep, nodes.CityCodes(v.s.Cities), "unknown city %q", name)
			ok = false
			continue
		}
		if seen[ci] {
			v.errf(ep, "city %q listed twice", name)
			ok = false
			continue
		}
		seen[ci] = true
		o.Names[i] = v.s.Cities[ci].Code
		x := 1.0
		if o.Weights != nil {
			x = o.Weights[i]
			if !v.check(x >= 0 && x <= 1e9, ep, "weight %s must be in [0, 1e9]", formatFloat(x)) {
				ok = false
				continue
			}
		}
		w[ci] = x
		total += x
	}
	if !ok {
		return nil
	}
	if !v.check(total > 0, p, "weights must not all be 0") {
		return nil
	}
	for i := range w {
		w[i] /= total
	}
	return w
}

// arrivals validates an arrival process and resolves the rate per origin.
func (v *validator) arrivals(p string, w *Workload, weights []float64, eligible []int) {
	a := w.Arrivals
	s := v.s
	v.required(p + ".rate_per_hour")
	if !v.rangeCheck(p+".rate_per_hour", a.RatePerHour, 0, MaxRatePerHour) {
		return
	}
	if a.Shape != "" {
		if _, ok := s.Shapes.Lookup(a.Shape); !ok {
			names := []string{"flat"}
			for _, sh := range s.Shapes {
				names = append(names, sh.Name)
			}
			v.c.allowed(p+".shape", names, "unknown shape %q", a.Shape)
		}
	}
	if b := a.Bursts; b != nil {
		v.rangeCheck(p+".bursts.per_day", b.PerDay, 0, 1000)
		v.check(b.Factor > 0 && b.Factor <= MaxFactor, p+".bursts.factor", "%s must be in (0, %d]", formatFloat(b.Factor), MaxFactor)
		v.check(b.Duration > 0, p+".bursts.duration", "must be > 0")
	}
	rates := make([]float64, len(s.Cities))
	// Raw origin weights (before normalisation) multiply per-unit rates.
	raw := make([]float64, len(s.Cities))
	if w.Origins.All {
		for i := range raw {
			raw[i] = 1
		}
	} else if w.Origins.Weights == nil {
		for ci, x := range weights {
			if x > 0 {
				raw[ci] = 1
			}
		}
	} else {
		for i, name := range w.Origins.Names {
			if ci, err := nodes.LookupCity(s.Cities, name); err == nil {
				raw[ci] = w.Origins.Weights[i]
			}
		}
	}
	switch per := a.Per; {
	case per == "province":
		for ci := range rates {
			rates[ci] = a.RatePerHour * weights[ci]
		}
	case per == "city":
		for ci := range rates {
			rates[ci] = a.RatePerHour * raw[ci]
		}
	case strings.HasSuffix(per, "-site"):
		match, ok := siteMatcher(strings.TrimSuffix(per, "-site"))
		if !ok {
			v.c.allowed(p+".per", ArrivalUnits(), "unknown arrival unit %q", per)
			return
		}
		units := 0
		for i := range s.Sites {
			if match(&s.Sites[i]) {
				rates[s.Sites[i].CityIndex] += a.RatePerHour * raw[s.Sites[i].CityIndex]
				if raw[s.Sites[i].CityIndex] > 0 {
					units++
				}
			}
		}
		if units == 0 {
			v.errf(p+".per", "no site matches %q in the origin cities", per)
			return
		}
	default:
		v.c.allowed(p+".per", ArrivalUnits(), "unknown arrival unit %q", per)
		return
	}
	total := 0.0
	for _, r := range rates {
		total += r
	}
	w.OriginRatePerHour, w.RatePerHour = rates, total
	w.OriginWeights = make([]float64, len(rates))
	for i, r := range rates {
		if total > 0 {
			w.OriginWeights[i] = r / total
		}
	}
	_ = eligible
}

// siteMatcher returns the predicate of a per-site arrival unit ("site",
// a role, or a tier) without its "-site" suffix.
func siteMatcher(unit string) (func(*Site) bool, bool) {
	if unit == "site" || unit == "" {
		return func(*Site) bool { return true }, true
	}
	if r, err := nodes.ParseRole(unit); err == nil {
		return func(s *Site) bool { return s.Role == r }, true
	}
	if t, err := nodes.ParseTier(unit); err == nil && t != nodes.TierEdge {
		return func(s *Site) bool { return s.Tier == t }, true
	}
	return nil, false
}

// trace validates a trace source and reads its records.
func (v *validator) trace(p string, w *Workload, maxNode nodes.Resources) {
	t := w.Trace
	fmtOK := true
	if v.required(p+".format") && !contains(TraceFormats, t.Format) {
		v.c.allowed(p+".format", TraceFormats, "unknown trace format %q", t.Format)
		fmtOK = false
	}
	fileOK := v.required(p + ".file")
	v.check(t.TimeScale > 0 && t.TimeScale <= 1e6, p+".time_scale", "%s must be in (0, 1000000]", formatFloat(t.TimeScale))
	v.check(t.DurationScale > 0 && t.DurationScale <= 1e6, p+".duration_scale", "%s must be in (0, 1000000]", formatFloat(t.DurationScale))
	v.check(t.Limit >= 0, p+".limit", "%d must be >= 0", t.Limit)
	v.check(t.CoresPerProc > 0 && t.CoresPerProc <= 4096, p+".cores_per_proc", "%s must be in (0, 4096]", formatFloat(t.CoresPerProc))
	v.check(t.MemoryGiBPerProc >= 0 && t.MemoryGiBPerProc <= 1<<20, p+".memory_gib_per_proc", "%s must be in [0, 1048576]", formatFloat(t.MemoryGiBPerProc))
	if !contains(WideModes, t.Wide) {
		v.c.allowed(p+".wide", WideModes, "unknown mode %q", t.Wide)
	}
	if t.Format != "swf" {
		var def Trace
		def.setDefaults()
		if t.CoresPerProc != def.CoresPerProc {
			v.errf(p+".cores_per_proc", "only used by format swf")
		}
		if t.MemoryGiBPerProc != def.MemoryGiBPerProc {
			v.errf(p+".memory_gib_per_proc", "only used by format swf")
		}
	}
	if v.opts.SkipData || !fmtOK || !fileOK {
		return
	}
	data, full, err := v.readData(t.File)
	if err != nil {
		v.errf(p+".file", "cannot read %s: %v", full, err)
		return
	}
	recs, _, err := ReadTrace(bytes.NewReader(data), t)
	if err != nil {
		for _, e := range splitJoined(err) {
			v.errf(p+".file", "%s: %v", full, e)
		}
		return
	}
	out, _ := ScheduleTrace(recs, t, v.s.Horizon.D(), maxNode)
	if !v.check(len(out) > 0, p, "no record of %s arrives within the horizon %s (check skip and time_scale)", full, v.s.Horizon) {
		return
	}
	w.Records = out
}

func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (v *validator) events() {
	s := v.s
	type span struct {
		from, to time.Duration
		path     string
	}
	outages := map[int][]span{}
	firstName := map[string]string{}
	// Unnamed events are named after the loop, from their kind and
	// resolved time (eventNames): given[i] is the file's name, timed[i]
	// whether event i's kind and time are known.
	given, timed := make([]string, len(s.Events)), make([]bool, len(s.Events))
	defer func() {
		names := eventNames(given, func(i int) (EventKind, time.Duration, bool) {
			return s.Events[i].Kind, s.Events[i].At.D(), timed[i]
		})
		for i := range s.Events {
			s.Events[i].Name = names[i]
		}
	}()
	for i := range s.Events {
		e := &s.Events[i]
		p := e.path
		if p == "" {
			p = fmt.Sprintf("events[%d]", i)
		}
		// Names label outputs and select events in --set (events[NAME]),
		// so names given in the file must be unique (and default names,
		// <kind>@<at>, are made unique: eventNames).
		given[i] = e.Name
		if v.has(p+".name") && e.Name != "" {
			if !eventNamePattern.MatchString(e.Name) {
				// so events[NAME] in --set can select it
				v.errf(p+".name", "invalid event name %q: %s", clip(e.Name), eventNameRule)
			} else if prev, dup := firstName[e.Name]; dup {
				v.errf(p+".name", "duplicate event name %q (first at %s); give each event its own name", e.Name, v.where(prev))
			} else {
				firstName[e.Name] = p + ".name"
			}
		}
		if !v.required(p+".kind") || !v.required(p+".at") {
			continue
		}
		if !e.At.Time.IsZero() {
			off := e.At.Time.Sub(s.Start)
			if !v.check(off >= 0, p+".at", "%s is before the start %s", e.At.Time.Format(time.RFC3339), s.Start.Format(time.RFC3339)) {
				continue
			}
			e.At.Duration = Duration(off)
		}
		if !v.check(e.At.D() < s.Horizon.D(), p+".at", "%s is not before the end of the horizon %s", e.At.Duration, s.Horizon) {
			continue
		}
		if v.required(p + ".duration") {
			v.check(e.Duration > 0, p+".duration", "must be > 0")
		}
		timed[i] = true
		allowed := append([]string{"name", "at", "kind", "duration"}, eventFields[e.Kind]...)
		for _, f := range []string{"site", "sites", "nodes", "fraction", "node_type", "classes", "cities", "factor"} {
			if v.has(p+"."+f) && !contains(allowed, f) {
				v.c.allowed(p+"."+f, allowed, "field %q does not apply to a %s event", f, e.Kind)
			}
		}
		switch e.Kind {
		case SiteOutage, RenewableDrought:
			if v.has(p+".site") && v.has(p+".sites") {
				v.errf(p+".sites", "give site or sites, not both")
				continue
			}
			e.SiteIndex = v.eventSites(p, e)
			if e.Kind == RenewableDrought {
				if v.required(p + ".factor") {
					v.rangeCheck(p+".factor", e.Factor, 0, 1)
				}
			}
		case NodeOutage:
			if !v.required(p + ".site") {
				continue
			}
			e.SiteIndex = v.eventSites(p, e)
			if len(e.SiteIndex) != 1 {
				continue
			}
			site := &s.Sites[e.SiteIndex[0]]
			avail := site.Nodes.Total()
			if v.has(p + ".node_type") {
				avail = -1
				for _, nc := range site.Nodes {
					if nc.Type == e.NodeType {
						avail = nc.Count
					}
				}
				if avail < 0 {
					var names []string
					for _, nc := range site.Nodes {
						names = append(names, nc.Type)
					}
					v.c.allowed(p+".node_type", names, "site %s has no nodes of type %q", site.ID, e.NodeType)
					continue
				}
			}
			switch {
			case v.has(p+".nodes") && v.has(p+".fraction"):
				v.errf(p+".fraction", "give nodes or fraction, not both")
			case v.has(p + ".nodes"):
				v.check(e.Nodes > 0 && e.Nodes <= avail, p+".nodes", "%d must be in [1, %d] (the site's nodes%s)", e.Nodes, avail, ofType(e.NodeType))
			case v.has(p + ".fraction"):
				v.check(e.Fraction > 0 && e.Fraction <= 1, p+".fraction", "%s must be in (0, 1]", formatFloat(e.Fraction))
			default:
				v.errf(p, "a node outage needs nodes (a count) or fraction (of the site's nodes)")
			}
		case DemandSurge:
			if v.required(p + ".factor") {
				v.check(e.Factor > 0 && e.Factor <= MaxFactor, p+".factor", "%s must be in (0, %d]", formatFloat(e.Factor), MaxFactor)
			}
			for j, c := range e.Classes {
				if !contains(v.classes, c) {
					v.c.allowed(fmt.Sprintf("%s.classes[%d]", p, j), v.classes, "unknown class %q", c)
				}
			}
			if v.has(p + ".cities") {
				v.cities(p+".cities", &e.Cities)
			} else {
				e.Cities = CitySet{All: true}
				v.cities(p+".cities", &e.Cities)
			}
		}
		if e.Kind == SiteOutage || e.Kind == NodeOutage {
			sp := span{e.At.D(), e.End(), p}
			for _, si := range e.SiteIndex {
				for _, o := range outages[si] {
					if sp.from < o.to && o.from < sp.to {
						v.errf(p+".at", "outage of site %s over [%s, %s) overlaps the outage at %s; merge them or move one", s.Sites[si].ID, Duration(sp.from), Duration(sp.to), v.where(o.path))
						break
					}
				}
				outages[si] = append(outages[si], sp)
			}
		}
	}
}

func ofType(t string) string {
	if t == "" {
		return ""
	}
	return " of type " + t
}

// eventSites resolves an event's site or sites into site indices.
func (v *validator) eventSites(p string, e *Event) []int {
	s := v.s
	var ids []string
	var idPath func(int) string
	switch {
	case e.Site != "":
		ids, idPath = []string{e.Site}, func(int) string { return p + ".site" }
	case e.Sites.All:
		out := make([]int, len(s.Sites))
		for i := range out {
			out[i] = i
		}
		e.Sites.IDs = nil
		return out
	case len(e.Sites.IDs) > 0:
		ids, idPath = e.Sites.IDs, func(i int) string { return fmt.Sprintf("%s.sites[%d]", p, i) }
	default:
		v.errf(p, "a %s event needs site (one id) or sites (all or a list)", e.Kind)
		return nil
	}
	var out []int
	for i, id := range ids {
		si, ok := v.siteIndex[id]
		if !ok {
			v.c.allowed(idPath(i), v.siteIDs(), "unknown site %q", id)
			continue
		}
		if containsInt(out, si) {
			v.errf(idPath(i), "site %q listed twice", id)
			continue
		}
		out = append(out, si)
	}
	sort.Ints(out)
	return out
}
