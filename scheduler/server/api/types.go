package api

import (
	"time"

	"github.com/suanli/suanli/nodes"
)

// Workload statuses.
const (
	StatusPending   = "pending"   // accepted, waiting for a placement
	StatusPlaced    = "placed"    // placed on a node, not yet started by its agent
	StatusRunning   = "running"   // its agent reported it started
	StatusCompleted = "completed" // its agent reported it finished
	StatusFailed    = "failed"    // its agent reported it failed
	StatusCancelled = "cancelled" // cancelled by a client
	StatusRejected  = "rejected"  // the scheduler can never place it (explanation says why)
)

// Statuses lists every workload status, in lifecycle order.
func Statuses() []string {
	return []string{StatusPending, StatusPlaced, StatusRunning, StatusCompleted, StatusFailed, StatusCancelled, StatusRejected}
}

// Terminal reports whether a workload in status s will never change again.
func Terminal(s string) bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCancelled || s == StatusRejected
}

// Live reports whether a workload in status s holds resources on a node.
func Live(s string) bool { return s == StatusPlaced || s == StatusRunning }

// WorkloadSpec is what a client submits.
type WorkloadSpec struct {
	// ID names the workload; the server generates one if empty.
	// Resubmitting the same ID with the same spec is idempotent.
	ID    string `json:"id,omitempty"`
	Class string `json:"class,omitempty"`
	// Origin is the code (or English name) of the city the work comes from,
	// e.g. "JN"; latency bounds are measured from it.
	Origin  string          `json:"origin"`
	Request nodes.Resources `json:"request"`
	// DurationMs is how long the work runs once started.
	DurationMs int64 `json:"duration_ms,omitempty"`
	// LatencyBoundMs is the largest acceptable RTT origin→site; 0 = none.
	LatencyBoundMs float64 `json:"latency_bound_ms,omitempty"`
	// Deadline is the latest acceptable completion time (RFC 3339).
	Deadline time.Time `json:"deadline,omitzero"`
	Priority int       `json:"priority,omitempty"`
	InputMB  float64   `json:"input_mb,omitempty"`
	// Tiers restricts the tiers (core, cluster, edge); empty = any.
	Tiers []string `json:"tiers,omitempty"`
	// Sites restricts the sites (by id); empty = any.
	Sites []string `json:"sites,omitempty"`
}

