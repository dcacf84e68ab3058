package scenarios

import (
	"math"
	"testing"
)

// TestExpectedInstances checks the integral against hand arithmetic: the
// shifts shape (16 h at 1.5, 8 h at 0.3, weekends 0.6) over a Monday-start
// week, with a surge.
func TestExpectedInstances(t *testing.T) {
	src := `
name: est
horizon: 7d
policies: [balanced]
node_types:
  cpu-64: {cpu_cores: 64, memory_gib: 256, power: {idle_w: 150, peak_w: 500}}
sites:
  - {id: a, role: edge, city: JN, nodes: {cpu-64: 1}}
  - {id: b, role: edge, city: QD, nodes: {cpu-64: 1}}
shapes:
  shifts: {hourly: {"8-24": 1.5, "0-8": 0.3}, weekend: 0.6}
workloads:
  - {class: ctrl, kind: service, cpu_cores: 1, duration: 1h, arrivals: {rate_per_hour: 2, per: edge-site, shape: shifts}}
  - {class: hpc, kind: batch, cpu_cores: 1, duration: 1h, tasks: {dist: choice, values: [1, 3]}, arrivals: {rate_per_hour: 1}}
events:
  - {at: 30m, kind: demand-surge, classes: [ctrl], cities: [JN], factor: 3, duration: 1h}
`
	s, err := Parse("est.yaml", []byte(src), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	day := 16*1.5 + 8*0.3
	// 2 sites × 2/h × (5 weekdays + 2 weekend days × 0.6) × day, plus the
	// surge: 1 h at JN (rate 2, hour 0-1 at 0.3, factor 3 adds 2×).
	want := 2*2*(5+2*0.6)*day + 2*0.3*2
	if got := s.ExpectedInstances(&s.Workloads[0]); math.Abs(got-want) > 1e-9 {
		t.Errorf("ctrl: got %g, want %g", got, want)
	}
	if got, want := s.ExpectedInstances(&s.Workloads[1]), 7*24*1*2.0; math.Abs(got-want) > 1e-9 {
		t.Errorf("hpc: got %g, want %g (mean 2 tasks)", got, want)
	}
}
