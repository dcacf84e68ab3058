package sim

import (
	"fmt"
	"sync"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/nodes/energy"
	"github.com/suanli/suanli/scheduler"
)

// EnergySource serves a scenario's per-site energy models to a live
// scheduler (`suanli server --energy-scenario`): the same models the
// simulator steps through a scenario, here stepped along the wall clock, so
// the replicated cluster's policies see real prices, carbon intensity and
// renewable headroom instead of neutral signals. It is safe for concurrent
// use.
type EnergySource struct {
	interval time.Duration
	step     time.Duration // forecast slot
	steps    int           // forecast slots

	mu    sync.Mutex
	sites map[string]*liveSite
}

// liveSite is one site's model and where its clock stands.
type liveSite struct {
	m                 EnergyModel
	idleKW            float64 // IT power of the site's scenario nodes when idle
	wPerCore, wPerGPU float64 // marginal IT power per allocated core and GPU
	last              time.Time
	lastKW            float64
	forecast          []energy.Signal
	forecastAt        time.Time
	forecastKW        float64
}

// maxCatchUp bounds how many accounting intervals one refresh steps through
// (a server idle for days jumps ahead instead).
const maxCatchUp = 96

// NewEnergySource builds the models of every site of c.
func NewEnergySource(c *Config) (*EnergySource, error) {
	cc := *c
	cc.withDefaults()
	src := &EnergySource{interval: cc.Interval, step: cc.ForecastStep, steps: cc.ForecastSteps, sites: map[string]*liveSite{}}
	idle := make([]float64, len(cc.Topology.Sites))
	for _, n := range cc.Topology.Nodes {
		p, ok := cc.NodePower[n.Type]
		if !ok {
			return nil, fmt.Errorf("energy source: node %s: no power model for type %q", n.ID, n.Type)
		}
		idle[n.Site] += p.PowerW(nodes.Resources{}) / 1000
	}
	wCore, wGPU := siteMarginalW(&cc)
	for i, site := range cc.Topology.Sites {
		m, err := cc.NewEnergy(i)
		if err != nil {
			return nil, fmt.Errorf("energy source: site %s: %w", site.ID, err)
		}
		src.sites[site.ID] = &liveSite{m: m, idleKW: idle[i], wPerCore: wCore[i], wPerGPU: wGPU[i]}
	}
	return src, nil
}

// SiteEnergy returns the energy view of the site with the given ID at time
// at, with used allocated on its nodes, and a forecast of the coming hours
// from the slot holding at (the scenario's forecast step and length); false
// if the scenario has no such site. Between
// calls the site's model (battery, weather) is stepped forward through
// whole accounting intervals at the load last seen.
func (s *EnergySource) SiteEnergy(siteID string, at time.Time, used nodes.Resources) (scheduler.SiteEnergy, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ls, ok := s.sites[siteID]
	if !ok {
		return scheduler.SiteEnergy{}, false
	}
	kw := ls.idleKW + float64(used.CPUMilli)/1000*ls.wPerCore/1000 + float64(used.GPUMilli)/1000*ls.wPerGPU/1000
	switch {
	case ls.last.IsZero() || at.Before(ls.last):
		ls.last = at.Truncate(s.interval)
	case at.Sub(ls.last) > time.Duration(maxCatchUp)*s.interval:
		ls.last = at.Add(-time.Duration(maxCatchUp) * s.interval).Truncate(s.interval)
	}
	for !ls.last.Add(s.interval).After(at) {
		// A model that refuses an interval (it should not) keeps its
		// state; the signals below still come from it.
		_, _ = ls.m.Step(ls.last, s.interval, ls.lastKW*s.interval.Hours())
		ls.last = ls.last.Add(s.interval)
	}
	ls.lastKW = kw
	start := at.Truncate(s.step)
	if len(ls.forecast) != s.steps || !ls.forecastAt.Equal(start) || ls.forecastKW != kw {
		if cap(ls.forecast) < s.steps {
			ls.forecast = make([]energy.Signal, s.steps)
		}
		ls.forecast = ls.m.Forecast(start, s.step, kw, ls.forecast[:s.steps])
		ls.forecastAt, ls.forecastKW = start, kw
	}
	e := scheduler.SiteEnergy{
		Now:              scheduler.Signal(ls.m.Signal(at, kw)),
		Forecast:         make([]scheduler.Signal, len(ls.forecast)),
		PUE:              ls.m.PUE(at, kw),
		MarginalWPerCore: ls.wPerCore,
		MarginalWPerGPU:  ls.wPerGPU,
	}
	for k, f := range ls.forecast {
		e.Forecast[k] = scheduler.Signal(f)
	}
	return e, true
}

// Sites lists the site IDs the source knows.
func (s *EnergySource) Sites() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.sites))
	for id := range s.sites {
		out = append(out, id)
	}
	return out
}

// ForecastStep is the length of one forecast slot.
func (s *EnergySource) ForecastStep() time.Duration { return s.step }
