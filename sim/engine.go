package sim

// Kind is the type of an event. The runner dispatches on it with a switch.
type Kind uint8

// Event is one scheduled happening. Events are values: the heap stores them
// inline, so scheduling one allocates nothing once the heap has grown.
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

// Engine is a virtual clock and an event heap. The zero value is ready to
// use; NewEngine preallocates room for capacity pending events.
type Engine struct {
	heap []Event
	seq  uint64
	now  int64
	// Processed counts the events returned by Next.
	Processed uint64
}

// NewEngine returns an engine with room for capacity pending events.
func NewEngine(capacity int) *Engine {
	return &Engine{heap: make([]Event, 0, capacity)}
}

// Now is the time of the last event returned by Next (0 before the first).
func (e *Engine) Now() int64 { return e.now }

// Len is the number of pending events.
func (e *Engine) Len() int { return len(e.heap) }

// Schedule adds an event. Events in the past (at < Now) run at Now, after
// the events already due then, so the clock never goes backwards.
func (e *Engine) Schedule(at int64, prio uint8, kind Kind, arg int32, gen uint32) {
	if at < e.now {
		at = e.now
	}
	e.seq++
	e.heap = append(e.heap, Event{At: at, key: uint64(prio)<<56 | (e.seq&seqMask)<<8 | uint64(kind), Arg: arg, Gen: gen})
	e.up(len(e.heap) - 1)
}

// Peek returns the next event without removing it; ok is false when none
// is pending.
func (e *Engine) Peek() (ev Event, ok bool) {
	if len(e.heap) == 0 {
		return Event{}, false
	}
	return e.heap[0], true
}

// Next removes and returns the earliest event and advances the clock to
// it; ok is false when none is pending.
func (e *Engine) Next() (ev Event, ok bool) {
	n := len(e.heap)
	if n == 0 {
		return Event{}, false
	}
	ev = e.heap[0]
	n--
	last := e.heap[n]
	e.heap = e.heap[:n]
	if n > 0 {
		e.fill(last)
	}
	e.now = ev.At
	e.Processed++
	return ev, true
}

// Reset empties the heap and sets the clock to zero, keeping the memory.
func (e *Engine) Reset() {
	e.heap = e.heap[:0]
	e.seq, e.now, e.Processed = 0, 0, 0
}

func (e *Engine) up(i int) {
	h := e.heap
	x := h[i]
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

// fill moves the hole at the root down to a leaf along the smaller
// children, then sifts x up from there (Floyd's bottom-up deletion: the
// last element usually belongs near the bottom, so this takes about half
// the comparisons of a plain sift-down).
func (e *Engine) fill(x Event) {
	h := e.heap
	n := len(h)
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
}
