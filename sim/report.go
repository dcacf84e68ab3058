package sim

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/suanli/suanli/nodes"
)

// ReportSections are the report's chart sections, in order; each holds
// exactly one chart (an inline <svg>).
var ReportSections = []string{
	"power-by-source",
	"renewable-share",
	"pue",
	"latency",
	"utilization",
	"cost-carbon",
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"}

func color(i int) string { return palette[i%len(palette)] }

func esc(s string) string { return html.EscapeString(s) }

func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// WriteReport writes report.html: one self-contained XHTML-compatible file
// (inline CSS and SVG, no scripts, no network) with the comparison table,
// the scenario metadata and one chart per section.
func WriteReport(w io.Writer, cfg *Config, m Meta, s *Summary, runs []Run) error {
	b := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
	p("<title>Suanli simulation: %s</title>\n", esc(m.Scenario))
	p(`<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}td,th{padding:.25em .6em;border-bottom:1px solid #eee;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.ok{color:#2a7d2a;font-weight:600}.bad{color:#b22;font-weight:600}
svg{background:#fff;border:1px solid #eee;margin:.5em 0}
svg text{font-size:11px;fill:#333}.note{color:#666;font-size:.85em}
</style>
</head>
<body>
`)
	p("<h1>Suanli simulation: %s</h1>\n", esc(m.Scenario))
	p("<section id=\"metadata\"><h2>Scenario</h2>\n<table>\n")
	row := func(k, v string) { p("<tr><th>%s</th><td>%s</td></tr>\n", esc(k), esc(v)) }
	row("scenario", m.Scenario)
	row("scenario sha256", m.ScenarioSHA256)
	row("seed", strconv.FormatUint(m.Seed, 10))
	row("start", m.Start.Format(time.RFC3339))
	row("horizon", fmt.Sprintf("%.0f h", m.Horizon.Hours()))
	row("accounting interval", m.Interval.String())
	row("sites / nodes", fmt.Sprintf("%d / %d", m.Sites, m.Nodes))
	row("workload classes", strings.Join(m.Classes, ", "))
	if sc := m.Scheduler; sc != nil {
		w := sc.Weights
		pre := "off"
		if sc.Preemption {
			pre = "on"
		}
		row("scheduler", fmt.Sprintf("balanced weights latency %s, cost %s, carbon %s, binpack %s, spread %s; node candidates %d; defer threshold %s; defer slack max(%s h, %s × run time); preemption %s",
			fmtNum(w.Latency), fmtNum(w.Cost), fmtNum(w.Carbon), fmtNum(w.BinPack), fmtNum(w.Spread), sc.NodeCandidates,
			fmtNum(sc.DeferThreshold), fmtNum(sc.DeferSlackHours), fmtNum(sc.DeferSlackFraction), pre))
		o := sc.Optimizer
		recovery := "never"
		if o.RecoveryHours > 0 {
			recovery = fmtNum(o.RecoveryHours) + " h"
		}
		row("optimizer", fmt.Sprintf("tolerance %s; busy cores recover over %s; replan share %s; weights carbon %s, price %s; utilization %s",
			fmtNum(o.Tolerance), recovery, fmtNum(o.ReplanShare), fmtNum(o.CarbonWeight), fmtNum(o.PriceWeight), fmtNum(o.Utilization)))
		row("forecast", fmt.Sprintf("%s h steps over %s h", fmtNum(sc.Forecast.StepHours), fmtNum(sc.Forecast.HorizonHours)))
	}
	var evs []string
	if len(runs) > 0 {
		for _, e := range runs[0].Events {
			evs = append(evs, fmt.Sprintf("%s %s %.1f–%.1f h", e.Kind, e.Name, e.StartHours, e.EndHours))
		}
	}
	if len(evs) == 0 {
		evs = []string{"none"}
	}
	row("events", strings.Join(evs, "; "))
	p("</table></section>\n")

	p("<section id=\"comparison\"><h2>Policy comparison</h2>\n<table>\n<tr><th>policy</th><th>renewable share</th><th>PUE</th><th>cost CNY</th><th>carbon t</th><th>embodied t</th><th>total carbon t</th><th>latency p50/p95/p99 ms</th><th>latency violations</th><th>deadline misses</th><th>submitted</th><th>rejected</th><th>in flight</th><th>util core/cluster/edge</th></tr>\n")
	for _, ps := range s.Policies {
		cls := func(ok bool) string {
			if ok {
				return "ok"
			}
			return "bad"
		}
		p("<tr><td>%s</td><td class=\"%s\">%.1f%%</td><td class=\"%s\">%.3f</td><td>%s</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f / %.2f / %.2f</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%.0f%% / %.0f%% / %.0f%%</td></tr>\n",
			esc(ps.Policy), cls(ps.Targets.RenewableShareMin25pct), 100*ps.RenewableShare, cls(ps.Targets.PUEMax125), ps.PUE,
			groupThousands(ps.CostCNY), ps.CarbonT, ps.EmbodiedCarbonT, ps.TotalCarbonT, ps.LatencyMs.P50, ps.LatencyMs.P95, ps.LatencyMs.P99,
			ps.Workloads.LatencyViolations, ps.Workloads.DeadlineMisses, ps.Workloads.Submitted, ps.Workloads.Rejected, ps.Workloads.InFlight,
			100*ps.Utilization["core"].CPU, 100*ps.Utilization["cluster"].CPU, 100*ps.Utilization["edge"].CPU)
	}
	p("</table>\n<p class=\"note\">Targets: renewable share ≥ %.0f %% of facility energy, PUE ≤ %.2f (Shandong 2023). Carbon is operational (grid energy × grid intensity); embodied is the servers' and batteries' manufacturing footprint over their lifetime, which no policy changes; total is both. Latency is the network RTT from the origin city to the chosen site plus sampled jitter; see docs/outputs.md.</p>\n", 100*TargetRenewableShare, TargetPUE)
	if len(s.Policies) > 0 && s.Policies[0].PowerManagement != nil {
		p("<table>\n<tr><th>policy</th><th>servers switched off</th><th>wake-ups</th><th>server-hours off</th><th>mean wait h</th></tr>\n")
		for _, ps := range s.Policies {
			if pm := ps.PowerManagement; pm != nil {
				p("<tr><td>%s</td><td>%d</td><td>%d</td><td>%s</td><td>%.3f</td></tr>\n", esc(ps.Policy), pm.SwitchOffs, pm.Wakeups, groupThousands(pm.OffNodeHours), ps.MeanWaitHours)
			}
		}
		p("</table>\n<p class=\"note\">Power management: idle servers are switched off and woken (with a boot delay, counted as waiting) for work placed on them.</p>\n")
	}
	p("</section>\n")

	section := func(id, title, note string, svg string) {
		p("<section id=\"%s\"><h2>%s</h2>\n%s\n", id, esc(title), svg)
		if note != "" {
			p("<p class=\"note\">%s</p>\n", esc(note))
		}
		p("</section>\n")
	}
	section("power-by-source", "Power by source over time", "Province facility power, stacked: renewables used directly, battery discharge, grid; one panel per policy (MW).", powerChart(runs))
	section("renewable-share", "Renewable share vs the 25 % target", "Share of facility energy from renewables (direct or via battery), per time bucket; dashed line: target.", shareChart(runs, m))
	section("pue", "PUE vs 1.25", "Province facility energy over IT energy per time bucket; dashed line: target.", pueChart(runs, m))
	section("latency", "Latency distribution per class", "Per class and policy: bar from p50 to p99, tick at p95 (ms, log scale).", latencyChart(runs))
	section("utilization", "Utilisation per tier", "Time-weighted allocated share of up CPU capacity (solid) and GPU capacity (light), per tier and policy.", utilChart(runs))
	section("cost-carbon", "Cost and carbon per policy", "Energy cost (grid and green-power contracts, CNY) and carbon over the run, stacked: operational (grid) carbon solid, embodied carbon of the servers and batteries (their manufacturing footprint over their lifetime; the same for every policy on one scenario) light on top (t CO2e).", costCarbonChart(runs))
	p("</body>\n</html>\n")
	return b.Flush()
}

// chart geometry
const (
	cw, ch       = 1000, 320
	padL, padR   = 70, 160
	padT, padB   = 20, 40
	plotW, plotH = cw - padL - padR, ch - padT - padB
)

type series struct {
	name   string
	x, y   []float64
	dashed bool
	color  string
}

// niceMax rounds v up to 1, 2 or 5 × 10^k.
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*e {
			return m * e
		}
	}
	return 10 * e
}

