package agent

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/gossip"
)

// TestUnresolvableServerWarned: an agent whose --servers host name does
// not resolve warns at warn level naming the address and the resolver's
// error on the first failure, then again only every resolveWarnEvery
// while it keeps retrying (not at every retry); once the name resolves, it
// registers and says so.
func TestUnresolvableServerWarned(t *testing.T) {
	f := newFakeServer(t, token)
	_, fakePort, _ := net.SplitHostPort(f.addr())
	var logs syncBuffer
	cfg := testConfig(t, []string{"nohost.invalid:7070"}, 1)
	cfg.Log = &logs
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.resolveWarnEvery = 300 * time.Millisecond
	var resolves, lookups atomic.Int64
	a.servers.hc.Transport = &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		if host == "nohost.invalid" {
			lookups.Add(1)
			if resolves.Load() == 0 {
				return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
			}
			addr = net.JoinHostPort("127.0.0.1", fakePort)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()
	warnings := func() int {
		n := 0
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "level=WARN") && strings.Contains(line, "cannot resolve") {
				for _, w := range []string{"flag=--servers", "addr=nohost.invalid:7070", "no such host"} {
					if !strings.Contains(line, w) {
						t.Fatalf("warning %q lacks %q", line, w)
					}
				}
				n++
			}
		}
		return n
	}
	waitFor(t, "a second warning", 10*time.Second, func() bool { return warnings() >= 2 })
	if n, l := warnings(), lookups.Load(); l < 2*int64(n) {
		t.Errorf("%d warnings for %d failed lookups: want the warnings rate-limited", n, l)
	}
	if strings.Contains(logs.String(), "register failed") {
		t.Error("a resolution failure was logged as 'register failed' too (at every retry)")
	}
	resolves.Store(1)
	waitFor(t, "registration", 10*time.Second, func() bool { return a.Stats().Registered })
	waitFor(t, "'resolves again'", 5*time.Second, func() bool {
		return strings.Contains(logs.String(), "resolves again") && strings.Contains(logs.String(), "addr=nohost.invalid:7070")
	})
}

// TestBadAddressesRefused: --servers and --join addresses without a port,
// with a port out of range, or otherwise not an address are refused by
// New (the CLI exits 2), naming the flag and the address.
func TestBadAddressesRefused(t *testing.T) {
	for _, tc := range []struct {
		servers, join []string
		want          string
	}{
		{[]string{"nohost.invalid"}, nil, `--servers "nohost.invalid": no port`},
		{[]string{"10.0.0.1:99999"}, nil, `--servers "10.0.0.1:99999": port "99999": want 1-65535`},
		{[]string{"10.0.0.1:0"}, nil, `--servers "10.0.0.1:0": port "0"`},
		{[]string{"ftp://10.0.0.1:21"}, nil, `--servers "ftp://10.0.0.1:21": scheme "ftp"`},
		{[]string{"10.0.0.1:7070"}, []string{"10.0.0.1"}, `--join "10.0.0.1": no port`},
		{[]string{"10.0.0.1:7070"}, []string{"10.0.0.1:65536"}, `--join "10.0.0.1:65536": port "65536"`},
	} {
		cfg := testConfig(t, tc.servers, 1)
		if tc.join != nil {
			cfg.Gossip = GossipConfig{Join: tc.join, Key: []byte("0123456789abcdef")}
		}
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error containing %q", err, tc.want)
		}
	}
	for _, ok := range [][]string{{"10.0.0.1:7070"}, {"s1.example:7070", "https://s2.example"}, {"http://[::1]:7070"}} {
		if _, err := New(testConfig(t, ok, 1)); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
}

// TestUnresolvableSeedWarned: a gossip seed the pool could not resolve
// (gossip.JoinError.Unresolved) is warned about like a server address,
// under --join, and said to resolve again once a join no longer lists it.
func TestUnresolvableSeedWarned(t *testing.T) {
	var logs syncBuffer
	cfg := testConfig(t, []string{"127.0.0.1:1"}, 1)
	cfg.Log = &logs
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.resolveWarnEvery = time.Hour
	seeds := []string{"nohost.invalid:7946", "127.0.0.1:7946"}
	je := &gossip.JoinError{Seeds: seeds, Unresolved: []*gossip.ResolveError{{Addr: seeds[0],
		Err: &net.DNSError{Err: "no such host", Name: "nohost.invalid", IsNotFound: true}}}}
	for i := 0; i < 5; i++ {
		a.noteSeeds(seeds, je)
	}
	if n := strings.Count(logs.String(), "cannot resolve"); n != 1 {
		t.Errorf("%d warnings for 5 failures within the warning period, want 1:\n%s", n, logs.String())
	}
	for _, w := range []string{"level=WARN", "flag=--join", "addr=nohost.invalid:7946", "no such host", "failures=1"} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, logs.String())
		}
	}
	if strings.Contains(logs.String(), "127.0.0.1:7946") {
		t.Errorf("the seed that resolved was logged:\n%s", logs.String())
	}
	a.noteSeeds(seeds, nil)
	if !strings.Contains(logs.String(), "resolves again") || !strings.Contains(logs.String(), "after_failures=5") {
		t.Errorf("no 'resolves again' after 5 failures:\n%s", logs.String())
	}
}
