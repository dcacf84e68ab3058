package scenarios

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/suanli/suanli/scheduler/external"
)

// DefaultExternalTimeout is an external policy's timeout when its entry
// gives none: external.DefaultTimeout, the --external-timeout default.
const DefaultExternalTimeout = Duration(external.DefaultTimeout)

// maxExternalTimeout bounds an external policy's timeout.
const maxExternalTimeout = time.Hour

// ExternalPolicy is one entry of the external_policies block: a placement
// algorithm run as a child process speaking the JSON-lines protocol of
// docs/external-policy.md, which policies (and the command line) name as
// "external:NAME". Loading never runs the command; a run starts it only
// when the policy is among the policies run.
type ExternalPolicy struct {
	// Name is NAME in external:NAME (the mapping's key).
	Name string `yaml:"-"`
	// Command is the program and its arguments. The child runs in the
	// scenario file's directory (Scenario.Dir): relative paths among
	// them, a program given with a '/' included, are relative to it; a
	// program name without a '/' is looked up in PATH.
	Command []string `yaml:"command,flow"`
	// Options are handed to the child in its hello (a JSON object).
	Options ExternalOptions `yaml:"options,omitempty"`
	// Timeout is how long the child may take to answer one decision
	// (default 10s, at most 1h).
	Timeout Duration `yaml:"timeout"`
}

// ExternalPolicies is the ordered external_policies mapping.
type ExternalPolicies []ExternalPolicy

// Lookup returns the external policy called name.
func (ps ExternalPolicies) Lookup(name string) (*ExternalPolicy, bool) {
	for i := range ps {
		if ps[i].Name == name {
			return &ps[i], true
		}
	}
	return nil, false
}

// PolicyNames lists "external:NAME" for every entry, in order.
func (ps ExternalPolicies) PolicyNames() []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = external.Prefix + p.Name
	}
	return out
}

// Spec is the entry as the simulator starts it: dir is the scenario's
// directory (Scenario.Dir), the child's working directory.
func (p *ExternalPolicy) Spec(dir string) external.Spec {
	var opts map[string]any
	if p.Options != nil {
		opts = map[string]any(p.Options)
	}
	if dir == "" {
		dir = "."
	}
	return external.Spec{Command: append([]string(nil), p.Command...), Dir: filepath.Clean(dir), Timeout: p.Timeout.D(), Options: opts}
}

func (ps *ExternalPolicies) decodeYAML(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, "a mapping of external policy names to {command, options, timeout}")
		return
	}
	var out ExternalPolicies
	for _, p := range d.pairs(n, path) {
		kp := path + "." + p.key
		if !external.ValidName(p.key) {
			d.c.at(p.k, kp, fmt.Sprintf("invalid external policy name %q: use %s", p.key, external.NameRule))
			continue
		}
		e := ExternalPolicy{Name: p.key, Timeout: DefaultExternalTimeout}
		d.decode(p.v, reflect.ValueOf(&e).Elem(), kp, nil)
		out = append(out, e)
	}
	*ps = out
}

// MarshalYAML writes the external policies as a mapping in order.
func (ps ExternalPolicies) MarshalYAML() (any, error) {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for i := range ps {
		v := &yaml.Node{}
		if err := v.Encode(ps[i]); err != nil {
			return nil, err
		}
		m.Content = append(m.Content, strNode(ps[i].Name), v)
	}
	return m, nil
}

// ExternalOptions is an external policy's options: a mapping of any
// values JSON can hold (mappings, lists, strings, numbers, booleans,
// null), handed to the child as a JSON object.
type ExternalOptions map[string]any

func (o *ExternalOptions) decodeYAML(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.typeErr(n, path, "a mapping (a JSON object, e.g. {threshold: 0.2})")
		return
	}
	v, ok := d.jsonValue(n, path)
	if !ok {
		return
	}
	*o = ExternalOptions(v.(map[string]any))
}

// jsonValue converts a YAML value into what encoding/json writes as the
// same value: map[string]any, []any, string, int64, float64, bool, nil.
func (d *decoder) jsonValue(orig *yaml.Node, path string) (any, bool) {
	n := d.resolve(orig)
	if n == nil {
		d.c.at(orig, path, "alias chain too long")
		return nil, false
	}
	if !d.enter(orig, path) {
		return nil, false
	}
	d.depth++
	defer func() { d.depth-- }()
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		ok := true
		for _, p := range d.pairs(n, path) {
			v, vok := d.jsonValue(p.v, joinPath(path, p.key))
			ok = ok && vok
			m[p.key] = v
		}
		return m, ok
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		ok := true
		for i, e := range n.Content {
			v, vok := d.jsonValue(e, fmt.Sprintf("%s[%d]", path, i))
			ok = ok && vok
			l = append(l, v)
		}
		return l, ok
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, true
		case "!!bool":
			b, err := strconv.ParseBool(strings.ToLower(n.Value))
			if err != nil {
				d.typeErr(n, path, "true or false")
				return nil, false
			}
			return b, true
		case "!!int":
			if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
				return i, true
			}
			f, ok := d.float(n, path)
			return f, ok
		case "!!float":
			f, ok := d.float(n, path)
			return f, ok
		case "!!str", "!!timestamp":
			// A date stays the text it was written as.
			return n.Value, true
		}
		d.c.at(n, path, fmt.Sprintf("expected a value JSON can hold (a mapping, list, string, number, boolean or null), got %s", kindName(n)))
		return nil, false
	}
	d.c.at(n, path, "expected a value JSON can hold (a mapping, list, string, number, boolean or null)")
	return nil, false
}

// externalPolicies validates the external_policies block.
func (v *validator) externalPolicies() {
	for i := range v.s.ExternalPolicies {
		e := &v.s.ExternalPolicies[i]
		p := "external_policies." + e.Name
		if !v.has(p) {
			// given as null: nothing to run
			v.errf(p, "external policy %s has no definition; give {command: [PROGRAM, ARG...]}", e.Name)
			continue
		}
		if v.required(p + ".command") {
			switch {
			case len(e.Command) == 0:
				v.errf(p+".command", "must list the program and its arguments, e.g. [python3, policy.py]")
			case e.Command[0] == "":
				v.errf(p+".command[0]", "the program must not be empty")
			}
			for k, a := range e.Command {
				if strings.ContainsRune(a, 0) {
					v.errf(fmt.Sprintf("%s.command[%d]", p, k), "contains a NUL byte, which no command line can hold")
				}
			}
		}
		t := e.Timeout.D()
		v.check(t > 0 && t <= maxExternalTimeout, p+".timeout", "%s must be in (0, 1h]", e.Timeout)
	}
}
