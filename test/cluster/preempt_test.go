package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/suanli/suanli/devcluster"
	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

// preemptAgents are two agents with two 8-core nodes each (32 cores in
// all) at two sites: small enough that the preemption mix keeps them
// full. Memory (32 GiB a node, 256 MiB a workload) never binds, so a
// workload fits wherever its CPU does.
var preemptAgents = []devcluster.AgentSpec{
	{ID: "a1", Args: []string{"--site", "p-jn", "--city", "JN", "--role", "edge", "--nodes", "2", "--node-type", "cpu-8", "--speed", "1"}},
	{ID: "a2", Args: []string{"--site", "p-qd", "--city", "QD", "--role", "edge", "--nodes", "2", "--node-type", "cpu-8", "--speed", "1"}},
}

// Priorities of the preemption mix.
const (
	prioLow  = 0 // churn, and half the fillers (the other half are prioLow+1)
	prioMid  = 5
	prioHigh = 10
	// hourMs is a long-running workload's duration: it stays placed for
	// the whole test unless evicted.
	hourMs = 3_600_000
)

// preemptMix chooses the workloads of TestChaosPreempt. Classes:
//
//   - filler: priority 0 or 1, 1-4 cores, long-running; the first
//     submissions, enough to fill the cluster (and more), so that later
//     arrivals find no room;
//   - high: priority 10, 2 cores, mostly short (2-4 s), a few long-running;
//   - mid: priority 5, 2 cores short (1-3 s) or 3 cores long-running;
//   - churn: priority 0, 1 core, short (1-3 s).
//
// After the fillers, each client submits every 375-1125 ms: 30 % high
// short, 20 % mid short, 15 % high long-running (until 4 were handed
// out), 15 % mid long-running (until 3), the rest churn — about half once
// those are out, most of which waits, since the long-running work fills
// the cluster.
//
// Every high-priority workload asks for 2 cores and a node has 8, so as
// long as the high-priority work alive at once needs fewer cores than the
// cluster has, every high-priority workload must find a node by evicting
// lower-priority work (see inversions).
type preemptMix struct {
	fillers, highLong, midLong int           // caps on long-running work
	pace                       time.Duration // mean gap between a client's submissions

	mu     sync.Mutex
	handed map[string]int
}

func newPreemptMix() *preemptMix {
	return &preemptMix{fillers: 18, highLong: 4, midLong: 3, pace: 750 * time.Millisecond, handed: map[string]int{}}
}

func (m *preemptMix) take(class string, limit int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.handed[class] >= limit {
		return false
	}
	m.handed[class]++
	return true
}

var mixOrigins = []string{"JN", "QD", "ZB", "WF", "YT"}

func (m *preemptMix) next(id string, rng *rand.Rand) (api.WorkloadSpec, time.Duration) {
	s := api.WorkloadSpec{ID: id, Origin: mixOrigins[rng.IntN(len(mixOrigins))], Request: nodes.Resources{MemoryMiB: 256}}
	short := func(lo, hi int64) int64 { return lo + rng.Int64N(hi-lo+1) }
	gap := m.pace/2 + time.Duration(rng.Int64N(int64(m.pace)))
	switch r := rng.IntN(100); {
	case m.take("filler", m.fillers):
		s.Class, s.Priority, s.Request.CPUMilli, s.DurationMs = "filler", prioLow+rng.IntN(2), 1000*(1+rng.Int64N(4)), hourMs
		gap = 0
	case r < 30:
		s.Class, s.Priority, s.Request.CPUMilli, s.DurationMs = "high", prioHigh, 2000, short(2000, 4000)
	case r < 50:
		s.Class, s.Priority, s.Request.CPUMilli, s.DurationMs = "mid", prioMid, 2000, short(1000, 3000)
	case r >= 70 && r < 85 && m.take("high-long", m.highLong):
		s.Class, s.Priority, s.Request.CPUMilli, s.DurationMs = "high", prioHigh, 2000, hourMs
	case r >= 85 && m.take("mid-long", m.midLong):
		s.Class, s.Priority, s.Request.CPUMilli, s.DurationMs = "mid", prioMid, 3000, hourMs
	default:
		s.Class, s.Priority, s.Request.CPUMilli, s.DurationMs = "churn", prioLow, 1000, short(1000, 3000)
	}
	return s, gap
}

