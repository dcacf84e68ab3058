package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

// fakeServer implements the agent-facing part of the server API contract
// in memory, with hooks to inject failures. Only for unit tests.
type fakeServer struct {
	t     testing.TB
	srv   *httptest.Server
	token string

	mu      sync.Mutex
	index   uint64
	changed chan struct{}
	agents  map[string]*fakeAgent
	// work: workload → its record.
	work map[string]*fakeWork
	// leaderHTTP is what GET /v1/cluster reports as the leader.
	leaderHTTP string
	// fail, if set, may answer a request with an error instead; apply
	// reports whether the request is processed first (a lost answer:
	// the outcome is unknown to the client).
	fail func(r *http.Request) (e *api.Error, apply bool)
	// counters
	registers   int
	eventsSeen  map[string]int // kind:workload → times received
	applied     map[string]int // kind:workload → times applied
	requestsBy  map[string]int // path pattern → count
	lastEventAt map[string]time.Time
	placements  map[string][]uint64 // kind:workload → the placements events named, in order
}

type fakeAgent struct {
	nodes []api.NodeSpec
	index uint64
}

type fakeWork struct {
	a      api.Assignment
	agent  string
	status string
}

func newFakeServer(t testing.TB, token string) *fakeServer { return newFake(t, token, false) }

// newFakeServerTLS is a fake server speaking HTTPS with httptest's
// self-signed certificate (f.srv.Certificate()).
func newFakeServerTLS(t testing.TB, token string) *fakeServer { return newFake(t, token, true) }

