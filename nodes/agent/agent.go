package agent

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/gossip"
)

// GossipConfig configures the agent's membership in the gossip pool.
type GossipConfig struct {
	// Disabled runs the agent without gossip (unit tests against a fake
	// server). Real servers mark the nodes of an agent missing from the
	// pool down after their agent grace period.
	Disabled bool
	// Addr is host:port to bind (port 0: any).
	Addr string
	// Join lists gossip addresses of pool members (usually servers).
	Join []string
	// Key is the pool's encryption key (16/24/32 bytes); nil (no
	// encryption) is allowed only with Config.Dev.
	Key []byte
	// Profile and the overrides are those of gossip.Config.
	Profile       string
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	SuspicionMult int
}

// MaxSpeed is the largest Speed: a year of work in about 30 s.
const MaxSpeed = 1e6

// Config configures an agent.
type Config struct {
	// ID names the agent (1-128 characters of [A-Za-z0-9._:-]).
	ID string
	// Servers lists HTTP addresses of servers; more are learned from the
	// cluster status and the gossip pool.
	Servers []string
	// Token is the API token ("" when the servers run with --dev).
	Token string
	// Dev is development mode, for servers started with --dev: the agent
	// may join the gossip pool without a key. Without Dev, New refuses a
	// configuration with gossip on and no Gossip.Key.
	Dev bool
	// TLS, if set, makes the agent talk HTTPS to the servers and verify
	// their certificates with it (api.ClientTLS).
	TLS *tls.Config
	// Layout is what the agent hosts.
	Layout Layout
	Gossip GossipConfig
	// Speed accelerates workloads: a workload of duration d runs d/Speed
	// on the clock (default 1: real time).
	Speed float64
	// Clock times the workloads (default RealClock).
	Clock Clock
	// PollWait is the long-poll wait (default 30 s).
	PollWait time.Duration
	// RequestTimeout bounds every other request (default 10 s).
	RequestTimeout time.Duration
	// MinBackoff and MaxBackoff bound the retry backoff (default 50 ms, 2 s).
	MinBackoff, MaxBackoff time.Duration
	// EventBatch is the most events per request (default 1000).
	EventBatch int
	// StatusInterval is how often the agent logs a status line (0: never).
	StatusInterval time.Duration
	// SeenCheck is how often the agent checks that the servers' gossip
	// view holds it (default 2 s).
	SeenCheck time.Duration
	// Seed seeds the backoff jitter.
	Seed uint64
	// Log receives the agent's log (default stderr).
	Log io.Writer
	// LogLevel is the slog level (default info).
	LogLevel slog.Level
}

func (c *Config) setDefaults() {
	if c.Speed == 0 {
		c.Speed = 1
	}
	if c.Clock == nil {
		c.Clock = RealClock
	}
	if c.PollWait <= 0 {
		c.PollWait = 30 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 50 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 2 * time.Second
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = c.MinBackoff
	}
	if c.SeenCheck <= 0 {
		c.SeenCheck = 2 * time.Second
	}
	if c.EventBatch <= 0 {
		c.EventBatch = 1000
	}
	if c.EventBatch > api.MaxEventsPerReq {
		c.EventBatch = api.MaxEventsPerReq
	}
	if c.Gossip.Addr == "" {
		c.Gossip.Addr = "127.0.0.1:0"
	}
	if c.Log == nil {
		c.Log = os.Stderr
	}
}

