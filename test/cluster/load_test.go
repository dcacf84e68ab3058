package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/suanli/suanli/devcluster"
	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

// load drives the cluster with concurrent clients that submit workloads
// one by one (resubmitting the same ID after failed or unknown outcomes)
// and read random workloads linearizably, recording a porcupine history.
type load struct {
	c    *devcluster.Cluster
	hist *History
	// opTimeout bounds each request.
	opTimeout time.Duration
	// longFrac is the share of workloads that run for an hour (they stay
	// placed); the others run 1-3 s (they complete during the test).
	longFrac float64
	// stop, when closed, ends clients that run without a count.
	stop chan struct{}
	// mix, if set, chooses each submission instead of spec, and how long
	// the client waits before its next one.
	mix func(id string, rng *rand.Rand) (api.WorkloadSpec, time.Duration)

	mu        sync.Mutex
	announced []string          // IDs whose submission has begun
	acked     map[string]string // ID → created|exists
	specs     map[string]api.WorkloadSpec
	giveUps   []string

	done atomic.Int64 // finished submissions
}

func newLoad(c *devcluster.Cluster) *load {
	return &load{c: c, hist: NewHistory(), opTimeout: 3 * time.Second, longFrac: 0.75, stop: make(chan struct{}), acked: map[string]string{},
		specs: map[string]api.WorkloadSpec{}}
}

// spec is the workload a client submits: an hour long with probability
// longFrac, else 1-3 s.
func (l *load) spec(id string, rng *rand.Rand) api.WorkloadSpec {
	dur := 1000 + rng.Int64N(2000)
	if rng.Float64() < l.longFrac {
		dur = 3_600_000
	}
	origins := []string{"JN", "QD", "ZB", "WF", "YT"}
	return api.WorkloadSpec{ID: id, Class: "test", Origin: origins[rng.IntN(len(origins))],
		Request: nodes.Resources{CPUMilli: 250, MemoryMiB: 256}, DurationMs: dur}
}

// run starts n clients submitting perClient workloads each (0: until
// l.stop is closed); it returns when all are done (or gave up).
func (l *load) run(t *testing.T, n, perClient int, seed uint64) {
	var wg sync.WaitGroup
	for ci := 0; ci < n; ci++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(ci)))
			l.client(t, ci, perClient, rng)
		}()
	}
	wg.Wait()
}

func (l *load) client(t *testing.T, ci, perClient int, rng *rand.Rand) {
	servers := l.c.HTTPAddrs()
	client := l.hist.NewClient()
	for k := 0; perClient == 0 || k < perClient; k++ {
		if perClient == 0 {
			select {
			case <-l.stop:
				return
			default:
			}
		}
		id := fmt.Sprintf("w-%d-%04d", ci, k)
		var (
			s   api.WorkloadSpec
			gap time.Duration
		)
		if l.mix != nil {
			s, gap = l.mix(id, rng)
		} else {
			s = l.spec(id, rng)
		}
		l.mu.Lock()
		l.announced = append(l.announced, id)
		l.specs[id] = s
		l.mu.Unlock()
		// Resubmit the same ID (idempotent) until a definite answer, for up
		// to 30 s (longer than any outage the tests cause).
		ok := false
		backoff := 10 * time.Millisecond
		for deadline := time.Now().Add(30 * time.Second); !ok && time.Now().Before(deadline); {
			addr := servers[rng.IntN(len(servers))]
			out := l.submit(client, addr, s)
			switch out.Outcome {
			case Created, Exists:
				ok = true
				l.mu.Lock()
				l.acked[id] = out.Outcome
				l.mu.Unlock()
				continue
			case Unknown:
				client = l.hist.NewClient()
			}
			time.Sleep(backoff)
			backoff = min(2*backoff, 200*time.Millisecond)
		}
		if !ok {
			l.mu.Lock()
			l.giveUps = append(l.giveUps, id)
			l.mu.Unlock()
		}
		l.done.Add(1)
		if rng.IntN(3) == 0 {
			// Half the reads go to the newest IDs, whose submissions may
			// still be in flight (reads racing writes), half to any.
			l.mu.Lock()
			n := len(l.announced)
			k := rng.IntN(n)
			if rng.IntN(2) == 0 {
				k = n - 1 - rng.IntN(min(n, 8))
			}
			rid := l.announced[k]
			l.mu.Unlock()
			if out, recorded := l.read(client, servers[rng.IntN(len(servers))], rid); recorded && out.Outcome == Unknown {
				client = l.hist.NewClient()
			}
		}
		if gap > 0 {
			select {
			case <-l.stop:
			case <-time.After(gap):
			}
		}
	}
}

