package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// allowHeader is written by hand: the Allow header of a 405 on each path
// of the route table. A GET route serves HEAD too.
var allowHeader = map[string]string{
	"/v1/health":                  "GET, HEAD",
	"/v1/cluster":                 "GET, HEAD",
	"/v1/cluster/join":            "POST",
	"/v1/cluster/remove":          "POST",
	"/v1/cluster/transfer-leader": "POST",
	"/v1/workloads":               "GET, HEAD, POST",
	"/v1/workloads/bulk":          "POST",
	"/v1/workloads/{id}":          "GET, HEAD",
	"/v1/workloads/{id}/cancel":   "POST",
	"/v1/plan":                    "POST",
	"/v1/nodes":                   "GET, HEAD",
	"/v1/nodes/{id}/state":        "POST",
	"/v1/agent/register":          "POST",
	"/v1/agent/{id}/assignments":  "GET, HEAD",
	"/v1/agent/{id}/events":       "POST",
	"/v1/operator/scheduler":      "GET, HEAD, PUT",
	"/metrics":                    "GET, HEAD",
}

// rawHead sends HEAD path over a new connection that the server closes
// after its answer, and returns the answer and every byte that followed
// its header (the body a HEAD must not have).
func rawHead(t *testing.T, addr, path string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := fmt.Sprintf("HEAD %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", path, addr)
	for k, v := range hdr {
		req += k + ": " + v + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodHead})
	if err != nil {
		t.Fatalf("HEAD %s: %v", path, err)
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("HEAD %s: reading after the header: %v", path, err)
	}
	return resp, rest
}

// TestHeadOnGetRoutes: every GET route answers HEAD with GET's status and
// headers and no body, under the same access rules (with and without the
// token, and with a query the route refuses); other methods, HEAD on a
// POST-only path included, are 405 with an Allow header listing the
// path's methods (HEAD with GET).
func TestHeadOnGetRoutes(t *testing.T) {
	s := single(t, nil)
	c := client(s)
	registerAgent(t, c, "a1", "x-jn", "JN", "edge", 1) // concretePath's agent and node
	submitOK(t, c, wspec("x1", 100))                   // and workload
	addr := s.Addrs().HTTPAddr
	// Headers whose values differ between two answers by nature
	// (framing, time).
	varying := map[string]bool{"Date": true, "Content-Length": true}

	tested := 0
	for _, rt := range routes {
		if rt.method != http.MethodGet {
			continue
		}
		tested++
		path := concretePath(rt.path)
		for _, tc := range []struct {
			name, path string
			hdr        map[string]string
		}{
			{"no token", path, nil},
			{"token", path, map[string]string{"X-Suanli-Token": testToken}},
			{"wrong token", path, map[string]string{"X-Suanli-Token": "nope"}},
			{"unknown query parameter", path + "?bogus=1", map[string]string{"X-Suanli-Token": testToken}},
		} {
			t.Run(rt.path+" "+tc.name, func(t *testing.T) {
				req, err := http.NewRequest(http.MethodGet, "http://"+addr+tc.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range tc.hdr {
					req.Header.Set(k, v)
				}
				get, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(get.Body)
				get.Body.Close()
				if len(body) == 0 {
					t.Fatalf("GET %s: empty body; the test needs one to tell HEAD's absence of one", tc.path)
				}
				head, rest := rawHead(t, addr, tc.path, tc.hdr)
				if head.StatusCode != get.StatusCode {
					t.Errorf("HEAD %s: status %d, GET %d", tc.path, head.StatusCode, get.StatusCode)
				}
				if len(rest) != 0 {
					t.Errorf("HEAD %s: %d bytes of body: %.80q", tc.path, len(rest), rest)
				}
				keys := func(h http.Header) []string {
					var out []string
					for k := range h {
						if !varying[k] {
							out = append(out, k)
						}
					}
					slices.Sort(out)
					return out
				}
				if g, h := keys(get.Header), keys(head.Header); !slices.Equal(g, h) {
					t.Errorf("HEAD %s: headers %v, GET %v", tc.path, h, g)
				}
				if g, h := get.Header.Get("Content-Type"), head.Header.Get("Content-Type"); g != h {
					t.Errorf("HEAD %s: Content-Type %q, GET %q", tc.path, h, g)
				}
				if public := rt.access == accessPublic; !public && tc.hdr == nil && head.StatusCode != http.StatusUnauthorized {
					t.Errorf("HEAD %s without the token: %d, want 401", tc.path, head.StatusCode)
				}
			})
		}
	}
	if tested < 6 {
		t.Fatalf("only %d GET routes in the table", tested)
	}

	t.Run("405", func(t *testing.T) {
		h := s.Handler()
		paths := map[string]bool{}
		for _, rt := range routes {
			paths[rt.path] = true
		}
		for p := range paths {
			want, ok := allowHeader[p]
			if !ok {
				t.Errorf("route path %s is not in allowHeader: add the Allow header its 405 should send", p)
				continue
			}
			var methods []string
			for _, m := range []string{http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodGet, http.MethodPost} {
				if !slices.Contains(strings.Split(want, ", "), m) {
					methods = append(methods, m)
				}
			}
			for _, m := range methods {
				resp, eb := do(t, h, m, concretePath(p), "", map[string]string{"X-Suanli-Token": testToken})
				if resp.StatusCode != http.StatusMethodNotAllowed || eb.Error == nil || eb.Error.Code != api.CodeMethod {
					t.Errorf("%s %s: %d %+v, want 405 %s", m, p, resp.StatusCode, eb.Error, api.CodeMethod)
				}
				if got := resp.Header.Get("Allow"); got != want {
					t.Errorf("%s %s: Allow %q, want %q", m, p, got, want)
				}
			}
		}
		for p := range allowHeader {
			if !paths[p] {
				t.Errorf("allowHeader lists %s, which is not in the route table", p)
			}
		}
	})
}
