package api

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// FormatWorkloads writes workloads as a table.
func FormatWorkloads(w io.Writer, ws []Workload) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tCLASS\tORIGIN\tCPU_M\tMEM_MIB\tGPU_M\tSITE\tNODE\tREASON")
	for _, x := range ws {
		reason := x.Reason
		if x.Waiting {
			reason = "waiting: " + reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", x.ID, x.Status, dash(x.Class), x.Origin,
			x.Request.CPUMilli, x.Request.MemoryMiB, x.Request.GPUMilli, dash(x.Site), dash(x.Node), dash(reason))
	}
	return tw.Flush()
}

// FormatWorkload writes one workload in detail.
func FormatWorkload(w io.Writer, x Workload) error {
	var b strings.Builder
	fmt.Fprintf(&b, "id:          %s\n", x.ID)
	fmt.Fprintf(&b, "status:      %s\n", x.Status)
	fmt.Fprintf(&b, "class:       %s\n", dash(x.Class))
	fmt.Fprintf(&b, "origin:      %s\n", x.Origin)
	fmt.Fprintf(&b, "request:     cpu=%dm mem=%dMi gpu=%dm for %dms\n", x.Request.CPUMilli, x.Request.MemoryMiB, x.Request.GPUMilli, x.DurationMs)
	if x.LatencyBoundMs > 0 {
		fmt.Fprintf(&b, "latency:     <= %g ms\n", x.LatencyBoundMs)
	}
	if !x.Deadline.IsZero() {
		fmt.Fprintf(&b, "deadline:    %s\n", ts(x.Deadline))
	}
	if x.Node != "" {
		fmt.Fprintf(&b, "placed:      node %s at site %s (agent %s) at %s", x.Node, x.Site, x.Agent, ts(x.PlacedAt))
		if x.Late {
			b.WriteString(", late")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "submitted:   %s\n", ts(x.SubmittedAt))
	if !x.StartedAt.IsZero() {
		fmt.Fprintf(&b, "started:     %s\n", ts(x.StartedAt))
	}
	if !x.FinishedAt.IsZero() {
		fmt.Fprintf(&b, "finished:    %s\n", ts(x.FinishedAt))
	}
	if !x.NotBefore.IsZero() {
		fmt.Fprintf(&b, "not before:  %s\n", ts(x.NotBefore))
	}
	fmt.Fprintf(&b, "attempts:    %d\n", x.Attempts)
	if x.Reason != "" {
		fmt.Fprintf(&b, "reason:      %s", x.Reason)
		if x.Waiting {
			b.WriteString(" (waiting for capacity to change)")
		}
		b.WriteString("\n")
	}
	if x.Explanation != "" {
		fmt.Fprintf(&b, "explanation:\n  %s\n", strings.ReplaceAll(strings.TrimRight(x.Explanation, "\n"), "\n", "\n  "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// FormatNodes writes nodes as a table.
func FormatNodes(w io.Writer, nl NodeList) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSITE\tAGENT\tSTATE\tCPU_M(used/cap)\tMEM_MIB(used/cap)\tGPU_M(used/cap)\tWORKLOADS")
	for _, n := range nl.Nodes {
		st := n.State
		if n.DownReason != "" {
			st += " (" + n.DownReason + ")"
		}
		if n.OperatorState != "" && n.OperatorState != n.State {
			st += ", operator: " + n.OperatorState // e.g. a drained node whose agent died
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%d/%d\t%d/%d\t%d\n", n.ID, n.Site, n.Agent, st,
			n.Used.CPUMilli, n.Capacity.CPUMilli, n.Used.MemoryMiB, n.Capacity.MemoryMiB, n.Used.GPUMilli, n.Capacity.GPUMilli, n.Workloads)
	}
	return tw.Flush()
}

// FormatCluster writes a cluster status.
func FormatCluster(w io.Writer, c ClusterStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "cluster id:\t%s\n", dash(c.ClusterID))
	fmt.Fprintf(tw, "this server:\t%s (%s)\n", c.ID, c.State)
	fmt.Fprintf(tw, "leader:\t%s raft=%s http=%s\n", dash(c.LeaderID), dash(c.LeaderAddr), dash(c.LeaderHTTP))
	fmt.Fprintf(tw, "raft:\tterm %d, last index %d, commit %d, applied %d\n", c.Term, c.LastIndex, c.CommitIndex, c.AppliedIndex)
	if c.Scheduler != nil {
		fmt.Fprintf(tw, "policy:\t%s (preempt %v; replicated, set at index %d)\n", c.Policy, c.Scheduler.Preempt, c.SchedulerIndex)
		fmt.Fprintf(tw, "scheduler:\t%s\n", schedulerSettings(c.Scheduler))
	} else {
		fmt.Fprintf(tw, "policy:\t%s (this server's --policy: no replicated configuration yet)\n", c.Policy)
	}
	var ws []string
	for _, s := range Statuses() {
		ws = append(ws, fmt.Sprintf("%s=%d", s, c.Counts.Workloads[s]))
	}
	fmt.Fprintf(tw, "workloads:\t%s\n", strings.Join(ws, " "))
	fmt.Fprintf(tw, "nodes:\tup=%d draining=%d down=%d (%d agents, %d sites)\n", c.Counts.Nodes["up"], c.Counts.Nodes["draining"], c.Counts.Nodes["down"], c.Counts.Agents, c.Counts.Sites)
	if g := c.Gossip; g != nil {
		enc := map[bool]string{true: "encrypted", false: "NOT encrypted (--dev)"}[g.Encrypted]
		joined := map[bool]string{true: "joined", false: "NOT joined (no other live member)"}[g.Joined]
		fmt.Fprintf(tw, "gossip:\t%s, %s; members alive=%d suspect=%d dead=%d\n", enc, joined, g.Alive, g.Suspect, g.Dead)
		if g.JoinError != "" {
			fmt.Fprintf(tw, "gossip join:\tfailing: %s\n", g.JoinError)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSERVER\tSUFFRAGE\tLEADER\tGOSSIP\tVERSION\tRAFT\tHTTP")
	for _, s := range c.Servers {
		alive := "unknown"
		if s.Alive != nil {
			alive = map[bool]string{true: "alive", false: "gone"}[*s.Alive]
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\t%s\n", s.ID, s.Suffrage, s.Leader, alive, serverVersion(s), s.RaftAddr, dash(s.HTTPAddr))
	}
	return tw.Flush()
}

// serverVersion is a server's build and log version for the VERSION
// column: "v1.4.0 (log 2)", "? (log 1)" for a server that does not
// advertise its build, "-" when nothing is known.
func serverVersion(s Server) string {
	if s.LogVersion == 0 {
		return dash(s.Version)
	}
	v := s.Version
	if v == "" {
		v = "?"
	}
	return fmt.Sprintf("%s (log %d)", v, s.LogVersion)
}

// FormatPlan writes a dry run's answer.
func FormatPlan(w io.Writer, p PlanResponse) error {
	var b strings.Builder
	switch p.Outcome {
	case "place":
		fmt.Fprintf(&b, "would place on node %s at site %s (policy %s, score %.3f)\n", p.Node, p.Site, p.Policy, p.Score)
		if len(p.Preempt) > 0 {
			fmt.Fprintf(&b, "would evict %d lower-priority workload(s): %s\n", len(p.Preempt), strings.Join(p.Preempt, ", "))
		}
	case "defer":
		fmt.Fprintf(&b, "would defer until %s (policy %s)\n", ts(p.NotBefore), p.Policy)
	default:
		kind := "permanently"
		if p.Transient {
			kind = "for now (would wait for capacity)"
		}
		fmt.Fprintf(&b, "would reject %s: %s (policy %s)\n", kind, p.Reason, p.Policy)
	}
	b.WriteString(p.Explanation.Text)
	b.WriteString("(dry run: nothing was committed)\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// schedulerSettings is the core's settings of c on one line.
func schedulerSettings(c *SchedulerConfig) string {
	w, o := c.Weights, c.Optimizer
	return fmt.Sprintf("weights latency=%g cost=%g carbon=%g binpack=%g spread=%g; node_candidates=%d defer_threshold=%g defer_slack=%v defer_slack_fraction=%g; "+
		"optimizer tolerance=%g recovery_hours=%g replan_share=%g carbon_weight=%g price_weight=%g utilization=%g",
		w.Latency, w.Cost, w.Carbon, w.BinPack, w.Spread, c.NodeCandidates, c.DeferThreshold, time.Duration(c.DeferSlackMs)*time.Millisecond, c.DeferSlackFraction,
		o.Tolerance, o.RecoveryHours, o.ReplanShare, o.CarbonWeight, o.PriceWeight, o.Utilization)
}

// FormatSchedulerConfig prints the cluster's scheduler configuration
// (suanli operator scheduler get-config).
func FormatSchedulerConfig(w io.Writer, r SchedulerConfigResponse) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	c := r.Scheduler
	if c == nil {
		fmt.Fprintf(tw, "no scheduler configuration is replicated yet (the cluster's leader seeds it from its flags; index %d)\n", r.Index)
		return tw.Flush()
	}
	wt, o := c.Weights, c.Optimizer
	fmt.Fprintf(tw, "policy:\t%s\n", c.Policy)
	fmt.Fprintf(tw, "preempt:\t%v\n", c.Preempt)
	fmt.Fprintf(tw, "set at index:\t%d (pass as --cas)\n", r.ModifyIndex)
	fmt.Fprintf(tw, "weights:\tlatency=%g cost=%g carbon=%g binpack=%g spread=%g\n", wt.Latency, wt.Cost, wt.Carbon, wt.BinPack, wt.Spread)
	fmt.Fprintf(tw, "node_candidates:\t%d\n", c.NodeCandidates)
	fmt.Fprintf(tw, "defer_threshold:\t%g\n", c.DeferThreshold)
	fmt.Fprintf(tw, "defer_slack_ms:\t%d (%v)\n", c.DeferSlackMs, time.Duration(c.DeferSlackMs)*time.Millisecond)
	fmt.Fprintf(tw, "defer_slack_fraction:\t%g\n", c.DeferSlackFraction)
	fmt.Fprintf(tw, "optimizer:\ttolerance=%g recovery_hours=%g replan_share=%g carbon_weight=%g price_weight=%g utilization=%g\n",
		o.Tolerance, o.RecoveryHours, o.ReplanShare, o.CarbonWeight, o.PriceWeight, o.Utilization)
	return tw.Flush()
}
