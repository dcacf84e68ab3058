package devcluster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/suanli/suanli/scheduler/server"
	"github.com/suanli/suanli/scheduler/server/api"
)

// Options describe a local cluster.
type Options struct {
	// Binary is the suanli executable the children run.
	Binary string
	// Dir holds each server's data directory (Dir/s1 …) and every child's
	// log (Dir/s1.log, Dir/a1.log …).
	Dir string
	// Servers is the number of servers (default 3).
	Servers int
	// Agents are started after the servers.
	Agents []AgentSpec
	// Token is the API token; "" with Dev runs the servers with --dev.
	// Dev also starts the agents with --dev (a pool without a key).
	// Token and gossip key reach the children through the environment
	// (SUANLI_TOKEN, SUANLI_GOSSIP_KEY), not their command lines.
	Token string
	Dev   bool
	// GossipKey is the base64 gossip key ("" = generate one; "none" = no
	// encryption, which only Dev allows: servers and agents outside --dev
	// refuse to start without a key).
	GossipKey string
	// HTTPPort, RaftPort and GossipPort are the first server's ports; server
	// i uses port+i. 0 picks free ports (fixed for the cluster's life, so a
	// restarted server comes back on the same addresses). Start refuses
	// fixed ports that are out of range, overlap or are taken (*PortError).
	HTTPPort, RaftPort, GossipPort int
	// RaftTiming is the servers' --raft-timing (default "fast").
	RaftTiming string
	// Gossip timing for servers and agents (default profile "local").
	GossipProfile       string
	GossipProbeInterval time.Duration
	GossipProbeTimeout  time.Duration
	GossipSuspicionMult int
	// Policy is the servers' scheduling policy ("" = server default).
	Policy string
	// Preempt starts the servers with --preempt.
	Preempt bool
	// ServerArgs are extra arguments for every server.
	ServerArgs []string
	// Output, if set, also receives every child's output.
	Output io.Writer
	// StartTimeout bounds starting the whole cluster (default 60 s).
	StartTimeout time.Duration
}

// AgentSpec is one agent: its ID and the arguments choosing what it hosts
// (e.g. "--synthetic", "280" or "--site", "x-jn", "--city", "JN", …) and
// how fast it runs ("--speed", "60").
type AgentSpec struct {
	ID   string
	Args []string
}

// Server is a server child and its fixed addresses.
type Server struct {
	*Proc
	ID         string
	DataDir    string
	HTTPAddr   string
	RaftAddr   string
	GossipAddr string
}

// Agent is an agent child.
type Agent struct {
	*Proc
	ID string
}

// Cluster is a running local cluster.
type Cluster struct {
	opts    Options
	Servers []*Server
	Agents  []*Agent

	mu sync.Mutex
}

func (o *Options) setDefaults() error {
	if o.Binary == "" {
		return errors.New("devcluster: Binary is required")
	}
	if o.Dir == "" {
		return errors.New("devcluster: Dir is required")
	}
	if o.Servers <= 0 {
		o.Servers = 3
	}
	if o.RaftTiming == "" {
		o.RaftTiming = "fast"
	}
	if o.GossipProfile == "" {
		o.GossipProfile = "local"
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.Token == "" && !o.Dev {
		o.Token = RandomSecret(24)
	}
	switch o.GossipKey {
	case "":
		o.GossipKey = RandomSecret(32)
	case "none":
		if !o.Dev {
			return errors.New(`devcluster: GossipKey "none" needs Dev: servers and agents refuse to gossip without a key outside --dev`)
		}
		o.GossipKey = ""
	}
	return nil
}

// RandomSecret returns n random bytes in base64.
func RandomSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// Start starts the servers (the first bootstraps, the others join it),
// waits until all are voters with a leader, then starts the agents and
// waits until their nodes are registered. Fixed ports are checked first:
// one out of range, wanted twice or already taken is a *PortError and
// nothing is started. A server is ready when it has written its addresses
// into its data directory and the server answering on its HTTP address
// reports its ID (so a server left from an earlier run is not taken for
// ours). On error everything started is stopped.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("devcluster: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()
	c := &Cluster{opts: o}
	ok := false
	defer func() {
		if !ok {
			c.Stop(5 * time.Second)
		}
	}()
	ports, err := c.ports()
	if err != nil {
		return nil, err
	}
	if err := checkPorts(ports); err != nil {
		return nil, err
	}
	for i := 0; i < o.Servers; i++ {
		id := fmt.Sprintf("s%d", i+1)
		s := &Server{ID: id, DataDir: filepath.Join(o.Dir, id),
			HTTPAddr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0][i])),
			RaftAddr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1][i])),
			GossipAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2][i]))}
		s.Proc = &Proc{Name: id, bin: o.Binary, LogPath: filepath.Join(o.Dir, id+".log"), Env: c.env()}
		s.Args = c.serverArgs(s, i == 0)
		c.Servers = append(c.Servers, s)
		if err := c.startServer(ctx, s); err != nil {
			return nil, err
		}
		if i == 0 {
			if _, err := c.WaitLeader(ctx); err != nil {
				return nil, err
			}
		}
	}
	if err := c.waitVoters(ctx, o.Servers); err != nil {
		return nil, err
	}
	for _, as := range o.Agents {
		if _, err := c.StartAgent(ctx, as); err != nil {
			return nil, err
		}
	}
	ok = true
	return c, nil
}

