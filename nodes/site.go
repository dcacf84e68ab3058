package nodes

import (
	"fmt"
	"strings"
)

// Site is a data-centre site: one building or campus at one city, in one tier.
type Site struct {
	ID   string `json:"id"`
	City string `json:"city"` // city code, e.g. "JN"
	// Lat and Lon are the site's coordinates in degrees (WGS84).
	Lat  float64 `json:"lat"`
	Lon  float64 `json:"lon"`
	Tier Tier    `json:"tier"`
	Role Role    `json:"role"`
	// PUE is the design power usage effectiveness (facility / IT power) at
	// full load; energy models may make it depend on load.
	PUE float64 `json:"pue"`
}

// NodeState is the administrative and health state of a node.
type NodeState uint8

const (
	// NodeUp nodes accept new work.
	NodeUp NodeState = iota
	// NodeDraining nodes keep running work but accept no new work.
	NodeDraining
	// NodeDown nodes run nothing and accept nothing.
	NodeDown
	numNodeStates
)

var nodeStateNames = [numNodeStates]string{"up", "draining", "down"}

// String returns "up", "draining" or "down".
func (s NodeState) String() string {
	if s < numNodeStates {
		return nodeStateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseNodeState parses a node state name.
func ParseNodeState(s string) (NodeState, error) {
	for i, n := range nodeStateNames {
		if strings.EqualFold(s, n) {
			return NodeState(i), nil
		}
	}
	return 0, fmt.Errorf("unknown node state %q (allowed: %s)", s, strings.Join(nodeStateNames[:], ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (s NodeState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *NodeState) UnmarshalText(b []byte) error {
	v, err := ParseNodeState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Node is one server in a site.
type Node struct {
	ID string `json:"id"`
	// Site is the index of the node's site in its Topology.
	Site     int       `json:"site"`
	Type     string    `json:"type,omitempty"` // node type name, e.g. "cpu-64"
	Capacity Resources `json:"capacity"`
	State    NodeState `json:"state"`
}

// Topology is a set of sites and the nodes in them.
type Topology struct {
	Sites []Site
	Nodes []Node
}

// Validate checks ids are unique and non-empty, node sites exist and
// capacities are non-negative.
func (t *Topology) Validate() error {
	seen := make(map[string]bool, len(t.Sites))
	for i, s := range t.Sites {
		if s.ID == "" {
			return fmt.Errorf("site %d: empty id", i)
		}
		if seen[s.ID] {
			return fmt.Errorf("site %d: duplicate id %q", i, s.ID)
		}
		seen[s.ID] = true
		if s.Tier >= NumTiers {
			return fmt.Errorf("site %q: invalid tier %d", s.ID, s.Tier)
		}
		if s.PUE < 1 {
			return fmt.Errorf("site %q: pue %g must be >= 1", s.ID, s.PUE)
		}
	}
	nseen := make(map[string]bool, len(t.Nodes))
	for i, n := range t.Nodes {
		if n.ID == "" {
			return fmt.Errorf("node %d: empty id", i)
		}
		if nseen[n.ID] {
			return fmt.Errorf("node %d: duplicate id %q", i, n.ID)
		}
		nseen[n.ID] = true
		if n.Site < 0 || n.Site >= len(t.Sites) {
			return fmt.Errorf("node %q: site index %d out of range [0,%d)", n.ID, n.Site, len(t.Sites))
		}
		if !n.Capacity.NonNegative() {
			return fmt.Errorf("node %q: negative capacity %v", n.ID, n.Capacity)
		}
	}
	return nil
}

// SiteIndex returns the index of the site with the given id, or -1.
func (t *Topology) SiteIndex(id string) int {
	for i := range t.Sites {
		if t.Sites[i].ID == id {
			return i
		}
	}
	return -1
}
