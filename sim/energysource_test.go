package sim

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
)

// TestEnergySourceServesScenarioSignals: the live energy source gives
// every scenario site the signals of its model (not the neutral ones),
// a full forecast, load-dependent headroom, and the same answers for the
// same calls; unknown sites are refused.
func TestEnergySourceServesScenarioSignals(t *testing.T) {
	_, cfg := loadConfig(t, filepath.Join("testdata", "tiny.yaml"))
	mk := func() *EnergySource {
		src, err := NewEnergySource(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	src, twin := mk(), mk()
	if len(src.Sites()) != len(cfg.Topology.Sites) {
		t.Fatalf("sites: got %d, want %d", len(src.Sites()), len(cfg.Topology.Sites))
	}
	if _, ok := src.SiteEnergy("nowhere", time.Now(), nodes.Resources{}); ok {
		t.Error("unknown site: got ok")
	}
	noon := time.Date(2025, 6, 21, 12, 0, 0, 0, time.FixedZone("CST", 8*3600))
	for _, id := range []string{"jn-core", "x-jn"} {
		idle, ok := src.SiteEnergy(id, noon, nodes.Resources{})
		if !ok {
			t.Fatalf("%s: not served", id)
		}
		if idle.Now.PriceCNYPerKWh <= 0 || idle.Now.CarbonKgPerKWh <= 0 || idle.Now.CarbonKgPerKWh == 1 {
			t.Errorf("%s: signal %+v looks neutral or empty", id, idle.Now)
		}
		if len(idle.Forecast) != cfg.ForecastSteps || idle.PUE < 1 || idle.MarginalWPerCore <= 0 {
			t.Errorf("%s: forecast %d slots (want %d), PUE %v, W/core %v", id, len(idle.Forecast), cfg.ForecastSteps, idle.PUE, idle.MarginalWPerCore)
		}
		busy, _ := src.SiteEnergy(id, noon, nodes.Resources{CPUMilli: 500_000})
		if busy.Now.RenewableHeadroomKW > idle.Now.RenewableHeadroomKW {
			t.Errorf("%s: headroom grew with load: %v → %v", id, idle.Now.RenewableHeadroomKW, busy.Now.RenewableHeadroomKW)
		}
	}
	// Stepping along the clock (a day in 90 s calls) stays deterministic.
	for k := 0; k < 960; k++ {
		at := noon.Add(time.Duration(k) * 90 * time.Second)
		a, _ := src.SiteEnergy("jn-core", at, nodes.Resources{CPUMilli: 8000})
		b, _ := twin.SiteEnergy("jn-core", at, nodes.Resources{CPUMilli: 8000})
		if a.Now != b.Now || a.PUE != b.PUE {
			t.Fatalf("call %d: twins differ: %+v vs %+v", k, a.Now, b.Now)
		}
	}
}
