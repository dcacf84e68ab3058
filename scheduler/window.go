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

// windowKey is the per-kWh figure a window policy minimises for work at
// a site under signal g: the carbon of the grid share of its power, or the
// price of the grid and contract shares.
func (s *Snapshot) windowKey(mode windowMode, w *Workload, site int, g Signal) float64 {
	e := &s.Energy[site]
	head := max(g.RenewableHeadroomKW, 0)
	ctr, grid := shares(s.workloadKW(w, site), head, max(head-max(g.ContractHeadroomKW, 0), 0))
	if mode == windowPrice {
		return (g.PriceCNYPerKWh*grid + g.ContractPriceCNYPerKWh*ctr) * e.PUE
	}
	return g.CarbonKgPerKWh * grid * e.PUE
}

// window looks for a start slot within the deadline (less the deferral
// slack) whose mean carbon (or price) over the work's duration beats
// starting now by the configured threshold. It returns a Defer decision and true if there is one.
//
// The cost is O(candidate sites × forecast slots): a sliding window over
// each site's forecast.
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
		at := func(k int) float64 {
			if k >= len(f) {
				k = len(f) - 1
			}
			return snap.windowKey(s.spec.window, w, site, f[k])
		}
		latest := w.Deadline.Add(-w.Duration - c.transfer - slack)
		// Window sum over slots [k, k+dur).
		sum := 0.0
		for k := k0; k < k0+dur; k++ {
			sum += at(k)
		}
		if v := sum / float64(dur); nowBest < 0 || v < nowBest {
			nowBest = v
		}
		for k := k0 + 1; k < len(f); k++ {
			if snap.ForecastStart.Add(time.Duration(k) * step).After(latest) {
				break
			}
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