func newFake(t testing.TB, token string, secure bool) *fakeServer {
	f := &fakeServer{t: t, token: token, changed: make(chan struct{}), agents: map[string]*fakeAgent{},
		work: map[string]*fakeWork{}, eventsSeen: map[string]int{}, applied: map[string]int{}, requestsBy: map[string]int{},
		lastEventAt: map[string]time.Time{}, placements: map[string][]uint64{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/agent/register", f.wrap("register", f.register))
	mux.HandleFunc("GET /v1/agent/{id}/assignments", f.wrap("assignments", f.assignments))
	mux.HandleFunc("POST /v1/agent/{id}/events", f.wrap("events", f.events))
	mux.HandleFunc("GET /v1/cluster", f.wrap("cluster", f.cluster))
	if secure {
		f.srv = httptest.NewTLSServer(mux)
	} else {
		f.srv = httptest.NewServer(mux)
	}
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) addr() string { return f.srv.Listener.Addr().String() }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func statusOf(code string) int {
	switch code {
	case api.CodeInvalid:
		return 400
	case api.CodeUnauthorized:
		return 401
	case api.CodeNotFound:
		return 404
	case api.CodeInternal:
		return 500
	}
	return 503
}

func writeErr(w http.ResponseWriter, e *api.Error) {
	writeJSON(w, statusOf(e.Code), api.ErrorBody{Error: e})
}

func (f *fakeServer) wrap(name string, h func(w http.ResponseWriter, r *http.Request) *api.Error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requestsBy[name]++
		fail := f.fail
		f.mu.Unlock()
		if f.token != "" && r.Header.Get("X-Suanli-Token") != f.token {
			writeErr(w, &api.Error{Code: api.CodeUnauthorized, Message: "missing or wrong API token"})
			return
		}
		if fail != nil {
			if e, apply := fail(r); e != nil {
				if apply {
					_ = h(httptest.NewRecorder(), r)
				}
				writeErr(w, e)
				return
			}
		}
		if e := h(w, r); e != nil {
			writeErr(w, e)
		}
	}
}

// bump advances the index and wakes long-polls; f.mu is held.
func (f *fakeServer) bump() uint64 {
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
	return f.index
}

func (f *fakeServer) register(w http.ResponseWriter, r *http.Request) *api.Error {
	var req api.RegisterRequest
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil {
		return api.Invalid("", "bad json: %v", err)
	}
	if e := req.Validate(nil); e != nil {
		return e
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.registers++
	idx := f.bump()
	f.agents[req.AgentID] = &fakeAgent{nodes: req.Nodes, index: idx}
	writeJSON(w, 200, api.RegisterResponse{Index: idx, Nodes: len(req.Nodes), Sites: len(req.Sites)})
	return nil
}

func (f *fakeServer) assignments(w http.ResponseWriter, r *http.Request) *api.Error {
	id := r.PathValue("id")
	min, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	wait, err := time.ParseDuration(r.URL.Query().Get("wait"))
	if err != nil {
		return api.Invalid("wait", "bad wait")
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		f.mu.Lock()
		a := f.agents[id]
		ch := f.changed
		if a == nil {
			f.mu.Unlock()
			return &api.Error{Code: api.CodeNotFound, Field: "id", Message: fmt.Sprintf("unknown agent %q", id)}
		}
		if a.index > min || min == 0 {
			out := f.listLocked(id)
			f.mu.Unlock()
			writeJSON(w, 200, out)
			return nil
		}
		f.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			f.mu.Lock()
			out := f.listLocked(id)
			f.mu.Unlock()
			writeJSON(w, 200, out)
			return nil
		case <-r.Context().Done():
			return nil
		}
	}
}

func (f *fakeServer) listLocked(agent string) api.Assignments {
	out := api.Assignments{Index: f.agents[agent].index, Assignments: []api.Assignment{}}
	for _, wk := range f.work {
		if wk.agent == agent && (wk.status == api.StatusPlaced || wk.status == api.StatusRunning) {
			a := wk.a
			a.Status = wk.status
			out.Assignments = append(out.Assignments, a)
		}
	}
	sort.Slice(out.Assignments, func(i, j int) bool { return out.Assignments[i].WorkloadID < out.Assignments[j].WorkloadID })
	return out
}

func (f *fakeServer) events(w http.ResponseWriter, r *http.Request) *api.Error {
	id := r.PathValue("id")
	var req api.EventsRequest
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil {
		return api.Invalid("", "bad json: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.agents[id] == nil {
		return &api.Error{Code: api.CodeNotFound, Field: "id", Message: fmt.Sprintf("unknown agent %q", id)}
	}
	idx := f.bump()
	res := api.EventsResponse{Index: idx}
	for i, e := range req.Events {
		if err := e.Validate(fmt.Sprintf("events[%d]", i)); err != nil {
			return err
		}
		key := e.Kind + ":" + e.WorkloadID
		f.eventsSeen[key]++
		f.lastEventAt[key] = e.At
		f.placements[key] = append(f.placements[key], e.Placement)
		wk := f.work[e.WorkloadID]
		result := api.EventResult{WorkloadID: e.WorkloadID, Result: "ignored"}
		switch {
		case wk == nil || wk.a.NodeID != e.NodeID || wk.agent != id:
			result.Reason = "stale"
		case e.Placement != 0 && e.Placement != wk.a.Placement:
			result.Reason = "stale placement"
		case e.Kind == api.EventStarted && wk.status == api.StatusPlaced:
			wk.status = api.StatusRunning
			result.Result = "applied"
		case (e.Kind == api.EventCompleted || e.Kind == api.EventFailed) && (wk.status == api.StatusPlaced || wk.status == api.StatusRunning):
			wk.status = api.StatusCompleted
			f.agents[id].index = idx
			result.Result = "applied"
		default:
			result.Reason = "already " + wk.status
		}
		if result.Result == "applied" {
			f.applied[key]++
		}
		res.Results = append(res.Results, result)
	}
	writeJSON(w, 200, res)
	return nil
}

func (f *fakeServer) cluster(w http.ResponseWriter, r *http.Request) *api.Error {
	f.mu.Lock()
	defer f.mu.Unlock()
	writeJSON(w, 200, api.ClusterStatus{ID: "fake", State: "Leader", LeaderHTTP: f.leaderHTTP,
		Servers: []api.Server{{ID: "fake", HTTPAddr: f.addr()}}})
	return nil
}

// assign places a workload on an agent's node, in a placement named by
// the index of the change (as the servers name it by the plan's).
func (f *fakeServer) assign(agent, id, node string, cpu, durMs int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	idx := f.bump()
	f.work[id] = &fakeWork{agent: agent, status: api.StatusPlaced, a: api.Assignment{WorkloadID: id, NodeID: node,
		Request: nodes.Resources{CPUMilli: cpu, MemoryMiB: 256}, DurationMs: durMs, PlacedAt: time.Now(), Placement: idx}}
	if a := f.agents[agent]; a != nil {
		a.index = idx
	}
}

// replace places a workload again where it is, in a new placement (as if
// it was evicted and re-placed on the same node between two polls), and
// returns the new placement.
func (f *fakeServer) replace(id string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	wk := f.work[id]
	idx := f.bump()
	wk.status, wk.a.Placement, wk.a.PlacedAt = api.StatusPlaced, idx, time.Now()
	if a := f.agents[wk.agent]; a != nil {
		a.index = idx
	}
	return idx
}

// cancel removes a workload from its agent.
func (f *fakeServer) cancel(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	wk := f.work[id]
	idx := f.bump()
	wk.status = api.StatusCancelled
	if a := f.agents[wk.agent]; a != nil {
		a.index = idx
	}
}

// forget drops an agent (a wiped cluster).
func (f *fakeServer) forget(agent string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.agents, agent)
	f.bump()
}

func (f *fakeServer) status(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if wk := f.work[id]; wk != nil {
		return wk.status
	}
	return ""
}

func (f *fakeServer) count(m func(*fakeServer) int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return m(f)
}

func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
