package sim

import (
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// window is a time span [start, end) in ns since the start of the run,
// with a rate factor.
type window struct {
	start, end int64
	factor     float64
}

// classGen generates the arrivals of one class. For a Poisson class it is
// a non-homogeneous Poisson process whose rate is piecewise constant (it
// changes at hour boundaries, and where bursts and surges start and end),
// sampled exactly by inverting the integrated rate; for a trace class it
// walks the records.
type classGen struct {
	cls      *Class
	arr      *rand.Rand // arrival times and origins
	attr     *rand.Rand // sizes, durations, deadlines, input, jitter, tasks
	cum      []float64  // cumulative origin weights
	bursts   []window   // merged, sorted
	baseNs   float64    // base rate per ns
	horizon  int64
	offsetNs int64 // ns from the local midnight of the start day to Start
	startDay int   // weekday of the start day
	next     int64 // time of the next arrival (horizon = none)
	count    int64 // instances so far

	// Demand surges cut time into segments [edges[i-1], edges[i]) with
	// a rate factor segFactor[i] and, when a surge is limited to some
	// cities, their own cumulative origin weights segCum[i] (nil: cum).
	edges     []int64
	segFactor []float64
	segCum    [][]float64

	rec int // next trace record
}

const hourNs = int64(time.Hour)
const dayNs = 24 * hourNs

func newClassGen(cfg *Config, ci int) *classGen {
	cls := &cfg.Classes[ci]
	g := &classGen{
		cls:     cls,
		arr:     Stream(cfg.Seed, "arrivals/"+cls.Name),
		attr:    Stream(cfg.Seed, "workload/"+cls.Name),
		baseNs:  cls.RatePerHour / float64(hourNs),
		horizon: int64(cfg.Horizon),
	}
	y, m, d := cfg.Start.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, cfg.Start.Location())
	g.offsetNs = int64(cfg.Start.Sub(midnight))
	g.startDay = int(midnight.Weekday())
	base := make([]float64, len(cfg.Cities))
	for i := range base {
		base[i] = 1
		if cls.OriginWeights != nil {
			base[i] = cls.OriginWeights[i]
		}
	}
	g.cum = cumulate(base)
	// Bursts: a Poisson process of starts over the horizon, each lasting
	// BurstDuration; overlapping bursts merge.
	if cls.Records == nil && cls.BurstsPerDay > 0 && cls.BurstDuration > 0 && cls.BurstFactor > 0 {
		br := Stream(cfg.Seed, "bursts/"+cls.Name)
		meanGap := float64(dayNs) / cls.BurstsPerDay
		for t := br.ExpFloat64() * meanGap; t < float64(g.horizon); t += br.ExpFloat64() * meanGap {
			s := int64(t)
			e := s + int64(cls.BurstDuration)
			if n := len(g.bursts); n > 0 && s <= g.bursts[n-1].end {
				g.bursts[n-1].end = max(g.bursts[n-1].end, e)
				continue
			}
			g.bursts = append(g.bursts, window{s, e, cls.BurstFactor})
		}
	}
	g.surgeSegments(cfg, base)
	g.next = g.after(0)
	return g
}

func cumulate(w []float64) []float64 {
	out := make([]float64, len(w))
	total := 0.0
	for i, x := range w {
		total += x
		out[i] = total
	}
	return out
}

// surgeSegments precomputes the demand surges that apply to the class as
// piecewise-constant segments.
func (g *classGen) surgeSegments(cfg *Config, base []float64) {
	var evs []*ScenarioEvent
	for i := range cfg.Events {
		ev := &cfg.Events[i]
		if ev.Kind != DemandSurge {
			continue
		}
		match := len(ev.Classes) == 0
		for _, k := range ev.Classes {
			if k == g.cls.Name || k == g.cls.Group {
				match = true
			}
		}
		if match {
			evs = append(evs, ev)
		}
	}
	if len(evs) == 0 || g.cls.Records != nil {
		g.segFactor = []float64{1}
		g.segCum = [][]float64{nil}
		return
	}
	set := map[int64]bool{}
	for _, ev := range evs {
		set[int64(ev.At)] = true
		set[int64(ev.At+ev.Duration)] = true
	}
	for e := range set {
		g.edges = append(g.edges, e)
	}
	sort.Slice(g.edges, func(a, b int) bool { return g.edges[a] < g.edges[b] })
	total := g.cum[len(g.cum)-1]
	for i := 0; i <= len(g.edges); i++ {
		at := int64(0) // a time inside segment i
		if i > 0 {
			at = g.edges[i-1]
		}
		w := append([]float64(nil), base...)
		local := false
		for _, ev := range evs {
			if at < int64(ev.At) || at >= int64(ev.At+ev.Duration) {
				continue
			}
			if len(ev.Cities) == 0 {
				for o := range w {
					w[o] *= ev.Factor
				}
				continue
			}
			local = true
			for _, o := range ev.Cities {
				w[o] *= ev.Factor
			}
		}
		c := cumulate(w)
		f := 0.0
		if total > 0 {
			f = c[len(c)-1] / total
		}
		g.segFactor = append(g.segFactor, f)
		if local {
			g.segCum = append(g.segCum, c)
		} else {
			g.segCum = append(g.segCum, nil)
		}
	}
}

