package sim

import (
	"testing"
	"time"
)

func TestRunConservesWorkAndEnergy(t *testing.T) {
	for _, policy := range []string{"first-fit", "greenest", "carbon-window", "optimizer", "random"} {
		t.Run(policy, func(t *testing.T) {
			cfg := testConfig(400, 1)
			cfg.Events = []ScenarioEvent{
				{Kind: SiteOutage, Name: "jn down", At: 10 * time.Hour, Duration: 3 * time.Hour, Site: 0},
				{Kind: NodeOutage, At: 20 * time.Hour, Duration: 2 * time.Hour, Site: 1, Fraction: 0.5},
				{Kind: DemandSurge, At: 30 * time.Hour, Duration: 2 * time.Hour, Class: "vision", Factor: 3},
				{Kind: RenewableDrought, At: 24 * time.Hour, Duration: 12 * time.Hour, Site: -1, Factor: 0.2},
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
			if len(res.Intervals) != 192 {
				t.Errorf("got %d intervals, want 192", len(res.Intervals))
			}
			if res.Interrupted == 0 {
				t.Errorf("got no interrupted work, want some from the outages")
			}
			t.Logf("%s: submitted %d placed %d completed %d rejected %d in-flight %d viol %d miss %d defer %d interr %d events %d renew %.3f pue %.3f cost %.0f",
				policy, res.Submitted, res.Placed, res.Completed, res.Rejected, res.InFlight, res.LatencyViolations, res.DeadlineMisses, res.Deferrals, res.Interrupted, res.EventsProcessed, res.RenewableShare(), res.PUE(), res.Energy.CostCNY)
		})
	}
}
