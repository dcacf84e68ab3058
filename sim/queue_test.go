package sim

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/nodes/energy"
	"github.com/suanli/suanli/scheduler"
)

// oneNodeConfig is one site with one 64-core node and trace classes, so
// every arrival and its size are exact.
func oneNodeConfig(classes ...Class) *Config {
	loc := time.FixedZone("CST", 8*3600)
	jn := nodes.ShandongCities()[0]
	topo := nodes.Topology{
		Sites: []nodes.Site{{ID: "jn", City: jn.Code, Lat: jn.Lat, Lon: jn.Lon, Tier: nodes.TierCore, Role: nodes.RoleCoreZone, PUE: 1.25}},
		Nodes: []nodes.Node{{ID: "jn/cpu-0", Site: 0, Type: "cpu-64", Capacity: nodes.CPUServer}},
	}
	c := &Config{
		Name: "one-node", Seed: 1, Start: time.Date(2025, 4, 7, 0, 0, 0, 0, loc),
		Horizon: 4 * time.Hour, Interval: 15 * time.Minute,
		Topology: topo, Cities: nodes.ShandongCities(), Latency: nodes.DefaultLatencyModel(),
		NodePower: map[string]*energy.ServerPower{"cpu-64": mustServerPower(energy.CPUServerPowerSpec(), nodes.CPUServer)},
		Classes:   classes,
		Policies:  []string{"first-fit"},
	}
	c.NewEnergy = func(int) (EnergyModel, error) {
		return &testEnergy{pue: 1.25, capKWh: 1, rateKW: 1, eff: 0.9, carbon: 0.6, peakPrice: 1, offPrice: 0.3, scale: 1, loc: loc}, nil
	}
	return c
}

func rec(at time.Duration, cores int64, dur time.Duration) TraceRecord {
	return TraceRecord{At: at, Duration: dur, Request: nodes.Resources{CPUMilli: cores * 1000, MemoryMiB: 1024}}
}

// traceRows runs cfg under first-fit and returns the trace rows by id.
func traceRows(t *testing.T, cfg *Config) (map[string][]string, *Result) {
	t.Helper()
	var buf bytes.Buffer
	r, err := NewRunner(cfg, "first-fit", Options{Trace: &buf, CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run()
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		f := strings.Split(line, ",")
		rows[f[1]] = f
	}
	return rows, res
}

func secs(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("not a number of seconds: %q", s)
	}
	return v
}

// TestQueueRetryAndExpiry: work refused for capacity waits, starts within
// the retry quantum after capacity frees, and gives up after its patience.
func TestQueueRetryAndExpiry(t *testing.T) {
	cfg := oneNodeConfig(
		Class{Name: "big", Kind: Service, Patience: 2 * time.Hour, Records: []TraceRecord{
			rec(0, 48, time.Hour),               // big-0 runs 0–1 h
			rec(time.Minute, 48, time.Hour),     // big-1 waits for big-0
			rec(2*time.Minute, 8, time.Hour),    // big-2 fits beside big-0 at once
			rec(3*time.Minute, 48, time.Minute), // big-3 waits behind big-1 (head-of-line)
		}},
		Class{Name: "impatient", Kind: Service, Patience: 10 * time.Minute, Records: []TraceRecord{
			rec(5*time.Minute, 40, time.Hour), // never fits before its patience runs out
		}},
	)
	rows, res := traceRows(t, cfg)
	start := func(id string) float64 { return secs(t, rows[id][5]) }
	if got := start("big-0"); got != 0 {
		t.Errorf("big-0 started at %g s, want 0", got)
	}
	if got := start("big-2"); got != 120 {
		t.Errorf("big-2 started at %g s, want 120 (it fits at once)", got)
	}
	if got := start("big-1"); got < 3600 || got > 3600+30 {
		t.Errorf("big-1 started at %g s, want within the 30 s retry quantum after big-0 ends at 3600", got)
	}
	if got := start("big-3"); got < 7200 || got > 7200+30 {
		t.Errorf("big-3 started at %g s, want after big-1 ends at 7200 (FIFO, head-of-line)", got)
	}
	imp := rows["impatient-0"]
	if imp[9] != "rejected" || imp[10] != "expired" {
		t.Errorf("impatient-0: outcome %s %s, want rejected expired", imp[9], imp[10])
	}
	if res.RejectReasons["expired"] != 1 || res.Rejected != 1 {
		t.Errorf("got rejections %v, want exactly one expired", res.RejectReasons)
	}
}

