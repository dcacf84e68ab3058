package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
)

// httpDo sends a request with a raw body to s and returns the status and
// the decoded error, if any.
func httpDo(t *testing.T, s *Server, method, path, token, body string) (int, *api.Error, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.Addrs().HTTPAddr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Suanli-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb api.ErrorBody
	if resp.StatusCode/100 != 2 {
		if err := json.Unmarshal(b, &eb); err != nil {
			t.Fatalf("%s %s: %d with a body that is not an error: %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, eb.Error, b
}

// TestSchedulerConfigReplicated: servers started with different --policy
// flags run one cluster policy, the first leader's; the others warn that
// their flags are not in force. A configuration set through a follower
// decides the leader's next placements (first-fit → nearest: another
// site), the dry run and /metrics; a stale check-and-set is a 409, a bad
// body a 400 naming the field, and a write without the token a 401.
func TestSchedulerConfigReplicated(t *testing.T) {
	logs := map[string]*syncBuffer{}
	policies := map[string]string{"s1": "first-fit", "s2": "spread", "s3": "binpack"}
	ss := startCluster(t, 3, func(c *Config) {
		c.Policy = policies[c.ID]
		logs[c.ID] = &syncBuffer{}
		c.Log = logs[c.ID]
	})
	var at uint64
	waitFor(t, "every server to report the first leader's policy", 10*time.Second, func() bool {
		for _, s := range ss {
			st, err := client(s).Cluster(ctx(t))
			if err != nil || st.Policy != "first-fit" || st.Scheduler == nil || st.Scheduler.Policy != "first-fit" || st.SchedulerIndex == 0 {
				return false
			}
			at = st.SchedulerIndex
		}
		return true
	})
	for _, id := range []string{"s2", "s3"} {
		waitFor(t, id+" to warn that its flags are not in force", 5*time.Second, func() bool {
			return strings.Contains(logs[id].String(), "differ from the cluster's replicated scheduler configuration")
		})
	}
	if strings.Contains(logs["s1"].String(), "differ from the cluster's replicated") {
		t.Error("s1, whose flags seeded the configuration, warns that they differ")
	}

	l := leaderOf(t, ss)
	var f *Server
	for _, s := range ss {
		if s != l {
			f = s
			break
		}
	}
	c := client(l)
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 1)
	registerAgent(t, c, "a2", "qd-core", "QD", "provincial", 1)
	w := wspec("before", 1000)
	w.Origin = "QD"
	submitOK(t, c, w)
	if got := waitStatus(t, c, "before", api.StatusPlaced); got.Site != "jn-core" {
		t.Fatalf("first-fit placed QD work at %s, want the first site, jn-core", got.Site)
	}

	// Refusals, through the follower (forwarded) and the leader alike.
	for _, tc := range []struct {
		name, path, token, body string
		status                  int
		field                   string
	}{
		{"no token", "/v1/operator/scheduler", "", `{"policy":"nearest"}`, 401, ""},
		{"wrong token", "/v1/operator/scheduler", "nope", `{"policy":"nearest"}`, 401, ""},
		{"stale cas", "/v1/operator/scheduler?cas=" + itoa(at-1), testToken, `{"policy":"nearest"}`, 409, "cas"},
		{"bad cas", "/v1/operator/scheduler?cas=x", testToken, `{"policy":"nearest"}`, 400, "cas"},
		{"bad weight", "/v1/operator/scheduler", testToken, `{"policy":"nearest","weights":{"latency":-1}}`, 400, "weights.latency"},
		{"bad utilization", "/v1/operator/scheduler", testToken, `{"policy":"nearest","optimizer":{"utilization":2}}`, 400, "optimizer.utilization"},
		{"unknown policy", "/v1/operator/scheduler", testToken, `{"policy":"fastest"}`, 400, "policy"},
		{"no policy", "/v1/operator/scheduler", testToken, `{"preempt":true}`, 400, "policy"},
		{"unknown field", "/v1/operator/scheduler", testToken, `{"policy":"nearest","weights":{"speed":1}}`, 400, "weights.speed"},
		{"wrong type", "/v1/operator/scheduler", testToken, `{"policy":"nearest","node_candidates":"8"}`, 400, "node_candidates"},
		{"empty", "/v1/operator/scheduler", testToken, ``, 400, "body"},
	} {
		for _, s := range []*Server{f, l} {
			status, e, body := httpDo(t, s, "PUT", tc.path, tc.token, tc.body)
			if status != tc.status || e == nil || e.Field != tc.field {
				t.Errorf("%s via %s: %d %s, want %d on field %q", tc.name, s.cfg.ID, status, body, tc.status, tc.field)
			}
		}
	}
	if st, _ := l.FSM().Scheduler(); st.ModifyIndex != at || st.Config.Policy != "first-fit" {
		t.Fatalf("a refused request changed the configuration: %+v", st)
	}

	// Set through the follower, with the index read.
	cfg := fsm.DefaultSchedulerConfig("nearest", false)
	res, err := client(f).SetSchedulerConfig(ctx(t), cfg, int64(at))
	if err != nil {
		t.Fatal(err)
	}
	if res.Scheduler == nil || res.Scheduler.Policy != "nearest" || res.ModifyIndex <= at {
		t.Fatalf("set: %+v", res)
	}
	w.ID = "after"
	submitOK(t, c, w)
	if got := waitStatus(t, c, "after", api.StatusPlaced); got.Site != "qd-core" {
		t.Fatalf("after switching to nearest, QD work was placed at %s, want qd-core", got.Site)
	}
	// The same index again is stale now.
	if _, err := client(f).SetSchedulerConfig(ctx(t), cfg, int64(at)); !isCode(err, api.CodeConflict) {
		t.Fatalf("cas at the old index: %v, want conflict", err)
	}
	for _, s := range ss {
		waitFor(t, s.cfg.ID+" to show nearest", 5*time.Second, func() bool {
			st, err := client(s).Cluster(ctx(t))
			g, gerr := api.NewClient(s.Addrs().HTTPAddr, "").SchedulerConfig(ctx(t)) // public read
			return err == nil && gerr == nil && st.Policy == "nearest" && st.SchedulerIndex == res.ModifyIndex &&
				g.Scheduler != nil && *g.Scheduler == cfg && g.ModifyIndex == res.ModifyIndex
		})
	}
	p, err := c.Plan(ctx(t), api.PlanRequest{Workload: w})
	if err != nil {
		t.Fatal(err)
	}
	if p.Policy != "nearest" || p.Site != "qd-core" {
		t.Fatalf("dry run: policy %s site %s, want nearest at qd-core", p.Policy, p.Site)
	}
	resp, err := http.Get("http://" + l.Addrs().HTTPAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `suanli_scheduler_policy_info{policy="nearest",preempt="false",set_index="` + itoa(res.ModifyIndex) + `"} 1`; !bytes.Contains(b, []byte(want)) {
		t.Fatalf("/metrics lacks %s", want)
	}
}

// TestSchedulerChangeAdoptsDeferrals: when the configuration changes, the
// leader's new policy is handed the deferred work (Adopt) with its site
// and time, as a new leader's is; nothing deferred is lost.
func TestSchedulerChangeAdoptsDeferrals(t *testing.T) {
	cfg := testConfig(t, "s1")
	cfg.Bootstrap, cfg.Policy = true, "test-adopt"
	s := startServer(t, cfg)
	waitFor(t, "leader", 5*time.Second, s.IsLeader)
	c := client(s)
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 1)
	ids := []string{"d1", "d2", "d3"}
	for _, id := range ids {
		submitOK(t, c, wspec(id, 1000))
	}
	want := map[string]time.Time{}
	waitFor(t, "deferred", 10*time.Second, func() bool {
		for _, id := range ids {
			w, ok := s.FSM().Get(id)
			if !ok || w.NotBefore.IsZero() {
				return false
			}
			want[id] = w.NotBefore
		}
		return true
	})
	adoptP.mu.Lock()
	adoptP.adopted = map[string]adoptCall{}
	adoptP.mu.Unlock()
	sc := fsm.DefaultSchedulerConfig("test-adopt", false)
	sc.NodeCandidates = 8
	if _, err := c.SetSchedulerConfig(ctx(t), sc, -1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new policy to adopt the deferrals", 10*time.Second, func() bool { return len(adoptP.calls()) == len(ids) })
	for id, call := range adoptP.calls() {
		if call.site != "jn-core" || !call.at.Equal(want[id]) {
			t.Errorf("%s adopted at %s %v, want jn-core %v", id, call.site, call.at, want[id])
		}
	}
	for _, id := range ids {
		if w, _ := s.FSM().Get(id); w.Status != api.StatusPending || w.NotBefore.IsZero() {
			t.Errorf("%s after the change: %s, not_before %v", id, w.Status, w.NotBefore)
		}
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }
