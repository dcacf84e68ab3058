package sim

import (
	"testing"
	"time"

	"github.com/suanli/suanli/nodes/energy"
)

// realEnergyConfig is testConfig with the real energy model of every site
// (package nodes/energy): solar and wind with weather, a battery, the
// Shandong tariff and grid carbon.
func realEnergyConfig(n int, seed uint64) *Config {
	c := testConfig(n, seed)
	topo := c.Topology
	c.NewEnergy = func(i int) (EnergyModel, error) {
		site := topo.Sites[i]
		spec := energy.SpecFor(site)
		spec.Solar.MW = 0.05 + 0.01*float64(i%5)
		if i%3 == 0 {
			spec.Wind.MW = 0.1
		}
		spec.Battery.CapacityMWh, spec.Battery.PowerMW = 0.1, 0.05
		return energy.NewSite(spec, c.Start, Stream(seed, "energy/"+site.ID), nil)
	}
	return c
}

// TestRealEnergyModel: with the real energy models every interval balances
// (CheckInvariants checks it), and the weather — generation at every site
// and interval — is the same whatever the policy.
func TestRealEnergyModel(t *testing.T) {
	cfg := realEnergyConfig(300, 11)
	cfg.Horizon = 24 * time.Hour
	cfg.Events = []ScenarioEvent{{Kind: RenewableDrought, At: 10*time.Hour + 7*time.Minute, Duration: 5 * time.Hour, Factor: 0.3}}
	runs, err := RunPolicies(cfg, []string{"first-fit", "greenest", "optimizer"}, RunOptions{CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	a := runs[0]
	if a.Energy.RenewableGeneratedKWh <= 0 || a.Energy.GridKWh <= 0 || a.Energy.CostCNY <= 0 {
		t.Fatalf("got generated %g grid %g cost %g, want all > 0", a.Energy.RenewableGeneratedKWh, a.Energy.GridKWh, a.Energy.CostCNY)
	}
	for _, b := range runs[1:] {
		for i := range a.Intervals {
			for s := range a.Intervals[i].Sites {
				x, y := &a.Intervals[i].Sites[s], &b.Intervals[i].Sites[s]
				if x.RenewableGeneratedKWh != y.RenewableGeneratedKWh || x.PriceCNYPerKWh != y.PriceCNYPerKWh {
					t.Fatalf("interval %d site %d: generation %g vs %g, price %g vs %g under %s and %s",
						i, s, x.RenewableGeneratedKWh, y.RenewableGeneratedKWh, x.PriceCNYPerKWh, y.PriceCNYPerKWh, a.Policy, b.Policy)
				}
			}
		}
	}
}
