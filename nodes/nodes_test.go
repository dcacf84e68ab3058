package nodes

import (
	"encoding/csv"
	"errors"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestCitiesMatchSharedData(t *testing.T) {
	f, err := os.Open("../../shared/data/shandong/cities.csv")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("../shared/data is absent; skipping the check against shandong/cities.csv")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows = rows[1:] // header
	if len(rows) != len(shandongCities) {
		t.Fatalf("shared data has %d cities, built-in table %d", len(rows), len(shandongCities))
	}
	for i, row := range rows {
		c := shandongCities[i]
		lat, _ := strconv.ParseFloat(row[3], 64)
		lon, _ := strconv.ParseFloat(row[4], 64)
		if c.Code != row[0] || c.Name != row[1] || c.NameZH != row[2] || lat != c.Lat || lon != c.Lon {
			t.Errorf("city %d: built in %+v, shared data %v", i, c, row)
		}
	}
}

func TestDistanceAndRTT(t *testing.T) {
	cities := ShandongCities()
	get := func(code string) City {
		i, err := LookupCity(cities, code)
		if err != nil {
			t.Fatal(err)
		}
		return cities[i]
	}
	m := DefaultLatencyModel()
	// Distances from shandong-facts.md §2.2 (haversine, R = 6371 km) and
	// propagation-only RTTs (k = 1.5) from §2.3.
	cases := []struct {
		a, b      string
		km        float64
		propRTTMs float64
	}{
		{"JN", "QD", 299, 4.4},
		{"JN", "DZ", 110, 1.6},
		{"JN", "ZZ", 206, 3.0},
		{"QD", "YT", 182, 2.7},
		{"WH", "HZ", 646, 9.5},
	}
	for _, c := range cases {
		a, b := get(c.a), get(c.b)
		d := DistanceKm(a.Lat, a.Lon, b.Lat, b.Lon)
		if math.Abs(d-c.km) > 1 {
			t.Errorf("%s–%s: %.1f km, want %.0f", c.a, c.b, d, c.km)
		}
		prop := 2 * d * m.RouteFactor * m.FiberMicrosPerKm / 1000
		if math.Abs(prop-c.propRTTMs) > 0.06 {
			t.Errorf("%s–%s: propagation RTT %.2f ms, want %.1f", c.a, c.b, prop, c.propRTTMs)
		}
		hops := float64(m.BaseHops) + math.Ceil(d/m.KmPerHop)
		if got, want := m.RTTMs(d), m.AccessMs+prop+2*hops*m.HopMs; math.Abs(got-want) > 1e-12 {
			t.Errorf("%s–%s: RTT %.4f, want %.4f", c.a, c.b, got, want)
		}
	}
	if got := m.RTTMs(0); math.Abs(got-(0.5+2*2*0.08)) > 1e-12 {
		t.Errorf("same-place RTT = %g, want access + 2 base hops", got)
	}
}

func TestLatencyTableSorted(t *testing.T) {
	topo := Synthetic(100)
	lt, err := NewLatencyTable(DefaultLatencyModel(), ShandongCities(), topo.Sites)
	if err != nil {
		t.Fatal(err)
	}
	for o := 0; o < lt.Origins(); o++ {
		order := lt.ByRTT(o)
		if len(order) != len(topo.Sites) {
			t.Fatalf("origin %d: %d sites sorted, want %d", o, len(order), len(topo.Sites))
		}
		for i := 1; i < len(order); i++ {
			if lt.RTTMs(o, int(order[i-1])) > lt.RTTMs(o, int(order[i])) {
				t.Fatalf("origin %d: not sorted at %d", o, i)
			}
		}
		// The origin's own edge site is at the top.
		if s := topo.Sites[order[0]]; s.City != ShandongCities()[o].Code {
			t.Errorf("origin %s: nearest site %s is in %s", ShandongCities()[o].Code, s.ID, s.City)
		}
	}
	bad := DefaultLatencyModel()
	bad.RouteFactor = 0.5
	if _, err := NewLatencyTable(bad, ShandongCities(), topo.Sites); err == nil || !strings.Contains(err.Error(), "route_factor") {
		t.Errorf("bad model: got %v, want an error naming route_factor", err)
	}
}

func TestParseNames(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Tier
		err  bool
	}{{"core", TierCore, false}, {"Cluster", TierCluster, false}, {"EDGE", TierEdge, false}, {"fog", 0, true}} {
		got, err := ParseTier(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseTier(%q) = %v, %v", tc.in, got, err)
		}
	}
	if _, err := ParseTier("fog"); err == nil || !strings.Contains(err.Error(), "allowed: core, cluster, edge") {
		t.Errorf("error should list allowed tiers: %v", err)
	}
	for r := Role(0); r < numRoles; r++ {
		got, err := ParseRole(r.String())
		if err != nil || got != r {
			t.Errorf("role %v does not round-trip: %v %v", r, got, err)
		}
	}
	wantTier := map[Role]Tier{RoleCoreZone: TierCore, RoleProvincial: TierCore, RoleRegional: TierCluster,
		RoleClusterZone: TierCluster, RoleIndustry: TierEdge, RoleEdge: TierEdge}
	for r, tier := range wantTier {
		if r.Tier() != tier {
			t.Errorf("%v.Tier() = %v, want %v", r, r.Tier(), tier)
		}
	}
	if _, err := LookupCity(ShandongCities(), "Xian"); err == nil || !strings.Contains(err.Error(), "allowed: BZ, DY") {
		t.Errorf("unknown city error should list codes: %v", err)
	}
	if s := TiersOf(TierCore, TierEdge); !s.Has(TierCore) || s.Has(TierCluster) || s.String() != "core,edge" {
		t.Errorf("TierSet = %v", s)
	}
}

func TestSynthetic(t *testing.T) {
	for _, n := range []int{28, 1000, 10_000, 100_000} {
		topo := Synthetic(n)
		if err := topo.Validate(); err != nil {
			t.Fatal(err)
		}
		if len(topo.Nodes) != n || len(topo.Sites) != 28 {
			t.Errorf("Synthetic(%d): %d nodes, %d sites", n, len(topo.Nodes), len(topo.Sites))
		}
		var tiers [NumTiers]int
		for _, s := range topo.Sites {
			tiers[s.Tier]++
		}
		if tiers != [NumTiers]int{2, 5, 21} {
			t.Errorf("tiers = %v, want 2 core, 5 cluster, 21 edge (5 N + 16 X)", tiers)
		}
	}
}

func TestTopologyValidate(t *testing.T) {
	base := func() Topology { return Synthetic(30) }
	cases := []struct {
		name  string
		mut   func(*Topology)
		match string
	}{
		{"duplicate site", func(t *Topology) { t.Sites[1].ID = t.Sites[0].ID }, "duplicate id"},
		{"duplicate node", func(t *Topology) { t.Nodes[1].ID = t.Nodes[0].ID }, "duplicate id"},
		{"bad site index", func(t *Topology) { t.Nodes[0].Site = 99 }, "out of range"},
		{"negative capacity", func(t *Topology) { t.Nodes[0].Capacity.CPUMilli = -1 }, "negative capacity"},
		{"pue below 1", func(t *Topology) { t.Sites[0].PUE = 0.9 }, "pue"},
	}
	for _, c := range cases {
		topo := base()
		c.mut(&topo)
		if err := topo.Validate(); err == nil || !strings.Contains(err.Error(), c.match) {
			t.Errorf("%s: got %v, want error containing %q", c.name, err, c.match)
		}
	}
}
