package energy

import (
	"fmt"
	"time"
)

// Shandong grid carbon intensities (shandong-facts.md §3.1, §5.2).
const (
	// ShandongCarbonKgPerKWh is the 2023 provincial average emission factor
	// (MEE/NBS, location-based).
	ShandongCarbonKgPerKWh = 0.6191
	// MarginalCarbonKgPerKWh is the intensity of shiftable load: the 2022
	// national fossil-only factor (0.8325), rounded.
	MarginalCarbonKgPerKWh = 0.83
)

// CarbonShape names how grid carbon intensity varies in time.
type CarbonShape string

const (
	// CarbonFlat is the mean at every hour.
	CarbonFlat CarbonShape = "flat"
	// CarbonShandong is the assumed hourly shape of shandong-facts.md §5.2:
	// ×1.10 at night and in the evening peak (17–06 h), ×0.75 at 11–14 h in
	// spring (Mar–May) and autumn (Sep–Nov) when solar floods the grid,
	// ×1.0 otherwise, scaled so the mean over a 365-day year is the mean.
	CarbonShandong CarbonShape = "shandong"
	// CarbonTrace follows a CSV column scaled so its time-average is the
	// mean (e.g. the avg_CI column of pjm-2022-hourly-mix-ci.csv).
	CarbonTrace CarbonShape = "trace"
)

// CarbonSpec configures the carbon intensity of grid electricity.
type CarbonSpec struct {
	// MeanKgPerKWh is the annual mean intensity of grid energy.
	MeanKgPerKWh float64 `yaml:"mean_kg_per_kwh" json:"mean_kg_per_kwh"`
	// MarginalKgPerKWh is the intensity used to value load that is shifted
	// (reported alongside, not used in the interval accounting).
	MarginalKgPerKWh float64 `yaml:"marginal_kg_per_kwh" json:"marginal_kg_per_kwh"`
	// Shape is "shandong", "flat" or "trace".
	Shape CarbonShape `yaml:"shape" json:"shape"`
	// Trace is the series for shape "trace"; normalize must be "mean".
	Trace TraceSpec `yaml:"trace" json:"trace"`
}

// DefaultCarbonSpec is Shandong 2023: mean 0.6191 kg/kWh with the assumed
// hourly shape, marginal 0.83 kg/kWh.
func DefaultCarbonSpec() CarbonSpec {
	return CarbonSpec{
		MeanKgPerKWh:     ShandongCarbonKgPerKWh,
		MarginalKgPerKWh: MarginalCarbonKgPerKWh,
		Shape:            CarbonShandong,
		Trace:            TraceSpec{Normalize: NormalizeMean},
	}
}

// Validate checks the intensities are in [0,5] kg/kWh and the shape is
// known (with a usable trace for shape "trace").
func (s CarbonSpec) Validate() error {
	c := &checker{prefix: "carbon"}
	s.validate(c)
	return c.err()
}

func (s CarbonSpec) validate(c *checker) {
	c.in("mean_kg_per_kwh", s.MeanKgPerKWh, 0, 5)
	c.in("marginal_kg_per_kwh", s.MarginalKgPerKWh, 0, 5)
	c.oneOf("shape", string(s.Shape), string(CarbonShandong), string(CarbonFlat), string(CarbonTrace))
	if s.Shape == CarbonTrace {
		tc := c.sub("trace")
		s.Trace.validate(tc, NormalizeMean)
		c.merge(tc)
	}
}

// shandongCarbonFactor is the unnormalised hourly shape.
func shandongCarbonFactor(month, hour int) float64 {
	switch {
	case hour >= 17 || hour < 6:
		return 1.10
	case hour >= 11 && hour < 14 && (month >= 3 && month <= 5 || month >= 9 && month <= 11):
		return 0.75
	}
	return 1.0
}

// Carbon is a built grid carbon-intensity model. Its methods do not
// allocate.
type Carbon struct {
	table    [12][24]float64
	trace    *Trace
	marginal float64
	mean     float64
}

// NewCarbon validates spec and builds the model; src resolves trace files
// (it may be nil unless the shape is "trace").
func NewCarbon(spec CarbonSpec, src TableSource) (*Carbon, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	m := &Carbon{marginal: spec.MarginalKgPerKWh, mean: spec.MeanKgPerKWh}
	switch spec.Shape {
	case CarbonFlat:
		for mo := range 12 {
			for h := range 24 {
				m.table[mo][h] = spec.MeanKgPerKWh
			}
		}
	case CarbonShandong:
		var sum float64
		for mo := range 12 {
			for h := range 24 {
				sum += float64(monthDays[mo]) * shandongCarbonFactor(mo+1, h)
			}
		}
		norm := spec.MeanKgPerKWh / (sum / (365 * 24))
		for mo := range 12 {
			for h := range 24 {
				m.table[mo][h] = norm * shandongCarbonFactor(mo+1, h)
			}
		}
	case CarbonTrace:
		tr, err := loadTrace(spec.Trace, src, spec.MeanKgPerKWh)
		if err != nil {
			return nil, fmt.Errorf("carbon: %w", err)
		}
		m.trace = tr
	}
	return m, nil
}

// IntensityAt returns the grid's carbon intensity at t in kg CO2/kWh.
func (m *Carbon) IntensityAt(t time.Time) float64 {
	if m.trace != nil {
		return m.trace.At(t)
	}
	c := localClock(t)
	return m.table[c.month-1][c.hi]
}

func (m *Carbon) at(t time.Time, c *clock) float64 {
	if m.trace != nil {
		return m.trace.At(t)
	}
	return m.table[c.month-1][c.hi]
}

// MarginalKgPerKWh is the intensity for valuing shifted load.
func (m *Carbon) MarginalKgPerKWh() float64 { return m.marginal }

// MeanKgPerKWh is the configured annual mean.
func (m *Carbon) MeanKgPerKWh() float64 { return m.mean }
