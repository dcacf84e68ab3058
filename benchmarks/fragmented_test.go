package benchmarks

import (
	"fmt"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler"
)

// BenchmarkPlaceFragmented measures the worst case of the node index: one
// site whose free CPU and free memory sit on different nodes (every even
// node has 64 cores but 192 MiB less memory free than the request, every
// odd node 0.9 cores and all its memory), so the site passes the per-site
// test but no node fits. The
// shape terms prune such subtrees for requests of 2, 4 and 8 GiB per core;
// at other ratios (16 GiB per core here) the walk visits every node, and
// the cost grows with the site's size. See benchmarks/README.md.
func BenchmarkPlaceFragmented(b *testing.B) {
	for _, gib := range []int64{8, 16} {
		for _, n := range []int{1_000, 10_000} {
			b.Run(fmt.Sprintf("gib_per_core=%d/nodes=%d", gib, n), func(b *testing.B) {
				snap := fragmentedSite(b, n, gib*1024-192)
				s, err := scheduler.New("balanced", scheduler.Config{})
				if err != nil {
					b.Fatal(err)
				}
				w := scheduler.Workload{Origin: 0, Request: nodes.Resources{CPUMilli: 1000, MemoryMiB: gib * 1024}}
				now := time.Date(2025, 4, 7, 12, 0, 0, 0, time.UTC)
				if d := s.Decide(snap, &w, now, nil, nil); d.Outcome != scheduler.Reject {
					b.Fatalf("got %v, want a rejection (no node fits)", d.Outcome)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					s.Decide(snap, &w, now, nil, nil)
				}
			})
		}
	}
}

// fragmentedSite is one site of n CPU servers: even nodes with every core
// and memMiB of memory free, odd ones with 0.9 cores and all memory free.
func fragmentedSite(b *testing.B, n int, memMiB int64) *scheduler.Snapshot {
	b.Helper()
	cities := nodes.ShandongCities()
	c := cities[0]
	topo := nodes.Topology{Sites: []nodes.Site{{ID: "frag", City: c.Code, Lat: c.Lat, Lon: c.Lon, Tier: nodes.TierCore, Role: nodes.RoleCoreZone, PUE: 1.2}}}
	for k := 0; k < n; k++ {
		topo.Nodes = append(topo.Nodes, nodes.Node{ID: fmt.Sprintf("frag-%d", k), Site: 0, Capacity: nodes.CPUServer})
	}
	st, err := scheduler.NewState(&topo)
	if err != nil {
		b.Fatal(err)
	}
	for k := 0; k < n; k++ {
		use := nodes.Resources{MemoryMiB: nodes.CPUServer.MemoryMiB - memMiB}
		if k%2 == 1 {
			use = nodes.Resources{CPUMilli: 63_100}
		}
		if err := st.Allocate(k, use); err != nil {
			b.Fatal(err)
		}
	}
	lt, err := nodes.NewLatencyTable(nodes.DefaultLatencyModel(), cities, topo.Sites)
	if err != nil {
		b.Fatal(err)
	}
	snap, err := scheduler.NewSnapshot(st, lt, cities)
	if err != nil {
		b.Fatal(err)
	}
	return snap
}
