package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
	"github.com/suanli/suanli/scheduler/server/gossip"
)

// Clock tells the time. The server's decisions and command timestamps use
// it; tests replace it.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// RealClock is the system clock.
var RealClock Clock = realClock{}

// RaftTiming holds Raft's timing knobs (see hashicorp/raft Config). A
// zero field takes DefaultRaftTiming's value; negative ones are refused.
type RaftTiming struct {
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	SnapshotInterval   time.Duration
	SnapshotThreshold  uint64
	TrailingLogs       uint64
}

// DefaultRaftTiming is hashicorp/raft's default timing (1 s heartbeat and
// election timeouts), suited to servers on one LAN.
func DefaultRaftTiming() RaftTiming {
	return RaftTiming{
		HeartbeatTimeout: time.Second, ElectionTimeout: time.Second, LeaderLeaseTimeout: 500 * time.Millisecond,
		CommitTimeout: 50 * time.Millisecond, SnapshotInterval: 120 * time.Second, SnapshotThreshold: 8192, TrailingLogs: 10240,
	}
}

// FastRaftTiming is for tests and single-machine clusters: a crashed
// leader is replaced in about 0.3–0.6 s.
func FastRaftTiming() RaftTiming {
	return RaftTiming{
		// The lease is what a loaded machine needs: with 50 ms, a leader
		// whose followers were busy (an fsync of a large batch on two
		// shared cores took 51–87 ms) stepped down in the middle of a
		// 100,000-workload run, and clients saw not_leader.
		HeartbeatTimeout: 250 * time.Millisecond, ElectionTimeout: 250 * time.Millisecond, LeaderLeaseTimeout: 200 * time.Millisecond,
		CommitTimeout: 5 * time.Millisecond, SnapshotInterval: 120 * time.Second, SnapshotThreshold: 8192, TrailingLogs: 10240,
	}
}

// GossipConfig configures the server's membership in the gossip pool.
type GossipConfig struct {
	// Addr is host:port to bind (port 0 = any).
	Addr string
	// Key is the shared encryption key (16/24/32 bytes); nil (no
	// encryption) is allowed only with Config.Dev.
	Key []byte
	// Profile is "lan" ("" too) or "local"; ProbeInterval, ProbeTimeout
	// and SuspicionMult override it, 0 keeping the profile's value (see
	// package gossip for detection times).
	Profile       string
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	SuspicionMult int
	// Join lists gossip addresses (host:port) to join at start, and again
	// whenever this server finds itself alone in the pool (besides those
	// learned from --join servers and the server directory).
	Join []string
}

