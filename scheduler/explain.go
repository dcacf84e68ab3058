package scheduler

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/suanli/suanli/nodes"
)

// Explanation answers "why was this placed there, and why not elsewhere".
//
// Before calling Decide, a caller may set WhyNotSites and WhyNotNodes (site
// and node indices) to ask why those were not chosen, and TopK (default 5)
// for how many scored candidates to keep. Decide fills the rest.
type Explanation struct {
	WhyNotSites []int
	WhyNotNodes []int
	TopK        int

	Policy   string
	Workload string
	Class    string
	Origin   int
	Time     time.Time
	Request  nodes.Resources
	// Sites and Nodes are how many sites and nodes the snapshot holds.
	Sites, Nodes int
	// Removed counts, per filter, the sites (and the nodes in them) the
	// filter removed. Each site is counted once, under the first filter it
	// failed, so the hard filters' counts and Feasible add up to Sites —
	// except that when no site can meet the deadline, the late sites are
	// both feasible and counted under FilterDeadline ("late at").
	Removed [NumFilters]FilterCount
	// Capacity breaks down, node by node, why the nodes of sites removed
	// for capacity could not take the work: the first dimension short.
	Capacity CapacityCount
	// Feasible is the number of sites that passed every filter.
	Feasible int
	// Weights are the scorer weights of the policy.
	Weights Weights
	// Candidates are the best scored sites, best first, with each
	// scorer's weighted term.
	Candidates []Candidate
	// Decision is what Decide returned.
	Decision Decision
	// ChosenSite and ChosenNode name the placement ("" if none).
	ChosenSite, ChosenNode string
	// WhyNot answers WhyNotSites and WhyNotNodes, in that order.
	WhyNot []WhyNot
	// Notes are remarks of policies implemented outside the core (the
	// optimizer says why it ran, deferred or fell back).
	Notes []string

	verdicts []siteVerdict
	sched    *Scheduler
}

// FilterCount is how many sites and nodes one filter removed.
type FilterCount struct {
	Sites int `json:"sites"`
	Nodes int `json:"nodes"`
}

// CapacityCount breaks capacity removals down per node.
type CapacityCount struct {
	NotUp  int `json:"not_up"`
	CPU    int `json:"cpu"`
	Memory int `json:"memory"`
	GPU    int `json:"gpu"`
}

// Candidate is a feasible site and its score.
type Candidate struct {
	Site  string              `json:"site"`
	RTTMs float64             `json:"rtt_ms"`
	Terms [NumScorers]float64 `json:"terms"` // weighted
	Total float64             `json:"total"`
	Late  bool                `json:"late,omitempty"`
	raw   [NumScorers]float64
}

// WhyNot is the answer for one named site or node.
type WhyNot struct {
	Site   string `json:"site"`
	Node   string `json:"node,omitempty"`
	Filter Filter `json:"filter"` // FilterNone if it passed the filters
	Reason string `json:"reason"`
	// ScoreGap is how much lower its score was than the chosen site's
	// (only when it passed every filter).
	ScoreGap float64 `json:"score_gap,omitempty"`
}

type siteVerdict struct {
	filter Filter // FilterNone: feasible
	rtt    float64
	seen   bool
}

func (ex *Explanation) begin(s *Scheduler, snap *Snapshot, w *Workload, now time.Time) {
	ex.sched = s
	ex.Policy, ex.Workload, ex.Class, ex.Origin, ex.Time, ex.Request = s.spec.Name, w.ID, w.Class, w.Origin, now, w.Request
	ex.Sites, ex.Nodes = snap.State.NumSites(), snap.State.NumNodes()
	ex.Removed = [NumFilters]FilterCount{}
	ex.Capacity = CapacityCount{}
	ex.Weights = s.weights
	ex.Candidates, ex.WhyNot, ex.Notes = nil, nil, nil
	ex.ChosenSite, ex.ChosenNode = "", ""
	ex.verdicts = make([]siteVerdict, snap.State.NumSites())
	if ex.TopK <= 0 {
		ex.TopK = 5
	}
}

func (ex *Explanation) removed(st *State, site int, f Filter, rtt float64) {
	v := &ex.verdicts[site]
	if v.seen && v.filter == FilterNone {
		// a feasible site turned out to have no single fitting node
		ex.Feasible--
	}
	*v = siteVerdict{filter: f, rtt: rtt, seen: true}
	sr := &st.sites[site]
	ex.Removed[f].Sites++
	ex.Removed[f].Nodes += len(sr.nodes)
	if f == FilterCapacity {
		for _, ni := range sr.nodes {
			n := &st.nodes[ni]
			free := n.free()
			switch {
			case n.state != nodes.NodeUp:
				ex.Capacity.NotUp++
			case free.CPUMilli < ex.Request.CPUMilli:
				ex.Capacity.CPU++
			case free.MemoryMiB < ex.Request.MemoryMiB:
				ex.Capacity.Memory++
			default:
				ex.Capacity.GPU++
			}
		}
	}
}

