package server

import (
	"strings"
	"testing"

	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
)

// TestGateError: a server known to run an older log version closes the
// gate for good (409 upgrade_required, naming it and any unknown one);
// servers merely not known yet (just joined) answer 503 version_unknown,
// to retry; all current: open.
func TestGateError(t *testing.T) {
	cur := serverVersion{fsm.LogVersion, "v2", "gossip"}
	old := serverVersion{1, "v1", "gossip"}
	for _, tc := range []struct {
		name   string
		known  map[string]serverVersion
		code   string
		status int
		want   []string
		not    []string
	}{
		{"all current", map[string]serverVersion{"s1": cur, "s2": cur, "s3": cur}, "", 0, nil, nil},
		{"one old", map[string]serverVersion{"s1": old, "s2": cur, "s3": cur}, api.CodeUpgradeRequired, 409,
			[]string{"upgrade s1 to log version ≥ 2", "s1 (log version 1, build v1, from gossip)"}, []string{"s2", "s3"}},
		{"one unknown", map[string]serverVersion{"s1": cur, "s2": cur}, api.CodeVersionUnknown, 503,
			[]string{"log version of s3 is not known yet", "retry"}, []string{"upgrade"}},
		{"one old, one unknown", map[string]serverVersion{"s1": old, "s2": cur}, api.CodeUpgradeRequired, 409,
			[]string{"upgrade s1, s3 to log version ≥ 2", "s3 (log version unknown"}, []string{"s2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := gateError(fsm.CmdScheduler, fsm.LogVersion, []string{"s1", "s2", "s3"}, tc.known)
			if tc.code == "" {
				if e != nil {
					t.Fatalf("gate closed: %v", e)
				}
				return
			}
			if e == nil || e.Code != tc.code || httpStatus(e.Code) != tc.status {
				t.Fatalf("got %+v, want %s (%d)", e, tc.code, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(e.Message, w) {
					t.Errorf("message %q lacks %q", e.Message, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(e.Message, n) {
					t.Errorf("message %q names %q", e.Message, n)
				}
			}
		})
	}
}
