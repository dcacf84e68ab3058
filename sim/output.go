package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/external"
)

// Targets of Shandong's 2023 policy the outputs compare against.
const (
	TargetRenewableShare = 0.25
	TargetPUE            = 1.25
	// TargetTolerance is the relative tolerance of the target flags: a
	// run's PUE and renewable share are ratios of sums of many interval
	// energies, so a province at exactly PUE 1.25 can come out as
	// 1.2500000000000002. A figure within this fraction of the target
	// meets it.
	TargetTolerance = 1e-9
)

// MeetsRenewableTarget reports whether a renewable share meets the 25 %
// target (TargetTolerance below it still does).
func MeetsRenewableTarget(share float64) bool {
	return share >= TargetRenewableShare*(1-TargetTolerance)
}

// MeetsPUETarget reports whether a PUE (> 0) is at most 1.25
// (TargetTolerance above it still is).
func MeetsPUETarget(pue float64) bool {
	return pue > 0 && pue <= TargetPUE*(1+TargetTolerance)
}

// Meta describes the scenario a set of runs came from.
type Meta struct {
	Scenario       string
	ScenarioSHA256 string
	Seed           uint64
	Horizon        time.Duration
	Start          time.Time
	Interval       time.Duration
	Sites, Nodes   int
	Classes        []string
	// Scheduler are the core's settings in force (Config.SchedulerSettings);
	// WriteOutputs fills them from its config when nil.
	Scheduler *SchedulerSettings
	// External are the external policies the runs could name, by NAME
	// (Config.External): summary.json records, for every external
	// policy run, what it ran.
	External map[string]external.Spec
}

// Summary is summary.json.
type Summary struct {
	Scenario       string  `json:"scenario"`
	ScenarioSHA256 string  `json:"scenario_sha256"`
	Seed           uint64  `json:"seed"`
	HorizonHours   float64 `json:"horizon_hours"`
	Start          string  `json:"start"`
	IntervalMin    float64 `json:"interval_minutes"`
	Sites          int     `json:"sites"`
	Nodes          int     `json:"nodes"`
	// Scheduler are the core's settings in force for every policy.
	Scheduler *SchedulerSettings `json:"scheduler,omitempty"`
	Policies  []PolicySummary    `json:"policies"`
}

// PolicySummary is one policy's part of summary.json.
type PolicySummary struct {
	Policy string `json:"policy"`
	// External says what an external policy's run ran (nil for the
	// built-in policies).
	External       *ExternalRun   `json:"external,omitempty"`
	Workloads      WorkloadCounts `json:"workloads"`
	EnergyMWh      EnergyMWh      `json:"energy_mwh"`
	RenewableShare float64        `json:"renewable_share"`
	PUE            float64        `json:"pue"`
	CostCNY        float64        `json:"cost_cny"`
	CostSplitCNY   CostSplit      `json:"cost_split_cny"`
	CarbonT        float64        `json:"carbon_t"`
	// EmbodiedCarbonT is the embodied carbon of the scenario's hardware
	// over the horizon (docs/energy-model.md, embodied carbon);
	// TotalCarbonT is CarbonT (operational) plus it.
	EmbodiedCarbonT      float64       `json:"embodied_carbon_t"`
	EmbodiedCarbonSplitT EmbodiedSplit `json:"embodied_carbon_split_t"`
	TotalCarbonT         float64       `json:"total_carbon_t"`
	// CompletedCoreHours is the completed work (cores × run time);
	// TotalCarbonKgPerCoreHour is total carbon over it (0 when nothing
	// completed).
	CompletedCoreHours       float64             `json:"completed_core_hours"`
	TotalCarbonKgPerCoreHour float64             `json:"total_carbon_kg_per_core_hour"`
	LatencyMs                Percentiles         `json:"latency_ms"`
	Utilization              map[string]TierUtil `json:"utilization"`
	Targets                  Targets             `json:"targets"`
	Events                   []EventRecord       `json:"events"`
	Classes                  []ClassSummary      `json:"classes"`
	RejectReasons            map[string]int64    `json:"reject_reasons"`
	MeanWaitHours            float64             `json:"mean_wait_hours"`
	// PowerManagement is present when the scenario switches idle nodes off.
	PowerManagement *PowerStats `json:"power_management,omitempty"`
	EngineEvents    uint64      `json:"engine_events"`
	Timing          Timing      `json:"timing"`
}

