package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/suanli/suanli/scheduler/server/api"
)

// HeaderIndex carries the FSM index of a read (and of a long-poll's answer).
const HeaderIndex = "X-Suanli-Index"

// headerForwarded marks a request a follower forwarded to the leader.
const headerForwarded = "X-Suanli-Forwarded"

// access is who may call a route. Every route chooses one: the zero value
// is refused by TestAuthOnEveryRoute, and treated as accessToken (closed)
// if it ever reaches a server.
type access int

const (
	accessUnset access = iota
	// accessPublic: no token (reads of workloads, nodes and the cluster,
	// health, metrics; docs/api.md, Authentication).
	accessPublic
	// accessToken: the API token is required (writes, the dry run, agent
	// endpoints), unless the server runs with --dev.
	accessToken
)

func (a access) String() string {
	switch a {
	case accessPublic:
		return "public"
	case accessToken:
		return "token"
	}
	return "unset"
}

// route is one endpoint of the API.
type route struct {
	method, path string
	access       access
	// write: must run on the leader (followers forward it).
	write bool
	// bulk: may use the larger body limit.
	bulk bool
	// query lists the query parameters the route takes; any other is
	// refused with 400 naming it and these.
	query []string
	// list: a list read; without the token, at most
	// MaxPublicListsPerClient in progress per client address (429).
	list bool
	h    func(s *Server, w http.ResponseWriter, r *http.Request, body []byte) *api.Error
}

// routes is the API's route table; docs/api.md documents every entry.
// newMux registers these and nothing else (besides the 404 for unknown
// paths).
var routes = []route{
	{method: "GET", path: "/v1/health", access: accessPublic, h: (*Server).handleHealth},
	{method: "GET", path: "/v1/cluster", access: accessPublic, query: []string{"consistent"}, h: (*Server).handleCluster},
	{method: "POST", path: "/v1/cluster/join", access: accessToken, write: true, h: (*Server).handleJoin},
	{method: "POST", path: "/v1/cluster/remove", access: accessToken, write: true, h: (*Server).handleRemove},
	{method: "POST", path: "/v1/cluster/transfer-leader", access: accessToken, write: true, h: (*Server).handleTransferLeader},
	{method: "POST", path: "/v1/workloads", access: accessToken, write: true, h: (*Server).handleSubmit},
	{method: "POST", path: "/v1/workloads/bulk", access: accessToken, write: true, bulk: true, h: (*Server).handleBulk},
	{method: "GET", path: "/v1/workloads", access: accessPublic, list: true, query: []string{"status", "class", "site", "node", "agent", "limit", "after", "consistent"}, h: (*Server).handleList},
	{method: "GET", path: "/v1/workloads/{id}", access: accessPublic, query: []string{"consistent"}, h: (*Server).handleGet},
	{method: "POST", path: "/v1/workloads/{id}/cancel", access: accessToken, write: true, h: (*Server).handleCancel},
	{method: "POST", path: "/v1/plan", access: accessToken, h: (*Server).handlePlan},
	{method: "GET", path: "/v1/nodes", access: accessPublic, list: true, query: []string{"state", "site", "agent", "limit", "after", "consistent"}, h: (*Server).handleNodes},
	{method: "POST", path: "/v1/nodes/{id}/state", access: accessToken, write: true, h: (*Server).handleNodeState},
	{method: "POST", path: "/v1/agent/register", access: accessToken, write: true, bulk: true, h: (*Server).handleRegister},
	{method: "GET", path: "/v1/agent/{id}/assignments", access: accessToken, query: []string{"index", "wait"}, h: (*Server).handleAssignments},
	{method: "POST", path: "/v1/agent/{id}/events", access: accessToken, write: true, bulk: true, h: (*Server).handleEvents},
	{method: "GET", path: "/v1/operator/scheduler", access: accessPublic, query: []string{"consistent"}, h: (*Server).handleSchedulerGet},
	{method: "PUT", path: "/v1/operator/scheduler", access: accessToken, write: true, query: []string{"cas"}, h: (*Server).handleSchedulerPut},
	{method: "GET", path: "/metrics", access: accessPublic, h: (*Server).handleMetrics},
}

