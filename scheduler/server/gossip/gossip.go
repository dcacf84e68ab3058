package gossip

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/suanli/suanli/nodes"
)

// Member roles.
const (
	RoleServer = "server"
	RoleAgent  = "agent"
)

// Meta is what a member tells the pool about itself. Its JSON encoding
// must fit memberlist's 512-byte metadata limit; Encode drops trailing
// sites (setting Truncated) to make it fit.
type Meta struct {
	Role     string `json:"r"`
	ID       string `json:"id"`
	HTTPAddr string `json:"h,omitempty"`
	RaftAddr string `json:"ra,omitempty"`
	// Instance identifies one run of the process (agents: random per
	// start), telling an old incarnation from a restarted one.
	Instance string `json:"in,omitempty"`
	// Servers: the replicated log version they support (fsm.LogVersion)
	// and their build version (at most 48 bytes); absent in the metadata
	// of releases that predate them.
	LogVersion int    `json:"lv,omitempty"`
	Version    string `json:"v,omitempty"`
	// Agents: the sites and tiers they host, node count and total capacity.
	Sites     []string        `json:"s,omitempty"`
	Tiers     []string        `json:"t,omitempty"`
	Nodes     int             `json:"n,omitempty"`
	Capacity  nodes.Resources `json:"c,omitzero"`
	Truncated bool            `json:"tr,omitempty"`
}

// MaxMetaBytes is memberlist's limit on a member's metadata.
const MaxMetaBytes = memberlist.MetaMaxSize

// Encode serializes m, dropping sites from the end until it fits.
func (m Meta) Encode() ([]byte, error) {
	for {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encode gossip meta: %w", err)
		}
		if len(b) <= MaxMetaBytes {
			return b, nil
		}
		if len(m.Sites) == 0 {
			return nil, fmt.Errorf("encode gossip meta: %d bytes exceed the %d-byte limit", len(b), MaxMetaBytes)
		}
		m.Sites = m.Sites[:len(m.Sites)-1]
		m.Truncated = true
	}
}

// DecodeMeta parses a member's metadata.
func DecodeMeta(b []byte) (Meta, error) {
	var m Meta
	if len(b) == 0 {
		return m, errors.New("gossip: empty metadata")
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("gossip: bad metadata: %w", err)
	}
	return m, nil
}

// Name is the member name of a role and id ("agent/a1", "server/s1").
func Name(role, id string) string { return role + "/" + id }

// Config configures a pool member.
type Config struct {
	// BindAddr is host:port for gossip (UDP and TCP). Port 0 lets the OS
	// choose; Addr reports it.
	BindAddr string
	// AdvertiseAddr is host:port others should use, if not BindAddr.
	AdvertiseAddr string
	// Key enables encryption (16, 24 or 32 bytes); nil disables it.
	Key []byte
	// Label, if set, must match on every member (keeps clusters apart).
	Label string
	// Profile is "lan" (default) or "local": memberlist's timing defaults.
	Profile string
	// Optional overrides of the profile's failure-detection timing.
	ProbeInterval  time.Duration
	ProbeTimeout   time.Duration
	SuspicionMult  int
	GossipInterval time.Duration
	PushPull       time.Duration
	// Meta is this member's metadata; Meta.Role and Meta.ID are required.
	Meta Meta
	// LogOutput receives memberlist's log; nil discards it.
	LogOutput io.Writer
	// OnEvent, if set, is called for every membership change, one at a
	// time, in order, from a goroutine of the pool (never from memberlist's
	// own goroutines, so it may block briefly).
	OnEvent func(Event)
	// DeadRetention is how long a member declared dead (or gone) counts in
	// Stats.Dead unless it rejoins (default 1 h).
	DeadRetention time.Duration
}

// DefaultDeadRetention is Config.DeadRetention's default.
const DefaultDeadRetention = time.Hour

// EventKind is the kind of a membership change.
type EventKind uint8

const (
	// EventJoin: a member joined (or came back).
	EventJoin EventKind = iota
	// EventLeave: a member left or was declared dead.
	EventLeave
	// EventUpdate: a member's metadata changed.
	EventUpdate
)

func (k EventKind) String() string {
	switch k {
	case EventJoin:
		return "join"
	case EventLeave:
		return "leave"
	case EventUpdate:
		return "update"
	}
	return "event(" + strconv.Itoa(int(k)) + ")"
}

// Event is a membership change.
type Event struct {
	Kind   EventKind
	Member Member
}

