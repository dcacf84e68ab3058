package energy

import (
	"testing"
	"time"
)

func TestPUE(t *testing.T) {
	jan := time.Date(2024, 1, 15, 12, 0, 0, 0, CST)
	jul := time.Date(2024, 7, 15, 12, 0, 0, 0, CST)
	load := func(fixed float64, monthly []float64) *PUE {
		p, err := NewPUE(PUESpec{Model: PUELoad, Design: 1.25, RatedITKW: 1000, FixedFraction: fixed, MonthlyOverheadFactor: monthly})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	constant, err := NewPUE(DefaultPUESpec())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		p         *PUE
		itKW      float64
		at        time.Time
		ratio, fk float64
	}{
		{"constant full", constant, 1000, jan, 1.25, 1250},
		{"constant low", constant, 100, jan, 1.25, 125},
		{"load full = design", load(0.5, nil), 1000, jan, 1.25, 1250},
		{"load half", load(0.5, nil), 500, jan, 1 + 0.125 + 0.125*2, 500 + 125 + 62.5},
		{"load 10%", load(0.5, nil), 100, jan, 1 + 0.125 + 1.25, 100 + 125 + 12.5},
		{"load fully fixed", load(1, nil), 250, jan, 1 + 0.25*4, 250 + 250},
		{"load fully proportional", load(0, nil), 250, jan, 1.25, 312.5},
		{"load idle site pays fixed", load(0.5, nil), 0, jan, 1.25, 125},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Ratio(tc.itKW, tc.at); !approx(got, tc.ratio, 1e-12) {
				t.Errorf("Ratio: got %v, want %v", got, tc.ratio)
			}
			if got := tc.p.FacilityKW(tc.itKW, tc.at); !approx(got, tc.fk, 1e-12) {
				t.Errorf("FacilityKW: got %v, want %v", got, tc.fk)
			}
		})
	}
	// PUE rises monotonically as load falls
	p := load(0.5, nil)
	prev := 0.0
	for it := 1000.0; it >= 50; it -= 50 {
		r := p.Ratio(it, jan)
		if r < prev {
			t.Fatalf("ratio fell from %v to %v when IT fell to %v kW", prev, r, it)
		}
		prev = r
	}
	if got := p.Marginal(jan); !approx(got, 1.125, 1e-12) {
		t.Errorf("Marginal: got %v, want 1.125", got)
	}
	// monthly factors are normalised to mean 1: the annual mean of the
	// full-load PUE is the design value; summer is above, winter below.
	ps := load(0.5, ShandongMonthlyOverhead())
	var sum float64
	for m := 1; m <= 12; m++ {
		sum += ps.Ratio(1000, time.Date(2024, time.Month(m), 1, 0, 0, 0, 0, CST))
	}
	if got := sum / 12; !approx(got, 1.25, 1e-12) {
		t.Errorf("mean full-load PUE over months: got %v, want 1.25", got)
	}
	if !(ps.Ratio(1000, jul) > 1.25 && ps.Ratio(1000, jan) < 1.25) {
		t.Errorf("seasonal: July %v, January %v; want above and below 1.25", ps.Ratio(1000, jul), ps.Ratio(1000, jan))
	}
}
