package fsm

import (
	"fmt"
	"io"

	"github.com/hashicorp/raft"
)

// Raft adapts an FSM to hashicorp/raft's FSM and BatchingFSM interfaces.
type Raft struct{ F *FSM }

var (
	_ raft.FSM         = Raft{}
	_ raft.BatchingFSM = Raft{}
)

// Apply implements raft.FSM.
func (r Raft) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	return r.F.Apply(l.Index, l.Data)
}

// ApplyBatch implements raft.BatchingFSM: one lock for many entries.
func (r Raft) ApplyBatch(logs []*raft.Log) []any {
	idx := make([]uint64, 0, len(logs))
	data := make([][]byte, 0, len(logs))
	pos := make([]int, 0, len(logs))
	for i, l := range logs {
		if l.Type == raft.LogCommand {
			idx = append(idx, l.Index)
			data = append(data, l.Data)
			pos = append(pos, i)
		}
	}
	out := make([]any, len(logs))
	if len(data) == 0 {
		return out
	}
	res := r.F.ApplyBatch(idx, data)
	for k, i := range pos {
		out[i] = res[k]
	}
	return out
}

// Snapshot implements raft.FSM.
// A halted FSM refuses: its state is not the state at the index Raft
// would record for the snapshot.
func (r Raft) Snapshot() (raft.FSMSnapshot, error) {
	if err := r.F.HaltErr(); err != nil {
		return nil, fmt.Errorf("fsm snapshot: %w", err)
	}
	return snap{r.F.Snapshot()}, nil
}

// Restore implements raft.FSM.
func (r Raft) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	return r.F.Restore(rc)
}

type snap struct{ s *State }

func (s snap) Persist(sink raft.SnapshotSink) error {
	if err := s.s.Write(sink); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s snap) Release() {}