// Handler returns the server's HTTP API (also used by tests through
// httptest).
func (s *Server) Handler() http.Handler {
	mux, _ := s.newMux()
	return mux
}

// newMux builds the API's mux from routes and returns it with the
// patterns it registered (TestAuthOnEveryRoute compares them with the
// route table). Register only through handle.
func (s *Server) newMux() (*http.ServeMux, []string) {
	return s.newMuxLimited(newClientLimiter(MaxPublicListsPerClient))
}

// newMuxLimited is newMux counting public list reads in lists.
func (s *Server) newMuxLimited(lists *clientLimiter) (*http.ServeMux, []string) {
	mux := http.NewServeMux()
	var patterns []string
	handle := func(pattern string, h http.HandlerFunc) {
		mux.HandleFunc(pattern, h)
		patterns = append(patterns, pattern)
	}
	byPath := map[string][]route{}
	var order []string
	for _, rt := range routes {
		if _, ok := byPath[rt.path]; !ok {
			order = append(order, rt.path)
		}
		byPath[rt.path] = append(byPath[rt.path], rt)
	}
	for _, p := range order {
		rts := byPath[p]
		allowed := strings.Join(allowedMethods(rts), ", ")
		handle(p, func(w http.ResponseWriter, r *http.Request) {
			if rt, ok := routeFor(rts, r.Method); ok {
				s.serve(rt, lists, w, r)
				return
			}
			w.Header().Set("Allow", allowed)
			writeError(w, &api.Error{Code: api.CodeMethod, Message: fmt.Sprintf("%s %s: method not allowed (allowed: %s)", r.Method, p, allowed)})
		})
	}
	handle("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf("no route %s %s", r.Method, r.URL.Path)})
	})
	return mux, patterns
}

// routeFor picks the route of one path that serves method. HEAD is
// served by the path's GET route, as net/http's own mux does (monitoring
// tools and load balancers probe with HEAD): the same access rules, query
// checks, status and headers, and net/http's server drops the body it
// writes (keeping Content-Length when the whole body fit its buffer).
func routeFor(rts []route, method string) (route, bool) {
	for _, rt := range rts {
		if rt.method == method {
			return rt, true
		}
	}
	if method == http.MethodHead {
		return routeFor(rts, http.MethodGet)
	}
	return route{}, false
}

// allowedMethods lists the methods one path's routes serve (HEAD with
// GET), sorted, for the Allow header of a 405.
func allowedMethods(rts []route) []string {
	var out []string
	for _, rt := range rts {
		out = append(out, rt.method)
		if rt.method == http.MethodGet && !slices.ContainsFunc(rts, func(r route) bool { return r.method == http.MethodHead }) {
			out = append(out, http.MethodHead)
		}
	}
	slices.Sort(out)
	return out
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request, _ []byte) *api.Error {
	promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}

func (s *Server) startHTTP() error {
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("http listen on %s: %w", s.cfg.HTTPAddr, err)
	}
	if s.serverTLS != nil {
		ln = tls.NewListener(ln, s.serverTLS)
	}
	s.httpLn = ln
	s.httpSrv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.cfg.MaxWait + 30*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	go func() { _ = s.httpSrv.Serve(ln) }()
	return nil
}

