package energy

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/suanli/suanli/nodes"
)

// PowerCurve is the wall power in W of one server as a function of its
// utilisation u in [0,1]: piecewise linear through the 11 points u = 0,
// 0.1, …, 1 (the SPECpower_ssj2008 load levels). A linear idle→peak model
// is the curve through evenly spaced points (LinearCurve).
type PowerCurve [11]float64

// LinearCurve is the linear model P(u) = idle + (peak − idle)·u.
func LinearCurve(idleW, peakW float64) PowerCurve {
	var c PowerCurve
	for i := range c {
		c[i] = idleW + (peakW-idleW)*float64(i)/10
	}
	return c
}

// IdleW is the power at zero utilisation.
func (c *PowerCurve) IdleW() float64 { return c[0] }

// PeakW is the power at full utilisation.
func (c *PowerCurve) PeakW() float64 { return c[10] }

func segment(u float64) (int, float64) {
	if !(u > 0) { // also NaN
		return 0, 0
	}
	if u >= 1 {
		return 9, 1
	}
	x := u * 10
	i := int(x)
	if i > 9 {
		i = 9
	}
	return i, x - float64(i)
}

// W returns the power at utilisation u (clamped to [0,1]).
func (c *PowerCurve) W(u float64) float64 {
	i, f := segment(u)
	return c[i] + f*(c[i+1]-c[i])
}

// SlopeW is dP/du at u in W per unit of utilisation: the slope of the
// segment u lies in (the upper one at a breakpoint, the last one at u = 1).
func (c *PowerCurve) SlopeW(u float64) float64 {
	i, _ := segment(u)
	return (c[i+1] - c[i]) * 10
}

func (c *PowerCurve) validate(ck *checker, field string) {
	for i, w := range c {
		if !(w >= 0) || !finite(w) {
			ck.fail(fmt.Sprintf("%s[%d]", field, i), w, "must be a finite number of W >= 0")
			return
		}
		if i > 0 && w < c[i-1] {
			ck.fail(fmt.Sprintf("%s[%d]", field, i), w, fmt.Sprintf("must be >= %s[%d] %g (a power curve must not decrease)", field, i-1, c[i-1]))
			return
		}
	}
	if !(c[10] > 0) {
		ck.fail(field+"[10]", c[10], "must be > 0 (peak power)")
	}
}

// ServerPowerSpec configures the IT power of one server type.
type ServerPowerSpec struct {
	// Name is the server type, e.g. "cpu-64" (informational).
	Name string `yaml:"name" json:"name"`
	// IdleW and PeakW define the linear model when CurveW is empty.
	IdleW float64 `yaml:"idle_w" json:"idle_w"`
	PeakW float64 `yaml:"peak_w" json:"peak_w"`
	// CurveW, when set, is the 11-point curve in W at 0, 10, …, 100 %
	// utilisation (a SPECpower row); it replaces IdleW and PeakW.
	CurveW []float64 `yaml:"curve_w" json:"curve_w"`
	// GPUPowerShare is the share of the dynamic power of a server with GPUs
	// that follows its GPU use; the rest follows its CPU use. Ignored for
	// servers without GPUs.
	GPUPowerShare float64 `yaml:"gpu_power_share" json:"gpu_power_share"`
}

// CPUServerPowerSpec is the baseline CPU server (64 cores): 150 W idle,
// 500 W peak, linear (shandong-facts.md §5, [A/K]).
func CPUServerPowerSpec() ServerPowerSpec {
	return ServerPowerSpec{Name: "cpu-64", IdleW: 150, PeakW: 500, GPUPowerShare: DefaultGPUPowerShare}
}

// GPUServerPowerSpec is the baseline GPU server (8 GPUs + 64 cores):
// 1.2 kW idle, 6.5 kW peak, linear (shandong-facts.md §5, [A/K]).
func GPUServerPowerSpec() ServerPowerSpec {
	return ServerPowerSpec{Name: "gpu-8", IdleW: 1200, PeakW: 6500, GPUPowerShare: DefaultGPUPowerShare}
}

// DefaultGPUPowerShare is the assumed share of a GPU server's dynamic power
// drawn by its GPUs [A]: 8 accelerators of ~600 W against ~0.5 kW for the
// host's CPUs and memory.
const DefaultGPUPowerShare = 0.9

// Validate checks the curve (11 non-decreasing finite values >= 0 with a
// positive peak) or idle_w <= peak_w, and gpu_power_share in [0,1].
func (s ServerPowerSpec) Validate() error {
	c := &checker{prefix: "server_power"}
	s.validate(c)
	return c.err()
}