func (ex *Explanation) candidates(s *Scheduler, snap *Snapshot, w *Workload, cands []cand, row []float64) {
	ex.Feasible = len(cands)
	list := make([]Candidate, 0, len(cands))
	for _, c := range cands {
		ex.verdicts[c.site] = siteVerdict{filter: FilterNone, rtt: row[c.site], seen: true}
		if c.late {
			ex.Removed[FilterDeadline].Sites++
			ex.Removed[FilterDeadline].Nodes += len(snap.State.sites[c.site].nodes)
		}
		cd := Candidate{Site: snap.State.sites[c.site].info.ID, RTTMs: row[c.site], Total: c.total, Late: c.late}
		snap.siteTerms(w, int(c.site), row[c.site], &cd.raw)
		for k := range cd.raw {
			cd.Terms[k] = s.weights[k] * cd.raw[k]
		}
		list = append(list, cd)
	}
	sort.SliceStable(list, func(a, b int) bool { return list[a].Total > list[b].Total })
	if len(list) > ex.TopK {
		list = list[:ex.TopK]
	}
	ex.Candidates = list
}

// reinstateLate makes the late sites held back for the deadline the
// candidates once no on-time site had a node that fits: they count as
// feasible but late, as when no site is on time.
func (ex *Explanation) reinstateLate(s *Scheduler, snap *Snapshot, w *Workload, late []cand, row []float64) {
	for _, c := range late {
		ex.Removed[FilterDeadline].Sites--
		ex.Removed[FilterDeadline].Nodes -= len(snap.State.sites[c.site].nodes)
	}
	ex.candidates(s, snap, w, late, row)
}

func (ex *Explanation) finish(s *Scheduler, snap *Snapshot, w *Workload, d Decision) {
	ex.Decision = d
	st := snap.State
	if d.Outcome == Place {
		ex.ChosenSite, ex.ChosenNode = st.sites[d.Site].info.ID, st.nodeIDs[d.Node]
	} else if d.Site >= 0 {
		ex.ChosenSite = st.sites[d.Site].info.ID
	}
	for _, site := range ex.WhyNotSites {
		ex.WhyNot = append(ex.WhyNot, ex.whyNotSite(snap, w, site))
	}
	for _, n := range ex.WhyNotNodes {
		ex.WhyNot = append(ex.WhyNot, ex.whyNotNode(snap, w, n))
	}
}

// Conclude records a decision made outside the core, by a policy that
// wraps it (the optimizer), in an explanation the core's Decide has just
// filled for the same workload and snapshot: the decision, the chosen
// site and node and the why-not answers then describe d, not the
// decision of the wrapped policy.
func (ex *Explanation) Conclude(snap *Snapshot, w *Workload, d Decision) {
	if ex == nil || ex.sched == nil {
		return
	}
	ex.WhyNot, ex.ChosenSite, ex.ChosenNode = nil, "", ""
	ex.finish(ex.sched, snap, w, d)
}

