package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
)

// raftError turns an Apply failure into an API error, keeping the
// distinction between "not applied" (safe to retry) and "unknown outcome".
func (s *Server) raftError(err error) *api.Error {
	leader, _ := s.leaderHTTP()
	switch {
	case errors.Is(err, raft.ErrNotLeader):
		return &api.Error{Code: api.CodeNotLeader, Message: "this server is not the leader; the write was not applied", Leader: leader}
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return &api.Error{Code: api.CodeTimeout, Message: "the write could not be enqueued in time; it was not applied"}
	case errors.Is(err, raft.ErrLeadershipLost):
		return &api.Error{Code: api.CodeUnknownOutcome, Message: "leadership was lost while the write was in flight: it may or may not have been applied; read it back or resubmit with the same id", Leader: leader}
	case errors.Is(err, raft.ErrRaftShutdown):
		return &api.Error{Code: api.CodeUnknownOutcome, Message: "the server shut down while the write was in flight: it may or may not have been applied"}
	}
	return &api.Error{Code: api.CodeUnknownOutcome, Message: fmt.Sprintf("raft apply: %v: the write may or may not have been applied", err)}
}

// await waits for a Raft future, or until ctx ends (then it returns
// raft.ErrRaftShutdown: the server or its leadership is closing). With
// BatchApplyCh, Raft queues Apply and Barrier futures in a buffered
// channel, and one still queued when Raft shuts down is never answered,
// so a bare f.Error() can block forever — it held a test's Close for
// minutes: a leader's barrier queued as Raft shut down kept runLeader,
// and so stopLeader and Close, waiting. The goroutine that keeps waiting
// on such a future is the only thing left behind.
func await(ctx context.Context, f raft.Future) error {
	ch := make(chan error, 1)
	go func() { ch <- f.Error() }()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		select {
		case err := <-ch: // answered after all: say how
			return err
		default:
			return raft.ErrRaftShutdown
		}
	}
}

// apply commits one command through Raft and waits for it to be applied
// on this (leader) server. A command the FSM refused deterministically
// comes back as its *api.Error, with a definite outcome.
//
// A command type introduced by a log version that some server of the
// Raft configuration is not known to support is refused before anything
// is committed (checkLogVersion: upgrade_required).
func (s *Server) apply(t fsm.CmdType, body any) (any, uint64, *api.Error) {
	if e := s.checkLogVersion(t); e != nil {
		return nil, 0, e
	}
	data, err := fsm.Encode(t, body)
	if err != nil {
		return nil, 0, &api.Error{Code: api.CodeInternal, Message: err.Error()}
	}
	start := time.Now()
	f := s.raft.Apply(data, s.cfg.ApplyTimeout)
	if err := await(s.ctx, f); err != nil {
		return nil, 0, s.raftError(err)
	}
	s.metrics.commitLatency.WithLabelValues(t.String()).Observe(time.Since(start).Seconds())
	switch r := f.Response().(type) {
	case *api.Error:
		return nil, f.Index(), r
	case error:
		return nil, f.Index(), &api.Error{Code: api.CodeInternal, Message: r.Error()}
	default:
		return r, f.Index(), nil
	}
}

type submitReq struct {
	spec api.WorkloadSpec
	done chan submitResp
}

type submitResp struct {
	res   api.SubmitResult
	index uint64
	err   *api.Error
}

// submitBatcher groups single submissions that arrive together into one
// log entry (group commit). It does not wait to fill a batch: it takes
// what is queued, and while one entry commits the next one fills.
func (s *Server) submitBatcher() {
	defer s.wg.Done()
	for {
		var first *submitReq
		select {
		case <-s.ctx.Done():
			return
		case first = <-s.submitCh:
		}
		batch := []*submitReq{first}
	fill:
		for len(batch) < s.cfg.SubmitBatch {
			select {
			case r := <-s.submitCh:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		specs := make([]api.WorkloadSpec, len(batch))
		for i, r := range batch {
			specs[i] = r.spec
		}
		data, err := fsm.Encode(fsm.CmdSubmit, &fsm.Submit{At: s.clock.Now(), PerItem: true, Workloads: specs})
		if err != nil {
			for _, r := range batch {
				r.done <- submitResp{err: &api.Error{Code: api.CodeInternal, Message: err.Error()}}
			}
			continue
		}
		start := time.Now()
		f := s.raft.Apply(data, s.cfg.ApplyTimeout)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := await(s.ctx, f); err != nil {
				e := s.raftError(err)
				for _, r := range batch {
					r.done <- submitResp{err: e}
				}
				return
			}
			s.metrics.commitLatency.WithLabelValues("submit").Observe(time.Since(start).Seconds())
			res, ok := f.Response().(*fsm.SubmitResult)
			for i, r := range batch {
				if !ok || i >= len(res.Items) {
					r.done <- submitResp{err: &api.Error{Code: api.CodeInternal, Message: fmt.Sprintf("submit applied with unexpected result %v", f.Response())}}
					continue
				}
				r.done <- submitResp{res: res.Items[i], index: f.Index()}
			}
		}()
	}
}