// serve runs one route: body limit (413 before auth or decode), token,
// query parameters, the per-client limit of public list reads (429), body
// read, forwarding to the leader for writes, then the handler.
func (s *Server) serve(rt route, lists *clientLimiter, w http.ResponseWriter, r *http.Request) {
	limit := s.cfg.MaxBodyBytes
	if rt.bulk {
		limit = s.cfg.MaxBulkBodyBytes
	}
	if r.ContentLength > limit {
		writeError(w, &api.Error{Code: api.CodeTooLarge, Message: fmt.Sprintf("body of %d bytes exceeds the limit of %d", r.ContentLength, limit)})
		return
	}
	if rt.access != accessPublic && !s.authorized(r) {
		writeError(w, &api.Error{Code: api.CodeUnauthorized, Message: "missing or wrong API token (X-Suanli-Token or Authorization: Bearer)"})
		return
	}
	if e := checkQuery(rt, r.URL.RawQuery); e != nil {
		writeError(w, e)
		return
	}
	if rt.list && !s.validToken(r) {
		client := clientAddr(r)
		if !lists.acquire(client) {
			s.metrics.listsShed.Inc()
			w.Header().Set("Retry-After", "1")
			writeError(w, &api.Error{Code: api.CodeTooManyRequests, Message: fmt.Sprintf(
				"%d list requests without the API token from %s are in progress; retry after 1 s, page with ?limit and ?after, or send the token", MaxPublicListsPerClient, client)})
			return
		}
		defer lists.release(client)
	}
	var body []byte
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeError(w, &api.Error{Code: api.CodeTooLarge, Message: fmt.Sprintf("body exceeds the limit of %d bytes", limit)})
				return
			}
			writeError(w, api.Invalid("body", "read body: %v", err))
			return
		}
	}
	if (rt.write || r.URL.Query().Has("consistent")) && s.raft.State() != raft.Leader {
		if s.forward(w, r, body) {
			return
		}
		// this server was elected while it held the request: serve it
	}
	if e := rt.h(s, w, r, body); e != nil {
		writeError(w, e)
	}
}

// checkQuery refuses a malformed query string, parameters the route does
// not take, repeated parameters and a ?consistent with a value other than
// true, naming the parameter and the allowed ones.
func checkQuery(rt route, raw string) *api.Error {
	if raw == "" {
		return nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return api.Invalid("query", "malformed query string %q: %v", raw, err)
	}
	allowed := "none"
	if len(rt.query) > 0 {
		allowed = strings.Join(rt.query, ", ")
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(rt.query, k) {
			return api.Invalid(k, "unknown query parameter %q for %s %s (allowed: %s)", k, rt.method, rt.path, allowed)
		}
		if n := len(q[k]); n > 1 {
			return api.Invalid(k, "query parameter %q given %d times; give it once", k, n)
		}
		if v := q[k][0]; k == "consistent" && v != "" && v != "true" {
			return api.Invalid(k, "consistent=%s: ?consistent takes no value (or true); leave it out for a read from this server's state", v)
		}
	}
	return nil
}

// authorized compares the request's token with the configured one in
// constant time. With --dev, every request is allowed.
func (s *Server) authorized(r *http.Request) bool {
	return s.cfg.Dev || s.validToken(r)
}

