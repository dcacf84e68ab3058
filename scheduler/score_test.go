package scheduler

import (
	"math"
	"testing"
)

func TestPow10Frac(t *testing.T) {
	for x := -0.5; x <= 1.5; x += 0.0007 {
		want := math.Pow(10, math.Min(1, math.Max(0, x)))
		if got := pow10frac(x); math.Abs(got-want)/want > 1e-5 {
			t.Fatalf("pow10frac(%g) = %g, want %g", x, got, want)
		}
	}
}
