package scheduler

import (
	"errors"
	"fmt"
	"time"

	"github.com/suanli/suanli/nodes"
)

// Workload is one unit of work to place on one node.
type Workload struct {
	ID    string
	Class string
	// Origin is the index of the city the work comes from (its data and
	// users are there), in the origin list the snapshot's latency table was
	// built from.
	Origin int
	// Request is what the workload reserves on its node while it runs.
	Request nodes.Resources
	// Duration is how long it runs once started.
	Duration time.Duration
	// LatencyBoundMs is the largest acceptable network round-trip time from
	// the origin to the site, in ms; 0 means no bound.
	LatencyBoundMs float64
	// Deadline is the latest acceptable completion time; zero means none.
	Deadline time.Time
	// Checkpoint is how often the work saves its progress while it runs;
	// zero means never (an interruption loses all of it). It bounds the
	// run time an interruption can cost (AtRisk), which the deferral
	// slack covers (Config.DeferSlackFraction).
	Checkpoint time.Duration
	// Priority orders work in queues; higher runs first.
	Priority int
	// InputMB is the size of the input data in MB that must move from the
	// origin to the site before the work can start.
	InputMB float64
	// Tiers restricts the tiers the work may run in; 0 means any tier.
	Tiers nodes.TierSet
	// Sites restricts the sites the work may run at; nil means any site.
	Sites *SiteSet
}

// Validate reports problems a caller must fix before asking for a decision.
func (w *Workload) Validate(numOrigins, numSites int) error {
	var errs []error
	if w.Origin < 0 || w.Origin >= numOrigins {
		errs = append(errs, fmt.Errorf("origin %d out of range [0,%d)", w.Origin, numOrigins))
	}
	if w.Request.CPUMilli <= 0 {
		errs = append(errs, fmt.Errorf("cpu_milli %d must be > 0", w.Request.CPUMilli))
	}
	if w.Request.MemoryMiB < 0 {
		errs = append(errs, fmt.Errorf("memory_mib %d must be >= 0", w.Request.MemoryMiB))
	}
	if w.Request.GPUMilli < 0 {
		errs = append(errs, fmt.Errorf("gpu_milli %d must be >= 0", w.Request.GPUMilli))
	}
	if w.Duration < 0 {
		errs = append(errs, fmt.Errorf("duration %v must be >= 0", w.Duration))
	}
	if w.LatencyBoundMs < 0 {
		errs = append(errs, fmt.Errorf("latency_bound_ms %g must be >= 0", w.LatencyBoundMs))
	}
	if w.InputMB < 0 {
		errs = append(errs, fmt.Errorf("input_mb %g must be >= 0", w.InputMB))
	}
	if w.Sites != nil && w.Sites.Len() > numSites {
		errs = append(errs, fmt.Errorf("site set sized for %d sites, snapshot has %d", w.Sites.Len(), numSites))
	}
	return errors.Join(errs...)
}

// AtRisk is the run time one interruption can cost the work: all of
// Duration, or at most one Checkpoint period when it checkpoints.
func (w *Workload) AtRisk() time.Duration {
	if w.Checkpoint > 0 && w.Checkpoint < w.Duration {
		return w.Checkpoint
	}
	return w.Duration
}

// tiers returns the allowed tier set, treating 0 as all tiers.
func (w *Workload) tiers() nodes.TierSet {
	if w.Tiers == 0 {
		return nodes.AllTiers
	}
	return w.Tiers
}

// SiteSet is a set of site indices, as a bitset. Build it once per
// constraint and share it between workloads.
type SiteSet struct {
	n    int
	bits []uint64
}

// NewSiteSet returns a set sized for numSites sites containing members.
func NewSiteSet(numSites int, members ...int) *SiteSet {
	s := &SiteSet{n: numSites, bits: make([]uint64, (numSites+63)/64)}
	for _, m := range members {
		s.Add(m)
	}
	return s
}

// Add inserts site i; out-of-range indices are ignored.
func (s *SiteSet) Add(i int) {
	if i >= 0 && i < s.n {
		s.bits[i>>6] |= 1 << (uint(i) & 63)
	}
}

// Has reports whether site i is in the set.
func (s *SiteSet) Has(i int) bool {
	return i >= 0 && i < s.n && s.bits[i>>6]&(1<<(uint(i)&63)) != 0
}

// Clear removes every site.
func (s *SiteSet) Clear() {
	for i := range s.bits {
		s.bits[i] = 0
	}
}

// Len is the number of sites the set was sized for.
func (s *SiteSet) Len() int { return s.n }

// Members lists the sites in the set in ascending order.
func (s *SiteSet) Members() []int {
	var out []int
	for i := 0; i < s.n; i++ {
		if s.Has(i) {
			out = append(out, i)
		}
	}
	return out
}