// submit sends one submission and records it.
func (l *load) submit(client int, addr string, s api.WorkloadSpec) Output {
	cl := api.NewClient(addr, l.c.Token())
	ctx, cancel := context.WithTimeout(context.Background(), l.opTimeout)
	defer cancel()
	call := l.hist.Now()
	res, err := cl.Submit(ctx, s)
	ret := l.hist.Now()
	var out Output
	switch {
	case err == nil:
		out.Outcome = res.Result
		if res.Workload != nil {
			out.CreateIndex, out.Status = res.Workload.CreateIndex, res.Workload.Status
		}
		if out.Outcome != Created && out.Outcome != Exists {
			out.Outcome = Unknown // unexpected answer: be conservative
		}
	case isDial(err):
		out.Outcome = Failed
	default:
		var e *api.Error
		if errors.As(err, &e) {
			switch e.Code {
			case api.CodeNoLeader, api.CodeNotLeader, api.CodeTimeout:
				out.Outcome = Failed
			default:
				out.Outcome = Unknown
			}
		} else {
			out.Outcome = Unknown
		}
	}
	l.hist.Add(client, Input{Op: OpSubmit, ID: s.ID}, call, out, ret)
	return out
}

// read reads one workload linearizably (?consistent) and records the
// answer if it is definite. An unknown outcome is reported (recorded
// false) so the client moves on under a new ID.
func (l *load) read(client int, addr, id string) (Output, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), l.opTimeout)
	defer cancel()
	call := l.hist.Now()
	var w api.Workload
	status, err := rawGet(ctx, addr, "", "/v1/workloads/"+url.PathEscape(id)+"?consistent", &w)
	ret := l.hist.Now()
	var out Output
	switch {
	case err == nil:
		out = Output{Outcome: Found, CreateIndex: w.CreateIndex, ModifyIndex: w.ModifyIndex, Status: w.Status}
	case status == 404:
		out = Output{Outcome: Absent}
	default:
		// A failed read has no effect; but if it never returned we cannot
		// reuse the client ID.
		if !isDial(err) && status == 0 {
			return Output{Outcome: Unknown}, false
		}
		return Output{}, false
	}
	l.hist.Add(client, Input{Op: OpRead, ID: id}, call, out, ret)
	return out, true
}

