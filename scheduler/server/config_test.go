package server

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// minimalConfig sets only what has no default.
func minimalConfig(t *testing.T) Config {
	return Config{ID: "s1", DataDir: t.TempDir(), RaftAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Token: testToken, Gossip: GossipConfig{Key: testKey}, Log: testLog()}
}

// TestValidateZeroMeansDefault: a library user's configuration with every
// defaulted setting left zero (or partly set, like one Raft timeout)
// validates as is, Validate changes nothing, and New fills the defaults.
func TestValidateZeroMeansDefault(t *testing.T) {
	cfg := minimalConfig(t)
	before := cfg
	if err := cfg.Validate(); err != nil {
		t.Fatalf("minimal configuration: %v", err)
	}
	if !reflect.DeepEqual(cfg, before) {
		t.Errorf("Validate changed the configuration: %+v, was %+v", cfg, before)
	}
	part := minimalConfig(t)
	part.Raft.SnapshotThreshold = 16
	part.Raft.HeartbeatTimeout, part.Raft.LeaderLeaseTimeout = 2*time.Second, time.Second
	if err := part.Validate(); err != nil {
		t.Fatalf("partial raft timing: %v", err)
	}
	part.setDefaults()
	want := DefaultRaftTiming()
	want.SnapshotThreshold, want.HeartbeatTimeout, want.LeaderLeaseTimeout = 16, 2*time.Second, time.Second
	if part.Raft != want {
		t.Errorf("partial raft timing with defaults: %+v, want %+v", part.Raft, want)
	}

	d := minimalConfig(t)
	d.setDefaults()
	for name, got := range map[string][2]any{
		"LeaderHold":        {d.LeaderHold, DefaultLeaderHold},
		"ReconcileInterval": {d.ReconcileInterval, DefaultReconcileInterval},
		"AgentGrace":        {d.AgentGrace, DefaultAgentGrace},
		"EnergyRefresh":     {d.EnergyRefresh, DefaultEnergyRefresh},
		"MaxWait":           {d.MaxWait, DefaultMaxWait},
		"ApplyTimeout":      {d.ApplyTimeout, DefaultApplyTimeout},
		"MaxBodyBytes":      {d.MaxBodyBytes, int64(DefaultMaxBodyBytes)},
		"MaxBulkBodyBytes":  {d.MaxBulkBodyBytes, int64(DefaultMaxBulkBodyBytes)},
		"PlanBatch":         {d.PlanBatch, DefaultPlanBatch},
		"PlanPipeline":      {d.PlanPipeline, DefaultPlanPipeline},
		"SubmitBatch":       {d.SubmitBatch, DefaultSubmitBatch},
		"Raft":              {d.Raft, DefaultRaftTiming()},
		"Policy":            {d.Policy, "balanced"},
		"RaftLogLevel":      {d.RaftLogLevel, "warn"},
	} {
		if got[0] != got[1] {
			t.Errorf("%s: default %v, want %v", name, got[0], got[1])
		}
	}

	// NoLeaderHold (any negative value) is kept: answer at once.
	for _, h := range []time.Duration{NoLeaderHold, -time.Second} {
		c := minimalConfig(t)
		c.LeaderHold = h
		if err := c.Validate(); err != nil {
			t.Errorf("LeaderHold %v: %v", h, err)
		}
		c.setDefaults()
		if c.LeaderHold != h {
			t.Errorf("LeaderHold %v became %v", h, c.LeaderHold)
		}
	}

	s := startServer(t, func() Config { c := minimalConfig(t); c.Bootstrap = true; return c }())
	if s.cfg.LeaderHold != DefaultLeaderHold || s.cfg.AgentGrace != DefaultAgentGrace {
		t.Errorf("New: LeaderHold %v, AgentGrace %v; want the defaults", s.cfg.LeaderHold, s.cfg.AgentGrace)
	}
}

