package energy

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
)

func TestClearSkyNightAndNoon(t *testing.T) {
	cities := nodes.ShandongCities()
	days := []time.Time{
		time.Date(2024, 3, 20, 0, 0, 0, 0, CST),
		time.Date(2024, 6, 21, 0, 0, 0, 0, CST),
		time.Date(2024, 9, 22, 0, 0, 0, 0, CST),
		time.Date(2024, 12, 21, 0, 0, 0, 0, CST),
	}
	for _, city := range []string{"JN", "QD", "WH", "HZ"} {
		i, _ := nodes.LookupCity(cities, city)
		c := cities[i]
		for _, day := range days {
			t.Run(city+" "+day.Format("01-02"), func(t *testing.T) {
				best, bestAt := -1.0, 0.0
				for min := 0; min < 24*60; min += 2 {
					ts := day.Add(time.Duration(min) * time.Minute)
					f := ClearSkyFraction(c.Lat, c.Lon, 0, ts)
					el := SolarElevationDeg(c.Lat, c.Lon, ts)
					if el <= 0 && f != 0 {
						t.Fatalf("%v: sun %.2f° below the horizon but output %v", ts, el, f)
					}
					if f < 0 || f > 1 {
						t.Fatalf("%v: fraction %v outside [0,1]", ts, f)
					}
					if f > best {
						best, bestAt = f, float64(min)/60
					}
				}
				// solar noon in CST: 12 h − 4 min per degree east of 120°E,
				// ± the equation of time (at most ~16 min)
				noon := 12 + 4*(120-c.Lon)/60
				if math.Abs(bestAt-noon) > 0.3 {
					t.Errorf("peak at %.2f h, want solar noon %.2f h ± 0.3", bestAt, noon)
				}
				// at noon the elevation is 90° − |lat − declination|
				for _, h := range []float64{0, 2, 3, 22, 23.5} {
					if f := ClearSkyFraction(c.Lat, c.Lon, 0, day.Add(time.Duration(h*float64(time.Hour)))); f != 0 {
						t.Errorf("%.1f h: got %v, want 0 at night", h, f)
					}
				}
			})
		}
	}
	// noon elevation at the solstices and equinox in Jinan: 90 − 36.65 ± 23.44
	i, _ := nodes.LookupCity(cities, "JN")
	jn := cities[i]
	noon := func(d time.Time) float64 {
		best := -90.0
		for m := 0; m < 24*60; m++ {
			best = max(best, SolarElevationDeg(jn.Lat, jn.Lon, d.Add(time.Duration(m)*time.Minute)))
		}
		return best
	}
	for _, tc := range []struct {
		day  time.Time
		want float64
	}{{days[1], 90 - 36.651 + 23.44}, {days[3], 90 - 36.651 - 23.44}, {days[0], 90 - 36.651}} {
		if got := noon(tc.day); math.Abs(got-tc.want) > 1.0 {
			t.Errorf("%s noon elevation: got %.2f°, want %.2f° ± 1", tc.day.Format("01-02"), got, tc.want)
		}
	}
}

// annualSolarCF runs a 1 MW default plant through a year of 15-minute
// steps and returns the capacity factor and the output by month.
func annualSolarCF(t testing.TB, lat, lon float64, seed uint64) (float64, [12]float64) {
	spec := DefaultSolarSpec()
	spec.MW = 1
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, CST)
	s, err := NewSolar(spec, lat, lon, start, rand.New(rand.NewPCG(seed, 7)), nil)
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	var months [12]float64
	for ts := start; ts.Year() == 2023; ts = ts.Add(15 * time.Minute) {
		e := s.EnergyKWh(ts, 15*time.Minute)
		total += e
		months[ts.Month()-1] += e
	}
	return total / (1000 * 8760), months
}

func TestSolarAnnualCapacityFactor(t *testing.T) {
	// shandong-facts.md §3.3/§5.2: PV ≈ 1,200–1,300 h, CF ≈ 14 %.
	for _, c := range nodes.ShandongCities() {
		t.Run(c.Code, func(t *testing.T) {
			cf, months := annualSolarCF(t, c.Lat, c.Lon, 1)
			if cf < 0.13 || cf > 0.15 {
				t.Errorf("annual CF %.4f, want 0.14 ± 0.01", cf)
			}
			// seasonal swing about ±30 %: June well above December
			if r := months[5] / months[11]; r < 1.3 || r > 2.5 {
				t.Errorf("June/December output ratio %.2f, want 1.3–2.5", r)
			}
		})
	}
}

