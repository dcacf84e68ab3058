package api

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/suanli/suanli/nodes"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update, then review the diff):\n%s", path, got)
	}
}

// TestFormatClusterGolden: suanli cluster status shows the Raft state,
// the counts and the server's view of the gossip pool, with the last join
// failure while it is not joined, and each server's build and log
// version.
func TestFormatClusterGolden(t *testing.T) {
	alive, gone := true, false
	base := ClusterStatus{
		ClusterID: "9f3c2a7e5b1d4c8a0e6f2b7d3a9c1e5f",
		ID:        "s1", State: "Leader", LeaderID: "s1", LeaderAddr: "127.0.0.1:7000", LeaderHTTP: "127.0.0.1:7070",
		Term: 3, LastIndex: 17, CommitIndex: 17, AppliedIndex: 17, Policy: "balanced",
		Counts: Counts{Workloads: map[string]int{StatusRunning: 2}, Nodes: map[string]int{"up": 8334}, Agents: 1, Sites: 28},
		Servers: []Server{
			{ID: "s1", RaftAddr: "127.0.0.1:7000", HTTPAddr: "127.0.0.1:7070", Suffrage: "voter", Leader: true, Alive: &alive, LogVersion: 2, Version: "v1.4.0"},
			{ID: "s2", RaftAddr: "127.0.0.1:7001", HTTPAddr: "127.0.0.1:7071", Suffrage: "voter", Alive: &gone, LogVersion: 1}, // a release before build versions
			{ID: "s3", RaftAddr: "127.0.0.1:7002", Suffrage: "voter"},                                                          // nothing known
		},
	}
	for _, tc := range []struct {
		file   string
		gossip *GossipStatus
	}{
		{"cluster-joined.golden", &GossipStatus{Encrypted: true, Joined: true, Alive: 3, Suspect: 1, Dead: 1}},
		{"cluster-alone.golden", &GossipStatus{Alive: 1, JoinError: "gossip: join 127.0.0.1:7947: connection refused"}},
		{"cluster-no-gossip.golden", nil}, // a server that predates the field
	} {
		t.Run(tc.file, func(t *testing.T) {
			st := base
			st.Gossip = tc.gossip
			var b bytes.Buffer
			if err := FormatCluster(&b, st); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, b.String())
		})
	}
}

// TestFormatNodesGolden: the node table shows why a node is down and what
// an operator set on it when that differs from its state.
func TestFormatNodesGolden(t *testing.T) {
	n := func(id, state, reason, operator string) Node {
		return Node{NodeSpec: NodeSpec{ID: id, Site: "jn-core", Capacity: nodes.Resources{CPUMilli: 16000, MemoryMiB: 65536}},
			Agent: "a1", State: state, DownReason: reason, OperatorState: operator}
	}
	var b bytes.Buffer
	err := FormatNodes(&b, NodeList{Nodes: []Node{
		n("n0", "up", "", ""),
		n("n1", "draining", "", "draining"),
		n("n2", "down", "operator", "down"),
		n("n3", "down", "gossip", "draining"),
		n("n4", "down", "deregistered", ""),
	}})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "nodes.golden", b.String())
}
