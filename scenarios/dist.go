package scenarios

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DistKind is the family of a distribution.
type DistKind uint8

const (
	// DistFixed is always Value.
	DistFixed DistKind = iota
	// DistUniform is uniform on [Min, Max].
	DistUniform
	// DistLogNormal has median Median and log-space standard deviation
	// Sigma: Median·exp(Sigma·N(0,1)).
	DistLogNormal
	// DistExponential has mean Mean.
	DistExponential
	// DistLogUniform is log-uniform on [Min, Max] (0 < Min).
	DistLogUniform
	// DistChoice picks one of Values with probabilities proportional to
	// Weights (equal when Weights is empty).
	DistChoice
	numDistKinds
)

var distKindNames = [numDistKinds]string{"fixed", "uniform", "lognormal", "exponential", "loguniform", "choice"}

// String returns the name used in scenario files.
func (k DistKind) String() string {
	if k < numDistKinds {
		return distKindNames[k]
	}
	return fmt.Sprintf("dist(%d)", uint8(k))
}

// DistKindNames lists the distribution names accepted in scenario files.
func DistKindNames() []string { return append([]string(nil), distKindNames[:]...) }

// distParams lists, per kind, the parameters a file may give (besides
// dist). min and max bound the support of uniform and loguniform and clamp
// the other kinds; step rounds samples.
var distParams = [numDistKinds][]string{
	DistFixed:       {"value"},
	DistUniform:     {"min", "max", "step"},
	DistLogNormal:   {"median", "sigma", "min", "max", "step"},
	DistExponential: {"mean", "min", "max", "step"},
	DistLogUniform:  {"min", "max", "step"},
	DistChoice:      {"values", "weights"},
}

// Dist is a distribution of a non-negative quantity. In a file it is
// either a plain value (a fixed distribution) or a mapping
//
//	{dist: fixed, value: 4}
//	{dist: uniform, min: 6, max: 24}
//	{dist: lognormal, median: 64, sigma: 1.0, max: 4096}
//	{dist: exponential, mean: 2}
//	{dist: loguniform, min: 256, max: 4096}
//	{dist: choice, values: [8, 16, 64], weights: [6, 3, 1]}
//
// For lognormal and exponential, min and max (optional) clamp samples;
// step (optional) rounds samples to a multiple of itself (after which the
// clamp applies again). Samples are never negative.
type Dist struct {
	Kind DistKind
	// Value of a fixed distribution.
	Value float64
	// Min and Max: the support of uniform and loguniform; an optional
	// clamp for lognormal and exponential (Max 0 = no upper clamp).
	Min, Max float64
	// Median and Sigma of a lognormal.
	Median, Sigma float64
	// Mean of an exponential.
	Mean float64
	// Values and Weights of a choice.
	Values, Weights []float64
	// Step rounds samples to a multiple of itself (0 = no rounding).
	Step float64
}

// Fixed returns the distribution that is always v.
func Fixed(v float64) Dist { return Dist{Kind: DistFixed, Value: v} }

// IsZero reports whether d is the fixed distribution 0 (the value of an
// absent field).
func (d Dist) IsZero() bool { return d.Kind == DistFixed && d.Value == 0 }

// Sample draws one value.
func (d Dist) Sample(r *rand.Rand) float64 {
	var v float64
	switch d.Kind {
	case DistFixed:
		return d.Value
	case DistUniform:
		v = d.Min + (d.Max-d.Min)*r.Float64()
	case DistLogNormal:
		v = d.Median * math.Exp(d.Sigma*r.NormFloat64())
	case DistExponential:
		v = d.Mean * r.ExpFloat64()
	case DistLogUniform:
		lo, hi := math.Log(d.Min), math.Log(d.Max)
		v = math.Exp(lo + (hi-lo)*r.Float64())
	case DistChoice:
		if len(d.Weights) == 0 {
			return d.Values[r.IntN(len(d.Values))]
		}
		total := 0.0
		for _, w := range d.Weights {
			total += w
		}
		x := r.Float64() * total
		for i, w := range d.Weights {
			if x < w {
				return d.Values[i]
			}
			x -= w
		}
		return d.Values[len(d.Values)-1]
	}
	return d.clamp(v)
}

func (d Dist) clamp(v float64) float64 {
	if d.Step > 0 {
		v = math.Round(v/d.Step) * d.Step
	}
	if v < d.Min {
		v = d.Min
	}
	if d.Max > 0 && v > d.Max {
		v = d.Max
	}
	if v < 0 {
		v = 0
	}
	return v
}

