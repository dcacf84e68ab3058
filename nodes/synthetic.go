package nodes

import (
	"fmt"
	"sort"
)

// Standard node types used by the synthetic topology and the shipped
// scenarios (shandong-facts.md §5: a CPU server has 64 cores and 256 GB, a
// GPU server 8 GPUs and 64 cores).
var (
	CPUServer = Resources{CPUMilli: 64_000, MemoryMiB: 256 * 1024}
	GPUServer = Resources{CPUMilli: 64_000, MemoryMiB: 512 * 1024, GPUMilli: 8_000}
)

// syntheticSite is one site of the synthetic 1+3+N+X layout and its share
// of the province's nodes.
type syntheticSite struct {
	id, city string
	role     Role
	pue      float64
	share    float64 // fraction of all nodes
}

// synthetic1_3_N_X is the 2+5+N / 1+3+N+X layout of shandong-facts.md §5.1:
// 2 core zones, 5 cluster sites, 5 industry nodes and one edge site per city.
var synthetic1_3_N_X = func() []syntheticSite {
	s := []syntheticSite{
		{"jn-core", "JN", RoleCoreZone, 1.25, 0.25},
		{"qd-core", "QD", RoleProvincial, 1.25, 0.20},
		{"yt-reg", "YT", RoleRegional, 1.25, 0.10},
		{"zz-reg", "ZZ", RoleRegional, 1.25, 0.10},
		{"dz-reg", "DZ", RoleRegional, 1.25, 0.10},
		{"dy-clu", "DY", RoleClusterZone, 1.20, 0.05},
		{"hz-clu", "HZ", RoleClusterZone, 1.30, 0.05},
	}
	for _, c := range []string{"ZB", "WF", "RZ", "LY", "BZ"} {
		s = append(s, syntheticSite{id: lower(c) + "-n", city: c, role: RoleIndustry, pue: 1.40, share: 0.09 / 5})
	}
	for _, c := range shandongCities {
		s = append(s, syntheticSite{id: "x-" + lower(c.Code), city: c.Code, role: RoleEdge, pue: 1.60, share: 0.06 / 16})
	}
	return s
}()

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Synthetic builds a deterministic 1+3+N+X topology of 28 sites (2 core,
// 5 cluster, 5 industry, 16 edge) with about totalNodes nodes in total,
// distributed by tier as in the Shandong baseline; every tenth node of a
// site is a GPU server. Every site gets at least one node, so the total is
// exactly totalNodes when it is at least 28. It is the fixture
// of the scheduling benchmarks: the site count stays fixed while the node
// count grows.
func Synthetic(totalNodes int) Topology {
	var t Topology
	for _, ss := range synthetic1_3_N_X {
		ci, _ := LookupCity(shandongCities, ss.city)
		c := shandongCities[ci]
		t.Sites = append(t.Sites, Site{ID: ss.id, City: c.Code, Lat: c.Lat, Lon: c.Lon, Tier: ss.role.Tier(), Role: ss.role, PUE: ss.pue})
	}
	// One node per site, then the rest by largest-remainder apportionment
	// of the tier shares, so the total is exact.
	counts := make([]int, len(synthetic1_3_N_X))
	rest := totalNodes - len(counts)
	if rest < 0 {
		rest = 0
	}
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, len(counts))
	assigned := 0
	for i, ss := range synthetic1_3_N_X {
		exact := ss.share * float64(rest)
		counts[i] = 1 + int(exact)
		assigned += int(exact)
		rems[i] = rem{i, exact - float64(int(exact))}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for k := 0; assigned < rest; k = (k + 1) % len(rems) {
		counts[rems[k].i]++
		assigned++
	}
	for si, n := range counts {
		for k := 0; k < n; k++ {
			node := Node{ID: fmt.Sprintf("%s-%05d", t.Sites[si].ID, k), Site: si, Type: "cpu-64", Capacity: CPUServer}
			if k%10 == 9 {
				node.Type, node.Capacity = "gpu-8", GPUServer
			}
			t.Nodes = append(t.Nodes, node)
		}
	}
	return t
}
