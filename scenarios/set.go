package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ApplySet applies one override "path=value" to a parsed scenario tree
// (a document node or its top-level mapping), before decoding, so that the
// result is validated like the file itself.
//
// The path is a dotted list of field names; a list element is selected by
// index or by its id (sites by id, events by name, workloads by name or
// class, site groups by id_prefix):
//
//	horizon=3d
//	sites[jn-core].battery.mwh=20
//	sites[0].pue=1.2
//	node_types.gpu-8.power.peak_w=7000
//	workloads[ai-train].arrivals.rate_per_hour=2
//	policies=[balanced, greenest]
//	grid.tariff={table: flat}
//
// The value is YAML (a scalar, or a flow list or mapping). Missing
// mapping fields on the way are created; list elements must exist.
func ApplySet(root *yaml.Node, set string) error {
	return applySet(root, set, nil)
}

// maxCopyNodes bounds the nodes an override may copy out of an alias.
const maxCopyNodes = 100_000

// applySet applies set; nodes it creates are recorded in setOf (if
// non-nil) so errors in them name the override.
func applySet(root *yaml.Node, set string, setOf map[*yaml.Node]string) error {
	pathStr, valStr, ok := strings.Cut(set, "=")
	pathStr = strings.TrimSpace(pathStr)
	if !ok || pathStr == "" {
		return fmt.Errorf("want path=value, e.g. sites[jn-core].battery.mwh=20")
	}
	segs, err := parseSetPath(pathStr)
	if err != nil {
		return err
	}
	var val yaml.Node
	if err := yaml.Unmarshal([]byte(valStr), &val); err != nil {
		return fmt.Errorf("value %q is not valid YAML: %v", valStr, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var v *yaml.Node
	if val.Kind == yaml.DocumentNode && len(val.Content) == 1 {
		v = val.Content[0]
	} else {
		v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: ""}
	}
	mark := func(n *yaml.Node) {}
	if setOf != nil {
		var walk func(n *yaml.Node, depth int)
		walk = func(n *yaml.Node, depth int) {
			if n == nil || depth > maxDepth {
				return
			}
			setOf[n] = set
			for _, c := range n.Content {
				walk(c, depth+1)
			}
		}
		mark = func(n *yaml.Node) { walk(n, 0) }
	}
	mark(v)
	cur := root
	if cur.Kind == yaml.DocumentNode {
		if len(cur.Content) != 1 {
			return fmt.Errorf("empty document")
		}
		cur = cur.Content[0]
	}
	top := cur
	done := ""
	for i, sg := range segs {
		last := i == len(segs)-1
		here := done + sg.text(done == "")
		if sg.key != "" {
			if cur.Kind != yaml.MappingNode {
				return fmt.Errorf("%s is %s, not a mapping with field %q", orTop(done), kindName(cur), sg.key)
			}
			vi, err := mappingValue(cur, sg.key)
			if err != nil {
				return fmt.Errorf("%s: %v", here, err)
			}
			if vi < 0 {
				k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: sg.key}
				var nv *yaml.Node
				if last {
					nv = v
				} else if segs[i+1].key != "" {
					nv = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				} else {
					return fmt.Errorf("%s does not exist, so it has no element %s", here, segs[i+1].text(false))
				}
				mark(k)
				mark(nv)
				cur.Content = append(cur.Content, k, nv)
				cur = nv
				done = here
				continue
			}
			if last {
				cur.Content[vi] = v
				return nil
			}
			cur = cur.Content[vi]
		} else {
			if cur.Kind != yaml.SequenceNode {
				return fmt.Errorf("%s is %s, not a list", orTop(done), kindName(cur))
			}
			idx, err := selectElement(cur, sg)
			if err != nil && done == "events" && sg.index < 0 {
				// an unnamed event, by its default name
				idx, err = selectDefaultEvent(top, cur, sg.id)
			}
			if err != nil {
				return fmt.Errorf("%s: %v", here, err)
			}
			if err := unalias(cur, idx); err != nil {
				return fmt.Errorf("%s: %v", here, err)
			}
			if last {
				cur.Content[idx] = v
				return nil
			}
			cur = cur.Content[idx]
		}
		done = here
	}
	return nil
}

