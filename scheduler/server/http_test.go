package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
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
	"/v1/workloads":               `{"id":"x1","origin":"JN","request":{"cpu_milli":100}}`,
	"/v1/workloads/bulk":          `[{"id":"x2","origin":"JN","request":{"cpu_milli":100}}]`,
	"/v1/plan":                    `{"workload":{"origin":"JN","request":{"cpu_milli":100}}}`,
	"/v1/agent/register":          `{"agent_id":"a1","sites":[{"id":"x-jn","city":"JN","role":"edge","pue":1.6}],"nodes":[{"id":"x-jn-0","site":"x-jn","capacity":{"cpu_milli":16000,"memory_mib":65536,"gpu_milli":2000}}]}`,
	"/v1/cluster/join":            `{"id":"bad id","raft_addr":"127.0.0.1:1","http_addr":"127.0.0.1:2"}`,
	"/v1/cluster/remove":          `{"id":"bad id"}`,
	"/v1/cluster/transfer-leader": `{"id":"bad id"}`,
	"/v1/agent/a1/events":         `{"events":[{"workload_id":"w1","node_id":"x-jn-0","kind":"started","at":"2026-01-01T00:00:00Z"}]}`,
	"/v1/nodes/x-jn-0/state":      `{"state":"down"}`,
	"/v1/operator/scheduler":      `{"policy":"balanced"}`,
}

// concretePath fills a route's wildcard with an ID the test's requests use.
func concretePath(path string) string {
	switch {
	case strings.HasPrefix(path, "/v1/nodes/{id}"):
		return strings.Replace(path, "{id}", "x-jn-0", 1)
	case strings.HasPrefix(path, "/v1/workloads/{id}"):
		return strings.Replace(path, "{id}", "x1", 1)
	}
	return strings.Replace(path, "{id}", "a1", 1)
}

// publicRoutes is written by hand from docs/api.md (Authentication), not
// derived from the route table: the routes anyone may call without the
// API token. Every other route must refuse a request without the right
// token (401) unless the server runs with --dev.
var publicRoutes = map[string]bool{
	"GET /v1/health":             true,
	"GET /v1/cluster":            true,
	"GET /v1/workloads":          true,
	"GET /v1/workloads/{id}":     true,
	"GET /v1/nodes":              true,
	"GET /v1/operator/scheduler": true,
	"GET /metrics":               true,
}

