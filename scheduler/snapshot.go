package scheduler

import (
	"fmt"
	"time"

	"github.com/suanli/suanli/nodes"
)

// Signal is a site's energy situation at one time.
type Signal struct {
	// PriceCNYPerKWh is the price of grid energy.
	PriceCNYPerKWh float64
	// CarbonKgPerKWh is the carbon intensity of grid energy.
	CarbonKgPerKWh float64
	// RenewableHeadroomKW is how much more facility load renewables (and
	// stored renewable energy) could cover without drawing on the grid,
	// green-power contracts included.
	RenewableHeadroomKW float64
	// ContractHeadroomKW is the part of RenewableHeadroomKW that
	// green-power contracts supply: carbon-free, but paid for at
	// ContractPriceCNYPerKWh. The rest of the headroom (on-site solar and
	// wind, stored energy) costs nothing more to use.
	ContractHeadroomKW     float64
	ContractPriceCNYPerKWh float64
}

// SiteEnergy is what the core knows about a site's energy.
type SiteEnergy struct {
	// Now is the signal at the snapshot's time.
	Now Signal
	// Forecast holds expected signals at ForecastStep intervals starting at
	// the snapshot's ForecastStart; it may be empty.
	Forecast []Signal
	// PUE is the facility's current power usage effectiveness.
	PUE float64
	// MarginalWPerCore and MarginalWPerGPU are the extra IT power in W one
	// allocated CPU core or whole GPU draws at this site (peak minus idle
	// over capacity of its node types). They turn a request into kW.
	MarginalWPerCore float64
	MarginalWPerGPU  float64
}

// Snapshot is the read-only view the core decides on. A driver builds it
// once and refreshes parts of it as they change: State through Allocate and
// Release, energy signals once per accounting interval (SetEnergy).
type Snapshot struct {
	State   *State
	Latency *nodes.LatencyTable
	// SiteCity is the origin (city) index of each site, so data that
	// starts in a site's own city needs no transfer.
	SiteCity []int
	// BandwidthGbps is the data-transfer bandwidth into each site; 0 means
	// transfers take no time. Call Refresh after changing it.
	BandwidthGbps []float64
	// Energy holds the energy signals per site.
	Energy []SiteEnergy
	// ForecastStart and ForecastStep place SiteEnergy.Forecast in time.
	ForecastStart time.Time
	ForecastStep  time.Duration
	// Running describes the work on each node, for preemption
	// (Config.Preempt); nil disables it.
	Running Running

	// derived by Refresh
	secPerMB     []float64 // seconds to move one MB into each site (8 / (Gbit/s × 1000)), 0 = instant
	maxRTTMs     float64
	maxCostKey   float64 // max over sites of price × PUE (grid or contract)
	maxCarbonKey float64 // max over sites of carbon × PUE
	eco          []siteEco
}

// siteEco holds a site's energy scoring constants for the current signals,
// so the per-site work of a decision is a few multiplications.
type siteEco struct {
	costN, carbonN      float64 // price × PUE and carbon × PUE over their maxima
	ctrCostN            float64 // contract price × PUE over the price maximum
	headroomKW          float64 // renewable headroom now, contracts included
	freeKW              float64 // the part of it that is free: headroomKW − contract headroom
	kwPerCore, kwPerGPU float64 // facility kW per allocated core and whole GPU
}

// NewSnapshot ties a state and a latency table together, with neutral
// energy signals (price 1, carbon 1, no headroom, PUE from the site) and no
// transfer times. The latency table's sites must be the state's sites.
func NewSnapshot(st *State, lt *nodes.LatencyTable, cities []nodes.City) (*Snapshot, error) {
	if lt.Sites() != st.NumSites() {
		return nil, fmt.Errorf("new snapshot: latency table has %d sites, state has %d", lt.Sites(), st.NumSites())
	}
	if lt.Origins() != len(cities) {
		return nil, fmt.Errorf("new snapshot: latency table has %d origins, %d cities given", lt.Origins(), len(cities))
	}
	s := &Snapshot{
		State:         st,
		Latency:       lt,
		SiteCity:      make([]int, st.NumSites()),
		BandwidthGbps: make([]float64, st.NumSites()),
		Energy:        make([]SiteEnergy, st.NumSites()),
		ForecastStep:  time.Hour,
	}
	for i := range s.SiteCity {
		site := st.Site(i)
		s.SiteCity[i] = -1
		if ci, err := nodes.LookupCity(cities, site.City); err == nil {
			s.SiteCity[i] = ci
		}
		s.Energy[i] = SiteEnergy{Now: Signal{PriceCNYPerKWh: 1, CarbonKgPerKWh: 1}, PUE: site.PUE, MarginalWPerCore: 5, MarginalWPerGPU: 500}
	}
	s.Refresh()
	return s, nil
}

