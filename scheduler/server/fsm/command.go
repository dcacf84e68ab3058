package fsm

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/suanli/suanli/scheduler/server/api"
)

// CmdType is the first byte of every log entry.
type CmdType uint8

// Command types. Values are part of the log format: never renumber.
//
// Rules for a new command type (rolling upgrades: old and new servers
// share one log while a cluster is upgraded one server at a time):
//
//   - Give it the next free value below 0x80 and the next log version
//     (LogVersion+1, version.go: the table, cmdVersions).
//   - The leader commits it only while every server of the Raft
//     configuration advertises that log version (Server.apply's gate,
//     answering upgrade_required otherwise): write it through
//     Server.apply, never raft.Apply directly. Work that cannot wait
//     (like seeding the scheduler configuration) keeps the old behaviour
//     until the gate opens, and tries again when membership changes.
//   - An older server that meets it anyway (a server rolled back after it
//     was used) halts (ErrHalted) rather than skip it and diverge. Only a
//     command that changes nothing an older server reads may be sent with
//     IgnoreUnknownFlag set, which lets older servers skip it.
//   - State it adds goes into snapshots as a new optional member, written
//     only once a command of the new version set it (snapHead.needs), so
//     a cluster that has not used the command still writes snapshots the
//     older servers restore.
//   - A new field in an existing command is ignored by older servers
//     (json.Unmarshal): it must not change the outcome of the command, or
//     it needs a new command type (or version of this one) instead.
//   - Changing what an existing command does to the same state is a new
//     log version too: the leader keeps committing the old behaviour (or
//     sends the new one as a new command type) until the gate opens.
//   - Renaming or reinterpreting a field is never allowed.
const (
	CmdRegister  CmdType = 1 // Register
	CmdNodeState CmdType = 2 // NodeState
	CmdSubmit    CmdType = 3 // Submit
	CmdPlan      CmdType = 4 // Plan
	CmdEvents    CmdType = 5 // Events
	CmdCancel    CmdType = 6 // Cancel
	CmdServer    CmdType = 7 // ServerCmd
	CmdClusterID CmdType = 8 // ClusterID
	CmdScheduler CmdType = 9 // SetScheduler
)

func (t CmdType) String() string {
	switch t &^ IgnoreUnknownFlag {
	case CmdRegister:
		return "register"
	case CmdNodeState:
		return "node_state"
	case CmdSubmit:
		return "submit"
	case CmdPlan:
		return "plan"
	case CmdEvents:
		return "events"
	case CmdCancel:
		return "cancel"
	case CmdServer:
		return "server"
	case CmdClusterID:
		return "cluster_id"
	case CmdScheduler:
		return "scheduler"
	}
	return fmt.Sprintf("cmd(%d)", uint8(t&^IgnoreUnknownFlag))
}

// ErrDecode wraps every error decoding a log entry.
var ErrDecode = errors.New("fsm: bad log entry")

// Register registers (or re-registers) an agent with its sites and nodes;
// its nodes come up, but never above the state an operator set on them
// (Node.OperatorState: a drained node stays draining, one an operator took
// down stays down). Nodes the agent registered before and does not list now
// go down ("deregistered").
type Register struct {
	At      time.Time      `json:"at"`
	AgentID string         `json:"agent_id"`
	Sites   []api.Site     `json:"sites"`
	Nodes   []api.NodeSpec `json:"nodes"`
	// Instance is the registering run of the agent (may be empty).
	Instance string `json:"instance,omitempty"`
}

// Reasons for node state changes (NodeState.Reason, Node.DownReason).
const (
	ReasonGossip       = "gossip"       // the agent's gossip member died, left or returned
	ReasonOperator     = "operator"     // through the API (POST /v1/nodes/{id}/state)
	ReasonDeregistered = "deregistered" // the agent registered again without the node
)

// NodeState sets nodes down, draining or up: the listed nodes, or all nodes
// of AgentID. Work on nodes that go down goes back to pending. With Reason
// "operator" the state is also recorded as the node's OperatorState. A
// node already down keeps its reason when Reason is "gossip".
type NodeState struct {
	At      time.Time `json:"at"`
	AgentID string    `json:"agent_id,omitempty"`
	Nodes   []string  `json:"nodes,omitempty"`
	State   string    `json:"state"`  // up, draining, down
	Reason  string    `json:"reason"` // gossip, operator
	// OnlyReason, with State up, brings back only nodes that went down for
	// this reason, and only to their OperatorState (an agent that rejoins
	// the gossip pool does not undo an operator's decision).
	OnlyReason string `json:"only_reason,omitempty"`
}

