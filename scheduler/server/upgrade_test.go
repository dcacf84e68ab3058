package server

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
	"github.com/suanli/suanli/scheduler/server/gossip"
)

// versionsOf returns the log versions /v1/cluster lists, by server.
func versionsOf(t *testing.T, s *Server) map[string]api.Server {
	t.Helper()
	st, err := client(s).Cluster(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]api.Server{}
	for _, sv := range st.Servers {
		out[sv.ID] = sv
	}
	return out
}

// TestUpgradeGate: a cluster whose s1 runs an older release (advertising
// log version 1) refuses to commit the scheduler configuration (log
// version 2): the seed at leadership start waits (the leader schedules
// with its flags) and a set-config is answered 409 upgrade_required,
// naming s1 and the version. /v1/cluster lists every server's versions.
// Once s1 is restarted on the current version, the leader seeds the
// configuration by itself and set-config is accepted.
func TestUpgradeGate(t *testing.T) {
	ss := startCluster(t, 3, func(c *Config) {
		if c.ID == "s1" {
			c.advertiseLogVersion = 1
		}
	})
	c2 := client(ss[1])
	// Every server's view, the leader's included (the gate judges by the
	// leader's gossip pool and directory; a follower may know s3 first).
	waitFor(t, "every server's versions in /v1/cluster", 10*time.Second, func() bool {
		for _, s := range ss {
			v := versionsOf(t, s)
			if v["s1"].LogVersion != 1 || v["s2"].LogVersion != fsm.LogVersion || v["s3"].LogVersion != fsm.LogVersion {
				return false
			}
		}
		return true
	})
	if v := versionsOf(t, ss[2]); v["s2"].Version != BuildVersion() || v["s2"].Version == "" {
		t.Errorf("s2's build version %q, want %q", v["s2"].Version, BuildVersion())
	}

	sc := fsm.DefaultSchedulerConfig("spread", false)
	_, err := c2.SetSchedulerConfig(ctx(t), sc, -1)
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeUpgradeRequired || ae.Status != 409 {
		t.Fatalf("set-config with s1 at log version 1: got %v, want 409 upgrade_required", err)
	}
	for _, want := range []string{"upgrade s1 to log version ≥ 2 first", "s1 (log version 1"} {
		if !strings.Contains(ae.Message, want) {
			t.Errorf("message %q lacks %q", ae.Message, want)
		}
	}
	if strings.Contains(ae.Message, "s2") || strings.Contains(ae.Message, "s3") {
		t.Errorf("message names servers that are current: %q", ae.Message)
	}
	if got, err := c2.SchedulerConfig(ctx(t)); err != nil || got.Scheduler != nil {
		t.Fatalf("configuration seeded while s1 is old: %+v %v", got.Scheduler, err)
	}
	if st, err := c2.Cluster(ctx(t)); err != nil || st.Policy != "balanced" {
		t.Fatalf("policy in force %q (%v), want the flags' balanced", st.Policy, err)
	}

	// Upgrade s1: stop it, start it again on the current version from
	// its data directory (same Raft address: the configuration has it).
	old := ss[0]
	cfg := old.cfg
	cfg.advertiseLogVersion = 0
	cfg.Bootstrap, cfg.Join = false, nil
	cfg.RaftAddr = old.Addrs().RaftAddr
	cfg.HTTPAddr, cfg.Gossip.Addr = "127.0.0.1:0", "127.0.0.1:0"
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	ss[0] = startServer(t, cfg)
	waitFor(t, "the seed committed once s1 supports it", 15*time.Second, func() bool {
		got, err := c2.SchedulerConfig(ctx(t))
		return err == nil && got.Scheduler != nil && got.Scheduler.Policy == "balanced"
	})
	waitFor(t, "s1's new version in the directory", 10*time.Second, func() bool {
		sv, ok := leaderOf(t, ss).FSM().Server("s1")
		return ok && sv.LogVersion == fsm.LogVersion
	})
	if v := versionsOf(t, ss[1]); v["s1"].LogVersion != fsm.LogVersion {
		t.Errorf("/v1/cluster after the upgrade: s1 %+v", v["s1"])
	}
	var res api.SchedulerConfigResponse
	waitFor(t, "set-config accepted", 10*time.Second, func() bool {
		res, err = c2.SetSchedulerConfig(ctx(t), sc, -1)
		return err == nil || !(isCode(err, api.CodeNoLeader) || isCode(err, api.CodeNotLeader) || isCode(err, api.CodeUnknownOutcome))
	})
	if err != nil || res.Scheduler == nil || res.Scheduler.Policy != "spread" {
		t.Fatalf("set-config after the upgrade: %+v %v", res.Scheduler, err)
	}
}

