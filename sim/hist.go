package sim

import "math"

// Hist is a fixed-bucket logarithmic histogram for non-negative values:
// each power of two between Lo·2^0 and Lo·2^Octaves is split into
// histSub linear sub-buckets, so a percentile is exact to within 1/histSub
// of an octave (under 1.6 % relative error). Values below Lo fall in the
// first bucket, values above the range in the last. It is deterministic
// (no sampling) and Add costs a few nanoseconds and allocates nothing.
type Hist struct {
	lo      float64
	octaves int
	counts  []uint64
	n       uint64
	sum     float64
	min     float64
	max     float64
}

const histSub = 64

// NewHist returns a histogram covering [lo, lo·2^octaves).
func NewHist(lo float64, octaves int) *Hist {
	return &Hist{lo: lo, octaves: octaves, counts: make([]uint64, octaves*histSub+1), min: math.Inf(1), max: math.Inf(-1)}
}

// bucket returns the bucket index of v.
func (h *Hist) bucket(v float64) int {
	r := v / h.lo
	if !(r >= 1) { // also NaN
		return 0
	}
	m, e := math.Frexp(r) // r = m·2^e, m in [0.5,1)
	oct := e - 1
	if oct >= h.octaves {
		return len(h.counts) - 1
	}
	sub := int((m*2 - 1) * histSub)
	if sub >= histSub {
		sub = histSub - 1
	}
	return 1 + oct*histSub + sub
}

// lower and upper bounds of bucket b (b ≥ 1).
func (h *Hist) bounds(b int) (float64, float64) {
	if b == 0 {
		return 0, h.lo
	}
	b--
	oct, sub := b/histSub, b%histSub
	base := h.lo * math.Ldexp(1, oct)
	return base * (1 + float64(sub)/histSub), base * (1 + float64(sub+1)/histSub)
}

// Add records one value.
func (h *Hist) Add(v float64) {
	h.counts[h.bucket(v)]++
	h.n++
	h.sum += v
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Merge adds o's counts to h; both must have the same lo and octaves.
func (h *Hist) Merge(o *Hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.min = math.Min(h.min, o.min)
	h.max = math.Max(h.max, o.max)
}

// Count is the number of values recorded.
func (h *Hist) Count() uint64 { return h.n }

// Mean is the exact mean of the values (0 when empty).
func (h *Hist) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Max is the largest value recorded (0 when empty).
func (h *Hist) Max() float64 {
	if h.n == 0 {
		return 0
	}
	return h.max
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1): the midpoint of the bucket
// holding the value of rank ceil(q·n), clamped to the exact min and max
// (the underflow bucket reports the min, the overflow bucket the max).
// It is 0 for an empty histogram.
func (h *Hist) Quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var cum uint64
	for b, c := range h.counts {
		cum += c
		if cum >= rank {
			lo, hi := h.bounds(b)
			v := (lo + hi) / 2
			switch b {
			case 0:
				v = h.min // below the resolution floor
			case len(h.counts) - 1:
				v = h.max
			}
			return math.Min(math.Max(v, h.min), h.max)
		}
	}
	return h.max
}

// Buckets calls fn for every non-empty bucket with its bounds and count,
// in ascending order (for charts).
func (h *Hist) Buckets(fn func(lo, hi float64, n uint64)) {
	for b, c := range h.counts {
		if c > 0 {
			lo, hi := h.bounds(b)
			fn(lo, hi, c)
		}
	}
}
