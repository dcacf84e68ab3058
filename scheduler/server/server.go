package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	// The optimizer registers itself as a policy ("optimizer").
	_ "github.com/suanli/suanli/scheduler/optimize"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
	"github.com/suanli/suanli/scheduler/server/gossip"
)

// Addrs are the addresses a running server listens on (the real ports
// when the configuration asked for port 0). They are written to
// <data-dir>/addrs.json at start.
type Addrs struct {
	ID         string `json:"id"`
	HTTPAddr   string `json:"http_addr"`
	RaftAddr   string `json:"raft_addr"`
	GossipAddr string `json:"gossip_addr"`
}

// Server is a running Suanli server.
type Server struct {
	cfg   Config
	log   *slog.Logger
	clock Clock

	fsm   *fsm.FSM
	raft  *raft.Raft
	trans *raft.NetworkTransport
	store *raftboltdb.BoltStore
	pool  *gossip.Pool

	httpLn  net.Listener
	httpSrv *http.Server
	addrs   Addrs
	metrics *metrics
	fwd     *http.Client

	submitCh chan *submitReq
	memberCh chan gossip.Event
	// forgetCh carries workloads cancelled through this server (the
	// leader) to its plan loop, which tells the policy (Scheduler.Forget).
	forgetCh chan string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	leaderNotify chan bool
	hadState     bool
	cid          clusterIDs
	// seedRefused is the last refusal of the scheduler configuration's
	// seed by the upgrade gate (logged once).
	seedRefused onceLog

	leaderMu     sync.Mutex
	leaderCancel context.CancelFunc
	leaderDone   chan struct{}

	closeOnce sync.Once
	closeErr  error

	// failed is closed, once failErr is set, when the server cannot go on
	// (fail).
	failOnce sync.Once
	failed   chan struct{}
	failErr  error

	// with TLS: the server's certificate, and the configuration that
	// verifies other servers (forwarding, joining); nil without TLS
	serverTLS *tls.Config
	peerTLS   *tls.Config
}

