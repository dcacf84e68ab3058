package fsm

import (
	"bytes"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/scenarios"
	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/sim"
)

func u64(v uint64) *uint64 { return &v }

// TestSetScheduler: a valid configuration is set at its entry's index;
// check-and-set and bad configurations are refused with the field, the
// state unchanged; a replica applying the same log agrees.
func TestSetScheduler(t *testing.T) {
	h := setup(t)
	if _, ok := h.f.Scheduler(); ok {
		t.Fatal("a new FSM has a scheduler configuration")
	}
	first := DefaultSchedulerConfig("first-fit", false)
	r := h.must(CmdScheduler, &SetScheduler{Config: first, CAS: u64(0)}).(*SetSchedulerResult)
	setAt := h.idx
	if r.ModifyIndex != setAt || r.Config != first {
		t.Fatalf("result %+v, want the config at index %d", r, setAt)
	}
	opt := DefaultSchedulerConfig("optimizer", true)
	opt.Optimizer.Tolerance = 0.2
	bad := func(mut func(*api.SchedulerConfig)) api.SchedulerConfig {
		c := opt
		mut(&c)
		return c
	}
	for _, tc := range []struct {
		name      string
		cmd       SetScheduler
		code      string
		field     string
		inMessage string
	}{
		{"seed when one is set", SetScheduler{Config: opt, CAS: u64(0)}, api.CodeConflict, "cas", "set at index"},
		{"stale cas", SetScheduler{Config: opt, CAS: u64(setAt - 1)}, api.CodeConflict, "cas", "is stale"},
		{"unknown policy", SetScheduler{Config: bad(func(c *api.SchedulerConfig) { c.Policy = "fastest" })}, api.CodeInvalid, "policy", "allowed: balanced"},
		{"no policy", SetScheduler{Config: bad(func(c *api.SchedulerConfig) { c.Policy = "" })}, api.CodeInvalid, "policy", "required"},
		{"negative weight", SetScheduler{Config: bad(func(c *api.SchedulerConfig) { c.Weights.Latency = -1 })}, api.CodeInvalid, "weights.latency", "[0, 1000]"},
		{"zero weights", SetScheduler{Config: bad(func(c *api.SchedulerConfig) { c.Weights = api.SchedulerWeights{} })}, api.CodeInvalid, "weights", "every weight is 0"},
		{"node candidates", SetScheduler{Config: bad(func(c *api.SchedulerConfig) { c.NodeCandidates = 33 })}, api.CodeInvalid, "node_candidates", "[1, 32]"},
		{"threshold", SetScheduler{Config: bad(func(c *api.SchedulerConfig) { c.DeferThreshold = 1.5 })}, api.CodeInvalid, "defer_threshold", "[0, 1]"},
		{"slack", SetScheduler{Config: bad(func(c *api.SchedulerConfig) { c.DeferSlackMs = 8 * 24 * 3600 * 1000 })}, api.CodeInvalid, "defer_slack_ms", "[0, 604800000]"},
		{"slack overflow", SetScheduler{Config: bad(func(c *api.SchedulerConfig) { c.DeferSlackMs = 1 << 62 })}, api.CodeInvalid, "defer_slack_ms", "7 days"},
		{"slack fraction", SetScheduler{Config: bad(func(c *api.SchedulerConfig) { c.DeferSlackFraction = -0.5 })}, api.CodeInvalid, "defer_slack_fraction", "[0, 10]"},
		{"utilization", SetScheduler{Config: bad(func(c *api.SchedulerConfig) { c.Optimizer.Utilization = 0 })}, api.CodeInvalid, "optimizer.utilization", "(0, 1]"},
		{"optimizer weights", SetScheduler{Config: bad(func(c *api.SchedulerConfig) { c.Optimizer.CarbonWeight, c.Optimizer.PriceWeight = 0, 0 })}, api.CodeInvalid, "optimizer.carbon_weight", "both 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.apply(CmdScheduler, &tc.cmd)
			e, ok := res.(*api.Error)
			if !ok || e.Code != tc.code || e.Field != tc.field || !strings.Contains(e.Message, tc.inMessage) {
				t.Fatalf("got %#v, want %s on %s mentioning %q", res, tc.code, tc.field, tc.inMessage)
			}
			if st, _ := h.f.Scheduler(); st.ModifyIndex != setAt || st.Config != first {
				t.Fatalf("refused command changed the configuration: %+v", st)
			}
		})
	}
	r = h.must(CmdScheduler, &SetScheduler{Config: opt, CAS: u64(setAt)}).(*SetSchedulerResult)
	if r.ModifyIndex != h.idx || r.Config != opt {
		t.Fatalf("cas at the current index: %+v", r)
	}
	h.must(CmdScheduler, &SetScheduler{Config: first}) // no cas: unconditional
	if st, _ := h.f.Scheduler(); st.ModifyIndex != h.idx || st.Config != first {
		t.Fatalf("after an unconditional set: %+v", st)
	}
	// Deterministic: a replica applying the same log, refusals included,
	// holds the same state.
	g := New(Config{})
	for i, b := range h.log {
		g.Apply(uint64(i+1), b)
	}
	if ok, diff := Equal(h.f, g); !ok {
		t.Fatal(diff)
	}
}

