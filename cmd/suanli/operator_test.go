package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server"
	"github.com/suanli/suanli/scheduler/server/api"
)

// badScenario writes a scenario file whose scheduler block is out of
// range.
func badScenario(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../scenarios/testdata/valid/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(p, append(b, "scheduler:\n  node_candidates: 99\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOperatorSchedulerFlagErrors: set-config refuses bad flags with exit
// code 2, naming the flag or field, before any request (the address is
// closed); so does suanli server --scheduler-config.
func TestOperatorSchedulerFlagErrors(t *testing.T) {
	bad := badScenario(t)
	set := []string{"operator", "scheduler", "set-config", "--addr", "127.0.0.1:1"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "nothing to set"},
		{[]string{"--policy", "fastest"}, `policy "fastest" is unknown`},
		{[]string{"--set", "weights.carbon"}, "want field=value"},
		{[]string{"--set", "speed=1"}, `unknown field "speed"`},
		{[]string{"--set", "weights.speed=1"}, `unknown field "weights.speed" (weights takes: binpack, carbon, cost, latency, spread)`},
		{[]string{"--set", "weights=1"}, "weights is a group"},
		{[]string{"--set", "node_candidates=99"}, "node_candidates: 99 must be in [1, 32]"},
		{[]string{"--set", "node_candidates=many"}, "node_candidates"},
		{[]string{"--set", "optimizer.utilization=0"}, "optimizer.utilization: 0 must be in (0, 1]"},
		{[]string{"--set", "defer_slack_ms=-1"}, "defer_slack_ms"},
		{[]string{"--policy", "nearest", "--cas", "-2"}, "--cas -2"},
		{[]string{"--from-scenario", bad}, "bad.yaml:23:"},
		{[]string{"--from-scenario", filepath.Join(t.TempDir(), "none.yaml")}, "--from-scenario"},
	} {
		_, err := runCLI(t, append(set, tc.args...)...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v (exit %d), want exit 2 with %q", tc.args, err, exitCode(err), tc.want)
		}
	}
	_, err := runCLI(t, "server", "--id", "s1", "--data-dir", t.TempDir(), "--dev", "--http-addr", "127.0.0.1:0", "--raft-addr", "127.0.0.1:0",
		"--gossip-addr", "127.0.0.1:0", "--scheduler-config", bad)
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "--scheduler-config") || !strings.Contains(err.Error(), "scheduler.node_candidates") {
		t.Fatalf("server --scheduler-config %s: %v (exit %d), want exit 2 naming the field", bad, err, exitCode(err))
	}
}

// TestOperatorSchedulerSetConfig: set-config changes the configuration of
// a running server (read, change, write with the index read), get-config
// shows it, and a stale --cas is refused.
func TestOperatorSchedulerSetConfig(t *testing.T) {
	cfg := server.Config{ID: "s1", DataDir: t.TempDir(), RaftAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Gossip: server.GossipConfig{Addr: "127.0.0.1:0", Profile: "local", Key: []byte(strings.Repeat("k", 32))}, Token: "tok", Bootstrap: true,
		Raft: server.FastRaftTiming(), Policy: "first-fit", Seed: 1, Log: io.Discard}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	addr := s.Addrs().HTTPAddr
	get := func() api.SchedulerConfigResponse {
		t.Helper()
		var r api.SchedulerConfigResponse
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, err := runCLI(t, "operator", "scheduler", "get-config", "--addr", addr, "--json")
			if err == nil {
				if err := json.Unmarshal([]byte(out), &r); err != nil {
					t.Fatalf("get-config --json: %v: %s", err, out)
				}
				if r.Scheduler != nil {
					return r
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no configuration seeded: %v %s", err, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	first := get()
	if first.Scheduler.Policy != "first-fit" {
		t.Fatalf("seeded %+v", first.Scheduler)
	}
	out, err := runCLI(t, "operator", "scheduler", "set-config", "--addr", addr, "--token", "tok", "--policy", "optimizer",
		"--set", "weights.carbon=2.5", "--set", "optimizer.tolerance=0.2", "--preempt")
	if err != nil {
		t.Fatalf("set-config: %v\n%s", err, out)
	}
	if !strings.Contains(out, "optimizer") {
		t.Fatalf("set-config printed %s", out)
	}
	r := get()
	if c := r.Scheduler; c.Policy != "optimizer" || !c.Preempt || c.Weights.Carbon != 2.5 || c.Optimizer.Tolerance != 0.2 || c.NodeCandidates != 4 || r.ModifyIndex <= first.ModifyIndex {
		t.Fatalf("after set-config: %+v at %d", c, r.ModifyIndex)
	}
	_, err = runCLI(t, "operator", "scheduler", "set-config", "--addr", addr, "--token", "tok", "--policy", "nearest", "--cas", "1")
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("stale --cas: %v (exit %d), want the conflict", err, exitCode(err))
	}
	if _, err := runCLI(t, "operator", "scheduler", "set-config", "--addr", addr, "--policy", "nearest"); err == nil {
		t.Fatal("set-config without the token was accepted")
	}
}
