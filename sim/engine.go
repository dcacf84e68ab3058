package sim

import "math/bits"

// Kind is the type of an event. The runner dispatches on it with a switch.
type Kind uint8

// Event is one scheduled happening. Events are values: the queue stores
// them inline, so scheduling one allocates nothing once it has grown.
type Event struct {
	// At is the virtual time in nanoseconds since the start of the run.
	At int64
	// key packs the priority (top 8 bits), the sequence number (the next
	// 48 bits) and the kind (low 8 bits), so the total order is two integer
	// comparisons (the unique sequence decides before the kind could) and
	// an event takes 24 bytes.
	key uint64
	// Arg and Gen are the event's arguments (for example a workload slot
	// and the generation of that slot, so a stale event can be ignored).
	Arg int32
	Gen uint32
}

// Kind says what the event is.
func (e *Event) Kind() Kind { return Kind(e.key) }

// Prio orders events at the same time: lower runs first.
func (e *Event) Prio() uint8 { return uint8(e.key >> 56) }

// Seq is the event's sequence number, assigned by Schedule: strictly
// increasing, it breaks ties between events of equal time and priority.
func (e *Event) Seq() uint64 { return e.key >> 8 & seqMask }

const seqMask = 1<<48 - 1

// less is the total order of events: time, then priority, then sequence.
func (e *Event) less(o *Event) bool {
	return e.At < o.At || (e.At == o.At && e.key < o.key)
}

// Engine is a virtual clock and a monotone priority queue of events. The
// zero value is ready to use; NewEngine preallocates room.
//
// The queue is a radix heap (Ahuja, Mehlhorn, Orlin and Tarjan 1990),
// which relies on the clock never going backwards: every pending event
// after the current minimum time `last` sits in bucket i when the highest
// bit in which its time differs from `last` is bit i-1. Scheduling is an
// XOR, a bit count and an append. When the events at or before `last` run
// out, the lowest non-empty bucket is scanned for its earliest time, which
// becomes `last`, and its events move to lower buckets; an event moves at
// most 63 times in all and in practice a few, by sequential passes over
// plain slices, which is what keeps it fast when a million events are
// pending and a binary heap's random accesses miss the cache. Events at or
// before `last` wait in `due`, a small binary heap in the full (time,
// priority, sequence) order, so ties come out exactly as a single heap
// would return them.
type Engine struct {
	due     []Event     // binary heap of the events with At <= last
	buckets [64][]Event // buckets[i], i >= 1: At > last, highest differing bit i-1
	spare   [][]Event   // spent bucket arrays, reused when a bucket fills up
	mask    uint64      // bit i set when buckets[i] is non-empty
	last    int64       // every event in a bucket is later than last
	n       int         // pending events
	seq     uint64
	now     int64
	// Processed counts the events returned by Next.
	Processed uint64
}

// NewEngine returns an empty engine; capacity, the expected number of
// pending events, sizes the buffer of due events. The buckets grow as the
// run needs them and keep their memory (see grow), so a steady state
// allocates next to nothing.
func NewEngine(capacity int) *Engine {
	return &Engine{due: make([]Event, 0, min(capacity, 1024))}
}

// Now is the time of the last event returned by Next (0 before the first).
func (e *Engine) Now() int64 { return e.now }

// Len is the number of pending events.
func (e *Engine) Len() int { return e.n }

// Schedule adds an event. Events in the past (at < Now) run at Now, after
// the events already due then, so the clock never goes backwards.
func (e *Engine) Schedule(at int64, prio uint8, kind Kind, arg int32, gen uint32) {
	if at < e.now {
		at = e.now
	}
	e.seq++
	ev := Event{At: at, key: uint64(prio)<<56 | (e.seq&seqMask)<<8 | uint64(kind), Arg: arg, Gen: gen}
	e.n++
	if at <= e.last {
		e.pushDue(ev)
		return
	}
	b := bits.Len64(uint64(at ^ e.last))
	if s := e.buckets[b]; len(s) < cap(s) {
		e.buckets[b] = append(s, ev)
		e.mask |= 1 << b
		return
	}
	e.add(b, ev)
}

// add appends ev to bucket b. A full bucket takes a larger spent array
// from spare rather than growing a new one (grow), so the memory the queue
// holds stays near its peak number of pending events even though events
// wander from bucket to bucket. (Schedule and refill spell the fast path
// out: a call here costs 10–20 % of an operation.)
func (e *Engine) add(b int, ev Event) {
	s := e.buckets[b]
	if len(s) == cap(s) {
		s = e.grow(s)
	}
	e.buckets[b] = append(s, ev)
	e.mask |= 1 << b
}

