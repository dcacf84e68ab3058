package fsm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// listAll pages through List with the given page size and returns the
// IDs, checking that every page reports the same total.
func listAll(t *testing.T, f *FSM, flt ListFilter, between func(page int)) (ids []string, total int) {
	t.Helper()
	total = -1
	for page := 0; ; page++ {
		p := f.List(flt)
		ws, tot, next := p.Workloads(), p.Total, p.Next
		if len(ws) > flt.Limit {
			t.Fatalf("page %d: %d workloads, limit %d", page, len(ws), flt.Limit)
		}
		if between == nil && total >= 0 && tot != total {
			t.Fatalf("page %d: total %d, first page said %d", page, tot, total)
		}
		total = tot
		for _, w := range ws {
			ids = append(ids, w.ID)
		}
		if next == "" {
			return ids, total
		}
		n, err := strconv.ParseUint(next, 10, 64)
		if err != nil {
			t.Fatalf("next %q: %v", next, err)
		}
		flt.After = n
		if between != nil {
			between(page)
		}
		if page > 10000 {
			t.Fatal("paging does not end")
		}
	}
}

func TestListTotalsAndFilters(t *testing.T) {
	h := setup(t)
	for i := 0; i < 200; i++ {
		w := spec(fmt.Sprintf("w%03d", i), 10)
		w.Class = []string{"a", "b", "c"}[i%3]
		h.submit(w)
	}
	for i := 0; i < 200; i += 7 {
		h.place(fmt.Sprintf("w%03d", i), []string{"n1", "n2", "n3"}[i%3])
	}
	for _, flt := range []ListFilter{
		{}, {Status: api.StatusPending}, {Status: api.StatusPlaced}, {Class: "b"},
		{Class: "b", Status: api.StatusPlaced}, {Node: "n3"}, {Site: "jn-core"}, {Agent: "a2"}, {Class: "none"},
	} {
		var want []string
		for i := 0; i < 200; i++ {
			w, _ := h.f.Get(fmt.Sprintf("w%03d", i))
			if m := flt.key().match(); m == nil || m(&pub[api.Workload]{v: w}) {
				want = append(want, w.ID)
			}
		}
		for _, limit := range []int{1, 7, 100, 1000} {
			flt.Limit = limit
			got, total := listAll(t, h.f, flt, nil)
			if !slices.Equal(got, want) || total != len(want) {
				t.Errorf("%+v: got %d workloads (total %d), want %d", flt, len(got), total, len(want))
			}
		}
	}
}

