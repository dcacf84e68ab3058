package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

// getStrict GETs path from h (no token) and decodes a 200 into out,
// refusing fields out does not have: the wire types of the list
// handlers must stay api.WorkloadList and api.NodeList.
func getStrict(t *testing.T, h http.Handler, path string, out any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// TestListPaging: GET /v1/workloads and GET /v1/nodes page with limit and
// after; total is the whole filtered set on every page; the last page has
// no next; a submission between pages shows up once, at the end.
func TestListPaging(t *testing.T) {
	s := single(t, nil)
	c := client(s)
	h := s.Handler()
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 25)
	var specs []api.WorkloadSpec
	for i := 0; i < 45; i++ {
		specs = append(specs, api.WorkloadSpec{ID: fmt.Sprintf("w%02d", i), Origin: "JN", Class: []string{"odd", "even"}[(i+1)%2],
			Request: nodes.Resources{CPUMilli: 10}, DurationMs: 3_600_000})
	}
	if _, err := c.SubmitBulk(ctx(t), specs); err != nil {
		t.Fatal(err)
	}
	var seen []string
	next, extra := "", 0
	for page := 0; ; page++ {
		var l api.WorkloadList
		path := "/v1/workloads?class=even&limit=10"
		if next != "" {
			path += "&after=" + next
		}
		getStrict(t, h, path, &l)
		if want := 23 + extra; l.Total != want {
			t.Errorf("page %d: total %d, want %d (every even workload)", page, l.Total, want)
		}
		if len(l.Workloads) > 10 {
			t.Fatalf("page %d: %d workloads, limit 10", page, len(l.Workloads))
		}
		for _, w := range l.Workloads {
			seen = append(seen, w.ID)
		}
		if l.Next == "" {
			break
		}
		next = l.Next
		if page == 0 {
			submitOK(t, c, api.WorkloadSpec{ID: "late", Origin: "JN", Class: "even", Request: nodes.Resources{CPUMilli: 10}})
			extra = 1
		}
	}
	if len(seen) != 24 || seen[0] != "w00" || seen[22] != "w44" || seen[23] != "late" {
		t.Errorf("pages listed %v, want the 23 even ones in order, then late", seen)
	}
	var first api.WorkloadList
	getStrict(t, h, "/v1/workloads", &first)
	if len(first.Workloads) != 46 || first.Total != 46 || first.Next != "" {
		t.Errorf("default page: %d workloads, total %d, next %q; want all 46 (default limit 100)", len(first.Workloads), first.Total, first.Next)
	}

	var all []string
	next = ""
	for {
		var nl api.NodeList
		path := "/v1/nodes?agent=a1&limit=7"
		if next != "" {
			path += "&after=" + next
		}
		getStrict(t, h, path, &nl)
		if nl.Total != 25 || len(nl.Sites) != 1 || len(nl.Nodes) > 7 {
			t.Fatalf("%s: total %d, %d sites, %d nodes", path, nl.Total, len(nl.Sites), len(nl.Nodes))
		}
		for _, n := range nl.Nodes {
			all = append(all, n.ID)
		}
		if nl.Next == "" {
			break
		}
		next = nl.Next
	}
	if len(all) != 25 || all[0] != "jn-core-0" || all[24] != "jn-core-24" {
		t.Errorf("node pages listed %v", all)
	}
	var nl api.NodeList
	getStrict(t, h, "/v1/nodes?state=down", &nl)
	if nl.Total != 0 || len(nl.Nodes) != 0 || nl.Next != "" || nl.Nodes == nil {
		t.Errorf("no down nodes: got %+v", nl)
	}
}

// TestPublicListLimit: list reads without the token are limited per
// client address (429, Retry-After); with the token, or other reads, not.
func TestPublicListLimit(t *testing.T) {
	s := single(t, nil)
	registerAgent(t, client(s), "a1", "jn-core", "JN", "core-zone", 1)
	lists := newClientLimiter(MaxPublicListsPerClient)
	h, _ := s.newMuxLimited(lists)
	const addr = "192.0.2.1" // httptest.NewRequest's client
	for i := 0; i < MaxPublicListsPerClient; i++ {
		if !lists.acquire(addr) {
			t.Fatalf("slot %d refused", i)
		}
	}
	for _, path := range []string{"/v1/workloads", "/v1/nodes?state=up"} {
		resp, eb := do(t, h, "GET", path, "", nil)
		if resp.StatusCode != http.StatusTooManyRequests || eb.Error == nil || eb.Error.Code != api.CodeTooManyRequests || resp.Header.Get("Retry-After") != "1" {
			t.Errorf("GET %s with %d in progress: %d %+v (Retry-After %q), want 429 too_many_requests", path, MaxPublicListsPerClient, resp.StatusCode, eb.Error, resp.Header.Get("Retry-After"))
		}
		if resp, _ := do(t, h, "GET", path, "", map[string]string{"X-Suanli-Token": testToken}); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with the token: %d, want 200", path, resp.StatusCode)
		}
	}
	for _, path := range []string{"/v1/workloads/none", "/v1/cluster", "/v1/health"} {
		if resp, _ := do(t, h, "GET", path, "", nil); resp.StatusCode == http.StatusTooManyRequests {
			t.Errorf("GET %s: 429; only list reads are limited", path)
		}
	}
	// An unknown parameter is still a 400, not a 429.
	if resp, _ := do(t, h, "GET", "/v1/nodes?colour=red", "", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown parameter under the limit: %d, want 400", resp.StatusCode)
	}
	lists.release(addr)
	if resp, _ := do(t, h, "GET", "/v1/workloads", "", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("after a release: %d, want 200", resp.StatusCode)
	}
	if n := lists.n[addr]; n != MaxPublicListsPerClient-1 {
		t.Errorf("slots in use after the request: %d, want %d (released)", n, MaxPublicListsPerClient-1)
	}
}
