package energy

import (
	"math"
	"math/rand/v2"
	"time"
)

// SolarModel names a solar generation model.
type SolarModel string

const (
	// SolarClearSky is the clear-sky model with stochastic cloud cover.
	SolarClearSky SolarModel = "clear-sky"
	// SolarTrace follows a normalised CSV series (e.g. a column of
	// solar-5min-10-cities.csv), scaled by MW.
	SolarTrace SolarModel = "trace"
)

// SolarSpec configures on-site (or contracted) photovoltaics.
//
// Clear-sky model: output_kW = 1000·MW·Derate·min(1, POA(t)/1000 W/m²)·cloud(t),
// where POA is the clear-sky irradiance on a south-facing plane tilted
// TiltDeg (solar position from the site's latitude and longitude and the
// CST clock; Kasten–Young air mass; Meinel direct-beam attenuation; diffuse
// 10 % of direct; ground albedo 0.2), and cloud(t) = clamp(c_day + σ·x(t),
// 0, 1) with c_day ~ Beta(CloudAlpha, CloudBeta) drawn once per local day
// and x an Ornstein–Uhlenbeck (continuous AR(1)) process with unit variance
// and time constant NoiseTauHours.
type SolarSpec struct {
	// MW is the nameplate (DC) capacity; 0 means none.
	MW float64 `yaml:"mw" json:"mw"`
	// Model is "clear-sky" or "trace".
	Model SolarModel `yaml:"model" json:"model"`
	// Derate lumps inverter, wiring, soiling and temperature losses, (0,1].
	// The default is calibrated so a Jinan site's annual capacity factor is
	// about 14 % (shandong-facts.md §3.3, §5.2).
	Derate float64 `yaml:"derate" json:"derate"`
	// TiltDeg is the panel tilt from horizontal, facing south, [0,90].
	TiltDeg float64 `yaml:"tilt_deg" json:"tilt_deg"`
	// CloudAlpha and CloudBeta are the Beta parameters of the daily cloud
	// factor (mean α/(α+β)); default Beta(5,2), mean 0.714 [A].
	CloudAlpha float64 `yaml:"cloud_alpha" json:"cloud_alpha"`
	CloudBeta  float64 `yaml:"cloud_beta" json:"cloud_beta"`
	// NoiseSigma is the standard deviation of the intra-day cloud noise
	// added to the daily factor, [0,1]; 0 turns it off.
	NoiseSigma float64 `yaml:"noise_sigma" json:"noise_sigma"`
	// NoiseTauHours is the noise's correlation time (hourly AR(1)
	// coefficient exp(−1/τ)), > 0.
	NoiseTauHours float64 `yaml:"noise_tau_hours" json:"noise_tau_hours"`
	// Trace is the series for model "trace" (normalize "none" for an
	// already normalised column, or "max").
	Trace TraceSpec `yaml:"trace" json:"trace"`
}

// Solar defaults [A]: see SolarSpec. DefaultSolarDerate is calibrated
// (TestSolarAnnualCapacityFactor) for a ~14 % annual capacity factor at the
// Shandong cities with the default cloud model and tilt.
const (
	DefaultSolarDerate     = 0.74
	DefaultSolarTiltDeg    = 20
	DefaultCloudAlpha      = 5
	DefaultCloudBeta       = 2
	DefaultSolarNoiseSigma = 0.1
	DefaultSolarNoiseTauH  = 1
)

// DefaultSolarSpec is the clear-sky model with the defaults above and MW 0.
func DefaultSolarSpec() SolarSpec {
	return SolarSpec{
		Model:         SolarClearSky,
		Derate:        DefaultSolarDerate,
		TiltDeg:       DefaultSolarTiltDeg,
		CloudAlpha:    DefaultCloudAlpha,
		CloudBeta:     DefaultCloudBeta,
		NoiseSigma:    DefaultSolarNoiseSigma,
		NoiseTauHours: DefaultSolarNoiseTauH,
		Trace:         TraceSpec{Normalize: NormalizeNone},
	}
}

