package energy

import (
	"math"
	"math/rand/v2"
	"time"
)

// WindModel names a wind generation model.
type WindModel string

const (
	// WindAR1 is the correlated stochastic model.
	WindAR1 WindModel = "ar1"
	// WindTrace follows a CSV column (e.g. the WND column of
	// pjm-2022-hourly-mix-ci.csv normalised by its max), scaled by MW.
	WindTrace WindModel = "trace"
)

// Wind capacity factors (shandong-facts.md §3.3, §5.2).
const (
	// OnshoreCFMean is the onshore annual capacity factor (≈2,100 h) [K].
	OnshoreCFMean = 0.24
	// OffshoreCFMean is the middle of the offshore range 35–39 % (the 500 MW
	// Bohai project's 3,400 h gives 39 %) [S-derived/A].
	OffshoreCFMean = 0.37
	// DefaultWindRhoHourly is the hourly AR(1) coefficient [K/A].
	DefaultWindRhoHourly = 0.9
	// DefaultWindSpread is the slope b of the probit map [A]: with b = 1.5
	// and a 24 % mean the plant is near standstill (CF < 5 %) about 40 % of
	// the time and above 90 % about 4 % of the time.
	DefaultWindSpread = 1.5
)

// WindSpec configures on-site (or contracted) wind generation.
//
// AR(1) model: a latent standard-normal process x follows
// x(t+Δ) = ρ^Δh·x(t) + √(1 − ρ^2Δh)·ε (ε ~ N(0,1), Δh in hours: the exact
// discretisation of a continuous AR(1), so the statistics do not depend on
// the step) and the capacity factor is cf = Φ(a + b·x) with b = Spread and
// a = √(1 + b²)·Φ⁻¹(CFMean), which makes E[cf] = CFMean exactly.
type WindSpec struct {
	// MW is the nameplate capacity; 0 means none.
	MW float64 `yaml:"mw" json:"mw"`
	// Model is "ar1" or "trace".
	Model WindModel `yaml:"model" json:"model"`
	// CFMean is the mean capacity factor, (0,1): 0.24 onshore, 0.35–0.39
	// offshore.
	CFMean float64 `yaml:"cf_mean" json:"cf_mean"`
	// RhoHourly is the AR(1) coefficient over one hour, [0,1).
	RhoHourly float64 `yaml:"rho_hourly" json:"rho_hourly"`
	// Spread is b, how strongly the latent variable moves the capacity
	// factor, (0,10].
	Spread float64 `yaml:"spread" json:"spread"`
	// Trace is the series for model "trace" (normalize "max" for a column
	// of MW, "none" for one already normalised).
	Trace TraceSpec `yaml:"trace" json:"trace"`
}

// DefaultWindSpec is an onshore AR(1) model with MW 0.
func DefaultWindSpec() WindSpec {
	return WindSpec{
		Model:     WindAR1,
		CFMean:    OnshoreCFMean,
		RhoHourly: DefaultWindRhoHourly,
		Spread:    DefaultWindSpread,
		Trace:     TraceSpec{Normalize: NormalizeMax},
	}
}

// Validate checks mw >= 0 and, when mw > 0, the model's parameters.
func (s WindSpec) Validate() error {
	c := &checker{prefix: "wind"}
	s.validate(c, true)
	return c.err()
}

func (s WindSpec) validate(c *checker, needMW bool) {
	c.nonNeg("mw", s.MW)
	if needMW && !(s.MW > 0) {
		return
	}
	c.oneOf("model", string(s.Model), string(WindAR1), string(WindTrace))
	switch s.Model {
	case WindAR1:
		c.inOpen("cf_mean", s.CFMean, 0, 1)
		if !(s.RhoHourly >= 0 && s.RhoHourly < 1) {
			c.fail("rho_hourly", s.RhoHourly, "must be in [0,1)")
		}
		c.inOpenLow("spread", s.Spread, 0, 10)
	case WindTrace:
		tc := c.sub("trace")
		s.Trace.validate(tc, NormalizeNone, NormalizeMax)
		c.merge(tc)
	}
}

// Wind is a built wind generator (AR(1) or trace). It carries the latent
// state; EnergyKWh advances it, ExpectedKW only reads it.
type Wind struct {
	capKW  float64
	trace  *Trace
	a, b   float64 // cf = Φ(a + b·x)
	lnRho  float64 // ln of the hourly coefficient (−Inf for ρ = 0)
	rng    *rand.Rand
	x      float64
	at     time.Time
	cfMean float64
}

// NewWind builds a wind generator of spec.MW with its latent state drawn
// from the stationary N(0,1) at start from rng (which it keeps and draws
// from as it advances). src resolves the trace file of model "trace".
func NewWind(spec WindSpec, start time.Time, rng *rand.Rand, src TableSource) (*Wind, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return newWind(spec, spec.MW, start, rng, src)
}

func newWind(spec WindSpec, mw float64, start time.Time, rng *rand.Rand, src TableSource) (*Wind, error) {
	w := &Wind{capKW: mw * 1000, rng: rng, at: start}
	if spec.Model == WindTrace {
		tr, err := loadTrace(spec.Trace, src, 1)
		if err != nil {
			return nil, err
		}
		w.trace = tr
		w.cfMean = tr.Mean()
		return w, nil
	}
	w.b = spec.Spread
	w.a = math.Sqrt(1+w.b*w.b) * normQuantile(spec.CFMean)
	w.lnRho = math.Log(spec.RhoHourly)
	w.cfMean = spec.CFMean
	w.x = rng.NormFloat64()
	return w, nil
}

// cf maps a latent value x to a capacity factor, Φ(a + b·x).
func (w *Wind) cf(x float64) float64 { return normCDF(w.a + w.b*x) }

// kwAt advances the latent state to m and returns the output in kW at m.
func (w *Wind) kwAt(m time.Time, _ *clock) float64 {
	if w.trace != nil {
		return w.capKW * max(0, w.trace.At(m))
	}
	if h := m.Sub(w.at).Hours(); h > 0 {
		w.x = ou(w.rng, w.x, math.Exp(w.lnRho*h))
		w.at = m
	}
	return w.capKW * w.cf(w.x)
}

// expectKW is E[output at m | current state]: with lag h and r = ρ^h,
// x(m) ~ N(r·x, 1 − r²), so E[Φ(a + b·x(m))] = Φ((a + b·r·x)/√(1 + b²(1 − r²))),
// which decays to the mean capacity factor as the lag grows.
func (w *Wind) expectKW(m time.Time, _ *clock) float64 {
	if w.trace != nil {
		return w.capKW * max(0, w.trace.At(m))
	}
	r := 1.0
	if h := m.Sub(w.at).Hours(); h > 0 {
		r = math.Exp(w.lnRho * h)
	}
	return w.capKW * normCDF((w.a+w.b*r*w.x)/math.Sqrt(1+w.b*w.b*(1-r*r)))
}

// EnergyKWh integrates the output over [t, t+dt) in pieces of at most
// 15 minutes (midpoint rule), advancing the latent state.
func (w *Wind) EnergyKWh(t time.Time, dt time.Duration) float64 {
	return integrate(t, dt, w.kwAt)
}

// ExpectedKW is the expected output at t given the current state, without
// drawing from the random stream.
func (w *Wind) ExpectedKW(t time.Time) float64 {
	return w.expectKW(t, nil)
}

// CapacityKW is the nameplate capacity in kW.
func (w *Wind) CapacityKW() float64 { return w.capKW }

// MeanCF is the model's long-run mean capacity factor.
func (w *Wind) MeanCF() float64 { return w.cfMean }