// grow returns s copied into an array with room for at least twice as
// many events (and at least 64): the smallest such spare array, or a new
// one. s itself becomes a spare.
func (e *Engine) grow(s []Event) []Event {
	need := max(2*len(s), 64)
	best := -1
	for i, sp := range e.spare {
		if cap(sp) >= need && (best < 0 || cap(sp) < cap(e.spare[best])) {
			best = i
		}
	}
	var n []Event
	if best >= 0 {
		n = e.spare[best][:len(s)]
		last := len(e.spare) - 1
		e.spare[best] = e.spare[last]
		e.spare = e.spare[:last]
	} else {
		n = make([]Event, len(s), need)
	}
	copy(n, s)
	e.putSpare(s)
	return n
}

// putSpare keeps a spent array for reuse; past maxSpare arrays the
// smallest is left to the garbage collector. (Bounding the spares' total
// room by the pending count instead made steady state allocate again and
// did not lower a province run's peak memory.)
func (e *Engine) putSpare(s []Event) {
	if cap(s) == 0 {
		return
	}
	e.spare = append(e.spare, s[:0])
	if len(e.spare) <= maxSpare {
		return
	}
	small := 0
	for i := range e.spare {
		if cap(e.spare[i]) < cap(e.spare[small]) {
			small = i
		}
	}
	last := len(e.spare) - 1
	e.spare[small] = e.spare[last]
	e.spare[last] = nil
	e.spare = e.spare[:last]
}

const (
	maxSpare = 32
	// keepCap is the largest array a drained bucket keeps for itself; the
	// low buckets, drained and refilled all the time, never touch spare.
	keepCap = 4096
)

// Peek returns the next event without removing it; ok is false when none
// is pending.
func (e *Engine) Peek() (ev Event, ok bool) {
	if len(e.due) == 0 && !e.refill() {
		return Event{}, false
	}
	return e.due[0], true
}

// Next removes and returns the earliest event and advances the clock to
// it; ok is false when none is pending.
func (e *Engine) Next() (ev Event, ok bool) {
	if len(e.due) == 0 && !e.refill() {
		return Event{}, false
	}
	ev = e.popDue()
	e.n--
	e.now = ev.At
	e.Processed++
	return ev, true
}

// Reset empties the queue and sets the clock to zero, keeping the memory.
func (e *Engine) Reset() {
	e.due = e.due[:0]
	e.spare = nil
	for i := range e.buckets {
		e.buckets[i] = e.buckets[i][:0]
	}
	e.mask, e.last, e.n = 0, 0, 0
	e.seq, e.now, e.Processed = 0, 0, 0
}

// refill moves the earliest bucket's events down once `due` is empty: its
// earliest time becomes `last`, the events at that time go to `due` and
// the rest to lower buckets. It reports whether any event is pending.
func (e *Engine) refill() bool {
	if e.mask == 0 {
		return false
	}
	b := bits.TrailingZeros64(e.mask)
	src := e.buckets[b]
	min := src[0].At
	for i := 1; i < len(src); i++ {
		if src[i].At < min {
			min = src[i].At
		}
	}
	e.last = min
	e.mask &^= 1 << b
	for i := range src {
		ev := &src[i]
		if ev.At == min {
			e.pushDue(*ev)
			continue
		}
		d := bits.Len64(uint64(ev.At ^ min)) // below b: min shares ev's bits from b-1 up
		if s := e.buckets[d]; len(s) < cap(s) {
			e.buckets[d] = append(s, *ev)
			e.mask |= 1 << d
		} else {
			e.add(d, *ev)
		}
	}
	if cap(src) > keepCap {
		e.buckets[b] = nil
		e.putSpare(src)
	} else {
		e.buckets[b] = src[:0]
	}
	return true
}

func (e *Engine) pushDue(x Event) {
	e.due = append(e.due, x)
	h := e.due
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !x.less(&h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = x
}

// popDue removes the root of `due`: the hole moves down along the smaller
// children to a leaf and the last element sifts up from there (Floyd's
// bottom-up deletion).
func (e *Engine) popDue() Event {
	h := e.due
	top := h[0]
	n := len(h) - 1
	x := h[n]
	h = h[:n]
	e.due = h
	if n == 0 {
		return top
	}
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h[r].less(&h[l]) {
			c = r
		}
		h[i] = h[c]
		i = c
	}
	for i > 0 {
		p := (i - 1) / 2
		if !x.less(&h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = x
	return top
}