// Member is a pool member as this member sees it.
type Member struct {
	Name string
	Addr string // host:port of its gossip endpoint
	Meta Meta
	// State is "alive" or "suspect" (see Stats) for listed members and
	// "dead" in leave events (memberlist does not tell a crash from a
	// graceful leave there).
	State string
}

// Stats summarise this member's view of the pool.
type Stats struct {
	// Encrypted tells whether the pool runs with a key.
	Encrypted bool
	// Joined tells whether this member sees at least one other live
	// member (false for a member alone: never joined, its seeds all
	// unreachable, or every other member gone).
	Joined bool
	// Alive counts the live members, this one included, that are not
	// suspect. Suspect counts those this member's own probe found
	// unresponsive (no direct or indirect ack) and that have neither
	// answered a probe since nor been declared dead. memberlist v0.6.0
	// reports suspicion only in its log, so this is what this member saw
	// first-hand, not suspicions gossiped by others.
	Alive, Suspect int
	// Dead counts members declared dead or gone (a graceful leave counts
	// too: memberlist does not tell them apart) within DeadRetention that
	// have not rejoined.
	Dead int
	// JoinError is the last failed Join, naming the addresses tried; a
	// successful Join, or another member joining this one, clears it.
	JoinError string
}

// Pool is this process's membership in the gossip pool.
type Pool struct {
	ml   *memberlist.Memberlist
	d    *delegate
	conf *memberlist.Config

	mu    sync.Mutex
	queue []Event
	// members mirrors memberlist's live members as values, maintained from
	// its event callbacks (which it calls under its own lock). Reading
	// memberlist's Members() instead hands out pointers to nodes it keeps
	// rewriting, which races.
	members map[string]Member
	// suspect holds live members this member's probe found unresponsive;
	// dead, members declared dead or gone, with the time.
	suspect   map[string]bool
	dead      map[string]time.Time
	retention time.Duration
	joinErr   string
	wake      chan struct{}
	done      chan struct{}
	closed    bool
	wg        sync.WaitGroup
}

// ParseKey decodes a base64 gossip key of 16, 24 or 32 bytes.
func ParseKey(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("gossip key: not base64: %w", err)
	}
	switch len(k) {
	case 16, 24, 32:
		return k, nil
	}
	return nil, fmt.Errorf("gossip key: %d bytes, want 16, 24 or 32 (AES-128/192/256)", len(k))
}

// NewKey returns a fresh random 32-byte key (AES-256-GCM), base64-encoded
// the way ParseKey, --gossip-key and SUANLI_GOSSIP_KEY take it.
func NewKey() string {
	k := make([]byte, 32)
	_, _ = crand.Read(k) // never fails (crypto/rand.Read)
	return base64.StdEncoding.EncodeToString(k)
}

// memberlistConfig builds memberlist's configuration from cfg.
func memberlistConfig(cfg Config) (*memberlist.Config, error) {
	var c *memberlist.Config
	switch cfg.Profile {
	case "", "lan":
		c = memberlist.DefaultLANConfig()
	case "local":
		c = memberlist.DefaultLocalConfig()
	default:
		return nil, fmt.Errorf("gossip: profile %q (allowed: lan, local)", cfg.Profile)
	}
	if cfg.ProbeInterval > 0 {
		c.ProbeInterval = cfg.ProbeInterval
	}
	if cfg.ProbeTimeout > 0 {
		c.ProbeTimeout = cfg.ProbeTimeout
	}
	if cfg.SuspicionMult > 0 {
		c.SuspicionMult = cfg.SuspicionMult
	}
	if cfg.GossipInterval > 0 {
		c.GossipInterval = cfg.GossipInterval
	}
	if cfg.PushPull > 0 {
		c.PushPullInterval = cfg.PushPull
	}
	// memberlist sends each broadcast RetransmitMult·⌈log10(n+1)⌉ times in
	// all; the local profile's 2 means 2 sends in a cluster of under 9
	// members, and a member that hears an alive message first-hand (its
	// subject, or one that knew already) does not pass it on — so a new
	// agent could stay unknown to the leader until the next push-pull
	// (15 s), and if it died meanwhile its suspect and dead messages were
	// ignored there. 4 (the LAN default) reaches a small cluster directly.
	c.RetransmitMult = max(c.RetransmitMult, 4)
	// A member that restarts on another port (agents and tests use port
	// 0) may take its name back once its old incarnation is dead.
	c.DeadNodeReclaimTime = 2 * c.ProbeInterval
	if c.ProbeTimeout >= c.ProbeInterval {
		return nil, fmt.Errorf("gossip: probe timeout %v must be below the probe interval %v", c.ProbeTimeout, c.ProbeInterval)
	}
	if cfg.Meta.Role != RoleServer && cfg.Meta.Role != RoleAgent {
		return nil, fmt.Errorf("gossip: meta role %q (allowed: server, agent)", cfg.Meta.Role)
	}
	if cfg.Meta.ID == "" {
		return nil, errors.New("gossip: meta id is required")
	}
	c.Name = Name(cfg.Meta.Role, cfg.Meta.ID)
	host, port, err := splitHostPort(cfg.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("gossip: bind address: %w", err)
	}
	c.BindAddr, c.BindPort = host, port
	c.AdvertiseAddr, c.AdvertisePort = "", 0
	if cfg.AdvertiseAddr != "" {
		h, p, err := splitHostPort(cfg.AdvertiseAddr)
		if err != nil {
			return nil, fmt.Errorf("gossip: advertise address: %w", err)
		}
		c.AdvertiseAddr, c.AdvertisePort = h, p
	}
	if cfg.Key != nil {
		if _, err := ParseKey(base64.StdEncoding.EncodeToString(cfg.Key)); err != nil {
			return nil, err
		}
		c.SecretKey = append([]byte(nil), cfg.Key...)
	}
	c.Label = cfg.Label
	c.LogOutput = nil // Start sets Logger
	return c, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.Atoi(ps)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("bad port %q", ps)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, p, nil
}

