package energy

import (
	"errors"
	"strings"
	"testing"

	"github.com/suanli/suanli/nodes"
)

func TestPowerCurve(t *testing.T) {
	lin := LinearCurve(150, 500)
	spec := PowerCurve{66, 107, 120, 131, 143, 156, 173, 191, 211, 229, 247} // IbmX3550XeonX5670
	cases := []struct {
		name      string
		c         PowerCurve
		u         float64
		w, slopeW float64
	}{
		{"linear idle", lin, 0, 150, 350},
		{"linear half", lin, 0.5, 325, 350},
		{"linear full", lin, 1, 500, 350},
		{"linear clamps above", lin, 1.7, 500, 350},
		{"linear clamps below", lin, -0.2, 150, 350},
		{"spec idle", spec, 0, 66, 410},
		{"spec between points", spec, 0.05, 86.5, 410},
		{"spec breakpoint uses upper segment", spec, 0.1, 107, 130},
		{"spec 75%", spec, 0.75, 201, 200},
		{"spec full uses last segment", spec, 1, 247, 180},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.W(tc.u); !approx(got, tc.w, 1e-12) {
				t.Errorf("W(%v): got %v, want %v", tc.u, got, tc.w)
			}
			if got := tc.c.SlopeW(tc.u); !approx(got, tc.slopeW, 1e-12) {
				t.Errorf("SlopeW(%v): got %v, want %v", tc.u, got, tc.slopeW)
			}
		})
	}
	if got := lin.W(nan()); got != 150 {
		t.Errorf("W(NaN): got %v, want idle 150", got)
	}
}

func TestServerPowerMarginal(t *testing.T) {
	cpu, err := NewServerPower(CPUServerPowerSpec(), nodes.CPUServer)
	if err != nil {
		t.Fatal(err)
	}
	gpu, err := NewServerPower(GPUServerPowerSpec(), nodes.GPUServer)
	if err != nil {
		t.Fatal(err)
	}
	// CPU server: (500 − 150) / 64 cores
	if pc, pg := cpu.AverageMarginalW(); !approx(pc, 350.0/64, 1e-12) || pg != 0 {
		t.Errorf("cpu marginal: got %v W/core %v W/GPU, want %v and 0", pc, pg, 350.0/64)
	}
	// GPU server: 5300 W dynamic, 90 % on 8 GPUs, 10 % on 64 cores
	pc, pg := gpu.AverageMarginalW()
	if !approx(pg, 5300*0.9/8, 1e-12) || !approx(pc, 5300*0.1/64, 1e-12) {
		t.Errorf("gpu marginal: got %v W/core %v W/GPU, want %v and %v", pc, pg, 5300*0.1/64, 5300*0.9/8)
	}
	// the exact extra power of a request equals marginal × amount on a linear curve
	used := nodes.Resources{CPUMilli: 16000, GPUMilli: 2000}
	add := nodes.Resources{CPUMilli: 8000, GPUMilli: 1000}
	if got, want := gpu.ExtraW(used, add), 8*pc+1*pg; !approx(got, want, 1e-12) {
		t.Errorf("ExtraW: got %v, want %v", got, want)
	}
	mc, mg := gpu.MarginalW(used)
	if !approx(mc, pc, 1e-12) || !approx(mg, pg, 1e-12) {
		t.Errorf("MarginalW on a linear curve: got %v %v, want %v %v", mc, mg, pc, pg)
	}
	// full server draws peak; an empty one idles
	if got := gpu.PowerW(nodes.GPUServer); !approx(got, 6500, 1e-12) {
		t.Errorf("full GPU server: got %v W, want 6500", got)
	}
	if got := cpu.PowerW(nodes.Resources{}); got != 150 {
		t.Errorf("idle CPU server: got %v W, want 150", got)
	}
	// a site of 10 CPU and 1 GPU servers: per-core figure weighted by cores
	sc, sg := SiteMarginalW([]*ServerPower{cpu, gpu}, []int{10, 1})
	wantC := (640*350.0/64 + 64*5300*0.1/64) / 704
	if !approx(sc, wantC, 1e-12) || !approx(sg, 5300*0.9/8, 1e-12) {
		t.Errorf("SiteMarginalW: got %v %v, want %v %v", sc, sg, wantC, 5300*0.9/8)
	}
	if _, err := NewServerPower(CPUServerPowerSpec(), nodes.Resources{}); err == nil {
		t.Error("zero capacity: got no error")
	}
}

