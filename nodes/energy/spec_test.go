package energy

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/suanli/suanli/nodes"
)

func TestDefaultSpecsValidate(t *testing.T) {
	s := DefaultSiteSpec()
	if err := s.Validate(); err != nil {
		t.Fatalf("default site spec: %v", err)
	}
	// with every capacity set, the defaults are still valid
	s.Solar.MW, s.Wind.MW, s.Battery.CapacityMWh, s.Battery.PowerMW = 5, 10, 20, 10
	k := DefaultContractSpec()
	k.MW, k.Shape = 20, ContractWind
	k.Wind.CFMean = OffshoreCFMean
	s.Contracts = append(s.Contracts, k)
	s.PUE.Model, s.PUE.RatedITKW = PUELoad, 1000
	if err := s.Validate(); err != nil {
		t.Fatalf("site spec with capacities: %v", err)
	}
}

func TestSiteSpecValidateMessages(t *testing.T) {
	base := func() SiteSpec {
		s := SpecFor(nodes.Site{ID: "jn-core", Lat: 36.651, Lon: 117.12, PUE: 1.25})
		s.Solar.MW, s.Wind.MW, s.Battery.CapacityMWh, s.Battery.PowerMW = 5, 10, 20, 10
		s.Contracts = []ContractSpec{DefaultContractSpec()}
		s.Contracts[0].MW = 5
		return s
	}
	cases := []struct {
		name string
		mod  func(*SiteSpec)
		want string
	}{
		{"soc_min", func(s *SiteSpec) { s.Battery.SoCMin = 1.2 }, "battery.soc_min 1.2 must be in [0,1]"},
		{"soc order", func(s *SiteSpec) { s.Battery.SoCMin, s.Battery.SoCMax = 0.8, 0.5; s.Battery.InitialSoC = 0.6 }, "battery.soc_max 0.5 must be > soc_min 0.8"},
		{"initial soc", func(s *SiteSpec) { s.Battery.InitialSoC = 0.95 }, "battery.initial_soc 0.95 must be in [soc_min,soc_max] = [0.1,0.9]"},
		{"efficiency", func(s *SiteSpec) { s.Battery.RoundTripEfficiency = 0 }, "battery.round_trip_efficiency 0 must be in (0,1]"},
		{"battery power", func(s *SiteSpec) { s.Battery.PowerMW = 0 }, "battery.power_mw 0 must be a finite number > 0"},
		{"grid charge period", func(s *SiteSpec) { s.Battery.GridChargePeriods = []Period{PeriodValley, 7} }, "battery.grid_charge_periods[1] 7 must be a tariff period"},
		{"lat", func(s *SiteSpec) { s.Lat = 91 }, "lat 91 must be in [-90,90]"},
		{"pue design", func(s *SiteSpec) { s.PUE.Design = 0.9 }, "pue.design 0.9 must be in [1,3]"},
		{"pue model", func(s *SiteSpec) { s.PUE.Model = "cubic" }, `pue.model "cubic" must be one of "constant", "load"`},
		{"pue rated", func(s *SiteSpec) { s.PUE.Model = PUELoad }, "pue.rated_it_kw 0 must be a finite number > 0"},
		{"pue months", func(s *SiteSpec) { s.PUE.MonthlyOverheadFactor = []float64{1, 2} }, "pue.monthly_overhead_factor 2 values given; want 0 or 12"},
		{"solar derate", func(s *SiteSpec) { s.Solar.Derate = 1.5 }, "solar.derate 1.5 must be in (0,1]"},
		{"solar mw", func(s *SiteSpec) { s.Solar.MW = -1 }, "solar.mw -1 must be a finite number >= 0"},
		{"solar model", func(s *SiteSpec) { s.Solar.Model = "pvlib" }, `solar.model "pvlib" must be one of "clear-sky", "trace"`},
		{"solar trace", func(s *SiteSpec) { s.Solar.Model = SolarTrace }, `solar.trace.file "" must name a CSV file`},
		{"wind cf", func(s *SiteSpec) { s.Wind.CFMean = 1 }, "wind.cf_mean 1 must be in (0,1)"},
		{"wind rho", func(s *SiteSpec) { s.Wind.RhoHourly = 1 }, "wind.rho_hourly 1 must be in [0,1)"},
		{"contract price", func(s *SiteSpec) { s.Contracts[0].PriceCNYPerKWh = -1 }, "contracts[0].price_cny_per_kwh -1 must be in [0,10]"},
		{"contract shape", func(s *SiteSpec) { s.Contracts[0].Shape = "baseload" }, `contracts[0].shape "baseload" must be one of "flat", "solar", "wind"`},
		{"contract profile mw", func(s *SiteSpec) { s.Contracts[0].Shape = ContractWind; s.Contracts[0].Wind.MW = 3 }, "contracts[0].wind.mw 3 must be 0 (the contract's mw scales the profile)"},
		{"contract profile param", func(s *SiteSpec) { s.Contracts[0].Shape = ContractSolar; s.Contracts[0].Solar.CloudAlpha = 0 }, "contracts[0].solar.cloud_alpha 0 must be in (0,1000]"},
		{"tariff", func(s *SiteSpec) { s.Tariff.EnergyCNYPerKWh = -0.5 }, "tariff.energy_cny_per_kwh -0.5 must be a finite number >= 0"},
		{"carbon", func(s *SiteSpec) { s.Carbon.Shape = "" }, `carbon.shape "" must be one of`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.mod(&s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			fes := FieldErrors(err)
			if len(fes) == 0 {
				t.Fatalf("no *FieldError in %v", err)
			}
			if field := strings.Fields(tc.want)[0]; fes[0].Field != field {
				t.Errorf("field: got %q, want %q", fes[0].Field, field)
			}
		})
	}
	// every problem is reported, not only the first
	s := base()
	s.Battery.SoCMin, s.Solar.Derate, s.Lat = -1, 2, 100
	if got := len(FieldErrors(s.Validate())); got < 3 {
		t.Errorf("got %d field errors, want at least 3", got)
	}
	// parts validated on their own name their part
	b := DefaultBatterySpec()
	b.CapacityMWh, b.PowerMW, b.SoCMin = 10, 5, 1.2
	if err := b.Validate(); err == nil || !strings.HasPrefix(err.Error(), "battery.soc_min 1.2 must be in [0,1]") {
		t.Errorf("BatterySpec.Validate: got %v", err)
	}
	// an absent battery (capacity 0) needs no other parameter
	if err := (BatterySpec{}).Validate(); err != nil {
		t.Errorf("zero battery: %v", err)
	}
}

