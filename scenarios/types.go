package scenarios

import (
	"fmt"
	"reflect"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/suanli/suanli/nodes"
)

// Scenario is one scenario file, decoded, validated and resolved: defaults
// are filled, site groups are expanded into Sites, and every workload's
// arrival process is resolved into a rate per origin city.
//
// The yaml tags are the file's field names (docs/scenario-format.md).
// Fields tagged yaml:"-" are computed by the loader.
type Scenario struct {
	// Name identifies the scenario in outputs; required.
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`
	// Seed derives every random stream of a run (default 1).
	Seed uint64 `yaml:"seed"`
	// Start is the simulated start time, RFC 3339 with an offset; its
	// offset is the local time of tariffs and arrival shapes (default
	// 2025-04-07T00:00:00+08:00, a Monday in spring).
	Start time.Time `yaml:"start"`
	// Horizon is how long a run lasts; required, at most 366 days.
	Horizon Duration `yaml:"horizon"`
	// Interval is the energy accounting and timeseries step (default
	// 15m); it divides Horizon and is at most 1 day.
	Interval Duration `yaml:"interval"`
	// Policies are the scheduling policies compared when the command line
	// names none; at least one, no duplicates.
	Policies []string `yaml:"policies"`
	// ExternalPolicies are placement algorithms run as child processes
	// (docs/external-policy.md), which Policies may name as
	// "external:NAME"; in file order.
	ExternalPolicies ExternalPolicies `yaml:"external_policies,omitempty"`
	// Classes adds workload class names to the built-in ones
	// (BuiltinClasses).
	Classes []string `yaml:"classes,omitempty"`
	Network Network  `yaml:"network"`
	Grid    Grid     `yaml:"grid"`
	// PowerManagement switches idle servers off; by default they stay on.
	PowerManagement PowerManagement `yaml:"power_management"`
	// Preemption lets work that finds no room evict running work of a
	// lower priority (workloads' priority), which is placed again
	// (default false).
	Preemption bool `yaml:"preemption"`
	// Scheduler tunes the scheduling core: balanced's scorer weights, how
	// many nodes the best-fit choice compares, and when the window
	// policies and the optimizer defer work.
	Scheduler Scheduler `yaml:"scheduler"`
	// NodeTypes are the server models, in file order.
	NodeTypes NodeTypes `yaml:"node_types"`
	// Sites are the explicit sites followed by those generated from
	// SiteGroups (in group order, then city order).
	Sites      []Site      `yaml:"sites" key:"id"`
	SiteGroups []SiteGroup `yaml:"site_groups,omitempty" key:"id_prefix,id_suffix"`
	// Shapes are named arrival-rate shapes, in file order.
	Shapes    Shapes     `yaml:"shapes,omitempty"`
	Workloads []Workload `yaml:"workloads" key:"name,class"`
	Events    []Event    `yaml:"events,omitempty"`

	// Cities are the origin cities; every per-city slice (rates, weights)
	// and every origin index is in this order (nodes.ShandongCities()).
	Cities []nodes.City `yaml:"-"`
	// File is the path (or name) the scenario was loaded from; Dir is the
	// directory relative file names in it are resolved against.
	File string `yaml:"-"`
	Dir  string `yaml:"-"`
	// SHA256 is the hex SHA-256 of the raw file bytes followed, for each
	// override in Sets, by "\n--set " and the override.
	SHA256 string   `yaml:"-"`
	Sets   []string `yaml:"-"`
}

// Network configures the latency model between origin cities and sites
// (nodes.LatencyModel), the jitter added to it and the bandwidth used to
// move input data.
type Network struct {
	FiberMicrosPerKm float64 `yaml:"fiber_us_per_km"`
	RouteFactor      float64 `yaml:"route_factor"`
	HopMs            float64 `yaml:"hop_ms"`
	BaseHops         int     `yaml:"base_hops"`
	KmPerHop         float64 `yaml:"km_per_hop"`
	AccessMs         float64 `yaml:"access_ms"`
	// JitterMeanMs is the mean of the exponential jitter added to a
	// workload's RTT (default 0.1 ms).
	JitterMeanMs float64 `yaml:"jitter_mean_ms"`
	// BandwidthGbps is the bandwidth for moving input data into a site of
	// each tier; a site's bandwidth_gbps overrides it.
	BandwidthGbps TierBandwidth `yaml:"bandwidth_gbps"`
}

// TierBandwidth is a bandwidth per tier in Gbit/s.
type TierBandwidth struct {
	Core    float64 `yaml:"core"`
	Cluster float64 `yaml:"cluster"`
	Edge    float64 `yaml:"edge"`
}

// Of returns the bandwidth of tier t.
func (b TierBandwidth) Of(t nodes.Tier) float64 {
	switch t {
	case nodes.TierCore:
		return b.Core
	case nodes.TierCluster:
		return b.Cluster
	}
	return b.Edge
}

func (n *Network) setDefaults() {
	m := nodes.DefaultLatencyModel()
	*n = Network{
		FiberMicrosPerKm: m.FiberMicrosPerKm,
		RouteFactor:      m.RouteFactor,
		HopMs:            m.HopMs,
		BaseHops:         m.BaseHops,
		KmPerHop:         m.KmPerHop,
		AccessMs:         m.AccessMs,
		JitterMeanMs:     0.1,
		BandwidthGbps:    TierBandwidth{Core: 100, Cluster: 100, Edge: 10},
	}
}

// PowerManagement switches servers with nothing allocated off after a
// while and wakes them when work is placed on them, as data centres do to
// save idle power (a node's idle draw is often half its peak). It applies
// to every site. The policies do not see it: consolidating ones (binpack,
// first-fit) leave more servers idle long enough to switch off.
type PowerManagement struct {
	// IdleOffAfter is how long a node must have nothing allocated before
	// it is switched off; 0 (the default) keeps every node on.
	IdleOffAfter Duration `yaml:"idle_off_after"`
	// OffW is what a switched-off node still draws (management controller,
	// standby supply), in W (default 10).
	OffW float64 `yaml:"off_w"`
	// Wake is how long an off node takes to boot when work is placed on
	// it: the work starts that much later (default 2m). The node draws its
	// loaded power from the moment it is woken.
	Wake Duration `yaml:"wake"`
	// KeepOn is how many idle nodes each site keeps on as a warm pool, so
	// arriving work need not wait for a boot (default 1).
	KeepOn int `yaml:"keep_on"`
}

func (p *PowerManagement) setDefaults() {
	*p = PowerManagement{OffW: 10, Wake: Duration(2 * time.Minute), KeepOn: 1}
}

// Scheduler tunes the scheduling core (scheduler.Config) for every
// policy of a run. The defaults are the core's own
// (DefaultDeferSlackFraction is scheduler.DefaultDeferSlackFraction, which
// a test in sim holds equal).
type Scheduler struct {
	// Weights are the scorer weights of the balanced policy (and of the
	// optimizer for the work it places as balanced: services and work
	// without a deadline). The other scored policies keep theirs: each is
	// defined by its one objective. Each weight is in [0, 1000] and at
	// least one is > 0; terms are normalised to [0, 1], so only the
	// ratios matter. Defaults: latency 1, cost 1, carbon 1, binpack 0.5,
	// spread 0.1.
	Weights ScorerWeights `yaml:"weights"`
	// NodeCandidates is how many fitting nodes the best-fit (and
	// worst-fit) node choice compares inside the chosen site, [1, 32]
	// (default 4).
	NodeCandidates int `yaml:"node_candidates"`
	// DeferThreshold is how much lower (as a fraction of starting now)
	// the carbon or price of a later window must be before carbon-window
	// or price-window defers work, [0, 1] (default 0.1; 0 defers for any
	// gain, 1 never defers).
	DeferThreshold float64 `yaml:"defer_threshold"`
	// DeferSlack is how long before its latest start a deferred start
	// must lie, for the window policies and the optimizer, [0, 7d]
	// (default one forecast step, Forecast.Step: 1h; 0: none).
	DeferSlack Duration `yaml:"defer_slack"`
	// DeferSlackFraction raises the slack of work to at least this
	// fraction of the run time one interruption can cost it (what is left
	// of it, or one checkpoint period), [0, 10] (default 1; 0: DeferSlack
	// alone; see docs/scenario-format.md).
	DeferSlackFraction float64 `yaml:"defer_slack_fraction"`
	// Optimizer tunes the optimizer policy's plan and binder
	// (optimize.Options); the other policies do not read it.
	Optimizer Optimizer `yaml:"optimizer"`
	// Forecast is the forecast of price, carbon and renewable headroom
	// the window policies and the optimizer see: its step and how far it
	// reaches (default hourly over 48 hours).
	Forecast Forecast `yaml:"forecast"`
}

// Optimizer tunes the optimizer policy (package scheduler/optimize,
// Options). The defaults are the optimizer's own; a 0 means none, as in
// the rest of the scheduler block (the simulator writes it as the
// optimizer's negative value).
type Optimizer struct {
	// Tolerance: the optimizer runs deadline work now when that costs at
	// most (1 + Tolerance) times its cheapest later start with budget in
	// the plan, [0, 10] (default 0.05; 0: it defers for any gain).
	Tolerance float64 `yaml:"tolerance"`
	// RecoveryHours is over how many hours the plan counts on the cores
	// busy now becoming free again for deferrable work, [0, 168] (default
	// 4; 0: never, the plan uses the cores free now only).
	RecoveryHours float64 `yaml:"recovery_hours"`
	// ReplanShare is how much deferrable demand, as a share of the demand
	// the current plan was made for, new work may add (each new workload
	// filled into what the plan left) before the next new workload brings
	// a full plan within the hour, [0, 10] (default 0.5; 0: every new
	// workload brings a full plan). A new forecast step always does.
	ReplanShare float64 `yaml:"replan_share"`
	// CarbonWeight and PriceWeight weigh normalised grid carbon intensity
	// and price in the plan's cost of a core-hour, each [0, 1000], at
	// least one > 0 (defaults 1 and 1).
	CarbonWeight float64 `yaml:"carbon_weight"`
	PriceWeight  float64 `yaml:"price_weight"`
	// Utilization is the share of a site's cores the plan may give
	// deferrable work, leaving the rest for services, (0, 1] (default
	// 0.8).
	Utilization float64 `yaml:"utilization"`
}

// Forecast shapes the forecast the simulator gives the scheduling core
// at every accounting interval: Horizon/Step slots of Step each.
type Forecast struct {
	// Step is the length of one forecast slot, [5m, 6h] (default 1h);
	// window policies and the optimizer defer to slot starts.
	Step Duration `yaml:"step"`
	// Horizon is how far the forecast reaches, [step, 7d], a whole number
	// of steps and at most MaxForecastSteps of them (default 48h); no
	// policy defers work beyond it.
	Horizon Duration `yaml:"horizon"`
}

// Steps is the number of forecast slots (Horizon/Step).
func (f Forecast) Steps() int {
	if f.Step <= 0 {
		return 0
	}
	return int(f.Horizon / f.Step)
}

// Limits of the forecast block. MaxForecastSteps bounds the slots: the
// optimizer's plan costs O(sites · steps²) and is made at every step.
const (
	MinForecastStep  = 5 * time.Minute
	MaxForecastStep  = 6 * time.Hour
	MaxForecastReach = 7 * 24 * time.Hour
	MaxForecastSteps = 672
)

// ScorerWeights weigh the scheduling core's scoring terms (scheduler.Scorer
// names).
type ScorerWeights struct {
	Latency float64 `yaml:"latency"`
	Cost    float64 `yaml:"cost"`
	Carbon  float64 `yaml:"carbon"`
	BinPack float64 `yaml:"binpack"`
	Spread  float64 `yaml:"spread"`
}

// DefaultScheduler is the scheduler block of a scenario that has none.
func DefaultScheduler() Scheduler {
	return Scheduler{
		Weights:            ScorerWeights{Latency: 1, Cost: 1, Carbon: 1, BinPack: 0.5, Spread: 0.1},
		NodeCandidates:     4,
		DeferThreshold:     0.1,
		DeferSlack:         Duration(time.Hour),
		DeferSlackFraction: DefaultDeferSlackFraction,
		Optimizer: Optimizer{Tolerance: 0.05, RecoveryHours: 4, ReplanShare: 0.5,
			CarbonWeight: 1, PriceWeight: 1, Utilization: 0.8},
		Forecast: Forecast{Step: Duration(time.Hour), Horizon: Duration(48 * time.Hour)},
	}
}

// DefaultDeferSlackFraction is the default scheduler.defer_slack_fraction:
// a deferred start keeps the run time one interruption can cost as slack,
// which removed the window policies' deadline misses in core-outage.yaml
// for a small carbon and cost penalty (docs/ARCHITECTURE.md, Deferral
// slack).
const DefaultDeferSlackFraction float64 = 1

func (s *Scheduler) setDefaults() { *s = DefaultScheduler() }

// LatencyModel returns the network's latency model.
func (n Network) LatencyModel() nodes.LatencyModel {
	return nodes.LatencyModel{
		FiberMicrosPerKm: n.FiberMicrosPerKm,
		RouteFactor:      n.RouteFactor,
		HopMs:            n.HopMs,
		BaseHops:         n.BaseHops,
		KmPerHop:         n.KmPerHop,
		AccessMs:         n.AccessMs,
	}
}

// Grid is the public grid every site draws from.
type Grid struct {
	// CarbonKgPerKWh is the mean location-based carbon intensity (default
	// 0.6191, Shandong 2023).
	CarbonKgPerKWh float64 `yaml:"carbon_kg_per_kwh"`
	// CarbonShape is how the intensity varies in time (default shandong).
	CarbonShape CarbonShape `yaml:"carbon_shape"`
	// MarginalCarbonKgPerKWh values shifted load (default 0.83).
	MarginalCarbonKgPerKWh float64 `yaml:"marginal_carbon_kg_per_kwh"`
	Tariff                 Tariff  `yaml:"tariff"`
}

func (g *Grid) setDefaults() {
	*g = Grid{
		CarbonKgPerKWh:         0.6191,
		CarbonShape:            CarbonShape{Kind: "shandong"},
		MarginalCarbonKgPerKWh: 0.83,
	}
	g.Tariff.setDefaults()
}

// CarbonShape names the time profile of grid carbon intensity: "flat",
// "shandong" (the assumed hourly shape of shandong-facts.md §5.2, mean
// kept), or "trace" with Series set (file syntax: {csv: ..., column: ...}).
type CarbonShape struct {
	Kind   string
	Series *Series
}

// CarbonShapeNames are the accepted named shapes.
var CarbonShapeNames = []string{"flat", "shandong"}

func (c *CarbonShape) decodeYAML(d *decoder, n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !contains(CarbonShapeNames, n.Value) {
			d.c.at(n, path, fmt.Sprintf("unknown carbon shape %q", clip(n.Value)), append(CarbonShapeNames, "{csv: FILE, column: NAME}")...)
			return
		}
		*c = CarbonShape{Kind: n.Value}
	case yaml.MappingNode:
		s := &Series{}
		s.setDefaults()
		s.Normalize = "mean"
		d.decode(n, reflect.ValueOf(s).Elem(), path, nil)
		*c = CarbonShape{Kind: "trace", Series: s}
	default:
		d.typeErr(n, path, "flat, shandong or {csv: FILE, column: NAME}")
	}
}

// MarshalYAML writes the shape in file syntax.
func (c CarbonShape) MarshalYAML() (any, error) {
	if c.Kind == "trace" && c.Series != nil {
		return c.Series, nil
	}
	return c.Kind, nil
}

// Series selects one column of a CSV time series: solar or wind output, or
// grid carbon intensity.
type Series struct {
	// CSV is the file, relative to the scenario file.
	CSV string `yaml:"csv"`
	// Column is the header name of the value column.
	Column string `yaml:"column"`
	// Normalize scales the raw values: none, max (peak = 1) or mean
	// (mean = 1). Default max for solar and wind (then multiplied by the
	// capacity), mean for carbon (then multiplied by carbon_kg_per_kwh).
	Normalize string `yaml:"normalize"`
	// Anchor is the simulated time the first row stands for; needed when
	// the time column holds seconds from the start.
	Anchor *time.Time `yaml:"anchor,omitempty"`
}

func (s *Series) setDefaults() { s.Normalize = "max" }

// NormalizeNames are the accepted Series.Normalize values.
var NormalizeNames = []string{"none", "max", "mean"}

// Tariff is the grid's time-of-use price:
// price = FixedCNYPerKWh + multiplier(period) × EnergyCNYPerKWh.
type Tariff struct {
	// FixedCNYPerKWh is the part that does not vary (default 0.133).
	FixedCNYPerKWh float64 `yaml:"fixed_cny_per_kwh"`
	// EnergyCNYPerKWh is the energy part the multipliers scale (default
	// 0.481).
	EnergyCNYPerKWh float64 `yaml:"energy_cny_per_kwh"`
	// Table names a built-in period table: shandong-2024 (default) or
	// flat. Exactly one of Table and CSV is set.
	Table string `yaml:"table,omitempty"`
	// CSV is a period table file in the format of
	// ../shared/data/shandong/tou-tariff.csv.
	CSV string `yaml:"csv,omitempty"`
}

func (t *Tariff) setDefaults() {
	*t = Tariff{FixedCNYPerKWh: 0.133, EnergyCNYPerKWh: 0.481, Table: "shandong-2024"}
}

// TariffTables are the built-in period tables.
var TariffTables = []string{"shandong-2024", "flat"}

// NodeType is a server model.
type NodeType struct {
	// Name is the key under node_types.
	Name      string  `yaml:"-"`
	CPUCores  float64 `yaml:"cpu_cores"`
	MemoryGiB float64 `yaml:"memory_gib"`
	GPUs      float64 `yaml:"gpus"`
	Power     Power   `yaml:"power"`
	// EmbodiedKg is the manufacturing footprint of one server without
	// its GPUs, in kg CO2e (default DefaultServerEmbodiedKg);
	// EmbodiedKgPerGPU that of each GPU (default DefaultGPUEmbodiedKg).
	// Both are amortised over LifetimeYears (default
	// DefaultServerLifetimeYears): a server accrues
	// (EmbodiedKg + GPUs·EmbodiedKgPerGPU)/LifetimeYears per year of the
	// run, on, off, idle or down (docs/energy-model.md, embodied carbon).
	EmbodiedKg       float64 `yaml:"embodied_kg"`
	EmbodiedKgPerGPU float64 `yaml:"embodied_kg_per_gpu"`
	LifetimeYears    float64 `yaml:"lifetime_years"`
}

// Embodied-carbon defaults: published figures, marked as assumptions in
// docs/energy-model.md (embodied carbon), where their sources are given.
const (
	// DefaultServerEmbodiedKg is a 2-socket rack server's manufacturing
	// footprint, kg CO2e.
	DefaultServerEmbodiedKg = 1300
	// DefaultGPUEmbodiedKg is one data-centre GPU's, kg CO2e.
	DefaultGPUEmbodiedKg = 300
	// DefaultServerLifetimeYears is the service life servers (and their
	// GPUs) are amortised over.
	DefaultServerLifetimeYears = 4
	// DefaultBatteryEmbodiedKgPerKWh is a stationary Li-ion battery's
	// manufacturing footprint per kWh of capacity, kg CO2e.
	DefaultBatteryEmbodiedKgPerKWh = 100
	// DefaultBatteryLifetimeYears is the service life batteries are
	// amortised over.
	DefaultBatteryLifetimeYears = 10
	// HoursPerYear is the year of the lifetimes (365 days).
	HoursPerYear = 8760
)

// EmbodiedKgPerHour is the embodied carbon one server of the type accrues
// per hour, kg CO2e: its footprint (GPUs included) over its lifetime.
func (t *NodeType) EmbodiedKgPerHour() float64 {
	if t.LifetimeYears <= 0 {
		return 0
	}
	return (t.EmbodiedKg + t.GPUs*t.EmbodiedKgPerGPU) / (t.LifetimeYears * HoursPerYear)
}

// Resources is the node type's capacity.
func (t *NodeType) Resources() nodes.Resources {
	return nodes.Resources{CPUMilli: milli(t.CPUCores), MemoryMiB: mib(t.MemoryGiB), GPUMilli: milli(t.GPUs)}
}

// Power is a server's wall power as a function of utilisation: linear from
// IdleW to PeakW, or piecewise linear through CurveW (11 points at 0, 10,
// ..., 100 %), or a SPECpower row (SpecPower names the model in File, a
// CSV like ../shared/data/power/specpower.csv; PeakW, when given, scales
// the row so its 100 % point equals PeakW). After loading, IdleW and PeakW
// are always set, and CurveW is set for curves and SPECpower rows.
type Power struct {
	IdleW     float64   `yaml:"idle_w"`
	PeakW     float64   `yaml:"peak_w"`
	CurveW    []float64 `yaml:"curve_w,omitempty"`
	SpecPower string    `yaml:"specpower,omitempty"`
	File      string    `yaml:"file,omitempty"`
	// GPUPowerShare is the share of a GPU server's dynamic power that
	// follows its GPU use (the rest follows CPU use; default 0.9).
	GPUPowerShare float64 `yaml:"gpu_power_share"`
}

// NodeTypes is the ordered node_types mapping.
type NodeTypes []NodeType

// Lookup returns the node type called name.
func (ts NodeTypes) Lookup(name string) (*NodeType, bool) {
	for i := range ts {
		if ts[i].Name == name {
			return &ts[i], true
		}
	}
	return nil, false
}

// Names lists the node type names in order.
func (ts NodeTypes) Names() []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func (ts *NodeTypes) decodeYAML(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, "a mapping of node type names to {cpu_cores, memory_gib, gpus, power}")
		return
	}
	var out NodeTypes
	for _, p := range d.pairs(n, path) {
		kp := path + "." + p.key
		if !validID(p.key) {
			d.c.at(p.k, kp, fmt.Sprintf("invalid node type name %q: %s", p.key, idRule))
			continue
		}
		t := NodeType{Name: p.key, Power: Power{GPUPowerShare: 0.9},
			EmbodiedKg: DefaultServerEmbodiedKg, EmbodiedKgPerGPU: DefaultGPUEmbodiedKg, LifetimeYears: DefaultServerLifetimeYears}
		d.decode(p.v, reflect.ValueOf(&t).Elem(), kp, nil)
		out = append(out, t)
	}
	*ts = out
}

// MarshalYAML writes the node types as a mapping in order.
func (ts NodeTypes) MarshalYAML() (any, error) {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for i := range ts {
		v := &yaml.Node{}
		if err := v.Encode(ts[i]); err != nil {
			return nil, err
		}
		m.Content = append(m.Content, strNode(ts[i].Name), v)
	}
	return m, nil
}

func strNode(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// NodeCount is a number of nodes of one type.
type NodeCount struct {
	Type  string
	Count int
}

// NodeCounts is the ordered "nodes: {type: count}" mapping of a site.
type NodeCounts []NodeCount

// Total is the number of nodes.
func (c NodeCounts) Total() int {
	t := 0
	for _, x := range c {
		t += x.Count
	}
	return t
}

func (c *NodeCounts) decodeYAML(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, "a mapping of node type names to counts, e.g. {cpu-64: 2000, gpu-8: 200}")
		return
	}
	var out NodeCounts
	for _, p := range d.pairs(n, path) {
		var k int
		d.decode(p.v, reflect.ValueOf(&k).Elem(), path+"."+p.key, nil)
		out = append(out, NodeCount{Type: p.key, Count: k})
	}
	*c = out
}

// MarshalYAML writes the counts as a flow mapping in order.
func (c NodeCounts) MarshalYAML() (any, error) {
	m := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	for _, x := range c {
		m.Content = append(m.Content, strNode(x.Type), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: fmt.Sprint(x.Count)})
	}
	return m, nil
}

// SiteSpec is what a site and a site group share.
type SiteSpec struct {
	// Role is the site's place in 1+3+N+X / 2+5+N (nodes.RoleNames());
	// required.
	Role nodes.Role `yaml:"role"`
	// Tier is derived from Role; a file may give it, and then it must
	// agree.
	Tier nodes.Tier `yaml:"tier"`
	PUE  PUE        `yaml:"pue"`
	// Nodes counts the site's servers by node type; at least one node.
	Nodes NodeCounts `yaml:"nodes"`
	// Solar, Wind, Contract and Battery are absent (nil) when the site
	// has none.
	Solar    *Solar    `yaml:"solar,omitempty"`
	Wind     *Wind     `yaml:"wind,omitempty"`
	Contract *Contract `yaml:"contract,omitempty"`
	Battery  *Battery  `yaml:"battery,omitempty"`
	// BandwidthGbps overrides network.bandwidth_gbps of the site's tier;
	// after loading it is always set.
	BandwidthGbps float64 `yaml:"bandwidth_gbps"`
}

func (s *SiteSpec) setDefaults() {
	s.PUE.setDefaults()
}

// Site is one data-centre site.
type Site struct {
	// ID is unique among sites: lower-case letters, digits, '-' and '_'.
	ID string `yaml:"id"`
	// City is a city code or English name; after loading, its code.
	City string `yaml:"city"`
	// Lat and Lon default to the city's centre.
	Lat float64 `yaml:"lat"`
	Lon float64 `yaml:"lon"`

	SiteSpec `yaml:",inline"`

	// Group is the id_prefix of the site group that generated the site
	// ("" for explicit sites).
	Group string `yaml:"-"`
	// CityIndex is the index of City in Scenario.Cities.
	CityIndex int `yaml:"-"`

	path string
}

func (s *Site) setPath(p string) { s.path = p }
func (s *Site) setDefaults()     { s.SiteSpec.setDefaults() }

// NodeSite converts the site to a nodes.Site.
func (s *Site) NodeSite() nodes.Site {
	return nodes.Site{ID: s.ID, City: s.City, Lat: s.Lat, Lon: s.Lon, Tier: s.Tier, Role: s.Role, PUE: s.PUE.Design}
}

// SiteGroup generates one site per city: id = IDPrefix + lower-case city
// code + IDSuffix (x-jn, x-qd, ...), each with the group's SiteSpec. At
// least one of IDPrefix and IDSuffix is required.
type SiteGroup struct {
	IDPrefix string `yaml:"id_prefix"`
	IDSuffix string `yaml:"id_suffix,omitempty"`
	// Cities are the cities to generate sites in: all (default) or a
	// list of codes or names.
	Cities   CitySet `yaml:"cities"`
	SiteSpec `yaml:",inline"`

	path string
}

func (g *SiteGroup) setPath(p string) { g.path = p }
func (g *SiteGroup) setDefaults() {
	g.SiteSpec.setDefaults()
	g.Cities.All = true
}

// CitySet is "all" or a list of city codes or names.
type CitySet struct {
	All   bool
	Names []string
	// Index holds the resolved indices into Scenario.Cities (every city
	// when All).
	Index []int
}

func (c *CitySet) decodeYAML(d *decoder, n *yaml.Node, path string) {
	list, all, ok := d.scalarList(n, path, true)
	if ok {
		*c = CitySet{All: all, Names: list}
	}
}

// MarshalYAML writes "all" or the list.
func (c CitySet) MarshalYAML() (any, error) {
	if c.All {
		return "all", nil
	}
	return flowStrings(c.Names), nil
}

func flowStrings(list []string) *yaml.Node {
	s := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, x := range list {
		s.Content = append(s.Content, strNode(x))
	}
	return s
}

// SiteSet is "all" or a list of site ids.
type SiteSet struct {
	All bool
	IDs []string
}

func (s *SiteSet) decodeYAML(d *decoder, n *yaml.Node, path string) {
	list, all, ok := d.scalarList(n, path, true)
	if ok {
		*s = SiteSet{All: all, IDs: list}
	}
}

// MarshalYAML writes "all" or the list.
func (s SiteSet) MarshalYAML() (any, error) {
	if s.All {
		return "all", nil
	}
	return flowStrings(s.IDs), nil
}

// IsZero reports whether the set was not given.
func (s SiteSet) IsZero() bool { return !s.All && len(s.IDs) == 0 }

// PUE is a site's power usage effectiveness. In a file it is a number (the
// design PUE, constant) or a mapping.
//
//	constant: facility = IT × (1 + (design − 1)·s(month))
//	load:     facility = IT + s(month)·(F + k·IT), F = f·(design − 1)·rated IT,
//	          k = (1 − f)·(design − 1)   (f = fixed_overhead_fraction)
//
// where s(month) is the seasonal overhead factor (1 when flat), so PUE is
// exactly Design at full load in an average month.
type PUE struct {
	Design float64 `yaml:"design"`
	// Model is constant (default) or load.
	Model string `yaml:"model"`
	// RatedITKW is the IT power at which the load model's PUE equals
	// Design (default: the site's nodes at peak power).
	RatedITKW float64 `yaml:"rated_it_kw"`
	// FixedOverheadFraction is the share of the overhead that does not
	// scale with IT load (load model; default 0.5).
	FixedOverheadFraction float64 `yaml:"fixed_overhead_fraction"`
	// Seasonal is flat (default), shandong (assumed monthly cooling
	// profile) or a list of 12 monthly factors, January first.
	Seasonal Seasonal `yaml:"seasonal"`
}

// PUEModels are the accepted PUE.Model values.
var PUEModels = []string{"constant", "load"}

func (p *PUE) setDefaults() {
	*p = PUE{Design: 1.25, Model: "constant", FixedOverheadFraction: 0.5, Seasonal: Seasonal{Name: "flat"}}
}

func (p *PUE) decodeYAML(d *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode {
		if v, ok := d.float(n, path); ok {
			p.Design = v
		}
		return
	}
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, "a number or {design, model, fixed_overhead_fraction, seasonal}")
		return
	}
	type plain PUE
	d.decodeStruct(n, reflect.ValueOf((*plain)(p)).Elem(), path)
}

// MarshalYAML writes a plain number when only the design PUE is set.
func (p PUE) MarshalYAML() (any, error) {
	def := PUE{}
	def.setDefaults()
	def.Design = p.Design
	if reflect.DeepEqual(p, def) {
		return floatNode(p.Design), nil
	}
	type plain PUE
	return plain(p), nil
}

// Seasonal is a named monthly profile (flat, shandong) or 12 factors.
type Seasonal struct {
	Name    string
	Factors []float64
}

// SeasonalNames are the named monthly profiles.
var SeasonalNames = []string{"flat", "shandong"}

func (s *Seasonal) decodeYAML(d *decoder, n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !contains(SeasonalNames, n.Value) {
			d.c.at(n, path, fmt.Sprintf("unknown seasonal profile %q", clip(n.Value)), append(SeasonalNames, "a list of 12 monthly factors")...)
			return
		}
		*s = Seasonal{Name: n.Value}
	case yaml.SequenceNode:
		var f []float64
		d.decode(n, reflect.ValueOf(&f).Elem(), path, nil)
		if len(f) != 12 {
			d.c.at(n, path, fmt.Sprintf("needs 12 monthly factors (January first), got %d", len(f)))
			return
		}
		*s = Seasonal{Factors: f}
	default:
		d.typeErr(n, path, "flat, shandong or a list of 12 monthly factors")
	}
}

// MarshalYAML writes the name or the factors.
func (s Seasonal) MarshalYAML() (any, error) {
	if s.Name != "" {
		return s.Name, nil
	}
	return s.Factors, nil
}

// Solar is on-site photovoltaics: the clear-sky model with a daily cloud
// factor (nodes/energy SolarSpec), or a trace (csv and column set).
type Solar struct {
	MW float64 `yaml:"mw"`
	// Derate scales clear-sky output (default 0.74, which gives the ~14 %
	// annual capacity factor of Shandong PV in nodes/energy's model).
	Derate  float64 `yaml:"derate"`
	TiltDeg float64 `yaml:"tilt_deg"`
	// CloudAlpha and CloudBeta: daily cloud factor ~ Beta(α, β) (default
	// Beta(5, 2)); NoiseSigma and NoiseTauHours shape the intra-day
	// cloud noise (default 0.1 and 1 h).
	CloudAlpha    float64 `yaml:"cloud_alpha"`
	CloudBeta     float64 `yaml:"cloud_beta"`
	NoiseSigma    float64 `yaml:"noise_sigma"`
	NoiseTauHours float64 `yaml:"noise_tau_hours"`
	// SeriesRef, when CSV is set, replaces the model by a trace
	// multiplied by MW (normalize: none (default) or max).
	SeriesRef `yaml:",inline"`
}

// SeriesRef optionally points a generator at a CSV trace.
type SeriesRef struct {
	CSV       string     `yaml:"csv,omitempty"`
	Column    string     `yaml:"column,omitempty"`
	Normalize string     `yaml:"normalize,omitempty"`
	Anchor    *time.Time `yaml:"anchor,omitempty"`
}

func (s *Solar) setDefaults() {
	*s = Solar{Derate: 0.74, TiltDeg: 20, CloudAlpha: 5, CloudBeta: 2, NoiseSigma: 0.1, NoiseTauHours: 1}
}

// Wind is on-site (or near-site) wind generation: an AR(1) capacity-factor
// model, or a trace.
type Wind struct {
	MW float64 `yaml:"mw"`
	// Offshore switches the default capacity factor to 0.37.
	Offshore bool `yaml:"offshore"`
	// CapacityFactor is the mean capacity factor (default 0.24 onshore,
	// 0.37 offshore).
	CapacityFactor float64 `yaml:"capacity_factor"`
	// RhoHourly is the hourly autocorrelation (default 0.9).
	RhoHourly float64 `yaml:"rho_hourly"`
	// Spread widens the capacity-factor distribution (default 1.5).
	Spread float64 `yaml:"spread"`
	// SeriesRef, when CSV is set, replaces the model by a trace
	// multiplied by MW (normalize: max (default) or none).
	SeriesRef `yaml:",inline"`
}

func (w *Wind) setDefaults() { *w = Wind{RhoHourly: 0.9, Spread: 1.5} }

// Contract is a green-power purchase agreement: up to MW of renewable
// power delivered along Shape, paid at PriceCNYPerKWh for what is used.
type Contract struct {
	MW float64 `yaml:"mw"`
	// Shape is flat (default), solar (the clear-sky model at the site) or
	// wind (the AR(1) model with CapacityFactor).
	Shape string `yaml:"shape"`
	// Offshore and CapacityFactor are for the wind shape, as on Wind
	// (default 0.24, 0.37 offshore).
	Offshore       bool    `yaml:"offshore,omitempty"`
	CapacityFactor float64 `yaml:"capacity_factor,omitempty"`
	// PriceCNYPerKWh defaults to 0.3949 (coal benchmark price [K]).
	PriceCNYPerKWh float64 `yaml:"price_cny_per_kwh"`
}

// ContractShapes are the accepted Contract.Shape values.
var ContractShapes = []string{"flat", "solar", "wind"}

func (c *Contract) setDefaults() { *c = Contract{Shape: "flat", PriceCNYPerKWh: 0.3949} }

// Battery is site storage that stores renewable surplus (and grid energy in
// GridCharge periods).
type Battery struct {
	MWh float64 `yaml:"mwh"`
	// MW is the power limit (default MWh/2, a 2-hour battery).
	MW float64 `yaml:"mw"`
	// Efficiency is the round-trip efficiency (default 0.88).
	Efficiency float64 `yaml:"efficiency"`
	// SoCMin, SoCMax, SoCInitial are fractions of MWh (default 0.1, 0.9,
	// 0.5).
	SoCMin     float64 `yaml:"soc_min"`
	SoCMax     float64 `yaml:"soc_max"`
	SoCInitial float64 `yaml:"soc_initial"`
	// GridCharge lists tariff periods in which the battery may also
	// charge from the grid (default none).
	GridCharge []string `yaml:"grid_charge,omitempty"`
	// EmbodiedKgPerKWh is the manufacturing footprint per kWh of
	// capacity, kg CO2e, amortised over LifetimeYears (defaults
	// DefaultBatteryEmbodiedKgPerKWh, DefaultBatteryLifetimeYears).
	EmbodiedKgPerKWh float64 `yaml:"embodied_kg_per_kwh"`
	LifetimeYears    float64 `yaml:"lifetime_years"`
}

// EmbodiedKgPerHour is the embodied carbon the battery accrues per hour,
// kg CO2e: its capacity's footprint over its lifetime.
func (b *Battery) EmbodiedKgPerHour() float64 {
	if b == nil || b.LifetimeYears <= 0 {
		return 0
	}
	return b.MWh * 1000 * b.EmbodiedKgPerKWh / (b.LifetimeYears * HoursPerYear)
}

// TariffPeriods are the names of time-of-use periods.
var TariffPeriods = []string{"critical", "peak", "flat", "valley", "deep_valley"}

func (b *Battery) setDefaults() {
	*b = Battery{Efficiency: 0.88, SoCMin: 0.1, SoCMax: 0.9, SoCInitial: 0.5,
		EmbodiedKgPerKWh: DefaultBatteryEmbodiedKgPerKWh, LifetimeYears: DefaultBatteryLifetimeYears}
}
