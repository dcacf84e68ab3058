package nodes

import (
	"fmt"
	"strings"
)

// Tier is the scheduling tier of a site.
//
// The mapping to Shandong's policy structures is:
//   - core: the 2 low-latency core zones (Jinan, Qingdao) and the provincial "1";
//   - cluster: the regional "3" (Yantai, Zaozhuang, Dezhou) and the ~5 cluster zones;
//   - edge: the N industry (sector) nodes and the X enterprise / edge nodes.
type Tier uint8

const (
	TierCore Tier = iota
	TierCluster
	TierEdge
	// NumTiers is the number of tiers; valid tiers are 0..NumTiers-1.
	NumTiers
)

var tierNames = [NumTiers]string{"core", "cluster", "edge"}

// String returns the lower-case name of the tier.
func (t Tier) String() string {
	if t < NumTiers {
		return tierNames[t]
	}
	return fmt.Sprintf("tier(%d)", uint8(t))
}

// TierNames lists the valid tier names in order.
func TierNames() []string { return append([]string(nil), tierNames[:]...) }

// ParseTier parses a tier name (case-insensitive).
func ParseTier(s string) (Tier, error) {
	for i, n := range tierNames {
		if strings.EqualFold(s, n) {
			return Tier(i), nil
		}
	}
	return 0, fmt.Errorf("unknown tier %q (allowed: %s)", s, strings.Join(tierNames[:], ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (t Tier) MarshalText() ([]byte, error) {
	if t >= NumTiers {
		return nil, fmt.Errorf("invalid tier %d", uint8(t))
	}
	return []byte(t.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Tier) UnmarshalText(b []byte) error {
	v, err := ParseTier(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// TierSet is a set of tiers. The zero value is the empty set; callers that
// mean "any tier" use AllTiers.
type TierSet uint8

// AllTiers contains every tier.
const AllTiers TierSet = 1<<NumTiers - 1

// TiersOf builds a set from tiers.
func TiersOf(ts ...Tier) TierSet {
	var s TierSet
	for _, t := range ts {
		s |= 1 << t
	}
	return s
}

// Has reports whether t is in the set.
func (s TierSet) Has(t Tier) bool { return s&(1<<t) != 0 }

// String lists the tiers in the set, comma separated.
func (s TierSet) String() string {
	if s == AllTiers {
		return "any"
	}
	var parts []string
	for t := Tier(0); t < NumTiers; t++ {
		if s.Has(t) {
			parts = append(parts, t.String())
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// Role is a site's place in the policy structures: the "1+3+N+X" industrial
// big-data-centre system and the "2+5+N" data-centre layout.
type Role uint8

const (
	// RoleCoreZone is one of the 2 low-latency data-centre core zones ("2").
	RoleCoreZone Role = iota
	// RoleProvincial is the provincial industrial big-data centre ("1").
	RoleProvincial
	// RoleRegional is one of the 3 regional centres ("3").
	RoleRegional
	// RoleClusterZone is one of the ~5 cluster zones ("5") that is not a regional centre.
	RoleClusterZone
	// RoleIndustry is an industry (sector) node ("N").
	RoleIndustry
	// RoleEdge is an enterprise / edge node ("X").
	RoleEdge
	numRoles
)

var roleNames = [numRoles]string{"core-zone", "provincial", "regional", "cluster-zone", "industry", "edge"}

// String returns the role's name as used in scenario files.
func (r Role) String() string {
	if r < numRoles {
		return roleNames[r]
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// RoleNames lists the valid role names.
func RoleNames() []string { return append([]string(nil), roleNames[:]...) }

// ParseRole parses a role name (case-insensitive).
func ParseRole(s string) (Role, error) {
	for i, n := range roleNames {
		if strings.EqualFold(s, n) {
			return Role(i), nil
		}
	}
	return 0, fmt.Errorf("unknown role %q (allowed: %s)", s, strings.Join(roleNames[:], ", "))
}

// Tier returns the scheduling tier a role belongs to.
func (r Role) Tier() Tier {
	switch r {
	case RoleCoreZone, RoleProvincial:
		return TierCore
	case RoleRegional, RoleClusterZone:
		return TierCluster
	default:
		return TierEdge
	}
}

// MarshalText implements encoding.TextMarshaler.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
