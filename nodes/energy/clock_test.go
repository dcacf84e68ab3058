package energy

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestLocalClockMatchesTimeIn(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(ts time.Time) {
		t.Helper()
		c := localClock(ts)
		l := ts.In(CST)
		if c.year != l.Year() || c.month != int(l.Month()) || c.yday != l.YearDay() || c.hi != l.Hour() {
			t.Fatalf("localClock(%v) = %d-%02d yday %d hour %d, want %d-%02d yday %d hour %d",
				ts, c.year, c.month, c.yday, c.hi, l.Year(), l.Month(), l.YearDay(), l.Hour())
		}
		wantH := float64(l.Hour()) + float64(l.Minute())/60 + float64(l.Second())/3600 + float64(l.Nanosecond())/3.6e12
		if d := c.hour - wantH; d > 1e-9 || d < -1e-9 {
			t.Fatalf("localClock(%v).hour = %v, want %v", ts, c.hour, wantH)
		}
	}
	for range 20000 {
		check(time.Unix(rng.Int64N(8e9)-4e9, rng.Int64N(1e9)).UTC())
	}
	// boundaries: local midnight, new year, leap day, in another zone
	for _, ts := range []time.Time{
		time.Date(2024, 1, 1, 0, 0, 0, 0, CST),
		time.Date(2023, 12, 31, 16, 0, 0, 0, time.UTC), // 2024-01-01 00:00 CST
		time.Date(2023, 12, 31, 15, 59, 59, 999999999, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 0, 0, CST),
		time.Date(2024, 3, 1, 0, 0, 0, 0, CST),
		time.Date(1969, 12, 31, 20, 0, 0, 0, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, CST),
		time.Date(2024, 6, 1, 12, 0, 0, 0, time.FixedZone("X", -5*3600)),
	} {
		check(ts)
	}
}