// viewProblems checks one consistent view (workloads and nodes at one
// Raft index): every live workload is on a known node that is up, the
// live workloads on a node add up to what the node reports used, and no
// node holds more than its capacity.
func viewProblems(v placementView) []string {
	var out []string
	used := map[string]nodes.Resources{}
	for _, w := range v.work {
		if !api.Live(w.Status) {
			continue
		}
		n, ok := v.nodes[w.Node]
		if !ok {
			out = append(out, fmt.Sprintf("workload %s is %s on unknown node %q", w.ID, w.Status, w.Node))
			continue
		}
		if n.State != "up" {
			out = append(out, fmt.Sprintf("workload %s is %s on node %s, which is %s", w.ID, w.Status, n.ID, n.State))
		}
		used[w.Node] = used[w.Node].Add(w.Request)
	}
	for id, n := range v.nodes {
		if u := used[id]; u != n.Used {
			out = append(out, fmt.Sprintf("node %s: live workloads add up to %v, the node reports %v used", id, u, n.Used))
		}
		if !n.Capacity.Fits(n.Used) {
			out = append(out, fmt.Sprintf("node %s is over capacity: %v used, capacity %v", id, n.Used, n.Capacity))
		}
	}
	sort.Strings(out)
	return out
}

// quiescent reports whether nothing in v is left for the leader to plan:
// every pending workload waits for capacity (none is in the ready queue,
// none deferred), so no plan is in flight either.
func quiescent(v placementView) bool {
	for _, w := range v.work {
		if w.Status == api.StatusPending && (!w.Waiting || !w.NotBefore.IsZero()) {
			return false
		}
	}
	return true
}

