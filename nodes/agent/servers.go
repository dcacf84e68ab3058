package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// serverSet is what the agent knows about the servers: their HTTP
// addresses and which one leads. Requests go to the leader when known,
// otherwise round-robin over the known addresses.
type serverSet struct {
	token string
	// client is shared by every request (one connection pool); per-call
	// contexts bound the time.
	hc  *http.Client
	tls *tls.Config // nil: plain HTTP

	mu     sync.Mutex
	addrs  []string
	leader string
	next   int
}

func newServerSet(addrs []string, token string, tlsCfg *tls.Config) *serverSet {
	s := &serverSet{token: token, tls: tlsCfg, hc: &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
			TLSClientConfig:     tlsCfg,
		},
	}}
	s.learn(addrs...)
	return s
}

// learn adds server addresses (host:port or URLs).
func (s *serverSet) learn(addrs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range addrs {
		a = normAddr(a)
		if a == "" {
			continue
		}
		known := false
		for _, b := range s.addrs {
			known = known || a == b
		}
		if !known {
			s.addrs = append(s.addrs, a)
		}
	}
}

func normAddr(a string) string {
	a = strings.TrimSpace(a)
	a = strings.TrimPrefix(strings.TrimPrefix(a, "http://"), "https://")
	return strings.TrimRight(a, "/")
}

// known lists the known addresses.
func (s *serverSet) known() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.addrs...)
}

// pick chooses the server for the next request.
func (s *serverSet) pick() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leader != "" {
		return s.leader
	}
	if len(s.addrs) == 0 {
		return ""
	}
	return s.addrs[s.next%len(s.addrs)]
}

// setLeader records the leader's HTTP address.
func (s *serverSet) setLeader(addr string) {
	addr = normAddr(addr)
	if addr == "" {
		return
	}
	s.learn(addr)
	s.mu.Lock()
	s.leader = addr
	s.mu.Unlock()
}

// failed records that a request to addr failed: forget it as leader and
// move on to the next server.
func (s *serverSet) failed(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leader == addr {
		s.leader = ""
	}
	if len(s.addrs) > 0 && s.addrs[s.next%len(s.addrs)] == addr {
		s.next++
	}
}

// client returns an API client for addr.
func (s *serverSet) client(addr string) *api.Client {
	c := api.NewClientTLS(addr, s.token, s.tls)
	c.HTTP = s.hc
	return c
}

// errKind classifies a request error.
type errKind int

const (
	// errRetry: transient (network, no leader, unknown outcome, 5xx): retry,
	// maybe elsewhere.
	errRetry errKind = iota
	// errUnknownAgent: the servers do not know this agent: register again.
	errUnknownAgent
	// errFatal: the request can never succeed (bad token, invalid body).
	errFatal
)

func classify(err error) errKind {
	var e *api.Error
	if errors.As(err, &e) {
		switch {
		case e.Code == api.CodeUnauthorized, e.Code == api.CodeInvalid, e.Code == api.CodeTooLarge:
			return errFatal
		case e.Code == api.CodeNotFound && e.Field == "id":
			return errUnknownAgent
		}
		return errRetry
	}
	if errors.Is(err, context.Canceled) {
		return errRetry
	}
	return errRetry
}

// leaderHint returns the leader address an error names, if any.
func leaderHint(err error) string {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Leader
	}
	return ""
}
