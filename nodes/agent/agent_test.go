package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

const token = "t0ken"

func testLog() io.Writer {
	if os.Getenv("SUANLI_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}

func testConfig(t testing.TB, servers []string, n int) Config {
	return Config{
		ID: "a1", Servers: servers, Token: token, Layout: testLayout(t, n),
		Gossip: GossipConfig{Disabled: true}, Speed: 1000, PollWait: 2 * time.Second, RequestTimeout: 2 * time.Second,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Seed: 1, Log: testLog(),
	}
}

// runAgent starts an agent and returns a function that stops it and
// returns Run's error.
func runAgent(t testing.TB, cfg Config) (*Agent, func() error) {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	var runErr error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("agent did not stop within 10s")
			}
		}
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return a, stop
}

func TestAgentRunsAssignments(t *testing.T) {
	f := newFakeServer(t, token)
	a, stop := runAgent(t, testConfig(t, []string{f.addr()}, 4))
	waitFor(t, "registration", 5*time.Second, func() bool { return a.Stats().Registered })
	// 40 workloads of 1–10 s at speed 1000 (1–10 ms each).
	for i := 0; i < 40; i++ {
		f.assign("a1", fmt.Sprintf("w%02d", i), fmt.Sprintf("x-jn-%d", i%4), 1000, int64(1000*(1+i%10)))
	}
	waitFor(t, "all completed", 10*time.Second, func() bool {
		for i := 0; i < 40; i++ {
			if f.status(fmt.Sprintf("w%02d", i)) != api.StatusCompleted {
				return false
			}
		}
		return true
	})
	// A long one, then cancelled: the agent stops it without reporting.
	f.assign("a1", "long", "x-jn-0", 2000, 3_600_000_000)
	waitFor(t, "long started", 5*time.Second, func() bool { return f.status("long") == api.StatusRunning })
	f.cancel("long")
	waitFor(t, "long stopped", 5*time.Second, func() bool { return a.Stats().Stopped == 1 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	s := a.Stats()
	if s.Started != 41 || s.Completed != 40 || s.Running != 0 || s.Overcommitted != 0 || s.EventsPending != 0 {
		t.Errorf("stats: got %+v", s)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < 40; i++ {
		k := fmt.Sprintf("completed:w%02d", i)
		if f.applied[k] != 1 || f.eventsSeen[k] != 1 {
			t.Errorf("%s: applied %d, seen %d; want 1, 1 (no failures, no resends)", k, f.applied[k], f.eventsSeen[k])
		}
	}
	if f.registers != 1 {
		t.Errorf("registrations: got %d, want 1", f.registers)
	}
}

// TestAgentOverTLS: with Config.TLS the agent talks HTTPS to the servers
// and verifies their certificate.
func TestAgentOverTLS(t *testing.T) {
	f := newFakeServerTLS(t, token)
	pool := x509.NewCertPool()
	pool.AddCert(f.srv.Certificate())
	cfg := testConfig(t, []string{f.addr()}, 2)
	cfg.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	a, stop := runAgent(t, cfg)
	waitFor(t, "registration over TLS", 5*time.Second, func() bool { return a.Stats().Registered })
	f.assign("a1", "w", "x-jn-0", 1000, 1000)
	waitFor(t, "completed over TLS", 10*time.Second, func() bool { return f.status("w") == api.StatusCompleted })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestAgentSurvivesFailures: registration refused while there is no
// leader, event answers lost after being applied (unknown outcome), polls
// failing, and the server forgetting the agent: every workload completes
// exactly once on the server and the agent never gives up.
func TestAgentSurvivesFailures(t *testing.T) {
	f := newFakeServer(t, token)
	var regFails, evFails, pollFails atomic.Int32
	regFails.Store(3)
	evFails.Store(4)
	pollFails.Store(3)
	f.fail = func(r *http.Request) (*api.Error, bool) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/register") && regFails.Add(-1) >= 0:
			return &api.Error{Code: api.CodeNoLeader, Message: "no leader"}, false
		case strings.HasSuffix(r.URL.Path, "/events") && evFails.Add(-1) >= 0:
			return &api.Error{Code: api.CodeUnknownOutcome, Message: "leadership lost"}, true
		case strings.HasSuffix(r.URL.Path, "/assignments") && r.URL.Query().Get("index") != "0" && pollFails.Add(-1) >= 0:
			return &api.Error{Code: api.CodeInternal, Message: "boom"}, false
		}
		return nil, false
	}
	a, stop := runAgent(t, testConfig(t, []string{f.addr()}, 2))
	waitFor(t, "registration", 5*time.Second, func() bool { return a.Stats().Registered })
	for i := 0; i < 10; i++ {
		f.assign("a1", fmt.Sprintf("w%d", i), fmt.Sprintf("x-jn-%d", i%2), 1000, 500)
		time.Sleep(2 * time.Millisecond)
	}
	done := func() bool {
		for i := 0; i < 10; i++ {
			if f.status(fmt.Sprintf("w%d", i)) != api.StatusCompleted {
				return false
			}
		}
		return true
	}
	waitFor(t, "all completed despite failures", 10*time.Second, done)
	// The cluster loses the agent: it registers again and keeps working.
	f.forget("a1")
	waitFor(t, "re-registration", 5*time.Second, func() bool { return f.count(func(f *fakeServer) int { return f.registers }) == 2 })
	f.assign("a1", "after", "x-jn-1", 1000, 500)
	waitFor(t, "work after re-registration", 5*time.Second, func() bool { return f.status("after") == api.StatusCompleted })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	resent := 0
	for i := 0; i < 10; i++ {
		k := fmt.Sprintf("completed:w%d", i)
		if f.applied[k] != 1 {
			t.Errorf("%s applied %d times, want 1", k, f.applied[k])
		}
		resent += f.eventsSeen[k] - 1
	}
	if resent == 0 && f.eventsSeen["started:w0"] < 2 {
		t.Error("no event was resent, but answers were lost: the failure injection did not bite")
	}
	if s := a.Stats(); s.EventErrors < 4 || s.PollErrors < 3 {
		t.Errorf("errors: got %d event, %d poll errors; want >= 4, >= 3", s.EventErrors, s.PollErrors)
	}
}

// TestAgentFollowsLeader: a follower that cannot serve answers no_leader
// naming the leader; the agent moves there and stays.
func TestAgentFollowsLeader(t *testing.T) {
	leader := newFakeServer(t, token)
	follower := newFakeServer(t, token)
	follower.fail = func(r *http.Request) (*api.Error, bool) {
		return &api.Error{Code: api.CodeNoLeader, Message: "not me", Leader: leader.addr()}, false
	}
	a, stop := runAgent(t, testConfig(t, []string{follower.addr()}, 1))
	waitFor(t, "registration with the leader", 5*time.Second, func() bool { return a.Stats().Registered })
	leader.assign("a1", "w1", "x-jn-0", 1000, 100)
	waitFor(t, "w1 completed", 5*time.Second, func() bool { return leader.status("w1") == api.StatusCompleted })
	_ = stop()
	fol := follower.count(func(f *fakeServer) int {
		return f.requestsBy["register"] + f.requestsBy["assignments"] + f.requestsBy["events"]
	})
	if fol != 1 {
		t.Errorf("requests to the follower: got %d, want 1 (then follow the leader)", fol)
	}
	if got := a.servers.known(); len(got) != 2 {
		t.Errorf("known servers: got %v, want the follower and the leader", got)
	}
}

func TestAgentFailover(t *testing.T) {
	s1 := newFakeServer(t, token)
	s2 := newFakeServer(t, token)
	// s2 mirrors s1's work (as a replicated cluster would): the test
	// assigns on both.
	a, stop := runAgent(t, testConfig(t, []string{s1.addr(), s2.addr()}, 1))
	defer stop()
	waitFor(t, "registration", 5*time.Second, func() bool { return a.Stats().Registered })
	s1.srv.CloseClientConnections()
	s1.srv.Close() // s1 dies
	// s2 does not know the agent yet: the agent registers with it.
	waitFor(t, "registration with s2", 10*time.Second, func() bool { return s2.count(func(f *fakeServer) int { return f.registers }) == 1 })
	s2.assign("a1", "w1", "x-jn-0", 1000, 100)
	waitFor(t, "w1 completed on s2", 5*time.Second, func() bool { return s2.status("w1") == api.StatusCompleted })
}

func TestAgentFatalErrors(t *testing.T) {
	t.Run("wrong token", func(t *testing.T) {
		f := newFakeServer(t, "another-token")
		_, stop := runAgent(t, testConfig(t, []string{f.addr()}, 1))
		waitFor(t, "refusal", 5*time.Second, func() bool { return f.count(func(f *fakeServer) int { return f.requestsBy["register"] }) >= 1 })
		time.Sleep(50 * time.Millisecond)
		err := stop()
		if err == nil || !strings.Contains(err.Error(), "unauthorized") {
			t.Errorf("Run: got %v, want an unauthorized error", err)
		}
	})
	t.Run("config", func(t *testing.T) {
		for name, mut := range map[string]func(*Config){
			"id":      func(c *Config) { c.ID = "bad id" },
			"servers": func(c *Config) { c.Servers = nil },
			"speed":   func(c *Config) { c.Speed = -1 },
			"layout":  func(c *Config) { c.Layout = Layout{} },
			"key":     func(c *Config) { c.Gossip.Key = []byte("short") },
		} {
			cfg := testConfig(t, []string{"127.0.0.1:1"}, 1)
			mut(&cfg)
			if _, err := New(cfg); err == nil {
				t.Errorf("%s: got nil error", name)
			}
		}
	})
}

// TestGossipKeyRequired: an agent that gossips needs the pool's key unless
// it runs in development mode (servers started with --dev).
func TestGossipKeyRequired(t *testing.T) {
	key := []byte("0123456789abcdef")
	for _, tc := range []struct {
		name    string
		gossip  GossipConfig
		dev     bool
		wantErr string
	}{
		{name: "gossip without key", gossip: GossipConfig{Join: []string{"127.0.0.1:1"}}, wantErr: "no gossip key: set --gossip-key or SUANLI_GOSSIP_KEY"},
		{name: "gossip with key", gossip: GossipConfig{Join: []string{"127.0.0.1:1"}, Key: key}},
		{name: "dev gossip without key", gossip: GossipConfig{Join: []string{"127.0.0.1:1"}}, dev: true},
		{name: "no gossip", gossip: GossipConfig{Disabled: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, []string{"127.0.0.1:1"}, 1)
			cfg.Gossip, cfg.Dev = tc.gossip, tc.dev
			_, err := New(cfg)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestGossipJoinFailureLogged: an agent that cannot reach any gossip seed
// says so at warn level, naming the addresses it tried.
func TestGossipJoinFailureLogged(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seed := ln.Addr().String()
	ln.Close() // nothing listens there now
	f := newFakeServer(t, token)
	var logs syncBuffer
	cfg := testConfig(t, []string{f.addr()}, 1)
	cfg.Log = &logs
	cfg.Gossip = GossipConfig{Addr: "127.0.0.1:0", Join: []string{seed}, Key: []byte("0123456789abcdef"), Profile: "local",
		ProbeInterval: 100 * time.Millisecond, ProbeTimeout: 50 * time.Millisecond}
	a, _ := runAgent(t, cfg)
	waitFor(t, "a warning naming the seed", 5*time.Second, func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "level=WARN") && strings.Contains(line, "gossip join failed") && strings.Contains(line, seed) {
				return true
			}
		}
		return false
	})
	if n := a.Stats().Members; n != 1 {
		t.Errorf("members: got %d, want 1 (alone)", n)
	}
}

// syncBuffer is a log destination tests can read while the agent writes it.
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

func TestAgentStopsBeforeRegistering(t *testing.T) {
	// No server at all: Run keeps retrying and returns promptly on cancel.
	cfg := testConfig(t, []string{"127.0.0.1:1"}, 1)
	_, stop := runAgent(t, cfg)
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := stop(); err != nil {
		t.Errorf("Run: got %v, want nil", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stop took %v, want < 3s", d)
	}
}
