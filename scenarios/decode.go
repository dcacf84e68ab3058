package scenarios

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// The decoder walks a yaml.Node tree into the config structs by
// reflection. Unlike yaml.v3's own decoder it knows the field path of
// every value, keeps going after an error (so one load reports every
// problem with its position), rejects unknown fields, duplicate keys and
// wrongly typed scalars, and records where every value came from
// (collector.pos), which validation uses to place its errors.

// nodeDecoder is implemented by types with their own YAML shapes
// (durations, distributions, unions such as "pue: 1.25 | {design: 1.25}",
// mappings decoded into ordered slices).
type nodeDecoder interface {
	decodeYAML(d *decoder, n *yaml.Node, path string)
}

// defaulter fills defaults into a freshly created value before the keys
// present in the file are decoded over them.
type defaulter interface {
	setDefaults()
}

// pathSetter remembers the field path a value was decoded at, so that
// validation reports errors under the same path.
type pathSetter interface {
	setPath(p string)
}

// Limits that keep a hostile file from exhausting memory or the stack:
// maxNodes bounds the nodes one decode visits (which defeats alias bombs),
// maxDepth bounds nesting and alias chains.
const (
	maxNodes = 1 << 20
	maxDepth = 64
)

type decoder struct {
	c      *collector
	budget int
	depth  int
	over   bool
}

func newDecoder(c *collector) *decoder { return &decoder{c: c, budget: maxNodes} }

// kindName describes a node for "expected X, got Y" messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!int", "!!float":
			return "number " + clip(n.Value)
		case "!!bool":
			return "boolean " + n.Value
		case "!!str":
			return "string " + strconv.Quote(clip(n.Value))
		default:
			return fmt.Sprintf("%s %q", n.Tag, clip(n.Value))
		}
	}
	return "an unexpected node"
}

// maxEcho is how many characters of an offending value an error repeats.
const maxEcho = 60

// clip shortens a value quoted in an error message to maxEcho characters
// and says how long it was: a whole file read as one string is not
// repeated back.
func clip(v string) string {
	r := []rune(v)
	if len(r) <= maxEcho {
		return v
	}
	return fmt.Sprintf("%s… (%d characters)", string(r[:maxEcho]), len(r))
}

func (d *decoder) typeErr(n *yaml.Node, path, want string) {
	d.c.at(n, path, fmt.Sprintf("expected %s, got %s", want, kindName(n)))
}

// resolve follows aliases.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > maxDepth {
			return nil
		}
		n = n.Alias
	}
	return n
}

// enter charges one node against the budgets; false means stop.
func (d *decoder) enter(n *yaml.Node, path string) bool {
	d.budget--
	if d.budget < 0 || d.depth > maxDepth {
		if !d.over {
			d.over = true
			d.c.at(n, path, fmt.Sprintf("document too large or too deeply nested (limits: %d nodes, depth %d, aliases included)", maxNodes, maxDepth))
		}
		return false
	}
	return true
}

// pair is one key and value of a mapping.
type pair struct {
	key   string
	k, v  *yaml.Node
	merge bool // came from a << merge
}

// pairs lists a mapping's entries with merge keys ("<<: *base") expanded
// (explicit keys win over merged ones) and reports non-scalar and
// duplicate keys.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	var out []pair
	index := map[string]int{}
	var merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
			d.c.at(k, path, fmt.Sprintf("mapping keys must be plain names, got %s", kindName(k)))
			continue
		}
		if k.Tag == "!!merge" || (k.Value == "<<" && k.Style == 0 && k.Tag != "!!str") {
			merged = append(merged, d.mergePairs(v, path)...)
			continue
		}
		if j, dup := index[k.Value]; dup {
			d.c.at(k, joinPath(path, k.Value), fmt.Sprintf("duplicate key %q (first at line %d)", k.Value, out[j].k.Line))
			continue
		}
		index[k.Value] = len(out)
		out = append(out, pair{key: k.Value, k: k, v: v})
	}
	for _, p := range merged {
		if _, ok := index[p.key]; ok {
			continue
		}
		index[p.key] = len(out)
		out = append(out, p)
	}
	return out
}

