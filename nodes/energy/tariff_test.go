package energy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTariffPeriodsAtBoundaries(t *testing.T) {
	tf, err := NewTariff(DefaultTariffSpec())
	if err != nil {
		t.Fatal(err)
	}
	type hp struct {
		hour int
		want Period
	}
	F, C, P, V, D := PeriodFlat, PeriodCritical, PeriodPeak, PeriodValley, PeriodDeepValley
	cases := []struct {
		season string
		months []time.Month
		hours  []hp
	}{
		{"spring", []time.Month{3, 4, 5}, []hp{{0, F}, {9, F}, {10, V}, {11, D}, {13, D}, {14, V}, {15, F}, {16, F}, {17, C}, {19, C}, {20, P}, {21, P}, {22, F}, {23, F}}},
		{"summer", []time.Month{6, 7, 8}, []hp{{0, V}, {5, V}, {6, F}, {10, F}, {12, F}, {15, F}, {16, P}, {17, C}, {21, C}, {22, F}, {23, F}}},
		{"autumn", []time.Month{9, 10, 11}, []hp{{0, F}, {9, F}, {10, V}, {11, D}, {13, D}, {14, V}, {15, F}, {16, P}, {17, C}, {18, C}, {19, P}, {20, P}, {21, F}}},
		{"winter", []time.Month{12, 1, 2}, []hp{{0, F}, {9, F}, {10, V}, {11, D}, {13, D}, {14, V}, {15, F}, {16, C}, {18, C}, {19, P}, {20, P}, {21, F}}},
	}
	for _, tc := range cases {
		t.Run(tc.season, func(t *testing.T) {
			for _, m := range tc.months {
				for _, h := range tc.hours {
					// the first and the last minute of the hour
					for _, min := range []int{0, 59} {
						ts := time.Date(2024, m, 15, h.hour, min, 0, 0, CST)
						if got := tf.Period(ts); got != h.want {
							t.Errorf("%s %02d:%02d: got %v, want %v", m, h.hour, min, got, h.want)
						}
					}
				}
			}
		})
	}
}

func TestTariffPrices(t *testing.T) {
	tf, err := NewTariff(DefaultTariffSpec())
	if err != nil {
		t.Fatal(err)
	}
	// March 2026 1–10 kV prices (shandong-facts.md §3.2), reproduced to ±0.001.
	cases := []struct {
		name string
		at   time.Time
		want float64
		p    Period
	}{
		{"critical", time.Date(2026, 3, 10, 18, 0, 0, 0, CST), 1.0948, PeriodCritical},
		{"peak", time.Date(2026, 3, 10, 21, 0, 0, 0, CST), 0.9506, PeriodPeak},
		{"flat", time.Date(2026, 3, 10, 8, 0, 0, 0, CST), 0.6145, PeriodFlat},
		{"valley", time.Date(2026, 3, 10, 10, 30, 0, 0, CST), 0.2777, PeriodValley},
		{"deep valley", time.Date(2026, 3, 10, 12, 0, 0, 0, CST), 0.1815, PeriodDeepValley},
		// 03:30 UTC is 11:30 CST: the zone of the argument does not matter
		{"deep valley from UTC", time.Date(2026, 4, 1, 3, 30, 0, 0, time.UTC), 0.1815, PeriodDeepValley},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tf.Price(tc.at); got < tc.want-0.001 || got > tc.want+0.001 {
				t.Errorf("price: got %.4f, want %.4f ± 0.001", got, tc.want)
			}
			if got := tf.Period(tc.at); got != tc.p {
				t.Errorf("period: got %v, want %v", got, tc.p)
			}
			if got, want := tf.Multiplier(tc.at), (tf.Price(tc.at)-ShandongFixedCNYPerKWh)/ShandongEnergyCNYPerKWh; !approx(got, want, 1e-12) {
				t.Errorf("multiplier: got %v, want %v", got, want)
			}
		})
	}
	price, p := tf.At(7, 18)
	if p != PeriodCritical || !approx(price, 0.133+2*0.481, 1e-12) {
		t.Errorf("At(7,18) = %v %v, want critical %v", price, p, 0.133+2*0.481)
	}
}

