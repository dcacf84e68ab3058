package scenarios

import (
	"math"
	"slices"
	"time"
)

// TotalNodes is the number of nodes over all sites.
func (s *Scenario) TotalNodes() int {
	n := 0
	for i := range s.Sites {
		n += s.Sites[i].Nodes.Total()
	}
	return n
}

// ExpectedInstances is the expected number of instances workload w
// starts over the horizon: for a synthetic workload, the integral of its
// shaped rate per origin city (with the demand-surge events that apply to
// it, and the mean extra rate of its bursts) times the mean tasks per
// arrival; for a trace workload, its records. It is for sizing and
// reports; the simulator draws the actual arrivals.
func (s *Scenario) ExpectedInstances(w *Workload) float64 {
	if w.Trace != nil {
		return float64(len(w.Records))
	}
	if w.Arrivals == nil || w.OriginRatePerHour == nil {
		return 0
	}
	shape, _ := s.Shapes.Lookup(w.Arrivals.Shape)
	burst := 1.0
	if b := w.Arrivals.Bursts; b != nil {
		// Bursts cover about per_day·duration/24h of the time.
		cover := 1 - math.Exp(-b.PerDay*b.Duration.Hours()/24)
		burst = 1 + cover*(b.Factor-1)
	}
	// The shaped rate is piecewise constant between local hour boundaries
	// and event edges, so integrate exactly over those segments.
	h := s.Horizon.D()
	cuts := []time.Duration{0, h}
	// The last local hour boundary at or before the start (local, so that
	// zones with fractional-hour offsets work too).
	sinceHour := time.Duration(s.Start.Minute())*time.Minute + time.Duration(s.Start.Second())*time.Second + time.Duration(s.Start.Nanosecond())
	for t := time.Hour - sinceHour; t < h; t += time.Hour {
		cuts = append(cuts, t)
	}
	for i := range s.Events {
		e := &s.Events[i]
		if e.Kind == DemandSurge {
			cuts = append(cuts, min(e.At.D(), h), min(e.End(), h))
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	total := 0.0
	for k := 0; k+1 < len(cuts); k++ {
		a, b := cuts[k], cuts[k+1]
		mid := a + (b-a)/2
		f := shape.Factor(s.Start.Add(mid)) * burst
		for ci, r := range w.OriginRatePerHour {
			if r == 0 {
				continue
			}
			total += r * f * s.surge(w, ci, mid) * (b - a).Hours()
		}
	}
	tasks := w.Tasks.MeanValue()
	if w.Tasks.Kind == DistLogUniform || w.Tasks.Kind == DistUniform {
		// Rounded to whole tasks; the mean of the continuous law is close.
		tasks = math.Max(1, tasks)
	}
	return total * tasks
}

// surge is the product of the demand-surge factors applying to workload
// w's arrivals from city ci at offset t.
func (s *Scenario) surge(w *Workload, ci int, t time.Duration) float64 {
	f := 1.0
	for i := range s.Events {
		e := &s.Events[i]
		if e.Kind != DemandSurge || t < e.At.D() || t >= e.End() {
			continue
		}
		if len(e.Classes) > 0 && !contains(e.Classes, w.Class) {
			continue
		}
		if !e.Cities.All && !containsInt(e.Cities.Index, ci) {
			continue
		}
		f *= e.Factor
	}
	return f
}
