package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/suanli/suanli/devcluster"
	"github.com/suanli/suanli/scheduler/server/api"
)

var (
	buildOnce sync.Once
	binPath   string
	binDir    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds cmd/suanli once per test run.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "suanli-test-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "suanli")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", binPath, "github.com/suanli/suanli/cmd/suanli").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Test timing: fast Raft (250 ms heartbeat and election timeouts) and a
// fast gossip profile.
const (
	probeInterval = 300 * time.Millisecond
)

// startCluster starts servers and agents on free 127.0.0.1 ports with test
// timing (fast Raft unless opts says otherwise); everything is stopped (process groups killed) at cleanup, and
// the children's logs are printed if the test failed.
func startCluster(t testing.TB, opts devcluster.Options) *devcluster.Cluster {
	t.Helper()
	opts.Binary = binary(t)
	opts.Dir = t.TempDir()
	if opts.RaftTiming == "" {
		opts.RaftTiming = "fast"
	}
	opts.GossipProfile = "local"
	opts.GossipProbeInterval = probeInterval
	if os.Getenv("SUANLI_TEST_LOG") != "" {
		opts.Output = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, err := devcluster.Start(ctx, opts)
	if err != nil {
		dumpLogs(t, opts.Dir)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(5 * time.Second); err != nil {
			t.Logf("stop: %v", err)
		}
		if t.Failed() {
			dumpLogs(t, opts.Dir)
		}
	})
	return c
}

// dumpLogs prints the last lines of every child's log.
func dumpLogs(t testing.TB, dir string) {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, p := range logs {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		var lines []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if len(lines) > 40 {
				lines = lines[1:]
			}
		}
		f.Close()
		t.Logf("---- %s (last %d lines)\n%s", filepath.Base(p), len(lines), strings.Join(lines, "\n"))
	}
}

// rawGet reads a JSON document from a server (for endpoints or query
// parameters api.Client does not offer).
func rawGet(ctx context.Context, addr, token, path string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+addr+path, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("X-Suanli-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		var eb api.ErrorBody
		if json.Unmarshal(b, &eb) == nil && eb.Error != nil {
			eb.Error.Status = resp.StatusCode
			return resp.StatusCode, eb.Error
		}
		return resp.StatusCode, fmt.Errorf("GET %s: HTTP %d: %s", path, resp.StatusCode, b)
	}
	return resp.StatusCode, json.Unmarshal(b, out)
}

// leaderAddr waits for a leader and returns its HTTP address.
func leaderAddr(t testing.TB, c *devcluster.Cluster) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	l, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return l.HTTPAddr
}

// retry calls f until it succeeds or the timeout passes.
func retry[T any](t testing.TB, what string, timeout time.Duration, f func(ctx context.Context) (T, error)) T {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		v, err := f(ctx)
		cancel()
		if err == nil {
			return v
		}
		if errors.Is(err, errPaging) {
			t.Fatalf("%s: %v", what, err)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: no success within %v: %v", what, timeout, last)
	var zero T
	return zero
}

// waitUntil polls cond every 20 ms.
func waitUntil(t testing.TB, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// isDial reports whether err means the request never reached a server.
func isDial(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