// TestAuthOnEveryRoute walks what the mux registers: every route has
// decided its access, the public ones are exactly the documented list
// above, every other one refuses a missing or wrong token with 401 (before
// looking at the body or query) and accepts the right one in either
// header; with --dev nothing is refused. A route added without deciding
// its access, or public without being documented so, fails here.
func TestAuthOnEveryRoute(t *testing.T) {
	s := single(t, nil)
	mux, patterns := s.newMux()

	// The mux registers the route table's paths and the 404 fallback,
	// nothing else, and resolves each route's path to its own pattern.
	paths := map[string]bool{}
	for _, rt := range routes {
		paths[rt.path] = true
	}
	registered := map[string]bool{}
	for _, p := range patterns {
		registered[p] = true
		if p != "/" && !paths[p] {
			t.Errorf("the mux registers %q, which is not in the route table", p)
		}
	}
	for p := range paths {
		if !registered[p] {
			t.Errorf("route path %q is not registered on the mux", p)
		}
		if _, got := mux.Handler(httptest.NewRequest("GET", concretePath(p), nil)); got != p {
			t.Errorf("%s resolves to pattern %q, want %q", concretePath(p), got, p)
		}
	}
	inTable := map[string]bool{}
	for _, rt := range routes {
		inTable[rt.method+" "+rt.path] = true
	}
	for key := range publicRoutes {
		if !inTable[key] {
			t.Errorf("publicRoutes lists %q, which the server does not serve", key)
		}
	}

	for _, rt := range routes {
		key := rt.method + " " + rt.path
		t.Run(key, func(t *testing.T) {
			switch {
			case rt.access == accessUnset:
				t.Fatalf("route has no access decision: set access to accessPublic (and document it in docs/api.md and publicRoutes) or accessToken")
			case (rt.access == accessPublic) != publicRoutes[key]:
				t.Fatalf("route access %v disagrees with the documented list (public: %v)", rt.access, publicRoutes[key])
			}
			public := publicRoutes[key]
			path := concretePath(rt.path)
			body := validBodies[path]
			cases := []struct {
				name, path, body string
				hdr              map[string]string
				deny             bool
			}{
				{"no token", path, body, nil, !public},
				{"no token, bad body and query", path + "?bogus=1", "{not json", nil, !public},
				{"empty token", path, body, map[string]string{"X-Suanli-Token": ""}, !public},
				{"wrong token", path, body, map[string]string{"X-Suanli-Token": "nope"}, !public},
				{"wrong bearer", path, body, map[string]string{"Authorization": "Bearer nope"}, !public},
				{"token as basic auth", path, body, map[string]string{"Authorization": "Basic " + testToken}, !public},
				{"token header", path, body, map[string]string{"X-Suanli-Token": testToken}, false},
				{"bearer", path, body, map[string]string{"Authorization": "Bearer " + testToken}, false},
			}
			for _, tc := range cases {
				resp, eb := do(t, mux, rt.method, tc.path, tc.body, tc.hdr)
				if got := resp.StatusCode == http.StatusUnauthorized; got != tc.deny {
					t.Errorf("%s: got %d %+v, want denied=%v", tc.name, resp.StatusCode, eb.Error, tc.deny)
				}
				if tc.deny && (eb.Error == nil || eb.Error.Code != api.CodeUnauthorized) {
					t.Errorf("%s: got body %+v, want code unauthorized", tc.name, eb.Error)
				}
			}
		})
	}

	t.Run("dev", func(t *testing.T) {
		dev := single(t, func(c *Config) { c.Dev, c.Token = true, "" })
		h := dev.Handler()
		for _, rt := range routes {
			path := concretePath(rt.path)
			if resp, eb := do(t, h, rt.method, path, validBodies[path], nil); resp.StatusCode == http.StatusUnauthorized {
				t.Errorf("%s %s without a token on a --dev server: got 401 %+v", rt.method, rt.path, eb.Error)
			}
		}
	})
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
		{"unknown nested field", "/v1/workloads", `{"origin":"JN","request":{"cpu_milli":1,"tpu":3}}`, "request.tpu"},
		{"wrong type", "/v1/workloads", `{"origin":"JN","request":{"cpu_milli":"lots"}}`, "request.cpu_milli"},
		{"no cpu", "/v1/workloads", `{"origin":"JN","request":{}}`, "request.cpu_milli"},
		{"bad origin", "/v1/workloads", `{"origin":"Atlantis","request":{"cpu_milli":1}}`, "origin"},
		{"bad tier", "/v1/workloads", `{"origin":"JN","request":{"cpu_milli":1},"tiers":["core","space"]}`, "tiers[1]"},
		{"bad id", "/v1/workloads", `{"id":"a b","origin":"JN","request":{"cpu_milli":1}}`, "id"},
		{"bulk item", "/v1/workloads/bulk", `[{"origin":"JN","request":{"cpu_milli":1}},{"origin":"JN","request":{"cpu_milli":-1}}]`, "[1].request.cpu_milli"},
		{"bulk dup", "/v1/workloads/bulk", `[{"id":"d","origin":"JN","request":{"cpu_milli":1}},{"id":"d","origin":"JN","request":{"cpu_milli":1}}]`, "[1].id"},
		{"empty", "/v1/workloads", ``, "body"},
		{"trailing", "/v1/workloads", `{"origin":"JN","request":{"cpu_milli":1}} {}`, "body"},
		{"malformed", "/v1/workloads", `{"origin":"JN",`, "body"},
		{"not JSON", "/v1/workloads", `origin=JN`, "body"},
		{"array for an object", "/v1/workloads", `[{"origin":"JN","request":{"cpu_milli":1}}]`, "body"},
		{"object for an array", "/v1/workloads/bulk", `{"origin":"JN","request":{"cpu_milli":1}}`, "body"},
		{"bulk empty", "/v1/workloads/bulk", `[]`, "body"},
		{"cancel not JSON", "/v1/workloads/x1/cancel", `please`, "body"},
		{"cancel malformed", "/v1/workloads/x1/cancel", `{"reason":`, "body"},
		{"cancel array", "/v1/workloads/x1/cancel", `[]`, "body"},
		{"cancel string", "/v1/workloads/x1/cancel", `"now"`, "body"},
		{"cancel field", "/v1/workloads/x1/cancel", `{"reason":"done"}`, "reason"},
		{"cancel trailing", "/v1/workloads/x1/cancel", `{} {}`, "body"},
		{"cancel bad id", "/v1/workloads/a%20b/cancel", ``, "id"},
		{"plan top_k", "/v1/plan", `{"workload":{"origin":"JN","request":{"cpu_milli":1}},"top_k":51}`, "top_k"},
		{"plan negative top_k", "/v1/plan", `{"workload":{"origin":"JN","request":{"cpu_milli":1}},"top_k":-1}`, "top_k"},
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
}