// Validate checks the configuration, naming the flag at fault.
func (c *Config) Validate() error {
	var errs []error
	if !api.ValidID(c.ID) {
		errs = append(errs, fmt.Errorf("--id %q: want 1-%d characters of [A-Za-z0-9._:-]", c.ID, api.MaxIDLen))
	}
	if len(c.Servers) == 0 && (c.Gossip.Disabled || len(c.Gossip.Join) == 0) {
		errs = append(errs, errors.New("--servers: at least one server HTTP address is required (or --join gossip addresses to find them)"))
	}
	for _, a := range c.Servers {
		if err := api.CheckServerAddr(a); err != nil {
			errs = append(errs, fmt.Errorf("--servers %q: %v (a server's HTTP address: host:port, e.g. 10.0.0.1:7070, or a URL)", a, err))
		}
	}
	if !c.Gossip.Disabled {
		for _, a := range c.Gossip.Join {
			if err := api.CheckHostPort(a); err != nil {
				errs = append(errs, fmt.Errorf("--join %q: %v (a gossip address of a pool member: host:port, e.g. 10.0.0.1:7946)", a, err))
			}
		}
	}
	if err := c.Layout.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !(c.Speed > 0) || c.Speed > MaxSpeed {
		errs = append(errs, fmt.Errorf("--speed %g: want a number in (0, %g]", c.Speed, float64(MaxSpeed)))
	}
	if k := len(c.Gossip.Key); k != 0 && k != 16 && k != 24 && k != 32 {
		errs = append(errs, fmt.Errorf("--gossip-key: %d bytes, want 16, 24 or 32", k))
	}
	if !c.Gossip.Disabled && len(c.Gossip.Key) == 0 && !c.Dev {
		errs = append(errs, errors.New("no gossip key: set --gossip-key or SUANLI_GOSSIP_KEY to the servers' key, "+
			"or --dev to join the unencrypted pool of servers started with --dev"))
	}
	return errors.Join(errs...)
}

// Stats is a snapshot of what the agent did.
type Stats struct {
	RunStats
	Registered    bool
	Registrations uint64
	Polls         uint64
	PollErrors    uint64
	EventsSent    uint64
	EventsPending int
	EventErrors   uint64
	// Members is how many gossip members the agent sees (itself included).
	Members int
}

// Agent hosts simulated nodes. Create it with New, run it with Run.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	run     *runner
	servers *serverSet
	pool    *gossip.Pool

	wakeTimer  chan struct{}
	wakeSender chan struct{}

	rngMu sync.Mutex
	rng   *rand.Rand

	instance string // this run's identity, in the registration and the gossip metadata

	// resolveWarn rate-limits warnings about addresses whose host names
	// do not resolve: the first failure, then every resolveWarnEvery.
	resolveWarn      resolveWarner
	resolveWarnEvery time.Duration

	mu            sync.Mutex
	registered    bool
	registrations uint64
	polls         uint64
	pollErrors    uint64
	eventsSent    uint64
	eventErrors   uint64
	fatal         error
	serverGossip  []string // servers' gossip addresses from the cluster status
}

// New checks the configuration and prepares an agent (nothing runs until Run).
func New(cfg Config) (*Agent, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Agent{
		cfg:        cfg,
		log:        slog.New(slog.NewTextHandler(cfg.Log, &slog.HandlerOptions{Level: cfg.LogLevel})).With("agent", cfg.ID),
		run:        newRunner(cfg.Layout, cfg.Clock, cfg.Speed),
		servers:    newServerSet(cfg.Servers, cfg.Token, cfg.TLS),
		wakeTimer:  make(chan struct{}, 1),
		wakeSender: make(chan struct{}, 1),
		rng:        rand.New(rand.NewPCG(cfg.Seed, 0x5ee0a6e47)),
		// One value per run (not from the seed: a restart must differ).
		instance:         crand.Text()[:12],
		resolveWarnEvery: 30 * time.Second,
	}
	return a, nil
}

// Stats returns what the agent did so far.
func (a *Agent) Stats() Stats {
	s := Stats{RunStats: a.run.stats(), EventsPending: a.run.pendingEvents()}
	a.mu.Lock()
	s.Registered, s.Registrations, s.Polls, s.PollErrors = a.registered, a.registrations, a.polls, a.pollErrors
	s.EventsSent, s.EventErrors = a.eventsSent, a.eventErrors
	a.mu.Unlock()
	if p := a.gossipPool(); p != nil {
		s.Members = p.NumMembers()
	}
	return s
}

