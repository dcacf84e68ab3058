package sim

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
)

func TestRunConservesWorkAndEnergy(t *testing.T) {
	for _, policy := range []string{"first-fit", "greenest", "carbon-window", "optimizer", "random"} {
		t.Run(policy, func(t *testing.T) {
			cfg := testConfig(400, 1)
			cfg.Horizon = 32 * time.Hour
			cfg.Events = []ScenarioEvent{
				{Kind: SiteOutage, Name: "jn down", At: 10 * time.Hour, Duration: 3 * time.Hour, Sites: []int{0}},
				{Kind: NodeOutage, At: 20 * time.Hour, Duration: 2 * time.Hour, Sites: []int{1}, Fraction: 0.5},
				{Kind: DemandSurge, At: 30 * time.Hour, Duration: 2 * time.Hour, Classes: []string{"vision"}, Cities: []int{0, 1}, Factor: 3},
				{Kind: RenewableDrought, At: 24 * time.Hour, Duration: 12 * time.Hour, Factor: 0.2},
			}
			r, err := NewRunner(cfg, policy, Options{CheckInvariants: true})
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Run()
			if err != nil {
				t.Fatal(err)
			}
			if res.Submitted == 0 || res.Completed == 0 {
				t.Fatalf("got submitted %d completed %d, want both > 0", res.Submitted, res.Completed)
			}
			if got := res.Completed + res.Rejected + res.InFlight; got != res.Submitted {
				t.Errorf("completed+rejected+in_flight = %d, want submitted %d", got, res.Submitted)
			}
			if len(res.Intervals) != 128 {
				t.Errorf("got %d intervals, want 128", len(res.Intervals))
			}
			if res.Interrupted == 0 {
				t.Errorf("got no interrupted work, want some from the outages")
			}
			t.Logf("%s: submitted %d placed %d completed %d rejected %d in-flight %d viol %d miss %d defer %d interr %d events %d renew %.3f pue %.3f cost %.0f",
				policy, res.Submitted, res.Placed, res.Completed, res.Rejected, res.InFlight, res.LatencyViolations, res.DeadlineMisses, res.Deferrals, res.Interrupted, res.EventsProcessed, res.RenewableShare(), res.PUE(), res.Energy.CostCNY)
		})
	}
}

