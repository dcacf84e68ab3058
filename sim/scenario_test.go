package sim

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suanli/suanli/scenarios"
	"github.com/suanli/suanli/scheduler"
)

// shippedScenarios lists the scenario files shipped in ../scenarios.
func shippedScenarios(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "scenarios", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no shipped scenarios in ../scenarios")
	}
	return files
}

func loadConfig(t *testing.T, path string, sets ...string) (*scenarios.Scenario, *Config) {
	t.Helper()
	s, err := scenarios.Load(path, scenarios.LoadOptions{KnownPolicies: scheduler.PolicyNames(), Sets: sets})
	if err != nil {
		if strings.Contains(err.Error(), "shared") || os.IsNotExist(err) {
			t.Skipf("%s needs data that is absent here: %v", path, err)
		}
		t.Fatal(err)
	}
	cfg, err := FromScenario(s)
	if err != nil {
		t.Fatal(err)
	}
	return s, cfg
}

// TestShippedScenarios runs every shipped scenario (its first two days, to
// keep the race-enabled suite fast) under two policies in test mode: every
// interval's energy balance, the core's State invariants (no node above
// capacity) and workload conservation are checked as the run goes; the
// balance is checked again here on the recorded intervals.
func TestShippedScenarios(t *testing.T) {
	for _, path := range shippedScenarios(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			_, cfg := loadConfig(t, path)
			if cfg.Horizon > 48*time.Hour {
				cfg.Horizon = 48 * time.Hour
			}
			policies := []string{cfg.Policies[0], "carbon-window"}
			runs, err := RunPolicies(cfg, policies, RunOptions{CheckInvariants: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range runs {
				if r.Submitted == 0 || r.Placed == 0 {
					t.Errorf("%s: submitted %d placed %d, want work", r.Policy, r.Submitted, r.Placed)
				}
				if got := r.Completed + r.Rejected + r.InFlight; got != r.Submitted {
					t.Errorf("%s: completed %d + rejected %d + in flight %d = %d, want submitted %d", r.Policy, r.Completed, r.Rejected, r.InFlight, got, r.Submitted)
				}
				for i := range r.Intervals {
					for s := range r.Intervals[i].Sites {
						if err := r.Intervals[i].Sites[s].Check(1e-9); err != nil {
							t.Fatalf("%s interval %d site %s: %v", r.Policy, i, r.SiteNames()[s], err)
						}
					}
				}
				if err := r.Energy.Check(1e-9); err != nil {
					t.Errorf("%s: totals: %v", r.Policy, err)
				}
			}
		})
	}
}

// TestBaselineSameSeedSameOutputs runs the baseline scenario twice and
// compares the files byte for byte (summary.json apart from its timing
// objects).
func TestBaselineSameSeedSameOutputs(t *testing.T) {
	path := filepath.Join("..", "scenarios", "shandong-baseline.yaml")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("baseline scenario absent: %v", err)
	}
	out := func() string {
		s, cfg := loadConfig(t, path, "horizon=1d")
		dir := t.TempDir()
		var clock atomic.Int64
		runs, err := RunPolicies(cfg, []string{"balanced", "price-window"}, RunOptions{Clock: func() int64 { return clock.Add(777) }, TraceDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := WriteOutputs(dir, cfg, MetaOf(s, cfg), runs); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	a, b := out(), out()
	for _, name := range []string{"timeseries.csv", "trace.csv", "report.html"} {
		x, _ := os.ReadFile(filepath.Join(a, name))
		y, _ := os.ReadFile(filepath.Join(b, name))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs of the same seed (%d vs %d bytes)", name, len(x), len(y))
		}
	}
	x, _ := os.ReadFile(filepath.Join(a, "summary.json"))
	y, _ := os.ReadFile(filepath.Join(b, "summary.json"))
	if !bytes.Equal(stripTiming(t, x), stripTiming(t, y)) {
		t.Error("summary.json differs (apart from timing) between two runs of the same seed")
	}
}