// validToken reports whether the request carries the configured token
// (never, on a server without one).
func (s *Server) validToken(r *http.Request) bool {
	got := sha256.Sum256([]byte(requestToken(r)))
	want := sha256.Sum256([]byte(s.cfg.Token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1 && s.cfg.Token != ""
}

func requestToken(r *http.Request) string {
	if t := r.Header.Get("X-Suanli-Token"); t != "" {
		return t
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// forward proxies a write (or consistent read) to the leader. A request
// that never reached the leader is "no_leader" (safe to retry); one whose
// answer was lost is "unknown_outcome". While no leader is known, or the
// known one refuses connections (it died and the others have not elected
// a new one yet), the request is held for up to LeaderHold and sent to
// the leader that emerges; forward returns false, having written nothing,
// if that is this server (the caller serves the request itself).
func (s *Server) forward(w http.ResponseWriter, r *http.Request, body []byte) bool {
	if r.Header.Get(headerForwarded) != "" {
		// forwarded to us by a server that took us for the leader: do not
		// bounce it on (no loops)
		leader, _ := s.leaderHTTP()
		writeError(w, &api.Error{Code: api.CodeNoLeader, Message: "forwarded to a server that is not the leader; the request was not applied, retry", Leader: leader})
		return true
	}
	hold := time.Now().Add(s.cfg.LeaderHold)
	var dead string // a leader that refused a connection
	for {
		leader, lid := s.leaderHTTP()
		if lid == s.cfg.ID && s.raft.State() == raft.Leader {
			return false
		}
		if leader == "" || lid == s.cfg.ID || (dead != "" && lid == dead) {
			if s.waitLeader(r.Context(), hold) {
				continue
			}
			msg := "no leader is known; the request was not applied, retry later"
			switch {
			case dead != "" && lid == dead && s.cfg.LeaderHold > 0:
				msg = fmt.Sprintf("the leader %s at %s is unreachable and no new one was elected within %v; the request was not applied", lid, leader, s.cfg.LeaderHold)
			case dead != "" && lid == dead:
				msg = fmt.Sprintf("the leader %s at %s is unreachable; the request was not applied", lid, leader)
			case lid != "" && lid != s.cfg.ID:
				msg = fmt.Sprintf("the leader %s is not reachable from this server; the request was not applied", lid)
			}
			writeError(w, &api.Error{Code: api.CodeNoLeader, Message: msg, Leader: leader})
			return true
		}
		if done := s.forwardTo(w, r, body, leader, lid); done {
			return true
		}
		dead = lid
	}
}

// waitLeader sleeps a little before the leader is looked up again, and
// reports false when the hold is over (or the request or server is done).
func (s *Server) waitLeader(ctx context.Context, hold time.Time) bool {
	left := time.Until(hold)
	if left <= 0 {
		return false
	}
	t := time.NewTimer(min(20*time.Millisecond, left))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-s.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// forwardTo sends the request to the leader at addr and copies its answer.
// It returns false, having written nothing, when the leader refused the
// connection (nothing was applied: the caller may wait for another).
func (s *Server) forwardTo(w http.ResponseWriter, r *http.Request, body []byte, leader, lid string) bool {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.MaxWait+20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, api.BaseURL(leader, s.serverTLS != nil)+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		writeError(w, &api.Error{Code: api.CodeInternal, Message: err.Error()})
		return true
	}
	for _, h := range []string{"Content-Type", "X-Suanli-Token", "Authorization"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	req.Header.Set(headerForwarded, s.cfg.ID)
	resp, err := s.fwd.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return false
		}
		writeError(w, &api.Error{Code: api.CodeUnknownOutcome, Message: fmt.Sprintf("forwarding to leader %s failed: %v; the write may or may not have been applied", lid, err), Leader: leader})
		return true
	}
	defer resp.Body.Close()
	for _, h := range []string{"Content-Type", HeaderIndex, "Allow"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.Header().Set("X-Suanli-Leader", leader)
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, e *api.Error) {
	writeJSON(w, httpStatus(e.Code), api.ErrorBody{Error: e})
}

// decodeStrict decodes a JSON body, rejecting unknown fields and trailing
// data, and names the offending field by its path (api.DecodeStrict).
// A problem with the body as a whole (empty, malformed, trailing data, a
// JSON type other than the endpoint's) names the field "body".
func decodeStrict(body []byte, v any) *api.Error { return api.DecodeStrict(body, v) }

// decodeNoFields accepts what an endpoint without body parameters takes
// (workload cancel): no body, or an empty JSON object. Anything else is
// refused like any bad body, naming the offending field (or "body").
func decodeNoFields(body []byte) *api.Error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var none struct{}
	if e := decodeStrict(body, &none); e != nil {
		e.Message += " (this endpoint takes no body fields: send no body or {})"
		return e
	}
	return nil
}

// setIndex sets the X-Suanli-Index header.
func setIndex(w http.ResponseWriter, idx uint64) {
	w.Header().Set(HeaderIndex, strconv.FormatUint(idx, 10))
}

// consistent implements ?consistent: the leader confirms it still leads
// and that its FSM has applied everything committed before the read.
func (s *Server) consistent(r *http.Request) *api.Error {
	if !r.URL.Query().Has("consistent") {
		return nil
	}
	if err := s.raft.VerifyLeader().Error(); err != nil {
		return &api.Error{Code: api.CodeNotLeader, Message: fmt.Sprintf("consistent read: %v", err)}
	}
	if err := await(r.Context(), s.raft.Barrier(s.cfg.ApplyTimeout)); err != nil {
		return &api.Error{Code: api.CodeNotLeader, Message: fmt.Sprintf("consistent read: barrier: %v", err)}
	}
	return nil
}