func (ex *Explanation) whyNotSite(snap *Snapshot, w *Workload, site int) WhyNot {
	st := snap.State
	if site < 0 || site >= st.NumSites() {
		return WhyNot{Site: fmt.Sprintf("#%d", site), Filter: FilterInvalid, Reason: "no such site"}
	}
	sr := &st.sites[site]
	out := WhyNot{Site: sr.info.ID, Filter: FilterNone}
	v := ex.verdicts[site]
	if ex.Decision.Reason == FilterInvalid {
		out.Filter, out.Reason = FilterInvalid, "the workload is malformed (origin out of range, or no CPU requested)"
		return out
	}
	if !v.seen {
		// Only happens when the latency loop never reached it (cannot: the
		// loop marks every site) — keep a safe answer.
		out.Reason = "not evaluated"
		return out
	}
	if v.filter != FilterNone {
		out.Filter = v.filter
		out.Reason = ex.filterDetail(snap, w, site, v)
		return out
	}
	if ex.Decision.Outcome == Place && ex.Decision.Site == site {
		out.Reason = "chosen"
		return out
	}
	var mine, chosen *Candidate
	all := ex.allCandidates(snap, w)
	for i := range all {
		if all[i].Site == sr.info.ID {
			mine = &all[i]
		}
		if ex.Decision.Site >= 0 && all[i].Site == st.sites[ex.Decision.Site].info.ID {
			chosen = &all[i]
		}
	}
	switch {
	case mine != nil && mine.Late && (chosen == nil || !chosen.Late):
		out.Filter = FilterDeadline
		out.Reason = ex.deadlineDetail(snap, w, site)
	case ex.Decision.Outcome == Defer:
		out.Reason = fmt.Sprintf("feasible now, but the policy deferred the work to %s", ex.Decision.NotBefore.Format(time.RFC3339))
	case chosen == nil || mine == nil:
		out.Reason = "feasible, but not chosen"
	case ex.sched.spec.site != siteScore:
		out.Reason = fmt.Sprintf("feasible; policy %s picks %s", ex.Policy, siteModeWhy(ex.sched.spec.site))
	default:
		out.ScoreGap = chosen.Total - mine.Total
		var parts []string
		for k := Scorer(0); k < NumScorers; k++ {
			if ex.Weights[k] == 0 {
				continue
			}
			if d := mine.Terms[k] - chosen.Terms[k]; d != 0 {
				parts = append(parts, fmt.Sprintf("%s %+.3f", k, d))
			}
		}
		out.Reason = fmt.Sprintf("feasible, score %.3f vs %.3f for %s (lost by %.3f: %s)",
			mine.Total, chosen.Total, chosen.Site, out.ScoreGap, strings.Join(parts, ", "))
	}
	return out
}

func siteModeWhy(m siteMode) string {
	switch m {
	case siteFirst:
		return "the first feasible site by index"
	case siteRandom:
		return "a feasible site at random"
	case siteRotate:
		return "the next feasible site in rotation"
	case siteNearest:
		return "the nearest feasible site"
	case siteExternal:
		return "the site its own rule chose (the notes say why)"
	}
	return "the best-scored site"
}

// allCandidates recomputes every feasible site's score (explanations only).
func (ex *Explanation) allCandidates(snap *Snapshot, w *Workload) []Candidate {
	var out []Candidate
	for site, v := range ex.verdicts {
		if !v.seen || v.filter != FilterNone {
			continue
		}
		c := Candidate{Site: snap.State.sites[site].info.ID, RTTMs: v.rtt}
		snap.siteTerms(w, site, v.rtt, &c.raw)
		for k := range c.raw {
			c.Terms[k] = ex.Weights[k] * c.raw[k]
			c.Total += c.Terms[k]
		}
		if !w.Deadline.IsZero() {
			tt := snap.transferTime(w, site)
			c.Late = ex.Time.Add(tt + w.Duration).After(w.Deadline)
		}
		out = append(out, c)
	}
	return out
}

func (ex *Explanation) deadlineDetail(snap *Snapshot, w *Workload, site int) string {
	tt := snap.transferTime(w, site)
	end := ex.Time.Add(tt + w.Duration)
	return fmt.Sprintf("would finish at %s (transfer %s + run %s), after the deadline %s",
		end.Format(time.RFC3339), tt.Round(time.Second), w.Duration, w.Deadline.Format(time.RFC3339))
}

func (ex *Explanation) filterDetail(snap *Snapshot, w *Workload, site int, v siteVerdict) string {
	st := snap.State
	sr := &st.sites[site]
	switch v.filter {
	case FilterLatency:
		return fmt.Sprintf("RTT %.2f ms from origin exceeds the bound %.2f ms", v.rtt, w.LatencyBoundMs)
	case FilterTier:
		return fmt.Sprintf("tier %s is not allowed (allowed: %s)", sr.info.Tier, w.tiers())
	case FilterSite:
		return "not among the workload's allowed sites"
	case FilterDown:
		return fmt.Sprintf("no node is up (0 of %d)", len(sr.nodes))
	case FilterGPU:
		return fmt.Sprintf("no GPU hardware; the work needs %dm GPU", w.Request.GPUMilli)
	case FilterCapacity:
		var c CapacityCount
		for _, ni := range sr.nodes {
			n := &st.nodes[ni]
			free := n.free()
			switch {
			case n.state != nodes.NodeUp:
				c.NotUp++
			case free.CPUMilli < w.Request.CPUMilli:
				c.CPU++
			case free.MemoryMiB < w.Request.MemoryMiB:
				c.Memory++
			default:
				c.GPU++
			}
		}
		mf := st.SiteMaxFree(site)
		return fmt.Sprintf("no up node has %v free (largest free per dimension: cpu=%dm mem=%dMi gpu=%dm; of %d nodes: %d not up, %d short of cpu, %d short of memory, %d short of gpu)",
			w.Request, max(mf.CPUMilli, 0), max(mf.MemoryMiB, 0), max(mf.GPUMilli, 0), len(sr.nodes), c.NotUp, c.CPU, c.Memory, c.GPU)
	case FilterDeadline:
		return ex.deadlineDetail(snap, w, site)
	}
	return v.filter.String()
}