// Workload is a workload as the cluster knows it.
type Workload struct {
	WorkloadSpec
	Status string `json:"status"`
	// Node and Site are where it is placed (placed, running, completed,
	// failed, or cancelled after placement).
	Node  string `json:"node,omitempty"`
	Site  string `json:"site,omitempty"`
	Agent string `json:"agent,omitempty"`
	// Placement identifies the placement it is (or was last) live in: the
	// Raft index of the plan entry that placed it. Every placement of a
	// workload has a new one; it is cleared when the workload goes back to
	// pending. Agents echo it in their events (Event.Placement).
	Placement uint64 `json:"placement,omitempty"`
	// Late is set when it was placed although no site could meet its deadline.
	Late bool `json:"late,omitempty"`
	// Reason is the scheduler's filter that last refused it (rejected, or
	// pending while waiting for capacity), e.g. "capacity", "latency".
	Reason string `json:"reason,omitempty"`
	// Explanation says, in words, why it was rejected or is waiting.
	Explanation string `json:"explanation,omitempty"`
	// Waiting is set while a pending workload waits for capacity to change.
	Waiting bool `json:"waiting,omitempty"`
	// NotBefore is when deferred work will be decided again.
	NotBefore time.Time `json:"not_before,omitzero"`
	// DeferSite is where deferred work is meant to start when it comes
	// back, if the policy that deferred it said (the optimizer does).
	DeferSite   string    `json:"defer_site,omitempty"`
	Attempts    int       `json:"attempts"`
	SubmittedAt time.Time `json:"submitted_at"`
	PlacedAt    time.Time `json:"placed_at,omitzero"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
	// Seq is the submission order; CreateIndex and ModifyIndex are the Raft
	// indexes of the entries that created and last changed it.
	Seq         uint64 `json:"seq"`
	CreateIndex uint64 `json:"create_index"`
	ModifyIndex uint64 `json:"modify_index"`
}

// Site is a data-centre site as registered by an agent.
type Site struct {
	ID string `json:"id"`
	// City is the city code (e.g. "JN"); the site's coordinates come from it
	// unless Lat/Lon are given.
	City string  `json:"city"`
	Role string  `json:"role"`           // core-zone, provincial, regional, cluster-zone, industry, edge
	Tier string  `json:"tier,omitempty"` // derived from Role when empty
	PUE  float64 `json:"pue"`
	Lat  float64 `json:"lat,omitempty"`
	Lon  float64 `json:"lon,omitempty"`
}

// NodeSpec is a node as an agent registers it.
type NodeSpec struct {
	ID       string          `json:"id"`
	Site     string          `json:"site"`
	Type     string          `json:"type,omitempty"`
	Capacity nodes.Resources `json:"capacity"`
}

// Node is a node as the cluster knows it.
type Node struct {
	NodeSpec
	Agent string `json:"agent"`
	State string `json:"state"` // up, draining, down
	// DownReason says who took it down: "gossip" (its agent left or died),
	// "deregistered" (its agent re-registered without it) or "operator".
	DownReason string `json:"down_reason,omitempty"`
	// OperatorState is what an operator last set through the API,
	// "draining" or "down" ("" after "up", or never). The agent's
	// re-registrations and its return to the gossip pool bring the node
	// back to this state, not above it.
	OperatorState string          `json:"operator_state,omitempty"`
	Used          nodes.Resources `json:"used"`
	Workloads     int             `json:"workloads"`
	ModifyIndex   uint64          `json:"modify_index"`
}

// Server is a member of the Raft cluster.
type Server struct {
	ID         string `json:"id"`
	RaftAddr   string `json:"raft_addr"`
	HTTPAddr   string `json:"http_addr"`
	GossipAddr string `json:"gossip_addr,omitempty"`
	// LogVersion is the replicated log format version the server supports
	// (fsm.LogVersion) and Version its build; 0 and "" when unknown (a
	// server of a release that did not advertise them). In GET
	// /v1/cluster, what the server advertises in the gossip pool while it
	// is a member, else what the directory recorded.
	LogVersion int    `json:"log_version,omitempty"`
	Version    string `json:"version,omitempty"`
	// Filled in by GET /v1/cluster:
	Suffrage string `json:"suffrage,omitempty"` // voter, nonvoter
	Leader   bool   `json:"leader,omitempty"`
	Alive    *bool  `json:"alive,omitempty"` // gossip view; nil when unknown
}

// SubmitResult answers POST /v1/workloads (one) and is an element of a
// bulk answer.
type SubmitResult struct {
	ID string `json:"id"`
	// Result is "created", or "exists" when the same ID and spec were
	// already submitted.
	Result   string    `json:"result"`
	Workload *Workload `json:"workload,omitempty"`
	// Error is set when Result is "invalid" or "conflict" (group-committed
	// single submissions are judged one by one).
	Error *Error `json:"error,omitempty"`
}

// BulkSubmitResponse answers POST /v1/workloads/bulk.
type BulkSubmitResponse struct {
	Index   uint64         `json:"index"`
	Created int            `json:"created"`
	Exists  int            `json:"exists"`
	Results []SubmitResult `json:"results"`
}

// WorkloadList answers GET /v1/workloads: one page.
type WorkloadList struct {
	Index     uint64     `json:"index"`
	Workloads []Workload `json:"workloads"`
	// Next, when set, is the cursor to pass as ?after= for the next page;
	// empty on the last page. Cursors are opaque strings.
	Next string `json:"next,omitempty"`
	// Total is how many workloads match the filters in the whole state at
	// Index, whatever the page and cursor.
	Total int `json:"total"`
}

// NodeList answers GET /v1/nodes: every registered site and one page of
// nodes.
type NodeList struct {
	Index uint64 `json:"index"`
	Sites []Site `json:"sites"`
	Nodes []Node `json:"nodes"`
	// Next, when set, is the cursor to pass as ?after= for the next page;
	// empty on the last page. Cursors are opaque strings.
	Next string `json:"next,omitempty"`
	// Total is how many nodes match the filters in the whole state at
	// Index, whatever the page and cursor.
	Total int `json:"total"`
}

// PlanRequest asks for a dry run (POST /v1/plan).
type PlanRequest struct {
	Workload WorkloadSpec `json:"workload"`
	// Policy overrides the server's policy for this dry run.
	Policy      string   `json:"policy,omitempty"`
	WhyNotSites []string `json:"why_not_sites,omitempty"`
	WhyNotNodes []string `json:"why_not_nodes,omitempty"`
	TopK        int      `json:"top_k,omitempty"`
}

// PlanResponse is the dry run's answer: nothing is committed.
type PlanResponse struct {
	Index   uint64 `json:"index"`
	Policy  string `json:"policy"`
	Outcome string `json:"outcome"` // place, defer, reject
	Node    string `json:"node,omitempty"`
	Site    string `json:"site,omitempty"`
	Late    bool   `json:"late,omitempty"`
	// Preempt lists the live workloads the placement would evict (servers
	// started with --preempt).
	Preempt []string `json:"preempt,omitempty"`
	// Reason is the filter that rejected it; Transient tells whether
	// waiting may help (the server would keep it pending).
	Reason      string          `json:"reason,omitempty"`
	Transient   bool            `json:"transient,omitempty"`
	NotBefore   time.Time       `json:"not_before,omitzero"`
	Score       float64         `json:"score"`
	Explanation PlanExplanation `json:"explanation"`
}

// PlanExplanation is the structured explanation of a dry run.
type PlanExplanation struct {
	Text       string                 `json:"text"`
	Feasible   int                    `json:"feasible_sites"`
	Removed    map[string]FilterCount `json:"removed"`
	Candidates []Candidate            `json:"candidates"`
	WhyNot     []WhyNot               `json:"why_not,omitempty"`
}

// FilterCount is how many sites and nodes one filter removed.
type FilterCount struct {
	Sites int `json:"sites"`
	Nodes int `json:"nodes"`
}

// Candidate is a feasible site and its score terms.
type Candidate struct {
	Site  string             `json:"site"`
	RTTMs float64            `json:"rtt_ms"`
	Terms map[string]float64 `json:"terms"`
	Total float64            `json:"total"`
	Late  bool               `json:"late,omitempty"`
}

// WhyNot answers why a named site or node was not chosen.
type WhyNot struct {
	Site     string  `json:"site"`
	Node     string  `json:"node,omitempty"`
	Filter   string  `json:"filter"`
	Reason   string  `json:"reason"`
	ScoreGap float64 `json:"score_gap,omitempty"`
}

// ClusterStatus answers GET /v1/cluster.
type ClusterStatus struct {
	// ClusterID is the cluster's identity (generated when it was
	// bootstrapped); empty until committed.
	ClusterID    string `json:"cluster_id,omitempty"`
	ID           string `json:"id"`
	State        string `json:"state"` // Leader, Follower, Candidate, Shutdown
	LeaderID     string `json:"leader_id"`
	LeaderAddr   string `json:"leader_raft_addr"`
	LeaderHTTP   string `json:"leader_http_addr,omitempty"`
	Term         uint64 `json:"term"`
	LastIndex    uint64 `json:"last_index"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	// Policy is the scheduling policy in force: the replicated scheduler
	// configuration's (Scheduler), or this server's --policy while the
	// cluster has none yet.
	Policy string `json:"policy"`
	// Scheduler is the replicated scheduler configuration in force and
	// SchedulerIndex the Raft index it was set at (absent until the
	// cluster's first leader commits one).
	Scheduler      *SchedulerConfig `json:"scheduler,omitempty"`
	SchedulerIndex uint64           `json:"scheduler_index,omitempty"`
	Servers        []Server         `json:"servers"`
	Members        []Member         `json:"members,omitempty"`
	Counts         Counts           `json:"counts"`
	// Gossip is this server's view of the gossip pool.
	Gossip *GossipStatus `json:"gossip,omitempty"`
}