// Submit adds workloads (group commit: one entry, many workloads). Specs
// must be validated (ValidateSpec) and carry IDs.
//
// With PerItem false (a bulk request from one client) the entry is all or
// nothing. With PerItem true (single submissions of many clients grouped
// into one entry by the server) each workload is judged on its own: an
// invalid or conflicting one gets its own error result and the others are
// applied.
type Submit struct {
	At        time.Time          `json:"at"`
	PerItem   bool               `json:"per_item,omitempty"`
	Workloads []api.WorkloadSpec `json:"workloads"`
}

// Plan outcomes.
const (
	OutcomePlace  = "place"
	OutcomeDefer  = "defer"
	OutcomeWait   = "wait"   // transient rejection: pending until capacity changes
	OutcomeReject = "reject" // permanent rejection
)

// PlanItem is the leader's decision for one workload.
type PlanItem struct {
	ID string `json:"id"`
	// ReadySeq is the ready sequence number the leader read; a decision
	// about an older incarnation of the workload's pending state is ignored.
	ReadySeq  uint64    `json:"rs"`
	Outcome   string    `json:"o"`
	Node      string    `json:"n,omitempty"`
	Late      bool      `json:"late,omitempty"`
	NotBefore time.Time `json:"nb,omitzero"`
	// DeferSite, on a deferral, is the site the policy means to start the
	// work at when it returns (empty: none in particular), so a new
	// leader's policy can take over the reservation (scheduler.Adopter).
	DeferSite   string `json:"ds,omitempty"`
	Reason      string `json:"r,omitempty"`
	Explanation string `json:"x,omitempty"`
	// KeepExplanation, on a wait with the reason the workload already
	// has, says its explanation is unchanged too: the FSM keeps the one
	// it has and the log does not carry it again (every capacity change
	// wakes waiting work to be decided again, mostly to the same end).
	KeepExplanation bool `json:"kx,omitempty"`
	// Evict lists the live workloads on Node this placement preempts:
	// each must still be live there with a lower priority, or the
	// placement is refused as a conflict; they go back to pending.
	Evict []string `json:"ev,omitempty"`
}

// Plan commits a batch of the leader's decisions.
type Plan struct {
	At time.Time `json:"at"`
	// Epoch is the FSM's capacity epoch the leader planned on (see
	// FSM.Epochs); a "wait" decision from an older epoch is retried.
	Epoch  uint64     `json:"epoch"`
	Leader string     `json:"leader,omitempty"`
	Items  []PlanItem `json:"items"`
}

// Events applies agent events.
type Events struct {
	At      time.Time   `json:"at"`
	AgentID string      `json:"agent_id"`
	Events  []api.Event `json:"events"`
}

// Cancel cancels a workload.
type Cancel struct {
	At time.Time `json:"at"`
	ID string    `json:"id"`
}

// ServerCmd adds (or updates) or removes a server in the directory that
// maps Raft server IDs to HTTP and gossip addresses, and records the log
// version and build each server advertised (api.Server.LogVersion,
// Version; a command without them keeps the recorded ones).
type ServerCmd struct {
	Remove bool       `json:"remove,omitempty"`
	Server api.Server `json:"server"`
}

// ClusterID sets the cluster's identity, generated by the leader that
// finds none (the bootstrapping server's first leadership, or the first
// leader of a cluster that predates cluster IDs). The first one applied
// stays for the cluster's life: a later, different one changes nothing
// (ClusterIDResult names the one kept).
type ClusterID struct {
	ID string `json:"id"`
}

// Encode serializes a command as a log entry.
func Encode(t CmdType, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", t, err)
	}
	out := make([]byte, 1+len(b))
	out[0] = byte(t)
	copy(out[1:], b)
	return out, nil
}

// Decode parses a log entry into its command. The type it returns is
// without IgnoreUnknownFlag; an unknown type's error matches both
// ErrDecode and ErrUnknownCommand.
func Decode(data []byte) (CmdType, any, error) {
	if len(data) < 1 {
		return 0, nil, fmt.Errorf("%w: empty", ErrDecode)
	}
	t := CmdType(data[0]) &^ IgnoreUnknownFlag
	var v any
	switch t {
	case CmdRegister:
		v = new(Register)
	case CmdNodeState:
		v = new(NodeState)
	case CmdSubmit:
		v = new(Submit)
	case CmdPlan:
		v = new(Plan)
	case CmdEvents:
		v = new(Events)
	case CmdCancel:
		v = new(Cancel)
	case CmdServer:
		v = new(ServerCmd)
	case CmdClusterID:
		v = new(ClusterID)
	case CmdScheduler:
		v = new(SetScheduler)
	case 0:
		return t, nil, fmt.Errorf("%w: command type 0 (no command has it)", ErrDecode)
	default:
		return t, nil, fmt.Errorf("%w: %w %d (this server knows log version %d)", ErrDecode, ErrUnknownCommand, data[0], LogVersion)
	}
	if err := json.Unmarshal(data[1:], v); err != nil {
		return t, nil, fmt.Errorf("%w: %s: %v", ErrDecode, t, err)
	}
	return t, v, nil
}
