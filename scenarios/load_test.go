package scenarios

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suanli/suanli/scheduler"
	_ "github.com/suanli/suanli/scheduler/optimize" // registers "optimizer"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// testPolicies is the scheduler's policy registry, as the CLI passes it.
var testPolicies = scheduler.PolicyNames()

// TestBroken loads every file in testdata/broken and compares the errors
// with the golden file beside it.
func TestBroken(t *testing.T) {
	files, err := filepath.Glob("testdata/broken/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("got %d broken files, want at least 15", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			s, err := Load(f, LoadOptions{KnownPolicies: testPolicies})
			if err == nil {
				t.Fatalf("loaded %s without error: %+v", f, s.Name)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("%v (run go test -update to create it)", rerr)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
			list := Errors(err)
			if len(list) == 0 {
				t.Fatalf("error is not a list of *Error: %v", err)
			}
			for _, e := range list {
				if strings.Contains(e.Msg, "internal error") {
					t.Errorf("loader panicked: %v", e)
				}
				if e.Line == 0 && e.Set == "" && filepath.Base(f) != "empty.yaml" {
					t.Errorf("error without a line: %v", e)
				}
				if e.File != f {
					t.Errorf("error names file %q, want %q", e.File, f)
				}
			}
		})
	}
}

func TestMinimalDefaults(t *testing.T) {
	s, err := Load("testdata/valid/minimal.yaml", LoadOptions{KnownPolicies: testPolicies})
	if err != nil {
		t.Fatal(err)
	}
	if s.Seed != 1 {
		t.Errorf("seed = %d, want default 1", s.Seed)
	}
	if got, want := s.Start.Format("2006-01-02T15:04:05Z07:00"), "2025-04-07T00:00:00+08:00"; got != want {
		t.Errorf("start = %s, want %s", got, want)
	}
	if s.Interval.String() != "15m" {
		t.Errorf("interval = %s, want 15m", s.Interval)
	}
	if s.Network.FiberMicrosPerKm != 4.9 || s.Network.BandwidthGbps.Edge != 10 || s.Network.JitterMeanMs != 0.1 {
		t.Errorf("network defaults not filled: %+v", s.Network)
	}
	if s.Grid.CarbonKgPerKWh != 0.6191 || s.Grid.CarbonShape.Kind != "shandong" || s.Grid.Tariff.Table != "shandong-2024" {
		t.Errorf("grid defaults not filled: %+v", s.Grid)
	}
	qd := s.Sites[1]
	if qd.City != "QD" || qd.Lat != 36.067 || qd.Tier.String() != "core" || qd.PUE.Design != 1.25 || qd.BandwidthGbps != 100 {
		t.Errorf("site defaults: got %+v", qd)
	}
	w := s.Workloads[0]
	if w.Name != "analytics" || w.Tasks.Value != 1 || w.TierSet.String() != "any" || w.RatePerHour != 2 {
		t.Errorf("workload defaults: got name %q tasks %v tiers %s rate %g", w.Name, w.Tasks, w.TierSet, w.RatePerHour)
	}
	sum := 0.0
	for _, r := range w.OriginRatePerHour {
		sum += r
	}
	if len(w.OriginRatePerHour) != 16 || sum < 1.999999 || sum > 2.000001 {
		t.Errorf("origin rates %v sum to %g, want 16 cities summing to 2", w.OriginRatePerHour, sum)
	}
	if len(s.SHA256) != 64 {
		t.Errorf("sha256 %q", s.SHA256)
	}
}

func TestParseLimits(t *testing.T) {
	big := make([]byte, MaxFileBytes+1)
	for i := range big {
		big[i] = ' '
	}
	_, err := Parse("big.yaml", big, LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("got %v, want a size error", err)
	}
	_, err = Load("testdata/does-not-exist.yaml", LoadOptions{})
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want not-exist", err)
	}
}