// lineChart draws series over x in [0, xmax] hours, y in [ymin, ymax].
func lineChart(ss []series, xmax, ymin, ymax float64, ylabel string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n", cw, ch, cw, ch)
	axes(&b, xmax, ymin, ymax, ylabel, padL, padT, plotW, plotH)
	sx := func(x float64) float64 { return padL + x/xmax*plotW }
	sy := func(y float64) float64 { return padT + plotH - (y-ymin)/(ymax-ymin)*plotH }
	for i, s := range ss {
		c := s.color
		if c == "" {
			c = color(i)
		}
		var pts []string
		for k := range s.x {
			y := math.Max(ymin, math.Min(ymax, s.y[k]))
			pts = append(pts, num(sx(s.x[k]))+","+num(sy(y)))
		}
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="6,4"`
		}
		fmt.Fprintf(&b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s points=\"%s\"/>\n", c, dash, strings.Join(pts, " "))
		ly := padT + 14*i + 10
		fmt.Fprintf(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/><text x=\"%d\" y=\"%d\">%s</text>\n", cw-padR+10, ly-4, cw-padR+30, ly-4, c, dash, cw-padR+35, ly, esc(s.name))
	}
	b.WriteString("</svg>")
	return b.String()
}

func axes(b *strings.Builder, xmax, ymin, ymax float64, ylabel string, x0, y0, w, h int) {
	fmt.Fprintf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n", x0, y0, w, h)
	for i := 0; i <= 4; i++ {
		v := ymin + (ymax-ymin)*float64(i)/4
		y := float64(y0+h) - float64(h)*float64(i)/4
		fmt.Fprintf(b, "<line x1=\"%d\" y1=\"%s\" x2=\"%d\" y2=\"%s\" stroke=\"#eee\"/><text x=\"%d\" y=\"%s\" text-anchor=\"end\">%s</text>\n", x0, num(y), x0+w, num(y), x0-5, num(y+4), esc(tick(v)))
	}
	step := 24.0
	if xmax <= 48 {
		step = 6
	} else if xmax > 24*21 {
		step = 24 * 7
	}
	for x := 0.0; x <= xmax+1e-9; x += step {
		px := float64(x0) + x/xmax*float64(w)
		fmt.Fprintf(b, "<line x1=\"%s\" y1=\"%d\" x2=\"%s\" y2=\"%d\" stroke=\"#999\"/><text x=\"%s\" y=\"%d\" text-anchor=\"middle\">%sh</text>\n", num(px), y0+h, num(px), y0+h+4, num(px), y0+h+16, strconv.FormatFloat(x, 'f', 0, 64))
	}
	fmt.Fprintf(b, "<text x=\"%d\" y=\"%d\" transform=\"rotate(-90 %d %d)\" text-anchor=\"middle\">%s</text>\n", 14, y0+h/2, 14, y0+h/2, esc(ylabel))
}

func tick(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// bucketed sums province balances into at most ~168 time buckets.
func bucketed(r Run) (xs []float64, bs []Balance) {
	n := len(r.Intervals)
	per := (n + 167) / 168
	if per < 1 {
		per = 1
	}
	for i := 0; i < n; i += per {
		var tot Balance
		j := min(i+per, n)
		for _, iv := range r.Intervals[i:j] {
			for s := range iv.Sites {
				addBalance(&tot, &iv.Sites[s].Balance)
			}
		}
		mid := (r.Intervals[i].Start + r.Intervals[j-1].End) / 2
		xs = append(xs, mid.Hours())
		bs = append(bs, tot)
	}
	return xs, bs
}

func powerChart(runs []Run) string {
	// one panel per policy, stacked areas
	panelH := 160
	h := padT + len(runs)*(panelH+30) + 20
	var b strings.Builder
	fmt.Fprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n", cw, h, cw, h)
	names := []string{"renewable (direct)", "battery", "grid"}
	cols := []string{"#2ca02c", "#9467bd", "#7f7f7f"}
	ymax := 0.0
	type panel struct {
		x     []float64
		stack [][3]float64
	}
	panels := make([]panel, len(runs))
	for i, r := range runs {
		n := len(r.Intervals)
		for _, iv := range r.Intervals {
			var tot Balance
			for s := range iv.Sites {
				addBalance(&tot, &iv.Sites[s].Balance)
			}
			hrs := (iv.End - iv.Start).Hours()
			if hrs <= 0 {
				continue
			}
			v := [3]float64{tot.RenewableDirectKWh / hrs / 1000, tot.BatteryDischargeKWh / hrs / 1000, tot.GridKWh / hrs / 1000}
			panels[i].x = append(panels[i].x, ((iv.Start + iv.End) / 2).Hours())
			panels[i].stack = append(panels[i].stack, v)
			ymax = math.Max(ymax, v[0]+v[1]+v[2])
		}
		_ = n
	}
	ymax = niceMax(ymax)
	xmax := 1.0
	if len(runs) > 0 && len(runs[0].Intervals) > 0 {
		xmax = runs[0].Intervals[len(runs[0].Intervals)-1].End.Hours()
	}
	for i, pn := range panels {
		y0 := padT + i*(panelH+30)
		axes(&b, xmax, 0, ymax, "MW", padL, y0, plotW, panelH)
		fmt.Fprintf(&b, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s</text>\n", padL+4, y0+12, esc(runs[i].Policy))
		sx := func(x float64) float64 { return padL + x/xmax*plotW }
		sy := func(y float64) float64 { return float64(y0+panelH) - y/ymax*float64(panelH) }
		for layer := 0; layer < 3; layer++ {
			var top, bot []string
			for k, x := range pn.x {
				lo := 0.0
				for l := 0; l < layer; l++ {
					lo += pn.stack[k][l]
				}
				hi := lo + pn.stack[k][layer]
				top = append(top, num(sx(x))+","+num(sy(hi)))
				bot = append(bot, num(sx(x))+","+num(sy(lo)))
			}
			for l, r := 0, len(bot)-1; l < r; l, r = l+1, r-1 {
				bot[l], bot[r] = bot[r], bot[l]
			}
			if len(top) > 0 {
				fmt.Fprintf(&b, "<polygon fill=\"%s\" fill-opacity=\"0.75\" stroke=\"none\" points=\"%s %s\"/>\n", cols[layer], strings.Join(top, " "), strings.Join(bot, " "))
			}
		}
		if i == 0 {
			for l, nm := range names {
				ly := y0 + 14*l + 10
				fmt.Fprintf(&b, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n", cw-padR+10, ly-9, cols[l], cw-padR+30, ly, esc(nm))
			}
		}
	}
	b.WriteString("</svg>")
	return b.String()
}

func xmaxOf(runs []Run) float64 {
	if len(runs) > 0 && len(runs[0].Intervals) > 0 {
		return runs[0].Intervals[len(runs[0].Intervals)-1].End.Hours()
	}
	return 1
}

func shareChart(runs []Run, m Meta) string {
	var ss []series
	ymax := TargetRenewableShare * 1.2
	for _, r := range runs {
		xs, bs := bucketed(r)
		ys := make([]float64, len(bs))
		for i := range bs {
			if bs[i].FacilityKWh > 0 {
				ys[i] = bs[i].RenewableToFacilityKWh / bs[i].FacilityKWh
			}
			ymax = math.Max(ymax, ys[i])
		}
		ss = append(ss, series{name: r.Policy, x: xs, y: ys})
	}
	xmax := xmaxOf(runs)
	ss = append(ss, series{name: "target 25 %", x: []float64{0, xmax}, y: []float64{TargetRenewableShare, TargetRenewableShare}, dashed: true, color: "#000"})
	return lineChart(ss, xmax, 0, math.Min(1, niceMax(ymax)), "renewable share")
}

func pueChart(runs []Run, m Meta) string {
	var ss []series
	ymin, ymax := TargetPUE, TargetPUE
	for _, r := range runs {
		xs, bs := bucketed(r)
		ys := make([]float64, len(bs))
		for i := range bs {
			if bs[i].ITKWh > 0 {
				ys[i] = bs[i].FacilityKWh / bs[i].ITKWh
				ymin, ymax = math.Min(ymin, ys[i]), math.Max(ymax, ys[i])
			}
		}
		ss = append(ss, series{name: r.Policy, x: xs, y: ys})
	}
	xmax := xmaxOf(runs)
	ss = append(ss, series{name: "target 1.25", x: []float64{0, xmax}, y: []float64{TargetPUE, TargetPUE}, dashed: true, color: "#000"})
	lo := math.Floor(ymin*20)/20 - 0.05
	hi := math.Ceil(ymax*20)/20 + 0.05
	return lineChart(ss, xmax, math.Max(1, lo), hi, "PUE")
}

// logScale maps ms on [lo, hi] (log) to [0, 1].
func logScale(v, lo, hi float64) float64 {
	v = math.Max(lo, math.Min(hi, v))
	return (math.Log10(v) - math.Log10(lo)) / (math.Log10(hi) - math.Log10(lo))
}

func latencyChart(runs []Run) string {
	if len(runs) == 0 {
		return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"></svg>"
	}
	classes := len(runs[0].Classes)
	rowH := 10
	groupH := rowH*len(runs) + 12
	h := padT + classes*groupH + 50
	// The axis spans the decades the p50–p99 bars need (at least one).
	lo, hi := math.Inf(1), 0.0
	for _, r := range runs {
		for c := range r.Classes {
			if h := r.Classes[c].latency; h.Count() > 0 {
				lo = math.Min(lo, h.Quantile(0.5))
				hi = math.Max(hi, h.Quantile(0.99))
			}
		}
	}
	if math.IsInf(lo, 1) || lo <= 0 {
		lo, hi = 0.1, 1000
	}
	lo = math.Pow(10, math.Floor(math.Log10(lo)))
	hi = math.Pow(10, math.Ceil(math.Log10(math.Max(hi, lo*10))))
	var b strings.Builder
	fmt.Fprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n", cw, h, cw, h)
	x0, w := 140, cw-140-padR
	plotBottom := padT + classes*groupH
	for d := lo; d <= hi*1.0001; d *= 10 {
		x := float64(x0) + logScale(d, lo, hi)*float64(w)
		fmt.Fprintf(&b, "<line x1=\"%s\" y1=\"%d\" x2=\"%s\" y2=\"%d\" stroke=\"#ddd\"/><text x=\"%s\" y=\"%d\" text-anchor=\"middle\">%s ms</text>\n", num(x), padT, num(x), plotBottom, num(x), plotBottom+16, tick(d))
	}
	for c := 0; c < classes; c++ {
		gy := padT + c*groupH
		fmt.Fprintf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", x0-8, gy+groupH/2+4, esc(runs[0].Classes[c].Name))
		for i, r := range runs {
			hst := r.Classes[c].latency
			if hst.Count() == 0 {
				continue
			}
			p50, p95, p99 := hst.Quantile(0.5), hst.Quantile(0.95), hst.Quantile(0.99)
			y := gy + 4 + i*rowH
			xa := float64(x0) + logScale(p50, lo, hi)*float64(w)
			xb := float64(x0) + logScale(p99, lo, hi)*float64(w)
			xm := float64(x0) + logScale(p95, lo, hi)*float64(w)
			fmt.Fprintf(&b, "<rect x=\"%s\" y=\"%d\" width=\"%s\" height=\"%d\" fill=\"%s\"/><line x1=\"%s\" y1=\"%d\" x2=\"%s\" y2=\"%d\" stroke=\"#000\"/>\n",
				num(xa), y, num(math.Max(1, xb-xa)), rowH-2, color(i), num(xm), y-1, num(xm), y+rowH-1)
		}
		if bound := runs[0].Classes[c]; bound.Name != "" {
			_ = bound
		}
	}
	for i, r := range runs {
		ly := padT + 14*i + 10
		fmt.Fprintf(&b, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n", cw-padR+10, ly-9, color(i), cw-padR+30, ly, esc(r.Policy))
	}
	b.WriteString("</svg>")
	return b.String()
}

// barChart draws groups of bars (one bar per policy in each group).
func barChart(groups []string, policies []string, vals [][]float64, light [][]float64, ylabel string, ymax float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n", cw, ch, cw, ch)
	ymax = niceMax(ymax)
	fmt.Fprintf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n", padL, padT, plotW, plotH)
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		y := float64(padT+plotH) - float64(plotH)*float64(i)/4
		fmt.Fprintf(&b, "<line x1=\"%d\" y1=\"%s\" x2=\"%d\" y2=\"%s\" stroke=\"#eee\"/><text x=\"%d\" y=\"%s\" text-anchor=\"end\">%s</text>\n", padL, num(y), padL+plotW, num(y), padL-5, num(y+4), esc(tick(v)))
	}
	fmt.Fprintf(&b, "<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">%s</text>\n", padT+plotH/2, padT+plotH/2, esc(ylabel))
	gw := float64(plotW) / float64(len(groups))
	bw := gw * 0.8 / float64(max(1, len(policies)))
	for g, name := range groups {
		gx := float64(padL) + gw*float64(g)
		fmt.Fprintf(&b, "<text x=\"%s\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", num(gx+gw/2), padT+plotH+16, esc(name))
		for i := range policies {
			x := gx + gw*0.1 + bw*float64(i)
			if light != nil {
				hh := light[g][i] / ymax * float64(plotH)
				fmt.Fprintf(&b, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"%s\" fill-opacity=\"0.3\"/>\n", num(x), num(float64(padT+plotH)-hh), num(bw*0.9), num(hh), color(i))
			}
			hh := vals[g][i] / ymax * float64(plotH)
			wd := bw * 0.9
			if light != nil {
				wd = bw * 0.5
			}
			fmt.Fprintf(&b, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"%s\"/>\n", num(x), num(float64(padT+plotH)-hh), num(wd), num(hh), color(i))
		}
	}
	for i, p := range policies {
		ly := padT + 14*i + 10
		fmt.Fprintf(&b, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n", cw-padR+10, ly-9, color(i), cw-padR+30, ly, esc(p))
	}
	b.WriteString("</svg>")
	return b.String()
}

func policiesOf(runs []Run) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.Policy)
	}
	return out
}

func utilChart(runs []Run) string {
	var groups []string
	vals := make([][]float64, nodes.NumTiers)
	light := make([][]float64, nodes.NumTiers)
	for t := nodes.Tier(0); t < nodes.NumTiers; t++ {
		groups = append(groups, t.String())
		for _, r := range runs {
			vals[t] = append(vals[t], r.CPUUtil[t])
			light[t] = append(light[t], r.GPUUtil[t])
		}
	}
	return barChart(groups, policiesOf(runs), vals, light, "allocated share", 1)
}

func costCarbonChart(runs []Run) string {
	// Two groups on one relative axis: each value over the largest of its
	// group, labelled with the absolute value. Carbon is stacked:
	// operational (grid) carbon solid, embodied carbon light on top of it.
	groups := []string{"cost (relative to max)", "carbon (relative to max)"}
	vals := [][]float64{make([]float64, len(runs)), make([]float64, len(runs))}
	emb := make([]float64, len(runs))
	var maxC, maxK float64
	for _, r := range runs {
		maxC = math.Max(maxC, r.Energy.CostCNY)
		maxK = math.Max(maxK, r.TotalCarbonKg())
	}
	for i, r := range runs {
		if maxC > 0 {
			vals[0][i] = r.Energy.CostCNY / maxC
		}
		if maxK > 0 {
			vals[1][i] = r.Energy.CarbonKg / maxK
			emb[i] = r.EmbodiedKg / maxK
		}
	}
	svg := barChart(groups, policiesOf(runs), vals, nil, "share of the largest", 1)
	var extra strings.Builder
	gw := float64(plotW) / 2
	bw := gw * 0.8 / float64(max(1, len(runs)))
	for i := range runs {
		// The embodied segment, above the operational bar.
		if emb[i] > 0 {
			x := float64(padL) + gw + gw*0.1 + bw*float64(i)
			top := float64(padT+plotH) - (vals[1][i]+emb[i])*float64(plotH)
			fmt.Fprintf(&extra, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"%s\" fill-opacity=\"0.35\" stroke=\"%s\"/>\n",
				num(x), num(top), num(bw*0.9), num(emb[i]*float64(plotH)), color(i), color(i))
		}
	}
	for i, r := range runs {
		carbon := strconv.FormatFloat(r.Energy.CarbonKg/1000, 'f', 1, 64) + " t"
		if r.EmbodiedKg > 0 {
			e := strconv.FormatFloat(r.EmbodiedKg/1000, 'f', 1, 64)
			if r.EmbodiedKg < 1000 { // small provinces: two significant digits
				e = strconv.FormatFloat(r.EmbodiedKg/1000, 'g', 2, 64)
			}
			carbon += " + " + e + " t embodied"
		}
		for g, v := range []string{groupThousands(r.Energy.CostCNY) + " CNY", carbon} {
			// Written vertically inside the bar, from its top down.
			x := float64(padL) + gw*float64(g) + gw*0.1 + bw*float64(i) + bw*0.45 + 3
			// (in the solid part: the operational bar for carbon)
			y := float64(padT+plotH) - vals[g][i]*float64(plotH) + 6
			fmt.Fprintf(&extra, "<text x=\"%s\" y=\"%s\" transform=\"rotate(90 %s %s)\" font-size=\"10\" fill=\"#fff\">%s</text>\n", num(x), num(y), num(x), num(y), esc(v))
		}
	}
	return strings.Replace(svg, "</svg>", extra.String()+"</svg>", 1)
}

// sortedKeys returns the keys of m in order (for deterministic output).
func sortedKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// fmtNum formats a setting compactly (0.5, 1, 0.1).
func fmtNum(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