// TestBatchWithoutDeadlineWaitsForever: batch work with neither patience
// nor deadline waits until capacity comes, however long.
func TestBatchWithoutDeadlineWaitsForever(t *testing.T) {
	cfg := oneNodeConfig(Class{Name: "job", Kind: Batch, Records: []TraceRecord{
		rec(0, 64, 3*time.Hour),
		rec(time.Minute, 64, time.Hour),
	}})
	rows, res := traceRows(t, cfg)
	if got := secs(t, rows["job-1"][5]); got < 3*3600 || got > 3*3600+30 {
		t.Errorf("job-1 started at %g s, want right after job-0 ends at 10800", got)
	}
	if res.Rejected != 0 {
		t.Errorf("got %d rejections, want none", res.Rejected)
	}
}

// TestOutageReplacesWork: running work on a node that goes down is
// interrupted and decided again; a service keeps its remaining lifetime,
// batch work restarts from its last checkpoint.
func TestOutageReplacesWork(t *testing.T) {
	cfg := oneNodeConfig(
		Class{Name: "svc", Kind: Service, Patience: 3 * time.Hour, Records: []TraceRecord{rec(0, 8, 2*time.Hour)}},
		Class{Name: "job", Kind: Batch, Checkpoint: 30 * time.Minute, Records: []TraceRecord{rec(0, 8, 2*time.Hour)}},
	)
	cfg.Events = []ScenarioEvent{{Kind: SiteOutage, Name: "down", At: 70 * time.Minute, Duration: 20 * time.Minute, Sites: []int{0}}}
	rows, res := traceRows(t, cfg)
	// The node is back at 90 min; the queue is retried then.
	if got := secs(t, rows["svc-0"][6]); got != 2*3600 {
		t.Errorf("service ended at %g s, want 7200 (its lifetime, not extended by the outage)", got)
	}
	// The job ran 70 min, kept 60 min of checkpoints, needs 60 more from 90 min.
	if got := secs(t, rows["job-0"][6]); got != 150*60 {
		t.Errorf("job ended at %g s, want 9000 (restart at 90 min from its 60-min checkpoint)", got)
	}
	if res.Interrupted != 2 || res.Events[0].Interrupted != 2 || res.Events[0].NodesDown != 1 {
		t.Errorf("got interrupted %d, event %+v; want 2 interrupted, 1 node down", res.Interrupted, res.Events[0])
	}
}