// MeanValue is the expected value of the distribution, ignoring clamps
// and rounding (exact for fixed, uniform, loguniform and choice).
func (d Dist) MeanValue() float64 {
	switch d.Kind {
	case DistFixed:
		return d.Value
	case DistUniform:
		return (d.Min + d.Max) / 2
	case DistLogNormal:
		return d.Median * math.Exp(d.Sigma*d.Sigma/2)
	case DistExponential:
		return d.Mean
	case DistLogUniform:
		if d.Max == d.Min {
			return d.Min
		}
		return (d.Max - d.Min) / (math.Log(d.Max) - math.Log(d.Min))
	case DistChoice:
		total, sum := 0.0, 0.0
		for i, v := range d.Values {
			w := 1.0
			if len(d.Weights) > 0 {
				w = d.Weights[i]
			}
			total += w
			sum += w * v
		}
		if total == 0 {
			return 0
		}
		return sum / total
	}
	return 0
}

// Upper returns the largest value the distribution can produce and
// whether it is bounded (lognormal and exponential without max are not).
func (d Dist) Upper() (float64, bool) {
	switch d.Kind {
	case DistFixed:
		return d.Value, true
	case DistUniform, DistLogUniform:
		return d.Max, true
	case DistChoice:
		m := 0.0
		for i, v := range d.Values {
			if len(d.Weights) == 0 || d.Weights[i] > 0 {
				m = math.Max(m, v)
			}
		}
		return m, true
	default:
		if d.Max > 0 {
			return d.Max, true
		}
		return math.Inf(1), false
	}
}

// Lower returns the smallest value the distribution can produce.
func (d Dist) Lower() float64 {
	switch d.Kind {
	case DistFixed:
		return d.Value
	case DistChoice:
		m := math.Inf(1)
		for i, v := range d.Values {
			if len(d.Weights) == 0 || d.Weights[i] > 0 {
				m = math.Min(m, v)
			}
		}
		return m
	}
	return d.Min
}

// String formats d compactly, e.g. "lognormal(median 64, sigma 1)".
func (d Dist) String() string {
	return d.format(func(v float64) string { return fmt.Sprintf("%g", v) })
}

func (d Dist) format(f func(float64) string) string {
	var b strings.Builder
	switch d.Kind {
	case DistFixed:
		return f(d.Value)
	case DistUniform, DistLogUniform:
		fmt.Fprintf(&b, "%s(%s..%s", d.Kind, f(d.Min), f(d.Max))
	case DistLogNormal:
		fmt.Fprintf(&b, "lognormal(median %s, sigma %g", f(d.Median), d.Sigma)
	case DistExponential:
		fmt.Fprintf(&b, "exponential(mean %s", f(d.Mean))
	case DistChoice:
		vs := make([]string, len(d.Values))
		for i, v := range d.Values {
			vs[i] = f(v)
		}
		fmt.Fprintf(&b, "choice(%s", strings.Join(vs, ", "))
		if len(d.Weights) > 0 {
			fmt.Fprintf(&b, "; weights %v", d.Weights)
		}
	}
	if d.Kind == DistLogNormal || d.Kind == DistExponential {
		if d.Min > 0 {
			fmt.Fprintf(&b, ", min %s", f(d.Min))
		}
		if d.Max > 0 {
			fmt.Fprintf(&b, ", max %s", f(d.Max))
		}
	}
	if d.Step > 0 {
		fmt.Fprintf(&b, ", step %s", f(d.Step))
	}
	b.WriteString(")")
	return b.String()
}

func (d *Dist) decodeYAML(dc *decoder, n *yaml.Node, path string) {
	decodeDist(dc, n, path, d, func(n *yaml.Node, p string) (float64, bool) { return dc.float(n, p) }, formatFloat, "a number or a distribution such as {dist: uniform, min: 1, max: 4}")
}

// MarshalYAML writes d in the file syntax.
func (d Dist) MarshalYAML() (any, error) {
	return d.node(func(v float64) *yaml.Node { return floatNode(v) }), nil
}