func TestParseSPECPowerSharedFile(t *testing.T) {
	f := openShared(t, "power/specpower.csv")
	servers, err := ParseSPECPower(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(servers) < 5 {
		t.Fatalf("got %d servers, want the whole table", len(servers))
	}
	s, err := LookupSPEC(servers, "ibmx3550xeonx5670")
	if err != nil {
		t.Fatal(err)
	}
	if s.Curve[0] != 66 || s.Curve[10] != 247 || !strings.HasPrefix(s.Source, "https://www.spec.org/") {
		t.Errorf("IbmX3550XeonX5670: got %+v", s)
	}
	p, err := NewServerPower(s.Spec(), nodes.Resources{CPUMilli: 12000})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.PowerW(nodes.Resources{CPUMilli: 6000}); got != 156 {
		t.Errorf("50 %% load: got %v W, want 156", got)
	}
	if _, err := LookupSPEC(servers, "nope"); err == nil || !strings.Contains(err.Error(), "IbmX3550XeonX5670") {
		t.Errorf("unknown model: got %v", err)
	}
}

func TestParseSPECPowerErrors(t *testing.T) {
	const h = "model,w0,w10,w20,w30,w40,w50,w60,w70,w80,w90,w100,source\n"
	row := func(vals string) string { return h + "A," + vals + ",http://x\n" }
	cases := []struct {
		name, in  string
		line, col int
		field     string
		has       string
	}{
		{"bad number", row("1,2,3,4,x5,6,7,8,9,10,11"), 2, 11, "w40", `"x5" is not a finite number`},
		{"negative", row("-1,2,3,4,5,6,7,8,9,10,11"), 2, 3, "w0", "not a finite number of W >= 0"},
		{"decreasing", row("1,2,3,4,5,4,7,8,9,10,11"), 2, 13, "w50", "must not decrease"},
		{"zero peak", row("0,0,0,0,0,0,0,0,0,0,0"), 2, 23, "w100", "peak power must be > 0"},
		{"too few fields", h + "A,1,2,3\n", 2, 1, "", "4 fields, want 13"},
		{"wrong header", "model,w0,w10,w20,w30,w40,w55,w60,w70,w80,w90,w100\n", 1, 26, "w55", `want "w50"`},
		{"header width", "model,w0\n", 1, 1, "", "header has 2 columns"},
		{"duplicate model", row("1,2,3,4,5,6,7,8,9,10,11") + "A,1,2,3,4,5,6,7,8,9,10,11,y\n", 3, 1, "model", "already defined on line 3"},
		{"empty model", h + ",1,2,3,4,5,6,7,8,9,10,11,y\n", 2, 1, "model", "empty model"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSPECPower(strings.NewReader("# comment\n" + tc.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *ParseError", err)
			}
			// +1: the comment line
			if pe.Line != tc.line+1 || pe.Column != tc.col || pe.Field != tc.field || !strings.Contains(err.Error(), tc.has) {
				t.Errorf("got line %d col %d field %q: %v; want line %d col %d field %q containing %q", pe.Line, pe.Column, pe.Field, err, tc.line+1, tc.col, tc.field, tc.has)
			}
		})
	}
	if _, err := ParseSPECPower(strings.NewReader(h)); err == nil {
		t.Error("no rows: got no error")
	}
}

func TestServerPowerSpecValidate(t *testing.T) {
	cases := []struct {
		name string
		s    ServerPowerSpec
		want string
	}{
		{"peak below idle", ServerPowerSpec{IdleW: 300, PeakW: 200}, "server_power.peak_w 200 must be a finite number > 0 and >= idle_w 300"},
		{"curve length", ServerPowerSpec{CurveW: []float64{1, 2}}, "server_power.curve_w 2 values given; want 11"},
		{"curve decreasing", ServerPowerSpec{CurveW: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 9}}, "server_power.curve_w[10] 9 must be >= curve_w[9] 10"},
		{"gpu share", ServerPowerSpec{IdleW: 1, PeakW: 2, GPUPowerShare: 1.5}, "server_power.gpu_power_share 1.5 must be in [0,1]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func BenchmarkServerPowerW(b *testing.B) {
	p, err := NewServerPower(ServerPowerSpec{CurveW: []float64{66, 107, 120, 131, 143, 156, 173, 191, 211, 229, 247}}, nodes.CPUServer)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var sum float64
	for i := 0; b.Loop(); i++ {
		sum += p.PowerW(nodes.Resources{CPUMilli: int64(i % 64001)})
	}
	_ = sum
}
