package fsm

import (
	"errors"
	"fmt"
)

// LogVersion is the version of the replicated log format this build reads
// and writes: the command types it knows and the snapshot members it
// understands. Every server advertises it (gossip metadata, the server
// directory, GET /v1/cluster), and a leader commits a command only once
// every server of the Raft configuration supports the log version that
// introduced it (CmdType.Version; the server's gate). It only grows.
//
//	log version | command types introduced         | snapshot members introduced
//	------------+----------------------------------+----------------------------------------------
//	1           | 1 register, 2 node_state,        | version, index, seq, ready_seq, park_seq,
//	            | 3 submit, 4 plan, 5 events,      | cap_epoch, cluster_id, sites, nodes, agents,
//	            | 6 cancel, 7 server, 8 cluster_id | servers, workloads, terminal
//	2           | 9 scheduler (SetScheduler)       | scheduler, log_version; servers[].log_version
//	            |                                  | and servers[].version
//
// A snapshot's log_version is the lowest log version that can read it
// (absent: 1). Members a version introduced are written only when the
// state needs them: scheduler exists only once a (gated) SetScheduler was
// applied, and the directory's versions, which are informational, are
// left out of snapshots that need no more than version 1, so servers of
// the previous release (log version 1, whose restore refuses unknown
// members) can restore the snapshots of a cluster being upgraded.
//
// To add a command type or a snapshot member: give it the next version
// (LogVersion+1), record it here, in cmdVersions and in
// docs/ARCHITECTURE.md, and write the member only when the state needs it
// (snapHead.needs). See command.go for the rules.
const LogVersion = 2

// IgnoreUnknownFlag is a bit of the type byte: a command with it set may
// be skipped by a server that does not know its type (it changes nothing
// such a server reads: purely informational). A server that knows the
// type applies it as usual. Without the flag, an unknown type stops the
// FSM (ErrHalted). No command type uses it yet; types are below 0x80.
const IgnoreUnknownFlag CmdType = 0x80

// cmdVersions is the log version that introduced each command type.
var cmdVersions = map[CmdType]int{
	CmdRegister: 1, CmdNodeState: 1, CmdSubmit: 1, CmdPlan: 1, CmdEvents: 1, CmdCancel: 1, CmdServer: 1, CmdClusterID: 1,
	CmdScheduler: 2,
}

// Version is the log version that introduced command type t (its
// IgnoreUnknownFlag aside), or 0 for a type this build does not know.
func (t CmdType) Version() int { return cmdVersions[t&^IgnoreUnknownFlag] }

// ErrUnknownCommand wraps the decode error of a log entry whose command
// type this build does not know (written by a newer server).
var ErrUnknownCommand = errors.New("unknown command type")

// ErrHalted is what every error of a halted FSM matches (errors.Is): it
// met a log entry it cannot apply (an unknown command type) or a snapshot
// of a newer log version, and applies nothing more.
var ErrHalted = errors.New("fsm halted")

// HaltError says why and where an FSM halted.
type HaltError struct {
	// Index is the log index of the entry it could not apply (0 for a
	// snapshot), Type that entry's type byte.
	Index uint64
	Type  uint8
	// Snapshot is set when a snapshot of a newer log version was refused.
	Snapshot *SnapshotVersionError
}

func (e *HaltError) Error() string {
	if e.Snapshot != nil {
		return fmt.Sprintf("fsm halted: %v", e.Snapshot)
	}
	return fmt.Sprintf("fsm halted at log index %d: command type %d is unknown to this server (log version %d): "+
		"a newer server wrote it. This server applies nothing from that entry on, so as not to diverge from the servers that know it: "+
		"upgrade this server to the version the other servers run (suanli cluster status, VERSION) and start it again; "+
		"it resumes from its data directory (docs/operations.md, Upgrading a cluster)", e.Index, e.Type, LogVersion)
}

// Unwrap is the refused snapshot's error, if that is why.
func (e *HaltError) Unwrap() error {
	if e.Snapshot != nil {
		return e.Snapshot
	}
	return nil
}

// Is makes every HaltError match ErrHalted.
func (e *HaltError) Is(target error) bool { return target == ErrHalted }

// SnapshotVersionError refuses a snapshot written for a newer log version.
type SnapshotVersionError struct {
	Index      uint64 // the snapshot's log index
	LogVersion int    // the snapshot's
}

func (e *SnapshotVersionError) Error() string {
	return fmt.Sprintf("snapshot at index %d needs log version %d, and this server supports log version %d at most: "+
		"a newer server wrote it. Upgrade this server to the version the other servers run (suanli cluster status, VERSION) "+
		"and start it again (docs/operations.md, Upgrading a cluster)", e.Index, e.LogVersion, LogVersion)
}
