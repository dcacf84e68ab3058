package scenarios

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// This file holds a checker for the subset of JSON Schema (draft 2020-12)
// that scenario.schema.json uses, so the schema is tested without a new
// dependency: shipped scenarios must validate, broken ones must not, and
// the schema must name exactly the fields the loader accepts.

const schemaFile = "scenario.schema.json"

type schemaChecker struct {
	root    map[string]any
	regexps map[string]*regexp.Regexp
}

func loadSchema(t testing.TB) *schemaChecker {
	t.Helper()
	raw, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Fatalf("%s is not valid JSON: %v", schemaFile, err)
	}
	if root["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("$schema = %v, want draft 2020-12", root["$schema"])
	}
	return &schemaChecker{root: root, regexps: map[string]*regexp.Regexp{}}
}

var annotationKeywords = map[string]bool{"$schema": true, "$id": true, "$defs": true, "title": true, "description": true, "default": true, "$comment": true}

// check validates v against schema s; it returns the errors and the
// property names it evaluated (for unevaluatedProperties).
func (c *schemaChecker) check(s map[string]any, v any, path string) (errs []string, evaluated map[string]bool) {
	evaluated = map[string]bool{}
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	obj, isObj := v.(map[string]any)
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, kw := range keys {
		arg := s[kw]
		switch kw {
		case "$ref":
			sub, err := c.ref(arg.(string))
			if err != nil {
				fail("%v", err)
				continue
			}
			e, ev := c.check(sub, v, path)
			errs = append(errs, e...)
			for k := range ev {
				evaluated[k] = true
			}
		case "type":
			var types []string
			switch a := arg.(type) {
			case string:
				types = []string{a}
			case []any:
				for _, x := range a {
					types = append(types, x.(string))
				}
			}
			ok := false
			for _, ty := range types {
				ok = ok || hasType(v, ty)
			}
			if !ok {
				fail("is %s, want %s", typeName(v), strings.Join(types, " or "))
			}
		case "enum":
			ok := false
			for _, x := range arg.([]any) {
				ok = ok || jsonEqual(x, v)
			}
			if !ok {
				fail("%v is not one of %v", v, arg)
			}
		case "const":
			if !jsonEqual(arg, v) {
				fail("%v is not %v", v, arg)
			}
		case "pattern":
			if str, ok := v.(string); ok {
				re := c.regexps[arg.(string)]
				if re == nil {
					re = regexp.MustCompile(arg.(string))
					c.regexps[arg.(string)] = re
				}
				if !re.MatchString(str) {
					fail("%q does not match %s", str, arg)
				}
			}
		case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
			x, ok := number(v)
			if !ok {
				continue
			}
			lim := arg.(float64)
			if (kw == "minimum" && x < lim) || (kw == "maximum" && x > lim) || (kw == "exclusiveMinimum" && x <= lim) || (kw == "exclusiveMaximum" && x >= lim) {
				fail("%g violates %s %g", x, kw, lim)
			}
		case "properties":
			if !isObj {
				continue
			}
			for k, sub := range arg.(map[string]any) {
				if x, ok := obj[k]; ok {
					e, _ := c.check(sub.(map[string]any), x, path+"."+k)
					errs = append(errs, e...)
					evaluated[k] = true
				}
			}
		case "additionalProperties":
			if !isObj {
				continue
			}
			props, _ := s["properties"].(map[string]any)
			for k, x := range obj {
				if _, ok := props[k]; ok {
					continue
				}
				evaluated[k] = true
				switch a := arg.(type) {
				case bool:
					if !a {
						fail("unknown property %q", k)
					}
				case map[string]any:
					e, _ := c.check(a, x, path+"."+k)
					errs = append(errs, e...)
				}
			}
		case "unevaluatedProperties":
			// Handled after the other keywords.
		case "propertyNames":
			for k := range obj {
				e, _ := c.check(arg.(map[string]any), k, path+"."+k)
				errs = append(errs, e...)
			}
		case "minProperties":
			if isObj && float64(len(obj)) < arg.(float64) {
				fail("has %d properties, want at least %g", len(obj), arg)
			}
		case "required":
			if !isObj {
				continue
			}
			for _, k := range arg.([]any) {
				if _, ok := obj[k.(string)]; !ok {
					fail("missing required property %q", k)
				}
			}
		case "items":
			if list, ok := v.([]any); ok {
				for i, x := range list {
					e, _ := c.check(arg.(map[string]any), x, fmt.Sprintf("%s[%d]", path, i))
					errs = append(errs, e...)
				}
			}
		case "minItems", "maxItems":
			if list, ok := v.([]any); ok {
				n := float64(len(list))
				if (kw == "minItems" && n < arg.(float64)) || (kw == "maxItems" && n > arg.(float64)) {
					fail("has %d items, violates %s %g", len(list), kw, arg)
				}
			}
		case "oneOf":
			passed := 0
			var why []string
			for i, sub := range arg.([]any) {
				e, ev := c.check(sub.(map[string]any), v, path)
				if len(e) == 0 {
					passed++
					for k := range ev {
						evaluated[k] = true
					}
				} else {
					why = append(why, fmt.Sprintf("[%d] %s", i, e[0]))
				}
			}
			if passed != 1 {
				fail("matches %d of the oneOf alternatives, want 1 (%s)", passed, strings.Join(why, "; "))
			}
		default:
			if !annotationKeywords[kw] {
				fail("schema keyword %q is outside the subset this checker supports", kw)
			}
		}
	}
	if u, ok := s["unevaluatedProperties"]; ok && isObj && u == false {
		for k := range obj {
			if !evaluated[k] {
				fail("unknown property %q", k)
			}
		}
	}
	sort.Strings(errs)
	return errs, evaluated
}

