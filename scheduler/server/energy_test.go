package server

import (
	"sync"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/server/api"
)

// fakeEnergy gives each named site a carbon intensity; unknown sites keep
// neutral signals. Tests switch the figures while the server runs.
type fakeEnergy struct {
	mu     sync.Mutex
	carbon map[string]float64
	calls  int
}

func (f *fakeEnergy) set(site string, kg float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.carbon[site] = kg
}

func (f *fakeEnergy) SiteEnergy(id string, at time.Time, used nodes.Resources) (scheduler.SiteEnergy, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	kg, ok := f.carbon[id]
	if !ok {
		return scheduler.SiteEnergy{}, false
	}
	sig := scheduler.Signal{PriceCNYPerKWh: 0.6, CarbonKgPerKWh: kg}
	return scheduler.SiteEnergy{Now: sig, Forecast: []scheduler.Signal{sig, sig}, PUE: 1.3, MarginalWPerCore: 5, MarginalWPerGPU: 500}, true
}

func (f *fakeEnergy) ForecastStep() time.Duration { return time.Hour }

// TestEnergySignalsSteerPlacement: with an energy source configured, the
// leader's snapshot (and the dry run's) carries its signals, so greenest
// follows the cleaner of two equally near sites, and follows it again when
// the figures change.
func TestEnergySignalsSteerPlacement(t *testing.T) {
	src := &fakeEnergy{carbon: map[string]float64{"jn-a": 0.9, "jn-b": 0.2}}
	ss := startCluster(t, 1, func(c *Config) {
		c.Energy, c.EnergyRefresh, c.Policy = src, 20*time.Millisecond, "greenest"
	})
	c := client(ss[0])
	registerAgent(t, c, "a1", "jn-a", "JN", "cluster-zone", 1)
	registerAgent(t, c, "a2", "jn-b", "JN", "cluster-zone", 1)

	plan, err := c.Plan(ctx(t), api.PlanRequest{Workload: wspec("p1", 1000)})
	if err != nil || plan.Site != "jn-b" {
		t.Fatalf("dry run: got site %q (err %v), want jn-b (carbon 0.2 vs 0.9)", plan.Site, err)
	}
	submitOK(t, c, wspec("w1", 1000))
	if w := waitStatus(t, c, "w1", api.StatusPlaced); w.Site != "jn-b" {
		t.Fatalf("w1: placed at %s, want jn-b", w.Site)
	}

	src.set("jn-a", 0.1)
	time.Sleep(100 * time.Millisecond) // several refresh periods
	submitOK(t, c, wspec("w2", 1000))
	if w := waitStatus(t, c, "w2", api.StatusPlaced); w.Site != "jn-a" {
		t.Fatalf("w2 after jn-a turned cleaner: placed at %s, want jn-a", w.Site)
	}
}