func TestSolarNoiseAndExpectation(t *testing.T) {
	spec := DefaultSolarSpec()
	spec.MW = 10
	start := time.Date(2024, 6, 1, 0, 0, 0, 0, CST)
	s, err := NewSolar(spec, 36.651, 117.12, start, rand.New(rand.NewPCG(3, 4)), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Expectation reads the state without drawing: asking twice gives the
	// same answer, and the stream is untouched (compare to a twin).
	twin, _ := NewSolar(spec, 36.651, 117.12, start, rand.New(rand.NewPCG(3, 4)), nil)
	for k := range 96 {
		ts := start.Add(time.Duration(k) * 15 * time.Minute)
		e1 := s.ExpectedKW(ts.Add(3 * time.Hour))
		if e2 := s.ExpectedKW(ts.Add(3 * time.Hour)); e1 != e2 {
			t.Fatalf("ExpectedKW not repeatable: %v vs %v", e1, e2)
		}
		if a, b := s.EnergyKWh(ts, 15*time.Minute), twin.EnergyKWh(ts, 15*time.Minute); a != b {
			t.Fatalf("ExpectedKW changed the random stream: %v vs %v", a, b)
		}
	}
	// Tomorrow's expectation uses the mean cloud factor: at a far lag the
	// noise has decayed, so it is clear-sky × derate × 5/7.
	far := time.Date(2024, 6, 20, 12, 0, 0, 0, CST)
	want := 10000 * spec.Derate * ClearSkyFraction(36.651, 117.12, spec.TiltDeg, far) * 5.0 / 7
	if got := s.ExpectedKW(far); !approx(got, want, 1e-9) {
		t.Errorf("ExpectedKW in 19 days: got %v, want %v", got, want)
	}
}

func TestSolarTraceFromFile(t *testing.T) {
	f := openShared(t, "energy/solar-5min-10-cities.csv")
	tab, err := ReadTable(f)
	if err != nil {
		t.Fatal(err)
	}
	spec := DefaultSolarSpec()
	spec.MW, spec.Model = 2, SolarTrace
	spec.Trace = TraceSpec{File: "solar.csv", Column: "Hong Kong", Normalize: NormalizeNone, Anchor: time.Date(2024, 6, 8, 8, 0, 0, 0, CST)}
	src := func(string) (*Table, error) { return tab, nil }
	s, err := NewSolar(spec, 0, 0, spec.Trace.Anchor, nil, src)
	if err != nil {
		t.Fatal(err)
	}
	hk, _ := tab.Series("Hong Kong")
	// 29 days of 5-minute data: the energy over the file's span is MW × mean × hours
	span := time.Duration(hk.PeriodSeconds() * float64(time.Second))
	var e float64
	for ts := spec.Trace.Anchor; ts.Before(spec.Trace.Anchor.Add(span)); ts = ts.Add(5 * time.Minute) {
		e += s.EnergyKWh(ts, 5*time.Minute)
	}
	if want := 2000 * hk.Mean() * span.Hours(); !approx(e, want, 1e-6) {
		t.Errorf("energy over the trace: got %.3f kWh, want %.3f", e, want)
	}
	// a missing column names the ones there are
	spec.Trace.Column = "Jinan"
	if _, err := NewSolar(spec, 0, 0, spec.Trace.Anchor, nil, src); err == nil {
		t.Error("unknown column: got no error")
	}
}

func TestBetaSampler(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, p := range []struct{ a, b float64 }{{5, 2}, {0.5, 0.5}, {2, 8}} {
		const n = 200000
		var sum, sq float64
		for range n {
			x := betaRand(r, p.a, p.b)
			if x < 0 || x > 1 {
				t.Fatalf("Beta(%v,%v) draw %v outside [0,1]", p.a, p.b, x)
			}
			sum += x
			sq += x * x
		}
		mean, vr := sum/n, sq/n-(sum/n)*(sum/n)
		wm := p.a / (p.a + p.b)
		wv := p.a * p.b / ((p.a + p.b) * (p.a + p.b) * (p.a + p.b + 1))
		if math.Abs(mean-wm) > 0.003 || math.Abs(vr-wv) > 0.003 {
			t.Errorf("Beta(%v,%v): mean %.4f var %.4f, want %.4f and %.4f", p.a, p.b, mean, vr, wm, wv)
		}
	}
}