// Validate checks mw >= 0 and, when mw > 0, the model's parameters.
func (s SolarSpec) Validate() error {
	c := &checker{prefix: "solar"}
	s.validate(c, true)
	return c.err()
}

// validate checks the spec; needMW is false for contract profiles, whose
// capacity comes from the contract.
func (s SolarSpec) validate(c *checker, needMW bool) {
	c.nonNeg("mw", s.MW)
	if needMW && !(s.MW > 0) {
		return
	}
	c.oneOf("model", string(s.Model), string(SolarClearSky), string(SolarTrace))
	switch s.Model {
	case SolarClearSky:
		c.inOpenLow("derate", s.Derate, 0, 1)
		c.in("tilt_deg", s.TiltDeg, 0, 90)
		c.inOpenLow("cloud_alpha", s.CloudAlpha, 0, 1000)
		c.inOpenLow("cloud_beta", s.CloudBeta, 0, 1000)
		c.in("noise_sigma", s.NoiseSigma, 0, 1)
		if s.NoiseSigma > 0 {
			c.inOpenLow("noise_tau_hours", s.NoiseTauHours, 0, 1e6)
		}
	case SolarTrace:
		tc := c.sub("trace")
		s.Trace.validate(tc, NormalizeNone, NormalizeMax)
		c.merge(tc)
	}
}

// Clear-sky constants.
const (
	solarConstantWPerM2 = 1353 // as used by Meinel's attenuation formula
	diffuseShare        = 0.1  // diffuse horizontal / direct normal
	groundAlbedo        = 0.2
	stcWPerM2           = 1000 // standard test conditions
)

// sunGeom computes the sun's position and the clear-sky irradiance for one
// place and panel orientation; it caches the quantities that depend only
// on the day of year.
type sunGeom struct {
	lonCorrH         float64 // clock → mean solar time, hours: 4 min per degree east of 120°E
	sinLat, cosLat   float64
	sinLT, cosLT     float64 // of latitude − tilt (incidence on a south-facing plane)
	cosTilt          float64
	tilted           bool
	yday             int
	sinD, cosD, eotH float64 // declination and equation of time (hours) of yday
	i0               float64 // extraterrestrial-corrected beam constant of yday
}

func newSunGeom(latDeg, lonDeg, tiltDeg float64) sunGeom {
	lat := latDeg * math.Pi / 180
	tilt := tiltDeg * math.Pi / 180
	return sunGeom{
		lonCorrH: 4 * (lonDeg - cstMeridianDeg) / 60,
		sinLat:   math.Sin(lat), cosLat: math.Cos(lat),
		sinLT: math.Sin(lat - tilt), cosLT: math.Cos(lat - tilt),
		cosTilt: math.Cos(tilt),
		tilted:  tiltDeg != 0,
	}
}

// setDay computes Cooper's declination, the equation of time (a
// Spencer-type approximation, minutes) and the beam constant for a day.
func (g *sunGeom) setDay(yday int) {
	if yday == g.yday {
		return
	}
	n := float64(yday)
	b := 2 * math.Pi * (n - 81) / 364
	g.eotH = (9.87*math.Sin(2*b) - 7.53*math.Cos(b) - 1.5*math.Sin(b)) / 60
	d := 23.45 * math.Pi / 180 * math.Sin(2*math.Pi*(284+n)/365)
	g.sinD, g.cosD = math.Sin(d), math.Cos(d)
	g.i0 = solarConstantWPerM2 * (1 + 0.033*math.Cos(2*math.Pi*n/365))
	g.yday = yday
}

// cosZenith returns the cosine of the solar zenith angle and the cosine of
// the hour angle at a CST clock hour of day yday.
func (g *sunGeom) cosZenith(yday int, hour float64) (cz, cw float64) {
	g.setDay(yday)
	w := (hour + g.lonCorrH + g.eotH - 12) * 15 * math.Pi / 180
	cw = math.Cos(w)
	return g.sinLat*g.sinD + g.cosLat*g.cosD*cw, cw
}