// ExternalRun is the provenance of an external policy's run: the child
// process that made its decisions, as the simulator started it.
type ExternalRun struct {
	// Command is the program and its arguments.
	Command []string `json:"command"`
	// Dir is the child's working directory: the scenario file's for a
	// policy of its external_policies, absent for one of --external (the
	// simulator's own).
	Dir string `json:"dir,omitempty"`
	// Options are the options handed to the child in its hello ({}
	// without).
	Options map[string]any `json:"options"`
	// Protocol is the protocol version spoken (docs/external-policy.md).
	Protocol int `json:"protocol"`
	// TimeoutSeconds is how long the child could take per decision.
	TimeoutSeconds float64 `json:"timeout_seconds"`
}

// externalRun is the provenance of policy's run, nil for a built-in one.
func externalRun(specs map[string]external.Spec, policy string) *ExternalRun {
	name, ok := strings.CutPrefix(policy, external.Prefix)
	if !ok {
		return nil
	}
	spec, ok := specs[name]
	if !ok {
		return nil
	}
	opts := spec.Options
	if opts == nil {
		opts = map[string]any{}
	}
	t := spec.Timeout
	if t <= 0 {
		t = external.DefaultTimeout
	}
	return &ExternalRun{Command: append([]string(nil), spec.Command...), Dir: spec.Dir, Options: opts,
		Protocol: external.Version, TimeoutSeconds: t.Seconds()}
}

// PowerStats is what power management did: nodes switched off, woken
// again for work (each wake delays that work by the boot time), and the
// node-hours spent off.
type PowerStats struct {
	SwitchOffs   int64   `json:"switch_offs"`
	Wakeups      int64   `json:"wakeups"`
	OffNodeHours float64 `json:"off_node_hours"`
}

// WorkloadCounts counts workloads; Submitted = Completed + Rejected + InFlight.
type WorkloadCounts struct {
	Submitted         int64 `json:"submitted"`
	Placed            int64 `json:"placed"`
	Completed         int64 `json:"completed"`
	Rejected          int64 `json:"rejected"`
	InFlight          int64 `json:"in_flight"`
	LatencyViolations int64 `json:"latency_violations"`
	DeadlineMisses    int64 `json:"deadline_misses"`
	Deferrals         int64 `json:"deferrals"`
	Interrupted       int64 `json:"interrupted"`
	Preempted         int64 `json:"preempted,omitempty"`
	Decisions         int64 `json:"decisions"`
}

// EnergyMWh are the run's energy totals over all sites (docs/outputs.md).
type EnergyMWh struct {
	IT                  float64 `json:"it"`
	Facility            float64 `json:"facility"`
	RenewableGenerated  float64 `json:"renewable_generated"`
	RenewableUsed       float64 `json:"renewable_used"`
	Curtailed           float64 `json:"curtailed"`
	BatteryCharge       float64 `json:"battery_charge"`
	BatteryDischarge    float64 `json:"battery_discharge"`
	Grid                float64 `json:"grid"`
	Solar               float64 `json:"solar"`
	Wind                float64 `json:"wind"`
	Contract            float64 `json:"contract"`
	RenewableToFacility float64 `json:"renewable_to_facility"`
	BatteryGridCharge   float64 `json:"battery_grid_charge"`
	BatteryLoss         float64 `json:"battery_loss"`
}

// CostSplit divides the energy cost between grid energy and green-power
// contract energy.
type CostSplit struct {
	Grid     float64 `json:"grid"`
	Contract float64 `json:"contract"`
}

