package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/suanli/suanli/scheduler/server/api"
)

// single starts a one-server cluster and waits for it to lead.
func single(t *testing.T, tweak func(*Config)) *Server {
	t.Helper()
	cfg := testConfig(t, "s1")
	cfg.Bootstrap = true
	if tweak != nil {
		tweak(&cfg)
	}
	s := startServer(t, cfg)
	waitFor(t, "leader", 5*time.Second, s.IsLeader)
	return s
}

func do(t *testing.T, h http.Handler, method, path, body string, hdr map[string]string) (*http.Response, api.ErrorBody) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	var eb api.ErrorBody
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &eb)
	return resp, eb
}

var validBodies = map[string]string{ //nolint
	"/v1/workloads":          `{"id":"x1","origin":"JN","request":{"cpu_milli":100}}`,
	"/v1/workloads/bulk":     `[{"id":"x2","origin":"JN","request":{"cpu_milli":100}}]`,
	"/v1/plan":               `{"workload":{"origin":"JN","request":{"cpu_milli":100}}}`,
	"/v1/agent/register":     `{"agent_id":"a1","sites":[{"id":"x-jn","city":"JN","role":"edge","pue":1.6}],"nodes":[{"id":"x-jn-0","site":"x-jn","capacity":{"cpu_milli":16000,"memory_mib":65536,"gpu_milli":2000}}]}`,
	"/v1/cluster/join":       `{"id":"bad id","raft_addr":"127.0.0.1:1","http_addr":"127.0.0.1:2"}`,
	"/v1/cluster/remove":     `{"id":"bad id"}`,
	"/v1/agent/a1/events":    `{"events":[{"workload_id":"w1","node_id":"x-jn-0","kind":"started","at":"2026-01-01T00:00:00Z"}]}`,
	"/v1/nodes/x-jn-0/state": `{"state":"down"}`,
}

func concrete(path string) string {
	return strings.NewReplacer("{id}", "a1").Replace(path)
}

// TestAuthOnEveryRoute walks the route table: every route marked auth
// refuses a missing or wrong token with 401, and accepts the right one in
// either header; reads need no token.
func TestAuthOnEveryRoute(t *testing.T) {
	s := single(t, nil)
	h := s.Handler()
	for _, rt := range routes {
		path := concrete(rt.path)
		if strings.HasPrefix(rt.path, "/v1/nodes/{id}") {
			path = "/v1/nodes/x-jn-0/state"
		}
		if strings.HasPrefix(rt.path, "/v1/workloads/{id}") {
			path = strings.Replace(rt.path, "{id}", "x1", 1)
		}
		body := validBodies[path]
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			cases := []struct {
				name string
				hdr  map[string]string
				deny bool
			}{
				{"no token", nil, rt.auth},
				{"wrong token", map[string]string{"X-Suanli-Token": "nope"}, rt.auth},
				{"wrong bearer", map[string]string{"Authorization": "Bearer nope"}, rt.auth},
				{"token header", map[string]string{"X-Suanli-Token": testToken}, false},
				{"bearer", map[string]string{"Authorization": "Bearer " + testToken}, false},
			}
			for _, tc := range cases {
				resp, eb := do(t, h, rt.method, path, body, tc.hdr)
				if got := resp.StatusCode == http.StatusUnauthorized; got != tc.deny {
					t.Errorf("%s: got %d %+v, want denied=%v", tc.name, resp.StatusCode, eb.Error, tc.deny)
				}
				if tc.deny && (eb.Error == nil || eb.Error.Code != api.CodeUnauthorized) {
					t.Errorf("%s: got body %+v, want code unauthorized", tc.name, eb.Error)
				}
			}
		})
	}
}