func TestParseTOUSharedFile(t *testing.T) {
	f := openShared(t, "shandong/tou-tariff.csv")
	rules, err := ParseTOU(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := Shandong2024Rules(); !reflect.DeepEqual(rules, want) {
		t.Errorf("shared tou-tariff.csv differs from the built-in 2024 table:\n got %+v\nwant %+v", rules, want)
	}
	spec := DefaultTariffSpec()
	spec.Rules = rules
	if _, err := NewTariff(spec); err != nil {
		t.Fatal(err)
	}
}

func TestParseTOU(t *testing.T) {
	const header = "# comment\nseason,months,period,start_hour,end_hour,multiplier\n"
	good := header + "spring,3-5,valley,10,15,0.3\nwinter,12-2,peak,16,21,1.7\nother,\"6,7\",critical,0,1,2\n"
	rules, err := ParseTOU(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rules[1].Months, []int{12, 1, 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("wrapping months: got %v, want %v", got, want)
	}
	if got, want := rules[2].Months, []int{6, 7}; !reflect.DeepEqual(got, want) {
		t.Errorf("month list: got %v, want %v", got, want)
	}
	bad := []struct {
		name, in string
		line     int
		col      int // 0: don't check
		contains string
	}{
		{"bad multiplier", header + "spring,3-5,valley,10,15,0.3\nspring,3-5,peak,17,22,x1\n", 4, 23, "(multiplier)"},
		{"bad start hour", header + "spring,3-5,valley,1o,15,0.3\n", 3, 19, "not an integer hour"},
		{"hour out of range", header + "spring,3-5,valley,10,25,0.3\n", 3, 22, "must be in 1..24"},
		{"end before start", header + "spring,3-5,valley,15,10,0.3\n", 3, 22, "must be > start hour"},
		{"unknown period", header + "spring,3-5,offpeak,10,15,0.3\n", 3, 12, "unknown tariff period"},
		{"bad months", header + "spring,3-13,valley,10,15,0.3\n", 3, 8, "1..12"},
		{"field count", header + "spring,3-5,valley,10,15\n", 3, 1, "5 fields, want 6"},
		{"missing column", "season,months,period,start_hour,end_hour\n", 1, 1, "missing column \"multiplier\""},
		{"unknown column", "season,months,period,start,end_hour,multiplier\n", 1, 22, "unknown column"},
		{"not nested", header + "spring,3-5,valley,10,15,0.3\nspring,3-5,peak,14,18,1.7\n", 4, 1, "without nesting"},
		{"same span", header + "spring,3-5,valley,10,15,0.3\nspring,3-5,peak,10,15,1.7\n", 4, 1, "ambiguous"},
		{"two seasons", header + "spring,3-5,valley,10,15,0.3\nsummer,5-8,peak,17,20,1.7\n", 4, 1, "already in season \"spring\""},
		{"bare quote", header + "spr\"ing,3-5,valley,10,15,0.3\n", 3, 0, "bare \" in non-quoted-field"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTOU(strings.NewReader(tc.in))
			if err == nil {
				t.Fatal("got no error")
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("got %q, want it to contain %q", err, tc.contains)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %T %v, want a *ParseError", err, err)
			}
			if pe.Line != tc.line || tc.col != 0 && pe.Column != tc.col {
				t.Errorf("got line %d column %d, want line %d column %d (%v)", pe.Line, pe.Column, tc.line, tc.col, err)
			}
		})
	}
	if _, err := ParseTOU(strings.NewReader("")); err == nil {
		t.Error("empty input: got no error")
	}
	if _, err := ParseTOU(strings.NewReader(header)); err == nil {
		t.Error("header only: got no error")
	}
}

func TestTariffSpecValidate(t *testing.T) {
	mod := func(f func(*TariffSpec)) TariffSpec {
		s := DefaultTariffSpec()
		f(&s)
		return s
	}
	cases := []struct {
		name string
		spec TariffSpec
		want string
	}{
		{"negative fixed", mod(func(s *TariffSpec) { s.FixedCNYPerKWh = -1 }), "tariff.fixed_cny_per_kwh -1 must be a finite number >= 0"},
		{"bad month", mod(func(s *TariffSpec) { s.Rules[0].Months = []int{0} }), "tariff.rules[0].months[0] 0 must be in 1..12"},
		{"bad end", mod(func(s *TariffSpec) { s.Rules[0].EndHour = 9 }), "tariff.rules[0].end_hour 9 must be > start_hour 10"},
		{"bad period", mod(func(s *TariffSpec) { s.Rules[0].Period = 9 }), "tariff.rules[0].period 9 must be one of"},
		{"NaN multiplier", mod(func(s *TariffSpec) { s.Rules[2].Multiplier = nan() }), "tariff.rules[2].multiplier NaN must be a finite number >= 0"},
		{"overlap", mod(func(s *TariffSpec) { s.Rules[1].EndHour = 16 }), "tariff.rules[1] hours 11-16 overlap rules[0] hours 10-15 without nesting"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
			if _, err := NewTariff(tc.spec); err == nil {
				t.Error("NewTariff accepted the invalid spec")
			}
		})
	}
	if err := DefaultTariffSpec().Validate(); err != nil {
		t.Errorf("default spec: %v", err)
	}
}

func TestPeriodText(t *testing.T) {
	for p := Period(0); p < NumPeriods; p++ {
		b, err := p.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var q Period
		if err := q.UnmarshalText(b); err != nil || q != p {
			t.Errorf("round trip of %v: got %v, %v", p, q, err)
		}
	}
	for _, s := range []string{"Deep-Valley", "deepvalley", "DEEP_VALLEY"} {
		if p, err := ParsePeriod(s); err != nil || p != PeriodDeepValley {
			t.Errorf("ParsePeriod(%q) = %v, %v; want deep_valley", s, p, err)
		}
	}
	if _, err := ParsePeriod("shoulder"); err == nil || !strings.Contains(err.Error(), "allowed: flat, critical, peak, valley, deep_valley") {
		t.Errorf("unknown period: got %v", err)
	}
}

func BenchmarkTariffPrice(b *testing.B) {
	tf, err := NewTariff(DefaultTariffSpec())
	if err != nil {
		b.Fatal(err)
	}
	ts := time.Date(2024, 4, 1, 0, 0, 0, 0, CST)
	b.ReportAllocs()
	var sum float64
	for i := 0; b.Loop(); i++ {
		sum += tf.Price(ts.Add(time.Duration(i%35040) * 15 * time.Minute))
	}
	_ = sum
}
