package sim

import (
	"strconv"
	"time"
	"unsafe"

	"github.com/suanli/suanli/nodes"
)

// IntervalRow is one accounting interval of a run.
type IntervalRow struct {
	Start, End time.Duration // since the run's start
	Sites      []SiteRow
	// Waiting is the work waiting province-wide at the interval's end:
	// queued for capacity or deferred to a later time.
	Waiting int
}

// SiteRow is one site's figures over one interval.
type SiteRow struct {
	Balance
	// CPUUtil and GPUUtil are the time-weighted allocated shares of the
	// site's up CPU and GPU capacity.
	CPUUtil, GPUUtil float64
	// Waiting is the deferred work whose expected site is this one.
	Waiting int
	// EmbodiedKg is the embodied carbon the site's hardware accrued over
	// the interval (Config.Embodied).
	EmbodiedKg float64
}

// EventRecord is a scenario event as it happened in a run.
type EventRecord struct {
	Kind       string  `json:"kind"`
	Name       string  `json:"name,omitempty"`
	StartHours float64 `json:"start_h"`
	EndHours   float64 `json:"end_h"`
	// NodesDown is how many nodes an outage took down; Interrupted how
	// many running workloads it stopped (and re-decided).
	NodesDown   int   `json:"nodes_down"`
	Interrupted int64 `json:"interrupted"`
}

// ClassResult is the outcome of one workload class.
type ClassResult struct {
	Name              string
	Submitted         int64
	Placed            int64
	Completed         int64
	Rejected          int64
	InFlight          int64
	LatencyViolations int64
	DeadlineMisses    int64
	latency           *Hist
}

// Latency returns the class's latency histogram (ms, at first placement).
func (c *ClassResult) Latency() *Hist { return c.latency }

type tierAcc struct{ cpuNs, cpuCapNs, gpuNs, gpuCapNs float64 }

// Result is what one policy's run produced.
type Result struct {
	Policy   string
	Scenario string
	Seed     uint64
	Horizon  time.Duration

	Submitted, Placed, Completed, Rejected, InFlight int64
	LatencyViolations, DeadlineMisses                int64
	// Deferrals counts Defer decisions; Interrupted counts running work
	// stopped by outages; Decisions counts calls to the core.
	Deferrals, Interrupted, Decisions int64
	// EventsProcessed is how many engine events the run handled.
	EventsProcessed uint64
	// SwitchOffs and Wakeups count nodes switched off and woken again by
	// power management (Config.Power); OffNodeHours is the node-hours
	// nodes spent off.
	SwitchOffs, Wakeups int64
	// Preempted counts running work evicted for higher-priority work.
	Preempted    int64
	OffNodeHours float64
	// PowerManaged is true when the run switched idle nodes off.
	PowerManaged bool

	// Energy totals over the run, in kWh, summed over sites.
	Energy Balance
	// EmbodiedServersKg and EmbodiedBatteriesKg are the embodied carbon
	// the servers (GPUs included) and the batteries accrued over the run,
	// summed over sites; EmbodiedKg is their sum.
	EmbodiedKg, EmbodiedServersKg, EmbodiedBatteriesKg float64
	// CompletedCoreHours is the work completed before the horizon, in
	// core-hours: each completed workload's cores times its run time.
	CompletedCoreHours float64
	// SiteEnergy holds the same totals per site.
	SiteEnergy []Balance
	// Intervals holds the per-interval, per-site records.
	Intervals []IntervalRow
	Events    []EventRecord
	Classes   []ClassResult
	// Utilization per tier (by nodes.Tier): time-weighted allocated share
	// of up CPU and GPU capacity.
	CPUUtil, GPUUtil [nodes.NumTiers]float64
	// MeanWaitHours is the mean wait from arrival to first start of the
	// work that ran.
	MeanWaitHours float64
	// RejectReasons counts rejections by reason (a core filter, or
	// "expired" for work whose patience or deadline ran out waiting).
	RejectReasons map[string]int64

	classes       []ClassResult
	tiers         [nodes.NumTiers]tierAcc
	latency       *Hist
	decisionNs    *Hist
	rejectReasons map[string]int64
	waitHours     float64
	offNs         float64
	coreMilliNs   float64 // completed work: millicores × ns
	siteNames     []string
}