// ports returns the HTTP, Raft and gossip ports of every server.
func (c *Cluster) ports() ([3][]int, error) {
	var out [3][]int
	base := []int{c.opts.HTTPPort, c.opts.RaftPort, c.opts.GossipPort}
	var held []io.Closer
	defer func() {
		for _, h := range held {
			h.Close()
		}
	}()
	for k := 0; k < 3; k++ {
		for i := 0; i < c.opts.Servers; i++ {
			if base[k] != 0 { // fixed (checkPorts refuses a negative one)
				out[k] = append(out[k], base[k]+i)
				continue
			}
			// Hold each chosen port until all are chosen, so no two are the
			// same; gossip needs the port free for UDP too.
			p, hs, err := freePort(k == 2)
			if err != nil {
				return out, err
			}
			held = append(held, hs...)
			out[k] = append(out[k], p)
		}
	}
	return out, nil
}

// PortError is a port of the cluster that cannot be used, found before
// any child starts: out of range, wanted twice, or taken by another
// process. Nothing was started; suanli dev reports it as bad input.
type PortError struct {
	Port int
	// Server is the server that wanted the port ("s2"), Purpose what for
	// ("HTTP API", "Raft", "gossip").
	Server, Purpose string
	Err             error
}

func (e *PortError) Error() string {
	return fmt.Sprintf("devcluster: port %d (%s's %s port): %v; nothing was started", e.Port, e.Server, e.Purpose, e.Err)
}

func (e *PortError) Unwrap() error { return e.Err }

// portPurposes names the three ports of a server, in the order of ports()
// and with the suanli dev flag that chooses them.
var portPurposes = [3]struct{ name, flag string }{{"HTTP API", "--http-port"}, {"Raft", "--raft-port"}, {"gossip", "--gossip-port"}}

// checkPorts refuses ports out of range, a port two servers (or two uses)
// want, and a port another process holds (TCP, and UDP too for gossip),
// naming the port and the server that wanted it.
func checkPorts(ports [3][]int) error {
	owner := map[int]string{}
	for k, ps := range ports {
		pp := portPurposes[k]
		for i, p := range ps {
			id := fmt.Sprintf("s%d", i+1)
			who := fmt.Sprintf("%s's %s port", id, pp.name)
			if p < 1 || p > 65535 {
				return &PortError{Port: p, Server: id, Purpose: pp.name, Err: fmt.Errorf("out of range (1-65535); choose another %s (0: any free ports)", pp.flag)}
			}
			if prev, dup := owner[p]; dup {
				return &PortError{Port: p, Server: id, Purpose: pp.name, Err: fmt.Errorf("also wanted as %s; choose --http-port, --raft-port and --gossip-port ranges that do not overlap", prev)}
			}
			owner[p] = who
			if err := portFree(p, k == 2); err != nil {
				return &PortError{Port: p, Server: id, Purpose: pp.name, Err: fmt.Errorf("already in use (%v): stop the process that holds it (a suanli dev or server left from an earlier run?) or choose other ports with %s (0: any free ports)", err, pp.flag)}
			}
		}
	}
	return nil
}

