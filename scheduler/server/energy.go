package server

import (
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler"
)

// EnergySource supplies a site's energy view at a time and load: the
// simulator's energy models through sim.EnergySource (`suanli server
// --energy-scenario`), or anything else that knows prices and weather.
type EnergySource interface {
	// SiteEnergy returns the site's signals now and forecast (slots of
	// ForecastStep from the slot holding at), its PUE and marginal power,
	// with used allocated on its nodes; false for a site it does not know,
	// which keeps neutral signals.
	SiteEnergy(siteID string, at time.Time, used nodes.Resources) (scheduler.SiteEnergy, bool)
	// ForecastStep is the length of a forecast slot.
	ForecastStep() time.Duration
}

// applyEnergy sets snap's energy signals from the configured source at
// now (nothing without one) and refreshes the snapshot's normalisers.
func (s *Server) applyEnergy(snap *scheduler.Snapshot, now time.Time) {
	src := s.cfg.Energy
	if src == nil {
		return
	}
	st := snap.State
	for i := 0; i < st.NumSites(); i++ {
		if e, ok := src.SiteEnergy(st.Site(i).ID, now, st.SiteUsedAll(i)); ok {
			snap.Energy[i] = e
		}
	}
	step := src.ForecastStep()
	snap.ForecastStart, snap.ForecastStep = now.Truncate(step), step
	snap.Refresh()
}
