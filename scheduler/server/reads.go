package server

import (
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
)

// The public reads of workloads and nodes. The lists read the FSM's
// published view (fsm/view.go) and take no lock, so they never delay an
// Apply; each answers one bounded page (limit, default 100 workloads or
// 1,000 nodes, at most 1,000) with the total of the whole filtered set
// and the cursor of the next page.

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request, _ []byte) *api.Error {
	if e := s.consistent(r); e != nil {
		return e
	}
	id := r.PathValue("id")
	wl, ok := s.fsm.Get(id)
	if !ok {
		return &api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf("no workload %q", id)}
	}
	setIndex(w, wl.ModifyIndex)
	writeJSON(w, http.StatusOK, wl)
	return nil
}

// pageLimit parses ?limit: an integer in [1, fsm.MaxListLimit], def when
// absent.
func pageLimit(v string, def int) (int, *api.Error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > fsm.MaxListLimit {
		return 0, api.Invalid("limit", "limit %q must be an integer in [1, %d] (default %d)", v, fsm.MaxListLimit, def)
	}
	return n, nil
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request, _ []byte) *api.Error {
	q := r.URL.Query() // parameters checked against the route's list (checkQuery)
	flt := fsm.ListFilter{Status: q.Get("status"), Class: q.Get("class"), Site: q.Get("site"), Node: q.Get("node"), Agent: q.Get("agent")}
	if flt.Status != "" && !validStatus(flt.Status) {
		return api.Invalid("status", "unknown status %q (allowed: %s)", flt.Status, strings.Join(api.Statuses(), ", "))
	}
	var e *api.Error
	if flt.After, flt.Limit, e = pageParams(q, fsm.DefaultListLimit); e != nil {
		return e
	}
	if e := s.consistent(r); e != nil {
		return e
	}
	p := s.fsm.List(flt)
	writePage(w, p.Index, p.WriteJSON)
	return nil
}

// pageParams reads a list's after cursor and limit (default def).
func pageParams(q url.Values, def int) (after uint64, limit int, e *api.Error) {
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n > math.MaxInt {
			return 0, 0, api.Invalid("after", "after %q is not a cursor: pass the next of the previous page", v)
		}
		after = n
	}
	limit, e = pageLimit(q.Get("limit"), def)
	return after, limit, e
}

// writePage answers 200 with a page written by write, at Raft index idx.
func writePage(w http.ResponseWriter, idx uint64, write func(io.Writer) error) {
	setIndex(w, idx)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = write(w)
}

func validStatus(st string) bool { return slices.Contains(api.Statuses(), st) }

func (s *Server) handleNodes(w http.ResponseWriter, r *http.Request, _ []byte) *api.Error {
	q := r.URL.Query()
	flt := fsm.NodeFilter{State: q.Get("state"), Site: q.Get("site"), Agent: q.Get("agent")}
	if flt.State != "" {
		if _, err := nodes.ParseNodeState(flt.State); err != nil {
			return api.Invalid("state", "%v", err)
		}
	}
	after, limit, e := pageParams(q, fsm.DefaultNodesLimit)
	if e != nil {
		return e
	}
	flt.After, flt.Limit = int(after), limit
	if e := s.consistent(r); e != nil {
		return e
	}
	p := s.fsm.NodePage(flt)
	writePage(w, p.Index, p.WriteJSON)
	return nil
}

// MaxPublicListsPerClient is how many list reads (GET /v1/workloads, GET
// /v1/nodes) without the API token one client address may have in
// progress on a server; more are answered 429 with Retry-After. Requests
// with the token are not counted.
const MaxPublicListsPerClient = 4

// clientLimiter counts requests in progress per client address.
type clientLimiter struct {
	mu  sync.Mutex
	max int
	n   map[string]int
}

func newClientLimiter(max int) *clientLimiter {
	return &clientLimiter{max: max, n: map[string]int{}}
}

// acquire takes a slot for client, or reports false when it has max.
func (l *clientLimiter) acquire(client string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[client] >= l.max {
		return false
	}
	l.n[client]++
	return true
}

func (l *clientLimiter) release(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[client] <= 1 {
		delete(l.n, client)
		return
	}
	l.n[client]--
}

// clientAddr is the address a request came from, without the port.
func clientAddr(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}