// gossipPool is the agent's pool member (nil before Run or without gossip);
// Run's own goroutines start after it is set and use a.pool directly.
func (a *Agent) gossipPool() *gossip.Pool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pool
}

// Usage lists every node's usage as the agent sees it.
func (a *Agent) Usage() []NodeUsage { return a.run.usage() }

// GossipAddr is the agent's gossip address ("" before Run or without gossip).
func (a *Agent) GossipAddr() string {
	p := a.gossipPool()
	if p == nil {
		return ""
	}
	return p.Addr()
}

// Run runs the agent until ctx is cancelled (then it leaves the gossip
// pool, so the servers take its nodes down at once, and returns nil) or
// until a server refuses it for good (bad token, invalid layout: the
// error says why).
func (a *Agent) Run(ctx context.Context) error {
	if !a.cfg.Gossip.Disabled {
		if err := a.startGossip(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); a.pollLoop(ctx, cancel) }()
	go func() { defer wg.Done(); a.timerLoop(ctx) }()
	go func() { defer wg.Done(); a.sendLoop(ctx, cancel) }()
	if a.pool != nil {
		wg.Add(1)
		go func() { defer wg.Done(); a.gossipLoop(ctx) }()
	}
	if a.cfg.StatusInterval > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); a.statusLoop(ctx) }()
	}
	<-ctx.Done()
	wg.Wait()
	a.flush()
	if a.pool != nil {
		_ = a.pool.Leave(time.Second)
		_ = a.pool.Shutdown()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fatal
}

func (a *Agent) setFatal(err error, cancel context.CancelFunc) {
	a.mu.Lock()
	if a.fatal == nil {
		a.fatal = err
	}
	a.mu.Unlock()
	a.log.Error("giving up", "err", err)
	cancel()
}