// GossipStatus is a server's view of the gossip pool (in GET /v1/health
// and GET /v1/cluster).
type GossipStatus struct {
	// Encrypted: the pool runs with a gossip key.
	Encrypted bool `json:"encrypted"`
	// Joined: this server sees at least one other live member.
	Joined bool `json:"joined"`
	// Alive counts live members (this server included) but the suspect
	// ones; Suspect those this server's probes found unresponsive and not
	// yet declared dead; Dead those declared dead or gone (graceful leaves
	// too) in the last hour that have not rejoined.
	Alive   int `json:"alive"`
	Suspect int `json:"suspect"`
	Dead    int `json:"dead"`
	// JoinError is the last failed attempt to join the pool, naming the
	// addresses tried; empty once a join succeeds.
	JoinError string `json:"join_error,omitempty"`
}

// Member is a gossip pool member as this server sees it.
type Member struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	ID       string `json:"id"`
	Addr     string `json:"addr"`
	HTTPAddr string `json:"http_addr,omitempty"`
	State    string `json:"state"` // alive or suspect
	// Servers: the log version and build they advertise (absent for
	// servers that predate advertising them).
	LogVersion int    `json:"log_version,omitempty"`
	Version    string `json:"version,omitempty"`
}

// Counts are the cluster's totals.
type Counts struct {
	Workloads map[string]int `json:"workloads"`
	Nodes     map[string]int `json:"nodes"`
	Agents    int            `json:"agents"`
	Sites     int            `json:"sites"`
}

