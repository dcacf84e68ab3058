package gossip

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	key1 = bytes.Repeat([]byte{1}, 32)
	key2 = bytes.Repeat([]byte{2}, 32)
)

// events collects a member's events.
type events struct {
	mu sync.Mutex
	ev []Event
}

func (e *events) add(ev Event) { e.mu.Lock(); e.ev = append(e.ev, ev); e.mu.Unlock() }

func (e *events) has(kind EventKind, name, state string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.ev {
		if ev.Kind == kind && ev.Member.Name == name && (state == "" || ev.Member.State == state) {
			return true
		}
	}
	return false
}

func fast(role, id string, key []byte, on func(Event)) Config {
	return Config{
		BindAddr: "127.0.0.1:0", Key: key, Profile: "local",
		ProbeInterval: 100 * time.Millisecond, ProbeTimeout: 50 * time.Millisecond, GossipInterval: 20 * time.Millisecond,
		SuspicionMult: 2, Meta: Meta{Role: role, ID: id, HTTPAddr: "127.0.0.1:1"}, OnEvent: on,
	}
}

func start(t *testing.T, cfg Config) *Pool {
	t.Helper()
	p, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown() })
	return p
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestJoinSeesMetaAndDeath(t *testing.T) {
	var ev events
	s := start(t, fast(RoleServer, "s1", key1, ev.add))
	agentCfg := fast(RoleAgent, "a1", key1, nil)
	agentCfg.Meta.Sites = []string{"x-jn"}
	agentCfg.Meta.Nodes = 4
	a, err := Start(agentCfg)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := a.Join([]string{s.Addr()}); err != nil || n != 1 {
		t.Fatalf("join: got %d, %v; want 1, nil", n, err)
	}
	waitFor(t, "server to see the agent", func() bool { return s.NumMembers() == 2 })
	var got Member
	for _, m := range s.Members() {
		if m.Name == "agent/a1" {
			got = m
		}
	}
	if got.Meta.Role != RoleAgent || got.Meta.ID != "a1" || got.Meta.Nodes != 4 || len(got.Meta.Sites) != 1 || got.State != "alive" {
		t.Errorf("got %+v, want the agent's meta", got)
	}
	waitFor(t, "join event", func() bool { return ev.has(EventJoin, "agent/a1", "") })
	// Crash (no leave): the server declares it dead.
	_ = a.Shutdown()
	waitFor(t, "dead event", func() bool { return ev.has(EventLeave, "agent/a1", "dead") })
	if s.NumMembers() != 1 {
		t.Errorf("members after death: got %d, want 1", s.NumMembers())
	}
}

func TestGracefulLeave(t *testing.T) {
	var ev events
	s := start(t, fast(RoleServer, "s1", nil, ev.add))
	a := start(t, fast(RoleAgent, "a1", nil, nil))
	if _, err := a.Join([]string{s.Addr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "join", func() bool { return s.NumMembers() == 2 })
	if err := a.Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "leave event", func() bool { return ev.has(EventLeave, "agent/a1", "dead") })
}

// TestWrongKeyCannotJoin: a member with another key, or none, cannot join
// an encrypted pool (memberlist's mismatched-keys behaviour).
func TestWrongKeyCannotJoin(t *testing.T) {
	s := start(t, fast(RoleServer, "s1", key1, nil))
	for name, k := range map[string][]byte{"other key": key2, "plaintext": nil} {
		t.Run(name, func(t *testing.T) {
			cfg := fast(RoleAgent, "intruder", k, nil)
			p := start(t, cfg)
			if _, err := p.Join([]string{s.Addr()}); err == nil {
				t.Error("join: got nil error, want failure")
			}
			time.Sleep(200 * time.Millisecond)
			if n := s.NumMembers(); n != 1 {
				t.Errorf("server members: got %d, want 1 (the intruder must not be admitted)", n)
			}
		})
	}
}