// poa is the clear-sky irradiance in W/m² on the panel plane: Kasten–Young
// air mass, Meinel's beam attenuation I0·0.7^(AM^0.678), diffuse 10 % of
// the beam, ground albedo 0.2 for tilted panels.
func (g *sunGeom) poa(yday int, hour float64) float64 {
	cz, cw := g.cosZenith(yday, hour)
	if cz <= 0 {
		return 0
	}
	zDeg := math.Acos(cz) * 180 / math.Pi
	am := 1 / (cz + 0.50572*math.Exp(-1.6364*math.Log(96.07995-zDeg)))
	dni := g.i0 * math.Exp(ln07*math.Exp(0.678*math.Log(am)))
	dhi := diffuseShare * dni
	ghi := dni*cz + dhi
	if !g.tilted {
		return ghi
	}
	cosInc := g.sinLT*g.sinD + g.cosLT*g.cosD*cw
	return dni*max(0, cosInc) + dhi*(1+g.cosTilt)/2 + groundAlbedo*ghi*(1-g.cosTilt)/2
}

var ln07 = math.Log(0.7)

// fraction is min(1, POA/1000 W/m²).
func (g *sunGeom) fraction(yday int, hour float64) float64 {
	return min(1, g.poa(yday, hour)/stcWPerM2)
}

// ClearSkyFraction is the clear-sky output of a PV plant per unit of
// nameplate before derating, min(1, POA/1000 W/m²), at latitude latDeg,
// longitude lonDeg (degrees east) with panels tilted tiltDeg to the south,
// at t (read in CST). It is 0 at night.
func ClearSkyFraction(latDeg, lonDeg, tiltDeg float64, t time.Time) float64 {
	c := localClock(t)
	g := newSunGeom(latDeg, lonDeg, tiltDeg)
	return g.fraction(c.yday, c.hour)
}

// SolarElevationDeg is the sun's elevation above the horizon in degrees at
// the place and time (negative at night).
func SolarElevationDeg(latDeg, lonDeg float64, t time.Time) float64 {
	c := localClock(t)
	g := newSunGeom(latDeg, lonDeg, 0)
	cz, _ := g.cosZenith(c.yday, c.hour)
	return 90 - math.Acos(max(-1, min(1, cz)))*180/math.Pi
}

// maxSubStep is the longest piece an interval is integrated in: generation,
// prices and dispatch are evaluated at the midpoint of pieces of at most
// 15 minutes.
const maxSubStep = 15 * time.Minute

// Solar is a built solar generator (clear-sky with clouds, or a trace). It
// carries the cloud state; EnergyKWh advances it, ExpectedKW only reads
// it.
type Solar struct {
	capKW  float64 // output at full clear-sky fraction and factor 1 (nameplate × derate)
	nameKW float64 // nameplate
	trace  *Trace
	geom   sunGeom
	alpha  float64
	beta   float64
	mean   float64 // α/(α+β)
	sigma  float64
	lnRho  float64 // ln of the hourly noise coefficient, −1/τ
	rng    *rand.Rand

	day   int64   // local day of the daily factor
	daily float64 // daily cloud factor
	x     float64 // intra-day noise, N(0,1) stationary
	at    time.Time
}

// NewSolar builds a solar generator of spec.MW at the given place, with
// its cloud state initialised at start from rng (which it keeps and draws
// from as it advances). src resolves the trace file of model "trace" (nil
// otherwise).
func NewSolar(spec SolarSpec, latDeg, lonDeg float64, start time.Time, rng *rand.Rand, src TableSource) (*Solar, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return newSolar(spec, spec.MW, latDeg, lonDeg, start, rng, src)
}