func (s ServerPowerSpec) validate(c *checker) {
	if len(s.CurveW) > 0 {
		if len(s.CurveW) != 11 {
			c.fail("curve_w", len(s.CurveW), "values given; want 11 (W at 0, 10, ..., 100 % load)")
		} else {
			var pc PowerCurve
			copy(pc[:], s.CurveW)
			pc.validate(c, "curve_w")
		}
	} else {
		c.nonNeg("idle_w", s.IdleW)
		if !(s.PeakW > 0) || !finite(s.PeakW) || s.PeakW < s.IdleW {
			c.fail("peak_w", s.PeakW, fmt.Sprintf("must be a finite number > 0 and >= idle_w %g", s.IdleW))
		}
	}
	c.in("gpu_power_share", s.GPUPowerShare, 0, 1)
}

// Curve returns the spec's power curve (call Validate first).
func (s ServerPowerSpec) Curve() PowerCurve {
	if len(s.CurveW) == 11 {
		var pc PowerCurve
		copy(pc[:], s.CurveW)
		return pc
	}
	return LinearCurve(s.IdleW, s.PeakW)
}

// ServerPower is the IT power model of one server type with a given
// capacity. Utilisation is allocation-based:
//
//	u = (1 − g)·cpu_used/cpu_capacity + g·gpu_used/gpu_capacity
//
// with g the GPU power share for servers with GPUs and 0 otherwise; power
// is Curve.W(u). Its methods do not allocate.
type ServerPower struct {
	Curve    PowerCurve
	capacity nodes.Resources
	gpuShare float64
	invCPU   float64 // 1/cores
	invGPU   float64 // 1/GPUs
}

// NewServerPower builds the model for servers of the given capacity, which
// must have CPU (and may have GPUs).
func NewServerPower(spec ServerPowerSpec, capacity nodes.Resources) (*ServerPower, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if capacity.CPUMilli <= 0 || capacity.GPUMilli < 0 {
		return nil, fmt.Errorf("server power %q: capacity %v needs cpu_milli > 0 and gpu_milli >= 0", spec.Name, capacity)
	}
	p := &ServerPower{Curve: spec.Curve(), capacity: capacity, invCPU: 1000 / float64(capacity.CPUMilli)}
	if capacity.GPUMilli > 0 {
		p.gpuShare = spec.GPUPowerShare
		p.invGPU = 1000 / float64(capacity.GPUMilli)
	}
	return p, nil
}

// Capacity is the server's capacity.
func (p *ServerPower) Capacity() nodes.Resources { return p.capacity }

// Utilisation maps an allocation on the server to u in [0,1].
func (p *ServerPower) Utilisation(used nodes.Resources) float64 {
	u := (1 - p.gpuShare) * float64(used.CPUMilli) / 1000 * p.invCPU
	if p.invGPU > 0 {
		u += p.gpuShare * float64(used.GPUMilli) / 1000 * p.invGPU
	}
	return min(1, max(0, u))
}

// PowerW is the server's IT power in W with the given allocation.
func (p *ServerPower) PowerW(used nodes.Resources) float64 {
	return p.Curve.W(p.Utilisation(used))
}

// MarginalW is the extra power in W of one more CPU core and of one more
// whole GPU on a server with the given allocation (the slope of the curve
// where it operates). On a GPU-less server perGPUW is 0.
func (p *ServerPower) MarginalW(used nodes.Resources) (perCoreW, perGPUW float64) {
	s := p.Curve.SlopeW(p.Utilisation(used))
	return s * (1 - p.gpuShare) * p.invCPU, s * p.gpuShare * p.invGPU
}

// AverageMarginalW is the mean extra power per core and per GPU over the
// whole range, (peak − idle) split by the GPU share over the capacity: the
// figure to use when the operating point is not known.
func (p *ServerPower) AverageMarginalW() (perCoreW, perGPUW float64) {
	d := p.Curve.PeakW() - p.Curve.IdleW()
	return d * (1 - p.gpuShare) * p.invCPU, d * p.gpuShare * p.invGPU
}

// ExtraW is the exact extra power in W of adding add to a server that has
// used allocated (clamped at full utilisation).
func (p *ServerPower) ExtraW(used, add nodes.Resources) float64 {
	return p.PowerW(used.Add(add)) - p.PowerW(used)
}

// SiteMarginalW is the capacity-weighted mean of AverageMarginalW over a
// site's servers (counts[i] servers of model servers[i]): W per core over
// all CPU capacity, W per GPU over all GPU capacity. It is what the
// scheduler's snapshot uses to turn a request into kW.
func SiteMarginalW(servers []*ServerPower, counts []int) (perCoreW, perGPUW float64) {
	var cores, gpus, wc, wg float64
	for i, p := range servers {
		n := float64(counts[i])
		c := n * float64(p.capacity.CPUMilli) / 1000
		g := n * float64(p.capacity.GPUMilli) / 1000
		pc, pg := p.AverageMarginalW()
		cores += c
		gpus += g
		wc += c * pc
		wg += g * pg
	}
	if cores > 0 {
		perCoreW = wc / cores
	}
	if gpus > 0 {
		perGPUW = wg / gpus
	}
	return perCoreW, perGPUW
}

