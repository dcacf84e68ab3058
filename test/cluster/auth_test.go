package cluster

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/devcluster"
	"github.com/suanli/suanli/scheduler/server/api"
)

// TestClusterAuth: real server processes (not --dev, token from the
// environment) refuse every token-only route without the right token with
// 401 over TCP, on the leader and on a follower alike (the follower
// refuses before forwarding), answer public reads without one, and take
// a write with it.
func TestClusterAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test; skipped with -short")
	}
	c := startCluster(t, devcluster.Options{Servers: 2})
	if c.Token() == "" {
		t.Fatal("the cluster runs without a token")
	}
	tokenRoutes := []struct{ method, path, body string }{
		{"POST", "/v1/workloads", `{"id":"auth-1","origin":"JN","request":{"cpu_milli":100}}`},
		{"POST", "/v1/workloads/bulk", `[{"id":"auth-2","origin":"JN","request":{"cpu_milli":100}}]`},
		{"POST", "/v1/workloads/auth-1/cancel", ``},
		{"POST", "/v1/plan", `{"workload":{"origin":"JN","request":{"cpu_milli":100}}}`},
		{"POST", "/v1/nodes/n1/state", `{"state":"down"}`},
		{"POST", "/v1/cluster/join", `{"id":"s9","raft_addr":"127.0.0.1:1","http_addr":"127.0.0.1:2"}`},
		{"POST", "/v1/cluster/remove", `{"id":"s2"}`},
		{"POST", "/v1/cluster/transfer-leader", `{"id":"s2"}`},
		{"POST", "/v1/agent/register", `{"agent_id":"a9","nodes":[]}`},
		{"POST", "/v1/agent/a9/events", `{"events":[]}`},
		{"GET", "/v1/agent/a9/assignments?index=0", ``},
	}
	public := []string{"/v1/health", "/v1/cluster", "/v1/workloads", "/v1/workloads/none", "/v1/nodes", "/metrics"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, s := range c.Servers {
		for _, rt := range tokenRoutes {
			for _, tok := range []string{"", "wrong-" + c.Token()} {
				status, code := send(ctx, t, rt.method, s.HTTPAddr, rt.path, rt.body, tok)
				if status != http.StatusUnauthorized || code != api.CodeUnauthorized {
					t.Errorf("%s: %s %s with token %q: got %d %q, want 401 unauthorized", s.ID, rt.method, rt.path, tok, status, code)
				}
			}
		}
		for _, path := range public {
			if status, code := send(ctx, t, "GET", s.HTTPAddr, path, "", ""); status == http.StatusUnauthorized {
				t.Errorf("%s: GET %s without a token: got 401 %q, want it public", s.ID, path, code)
			}
		}
	}
	// Nothing the refused requests carried was applied; with the token,
	// a write goes through any server.
	if status, _ := send(ctx, t, "GET", c.Servers[0].HTTPAddr, "/v1/workloads/auth-1?consistent", "", ""); status != http.StatusNotFound {
		t.Errorf("auth-1 after refused submissions: got %d, want 404", status)
	}
	for _, s := range c.Servers {
		body := `{"id":"auth-ok-` + s.ID + `","origin":"JN","request":{"cpu_milli":100}}`
		if status, code := send(ctx, t, "POST", s.HTTPAddr, "/v1/workloads", body, c.Token()); status != http.StatusCreated {
			t.Errorf("%s: submit with the token: got %d %q, want 201", s.ID, status, code)
		}
	}
}

// send makes one request and returns the status and the error code (if
// the answer is an API error).
func send(ctx context.Context, t *testing.T, method, addr, path, body, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("X-Suanli-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s on %s: %v", method, path, addr, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb api.ErrorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error != nil {
		return resp.StatusCode, eb.Error.Code
	}
	return resp.StatusCode, ""
}