// TestUnknownCommandStopsServer: a server whose FSM meets a command type
// it does not know (committed here behind the gate's back, as a newer
// leader would) stops applying, shuts Raft down and fails with
// ErrFSMHalted naming the entry; restarted as is, it halts at the same
// entry again rather than skip it.
func TestUnknownCommandStopsServer(t *testing.T) {
	cfg := testConfig(t, "s1")
	cfg.Bootstrap = true
	s := startServer(t, cfg)
	waitFor(t, "leader", 5*time.Second, s.IsLeader)
	registerAgent(t, client(s), "a1", "jn-core", "JN", "core-zone", 1)
	f := s.Raft().Apply([]byte{0x7e, '{', '}'}, time.Second)
	_ = f.Error()
	// The entry's own index (entries the leader commits by itself — its
	// directory record, the scheduler seed — may precede it).
	unknownAt := f.Index()
	select {
	case <-s.Failed():
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not fail after an unknown command")
	}
	err := s.Err()
	if !errors.Is(err, ErrFSMHalted) || !errors.Is(err, fsm.ErrHalted) || !strings.Contains(err.Error(), "command type 126") {
		t.Fatalf("Err() = %v, want ErrFSMHalted naming command type 126", err)
	}
	if s.Raft().State() != raft.Shutdown {
		t.Errorf("raft state %v, want Shutdown", s.Raft().State())
	}
	if unknownAt == 0 {
		t.Fatal("the unknown entry has no index: it was never committed")
	}
	if s.FSM().Index() >= unknownAt {
		t.Errorf("FSM index %d, the unknown entry's %d: applied it or beyond it?", s.FSM().Index(), unknownAt)
	}
	addrs := s.Addrs()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.RaftAddr = addrs.RaftAddr
	cfg.HTTPAddr, cfg.Gossip.Addr = "127.0.0.1:0", "127.0.0.1:0"
	s2, err := New(cfg)
	if err != nil {
		// Halting while Raft starts (replaying its log) is as good.
		if !errors.Is(err, ErrFSMHalted) {
			t.Fatalf("restart: %v", err)
		}
		return
	}
	t.Cleanup(func() { _ = s2.Close() })
	select {
	case <-s2.Failed():
	case <-time.After(10 * time.Second):
		t.Fatal("the restarted server did not halt at the same entry")
	}
	if !errors.Is(s2.Err(), ErrFSMHalted) {
		t.Fatalf("restarted: Err() = %v", s2.Err())
	}
}

// TestServerMetaFits: a server's gossip metadata with its versions fits
// memberlist's 512 bytes at the longest ID, addresses and build version.
func TestServerMetaFits(t *testing.T) {
	m := gossip.Meta{Role: gossip.RoleServer, ID: strings.Repeat("s", api.MaxIDLen),
		HTTPAddr: "[fd00:1234:5678:9abc:def0:1234:5678:9abc]:65535", RaftAddr: "[fd00:1234:5678:9abc:def0:1234:5678:9abc]:65535",
		LogVersion: fsm.LogVersion, Version: strings.Repeat("v", maxVersionLen)}
	b, err := m.Encode()
	if err != nil || len(b) > gossip.MaxMetaBytes {
		t.Fatalf("%d bytes (limit %d): %v", len(b), gossip.MaxMetaBytes, err)
	}
	got, err := gossip.DecodeMeta(b)
	if err != nil || got.LogVersion != fsm.LogVersion || got.Version != m.Version {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	if v := BuildVersion(); v == "" || len(v) > maxVersionLen {
		t.Errorf("BuildVersion() = %q", v)
	}
}