func (d *decoder) mergePairs(v *yaml.Node, path string) []pair {
	v = d.resolve(v)
	if v == nil || !d.enter(v, path) {
		return nil
	}
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxDepth {
		d.enter(v, path)
		return nil
	}
	switch v.Kind {
	case yaml.MappingNode:
		ps := d.pairs(v, path)
		for i := range ps {
			ps[i].merge = true
		}
		return ps
	case yaml.SequenceNode:
		var out []pair
		seen := map[string]bool{}
		for _, e := range v.Content {
			for _, p := range d.mergePairs(e, path) {
				if !seen[p.key] {
					seen[p.key] = true
					out = append(out, p)
				}
			}
		}
		return out
	}
	d.c.at(v, path, "a merge (<<) needs a mapping or a list of mappings")
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldInfo is one settable field of a struct, by YAML name.
type fieldInfo struct {
	name  string
	index []int
	keys  []string // for slices of structs: keys naming elements in paths
}

type structInfo struct {
	fields []fieldInfo
	byName map[string]int
	names  []string
}

var structCache sync.Map // reflect.Type -> *structInfo

func getStructInfo(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byName: map[string]int{}}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("yaml")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), prefix...), i)
			if strings.Contains(opts, "inline") {
				walk(f.Type, idx)
				continue
			}
			if !f.IsExported() || name == "" {
				continue
			}
			fi := fieldInfo{name: name, index: idx}
			if k := f.Tag.Get("key"); k != "" {
				fi.keys = strings.Split(k, ",")
			}
			si.byName[name] = len(si.fields)
			si.fields = append(si.fields, fi)
			si.names = append(si.names, name)
		}
	}
	walk(t, nil)
	structCache.Store(t, si)
	return si
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	textUnmarshalType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decode decodes n into v (addressable) at path. keys names the fields
// that identify elements when v is a slice of structs.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, keys []string) {
	orig := n
	n = d.resolve(n)
	if n == nil {
		d.c.at(orig, path, "alias chain too long")
		return
	}
	if !d.enter(orig, path) {
		return
	}
	d.depth++
	defer func() { d.depth-- }()
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		// null is "not given": the default stays.
		d.c.nulls[path] = orig
		if v.Kind() == reflect.Pointer {
			v.Set(reflect.Zero(v.Type()))
		}
		return
	}
	d.c.pos[path] = orig
	if n != orig {
		// A value reached through an alias: keep the use site for the
		// value itself; its insides point at the anchor.
		d.c.pos[path] = orig
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			nv := reflect.New(v.Type().Elem())
			if df, ok := nv.Interface().(defaulter); ok {
				df.setDefaults()
			}
			v.Set(nv)
		}
		d.decode(n, v.Elem(), path, keys)
		return
	}
	if v.CanAddr() {
		a := v.Addr()
		if nd, ok := a.Interface().(nodeDecoder); ok {
			nd.decodeYAML(d, n, path)
			return
		}
		if ps, ok := a.Interface().(pathSetter); ok {
			ps.setPath(path)
		}
		if v.Type() == timeType {
			if n.Kind != yaml.ScalarNode {
				d.typeErr(n, path, "an RFC 3339 time such as 2025-04-07T00:00:00+08:00")
				return
			}
			t, err := parseTime(n.Value)
			if err != nil {
				d.c.at(n, path, err.Error())
				return
			}
			v.Set(reflect.ValueOf(t))
			return
		}
		if a.Type().Implements(textUnmarshalType) && v.Kind() != reflect.String {
			if n.Kind != yaml.ScalarNode {
				d.typeErr(n, path, "a name")
				return
			}
			if err := a.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
				d.c.at(n, path, err.Error())
			}
			return
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path, keys)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.typeErr(n, path, "a string")
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.typeErr(n, path, "true or false")
			return
		}
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err != nil {
			d.typeErr(n, path, "true or false")
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.typeErr(n, path, "an integer")
			return
		}
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil || v.OverflowInt(i) {
			d.c.at(n, path, fmt.Sprintf("integer %s out of range", clip(n.Value)))
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.typeErr(n, path, "a non-negative integer")
			return
		}
		if strings.HasPrefix(n.Value, "-") {
			d.c.at(n, path, fmt.Sprintf("must be >= 0, got %s", clip(n.Value)))
			return
		}
		u, err := strconv.ParseUint(strings.TrimPrefix(n.Value, "+"), 0, 64)
		if err != nil || v.OverflowUint(u) {
			d.c.at(n, path, fmt.Sprintf("integer %s out of range", clip(n.Value)))
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, ok := d.float(n, path)
		if ok {
			v.SetFloat(f)
		}
	default:
		d.c.at(n, path, fmt.Sprintf("internal: cannot decode into %s", v.Type()))
	}
}

