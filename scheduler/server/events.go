package server

import (
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
)

// noteEvents counts what the FSM did with a batch of agent events
// committed at index, and logs the events it ignored as being about an
// earlier placement (an evicted, moved or stopped run reporting late).
func (s *Server) noteEvents(agent string, index uint64, evs []api.Event, res *fsm.EventsResult) {
	for why, n := range res.Ignored {
		s.metrics.eventsIgnored.WithLabelValues(why).Add(float64(n))
	}
	if res.Unidentified > 0 {
		s.metrics.eventsUnidentified.Add(float64(res.Unidentified))
	}
	if res.Ignored[fsm.IgnoredPlacement] == 0 {
		return
	}
	for i, why := range res.Why {
		if why != fsm.IgnoredPlacement || i >= len(evs) {
			continue
		}
		e := evs[i]
		s.log.Info("agent event about an earlier placement ignored", "agent", agent, "index", index, "workload", e.WorkloadID,
			"node", e.NodeID, "kind", e.Kind, "placement", e.Placement, "reason", res.Results[i].Reason)
	}
}
