package scenarios

import (
	"math"
	"strings"
	"testing"
)

// TestEmbodiedFields: the embodied-carbon fields of node types and
// batteries take their documented defaults, accept values in range and
// refuse values out of range or of the wrong type, naming the field and
// the allowed range.
func TestEmbodiedFields(t *testing.T) {
	base := "testdata/valid/minimal.yaml"
	battery := "sites[jn-core].battery={mwh: 2}"
	tests := []struct {
		name string
		sets []string
		want string // "" = loads
		// check, when the file loads, inspects the result.
		check func(t *testing.T, s *Scenario)
	}{
		{name: "defaults", sets: []string{battery}, check: func(t *testing.T, s *Scenario) {
			for _, nt := range s.NodeTypes {
				if nt.EmbodiedKg != 1300 || nt.EmbodiedKgPerGPU != 300 || nt.LifetimeYears != 4 {
					t.Errorf("%s: embodied %g kg + %g kg/GPU over %g y, want the defaults 1300, 300, 4", nt.Name, nt.EmbodiedKg, nt.EmbodiedKgPerGPU, nt.LifetimeYears)
				}
			}
			b := s.Sites[0].Battery
			if b.EmbodiedKgPerKWh != 100 || b.LifetimeYears != 10 {
				t.Errorf("battery: %g kg/kWh over %g y, want the defaults 100, 10", b.EmbodiedKgPerKWh, b.LifetimeYears)
			}
		}},
		{name: "valid", sets: []string{
			"node_types.gpu-8.embodied_kg=2000", "node_types.gpu-8.embodied_kg_per_gpu=150", "node_types.gpu-8.lifetime_years=5",
			"node_types.cpu-64.embodied_kg=0",
			"sites[jn-core].battery={mwh: 2, embodied_kg_per_kwh: 75, lifetime_years: 12.5}",
		}, check: func(t *testing.T, s *Scenario) {
			gpu, _ := s.NodeTypes.Lookup("gpu-8")
			// (2000 + 8·150) kg over 5 years of 8760 h.
			if got, want := gpu.EmbodiedKgPerHour(), 3200.0/(5*8760); math.Abs(got-want) > 1e-15 {
				t.Errorf("gpu-8: %g kg/h, want %g", got, want)
			}
			cpu, _ := s.NodeTypes.Lookup("cpu-64")
			if got := cpu.EmbodiedKgPerHour(); got != 0 {
				t.Errorf("cpu-64 with embodied_kg 0 and no GPUs: %g kg/h, want 0", got)
			}
			// 2 MWh · 75 kg/kWh over 12.5 years.
			if got, want := s.Sites[0].Battery.EmbodiedKgPerHour(), 2000*75/(12.5*8760); math.Abs(got-want) > 1e-12 {
				t.Errorf("battery: %g kg/h, want %g", got, want)
			}
		}},
		{name: "negative", sets: []string{"node_types.cpu-64.embodied_kg=-1"}, want: "node_types.cpu-64.embodied_kg: -1 must be in [0, 100000]"},
		{name: "gpu too large", sets: []string{"node_types.gpu-8.embodied_kg_per_gpu=20000"}, want: "node_types.gpu-8.embodied_kg_per_gpu: 20000 must be in [0, 10000]"},
		{name: "zero lifetime", sets: []string{"node_types.cpu-64.lifetime_years=0"}, want: "node_types.cpu-64.lifetime_years: 0 must be in (0, 50] years"},
		{name: "long lifetime", sets: []string{"node_types.cpu-64.lifetime_years=51"}, want: "node_types.cpu-64.lifetime_years: 51 must be in (0, 50] years"},
		{name: "battery per kwh", sets: []string{"sites[jn-core].battery={mwh: 2, embodied_kg_per_kwh: 1001}"}, want: "sites[jn-core].battery.embodied_kg_per_kwh: 1001 must be in [0, 1000]"},
		{name: "battery lifetime", sets: []string{"sites[jn-core].battery={mwh: 2, lifetime_years: -3}"}, want: "sites[jn-core].battery.lifetime_years: -3 must be in (0, 50] years"},
		{name: "wrong type", sets: []string{"node_types.cpu-64.embodied_kg=lots"}, want: `node_types.cpu-64.embodied_kg: expected a number, got string "lots"`},
		{name: "wrong type lifetime", sets: []string{"sites[jn-core].battery={mwh: 2, lifetime_years: [10]}"}, want: "sites[jn-core].battery.lifetime_years: expected a number, got a list"},
		{name: "misspelt", sets: []string{"node_types.cpu-64.embodied_kgs=1"}, want: `node_types.cpu-64.embodied_kgs: unknown field "embodied_kgs"; did you mean "embodied_kg"?`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load(base, LoadOptions{Sets: tc.sets})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, s)
				return
			}
			if err == nil {
				t.Fatalf("loaded with %v", tc.sets)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to contain %q", err, tc.want)
			}
		})
	}
}