// TestDevNeedsNoSecrets: --dev runs without a token and without a gossip
// key, and accepts writes without a token.
func TestDevNeedsNoSecrets(t *testing.T) {
	s := single(t, func(c *Config) { c.Dev, c.Token, c.Gossip.Key = true, "", nil })
	resp, eb := do(t, s.Handler(), "POST", "/v1/workloads", validBodies["/v1/workloads"], nil)
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("dev write without token: got %d %+v, want 201", resp.StatusCode, eb.Error)
	}
}

// TestRefusesToStartWithoutSecrets: outside --dev a server needs an API
// token and a gossip key; the error names the flags and is ErrBadConfig
// (exit code 2 in cmd/suanli).
func TestRefusesToStartWithoutSecrets(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tweak func(*Config)
		want  []string
	}{
		{"no token", func(c *Config) { c.Token = "" }, []string{"no API token", "--token", "SUANLI_TOKEN", "--dev"}},
		{"no gossip key", func(c *Config) { c.Gossip.Key = nil }, []string{"no gossip key", "--gossip-key", "SUANLI_GOSSIP_KEY", "suanli keygen", "--dev"}},
		{"empty gossip key", func(c *Config) { c.Gossip.Key = []byte{} }, []string{"no gossip key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, "s1")
			cfg.Bootstrap = true
			tc.tweak(&cfg)
			s, err := New(cfg)
			if err == nil {
				s.Close()
				t.Fatal("started; want an error")
			}
			if !errors.Is(err, ErrBadConfig) {
				t.Errorf("got %v, want an ErrBadConfig", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for name, tweak := range map[string]func(*Config){
		"no id":          func(c *Config) { c.ID = "" },
		"no data dir":    func(c *Config) { c.DataDir = "" },
		"bad http addr":  func(c *Config) { c.HTTPAddr = "nowhere" },
		"bad policy":     func(c *Config) { c.Policy = "fastest" },
		"bootstrap+join": func(c *Config) { c.Bootstrap, c.Join = true, []string{"x:1"} },
		"short key":      func(c *Config) { c.Gossip.Key = []byte("short") },
		"lease":          func(c *Config) { c.Raft.LeaderLeaseTimeout = time.Hour },
		"probe timeout":  func(c *Config) { c.Gossip.ProbeInterval, c.Gossip.ProbeTimeout = time.Second, time.Second },
		"neg suspicion":  func(c *Config) { c.Gossip.SuspicionMult = -1 },
		"neg reconcile":  func(c *Config) { c.ReconcileInterval = -time.Second },
		"neg grace":      func(c *Config) { c.AgentGrace = -time.Second },
	} {
		cfg := testConfig(t, "s1")
		tweak(&cfg)
		cfg.setDefaults()
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: got nil error", name)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	s := single(t, func(c *Config) { c.MaxBodyBytes = 1024 })
	h := s.Handler()
	big := `{"id":"x","origin":"JN","request":{"cpu_milli":1},"class":"` + strings.Repeat("a", 2000) + `"}`
	// Declared length: 413 before auth (no token sent).
	resp, eb := do(t, h, "POST", "/v1/workloads", big, nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || eb.Error == nil || eb.Error.Code != api.CodeTooLarge {
		t.Errorf("declared length: got %d %+v, want 413 body_too_large", resp.StatusCode, eb.Error)
	}
	// Chunked (no length): 413 while reading, before decoding.
	req := httptest.NewRequest("POST", "/v1/workloads", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("X-Suanli-Token", testToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked: got %d, want 413", rec.Code)
	}
	// Over the real network too.
	r, err := http.Post("http://"+s.Addrs().HTTPAddr+"/v1/workloads", "application/json", bytes.NewReader([]byte(big)))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("network: got %d, want 413", r.StatusCode)
	}
}

func TestBadBodies(t *testing.T) {
	s := single(t, nil)
	h := s.Handler()
	auth := map[string]string{"X-Suanli-Token": testToken}
	tests := []struct {
		name, path, body string
		field            string
	}{
		{"unknown field", "/v1/workloads", `{"origin":"JN","request":{"cpu_milli":1},"cpux":3}`, "cpux"},
		{"unknown nested field", "/v1/workloads", `{"origin":"JN","request":{"cpu_milli":1,"tpu":3}}`, "tpu"},
		{"wrong type", "/v1/workloads", `{"origin":"JN","request":{"cpu_milli":"lots"}}`, "request.cpu_milli"},
		{"no cpu", "/v1/workloads", `{"origin":"JN","request":{}}`, "request.cpu_milli"},
		{"bad origin", "/v1/workloads", `{"origin":"Atlantis","request":{"cpu_milli":1}}`, "origin"},
		{"bad tier", "/v1/workloads", `{"origin":"JN","request":{"cpu_milli":1},"tiers":["core","space"]}`, "tiers[1]"},
		{"bad id", "/v1/workloads", `{"id":"a b","origin":"JN","request":{"cpu_milli":1}}`, "id"},
		{"bulk item", "/v1/workloads/bulk", `[{"origin":"JN","request":{"cpu_milli":1}},{"origin":"JN","request":{"cpu_milli":-1}}]`, "[1].request.cpu_milli"},
		{"bulk dup", "/v1/workloads/bulk", `[{"id":"d","origin":"JN","request":{"cpu_milli":1}},{"id":"d","origin":"JN","request":{"cpu_milli":1}}]`, "[1].id"},
		{"empty", "/v1/workloads", ``, ""},
		{"trailing", "/v1/workloads", `{"origin":"JN","request":{"cpu_milli":1}} {}`, ""},
		{"register unknown site", "/v1/agent/register", `{"agent_id":"a1","nodes":[{"id":"n","site":"zz","capacity":{"cpu_milli":1}}]}`, "nodes[0].site"},
		{"event kind", "/v1/agent/a1/events", `{"events":[{"workload_id":"w","node_id":"n","kind":"exploded","at":"2026-01-01T00:00:00Z"}]}`, "events[0].kind"},
		{"plan why-not", "/v1/plan", `{"workload":{"origin":"JN","request":{"cpu_milli":1}},"why_not_sites":["zz"]}`, "why_not_sites[0]"},
		{"plan policy", "/v1/plan", `{"workload":{"origin":"JN","request":{"cpu_milli":1}},"policy":"fastest"}`, "policy"},
		{"node state", "/v1/nodes/n/state", `{"state":"sideways"}`, "state"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, eb := do(t, h, "POST", tc.path, tc.body, auth)
			if resp.StatusCode != http.StatusBadRequest || eb.Error == nil || eb.Error.Code != api.CodeInvalid {
				t.Fatalf("got %d %+v, want 400 invalid", resp.StatusCode, eb.Error)
			}
			if eb.Error.Field != tc.field {
				t.Errorf("field: got %q, want %q (message %q)", eb.Error.Field, tc.field, eb.Error.Message)
			}
		})
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?after=x", "?colour=red"} {
		resp, eb := do(t, h, "GET", "/v1/workloads"+q, "", nil)
		if resp.StatusCode != http.StatusBadRequest || eb.Error == nil || eb.Error.Field == "" {
			t.Errorf("GET /v1/workloads%s: got %d %+v, want 400 naming the parameter", q, resp.StatusCode, eb.Error)
		}
	}
}

func TestNotFoundAndMethod(t *testing.T) {
	h := single(t, nil).Handler()
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v1/nope", 404, api.CodeNotFound},
		{"GET", "/v1/workloads/zz", 404, api.CodeNotFound},
		{"DELETE", "/v1/workloads", 405, api.CodeMethod},
		{"GET", "/v1/agent/ghost/assignments", 404, api.CodeNotFound},
	} {
		resp, eb := do(t, h, tc.method, tc.path, "", map[string]string{"X-Suanli-Token": testToken})
		if resp.StatusCode != tc.status || eb.Error == nil || eb.Error.Code != tc.code {
			t.Errorf("%s %s: got %d %+v, want %d %s", tc.method, tc.path, resp.StatusCode, eb.Error, tc.status, tc.code)
		}
	}
}

// TestRaftErrorsKeepUnknownOutcome: the ambiguous raft errors map to 503
// unknown_outcome, the safe ones to other 503 codes; never a plain failure.
func TestRaftErrorsKeepUnknownOutcome(t *testing.T) {
	s := single(t, nil)
	for _, tc := range []struct {
		err  error
		code string
	}{
		{raft.ErrLeadershipLost, api.CodeUnknownOutcome},
		{fmt.Errorf("wrapped: %w", raft.ErrLeadershipLost), api.CodeUnknownOutcome},
		{raft.ErrRaftShutdown, api.CodeUnknownOutcome},
		{errors.New("disk on fire"), api.CodeUnknownOutcome},
		{raft.ErrNotLeader, api.CodeNotLeader},
		{raft.ErrEnqueueTimeout, api.CodeTimeout},
	} {
		e := s.raftError(tc.err)
		if e.Code != tc.code || httpStatus(e.Code) != http.StatusServiceUnavailable {
			t.Errorf("%v: got %s/%d, want %s/503", tc.err, e.Code, httpStatus(e.Code), tc.code)
		}
	}
	for code, status := range map[string]int{api.CodeInvalid: 400, api.CodeUnauthorized: 401, api.CodeNotFound: 404, api.CodeMethod: 405,
		api.CodeConflict: 409, api.CodeTooLarge: 413, api.CodeNoLeader: 503, api.CodeInternal: 500} {
		if got := httpStatus(code); got != status {
			t.Errorf("httpStatus(%s): got %d, want %d", code, got, status)
		}
	}
}

func TestAssignmentsLongPoll(t *testing.T) {
	s := single(t, nil)
	c := client(s)
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 1)
	first, err := c.Assignments(ctx(t), "a1", 0, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// A blocking query with the current index returns after the wait when
	// nothing changes...
	start := time.Now()
	same, err := c.Assignments(ctx(t), "a1", first.Index, 200*time.Millisecond)
	if err != nil || same.Index != first.Index || time.Since(start) < 150*time.Millisecond {
		t.Errorf("idle poll: got %+v, %v after %v", same, err, time.Since(start))
	}
	// ...and as soon as a placement lands on the agent's node.
	got := make(chan api.Assignments, 1)
	go func() {
		a, _ := c.Assignments(ctx(t), "a1", first.Index, 5*time.Second)
		got <- a
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := c.Submit(ctx(t), wspec("w1", 1000)); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-got:
		if a.Index <= first.Index || len(a.Assignments) != 1 || a.Assignments[0].WorkloadID != "w1" || a.Assignments[0].Request.CPUMilli != 1000 {
			t.Errorf("woken poll: got %+v", a)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("long poll did not wake on a placement")
	}
}

// FuzzDecodeSubmitRequest: the submit decoder plus validation never
// panics, and what it accepts is a valid spec.
func FuzzDecodeSubmitRequest(f *testing.F) {
	for _, s := range []string{validBodies["/v1/workloads"], `{}`, `[]`, `{"origin":"JN","request":{"cpu_milli":1e30}}`,
		`{"origin":"JN","request":{"cpu_milli":1},"deadline":"2026-13-01T00:00:00Z"}`, `{"tiers":[null]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var spec api.WorkloadSpec
		if e := decodeStrict(b, &spec); e != nil {
			if e.Code != api.CodeInvalid {
				t.Fatalf("decode error with code %s", e.Code)
			}
			return
		}
		if e := spec.Validate(""); e != nil {
			return
		}
		if spec.Request.CPUMilli <= 0 || spec.Origin == "" {
			t.Fatalf("accepted an invalid spec %+v", spec)
		}
	})
}
