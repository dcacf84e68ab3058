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

// classGen generates the arrivals of one class: a non-homogeneous Poisson
// process whose rate is piecewise constant (it changes at hour boundaries,
// and where bursts and surges start and end), sampled exactly by inverting
// the integrated rate.
type classGen struct {
	cls      *Class
	arr      *rand.Rand // arrival times and origins
	attr     *rand.Rand // sizes, durations, deadlines, input, jitter
	cum      []float64  // cumulative origin weights
	bursts   []window   // merged, sorted
	surges   []window   // from scenario events, sorted by start
	baseNs   float64    // base rate per ns
	horizon  int64
	offsetNs int64 // ns from the local midnight of the start day to Start
	startDay int   // weekday of the start day
	next     int64 // time of the next arrival (horizon = none)
	count    int64 // arrivals so far
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
	g.cum = make([]float64, len(cfg.Cities))
	total := 0.0
	for i := range g.cum {
		w := 1.0
		if cls.OriginWeights != nil {
			w = cls.OriginWeights[i]
		}
		total += w
		g.cum[i] = total
	}
	// Bursts: a Poisson process of starts over the horizon, each lasting
	// BurstDuration; overlapping bursts merge.
	if cls.BurstsPerDay > 0 && cls.BurstDuration > 0 && cls.BurstFactor > 0 {
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
	for _, ev := range cfg.Events {
		if ev.Kind == DemandSurge && (ev.Class == "" || ev.Class == cls.Name) {
			g.surges = append(g.surges, window{int64(ev.At), int64(ev.At + ev.Duration), ev.Factor})
		}
	}
	sort.SliceStable(g.surges, func(a, b int) bool { return g.surges[a].start < g.surges[b].start })
	g.next = g.after(0)
	return g
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
	for _, s := range g.surges {
		if s.start > t {
			change = min(change, s.start)
			continue
		}
		if t < s.end {
			r *= s.factor
			change = min(change, s.end)
		}
	}
	return r, change
}

// after returns the first arrival after t (or the horizon when none falls
// before it): it draws E ~ Exp(1) and walks the piecewise-constant rate
// until its integral reaches E.
func (g *classGen) after(t int64) int64 {
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

// origin draws the origin city of the next workload.
func (g *classGen) origin() int {
	x := g.arr.Float64() * g.cum[len(g.cum)-1]
	i := sort.SearchFloat64s(g.cum, x)
	if i >= len(g.cum) {
		i = len(g.cum) - 1
	}
	for g.cum[i] <= x && i < len(g.cum)-1 { // skip zero-weight origins at equality
		i++
	}
	return i
}

// fill draws the attributes of one workload arriving at t into rec. It
// draws the same number of values for every workload of the class, so the
// stream stays aligned however the work is placed.
func (g *classGen) fill(rec *wrec, t int64) {
	c := g.cls
	r := g.attr
	rec.origin = int16(g.origin())
	cpu := int64(math.Round(c.CPUMilli.Sample(r)))
	if cpu < 1 {
		cpu = 1
	}
	rec.req.CPUMilli = cpu
	rec.req.MemoryMiB = int64(math.Round(c.MemoryMiB.Sample(r)))
	rec.req.GPUMilli = int64(math.Round(c.GPUMilli.Sample(r)))
	rec.duration = int64(c.DurationHours.Sample(r) * float64(hourNs))
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