func (c *schemaChecker) ref(r string) (map[string]any, error) {
	name, ok := strings.CutPrefix(r, "#/$defs/")
	if !ok {
		return nil, fmt.Errorf("unsupported $ref %q", r)
	}
	defs, _ := c.root["$defs"].(map[string]any)
	d, ok := defs[name].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("$ref %q does not resolve", r)
	}
	return d, nil
}

func hasType(v any, ty string) bool {
	switch ty {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "number":
		_, ok := number(v)
		return ok
	case "integer":
		x, ok := number(v)
		return ok && x == math.Trunc(x)
	}
	return false
}

func typeName(v any) string {
	for _, ty := range []string{"object", "array", "string", "boolean", "null", "integer", "number"} {
		if hasType(v, ty) {
			return ty
		}
	}
	return fmt.Sprintf("%T", v)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	}
	return 0, false
}

func jsonEqual(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok2 := number(b)
		return ok2 && x == y
	}
	return reflect.DeepEqual(a, b)
}

// yamlValue converts a YAML node to JSON-like values (numbers as int64 or
// float64; timestamps and other scalars as strings).
func yamlValue(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		return yamlValue(n.Content[0])
	case yaml.AliasNode:
		return yamlValue(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = yamlValue(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			l = append(l, yamlValue(c))
		}
		return l
	}
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		b, _ := strconv.ParseBool(n.Value)
		return b
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return i
		}
	case "!!float":
		if f, err := parseYAMLFloat(n.Value); err == nil {
			return f
		}
	}
	return n.Value
}

func checkYAML(t *testing.T, c *schemaChecker, name string, data []byte) []string {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	errs, _ := c.check(c.root, yamlValue(&n), "$")
	return errs
}

func TestSchemaAcceptsValidScenarios(t *testing.T) {
	c := loadSchema(t)
	files := shippedFiles(t)
	more, _ := filepath.Glob("testdata/valid/*.yaml")
	files = append(files, more...)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if errs := checkYAML(t, c, f, raw); len(errs) > 0 {
				t.Errorf("the schema rejects %s:\n%s", f, strings.Join(errs, "\n"))
			}
			// The resolved form (suanli scenario show) validates too.
			s, err := Load(f, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			y, err := s.EncodeYAML()
			if err != nil {
				t.Fatal(err)
			}
			if errs := checkYAML(t, c, f, y); len(errs) > 0 {
				t.Errorf("the schema rejects the resolved form of %s:\n%s", f, strings.Join(errs, "\n"))
			}
		})
	}
}