// Start creates this member and starts gossiping (alone until Join).
func Start(cfg Config) (*Pool, error) {
	mc, err := memberlistConfig(cfg)
	if err != nil {
		return nil, err
	}
	meta, err := cfg.Meta.Encode()
	if err != nil {
		return nil, err
	}
	p := &Pool{conf: mc, wake: make(chan struct{}, 1), done: make(chan struct{}),
		members: map[string]Member{}, suspect: map[string]bool{}, dead: map[string]time.Time{},
		retention: cfg.DeadRetention}
	if p.retention <= 0 {
		p.retention = DefaultDeadRetention
	}
	p.d = &delegate{meta: meta, pool: p}
	mc.Delegate = p.d
	mc.Events = p.d
	mc.Ping = p.d
	out := cfg.LogOutput
	if out == nil {
		out = io.Discard
	}
	mc.Logger = log.New(logTap{w: out, pool: p}, "", log.LstdFlags)
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("gossip: start: %w", err)
	}
	p.ml = ml
	p.wg.Add(1)
	go p.dispatch(cfg.OnEvent)
	return p, nil
}

// Join contacts the given members (host:port) and merges state with them.
// It returns how many it reached; an error (a *JoinError) only if it
// reached none. A seed whose host name does not resolve is not handed to
// memberlist (which would log a warning of its own at every attempt): the
// JoinError lists it with the resolver's error (a *ResolveError wrapping,
// usually, a *net.DNSError).
func (p *Pool) Join(seeds []string) (int, error) {
	if len(seeds) == 0 {
		return 0, errors.New("gossip: join: no addresses to join")
	}
	var resolved []string
	var unresolved []*ResolveError
	for _, s := range seeds {
		if err := resolve(s); err != nil {
			unresolved = append(unresolved, &ResolveError{Addr: s, Err: err})
			continue
		}
		resolved = append(resolved, s)
	}
	var (
		n   int
		err error
	)
	if len(resolved) > 0 {
		n, err = p.ml.Join(resolved)
	}
	if n == 0 {
		je := &JoinError{Seeds: append([]string(nil), seeds...), Err: err, Unresolved: unresolved}
		p.mu.Lock()
		p.joinErr = je.Error()
		p.mu.Unlock()
		return 0, je
	}
	p.mu.Lock()
	p.joinErr = ""
	p.mu.Unlock()
	return n, nil
}

// lookupHost resolves a host name (a variable for tests).
var lookupHost = func(ctx context.Context, host string) ([]string, error) {
	return net.DefaultResolver.LookupHost(ctx, host)
}

// resolveTimeout bounds one seed's name resolution.
const resolveTimeout = 5 * time.Second

// resolve reports whether a seed's host, if it is a name, resolves. A seed
// that is not host:port is left to memberlist, which reports it.
func resolve(seed string) error {
	if i := strings.Index(seed, "/"); i >= 0 {
		seed = seed[i+1:] // memberlist's optional "node-name/" prefix
	}
	host, _, err := net.SplitHostPort(seed)
	if err != nil || host == "" || net.ParseIP(host) != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	_, err = lookupHost(ctx, host)
	return err
}