func orTop(p string) string {
	if p == "" {
		return "the top level"
	}
	return p
}

// setSeg is one path segment: a field name or a list selector.
type setSeg struct {
	key   string // field name, or "" for a selector
	index int    // selector by index (>= 0), or -1
	id    string // selector by id
}

func (s setSeg) text(first bool) string {
	switch {
	case s.key != "" && first:
		return s.key
	case s.key != "":
		return "." + s.key
	case s.index >= 0:
		return "[" + strconv.Itoa(s.index) + "]"
	}
	return "[" + s.id + "]"
}

func parseSetPath(p string) ([]setSeg, error) {
	var out []setSeg
	rest := p
	bad := func(why string) ([]setSeg, error) {
		return nil, fmt.Errorf("invalid path %q: %s (e.g. sites[jn-core].battery.mwh)", p, why)
	}
	expectKey := true
	for rest != "" {
		switch {
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return bad("unclosed [")
			}
			sel := strings.TrimSpace(rest[1:end])
			if sel == "" {
				return bad("empty []")
			}
			if n, err := strconv.Atoi(sel); err == nil {
				if n < 0 {
					return bad("negative index")
				}
				out = append(out, setSeg{index: n})
			} else {
				out = append(out, setSeg{index: -1, id: sel})
			}
			rest = rest[end+1:]
			expectKey = false
			if rest != "" && rest[0] != '[' && rest[0] != '.' {
				return bad("expected . or [ after ]")
			}
		case rest[0] == '.':
			if expectKey {
				return bad("empty field name")
			}
			rest = rest[1:]
			expectKey = true
			if rest == "" {
				return bad("ends with .")
			}
		default:
			if !expectKey {
				return bad("expected . before a field name")
			}
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			key := strings.TrimSpace(rest[:end])
			if key == "" {
				return bad("empty field name")
			}
			out = append(out, setSeg{key: key, index: -1})
			rest = rest[end:]
			expectKey = false
		}
	}
	if len(out) == 0 || out[0].key == "" {
		return bad("must start with a field name")
	}
	return out, nil
}

// mappingValue returns the index in m.Content of key's value, or -1. A
// key only present through a merge (<<) is copied into m first, so that
// changing it does not change the merged mapping.
func mappingValue(m *yaml.Node, key string) (int, error) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i].Tag != "!!merge" {
			return i + 1, unalias(m, i+1)
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Tag != "!!merge" && k.Value != "<<" {
			continue
		}
		srcs := []*yaml.Node{resolveAlias(m.Content[i+1])}
		if srcs[0] != nil && srcs[0].Kind == yaml.SequenceNode {
			srcs = nil
			for _, e := range resolveAlias(m.Content[i+1]).Content {
				srcs = append(srcs, resolveAlias(e))
			}
		}
		for _, src := range srcs {
			if src == nil || src.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(src.Content); j += 2 {
				if src.Content[j].Value == key {
					budget := maxCopyNodes
					cp, err := deepCopy(src.Content[j+1], &budget, 0)
					if err != nil {
						return -1, err
					}
					m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, cp)
					return len(m.Content) - 1, nil
				}
			}
		}
	}
	return -1, nil
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i <= maxDepth; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// unalias replaces an alias at parent.Content[i] by a copy of its target.
func unalias(parent *yaml.Node, i int) error {
	if parent.Content[i].Kind != yaml.AliasNode {
		return nil
	}
	budget := maxCopyNodes
	cp, err := deepCopy(parent.Content[i], &budget, 0)
	if err != nil {
		return err
	}
	parent.Content[i] = cp
	return nil
}

