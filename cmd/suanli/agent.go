package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/nodes/agent"
	"github.com/suanli/suanli/scheduler/server/api"
)

func init() { subcommands = append(subcommands, newAgentCmd) }

// layoutFlags choose what an agent hosts.
type layoutFlags struct {
	scenario                   string
	site, city, role, nodeType string
	pue                        float64
	nodes, synthetic           int
	shard                      string
}

func (l *layoutFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&l.scenario, "scenario", "", "host the sites and nodes of this scenario file (e.g. scenarios/shandong-baseline.yaml)")
	f.StringVar(&l.site, "site", "", "host one site with this ID (with --city, --role, --pue, --nodes, --node-type)")
	f.StringVar(&l.city, "city", "", "city code of --site: "+strings.Join(nodes.CityCodes(nodes.ShandongCities()), " "))
	f.StringVar(&l.role, "role", "edge", "role of --site: core-zone, provincial, regional, cluster-zone, industry, edge")
	f.Float64Var(&l.pue, "pue", 1.5, "PUE of --site")
	f.IntVar(&l.nodes, "nodes", 1, "number of nodes at --site")
	f.StringVar(&l.nodeType, "node-type", "cpu-16", "node type at --site: "+strings.Join(agent.NodeTypeNames(), ", "))
	f.IntVar(&l.synthetic, "synthetic", 0, "host the synthetic 28-site 1+3+N+X province with this many nodes instead of --site")
	f.StringVar(&l.shard, "shard", "", "host only share i of n of the layout, as i/n (0-based), for several agents")
}

func (l *layoutFlags) layout(cmd *cobra.Command) (agent.Layout, error) {
	var (
		lay agent.Layout
		err error
	)
	given := 0
	for _, set := range []bool{l.scenario != "", l.site != "", cmd.Flags().Changed("synthetic")} {
		if set {
			given++
		}
	}
	switch {
	case given > 1:
		return lay, errors.New("--scenario, --site and --synthetic are exclusive: choose one")
	case l.scenario != "":
		lay, err = agent.LoadScenario(l.scenario)
	case l.site != "":
		if l.city == "" {
			return lay, errors.New("--site needs --city (a city code, e.g. JN)")
		}
		lay, err = agent.SiteLayout(api.Site{ID: l.site, City: l.city, Role: l.role, PUE: l.pue}, l.nodes, l.nodeType)
	case cmd.Flags().Changed("synthetic"):
		lay, err = agent.SyntheticLayout(l.synthetic)
	default:
		return lay, errors.New("nothing to host: give --scenario FILE, --site (with --city, --nodes, --node-type) or --synthetic N")
	}
	if err != nil {
		return lay, err
	}
	if l.site == "" {
		for _, fl := range []string{"city", "role", "pue", "nodes", "node-type"} {
			if cmd.Flags().Changed(fl) {
				return lay, fmt.Errorf("--%s applies to --site only", fl)
			}
		}
	}
	if l.shard != "" {
		i, n, err := parseShard(l.shard)
		if err != nil {
			return lay, err
		}
		return lay.Shard(i, n)
	}
	return lay, nil
}

func parseShard(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard %q: want i/n with 0 <= i < n, e.g. 0/2", s)
	}
	return i, n, nil
}

