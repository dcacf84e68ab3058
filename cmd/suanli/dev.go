package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/suanli/suanli/devcluster"
	"github.com/suanli/suanli/nodes/agent"
	"github.com/suanli/suanli/scheduler"
)

func init() { subcommands = append(subcommands, newDevCmd) }

func newDevCmd() *cobra.Command {
	var (
		opts                             devcluster.Options
		agents, synthetic                int
		speed                            float64
		dataDir, scenario                string
		keep, noRestart, verbose, insecr bool
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local cluster: 3 servers and an agent on 127.0.0.1, stopped with Ctrl-C",
		Long: `Start a whole Suanli cluster on this machine as child processes of this binary:
--servers servers (Raft, gossip, HTTP API) and --agents agents hosting the
sites and nodes of a scenario (default scenarios/shandong-baseline.yaml, when
run from the repository; else --synthetic, the synthetic 1+3+N+X province),
shared out among the agents, running workloads --speed times faster than real
time. It prints the API
addresses, the token and the PIDs. The servers' ports (--http-port,
--raft-port, --gossip-port for s1, the next ones for s2 …) must be free: a
taken one is named and nothing starts (exit code 2; 0 picks free ports).
A child that dies (try kill -9 on a server's PID) is restarted after a
second, from its data directory; a killed agent comes back before gossip
declares it dead, so its nodes stay up (--no-restart to watch them go down
and its work move). One that exits with status 2 (bad input, or a refusal
such as a data directory of another cluster) is left down, and so is one
that exits more than 5 times a minute. Ctrl-C stops every child (SIGTERM, then SIGKILL after
10 s) and removes the data directory unless --keep or --data-dir was given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Servers < 1 || opts.Servers > 9 {
				return badInput(fmt.Errorf("--servers %d: want 1 to 9", opts.Servers))
			}
			if agents < 0 || agents > 16 {
				return badInput(fmt.Errorf("--agents %d: want 0 to 16", agents))
			}
			fc := checkFlags(cmd)
			fc.portRange("http-port", opts.HTTPPort, opts.Servers)
			fc.portRange("raft-port", opts.RaftPort, opts.Servers)
			fc.portRange("gossip-port", opts.GossipPort, opts.Servers)
			fc.floatIn("speed", speed, 0, agent.MaxSpeed, " (1: real time; 60: a minute of work per second)")
			fc.oneOf("raft-timing", opts.RaftTiming, "fast", "default")
			if opts.Policy != "" {
				if _, err := scheduler.LookupPolicy(opts.Policy); err != nil {
					fc.add("--policy: %v", err)
				}
			}
			if err := fc.err(); err != nil {
				return err
			}
			// What the agents host: --synthetic N, else the scenario (by
			// default the Shandong baseline, if this directory has it).
			layoutArgs := []string{"--synthetic", strconv.Itoa(synthetic)}
			var lay agent.Layout
			var err error
			switch {
			case cmd.Flags().Changed("synthetic") && cmd.Flags().Changed("scenario"):
				return badInput(fmt.Errorf("--scenario and --synthetic are exclusive"))
			case cmd.Flags().Changed("synthetic") || !cmd.Flags().Changed("scenario") && !exists(scenario):
				if lay, err = agent.SyntheticLayout(synthetic); err != nil {
					return badInput(fmt.Errorf("--synthetic: %w", err))
				}
				if !cmd.Flags().Changed("synthetic") {
					fmt.Fprintf(cmd.ErrOrStderr(), "no %s here: hosting the synthetic province of %d nodes instead\n", scenario, synthetic)
				}
			default:
				if lay, err = agent.LoadScenario(scenario); err != nil {
					return badInput(err)
				}
				abs, err := filepath.Abs(scenario)
				if err != nil {
					return err
				}
				layoutArgs = []string{"--scenario", abs}
				// The servers take the scenario's energy models too, so
				// the policies see its prices, carbon and renewables.
				opts.ServerArgs = append(opts.ServerArgs, "--energy-scenario", abs)
			}
			for i := 0; i < agents; i++ {
				if _, err := lay.Shard(i, agents); err != nil {
					return badInput(fmt.Errorf("--agents %d: %w", agents, err))
				}
			}
			bin, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find this binary: %w", err)
			}
			opts.Binary = bin
			opts.Dev = insecr
			remove := false
			if dataDir == "" {
				dataDir, err = os.MkdirTemp("", "suanli-dev-")
				if err != nil {
					return err
				}
				remove = !keep
			}
			opts.Dir = dataDir
			if verbose {
				opts.Output = cmd.ErrOrStderr()
			}
			for i := 0; i < agents; i++ {
				args := append(append([]string(nil), layoutArgs...), "--shard", fmt.Sprintf("%d/%d", i, agents),
					"--speed", strconv.FormatFloat(speed, 'g', -1, 64))
				opts.Agents = append(opts.Agents, devcluster.AgentSpec{ID: fmt.Sprintf("a%d", i+1), Args: args})
			}
			out := cmd.OutOrStdout()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			fmt.Fprintf(out, "starting %d servers and %d agents in %s …\n", opts.Servers, agents, dataDir)
			c, err := devcluster.Start(ctx, opts)
			if err != nil {
				if remove {
					_ = os.RemoveAll(dataDir)
				}
				var pe *devcluster.PortError
				if errors.As(err, &pe) {
					return badInput(err)
				}
				return err
			}
			printDev(out, c, len(lay.Nodes), len(lay.Sites), speed)
			sctx, scancel := context.WithCancel(ctx)
			supervised := make(chan struct{})
			go func() {
				defer close(supervised)
				if noRestart {
					<-sctx.Done()
					return
				}
				c.Supervise(sctx, time.Second, func(msg string) { fmt.Fprintf(out, "%s  %s\n", time.Now().Format("15:04:05"), msg) })
			}()
			<-ctx.Done()
			scancel()
			<-supervised
			fmt.Fprintln(out, "\nstopping the cluster …")
			err = c.Stop(10 * time.Second)
			if remove {
				if rerr := os.RemoveAll(dataDir); rerr != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "remove %s: %v\n", dataDir, rerr)
				}
				fmt.Fprintln(out, "stopped; data directory removed")
			} else {
				fmt.Fprintf(out, "stopped; data and logs kept in %s\n", dataDir)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Servers, "servers", 3, "number of servers")
	f.IntVar(&agents, "agents", 1, "number of agents (the nodes are shared out among them)")
	f.StringVar(&scenario, "scenario", "scenarios/shandong-baseline.yaml", "scenario whose sites and nodes the agents host")
	f.IntVar(&synthetic, "synthetic", 280, "host the synthetic 28-site 1+3+N+X province with this many nodes instead of a scenario")
	f.Float64Var(&speed, "speed", 60, "agents run workloads this many times faster than real time")
	f.StringVar(&dataDir, "data-dir", "", "directory for the servers' data and the logs (default: a temporary directory, removed at exit)")
	f.BoolVar(&keep, "keep", false, "keep the temporary data directory at exit")
	f.IntVar(&opts.HTTPPort, "http-port", 7070, "HTTP port of the first server; server i uses port+i-1 (0: any free ports)")
	f.IntVar(&opts.RaftPort, "raft-port", 7000, "Raft port of the first server; server i uses port+i-1 (0: any free ports)")
	f.IntVar(&opts.GossipPort, "gossip-port", 7946, "gossip port (TCP and UDP) of the first server; server i uses port+i-1 (0: any free ports)")
	f.StringVar(&opts.Policy, "policy", "", "scheduling policy of the servers (default: the server's)")
	f.BoolVar(&opts.Preempt, "preempt", false, "start the servers with --preempt (higher-priority work may evict lower-priority work)")
	f.StringVar(&opts.RaftTiming, "raft-timing", "fast", "raft timing of the servers: fast (250 ms heartbeat and election timeouts) or default (1 s)")
	f.BoolVar(&insecr, "insecure-dev", false, "run servers and agents with --dev (no API token) instead of a generated token; gossip keeps its generated key")
	f.BoolVar(&noRestart, "no-restart", false, "do not restart children that exit")
	f.BoolVar(&verbose, "verbose", false, "copy every child's log to stderr")
	return cmd
}

func printDev(w io.Writer, c *devcluster.Cluster, nodes, sites int, speed float64) {
	fmt.Fprintln(w, "Suanli dev cluster is up.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  NAME  PID      HTTP API              RAFT                  GOSSIP                LOG")
	for _, s := range c.Servers {
		fmt.Fprintf(w, "  %-4s  %-7d  %-20s  %-20s  %-20s  %s\n", s.ID, s.Pid(), s.HTTPAddr, s.RaftAddr, s.GossipAddr, s.LogPath)
	}
	for _, a := range c.Agents {
		fmt.Fprintf(w, "  %-4s  %-7d  %-20s  %-20s  %-20s  %s\n", a.ID, a.Pid(), "-", "-", "-", a.LogPath)
	}
	fmt.Fprintf(w, "\n  %d nodes at %d sites; workloads run %gx faster than real time.\n\n", nodes, sites, speed)
	addr := c.Servers[0].HTTPAddr
	fmt.Fprintln(w, "Use it from another terminal:")
	fmt.Fprintf(w, "  export SUANLI_ADDR=%s", addr)
	if c.Token() != "" {
		fmt.Fprintf(w, " SUANLI_TOKEN='%s'", c.Token())
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  suanli workload submit --origin JN --cpu-milli 4000 --memory-mib 8192 --duration-ms 3600000")
	fmt.Fprintln(w, "  suanli workload list")
	fmt.Fprintln(w, "  suanli cluster status")
	fmt.Fprintf(w, "  curl -s http://%s/metrics | grep ^suanli_\n", addr)
	fmt.Fprintln(w, "\nKill a server with kill -9 <PID> to watch the others elect a leader; it is restarted after 1 s.")
	fmt.Fprintln(w, "Ctrl-C stops everything.")
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