// Latency returns the latency histogram of all placed work (ms).
func (r *Result) Latency() *Hist { return r.latency }

// DecisionNs returns the histogram of wall-clock decision times (ns); it
// is empty unless Options.Clock was set.
func (r *Result) DecisionNs() *Hist { return r.decisionNs }

// SiteNames are the site ids, by index.
func (r *Result) SiteNames() []string { return r.siteNames }

func newLatencyHist() *Hist { return NewHist(0.01, 20) } // 10 µs … 10 s

func newResult(c *Config, policy string) *Result {
	r := &Result{
		Policy:        policy,
		Scenario:      c.Name,
		Seed:          c.Seed,
		Horizon:       c.Horizon,
		classes:       make([]ClassResult, len(c.Classes)),
		latency:       newLatencyHist(),
		decisionNs:    NewHist(10, 30),
		rejectReasons: map[string]int64{},
		SiteEnergy:    make([]Balance, len(c.Topology.Sites)),
		PowerManaged:  c.Power.IdleOffAfter > 0,
	}
	for i := range r.classes {
		r.classes[i].Name = c.Classes[i].Name
		r.classes[i].latency = newLatencyHist()
	}
	for _, s := range c.Topology.Sites {
		r.siteNames = append(r.siteNames, s.ID)
	}
	return r
}

// addBalance adds the energies and money of b to t (prices and the state
// of charge are not summed).
func addBalance(t, b *Balance) {
	t.ITKWh += b.ITKWh
	t.FacilityKWh += b.FacilityKWh
	t.SolarKWh += b.SolarKWh
	t.WindKWh += b.WindKWh
	t.ContractKWh += b.ContractKWh
	t.RenewableGeneratedKWh += b.RenewableGeneratedKWh
	t.RenewableUsedKWh += b.RenewableUsedKWh
	t.RenewableDirectKWh += b.RenewableDirectKWh
	t.RenewableToFacilityKWh += b.RenewableToFacilityKWh
	t.CurtailedKWh += b.CurtailedKWh
	t.ContractUsedKWh += b.ContractUsedKWh
	t.BatteryChargeKWh += b.BatteryChargeKWh
	t.BatteryGridChargeKWh += b.BatteryGridChargeKWh
	t.BatteryDischargeKWh += b.BatteryDischargeKWh
	t.BatteryLossKWh += b.BatteryLossKWh
	t.GridKWh += b.GridKWh
	t.GridCostCNY += b.GridCostCNY
	t.ContractCostCNY += b.ContractCostCNY
	t.CostCNY += b.CostCNY
	t.CarbonKg += b.CarbonKg
}

func (r *Result) addBalance(site int, b *Balance) {
	addBalance(&r.Energy, b)
	s := &r.SiteEnergy[site]
	addBalance(s, b)
	s.SoCKWh = b.SoCKWh
}

func (r *Result) finalize(events uint64) {
	r.EventsProcessed = events
	r.OffNodeHours = r.offNs / float64(hourNs)
	r.CompletedCoreHours = r.coreMilliNs / 1000 / float64(hourNs)
	r.EmbodiedKg = r.EmbodiedServersKg + r.EmbodiedBatteriesKg
	for t := range r.tiers {
		a := &r.tiers[t]
		if a.cpuCapNs > 0 {
			r.CPUUtil[t] = a.cpuNs / a.cpuCapNs
		}
		if a.gpuCapNs > 0 {
			r.GPUUtil[t] = a.gpuNs / a.gpuCapNs
		}
	}
	if r.Placed > 0 {
		r.MeanWaitHours = r.waitHours / float64(r.Placed)
	}
	if r.Energy.GridKWh > 0 {
		r.Energy.PriceCNYPerKWh = r.Energy.GridCostCNY / r.Energy.GridKWh
		r.Energy.CarbonKgPerKWh = r.Energy.CarbonKg / r.Energy.GridKWh
	}
	r.Classes = r.classes
	r.RejectReasons = r.rejectReasons
}