func newSolar(spec SolarSpec, mw, latDeg, lonDeg float64, start time.Time, rng *rand.Rand, src TableSource) (*Solar, error) {
	s := &Solar{capKW: mw * 1000, nameKW: mw * 1000, rng: rng, at: start}
	if spec.Model == SolarTrace {
		tr, err := loadTrace(spec.Trace, src, 1)
		if err != nil {
			return nil, err
		}
		s.trace = tr
		return s, nil
	}
	s.capKW *= spec.Derate
	s.geom = newSunGeom(latDeg, lonDeg, spec.TiltDeg)
	s.alpha, s.beta = spec.CloudAlpha, spec.CloudBeta
	s.mean = s.alpha / (s.alpha + s.beta)
	s.sigma = spec.NoiseSigma
	if s.sigma > 0 {
		s.lnRho = -1 / spec.NoiseTauHours
		s.x = rng.NormFloat64()
	}
	s.day = localClock(start).day
	s.daily = betaRand(rng, s.alpha, s.beta)
	return s, nil
}

// clear is the clear-sky fraction at the clock time c.
func (s *Solar) clear(c *clock) float64 { return s.geom.fraction(c.yday, c.hour) }

// kwAt advances the cloud state to m (drawing a new daily factor on a new
// local day, and the noise) and returns the output in kW at m.
func (s *Solar) kwAt(m time.Time, c *clock) float64 {
	if s.trace != nil {
		return s.capKW * max(0, s.trace.At(m))
	}
	if c.day != s.day {
		s.day = c.day
		s.daily = betaRand(s.rng, s.alpha, s.beta)
	}
	if s.sigma > 0 {
		if h := m.Sub(s.at).Hours(); h > 0 {
			s.x = ou(s.rng, s.x, math.Exp(s.lnRho*h))
			s.at = m
		}
	}
	f := min(1, max(0, s.daily+s.sigma*s.x))
	return s.capKW * s.clear(c) * f
}

// expectKW is the expected output at m given the current state, without
// drawing: today's daily factor for the rest of the current local day,
// the Beta mean after it; the noise decays towards 0 as ρ^lag.
func (s *Solar) expectKW(m time.Time, c *clock) float64 {
	if s.trace != nil {
		return s.capKW * max(0, s.trace.At(m))
	}
	f := s.mean
	if c.day == s.day {
		f = s.daily
	}
	if s.sigma > 0 {
		x := s.x
		if h := m.Sub(s.at).Hours(); h > 0 {
			x *= math.Exp(s.lnRho * h)
		}
		f += s.sigma * x
	}
	f = min(1, max(0, f))
	return s.capKW * s.clear(c) * f
}

// EnergyKWh integrates the output over [t, t+dt) in pieces of at most
// 15 minutes (midpoint rule), advancing the cloud state.
func (s *Solar) EnergyKWh(t time.Time, dt time.Duration) float64 {
	return integrate(t, dt, s.kwAt)
}

// ExpectedKW is the expected output at t given the current cloud state,
// without drawing from the random stream.
func (s *Solar) ExpectedKW(t time.Time) float64 {
	c := localClock(t)
	return s.expectKW(t, &c)
}

// CapacityKW is the nameplate capacity in kW.
func (s *Solar) CapacityKW() float64 { return s.nameKW }

// integrate applies the midpoint rule to kw over [t, t+dt) in pieces of at
// most maxSubStep.
func integrate(t time.Time, dt time.Duration, kw func(time.Time, *clock) float64) float64 {
	if dt <= 0 {
		return 0
	}
	n := int64((dt + maxSubStep - 1) / maxSubStep)
	var e float64
	for k := range n {
		a := t.Add(time.Duration(int64(dt) * k / n))
		b := t.Add(time.Duration(int64(dt) * (k + 1) / n))
		m := a.Add(b.Sub(a) / 2)
		c := localClock(m)
		e += kw(m, &c) * b.Sub(a).Hours()
	}
	return e
}
