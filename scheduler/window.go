package scheduler

import (
	"time"
)

// ForecastWindow returns the forecast of the first site (all sites share
// one length), or nil when the snapshot has no forecast.
func (s *Snapshot) ForecastWindow() []Signal {
	if len(s.Energy) == 0 || s.ForecastStep <= 0 {
		return nil
	}
	return s.Energy[0].Forecast
}

// windowKey is the per-kWh figure a window policy minimises for work
// drawing kw (facility kW) at a site of the given PUE under signal g: the
// carbon of the grid share of its power, or the price of the grid and
// contract shares.
func windowKey(mode windowMode, kw, pue float64, g *Signal) float64 {
	head := max(g.RenewableHeadroomKW, 0)
	ctr, grid := shares(kw, head, max(head-max(g.ContractHeadroomKW, 0), 0))
	if mode == windowPrice {
		return (g.PriceCNYPerKWh*grid + g.ContractPriceCNYPerKWh*ctr) * pue
	}
	return g.CarbonKgPerKWh * grid * pue
}

// window looks for a start slot within the deadline (less the deferral
// slack) whose mean carbon (or price) over the work's duration beats
// starting now by the configured threshold. It returns a Defer decision
// and true if there is one.
//
// The cost is O(candidate sites × forecast slots): each site's per-slot
// figure is computed once into a scratch buffer and a window of the
// work's duration slides over it.
func (s *Scheduler) window(snap *Snapshot, w *Workload, now time.Time, cands []cand) (Decision, bool) {
	step := snap.ForecastStep
	k0 := 0
	if now.After(snap.ForecastStart) {
		k0 = int(now.Sub(snap.ForecastStart) / step)
	}
	dur := int((w.Duration + step - 1) / step)
	if dur < 1 {
		dur = 1
	}
	slack := s.cfg.SlackFor(step, w.AtRisk())
	mode := s.spec.window
	nowBest, futBest := -1.0, -1.0
	futSite, futSlot := -1, -1
	for _, c := range cands {
		if c.late {
			continue
		}
		site := int(c.site)
		f := snap.Energy[site].Forecast
		if len(f) == 0 || k0 >= len(f) {
			continue
		}
		// Starts k0+1 … kEnd are candidates: within the forecast and no
		// later than the latest start.
		latest := w.Deadline.Add(-w.Duration - c.transfer - slack)
		kEnd := k0
		if d := latest.Sub(snap.ForecastStart); d >= 0 {
			kEnd = min(len(f)-1, int(d/step))
		}
		kEnd = max(kEnd, k0)
		// vals[i] is the figure of slot k0+i; slots past the forecast
		// repeat its last one.
		n := min(kEnd+dur, len(f)) - k0
		if cap(s.vals) < n {
			s.vals = make([]float64, n, len(f))
		}
		vals := s.vals[:n]
		e := &snap.Energy[site]
		kw, pue := snap.workloadKW(w, site), e.PUE
		for i := range vals {
			vals[i] = windowKey(mode, kw, pue, &f[k0+i])
		}
		at := func(k int) float64 { return vals[min(k-k0, n-1)] }
		// Window sum over slots [k, k+dur).
		sum := 0.0
		for k := k0; k < k0+dur; k++ {
			sum += at(k)
		}
		if v := sum / float64(dur); nowBest < 0 || v < nowBest {
			nowBest = v
		}
		for k := k0 + 1; k <= kEnd; k++ {
			sum += at(k+dur-1) - at(k-1)
			if v := sum / float64(dur); futBest < 0 || v < futBest {
				futBest, futSite, futSlot = v, site, k
			}
		}
	}
	if futSlot < 0 || nowBest < 0 || !(futBest < nowBest*(1-s.cfg.DeferThreshold)) {
		return Decision{}, false
	}
	return Decision{
		Outcome:   Defer,
		Node:      -1,
		Site:      futSite,
		NotBefore: snap.ForecastStart.Add(time.Duration(futSlot) * step),
		Reason:    FilterNone,
		Score:     futBest,
	}, true
}
