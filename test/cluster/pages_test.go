package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server"
	"github.com/suanli/suanli/scheduler/server/api"
)

// The list reads (GET /v1/workloads, GET /v1/nodes) answer pages of at
// most 1,000 items (docs/api.md, Paging). The tests read them here, to
// the last page, and fail when the pages contradict the protocol.

// pageLimit is the page size the helpers ask for (the API's maximum).
const pageLimit = 1000

// errPaging marks a list whose pages contradict the paging protocol: a
// cursor returned twice, an item listed twice, or, across pages read at
// one index, totals that differ from each other or from the count read.
// Tests fail on it (retry and pagingOK), never retry it.
var errPaging = errors.New("paging misbehaves")

// errIndexMoved is the retryable error of a snapshot read whose pages
// were read at different indexes.
var errIndexMoved = errors.New("state changed between pages")

// listPage is one page of a list read.
type listPage[T any] struct {
	index uint64
	items []T
	next  string
	total int
}

// followPages reads a list from its first page (after "") to its last,
// fetching each page with fetch(after). It returns every item, the index
// of the last page and its total. With snapshot, pages read at different
// indexes are errIndexMoved (the caller reads again); without, they are
// accepted (the protocol still lists every item that exists throughout
// exactly once), and only the pages read at one index are held to their
// totals. Errors of fetch are returned as they are.
func followPages[T any](what string, snapshot bool, id func(T) string, fetch func(after string) (listPage[T], error)) ([]T, uint64, int, error) {
	var (
		all      []T
		seenItem = map[string]int{} // item ID → page
		seenNext = map[string]int{} // cursor → page that returned it
		after    string
		first    listPage[T]
		oneIndex = true
	)
	for n := 1; ; n++ {
		p, err := fetch(after)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%s, page %d (after %q): %w", what, n, after, err)
		}
		if n == 1 {
			first = p
		}
		if p.index != first.index {
			if snapshot {
				return nil, 0, 0, fmt.Errorf("%s: %w (page 1 at index %d, page %d at %d)", what, errIndexMoved, first.index, n, p.index)
			}
			oneIndex = false
		}
		if oneIndex && p.total != first.total {
			return nil, 0, 0, fmt.Errorf("%s: %w: page %d says total %d, page 1 %d, both at index %d", what, errPaging, n, p.total, first.total, p.index)
		}
		for _, it := range p.items {
			k := id(it)
			if prev, dup := seenItem[k]; dup {
				return nil, 0, 0, fmt.Errorf("%s: %w: %s listed on page %d and again on page %d", what, errPaging, k, prev, n)
			}
			seenItem[k] = n
		}
		all = append(all, p.items...)
		if oneIndex && len(all) > p.total {
			return nil, 0, 0, fmt.Errorf("%s: %w: %d items read by page %d, more than the total %d (index %d)", what, errPaging, len(all), n, p.total, p.index)
		}
		if p.next == "" {
			if oneIndex && len(all) != p.total {
				return nil, 0, 0, fmt.Errorf("%s: %w: %d items on %d pages, but the total is %d (index %d)", what, errPaging, len(all), n, p.total, p.index)
			}
			return all, p.index, p.total, nil
		}
		if prev, dup := seenNext[p.next]; dup {
			return nil, 0, 0, fmt.Errorf("%s: %w: page %d returned cursor %q, already returned by page %d", what, errPaging, n, p.next, prev)
		}
		seenNext[p.next] = n
		after = p.next
	}
}

// pageQuery is q (not changed) with limit and after set.
func pageQuery(q url.Values, after string) string {
	pq := url.Values{"limit": {strconv.Itoa(pageLimit)}}
	for k, v := range q {
		pq[k] = v
	}
	if after != "" {
		pq.Set("after", after)
	}
	return pq.Encode()
}