func (ex *Explanation) whyNotNode(snap *Snapshot, w *Workload, n int) WhyNot {
	st := snap.State
	if n < 0 || n >= st.NumNodes() {
		return WhyNot{Node: fmt.Sprintf("#%d", n), Filter: FilterInvalid, Reason: "no such node"}
	}
	nr := &st.nodes[n]
	site := int(nr.site)
	sw := ex.whyNotSite(snap, w, site)
	out := WhyNot{Site: sw.Site, Node: st.nodeIDs[n], Filter: sw.Filter}
	if ex.Decision.Outcome == Place && ex.Decision.Node == n {
		out.Reason = "chosen"
		return out
	}
	free := nr.free()
	nodeWhy := ""
	switch {
	case nr.state != nodes.NodeUp:
		nodeWhy = fmt.Sprintf("node is %s", nr.state)
	case !free.Fits(w.Request):
		nodeWhy = "node is short of " + shortOf(free, w.Request)
	}
	switch {
	case sw.Filter != FilterNone && sw.Filter != FilterDeadline:
		if nodeWhy != "" {
			out.Reason = fmt.Sprintf("%s; and its site %s was removed: %s", nodeWhy, sw.Site, sw.Reason)
		} else {
			out.Reason = fmt.Sprintf("its site %s was removed: %s", sw.Site, sw.Reason)
		}
		if nodeWhy != "" && sw.Filter == FilterCapacity {
			out.Reason = nodeWhy
		}
	case nodeWhy != "":
		out.Filter = FilterCapacity
		out.Reason = nodeWhy
	case sw.Reason == "chosen":
		out.Reason = ex.nodeLost(snap, w, n)
	default:
		out.ScoreGap = sw.ScoreGap
		out.Reason = fmt.Sprintf("node fits, but its site lost: %s", sw.Reason)
	}
	return out
}

// fitRank is how many up nodes of n's site that fit req come before n in
// the site's node order (the order the best-fit walk collects them in).
func fitRank(st *State, n int, req nodes.Resources) int {
	nr := &st.nodes[n]
	sr := &st.sites[nr.site]
	rank := 0
	for leaf := 0; leaf < int(nr.leaf); leaf++ {
		m := &st.nodes[sr.nodes[leaf]]
		if m.state == nodes.NodeUp && m.free().Fits(req) {
			rank++
		}
	}
	return rank
}

// shortOf lists the dimensions in which free falls short of req.
func shortOf(free, req nodes.Resources) string {
	var parts []string
	if free.CPUMilli < req.CPUMilli {
		parts = append(parts, fmt.Sprintf("cpu (%dm free, %dm needed)", free.CPUMilli, req.CPUMilli))
	}
	if free.MemoryMiB < req.MemoryMiB {
		parts = append(parts, fmt.Sprintf("memory (%dMi free, %dMi needed)", free.MemoryMiB, req.MemoryMiB))
	}
	if free.GPUMilli < req.GPUMilli {
		parts = append(parts, fmt.Sprintf("gpu (%dm free, %dm needed)", free.GPUMilli, req.GPUMilli))
	}
	return strings.Join(parts, ", ")
}

// nodeLost explains why a fitting node in the chosen site was not picked.
func (ex *Explanation) nodeLost(snap *Snapshot, w *Workload, n int) string {
	st := snap.State
	chosen := ex.Decision.Node
	switch ex.sched.spec.node {
	case nodeBestFit:
		a, b := nodeFitScore(&st.nodes[n], w.Request), nodeFitScore(&st.nodes[chosen], w.Request)
		k := ex.sched.cfg.NodeCandidates
		if rank := fitRank(st, n, w.Request); rank >= k {
			return fmt.Sprintf("node fits, but it is fitting node %d of its site in node order and the policy compares only the first %d; it chose %s among them (best-fit score %.3f; this node's %.3f)",
				rank+1, k, st.nodeIDs[chosen], b, a)
		}
		return fmt.Sprintf("node fits; best-fit score %.3f vs %.3f for the chosen node %s (the policy compares the first %d fitting nodes in node order)",
			a, b, st.nodeIDs[chosen], k)
	case nodeWorstFit:
		a, b := nodeSpreadScore(&st.nodes[n], w.Request), nodeSpreadScore(&st.nodes[chosen], w.Request)
		return fmt.Sprintf("node fits; spread score %.3f vs %.3f for the chosen node %s (the policy compares %d fitting nodes from a random start)",
			a, b, st.nodeIDs[chosen], ex.sched.cfg.NodeCandidates)
	case nodeFirst:
		return fmt.Sprintf("node fits; the policy takes the first fitting node, %s", st.nodeIDs[chosen])
	case nodeRandom:
		return fmt.Sprintf("node fits; the policy took a fitting node at random, %s", st.nodeIDs[chosen])
	}
	return fmt.Sprintf("node fits; the policy took the next node in rotation, %s", st.nodeIDs[chosen])
}