// Refresh recomputes the normalisers the scorers use. Call it after
// changing Energy or the latency table.
func (s *Snapshot) Refresh() {
	s.maxRTTMs, s.maxCostKey, s.maxCarbonKey = 0, 0, 0
	if len(s.secPerMB) != len(s.BandwidthGbps) {
		s.secPerMB = make([]float64, len(s.BandwidthGbps))
	}
	for i, bw := range s.BandwidthGbps {
		s.secPerMB[i] = 0
		if bw > 0 {
			s.secPerMB[i] = 8 / (bw * 1000)
		}
	}
	for o := 0; o < s.Latency.Origins(); o++ {
		for _, v := range s.Latency.Row(o) {
			if v > s.maxRTTMs {
				s.maxRTTMs = v
			}
		}
	}
	for i := range s.Energy {
		e := &s.Energy[i]
		if v := e.Now.priceKey() * e.PUE; v > s.maxCostKey {
			s.maxCostKey = v
		}
		if v := e.Now.CarbonKgPerKWh * e.PUE; v > s.maxCarbonKey {
			s.maxCarbonKey = v
		}
		for _, f := range e.Forecast {
			if v := f.priceKey() * e.PUE; v > s.maxCostKey {
				s.maxCostKey = v
			}
			if v := f.CarbonKgPerKWh * e.PUE; v > s.maxCarbonKey {
				s.maxCarbonKey = v
			}
		}
	}
	if len(s.eco) != len(s.Energy) {
		s.eco = make([]siteEco, len(s.Energy))
	}
	for i := range s.Energy {
		e := &s.Energy[i]
		ec := siteEco{headroomKW: max(e.Now.RenewableHeadroomKW, 0),
			kwPerCore: e.MarginalWPerCore * e.PUE / 1000, kwPerGPU: e.MarginalWPerGPU * e.PUE / 1000}
		ec.freeKW = max(ec.headroomKW-max(e.Now.ContractHeadroomKW, 0), 0)
		if s.maxCostKey > 0 {
			ec.costN = e.Now.PriceCNYPerKWh * e.PUE / s.maxCostKey
			ec.ctrCostN = e.Now.ContractPriceCNYPerKWh * e.PUE / s.maxCostKey
		}
		if s.maxCarbonKey > 0 {
			ec.carbonN = e.Now.CarbonKgPerKWh * e.PUE / s.maxCarbonKey
		}
		s.eco[i] = ec
	}
}

// priceKey is the highest price of energy under g: the grid's, or the
// contracts' while they have headroom.
func (g *Signal) priceKey() float64 {
	if g.ContractHeadroomKW > 0 {
		return max(g.PriceCNYPerKWh, g.ContractPriceCNYPerKWh)
	}
	return g.PriceCNYPerKWh
}

// shares splits kw of facility power at a site into what the free
// headroom covers, what the contracts cover and what the grid must
// supply, as fractions of kw: free first, then contracts.
func shares(kw, headroomKW, freeKW float64) (contract, grid float64) {
	if kw <= 0 {
		return 0, 1
	}
	covered := min(headroomKW/kw, 1)
	return covered - min(freeKW/kw, 1), 1 - covered
}

// TransferTime is how long moving w's input from its origin to site takes
// (0 in the origin's own city or with no bandwidth set).
func (s *Snapshot) TransferTime(w *Workload, site int) time.Duration { return s.transferTime(w, site) }

// transferTime is how long moving w's input to site takes.
func (s *Snapshot) transferTime(w *Workload, site int) time.Duration {
	if w.InputMB <= 0 || s.SiteCity[site] == w.Origin || site >= len(s.secPerMB) {
		return 0
	}
	return time.Duration(w.InputMB * s.secPerMB[site] * float64(time.Second))
}

// workloadKW is the facility power in kW that w adds at site.
func (s *Snapshot) workloadKW(w *Workload, site int) float64 {
	e := &s.Energy[site]
	it := float64(w.Request.CPUMilli)/1000*e.MarginalWPerCore + float64(w.Request.GPUMilli)/1000*e.MarginalWPerGPU
	return it / 1000 * e.PUE
}
