package agent

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/suanli/suanli/scheduler/server/gossip"
)

// resolveWarner remembers, per address, the failures to resolve its host
// name since it last resolved, and when the agent last warned about it.
type resolveWarner struct {
	mu    sync.Mutex
	addrs map[string]*resolveState
}

type resolveState struct {
	failures int
	warned   time.Time
}

// unresolved reports whether err means addr's host name did not resolve
// (a *net.DNSError). If so it logs a warning naming the address, the
// flag it came from and the resolver's error — on the first failure, then
// every resolveWarnEvery while it keeps failing — and the caller logs
// nothing more.
func (a *Agent) unresolved(flag, addr string, err error) bool {
	var de *net.DNSError
	if !errors.As(err, &de) {
		return false
	}
	now := time.Now()
	w := &a.resolveWarn
	w.mu.Lock()
	if w.addrs == nil {
		w.addrs = map[string]*resolveState{}
	}
	st := w.addrs[addr]
	if st == nil {
		st = &resolveState{}
		w.addrs[addr] = st
	}
	st.failures++
	warn := st.failures == 1 || now.Sub(st.warned) >= a.resolveWarnEvery
	if warn {
		st.warned = now
	}
	failures := st.failures
	w.mu.Unlock()
	if warn {
		a.log.Warn("cannot resolve the host name of an address, retrying", "flag", flag, "addr", addr, "err", de.Error(),
			"failures", failures, "warn_again_in", a.resolveWarnEvery)
	}
	return true
}

// resolved records that a request to addr got through; an address that
// failed to resolve before is logged as resolving again.
func (a *Agent) resolved(addr string) {
	w := &a.resolveWarn
	w.mu.Lock()
	st := w.addrs[addr]
	delete(w.addrs, addr)
	w.mu.Unlock()
	if st != nil {
		a.log.Info("the host name of an address resolves again", "addr", addr, "after_failures", st.failures)
	}
}

// noteSeeds passes the outcome of a gossip join to the resolution
// warnings: the seeds that did not resolve, and those that did.
func (a *Agent) noteSeeds(seeds []string, err error) {
	bad := map[string]bool{}
	var je *gossip.JoinError
	if errors.As(err, &je) {
		for _, u := range je.Unresolved {
			bad[u.Addr] = true
			a.unresolved("--join", u.Addr, u)
		}
	}
	for _, s := range seeds {
		if !bad[s] {
			a.resolved(s)
		}
	}
}