func (a *Agent) startGossip() error {
	g := a.cfg.Gossip
	sites, tiers, total := a.cfg.Layout.Summary()
	p, err := gossip.Start(gossip.Config{
		BindAddr: g.Addr, Key: g.Key, Profile: g.Profile,
		ProbeInterval: g.ProbeInterval, ProbeTimeout: g.ProbeTimeout, SuspicionMult: g.SuspicionMult,
		Meta: gossip.Meta{Role: gossip.RoleAgent, ID: a.cfg.ID, Instance: a.instance, Sites: sites, Tiers: tiers,
			Nodes: len(a.cfg.Layout.Nodes), Capacity: total},
		LogOutput: warnWriter{a.log},
		OnEvent: func(e gossip.Event) {
			if e.Kind != gossip.EventLeave && e.Member.Meta.Role == gossip.RoleServer && e.Member.Meta.HTTPAddr != "" {
				a.servers.learn(e.Member.Meta.HTTPAddr)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("agent %s: %w", a.cfg.ID, err)
	}
	a.mu.Lock()
	a.pool = p
	a.mu.Unlock()
	return nil
}

// warnWriter passes memberlist's warnings and errors to the agent's log.
type warnWriter struct{ log *slog.Logger }

func (w warnWriter) Write(b []byte) (int, error) {
	s := string(b)
	if containsAny(s, "[WARN]", "[ERR]") {
		w.log.Warn("gossip", "msg", trimNL(s))
	}
	return len(b), nil
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

func trimNL(s string) string { return strings.TrimRight(s, "\r\n") }

// statusLoop logs what the agent does, every StatusInterval.
func (a *Agent) statusLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.StatusInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := a.Stats()
		a.log.Info("status", "nodes", s.Nodes, "running", s.Running, "started", s.Started, "completed", s.Completed,
			"stopped", s.Stopped, "events_sent", s.EventsSent, "events_pending", s.EventsPending, "index", s.Index,
			"members", s.Members, "server", a.servers.pick(), "poll_errors", s.PollErrors, "event_errors", s.EventErrors)
	}
}

// gossipLoop joins the pool, rejoins whenever the agent finds itself
// alone (every seed was down, or the whole cluster restarted), and checks
// that the servers see this incarnation: an agent restarted quickly (on a
// new port) is refused by the pool while its previous incarnation is
// still alive or suspect, and once that one is declared dead the servers
// take the agent's nodes down; joining again then takes the name back and
// brings them up.
func (a *Agent) gossipLoop(ctx context.Context) {
	b := a.newBackoff()
	var lastCheck time.Time
	fails := 0 // consecutive failed joins: the first, then every 20th, is logged
	for {
		alone := a.pool.NumMembers() < 2
		if !alone {
			for _, m := range a.pool.Members() {
				if m.Meta.Role == gossip.RoleServer && m.Meta.HTTPAddr != "" {
					a.servers.learn(m.Meta.HTTPAddr)
				}
			}
		}
		rejoin := alone
		if !alone && a.isRegistered() && time.Since(lastCheck) >= a.cfg.SeenCheck {
			lastCheck = time.Now()
			if seen, other := a.seenByServers(ctx); !seen {
				a.log.Info("the servers do not see this agent's gossip member; joining again", "addr", a.pool.Addr(), "they_see", other)
				rejoin = true
			}
		}
		// Without seeds, wait for the registration's cluster status to
		// name the servers' gossip addresses before calling it a failure.
		if seeds := a.joinSeeds(); rejoin && (len(seeds) > 0 || a.isRegistered()) {
			n, err := a.pool.Join(seeds)
			a.noteSeeds(seeds, err)
			switch {
			case err != nil:
				fails++
				if fails == 1 || fails%20 == 0 {
					if len(seeds) == 0 {
						err = errors.New("no gossip address known: give --join, or the servers' cluster status must list their gossip addresses")
					}
					a.log.Warn("gossip join failed, retrying", "tried", strings.Join(seeds, ","), "attempts", fails, "err", err)
				}
			case alone || fails > 0:
				a.log.Info("joined the gossip pool", "via", n, "members", a.pool.NumMembers(), "after_failures", fails)
				fails = 0
			}
		}
		d := 2 * time.Second
		if a.pool.NumMembers() < 2 {
			d = b.next()
		} else {
			b.reset()
		}
		if !sleep(ctx, min(d, a.cfg.SeenCheck)) {
			return
		}
	}
}

// joinSeeds are the configured gossip seeds and the servers' gossip
// addresses learned from the cluster.
func (a *Agent) joinSeeds() []string {
	seeds := append([]string(nil), a.cfg.Gossip.Join...)
	a.mu.Lock()
	seeds = append(seeds, a.serverGossip...)
	a.mu.Unlock()
	slices.Sort(seeds)
	return slices.Compact(seeds)
}

func (a *Agent) isRegistered() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.registered
}

// seenByServers asks a server whether its gossip view holds this agent at
// this incarnation's address. Errors count as seen (nothing to act on).
func (a *Agent) seenByServers(ctx context.Context) (bool, string) {
	addr := a.servers.pick()
	if addr == "" {
		return true, ""
	}
	rctx, cancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
	defer cancel()
	st, err := a.servers.client(addr).Cluster(rctx)
	if err != nil {
		return true, ""
	}
	a.noteServers(st)
	name, self := a.pool.Name(), a.pool.Addr()
	for _, m := range st.Members {
		if m.Name == name {
			return m.Addr == self, m.Addr
		}
	}
	return false, "nothing"
}

// noteServers records the servers' HTTP and gossip addresses from a
// cluster status.
func (a *Agent) noteServers(st api.ClusterStatus) {
	var g []string
	for _, sv := range st.Servers {
		a.servers.learn(sv.HTTPAddr)
		if sv.GossipAddr != "" {
			g = append(g, sv.GossipAddr)
		}
	}
	if len(g) > 0 {
		a.mu.Lock()
		a.serverGossip = g
		a.mu.Unlock()
	}
}

// register sends the agent's layout until a server accepts it. It returns
// false if ctx ends first or the servers refuse it for good.
func (a *Agent) register(ctx context.Context, cancel context.CancelFunc) bool {
	req := api.RegisterRequest{AgentID: a.cfg.ID, Sites: a.cfg.Layout.Sites, Nodes: a.cfg.Layout.Nodes, Instance: a.instance}
	b := a.newBackoff()
	for ctx.Err() == nil {
		addr := a.servers.pick()
		if addr == "" {
			if !sleep(ctx, b.next()) {
				return false
			}
			continue
		}
		rctx, rcancel := context.WithTimeout(ctx, a.cfg.RequestTimeout+10*time.Second)
		res, err := a.servers.client(addr).Register(rctx, req)
		rcancel()
		if err == nil {
			a.resolved(addr)
			a.mu.Lock()
			a.registered = true
			a.registrations++
			a.mu.Unlock()
			a.log.Info("registered", "server", addr, "sites", res.Sites, "nodes", res.Nodes, "index", res.Index)
			a.discover(ctx, addr)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if classify(err) == errFatal {
			a.setFatal(fmt.Errorf("register with %s: %w", addr, err), cancel)
			return false
		}
		if !a.unresolved("--servers", addr, err) {
			a.log.Warn("register failed, retrying", "server", addr, "err", err)
		}
		a.servers.failed(addr)
		a.servers.setLeader(leaderHint(err))
		if !sleep(ctx, b.next()) {
			return false
		}
	}
	return false
}

// discover asks a server for the cluster status to learn the leader and
// the other servers' HTTP addresses.
func (a *Agent) discover(ctx context.Context, addr string) {
	rctx, cancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
	defer cancel()
	st, err := a.servers.client(addr).Cluster(rctx)
	if err != nil {
		a.unresolved("--servers", addr, err)
		return
	}
	a.resolved(addr)
	a.noteServers(st)
	if st.LeaderHTTP != "" {
		a.servers.setLeader(st.LeaderHTTP)
	}
}

// pollLoop registers, then long-polls the assignments and applies them.
func (a *Agent) pollLoop(ctx context.Context, cancel context.CancelFunc) {
	b := a.newBackoff()
	var index uint64
	for ctx.Err() == nil {
		a.mu.Lock()
		reg := a.registered
		a.mu.Unlock()
		if !reg {
			if !a.register(ctx, cancel) {
				return
			}
			// The servers may have lost their state (a new cluster counts
			// indexes from 1 again): accept whatever they answer next.
			index = 0
			a.run.resetIndex()
		}
		addr := a.servers.pick()
		rctx, rcancel := context.WithTimeout(ctx, a.cfg.PollWait+a.cfg.RequestTimeout)
		as, err := a.servers.client(addr).Assignments(rctx, a.cfg.ID, index, a.cfg.PollWait)
		rcancel()
		a.mu.Lock()
		a.polls++
		if err != nil && ctx.Err() == nil {
			a.pollErrors++
		}
		a.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			switch classify(err) {
			case errUnknownAgent:
				a.log.Warn("the servers do not know this agent; registering again", "server", addr)
				a.mu.Lock()
				a.registered = false
				a.mu.Unlock()
				continue
			case errFatal:
				a.setFatal(fmt.Errorf("assignments from %s: %w", addr, err), cancel)
				return
			}
			if !a.unresolved("--servers", addr, err) {
				a.log.Debug("poll failed, retrying", "server", addr, "err", err)
			}
			a.servers.failed(addr)
			a.servers.setLeader(leaderHint(err))
			if !sleep(ctx, b.next()) {
				return
			}
			if b.failures > 3 {
				// Several servers failed in a row: relearn the cluster from
				// whichever answers.
				a.discover(ctx, a.servers.pick())
			}
			continue
		}
		b.reset()
		a.resolved(addr)
		if as.Index < index {
			// A lagging server answered with an older state: ignore it.
			a.run.apply(as) // counted as stale
			continue
		}
		index = as.Index
		if a.run.apply(as) {
			notify(a.wakeTimer)
		}
		if a.run.pendingEvents() > 0 {
			notify(a.wakeSender)
		}
	}
}

// timerLoop completes workloads when they are due.
func (a *Agent) timerLoop(ctx context.Context) {
	for {
		var wait <-chan time.Time
		if due, ok := a.run.next(); ok {
			wait = a.cfg.Clock.After(due.Sub(a.cfg.Clock.Now()))
		}
		select {
		case <-ctx.Done():
			return
		case <-a.wakeTimer:
			continue
		case <-wait:
		}
		if a.run.complete(a.cfg.Clock.Now()) > 0 {
			notify(a.wakeSender)
		}
	}
}

// sendLoop sends queued events, oldest first, keeping each batch until a
// server applies it.
func (a *Agent) sendLoop(ctx context.Context, cancel context.CancelFunc) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.wakeSender:
		}
		for {
			batch := a.run.takeEvents(a.cfg.EventBatch)
			if len(batch) == 0 {
				break
			}
			if !a.send(ctx, cancel, batch) {
				return
			}
		}
	}
}

