package cluster

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Op kinds of a client history.
const (
	OpSubmit = "submit"
	OpRead   = "read"
)

// Outcomes of a client operation.
const (
	// Submit outcomes.
	Created = "created" // 201: the server created it
	Exists  = "exists"  // 200: it was already there (same ID and spec)
	Failed  = "failed"  // definitely not applied (no_leader, not_leader, timeout, connection refused)
	Unknown = "unknown" // may or may not be applied (unknown_outcome, lost answer, client timeout)
	// Read outcomes (consistent reads; failed reads are not recorded).
	Found  = "found"
	Absent = "absent"
)

// Input is what a client asked.
type Input struct {
	Op string
	ID string
}

// Output is what the client saw. CreateIndex and ModifyIndex are the
// workload's Raft indexes as returned (0 when not returned).
type Output struct {
	Outcome     string
	CreateIndex uint64
	ModifyIndex uint64
	Status      string
}

// State is the model's view of one workload: whether it exists, the
// index that created it (0 = exists but not yet observed), and the
// highest modify index observed.
type State struct {
	Exists      bool
	CreateIndex uint64
	ModifyIndex uint64
}

// Model is the sequential specification the cluster's workload API must
// be linearizable against, per workload ID:
//
//   - a submit answered "created" happens only if the workload did not
//     exist; "exists" only if it did, with the same create index (the
//     modify index in a submit's answer is a local read and is not
//     checked);
//   - a submit that definitely failed changes nothing; one with an
//     unknown outcome may or may not have created it;
//   - a consistent read finds exactly the workloads that exist, with the
//     create index they were created at and a modify index that never
//     goes backwards.
//
// Lost acknowledged writes, duplicate creation, stale reads and "failed"
// writes that were in fact applied all make a history illegal.
var Model = porcupine.NondeterministicModel{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			id := op.Input.(Input).ID
			if _, ok := by[id]; !ok {
				keys = append(keys, id)
			}
			by[id] = append(by[id], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() []any { return []any{State{}} },
	Step: func(state, input, output any) []any {
		s, in, out := state.(State), input.(Input), output.(Output)
		switch in.Op {
		case OpSubmit:
			switch out.Outcome {
			case Created:
				if s.Exists {
					return nil
				}
				return []any{State{Exists: true, CreateIndex: out.CreateIndex}}
			case Exists:
				// The workload in a submit's answer is read from the
				// answering server's state, not linearizably: only its
				// create index (immutable) is checked.
				out.ModifyIndex = 0
				if ns, ok := observe(s, out); ok {
					return []any{ns}
				}
				return nil
			case Failed:
				return []any{s}
			case Unknown:
				if s.Exists {
					return []any{s}
				}
				return []any{s, State{Exists: true}}
			}
		case OpRead:
			switch out.Outcome {
			case Found:
				if ns, ok := observe(s, out); ok {
					return []any{ns}
				}
				return nil
			case Absent:
				if s.Exists {
					return nil
				}
				return []any{s}
			}
		}
		return nil
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(Input), output.(Output)
		return fmt.Sprintf("%s(%s) → %s c%d m%d %s", in.Op, in.ID, out.Outcome, out.CreateIndex, out.ModifyIndex, out.Status)
	},
	DescribeState: func(state any) string {
		s := state.(State)
		if !s.Exists {
			return "absent"
		}
		return fmt.Sprintf("exists c%d m%d", s.CreateIndex, s.ModifyIndex)
	},
}

// observe checks an observation of an existing workload against the state.
func observe(s State, out Output) (State, bool) {
	if !s.Exists {
		return s, false
	}
	if out.CreateIndex != 0 {
		if s.CreateIndex != 0 && s.CreateIndex != out.CreateIndex {
			return s, false
		}
		s.CreateIndex = out.CreateIndex
	}
	if out.ModifyIndex != 0 {
		if out.ModifyIndex < s.ModifyIndex {
			return s, false
		}
		s.ModifyIndex = out.ModifyIndex
	}
	return s, true
}

// History records client operations concurrently. Times are nanoseconds
// since the history started (monotonic clock).
type History struct {
	start time.Time

	mu      sync.Mutex
	ops     []porcupine.Operation
	clients int
}

// NewHistory starts an empty history.
func NewHistory() *History { return &History{start: time.Now()} }

// Now is the history's current time.
func (h *History) Now() int64 { return int64(time.Since(h.start)) }

// NewClient returns a fresh client ID. A client whose operation had an
// unknown outcome must continue under a new ID: its unknown operation
// never returns, and one client's operations must not overlap.
func (h *History) NewClient() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients++
	return h.clients - 1
}

// Add records an operation. Unknown outcomes are recorded as returning at
// the end of the history (they may take effect any time after their call).
func (h *History) Add(client int, in Input, call int64, out Output, ret int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if out.Outcome == Unknown {
		ret = -1 // fixed up in Operations
	}
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
}

// Operations returns the history, unknown outcomes ending after
// everything else.
func (h *History) Operations() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	var end int64
	for _, op := range h.ops {
		end = max(end, op.Call, op.Return)
	}
	out := slices.Clone(h.ops)
	for i := range out {
		if out[i].Return < 0 {
			out[i].Return = end + 1
		}
	}
	slices.SortStableFunc(out, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
	return out
}

// Counts tallies outcomes per op kind ("submit:created" → n).
func (h *History) Counts() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := map[string]int{}
	for _, op := range h.ops {
		c[op.Input.(Input).Op+":"+op.Output.(Output).Outcome]++
	}
	return c
}

// Check runs porcupine on the history.
func Check(ops []porcupine.Operation, timeout time.Duration) (porcupine.CheckResult, porcupine.LinearizationInfo) {
	return porcupine.CheckOperationsVerbose(Model.ToModel(), ops, timeout)
}

// Visualize writes porcupine's HTML view of a checked history.
func Visualize(info porcupine.LinearizationInfo, w io.Writer) error {
	return porcupine.Visualize(Model.ToModel(), info, w)
}
