package main

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server"
	"github.com/suanli/suanli/scheduler/server/gossip"
)

// TestServerExitsOnJoinRefusal: `suanli server --join` that the cluster
// refuses for good (here its token) returns the refusal (exit code 2)
// instead of running on and asking forever.
func TestServerExitsOnJoinRefusal(t *testing.T) {
	key := gossip.NewKey()
	cfg := server.Config{ID: "s1", DataDir: t.TempDir(), RaftAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Gossip: server.GossipConfig{Addr: "127.0.0.1:0", Profile: "local"}, Token: "the-token", Bootstrap: true,
		Raft: server.FastRaftTiming(), Policy: "balanced", Seed: 1, Log: io.Discard}
	if os.Getenv("SUANLI_TEST_LOG") != "" {
		cfg.Log = os.Stderr
	}
	var err error
	if cfg.Gossip.Key, err = gossip.ParseKey(key); err != nil {
		t.Fatal(err)
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := runCLI(t, "server", "--id", "s2", "--data-dir", t.TempDir(), "--join", s.Addrs().HTTPAddr,
			"--token", "another-token", "--gossip-key", key, "--raft-timing", "fast",
			"--http-addr", "127.0.0.1:0", "--raft-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1:0")
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		if r.err == nil || exitCode(r.err) != 2 {
			t.Fatalf("got %v (exit %d), want exit code 2\n%s", r.err, exitCodeOf(r.err), r.out)
		}
		for _, w := range []string{"server s2", "join refused", s.Addrs().HTTPAddr, "HTTP 401", "--token"} {
			if !strings.Contains(r.err.Error(), w) {
				t.Errorf("error %q lacks %q", r.err, w)
			}
		}
		if !strings.Contains(r.out, "level=ERROR") {
			t.Errorf("no error logged:\n%s", r.out)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("suanli server still runs 20 s after its join was refused")
	}
}