// RenewableShare is the renewable energy that reached the facility
// (directly or out of the battery) over facility energy (0 when no energy
// was used).
func (r *Result) RenewableShare() float64 {
	if r.Energy.FacilityKWh <= 0 {
		return 0
	}
	return r.Energy.RenewableToFacilityKWh / r.Energy.FacilityKWh
}

// TotalCarbonKg is operational (grid) plus embodied carbon, kg CO2e.
func (r *Result) TotalCarbonKg() float64 { return r.Energy.CarbonKg + r.EmbodiedKg }

// PUE is facility energy over IT energy over the whole run.
func (r *Result) PUE() float64 {
	if r.Energy.ITKWh <= 0 {
		return 0
	}
	return r.Energy.FacilityKWh / r.Energy.ITKWh
}

// traceRec writes one trace line for a record that leaves the run (or is
// still in it at the horizon).
func (r *Runner) traceRec(slot int32, outcome, detail string) {
	if r.trace == nil {
		return
	}
	rec := &r.recs[slot]
	c := &r.cfg.Classes[rec.class]
	b := r.tbuf[:0]
	b = append(b, r.policy...)
	b = append(b, ',')
	b = append(b, c.Name...)
	b = append(b, '-')
	b = strconv.AppendInt(b, rec.seq, 10)
	b = append(b, ',')
	b = append(b, c.Name...)
	b = append(b, ',')
	b = append(b, r.cfg.Cities[rec.origin].Code...)
	b = append(b, ',')
	b = strconv.AppendFloat(b, float64(rec.arrival)/1e9, 'f', 3, 64)
	b = append(b, ',')
	if rec.placed {
		b = strconv.AppendFloat(b, float64(rec.started)/1e9, 'f', 3, 64)
	}
	b = append(b, ',')
	if outcome == "completed" {
		b = strconv.AppendFloat(b, float64(rec.end)/1e9, 'f', 3, 64)
	}
	b = append(b, ',')
	if rec.placed && rec.site >= 0 {
		b = append(b, r.cfg.Topology.Sites[rec.site].ID...)
	}
	b = append(b, ',')
	if rec.placed && rec.node >= 0 {
		b = append(b, r.cfg.Topology.Nodes[rec.node].ID...)
	}
	b = append(b, ',')
	b = append(b, outcome...)
	b = append(b, ',')
	b = append(b, detail...)
	b = append(b, ',')
	if rec.placed {
		b = strconv.AppendFloat(b, rec.latency, 'f', 3, 64)
	}
	b = append(b, ',')
	if rec.deadline > 0 {
		b = strconv.AppendFloat(b, float64(rec.deadline)/1e9, 'f', 3, 64)
	}
	b = append(b, ',')
	b = strconv.AppendBool(b, rec.late)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(rec.attempts), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(rec.interr), 10)
	b = append(b, '\n')
	r.tbuf = b
	if _, err := r.trace.Write(b); err != nil && r.err == nil {
		r.err = err
	}
}

// TraceHeader is the header line of trace.csv.
const TraceHeader = "policy,id,class,origin,arrival_s,start_s,end_s,site,node,outcome,detail,latency_ms,deadline_s,late,decisions,interruptions\n"

// idArena makes workload ids without an allocation per id: they are cut
// from large byte blocks that are never written again once used.
type idArena struct{ buf []byte }

func (a *idArena) make(class string, seq int64) string {
	need := len(class) + 21
	if cap(a.buf)-len(a.buf) < need {
		a.buf = make([]byte, 0, max(need, 32<<10))
	}
	start := len(a.buf)
	a.buf = append(a.buf, class...)
	a.buf = append(a.buf, '-')
	a.buf = strconv.AppendInt(a.buf, seq, 10)
	b := a.buf[start:]
	return unsafe.String(&b[0], len(b))
}