// Config configures a server. The zero value of every setting below the
// secrets (Raft timing, body limits, batches, timeouts and intervals,
// gossip timing, Policy, RaftLogLevel) means its documented default;
// negative values are refused, except LeaderHold's (NoLeaderHold). New
// checks the configuration with Validate.
type Config struct {
	ID       string
	DataDir  string
	RaftAddr string // host:port; port 0 = any (only for single runs: the address is stored in the Raft configuration)
	HTTPAddr string // host:port; port 0 = any
	Gossip   GossipConfig
	// Bootstrap makes this server form a new cluster (if it has no state).
	Bootstrap bool
	// Join lists HTTP addresses (host:port or URL) of existing servers. At
	// every start the server asks them to add it as a voter: a new server
	// joins, one that is a voter already changes nothing, and one removed
	// earlier is added back, its log brought up to date by the leader.
	Join []string
	// Policy is the scheduling policy's name (scheduler.PolicyNames).
	Policy string
	// Preempt lets work that finds no room evict live work of a lower
	// priority (api.WorkloadSpec.Priority), which goes back to pending.
	Preempt bool
	// Scheduler, if set, holds the core's settings (a scenario's
	// scheduler block: fsm.SchedulerConfigFromScenario) this server seeds
	// a cluster with, with Policy and Preempt (its own Policy and Preempt
	// are ignored); nil means the defaults. Policy, Preempt and Scheduler
	// only seed a cluster that has no scheduler configuration yet: once it
	// has one, that is in force (PUT /v1/operator/scheduler changes it).
	Scheduler *api.SchedulerConfig
	// Seed seeds the policies' random choices.
	Seed uint64
	// Token is required (X-Suanli-Token or Authorization: Bearer) on writes
	// and agent endpoints. Empty is allowed only with Dev.
	Token string
	// Dev is development mode: writes need no token, and the gossip pool
	// may run without a key (Gossip.Key). Without Dev, New refuses a
	// configuration lacking either.
	Dev bool
	// TLS serves the HTTP API over HTTPS; servers forward writes and join
	// each other over HTTPS too. Raft and gossip traffic are not covered
	// (gossip is encrypted with the gossip key).
	TLS TLSConfig

	Raft RaftTiming
	// NoSync disables fsync of the Raft log (benchmarks only; unsafe).
	NoSync bool
	FSM    fsm.Config

	// advertiseLogVersion, in tests, makes the server advertise this log
	// version instead of fsm.LogVersion (an older server, for the
	// upgrade gate), though its FSM still reads the current one.
	advertiseLogVersion int

	// MaxBodyBytes limits request bodies (default 1 MiB); bulk submissions,
	// registrations and events may use MaxBulkBodyBytes (default 16 MiB: a
	// registration of the 100,000 nodes an agent may hold is about 12 MB).
	MaxBodyBytes     int64
	MaxBulkBodyBytes int64
	// PlanBatch is the most workloads per plan entry (default 1024);
	// PlanPipeline the most plan entries in flight (default 4).
	PlanBatch    int
	PlanPipeline int
	// SubmitBatch is the most single submissions grouped into one entry
	// (default 1024).
	SubmitBatch int
	// ApplyTimeout bounds how long a write waits to be enqueued (default 5 s).
	ApplyTimeout time.Duration
	// ReconcileInterval is how often the leader compares agents with the
	// gossip pool (default 5 s); AgentGrace is how long an agent may be
	// missing from the pool before its nodes go down (default 30 s). Dead
	// and left events from the pool act at once.
	ReconcileInterval time.Duration
	AgentGrace        time.Duration
	// Energy, if set, supplies per-site energy signals (price, carbon
	// intensity, renewable headroom and their forecast, PUE) to the
	// leader's planning snapshot and to dry runs; nil leaves every site
	// with the same neutral signals. EnergyRefresh is how often the leader
	// refreshes them (default 1 min).
	Energy        EnergySource
	EnergyRefresh time.Duration
	// MaxWait caps long-poll waits (default 60 s).
	MaxWait time.Duration
	// LeaderHold is how long a follower holds a write (or consistent read)
	// that arrives while no leader is known, or the leader's HTTP address
	// is not yet known, before answering no_leader: right after a start or
	// an election the request then waits for the new leader instead of
	// failing. 0 means the default, 3 s; NoLeaderHold (any negative
	// value) answers at once. (suanli server's --leader-hold 0 means at
	// once: the flag's default is explicit, and it maps 0 to NoLeaderHold.)
	LeaderHold time.Duration

	Clock Clock
	// NewID generates workload IDs when clients give none (default: random).
	NewID func() string
	// Log receives the server's and raft's log lines; nil = stderr.
	Log io.Writer
	// RaftLogLevel is hclog's level for raft: trace, debug, info, warn
	// (default) or error.
	RaftLogLevel string
}

// NoLeaderHold as Config.LeaderHold makes a follower answer no_leader at
// once when no leader is known (0 means the default hold, 3 s).
const NoLeaderHold time.Duration = -1