func newAgentCmd() *cobra.Command {
	var (
		cfg       agent.Config
		lf        layoutFlags
		servers   string
		join      string
		gossipKey string
		caCert    string
		logLevel  string
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Host simulated nodes that join the cluster and run placed workloads",
		Long: `Run a node agent: one process hosting many simulated nodes. It registers its
sites and nodes with the servers (--servers, any of them; it finds the leader),
joins the gossip pool (--join: servers' gossip addresses) so the leader notices
when it dies, receives placements by long-poll and runs each workload for its
duration (--speed 60: a minute of work per second), reporting start and
completion.

  suanli agent --id a1 --servers 127.0.0.1:7070 --join 127.0.0.1:7946 \
    --site x-jn --city JN --role edge --nodes 12 --node-type cpu-16

The gossip pool is encrypted with the servers' key (--gossip-key or
SUANLI_GOSSIP_KEY), which the agent requires unless --dev (servers started
with --dev). Stop it with Ctrl-C (SIGINT) or SIGTERM: it leaves the pool, and
the leader moves its work elsewhere at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fc := checkFlags(cmd)
			fc.floatIn("speed", cfg.Speed, 0, agent.MaxSpeed, " (1: real time; 60: a minute of work per second)")
			fc.positive("poll-wait", cfg.PollWait)
			fc.notNegative("status-interval", cfg.StatusInterval, "never")
			fc.hostPort("gossip-addr", cfg.Gossip.Addr)
			fc.gossipTiming(cfg.Gossip.Profile, cfg.Gossip.ProbeInterval, cfg.Gossip.ProbeTimeout, cfg.Gossip.SuspicionMult)
			if err := fc.err(); err != nil {
				return err
			}
			if cfg.Token == "" {
				cfg.Token = os.Getenv("SUANLI_TOKEN")
			}
			tlsCfg, err := caCertFlag(caCert)
			if err != nil {
				return err
			}
			cfg.TLS = tlsCfg
			if servers == "" {
				servers = os.Getenv("SUANLI_SERVERS")
			}
			key, err := gossipKeyFlag(gossipKey)
			if err != nil {
				return err
			}
			cfg.Gossip.Key = key
			cfg.Servers = splitList(servers)
			cfg.Gossip.Join = splitList(join)
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return badInput(fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel))
			}
			cfg.LogLevel = lvl
			lay, err := lf.layout(cmd)
			if err != nil {
				return badInput(err)
			}
			cfg.Layout = lay
			cfg.Log = cmd.ErrOrStderr()
			a, err := agent.New(cfg)
			if err != nil {
				return badInput(err)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			fmt.Fprintf(cmd.OutOrStdout(), "suanli agent %s: %d nodes at %d sites, speed %gx, servers %s\n",
				cfg.ID, len(lay.Nodes), len(lay.Sites), cfg.Speed, strings.Join(cfg.Servers, ","))
			err = a.Run(ctx)
			s := a.Stats()
			fmt.Fprintf(cmd.ErrOrStderr(), "suanli agent %s: stopped; started %d, completed %d, stopped %d workloads; %d events sent, %d unsent\n",
				cfg.ID, s.Started, s.Completed, s.Stopped, s.EventsSent, s.EventsPending)
			return err
		},
	}
	f := cmd.Flags()
	host, _ := os.Hostname()
	f.StringVar(&cfg.ID, "id", "agent-"+sanitizeID(host), "agent ID, unique in the cluster")
	f.StringVar(&servers, "servers", "", "comma-separated HTTP addresses of servers (or SUANLI_SERVERS)")
	f.StringVar(&cfg.Token, "token", "", "API token (or SUANLI_TOKEN; not needed with servers in --dev mode)")
	f.StringVar(&caCert, "ca-cert", "", "talk HTTPS to servers started with --tls-cert, trusting this PEM CA (or SUANLI_CACERT)")
	f.StringVar(&cfg.Gossip.Addr, "gossip-addr", "127.0.0.1:0", "host:port of the agent's gossip endpoint (port 0: any)")
	f.StringVar(&join, "join", "", "comma-separated gossip addresses of pool members (servers' --gossip-addr)")
	f.StringVar(&gossipKey, "gossip-key", "", "base64 gossip encryption key, as given to the servers (or SUANLI_GOSSIP_KEY; required unless --dev)")
	f.BoolVar(&cfg.Dev, "dev", false, "development mode (servers started with --dev): join the gossip pool without a key")
	f.StringVar(&cfg.Gossip.Profile, "gossip-profile", "lan", "failure-detection timing: lan or local (must match the servers')")
	f.DurationVar(&cfg.Gossip.ProbeInterval, "gossip-probe-interval", 0, "override the probe interval (0: profile default)")
	f.DurationVar(&cfg.Gossip.ProbeTimeout, "gossip-probe-timeout", 0, "override the probe timeout (0: profile default)")
	f.IntVar(&cfg.Gossip.SuspicionMult, "gossip-suspicion-mult", 0, "override the suspicion multiplier (0: profile default)")
	f.Float64Var(&cfg.Speed, "speed", 1, "run workloads this many times faster than real time, in (0, 1000000] (60: a minute per second)")
	f.DurationVar(&cfg.PollWait, "poll-wait", 30*time.Second, "long-poll wait for new assignments (> 0; the servers cap it at 60s)")
	f.Uint64Var(&cfg.Seed, "seed", 1, "seed of the retry jitter")
	f.DurationVar(&cfg.StatusInterval, "status-interval", time.Minute, "log a status line this often (0: never)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	lf.register(cmd)
	return cmd
}

// sanitizeID keeps the characters an ID may have.
func sanitizeID(s string) string {
	b := []byte(s)
	out := b[:0]
	for _, c := range b {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return "local"
	}
	if len(out) > 100 {
		out = out[:100]
	}
	return string(out)
}
