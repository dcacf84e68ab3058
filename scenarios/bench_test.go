package scenarios

import (
	"os"
	"testing"
)

// BenchmarkParseBaseline measures loading the baseline scenario (decode,
// validate, resolve), what every suanli sim run pays once.
func BenchmarkParseBaseline(b *testing.B) {
	raw, err := os.ReadFile("shandong-baseline.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Parse("shandong-baseline.yaml", raw, LoadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExpectedInstances measures integrating the baseline's arrival
// rates over its week (minute steps).
func BenchmarkExpectedInstances(b *testing.B) {
	s, err := Load("shandong-baseline.yaml", LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for i := range s.Workloads {
			s.ExpectedInstances(&s.Workloads[i])
		}
	}
}
