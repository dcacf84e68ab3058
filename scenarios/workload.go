package scenarios

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/suanli/suanli/nodes"
)

// BuiltinClasses are the workload classes of shandong-facts.md §5.3. A
// scenario may add more in its top-level classes list.
var BuiltinClasses = []string{"ctrl", "agv-ar", "vision-qc", "twin", "video", "analytics", "ai-train", "hpc"}

// Kind says how a workload behaves.
type Kind uint8

const (
	// Service work runs for its duration once placed (it is latency-bound
	// and not deferrable); if it cannot be placed within Patience it is
	// rejected.
	Service Kind = iota
	// Batch work may wait or be deferred, and should finish by its
	// deadline (if it has one).
	Batch
	numKinds
)

var kindNames = [numKinds]string{"service", "batch"}

// String returns "service" or "batch".
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// MarshalText implements encoding.TextMarshaler.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if n == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown kind %q (allowed: %s)", b, strings.Join(kindNames[:], ", "))
}

// Workload is one stream of work of a class: either a synthetic arrival
// process (Arrivals) with sizes drawn from distributions, or the records
// of a trace file (Trace).
//
// A workload instance is placed on ONE node: its request (cores, memory,
// GPUs) must fit the largest node type available to it. Large HPC or
// training jobs are modelled as single-node tasks (the shipped scenarios
// use at most 64 cores or 8 GPUs) or as several workloads.
type Workload struct {
	// Name is unique among workloads (default: the class).
	Name string `yaml:"name"`
	// Class is a built-in class (BuiltinClasses) or one listed in the
	// scenario's classes; required.
	Class string `yaml:"class"`
	// Kind is service or batch; required.
	Kind Kind `yaml:"kind"`
	// CPUCores, MemoryGiB and GPUs size one instance (fractional cores
	// and GPUs allowed; they become milli-units). CPUCores > 0 is
	// required for synthetic workloads.
	CPUCores  Dist `yaml:"cpu_cores,omitempty"`
	MemoryGiB Dist `yaml:"memory_gib,omitempty"`
	GPUs      Dist `yaml:"gpus,omitempty"`
	// LatencyMs bounds the network RTT from the origin city to the site
	// (0 = no bound). ComputeMs is the processing time the work adds to
	// each response, reported in end-to-end latency (informational).
	LatencyMs float64 `yaml:"latency_ms,omitempty"`
	ComputeMs float64 `yaml:"compute_ms,omitempty"`
	// SameCity restricts placement to sites in the origin city.
	SameCity bool `yaml:"same_city,omitempty"`
	// Duration is how long an instance runs once started (services: its
	// lifetime); required for synthetic workloads.
	Duration DurationDist `yaml:"duration,omitempty"`
	// Deadline, for batch work, is the time from arrival to the latest
	// acceptable completion; nil = no deadline. Not allowed for services.
	Deadline *DurationDist `yaml:"deadline,omitempty"`
	// Patience is how long work may wait for capacity before it is
	// rejected (default 15m for services; for batch work 0 = until its
	// deadline, or forever without one).
	Patience Duration `yaml:"patience,omitempty"`
	// Checkpoint is how often batch work saves progress (0 = never; an
	// interrupted instance restarts from the beginning).
	Checkpoint Duration `yaml:"checkpoint,omitempty"`
	// InputGB is the input data moved from the origin to the site before
	// the work starts (default 0).
	InputGB Dist `yaml:"input_gb,omitempty"`
	// Priority orders queued work; higher first (default 0).
	Priority int `yaml:"priority"`
	// Tasks is the number of identical single-node instances one arrival
	// brings (default 1; rounded to a whole number >= 1). It models jobs
	// larger than a node (HPC, multi-node training) as independent tasks
	// arriving together; they are not gang-scheduled.
	Tasks Dist `yaml:"tasks"`
	// Tiers restricts the tiers the work may run in (default all).
	Tiers []nodes.Tier `yaml:"tiers,omitempty"`
	// Roles restricts the site roles the work may run at (default all),
	// e.g. [edge] for X sites only.
	Roles []nodes.Role `yaml:"roles,omitempty"`
	// Sites restricts the sites the work may run at (default all).
	Sites []string `yaml:"sites,omitempty"`
	// Origins are the cities the work comes from: all (default), a list,
	// or a mapping of city to weight. How they combine with Arrivals.Per
	// is described on Arrivals.
	Origins Origins `yaml:"origins"`
	// Arrivals is the synthetic arrival process; exactly one of Arrivals
	// and Trace is set.
	Arrivals *Arrivals `yaml:"arrivals,omitempty"`
	// Trace replays a trace file.
	Trace *Trace `yaml:"trace,omitempty"`

	// TierSet is Tiers as a set (nodes.AllTiers when empty).
	TierSet nodes.TierSet `yaml:"-"`
	// SiteIndex holds the indices of Sites in Scenario.Sites (nil = all).
	SiteIndex []int `yaml:"-"`
	// OriginRatePerHour is the mean arrival rate from each origin city
	// (indexed like Scenario.Cities) before the shape, bursts and surges
	// apply; nil for trace workloads.
	OriginRatePerHour []float64 `yaml:"-"`
	// RatePerHour is the sum of OriginRatePerHour.
	RatePerHour float64 `yaml:"-"`
	// OriginWeights are the normalised origin weights (sum 1), indexed
	// like Scenario.Cities; trace records draw their origin from them.
	OriginWeights []float64 `yaml:"-"`
	// Records are the trace's records inside the horizon, with the
	// trace's scaling applied (only when LoadOptions.SkipData is false).
	Records []TraceRecord `yaml:"-"`

	path string
}

