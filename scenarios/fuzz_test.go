package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes the loader panic (Parse turns a
// panic into an "internal error", which fails here), and that whatever
// loads also loads again from its resolved form. The seed corpus (the
// shipped scenarios, the valid and broken test files) runs in every
// go test. The seeds are whole scenario files, so minimising a new input
// is slow; fuzz with a short minimisation budget:
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 5m -fuzzminimizetime 5s ./scenarios
func FuzzParse(f *testing.F) {
	var files []string
	for _, g := range []string{"*.yaml", "testdata/valid/*.yaml", "testdata/broken/*.yaml"} {
		m, err := filepath.Glob(g)
		if err != nil {
			f.Fatal(err)
		}
		files = append(files, m...)
	}
	sets := []string{"", "sites[0].pue=1.3", "workloads[0].arrivals.rate_per_hour=3", "horizon=1d", "sites[x].nodes={a: 1}"}
	for i, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, sets[i%len(sets)])
	}
	f.Fuzz(func(t *testing.T, data []byte, set string) {
		var opts LoadOptions
		opts.SkipData = true
		if set != "" {
			opts.Sets = []string{set}
		}
		s, err := Parse("fuzz.yaml", data, opts)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("loader panicked: %v", err)
			}
			for _, e := range Errors(err) {
				if e.File != "fuzz.yaml" {
					t.Fatalf("error names file %q: %v", e.File, e)
				}
			}
			return
		}
		y, err := s.EncodeYAML()
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		if _, err := Parse("fuzz.yaml", y, LoadOptions{SkipData: true}); err != nil {
			t.Fatalf("resolved form does not load: %v\n%s", err, y)
		}
	})
}