// Defaults of the Config settings whose zero value means "default".
const (
	DefaultMaxBodyBytes      = 1 << 20
	DefaultMaxBulkBodyBytes  = 16 << 20
	DefaultPlanBatch         = 1024
	DefaultPlanPipeline      = 4
	DefaultSubmitBatch       = 1024
	DefaultApplyTimeout      = 5 * time.Second
	DefaultReconcileInterval = 5 * time.Second
	DefaultAgentGrace        = 30 * time.Second
	DefaultEnergyRefresh     = time.Minute
	DefaultMaxWait           = 60 * time.Second
	DefaultLeaderHold        = 3 * time.Second
)

// setDefaults replaces every zero setting with its default; negative
// values stay, for Validate to refuse.
func (c *Config) setDefaults() {
	if c.Policy == "" {
		c.Policy = "balanced"
	}
	d := DefaultRaftTiming()
	r := &c.Raft
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&r.HeartbeatTimeout, d.HeartbeatTimeout}, {&r.ElectionTimeout, d.ElectionTimeout}, {&r.LeaderLeaseTimeout, d.LeaderLeaseTimeout},
		{&r.CommitTimeout, d.CommitTimeout}, {&r.SnapshotInterval, d.SnapshotInterval}} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if r.SnapshotThreshold == 0 {
		r.SnapshotThreshold = d.SnapshotThreshold
	}
	if r.TrailingLogs == 0 {
		r.TrailingLogs = d.TrailingLogs
	}
	setInt64(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	setInt64(&c.MaxBulkBodyBytes, DefaultMaxBulkBodyBytes)
	setInt(&c.PlanBatch, DefaultPlanBatch)
	setInt(&c.PlanPipeline, DefaultPlanPipeline)
	setInt(&c.SubmitBatch, DefaultSubmitBatch)
	setDuration(&c.ApplyTimeout, DefaultApplyTimeout)
	setDuration(&c.EnergyRefresh, DefaultEnergyRefresh)
	setDuration(&c.ReconcileInterval, DefaultReconcileInterval)
	setDuration(&c.AgentGrace, DefaultAgentGrace)
	setDuration(&c.MaxWait, DefaultMaxWait)
	if c.LeaderHold == 0 {
		c.LeaderHold = DefaultLeaderHold
	}
	if c.Clock == nil {
		c.Clock = RealClock
	}
	if c.RaftLogLevel == "" {
		c.RaftLogLevel = "warn"
	}
	if c.Gossip.Addr == "" {
		c.Gossip.Addr = "127.0.0.1:0"
	}
}

func setInt(v *int, def int) {
	if *v == 0 {
		*v = def
	}
}

func setInt64(v *int64, def int64) {
	if *v == 0 {
		*v = def
	}
}

func setDuration(v *time.Duration, def time.Duration) {
	if *v == 0 {
		*v = def
	}
}

// ErrBadConfig marks the errors of New that the configuration caused (a
// missing or invalid setting, unreadable TLS files), as opposed to failures
// of the machine (a port in use, an unreadable data directory):
// errors.Is(err, ErrBadConfig). The message is the configuration error's.
var ErrBadConfig = errors.New("bad server configuration")

// configError wraps an error caused by the configuration.
type configError struct{ err error }

func (e configError) Error() string   { return e.err.Error() }
func (e configError) Unwrap() []error { return []error{e.err, ErrBadConfig} }

func badConfig(err error) error {
	if err == nil {
		return nil
	}
	return configError{err}
}

// TLSConfig names the PEM files of the server's certificate and key, and
// of the CA that signed the servers' certificates (to verify peers when
// forwarding and joining). All empty: plain HTTP.
type TLSConfig struct {
	CertFile, KeyFile, CAFile string
	// Raft also runs the Raft transport over mutual TLS: every server
	// presents its certificate (which must allow client and server
	// authentication) and accepts only peers whose certificate the CA
	// signed. Needs all three files.
	Raft bool
}

// Enabled reports whether the API is served over HTTPS.
func (t TLSConfig) Enabled() bool { return t.CertFile != "" }

