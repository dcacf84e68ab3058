package fsm

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// pvec is an immutable array of *T by position, shared between versions
// (copy-on-write): a two-level tree of 64-item leaves under 64-leaf
// branches (4,096 positions per branch). A pbuilder makes the next version
// from the last one by copying only the branches and leaves that changed,
// so publishing a version costs O(branches + changed leaves) and readers
// of older versions are never disturbed. Items are never nil below n; a
// cleared live bit marks a removed one (its pointer stays, so positions
// keep their sort key until the array is rebuilt).
//
// Every leaf and branch memoises how many live items match a filter key
// (memo, made by the first reader that counts there), so counting a
// filter over the whole array costs O(branches) once the parts that did
// not change since the last count were counted.
type pvec[T any, K comparable] struct {
	br []*pbranch[T, K]
	n  int
}

const (
	leafBits   = 6
	leafSize   = 1 << leafBits
	branchBits = 6
	branchSize = 1 << branchBits
	branchSpan = leafSize * branchSize
)

type pleaf[T any, K comparable] struct {
	items [leafSize]*T
	live  uint64 // bit i: items[i] is present
	gen   uint64 // the builder generation that made it; only the builder reads it
	memo  memoPtr[K]
}

type pbranch[T any, K comparable] struct {
	leaves [branchSize]*pleaf[T, K]
	gen    uint64
	memo   memoPtr[K]
}

// Len is the number of positions (live or not).
func (v *pvec[T, K]) Len() int { return v.n }

// At returns the item at position p (p < Len) and whether it is live.
func (v *pvec[T, K]) At(p int) (*T, bool) {
	l := v.br[p/branchSpan].leaves[(p/leafSize)%branchSize]
	i := p % leafSize
	return l.items[i], l.live&(1<<i) != 0
}

// count returns how many live items match (match nil: every live item),
// memoised under key.
func (v *pvec[T, K]) count(key K, match func(*T) bool) int {
	n := 0
	for _, b := range v.br {
		if b != nil {
			n += b.count(key, match)
		}
	}
	return n
}

func (b *pbranch[T, K]) count(key K, match func(*T) bool) int {
	if c, ok := b.memo.get(key); ok {
		return c
	}
	n := 0
	for _, l := range b.leaves {
		if l != nil {
			n += l.count(key, match)
		}
	}
	b.memo.put(key, n)
	return n
}

func (l *pleaf[T, K]) count(key K, match func(*T) bool) int {
	if match == nil {
		return bits.OnesCount64(l.live)
	}
	if c, ok := l.memo.get(key); ok {
		return c
	}
	n := 0
	for m := l.live; m != 0; m &= m - 1 {
		if match(l.items[bits.TrailingZeros64(m)]) {
			n++
		}
	}
	l.memo.put(key, n)
	return n
}

// scan calls fn with each live matching item at position from or later,
// in order, until fn returns false. Leaves and branches with no match are
// skipped by their (memoised) counts.
func (v *pvec[T, K]) scan(from int, key K, match func(*T) bool, fn func(p int, it *T) bool) {
	for bi := from / branchSpan; bi < len(v.br); bi++ {
		b := v.br[bi]
		if b == nil || b.count(key, match) == 0 {
			continue
		}
		li := 0
		if bi == from/branchSpan {
			li = (from / leafSize) % branchSize
		}
		for ; li < branchSize; li++ {
			l := b.leaves[li]
			if l == nil || l.count(key, match) == 0 {
				continue
			}
			base := bi*branchSpan + li*leafSize
			m := l.live
			if base < from {
				m &^= 1<<(from-base) - 1
			}
			for ; m != 0; m &= m - 1 {
				i := bits.TrailingZeros64(m)
				if it := l.items[i]; match == nil || match(it) {
					if !fn(base+i, it) {
						return
					}
				}
			}
		}
	}
}

// pbuilder makes the next version of a pvec. Only its owner (the FSM,
// under its write lock) calls it.
type pbuilder[T any, K comparable] struct {
	cur      pvec[T, K] // last published
	next     pvec[T, K] // being built, when building
	building bool
	gen      uint64
}

func (b *pbuilder[T, K]) begin() *pvec[T, K] {
	if !b.building {
		b.gen++
		b.next = pvec[T, K]{br: append(make([]*pbranch[T, K], 0, len(b.cur.br)+1), b.cur.br...), n: b.cur.n}
		b.building = true
	}
	return &b.next
}

// reset starts the next version empty (positions are about to be set
// from 0 again).
func (b *pbuilder[T, K]) reset() {
	b.gen++
	b.next, b.building = pvec[T, K]{}, true
}

// set puts it at position p (p <= the next version's length) as live or
// removed.
func (b *pbuilder[T, K]) set(p int, it *T, live bool) {
	v := b.begin()
	bi := p / branchSpan
	for len(v.br) <= bi {
		v.br = append(v.br, nil)
	}
	br := v.br[bi]
	if br == nil || br.gen != b.gen {
		nb := &pbranch[T, K]{gen: b.gen}
		if br != nil {
			nb.leaves = br.leaves
		}
		v.br[bi], br = nb, nb
	}
	li := (p / leafSize) % branchSize
	l := br.leaves[li]
	if l == nil || l.gen != b.gen {
		nl := &pleaf[T, K]{gen: b.gen}
		if l != nil {
			nl.items, nl.live = l.items, l.live
		}
		br.leaves[li], l = nl, nl
	}
	i := p % leafSize
	l.items[i] = it
	if live {
		l.live |= 1 << i
	} else {
		l.live &^= 1 << i
	}
	if p >= v.n {
		v.n = p + 1
	}
}

// publish returns the new version (the last one if nothing changed).
func (b *pbuilder[T, K]) publish() pvec[T, K] {
	if b.building {
		b.cur, b.next, b.building = b.next, pvec[T, K]{}, false
	}
	return b.cur
}

// memoPtr is a leaf's or branch's memo, made on first use.
type memoPtr[K comparable] struct{ p atomic.Pointer[memo[K]] }

func (m *memoPtr[K]) get(k K) (int, bool) {
	if mm := m.p.Load(); mm != nil {
		return mm.get(k)
	}
	return 0, false
}

func (m *memoPtr[K]) put(k K, v int) {
	mm := m.p.Load()
	if mm == nil {
		m.p.CompareAndSwap(nil, new(memo[K]))
		mm = m.p.Load()
	}
	mm.put(k, v)
}

// memo remembers a few (key, count) pairs of an immutable leaf or branch;
// readers fill it concurrently.
type memo[K comparable] struct {
	mu   sync.Mutex
	n    uint8 // slots in use
	next uint8 // slot to replace next
	keys [memoSlots]K
	vals [memoSlots]int32
}

const memoSlots = 4

func (m *memo[K]) get(k K) (int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < int(m.n); i++ {
		if m.keys[i] == k {
			return int(m.vals[i]), true
		}
	}
	return 0, false
}

func (m *memo[K]) put(k K, v int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < int(m.n); i++ {
		if m.keys[i] == k {
			return
		}
	}
	i := m.n
	if m.n < memoSlots {
		m.n++
	} else {
		i = m.next
		m.next = (m.next + 1) % memoSlots
	}
	m.keys[i], m.vals[i] = k, int32(v)
}