// TestCancelBody: cancel takes no body or {} (docs/api.md); anything else
// is refused (TestBadBodies) and cancels nothing.
func TestCancelBody(t *testing.T) {
	s := single(t, nil)
	h := s.Handler()
	auth := map[string]string{"X-Suanli-Token": testToken}
	for i, body := range []string{``, `{}`, " { }\n"} {
		id := fmt.Sprintf("c%d", i)
		if resp, eb := do(t, h, "POST", "/v1/workloads", fmt.Sprintf(`{"id":%q,"origin":"JN","request":{"cpu_milli":1}}`, id), auth); resp.StatusCode != http.StatusCreated {
			t.Fatalf("submit %s: got %d %+v", id, resp.StatusCode, eb.Error)
		}
		if resp, eb := do(t, h, "POST", "/v1/workloads/"+id+"/cancel", `{"x":1}`, auth); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("cancel %s with a field: got %d %+v, want 400", id, resp.StatusCode, eb.Error)
		}
		if resp, eb := do(t, h, "POST", "/v1/workloads/"+id+"/cancel", body, auth); resp.StatusCode != http.StatusOK {
			t.Errorf("cancel %s with body %q: got %d %+v, want 200", id, body, resp.StatusCode, eb.Error)
		}
	}
	for _, tc := range []struct {
		id     string
		status int
		code   string
	}{{"c0", http.StatusConflict, api.CodeConflict}, {"ghost", http.StatusNotFound, api.CodeNotFound}} {
		resp, eb := do(t, h, "POST", "/v1/workloads/"+tc.id+"/cancel", ``, auth)
		if resp.StatusCode != tc.status || eb.Error == nil || eb.Error.Code != tc.code {
			t.Errorf("cancel %s: got %d %+v, want %d %s", tc.id, resp.StatusCode, eb.Error, tc.status, tc.code)
		}
	}
}