func (l *load) ackedIDs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]string, 0, len(l.acked))
	for id := range l.acked {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// checkLinearizable runs porcupine over the recorded history.
func (l *load) checkLinearizable(t *testing.T) {
	ops := l.hist.Operations()
	start := time.Now()
	res, info := Check(ops, 60*time.Second)
	t.Logf("porcupine: %d operations (%v), partitioned by workload ID: %v in %v", len(ops), l.hist.Counts(), res, time.Since(start).Round(time.Millisecond))
	if res != porcupine.Ok {
		f, err := createKeep("suanli-history-*.html")
		if err == nil {
			_ = visualize(info, f)
			f.Close()
			t.Errorf("history is not linearizable (%v); visualization: %s", res, f.Name())
		} else {
			t.Errorf("history is not linearizable (%v)", res)
		}
	}
}

// placementView is one consistent look at the cluster's placements.
type placementView struct {
	index uint64 // the Raft index both were read at
	work  map[string]api.Workload
	nodes map[string]api.Node
}

func readView(t *testing.T, c *devcluster.Cluster) placementView {
	t.Helper()
	return retry(t, "a consistent view of workloads and nodes", 30*time.Second, func(ctx context.Context) (placementView, error) {
		return tryView(ctx, leaderAddr(t, c))
	})
}

// tryView reads the workload list and the node list from addr, every page
// of both, and fails unless all reflect the same Raft index (nothing
// changed in between); paging that contradicts the protocol is errPaging.
func tryView(ctx context.Context, addr string) (placementView, error) {
	nl, err := listNodes(ctx, addr, consistentQ(), true)
	if err != nil {
		return placementView{}, err
	}
	all, idx, err := listWorkloads(ctx, addr, consistentQ(), true)
	if err != nil {
		return placementView{}, err
	}
	if idx != nl.Index {
		return placementView{}, fmt.Errorf("state changed between reads (index %d, then %d)", nl.Index, idx)
	}
	v := placementView{index: idx, work: map[string]api.Workload{}, nodes: map[string]api.Node{}}
	for _, w := range all {
		v.work[w.ID] = w
	}
	for _, n := range nl.Nodes {
		v.nodes[n.ID] = n
	}
	return v, nil
}

// checkPlacements checks, through the API: every acknowledged workload
// exists and is placed or finished (none lost, none pending), every live
// workload is on exactly one node, that node is up and belongs to a live
// agent, and no node holds more than its capacity.
func checkPlacements(t *testing.T, c *devcluster.Cluster, acked []string, liveAgents []string) placementView {
	t.Helper()
	return checkView(t, c, readView(t, c), acked, liveAgents, placedOrDone)
}

// placedOrDone accepts a workload that is placed, running or completed.
func placedOrDone(w api.Workload) string {
	switch w.Status {
	case api.StatusPlaced, api.StatusRunning, api.StatusCompleted:
		return ""
	}
	return "placed, running or completed"
}

// checkView runs checkPlacements' checks on the view v, with accept
// judging each acknowledged workload's status ("" = acceptable, else what
// was wanted).
func checkView(t *testing.T, c *devcluster.Cluster, v placementView, acked []string, liveAgents []string, accept func(api.Workload) string) placementView {
	t.Helper()
	alive := map[string]bool{}
	for _, a := range liveAgents {
		alive[a] = true
	}
	bad := 0
	report := func(format string, args ...any) {
		if bad < 20 {
			t.Errorf(format, args...)
		}
		bad++
	}
	for _, id := range acked {
		w, ok := v.work[id]
		if !ok {
			report("acknowledged workload %s is missing", id)
			continue
		}
		if want := accept(w); want != "" {
			report("acknowledged workload %s is %s (reason %q), want %s", id, w.Status, w.Reason, want)
		}
	}
	used := map[string]nodes.Resources{}
	for _, w := range v.work {
		if !api.Live(w.Status) {
			continue
		}
		n, ok := v.nodes[w.Node]
		if !ok {
			report("workload %s is %s on unknown node %q", w.ID, w.Status, w.Node)
			continue
		}
		if n.State != "up" || !alive[n.Agent] {
			report("workload %s is %s on node %s which is %s (agent %s, alive %v)", w.ID, w.Status, n.ID, n.State, n.Agent, alive[n.Agent])
		}
		used[w.Node] = used[w.Node].Add(w.Request)
	}
	for id, n := range v.nodes {
		u := used[id]
		if !n.Capacity.Fits(u) {
			report("node %s is over capacity: %v placed, capacity %v", id, u, n.Capacity)
		}
		if u != n.Used {
			report("node %s: workloads add up to %v, the node reports %v used", id, u, n.Used)
		}
	}
	// Exactly one node: the agents' assignment lists (what each agent is
	// told to run) hold every long-running live workload once, on its node.
	seen := map[string]string{}
	for _, a := range liveAgents {
		as := retry(t, "assignments of "+a, 20*time.Second, func(ctx context.Context) (api.Assignments, error) {
			var as api.Assignments
			_, err := rawGet(ctx, leaderAddr(t, c), c.Token(), "/v1/agent/"+a+"/assignments?index=0", &as)
			return as, err
		})
		for _, x := range as.Assignments {
			if prev, dup := seen[x.WorkloadID]; dup {
				report("workload %s is assigned twice: on %s and %s", x.WorkloadID, prev, x.NodeID)
			}
			seen[x.WorkloadID] = x.NodeID
		}
	}
	for _, w := range v.work {
		if api.Live(w.Status) && w.DurationMs >= 3_600_000 && seen[w.ID] != w.Node {
			report("long-running workload %s is %s on %s, but assigned to %q", w.ID, w.Status, w.Node, seen[w.ID])
		}
	}
	if bad > 20 {
		t.Errorf("… and %d more problems", bad-20)
	}
	return v
}

// waitNoPending waits until no workload is pending.
func waitNoPending(t *testing.T, c *devcluster.Cluster, timeout time.Duration) {
	t.Helper()
	waitUntil(t, "no pending workloads", timeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		l := c.Leader(ctx)
		if l == nil {
			return false
		}
		st, err := c.Client(l).Cluster(ctx)
		return err == nil && st.Counts.Workloads[api.StatusPending] == 0
	})
}

// appliedIndexes returns each running server's applied index.
func appliedIndexes(c *devcluster.Cluster) map[string]uint64 {
	out := map[string]uint64{}
	for _, s := range c.Servers {
		if !s.Running() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		h, err := c.Client(s).Health(ctx)
		cancel()
		if err == nil {
			out[s.ID] = h.AppliedIndex
		}
	}
	return out
}

// createKeep creates a file that outlives the test (for failure reports).
func createKeep(pattern string) (*os.File, error) { return os.CreateTemp("", pattern) }

func visualize(info porcupine.LinearizationInfo, f *os.File) error { return Visualize(info, f) }

// firstAckAfter is how long after at (history time) the first write
// called after at was acknowledged (-1 if none was).
func (l *load) firstAckAfter(at int64) time.Duration {
	best := int64(-1)
	for _, op := range l.hist.Operations() {
		o := op.Output.(Output)
		if op.Input.(Input).Op == OpSubmit && op.Call >= at && (o.Outcome == Created || o.Outcome == Exists) {
			if best < 0 || op.Return < best {
				best = op.Return
			}
		}
	}
	if best < 0 {
		return -1
	}
	return time.Duration(best - at)
}
