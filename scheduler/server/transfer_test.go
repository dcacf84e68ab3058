package server

import (
	"errors"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// TestTransferLeader: an operator hands leadership to a named voter, or
// to any through a follower (forwarded to the leader); a name that is not
// a voter is refused, and naming the leader changes nothing.
func TestTransferLeader(t *testing.T) {
	ss := startCluster(t, 3, nil)
	old := leaderOf(t, ss)
	var target *Server
	for _, s := range ss {
		if s != old {
			target = s
			break
		}
	}
	st, err := client(old).TransferLeader(ctx(t), target.cfg.ID)
	if err != nil {
		t.Fatalf("transfer to %s: %v", target.cfg.ID, err)
	}
	if st.LeaderID != target.cfg.ID {
		t.Fatalf("after the transfer the status names leader %q, want %s", st.LeaderID, target.cfg.ID)
	}
	waitFor(t, target.cfg.ID+" leads", 5*time.Second, target.IsLeader)

	// Any voter, asked through a follower.
	var follower *Server
	for _, s := range ss {
		if s != target {
			follower = s
			break
		}
	}
	if _, err := client(follower).TransferLeader(ctx(t), ""); err != nil {
		t.Fatalf("transfer through follower %s: %v", follower.cfg.ID, err)
	}
	waitFor(t, "a new leader", 5*time.Second, func() bool {
		for _, s := range ss {
			if s != target && s.IsLeader() {
				return true
			}
		}
		return false
	})

	// Refusals, and the leader named: nothing happens.
	now := leaderOf(t, ss)
	var ae *api.Error
	if _, err := client(now).TransferLeader(ctx(t), "nobody"); !errors.As(err, &ae) || ae.Code != api.CodeInvalid || ae.Field != "id" {
		t.Fatalf("transfer to a non-voter: %v, want invalid on id", err)
	}
	if _, err := client(now).TransferLeader(ctx(t), now.cfg.ID); err != nil {
		t.Fatalf("transfer to the leader itself: %v", err)
	}
	if !now.IsLeader() {
		t.Fatalf("%s lost leadership when named as the target", now.cfg.ID)
	}
}

// TestTransferLeaderAlone: the only voter has no one to hand over to.
func TestTransferLeaderAlone(t *testing.T) {
	cfg := testConfig(t, "s1")
	cfg.Bootstrap = true
	s := startServer(t, cfg)
	waitFor(t, "leader", 5*time.Second, s.IsLeader)
	var ae *api.Error
	if _, err := client(s).TransferLeader(ctx(t), ""); !errors.As(err, &ae) || ae.Code != api.CodeConflict {
		t.Fatalf("transfer on a one-server cluster: %v, want conflict", err)
	}
}