// portFree reports an error if 127.0.0.1:port cannot be bound for TCP
// (and, if udp, UDP).
func portFree(port int, udp bool) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ln.Close()
	if udp {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		pc.Close()
	}
	return nil
}

// freePort finds a free TCP (and, if udp, UDP) port on 127.0.0.1.
func freePort(udp bool) (int, []io.Closer, error) {
	for tries := 0; tries < 50; tries++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, nil, fmt.Errorf("devcluster: free port: %w", err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		if !udp {
			return p, []io.Closer{ln}, nil
		}
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			ln.Close()
			continue
		}
		return p, []io.Closer{ln, pc}, nil
	}
	return 0, nil, errors.New("devcluster: no free TCP+UDP port found")
}

func (c *Cluster) env() []string {
	var env []string
	if c.opts.Token != "" {
		env = append(env, "SUANLI_TOKEN="+c.opts.Token)
	}
	if c.opts.GossipKey != "" {
		env = append(env, "SUANLI_GOSSIP_KEY="+c.opts.GossipKey)
	}
	return env
}

func (c *Cluster) gossipArgs() []string {
	o := c.opts
	args := []string{"--gossip-profile", o.GossipProfile}
	if o.GossipProbeInterval > 0 {
		args = append(args, "--gossip-probe-interval", o.GossipProbeInterval.String())
	}
	if o.GossipProbeTimeout > 0 {
		args = append(args, "--gossip-probe-timeout", o.GossipProbeTimeout.String())
	}
	if o.GossipSuspicionMult > 0 {
		args = append(args, "--gossip-suspicion-mult", strconv.Itoa(o.GossipSuspicionMult))
	}
	return args
}

func (c *Cluster) serverArgs(s *Server, first bool) []string {
	o := c.opts
	args := []string{"server", "--id", s.ID, "--data-dir", s.DataDir,
		"--http-addr", s.HTTPAddr, "--raft-addr", s.RaftAddr, "--gossip-addr", s.GossipAddr,
		"--raft-timing", o.RaftTiming}
	args = append(args, c.gossipArgs()...)
	if first {
		args = append(args, "--bootstrap")
	} else {
		args = append(args, "--join", c.Servers[0].HTTPAddr)
	}
	if o.Dev {
		args = append(args, "--dev")
	}
	if o.Policy != "" {
		args = append(args, "--policy", o.Policy)
	}
	if o.Preempt {
		args = append(args, "--preempt")
	}
	return append(args, o.ServerArgs...)
}