func TestSetMeta(t *testing.T) {
	var ev events
	s := start(t, fast(RoleServer, "s1", nil, ev.add))
	a := start(t, fast(RoleAgent, "a1", nil, nil))
	if _, err := a.Join([]string{s.Addr()}); err != nil {
		t.Fatal(err)
	}
	if err := a.SetMeta(Meta{Role: RoleAgent, ID: "a1", Nodes: 9}, time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "update", func() bool {
		for _, m := range s.Members() {
			if m.Name == "agent/a1" && m.Meta.Nodes == 9 {
				return true
			}
		}
		return false
	})
}

func TestMetaEncodeTruncatesSites(t *testing.T) {
	m := Meta{Role: RoleAgent, ID: "a1"}
	for i := 0; i < 100; i++ {
		m.Sites = append(m.Sites, fmt.Sprintf("site-number-%03d", i))
	}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > MaxMetaBytes {
		t.Fatalf("got %d bytes, want <= %d", len(b), MaxMetaBytes)
	}
	d, err := DecodeMeta(b)
	if err != nil || !d.Truncated || len(d.Sites) == 0 || len(d.Sites) == 100 {
		t.Errorf("got %+v, %v; want a truncated site list", d, err)
	}
}

func TestParseKey(t *testing.T) {
	tests := []struct {
		in      string
		wantLen int
		wantErr string
	}{
		{base64.StdEncoding.EncodeToString(key1[:16]), 16, ""},
		{base64.StdEncoding.EncodeToString(key1[:24]), 24, ""},
		{base64.StdEncoding.EncodeToString(key1), 32, ""},
		{"", 0, ""},
		{base64.StdEncoding.EncodeToString(key1[:10]), 0, "10 bytes"},
		{"!!!", 0, "not base64"},
	}
	for _, tc := range tests {
		k, err := ParseKey(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseKey(%q): got %v, want error with %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || len(k) != tc.wantLen {
			t.Errorf("ParseKey(%q): got %d bytes, %v; want %d", tc.in, len(k), err, tc.wantLen)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"bad profile": {BindAddr: "127.0.0.1:0", Profile: "wan2", Meta: Meta{Role: RoleAgent, ID: "a"}},
		"bad role":    {BindAddr: "127.0.0.1:0", Meta: Meta{Role: "boss", ID: "a"}},
		"no id":       {BindAddr: "127.0.0.1:0", Meta: Meta{Role: RoleAgent}},
		"bad addr":    {BindAddr: "nowhere", Meta: Meta{Role: RoleAgent, ID: "a"}},
		"timeouts":    {BindAddr: "127.0.0.1:0", ProbeInterval: time.Second, ProbeTimeout: 2 * time.Second, Meta: Meta{Role: RoleAgent, ID: "a"}},
		"short key":   {BindAddr: "127.0.0.1:0", Key: []byte("short"), Meta: Meta{Role: RoleAgent, ID: "a"}},
	} {
		if p, err := Start(cfg); err == nil {
			_ = p.Shutdown()
			t.Errorf("%s: got nil error", name)
		}
	}
}

func TestDetectionTime(t *testing.T) {
	tests := []struct {
		profile  string
		n        int
		min, max time.Duration
	}{
		// LAN: notice 1.5 s + 4 s floor; ceiling 6× = 24 s.
		{"lan", 5, 5500 * time.Millisecond, 25500 * time.Millisecond},
		// Local: notice 1.2 s + 3 s; ceiling 18 s.
		{"local", 5, 4200 * time.Millisecond, 19200 * time.Millisecond},
		// 100 members: log10 = 2 doubles the suspicion timeout.
		{"lan", 100, 9500 * time.Millisecond, 49500 * time.Millisecond},
	}
	for _, tc := range tests {
		lo, hi, err := DetectionTime(Config{Profile: tc.profile}, tc.n)
		if err != nil || lo != tc.min || hi != tc.max {
			t.Errorf("%s n=%d: got %v..%v (%v), want %v..%v", tc.profile, tc.n, lo, hi, err, tc.min, tc.max)
		}
	}
}

// TestStatsSuspectAndDead: a member that crashes is first suspect in the
// observer's Stats (its own probe found it unresponsive), then dead; when
// it comes back under the same name it is alive again.
func TestStatsSuspectAndDead(t *testing.T) {
	// SuspicionMult 5: a 500 ms suspicion window to observe.
	cfg := func(role, id string) Config {
		c := fast(role, id, key1, nil)
		c.SuspicionMult = 5
		return c
	}
	obs := start(t, cfg(RoleServer, "s1"))
	if st := obs.Stats(); st != (Stats{Encrypted: true, Alive: 1}) {
		t.Errorf("alone: got %+v, want encrypted, 1 alive, not joined", st)
	}
	victim := start(t, cfg(RoleAgent, "a1"))
	if _, err := victim.Join([]string{obs.Addr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "2 alive", func() bool { return obs.Stats() == Stats{Encrypted: true, Joined: true, Alive: 2} })

	_ = victim.Shutdown() // crash: no leave
	var sawSuspect, sawSuspectMember bool
	deadline := time.Now().Add(10 * time.Second)
	for obs.Stats().Dead == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no death after 10s: %+v", obs.Stats())
		}
		if st := obs.Stats(); st.Suspect == 1 && st.Alive == 1 {
			sawSuspect = true
			for _, m := range obs.Members() {
				sawSuspectMember = sawSuspectMember || (m.Name == "agent/a1" && m.State == "suspect")
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	if !sawSuspect || !sawSuspectMember {
		t.Errorf("never saw the crashed member suspect (stats %v, member state %v) before it was declared dead", sawSuspect, sawSuspectMember)
	}
	if st := obs.Stats(); st != (Stats{Encrypted: true, Alive: 1, Dead: 1}) {
		t.Errorf("after the death: got %+v, want 1 alive, 1 dead, not joined", st)
	}

	// The same name on a new port, once the old incarnation may be reclaimed.
	time.Sleep(300 * time.Millisecond)
	back := start(t, cfg(RoleAgent, "a1"))
	if _, err := back.Join([]string{obs.Addr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the member back alive", func() bool { return obs.Stats() == Stats{Encrypted: true, Joined: true, Alive: 2} })
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// TestStatsJoinError: a failed join is kept in Stats with the addresses
// tried until a join succeeds; encryption shows in Stats.
func TestStatsJoinError(t *testing.T) {
	p := start(t, fast(RoleServer, "s1", nil, nil))
	dead := closedAddr(t)
	_, err := p.Join([]string{dead})
	var je *JoinError
	if !errors.As(err, &je) || !strings.Contains(err.Error(), "gossip: join "+dead+": failed to join "+dead) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("join %s: got %v, want a one-line JoinError naming it", dead, err)
	}
	if _, err := p.Join(nil); err == nil {
		t.Error("join of no addresses: got nil error")
	}
	st := p.Stats()
	if st.Encrypted || st.Joined || !strings.Contains(st.JoinError, dead) {
		t.Errorf("after a failed join: got %+v, want unencrypted, not joined, join error naming %s", st, dead)
	}
	other := start(t, fast(RoleServer, "s2", nil, nil))
	if _, err := p.Join([]string{dead, other.Addr()}); err != nil {
		t.Fatalf("join with one live seed: %v", err)
	}
	waitFor(t, "joined", func() bool { return p.Stats().Joined })
	if st := p.Stats(); st.JoinError != "" || st.Alive != 2 {
		t.Errorf("after a successful join: got %+v, want no join error, 2 alive", st)
	}
}

func TestCountRecentForgetsOld(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	m := map[string]time.Time{"a": now.Add(-time.Minute), "b": now.Add(-2 * time.Hour), "c": now}
	if got := countRecent(m, now, time.Hour); got != 2 {
		t.Errorf("got %d, want 2 (a and c)", got)
	}
	if _, ok := m["b"]; ok {
		t.Error("b (2 h old) was kept, want it forgotten")
	}
}
