package optimize

import (
	"cmp"
	"fmt"
	"slices"
)

// Cell is one place-and-time bucket the plan may fill.
type Cell struct {
	Site int
	// Slot is the hour index in the horizon, 0-based.
	Slot int
	// Capacity is how much work the cell can take, in core-hours.
	Capacity float64
	// Cost is the cost of one core-hour in the cell.
	Cost float64
}

// Fill computes a minimum-cost allocation of demand to cells. due[t] is the
// work (core-hours) that must run in slots 0..t; cells of later slots cannot
// serve it. It returns the amount allocated to each cell (indexed like
// cells) and the total served, which is the whole demand when the cells
// can hold it, and otherwise as much as they can.
//
// The suffix sums of due bound what cells of slots ≥ t may take, which makes
// the feasible allocations a polymatroid; filling cells in ascending cost
// order (ties: earlier slot, then lower site) as far as every suffix bound
// allows is optimal for a linear cost.
func Fill(cells []Cell, due []float64) (alloc []float64, served float64, err error) {
	var f Filler
	alloc, served, err = f.Fill(cells, due)
	return append([]float64(nil), alloc...), served, err
}

// Filler computes Fill with reusable scratch space: the optimizer plans
// every hour and must not allocate for it each time. The zero value is
// ready; it is not safe for concurrent use.
type Filler struct {
	room  []float64
	order []fillKey
	alloc []float64
}

type fillKey struct {
	cost       float64
	slot, site int
	i          int
}

// Fill is the package-level Fill; the returned slice is valid until the
// next call.
func (f *Filler) Fill(cells []Cell, due []float64) (alloc []float64, served float64, err error) {
	h := len(due)
	for i, c := range cells {
		if c.Slot < 0 || c.Slot >= h {
			return nil, 0, fmt.Errorf("optimize: cell %d slot %d outside horizon [0,%d)", i, c.Slot, h)
		}
		if c.Capacity < 0 {
			return nil, 0, fmt.Errorf("optimize: cell %d has negative capacity %g", i, c.Capacity)
		}
	}
	for t, d := range due {
		if d < 0 {
			return nil, 0, fmt.Errorf("optimize: negative demand %g due by slot %d", d, t)
		}
	}
	// room[t] = demand due at or after t, less what cells of slots ≥ t took.
	f.room = grow(f.room, h)
	acc := 0.0
	for t := h - 1; t >= 0; t-- {
		acc += due[t]
		f.room[t] = acc
	}
	// Sort by (cost, slot, site, index): a total order, so the result
	// does not depend on the sort algorithm.
	f.order = f.order[:0]
	for i, c := range cells {
		f.order = append(f.order, fillKey{c.Cost, c.Slot, c.Site, i})
	}
	slices.SortFunc(f.order, func(a, b fillKey) int {
		switch {
		case a.cost != b.cost:
			return cmp.Compare(a.cost, b.cost)
		case a.slot != b.slot:
			return a.slot - b.slot
		case a.site != b.site:
			return a.site - b.site
		}
		return a.i - b.i
	})
	f.alloc = grow(f.alloc, len(cells))
	for _, k := range f.order {
		i := k.i
		c := &cells[i]
		inc := c.Capacity
		for t := 0; t <= c.Slot && inc > 0; t++ {
			if f.room[t] < inc {
				inc = f.room[t]
			}
		}
		if inc <= 0 {
			continue
		}
		f.alloc[i] = inc
		served += inc
		for t := 0; t <= c.Slot; t++ {
			f.room[t] -= inc
		}
	}
	return f.alloc, served, nil
}

// Order returns the cells of the last Fill in the order it filled them
// (cost, slot, site): indices into its cells. Valid until the next call.
func (f *Filler) Order(dst []int) []int {
	dst = dst[:0]
	for _, k := range f.order {
		dst = append(dst, k.i)
	}
	return dst
}

// grow returns v with length n, zeroed, reusing its memory.
func grow(v []float64, n int) []float64 {
	if cap(v) < n {
		return make([]float64, n)
	}
	v = v[:n]
	clear(v)
	return v
}
