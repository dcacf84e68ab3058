// Package sweep answers the researcher's question "which policy is better,
// and is the difference real?": it runs every policy on every scenario for
// several seeds (the cartesian product, like OpenDC's experiments), and
// reports each metric's mean with a 95 % confidence interval over seeds and,
// for every policy, the paired difference from a baseline policy with its
// own confidence interval. Differences are paired by seed — both policies
// saw the identical workload stream and weather — so they are much tighter
// than the spread of either policy alone.
//
// Confidence intervals use Student's t distribution (gonum's distuv) with
// n−1 degrees of freedom: mean ± t(0.975, n−1)·s/√n. With one seed there is
// no interval (reported as NaN and printed as "–").
package sweep