// Validate checks the configuration as New will use it, naming the flag
// (and, for settings without one, the Config field) at fault. It accepts
// zero for every setting with a default (see Config) and refuses negative
// ones, so a library user gets the checks the CLI makes; it changes
// nothing. New's errors from it are ErrBadConfig.
func (c *Config) Validate() error {
	errs := c.negatives()
	d := *c
	d.setDefaults()
	return errors.Join(append(errs, d.validate()...)...)
}

// negatives refuses negative values of the settings whose zero means a
// default (setDefaults would silently replace or keep them).
func (c *Config) negatives() []error {
	var errs []error
	dur := func(name string, v, def time.Duration) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s %v: must not be negative (0: the default, %v)", name, v, def))
		}
	}
	num := func(name string, v, def int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s %d: must not be negative (0: the default, %d)", name, v, def))
		}
	}
	g, r, dr := c.Gossip, c.Raft, DefaultRaftTiming()
	dur("--gossip-probe-interval", g.ProbeInterval, 0)
	dur("--gossip-probe-timeout", g.ProbeTimeout, 0)
	if g.SuspicionMult < 0 {
		errs = append(errs, fmt.Errorf("--gossip-suspicion-mult %d: must not be negative (0: the profile's)", g.SuspicionMult))
	}
	dur("--reconcile-interval", c.ReconcileInterval, DefaultReconcileInterval)
	dur("--agent-grace", c.AgentGrace, DefaultAgentGrace)
	dur("--energy-refresh", c.EnergyRefresh, DefaultEnergyRefresh)
	dur("Config.ApplyTimeout", c.ApplyTimeout, DefaultApplyTimeout)
	dur("Config.MaxWait", c.MaxWait, DefaultMaxWait)
	dur("Config.Raft.HeartbeatTimeout", r.HeartbeatTimeout, dr.HeartbeatTimeout)
	dur("Config.Raft.ElectionTimeout", r.ElectionTimeout, dr.ElectionTimeout)
	dur("Config.Raft.LeaderLeaseTimeout", r.LeaderLeaseTimeout, dr.LeaderLeaseTimeout)
	dur("Config.Raft.CommitTimeout", r.CommitTimeout, dr.CommitTimeout)
	dur("Config.Raft.SnapshotInterval", r.SnapshotInterval, dr.SnapshotInterval)
	num("Config.MaxBodyBytes", c.MaxBodyBytes, DefaultMaxBodyBytes)
	num("Config.MaxBulkBodyBytes", c.MaxBulkBodyBytes, DefaultMaxBulkBodyBytes)
	num("Config.PlanBatch", int64(c.PlanBatch), DefaultPlanBatch)
	num("Config.PlanPipeline", int64(c.PlanPipeline), DefaultPlanPipeline)
	num("Config.SubmitBatch", int64(c.SubmitBatch), DefaultSubmitBatch)
	num("Config.FSM.MaxTerminal", int64(c.FSM.MaxTerminal), 100000)
	num("Config.FSM.UnparkBudget", int64(c.FSM.UnparkBudget), 1024)
	return errs
}

