package sim

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestEngineTotalOrder(t *testing.T) {
	var e Engine
	// Scheduled out of order; same time resolves by prio, then by schedule order.
	e.Schedule(10, 1, 1, 0, 0)
	e.Schedule(5, 2, 2, 1, 0)
	e.Schedule(10, 0, 3, 2, 0)
	e.Schedule(5, 2, 4, 3, 0)
	e.Schedule(10, 1, 5, 4, 0)
	var got []int32
	for {
		ev, ok := e.Next()
		if !ok {
			break
		}
		got = append(got, ev.Arg)
	}
	want := []int32{1, 3, 2, 0, 4}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestEngineRandomMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var e Engine
	var all []Event
	for i := 0; i < 5000; i++ {
		at := int64(rng.IntN(200))
		prio := uint8(rng.IntN(3))
		e.Schedule(at, prio, 0, int32(i), 0)
		all = append(all, Event{At: at, key: uint64(prio)<<56 | uint64(i+1)<<8, Arg: int32(i)})
	}
	sort.Slice(all, func(a, b int) bool { return all[a].less(&all[b]) })
	for i, w := range all {
		got, ok := e.Next()
		if !ok || got.Arg != w.Arg {
			t.Fatalf("event %d: got arg %d, want %d", i, got.Arg, w.Arg)
		}
	}
	if _, ok := e.Next(); ok {
		t.Fatal("heap not empty")
	}
}

func TestEnginePastEventsRunNow(t *testing.T) {
	var e Engine
	e.Schedule(100, 0, 0, 0, 0)
	e.Next()
	e.Schedule(50, 0, 0, 1, 0)
	ev, _ := e.Next()
	if ev.At != 100 || e.Now() != 100 {
		t.Fatalf("got at %d now %d, want 100", ev.At, e.Now())
	}
}

// TestEngineMatchesModel drives the engine with random interleavings of
// Schedule, Peek and Next — events in the past, at the current time, at
// equal times with different priorities, far in the future, and scheduled
// right after a Peek — and checks every event against a plain sorted
// model of the same order.
func TestEngineMatchesModel(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		var e Engine
		var model []Event // pending, in schedule order
		var seq uint64
		popModel := func() Event {
			best := 0
			for i := range model {
				if model[i].less(&model[best]) {
					best = i
				}
			}
			ev := model[best]
			model = append(model[:best], model[best+1:]...)
			return ev
		}
		spans := []int64{1, 10, 1_000, 1 << 20, 1 << 40, 1 << 62}
		for step := 0; step < 4000; step++ {
			switch r := rng.IntN(10); {
			case r < 5:
				at := e.Now() + rng.Int64N(spans[rng.IntN(len(spans))]) - 3
				prio := uint8(rng.IntN(3))
				e.Schedule(at, prio, Kind(rng.IntN(4)), int32(step), 0)
				seq++
				model = append(model, Event{At: max(at, e.Now()), key: uint64(prio)<<56 | seq<<8, Arg: int32(step)})
			case r < 7:
				got, ok := e.Peek()
				if ok != (len(model) > 0) {
					t.Fatalf("seed %d step %d: Peek ok=%v with %d pending", seed, step, ok, len(model))
				}
				if ok {
					want := model[0]
					for i := range model {
						if model[i].less(&want) {
							want = model[i]
						}
					}
					if got.Arg != want.Arg || got.At != want.At {
						t.Fatalf("seed %d step %d: Peek got (%d, arg %d), want (%d, arg %d)", seed, step, got.At, got.Arg, want.At, want.Arg)
					}
				}
			default:
				got, ok := e.Next()
				if ok != (len(model) > 0) {
					t.Fatalf("seed %d step %d: Next ok=%v with %d pending", seed, step, ok, len(model))
				}
				if ok {
					want := popModel()
					if got.Arg != want.Arg || got.At != want.At || e.Now() != want.At {
						t.Fatalf("seed %d step %d: Next got (%d, arg %d) now %d, want (%d, arg %d)", seed, step, got.At, got.Arg, e.Now(), want.At, want.Arg)
					}
				}
			}
			if e.Len() != len(model) {
				t.Fatalf("seed %d step %d: Len %d, want %d", seed, step, e.Len(), len(model))
			}
		}
	}
}

func TestEngineReset(t *testing.T) {
	e := NewEngine(16)
	for i := 0; i < 100; i++ {
		e.Schedule(int64(i*1000), 0, 0, int32(i), 0)
	}
	e.Next()
	e.Reset()
	if e.Len() != 0 || e.Now() != 0 {
		t.Fatalf("after Reset: Len %d Now %d", e.Len(), e.Now())
	}
	if _, ok := e.Peek(); ok {
		t.Fatal("Peek after Reset found an event")
	}
	e.Schedule(5, 0, 0, 1, 0)
	e.Schedule(3, 0, 0, 2, 0)
	if ev, _ := e.Next(); ev.Arg != 2 || ev.Seq() != 2 {
		t.Fatalf("after Reset got arg %d seq %d, want arg 2 seq 2", ev.Arg, ev.Seq())
	}
}

func TestStreamsIndependentOfOthers(t *testing.T) {
	a := Stream(7, "arrivals/ctrl").Uint64()
	// Creating other streams in between changes nothing.
	_ = Stream(7, "arrivals/video").Uint64()
	b := Stream(7, "arrivals/ctrl").Uint64()
	if a != b {
		t.Fatalf("got %d then %d for the same stream", a, b)
	}
	if Stream(7, "arrivals/video").Uint64() == a || Stream(8, "arrivals/ctrl").Uint64() == a {
		t.Fatal("different names or seeds gave the same draw")
	}
}

func TestHistQuantiles(t *testing.T) {
	h := NewHist(0.01, 30)
	for i := 1; i <= 10000; i++ {
		h.Add(float64(i) / 10)
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 500}, {0.95, 950}, {0.99, 990}, {1, 1000}} {
		got := h.Quantile(c.q)
		if math.Abs(got-c.want)/c.want > 0.016 {
			t.Errorf("q%.2f: got %g, want %g ±1.6%%", c.q, got, c.want)
		}
	}
	if h.Count() != 10000 || math.Abs(h.Mean()-500.05) > 1e-9 {
		t.Errorf("got count %d mean %g", h.Count(), h.Mean())
	}
	var e Hist
	e = *NewHist(1, 4)
	if e.Quantile(0.5) != 0 {
		t.Errorf("empty: got %g, want 0", e.Quantile(0.5))
	}
	e.Add(0)
	e.Add(1e9)
	if got := e.Quantile(1); got != 1e9 {
		t.Errorf("overflow: got %g, want 1e9", got)
	}
	if got := e.Quantile(0.5); got != 0 {
		t.Errorf("underflow: got %g, want 0", got)
	}
}

func BenchmarkEngine(b *testing.B) {
	// Steady state: 100,000 pending events; each op pops one and schedules one.
	const pending = 100_000
	e := NewEngine(pending + 1)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < pending; i++ {
		e.Schedule(int64(rng.IntN(1_000_000_000)), 0, 1, int32(i), 0)
	}
	for i := 0; i < pending; i++ { // warm up to steady-state buffer sizes
		ev, _ := e.Next()
		e.Schedule(ev.At+int64(rng.IntN(1_000_000_000)), ev.Prio(), ev.Kind(), ev.Arg, ev.Gen)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev, _ := e.Next()
		e.Schedule(ev.At+int64(rng.IntN(1_000_000_000)), ev.Prio(), ev.Kind(), ev.Arg, ev.Gen)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