// EmbodiedSplit divides embodied carbon between servers (GPUs included)
// and batteries, in t CO2e.
type EmbodiedSplit struct {
	Servers   float64 `json:"servers"`
	Batteries float64 `json:"batteries"`
}

// Percentiles of a distribution.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// TierUtil is a tier's time-weighted allocated share of up capacity.
type TierUtil struct {
	CPU float64 `json:"cpu"`
	GPU float64 `json:"gpu"`
}

// Targets says whether the run met the policy targets.
type Targets struct {
	RenewableShareMin25pct bool `json:"renewable_share_min_25pct"`
	PUEMax125              bool `json:"pue_max_1_25"`
}

// ClassSummary is one class's counts and latency.
type ClassSummary struct {
	Class             string      `json:"class"`
	Submitted         int64       `json:"submitted"`
	Placed            int64       `json:"placed"`
	Completed         int64       `json:"completed"`
	Rejected          int64       `json:"rejected"`
	InFlight          int64       `json:"in_flight"`
	LatencyViolations int64       `json:"latency_violations"`
	DeadlineMisses    int64       `json:"deadline_misses"`
	LatencyMs         Percentiles `json:"latency_ms"`
}

// Timing is the only part of the summary that differs between two runs
// of the same scenario and seed.
type Timing struct {
	WallSeconds float64     `json:"wall_seconds"`
	DecisionNs  Percentiles `json:"decision_ns"`
}

func percentiles(h *Hist) Percentiles {
	return Percentiles{P50: h.Quantile(0.50), P95: h.Quantile(0.95), P99: h.Quantile(0.99)}
}

// NewSummary assembles summary.json from runs.
func NewSummary(m Meta, runs []Run) *Summary {
	s := &Summary{
		Scenario:       m.Scenario,
		ScenarioSHA256: m.ScenarioSHA256,
		Seed:           m.Seed,
		HorizonHours:   m.Horizon.Hours(),
		Start:          m.Start.Format(time.RFC3339),
		IntervalMin:    m.Interval.Minutes(),
		Sites:          m.Sites,
		Nodes:          m.Nodes,
		Scheduler:      m.Scheduler,
	}
	for _, r := range runs {
		e := &r.Energy
		p := PolicySummary{
			Policy:   r.Policy,
			External: externalRun(m.External, r.Policy),
			Workloads: WorkloadCounts{
				Submitted: r.Submitted, Placed: r.Placed, Completed: r.Completed, Rejected: r.Rejected, InFlight: r.InFlight,
				LatencyViolations: r.LatencyViolations, DeadlineMisses: r.DeadlineMisses,
				Deferrals: r.Deferrals, Interrupted: r.Interrupted, Preempted: r.Preempted, Decisions: r.Decisions,
			},
			EnergyMWh: EnergyMWh{
				IT: e.ITKWh / 1000, Facility: e.FacilityKWh / 1000,
				RenewableGenerated: e.RenewableGeneratedKWh / 1000, RenewableUsed: e.RenewableUsedKWh / 1000,
				Curtailed: e.CurtailedKWh / 1000, BatteryCharge: e.BatteryChargeKWh / 1000,
				BatteryDischarge: e.BatteryDischargeKWh / 1000, Grid: e.GridKWh / 1000,
				Solar: e.SolarKWh / 1000, Wind: e.WindKWh / 1000, Contract: e.ContractKWh / 1000,
				RenewableToFacility: e.RenewableToFacilityKWh / 1000, BatteryGridCharge: e.BatteryGridChargeKWh / 1000,
				BatteryLoss: e.BatteryLossKWh / 1000,
			},
			RenewableShare:       r.RenewableShare(),
			PUE:                  r.PUE(),
			CostCNY:              e.CostCNY,
			CostSplitCNY:         CostSplit{Grid: e.GridCostCNY, Contract: e.ContractCostCNY},
			CarbonT:              e.CarbonKg / 1000,
			EmbodiedCarbonT:      r.EmbodiedKg / 1000,
			EmbodiedCarbonSplitT: EmbodiedSplit{Servers: r.EmbodiedServersKg / 1000, Batteries: r.EmbodiedBatteriesKg / 1000},
			TotalCarbonT:         r.TotalCarbonKg() / 1000,
			CompletedCoreHours:   r.CompletedCoreHours,
			LatencyMs:            percentiles(r.latency),
			Utilization:          map[string]TierUtil{},
			Events:               r.Events,
			RejectReasons:        r.RejectReasons,
			MeanWaitHours:        r.MeanWaitHours,
			EngineEvents:         r.EventsProcessed,
			Timing:               Timing{WallSeconds: r.WallSeconds, DecisionNs: percentiles(r.decisionNs)},
		}
		if r.CompletedCoreHours > 0 {
			p.TotalCarbonKgPerCoreHour = r.TotalCarbonKg() / r.CompletedCoreHours
		}
		if p.Events == nil {
			p.Events = []EventRecord{}
		}
		if r.PowerManaged {
			p.PowerManagement = &PowerStats{SwitchOffs: r.SwitchOffs, Wakeups: r.Wakeups, OffNodeHours: r.OffNodeHours}
		}
		p.Targets.RenewableShareMin25pct = MeetsRenewableTarget(p.RenewableShare)
		p.Targets.PUEMax125 = MeetsPUETarget(p.PUE)
		for t := nodes.Tier(0); t < nodes.NumTiers; t++ {
			p.Utilization[t.String()] = TierUtil{CPU: r.CPUUtil[t], GPU: r.GPUUtil[t]}
		}
		for i := range r.Classes {
			c := &r.Classes[i]
			p.Classes = append(p.Classes, ClassSummary{
				Class: c.Name, Submitted: c.Submitted, Placed: c.Placed, Completed: c.Completed, Rejected: c.Rejected,
				InFlight: c.InFlight, LatencyViolations: c.LatencyViolations, DeadlineMisses: c.DeadlineMisses,
				LatencyMs: percentiles(c.latency),
			})
		}
		s.Policies = append(s.Policies, p)
	}
	return s
}