// New starts a server: it opens the data directory, starts Raft, the
// gossip member and the HTTP API, bootstraps or joins as configured, and
// returns once all listeners are up. Close stops it.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, badConfig(err)
	}
	cfg.setDefaults()
	logOut := cfg.Log
	if logOut == nil {
		logOut = os.Stderr
	}
	lg := slog.New(slog.NewTextHandler(logOut, nil)).With("server", cfg.ID)
	fc := cfg.FSM
	if fc.Log == nil {
		fc.Log = lg
	}
	s := &Server{
		cfg:      cfg,
		log:      lg,
		clock:    cfg.Clock,
		fsm:      fsm.New(fc),
		submitCh: make(chan *submitReq, 4096),
		memberCh: make(chan gossip.Event, 1024),
		forgetCh: make(chan string, 1024),
		failed:   make(chan struct{}),
		fwd:      &http.Client{Timeout: cfg.MaxWait + 30*time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	if s.cfg.NewID == nil {
		s.cfg.NewID = randomID
	}
	if err := s.loadTLS(); err != nil {
		return nil, badConfig(err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.metrics = newMetrics(s)
	if err := s.startRaft(logOut); err != nil {
		s.Close()
		if h := s.fsm.HaltErr(); h != nil {
			// Raft's own error ("failed to load any existing snapshots")
			// hides why.
			return nil, fmt.Errorf("%w: %w", ErrFSMHalted, h)
		}
		return nil, err
	}
	if err := s.startGossip(logOut); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.startHTTP(); err != nil {
		s.Close()
		return nil, err
	}
	s.addrs = Addrs{ID: cfg.ID, HTTPAddr: s.httpLn.Addr().String(), RaftAddr: string(s.trans.LocalAddr()), GossipAddr: s.pool.Addr()}
	if err := writeAddrs(cfg.DataDir, s.addrs); err != nil {
		s.Close()
		return nil, err
	}
	s.wg.Add(6)
	go s.watchHalt()
	go s.persistClusterID()
	go s.watchScheduler()
	go s.watchLeadership()
	go s.submitBatcher()
	go s.joinLoop()
	return s, nil
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "w-" + hex.EncodeToString(b[:])
}

func writeAddrs(dir string, a Addrs) error {
	b, _ := json.MarshalIndent(a, "", "  ")
	tmp := filepath.Join(dir, "addrs.json.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write addrs: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "addrs.json")); err != nil {
		return fmt.Errorf("write addrs: %w", err)
	}
	return nil
}

// ReadAddrs reads the addrs.json a server wrote into its data directory.
func ReadAddrs(dataDir string) (Addrs, error) {
	var a Addrs
	b, err := os.ReadFile(filepath.Join(dataDir, "addrs.json"))
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("read %s: %w", filepath.Join(dataDir, "addrs.json"), err)
	}
	return a, nil
}

func (s *Server) startRaft(logOut io.Writer) error {
	dir := filepath.Join(s.cfg.DataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db"), NoSync: s.cfg.NoSync})
	if err != nil {
		return fmt.Errorf("open raft log %s: %w", filepath.Join(dir, "raft.db"), err)
	}
	s.store = store
	hl := hclog.New(&hclog.LoggerOptions{Name: "raft", Output: logOut, Level: hclog.LevelFromString(s.cfg.RaftLogLevel)})
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, hl.Named("snapshots"))
	if err != nil {
		return fmt.Errorf("open snapshot store: %w", err)
	}
	// MaxRPCsInFlight 1: replication without pipelining. hashicorp/raft's
	// pipelined AppendEntries can park for good (its send on the
	// pipeline's in-progress channel while the response decoder waits on
	// the done channel, after a follower answers Success=false), which
	// stops replication to that follower and blocks Raft's Shutdown: a
	// make-test run hung 16 minutes in a leader's Close on exactly that.
	// raft's own notes (its PR 541) find pipelining of little benefit
	// next to batching, which the leader does (benchmarks/README.md,
	// cluster throughput, measured both ways).
	tcfg := &raft.NetworkTransportConfig{MaxPool: 3, Timeout: 10 * time.Second, Logger: hl.Named("transport"), MaxRPCsInFlight: 1}
	var trans *raft.NetworkTransport
	if s.cfg.TLS.Raft {
		stream, err := newTLSStream(s.cfg.RaftAddr, s.serverTLS, s.peerTLS)
		if err != nil {
			return fmt.Errorf("raft transport on %s: %w", s.cfg.RaftAddr, err)
		}
		tcfg.Stream = stream
		trans = raft.NewNetworkTransportWithConfig(tcfg)
	} else {
		trans, err = raft.NewTCPTransportWithConfig(s.cfg.RaftAddr, nil, tcfg)
	}
	if err != nil {
		return fmt.Errorf("raft transport on %s: %w", s.cfg.RaftAddr, err)
	}
	s.trans = trans
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(s.cfg.ID)
	rc.Logger = hl
	t := s.cfg.Raft
	rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout, rc.CommitTimeout = t.HeartbeatTimeout, t.ElectionTimeout, t.LeaderLeaseTimeout, t.CommitTimeout
	if t.SnapshotInterval > 0 {
		rc.SnapshotInterval = t.SnapshotInterval
	}
	if t.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = t.SnapshotThreshold
	}
	if t.TrailingLogs > 0 {
		rc.TrailingLogs = t.TrailingLogs
	}
	// A leader removed from the configuration (by a race: handleRemove
	// hands leadership over before removing the leader) stays up as a
	// follower, like every removed server, instead of shutting Raft down
	// under a running process; restarted with --join it is added back.
	rc.ShutdownOnRemove = false
	rc.MaxAppendEntries = 256
	rc.BatchApplyCh = true
	notify := make(chan bool, 16)
	rc.NotifyCh = notify
	if err := raft.ValidateConfig(rc); err != nil {
		return fmt.Errorf("raft config: %w", err)
	}
	existing, err := raft.HasExistingState(store, store, snaps)
	if err != nil {
		return fmt.Errorf("raft state: %w", err)
	}
	r, err := raft.NewRaft(rc, fsm.Raft{F: s.fsm}, store, store, snaps, trans)
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	s.raft = r
	s.leaderNotify = notify
	if err := s.checkClusterID(existing); err != nil {
		return err
	}
	if s.cfg.Bootstrap && !existing {
		cfg := raft.Configuration{Servers: []raft.Server{{ID: rc.LocalID, Address: trans.LocalAddr()}}}
		if err := r.BootstrapCluster(cfg).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return fmt.Errorf("bootstrap: %w", err)
		}
	}
	s.hadState = existing
	return nil
}