// send delivers one batch, retrying until it is applied (true) or ctx
// ends or the servers refuse it for good (false).
func (a *Agent) send(ctx context.Context, cancel context.CancelFunc, batch []api.Event) bool {
	b := a.newBackoff()
	for ctx.Err() == nil {
		addr := a.servers.pick()
		rctx, rcancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
		res, err := a.servers.client(addr).Events(rctx, a.cfg.ID, batch)
		rcancel()
		if err == nil {
			a.resolved(addr)
			a.run.acked(batch, res.Index)
			a.mu.Lock()
			a.eventsSent += uint64(len(batch))
			a.mu.Unlock()
			return true
		}
		if ctx.Err() != nil {
			break
		}
		a.mu.Lock()
		a.eventErrors++
		a.mu.Unlock()
		switch classify(err) {
		case errUnknownAgent:
			// The poll loop re-registers; retry after it did.
			a.mu.Lock()
			a.registered = false
			a.mu.Unlock()
		case errFatal:
			a.setFatal(fmt.Errorf("events to %s: %w", addr, err), cancel)
			return false
		default:
			a.servers.failed(addr)
			a.servers.setLeader(leaderHint(err))
		}
		if !a.unresolved("--servers", addr, err) {
			a.log.Debug("events failed, retrying", "server", addr, "events", len(batch), "err", err)
		}
		if !sleep(ctx, b.next()) {
			break
		}
	}
	// Shutting down: put the batch back so flush can try once more.
	a.run.requeue(batch)
	return false
}

// flush makes one last attempt to deliver queued events (on shutdown).
func (a *Agent) flush() {
	batch := a.run.takeEvents(api.MaxEventsPerReq)
	if len(batch) == 0 {
		return
	}
	addr := a.servers.pick()
	if addr == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if res, err := a.servers.client(addr).Events(ctx, a.cfg.ID, batch); err == nil {
		a.run.acked(batch, res.Index)
		a.mu.Lock()
		a.eventsSent += uint64(len(batch))
		a.mu.Unlock()
	} else {
		a.run.requeue(batch)
	}
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// sleep waits d or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// backoff is capped exponential backoff with full jitter.
type backoff struct {
	a        *Agent
	failures int
}

func (a *Agent) newBackoff() *backoff { return &backoff{a: a} }

func (b *backoff) reset() { b.failures = 0 }

func (b *backoff) next() time.Duration {
	c := b.a.cfg
	d := c.MinBackoff << min(b.failures, 20)
	if d > c.MaxBackoff || d <= 0 {
		d = c.MaxBackoff
	}
	b.failures++
	b.a.rngMu.Lock()
	j := time.Duration(b.a.rng.Int64N(int64(d)/2 + 1))
	b.a.rngMu.Unlock()
	return d/2 + j
}