// TestPowerManagement follows three nodes of one site through switch-offs,
// the warm pool and a wake-up that delays the work placed on a node that
// was off.
func TestPowerManagement(t *testing.T) {
	cfg := oneNodeConfig(Class{Name: "job", Kind: Batch, Records: []TraceRecord{
		rec(0, 8, 30*time.Minute),         // job-0 on node 0, 0–30 min
		rec(time.Hour, 8, 10*time.Minute), // job-1: node 0 is off by then
	}})
	cfg.Horizon = 2 * time.Hour
	for i := 1; i < 3; i++ {
		n := cfg.Topology.Nodes[0]
		n.ID = "jn/cpu-" + strconv.Itoa(i)
		cfg.Topology.Nodes = append(cfg.Topology.Nodes, n)
	}
	plain := *cfg
	cfg.Power = PowerManagement{IdleOffAfter: 10 * time.Minute, OffW: 10, Wake: 2 * time.Minute, KeepOn: 1}
	// At 10 min node 1 goes off (two idle nodes on, one kept); node 2
	// stays as the warm pool. job-0 ends at 30 min, so node 0 goes off at
	// 40 min. At 1 h first-fit places job-1 on node 0: it boots for 2 min,
	// and the job ends at 1 h 12 min; node 0 is off again at 1 h 22 min.
	rows, res := traceRows(t, cfg)
	if got := secs(t, rows["job-1"][6]); got != 3600+120+600 {
		t.Errorf("job-1 ended at %g s, want 4320 (1 h + 2 min boot + 10 min)", got)
	}
	if rows["job-1"][8] != "jn/cpu-0" {
		t.Errorf("job-1 ran on %s, want the woken jn/cpu-0", rows["job-1"][8])
	}
	if res.SwitchOffs != 3 || res.Wakeups != 1 {
		t.Errorf("switch-offs %d, wake-ups %d; want 3 and 1", res.SwitchOffs, res.Wakeups)
	}
	// node 1 off 10 min–2 h, node 0 off 40–60 min and 82–120 min
	if want := (110.0 + 20 + 38) / 60; math.Abs(res.OffNodeHours-want) > 1e-9 {
		t.Errorf("off node-hours %g, want %g", res.OffNodeHours, want)
	}
	// Less IT energy than with every node on: the off nodes draw 10 W
	// instead of their idle power.
	_, base := traceRows(t, &plain)
	idleKW := mustServerPower(energy.CPUServerPowerSpec(), nodes.CPUServer).PowerW(nodes.Resources{}) / 1000
	// off time saves idle − 10 W; the woken node draws loaded power 2 min early
	saved := res.OffNodeHours * (idleKW - 0.010)
	if got := base.Energy.ITKWh - res.Energy.ITKWh; got <= 0 || got > saved+1e-9 || got < saved-0.1 {
		t.Errorf("IT energy saved %g kWh, want just under %g (off node-hours × (idle − off power))", got, saved)
	}
	if base.SwitchOffs != 0 || base.OffNodeHours != 0 || base.PowerManaged || !res.PowerManaged {
		t.Errorf("power management ran without being configured, or not when it was")
	}
}

// TestPowerManagementKeepOnAll: with a warm pool as large as the site
// nothing is ever switched off.
func TestPowerManagementKeepOnAll(t *testing.T) {
	cfg := oneNodeConfig(Class{Name: "job", Kind: Batch, Records: []TraceRecord{rec(0, 8, 30*time.Minute)}})
	cfg.Power = PowerManagement{IdleOffAfter: time.Minute, OffW: 10, Wake: time.Minute, KeepOn: 1}
	_, res := traceRows(t, cfg)
	if res.SwitchOffs != 0 {
		t.Errorf("switched %d nodes off, want none (the only node is the warm pool)", res.SwitchOffs)
	}
}

// TestPreemption: on a full node, higher-priority work evicts the
// lowest-priority work it needs room from; the evicted work waits and runs
// again (from its last checkpoint) once there is room; work of equal
// priority never evicts.
func TestPreemption(t *testing.T) {
	cfg := oneNodeConfig(
		Class{Name: "batch", Kind: Batch, Priority: 10, Checkpoint: 10 * time.Minute, Records: []TraceRecord{
			rec(0, 32, 2*time.Hour), // batch-0: 0–2 h unless evicted
			rec(0, 32, 2*time.Hour), // batch-1: fills the node
		}},
		Class{Name: "vip", Kind: Batch, Priority: 50, Records: []TraceRecord{
			rec(25*time.Minute, 16, 30*time.Minute), // 16 cores at 25 min: evicts one batch job
		}},
		Class{Name: "peer", Kind: Batch, Priority: 10, Records: []TraceRecord{
			rec(26*time.Minute, 32, time.Minute), // same priority as batch: waits, evicts nothing
		}},
	)
	cfg.Horizon = 6 * time.Hour
	cfg.Preempt = true
	rows, res := traceRows(t, cfg)
	if res.Preempted != 1 {
		t.Fatalf("preempted %d, want 1 (one 32-core batch job makes room for 16 cores)", res.Preempted)
	}
	if got := secs(t, rows["vip-0"][5]); got != 1500 {
		t.Errorf("vip-0 started at %g s, want 1500 (at once, by preemption)", got)
	}
	// Both batch jobs have priority 10 and 32 cores; the victim is the
	// lower record (batch-0).
	victim, other := rows["batch-0"], rows["batch-1"]
	if victim[15] != "1" || other[15] != "0" {
		t.Fatalf("interruptions: batch-0 %s, batch-1 %s; want batch-0 evicted once", victim[15], other[15])
	}
	// It had done 20 min (two checkpoints) of 2 h; it runs the remaining
	// 100 min once the vip has left room (at 55 min).
	start, end := secs(t, victim[5]), secs(t, victim[6])
	if end-start != 100*60 {
		t.Errorf("batch-0 ran %g s after eviction, want 6000 (2 h less two 10-min checkpoints)", end-start)
	}
	if start < 3300 {
		t.Errorf("batch-0 restarted at %g s, before the vip finished at 3300", start)
	}
	if p := rows["peer-0"]; secs(t, p[5]) < 3300 || p[15] != "0" {
		t.Errorf("peer-0 started at %s s (interruptions %s): equal priority must wait, not evict", p[5], p[15])
	}
	if res.Completed != 4 || res.Rejected != 0 {
		t.Errorf("completed %d, rejected %d; want all 4 completed", res.Completed, res.Rejected)
	}
	// without preemption the vip waits for a batch job to end
	cfg.Preempt = false
	rows, res = traceRows(t, cfg)
	if res.Preempted != 0 || secs(t, rows["vip-0"][5]) < 2*3600 {
		t.Errorf("without preemption: preempted %d, vip-0 started at %s s; want 0 and after 2 h", res.Preempted, rows["vip-0"][5])
	}
}