// TestListCursorStableUnderChanges: new submissions while a client pages
// land after the cursor (seen once, at the end), finished and forgotten
// ones drop out, and nothing that stayed is skipped or seen twice.
func TestListCursorStableUnderChanges(t *testing.T) {
	h := setup(t)
	h.f.cfg.MaxTerminal = 1
	for i := 0; i < 100; i++ {
		h.submit(spec(fmt.Sprintf("w%03d", i), 10))
	}
	added := 0
	got, _ := listAll(t, h.f, ListFilter{Limit: 10}, func(page int) {
		// Before each next page: two new workloads, and one of the
		// old ones cancelled (the one before gets forgotten: MaxTerminal 1).
		for k := 0; k < 2; k++ {
			h.submit(spec(fmt.Sprintf("new%03d", added), 10))
			added++
		}
		h.must(CmdCancel, &Cancel{At: t0, ID: fmt.Sprintf("w%03d", 95-page)})
	})
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times", id, n)
		}
	}
	for i := 0; i < 100; i++ {
		id := fmt.Sprintf("w%03d", i)
		if _, ok := h.f.Get(id); ok && seen[id] == 0 {
			if w, _ := h.f.Get(id); w.Status != api.StatusCancelled {
				t.Errorf("%s exists throughout but was skipped", id)
			}
		}
	}
	for i := 0; i < added; i++ {
		if id := fmt.Sprintf("new%03d", i); seen[id] != 1 {
			t.Errorf("%s, submitted while paging, listed %d times", id, seen[id])
		}
	}
	// Submission order: the first 100 (w…) in order, then the new ones.
	if !slices.IsSortedFunc(got, func(a, b string) int {
		if (a[0] == 'n') != (b[0] == 'n') {
			if a[0] == 'n' {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	}) {
		t.Errorf("not in submission order: %v", got)
	}
}

// TestViewAcrossCompaction forgets enough finished workloads that the
// submission order is compacted (positions move) and checks the view
// after every step (the harness checks invariants, the view included).
func TestViewAcrossCompaction(t *testing.T) {
	h := setup(t)
	h.f.cfg.MaxTerminal = 5
	h.submit(spec("keep-first", 10))
	apply := func(typ CmdType, body any) {
		// Invariants (the view's check is O(workloads)) every 50 steps
		// only: 5,000 applies checked each would take a minute under -race.
		b, err := Encode(typ, body)
		if err != nil {
			t.Fatal(err)
		}
		h.idx++
		if err, ok := h.f.Apply(h.idx, b).(error); ok {
			t.Fatal(err)
		}
		if h.idx%50 == 0 {
			if err := h.f.CheckInvariants(); err != nil {
				t.Fatalf("after %d entries: %v", h.idx, err)
			}
		}
	}
	compacted := false
	for i := 0; i < 2600; i++ {
		id := fmt.Sprintf("w%04d", i)
		apply(CmdSubmit, &Submit{At: t0, Workloads: []api.WorkloadSpec{spec(id, 10)}})
		if i%10 != 0 {
			before := len(h.f.order)
			apply(CmdCancel, &Cancel{At: t0, ID: id})
			compacted = compacted || len(h.f.order) < before
		}
	}
	if err := h.f.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if !compacted {
		t.Fatal("the submission order was never compacted: the test does not test what it says")
	}
	ids, total := listAll(t, h.f, ListFilter{Limit: 1000}, nil)
	if total != 1+260+5 || len(ids) != total || ids[0] != "keep-first" {
		t.Errorf("after compaction: total %d, %d listed (first %v), want %d", total, len(ids), ids[:1], 1+260+5)
	}
	if total := h.f.List(ListFilter{Status: api.StatusPending}).Total; total != 261 {
		t.Errorf("pending total %d, want 261", total)
	}
}

func TestNodePage(t *testing.T) {
	h := newHarness(t)
	var ns1, ns2 []api.NodeSpec
	for i := 0; i < 130; i++ {
		ns1 = append(ns1, node(fmt.Sprintf("a-%03d", i), []string{"jn-core", "x-jn"}[i%2], 4000, 8192, 0))
		ns2 = append(ns2, node(fmt.Sprintf("b-%03d", i), "x-jn", 4000, 8192, 0))
	}
	sites := []api.Site{site("jn-core", "JN", "core-zone"), site("x-jn", "JN", "edge")}
	h.must(CmdRegister, &Register{At: t0, AgentID: "a1", Sites: sites, Nodes: ns1})
	h.must(CmdRegister, &Register{At: t0, AgentID: "a2", Nodes: ns2})
	h.must(CmdNodeState, &NodeState{At: t0, Nodes: []string{"a-003", "b-100", "b-129"}, State: "down", Reason: ReasonOperator})
	for _, flt := range []NodeFilter{{}, {State: "down"}, {State: "up", Site: "x-jn"}, {Agent: "a2"}, {Site: "nowhere"}} {
		all := h.f.Nodes(flt.State, flt.Site, flt.Agent)
		for _, limit := range []int{1, 9, 64, 1000} {
			flt.Limit, flt.After = limit, 0
			var got []api.Node
			for pages := 0; ; pages++ {
				p := h.f.NodePage(flt)
				if p.Total != len(all.Nodes) || len(p.Sites) != 2 || len(p.Nodes()) > limit {
					t.Fatalf("%+v: total %d (want %d), %d sites, %d nodes", flt, p.Total, len(all.Nodes), len(p.Sites), len(p.Nodes()))
				}
				for _, n := range p.Nodes() {
					got = append(got, *n)
				}
				if p.Next == "" {
					break
				}
				flt.After, _ = strconv.Atoi(p.Next)
			}
			if !slices.Equal(got, all.Nodes) {
				t.Errorf("%+v limit %d: pages differ from the full list (%d vs %d nodes)", flt, limit, len(got), len(all.Nodes))
			}
		}
	}
	if c := h.f.Counts().Nodes; c["up"] != 257 || c["down"] != 3 || c["draining"] != 0 {
		t.Errorf("counts %v", c)
	}
	n, ok := h.f.Node("b-100")
	if !ok || n.State != "down" || n.OperatorState != "down" {
		t.Errorf("Node(b-100) = %+v, %v", n, ok)
	}
}

// TestReadsDoNotWaitForApply: the list reads, counts and the index answer
// while an Apply holds the FSM's lock (here: the test holds it).
func TestReadsDoNotWaitForApply(t *testing.T) {
	h := setup(t)
	h.submit(spec("w1", 100))
	h.f.mu.Lock()
	done := make(chan string)
	go func() {
		l := h.f.List(ListFilter{})
		nl := h.f.NodePage(NodeFilter{})
		done <- fmt.Sprintf("%d workloads, %d nodes, index %d/%d", l.Total, nl.Total, l.Index, h.f.Index())
	}()
	select {
	case got := <-done:
		if got != "1 workloads, 3 nodes, index 3/3" {
			t.Errorf("got %s", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("list reads blocked on the FSM lock")
	}
	h.f.mu.Unlock()
}

// TestViewConcurrentReads runs readers against a random history (for the
// race detector) and checks that each read is internally consistent.
func TestViewConcurrentReads(t *testing.T) {
	h := setup(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				switch r {
				case 0:
					p := h.f.List(ListFilter{Limit: 1000})
					ws, total := p.Workloads(), p.Total
					if len(ws) != min(total, 1000) {
						errs <- fmt.Errorf("list: %d workloads, total %d", len(ws), total)
						return
					}
				case 1:
					p := h.f.List(ListFilter{Status: api.StatusPlaced})
					ws, total := p.Workloads(), p.Total
					for _, w := range ws {
						if w.Status != api.StatusPlaced || w.Node == "" {
							errs <- fmt.Errorf("placed list has %+v", w)
							return
						}
					}
					if len(ws) > total {
						errs <- fmt.Errorf("placed: %d listed, total %d", len(ws), total)
						return
					}
				case 2:
					nl := h.f.NodePage(NodeFilter{State: "up"})
					if len(nl.Nodes()) != nl.Total {
						errs <- fmt.Errorf("nodes: %d listed, total %d", len(nl.Nodes()), nl.Total)
						return
					}
					_ = h.f.Counts()
				}
			}
		}(r)
	}
	randomSteps(h, 7, 600)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestPageJSON: the pages write exactly what encoding/json writes for
// api.WorkloadList and api.NodeList, the first time and from the records'
// cached encodings.
func TestPageJSON(t *testing.T) {
	h := setup(t)
	for i := 0; i < 30; i++ {
		w := spec(fmt.Sprintf("w%02d", i), 10)
		w.Class = "<etl & \u2028 \"ml\">"
		w.Deadline = t0.Add(time.Duration(i) * time.Hour)
		w.LatencyBoundMs = 0.1 * float64(i)
		h.submit(w)
	}
	h.place("w03", "n1")
	for _, flt := range []ListFilter{{Limit: 7}, {Limit: 100}, {Status: "rejected"}, {Node: "n1"}} {
		for pass := 0; pass < 2; pass++ {
			p := h.f.List(flt)
			var got, want bytes.Buffer
			if err := p.WriteJSON(&got); err != nil {
				t.Fatal(err)
			}
			l := api.WorkloadList{Index: p.Index, Next: p.Next, Total: p.Total, Workloads: []api.Workload{}}
			for _, w := range p.Workloads() {
				l.Workloads = append(l.Workloads, *w)
			}
			_ = json.NewEncoder(&want).Encode(l)
			if got.String() != want.String() {
				t.Fatalf("%+v pass %d:\n got  %s\n want %s", flt, pass, got.String(), want.String())
			}
		}
	}
	for _, flt := range []NodeFilter{{}, {Limit: 2}, {State: "down"}} {
		p := h.f.NodePage(flt)
		var got, want bytes.Buffer
		if err := p.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		l := api.NodeList{Index: p.Index, Sites: p.Sites, Next: p.Next, Total: p.Total, Nodes: []api.Node{}}
		for _, n := range p.Nodes() {
			l.Nodes = append(l.Nodes, *n)
		}
		_ = json.NewEncoder(&want).Encode(l)
		if got.String() != want.String() {
			t.Fatalf("%+v:\n got  %s\n want %s", flt, got.String(), want.String())
		}
	}
}
