package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/server/fsm"
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

// RaftTiming holds Raft's timing knobs (see hashicorp/raft Config).
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
	// Profile is "lan" (default) or "local"; ProbeInterval/ProbeTimeout
	// override it (see package gossip for detection times).
	Profile       string
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	SuspicionMult int
	// Join lists gossip addresses to join at start (besides those learned
	// from --join servers and the server directory).
	Join []string
}

// Config configures a server.
type Config struct {
	ID       string
	DataDir  string
	RaftAddr string // host:port; port 0 = any (only for single runs: the address is stored in the Raft configuration)
	HTTPAddr string // host:port; port 0 = any
	Gossip   GossipConfig
	// Bootstrap makes this server form a new cluster (if it has no state).
	Bootstrap bool
	// Join lists HTTP addresses of existing servers; a new server asks them
	// to add it as a voter.
	Join []string
	// Policy is the scheduling policy's name (scheduler.PolicyNames).
	Policy string
	// Preempt lets work that finds no room evict live work of a lower
	// priority (api.WorkloadSpec.Priority), which goes back to pending.
	Preempt bool
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
	// failing (default 3 s; negative: answer at once).
	LeaderHold time.Duration

	Clock Clock
	// NewID generates workload IDs when clients give none (default: random).
	NewID func() string
	// Log receives the server's and raft's log lines; nil = stderr.
	Log io.Writer
	// RaftLogLevel is hclog's level for raft (default "warn").
	RaftLogLevel string
}

func (c *Config) setDefaults() {
	if c.Policy == "" {
		c.Policy = "balanced"
	}
	if c.Raft == (RaftTiming{}) {
		c.Raft = DefaultRaftTiming()
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxBulkBodyBytes <= 0 {
		c.MaxBulkBodyBytes = 16 << 20
	}
	if c.PlanBatch <= 0 {
		c.PlanBatch = 1024
	}
	if c.PlanPipeline <= 0 {
		c.PlanPipeline = 4
	}
	if c.SubmitBatch <= 0 {
		c.SubmitBatch = 1024
	}
	if c.ApplyTimeout <= 0 {
		c.ApplyTimeout = 5 * time.Second
	}
	if c.EnergyRefresh == 0 {
		c.EnergyRefresh = time.Minute
	}
	if c.ReconcileInterval == 0 {
		c.ReconcileInterval = 5 * time.Second
	}
	if c.AgentGrace == 0 {
		c.AgentGrace = 30 * time.Second
	}
	if c.LeaderHold == 0 {
		c.LeaderHold = 3 * time.Second
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 60 * time.Second
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

// Validate checks the configuration, naming the flag at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("--id is required"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir is required"))
	}
	for flag, a := range map[string]string{"--raft-addr": c.RaftAddr, "--http-addr": c.HTTPAddr, "--gossip-addr": c.Gossip.Addr} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %v", flag, a, err))
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
	}
	if n := len(c.Gossip.Key); n != 0 && n != 16 && n != 24 && n != 32 {
		errs = append(errs, fmt.Errorf("--gossip-key: %d bytes, want 16, 24 or 32", n))
	}
	g := c.Gossip
	for flag, d := range map[string]time.Duration{"--gossip-probe-interval": g.ProbeInterval, "--gossip-probe-timeout": g.ProbeTimeout,
		"--reconcile-interval": c.ReconcileInterval, "--agent-grace": c.AgentGrace} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s %v: must not be negative", flag, d))
		}
	}
	if c.EnergyRefresh < 0 {
		errs = append(errs, fmt.Errorf("--energy-refresh %v: must not be negative", c.EnergyRefresh))
	}
	if g.SuspicionMult < 0 {
		errs = append(errs, fmt.Errorf("--gossip-suspicion-mult %d: must not be negative", g.SuspicionMult))
	}
	if g.ProbeInterval > 0 && g.ProbeTimeout > 0 && g.ProbeTimeout >= g.ProbeInterval {
		errs = append(errs, fmt.Errorf("--gossip-probe-timeout %v must be below --gossip-probe-interval %v", g.ProbeTimeout, g.ProbeInterval))
	}
	r := c.Raft
	if r.HeartbeatTimeout < 5*time.Millisecond || r.ElectionTimeout < 5*time.Millisecond {
		errs = append(errs, errors.New("raft timeouts must be at least 5ms"))
	}
	if r.LeaderLeaseTimeout > r.HeartbeatTimeout {
		errs = append(errs, errors.New("raft leader lease timeout must not exceed the heartbeat timeout"))
	}
	return errors.Join(errs...)
}