// TestPreemptionKeepsInvariants runs a congested province with class
// priorities (control above vision above analytics) and preemption under
// several policies, with every invariant checked each interval; some work
// must be preempted, none lost, and a second run must match the first.
func TestPreemptionKeepsInvariants(t *testing.T) {
	total := int64(0)
	for _, n := range []int{40, 100} {
		cfg := testConfig(n, 1)
		cfg.Preempt = true
		prio := map[string]int{"ctrl": 50, "vision": 20, "analytics": 0}
		for i := range cfg.Classes {
			cfg.Classes[i].Priority = prio[cfg.Classes[i].Name]
		}
		for _, p := range []string{"first-fit", "balanced", "carbon-window", "optimizer"} {
			var got [2]*Result
			for k := range got {
				r, err := NewRunner(cfg, p, Options{CheckInvariants: true})
				if err != nil {
					t.Fatal(err)
				}
				if got[k], err = r.Run(); err != nil {
					t.Fatalf("%d nodes, %s: %v", n, p, err)
				}
			}
			a, b := got[0], got[1]
			if a.Preempted != b.Preempted || a.Completed != b.Completed || a.Energy != b.Energy {
				t.Errorf("%d nodes, %s: two runs differ: preempted %d/%d completed %d/%d", n, p, a.Preempted, b.Preempted, a.Completed, b.Completed)
			}
			if s := a.Completed + a.Rejected + a.InFlight; s != a.Submitted {
				t.Errorf("%d nodes, %s: %d completed + rejected + in flight, %d submitted", n, p, s, a.Submitted)
			}
			total += a.Preempted
		}
	}
	if total == 0 {
		t.Error("no work was preempted: the test no longer exercises preemption")
	}
}

