package energy

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestWindMeanCapacityFactor(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, CST)
	cases := []struct {
		name  string
		cf    float64
		step  time.Duration
		years int
	}{
		{"onshore hourly", OnshoreCFMean, time.Hour, 20},
		{"offshore hourly", OffshoreCFMean, time.Hour, 20},
		{"offshore 39% hourly", 0.39, time.Hour, 20},
		{"onshore 15 min", OnshoreCFMean, 15 * time.Minute, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := DefaultWindSpec()
			spec.MW, spec.CFMean = 1, tc.cf
			w, err := NewWind(spec, start, rand.New(rand.NewPCG(42, 1)), nil)
			if err != nil {
				t.Fatal(err)
			}
			years := tc.years
			n := int(time.Duration(years) * 8760 * time.Hour / tc.step)
			var sum float64
			for k := range n {
				sum += w.EnergyKWh(start.Add(time.Duration(k)*tc.step), tc.step)
			}
			got := sum / (1000 * float64(years) * 8760)
			t.Logf("mean CF over %d years: %.4f", years, got)
			if math.Abs(got-tc.cf) > 0.01 {
				t.Errorf("mean CF over %d years: got %.4f, want %.2f ± 0.01", years, got, tc.cf)
			}
		})
	}
}

func TestWindAutocorrelation(t *testing.T) {
	spec := DefaultWindSpec()
	spec.MW = 1
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, CST)
	w, err := NewWind(spec, start, rand.New(rand.NewPCG(5, 6)), nil)
	if err != nil {
		t.Fatal(err)
	}
	// the latent variable's lag-1 (hourly) autocorrelation is ρ = 0.9 and
	// its variance 1 (stationary)
	const n = 200000
	xs := make([]float64, n)
	for k := range n {
		w.kwAt(start.Add(time.Duration(k)*time.Hour), nil)
		xs[k] = w.x
	}
	var m, v, c float64
	for _, x := range xs {
		m += x
	}
	m /= n
	for k := range n {
		v += (xs[k] - m) * (xs[k] - m)
		if k > 0 {
			c += (xs[k] - m) * (xs[k-1] - m)
		}
	}
	if r := c / v; math.Abs(r-0.9) > 0.01 {
		t.Errorf("lag-1 autocorrelation: got %.4f, want 0.90 ± 0.01", r)
	}
	if vr := v / n; math.Abs(vr-1) > 0.05 {
		t.Errorf("latent variance: got %.4f, want 1 ± 0.05", vr)
	}
}

func TestWindExpectation(t *testing.T) {
	spec := DefaultWindSpec()
	spec.MW = 10
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, CST)
	w, _ := NewWind(spec, start, rand.New(rand.NewPCG(8, 9)), nil)
	w.x = 2 // a windy moment
	now := w.ExpectedKW(start)
	if want := 10000 * normCDF(w.a+w.b*2); !approx(now, want, 1e-12) {
		t.Errorf("lag 0: got %v, want the current output %v", now, want)
	}
	prev := now
	for _, h := range []int{1, 3, 6, 12, 24, 48} {
		e := w.ExpectedKW(start.Add(time.Duration(h) * time.Hour))
		if !(e < prev) {
			t.Errorf("lag %d h: expectation %v did not decay from %v", h, e, prev)
		}
		prev = e
	}
	if far := w.ExpectedKW(start.Add(30 * 24 * time.Hour)); !approx(far, 10000*spec.CFMean, 1e-6) {
		t.Errorf("lag 30 days: got %v, want the mean %v", far, 10000*spec.CFMean)
	}
	// Monte Carlo check of the closed form at a 6 h lag
	r := rand.New(rand.NewPCG(1, 1))
	var sum float64
	const n = 200000
	a := math.Pow(spec.RhoHourly, 6)
	for range n {
		sum += w.cf(ou(r, 2, a))
	}
	if mc, cf := sum/n*10000, w.ExpectedKW(start.Add(6*time.Hour)); math.Abs(mc-cf) > 30 {
		t.Errorf("6 h expectation: closed form %v, Monte Carlo %v", cf, mc)
	}
}

func TestWindTracePJM(t *testing.T) {
	f := openShared(t, "energy/pjm-2022-hourly-mix-ci.csv")
	tab, err := ReadTable(f)
	if err != nil {
		t.Fatal(err)
	}
	spec := DefaultWindSpec()
	spec.MW, spec.Model = 50, WindTrace
	spec.Trace = TraceSpec{File: "pjm.csv", Column: "WND", Normalize: NormalizeMax}
	w, err := NewWind(spec, time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), nil, func(string) (*Table, error) { return tab, nil })
	if err != nil {
		t.Fatal(err)
	}
	// normalised by its max (9,371 MW), PJM's 2022 wind has a CF of ~0.39
	if cf := w.MeanCF(); cf < 0.3 || cf > 0.45 {
		t.Errorf("trace CF %.3f, want about 0.39", cf)
	}
	var maxKW float64
	for k := range 8760 {
		maxKW = max(maxKW, w.ExpectedKW(time.Date(2022, 1, 1, k, 0, 0, 0, time.UTC)))
	}
	if !approx(maxKW, 50000, 1e-9) {
		t.Errorf("peak output %v kW, want the nameplate 50000", maxKW)
	}
	// row 2022-01-01 00:00 UTC: 3494 MW of 9371
	if got, want := w.ExpectedKW(time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)), 50000*3494.0/9371; !approx(got, want, 1e-9) {
		t.Errorf("first row: got %v kW, want %v", got, want)
	}
}