// segment returns the surge segment holding t.
func (g *classGen) segment(t int64) int {
	return sort.Search(len(g.edges), func(i int) bool { return g.edges[i] > t })
}

// rate returns the arrival rate per ns at t and the next time after t at
// which it may change.
func (g *classGen) rate(t int64) (float64, int64) {
	local := g.offsetNs + t
	r := g.baseNs
	if g.cls.HourShape != nil {
		r *= g.cls.HourShape[(local/hourNs)%24]
	}
	if g.cls.WeekdayShape != nil {
		r *= g.cls.WeekdayShape[(int64(g.startDay)+local/dayNs)%7]
	}
	change := t + hourNs - local%hourNs
	for _, b := range g.bursts { // few; sorted
		if b.start > t {
			change = min(change, b.start)
			break
		}
		if t < b.end {
			r *= b.factor
			change = min(change, b.end)
			break
		}
	}
	if len(g.edges) > 0 {
		s := g.segment(t)
		r *= g.segFactor[s]
		if s < len(g.edges) {
			change = min(change, g.edges[s])
		}
	}
	return r, change
}

// after returns the first arrival after t (or the horizon when none falls
// before it). A Poisson class draws E ~ Exp(1) and walks the
// piecewise-constant rate until its integral reaches E; a trace class
// returns its next record's time.
func (g *classGen) after(t int64) int64 {
	if g.cls.Records != nil {
		for g.rec < len(g.cls.Records) {
			at := int64(g.cls.Records[g.rec].At)
			if at >= g.horizon {
				break
			}
			return max(at, t)
		}
		return g.horizon
	}
	e := g.arr.ExpFloat64()
	for t < g.horizon {
		r, change := g.rate(t)
		if change > g.horizon {
			change = g.horizon
		}
		span := float64(change - t)
		if r > 0 && r*span >= e {
			dt := int64(math.Ceil(e / r))
			if dt < 1 {
				dt = 1
			}
			if t+dt > change {
				return change
			}
			return t + dt
		}
		e -= r * span
		t = change
	}
	return g.horizon
}

// origin draws the origin city of work arriving at t.
func (g *classGen) origin(t int64) int {
	cum := g.cum
	if len(g.edges) > 0 {
		if c := g.segCum[g.segment(t)]; c != nil {
			cum = c
		}
	}
	x := g.arr.Float64() * cum[len(cum)-1]
	i := sort.SearchFloat64s(cum, x)
	if i >= len(cum) {
		i = len(cum) - 1
	}
	for cum[i] <= x && i < len(cum)-1 { // skip zero-weight origins at equality
		i++
	}
	return i
}

// tasks draws how many instances the arrival brings.
func (g *classGen) tasks() int {
	if g.cls.Records != nil || g.cls.Tasks.Kind == Const && g.cls.Tasks.A <= 1 {
		return 1
	}
	n := int(math.Round(g.cls.Tasks.Sample(g.attr)))
	return max(n, 1)
}

// fill draws the attributes of one workload arriving at t into rec. It
// draws the same number of values for every workload of the class, so the
// stream stays aligned however the work is placed.
func (g *classGen) fill(rec *wrec, t int64) {
	c := g.cls
	r := g.attr
	rec.origin = int16(g.origin(t))
	if c.Records != nil {
		tr := &c.Records[g.rec]
		g.rec++
		rec.req = tr.Request
		rec.duration = int64(tr.Duration)
	} else {
		cpu := int64(math.Round(c.CPUMilli.Sample(r)))
		if cpu < 1 {
			cpu = 1
		}
		rec.req.CPUMilli = cpu
		rec.req.MemoryMiB = int64(math.Round(c.MemoryMiB.Sample(r)))
		rec.req.GPUMilli = int64(math.Round(c.GPUMilli.Sample(r)))
		rec.duration = int64(c.DurationHours.Sample(r) * float64(hourNs))
	}
	rec.total = rec.duration
	rec.deadline = 0
	if c.SlackHours != nil {
		s := int64(c.SlackHours.Sample(r) * float64(hourNs))
		rec.deadline = t + max(s, 1)
	}
	rec.inputMB = c.InputMB.Sample(r)
	rec.jitterE = r.ExpFloat64()
	rec.arrival = t
	rec.seq = g.count
	g.count++
}