// TestValidateRefuses: negative values of defaulted settings, bad
// addresses and bad enumerations are refused by Validate, and by New as
// ErrBadConfig (exit code 2 in the CLI), naming the setting.
func TestValidateRefuses(t *testing.T) {
	for _, tc := range []struct {
		tweak func(*Config)
		want  string
	}{
		{func(c *Config) { c.ReconcileInterval = -time.Second }, "--reconcile-interval -1s: must not be negative (0: the default, 5s)"},
		{func(c *Config) { c.AgentGrace = -time.Minute }, "--agent-grace -1m0s: must not be negative (0: the default, 30s)"},
		{func(c *Config) { c.EnergyRefresh = -1 }, "--energy-refresh -1ns: must not be negative (0: the default, 1m0s)"},
		{func(c *Config) { c.MaxWait = -time.Second }, "Config.MaxWait -1s: must not be negative (0: the default, 1m0s)"},
		{func(c *Config) { c.ApplyTimeout = -time.Second }, "Config.ApplyTimeout -1s: must not be negative"},
		{func(c *Config) { c.Raft.ElectionTimeout = -time.Second }, "Config.Raft.ElectionTimeout -1s: must not be negative (0: the default, 1s)"},
		{func(c *Config) { c.MaxBodyBytes = -1 }, "Config.MaxBodyBytes -1: must not be negative (0: the default, 1048576)"},
		{func(c *Config) { c.PlanBatch = -1 }, "Config.PlanBatch -1: must not be negative"},
		{func(c *Config) { c.PlanPipeline = -2 }, "Config.PlanPipeline -2: must not be negative"},
		{func(c *Config) { c.SubmitBatch = -3 }, "Config.SubmitBatch -3: must not be negative"},
		{func(c *Config) { c.FSM.MaxTerminal = -1 }, "Config.FSM.MaxTerminal -1: must not be negative"},
		{func(c *Config) { c.Gossip.SuspicionMult = -1 }, "--gossip-suspicion-mult -1: must not be negative"},
		{func(c *Config) { c.Gossip.ProbeInterval = -time.Second }, "--gossip-probe-interval -1s: must not be negative"},
		{func(c *Config) { c.Gossip.ProbeInterval = 100 * time.Millisecond }, "probe timeout 500ms must be below the probe interval 100ms"},
		{func(c *Config) { c.Gossip.Profile = "wan" }, `profile "wan" (allowed: lan, local)`},
		{func(c *Config) { c.RaftLogLevel = "loud" }, `--raft-log-level "loud": want trace, debug, info, warn or error`},
		{func(c *Config) { c.Raft.HeartbeatTimeout = time.Millisecond }, "must be at least 5ms"},
		{func(c *Config) { c.Raft.HeartbeatTimeout = 100 * time.Millisecond }, "raft leader lease timeout 500ms must not exceed the heartbeat timeout 100ms"},
		{func(c *Config) { c.MaxBodyBytes, c.MaxBulkBodyBytes = 2<<20, 1<<20 }, "Config.MaxBulkBodyBytes 1048576 must not be below Config.MaxBodyBytes 2097152"},
		{func(c *Config) { c.Join = []string{"nohost.invalid"} }, `--join "nohost.invalid": no port`},
		{func(c *Config) { c.Join = []string{"10.0.0.1:99999"} }, `--join "10.0.0.1:99999": port "99999": want 1-65535`},
		{func(c *Config) { c.Gossip.Join = []string{"10.0.0.1"} }, `--gossip-join "10.0.0.1": no port`},
		{func(c *Config) { c.Gossip.Join = []string{"10.0.0.1:0"} }, `--gossip-join "10.0.0.1:0": port "0": want 1-65535`},
		{func(c *Config) { c.HTTPAddr = "127.0.0.1:70000" }, `--http-addr "127.0.0.1:70000": port "70000": want 0-65535`},
		{func(c *Config) { c.ID = "bad id" }, `--id "bad id": want 1-`},
	} {
		cfg := minimalConfig(t)
		tc.tweak(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error containing %q", err, tc.want)
			continue
		}
		cfg.Bootstrap = len(cfg.Join) == 0
		if s, err := New(cfg); err == nil {
			s.Close()
			t.Errorf("%q: New started", tc.want)
		} else if !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New: got %v, want ErrBadConfig containing %q", err, tc.want)
		}
	}
}
