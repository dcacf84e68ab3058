package energy

import (
	"strings"
	"testing"
	"time"
)

func TestCarbonShandongShape(t *testing.T) {
	m, err := NewCarbon(DefaultCarbonSpec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The annual mean over a non-leap year is the configured mean.
	var sum float64
	n := 0
	for ts := time.Date(2023, 1, 1, 0, 0, 0, 0, CST); ts.Year() == 2023; ts = ts.Add(time.Hour) {
		sum += m.IntensityAt(ts)
		n++
	}
	if got := sum / float64(n); !approx(got, ShandongCarbonKgPerKWh, 1e-9) {
		t.Errorf("annual mean 2023: got %.12f, want %.4f", got, ShandongCarbonKgPerKWh)
	}
	at := func(mo time.Month, h int) float64 { return m.IntensityAt(time.Date(2023, mo, 10, h, 30, 0, 0, CST)) }
	base := at(4, 9) // spring morning: factor 1.0
	cases := []struct {
		name  string
		month time.Month
		hour  int
		ratio float64
	}{
		{"spring night", 4, 2, 1.10},
		{"spring evening peak", 4, 17, 1.10},
		{"spring 23h", 4, 23, 1.10},
		{"spring 05h", 4, 5, 1.10},
		{"spring 06h", 4, 6, 1.0},
		{"spring 11h solar", 4, 11, 0.75},
		{"spring 13h solar", 4, 13, 0.75},
		{"spring 14h", 4, 14, 1.0},
		{"autumn 12h solar", 10, 12, 0.75},
		{"summer 12h", 7, 12, 1.0},
		{"winter 12h", 1, 12, 1.0},
		{"winter evening", 12, 20, 1.10},
		{"summer 16h", 7, 16, 1.0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := at(tc.month, tc.hour) / base; !approx(got, tc.ratio, 1e-12) {
				t.Errorf("ratio to the day-time base: got %.4f, want %.2f", got, tc.ratio)
			}
		})
	}
	if m.MarginalKgPerKWh() != 0.83 {
		t.Errorf("marginal: got %v, want 0.83", m.MarginalKgPerKWh())
	}
}

func TestCarbonFlat(t *testing.T) {
	spec := DefaultCarbonSpec()
	spec.Shape, spec.MeanKgPerKWh = CarbonFlat, 0.5
	m, err := NewCarbon(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	for h := range 24 {
		if got := m.IntensityAt(time.Date(2024, 5, 1, h, 0, 0, 0, CST)); got != 0.5 {
			t.Errorf("hour %d: got %v, want 0.5", h, got)
		}
	}
}

func TestCarbonTracePJM(t *testing.T) {
	f := openShared(t, "energy/pjm-2022-hourly-mix-ci.csv")
	tab, err := ReadTable(f)
	if err != nil {
		t.Fatal(err)
	}
	spec := DefaultCarbonSpec()
	spec.Shape = CarbonTrace
	spec.Trace = TraceSpec{File: "pjm.csv", Column: "avg_CI", Normalize: NormalizeMean}
	src := func(file string) (*Table, error) { return tab, nil }
	m, err := NewCarbon(spec, src)
	if err != nil {
		t.Fatal(err)
	}
	var sum, lo, hi float64
	lo = 1e9
	start := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	for k := range 8760 {
		v := m.IntensityAt(start.Add(time.Duration(k) * time.Hour))
		sum += v
		lo, hi = min(lo, v), max(hi, v)
	}
	if got := sum / 8760; !approx(got, ShandongCarbonKgPerKWh, 1e-9) {
		t.Errorf("mean over the file's year: got %.9f, want %.4f", got, ShandongCarbonKgPerKWh)
	}
	// PJM's avg_CI spans about 43–449 g/kWh around a 363 g/kWh mean.
	if lo > 0.2 || hi < 0.7 {
		t.Errorf("scaled range [%.3f, %.3f] looks flattened", lo, hi)
	}
	// the anchor moves the series: 2024-01-01 00:00 CST stands for the first row
	spec.Trace.Anchor = time.Date(2024, 1, 1, 0, 0, 0, 0, CST)
	m2, err := NewCarbon(spec, src)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := m2.IntensityAt(spec.Trace.Anchor.Add(5*time.Hour)), m.IntensityAt(start.Add(5*time.Hour)); a != b {
		t.Errorf("anchored trace: got %v, want %v", a, b)
	}
}

func TestCarbonSpecValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*CarbonSpec)
		want string
	}{
		{"negative mean", func(s *CarbonSpec) { s.MeanKgPerKWh = -0.1 }, "carbon.mean_kg_per_kwh -0.1 must be in [0,5]"},
		{"marginal", func(s *CarbonSpec) { s.MarginalKgPerKWh = 9 }, "carbon.marginal_kg_per_kwh 9 must be in [0,5]"},
		{"shape", func(s *CarbonSpec) { s.Shape = "hourly" }, `carbon.shape "hourly" must be one of "shandong", "flat", "trace"`},
		{"trace without file", func(s *CarbonSpec) { s.Shape = CarbonTrace; s.Trace.Column = "avg_CI" }, `carbon.trace.file "" must name a CSV file`},
		{"trace normalize", func(s *CarbonSpec) {
			s.Shape = CarbonTrace
			s.Trace = TraceSpec{File: "x.csv", Column: "c", Normalize: NormalizeMax}
		}, `carbon.trace.normalize "max" must be one of "mean"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultCarbonSpec()
			tc.mod(&s)
			if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
			if _, err := NewCarbon(s, nil); err == nil {
				t.Error("NewCarbon accepted the invalid spec")
			}
		})
	}
	// a trace without a table source is an error, not a panic
	s := DefaultCarbonSpec()
	s.Shape = CarbonTrace
	s.Trace = TraceSpec{File: "x.csv", Column: "c", Normalize: NormalizeMean}
	if _, err := NewCarbon(s, nil); err == nil || !strings.Contains(err.Error(), "no table source") {
		t.Errorf("nil source: got %v", err)
	}
}