// listNodes reads every node GET /v1/nodes?q matches from addr (e.g.
// q = {"state": {"down"}}, or {"consistent": {""}}), to the last page.
// The list has the sites of its first page, the nodes of all, and the
// index and total of the last page. See followPages for snapshot and the
// errors (errPaging: fail the test).
func listNodes(ctx context.Context, addr string, q url.Values, snapshot bool) (api.NodeList, error) {
	var sites []api.Site
	nodes, idx, total, err := followPages("GET /v1/nodes?"+q.Encode()+" from "+addr, snapshot,
		func(n api.Node) string { return n.ID },
		func(after string) (listPage[api.Node], error) {
			var nl api.NodeList
			if _, err := rawGet(ctx, addr, "", "/v1/nodes?"+pageQuery(q, after), &nl); err != nil {
				return listPage[api.Node]{}, err
			}
			if after == "" {
				sites = nl.Sites
			}
			return listPage[api.Node]{index: nl.Index, items: nl.Nodes, next: nl.Next, total: nl.Total}, nil
		})
	if err != nil {
		return api.NodeList{}, err
	}
	return api.NodeList{Index: idx, Sites: sites, Nodes: nodes, Total: total}, nil
}

// listWorkloads reads every workload GET /v1/workloads?q matches from
// addr, to the last page, and returns them with the last page's index.
// See followPages for snapshot and the errors (errPaging: fail the test).
func listWorkloads(ctx context.Context, addr string, q url.Values, snapshot bool) ([]api.Workload, uint64, error) {
	ws, idx, _, err := followPages("GET /v1/workloads?"+q.Encode()+" from "+addr, snapshot,
		func(w api.Workload) string { return w.ID },
		func(after string) (listPage[api.Workload], error) {
			var wl api.WorkloadList
			if _, err := rawGet(ctx, addr, "", "/v1/workloads?"+pageQuery(q, after), &wl); err != nil {
				return listPage[api.Workload]{}, err
			}
			return listPage[api.Workload]{index: wl.Index, items: wl.Workloads, next: wl.Next, total: wl.Total}, nil
		})
	return ws, idx, err
}

// pagingOK fails the test (from its goroutine) when err is errPaging, and
// returns err otherwise, for callers that retry other errors.
func pagingOK(t testing.TB, err error) error {
	t.Helper()
	if errors.Is(err, errPaging) {
		t.Fatal(err)
	}
	return err
}

// consistentQ is the query of a consistent read of a whole list.
func consistentQ() url.Values { return url.Values{"consistent": {""}} }

// downQ is the query of the nodes that are down.
func downQ() url.Values { return url.Values{"state": {"down"}} }

// fakePages serves pages of the items "i0".."i<n-1>", size per page, at
// index 7 with total n, through tweak (which may corrupt a page).
func fakePages(n, size int, tweak func(page int, p *listPage[string])) func(after string) (listPage[string], error) {
	page := 0
	return func(after string) (listPage[string], error) {
		start := 0
		if after != "" {
			var err error
			if start, err = strconv.Atoi(after); err != nil {
				return listPage[string]{}, err
			}
		}
		page++
		p := listPage[string]{index: 7, total: n}
		for i := start; i < min(start+size, n); i++ {
			p.items = append(p.items, fmt.Sprintf("i%d", i))
		}
		if start+size < n {
			p.next = strconv.Itoa(start + size)
		}
		if tweak != nil {
			tweak(page, &p)
		}
		return p, nil
	}
}