// JoinRequest asks the cluster to add a server as a voter (POST
// /v1/cluster/join).
type JoinRequest struct {
	ID         string `json:"id"`
	RaftAddr   string `json:"raft_addr"`
	HTTPAddr   string `json:"http_addr"`
	GossipAddr string `json:"gossip_addr,omitempty"`
	// ClusterID is the cluster ID the joining server's data directory
	// holds (its cluster-id file), if any: the leader refuses a server of
	// another cluster.
	ClusterID string `json:"cluster_id,omitempty"`
}

// RemoveRequest asks the cluster to remove a server (POST
// /v1/cluster/remove).
type RemoveRequest struct {
	ID string `json:"id"`
}

// TransferLeaderRequest asks the leader to hand leadership to another
// voter (POST /v1/cluster/transfer-leader): the one named by ID, or any
// (the most up to date) when ID is empty.
type TransferLeaderRequest struct {
	ID string `json:"id,omitempty"`
}

// Health answers GET /v1/health.
type Health struct {
	Status string `json:"status"` // ok, no_leader
	// ClusterID is the cluster's identity as this server knows it (its
	// state's, or its data directory's); empty if it knows none.
	ClusterID    string `json:"cluster_id,omitempty"`
	ID           string `json:"id"`
	State        string `json:"state"`
	Leader       string `json:"leader"`
	AppliedIndex uint64 `json:"applied_index"`
	// Gossip is this server's view of the gossip pool.
	Gossip *GossipStatus `json:"gossip,omitempty"`
}

// RegisterRequest is an agent's registration (POST /v1/agent/register).
type RegisterRequest struct {
	AgentID string     `json:"agent_id"`
	Nodes   []NodeSpec `json:"nodes"`
	Sites   []Site     `json:"sites"`
	// Instance identifies this run of the agent (random per start; the
	// same value is in its gossip metadata). When the pool declares an
	// older instance dead after a newer one registered, the agent was
	// restarted and its nodes stay up.
	Instance string `json:"instance,omitempty"`
}

// RegisterResponse answers a registration.
type RegisterResponse struct {
	Index uint64 `json:"index"`
	Nodes int    `json:"nodes"`
	Sites int    `json:"sites"`
}

// Assignment is a workload an agent should run (or is running).
type Assignment struct {
	WorkloadID string          `json:"workload_id"`
	NodeID     string          `json:"node_id"`
	Request    nodes.Resources `json:"request"`
	DurationMs int64           `json:"duration_ms"`
	PlacedAt   time.Time       `json:"placed_at"`
	Status     string          `json:"status"` // placed or running
	Class      string          `json:"class,omitempty"`
	// StartedAt is when the agent reported the work started (running
	// only), so a restarted agent finishes it on its original schedule.
	StartedAt time.Time `json:"started_at,omitzero"`
	// Placement identifies this placement of the workload (the Raft index
	// of the plan entry that placed it; Workload.Placement). The same
	// workload placed again, on this node or another, has another one: an
	// agent that sees a new placement for work it runs starts it afresh,
	// and echoes the placement in every event about the run (Event).
	Placement uint64 `json:"placement,omitempty"`
}

// Assignments answers GET /v1/agent/{id}/assignments: the full set of work
// that should run on the agent's nodes. Anything the agent runs that is
// absent from the list was cancelled or moved and should stop.
type Assignments struct {
	Index       uint64       `json:"index"`
	Assignments []Assignment `json:"assignments"`
}

// Event kinds an agent reports.
const (
	EventStarted   = "started"
	EventCompleted = "completed"
	EventFailed    = "failed"
)