// WriteJSON writes the summary as indented JSON. A NaN or infinite figure
// is an error naming its field (nothing is written then).
func (s *Summary) WriteJSON(w io.Writer) error {
	if err := checkFinite(reflect.ValueOf(s), "summary"); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// TimeseriesHeader is the header line of timeseries.csv.
const TimeseriesHeader = "policy,time,hour,site,tier,it_kw,facility_kw,pue,solar_kw,wind_kw,contract_kw,renewable_used_kw,renewable_to_facility_kw,curtailed_kw,battery_charge_kw,battery_grid_charge_kw,battery_discharge_kw,battery_soc_kwh,grid_kw,price_cny_per_kwh,carbon_kg_per_kwh,cost_cny,carbon_kg,cpu_util,gpu_util,queue_length,embodied_carbon_kg\n"

// timeseriesColumns are the columns of timeseries.csv, in order.
var timeseriesColumns = strings.Split(strings.TrimSuffix(TimeseriesHeader, "\n"), ",")

// WriteTimeseries writes timeseries.csv: per policy, interval and site a
// row of mean powers over the interval (kW) and the interval's figures,
// then a row for the whole province (site "province"). A figure that is
// NaN or infinite (a bug upstream: the file would hold "NaN" where a
// number belongs) is an error naming the column, policy, site and
// interval; the rows before it may have been written to w.
func WriteTimeseries(w io.Writer, start time.Time, runs []Run, tiers []nodes.Tier) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(TimeseriesHeader)
	var b []byte
	bad := -1
	fail := func(policy, site string, iv *IntervalRow, ts string) error {
		return fmt.Errorf("timeseries.csv: policy %s, site %s, interval %s (hour %g): column %s is %s, which the file cannot hold as a number",
			policy, site, ts, iv.Start.Hours(), timeseriesColumns[bad], badValue(b))
	}
	for _, r := range runs {
		for k := range r.Intervals {
			iv := &r.Intervals[k]
			hrs := (iv.End - iv.Start).Hours()
			ts := start.Add(iv.Start).Format(time.RFC3339)
			var tot Balance
			var cpu, gpu, embodied float64
			for s := range iv.Sites {
				row := &iv.Sites[s]
				addBalance(&tot, &row.Balance)
				embodied += row.EmbodiedKg
				if b, bad = appendRow(b[:0], r.Policy, ts, iv.Start.Hours(), r.siteNames[s], tiers[s].String(), &row.Balance, hrs, row.CPUUtil, row.GPUUtil, row.Waiting, row.EmbodiedKg); bad >= 0 {
					return fail(r.Policy, r.siteNames[s], iv, ts)
				}
				bw.Write(b)
				cpu += row.CPUUtil
				gpu += row.GPUUtil
			}
			if tot.GridKWh > 0 {
				tot.PriceCNYPerKWh = tot.GridCostCNY / tot.GridKWh
				tot.CarbonKgPerKWh = tot.CarbonKg / tot.GridKWh
			}
			for s := range iv.Sites {
				tot.SoCKWh += iv.Sites[s].SoCKWh
			}
			n := float64(len(iv.Sites))
			if b, bad = appendRow(b[:0], r.Policy, ts, iv.Start.Hours(), "province", "all", &tot, hrs, cpu/n, gpu/n, iv.Waiting, embodied); bad >= 0 {
				return fail(r.Policy, "province", iv, ts)
			}
			bw.Write(b)
		}
	}
	return bw.Flush()
}

