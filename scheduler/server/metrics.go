package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"strconv"
)

// metrics are the server's Prometheus metrics, on a registry of its own
// (several servers can run in one test process).
type metrics struct {
	reg           *prometheus.Registry
	placements    prometheus.Counter
	conflicts     prometheus.Counter
	preemptions   prometheus.Counter
	leaderChanges prometheus.Counter
	isLeader      prometheus.Gauge
	commitLatency *prometheus.HistogramVec
	// eventsIgnored counts agent events ignored, by why (fsm.Ignored*);
	// eventsUnidentified the applied ones without a placement.
	eventsIgnored      *prometheus.CounterVec
	eventsUnidentified prometheus.Counter
	listsShed          prometheus.Counter
	adopted            prometheus.Counter
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.placements = prometheus.NewCounter(prometheus.CounterOpts{Name: "suanli_placements_total",
		Help: "Placements committed by plans this server led."})
	m.conflicts = prometheus.NewCounter(prometheus.CounterOpts{Name: "suanli_plan_conflicts_total",
		Help: "Placements the FSM re-check refused (the workload went back to the queue)."})
	m.preemptions = prometheus.NewCounter(prometheus.CounterOpts{Name: "suanli_preemptions_total",
		Help: "Live workloads evicted for higher-priority work by plans this server led (sent back to pending)."})
	m.leaderChanges = prometheus.NewCounter(prometheus.CounterOpts{Name: "suanli_leader_changes_total",
		Help: "Times this server gained or lost leadership."})
	m.isLeader = prometheus.NewGauge(prometheus.GaugeOpts{Name: "suanli_is_leader", Help: "1 while this server leads."})
	m.commitLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "suanli_commit_latency_seconds",
		Help:    "Time from raft Apply to the entry being committed and applied on the leader, by command.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"command"})
	m.listsShed = prometheus.NewCounter(prometheus.CounterOpts{Name: "suanli_public_lists_shed_total",
		Help: "List reads without the API token answered 429: their client had MaxPublicListsPerClient in progress."})
	m.eventsIgnored = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "suanli_agent_events_ignored_total",
		Help: "Agent events this server committed that the FSM ignored, by reason: placement (about a run placed again since), " +
			"stale (the workload is not live on that node), agent, unknown, duplicate, invalid."}, []string{"reason"})
	m.eventsUnidentified = prometheus.NewCounter(prometheus.CounterOpts{Name: "suanli_agent_events_unidentified_total",
		Help: "Agent events this server committed and the FSM applied that carried no placement (agents that predate placements)."})
	m.adopted = prometheus.NewCounter(prometheus.CounterOpts{Name: "suanli_deferrals_adopted_total",
		Help: "Deferred workloads this server's policy took over from earlier leaders when it became leader (their reservations in the optimizer's plan)."})
	m.reg.MustRegister(m.adopted, m.placements, m.conflicts, m.preemptions, m.leaderChanges, m.isLeader, m.commitLatency,
		m.eventsIgnored, m.eventsUnidentified, m.listsShed,
		stateCollector{s}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

var (
	descWorkloads = prometheus.NewDesc("suanli_workloads", "Workloads by status.", []string{"status"}, nil)
	descPending   = prometheus.NewDesc("suanli_pending_workloads", "Workloads waiting for a placement (ready, waiting for capacity or deferred).", nil, nil)
	descWaiting   = prometheus.NewDesc("suanli_waiting_workloads", "Pending workloads waiting for capacity to change.", nil, nil)
	descNodes     = prometheus.NewDesc("suanli_nodes", "Nodes by state.", []string{"state"}, nil)
	descIndex     = prometheus.NewDesc("suanli_raft_applied_index", "Last log index applied to this server's FSM.", nil, nil)
	descTerm      = prometheus.NewDesc("suanli_raft_term", "Current Raft term.", nil, nil)
	descPolicy    = prometheus.NewDesc("suanli_scheduler_policy_info", "The scheduler configuration in force (always 1): its policy, preemption, "+
		"and the Raft index it was set at (0: none replicated yet, this server's flags).", []string{"policy", "preempt", "set_index"}, nil)
)

// stateCollector reads gauges from the FSM at scrape time.
type stateCollector struct{ s *Server }

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descWorkloads, descPending, descWaiting, descNodes, descIndex, descTerm, descPolicy} {
		ch <- d
	}
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.s.fsm
	counts := f.Counts()
	for st, n := range counts.Workloads {
		ch <- prometheus.MustNewConstMetric(descWorkloads, prometheus.GaugeValue, float64(n), st)
	}
	for st, n := range counts.Nodes {
		ch <- prometheus.MustNewConstMetric(descNodes, prometheus.GaugeValue, float64(n), st)
	}
	ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(counts.Workloads["pending"]))
	ch <- prometheus.MustNewConstMetric(descWaiting, prometheus.GaugeValue, float64(f.Stats().Waiting))
	ch <- prometheus.MustNewConstMetric(descIndex, prometheus.GaugeValue, float64(f.Index()))
	sc, at := c.s.schedulerInForce()
	ch <- prometheus.MustNewConstMetric(descPolicy, prometheus.GaugeValue, 1, sc.Policy, strconv.FormatBool(sc.Preempt), strconv.FormatUint(at, 10))
	if c.s.raft != nil {
		ch <- prometheus.MustNewConstMetric(descTerm, prometheus.GaugeValue, float64(c.s.raft.CurrentTerm()))
	}
}
