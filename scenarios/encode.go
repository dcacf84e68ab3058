package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Resolved returns the scenario as a file with every default filled: site
// groups expanded into sites, SPECpower rows replaced by their curves,
// origin city names replaced by codes. Loading the result gives the same
// scenario (and the same resolved file).
func (s *Scenario) Resolved() *Scenario {
	out := *s
	out.SiteGroups = nil
	out.NodeTypes = append(NodeTypes(nil), s.NodeTypes...)
	for i := range out.NodeTypes {
		p := &out.NodeTypes[i].Power
		if p.SpecPower != "" && len(p.CurveW) == 11 {
			p.SpecPower, p.File = "", ""
		}
	}
	return &out
}

// MarshalYAML is not defined on Scenario: yaml.Marshal(s) writes the
// scenario's fields as they are. Use EncodeYAML for the resolved form.

// EncodeYAML writes the resolved scenario (see Resolved) as YAML.
func (s *Scenario) EncodeYAML() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(s.Resolved()); err != nil {
		return nil, fmt.Errorf("encode scenario %s: %w", s.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode scenario %s: %w", s.Name, err)
	}
	return b.Bytes(), nil
}

// EncodeJSON writes the resolved scenario as indented JSON with the same
// field names and order as the YAML form.
func (s *Scenario) EncodeJSON() ([]byte, error) {
	var n yaml.Node
	if err := n.Encode(s.Resolved()); err != nil {
		return nil, fmt.Errorf("encode scenario %s: %w", s.Name, err)
	}
	var b bytes.Buffer
	if err := nodeJSON(&b, &n); err != nil {
		return nil, fmt.Errorf("encode scenario %s: %w", s.Name, err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("encode scenario %s: %w", s.Name, err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// nodeJSON writes a YAML node tree as JSON, keeping mapping order.
func nodeJSON(b *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("empty document")
		}
		return nodeJSON(b, n.Content[0])
	case yaml.AliasNode:
		return nodeJSON(b, n.Alias)
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(n.Content[i].Value)
			b.Write(k)
			b.WriteByte(':')
			if err := nodeJSON(b, n.Content[i+1]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := nodeJSON(b, c); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			b.WriteString("null")
		case "!!bool":
			v, err := strconv.ParseBool(n.Value)
			if err != nil {
				return err
			}
			b.WriteString(strconv.FormatBool(v))
		case "!!int", "!!float":
			f, err := parseYAMLFloat(n.Value)
			if err != nil {
				return err
			}
			v, err := json.Marshal(f)
			if err != nil {
				return err
			}
			b.Write(v)
		default:
			v, _ := json.Marshal(n.Value)
			b.Write(v)
		}
	}
	return nil
}
