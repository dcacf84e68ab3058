package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server"
	"github.com/suanli/suanli/scheduler/server/api"
)

// listServer starts a one-server cluster on loopback (dev mode) with
// 2,500 nodes and 250 workloads.
func listServer(t *testing.T) string {
	t.Helper()
	cfg := server.Config{ID: "s1", DataDir: t.TempDir(), RaftAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Gossip: server.GossipConfig{Addr: "127.0.0.1:0", Profile: "local"}, Dev: true, Bootstrap: true,
		Raft: server.FastRaftTiming(), Policy: "balanced", Seed: 1, Log: io.Discard}
	if os.Getenv("SUANLI_TEST_LOG") != "" {
		cfg.Log = os.Stderr
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for !s.IsLeader() {
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := api.NewClient(s.Addrs().HTTPAddr, "")
	req := api.RegisterRequest{AgentID: "a1", Sites: []api.Site{{ID: "x-jn", City: "JN", Role: "edge", PUE: 1.3}}}
	for i := 0; i < 2500; i++ {
		req.Nodes = append(req.Nodes, api.NodeSpec{ID: fmt.Sprintf("n%04d", i), Site: "x-jn", Capacity: nodes.Resources{CPUMilli: 16000, MemoryMiB: 65536}})
	}
	if _, err := c.Register(ctx, req); err != nil {
		t.Fatal(err)
	}
	var specs []api.WorkloadSpec
	for i := 0; i < 250; i++ {
		specs = append(specs, api.WorkloadSpec{ID: fmt.Sprintf("w%03d", i), Origin: "JN", Request: nodes.Resources{CPUMilli: 10}})
	}
	for {
		_, err := c.SubmitBulk(ctx, specs)
		var e *api.Error
		if err == nil {
			break
		}
		if !errors.As(err, &e) || (e.Code != api.CodeNoLeader && e.Code != api.CodeNotLeader && e.Code != api.CodeUnknownOutcome) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // an election: submit again (idempotent)
	}
	return s.Addrs().HTTPAddr
}

// TestListCommandsPage: workload list and node list show one page and
// say on stderr how many match in all and how to go on; --all follows
// every page; --json keeps next and total.
func TestListCommandsPage(t *testing.T) {
	addr := listServer(t)
	rows := func(out, prefix string) int {
		n := 0
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, prefix) {
				n++
			}
		}
		return n
	}

	out, err := runCLI(t, "node", "list", "--addr", addr)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := rows(out, "n"); n != 1000 || !strings.Contains(out, "(1000 nodes shown, 2500 match in all; more after this page: --after 1000, or --all for every page)") {
		t.Errorf("node list: %d rows, note missing:\n%s", n, out[max(0, len(out)-300):])
	}
	out, err = runCLI(t, "node", "list", "--addr", addr, "--all")
	if n := rows(out, "n"); err != nil || n != 2500 || strings.Contains(out, "more after this page") {
		t.Errorf("node list --all: %v, %d rows", err, n)
	}
	out, err = runCLI(t, "node", "list", "--addr", addr, "--limit", "600", "--after", "2000")
	if n := rows(out, "n"); err != nil || n != 500 || !strings.Contains(out, "n2000 ") || strings.Contains(out, "more after this page") {
		t.Errorf("node list --after 2000: %v, %d rows", err, n)
	}
	out, err = runCLI(t, "node", "list", "--addr", addr, "--limit", "10", "--json")
	var nl api.NodeList
	if err != nil || json.Unmarshal([]byte(out), &nl) != nil || len(nl.Nodes) != 10 || nl.Total != 2500 || nl.Next != "10" || len(nl.Sites) != 1 {
		t.Errorf("node list --json: %v, %d nodes, total %d, next %q", err, len(nl.Nodes), nl.Total, nl.Next)
	}

	out, err = runCLI(t, "workload", "list", "--addr", addr)
	if n := rows(out, "w"); err != nil || n != 100 || !strings.Contains(out, "(100 workloads shown, 250 match in all; more after this page: --after 100, or --all for every page)") {
		t.Errorf("workload list: %v, %d rows:\n%s", err, n, out[max(0, len(out)-300):])
	}
	out, err = runCLI(t, "workload", "list", "--addr", addr, "--all", "--limit", "40")
	if n := rows(out, "w"); err != nil || n != 250 || strings.Contains(out, "more after this page") {
		t.Errorf("workload list --all: %v, %d rows", err, n)
	}
	out, err = runCLI(t, "workload", "list", "--addr", addr, "--limit", "5", "--json")
	var wl api.WorkloadList
	if err != nil || json.Unmarshal([]byte(out), &wl) != nil || len(wl.Workloads) != 5 || wl.Total != 250 || wl.Next != "5" || wl.Index == 0 {
		t.Errorf("workload list --json: %v, %d workloads, total %d, next %q, index %d", err, len(wl.Workloads), wl.Total, wl.Next, wl.Index)
	}
	out, err = runCLI(t, "workload", "list", "--addr", addr, "--limit", "5000")
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "limit") {
		t.Errorf("--limit 5000: got %v (exit %d), want the server's 400 naming limit, exit 2\n%s", err, exitCode(err), out)
	}
}