// badValue is the last value appended to a row: the one appendRow found
// not finite.
func badValue(b []byte) string {
	return string(b[strings.LastIndexByte(string(b), ',')+1:])
}

// appendRow appends one timeseries.csv row to b. It stops at the first
// figure that is NaN or infinite and returns its column index (else -1).
func appendRow(b []byte, policy, ts string, hour float64, site, tier string, x *Balance, hrs, cpu, gpu float64, queue int, embodiedKg float64) ([]byte, int) {
	col, bad := 2, -1 // policy and time come first
	f := func(v float64) {
		if bad >= 0 {
			return
		}
		b = append(b, ',')
		b = strconv.AppendFloat(b, v, 'f', 4, 64)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			bad = col
		}
		col++
		if col == 3 { // hour is followed by site and tier
			col = 5
		}
	}
	kw := func(kwh float64) float64 {
		if hrs <= 0 {
			return 0
		}
		return kwh / hrs
	}
	b = append(b, policy...)
	b = append(b, ',')
	b = append(b, ts...)
	f(hour)
	b = append(b, ',')
	b = append(b, site...)
	b = append(b, ',')
	b = append(b, tier...)
	pue := 0.0
	if x.ITKWh > 0 {
		pue = x.FacilityKWh / x.ITKWh
	}
	f(kw(x.ITKWh))
	f(kw(x.FacilityKWh))
	f(pue)
	f(kw(x.SolarKWh))
	f(kw(x.WindKWh))
	f(kw(x.ContractKWh))
	f(kw(x.RenewableUsedKWh))
	f(kw(x.RenewableToFacilityKWh))
	f(kw(x.CurtailedKWh))
	f(kw(x.BatteryChargeKWh))
	f(kw(x.BatteryGridChargeKWh))
	f(kw(x.BatteryDischargeKWh))
	f(x.SoCKWh)
	f(kw(x.GridKWh))
	f(x.PriceCNYPerKWh)
	f(x.CarbonKgPerKWh)
	f(x.CostCNY)
	f(x.CarbonKg)
	f(cpu)
	f(gpu)
	if bad >= 0 {
		return b, bad
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(queue), 10)
	col++ // queue_length
	if f(embodiedKg); bad >= 0 {
		return b, bad
	}
	return append(b, '\n'), -1
}

