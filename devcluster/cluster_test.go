//go:build unix

package devcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// holdPort listens on a free 127.0.0.1 port (TCP, or UDP) until the test
// ends and returns the port.
func holdPort(t *testing.T, udp bool) int {
	t.Helper()
	if udp {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// freeBase returns a port p such that p … p+n-1 are free right now.
func freeBase(t *testing.T, n int) int {
	t.Helper()
	for tries := 0; tries < 100; tries++ {
		p, held, err := freePort(true)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range held {
			h.Close()
		}
		ok := p+n-1 <= 65535
		for i := 0; ok && i < n; i++ {
			ok = portFree(p+i, true) == nil
		}
		if ok {
			return p
		}
	}
	t.Fatal("no range of free ports found")
	return 0
}

func TestCheckPorts(t *testing.T) {
	tcp, udp := holdPort(t, false), holdPort(t, true)
	base := freeBase(t, 9)
	free := func(k int) []int { return []int{base + 3*k, base + 3*k + 1, base + 3*k + 2} }
	for _, tc := range []struct {
		name    string
		ports   [3][]int
		port    int
		server  string
		purpose string
		has     string
	}{
		{"all free", [3][]int{free(0), free(1), free(2)}, 0, "", "", ""},
		{"HTTP taken", [3][]int{{base, tcp, base + 1}, free(1), free(2)}, tcp, "s2", "HTTP API", "already in use"},
		{"raft taken", [3][]int{free(0), {base + 3, base + 4, tcp}, free(2)}, tcp, "s3", "Raft", "--raft-port"},
		{"gossip UDP taken", [3][]int{free(0), free(1), {udp, base + 7, base + 8}}, udp, "s1", "gossip", "already in use"},
		{"overlap", [3][]int{free(0), {base, base + 4, base + 5}, free(2)}, base, "s1", "Raft", "also wanted as s1's HTTP API port"},
		{"out of range", [3][]int{{base, base + 1, 65536}, free(1), free(2)}, 65536, "s3", "HTTP API", "out of range"},
		{"negative", [3][]int{free(0), free(1), {-5, -4, -3}}, -5, "s1", "gossip", "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPorts(tc.ports)
			if tc.port == 0 {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			var pe *PortError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *PortError", err)
			}
			if pe.Port != tc.port || pe.Server != tc.server || pe.Purpose != tc.purpose || !strings.Contains(err.Error(), tc.has) {
				t.Errorf("got port %d server %s purpose %s: %v; want port %d, %s, %s, containing %q", pe.Port, pe.Server, pe.Purpose, err, tc.port, tc.server, tc.purpose, tc.has)
			}
			if want := fmt.Sprintf("port %d (%s's %s port)", tc.port, tc.server, tc.purpose); !strings.Contains(err.Error(), want) {
				t.Errorf("message %q lacks %q", err, want)
			}
		})
	}
}

// TestStartRefusesTakenPort: a fixed port another process holds stops
// Start before any child runs (the binary does not even exist).
func TestStartRefusesTakenPort(t *testing.T) {
	base := freeBase(t, 6)
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", fmt.Sprint(base+4)))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Start(ctx, Options{Binary: filepath.Join(dir, "no-such-binary"), Dir: dir, Servers: 2, Dev: true,
		HTTPPort: base, RaftPort: base + 2, GossipPort: base + 4})
	var pe *PortError
	if c != nil || !errors.As(err, &pe) || pe.Port != base+4 || pe.Server != "s1" || pe.Purpose != "gossip" {
		t.Fatalf("got %v, %v; want a *PortError for s1's gossip port %d", c, err, base+4)
	}
	if logs, _ := filepath.Glob(filepath.Join(dir, "*.log")); len(logs) > 0 {
		t.Errorf("children were started: %v", logs)
	}
}

// fakeServer is a shell script standing in for `suanli server`: it
// writes addrs.json into its --data-dir (if WRITE_ADDRS is set) and
// sleeps, or exits 1 at once (if FAIL is set), as a server that could not
// bind its port does.
const fakeServer = `#!/bin/sh
while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) d=$2; shift;;
    --http-addr) h=$2; shift;;
    --id) id=$2; shift;;
  esac
  shift
done
[ -n "$FAIL" ] && exit 1
[ -n "$WRITE_ADDRS" ] && printf '{"id":"%s","http_addr":"%s"}' "$id" "$h" > "$d/addrs.json"
exec sleep 30
`

// healthServer answers /v1/health on 127.0.0.1 as server id.
func healthServer(t *testing.T, id string) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","id":%q,"state":"Leader","leader":%q,"applied_index":1}`, id, id)
	}))
	t.Cleanup(hs.Close)
	return strings.TrimPrefix(hs.URL, "http://")
}

// TestServerReadiness: a server is ready only when its own process wrote
// its addresses and the server answering on its HTTP address reports its
// ID; a server from another cluster or an earlier run is not taken for it.
func TestServerReadiness(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "fake-suanli")
	if err := os.WriteFile(bin, []byte(fakeServer), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		answerAs string // ID the server on the HTTP address reports
		env      []string
		ready    bool
		has      string
	}{
		{"ours", "s1", []string{"WRITE_ADDRS=1"}, true, ""},
		{"another server's ID", "s9", []string{"WRITE_ADDRS=1"}, false, `reports ID "s9", not s1`},
		{"stale s1, child never listens", "s1", nil, false, "has not written"},
		{"stale s1, child exits", "s1", []string{"FAIL=1"}, false, `another process answers on`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ddir := t.TempDir()
			c := &Cluster{opts: Options{Binary: bin, Dir: ddir, Dev: true}}
			s := &Server{ID: "s1", DataDir: filepath.Join(ddir, "s1"), HTTPAddr: healthServer(t, tc.answerAs)}
			s.Proc = &Proc{Name: "s1", bin: bin, LogPath: filepath.Join(ddir, "s1.log"), Env: tc.env,
				Args: []string{"server", "--id", s.ID, "--data-dir", s.DataDir, "--http-addr", s.HTTPAddr}}
			t.Cleanup(func() { _ = s.Stop(time.Second) })
			// addrs.json from an earlier start must not count.
			if err := os.MkdirAll(s.DataDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(s.DataDir, "addrs.json"), []byte(fmt.Sprintf(`{"id":"s1","http_addr":%q}`, s.HTTPAddr)), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			err := c.startServer(ctx, s)
			if tc.ready {
				if err != nil {
					t.Fatalf("got %v, want ready", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.has) {
				t.Fatalf("got %v, want an error containing %q", err, tc.has)
			}
		})
	}
}