func (w *Workload) setPath(p string) { w.path = p }
func (w *Workload) setDefaults() {
	w.Origins.All = true
	w.Tasks = Fixed(1)
}

// Origins is "all", a list of cities, or a mapping of city to weight.
type Origins struct {
	All     bool
	Names   []string
	Weights []float64 // nil for a plain list
}

func (o *Origins) decodeYAML(d *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.MappingNode {
		var out Origins
		for _, p := range d.pairs(n, path) {
			var w float64
			d.decode(p.v, reflect.ValueOf(&w).Elem(), path+"."+p.key, nil)
			out.Names = append(out.Names, p.key)
			out.Weights = append(out.Weights, w)
		}
		*o = out
		return
	}
	list, all, ok := d.scalarList(n, path, true)
	if !ok {
		return
	}
	*o = Origins{All: all, Names: list}
}

// MarshalYAML writes all, the list, or the weights.
func (o Origins) MarshalYAML() (any, error) {
	if o.All {
		return "all", nil
	}
	if o.Weights == nil {
		return flowStrings(o.Names), nil
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	for i, n := range o.Names {
		m.Content = append(m.Content, strNode(n), floatNode(o.Weights[i]))
	}
	return m, nil
}

// Arrivals is a Poisson arrival process whose rate is shaped by hour of
// day and day of week (Shape), raised by random bursts and by demand-surge
// events.
//
// RatePerHour is the mean rate per unit of Per:
//
//	province     the whole province; origins weigh the cities (default
//	             equal weights)
//	city         each origin city (weights multiply a city's rate)
//	site         each site whose city is an origin city (weights multiply)
//	<role>-site  each site of that role (core-zone-site, provincial-site,
//	             regional-site, cluster-zone-site, industry-site,
//	             edge-site) in an origin city
//	<tier>-site  each site of that tier (core-site, cluster-site)
//
// An instance of a per-site process originates in the site's city.
type Arrivals struct {
	RatePerHour float64 `yaml:"rate_per_hour"`
	// Per is the unit the rate is given for (default province).
	Per string `yaml:"per"`
	// Shape names an entry of the scenario's shapes ("" or flat = none).
	Shape string `yaml:"shape,omitempty"`
	// Bursts adds random bursts on top of the shaped rate.
	Bursts *Bursts `yaml:"bursts,omitempty"`
}

func (a *Arrivals) setDefaults() { a.Per = "province" }

// Bursts start as a Poisson process of PerDay per day; each multiplies the
// rate by Factor for Duration (overlapping bursts merge).
type Bursts struct {
	PerDay   float64  `yaml:"per_day"`
	Factor   float64  `yaml:"factor"`
	Duration Duration `yaml:"duration"`
}

// ArrivalUnits lists the accepted Arrivals.Per values.
func ArrivalUnits() []string {
	out := []string{"province", "city", "site"}
	for _, r := range nodes.RoleNames() {
		out = append(out, r+"-site")
	}
	out = append(out, "core-site", "cluster-site")
	return out
}

// Shape multiplies an arrival rate by hour of day and day of week (local
// time of the scenario's start). In a file:
//
//	shifts: {hourly: {"8-24": 1.5, "0-8": 0.3}, weekend: 0.6}
//	office: {hourly: [24 factors, hour 0 first], days: {sat: 0.5, sun: 0.2}}
//
// Hourly ranges are [start, end) in whole hours; hours not covered keep
// factor 1; ranges may not overlap. weekend sets Saturday and Sunday;
// days sets single days (mon..sun) and wins over weekend.
type Shape struct {
	Name string `yaml:"-"`
	// Hourly holds the 24 hourly factors, hour 0 first.
	Hourly [24]float64 `yaml:"-"`
	// Daily holds the 7 daily factors indexed by time.Weekday (Sunday 0).
	Daily [7]float64 `yaml:"-"`
}

// Factor returns the shape's factor at local time t.
func (s *Shape) Factor(t time.Time) float64 {
	return s.Hourly[t.Hour()] * s.Daily[t.Weekday()]
}

// FlatShape is the shape "flat": every factor 1.
func FlatShape() Shape {
	s := Shape{Name: "flat"}
	for i := range s.Hourly {
		s.Hourly[i] = 1
	}
	for i := range s.Daily {
		s.Daily[i] = 1
	}
	return s
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Shapes is the ordered shapes mapping.
type Shapes []Shape

// Lookup returns the shape called name; "" and "flat" are the flat shape.
func (ss Shapes) Lookup(name string) (Shape, bool) {
	for _, s := range ss {
		if s.Name == name {
			return s, true
		}
	}
	if name == "" || name == "flat" {
		return FlatShape(), true
	}
	return Shape{}, false
}

func (ss *Shapes) decodeYAML(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, "a mapping of shape names to {hourly, weekend, days}")
		return
	}
	var out Shapes
	for _, p := range d.pairs(n, path) {
		sp := path + "." + p.key
		if !validID(p.key) {
			d.c.at(p.k, sp, fmt.Sprintf("invalid shape name %q: %s", p.key, idRule))
			continue
		}
		if p.key == "flat" {
			d.c.at(p.k, sp, `"flat" is built in and cannot be redefined`)
			continue
		}
		s := FlatShape()
		s.Name = p.key
		d.decodeShape(d.resolve(p.v), sp, &s)
		out = append(out, s)
	}
	*ss = out
}

