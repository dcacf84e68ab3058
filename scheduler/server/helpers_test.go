package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/gossip"
)

const testToken = "s3cret-token"

var testKey = []byte("0123456789abcdef0123456789abcdef")

func testLog() io.Writer {
	if os.Getenv("SUANLI_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}

// testConfig is a server config for in-process tests: loopback, OS ports,
// fast raft and gossip timing.
func testConfig(t testing.TB, id string) Config {
	return Config{
		ID: id, DataDir: t.TempDir(), RaftAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Gossip: GossipConfig{Addr: "127.0.0.1:0", Key: testKey, Profile: "local",
			ProbeInterval: 100 * time.Millisecond, ProbeTimeout: 50 * time.Millisecond, SuspicionMult: 2},
		Token: testToken, Raft: FastRaftTiming(), Policy: "balanced", Seed: 1,
		// Agents registered through the API alone (registerAgent) never join
		// the gossip pool; a short AgentGrace would take their nodes down
		// while a slow, loaded machine is still placing work on them. Tests
		// of agent death use gossip members, whose leave acts at once.
		ReconcileInterval: 100 * time.Millisecond, AgentGrace: time.Hour, MaxWait: 5 * time.Second,
		Log: testLog(),
	}
}

func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("start %s: %v", cfg.ID, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startCluster starts n servers: the first bootstraps, the others join it.
func startCluster(t testing.TB, n int, tweak func(*Config)) []*Server {
	t.Helper()
	var out []*Server
	for i := 0; i < n; i++ {
		cfg := testConfig(t, fmt.Sprintf("s%d", i+1))
		if i == 0 {
			cfg.Bootstrap = true
		} else {
			cfg.Join = []string{out[0].Addrs().HTTPAddr}
		}
		if tweak != nil {
			tweak(&cfg)
		}
		s := startServer(t, cfg)
		out = append(out, s)
		if i == 0 {
			waitFor(t, "first leader", 5*time.Second, s.IsLeader)
		}
	}
	// Every server must know the whole configuration and have caught up
	// with the leader's log, not just the leader have added it: a test
	// that kills the leader while a new follower has not yet received the
	// entry adding it leaves two servers that cannot elect anyone (the
	// follower does not know it is a voter) — legitimately, but not what
	// such a test means to exercise.
	waitFor(t, "all servers in every server's raft configuration, caught up", 15*time.Second, func() bool {
		last := out[0].Raft().LastIndex()
		for _, s := range out {
			cf := s.Raft().GetConfiguration()
			if cf.Error() != nil || len(cf.Configuration().Servers) != n || s.Raft().AppliedIndex() < last {
				return false
			}
		}
		return true
	})
	return out
}

func leaderOf(t testing.TB, ss []*Server) *Server {
	t.Helper()
	var l *Server
	waitFor(t, "a leader", 10*time.Second, func() bool {
		for _, s := range ss {
			if s.IsLeader() {
				l = s
				return true
			}
		}
		return false
	})
	return l
}

func client(s *Server) *api.Client { return api.NewClient(s.Addrs().HTTPAddr, testToken) }

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// registerAgent registers an agent with n 16-core nodes at site,
// registering again (the same registration: idempotent) through the 503s
// of an election, as submitOK resubmits.
func registerAgent(t testing.TB, c *api.Client, agent, site, city, role string, n int) {
	t.Helper()
	req := api.RegisterRequest{AgentID: agent, Sites: []api.Site{{ID: site, City: city, Role: role, PUE: 1.3}}}
	for i := 0; i < n; i++ {
		req.Nodes = append(req.Nodes, api.NodeSpec{ID: fmt.Sprintf("%s-%d", site, i), Site: site,
			Capacity: nodes.Resources{CPUMilli: 16000, MemoryMiB: 65536, GPUMilli: 0}})
	}
	ctx := ctx(t)
	for backoff := 10 * time.Millisecond; ; backoff = min(2*backoff, 250*time.Millisecond) {
		_, err := c.Register(ctx, req)
		switch {
		case err == nil:
			return
		case isCode(err, api.CodeUnknownOutcome), isCode(err, api.CodeNoLeader), isCode(err, api.CodeNotLeader):
		default:
			t.Fatalf("register %s: %v", agent, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("register %s: no answer but %v before the deadline", agent, err)
		}
		t.Logf("register %s: %v; registering again", agent, err)
		time.Sleep(backoff)
	}
}

func wspec(id string, cpu int64) api.WorkloadSpec {
	return api.WorkloadSpec{ID: id, Origin: "JN", Request: nodes.Resources{CPUMilli: cpu, MemoryMiB: 1024}, DurationMs: 60000}
}

func waitStatus(t testing.TB, c *api.Client, id, status string) api.Workload {
	t.Helper()
	var w api.Workload
	waitFor(t, id+" "+status, 10*time.Second, func() bool {
		var err error
		w, err = c.Get(context.Background(), id)
		return err == nil && w.Status == status
	})
	return w
}

// submitOK submits w and fails the test unless it is committed. Like any
// client of a cluster, it resubmits the same ID (idempotent) while the
// answer is a 503 of an election — no_leader, not_leader or
// unknown_outcome — which a loaded test machine can cause at any time by
// delaying heartbeats past the 200 ms lease of FastRaftTiming.
func submitOK(t testing.TB, c *api.Client, w api.WorkloadSpec) api.SubmitResult {
	t.Helper()
	ctx := ctx(t)
	uncertain := false
	for backoff := 10 * time.Millisecond; ; backoff = min(2*backoff, 250*time.Millisecond) {
		res, err := c.Submit(ctx, w)
		switch {
		case err == nil:
			if uncertain && res.Result == "exists" {
				res.Result = "created" // the earlier attempt was applied
			}
			return res
		case isCode(err, api.CodeUnknownOutcome):
			uncertain = true
		case isCode(err, api.CodeNoLeader), isCode(err, api.CodeNotLeader):
		default:
			t.Fatalf("submit %s: %v", w.ID, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("submit %s: no answer but %v before the deadline", w.ID, err)
		}
		t.Logf("submit %s: %v; resubmitting", w.ID, err)
		time.Sleep(backoff)
	}
}

// syncBuffer is a log destination tests can read while servers write it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// startMember starts a gossip member with the test timing and key and joins
// it to seed; it is shut down (without leaving) at cleanup.
func startMember(t testing.TB, role, id, instance, seed string) *gossip.Pool {
	t.Helper()
	p, err := gossip.Start(gossip.Config{BindAddr: "127.0.0.1:0", Key: testKey, Profile: "local",
		ProbeInterval: 100 * time.Millisecond, ProbeTimeout: 50 * time.Millisecond, SuspicionMult: 2,
		Meta: gossip.Meta{Role: role, ID: id, Instance: instance}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown() })
	if _, err := p.Join([]string{seed}); err != nil {
		t.Fatal(err)
	}
	return p
}