func TestSpecJSONDefaults(t *testing.T) {
	in := `{"lat": 37.4, "lon": 118.7,
		"pue": {"design": 1.2},
		"solar": {"mw": 30},
		"wind": {"mw": 50, "cf_mean": 0.37},
		"battery": {"capacity_mwh": 40, "power_mw": 20, "grid_charge_periods": ["valley", "deep_valley"]},
		"contracts": [{"name": "offshore", "mw": 20, "shape": "wind", "wind": {"cf_mean": 0.39}}]}`
	var s SiteSpec
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	want := DefaultSiteSpec()
	want.Lat, want.Lon = 37.4, 118.7
	want.PUE.Design = 1.2
	want.Solar.MW = 30
	want.Wind.MW, want.Wind.CFMean = 50, 0.37
	want.Battery.CapacityMWh, want.Battery.PowerMW = 40, 20
	want.Battery.GridChargePeriods = []Period{PeriodValley, PeriodDeepValley}
	k := DefaultContractSpec()
	k.Name, k.MW, k.Shape, k.Wind.CFMean = "offshore", 20, ContractWind, 0.39
	want.Contracts = []ContractSpec{k}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("decoded spec:\n got %+v\nwant %+v", s, want)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("decoded spec: %v", err)
	}
	// unknown fields are errors, at any depth
	for _, bad := range []string{`{"solr": {}}`, `{"battery": {"capacity_kwh": 1}}`, `{"contracts": [{"mw": 1, "prise": 2}]}`} {
		var s SiteSpec
		if err := json.Unmarshal([]byte(bad), &s); err == nil || !strings.Contains(err.Error(), "unknown field") {
			t.Errorf("%s: got %v, want an unknown-field error", bad, err)
		}
	}
	// decoding does not write into the built-in default table
	var ts TariffSpec
	if err := json.Unmarshal([]byte(`{"rules": [{"season": "all", "months": [1], "period": "peak", "start_hour": 0, "end_hour": 1, "multiplier": 9}]}`), &ts); err != nil {
		t.Fatal(err)
	}
	if got := Shandong2024Rules()[0]; got.Multiplier != MultValley || got.Season != "spring" {
		t.Errorf("built-in table changed by decoding: %+v", got)
	}
	// round trip
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var back SiteSpec
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("JSON round trip changed the spec")
	}
}

// TestSpecYAMLHook drives UnmarshalYAML the way yaml decoders do, with an
// unmarshal callback (here backed by JSON).
func TestSpecYAMLHook(t *testing.T) {
	var b BatterySpec
	err := b.UnmarshalYAML(func(v any) error { return json.Unmarshal([]byte(`{"capacity_mwh": 10, "power_mw": 5}`), v) })
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultBatterySpec()
	want.CapacityMWh, want.PowerMW = 10, 5
	if !reflect.DeepEqual(b, want) {
		t.Errorf("got %+v, want %+v", b, want)
	}
	boom := errors.New("line 3: cannot unmarshal")
	if err := b.UnmarshalYAML(func(any) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("decoder error: got %v", err)
	}
	var s SiteSpec
	if err := s.UnmarshalYAML(func(v any) error { return json.Unmarshal([]byte(`{"solar": {"mw": 2}}`), v) }); err != nil {
		t.Fatal(err)
	}
	if s.Solar.MW != 2 || s.Solar.Derate != DefaultSolarDerate || s.Tariff.FixedCNYPerKWh != ShandongFixedCNYPerKWh {
		t.Errorf("site via yaml hook: %+v", s)
	}
}