// ResolveError is a seed whose host name did not resolve.
type ResolveError struct {
	Addr string
	Err  error // usually a *net.DNSError
}

func (e *ResolveError) Error() string { return "resolve " + e.Addr + ": " + e.Err.Error() }
func (e *ResolveError) Unwrap() error { return e.Err }

// JoinError is Join's error when it reached none of the seeds.
type JoinError struct {
	Seeds []string
	// Err is memberlist's error (one per address tried); nil when no seed
	// resolved.
	Err error
	// Unresolved lists the seeds whose host names did not resolve.
	Unresolved []*ResolveError
}

// Error names the addresses and why each failed, on one line.
func (e *JoinError) Error() string {
	var causes []string
	for _, u := range e.Unresolved {
		causes = append(causes, u.Error())
	}
	var multi interface{ WrappedErrors() []error }
	switch {
	case e.Err == nil:
	case errors.As(e.Err, &multi):
		for _, c := range multi.WrappedErrors() {
			causes = append(causes, c.Error())
		}
	default:
		causes = append(causes, strings.Join(strings.Fields(e.Err.Error()), " "))
	}
	return "gossip: join " + strings.Join(e.Seeds, ",") + ": " + strings.Join(causes, "; ")
}

// Unwrap returns memberlist's error and the resolution errors.
func (e *JoinError) Unwrap() []error {
	var out []error
	if e.Err != nil {
		out = append(out, e.Err)
	}
	for _, u := range e.Unresolved {
		out = append(out, u)
	}
	return out
}

// Stats returns this member's view of the pool (see Stats).
func (p *Pool) Stats() Stats {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	st := Stats{Encrypted: len(p.conf.SecretKey) > 0, JoinError: p.joinErr}
	for name := range p.members {
		if p.suspect[name] {
			st.Suspect++
		} else {
			st.Alive++
		}
		if name != p.conf.Name {
			st.Joined = true
		}
	}
	st.Dead = countRecent(p.dead, now, p.retention)
	return st
}

// countRecent counts the times in m within retention of now, forgetting
// older ones.
func countRecent(m map[string]time.Time, now time.Time, retention time.Duration) int {
	n := 0
	for k, at := range m {
		if now.Sub(at) > retention {
			delete(m, k)
			continue
		}
		n++
	}
	return n
}

// Addr is this member's advertised gossip address (host:port).
func (p *Pool) Addr() string {
	n := p.ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// Name is this member's name.
func (p *Pool) Name() string { return p.conf.Name }

// NumMembers is how many live members this member sees (itself included).
func (p *Pool) NumMembers() int { return p.ml.NumMembers() }

// Members returns the members this member sees as alive or suspect,
// sorted by name.
func (p *Pool) Members() []Member {
	p.mu.Lock()
	out := make([]Member, 0, len(p.members))
	for _, m := range p.members {
		if p.suspect[m.Name] {
			m.State = "suspect"
		}
		out = append(out, m)
	}
	p.mu.Unlock()
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// SetMeta changes this member's metadata and tells the pool.
func (p *Pool) SetMeta(m Meta, timeout time.Duration) error {
	b, err := m.Encode()
	if err != nil {
		return err
	}
	p.d.setMeta(b)
	if err := p.ml.UpdateNode(timeout); err != nil {
		return fmt.Errorf("gossip: update meta: %w", err)
	}
	return nil
}

// Leave tells the pool this member is leaving (others see state "left",
// not "dead"), waiting up to timeout for the message to spread.
func (p *Pool) Leave(timeout time.Duration) error { return p.ml.Leave(timeout) }

// Shutdown stops gossiping without leaving (others will declare this
// member dead) and stops event delivery.
func (p *Pool) Shutdown() error {
	err := p.ml.Shutdown()
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.done)
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func member(n *memberlist.Node) Member {
	m := Member{Name: n.Name, Addr: net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))}
	m.Meta, _ = DecodeMeta(n.Meta)
	// memberlist does not keep Node.State current (v0.6.0): members it
	// lists are alive (or suspect), and a leave event means dead or left.
	m.State = "alive"
	return m
}