func (s *Server) startGossip(logOut io.Writer) error {
	g := s.cfg.Gossip
	p, err := gossip.Start(gossip.Config{
		BindAddr: g.Addr, Key: g.Key, Profile: g.Profile, ProbeInterval: g.ProbeInterval, ProbeTimeout: g.ProbeTimeout,
		SuspicionMult: g.SuspicionMult,
		Meta:          s.serverMeta(),
		LogOutput:     filterWriter{w: logOut},
		OnEvent:       s.onMemberEvent,
	})
	if err != nil {
		return err
	}
	s.pool = p
	return nil
}

// filterWriter passes on memberlist's warnings and errors, not its debug chatter.
type filterWriter struct{ w io.Writer }

func (f filterWriter) Write(b []byte) (int, error) {
	if strings.Contains(string(b), "[DEBUG]") || strings.Contains(string(b), "[INFO]") {
		return len(b), nil
	}
	return f.w.Write(b)
}

func (s *Server) onMemberEvent(e gossip.Event) {
	select {
	case s.memberCh <- e:
	default:
		// The leader's periodic reconcile catches up.
	}
}

// Addrs returns the server's actual listen addresses.
func (s *Server) Addrs() Addrs { return s.addrs }

// FSM returns the server's state machine (read-only use).
func (s *Server) FSM() *fsm.FSM { return s.fsm }

// Raft returns the server's Raft node.
func (s *Server) Raft() *raft.Raft { return s.raft }

// IsLeader reports whether this server is the Raft leader.
func (s *Server) IsLeader() bool { return s.raft.State() == raft.Leader }

// Failed returns a channel that is closed when the server stopped doing
// its work on its own and will not resume: a cluster refused its --join
// for good (ErrJoinRefused; the error says why and what to do). Err then
// returns the reason. The server's listeners stay up until Close, which
// the caller should call (the CLI does, and exits non-zero).
func (s *Server) Failed() <-chan struct{} { return s.failed }

// Err returns why the server failed (see Failed), or nil while it has not.
func (s *Server) Err() error {
	select {
	case <-s.failed:
		return s.failErr
	default:
		return nil
	}
}

// fail records err as the reason the server cannot go on and closes
// Failed; only the first call counts.
func (s *Server) fail(err error) {
	s.failOnce.Do(func() {
		s.failErr = fmt.Errorf("server %s: %w", s.cfg.ID, err)
		close(s.failed)
	})
}

// ErrFSMHalted marks a server whose state machine halted (Server.Err): it
// met a log entry or a snapshot of a newer log version than it supports
// (fsm.ErrHalted). Upgrade it and start it again.
var ErrFSMHalted = errors.New("state machine halted: this server is older than the cluster's log")

// watchHalt stops this server's part in the cluster when its FSM halts: a
// server that applies no more entries must neither lead nor vote as if it
// were current. It shuts Raft down (the data directory stays as it is,
// the unapplied entries included) and fails the server (Failed: `suanli
// server` exits with status 2, not to be restarted as is).
func (s *Server) watchHalt() {
	defer s.wg.Done()
	select {
	case <-s.ctx.Done():
		return
	case <-s.fsm.Halted():
	}
	err := s.fsm.HaltErr()
	s.log.Error("this server's state machine halted: it runs an older log version than the cluster's log or snapshot needs. "+
		"It takes no further part in the cluster (Raft stopped); its data directory is intact. "+
		"Upgrade it to the version the other servers run (suanli cluster status, VERSION) and start it again",
		"log_version", fsm.LogVersion, "version", BuildVersion(), "err", err)
	if f := s.raft.Shutdown(); f != nil {
		_ = f.Error()
	}
	s.fail(fmt.Errorf("%w: %w", ErrFSMHalted, err))
}