func deepCopy(n *yaml.Node, budget *int, depth int) (*yaml.Node, error) {
	n = resolveAlias(n)
	if n == nil || depth > maxDepth {
		return nil, fmt.Errorf("alias too deep to override")
	}
	*budget--
	if *budget < 0 {
		return nil, fmt.Errorf("aliased value too large to override")
	}
	cp := *n
	cp.Anchor = ""
	cp.Content = make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		var err error
		if cp.Content[i], err = deepCopy(c, budget, depth+1); err != nil {
			return nil, err
		}
	}
	return &cp, nil
}

// elementKeys are the fields that identify list elements.
var elementKeys = []string{"id", "name", "class", "id_prefix"}

func selectElement(seq *yaml.Node, sg setSeg) (int, error) {
	if sg.index >= 0 {
		if sg.index >= len(seq.Content) {
			return 0, fmt.Errorf("index %d out of range (the list has %d elements)", sg.index, len(seq.Content))
		}
		return sg.index, nil
	}
	var ids []string
	for _, key := range elementKeys {
		for i, e := range seq.Content {
			e = resolveAlias(e)
			if e == nil || e.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(e.Content); j += 2 {
				if e.Content[j].Value != key {
					continue
				}
				val := resolveAlias(e.Content[j+1])
				if val == nil || val.Kind != yaml.ScalarNode {
					continue
				}
				if val.Value == sg.id {
					return i, nil
				}
				if !contains(ids, val.Value) {
					ids = append(ids, val.Value)
				}
			}
		}
	}
	if len(ids) == 0 {
		return 0, fmt.Errorf("no element with id %q (select by index: the list has %d elements)", sg.id, len(seq.Content))
	}
	return 0, fmt.Errorf("no element with id %q (allowed: %s)", sg.id, strings.Join(ids, ", "))
}

// selectDefaultEvent finds the event named id in the events list seq of
// the top-level mapping top, naming unnamed events as loading will
// (eventNames) from the tree as it stands: their kind, and their at as a
// duration or an RFC 3339 time less the start (the file's, or the
// default).
func selectDefaultEvent(top, seq *yaml.Node, id string) (int, error) {
	start := newScenario().Start
	if i, _ := mappingValue(top, "start"); i >= 0 {
		if n := resolveAlias(top.Content[i]); n != nil && n.Kind == yaml.ScalarNode {
			if t, err := parseTime(n.Value); err == nil {
				start = t
			}
		}
	}
	field := func(e *yaml.Node, key string) string {
		e = resolveAlias(e)
		if e == nil || e.Kind != yaml.MappingNode {
			return ""
		}
		for j := 0; j+1 < len(e.Content); j += 2 {
			if e.Content[j].Value == key {
				if v := resolveAlias(e.Content[j+1]); v != nil && v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
					return v.Value
				}
			}
		}
		return ""
	}
	given := make([]string, len(seq.Content))
	for i, e := range seq.Content {
		given[i] = field(e, "name")
	}
	names := eventNames(given, func(i int) (EventKind, time.Duration, bool) {
		var k EventKind
		if err := k.UnmarshalText([]byte(field(seq.Content[i], "kind"))); err != nil {
			return 0, 0, false
		}
		at := field(seq.Content[i], "at")
		if strings.ContainsAny(at, "T:") && len(at) >= 10 { // as Offset decodes it
			t, err := parseTime(at)
			return k, t.Sub(start), err == nil && !t.Before(start)
		}
		d, err := ParseDuration(at)
		return k, d, err == nil
	})
	for i, n := range names {
		if n == id {
			return i, nil
		}
	}
	var all []string
	for _, n := range names {
		if n != "" {
			all = append(all, n)
		}
	}
	if len(all) == 0 {
		return 0, fmt.Errorf("no event named %q (select by index: the list has %d elements)", id, len(seq.Content))
	}
	return 0, fmt.Errorf("no event named %q (allowed: %s)", id, strings.Join(all, ", "))
}