func (p *Pool) enqueue(k EventKind, n *memberlist.Node) {
	e := Event{Kind: k, Member: member(n)}
	if k == EventLeave {
		e.Member.State = "dead"
	}
	p.mu.Lock()
	// Any news of a member ends a suspicion: it was declared dead, or it
	// sent an alive message (joined again, or changed its metadata).
	delete(p.suspect, e.Member.Name)
	if k == EventLeave {
		delete(p.members, e.Member.Name)
		p.dead[e.Member.Name] = time.Now()
	} else {
		p.members[e.Member.Name] = e.Member
		delete(p.dead, e.Member.Name)
		if k == EventJoin && e.Member.Name != p.conf.Name {
			p.joinErr = "" // in a pool now, whoever joined whom
		}
	}
	if !p.closed {
		p.queue = append(p.queue, e)
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// dispatch delivers queued events in order, off memberlist's goroutines.
func (p *Pool) dispatch(fn func(Event)) {
	defer p.wg.Done()
	for {
		select {
		case <-p.done:
			return
		case <-p.wake:
		}
		for {
			p.mu.Lock()
			q := p.queue
			p.queue = nil
			p.mu.Unlock()
			if len(q) == 0 {
				break
			}
			for _, e := range q {
				if fn != nil {
					fn(e)
				}
			}
		}
	}
}

// markSuspect records that this member's probe found a live member
// unresponsive.
func (p *Pool) markSuspect(name string) {
	p.mu.Lock()
	if _, live := p.members[name]; live && name != p.conf.Name {
		p.suspect[name] = true
	}
	p.mu.Unlock()
}

// acked records that a member answered this member's probe.
func (p *Pool) acked(name string) {
	p.mu.Lock()
	delete(p.suspect, name)
	p.mu.Unlock()
}

// logTap passes memberlist's log on and watches it for the one line that
// reports a suspicion: memberlist v0.6.0 has no callback for it. The line
// is written when this member's probe of a member got no ack, directly or
// indirectly, just before it marks the member suspect
// (TestStatsSuspectAndDead fails if a memberlist upgrade changes it).
type logTap struct {
	w    io.Writer
	pool *Pool
}

const (
	suspectPrefix = "memberlist: Suspect "
	suspectSuffix = " has failed, no acks received"
)

func (t logTap) Write(b []byte) (int, error) {
	line := string(b)
	if i := strings.Index(line, suspectPrefix); i >= 0 {
		rest := line[i+len(suspectPrefix):]
		if j := strings.Index(rest, suspectSuffix); j > 0 {
			t.pool.markSuspect(rest[:j])
		}
	}
	return t.w.Write(b)
}

// delegate implements memberlist.Delegate, EventDelegate and PingDelegate.
type delegate struct {
	mu   sync.Mutex
	meta []byte
	pool *Pool
}

func (d *delegate) setMeta(b []byte) {
	d.mu.Lock()
	d.meta = b
	d.mu.Unlock()
}

func (d *delegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.meta) > limit {
		return nil // never happens: Encode enforces the limit
	}
	return append([]byte(nil), d.meta...)
}
func (d *delegate) NotifyMsg([]byte)                           {}
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *delegate) LocalState(join bool) []byte                { return nil }
func (d *delegate) MergeRemoteState(buf []byte, join bool)     {}
func (d *delegate) NotifyJoin(n *memberlist.Node)              { d.pool.enqueue(EventJoin, n) }
func (d *delegate) NotifyLeave(n *memberlist.Node)             { d.pool.enqueue(EventLeave, n) }
func (d *delegate) NotifyUpdate(n *memberlist.Node)            { d.pool.enqueue(EventUpdate, n) }
func (d *delegate) AckPayload() []byte                         { return nil }
func (d *delegate) NotifyPingComplete(n *memberlist.Node, _ time.Duration, _ []byte) {
	d.pool.acked(n.Name)
}

// DetectionTime returns the range of time after which a crashed member is
// declared dead, for n members: from the suspicion timeout's floor (all
// confirmations arrive) to its ceiling (none), plus one probe interval and
// timeout to notice the failure.
func DetectionTime(cfg Config, n int) (min, max time.Duration, err error) {
	mc, err := memberlistConfig(Config{Profile: cfg.Profile, ProbeInterval: cfg.ProbeInterval, ProbeTimeout: cfg.ProbeTimeout,
		SuspicionMult: cfg.SuspicionMult, BindAddr: "127.0.0.1:0", Meta: Meta{Role: RoleServer, ID: "x"}})
	if err != nil {
		return 0, 0, err
	}
	nodeScale := math.Max(1, math.Log10(math.Max(1, float64(n))))
	floor := time.Duration(float64(mc.SuspicionMult) * nodeScale * float64(mc.ProbeInterval))
	ceil := time.Duration(mc.SuspicionMaxTimeoutMult) * floor
	notice := mc.ProbeInterval + mc.ProbeTimeout
	return notice + floor, notice + ceil, nil
}
