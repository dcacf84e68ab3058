package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
)

// The scheduler configuration (the policy and the core's settings) is
// replicated state (fsm.SetScheduler): the first leader of a cluster that
// has none seeds it from its own configuration (Config.Policy, Preempt,
// Scheduler), every leader schedules with it and rebuilds its policy when
// it changes, and operators change it at runtime through
// PUT /v1/operator/scheduler. A server's flags no longer choose the
// policy of a cluster that has a configuration.

// seedScheduler is the configuration this server seeds a cluster with:
// Config.Scheduler's settings (or the defaults) with Config.Policy and
// Config.Preempt.
func (s *Server) seedScheduler() api.SchedulerConfig {
	c := fsm.DefaultSchedulerConfig(s.cfg.Policy, s.cfg.Preempt)
	if s.cfg.Scheduler != nil {
		c = *s.cfg.Scheduler
		c.Policy, c.Preempt = s.cfg.Policy, s.cfg.Preempt
	}
	return c
}

// schedulerInForce is the replicated configuration and the index it was
// set at, or this server's seed and 0 while the cluster has none.
func (s *Server) schedulerInForce() (api.SchedulerConfig, uint64) {
	if st, ok := s.fsm.Scheduler(); ok {
		return st.Config, st.ModifyIndex
	}
	return s.seedScheduler(), 0
}

// ensureScheduler commits this server's seed if the cluster has no
// scheduler configuration (its first leader, or the first leader after
// an upgrade from a version without one); a check-and-set at 0, so a
// configuration committed meanwhile stays.
//
// The command needs log version 2 on every server (checkLogVersion):
// while one runs an older release, the leader keeps scheduling with its
// own flags' configuration (schedulerInForce) and tries again whenever
// server membership changes and at every reconcile (serversChanged).
func (s *Server) ensureScheduler() {
	if _, ok := s.fsm.Scheduler(); ok {
		return
	}
	seed := s.seedScheduler()
	res, _, e := s.apply(fsm.CmdScheduler, &fsm.SetScheduler{Config: seed, CAS: new(uint64)})
	if e != nil && (e.Code == api.CodeUpgradeRequired || e.Code == api.CodeVersionUnknown) {
		if s.seedRefused.changed(e.Message) {
			s.log.Warn("scheduler configuration not seeded yet: scheduling with this server's flags (--policy, --preempt, --scheduler-config) "+
				"until every server supports it; seeded once they do", "policy", seed.Policy, "err", e.Message)
		}
		return
	}
	s.seedRefused.changed("")
	if e != nil {
		s.log.Warn("scheduler configuration not seeded (the next leader will)", "err", e)
		return
	}
	if r, ok := res.(*fsm.SetSchedulerResult); ok {
		s.log.Info("scheduler configuration seeded from this server's flags", "policy", r.Config.Policy, "preempt", r.Config.Preempt, "index", r.ModifyIndex)
	}
}

// flagsDiffer reports whether this server's own scheduler settings differ
// from c: the policy and preemption always, the rest only if it was given
// them (Config.Scheduler, --scheduler-config).
func (s *Server) flagsDiffer(c api.SchedulerConfig) bool {
	seed := s.seedScheduler()
	if s.cfg.Scheduler == nil {
		return seed.Policy != c.Policy || seed.Preempt != c.Preempt
	}
	return seed != c
}

// watchScheduler warns, once, when the cluster's scheduler configuration
// differs from this server's flags: they do not override it.
func (s *Server) watchScheduler() {
	defer s.wg.Done()
	for {
		w := s.fsm.Watch()
		if st, ok := s.fsm.Scheduler(); ok {
			if s.flagsDiffer(st.Config) {
				seed := s.seedScheduler()
				s.log.Warn("this server's scheduler flags (--policy, --preempt, --scheduler-config) differ from the cluster's replicated scheduler configuration, "+
					"which is in force: the flags only seed a cluster that has none. Change the cluster's with `suanli operator scheduler set-config` "+
					"(e.g. --policy "+seed.Policy+"), or drop the flags",
					"flag_policy", seed.Policy, "flag_preempt", seed.Preempt, "cluster_policy", st.Config.Policy, "cluster_preempt", st.Config.Preempt, "set_at", st.ModifyIndex)
			}
			return
		}
		select {
		case <-s.ctx.Done():
			return
		case <-w:
		}
	}
}

// handleSchedulerGet is GET /v1/operator/scheduler.
func (s *Server) handleSchedulerGet(w http.ResponseWriter, r *http.Request, _ []byte) *api.Error {
	if e := s.consistent(r); e != nil {
		return e
	}
	out := api.SchedulerConfigResponse{Index: s.fsm.Index()}
	if st, ok := s.fsm.Scheduler(); ok {
		out.ModifyIndex, out.Scheduler = st.ModifyIndex, &st.Config
	}
	setIndex(w, out.Index)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleSchedulerPut is PUT /v1/operator/scheduler[?cas=INDEX]: the body
// is the whole configuration; fields left out take their defaults (a
// scenario's without a scheduler block), except policy, which is
// required.
func (s *Server) handleSchedulerPut(w http.ResponseWriter, r *http.Request, body []byte) *api.Error {
	cmd := &fsm.SetScheduler{Config: fsm.DefaultSchedulerConfig("", false)}
	if v := r.URL.Query().Get("cas"); r.URL.Query().Has("cas") {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return api.Invalid("cas", "cas=%q: want the modify_index of the configuration read (a non-negative integer; 0: only if none is set)", v)
		}
		cmd.CAS = &n
	}
	if e := decodeStrict(body, &cmd.Config); e != nil {
		return e
	}
	if e := fsm.CheckSchedulerConfig(&cmd.Config); e != nil {
		return e
	}
	res, idx, e := s.apply(fsm.CmdScheduler, cmd)
	if e != nil {
		return e
	}
	r2, ok := res.(*fsm.SetSchedulerResult)
	if !ok {
		return &api.Error{Code: api.CodeInternal, Message: fmt.Sprintf("unexpected result %T", res)}
	}
	s.log.Info("scheduler configuration set", "policy", r2.Config.Policy, "preempt", r2.Config.Preempt, "index", r2.ModifyIndex)
	setIndex(w, idx)
	writeJSON(w, http.StatusOK, api.SchedulerConfigResponse{Index: idx, ModifyIndex: r2.ModifyIndex, Scheduler: &r2.Config})
	return nil
}