// validate checks a configuration with its defaults set.
func (c *Config) validate() []error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("--id is required"))
	} else if !api.ValidID(c.ID) {
		errs = append(errs, fmt.Errorf("--id %q: want 1-%d characters of [A-Za-z0-9._:-]", c.ID, api.MaxIDLen))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir is required"))
	}
	for _, a := range []struct{ flag, addr string }{{"--raft-addr", c.RaftAddr}, {"--http-addr", c.HTTPAddr}, {"--gossip-addr", c.Gossip.Addr}} {
		if err := checkListenAddr(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %v", a.flag, a.addr, err))
		}
	}
	for _, a := range c.Join {
		if err := api.CheckServerAddr(a); err != nil {
			errs = append(errs, fmt.Errorf("--join %q: %v (an HTTP address of a server: host:port or URL)", a, err))
		}
	}
	for _, a := range c.Gossip.Join {
		if err := api.CheckHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("--gossip-join %q: %v (a gossip address: host:port)", a, err))
		}
	}
	if c.Token == "" && !c.Dev {
		errs = append(errs, errors.New("no API token: set --token or SUANLI_TOKEN (or run with --dev to accept unauthenticated writes)"))
	}
	if len(c.Gossip.Key) == 0 && !c.Dev {
		errs = append(errs, errors.New("no gossip key: set --gossip-key or SUANLI_GOSSIP_KEY to the cluster's key, base64 of 16, 24 or 32 random bytes "+
			"(make one with `suanli keygen` or `openssl rand -base64 32`), or run with --dev to gossip unencrypted"))
	}
	if t := c.TLS; (t.CertFile == "") != (t.KeyFile == "") || (t.CAFile != "" && t.CertFile == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together, and --tls-ca needs them"))
	} else if t.Raft && (t.CertFile == "" || t.CAFile == "") {
		errs = append(errs, errors.New("--tls-raft needs --tls-cert, --tls-key and --tls-ca (the CA that signed every server's certificate)"))
	}
	if c.Bootstrap && len(c.Join) > 0 {
		errs = append(errs, errors.New("--bootstrap and --join are exclusive: bootstrap the first server, join the others"))
	}
	if _, err := scheduler.LookupPolicy(c.Policy); err != nil {
		errs = append(errs, fmt.Errorf("--policy: %w", err))
	} else if c.Scheduler != nil {
		sc := *c.Scheduler
		sc.Policy, sc.Preempt = c.Policy, c.Preempt
		if e := fsm.CheckSchedulerConfig(&sc); e != nil {
			errs = append(errs, fmt.Errorf("--scheduler-config: %s: %s", e.Field, e.Message))
		}
	}
	if n := len(c.Gossip.Key); n != 0 && n != 16 && n != 24 && n != 32 {
		errs = append(errs, fmt.Errorf("--gossip-key: %d bytes, want 16, 24 or 32", n))
	}
	g := c.Gossip
	if g.ProbeInterval >= 0 && g.ProbeTimeout >= 0 && g.SuspicionMult >= 0 {
		// The pool's own check, with the profile's values for zeros.
		if _, _, err := gossip.DetectionTime(gossip.Config{Profile: g.Profile, ProbeInterval: g.ProbeInterval, ProbeTimeout: g.ProbeTimeout,
			SuspicionMult: g.SuspicionMult}, 1); err != nil {
			errs = append(errs, fmt.Errorf("--gossip-profile %q, --gossip-probe-interval %v, --gossip-probe-timeout %v: %v", g.Profile, g.ProbeInterval, g.ProbeTimeout, err))
		}
	}
	if !slices.Contains([]string{"trace", "debug", "info", "warn", "error"}, strings.ToLower(c.RaftLogLevel)) {
		errs = append(errs, fmt.Errorf("--raft-log-level %q: want trace, debug, info, warn or error", c.RaftLogLevel))
	}
	r := c.Raft
	if r.HeartbeatTimeout < 5*time.Millisecond || r.ElectionTimeout < 5*time.Millisecond {
		errs = append(errs, fmt.Errorf("raft heartbeat timeout %v, election timeout %v: both must be at least 5ms", r.HeartbeatTimeout, r.ElectionTimeout))
	}
	if r.LeaderLeaseTimeout > r.HeartbeatTimeout {
		errs = append(errs, fmt.Errorf("raft leader lease timeout %v must not exceed the heartbeat timeout %v", r.LeaderLeaseTimeout, r.HeartbeatTimeout))
	}
	if c.MaxBulkBodyBytes < c.MaxBodyBytes {
		errs = append(errs, fmt.Errorf("Config.MaxBulkBodyBytes %d must not be below Config.MaxBodyBytes %d", c.MaxBulkBodyBytes, c.MaxBodyBytes))
	}
	return errs
}

// checkListenAddr checks host:port to listen on (port 0: any free port).
func checkListenAddr(addr string) error {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q: want 0-65535 (0: any free port)", p)
	}
	return nil
}
