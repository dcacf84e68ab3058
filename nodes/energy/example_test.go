package energy_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/suanli/suanli/nodes/energy"
)

// A site with solar, wind, a battery and an offshore wind contract, stepped
// through one day in 15-minute intervals with a constant 400 kW IT load,
// then asked for its signal now and a 24-hour forecast.
func ExampleSite() {
	spec := energy.DefaultSiteSpec()
	spec.Lat, spec.Lon = 37.434, 118.675 // Dongying
	spec.PUE.Design = 1.2
	spec.Solar.MW = 0.5
	spec.Wind.MW = 0.3
	spec.Battery.CapacityMWh, spec.Battery.PowerMW = 1, 0.5
	ppa := energy.DefaultContractSpec()
	ppa.Name, ppa.MW, ppa.Shape = "offshore", 0.2, energy.ContractWind
	ppa.Wind.CFMean = energy.OffshoreCFMean
	spec.Contracts = []energy.ContractSpec{ppa}

	start := time.Date(2024, 4, 1, 0, 0, 0, 0, energy.CST)
	site, err := energy.NewSite(spec, start, rand.New(rand.NewPCG(1, 2)), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	var facility, renewable, grid, cost float64
	for k := range 96 {
		iv, err := site.Step(start.Add(time.Duration(k)*15*time.Minute), 15*time.Minute, 400*0.25)
		if err != nil {
			fmt.Println(err)
			return
		}
		facility += iv.FacilityKWh
		renewable += iv.RenewableToFacilityKWh
		grid += iv.GridKWh
		cost += iv.CostCNY
	}
	fmt.Printf("facility %.0f kWh, renewable share %.0f%%, grid %.0f kWh, cost %.0f CNY\n", facility, 100*renewable/facility, grid, cost)

	now := start.Add(24 * time.Hour)
	sig := site.Signal(now, 400)
	fmt.Printf("price now %.4f CNY/kWh\n", sig.PriceCNYPerKWh)
	forecast := site.Forecast(now, time.Hour, 400, make([]energy.Signal, 24))
	fmt.Printf("price 12:00-13:00 %.4f CNY/kWh (deep valley)\n", forecast[12].PriceCNYPerKWh)
	// Output:
	// facility 11520 kWh, renewable share 59%, grid 4285 kWh, cost 3798 CNY
	// price now 0.6140 CNY/kWh
	// price 12:00-13:00 0.1811 CNY/kWh (deep valley)
}
