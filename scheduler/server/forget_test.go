package server

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
)

// forgetProbe is a policy that remembers work (like the optimizer's
// plan): it defers everything — "soon-" work by 300 ms, "now-" work by
// 1 ns, other work by an hour — rejects "rej-" work, and counts its decisions and Forget calls
// per workload.
type forgetProbe struct {
	mu      sync.Mutex
	decided map[string]int
	forgot  map[string]int
}

var probe = &forgetProbe{decided: map[string]int{}, forgot: map[string]int{}}

func init() {
	if err := scheduler.RegisterDecider("test-forget", "tests: defers everything, counts Forget calls",
		func(scheduler.Config) (scheduler.Decider, error) { return probe, nil }); err != nil {
		panic(err)
	}
}

func (p *forgetProbe) Decide(_ *scheduler.Snapshot, w *scheduler.Workload, now time.Time, _ *rand.Rand, ex *scheduler.Explanation) scheduler.Decision {
	if ex == nil {
		p.mu.Lock()
		p.decided[w.ID]++
		p.mu.Unlock()
	}
	if strings.HasPrefix(w.ID, "rej-") {
		return scheduler.Decision{Outcome: scheduler.Reject, Node: -1, Site: -1, Reason: scheduler.FilterLatency}
	}
	after := time.Hour
	switch {
	case strings.HasPrefix(w.ID, "soon-"):
		after = 300 * time.Millisecond
	case strings.HasPrefix(w.ID, "now-"):
		after = time.Nanosecond // due before the plan deferring it is applied
	}
	return scheduler.Decision{Outcome: scheduler.Defer, Node: -1, Site: -1, NotBefore: now.Add(after), Reason: scheduler.FilterNone}
}

func (p *forgetProbe) Forget(id string) {
	p.mu.Lock()
	p.forgot[id]++
	p.mu.Unlock()
}

// reset forgets the counts of earlier tests (and of -count runs).
func (p *forgetProbe) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.decided, p.forgot = map[string]int{}, map[string]int{}
}

func (p *forgetProbe) counts(id string) (decided, forgot int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.decided[id], p.forgot[id]
}

// TestLeaderForgetsWorkThatLeft: the leader tells its policy
// (Scheduler.Forget) when work it deferred is cancelled — through its API
// (at once), or by a cancel it did not see itself (when the deferral
// comes due) — and when it rejects work; never for work merely deferred
// again.
func TestLeaderForgetsWorkThatLeft(t *testing.T) {
	probe.reset()
	cfg := testConfig(t, "s1")
	cfg.Bootstrap, cfg.Policy = true, "test-forget"
	s := startServer(t, cfg)
	waitFor(t, "leader", 5*time.Second, s.IsLeader)
	c := client(s)
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 1)

	// Deferred for an hour, cancelled through the API: forgotten now.
	submitOK(t, c, wspec("later-1", 1000))
	waitFor(t, "later-1 deferred", 10*time.Second, func() bool {
		w, ok := s.FSM().Get("later-1")
		return ok && !w.NotBefore.IsZero()
	})
	if _, f := probe.counts("later-1"); f != 0 {
		t.Fatalf("later-1 forgotten %d times while deferred", f)
	}
	if _, err := c.Cancel(ctx(t), "later-1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "later-1 forgotten", 5*time.Second, func() bool { _, f := probe.counts("later-1"); return f == 1 })

	// Deferred again and again (300 ms each): not forgotten; cancelled by
	// a command this leader's API did not handle: forgotten when its
	// deferral comes due.
	submitOK(t, c, wspec("soon-1", 1000))
	waitFor(t, "soon-1 deferred three times", 10*time.Second, func() bool { d, _ := probe.counts("soon-1"); return d >= 3 })
	if _, f := probe.counts("soon-1"); f != 0 {
		t.Fatalf("soon-1 forgotten %d times while deferred again", f)
	}
	if _, _, e := s.apply(fsm.CmdCancel, &fsm.Cancel{At: time.Now(), ID: "soon-1"}); e != nil {
		t.Fatal(e)
	}
	waitFor(t, "soon-1 forgotten", 5*time.Second, func() bool { _, f := probe.counts("soon-1"); return f == 1 })

	// Rejected: forgotten.
	submitOK(t, c, wspec("rej-1", 1000))
	waitStatus(t, c, "rej-1", api.StatusRejected)
	waitFor(t, "rej-1 forgotten", 5*time.Second, func() bool { _, f := probe.counts("rej-1"); return f >= 1 })
}

// TestDeferralDueBeforeItsPlanIsApplied: a deferral that comes due while
// the plan deferring it is still being committed is looked at again once
// the plan is applied (it was dropped: the work stayed deferred in the
// FSM, decided once, until the next leader).
func TestDeferralDueBeforeItsPlanIsApplied(t *testing.T) {
	probe.reset()
	cfg := testConfig(t, "s1")
	cfg.Bootstrap, cfg.Policy = true, "test-forget"
	s := startServer(t, cfg)
	waitFor(t, "leader", 5*time.Second, s.IsLeader)
	c := client(s)
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 1)
	submitOK(t, c, wspec("now-1", 1000))
	waitFor(t, "now-1 decided again after each 1 ns deferral", 10*time.Second, func() bool { d, _ := probe.counts("now-1"); return d >= 3 })
	if _, err := c.Cancel(ctx(t), "now-1"); err != nil {
		t.Fatal(err)
	}
}