// decodeDist decodes a distribution whose values are read by num.
func decodeDist(dc *decoder, n *yaml.Node, path string, d *Dist, num func(*yaml.Node, string) (float64, bool), show func(float64) string, want string) {
	if n.Kind == yaml.ScalarNode {
		if v, ok := num(n, path); ok {
			if v < 0 {
				dc.c.at(n, path, fmt.Sprintf("must be >= 0, got %s", clip(n.Value)))
				return
			}
			*d = Dist{Kind: DistFixed, Value: v}
		}
		return
	}
	if n.Kind != yaml.MappingNode {
		dc.typeErr(n, path, want)
		return
	}
	ps := dc.pairs(n, path)
	var out Dist
	kindName := "fixed"
	distGiven := false
	for _, p := range ps {
		if p.key == "dist" {
			distGiven = true
			kn := dc.resolve(p.v)
			if kn == nil || kn.Kind != yaml.ScalarNode {
				dc.typeErr(p.v, path+".dist", "a distribution name")
				return
			}
			dc.c.pos[path+".dist"] = p.v
			kindName = kn.Value
			found := false
			for i, name := range distKindNames {
				if name == kn.Value {
					out.Kind, found = DistKind(i), true
				}
			}
			if !found {
				dc.c.at(kn, path+".dist", fmt.Sprintf("unknown distribution %q", kn.Value), distKindNames[:]...)
				return
			}
		}
	}
	if !distGiven {
		onlyValue := len(ps) == 1 && ps[0].key == "value"
		if !onlyValue {
			dc.c.at(n, path, "a distribution needs dist: (or write a plain value)", distKindNames[:]...)
			return
		}
	}
	allowed := append([]string{"dist"}, distParams[out.Kind]...)
	has := map[string]*yaml.Node{}
	ok := true
	for _, p := range ps {
		if p.key == "dist" {
			continue
		}
		fp := path + "." + p.key
		if !contains(allowed, p.key) {
			dc.c.at(p.k, fp, fmt.Sprintf("field %q is not a parameter of dist %s", p.key, kindName), allowed...)
			ok = false
			continue
		}
		vn := dc.resolve(p.v)
		if vn == nil {
			ok = false
			continue
		}
		dc.c.pos[fp] = p.v
		has[p.key] = vn
		switch p.key {
		case "values", "weights":
			if vn.Kind != yaml.SequenceNode || len(vn.Content) == 0 {
				dc.typeErr(vn, fp, "a non-empty list of numbers")
				ok = false
				continue
			}
			list := make([]float64, 0, len(vn.Content))
			for i, e := range vn.Content {
				ep := fmt.Sprintf("%s[%d]", fp, i)
				var v float64
				var good bool
				if p.key == "values" {
					v, good = num(dc.resolve(e), ep)
				} else {
					v, good = dc.float(dc.resolve(e), ep)
				}
				if !good {
					ok = false
					continue
				}
				if v < 0 {
					dc.c.at(e, ep, fmt.Sprintf("must be >= 0, got %s", e.Value))
					ok = false
				}
				list = append(list, v)
			}
			if p.key == "values" {
				out.Values = list
			} else {
				out.Weights = list
			}
		default:
			var v float64
			var good bool
			if p.key == "sigma" {
				v, good = dc.float(vn, fp)
			} else {
				v, good = num(vn, fp)
			}
			if !good {
				ok = false
				continue
			}
			if v < 0 {
				dc.c.at(vn, fp, fmt.Sprintf("must be >= 0, got %s", vn.Value))
				ok = false
				continue
			}
			switch p.key {
			case "value":
				out.Value = v
			case "min":
				out.Min = v
			case "max":
				out.Max = v
			case "median":
				out.Median = v
			case "sigma":
				out.Sigma = v
			case "mean":
				out.Mean = v
			case "step":
				out.Step = v
			}
		}
	}
	if !ok {
		return
	}
	// Required parameters and their relations.
	need := func(keys ...string) bool {
		var missing []string
		for _, k := range keys {
			if has[k] == nil {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			dc.c.at(n, path, fmt.Sprintf("dist %s needs %s", kindName, strings.Join(missing, " and ")))
			return false
		}
		return true
	}
	bad := func(key, msg string) {
		dc.c.at(has[key], path+"."+key, msg)
		ok = false
	}
	switch out.Kind {
	case DistFixed:
		if !need("value") {
			return
		}
	case DistUniform:
		if !need("min", "max") {
			return
		}
		if out.Max < out.Min {
			bad("max", fmt.Sprintf("max %s must be >= min %s", show(out.Max), show(out.Min)))
		}
	case DistLogUniform:
		if !need("min", "max") {
			return
		}
		if out.Min <= 0 {
			bad("min", fmt.Sprintf("min %s must be > 0 for a loguniform", show(out.Min)))
		} else if out.Max < out.Min {
			bad("max", fmt.Sprintf("max %s must be >= min %s", show(out.Max), show(out.Min)))
		}
	case DistLogNormal:
		if !need("median", "sigma") {
			return
		}
		if out.Median <= 0 {
			bad("median", fmt.Sprintf("median %s must be > 0", show(out.Median)))
		}
		if out.Sigma > 10 {
			bad("sigma", fmt.Sprintf("sigma %g must be <= 10", out.Sigma))
		}
	case DistExponential:
		if !need("mean") {
			return
		}
		if out.Mean <= 0 {
			bad("mean", fmt.Sprintf("mean %s must be > 0", show(out.Mean)))
		}
	case DistChoice:
		if !need("values") {
			return
		}
		if has["weights"] != nil {
			if len(out.Weights) != len(out.Values) {
				bad("weights", fmt.Sprintf("%d weights for %d values; give one weight per value", len(out.Weights), len(out.Values)))
			} else {
				total := 0.0
				for _, w := range out.Weights {
					total += w
				}
				if total <= 0 {
					bad("weights", "weights must not all be 0")
				}
			}
		}
	}
	if (out.Kind == DistLogNormal || out.Kind == DistExponential) && has["max"] != nil && has["min"] != nil && out.Max < out.Min {
		bad("max", fmt.Sprintf("max %s must be >= min %s", show(out.Max), show(out.Min)))
	}
	if (out.Kind == DistLogNormal || out.Kind == DistExponential) && has["max"] != nil && out.Max == 0 {
		bad("max", "max must be > 0 (leave it out for no upper clamp)")
	}
	if ok {
		*d = out
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// node builds the file syntax of d, writing values with val.
func (d Dist) node(val func(float64) *yaml.Node) *yaml.Node {
	if d.Kind == DistFixed {
		return val(d.Value)
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	add := func(k string, v *yaml.Node) {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, v)
	}
	add("dist", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: d.Kind.String()})
	list := func(vs []float64, f func(float64) *yaml.Node) *yaml.Node {
		s := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, v := range vs {
			s.Content = append(s.Content, f(v))
		}
		return s
	}
	switch d.Kind {
	case DistUniform, DistLogUniform:
		add("min", val(d.Min))
		add("max", val(d.Max))
	case DistLogNormal:
		add("median", val(d.Median))
		add("sigma", floatNode(d.Sigma))
	case DistExponential:
		add("mean", val(d.Mean))
	case DistChoice:
		add("values", list(d.Values, val))
		if len(d.Weights) > 0 {
			add("weights", list(d.Weights, floatNode))
		}
	}
	if d.Kind == DistLogNormal || d.Kind == DistExponential {
		if d.Min > 0 {
			add("min", val(d.Min))
		}
		if d.Max > 0 {
			add("max", val(d.Max))
		}
	}
	if d.Step > 0 {
		add("step", val(d.Step))
	}
	return m
}

func floatNode(v float64) *yaml.Node {
	tag := "!!float"
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		tag = "!!int"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: formatFloat(v)}
}

func formatFloat(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%g", v)
}

// DurationDist is a distribution of durations: the same syntax as Dist
// with durations ("8h", "30m", "7d") where Dist has numbers (sigma and
// weights stay plain numbers). Its Dist holds seconds.
type DurationDist struct {
	Dist
}

// FixedDuration returns the distribution that is always v.
func FixedDuration(v time.Duration) DurationDist {
	return DurationDist{Fixed(v.Seconds())}
}

// SampleDuration draws one duration (rounded to the millisecond).
func (d DurationDist) SampleDuration(r *rand.Rand) time.Duration {
	return secondsToDuration(d.Sample(r))
}

// MeanDuration is the expected duration (see Dist.MeanValue).
func (d DurationDist) MeanDuration() time.Duration { return secondsToDuration(d.MeanValue()) }

func secondsToDuration(s float64) time.Duration {
	return time.Duration(math.Round(s*1000)) * time.Millisecond
}

// String formats d with durations, e.g. "uniform(6h..1d)".
func (d DurationDist) String() string {
	return d.format(func(v float64) string { return formatDuration(secondsToDuration(v)) })
}

func (d *DurationDist) decodeYAML(dc *decoder, n *yaml.Node, path string) {
	num := func(n *yaml.Node, p string) (float64, bool) {
		if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			if n != nil {
				dc.typeErr(n, p, "a duration such as 30m or 8h")
			}
			return 0, false
		}
		v, err := ParseDuration(n.Value)
		if err != nil {
			dc.c.at(n, p, err.Error())
			return 0, false
		}
		return v.Seconds(), true
	}
	decodeDist(dc, n, path, &d.Dist, num, func(v float64) string { return formatDuration(secondsToDuration(v)) }, "a duration or a distribution such as {dist: uniform, min: 6h, max: 24h}")
}

// MarshalYAML writes d in the file syntax with durations.
func (d DurationDist) MarshalYAML() (any, error) {
	return d.node(func(v float64) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: formatDuration(secondsToDuration(v))}
	}), nil
}