func (d *decoder) decodeShape(n *yaml.Node, path string, s *Shape) {
	if n == nil {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, "a mapping with fields hourly, weekend, days")
		return
	}
	var days *yaml.Node
	for _, p := range d.pairs(n, path) {
		fp := path + "." + p.key
		v := d.resolve(p.v)
		if v == nil {
			continue
		}
		d.c.pos[fp] = p.v
		switch p.key {
		case "hourly":
			d.decodeHourly(v, fp, s)
		case "weekend":
			if f, ok := d.float(v, fp); ok && d.shapeFactor(v, fp, f) {
				s.Daily[time.Saturday], s.Daily[time.Sunday] = f, f
			}
		case "days":
			days = v
		default:
			d.unknownField(p.k, fp, p.key, []string{"hourly", "weekend", "days"})
		}
	}
	if days != nil {
		fp := path + ".days"
		if days.Kind != yaml.MappingNode {
			d.typeErr(days, fp, "a mapping of day names (mon..sun) to factors")
			return
		}
		for _, p := range d.pairs(days, fp) {
			i := indexOf(dayNames, strings.ToLower(p.key))
			if i < 0 {
				d.c.at(p.k, fp+"."+p.key, fmt.Sprintf("unknown day %q", p.key), "mon", "tue", "wed", "thu", "fri", "sat", "sun")
				continue
			}
			if f, ok := d.float(d.resolve(p.v), fp+"."+p.key); ok && d.shapeFactor(p.v, fp+"."+p.key, f) {
				s.Daily[i] = f
			}
		}
	}
}