// Close stops the server: the HTTP API, the leader loop, gossip (leaving
// the pool gracefully) and Raft, then closes the log store.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.httpSrv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = s.httpSrv.Shutdown(ctx)
			cancel()
		}
		s.cancel()
		s.stopLeader()
		var errs []error
		if s.raft != nil {
			if err := s.raft.Shutdown().Error(); err != nil {
				errs = append(errs, fmt.Errorf("raft shutdown: %w", err))
			}
		}
		if s.pool != nil {
			_ = s.pool.Leave(500 * time.Millisecond)
			_ = s.pool.Shutdown()
		}
		s.wg.Wait()
		if s.trans != nil {
			_ = s.trans.Close()
		}
		if s.store != nil {
			if err := s.store.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close raft log: %w", err))
			}
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Kill stops the server abruptly, as a crash would (no graceful leave, no
// leadership hand-off), for tests.
func (s *Server) Kill() {
	s.closeOnce.Do(func() {
		if s.httpSrv != nil {
			_ = s.httpSrv.Close()
		}
		s.cancel()
		if s.pool != nil {
			_ = s.pool.Shutdown()
		}
		if s.raft != nil {
			_ = s.raft.Shutdown().Error()
		}
		s.stopLeader()
		s.wg.Wait()
		if s.trans != nil {
			_ = s.trans.Close()
		}
		if s.store != nil {
			_ = s.store.Close()
		}
	})
}

// watchLeadership starts the leader loop when this server becomes leader
// and stops it when it stops being leader.
func (s *Server) watchLeadership() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case isLeader := <-s.leaderNotify:
			s.metrics.leaderChanges.Inc()
			if isLeader {
				s.startLeader()
			} else {
				s.stopLeader()
			}
		}
	}
}

func (s *Server) startLeader() {
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	if s.leaderCancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan struct{})
	s.leaderCancel, s.leaderDone = cancel, done
	go func() {
		defer close(done)
		s.runLeader(ctx)
	}()
}

func (s *Server) stopLeader() {
	s.leaderMu.Lock()
	cancel, done := s.leaderCancel, s.leaderDone
	s.leaderCancel, s.leaderDone = nil, nil
	s.leaderMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// leaderHTTP returns the leader's HTTP address, if known.
func (s *Server) leaderHTTP() (addr, id string) {
	_, lid := s.raft.LeaderWithID()
	if lid == "" {
		return "", ""
	}
	if string(lid) == s.cfg.ID {
		return s.addrs.HTTPAddr, string(lid)
	}
	if sv, ok := s.fsm.Server(string(lid)); ok && sv.HTTPAddr != "" {
		return sv.HTTPAddr, string(lid)
	}
	for _, m := range s.pool.Members() {
		if m.Meta.Role == gossip.RoleServer && m.Meta.ID == string(lid) && m.Meta.HTTPAddr != "" {
			return m.Meta.HTTPAddr, string(lid)
		}
	}
	return "", string(lid)
}

// loadTLS reads the certificate, key and CA of Config.TLS, if set.
func (s *Server) loadTLS() error {
	t := s.cfg.TLS
	if !t.Enabled() {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	s.serverTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.peerTLS = &tls.Config{MinVersion: tls.VersionTLS12} // system roots
	if t.CAFile != "" {
		if s.peerTLS, err = api.ClientTLS(t.CAFile); err != nil {
			return fmt.Errorf("--tls-ca: %w", err)
		}
	}
	s.fwd.Transport = &http.Transport{TLSClientConfig: s.peerTLS, Proxy: http.ProxyFromEnvironment}
	return nil
}
