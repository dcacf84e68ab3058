package scheduler

import (
	"fmt"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
)

var t0 = time.Date(2025, 4, 7, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

var (
	cpu16 = nodes.Resources{CPUMilli: 16_000, MemoryMiB: 64 * 1024}
	cpu64 = nodes.CPUServer
	gpu8  = nodes.GPUServer
)

type siteDef struct {
	id, city string
	role     nodes.Role
	pue      float64
	nodes    []nodes.Resources
}

// fixtureSites is a small province: two core zones, a regional centre and
// two edge sites.
var fixtureSites = []siteDef{
	{"jn-core", "JN", nodes.RoleCoreZone, 1.25, []nodes.Resources{cpu64, cpu64, cpu64, gpu8}},
	{"qd-core", "QD", nodes.RoleProvincial, 1.25, []nodes.Resources{cpu64, cpu64, gpu8}},
	{"dz-reg", "DZ", nodes.RoleRegional, 1.25, []nodes.Resources{cpu64, cpu64}},
	{"x-jn", "JN", nodes.RoleEdge, 1.6, []nodes.Resources{cpu16, cpu16}},
	{"x-wf", "WF", nodes.RoleEdge, 1.6, []nodes.Resources{cpu16, cpu16}},
}

func buildTopology(defs []siteDef) nodes.Topology {
	cities := nodes.ShandongCities()
	var t nodes.Topology
	for si, d := range defs {
		ci, err := nodes.LookupCity(cities, d.city)
		if err != nil {
			panic(err)
		}
		c := cities[ci]
		t.Sites = append(t.Sites, nodes.Site{ID: d.id, City: c.Code, Lat: c.Lat, Lon: c.Lon, Tier: d.role.Tier(), Role: d.role, PUE: d.pue})
		for k, r := range d.nodes {
			t.Nodes = append(t.Nodes, nodes.Node{ID: fmt.Sprintf("%s-%d", d.id, k), Site: si, Capacity: r})
		}
	}
	return t
}

// newFixture returns a snapshot of fixtureSites with flat energy signals.
func newFixture(tb testing.TB) *Snapshot {
	tb.Helper()
	return newSnapshot(tb, buildTopology(fixtureSites))
}

func newSnapshot(tb testing.TB, topo nodes.Topology) *Snapshot {
	tb.Helper()
	st, err := NewState(&topo)
	if err != nil {
		tb.Fatal(err)
	}
	cities := nodes.ShandongCities()
	lt, err := nodes.NewLatencyTable(nodes.DefaultLatencyModel(), cities, topo.Sites)
	if err != nil {
		tb.Fatal(err)
	}
	snap, err := NewSnapshot(st, lt, cities)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range snap.Energy {
		snap.Energy[i].Now = Signal{PriceCNYPerKWh: 0.614, CarbonKgPerKWh: 0.6191}
		snap.BandwidthGbps[i] = 10
	}
	snap.Refresh()
	return snap
}

func city(tb testing.TB, code string) int {
	tb.Helper()
	i, err := nodes.LookupCity(nodes.ShandongCities(), code)
	if err != nil {
		tb.Fatal(err)
	}
	return i
}

func mustNew(tb testing.TB, policy string) *Scheduler {
	tb.Helper()
	s, err := New(policy, Config{})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func siteIdx(tb testing.TB, snap *Snapshot, id string) int {
	tb.Helper()
	i := snap.State.SiteIndex(id)
	if i < 0 {
		tb.Fatalf("no site %q", id)
	}
	return i
}

func nodeIdx(tb testing.TB, snap *Snapshot, id string) int {
	tb.Helper()
	i, ok := snap.State.NodeIndex(id)
	if !ok {
		tb.Fatalf("no node %q", id)
	}
	return i
}
