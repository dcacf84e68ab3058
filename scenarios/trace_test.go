package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
)

const sharedData = "../../shared/data"

func TestParseSWF(t *testing.T) {
	f, err := os.Open("testdata/trace/small.swf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, skipped, err := ParseSWF(f, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || skipped != 1 {
		t.Fatalf("got %d records, %d skipped; want 5, 1", len(recs), skipped)
	}
	r := recs[1] // job 2: allocated unknown, requested 16 procs, 2 GiB/proc requested
	if r.ID != "2" || r.Line != 5 || r.Submit != 600*time.Second || r.Duration != 1800*time.Second ||
		r.CPUMilli != 16_000 || r.MemoryMiB != 16*2048 {
		t.Errorf("job 2 = %+v", r)
	}
	if m := recs[2].MemoryMiB; m != 512 { // job 4: used memory 524288 KB for 1 proc
		t.Errorf("job 4 memory = %d MiB, want 512", m)
	}
	if m := recs[0].MemoryMiB; m != 4*2*1024 { // job 1: unknown memory, 2 GiB per proc
		t.Errorf("job 1 memory = %d MiB, want 8192", m)
	}
}

func TestParseSWFErrors(t *testing.T) {
	in := "; header\n1 0 -1 10 1 -1 -1 -1 -1 -1 1 -1 -1 -1 0 -1 -1 -1\n2 x\n3 0 -1 10 one -1 -1 -1 -1 -1 1 -1 -1 -1 0 -1 -1 -1\n4 -5 -1 10 1 -1 -1 -1 -1 -1 1 -1 -1 -1 0 -1 -1 -1\n"
	_, _, err := ParseSWF(strings.NewReader(in), 1, 1)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"line 3: want 18", `line 4: field 5 (allocated processors): "one" is not a number`, "line 5: field 2 (submit time) -5 must be >= 0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	long := "1 " + strings.Repeat("9", maxTraceLine+10) + "\n"
	if _, _, err := ParseSWF(strings.NewReader(long), 1, 1); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("over-long line: got %v", err)
	}
}