// MaxFactor bounds every factor that multiplies an arrival rate: shape
// factors (hourly, weekend, days), burst factors and demand surges.
const MaxFactor = 1000

// shapeFactor reports whether a shape factor is in [0, MaxFactor], and
// records an error at n otherwise.
func (d *decoder) shapeFactor(n *yaml.Node, path string, f float64) bool {
	if f < 0 || f > MaxFactor {
		d.c.at(n, path, fmt.Sprintf("%s must be in [0, %d]", formatFloat(f), MaxFactor))
		return false
	}
	return true
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func (d *decoder) decodeHourly(n *yaml.Node, path string, s *Shape) {
	switch n.Kind {
	case yaml.SequenceNode:
		if len(n.Content) != 24 {
			d.c.at(n, path, fmt.Sprintf("needs 24 hourly factors (hour 0 first), got %d", len(n.Content)))
			return
		}
		for i, e := range n.Content {
			ep := fmt.Sprintf("%s[%d]", path, i)
			if f, ok := d.float(d.resolve(e), ep); ok && d.shapeFactor(e, ep, f) {
				s.Hourly[i] = f
			}
		}
	case yaml.MappingNode:
		var owner [24]string
		for _, p := range d.pairs(n, path) {
			fp := path + "." + strconv.Quote(p.key)
			lo, hi, err := parseHourRange(p.key)
			if err != nil {
				d.c.at(p.k, path, err.Error())
				continue
			}
			f, ok := d.float(d.resolve(p.v), fp)
			if !ok || !d.shapeFactor(p.v, fp, f) {
				continue
			}
			for h := lo; h < hi; h++ {
				if owner[h] != "" {
					d.c.at(p.k, path, fmt.Sprintf("hour range %q overlaps %q at hour %d", p.key, owner[h], h))
					break
				}
				owner[h] = p.key
				s.Hourly[h] = f
			}
		}
	default:
		d.typeErr(n, path, `a mapping of hour ranges to factors ({"8-24": 1.5}) or a list of 24 factors`)
	}
}

// parseHourRange parses "8-24" (hours [8,24)) or "13" (hour 13 only).
func parseHourRange(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	if !isRange {
		if err1 != nil || lo < 0 || lo > 23 {
			return 0, 0, fmt.Errorf("invalid hour range %q: want \"start-end\" with 0 <= start < end <= 24, or one hour 0..23", s)
		}
		return lo, lo + 1, nil
	}
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 0 || hi > 24 || lo >= hi {
		return 0, 0, fmt.Errorf("invalid hour range %q: want \"start-end\" with 0 <= start < end <= 24 (split ranges that cross midnight)", s)
	}
	return lo, hi, nil
}

// MarshalYAML writes the shapes with 24 hourly factors and the daily
// factors that are not 1.
func (ss Shapes) MarshalYAML() (any, error) {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for _, s := range ss {
		v := &yaml.Node{Kind: yaml.MappingNode}
		h := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, f := range s.Hourly {
			h.Content = append(h.Content, floatNode(f))
		}
		v.Content = append(v.Content, strNode("hourly"), h)
		days := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		for i := 1; i <= 7; i++ {
			wd := i % 7 // mon..sun
			if s.Daily[wd] != 1 {
				days.Content = append(days.Content, strNode(dayNames[wd]), floatNode(s.Daily[wd]))
			}
		}
		if len(days.Content) > 0 {
			v.Content = append(v.Content, strNode("days"), days)
		}
		m.Content = append(m.Content, strNode(s.Name), v)
	}
	return m, nil
}

// Trace replays a trace file as a workload: each record becomes one
// instance arriving at its (scaled) submit time with its own size and
// duration. Records submitted before Skip are dropped and the rest are
// shifted so the first kept record's trace time Skip is the scenario's
// start; records arriving after the horizon are dropped.
type Trace struct {
	// Format is swf (Standard Workload Format) or alibaba-gpu-pods (the
	// pods CSV of Alibaba's cluster-trace-gpu-v2023).
	Format string `yaml:"format"`
	// File is the trace, relative to the scenario file.
	File string `yaml:"file"`
	// TimeScale multiplies arrival times (0.5 = twice as dense; default
	// 1); DurationScale multiplies run times (default 1).
	TimeScale     float64 `yaml:"time_scale"`
	DurationScale float64 `yaml:"duration_scale"`
	// Skip is the trace time to start replaying from (default 0).
	Skip Duration `yaml:"skip"`
	// Limit keeps at most this many records (0 = all).
	Limit int `yaml:"limit"`
	// CoresPerProc is the CPU cores of one SWF processor (default 1);
	// MemoryGiBPerProc is the memory per processor when the trace has
	// none (default 2).
	CoresPerProc     float64 `yaml:"cores_per_proc"`
	MemoryGiBPerProc float64 `yaml:"memory_gib_per_proc"`
	// Wide is what happens to a record that needs more than the largest
	// node type available to the workload: split (default: into several
	// single-node instances arriving together), clamp (to the node) or
	// drop.
	Wide string `yaml:"wide"`
	// MinDuration drops records that ran shorter (default 0: keep all
	// records with a positive run time).
	MinDuration Duration `yaml:"min_duration"`
}

// TraceFormats are the accepted Trace.Format values.
var TraceFormats = []string{"swf", "alibaba-gpu-pods"}

// WideModes are the accepted Trace.Wide values.
var WideModes = []string{"split", "clamp", "drop"}

func (t *Trace) setDefaults() {
	*t = Trace{TimeScale: 1, DurationScale: 1, CoresPerProc: 1, MemoryGiBPerProc: 2, Wide: "split"}
}

// EventKind is the type of a scenario event.
type EventKind uint8

const (
	// SiteOutage takes every node of the sites down (running work is
	// interrupted).
	SiteOutage EventKind = iota
	// NodeOutage takes Nodes nodes (or Fraction of them) of one site down,
	// optionally only of NodeType.
	NodeOutage
	// DemandSurge multiplies the arrival rate of Classes (all when empty)
	// from Cities (all when empty) by Factor.
	DemandSurge
	// RenewableDrought scales the solar and wind output of the sites by
	// Factor.
	RenewableDrought
	numEventKinds
)

var eventKindNames = [numEventKinds]string{"site-outage", "node-outage", "demand-surge", "renewable-drought"}

// String returns the name used in scenario files.
func (k EventKind) String() string {
	if k < numEventKinds {
		return eventKindNames[k]
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// MarshalText implements encoding.TextMarshaler.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *EventKind) UnmarshalText(b []byte) error {
	for i, n := range eventKindNames {
		if n == string(b) {
			*k = EventKind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown event kind %q (allowed: %s)", b, strings.Join(eventKindNames[:], ", "))
}

// EventKindNames lists the event kinds.
func EventKindNames() []string { return append([]string(nil), eventKindNames[:]...) }

// eventFields lists the fields each event kind takes besides at, kind,
// duration and name.
var eventFields = [numEventKinds][]string{
	SiteOutage:       {"site", "sites"},
	NodeOutage:       {"site", "nodes", "fraction", "node_type"},
	DemandSurge:      {"classes", "cities", "factor"},
	RenewableDrought: {"site", "sites", "factor"},
}

// Event is something that happens during a run over [At, At+Duration).
type Event struct {
	// Name labels the event in outputs (default "<kind>@<at>").
	Name string `yaml:"name,omitempty"`
	// At is the offset from Start; a file may also give an RFC 3339 time.
	At       Offset    `yaml:"at"`
	Kind     EventKind `yaml:"kind"`
	Duration Duration  `yaml:"duration"`
	// Site is one site id (sugar for Sites: [id]).
	Site string `yaml:"site,omitempty"`
	// Sites are the sites of a site outage or a drought: all or a list.
	Sites SiteSet `yaml:"sites,omitempty"`
	// Nodes (a count) or Fraction (of the site's nodes, or of its
	// NodeType nodes) is the size of a node outage.
	Nodes    int     `yaml:"nodes,omitempty"`
	Fraction float64 `yaml:"fraction,omitempty"`
	NodeType string  `yaml:"node_type,omitempty"`
	// Classes and Cities select the work a demand surge raises (empty =
	// all).
	Classes []string `yaml:"classes,omitempty"`
	Cities  CitySet  `yaml:"cities,omitempty"`
	// Factor multiplies the arrival rate (surge, > 0) or the renewable
	// output (drought, in [0, 1]).
	Factor float64 `yaml:"factor,omitempty"`

	// SiteIndex holds the indices in Scenario.Sites of the affected sites
	// (outages and droughts).
	SiteIndex []int `yaml:"-"`

	path string
}

func (e *Event) setPath(p string) { e.path = p }

// End is At + Duration.
func (e *Event) End() time.Duration { return e.At.D() + e.Duration.D() }

// Offset is a time offset from the scenario start, written as a duration
// ("36h", "1d12h") or as an RFC 3339 time (converted using start).
type Offset struct {
	Duration
	// Time is the absolute time when the file gave one.
	Time time.Time
}

func (o *Offset) decodeYAML(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode {
		d.typeErr(n, path, "a duration from the start (36h) or an RFC 3339 time")
		return
	}
	if strings.ContainsAny(n.Value, "T:") && len(n.Value) >= 10 {
		t, err := parseTime(n.Value)
		if err != nil {
			d.c.at(n, path, err.Error())
			return
		}
		*o = Offset{Time: t}
		return
	}
	var dur Duration
	dur.decodeYAML(d, n, path)
	*o = Offset{Duration: dur}
}

// MarshalYAML writes the offset as a duration.
func (o Offset) MarshalYAML() (any, error) { return o.Duration.String(), nil }

// sortedCopy returns a sorted copy of list.
func sortedCopy(list []string) []string {
	out := append([]string(nil), list...)
	sort.Strings(out)
	return out
}

// DefaultEventName is the name of an event the file does not name:
// "<kind>@<at>", with at the offset from the start in compact form
// (site-outage@1d10h). Two unnamed events of the same kind at the same
// time, or one whose default a named event already uses, are told apart
// by uniqueName: the first keeps the default, the next get "#2", "#3", ...
func DefaultEventName(kind EventKind, at time.Duration) string {
	return kind.String() + "@" + Duration(at).String()
}

// uniqueName returns base if taken does not hold it, else the first of
// base#2, base#3, ... that it does not; the result is marked taken.
func uniqueName(base string, taken map[string]bool) string {
	name := base
	for k := 2; taken[name]; k++ {
		name = base + "#" + strconv.Itoa(k)
	}
	taken[name] = true
	return name
}

// eventNames names the events of a list as loading will: the names given
// (non-empty) as they are, the others DefaultEventName made unique
// (uniqueName, in list order, after every given name). given[i] is event
// i's name in the file ("" for none); at(i) its offset from the start
// and kind(i) its kind, ok false when they are not valid (it gets no
// name then: such a file does not load).
func eventNames(given []string, kindAt func(i int) (EventKind, time.Duration, bool)) []string {
	taken := map[string]bool{}
	for _, n := range given {
		if n != "" {
			taken[n] = true
		}
	}
	out := make([]string, len(given))
	for i, n := range given {
		if n != "" {
			out[i] = n
			continue
		}
		if k, at, ok := kindAt(i); ok {
			out[i] = uniqueName(DefaultEventName(k, at), taken)
		}
	}
	return out
}

// MarshalYAML writes the event's fields; a surge's or drought's factor
// is written even when it is 0 (a drought that stops generation), since
// it is required there.
func (e Event) MarshalYAML() (any, error) {
	type plain Event
	var n yaml.Node
	if err := n.Encode(plain(e)); err != nil {
		return nil, err
	}
	if (e.Kind == DemandSurge || e.Kind == RenewableDrought) && e.Factor == 0 {
		n.Content = append(n.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "factor"},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "0"})
	}
	return &n, nil
}