// Format writes the explanation in a readable, stable form.
func (ex *Explanation) Format(w io.Writer) error {
	var b strings.Builder
	d := ex.Decision
	fmt.Fprintf(&b, "workload %s (class %s) needs %v, policy %s\n", ex.Workload, ex.Class, ex.Request, ex.Policy)
	switch d.Outcome {
	case Place:
		fmt.Fprintf(&b, "decision: place on node %s at site %s", ex.ChosenNode, ex.ChosenSite)
		var notes []string
		if ex.sched == nil || ex.sched.scored {
			notes = append(notes, fmt.Sprintf("score %.3f", d.Score))
		}
		if d.Late {
			notes = append(notes, "late: no site can meet the deadline")
		}
		if len(notes) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
		}
		b.WriteString("\n")
	case Defer:
		fmt.Fprintf(&b, "decision: defer until %s (expected site %s)\n", d.NotBefore.Format(time.RFC3339), ex.ChosenSite)
	case Reject:
		retry := "permanent"
		if d.Reason.Transient() {
			retry = "transient: may succeed later"
		}
		fmt.Fprintf(&b, "decision: reject, reason %s (%s)\n", d.Reason, retry)
	}
	fmt.Fprintf(&b, "filters (%d sites, %d nodes):\n", ex.Sites, ex.Nodes)
	for f := Filter(0); f < NumFilters; f++ {
		c := ex.Removed[f]
		if c.Sites == 0 {
			continue
		}
		verb := "removed"
		if f == FilterDeadline {
			verb = "late at"
		}
		fmt.Fprintf(&b, "  %-9s %s %d sites (%d nodes)\n", f.String()+":", verb, c.Sites, c.Nodes)
	}
	if c := ex.Capacity; c != (CapacityCount{}) {
		fmt.Fprintf(&b, "  capacity by node: %d not up, %d short of cpu, %d short of memory, %d short of gpu\n", c.NotUp, c.CPU, c.Memory, c.GPU)
	}
	fmt.Fprintf(&b, "  feasible: %d sites\n", ex.Feasible)
	if len(ex.Candidates) > 0 && ex.sched != nil && ex.sched.spec.site == siteExternal {
		// scored outside the core: the candidates as the filters left them
		b.WriteString("candidates (nearest first):\n")
		fmt.Fprintf(&b, "  %-12s %8s\n", "site", "rtt_ms")
		for _, c := range ex.Candidates {
			late := ""
			if c.Late {
				late = "  late"
			}
			fmt.Fprintf(&b, "  %-12s %8.2f%s\n", c.Site, c.RTTMs, late)
		}
	} else if len(ex.Candidates) > 0 {
		b.WriteString("candidates (weighted terms):\n")
		fmt.Fprintf(&b, "  %-12s %8s", "site", "rtt_ms")
		for k := Scorer(0); k < NumScorers; k++ {
			if ex.Weights[k] != 0 {
				fmt.Fprintf(&b, " %8s", k)
			}
		}
		fmt.Fprintf(&b, " %8s\n", "total")
		for _, c := range ex.Candidates {
			fmt.Fprintf(&b, "  %-12s %8.2f", c.Site, c.RTTMs)
			for k := Scorer(0); k < NumScorers; k++ {
				if ex.Weights[k] != 0 {
					fmt.Fprintf(&b, " %8.3f", c.Terms[k])
				}
			}
			fmt.Fprintf(&b, " %8.3f\n", c.Total)
		}
	}
	for _, n := range ex.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for _, wn := range ex.WhyNot {
		name := "site " + wn.Site
		if wn.Node != "" {
			name = "node " + wn.Node
		}
		fmt.Fprintf(&b, "why not %s: [%s] %s\n", name, wn.Filter, wn.Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String returns Format's output.
func (ex *Explanation) String() string {
	var b strings.Builder
	_ = ex.Format(&b)
	return b.String()
}