// TestFollowPages: the helper reads a list to its last page, and tells a
// paging that contradicts the protocol (errPaging: the test fails) from a
// state that moved under a snapshot read (errIndexMoved: read again).
func TestFollowPages(t *testing.T) {
	id := func(s string) string { return s }
	items, idx, total, err := followPages("ok", true, id, fakePages(2500, 1000, nil))
	if err != nil || len(items) != 2500 || idx != 7 || total != 2500 || items[0] != "i0" || items[2499] != "i2499" {
		t.Fatalf("2500 items in pages of 1000: %d items (%v … %v), index %d, total %d, err %v", len(items), items[:min(1, len(items))], items[max(0, len(items)-1):], idx, total, err)
	}
	for _, tc := range []struct {
		name     string
		snapshot bool
		tweak    func(page int, p *listPage[string])
		want     error // nil: no error
	}{
		{"a cursor returned twice", false, func(page int, p *listPage[string]) {
			if page == 3 {
				p.next = "1000" // page 1's
			}
		}, errPaging},
		{"an item listed twice", false, func(page int, p *listPage[string]) {
			if page == 2 {
				p.items[0] = "i999"
			}
		}, errPaging},
		{"more items than the total", false, func(page int, p *listPage[string]) { p.total = 1500 }, errPaging},
		{"fewer items than the total", false, func(page int, p *listPage[string]) {
			if page == 2 {
				p.next = "" // stops early
			}
		}, errPaging},
		{"totals that differ at one index", false, func(page int, p *listPage[string]) {
			if page == 2 {
				p.total = 2501
			}
		}, errPaging},
		{"index moved, snapshot", true, func(page int, p *listPage[string]) {
			if page == 2 {
				p.index, p.total = 8, 2501
			}
		}, errIndexMoved},
		{"index moved, no snapshot", false, func(page int, p *listPage[string]) {
			if page >= 2 {
				p.index, p.total = 8, 2501 // a node registered meanwhile
			}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := followPages(tc.name, tc.snapshot, id, fakePages(2500, 1000, tc.tweak))
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want %v", err, tc.want)
			case tc.want == errIndexMoved && errors.Is(err, errPaging):
				t.Fatalf("got %v: a moved index is not a paging fault", err)
			}
			t.Logf("%v", err)
		})
	}
	broken := errors.New("connection refused")
	_, _, _, err = followPages("down", false, id, func(string) (listPage[string], error) { return listPage[string]{}, broken })
	if !errors.Is(err, broken) || errors.Is(err, errPaging) {
		t.Fatalf("fetch error: got %v, want it returned", err)
	}
}

// TestListsFollowPages: against a real (in-process, one-server) cluster
// with 2,500 nodes and 1,200 workloads, more than a page of each, the
// helpers read every node and workload once, as a snapshot and not.
func TestListsFollowPages(t *testing.T) {
	s, err := server.New(server.Config{ID: "s1", DataDir: t.TempDir(), RaftAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Gossip: server.GossipConfig{Addr: "127.0.0.1:0", Profile: "local"}, Dev: true, Bootstrap: true,
		Raft: server.FastRaftTiming(), Policy: "balanced", Seed: 1, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	addr := s.Addrs().HTTPAddr
	c := api.NewClient(addr, "")
	const nNodes, nWork = 2500, 1200
	req := api.RegisterRequest{AgentID: "a1", Sites: []api.Site{{ID: "x-jn", City: "JN", Role: "edge", PUE: 1.3}}}
	for i := range nNodes {
		req.Nodes = append(req.Nodes, api.NodeSpec{ID: fmt.Sprintf("x-jn-%04d", i), Site: "x-jn", Capacity: nodes.Resources{CPUMilli: 16000, MemoryMiB: 65536}})
	}
	var specs []api.WorkloadSpec
	for i := range nWork {
		specs = append(specs, api.WorkloadSpec{ID: fmt.Sprintf("w%04d", i), Origin: "JN", Request: nodes.Resources{CPUMilli: 10}})
	}
	retry(t, "register and submit", 30*time.Second, func(ctx context.Context) (bool, error) {
		if _, err := c.Register(ctx, req); err != nil {
			return false, err
		}
		_, err := c.SubmitBulk(ctx, specs) // idempotent
		return err == nil, err
	})

	for _, snapshot := range []bool{true, false} {
		nl := retry(t, "every node", 30*time.Second, func(ctx context.Context) (api.NodeList, error) {
			return listNodes(ctx, addr, consistentQ(), snapshot)
		})
		if len(nl.Nodes) != nNodes || nl.Total != nNodes || len(nl.Sites) != 1 {
			t.Errorf("snapshot %v: %d nodes (total %d) at %d sites, want %d at 1", snapshot, len(nl.Nodes), nl.Total, len(nl.Sites), nNodes)
		}
		ws := retry(t, "every workload", 30*time.Second, func(ctx context.Context) ([]api.Workload, error) {
			ws, _, err := listWorkloads(ctx, addr, consistentQ(), snapshot)
			return ws, err
		})
		if len(ws) != nWork {
			t.Errorf("snapshot %v: %d workloads, want %d", snapshot, len(ws), nWork)
		}
	}
	up := retry(t, "the nodes up", 30*time.Second, func(ctx context.Context) (api.NodeList, error) {
		return listNodes(ctx, addr, url.Values{"state": {"up"}}, false)
	})
	if len(up.Nodes) != nNodes {
		t.Errorf("%d nodes up, want %d", len(up.Nodes), nNodes)
	}
}