func TestTasksRecordsAndCitySurges(t *testing.T) {
	cfg := testConfig(300, 9)
	cfg.Horizon = 12 * time.Hour
	jn, qd := 0, 1 // origin indices of Jinan and Qingdao in nodes.ShandongCities
	cfg.Classes = append(cfg.Classes,
		Class{Name: "hpc-tasks", Group: "hpc", Kind: Batch, RatePerHour: 2, Tasks: ConstDist(4),
			CPUMilli: ConstDist(8000), MemoryMiB: ConstDist(1024), DurationHours: ConstDist(1)},
		Class{Name: "replay", Group: "hpc", Kind: Batch, Records: []TraceRecord{
			{At: time.Hour, Duration: 30 * time.Minute, Request: nodes.Resources{CPUMilli: 4000, MemoryMiB: 512}},
			{At: time.Hour, Duration: time.Hour, Request: nodes.Resources{CPUMilli: 2000}},
			{At: 3 * time.Hour, Duration: time.Hour, Request: nodes.Resources{CPUMilli: 1000, GPUMilli: 500}},
			{At: 13 * time.Hour, Duration: time.Hour, Request: nodes.Resources{CPUMilli: 1000}}, // after the horizon
		}},
	)
	cfg.Events = []ScenarioEvent{{Kind: DemandSurge, Name: "qd-rush", At: 2 * time.Hour, Duration: 4 * time.Hour,
		Classes: []string{"vision"}, Cities: []int{qd}, Factor: 20}}
	var buf bytes.Buffer
	r, err := NewRunner(cfg, "first-fit", Options{Trace: &buf, CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run()
	if err != nil {
		t.Fatal(err)
	}
	byClass := map[string]*ClassResult{}
	for i := range res.Classes {
		byClass[res.Classes[i].Name] = &res.Classes[i]
	}
	if n := byClass["hpc-tasks"].Submitted; n == 0 || n%4 != 0 {
		t.Errorf("hpc-tasks: got %d instances, want a positive multiple of 4", n)
	}
	if n := byClass["replay"].Submitted; n != 3 {
		t.Errorf("replay: got %d instances, want the 3 records inside the horizon", n)
	}
	// During the surge, Qingdao's share of vision arrivals jumps.
	var in, inQD, out, outQD int
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		f := strings.Split(line, ",")
		if f[2] != "vision" {
			continue
		}
		at, _ := strconv.ParseFloat(f[4], 64)
		if at >= 2*3600 && at < 6*3600 {
			in++
			if f[3] == nodes.ShandongCities()[qd].Code {
				inQD++
			}
		} else {
			out++
			if f[3] == nodes.ShandongCities()[qd].Code {
				outQD++
			}
		}
	}
	_ = jn
	if in == 0 || out == 0 || float64(inQD)/float64(in) < 0.5 || float64(outQD)/float64(out) > 0.2 {
		t.Errorf("Qingdao's share of vision arrivals: %d/%d in the surge, %d/%d outside; want > 1/2 inside, < 1/5 outside", inQD, in, outQD, out)
	}
}

func TestNodeOutageByCountAndType(t *testing.T) {
	cfg := testConfig(400, 2)
	cfg.Horizon = 6 * time.Hour
	site := 0
	var gpus int
	for _, n := range cfg.Topology.Nodes {
		if n.Site == site && n.Type == "gpu-8" {
			gpus++
		}
	}
	cfg.Events = []ScenarioEvent{{Kind: NodeOutage, Name: "gpu-fault", At: time.Hour, Duration: 2 * time.Hour, Sites: []int{site}, Nodes: 3, NodeType: "gpu-8"}}
	r, err := NewRunner(cfg, "first-fit", Options{CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RunUntil(int64(90 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	down := 0
	for n, node := range cfg.Topology.Nodes {
		if r.State().NodeState(n) == nodes.NodeDown {
			down++
			if node.Type != "gpu-8" || node.Site != site {
				t.Errorf("node %s (%s at site %d) is down, want only gpu-8 nodes of site %d", node.ID, node.Type, node.Site, site)
			}
		}
	}
	if gpus < 3 || down != 3 {
		t.Errorf("got %d nodes down (site has %d gpu-8), want 3", down, gpus)
	}
	if _, err := r.Run(); err != nil {
		t.Fatal(err)
	}
	for n := range cfg.Topology.Nodes {
		if r.State().NodeState(n) != nodes.NodeUp {
			t.Fatalf("node %d still down after the outage", n)
		}
	}
}

// TestBatchWaitsUntilDeadline: batch work without patience waits for
// capacity until its deadline, services give up after 15 minutes.
func TestBatchWaitsUntilDeadline(t *testing.T) {
	cfg := testConfig(28, 4) // one node per site: quickly full
	cfg.Horizon = 8 * time.Hour
	slack := ConstDist(3)
	cfg.Classes = []Class{
		{Name: "svc", Kind: Service, RatePerHour: 40, CPUMilli: ConstDist(48000), DurationHours: ConstDist(2)},
		{Name: "job", Kind: Batch, RatePerHour: 40, CPUMilli: ConstDist(48000), DurationHours: ConstDist(1), SlackHours: &slack},
	}
	var buf bytes.Buffer
	r, err := NewRunner(cfg, "first-fit", Options{Trace: &buf, CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(); err != nil {
		t.Fatal(err)
	}
	waited := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		f := strings.Split(line, ",")
		arr, _ := strconv.ParseFloat(f[4], 64)
		if f[5] != "" {
			st, _ := strconv.ParseFloat(f[5], 64)
			waited[f[2]] = math.Max(waited[f[2]], st-arr)
		}
	}
	if w := waited["svc"]; w > 15*60+1 {
		t.Errorf("a service started %.0f s after arriving, want at most its 15 min patience", w)
	}
	if w := waited["job"]; w <= 15*60 || w > 3*3600 {
		t.Errorf("batch work waited at most %.0f s, want beyond 15 min and within its 3 h deadline", w)
	}
}
