package scheduler

import (
	"fmt"
	"time"
)

// Outcome is what a decision does with a workload.
type Outcome uint8

const (
	// Place runs the workload now on Decision.Node.
	Place Outcome = iota
	// Defer asks the driver to decide again at Decision.NotBefore.
	Defer
	// Reject refuses the workload for Decision.Reason.
	Reject
)

func (o Outcome) String() string {
	switch o {
	case Place:
		return "place"
	case Defer:
		return "defer"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// MarshalText implements encoding.TextMarshaler.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Filter identifies a feasibility check. Filters run in this order, cheapest
// first; a site is removed by the first one it fails.
type Filter uint8

const (
	// FilterLatency removes sites whose RTT from the origin exceeds the bound.
	FilterLatency Filter = iota
	// FilterTier removes sites in tiers the workload may not use.
	FilterTier
	// FilterSite removes sites outside the workload's allowed set.
	FilterSite
	// FilterDown removes sites with no node up.
	FilterDown
	// FilterGPU removes sites without GPU hardware for work that needs GPUs.
	FilterGPU
	// FilterCapacity removes sites where no up node has enough free
	// capacity in every dimension.
	FilterCapacity
	// FilterDeadline marks sites where the work (after moving its input)
	// cannot finish by its deadline. Such sites are used only when no site
	// can meet the deadline; the decision is then Late.
	FilterDeadline
	// NumFilters is the number of filters.
	NumFilters
	// FilterPolicy is the reason given when a policy deciding outside the
	// core (package scheduler/external) refuses work by its own rule.
	FilterPolicy Filter = 253
	// FilterInvalid is the reason given for a malformed workload.
	FilterInvalid Filter = 254
	// FilterNone means no filter applies (the decision placed the work).
	FilterNone Filter = 255
)

var filterNames = [NumFilters]string{"latency", "tier", "site", "down", "gpu", "capacity", "deadline"}

func (f Filter) String() string {
	switch {
	case f < NumFilters:
		return filterNames[f]
	case f == FilterInvalid:
		return "invalid"
	case f == FilterPolicy:
		return "policy"
	case f == FilterNone:
		return "none"
	}
	return fmt.Sprintf("filter(%d)", uint8(f))
}

// MarshalText implements encoding.TextMarshaler.
func (f Filter) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// Transient reports whether a rejection for this reason may succeed later
// without the workload changing (capacity frees up, nodes come back).
func (f Filter) Transient() bool { return f == FilterCapacity || f == FilterDown }

// Decision is the result of Decide.
type Decision struct {
	Outcome Outcome
	// Node and Site are the chosen node and its site (Place), or the site
	// the deferred work is expected to run at (Defer); -1 otherwise.
	Node, Site int
	// NotBefore is when deferred work should be decided again.
	NotBefore time.Time
	// Reason says why work was rejected: the last filter that removed
	// candidates. Reason.Transient() tells whether retrying can help.
	Reason Filter
	// Late is set when the work was placed although no candidate site can
	// finish it by its deadline.
	Late bool
	// Score is the chosen candidate's weighted score (Place).
	Score float64
	// TransferTime is how long the input takes to reach the chosen site.
	TransferTime time.Duration
	// Preempt lists the running work (RunningWork.ID) the driver must
	// evict from Node before it allocates this work there; empty unless
	// the placement preempts. It is the scheduler's scratch space, valid
	// until its next Decide.
	Preempt []int64
}

func reject(r Filter) Decision { return Decision{Outcome: Reject, Node: -1, Site: -1, Reason: r} }