// Event is one thing that happened to a workload on an agent's node.
type Event struct {
	WorkloadID string    `json:"workload_id"`
	NodeID     string    `json:"node_id"`
	Kind       string    `json:"kind"`
	At         time.Time `json:"at"`
	// Placement is the Assignment.Placement of the run the event is about.
	// The servers ignore an event whose placement is not the workload's
	// current one (a run evicted, stopped or moved since). 0 (omitted) is
	// an event from an agent that predates placements: it is matched by
	// workload, node and agent alone, as before, and so cannot be told
	// from a late event of an earlier run on the same node.
	Placement uint64 `json:"placement,omitempty"`
}

// EventsRequest is POST /v1/agent/{id}/events.
type EventsRequest struct {
	Events []Event `json:"events"`
}

// EventResult is the outcome of one event: "applied", or "ignored" with a
// reason (stale: the workload moved elsewhere, was placed again since the
// run the event is about, or is already finished).
type EventResult struct {
	WorkloadID string `json:"workload_id"`
	Result     string `json:"result"`
	Reason     string `json:"reason,omitempty"`
}

// EventsResponse answers POST /v1/agent/{id}/events.
type EventsResponse struct {
	Index   uint64        `json:"index"`
	Results []EventResult `json:"results"`
}

// CancelResponse answers POST /v1/workloads/{id}/cancel.
type CancelResponse struct {
	Index    uint64   `json:"index"`
	Workload Workload `json:"workload"`
}

// SchedulerConfig is the cluster's scheduler configuration, replicated
// through Raft (GET and PUT /v1/operator/scheduler): the policy every
// leader schedules with and the settings of a scenario's scheduler block
// that the core takes, in the block's terms (0 is "none" where the block
// says so; defer_slack in milliseconds). The server checks it with the
// scenario loader's ranges (docs/scenario-format.md).
type SchedulerConfig struct {
	// Policy is the scheduling policy's name (suanli policies).
	Policy string `json:"policy"`
	// Preempt lets work that finds no room evict live work of a lower
	// priority.
	Preempt bool `json:"preempt"`
	// Weights are balanced's scorer weights (and the optimizer's for
	// the work it places as balanced), each in [0, 1000], one > 0.
	Weights SchedulerWeights `json:"weights"`
	// NodeCandidates, [1, 32]: fitting nodes compared inside a site.
	NodeCandidates int `json:"node_candidates"`
	// DeferThreshold, [0, 1]: the gain a window policy needs to defer.
	DeferThreshold float64 `json:"defer_threshold"`
	// DeferSlackMs, [0, 7 days] in ms: slack before the latest start of
	// deferred work (0: none).
	DeferSlackMs int64 `json:"defer_slack_ms"`
	// DeferSlackFraction, [0, 10]: slack of at least this share of the
	// run time one interruption can cost (0: DeferSlackMs alone).
	DeferSlackFraction float64 `json:"defer_slack_fraction"`
	// Optimizer tunes the optimizer policy.
	Optimizer OptimizerSettings `json:"optimizer"`
}

// SchedulerWeights are scorer weights by scorer name.
type SchedulerWeights struct {
	Latency float64 `json:"latency"`
	Cost    float64 `json:"cost"`
	Carbon  float64 `json:"carbon"`
	BinPack float64 `json:"binpack"`
	Spread  float64 `json:"spread"`
}

// OptimizerSettings are the optimizer's options in a scenario's terms
// (scheduler.optimizer; 0 is none where it says so).
type OptimizerSettings struct {
	Tolerance     float64 `json:"tolerance"`
	RecoveryHours float64 `json:"recovery_hours"`
	ReplanShare   float64 `json:"replan_share"`
	CarbonWeight  float64 `json:"carbon_weight"`
	PriceWeight   float64 `json:"price_weight"`
	Utilization   float64 `json:"utilization"`
}

// SchedulerConfigResponse answers GET and PUT /v1/operator/scheduler.
type SchedulerConfigResponse struct {
	// Index is the Raft index the answer reflects (PUT: the entry that
	// set it).
	Index uint64 `json:"index"`
	// ModifyIndex is the Raft index the configuration was set at: the
	// value to pass as ?cas (0: none set yet).
	ModifyIndex uint64 `json:"modify_index"`
	// Scheduler is the configuration (absent while none is set).
	Scheduler *SchedulerConfig `json:"scheduler,omitempty"`
}