// inversions checks, on a quiescent view, the scheduler's preemption rule
// (scheduler/preempt.go) against every waiting workload: a workload W of
// priority p waits only if no node that is up could hold it, either in
// its free capacity or by evicting live work of priority < p — that is,
// for every up node n,
//
//	free(n) + Σ{request of v live on n : v.priority < p}
//
// does not fit W's request. This is exactly the condition under which the
// core places W (free space) or preempts for it (victimsOn succeeds), for
// workloads with no latency bound, deadline, tier, site or GPU
// restriction (the mix has none), so every site passes every filter but
// capacity. A waiting workload that breaks it is a priority inversion (or
// plain lost capacity): the leader parked it and nothing woke it although
// its turn has come. Only quiescent views are checked: elsewhere a
// workload may still be on its way through the ready queue.
func inversions(v placementView) []string {
	lower := func(node string, p int) nodes.Resources {
		var sum nodes.Resources
		for _, w := range v.work {
			if api.Live(w.Status) && w.Node == node && w.Priority < p {
				sum = sum.Add(w.Request)
			}
		}
		return sum
	}
	var ids []string
	for id, w := range v.work {
		if w.Status == api.StatusPending {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var nodeIDs []string
	for id := range v.nodes {
		nodeIDs = append(nodeIDs, id)
	}
	sort.Strings(nodeIDs)
	var out []string
	for _, id := range ids {
		w := v.work[id]
		for _, nid := range nodeIDs {
			n := v.nodes[nid]
			if n.State != "up" || !n.Capacity.Fits(w.Request) {
				continue
			}
			free := n.Capacity.Sub(n.Used)
			low := lower(nid, w.Priority)
			if free.Add(low).Fits(w.Request) {
				out = append(out, fmt.Sprintf("workload %s (priority %d, %d millicores, reason %q) waits, but node %s has %d millicores free and %d held by lower priorities",
					id, w.Priority, w.Request.CPUMilli, w.Reason, nid, free.CPUMilli, low.CPUMilli))
				break
			}
		}
	}
	return out
}

// Counters the preemption watcher sums over servers and restarts.
const (
	metricPreemptions = "suanli_preemptions_total"
	// metricStaleEvents counts agent events ignored because they were
	// about an earlier placement of their workload (a run evicted or
	// moved, reporting late).
	metricStaleEvents = `suanli_agent_events_ignored_total{reason="placement"}`
)

// preemptWatch watches a cluster while TestChaosPreempt runs: every
// second it reads the servers' counters (metricPreemptions,
// metricStaleEvents) and a consistent
// view from the leader, which it checks (viewProblems, and inversions when
// the view is quiescent) and compares with the previous view to note the
// workloads it sees re-queued: live on a node that is up in both views,
// and then pending, or live elsewhere or placed anew (evicted, or its node
// went down and up again in between).
type preemptWatch struct {
	c    *devcluster.Cluster
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	views    int // consistent views checked
	quiet    int // of which quiescent (inversions checked)
	prev     placementView
	requeued map[string]bool
	problems []string
	counters map[string]map[string]*procCounter // metric → server → counter
}

// procCounter sums a counter over the incarnations of one process (a
// restart starts it from 0 again).
type procCounter struct {
	starts     int
	base, last float64
}

func (p *procCounter) total() float64 { return p.base + p.last }

func watchPreempt(c *devcluster.Cluster) *preemptWatch {
	w := &preemptWatch{c: c, stop: make(chan struct{}), done: make(chan struct{}), requeued: map[string]bool{},
		counters: map[string]map[string]*procCounter{metricPreemptions: {}, metricStaleEvents: {}}}
	go w.loop()
	return w
}

func (w *preemptWatch) loop() {
	defer close(w.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		w.readCounters()
		w.checkOnce()
	}
}

// end stops the watcher and reads the counters one last time.
func (w *preemptWatch) end() {
	close(w.stop)
	<-w.done
	w.readCounters()
}

func (w *preemptWatch) readCounters() {
	for _, s := range w.c.Servers {
		if !s.Running() {
			continue
		}
		starts := s.Starts()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		vs, err := metricValues(ctx, s.HTTPAddr, metricPreemptions, metricStaleEvents)
		cancel()
		if err != nil || s.Starts() != starts {
			continue
		}
		w.mu.Lock()
		for name, v := range vs {
			pc := w.counters[name][s.ID]
			if pc == nil {
				pc = &procCounter{starts: starts}
				w.counters[name][s.ID] = pc
			}
			if pc.starts != starts {
				pc.base += pc.last
				pc.starts, pc.last = starts, 0
			}
			pc.last = max(pc.last, v)
		}
		w.mu.Unlock()
	}
}

// preemptions is the sum of suanli_preemptions_total over every server
// and incarnation, as last read (a lower bound: what a server counted
// after its last read before a SIGKILL is lost).
func (w *preemptWatch) preemptions() float64 { return w.sum(metricPreemptions) }

// sum is the sum of a counter over every server and incarnation, as last
// read.
func (w *preemptWatch) sum(metric string) float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var sum float64
	for _, pc := range w.counters[metric] {
		sum += pc.total()
	}
	return sum
}

func (w *preemptWatch) checkOnce() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	l := w.c.Leader(ctx)
	if l == nil {
		return
	}
	var v placementView
	var err error
	for try := 0; try < 3; try++ {
		if v, err = tryView(ctx, l.HTTPAddr); err == nil || errors.Is(err, errPaging) {
			break
		}
	}
	if errors.Is(err, errPaging) {
		w.mu.Lock()
		w.problems = append(w.problems, err.Error())
		w.mu.Unlock()
		return
	}
	if err != nil {
		return
	}
	probs := viewProblems(v)
	q := quiescent(v)
	if q {
		probs = append(probs, inversions(v)...)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.views++
	if q {
		w.quiet++
	}
	for _, p := range probs {
		w.problems = append(w.problems, fmt.Sprintf("index %d: %s", v.index, p))
	}
	for id, before := range w.prev.work {
		x, ok := v.work[id]
		if !ok || !api.Live(before.Status) || w.prev.nodes[before.Node].State != "up" || v.nodes[before.Node].State != "up" {
			continue
		}
		if x.Status == api.StatusPending || api.Live(x.Status) && (x.Node != before.Node || !x.PlacedAt.Equal(before.PlacedAt)) {
			w.requeued[id] = true
		}
	}
	w.prev = v
}

// metricValues reads samples from a server's /metrics, each named as the
// text format prints it (name, or name{labels}); a sample absent from the
// page (a labelled counter never incremented) is 0.
func metricValues(ctx context.Context, addr string, names ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := make(map[string]float64, len(names))
	for _, n := range names {
		out[n] = 0
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		for _, n := range names {
			if v, ok := strings.CutPrefix(sc.Text(), n+" "); ok {
				if out[n], err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, sc.Err()
}

// ranWhole checks that a completed workload ran its whole duration in
// its last placement: its agent reported it started (StartedAt), and
// completed it its duration later (the preemption agents run at speed 1;
// both times are the agent's, and an agent that restarts finishes
// running work on its original schedule). A late "completed" of an
// earlier run — evicted, then placed again on the same node — finished
// the new run early, or before it started (no StartedAt: the new run's
// "started" came after it and was ignored).
func ranWhole(w api.Workload) string {
	if w.Status != api.StatusCompleted {
		return ""
	}
	d := time.Duration(w.DurationMs) * time.Millisecond
	if w.StartedAt.IsZero() {
		return fmt.Sprintf("completed at %s (placement %d) without having started", w.FinishedAt.Format(time.RFC3339Nano), w.Placement)
	}
	if ran := w.FinishedAt.Sub(w.StartedAt); ran < d {
		return fmt.Sprintf("completed %v after it started (placement %d), want its duration, %v", ran, w.Placement, d)
	}
	return ""
}

// acceptPreempt is which statuses TestChaosPreempt allows at its end, on a
// quiescent view where every node is up: high-priority work is placed or
// running, or completed if short — never pending (at most 4 long-running
// and the few short ones submitted in the last seconds, all 2 cores,
// against 16 2-core slots: by the inversion rule each must have a node);
// mid-priority, filler and churn work is placed or running, or completed
// if short, or pending and waiting for capacity with a reason. Failed,
// cancelled and rejected are never acceptable, nor is a long-running
// workload completed.
func acceptPreempt(w api.Workload) string {
	long := w.DurationMs >= hourMs
	switch {
	case api.Live(w.Status):
		return ""
	case !long && w.Status == api.StatusCompleted:
		return ""
	case w.Priority < prioHigh && w.Status == api.StatusPending && w.Waiting && w.Reason != "":
		return ""
	}
	what := "placed, running or completed"
	if long {
		what = "placed or running"
	}
	if w.Priority >= prioHigh {
		return what + " (high priority: never left pending)"
	}
	return what + ", or pending and waiting for capacity with a reason"
}

// waitQuiescentView waits for a consistent view in which every node is up
// and nothing is left to plan (quiescent), and returns it. Short work may
// still be running: its completion will wake waiting work, but in this
// view every waiting workload had its turn.
func waitQuiescentView(t *testing.T, c *devcluster.Cluster, timeout time.Duration) placementView {
	t.Helper()
	var (
		v    placementView
		last string
	)
	waited := waitUntil(t, "a quiescent cluster (every node up, nothing ready)", timeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		if v, err = tryView(ctx, leaderAddr(t, c)); pagingOK(t, err) != nil {
			last = err.Error()
			return false
		}
		for _, n := range v.nodes {
			if n.State != "up" {
				last = "node " + n.ID + " is " + n.State
				return false
			}
		}
		if !quiescent(v) {
			last = "work in the ready queue"
			return false
		}
		return true
	})
	t.Logf("quiescent after %v at index %d (last obstacle: %q)", waited.Round(time.Millisecond), v.index, last)
	return v
}

// checkAssignmentsExact checks that the agents' assignment lists hold
// exactly the live workloads, each once, on the node the FSM has it on
// (nothing evicted still assigned, nothing live missing). It reads a
// view, the lists, and the view again, and compares only when nothing
// changed in between.
func checkAssignmentsExact(t *testing.T, c *devcluster.Cluster) {
	t.Helper()
	type assigned struct{ node, agent string }
	var (
		v    placementView
		got  map[string]assigned
		dups []string
	)
	retry(t, "an unchanged view around the agents' assignment lists", 30*time.Second, func(ctx context.Context) (bool, error) {
		addr := leaderAddr(t, c)
		v1, err := tryView(ctx, addr)
		if err != nil {
			return false, err
		}
		got, dups = map[string]assigned{}, nil
		for _, a := range c.Agents {
			var as api.Assignments
			if _, err := rawGet(ctx, addr, c.Token(), "/v1/agent/"+a.ID+"/assignments?index=0", &as); err != nil {
				return false, err
			}
			for _, x := range as.Assignments {
				if prev, dup := got[x.WorkloadID]; dup {
					dups = append(dups, fmt.Sprintf("%s on %s (%s) and %s (%s)", x.WorkloadID, prev.node, prev.agent, x.NodeID, a.ID))
				}
				got[x.WorkloadID] = assigned{x.NodeID, a.ID}
			}
		}
		v2, err := tryView(ctx, addr)
		if err != nil {
			return false, err
		}
		if v1.index != v2.index {
			return false, fmt.Errorf("state changed (index %d, then %d)", v1.index, v2.index)
		}
		v = v1
		return true, nil
	})
	for _, d := range dups {
		t.Errorf("assigned twice: %s", d)
	}
	live := 0
	for _, w := range v.work {
		if !api.Live(w.Status) {
			if a, ok := got[w.ID]; ok {
				t.Errorf("workload %s is %s (reason %q), but agent %s is told to run it on %s", w.ID, w.Status, w.Reason, a.agent, a.node)
			}
			continue
		}
		live++
		a, ok := got[w.ID]
		switch {
		case !ok:
			t.Errorf("workload %s is %s on %s, but no agent is told to run it", w.ID, w.Status, w.Node)
		case a.node != w.Node || a.agent != w.Agent:
			t.Errorf("workload %s is %s on %s (agent %s), but assigned to %s (agent %s)", w.ID, w.Status, w.Node, w.Agent, a.node, a.agent)
		}
	}
	for id := range got {
		if _, ok := v.work[id]; !ok {
			t.Errorf("agent is told to run %s, which the servers do not know", id)
		}
	}
	t.Logf("assignment lists: %d entries, %d live workloads", len(got), live)
}

// TestChaosPreempt runs the preemption mix (preemptMix) against 3 servers
// started with --preempt and 2 small agents (4 × 8 cores), which it keeps
// full, while the faults of TestChaos are injected. Without SUANLI_CHAOS
// it is short (about 30 s): a fixed sequence of one fault of each main
// kind. With SUANLI_CHAOS (make chaos-preempt) it injects random faults for
// that long, from SUANLI_CHAOS_SEED.
//
// While it runs, a watcher checks consistent views of the cluster every
// second (viewProblems; inversions when quiescent) and sums
// suanli_preemptions_total. At the end, with every process back, every
// node up and the cluster quiescent (nothing to plan), it checks:
// every acknowledged workload present with a status acceptPreempt allows
// for its priority and length; live work on up nodes of live agents, no
// node over capacity; the agents' assignment lists exactly the live work,
// each workload once, on its node; no inversion; every workload seen
// evicted still present (re-placed, or waiting with a reason); the
// history linearizable; the servers at one applied index; and at least
// one preemption counted (the test cannot pass vacuously).
func TestChaosPreempt(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test; skipped with -short")
	}
	d, long := chaosDuration(t)
	seed := chaosSeed(t)
	script := []string{faultKillAgent, faultKillLeader, faultPauseFollower, faultKillTwoServers}
	if long {
		t.Logf("preemption chaos for %v, seed %d", d, seed)
	} else {
		t.Logf("short preemption chaos (SUANLI_CHAOS unset): faults %q, seed %d", script, seed)
	}
	testStart := time.Now()
	c := startCluster(t, devcluster.Options{Servers: 3, Agents: preemptAgents, Preempt: true})
	mix := newPreemptMix()
	l := newLoad(c)
	l.mix = mix.next
	w := watchPreempt(c)
	var loadWG sync.WaitGroup
	loadWG.Add(1)
	go func() { defer loadWG.Done(); l.run(t, 3, 0, seed) }()

	ctx, cancel := context.WithTimeout(context.Background(), d+5*time.Minute)
	defer cancel()
	f := newFaults(t, c, seed, ctx)
	f.progress = func() string {
		return fmt.Sprintf("submissions so far %d, preemptions %.0f", l.done.Load(), w.preemptions())
	}
	// Let the fillers fill the cluster and the first arrivals preempt.
	time.Sleep(4 * time.Second)
	if long {
		f.run(d)
	} else {
		for _, k := range script {
			f.step(k)
			f.pause(500*time.Millisecond, time.Second)
		}
	}
	close(l.stop)
	loadWG.Wait()
	f.restartAgents()
	f.report()
	t.Logf("load: %v; handed out %v", l.hist.Counts(), mix.handed)
	if len(l.giveUps) > 0 {
		t.Errorf("%d submissions never got a definite answer: %v", len(l.giveUps), l.giveUps[:min(10, len(l.giveUps))])
	}
	waitNodesUp(t, c, 60*time.Second)
	v := waitQuiescentView(t, c, time.Minute)
	w.end()

	w.mu.Lock()
	t.Logf("watcher: %d consistent views checked during the run, %d quiescent (inversions checked); %d workloads seen re-queued from a node that stayed up",
		w.views, w.quiet, len(w.requeued))
	for i, p := range w.problems {
		if i == 20 {
			t.Errorf("… and %d more problems during the run", len(w.problems)-20)
			break
		}
		t.Errorf("during the run: %s", p)
	}
	requeued := make([]string, 0, len(w.requeued))
	for id := range w.requeued {
		requeued = append(requeued, id)
	}
	w.mu.Unlock()

	for _, p := range viewProblems(v) {
		t.Errorf("at the end: %s", p)
	}
	for _, p := range inversions(v) {
		t.Errorf("at the end: %s", p)
	}
	acked := l.ackedIDs()
	checkView(t, c, v, acked, []string{"a1", "a2"}, acceptPreempt)
	checkAssignmentsExact(t, c)
	// Re-queued work is acknowledged work, so acceptPreempt judged it
	// already; this says so for the workloads seen re-queued in particular.
	sort.Strings(requeued)
	back := map[string]int{}
	for _, id := range requeued {
		x, ok := v.work[id]
		if !ok {
			t.Errorf("workload %s was seen re-queued and is now missing", id)
			continue
		}
		if want := acceptPreempt(x); want != "" {
			t.Errorf("workload %s was seen re-queued and is now %s (reason %q), want %s", id, x.Status, x.Reason, want)
		}
		back[x.Status]++
	}
	t.Logf("workloads seen re-queued, by status at the end: %v", back)
	// What the end looks like, by class and status.
	tally := map[string]int{}
	for _, id := range acked {
		x := v.work[id]
		kind := x.Class
		if x.DurationMs >= hourMs {
			kind += "(long)"
		}
		tally[kind+" "+x.Status]++
	}
	t.Logf("acknowledged workloads at the end: %d; by class and status: %v", len(acked), tally)
	completed := 0
	for _, id := range acked {
		if p := ranWhole(v.work[id]); p != "" {
			t.Errorf("workload %s: %s", id, p)
		}
		if v.work[id].Status == api.StatusCompleted {
			completed++
		}
	}
	t.Logf("completed workloads that ran their whole duration in their last placement: %d; agent events ignored as about an earlier placement: %.0f",
		completed, w.sum(metricStaleEvents))
	l.checkLinearizable(t)
	waitSameIndex(t, c, 30*time.Second)
	p := w.preemptions()
	t.Logf("preemptions counted (suanli_preemptions_total over servers and restarts): %.0f; total test time %v", p, time.Since(testStart).Round(time.Millisecond))
	if p == 0 {
		t.Error("no preemption was counted: the test exercised nothing")
	}
}