// WriteTable prints the comparison table planners read first.
func WriteTable(w io.Writer, s *Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\trenewable\t≥25%\tPUE\t≤1.25\tcost CNY\tcarbon t\tp95 ms\tlat viol\tddl miss\trejected\tin flight\tutil core\tutil cluster\tutil edge\t")
	for _, p := range s.Policies {
		fmt.Fprintf(tw, "%s\t%.1f%%\t%s\t%.3f\t%s\t%s\t%.1f\t%.2f\t%d\t%d\t%d\t%d\t%.0f%%\t%.0f%%\t%.0f%%\t\n",
			p.Policy, 100*p.RenewableShare, yesNo(p.Targets.RenewableShareMin25pct), p.PUE, yesNo(p.Targets.PUEMax125),
			groupThousands(p.CostCNY), p.CarbonT, p.LatencyMs.P95, p.Workloads.LatencyViolations, p.Workloads.DeadlineMisses,
			p.Workloads.Rejected, p.Workloads.InFlight,
			100*p.Utilization["core"].CPU, 100*p.Utilization["cluster"].CPU, 100*p.Utilization["edge"].CPU)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeEmbodiedNote(w, s)
}

// writeEmbodiedNote prints, under the table, the embodied carbon that the
// carbon column (operational) leaves out. It is a line rather than a
// column: the table is already 15 columns wide, and embodied carbon
// depends on the hardware, not the policy, so one figure serves every row
// (a run whose policies differ in it lists each).
func writeEmbodiedNote(w io.Writer, s *Summary) error {
	if len(s.Policies) == 0 {
		return nil
	}
	first := s.Policies[0]
	same := true
	for _, p := range s.Policies[1:] {
		same = same && p.EmbodiedCarbonT == first.EmbodiedCarbonT
	}
	if same && first.EmbodiedCarbonT == 0 {
		return nil
	}
	var err error
	if same {
		_, err = fmt.Fprintf(w, "embodied carbon %s t (servers %s t, batteries %s t) for every policy; total carbon = carbon t + %s t\n",
			tonnes(first.EmbodiedCarbonT), tonnes(first.EmbodiedCarbonSplitT.Servers), tonnes(first.EmbodiedCarbonSplitT.Batteries), tonnes(first.EmbodiedCarbonT))
		return err
	}
	for _, p := range s.Policies {
		if _, err = fmt.Fprintf(w, "%s: embodied carbon %s t, total carbon %s t\n", p.Policy, tonnes(p.EmbodiedCarbonT), tonnes(p.TotalCarbonT)); err != nil {
			return err
		}
	}
	return nil
}

// tonnes formats t CO2e as the table does (one decimal), with two
// significant digits below 1 t, so a small province's figures are not 0.0.
func tonnes(t float64) string {
	if math.Abs(t) < 1 && t != 0 {
		return strconv.FormatFloat(t, 'g', 2, 64)
	}
	return strconv.FormatFloat(t, 'f', 1, 64)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func groupThousands(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// WriteOutputs writes summary.json, timeseries.csv and report.html into
// dir, atomically as a set (WriteFilesAtomic): a failure leaves the
// previous files (or none) and no partial ones.
func WriteOutputs(dir string, cfg *Config, m Meta, runs []Run) (*Summary, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sim: outputs: %w", err)
	}
	if m.Scheduler == nil {
		ss := cfg.SchedulerSettings()
		m.Scheduler = &ss
	}
	s := NewSummary(m, runs)
	tiers := make([]nodes.Tier, len(cfg.Topology.Sites))
	for i, site := range cfg.Topology.Sites {
		tiers[i] = site.Tier
	}
	err := WriteFilesAtomic(
		[]string{filepath.Join(dir, "summary.json"), filepath.Join(dir, "timeseries.csv"), filepath.Join(dir, "report.html")},
		[]func(io.Writer) error{
			s.WriteJSON,
			func(w io.Writer) error { return WriteTimeseries(w, m.Start, runs, tiers) },
			func(w io.Writer) error { return WriteReport(w, cfg, m, s, runs) },
		})
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	return s, nil
}
