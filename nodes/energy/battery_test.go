package energy

import (
	"math"
	"math/rand/v2"
	"testing"
)

func newTestBattery(t testing.TB, capMWh, powerMW, eta, lo, hi, init float64) *Battery {
	t.Helper()
	b, err := NewBattery(BatterySpec{CapacityMWh: capMWh, PowerMW: powerMW, RoundTripEfficiency: eta, SoCMin: lo, SoCMax: hi, InitialSoC: init})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBatteryBoundsAndPowerLimit(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for trial := range 50 {
		lo := r.Float64() * 0.4
		hi := lo + 0.1 + r.Float64()*(0.9-lo)
		b := newTestBattery(t, 1+r.Float64()*50, 0.5+r.Float64()*20, 0.5+r.Float64()*0.5, lo, hi, lo+(hi-lo)*r.Float64())
		for range 2000 {
			h := []float64{0.25, 1, 1.0 / 12}[r.IntN(3)]
			before := b.StoredKWh()
			if r.IntN(2) == 0 {
				offer := r.ExpFloat64() * b.PowerKW() * h
				drawn := b.Charge(offer, h, 0, r.IntN(2) == 0)
				if drawn > offer+1e-9 || drawn > b.PowerKW()*h*(1+1e-12) {
					t.Fatalf("trial %d: drew %v kWh in %v h, offer %v, limit %v", trial, drawn, h, offer, b.PowerKW()*h)
				}
				if got, want := b.StoredKWh()-before, drawn*b.eff; !approx(got, want, 1e-9) {
					t.Fatalf("trial %d: stored %v for %v drawn, want √η × drawn = %v", trial, got, drawn, want)
				}
			} else {
				want := r.ExpFloat64() * b.PowerKW() * h
				del, green := b.Discharge(want, h)
				if del > want+1e-9 || del > b.PowerKW()*h*(1+1e-12) || green > del+1e-12 || green < 0 {
					t.Fatalf("trial %d: delivered %v (green %v) kWh in %v h, asked %v, limit %v", trial, del, green, h, want, b.PowerKW()*h)
				}
				if got, want := before-b.StoredKWh(), del/b.eff; !approx(got, want, 1e-9) {
					t.Fatalf("trial %d: removed %v for %v delivered, want %v", trial, got, del, want)
				}
			}
			if s := b.SoC(); s < lo-1e-12 || s > hi+1e-12 {
				t.Fatalf("trial %d: SoC %v left [%v,%v]", trial, s, lo, hi)
			}
			if b.GreenKWh() < 0 || b.GreenKWh() > b.StoredKWh()+1e-9 {
				t.Fatalf("trial %d: green %v of stored %v", trial, b.GreenKWh(), b.StoredKWh())
			}
		}
	}
}

func TestBatteryRoundTrip(t *testing.T) {
	cases := []struct {
		name         string
		eta          float64
		chargeKWh    float64
		wantDelivery float64
	}{
		{"88% efficient", 0.88, 1000, 880},
		{"lossless", 1, 1000, 1000},
		{"half", 0.5, 100, 50},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newTestBattery(t, 10, 100, tc.eta, 0, 1, 0)
			if drawn := b.Charge(tc.chargeKWh, 1, 0, true); !approx(drawn, tc.chargeKWh, 1e-12) {
				t.Fatalf("drew %v, want %v", drawn, tc.chargeKWh)
			}
			del, green := b.Discharge(1e9, 1)
			if !approx(del, tc.wantDelivery, 1e-9) || !approx(green, del, 1e-12) {
				t.Errorf("delivered %v (green %v), want %v all green", del, green, tc.wantDelivery)
			}
			if b.StoredKWh() != 0 {
				t.Errorf("stored %v after a full discharge, want 0", b.StoredKWh())
			}
		})
	}
	// power limit: 5 MW for 15 minutes is at most 1250 kWh
	b := newTestBattery(t, 20, 5, 0.88, 0.1, 0.9, 0.5)
	if d, _ := b.Discharge(1e9, 0.25); !approx(d, 1250, 1e-12) {
		t.Errorf("15-min discharge at 5 MW: got %v kWh, want 1250", d)
	}
	// the initial charge counts as grid energy
	if b.GreenKWh() != 0 {
		t.Errorf("green part of the initial charge: got %v, want 0", b.GreenKWh())
	}
	if b2, err := NewBattery(BatterySpec{}); b2 != nil || err != nil {
		t.Errorf("no capacity: got %v, %v; want nil, nil", b2, err)
	}
	if math.IsNaN(b.SoC()) {
		t.Error("SoC is NaN")
	}
}
