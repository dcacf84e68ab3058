package benchmarks

import (
	"testing"
)

// BenchmarkPlace measures one scheduling decision plus applying it
// (Allocate) and, in steady state, releasing the oldest placement, so the
// cluster stays about half full. Topologies are the synthetic 1+3+N+X
// layout (28 sites) at 1,000, 10,000 and 100,000 nodes. See PlaceFixture.
func BenchmarkPlace(b *testing.B) {
	for _, policy := range PlacePolicies {
		for _, n := range PlaceSizes {
			b.Run(PlaceName(policy, n), func(b *testing.B) {
				f, err := NewPlaceFixture(n)
				if err != nil {
					b.Fatal(err)
				}
				f.Bench(b, policy)
			})
		}
	}
}