// TestInFlightDeadlineAccounting: at the horizon, work in flight counts as
// a deadline miss when the miss is certain: its deadline has passed, or it
// runs and is planned to end after it, or it waits and would end after it
// even if it started at the horizon. Waiting work that could still make
// its deadline is in flight only.
func TestInFlightDeadlineAccounting(t *testing.T) {
	slack := ConstDist(4.5) // deadline 4 h 30 min after arrival
	cfg := oneNodeConfig(Class{Name: "job", Kind: Batch, SlackHours: &slack, Records: []TraceRecord{
		rec(0, 64, 210*time.Minute),            // job-0 runs 0–3.5 h, on time
		rec(time.Minute, 64, 2*time.Hour),      // job-1 starts at 3.5 h, planned to end 5.5 h: late
		rec(2*time.Minute, 64, time.Hour),      // job-2 still queued at 4 h: 4 h + 1 h > 4 h 32 min
		rec(3*time.Minute, 64, 10*time.Minute), // job-3 queued at 4 h, could end 4 h 10 min < 4 h 33 min
		rec(4*time.Minute, 64, 5*time.Minute),  // job-4 likewise
	}})
	// one origin, so one FIFO queue
	cfg.Classes[0].OriginWeights = make([]float64, len(cfg.Cities))
	cfg.Classes[0].OriginWeights[0] = 1
	rows, res := traceRows(t, cfg)
	for id, want := range map[string]string{"job-0": "completed ", "job-1": "in-flight running", "job-2": "in-flight queued", "job-3": "in-flight queued", "job-4": "in-flight queued"} {
		if got := rows[id][9] + " " + rows[id][10]; got != want {
			t.Errorf("%s: %s, want %s", id, got, want)
		}
	}
	if res.InFlight != 4 || res.Completed != 1 || res.Rejected != 0 {
		t.Errorf("in flight %d, completed %d, rejected %d; want 4, 1, 0", res.InFlight, res.Completed, res.Rejected)
	}
	if res.DeadlineMisses != 2 || res.classes[0].DeadlineMisses != 2 {
		t.Errorf("deadline misses %d (class %d), want 2: job-1 (runs past it) and job-2 (cannot finish by it)", res.DeadlineMisses, res.classes[0].DeadlineMisses)
	}
}

