package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/suanli/suanli/scenarios"
	"github.com/suanli/suanli/scheduler/server"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
	"github.com/suanli/suanli/scheduler/server/gossip"
	"github.com/suanli/suanli/sim"
)

func init() { subcommands = append(subcommands, newServerCmd) }

func newServerCmd() *cobra.Command {
	var (
		cfg        server.Config
		join       string
		gossipJoin string
		gossipKey  string
		timing     string

		energyScenario string
		schedConfig    string
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a Raft-replicated scheduler server",
		Long: `Run one server of the replicated Suanli scheduler. Start the first server with
--bootstrap, the others with --join <http addr of any server>. Writes need the
API token (--token or SUANLI_TOKEN), and the gossip pool a key shared by every
server and agent (--gossip-key or SUANLI_GOSSIP_KEY; make one with suanli
keygen), unless --dev.

A restarted server needs neither flag: its data directory holds the Raft
configuration. With --join it asks to be a voter at every start, which adds
back a server removed earlier (suanli cluster remove-server) and restarted
from its old data directory; a removed server restarted without --join stays
out and says so in its log. See docs/operations.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fc := checkFlags(cmd)
			fc.hostPort("http-addr", cfg.HTTPAddr)
			fc.hostPort("raft-addr", cfg.RaftAddr)
			fc.hostPort("gossip-addr", cfg.Gossip.Addr)
			fc.positive("reconcile-interval", cfg.ReconcileInterval)
			fc.positive("agent-grace", cfg.AgentGrace)
			fc.positive("energy-refresh", cfg.EnergyRefresh)
			fc.oneOf("raft-timing", timing, "default", "fast")
			fc.oneOf("raft-log-level", cfg.RaftLogLevel, "trace", "debug", "info", "warn", "error")
			fc.gossipTiming(cfg.Gossip.Profile, cfg.Gossip.ProbeInterval, cfg.Gossip.ProbeTimeout, cfg.Gossip.SuspicionMult)
			if err := fc.err(); err != nil {
				return err
			}
			if cfg.LeaderHold <= 0 {
				// --leader-hold 0 (or negative) answers at once; the
				// library's 0 would mean its default hold (3 s).
				cfg.LeaderHold = server.NoLeaderHold
			}
			if cfg.Token == "" {
				cfg.Token = os.Getenv("SUANLI_TOKEN")
			}
			key, err := gossipKeyFlag(gossipKey)
			if err != nil {
				return err
			}
			cfg.Gossip.Key = key
			cfg.Join = splitList(join)
			cfg.Gossip.Join = splitList(gossipJoin)
			threshold := cfg.Raft.SnapshotThreshold
			if timing == "fast" {
				cfg.Raft = server.FastRaftTiming()
			} else {
				cfg.Raft = server.DefaultRaftTiming()
			}
			if threshold > 0 {
				cfg.Raft.SnapshotThreshold = threshold
			}
			if err := os.MkdirAll(cfg.DataDir, 0o700); cfg.DataDir != "" && err != nil {
				return fmt.Errorf("data dir: %w", err)
			}
			if energyScenario != "" {
				src, err := loadEnergySource(energyScenario)
				if err != nil {
					return err
				}
				cfg.Energy = src
			}
			if schedConfig != "" {
				b, err := loadSchedulerBlock("--scheduler-config", schedConfig)
				if err != nil {
					return err
				}
				sc := fsm.SchedulerConfigFromScenario(cfg.Policy, cfg.Preempt, b)
				cfg.Scheduler = &sc
			}
			cfg.Log = cmd.ErrOrStderr()
			s, err := server.New(cfg)
			if errors.Is(err, server.ErrBadConfig) {
				return badInput(err)
			}
			if err != nil {
				return err
			}
			a := s.Addrs()
			fmt.Fprintf(cmd.OutOrStdout(), "suanli server %s: http=%s raft=%s gossip=%s (written to %s/addrs.json)\n", a.ID, a.HTTPAddr, a.RaftAddr, a.GossipAddr, cfg.DataDir)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var failed error
			select {
			case <-ctx.Done():
			case <-s.Failed():
				// A refusal to fix in the configuration (data directory,
				// token, --join): exit code 2, like a bad flag.
				failed = badInput(s.Err())
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "suanli server %s: shutting down\n", a.ID)
			done := make(chan error, 1)
			go func() { done <- s.Close() }()
			select {
			case err := <-done:
				return errors.Join(failed, err)
			case <-time.After(30 * time.Second):
				return errors.Join(failed, fmt.Errorf("shutdown took longer than 30s"))
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.ID, "id", "", "server ID, unique in the cluster (required)")
	f.StringVar(&cfg.DataDir, "data-dir", "", "directory for the Raft log (raft/raft.db), snapshots (raft/snapshots) and addrs.json (required)")
	f.StringVar(&cfg.RaftAddr, "raft-addr", "127.0.0.1:7000", "host:port for Raft traffic between servers")
	f.StringVar(&cfg.HTTPAddr, "http-addr", "127.0.0.1:7070", "host:port of the HTTP API (port 0: any free port, see addrs.json)")
	f.StringVar(&cfg.Gossip.Addr, "gossip-addr", "127.0.0.1:7946", "host:port of the gossip (memberlist) endpoint")
	f.BoolVar(&cfg.Bootstrap, "bootstrap", false, "form a new cluster with this server as its only voter (first server only)")
	f.StringVar(&join, "join", "", "comma-separated HTTP addresses (host:port) of existing servers; asked at every start to make this server a voter (adds back a removed server)")
	f.StringVar(&gossipJoin, "gossip-join", "", "comma-separated gossip addresses (host:port) to join, and to rejoin while this server sees no other member (besides those learned from --join)")
	f.StringVar(&gossipKey, "gossip-key", "", "base64 gossip encryption key of 16, 24 or 32 bytes (or SUANLI_GOSSIP_KEY; required unless --dev; suanli keygen makes one)")
	f.StringVar(&cfg.Gossip.Profile, "gossip-profile", "lan", "failure-detection timing: lan (memberlist LAN defaults) or local")
	f.DurationVar(&cfg.Gossip.ProbeInterval, "gossip-probe-interval", 0, "override the probe interval (0: profile default)")
	f.DurationVar(&cfg.Gossip.ProbeTimeout, "gossip-probe-timeout", 0, "override the probe timeout, below the probe interval (0: profile default)")
	f.IntVar(&cfg.Gossip.SuspicionMult, "gossip-suspicion-mult", 0, "override the suspicion multiplier (0: profile default)")
	f.DurationVar(&cfg.LeaderHold, "leader-hold", 3*time.Second, "how long a follower holds a write while no leader is known before answering no_leader (0 or negative: at once)")
	f.DurationVar(&cfg.ReconcileInterval, "reconcile-interval", 5*time.Second, "how often the leader compares registered agents with the gossip pool (> 0)")
	f.StringVar(&cfg.Policy, "policy", "balanced", "scheduling policy (see suanli policies) a new cluster starts with; the cluster's replicated configuration overrides it (suanli operator scheduler)")
	f.BoolVar(&cfg.Preempt, "preempt", false, "let work that finds no room evict live work of a lower priority (it goes back to pending); seeds a new cluster's configuration like --policy")
	f.StringVar(&schedConfig, "scheduler-config", "", "seed a new cluster's scheduler configuration with this scenario file's scheduler block (weights, node_candidates, defer_*, optimizer; not its forecast), with --policy and --preempt")
	f.StringVar(&energyScenario, "energy-scenario", "", "take per-site energy signals (price, carbon, renewables, PUE, forecast) from this scenario's energy models, stepped along the wall clock (default: neutral signals)")
	f.DurationVar(&cfg.EnergyRefresh, "energy-refresh", time.Minute, "how often the leader refreshes the energy signals (with --energy-scenario; > 0)")
	f.Uint64Var(&cfg.Seed, "seed", 1, "seed of the policies' random choices")
	f.StringVar(&cfg.Token, "token", "", "API token required for writes and agent endpoints (or SUANLI_TOKEN)")
	f.BoolVar(&cfg.Dev, "dev", false, "development mode: accept writes without a token, and gossip without a key")
	f.StringVar(&cfg.TLS.CertFile, "tls-cert", "", "serve the HTTP API over HTTPS with this PEM certificate (with --tls-key)")
	f.StringVar(&cfg.TLS.KeyFile, "tls-key", "", "PEM private key of --tls-cert")
	f.StringVar(&cfg.TLS.CAFile, "tls-ca", "", "PEM CA certificates that signed the other servers' certificates (forwarding, joining; default: system roots)")
	f.BoolVar(&cfg.TLS.Raft, "tls-raft", false, "run Raft over mutual TLS too: peers must present a certificate --tls-ca signed (needs --tls-cert, --tls-key, --tls-ca)")
	f.StringVar(&timing, "raft-timing", "default", "raft timing: default (1 s heartbeat and election timeouts) or fast (250 ms, one machine)")
	f.Uint64Var(&cfg.Raft.SnapshotThreshold, "snapshot-threshold", 0, "log entries between snapshots (0: 8192)")
	f.DurationVar(&cfg.AgentGrace, "agent-grace", 30*time.Second, "how long an agent may be missing from the gossip pool before its nodes go down (> 0)")
	f.StringVar(&cfg.RaftLogLevel, "raft-log-level", "warn", "raft log level (trace, debug, info, warn, error)")
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// loadEnergySource builds the energy models of a scenario's sites for a
// live server; a bad scenario is bad input (exit code 2).
func loadEnergySource(path string) (*sim.EnergySource, error) {
	sc, err := scenarios.Load(path, scenarioLoadOptions(nil, false))
	if err != nil {
		return nil, badInput(fmt.Errorf("--energy-scenario: %w", err))
	}
	c, err := sim.FromScenario(sc)
	if err != nil {
		return nil, badInput(fmt.Errorf("--energy-scenario %s: %w", path, err))
	}
	return sim.NewEnergySource(c)
}

// caCertFlag reads --ca-cert (or SUANLI_CACERT when the flag is empty):
// the CA to trust when talking HTTPS to servers; "" means plain HTTP.
func caCertFlag(flag string) (*tls.Config, error) {
	if flag == "" {
		flag = os.Getenv("SUANLI_CACERT")
	}
	if flag == "" {
		return nil, nil
	}
	c, err := api.ClientTLS(flag)
	if err != nil {
		return nil, badInput(fmt.Errorf("--ca-cert: %w", err))
	}
	return c, nil
}

// gossipKeyFlag parses --gossip-key (or SUANLI_GOSSIP_KEY when the flag is
// empty) for servers and agents alike; "" means no encryption, which
// server.New and agent.New refuse outside --dev.
func gossipKeyFlag(flag string) ([]byte, error) {
	if flag == "" {
		flag = os.Getenv("SUANLI_GOSSIP_KEY")
	}
	key, err := gossip.ParseKey(flag)
	if err != nil {
		return nil, badInput(fmt.Errorf("--gossip-key: %w", err))
	}
	return key, nil
}
