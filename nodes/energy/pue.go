package energy

import (
	"fmt"
	"time"
)

// PUEModel names how facility overhead depends on load.
type PUEModel string

const (
	// PUEConstant: facility = IT × design (× monthly factor on the overhead).
	PUEConstant PUEModel = "constant"
	// PUELoad: the overhead has a fixed part (cooling plant, UPS, lighting
	// that run whatever the load) and a part proportional to IT power,
	// calibrated so PUE equals the design value at the rated IT load and
	// rises as the load falls.
	PUELoad PUEModel = "load"
)

// PUESpec configures a site's power usage effectiveness. With overhead
// factor s(month) (1 when no monthly factors are given):
//
//	constant: facility_kW = IT_kW · (1 + (design − 1)·s)
//	load:     facility_kW = IT_kW + s·(F + k·IT_kW),
//	          F = fixed_fraction·(design − 1)·rated_it_kw,
//	          k = (1 − fixed_fraction)·(design − 1)
//
// so at IT_kW = rated_it_kw and s = 1 the ratio is exactly design, and
// PUE(IT) = 1 + s·(k + F/IT_kW) grows as IT_kW falls.
type PUESpec struct {
	// Model is "constant" or "load".
	Model PUEModel `yaml:"model" json:"model"`
	// Design is the PUE at full (rated) IT load, in [1,3].
	Design float64 `yaml:"design" json:"design"`
	// RatedITKW is the full IT load in kW (model "load"): typically the sum
	// of the site's servers' peak power.
	RatedITKW float64 `yaml:"rated_it_kw" json:"rated_it_kw"`
	// FixedFraction is the share of the full-load overhead that does not
	// scale with IT load (model "load"), in [0,1].
	FixedFraction float64 `yaml:"fixed_fraction" json:"fixed_fraction"`
	// MonthlyOverheadFactor, when given, holds 12 factors (January first)
	// on the overhead, e.g. more cooling in summer. They are relative:
	// NewPUE scales them to mean 1, so Design stays the annual-mean PUE at
	// full load.
	MonthlyOverheadFactor []float64 `yaml:"monthly_overhead_factor" json:"monthly_overhead_factor"`
}

// DefaultPUEFixedFraction is the assumed fixed share of the overhead [A].
const DefaultPUEFixedFraction = 0.5

// DefaultPUESpec is a constant PUE of 1.25, the new-large-DC cap of
// 鲁发〔2023〕12号 (shandong-facts.md §3.4), with fixed_fraction 0.5 ready
// for the load model.
func DefaultPUESpec() PUESpec {
	return PUESpec{Model: PUEConstant, Design: 1.25, FixedFraction: DefaultPUEFixedFraction}
}

// ShandongMonthlyOverhead is an assumed [A] seasonal profile of cooling
// overhead for a Shandong site (free cooling in winter, chillers in the
// July–August heat), January first, before normalisation to mean 1.
func ShandongMonthlyOverhead() []float64 {
	return []float64{0.80, 0.80, 0.90, 1.00, 1.10, 1.25, 1.35, 1.35, 1.15, 0.95, 0.85, 0.80}
}

// Validate checks design in [1,3], the model name, rated_it_kw > 0 and
// fixed_fraction in [0,1] for the load model, and 0 or 12 monthly factors
// in (0,5].
func (s PUESpec) Validate() error {
	c := &checker{prefix: "pue"}
	s.validate(c)
	return c.err()
}

func (s PUESpec) validate(c *checker) {
	c.oneOf("model", string(s.Model), string(PUEConstant), string(PUELoad))
	c.in("design", s.Design, 1, 3)
	if s.Model == PUELoad {
		c.positive("rated_it_kw", s.RatedITKW)
		c.in("fixed_fraction", s.FixedFraction, 0, 1)
	}
	switch n := len(s.MonthlyOverheadFactor); n {
	case 0, 12:
		for i, f := range s.MonthlyOverheadFactor {
			c.inOpenLow(fmt.Sprintf("monthly_overhead_factor[%d]", i), f, 0, 5)
		}
	default:
		c.fail("monthly_overhead_factor", n, "values given; want 0 or 12 (one per month, January first)")
	}
}

// PUE is a built PUE model. Its methods do not allocate.
type PUE struct {
	fixedKW float64 // F
	prop    float64 // k
	season  [12]float64
	design  float64
}

// NewPUE validates spec and builds the model.
func NewPUE(spec PUESpec) (*PUE, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	p := &PUE{design: spec.Design}
	over := spec.Design - 1
	if spec.Model == PUELoad {
		p.fixedKW = spec.FixedFraction * over * spec.RatedITKW
		p.prop = (1 - spec.FixedFraction) * over
	} else {
		p.prop = over
	}
	for i := range p.season {
		p.season[i] = 1
	}
	if len(spec.MonthlyOverheadFactor) == 12 {
		var sum float64
		for _, f := range spec.MonthlyOverheadFactor {
			sum += f
		}
		for i, f := range spec.MonthlyOverheadFactor {
			p.season[i] = f * 12 / sum
		}
	}
	return p, nil
}

// Design is the configured full-load PUE.
func (p *PUE) Design() float64 { return p.design }

// FacilityKW is the facility power at IT power itKW (>= 0) at time t.
func (p *PUE) FacilityKW(itKW float64, t time.Time) float64 {
	c := localClock(t)
	return p.facilityKW(itKW, c.month)
}

func (p *PUE) facilityKW(itKW float64, month int) float64 {
	return itKW + p.season[month-1]*(p.fixedKW+p.prop*itKW)
}

// Ratio is facility / IT power at IT power itKW at time t. For itKW <= 0
// (where the ratio is undefined) it returns the full-load ratio
// 1 + s·(design − 1).
func (p *PUE) Ratio(itKW float64, t time.Time) float64 {
	c := localClock(t)
	return p.ratio(itKW, c.month)
}

func (p *PUE) ratio(itKW float64, month int) float64 {
	s := p.season[month-1]
	if itKW <= 0 {
		return 1 + s*(p.design-1)
	}
	return 1 + s*(p.prop+p.fixedKW/itKW)
}

// Marginal is d facility / d IT at time t: the facility kW one more IT kW
// costs (1 + s·k; the fixed overhead is paid anyway). It is at most the
// ratio.
func (p *PUE) Marginal(t time.Time) float64 {
	c := localClock(t)
	return 1 + p.season[c.month-1]*p.prop
}
