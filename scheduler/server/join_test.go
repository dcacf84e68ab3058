package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
)

// TestPermanentJoinError: the join answers that asking again cannot
// change (another cluster's data directory, a refused token, an invalid
// request) are ErrJoinRefused naming the address and what to do; the
// others (no leader, a live voter at another address, a server not
// answering) are retried.
func TestPermanentJoinError(t *testing.T) {
	s := &Server{cfg: Config{ID: "s4", DataDir: "/var/lib/suanli/s4"}, fsm: fsm.New(fsm.Config{}), ctx: context.Background()}
	s.cid.set("aaaa")
	addr := closedAddr(t) // clusterAt fails: the other cluster's ID is unknown
	apiErr := func(status int, code, field string) error {
		return fmt.Errorf("post join: %w", &api.Error{Status: status, Code: code, Field: field, Message: "refused"})
	}
	for _, tc := range []struct {
		name string
		err  error
		want []string // nil: transient
	}{
		{"another cluster", apiErr(http.StatusConflict, api.CodeConflict, "cluster_id"),
			[]string{addr, "/var/lib/suanli/s4", "cluster aaaa", "another cluster", "empty --data-dir", "--join a server of that cluster"}},
		{"wrong token", apiErr(http.StatusUnauthorized, api.CodeUnauthorized, ""), []string{addr, "HTTP 401", "--token"}},
		{"forbidden by a proxy", apiErr(http.StatusForbidden, api.CodeInternal, ""), []string{addr, "HTTP 403", "--token"}},
		{"invalid request", apiErr(http.StatusBadRequest, api.CodeInvalid, "raft_addr"), []string{addr, "HTTP 400", "--id and addresses"}},
		{"live voter at another address", apiErr(http.StatusConflict, api.CodeConflict, "raft_addr"), nil},
		{"cluster ID not committed yet", apiErr(http.StatusServiceUnavailable, api.CodeNoLeader, "cluster_id"), nil},
		{"no leader", apiErr(http.StatusServiceUnavailable, api.CodeNoLeader, ""), nil},
		{"unknown outcome", apiErr(http.StatusServiceUnavailable, api.CodeUnknownOutcome, ""), nil},
		{"not found", apiErr(http.StatusNotFound, api.CodeNotFound, ""), nil},
		{"internal", apiErr(http.StatusInternalServerError, api.CodeInternal, ""), nil},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, nil},
		{"timeout", context.DeadlineExceeded, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := s.permanentJoinError(addr, tc.err)
			if tc.want == nil {
				if got != nil {
					t.Fatalf("permanent: %v; want it retried", got)
				}
				return
			}
			if !errors.Is(got, ErrJoinRefused) {
				t.Fatalf("got %v; want ErrJoinRefused", got)
			}
			if !errors.Is(got, tc.err) && !strings.Contains(got.Error(), tc.err.Error()) {
				t.Errorf("%q does not carry the answer %q", got, tc.err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got.Error(), w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
		})
	}
}

// TestJoinWithWrongTokenFails: a server whose token the cluster refuses
// stops asking and fails (ErrJoinRefused) instead of retrying forever.
func TestJoinWithWrongTokenFails(t *testing.T) {
	ss := startCluster(t, 1, nil)
	cfg := testConfig(t, "s2")
	cfg.Token, cfg.Join = "not-the-token", []string{ss[0].Addrs().HTTPAddr}
	s := startServer(t, cfg)
	select {
	case <-s.Failed():
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15 s after its token was refused; Err() = %v", s.Err())
	}
	if err := s.Err(); !errors.Is(err, ErrJoinRefused) || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), ss[0].Addrs().HTTPAddr) {
		t.Fatalf("Err() = %v; want ErrJoinRefused naming HTTP 401 and %s", err, ss[0].Addrs().HTTPAddr)
	}
	if v := voters(ss[0]); v["s2"] {
		t.Fatalf("voters %v include the refused server", v)
	}
}

// TestJoinRetriesWhileTheVoterLives: the 409 for a live voter with this
// server's ID at another Raft address is transient: the joiner (a
// replacement started before the old server stopped) keeps asking, and
// is added at its own address once the old server is gone.
func TestJoinRetriesWhileTheVoterLives(t *testing.T) {
	ss := startCluster(t, 3, nil)
	l := leaderOf(t, ss)
	old := followers(ss, l)[0]
	id := old.cfg.ID
	log := &syncBuffer{}
	cfg := testConfig(t, id)
	cfg.Join, cfg.Log = []string{l.Addrs().HTTPAddr}, log
	s := startServer(t, cfg)
	logHas(t, log, 15*time.Second, "join failed, retrying", "live voter")
	select {
	case <-s.Failed():
		t.Fatalf("the replacement failed while the old server lives: %v", s.Err())
	default:
	}
	old.Kill()
	waitFor(t, id+" re-addressed to the replacement", 20*time.Second, func() bool {
		cf := l.Raft().GetConfiguration()
		if cf.Error() != nil {
			return false
		}
		for _, sv := range cf.Configuration().Servers {
			if string(sv.ID) == id {
				return string(sv.Address) == s.Addrs().RaftAddr
			}
		}
		return false
	})
	if err := s.Err(); err != nil {
		t.Fatalf("the replacement failed: %v", err)
	}
}
