package nodes

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// LatencyModel turns the great-circle distance between an origin city and a
// site into a round-trip time (RTT):
//
//	RTT_ms = AccessMs
//	       + 2 · d_km · RouteFactor · FiberMicrosPerKm / 1000
//	       + 2 · hops · HopMs,        hops = BaseHops + ceil(d_km / KmPerHop)
//
// Defaults follow shandong-facts.md §2.3: 4.9 µs/km one way in fibre, route
// factor 1.5, 0.08 ms per routed hop, 2 + one hop per 200 km, and a 0.5 ms
// access leg (in-plant fibre / PON).
type LatencyModel struct {
	FiberMicrosPerKm float64 `json:"fiber_us_per_km" yaml:"fiber_us_per_km"`
	RouteFactor      float64 `json:"route_factor" yaml:"route_factor"`
	HopMs            float64 `json:"hop_ms" yaml:"hop_ms"`
	BaseHops         int     `json:"base_hops" yaml:"base_hops"`
	KmPerHop         float64 `json:"km_per_hop" yaml:"km_per_hop"`
	AccessMs         float64 `json:"access_ms" yaml:"access_ms"`
}

// DefaultLatencyModel returns the model described on LatencyModel.
func DefaultLatencyModel() LatencyModel {
	return LatencyModel{
		FiberMicrosPerKm: 4.9,
		RouteFactor:      1.5,
		HopMs:            0.08,
		BaseHops:         2,
		KmPerHop:         200,
		AccessMs:         0.5,
	}
}

// Validate reports out-of-range parameters.
func (m LatencyModel) Validate() error {
	var errs []error
	if !(m.FiberMicrosPerKm > 0) {
		errs = append(errs, fmt.Errorf("fiber_us_per_km %g must be > 0", m.FiberMicrosPerKm))
	}
	if !(m.RouteFactor >= 1) {
		errs = append(errs, fmt.Errorf("route_factor %g must be >= 1", m.RouteFactor))
	}
	if !(m.HopMs >= 0) {
		errs = append(errs, fmt.Errorf("hop_ms %g must be >= 0", m.HopMs))
	}
	if m.BaseHops < 0 {
		errs = append(errs, fmt.Errorf("base_hops %d must be >= 0", m.BaseHops))
	}
	if !(m.KmPerHop > 0) {
		errs = append(errs, fmt.Errorf("km_per_hop %g must be > 0", m.KmPerHop))
	}
	if !(m.AccessMs >= 0) {
		errs = append(errs, fmt.Errorf("access_ms %g must be >= 0", m.AccessMs))
	}
	return errors.Join(errs...)
}

// RTTMs returns the round-trip time in milliseconds over distanceKm.
func (m LatencyModel) RTTMs(distanceKm float64) float64 {
	if distanceKm < 0 {
		distanceKm = 0
	}
	hops := float64(m.BaseHops) + math.Ceil(distanceKm/m.KmPerHop)
	return m.AccessMs + 2*distanceKm*m.RouteFactor*m.FiberMicrosPerKm/1000 + 2*hops*m.HopMs
}

// LatencyTable holds the RTT from every origin to every site, and per origin
// the sites sorted by RTT (ties broken by site index), computed once.
type LatencyTable struct {
	origins int
	sites   int
	rtt     []float64 // origins × sites, row-major
	sorted  [][]int32 // per origin: site indices by ascending RTT
}

// NewLatencyTable computes the table for origins × sites.
func NewLatencyTable(m LatencyModel, origins []City, sites []Site) (*LatencyTable, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("latency model: %w", err)
	}
	t := &LatencyTable{
		origins: len(origins),
		sites:   len(sites),
		rtt:     make([]float64, len(origins)*len(sites)),
		sorted:  make([][]int32, len(origins)),
	}
	for o, c := range origins {
		row := t.rtt[o*len(sites) : (o+1)*len(sites)]
		idx := make([]int32, len(sites))
		for s, site := range sites {
			row[s] = m.RTTMs(DistanceKm(c.Lat, c.Lon, site.Lat, site.Lon))
			idx[s] = int32(s)
		}
		sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] < row[idx[b]] })
		t.sorted[o] = idx
	}
	return t, nil
}

// Origins is the number of origins in the table.
func (t *LatencyTable) Origins() int { return t.origins }

// Sites is the number of sites in the table.
func (t *LatencyTable) Sites() int { return t.sites }

// RTTMs returns the round-trip time in ms from origin to site.
func (t *LatencyTable) RTTMs(origin, site int) float64 { return t.rtt[origin*t.sites+site] }

// Row returns the RTTs from origin to every site, indexed by site. The
// caller must not modify it.
func (t *LatencyTable) Row(origin int) []float64 {
	return t.rtt[origin*t.sites : (origin+1)*t.sites]
}

// ByRTT returns the site indices sorted by ascending RTT from origin. The
// caller must not modify it.
func (t *LatencyTable) ByRTT(origin int) []int32 { return t.sorted[origin] }