// SPECServer is one row of a SPECpower table.
type SPECServer struct {
	Model  string
	Curve  PowerCurve
	Source string
}

// Spec returns a ServerPowerSpec with this server's curve.
func (s SPECServer) Spec() ServerPowerSpec {
	return ServerPowerSpec{Name: s.Model, CurveW: append([]float64(nil), s.Curve[:]...), GPUPowerShare: DefaultGPUPowerShare}
}

var specHeader = []string{"model", "w0", "w10", "w20", "w30", "w40", "w50", "w60", "w70", "w80", "w90", "w100"}

// ParseSPECPower reads a table of server power curves in the format of
// ../shared/data/power/specpower.csv: '#' comment lines, then the header
//
//	model,w0,w10,w20,w30,w40,w50,w60,w70,w80,w90,w100[,source]
//
// and one server per line (W at 0 %, 10 %, …, 100 % load). Every value must
// be a finite number >= 0 and the curve must not decrease. Errors carry the
// line and column.
func ParseSPECPower(r io.Reader) ([]SPECServer, error) {
	cr := newTableReader(r)
	cr.TrimLeadingSpace = true
	header, err := cr.header("specpower table: empty input (want header " + strings.Join(specHeader, ",") + ",source)")
	if err != nil {
		return nil, err
	}
	hasSource := len(header) == len(specHeader)+1
	if len(header) != len(specHeader) && !hasSource {
		line, _ := cr.FieldPos(0)
		return nil, &ParseError{Line: line, Column: 1, Err: fmt.Errorf("header has %d columns, want %s[,source]", len(header), strings.Join(specHeader, ","))}
	}
	for i, want := range specHeader {
		if !strings.EqualFold(strings.TrimSpace(header[i]), want) {
			line, cl := cr.FieldPos(i)
			return nil, &ParseError{Line: line, Column: cl, Field: header[i], Err: fmt.Errorf("column %d is %q, want %q", i+1, header[i], want)}
		}
	}
	if hasSource && !strings.EqualFold(strings.TrimSpace(header[len(specHeader)]), "source") {
		line, cl := cr.FieldPos(len(specHeader))
		return nil, &ParseError{Line: line, Column: cl, Field: header[len(specHeader)], Err: fmt.Errorf("last column is %q, want \"source\"", header[len(specHeader)])}
	}
	var out []SPECServer
	seen := map[string]int{}
	for {
		rec, line, err := cr.next(len(header), "")
		if err != nil {
			return nil, err
		}
		if rec == nil {
			break
		}
		s := SPECServer{Model: strings.TrimSpace(rec[0])}
		if s.Model == "" {
			return nil, &ParseError{Line: line, Column: 1, Field: "model", Err: errors.New("empty model name")}
		}
		if prev, dup := seen[s.Model]; dup {
			return nil, &ParseError{Line: line, Column: 1, Field: "model", Err: fmt.Errorf("model %q already defined on line %d", s.Model, prev)}
		}
		seen[s.Model] = line
		for i := range 11 {
			cell := strings.TrimSpace(rec[i+1])
			v, err := strconv.ParseFloat(cell, 64)
			l, cl := cr.FieldPos(i + 1)
			if err != nil || !finite(v) || v < 0 {
				return nil, &ParseError{Line: l, Column: cl, Field: specHeader[i+1], Err: fmt.Errorf("%q is not a finite number of W >= 0", cell)}
			}
			if i > 0 && v < s.Curve[i-1] {
				return nil, &ParseError{Line: l, Column: cl, Field: specHeader[i+1], Err: fmt.Errorf("%g W is below %s %g W; a power curve must not decrease", v, specHeader[i], s.Curve[i-1])}
			}
			s.Curve[i] = v
		}
		if !(s.Curve[10] > 0) {
			l, cl := cr.FieldPos(11)
			return nil, &ParseError{Line: l, Column: cl, Field: "w100", Err: errors.New("peak power must be > 0")}
		}
		if hasSource {
			s.Source = strings.TrimSpace(rec[len(specHeader)])
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("specpower table: no servers after the header")
	}
	return out, nil
}

// LookupSPEC finds a server by model name (case-insensitive).
func LookupSPEC(servers []SPECServer, model string) (SPECServer, error) {
	for _, s := range servers {
		if strings.EqualFold(s.Model, model) {
			return s, nil
		}
	}
	names := make([]string, len(servers))
	for i, s := range servers {
		names[i] = s.Model
	}
	return SPECServer{}, fmt.Errorf("unknown server model %q (have: %s)", model, strings.Join(names, ", "))
}
