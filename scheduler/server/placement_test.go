package server

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// metricsText returns a server's /metrics page.
func metricsText(t testing.TB, s *Server) string {
	t.Helper()
	resp, err := http.Get("http://" + s.Addrs().HTTPAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// assignmentOf long-polls the agent's assignments until id is assigned in
// a placement other than not, and returns it.
func assignmentOf(t testing.TB, c *api.Client, agent, id string, not uint64) api.Assignment {
	t.Helper()
	var got api.Assignment
	waitFor(t, id+" assigned in a new placement", 10*time.Second, func() bool {
		as, err := c.Assignments(ctx(t), agent, 0, 0)
		if err != nil {
			return false
		}
		for _, a := range as.Assignments {
			if a.WorkloadID == id && a.Placement != not {
				got = a
				return true
			}
		}
		return false
	})
	return got
}

// TestStaleAgentEventIsIgnored: through the API, a workload placed again
// on the same node (its node went down and came back) has a new
// placement in its assignment; a late "completed" from the first run is
// answered "ignored" naming the placement, counted in
// suanli_agent_events_ignored_total{reason="placement"}, and leaves the
// new run placed; the new run's own events apply.
func TestStaleAgentEventIsIgnored(t *testing.T) {
	cfg := testConfig(t, "s1")
	cfg.Bootstrap = true
	logs := &syncBuffer{}
	cfg.Log = logs
	s := startServer(t, cfg)
	waitFor(t, "leader", 5*time.Second, s.IsLeader)
	c := client(s)
	registerAgent(t, c, "a1", "jn-core", "JN", "core-zone", 1)
	submitOK(t, c, wspec("w", 4000))
	waitStatus(t, c, "w", api.StatusPlaced)
	first := assignmentOf(t, c, "a1", "w", 0)
	if w, _ := c.Get(ctx(t), "w"); w.Placement != first.Placement || first.Placement == 0 {
		t.Fatalf("workload placement %d, assignment %d: want equal and set", w.Placement, first.Placement)
	}
	ev := func(kind string, placement uint64) api.EventResult {
		t.Helper()
		res, err := c.Events(ctx(t), "a1", []api.Event{{WorkloadID: "w", NodeID: first.NodeID, Kind: kind, At: time.Now(), Placement: placement}})
		if err != nil {
			t.Fatalf("%s event: %v", kind, err)
		}
		return res.Results[0]
	}
	if r := ev(api.EventStarted, first.Placement); r.Result != "applied" {
		t.Fatalf("started: %+v", r)
	}
	// The node goes down (w back to pending) and up again: w is placed on
	// it again, in a new placement.
	if _, err := c.SetNodeState(ctx(t), first.NodeID, "down"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "w", api.StatusPending)
	if _, err := c.SetNodeState(ctx(t), first.NodeID, "up"); err != nil {
		t.Fatal(err)
	}
	second := assignmentOf(t, c, "a1", "w", first.Placement)
	if second.NodeID != first.NodeID || second.Status != api.StatusPlaced {
		t.Fatalf("placed again: %+v, want placed on %s", second, first.NodeID)
	}
	r := ev(api.EventCompleted, first.Placement)
	if r.Result != "ignored" || !strings.Contains(r.Reason, "placement") {
		t.Fatalf("the first run's completed: %+v, want ignored naming the placement", r)
	}
	if w, _ := c.Get(ctx(t), "w"); w.Status != api.StatusPlaced || w.Placement != second.Placement {
		t.Fatalf("w: %s in placement %d, want placed in %d", w.Status, w.Placement, second.Placement)
	}
	if m := metricsText(t, s); !strings.Contains(m, "\nsuanli_agent_events_ignored_total{reason=\"placement\"} 1\n") {
		t.Errorf("metrics lack the ignored event:\n%s", grepLines(m, "suanli_agent_events"))
	}
	if !strings.Contains(logs.String(), "agent event about an earlier placement ignored") {
		t.Error("the ignored event was not logged")
	}
	if r := ev(api.EventStarted, second.Placement); r.Result != "applied" {
		t.Fatalf("started of the new run: %+v", r)
	}
	if r := ev(api.EventCompleted, second.Placement); r.Result != "applied" {
		t.Fatalf("completed of the new run: %+v", r)
	}
	waitStatus(t, c, "w", api.StatusCompleted)
	if err := s.fsm.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func grepLines(text, sub string) string {
	var b bytes.Buffer
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