// TestQueryParameters: every route takes only its documented query
// parameters; anything else, a repeated parameter or a bad value is 400
// naming the parameter (and, for unknown ones, the allowed ones).
func TestQueryParameters(t *testing.T) {
	s := single(t, nil)
	h := s.Handler()
	registerAgent(t, client(s), "a1", "jn-core", "JN", "core-zone", 1)
	auth := map[string]string{"X-Suanli-Token": testToken}
	for _, rt := range routes {
		t.Run("unknown on "+rt.method+" "+rt.path, func(t *testing.T) {
			path := concretePath(rt.path)
			resp, eb := do(t, h, rt.method, path+"?colour=red", validBodies[path], auth)
			if resp.StatusCode != http.StatusBadRequest || eb.Error == nil || eb.Error.Field != "colour" {
				t.Fatalf("got %d %+v, want 400 naming colour", resp.StatusCode, eb.Error)
			}
			want := "(allowed: none)"
			if len(rt.query) > 0 {
				want = "(allowed: " + strings.Join(rt.query, ", ") + ")"
			}
			if !strings.Contains(eb.Error.Message, want) {
				t.Errorf("message %q does not list the allowed parameters %s", eb.Error.Message, want)
			}
		})
	}
	for _, tc := range []struct {
		path, field string
	}{
		{"/v1/workloads?limit=0", "limit"},
		{"/v1/workloads?limit=1001", "limit"},
		{"/v1/workloads?limit=ten", "limit"},
		{"/v1/workloads?limit=2.5", "limit"},
		{"/v1/workloads?after=x", "after"},
		{"/v1/workloads?status=done", "status"},
		{"/v1/workloads?status=pending&status=placed", "status"},
		{"/v1/workloads?Status=pending", "Status"},
		{"/v1/workloads?consistent=false", "consistent"},
		{"/v1/workloads?a=%zz", "query"},
		{"/v1/workloads/x1?limit=1", "limit"},
		{"/v1/nodes?state=sideways", "state"},
		{"/v1/nodes?sites=jn-core", "sites"},
		{"/v1/nodes?site=a&site=b", "site"},
		{"/v1/nodes?limit=0", "limit"},
		{"/v1/nodes?limit=1001", "limit"},
		{"/v1/nodes?after=-1", "after"},
		{"/v1/nodes?after=n1", "after"},
		{"/v1/cluster?verbose", "verbose"},
		{"/v1/health?consistent", "consistent"},
		{"/metrics?format=json", "format"},
		{"/v1/agent/a1/assignments?index=-1", "index"},
		{"/v1/agent/a1/assignments?index=x", "index"},
		{"/v1/agent/a1/assignments?wait=soon", "wait"},
		{"/v1/agent/a1/assignments?wait=-1s", "wait"},
	} {
		resp, eb := do(t, h, "GET", tc.path, "", auth)
		if resp.StatusCode != http.StatusBadRequest || eb.Error == nil || eb.Error.Code != api.CodeInvalid || eb.Error.Field != tc.field {
			t.Errorf("GET %s: got %d %+v, want 400 invalid naming %q", tc.path, resp.StatusCode, eb.Error, tc.field)
		}
	}
	for _, path := range []string{"/v1/workloads?status=pending&class=&limit=5&after=0", "/v1/workloads?consistent", "/v1/workloads?consistent=true",
		"/v1/workloads/nope?consistent", "/v1/nodes?state=up&site=jn-core&agent=a1&consistent", "/v1/nodes?limit=10&after=5", "/v1/cluster?consistent", "/v1/health", "/metrics",
		"/v1/agent/a1/assignments?index=0&wait=1s"} {
		if resp, eb := do(t, h, "GET", path, "", auth); resp.StatusCode == http.StatusBadRequest {
			t.Errorf("GET %s: got 400 %+v", path, eb.Error)
		}
	}
}

// TestNodeFilters: GET /v1/nodes filters by state, site and agent (exact
// matches; an unknown value matches nothing); sites lists every site.
func TestNodeFilters(t *testing.T) {
	s := single(t, nil)
	c := client(s)
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 2)
	registerAgent(t, c, "a2", "qd-core", "QD", "core-zone", 3)
	if _, err := c.SetNodeState(ctx(t), "qd-core-0", "draining"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"jn-core-0", "jn-core-1", "qd-core-0", "qd-core-1", "qd-core-2"}},
		{"?site=jn-core", []string{"jn-core-0", "jn-core-1"}},
		{"?site=qd-core&state=up", []string{"qd-core-1", "qd-core-2"}},
		{"?state=draining", []string{"qd-core-0"}},
		{"?agent=a2&site=qd-core", []string{"qd-core-0", "qd-core-1", "qd-core-2"}},
		{"?agent=a1&site=qd-core", nil},
		{"?site=nowhere", nil},
		{"?site=", []string{"jn-core-0", "jn-core-1", "qd-core-0", "qd-core-1", "qd-core-2"}},
	} {
		var nl api.NodeList
		resp := getJSON(t, s.Handler(), "/v1/nodes"+tc.query, &nl)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: got %d", tc.query, resp.StatusCode)
			continue
		}
		var got []string
		for _, n := range nl.Nodes {
			got = append(got, n.ID)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("GET /v1/nodes%s: got %v, want %v", tc.query, got, tc.want)
		}
		if len(nl.Sites) != 2 {
			t.Errorf("GET /v1/nodes%s: got %d sites, want both", tc.query, len(nl.Sites))
		}
	}
}

func getJSON(t *testing.T, h http.Handler, path string, out any) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return rec.Result()
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
	submitOK(t, c, wspec("w1", 1000))
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