// startServer starts a server process and waits until it is ready
// (waitReady).
func (c *Cluster) startServer(ctx context.Context, s *Server) error {
	if err := os.MkdirAll(s.DataDir, 0o700); err != nil {
		return fmt.Errorf("devcluster: %w", err)
	}
	// The child writes addrs.json once it listens on all its ports; one
	// left from an earlier start must not count.
	if err := os.Remove(filepath.Join(s.DataDir, "addrs.json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("devcluster: %w", err)
	}
	if err := s.start(c.opts.Output); err != nil {
		return err
	}
	return c.waitReady(ctx, s)
}

// waitReady waits until the server child listens on its addresses (it
// wrote them into addrs.json, and is still running) and the server
// answering on its HTTP address reports its ID. Another server ID on that
// address is an error at once: another cluster, or an earlier run, holds
// the port.
func (c *Cluster) waitReady(ctx context.Context, s *Server) error {
	var last error
	answered := "" // ID of a server that answered on s.HTTPAddr
	for {
		h, err := c.health(ctx, s)
		switch {
		case err != nil:
			if last == nil || ctx.Err() == nil { // keep the reason found before time ran out
				last = err
			}
		case h.ID != s.ID:
			return fmt.Errorf("devcluster: %s: the server answering on %s reports ID %q, not %s: a server of another cluster or an earlier run holds the port; stop it or choose other ports (log: %s)",
				s.ID, s.HTTPAddr, h.ID, s.ID, s.LogPath)
		default:
			answered = h.ID
			a, rerr := s.ReadAddrs()
			if rerr == nil && a.HTTPAddr == s.HTTPAddr && s.Running() {
				return nil
			}
			last = fmt.Errorf("%s answers, but this child has not written %s yet", s.HTTPAddr, filepath.Join(s.DataDir, "addrs.json"))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devcluster: %s not ready on %s: %v (log: %s)", s.ID, s.HTTPAddr, last, s.LogPath)
		case <-s.Done():
			if answered != "" {
				return fmt.Errorf("devcluster: %s exited at start: %v, and another process answers on %s as %q (left from an earlier run?); stop it or choose other ports (log: %s)",
					s.ID, s.ExitErr(), s.HTTPAddr, answered, s.LogPath)
			}
			return fmt.Errorf("devcluster: %s exited at start: %v (log: %s)", s.ID, s.ExitErr(), s.LogPath)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// health asks the server on s's HTTP address for its health; a 503
// (no leader yet) is an answer too.
func (c *Cluster) health(ctx context.Context, s *Server) (api.Health, error) {
	var h api.Health
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	cl := c.Client(s)
	req, err := http.NewRequestWithContext(ctx, "GET", cl.Base+"/v1/health", nil)
	if err != nil {
		return h, err
	}
	resp, err := cl.HTTP.Do(req)
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		return h, fmt.Errorf("GET /v1/health on %s: HTTP %d", s.HTTPAddr, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&h); err != nil {
		return h, fmt.Errorf("GET /v1/health on %s: %w", s.HTTPAddr, err)
	}
	return h, nil
}

// Client returns an API client for a server.
func (c *Cluster) Client(s *Server) *api.Client {
	cl := api.NewClient(s.HTTPAddr, c.opts.Token)
	cl.HTTP.Timeout = 30 * time.Second
	return cl
}

// Token is the API token ("" in dev mode).
func (c *Cluster) Token() string { return c.opts.Token }

// GossipKey is the pool's base64 key ("" for none).
func (c *Cluster) GossipKey() string { return c.opts.GossipKey }

// HTTPAddrs lists the servers' HTTP addresses.
func (c *Cluster) HTTPAddrs() []string {
	var out []string
	for _, s := range c.Servers {
		out = append(out, s.HTTPAddr)
	}
	return out
}

// GossipAddrs lists the servers' gossip addresses.
func (c *Cluster) GossipAddrs() []string {
	var out []string
	for _, s := range c.Servers {
		out = append(out, s.GossipAddr)
	}
	return out
}

// Leader asks the running servers which one leads; it returns the server
// that reports itself leader (nil if none does right now).
func (c *Cluster) Leader(ctx context.Context) *Server {
	for _, s := range c.Servers {
		if !s.Running() {
			continue
		}
		hctx, cancel := context.WithTimeout(ctx, time.Second)
		h, err := c.Client(s).Health(hctx)
		cancel()
		if err == nil && h.State == "Leader" {
			return s
		}
	}
	return nil
}

// WaitLeader waits until a running server reports itself leader.
func (c *Cluster) WaitLeader(ctx context.Context) (*Server, error) {
	for {
		if l := c.Leader(ctx); l != nil {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("devcluster: no leader: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (c *Cluster) waitVoters(ctx context.Context, n int) error {
	for {
		if l := c.Leader(ctx); l != nil {
			st, err := c.Client(l).Cluster(ctx)
			if err == nil {
				voters := 0
				for _, sv := range st.Servers {
					if sv.Suffrage == "voter" {
						voters++
					}
				}
				if voters == n {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devcluster: waiting for %d voters: %w", n, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// agentArgs are the command-line arguments of an agent.
func (c *Cluster) agentArgs(as AgentSpec) []string {
	args := []string{"agent", "--id", as.ID, "--servers", strings.Join(c.HTTPAddrs(), ","),
		"--join", strings.Join(c.GossipAddrs(), ",")}
	args = append(args, c.gossipArgs()...)
	if c.opts.Dev {
		args = append(args, "--dev")
	}
	return append(args, as.Args...)
}

// StartAgent starts an agent and waits until the cluster knows its nodes.
func (c *Cluster) StartAgent(ctx context.Context, as AgentSpec) (*Agent, error) {
	a := &Agent{ID: as.ID, Proc: &Proc{Name: as.ID, bin: c.opts.Binary, LogPath: filepath.Join(c.opts.Dir, as.ID+".log"), Env: c.env()}}
	a.Args = c.agentArgs(as)
	c.mu.Lock()
	c.Agents = append(c.Agents, a)
	c.mu.Unlock()
	if err := c.StartAgentAgain(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// StartAgentAgain restarts a stopped agent and waits until its nodes are up.
func (c *Cluster) StartAgentAgain(ctx context.Context, a *Agent) error {
	if err := a.start(c.opts.Output); err != nil {
		return err
	}
	for {
		if l := c.Leader(ctx); l != nil {
			nl, err := c.Client(l).Nodes(ctx, "up", "", a.ID)
			if err == nil && len(nl.Nodes) > 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devcluster: agent %s did not register: %w (log: %s)", a.ID, ctx.Err(), a.LogPath)
		case <-a.Done():
			return fmt.Errorf("devcluster: agent %s exited at start: %v (log: %s)", a.ID, a.ExitErr(), a.LogPath)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// RestartServer starts a stopped or killed server again from its data
// directory, on the same addresses (no --bootstrap or --join: its data
// directory has the Raft configuration), and waits until its API answers.
func (c *Cluster) RestartServer(ctx context.Context, s *Server) error {
	args := make([]string, 0, len(s.Args))
	for i := 0; i < len(s.Args); i++ {
		switch s.Args[i] {
		case "--bootstrap":
			continue
		case "--join":
			i++
			continue
		}
		args = append(args, s.Args[i])
	}
	s.Args = args
	return c.startServer(ctx, s)
}

// RejoinServer starts a stopped server again from its data directory with
// --join naming the other servers' HTTP addresses — as an operator adds
// back a server removed from the cluster (suanli cluster remove-server):
// the leader adds it as a voter again and brings its log up to date — and
// waits until its API answers. A later RestartServer drops the --join.
func (c *Cluster) RejoinServer(ctx context.Context, s *Server) error {
	var others []string
	for _, o := range c.Servers {
		if o != s {
			others = append(others, o.HTTPAddr)
		}
	}
	if len(others) == 0 {
		return fmt.Errorf("devcluster: %s has no other server to join", s.ID)
	}
	args := make([]string, 0, len(s.Args)+2)
	for i := 0; i < len(s.Args); i++ {
		switch s.Args[i] {
		case "--bootstrap":
			continue
		case "--join":
			i++
			continue
		}
		args = append(args, s.Args[i])
	}
	s.Args = append(args, "--join", strings.Join(others, ","))
	return c.startServer(ctx, s)
}

// Restart starts a child that exited again (servers from their data
// directories, agents with the same arguments).
func (c *Cluster) Restart(ctx context.Context, p *Proc) error {
	for _, s := range c.Servers {
		if s.Proc == p {
			return c.RestartServer(ctx, s)
		}
	}
	c.mu.Lock()
	agents := append([]*Agent(nil), c.Agents...)
	c.mu.Unlock()
	for _, a := range agents {
		if a.Proc == p {
			return c.StartAgentAgain(ctx, a)
		}
	}
	return fmt.Errorf("devcluster: %s is not part of this cluster", p.Name)
}

// Procs lists every child, servers first.
func (c *Cluster) Procs() []*Proc {
	var out []*Proc
	for _, s := range c.Servers {
		out = append(out, s.Proc)
	}
	c.mu.Lock()
	for _, a := range c.Agents {
		out = append(out, a.Proc)
	}
	c.mu.Unlock()
	return out
}

// Exited returns the children that exited without being stopped or
// killed through the cluster (crashed, or killed from outside).
func (c *Cluster) Exited() []*Proc {
	var out []*Proc
	for _, p := range c.Procs() {
		if p.unexpectedExit() {
			out = append(out, p)
		}
	}
	return out
}

// Stop stops every child: agents first (they leave the pool), then the
// servers, each with SIGTERM and, after grace, SIGKILL of its process
// group. It returns the problems it met (children that had to be killed).
func (c *Cluster) Stop(grace time.Duration) error {
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	stopAll := func(ps []*Proc) {
		for _, p := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := p.Stop(grace); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	c.mu.Lock()
	var agents []*Proc
	for _, a := range c.Agents {
		agents = append(agents, a.Proc)
	}
	c.mu.Unlock()
	stopAll(agents)
	var servers []*Proc
	for _, s := range c.Servers {
		servers = append(servers, s.Proc)
	}
	stopAll(servers)
	return errors.Join(errs...)
}

// ReadAddrs reads the addresses a server wrote into its data directory.
func (s *Server) ReadAddrs() (server.Addrs, error) { return server.ReadAddrs(s.DataDir) }
