package agent

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler/server/api"
)

// NodeType is a named node size.
type NodeType struct {
	Name     string
	Capacity nodes.Resources
}

// nodeTypes are the node sizes an agent can simulate. cpu-64 and gpu-8 are
// the standard servers of the synthetic topology (nodes.CPUServer,
// nodes.GPUServer); the smaller ones are edge boxes.
var nodeTypes = []NodeType{
	{"cpu-4", nodes.Resources{CPUMilli: 4_000, MemoryMiB: 16 * 1024}},
	{"cpu-8", nodes.Resources{CPUMilli: 8_000, MemoryMiB: 32 * 1024}},
	{"cpu-16", nodes.Resources{CPUMilli: 16_000, MemoryMiB: 64 * 1024}},
	{"cpu-32", nodes.Resources{CPUMilli: 32_000, MemoryMiB: 128 * 1024}},
	{"cpu-64", nodes.CPUServer},
	{"gpu-2", nodes.Resources{CPUMilli: 16_000, MemoryMiB: 64 * 1024, GPUMilli: 2_000}},
	{"gpu-8", nodes.GPUServer},
}

// NodeTypes lists the node types, smallest first.
func NodeTypes() []NodeType { return append([]NodeType(nil), nodeTypes...) }

// NodeTypeNames lists the node type names.
func NodeTypeNames() []string {
	out := make([]string, len(nodeTypes))
	for i, t := range nodeTypes {
		out[i] = t.Name
	}
	return out
}

// LookupNodeType finds a node type by name.
func LookupNodeType(name string) (NodeType, error) {
	for _, t := range nodeTypes {
		if strings.EqualFold(t.Name, name) {
			return t, nil
		}
	}
	return NodeType{}, fmt.Errorf("unknown node type %q (allowed: %s)", name, strings.Join(NodeTypeNames(), ", "))
}

// Layout is what an agent hosts: sites and the nodes in them, in the
// registration's wire form.
type Layout struct {
	Sites []api.Site
	Nodes []api.NodeSpec
}

// MaxNodes is the most nodes one agent hosts (the server's registration
// limit).
const MaxNodes = 100_000

// SiteLayout is n nodes of one type at one site, named <site>-0 … <site>-(n-1).
func SiteLayout(site api.Site, n int, nodeType string) (Layout, error) {
	if n < 1 || n > MaxNodes {
		return Layout{}, fmt.Errorf("--nodes %d: want 1 to %d", n, MaxNodes)
	}
	nt, err := LookupNodeType(nodeType)
	if err != nil {
		return Layout{}, fmt.Errorf("--node-type: %w", err)
	}
	l := Layout{Sites: []api.Site{site}, Nodes: make([]api.NodeSpec, n)}
	for i := range l.Nodes {
		l.Nodes[i] = api.NodeSpec{ID: fmt.Sprintf("%s-%d", site.ID, i), Site: site.ID, Type: nt.Name, Capacity: nt.Capacity}
	}
	return l, l.Validate()
}

// SyntheticLayout is the synthetic 1+3+N+X province of nodes.Synthetic:
// 28 sites (2 core, 5 cluster, 5 industry, 16 edge) and n nodes in total.
func SyntheticLayout(n int) (Layout, error) {
	if n < 1 || n > MaxNodes {
		return Layout{}, fmt.Errorf("synthetic layout of %d nodes: want 1 to %d", n, MaxNodes)
	}
	return FromTopology(nodes.Synthetic(n))
}

// FromTopology converts a topology (a simulator's or a scenario's) into a
// layout.
func FromTopology(t nodes.Topology) (Layout, error) {
	var l Layout
	for _, s := range t.Sites {
		l.Sites = append(l.Sites, api.Site{ID: s.ID, City: s.City, Role: s.Role.String(), Tier: s.Tier.String(), PUE: s.PUE, Lat: s.Lat, Lon: s.Lon})
	}
	l.Nodes = make([]api.NodeSpec, 0, len(t.Nodes))
	for i, n := range t.Nodes {
		if n.Site < 0 || n.Site >= len(t.Sites) {
			return Layout{}, fmt.Errorf("topology node %d (%s): site index %d out of range", i, n.ID, n.Site)
		}
		l.Nodes = append(l.Nodes, api.NodeSpec{ID: n.ID, Site: t.Sites[n.Site].ID, Type: n.Type, Capacity: n.Capacity})
	}
	return l, l.Validate()
}

// Validate checks the layout as the server would: valid sites and nodes,
// no duplicates, every node at a listed site.
func (l Layout) Validate() error {
	if len(l.Nodes) == 0 {
		return errors.New("layout: no nodes")
	}
	if len(l.Nodes) > MaxNodes {
		return fmt.Errorf("layout: %d nodes, at most %d per agent", len(l.Nodes), MaxNodes)
	}
	req := api.RegisterRequest{AgentID: "layout", Sites: l.Sites, Nodes: l.Nodes}
	if e := req.Validate(nil); e != nil {
		return fmt.Errorf("layout: %s: %s", e.Field, e.Message)
	}
	return nil
}

// Shard returns the i-th of n shares of the layout (0 ≤ i < n): the nodes
// are dealt out per site in turn (node k of a site goes to agent k mod n,
// offset by the site's index so small sites spread too), and each share
// keeps only the sites it has nodes at. Shards of one layout are disjoint
// and cover it.
func (l Layout) Shard(i, n int) (Layout, error) {
	if n < 1 || i < 0 || i >= n {
		return Layout{}, fmt.Errorf("shard %d/%d: want 0 <= index < count", i, n)
	}
	if n == 1 {
		return l, nil
	}
	siteOrd := make(map[string]int, len(l.Sites))
	for k, s := range l.Sites {
		siteOrd[s.ID] = k
	}
	seen := make(map[string]int, len(l.Sites))
	used := make(map[string]bool)
	var out Layout
	for _, nd := range l.Nodes {
		k := seen[nd.Site]
		seen[nd.Site] = k + 1
		if (k+siteOrd[nd.Site])%n != i {
			continue
		}
		out.Nodes = append(out.Nodes, nd)
		used[nd.Site] = true
	}
	for _, s := range l.Sites {
		if used[s.ID] {
			out.Sites = append(out.Sites, s)
		}
	}
	if len(out.Nodes) == 0 {
		return Layout{}, fmt.Errorf("shard %d/%d of %d nodes is empty", i, n, len(l.Nodes))
	}
	return out, nil
}

// Summary is what the gossip metadata tells about a layout: site IDs,
// tiers, node count and total capacity.
func (l Layout) Summary() (sites, tiers []string, total nodes.Resources) {
	tierSet := map[string]bool{}
	for _, s := range l.Sites {
		sites = append(sites, s.ID)
		t := s.Tier
		if t == "" {
			if r, err := nodes.ParseRole(s.Role); err == nil {
				t = r.Tier().String()
			}
		}
		if t != "" {
			tierSet[t] = true
		}
	}
	for t := range tierSet {
		tiers = append(tiers, t)
	}
	sort.Strings(tiers)
	for _, n := range l.Nodes {
		total = total.Add(n.Capacity)
	}
	return sites, tiers, total
}
