package energy_test

import (
	"testing"

	"github.com/suanli/suanli/nodes/energy"
	"github.com/suanli/suanli/scheduler"
)

// TestSignalConvertsToScheduler keeps energy.Signal convertible to the
// scheduler's Signal (same field names and types), so the simulator can
// copy forecasts into a snapshot without field-by-field code. It fails to
// compile if the two drift apart.
func TestSignalConvertsToScheduler(t *testing.T) {
	e := energy.Signal{PriceCNYPerKWh: 0.6, CarbonKgPerKWh: 0.62, RenewableHeadroomKW: 10}
	s := scheduler.Signal(e)
	if s.PriceCNYPerKWh != 0.6 || s.CarbonKgPerKWh != 0.62 || s.RenewableHeadroomKW != 10 {
		t.Errorf("converted %+v to %+v", e, s)
	}
}
