package energy

import (
	"math"
	"math/rand/v2"
)

// gammaRand draws from Gamma(k, 1) by Marsaglia and Tsang's method (with
// the usual boost for k < 1).
func gammaRand(r *rand.Rand, k float64) float64 {
	if k < 1 {
		return gammaRand(r, k+1) * math.Pow(r.Float64(), 1/k)
	}
	d := k - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if u < 1-0.0331*x*x*x*x {
			return d * v
		}
		if math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// betaRand draws from Beta(a, b) as X/(X+Y) with X ~ Gamma(a), Y ~ Gamma(b).
func betaRand(r *rand.Rand, a, b float64) float64 {
	x := gammaRand(r, a)
	y := gammaRand(r, b)
	if x+y == 0 {
		return a / (a + b)
	}
	return x / (x + y)
}

// normCDF is Φ, the standard normal distribution function.
func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// normQuantile is Φ⁻¹ for p in (0,1).
func normQuantile(p float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*p) }

// ou advances a unit-variance Ornstein–Uhlenbeck (continuous AR(1))
// variable x by h >= 0 hours with coefficient a = rho^h (rho per hour):
// x' = a·x + √(1 − a²)·ε. It draws once.
func ou(r *rand.Rand, x, a float64) float64 {
	return a*x + math.Sqrt(1-a*a)*r.NormFloat64()
}

// subRand derives an independent stream for one component from a site's
// stream, so adding a component after it does not change its draws.
func subRand(r *rand.Rand) *rand.Rand {
	return rand.New(rand.NewPCG(r.Uint64(), r.Uint64()))
}