// TestSchedulerSnapshot: snapshots keep the configuration; a version-1
// snapshot written before it existed restores with none; one holding an
// invalid configuration is refused.
func TestSchedulerSnapshot(t *testing.T) {
	h := setup(t)
	var old bytes.Buffer
	if err := h.f.Snapshot().Write(&old); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(old.Bytes(), []byte(`"scheduler"`)) {
		t.Fatalf("a snapshot without a configuration names one: %.300s", old.String())
	}
	c := DefaultSchedulerConfig("carbon-window", true)
	c.DeferSlackMs = 2 * 3600 * 1000
	h.must(CmdScheduler, &SetScheduler{Config: c})
	var buf bytes.Buffer
	if err := h.f.Snapshot().Write(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"scheduler":{"config":{"policy":"carbon-window","preempt":true,`)) {
		t.Fatalf("snapshot lacks the configuration: %.600s", buf.String())
	}
	g := New(Config{})
	if err := g.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if st, ok := g.Scheduler(); !ok || st.Config != c || st.ModifyIndex != h.idx {
		t.Fatalf("restored %+v %v, want %+v at %d", st, ok, c, h.idx)
	}
	if ok, diff := Equal(h.f, g); !ok {
		t.Fatal(diff)
	}
	// The version-1 format as written before the configuration existed.
	if err := g.Restore(bytes.NewReader(old.Bytes())); err != nil {
		t.Fatal(err)
	}
	if st, ok := g.Scheduler(); ok {
		t.Fatalf("restored an old snapshot with a configuration: %+v", st)
	}
	v1 := `{"version":1,"index":3,"seq":0,"ready_seq":0,"park_seq":0,"cap_epoch":0,"sites":[],"nodes":[],"agents":null,"servers":[],"workloads":[],"terminal":null}`
	if err := g.Restore(strings.NewReader(v1)); err != nil {
		t.Fatalf("hand-written version-1 snapshot: %v", err)
	}
	if _, ok := g.Scheduler(); ok {
		t.Fatal("a version-1 snapshot without the field restored with a configuration")
	}
	for _, tc := range []struct{ from, to, want string }{
		{`"policy":"carbon-window"`, `"policy":"nope"`, "policy"},
		{`"node_candidates":4`, `"node_candidates":0`, "node_candidates"},
		{`"modify_index":` + itoa(h.idx), `"modify_index":99999`, "modify_index"},
	} {
		b := strings.Replace(buf.String(), tc.from, tc.to, 1)
		if b == buf.String() {
			t.Fatalf("%s not in the snapshot", tc.from)
		}
		err := New(Config{}).Restore(strings.NewReader(b))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("restore with %s: %v, want an error naming %s", tc.to, err, tc.want)
		}
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

// TestCoreConfigAsSimulator: the core's config a leader builds from the
// replicated configuration is the one the simulator builds for a run of
// the same scenario scheduler block, for every policy.
func TestCoreConfigAsSimulator(t *testing.T) {
	b := scenarios.DefaultScheduler()
	b.Weights.Carbon, b.NodeCandidates, b.DeferThreshold = 3, 8, 0
	b.DeferSlack, b.DeferSlackFraction = scenarios.Duration(90*time.Minute), 0.5
	b.Optimizer.Tolerance, b.Optimizer.RecoveryHours, b.Optimizer.Utilization = 0, 2, 0.6
	for _, preempt := range []bool{false, true} {
		c := &sim.Config{Scheduler: sim.SchedulerConfig(&b), Optimizer: sim.OptimizerOptions(&b.Optimizer), Preempt: preempt}
		for _, p := range scheduler.PolicyNames() {
			cfg := SchedulerConfigFromScenario(p, preempt, &b)
			if e := CheckSchedulerConfig(&cfg); e != nil {
				t.Fatalf("%s: %v", p, e)
			}
			if got, want := CoreConfig(&cfg, ""), c.SchedulerFor(p); !reflect.DeepEqual(got, want) {
				t.Errorf("%s preempt=%v: server %+v, simulator %+v", p, preempt, got, want)
			}
		}
	}
}
