package gossip

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
)

// stubLookup makes host names resolve only if listed (to 127.0.0.1),
// failing the others as a DNS server would, and records the lookups.
func stubLookup(t *testing.T, known ...string) *[]string {
	t.Helper()
	var mu sync.Mutex
	var asked []string
	old := lookupHost
	lookupHost = func(_ context.Context, host string) ([]string, error) {
		mu.Lock()
		asked = append(asked, host)
		mu.Unlock()
		for _, k := range known {
			if k == host {
				return []string{"127.0.0.1"}, nil
			}
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	t.Cleanup(func() { lookupHost = old })
	return &asked
}

// TestJoinUnresolvableSeed: a seed whose host name does not resolve is
// reported as a *ResolveError (wrapping the *net.DNSError) in the
// JoinError and in Stats, without failing the join through other seeds;
// IP addresses are not looked up.
func TestJoinUnresolvableSeed(t *testing.T) {
	asked := stubLookup(t)
	p := start(t, fast(RoleAgent, "a1", nil, nil))
	other := start(t, fast(RoleServer, "s1", nil, nil))

	_, err := p.Join([]string{"nohost.invalid:7946"})
	var re *ResolveError
	var de *net.DNSError
	if !errors.As(err, &re) || re.Addr != "nohost.invalid:7946" || !errors.As(err, &de) || !de.IsNotFound {
		t.Fatalf("got %v, want a ResolveError for nohost.invalid:7946 wrapping a DNSError", err)
	}
	want := "gossip: join nohost.invalid:7946: resolve nohost.invalid:7946: lookup nohost.invalid: no such host"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if st := p.Stats(); st.JoinError != want {
		t.Errorf("Stats.JoinError %q, want %q", st.JoinError, want)
	}

	if n, err := p.Join([]string{"nohost.invalid:7946", other.Addr()}); err != nil || n != 1 {
		t.Fatalf("join with one good seed: %d, %v; want 1, nil", n, err)
	}
	if st := p.Stats(); st.JoinError != "" || !st.Joined {
		t.Errorf("after joining: %+v, want joined, no join error", st)
	}
	for _, h := range *asked {
		if h != "nohost.invalid" {
			t.Errorf("looked up %q; only names are looked up", h)
		}
	}
	if !strings.Contains(strings.Join(*asked, ","), "nohost.invalid") {
		t.Error("the name was not looked up")
	}
}
