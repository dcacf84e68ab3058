package energy

import (
	"math"
	"strings"
	"testing"
	"time"
)

// The parsers must never panic, and what they accept must be usable.

func FuzzParseTOU(f *testing.F) {
	f.Add("season,months,period,start_hour,end_hour,multiplier\nspring,3-5,valley,10,15,0.3\nspring,3-5,deep_valley,11,14,0.1\n")
	f.Add("# c\nseason,months,period,start_hour,end_hour,multiplier\nw,\"12-2\",peak,16,21,1.7\n")
	f.Add("months,season,multiplier,period,end_hour,start_hour\n1,a,2,critical,24,0\n")
	f.Fuzz(func(t *testing.T, in string) {
		rules, err := ParseTOU(strings.NewReader(in))
		if err != nil {
			return
		}
		spec := DefaultTariffSpec()
		spec.Rules = rules
		tf, err := NewTariff(spec)
		if err != nil {
			t.Fatalf("ParseTOU accepted rules NewTariff rejects: %v", err)
		}
		for h := range 24 {
			if p := tf.Price(time.Date(2024, time.Month(1+h%12), 1, h, 0, 0, 0, CST)); math.IsNaN(p) || p < 0 {
				t.Fatalf("price %v", p)
			}
		}
	})
}

func FuzzParseSPECPower(f *testing.F) {
	f.Add("model,w0,w10,w20,w30,w40,w50,w60,w70,w80,w90,w100,source\nA,1,2,3,4,5,6,7,8,9,10,11,x\n")
	f.Add("model,w0,w10,w20,w30,w40,w50,w60,w70,w80,w90,w100\nB,0,0,0,0,0,0,0,0,0,0,1e3\n")
	f.Fuzz(func(t *testing.T, in string) {
		servers, err := ParseSPECPower(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, s := range servers {
			if err := s.Spec().Validate(); err != nil {
				t.Fatalf("accepted curve is invalid: %v", err)
			}
		}
	})
}

func FuzzReadTable(f *testing.F) {
	f.Add("time,a,b\n0,1,2\n300,,3\n600,4,NA\n")
	f.Add("timestamp,x\n2022-01-01 00:00:00+00:00,1\n2022-01-01T01:00:00Z,2\n")
	f.Add("t,v\n0,0\n10,10\n30,30\n")
	f.Fuzz(func(t *testing.T, in string) {
		tab, err := ReadTable(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, name := range tab.Names {
			s, err := tab.Series(name)
			if err != nil {
				continue // every value missing
			}
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, v := range s.vals {
				lo, hi = min(lo, v), max(hi, v)
			}
			for _, x := range []float64{-1e7, -1, 0, 0.5, 1, 299.9, 1e9} {
				v := s.At(x)
				if math.IsNaN(v) || v < lo-1e-9*math.Abs(lo)-1e-300 || v > hi+1e-9*math.Abs(hi)+1e-300 {
					if !math.IsInf(lo, 0) && !math.IsInf(hi, 0) {
						t.Fatalf("%s.At(%v) = %v outside [%v,%v]", name, x, v, lo, hi)
					}
				}
			}
		}
	})
}
