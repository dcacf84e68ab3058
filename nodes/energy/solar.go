package energy

import (
	"math"
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

// sunPos is the sun's position for a place and a CST clock time.
type sunPos struct {
	cosZenith float64 // cosine of the zenith angle
	decl      float64 // declination, rad
	hourAngle float64 // rad
}

// sunPosition computes the solar position from day of year and CST clock
// hour: Cooper's declination, the equation of time (Spencer-type
// approximation in minutes), longitude correction from the 120°E meridian.
func sunPosition(latRad, lonDeg float64, yday int, hour float64) sunPos {
	n := float64(yday)
	b := 2 * math.Pi * (n - 81) / 364
	eotMin := 9.87*math.Sin(2*b) - 7.53*math.Cos(b) - 1.5*math.Sin(b)
	solarHour := hour + (4*(lonDeg-cstMeridianDeg)+eotMin)/60
	w := (solarHour - 12) * 15 * math.Pi / 180
	d := 23.45 * math.Pi / 180 * math.Sin(2*math.Pi*(284+n)/365)
	cz := math.Sin(latRad)*math.Sin(d) + math.Cos(latRad)*math.Cos(d)*math.Cos(w)
	return sunPos{cosZenith: cz, decl: d, hourAngle: w}
}

// clearSkyPOA is the clear-sky irradiance in W/m² on a south-facing plane
// tilted tiltRad at latitude latRad.
func clearSkyPOA(latRad, tiltRad float64, yday int, p sunPos) float64 {
	if p.cosZenith <= 0 {
		return 0
	}
	zDeg := math.Acos(p.cosZenith) * 180 / math.Pi
	am := 1 / (p.cosZenith + 0.50572*math.Pow(96.07995-zDeg, -1.6364))
	i0 := solarConstantWPerM2 * (1 + 0.033*math.Cos(2*math.Pi*float64(yday)/365))
	dni := i0 * math.Pow(0.7, math.Pow(am, 0.678))
	dhi := diffuseShare * dni
	ghi := dni*p.cosZenith + dhi
	if tiltRad == 0 {
		return ghi
	}
	// incidence on a south-facing plane: as on a horizontal plane at
	// latitude φ − β
	cosInc := math.Sin(latRad-tiltRad)*math.Sin(p.decl) + math.Cos(latRad-tiltRad)*math.Cos(p.decl)*math.Cos(p.hourAngle)
	ct := math.Cos(tiltRad)
	return dni*max(0, cosInc) + dhi*(1+ct)/2 + groundAlbedo*ghi*(1-ct)/2
}

// ClearSkyFraction is the clear-sky output of a PV plant per unit of
// nameplate before derating, min(1, POA/1000 W/m²), at latitude latDeg,
// longitude lonDeg (degrees east) with panels tilted tiltDeg to the south,
// at t (read in CST). It is 0 at night.
func ClearSkyFraction(latDeg, lonDeg, tiltDeg float64, t time.Time) float64 {
	c := localClock(t)
	lat := latDeg * math.Pi / 180
	p := sunPosition(lat, lonDeg, c.yday, c.hour)
	return min(1, clearSkyPOA(lat, tiltDeg*math.Pi/180, c.yday, p)/stcWPerM2)
}

// SolarElevationDeg is the sun's elevation above the horizon in degrees at
// the place and time (negative at night).
func SolarElevationDeg(latDeg, lonDeg float64, t time.Time) float64 {
	c := localClock(t)
	p := sunPosition(latDeg*math.Pi/180, lonDeg, c.yday, c.hour)
	return 90 - math.Acos(max(-1, min(1, p.cosZenith)))*180/math.Pi
}