func TestParseAlibabaPods(t *testing.T) {
	f, err := os.Open("testdata/trace/small-pods.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, skipped, err := ParseAlibabaPods(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || skipped != 1 {
		t.Fatalf("got %d records, %d skipped; want 4, 1", len(recs), skipped)
	}
	b := recs[1]
	if b.ID != "pod-b" || b.Line != 3 || b.Submit != 300*time.Second || b.Duration != 3300*time.Second || b.CPUMilli != 6000 || b.MemoryMiB != 12288 || b.GPUMilli != 460 {
		t.Errorf("pod-b = %+v", b)
	}
	if g := recs[2].GPUMilli; g != 8000 {
		t.Errorf("pod-c GPU = %d milli, want 8000", g)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "line 1: empty file"},
		{"name,cpu_milli\nx,1\n", "line 1: header lacks column(s) memory_mib"},
		{strings.Join(alibabaColumns, ",") + "\np,1,2,0,0,-3,5,\n", "line 2: column creation_time: \"-3\" is not a non-negative number"},
		{strings.Join(alibabaColumns, ",") + "\np,1,2\n", "line 2: wrong number of fields"},
	} {
		_, _, err := ParseAlibabaPods(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestScheduleTrace(t *testing.T) {
	recs := []TraceRecord{
		{ID: "late", Submit: 5 * time.Hour, Duration: time.Hour, CPUMilli: 1000},
		{ID: "early", Submit: 1 * time.Hour, Duration: 2 * time.Hour, CPUMilli: 1000},
		{ID: "wide", Submit: 2 * time.Hour, Duration: time.Hour, CPUMilli: 130_000, MemoryMiB: 1000},
		{ID: "gpu", Submit: 3 * time.Hour, Duration: time.Hour, CPUMilli: 1000, GPUMilli: 1000},
	}
	node := nodes.Resources{CPUMilli: 64_000, MemoryMiB: 256 * 1024}
	tr := Trace{}
	tr.setDefaults()
	tr.Skip = Duration(time.Hour)
	tr.TimeScale = 0.5
	tr.DurationScale = 2
	out, wide := ScheduleTrace(recs, &tr, 24*time.Hour, node)
	var ids []string
	for _, r := range out {
		ids = append(ids, r.ID)
	}
	if got := strings.Join(ids, " "); got != "early wide/0 wide/1 wide/2 late" || wide != 1 {
		t.Fatalf("split: got %q (%d too wide), want early wide/0 wide/1 wide/2 late (1 too wide)", got, wide)
	}
	if out[0].Submit != 0 || out[0].Duration != 4*time.Hour || out[1].Submit != 30*time.Minute || out[4].Submit != 2*time.Hour {
		t.Errorf("scaling: %+v", out)
	}
	if out[1].CPUMilli != 43_334 || out[1].MemoryMiB != 334 {
		t.Errorf("split part = %+v, want a third of the job", out[1])
	}
	tr.Wide = "clamp"
	out, _ = ScheduleTrace(recs, &tr, 24*time.Hour, node)
	if len(out) != 4 || out[1].CPUMilli != 64_000 || out[2].GPUMilli != 0 {
		t.Errorf("clamp: %+v", out)
	}
	tr.Wide, tr.Limit = "drop", 2
	out, wide = ScheduleTrace(recs, &tr, 24*time.Hour, node)
	if len(out) != 1 || wide != 1 {
		t.Errorf("drop with limit 2: got %d records, %d too wide; want 1, 1", len(out), wide)
	}
	tr.Limit, tr.Wide = 0, "split"
	out, _ = ScheduleTrace(recs, &tr, time.Hour, node)
	if len(out) != 4 {
		t.Errorf("horizon 1h: got %d records, want 4 (early at 0, wide split in 3 at 30m)", len(out))
	}
}

// TestSharedTraces parses the reference traces of ../shared/data.
func TestSharedTraces(t *testing.T) {
	swf := filepath.Join(sharedData, "traces/lublin_256.swf")
	pods := filepath.Join(sharedData, "traces/alibaba-gpu-v2023-pods.csv")
	if _, err := os.Stat(swf); err != nil {
		t.Skipf("shared data absent (%v); it lives in ../shared/data beside the repository", err)
	}
	f, err := os.Open(swf)
	if err != nil {
		t.Fatal(err)
	}
	recs, skipped, err := ParseSWF(f, 1, 2)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs)+skipped != 10_000 {
		t.Errorf("lublin: %d records + %d skipped, want 10000 jobs", len(recs), skipped)
	}
	f, err = os.Open(pods)
	if err != nil {
		t.Fatal(err)
	}
	precs, pskipped, err := ParseAlibabaPods(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(precs)+pskipped != 8152 || len(precs) < 7000 {
		t.Errorf("alibaba: %d records + %d skipped, want 8152 pods, most usable", len(precs), pskipped)
	}
	// A scenario replaying both loads, with the records inside its horizon.
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	src := `
name: shared-traces
horizon: 7d
policies: [balanced]
node_types:
  cpu-64: {cpu_cores: 64, memory_gib: 256, power: {idle_w: 150, peak_w: 500}}
  gpu-8: {cpu_cores: 64, memory_gib: 512, gpus: 8, power: {idle_w: 1200, peak_w: 6500}}
sites:
  - {id: jn-core, role: core-zone, city: JN, nodes: {cpu-64: 100, gpu-8: 20}}
workloads:
  - {name: lublin, class: hpc, kind: batch, deadline: 1d, trace: {format: swf, file: "` + abs(swf) + `"}}
  - {name: alibaba, class: ai-train, kind: batch, trace: {format: alibaba-gpu-pods, file: "` + abs(pods) + `", time_scale: 0.05, duration_scale: 0.05}}
`
	s, err := Parse("shared.yaml", []byte(src), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.Workloads {
		w := &s.Workloads[i]
		if len(w.Records) == 0 {
			t.Errorf("%s: no records", w.Name)
		}
		for _, r := range w.Records {
			if r.Submit < 0 || r.Submit >= s.Horizon.D() || r.CPUMilli > 64_000 || r.GPUMilli > 8000 {
				t.Fatalf("%s: record %+v outside the horizon or larger than a node", w.Name, r)
			}
		}
	}
}

// TestSharedSeries checks references to the shared CSV series and the
// SPECpower table: existing columns and models load (and the SPECpower
// row becomes the node type's curve), missing ones are errors that list
// what the file has.
func TestSharedSeries(t *testing.T) {
	abs := func(p string) string { a, _ := filepath.Abs(filepath.Join(sharedData, p)); return a }
	if _, err := os.Stat(abs("power/specpower.csv")); err != nil {
		t.Skipf("shared data absent (%v); it lives in ../shared/data beside the repository", err)
	}
	src := func(column, model string) string {
		return `
name: series
horizon: 1d
policies: [balanced]
grid:
  carbon_shape: {csv: "` + abs("energy/pjm-2022-hourly-mix-ci.csv") + `", column: avg_CI}
  tariff: {csv: "` + abs("shandong/tou-tariff.csv") + `"}
node_types:
  old: {cpu_cores: 12, memory_gib: 48, power: {specpower: ` + model + `, file: "` + abs("power/specpower.csv") + `", peak_w: 444}}
sites:
  - id: a
    role: edge
    city: JN
    nodes: {old: 2}
    solar: {mw: 1, csv: "` + abs("energy/solar-5min-10-cities.csv") + `", column: ` + column + `, anchor: "2025-04-07T00:00:00+08:00"}
workloads:
  - {class: ctrl, kind: service, cpu_cores: 1, duration: 1h, arrivals: {rate_per_hour: 1}}
`
	}
	s, err := Parse("series.yaml", []byte(src(`"Hong Kong"`, "IbmX3550XeonX5675")), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := s.NodeTypes[0].Power
	if len(p.CurveW) != 11 || p.PeakW != 444 || p.IdleW != 116.8 {
		t.Errorf("SPECpower row scaled to 444 W: got idle %g peak %g curve %v", p.IdleW, p.PeakW, p.CurveW)
	}
	if s.Sites[0].Solar.Normalize != "none" || s.Grid.CarbonShape.Series.Normalize != "mean" || s.Grid.Tariff.Table != "" {
		t.Errorf("defaults: solar normalize %q, carbon normalize %q, tariff table %q", s.Sites[0].Solar.Normalize, s.Grid.CarbonShape.Series.Normalize, s.Grid.Tariff.Table)
	}
	_, err = Parse("series.yaml", []byte(src("Jinan", "NoSuchServer")), LoadOptions{})
	for _, want := range []string{
		`sites[a].solar.column: ` + abs("energy/solar-5min-10-cities.csv") + ` has no column "Jinan" (allowed: time, Berlin, Cape Town, Hong Kong`,
		`node_types.old.power.specpower: unknown SPECpower model "NoSuchServer" in ` + abs("power/specpower.csv") + ` (allowed: HpProLiantMl110G3PentiumD930`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v\nwant it to contain %s", err, want)
		}
	}
	// SkipData loads without opening anything.
	if _, err := Parse("series.yaml", []byte(src("Jinan", "NoSuchServer")), LoadOptions{SkipData: true}); err != nil {
		t.Errorf("SkipData: %v", err)
	}
}

// TestTraceAtLeastOneMillicore: a record asking for less than half a
// millicore (a tiny cores_per_proc, a pod's fraction of a millicore) asks
// for one, so the simulator never sees a request without CPU.
func TestTraceAtLeastOneMillicore(t *testing.T) {
	recs, _, err := ParseSWF(strings.NewReader("1 0 -1 3600 4 -1 -1 4 -1 -1 1 -1 -1 -1 0 -1 -1 -1\n"), 0.0001, 2)
	if err != nil || len(recs) != 1 || recs[0].CPUMilli != 1 {
		t.Errorf("swf: got %+v, %v; want one record of 1 millicore", recs, err)
	}
	in := strings.Join(alibabaColumns, ",") + "\n"
	row := map[string]string{"name": "p", "cpu_milli": "0.3", "memory_mib": "8", "num_gpu": "0", "gpu_milli": "0", "creation_time": "0", "deletion_time": "60", "scheduled_time": ""}
	var cells []string
	for _, c := range alibabaColumns {
		cells = append(cells, row[c])
	}
	recs, _, err = ParseAlibabaPods(strings.NewReader(in + strings.Join(cells, ",") + "\n"))
	if err != nil || len(recs) != 1 || recs[0].CPUMilli != 1 {
		t.Errorf("pods: got %+v, %v; want one record of 1 millicore", recs, err)
	}
}
