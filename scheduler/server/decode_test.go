package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/suanli/suanli/scheduler/server/api"
)

// TestBodyFieldErrors: on every endpoint that takes a body, a time that is
// not RFC 3339 and a number or string of the wrong type are 400 naming
// the field by its path (with array indexes) and what it accepts — never
// "body".
func TestBodyFieldErrors(t *testing.T) {
	s := single(t, nil)
	h := s.Handler()
	auth := map[string]string{"X-Suanli-Token": testToken}
	const ok = `{"origin":"JN","request":{"cpu_milli":1}`
	tests := []struct {
		path, body, field, msg string
	}{
		{"/v1/workloads", ok + `,"deadline":"tomorrow"}`, "deadline", `deadline "tomorrow" is not an RFC 3339 time: want e.g. ` + api.TimeExample},
		{"/v1/workloads", ok + `,"deadline":"2026-03-01T18:00:00"}`, "deadline", "no time zone"},
		{"/v1/workloads", ok + `,"deadline":1772359200}`, "deadline", "got a JSON number, want an RFC 3339 time string"},
		{"/v1/workloads", `{"origin":"JN","request":{"cpu_milli":"lots"}}`, "request.cpu_milli", "got a JSON string, want an integer"},
		{"/v1/workloads", ok + `,"duration_ms":1.5}`, "duration_ms", "1.5 is not an integer"},
		{"/v1/workloads", ok + `,"duration_ms":"90s"}`, "duration_ms", "want an integer (milliseconds)"},
		{"/v1/workloads", ok + `,"latency_bound_ms":"5ms"}`, "latency_bound_ms", "want a number (milliseconds)"},
		{"/v1/workloads", ok + `,"priority":1e40}`, "priority", "out of range"},
		{"/v1/workloads", ok + `,"tiers":"core"}`, "tiers", "got a JSON string, want an array"},
		{"/v1/workloads/bulk", `[` + ok + `},` + ok + `,"deadline":"soon"}]`, "[1].deadline", "RFC 3339"},
		{"/v1/workloads/bulk", `[` + ok + `},` + ok + `},{"origin":"JN","request":{"cpu_milli":1,"memory_mib":"8Gi"}}]`, "[2].request.memory_mib", "want an integer (MiB)"},
		{"/v1/plan", `{"workload":` + ok + `,"deadline":"2026-03-01"}}`, "workload.deadline", "date alone"},
		{"/v1/plan", `{"workload":` + ok + `},"top_k":"3"}`, "top_k", "got a JSON string, want an integer"},
		{"/v1/agent/register", `{"agent_id":"a1","sites":[{"id":"x","city":"JN","role":"edge","pue":"1.3"}]}`, "sites[0].pue", "got a JSON string, want a number"},
		{"/v1/agent/register", `{"agent_id":"a1","nodes":[{"id":"n0","site":"x"},{"id":"n1","site":"x","capacity":{"cpu_milli":"16 cores"}}]}`, "nodes[1].capacity.cpu_milli", "want an integer (millicores: 1000 = one core)"},
		{"/v1/agent/a1/events", `{"events":[{"workload_id":"w","node_id":"n","kind":"started","at":"2026-03-01T08:00:00Z"},{"workload_id":"w","node_id":"n","kind":"completed","at":"2026-03-01 08:00:00Z"}]}`, "events[1].at", "put a T between the date and the time"},
		{"/v1/agent/a1/events", `{"events":[{"workload_id":"w","node_id":"n","kind":"started","at":0}]}`, "events[0].at", "want an RFC 3339 time string"},
		{"/v1/cluster/join", `{"id":"s9","raft_addr":7001,"http_addr":"127.0.0.1:2"}`, "raft_addr", "got a JSON number, want a string"},
		{"/v1/cluster/remove", `{"id":3}`, "id", "got a JSON number, want a string"},
		{"/v1/cluster/transfer-leader", `{"to":"s2"}`, "to", "unknown field"},
		{"/v1/nodes/x-jn-0/state", `{"state":false}`, "state", "got a JSON boolean, want a string"},
		{"/v1/workloads/x1/cancel", `{"at":"2026-03-01T08:00:00Z"}`, "at", `unknown field "at"`},
	}
	covered := map[string]bool{}
	for _, tc := range tests {
		covered[tc.path] = true
		resp, eb := do(t, h, "POST", tc.path, tc.body, auth)
		if resp.StatusCode != http.StatusBadRequest || eb.Error == nil || eb.Error.Code != api.CodeInvalid {
			t.Errorf("POST %s %s: got %d %+v, want 400 invalid", tc.path, tc.body, resp.StatusCode, eb.Error)
			continue
		}
		if eb.Error.Field != tc.field || !strings.Contains(eb.Error.Message, tc.msg) {
			t.Errorf("POST %s %s: field %q message %q, want field %q with %q", tc.path, tc.body, eb.Error.Field, eb.Error.Message, tc.field, tc.msg)
		}
	}
	for _, rt := range routes {
		if rt.method == "POST" && !covered[concretePath(rt.path)] {
			t.Errorf("POST %s: no case in this test", rt.path)
		}
	}
}