// float decodes a finite number.
func (d *decoder) float(n *yaml.Node, path string) (float64, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		d.typeErr(n, path, "a number")
		return 0, false
	}
	f, err := parseYAMLFloat(n.Value)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		d.c.at(n, path, fmt.Sprintf("expected a finite number, got %s", clip(n.Value)))
		return 0, false
	}
	return f, true
}

// parseYAMLFloat parses the numbers YAML 1.2 resolves as !!int or !!float.
func parseYAMLFloat(s string) (float64, error) {
	if i, err := strconv.ParseInt(s, 0, 64); err == nil {
		return float64(i), nil
	}
	return strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	si := getStructInfo(v.Type())
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, "a mapping with fields "+strings.Join(si.names, ", "))
		return
	}
	for _, p := range d.pairs(n, path) {
		i, ok := si.byName[p.key]
		if !ok {
			d.unknownField(p.k, joinPath(path, p.key), p.key, si.names)
			continue
		}
		f := si.fields[i]
		d.decode(p.v, v.FieldByIndex(f.index), joinPath(path, p.key), f.keys)
	}
}

// elementKey returns the value of the first of keys present as a plain
// scalar in mapping n, for naming the element in paths.
func (d *decoder) elementKey(n *yaml.Node, keys []string) string {
	n = d.resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return ""
	}
	for _, k := range keys {
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], d.resolve(n.Content[i+1])
			if kn.Value == k && vn != nil && vn.Kind == yaml.ScalarNode && vn.Tag == "!!str" && isPathKey(vn.Value) {
				return vn.Value
			}
		}
	}
	return ""
}

// isPathKey reports whether s can name a list element in a field path
// (sites[jn-core]) without ambiguity.
func isPathKey(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	if _, err := strconv.Atoi(s); err == nil {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')) {
			return false
		}
	}
	return true
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, keys []string) {
	if n.Kind != yaml.SequenceNode {
		d.typeErr(n, path, "a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	used := map[string]bool{}
	for i, e := range n.Content {
		ep := fmt.Sprintf("%s[%d]", path, i)
		if len(keys) > 0 {
			if k := d.elementKey(e, keys); k != "" && !used[k] {
				used[k] = true
				ep = path + "[" + k + "]"
			}
		}
		ev := s.Index(i)
		if df, ok := ev.Addr().Interface().(defaulter); ok {
			df.setDefaults()
		}
		d.decode(e, ev, ep, nil)
	}
	v.Set(s)
}

// scalarList decodes "name" or "[a, b]" into a list of strings; "all"
// (alone) sets all.
func (d *decoder) scalarList(n *yaml.Node, path string, allowAll bool) (list []string, all bool, ok bool) {
	n = d.resolve(n)
	if n == nil {
		return nil, false, false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, false, true
		}
		if allowAll && n.Value == "all" {
			return nil, true, true
		}
		return []string{n.Value}, false, true
	case yaml.SequenceNode:
		for i, e := range n.Content {
			e = d.resolve(e)
			ep := fmt.Sprintf("%s[%d]", path, i)
			if e == nil || e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
				if e != nil {
					d.typeErr(e, ep, "a name")
				}
				return nil, false, false
			}
			d.c.pos[ep] = e
			list = append(list, e.Value)
		}
		return list, false, true
	}
	if allowAll {
		d.typeErr(n, path, "all or a list of names")
	} else {
		d.typeErr(n, path, "a list of names")
	}
	return nil, false, false
}

// unknownField reports an unknown field, suggesting the closest allowed
// name when it is a likely typo.
func (d *decoder) unknownField(k *yaml.Node, path, key string, allowed []string) {
	msg := fmt.Sprintf("unknown field %q", key)
	if s := closest(key, allowed); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	d.c.at(k, path, msg, allowed...)
}

// closest returns the candidate within edit distance 2 of s (the
// nearest, first on ties), or "".
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if dist := editDistance(s, c, bestD); dist < bestD {
			best, bestD = c, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it
// is at least limit.
func editDistance(a, b string, limit int) int {
	if len(a) > 64 || len(b) > 64 {
		return limit
	}
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}
