package energy

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

func TestSeriesInterpolationAndWrap(t *testing.T) {
	tab, err := ReadTable(strings.NewReader("# c\ntime,a,b\n100,0,1\n160,6,\n220,0,3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tab.Absolute || tab.Len() != 3 {
		t.Fatalf("got absolute=%v len=%d, want relative seconds and 3 rows", tab.Absolute, tab.Len())
	}
	a, err := tab.Series("a")
	if err != nil {
		t.Fatal(err)
	}
	// times are rebased to the first row: 0, 60, 120; period 180
	cases := []struct{ sec, want float64 }{
		{0, 0}, {30, 3}, {60, 6}, {90, 3}, {120, 0}, {150, 0}, {180, 0}, {210, 3}, {-150, 3}, {-30, 0},
	}
	for _, tc := range cases {
		if got := a.At(tc.sec); !approx(got, tc.want, 1e-12) {
			t.Errorf("a.At(%v): got %v, want %v", tc.sec, got, tc.want)
		}
	}
	if got, want := a.Mean(), 2.0; !approx(got, want, 1e-12) { // (0+6)/2·60 + (6+0)/2·60 + 0 over 180
		t.Errorf("mean: got %v, want %v", got, want)
	}
	b, err := tab.Series("B") // case-insensitive fallback
	if err != nil {
		t.Fatal(err)
	}
	if got := b.At(60); !approx(got, 2, 1e-12) { // missing cell filled between 1 and 3
		t.Errorf("filled missing cell: got %v, want 2", got)
	}
	if _, err := tab.Series("c"); err == nil || !strings.Contains(err.Error(), "have: a, b") {
		t.Errorf("unknown column: got %v", err)
	}
}

func TestSeriesIrregular(t *testing.T) {
	tab, err := ReadTable(strings.NewReader("t,v\n0,0\n10,10\n30,30\n100,100\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := tab.Series("v")
	for _, x := range []float64{0, 5, 10, 17, 30, 64.5, 99.9} {
		if got := s.At(x); !approx(got, x, 1e-12) {
			t.Errorf("At(%v): got %v, want %v", x, got, x)
		}
	}
}

func TestReadTableTimestamps(t *testing.T) {
	in := "timestamp,x\n2022-01-01 00:00:00+00:00,1\n2022-01-01 01:00:00+00:00,3\n2022-01-01T02:00:00Z,NA\n2022-01-01 03:00:00+00:00,7\n"
	tab, err := ReadTable(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if !tab.Absolute || !tab.Start.Equal(time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("got absolute=%v start=%v", tab.Absolute, tab.Start)
	}
	s, _ := tab.Series("x")
	tr, err := NewTrace(s, time.Time{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.At(time.Date(2022, 1, 1, 10, 30, 0, 0, CST)); !approx(got, 12, 1e-12) { // 02:30 UTC: filled 02:00 = 5, 02:30 = 6, × 2
		t.Errorf("At 02:30 UTC: got %v, want 12", got)
	}
	// a seconds-from-start series needs an anchor
	tab2, _ := ReadTable(strings.NewReader("t,v\n0,1\n300,2\n"))
	s2, _ := tab2.Series("v")
	if _, err := NewTrace(s2, time.Time{}, 1); err == nil || !strings.Contains(err.Error(), "needs an anchor") {
		t.Errorf("missing anchor: got %v", err)
	}
}

func TestReadTableErrors(t *testing.T) {
	cases := []struct {
		name, in   string
		line, col  int
		field, has string
	}{
		{"bad number", "time,a,b\n0,1,2\n300,1,x\n", 3, 7, "b", `"x" is not a number`},
		{"infinite", "time,a\n0,1\n300,Inf\n", 3, 5, "a", "not a number"},
		{"time not increasing", "time,a\n0,1\n0,2\n", 3, 1, "time", "not after the previous"},
		{"mixed time formats", "time,a\n0,1\n2022-01-01T00:00:00Z,2\n", 3, 1, "time", "not a number of seconds"},
		{"bad time", "time,a\nnoon,1\n", 2, 1, "time", "neither seconds nor an ISO 8601"},
		{"field count", "time,a\n0,1\n300\n", 3, 1, "", "1 fields, want 2"},
		{"duplicate column", "time,a,a\n0,1,1\n", 1, 8, "a", "duplicate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadTable(strings.NewReader(tc.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *ParseError", err)
			}
			if pe.Line != tc.line || pe.Column != tc.col || pe.Field != tc.field || !strings.Contains(err.Error(), tc.has) {
				t.Errorf("got line %d col %d field %q: %v; want line %d col %d field %q containing %q", pe.Line, pe.Column, pe.Field, err, tc.line, tc.col, tc.field, tc.has)
			}
		})
	}
	for _, in := range []string{"", "time\n0\n", "time,a\n0,1\n", "time,a\n0,\n300,\n"} {
		tab, err := ReadTable(strings.NewReader(in))
		if err == nil {
			_, err = tab.Series("a")
		}
		if err == nil {
			t.Errorf("%q: got no error", in)
		}
	}
}

func TestSolarSharedFileHongKong(t *testing.T) {
	f := openShared(t, "energy/solar-5min-10-cities.csv")
	tab, err := ReadTable(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Names) != 10 || tab.Len() != 8352 {
		t.Fatalf("got %d columns × %d rows, want 10 × 8352", len(tab.Names), tab.Len())
	}
	s, err := tab.Series("Hong Kong")
	if err != nil {
		t.Fatal(err)
	}
	if s.Max() > 1 || s.Mean() < 0.1 || s.Mean() > 0.2 {
		t.Errorf("Hong Kong: max %v mean %v, want a normalised series with a mean CF of 10–20 %%", s.Max(), s.Mean())
	}
	// Row 0 is 00:00 UTC = 08:00 in Hong Kong (UTC+8, like CST): anchored at
	// a CST midnight minus 8 h, the daily maximum falls near local noon.
	anchor := time.Date(2024, 6, 8, 8, 0, 0, 0, CST)
	tr, err := NewTrace(s, anchor, 1)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2024, 6, 10, 0, 0, 0, 0, CST)
	best, bestH := -1.0, 0.0
	for m := 0; m < 24*60; m += 5 {
		if v := tr.At(day.Add(time.Duration(m) * time.Minute)); v > best {
			best, bestH = v, float64(m)/60
		}
	}
	if bestH < 10 || bestH > 14.5 {
		t.Errorf("daily maximum at %.2f h local, want near noon", bestH)
	}
	if v := tr.At(day.Add(2 * time.Hour)); v != 0 {
		t.Errorf("02:00 local: got %v, want 0", v)
	}
}

func TestCachedTables(t *testing.T) {
	opens := 0
	src := CachedTables(func(name string) (io.ReadCloser, error) {
		opens++
		if name == "missing.csv" {
			return nil, errors.New("no such file")
		}
		return io.NopCloser(strings.NewReader("t,v\n0,1\n60,2\n")), nil
	})
	for range 3 {
		if _, err := src("a.csv"); err != nil {
			t.Fatal(err)
		}
	}
	if opens != 1 {
		t.Errorf("opened %d times, want 1", opens)
	}
	if _, err := src("missing.csv"); err == nil {
		t.Error("missing file: got no error")
	}
}

func BenchmarkSeriesAt(b *testing.B) {
	secs := make([]float64, 8760)
	vals := make([]float64, 8760)
	for i := range secs {
		secs[i], vals[i] = float64(i)*3600, math.Sin(float64(i))
	}
	s := newSeries(secs, vals, time.Time{}, false)
	b.ReportAllocs()
	var sum float64
	for i := 0; b.Loop(); i++ {
		sum += s.At(float64(i) * 900)
	}
	_ = sum
}

func TestTraceSpecValidate(t *testing.T) {
	cases := []struct {
		name string
		s    TraceSpec
		want string
	}{
		{"ok", TraceSpec{File: "a.csv", Column: "x", Normalize: NormalizeMax}, ""},
		{"no file", TraceSpec{Column: "x", Normalize: NormalizeNone}, `trace.file "" must name a CSV file`},
		{"no column", TraceSpec{File: "a.csv", Normalize: NormalizeMean}, `trace.column "" must name a value column`},
		{"normalize", TraceSpec{File: "a.csv", Column: "x", Normalize: "peak"}, `trace.normalize "peak" must be one of "none", "max", "mean"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if tc.want == "" {
				if err != nil {
					t.Errorf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
