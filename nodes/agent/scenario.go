package agent

import (
	"fmt"

	"github.com/suanli/suanli/scenarios"
	"github.com/suanli/suanli/scheduler/server/api"
)

// FromScenario is the layout of a loaded scenario: its sites (with their
// city, role, tier, design PUE and coordinates) and, per site, its node
// counts by type, named <site>-00000, <site>-00001, … in the order the
// scenario lists the types.
func FromScenario(s *scenarios.Scenario) (Layout, error) {
	var l Layout
	for i := range s.Sites {
		st := &s.Sites[i]
		l.Sites = append(l.Sites, api.Site{ID: st.ID, City: st.City, Role: st.Role.String(), Tier: st.Tier.String(),
			PUE: st.PUE.Design, Lat: st.Lat, Lon: st.Lon})
		k := 0
		for _, nc := range st.Nodes {
			nt, ok := s.NodeTypes.Lookup(nc.Type)
			if !ok {
				return Layout{}, fmt.Errorf("scenario %s: site %s: unknown node type %q", s.Name, st.ID, nc.Type)
			}
			capa := nt.Resources()
			for j := 0; j < nc.Count; j++ {
				l.Nodes = append(l.Nodes, api.NodeSpec{ID: fmt.Sprintf("%s-%05d", st.ID, k), Site: st.ID, Type: nc.Type, Capacity: capa})
				k++
			}
		}
	}
	if err := l.Validate(); err != nil {
		return Layout{}, fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	return l, nil
}

// LoadScenario loads a scenario file (without the data files it refers
// to: an agent needs only its sites and node types) and returns its layout.
func LoadScenario(path string) (Layout, error) {
	s, err := scenarios.Load(path, scenarios.LoadOptions{SkipData: true})
	if err != nil {
		return Layout{}, err
	}
	return FromScenario(s)
}