// TestPatienceAfterDeferral: batch work a window policy deferred waits
// for capacity for its patience from when it comes back, not from its
// arrival (deferring is the policy's choice, not waiting).
func TestPatienceAfterDeferral(t *testing.T) {
	slack := ConstDist(16)
	cfg := oneNodeConfig(
		// arrives at 08:00 (peak price) with a deadline at midnight:
		// price-window defers it to 22:00 (off-peak)
		Class{Name: "job", Kind: Batch, SlackHours: &slack, Patience: time.Hour, Records: []TraceRecord{rec(8*time.Hour, 32, time.Hour)}},
		// fills the node from 21:50 to 22:30
		Class{Name: "blocker", Kind: Service, Records: []TraceRecord{rec(21*time.Hour+50*time.Minute, 64, 40*time.Minute)}},
	)
	cfg.Horizon = 26 * time.Hour
	var buf bytes.Buffer
	r, err := NewRunner(cfg, "price-window", Options{Trace: &buf, CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run()
	if err != nil {
		t.Fatal(err)
	}
	if res.Deferrals != 1 {
		t.Fatalf("%d deferrals, want the job deferred once (to 22:00)", res.Deferrals)
	}
	var job []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if f := strings.Split(line, ","); f[1] == "job-0" {
			job = f
		}
	}
	if job == nil || job[9] != "completed" || secs(t, job[5]) < 22.5*3600 || secs(t, job[5]) > 22.5*3600+30 {
		t.Errorf("job: %v; want it to wait from 22:00 and start when the blocker ends at 22:30, not give up (its patience of 1 h counted from 08:00 ran out at 09:00)", job)
	}
	if res.Rejected != 0 || res.DeadlineMisses != 0 {
		t.Errorf("rejected %d, deadline misses %d; want none", res.Rejected, res.DeadlineMisses)
	}
}

// TestInterruptedDeadlineWork: work an outage interrupts is decided again
// with what is left of it (all of it without checkpoints, the rest after
// its last checkpoint with them) against its unchanged deadline, so a
// window policy defers it again only when the restart still meets the
// deadline, and places it at once (late) when nothing can.
func TestInterruptedDeadlineWork(t *testing.T) {
	h := func(x float64) time.Duration { return time.Duration(x * float64(time.Hour)) }
	loose, tight := ConstDist(22), ConstDist(4)
	cfg := oneNodeConfig(
		// all arrive at 05:00 (off-peak: run at once) and run 3 h; the
		// site is down 07:00–07:15
		Class{Name: "loose", Kind: Batch, SlackHours: &loose, Records: []TraceRecord{rec(h(5), 8, h(3))}},
		Class{Name: "tight", Kind: Batch, SlackHours: &tight, Records: []TraceRecord{rec(h(5), 8, h(3))}},
		Class{Name: "ckpt", Kind: Batch, SlackHours: &tight, Checkpoint: 30 * time.Minute, Records: []TraceRecord{rec(h(5), 8, h(3))}},
	)
	cfg.Horizon = h(30)
	cfg.Events = []ScenarioEvent{{Kind: SiteOutage, Name: "down", At: h(7), Duration: 15 * time.Minute, Sites: []int{0}}}
	// The one-step slack only: with the default (the run time at risk,
	// 3 h) loose would no longer fit the evening window and run at once.
	cfg.Scheduler.DeferSlackFraction = -1
	run := func(opt Options) (map[string][]string, *Result) {
		var buf bytes.Buffer
		opt.Trace, opt.CheckInvariants = &buf, true
		r, err := NewRunner(cfg, "price-window", opt)
		if err != nil {
			t.Fatal(err)
		}
		if opt.Explain != nil {
			if err := r.RunUntil(int64(cfg.Horizon)); err != nil {
				t.Fatal(err)
			}
			return nil, nil
		}
		res, err := r.Run()
		if err != nil {
			t.Fatal(err)
		}
		rows := map[string][]string{}
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			f := strings.Split(line, ",")
			rows[f[1]] = f
		}
		return rows, res
	}
	rows, res := run(Options{})
	for _, id := range []string{"loose-0", "tight-0", "ckpt-0"} {
		if f := rows[id]; f[9] != "completed" || f[15] != "1" {
			t.Fatalf("%s: %v; want completed after one interruption", id, f)
		}
	}
	// loose: 3 h still fit before its deadline at 03:00, so the window
	// policy waits for the evening off-peak price again
	if f := rows["loose-0"]; secs(t, f[5]) < 20*3600 || secs(t, f[6]) > secs(t, f[12]) || f[13] != "false" {
		t.Errorf("loose: started %s s, ended %s s, deadline %s s, late %s; want it deferred to the evening, on time", f[5], f[6], f[12], f[13])
	}
	// tight: restarting at 07:15 for 3 h cannot meet 09:00: placed at
	// once, knowingly late, a miss
	if f := rows["tight-0"]; secs(t, f[5]) != 7.25*3600 || f[13] != "true" {
		t.Errorf("tight: started %s s, late %s; want at once at 26100 s, late", f[5], f[13])
	}
	// ckpt: 2 h done (4 checkpoints), 1 h left from 07:15: on time
	if f := rows["ckpt-0"]; secs(t, f[5]) != 7.25*3600 || secs(t, f[6]) != 8.25*3600 || f[13] != "false" {
		t.Errorf("ckpt: ran %s–%s s, late %s; want 26100–29700 s from its checkpoint, on time", f[5], f[6], f[13])
	}
	if res.DeadlineMisses != 1 || res.Deferrals != 1 || res.Interrupted != 3 {
		t.Errorf("misses %d, deferrals %d, interrupted %d; want 1 (tight), 1 (loose, after the outage), 3", res.DeadlineMisses, res.Deferrals, res.Interrupted)
	}
	// What the core is asked after the outage: the rest of the work,
	// against the deadline it arrived with.
	for _, tc := range []struct {
		class int
		rest  time.Duration
	}{{0, h(3)}, {2, h(1)}} {
		x := &ExplainTarget{Class: tc.class, Seq: 0, Decision: 3, Explanation: &scheduler.Explanation{}}
		run(Options{Explain: x})
		deadline := cfg.Start.Add(h(5) + h(cfg.Classes[tc.class].SlackHours.A))
		if !x.Done || x.Workload.Duration != tc.rest || !x.Workload.Deadline.Equal(deadline) || !x.At.Equal(cfg.Start.Add(h(7.25))) {
			t.Errorf("%s: decision 3 at %v asked for %v by %v; want %v by %v at 07:15", cfg.Classes[tc.class].Name, x.At, x.Workload.Duration, x.Workload.Deadline, tc.rest, deadline)
		}
	}
}