func TestSchemaRejectsBroken(t *testing.T) {
	c := loadSchema(t)
	for _, tc := range []struct{ file, want string }{
		{"unknown-field.yaml", `unknown property "horizn"`},
		{"unknown-field.yaml", `$.sites[0]: unknown property "batery"`},
		{"wrong-type.yaml", "$.seed: is string, want integer"},
		{"wrong-type.yaml", `$.policies: is string, want array`},
		{"bad-distribution.yaml", "$.workloads[0].cpu_cores: matches 0 of the oneOf alternatives"},
		{"empty-policies.yaml", "$.policies: has 0 items"},
		{"soc.yaml", "$.sites[1].battery.efficiency: 1.2 violates maximum 1"},
		{"bad-duration.yaml", `$.horizon: "7days" does not match`},
		{"tier-role.yaml", `$.sites[0].role: core is not one of`},
		{"shape-factor.yaml", `$.shapes.huge.weekend: 1001 violates maximum 1000`},
		{"shape-factor.yaml", `$.shapes.list.hourly: matches 0 of the oneOf alternatives`},
		{"shape-factor.yaml", `$.events[0].factor: 5000 violates maximum 1000`},
		{"embodied.yaml", `$.node_types.cpu-64.embodied_kg: -1300 violates minimum 0`},
		{"embodied.yaml", `$.sites[0].battery.embodied_kg_per_kwh: 2500 violates maximum 1000`},
		{"scheduler-optimizer.yaml", `$.scheduler.optimizer.recovery_hours: 200 violates maximum 168`},
		{"scheduler-optimizer.yaml", `$.scheduler.optimizer: unknown property "min_share"`},
		{"scheduler-optimizer-types.yaml", `$.scheduler.optimizer.utilization: 1.5 violates maximum 1`},
		{"scheduler-forecast.yaml", `$.scheduler.forecast: unknown property "steps"`},
		{"external-policies.yaml", `$.external_policies.fast.command: has 0 items`},
		{"external-policies.yaml", `$.external_policies.no-command: unknown property "timout"`},
		{"external-policies.yaml", `$.external_policies.scalar-options.options: is integer, want object`},
	} {
		raw, err := os.ReadFile(filepath.Join("testdata/broken", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		errs := checkYAML(t, c, tc.file, raw)
		if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
			t.Errorf("%s: schema errors lack %q:\n%s", tc.file, tc.want, strings.Join(errs, "\n"))
		}
	}
}

// yamlFields lists the yaml field names of a struct type (inline structs
// flattened).
func yamlFields(t reflect.Type) []string {
	var out []string
	for _, f := range getStructInfo(t).fields {
		out = append(out, f.name)
	}
	sort.Strings(out)
	return out
}

// schemaProps lists the properties a schema object accepts, following
// $ref (for the siteSpec composition).
func (c *schemaChecker) schemaProps(t *testing.T, s map[string]any) []string {
	set := map[string]bool{}
	var walk func(s map[string]any)
	walk = func(s map[string]any) {
		if p, ok := s["properties"].(map[string]any); ok {
			for k := range p {
				set[k] = true
			}
		}
		if r, ok := s["$ref"].(string); ok {
			sub, err := c.ref(r)
			if err != nil {
				t.Fatal(err)
			}
			walk(sub)
		}
	}
	walk(s)
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestSchemaCoversFields checks the schema names exactly the fields the
// loader accepts, for every part of the format.
func TestSchemaCoversFields(t *testing.T) {
	c := loadSchema(t)
	def := func(path ...string) map[string]any {
		cur := c.root
		for _, p := range path {
			next, ok := cur[p].(map[string]any)
			if !ok {
				if i, err := strconv.Atoi(p); err == nil {
					next = cur["oneOf"].([]any)[i].(map[string]any)
				} else {
					t.Fatalf("schema has no %v", path)
				}
			}
			cur = next
		}
		return cur
	}
	for _, tc := range []struct {
		typ    reflect.Type
		schema map[string]any
	}{
		{reflect.TypeFor[Scenario](), c.root},
		{reflect.TypeFor[Network](), def("$defs", "network")},
		{reflect.TypeFor[Scheduler](), def("properties", "scheduler")},
		{reflect.TypeFor[ScorerWeights](), def("properties", "scheduler", "properties", "weights")},
		{reflect.TypeFor[Optimizer](), def("properties", "scheduler", "properties", "optimizer")},
		{reflect.TypeFor[Forecast](), def("properties", "scheduler", "properties", "forecast")},
		{reflect.TypeFor[TierBandwidth](), def("$defs", "network", "properties", "bandwidth_gbps")},
		{reflect.TypeFor[Grid](), def("$defs", "grid")},
		{reflect.TypeFor[Tariff](), def("$defs", "grid", "properties", "tariff")},
		{reflect.TypeFor[Series](), def("$defs", "series")},
		{reflect.TypeFor[NodeType](), def("$defs", "nodeType")},
		{reflect.TypeFor[Power](), def("$defs", "power")},
		{reflect.TypeFor[Site](), def("$defs", "site")},
		{reflect.TypeFor[SiteGroup](), def("$defs", "siteGroup")},
		{reflect.TypeFor[PUE](), def("$defs", "pue", "1")},
		{reflect.TypeFor[Solar](), def("$defs", "solar")},
		{reflect.TypeFor[Wind](), def("$defs", "wind")},
		{reflect.TypeFor[Contract](), def("$defs", "contract")},
		{reflect.TypeFor[Battery](), def("$defs", "battery")},
		{reflect.TypeFor[Workload](), def("$defs", "workload")},
		{reflect.TypeFor[Arrivals](), def("$defs", "arrivals")},
		{reflect.TypeFor[Bursts](), def("$defs", "arrivals", "properties", "bursts")},
		{reflect.TypeFor[Trace](), def("$defs", "trace")},
		{reflect.TypeFor[Event](), def("$defs", "event")},
		{reflect.TypeFor[ExternalPolicy](), def("$defs", "externalPolicy")},
	} {
		got := c.schemaProps(t, tc.schema)
		want := yamlFields(tc.typ)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: schema properties %v, loader fields %v", tc.typ.Name(), got, want)
		}
	}
	// Distribution parameters.
	var params []string
	for _, ps := range distParams {
		for _, p := range ps {
			if !contains(params, p) {
				params = append(params, p)
			}
		}
	}
	params = append(params, "dist")
	sort.Strings(params)
	if got := c.schemaProps(t, def("$defs", "dist", "1")); !reflect.DeepEqual(got, params) {
		t.Errorf("dist: schema properties %v, loader parameters %v", got, params)
	}
}
