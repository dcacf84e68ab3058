package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out lockedBuffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers: a command's
// output and the logs of the server it runs (written from its goroutines)
// share it, as they share stderr outside tests.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestScenarioValidate(t *testing.T) {
	out, err := runCLI(t, "scenario", "validate", "../../scenarios/shandong-baseline.yaml", "../../scenarios/testdata/valid/minimal.yaml")
	if err != nil {
		t.Fatalf("valid files: %v\n%s", err, out)
	}
	if strings.Count(out, ": ok (") != 2 {
		t.Errorf("want two ok lines, got:\n%s", out)
	}
	out, err = runCLI(t, "scenario", "validate", "../../scenarios/testdata/valid/minimal.yaml", "--set", "policies=[fastest]")
	var ec exitCoder
	if err == nil || !errors.As(err, &ec) || ec.ExitCode() != 2 {
		t.Fatalf("unknown policy: got %v, want exit code 2", err)
	}
	if !strings.Contains(out, `--set "policies=[fastest]": policies[0]: unknown policy "fastest" (allowed: `) {
		t.Errorf("output lacks the policy error:\n%s", out)
	}
}

// TestUsageErrorsExit2: wrong argument counts, unknown commands and flags,
// and out-of-range flag values are bad input (exit code 2) and say what
// was expected.
func TestUsageErrorsExit2(t *testing.T) {
	minimal := "../../scenarios/testdata/valid/minimal.yaml"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sim"}, "suanli sim: accepts 1 arg(s), received 0 (usage: suanli sim SCENARIO [flags]"},
		{[]string{"sim", minimal, minimal}, "received 2"},
		{[]string{"workload", "get"}, "usage: suanli workload get ID"},
		{[]string{"nosuchcmd"}, `unknown command "nosuchcmd"`},
		{[]string{"sim", minimal, "--nosuchflag"}, "unknown flag: --nosuchflag"},
		{[]string{"sim", minimal, "--scale", "0"}, "--scale: scale 0 must be in (0, 10000]"},
		{[]string{"sim", minimal, "--scale", "-2"}, "scale -2 must be in (0, 10000]"},
		{[]string{"bench", "policies", minimal, "--scale", "0"}, "--scale: scale 0 must be in (0, 10000]"},
		{[]string{"sim", "../../scenarios/shandong-baseline.yaml", "--scale", "1000"}, "--scale: at scale 1000, shandong-baseline would be expected to start ~"},
		{[]string{"sim", "../../scenarios/shandong-baseline.yaml", "--scale", "600", "--set", "horizon=1h"}, "--scale: at scale 600, shandong-baseline would have 5000400 nodes, more than the limit of 5000000 (unscaled 8334; this scenario allows at most --scale 599)"},
		{[]string{"bench", "policies", "../../scenarios/shandong-baseline.yaml", "--scale", "1000"}, "this scenario allows at most --scale"},
		{[]string{"scenario", "validate", "../../scenarios/testdata/broken/too-many-instances.yaml"}, "1 of 1 scenario files are invalid"},
		// models the simulator could not build are refused at load, at their field
		{[]string{"sim", "../../scenarios/testdata/broken/power-curve.yaml"}, "power-curve.yaml:9:48: node_types.dips.power.curve_w[1]: 180 W at 10 % is below 200 W at 0 %"},
		{[]string{"sim", "../../scenarios/testdata/broken/csv-normalize.yaml"}, "csv-normalize.yaml:15:25: sites[a].solar.csv: "},
		{[]string{"scenario", "validate", "../../scenarios/testdata/broken/csv-normalize.yaml"}, "1 of 1 scenario files are invalid"},
		{[]string{"workload", "list", "--ca-cert", "/nonexistent/ca.pem"}, "--ca-cert: read CA certificates"},
		{[]string{"sim", minimal, "--policy", "fastest"}, `unknown policy "fastest" (allowed: `},
		{[]string{"sim", minimal, "--policy", "balanced,balanced"}, `--policy: duplicate policy "balanced"`},
		{[]string{"sim", minimal, "--policy", "balanced", "--policy", "greenest, balanced"}, `--policy: duplicate policy "balanced"`},
		{[]string{"sim", minimal, "--policy", ""}, "--policy: empty policy list"},
		{[]string{"sim", minimal, "--policy=balanced,"}, `--policy "balanced,": empty policy name`},
		{[]string{"bench", "policies", minimal, "--policy", ""}, "--policy: empty policy list"},
		{[]string{"bench", "place", "--policy", "spread,spread"}, `--policy: duplicate policy "spread"`},
		{[]string{"explain", minimal, "--workload", "x-1", "--decision", "0"}, `--decision "0": want a decision number >= 1, or last`},
		{[]string{"explain", minimal, "--workload", "x-1", "--decision", "first"}, `--decision "first"`},
		{[]string{"explain", minimal, "--workload", "x-1", "--top", "0"}, "--top 0: want at least 1"},
		// the scheduler block through --set, in every command that loads a scenario
		{[]string{"sim", minimal, "--set", "scheduler.defer_slack=soon"}, `--set "scheduler.defer_slack=soon": scheduler.defer_slack: invalid duration "soon"`},
		{[]string{"sim", minimal, "--set", "scheduler.weights.carbn=2"}, `scheduler.weights.carbn: unknown field "carbn"; did you mean "carbon"? (allowed: latency, cost, carbon, binpack, spread)`},
		{[]string{"explain", minimal, "--workload", "analytics-0", "--set", "scheduler.node_candidates=99"}, "scheduler.node_candidates: 99 must be in [1, 32]"},
		{[]string{"bench", "policies", minimal, "--set", "scheduler.defer_threshold=2"}, "scheduler.defer_threshold: 2 must be in [0, 1]"},
		{[]string{"scenario", "show", minimal, "--set", "scheduler.weights={latency: 0, cost: 0, carbon: 0, binpack: 0, spread: 0}"}, "scheduler.weights: every weight is 0"},
	} {
		_, err := runCLI(t, tc.args...)
		if err == nil {
			t.Errorf("%v: no error", tc.args)
			continue
		}
		if got := exitCode(err); got != 2 {
			t.Errorf("%v: exit code %d (%v), want 2", tc.args, got, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %q lacks %q", tc.args, err, tc.want)
		}
	}
}

func TestScenarioShow(t *testing.T) {
	for _, format := range []string{"yaml", "json"} {
		out, err := runCLI(t, "scenario", "show", "-o", format, "../../scenarios/testdata/valid/minimal.yaml")
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if !strings.Contains(out, "qd-core") || !strings.Contains(out, "fiber_us_per_km") {
			t.Errorf("%s output lacks resolved fields:\n%s", format, out)
		}
	}
	// scenario show writes the scheduler block with its defaults and
	// overrides, and its output loads again to the same block.
	out, err := runCLI(t, "scenario", "show", "../../scenarios/testdata/valid/minimal.yaml", "--set", "scheduler.defer_slack=4h", "--set", "scheduler.weights.carbon=2")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nscheduler:\n  weights:\n    latency: 1\n    cost: 1\n    carbon: 2\n", "  node_candidates: 4\n", "  defer_slack: 4h\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
	f := filepath.Join(t.TempDir(), "shown.yaml")
	if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := runCLI(t, "scenario", "show", f)
	if err != nil {
		t.Fatalf("shown scenario does not load: %v", err)
	}
	if again != out {
		t.Errorf("show of show differs:\n%s\n---\n%s", out, again)
	}
	if _, err := runCLI(t, "scenario", "show", "-o", "xml", "../../scenarios/testdata/valid/minimal.yaml"); err == nil {
		t.Error("-o xml accepted")
	}
}

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// TestExplainRejectionGolden: `suanli explain` prints the core's
// explanation of a rejection — every site beyond the latency bound — with
// the reasons for the named sites.
func TestExplainRejectionGolden(t *testing.T) {
	out, err := runCLI(t, "explain", "../../scenarios/shandong-baseline.yaml", "--workload", "ctrl-0",
		"--set", "workloads[ctrl].latency_ms=0.3", "--why-not-site", "x-jn,jn-core", "--set", "horizon=1d")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	path := filepath.Join("testdata", "explain-reject.golden")
	if *update {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if out != string(want) {
		t.Errorf("output differs from %s (go test -update, then review the diff):\n%s", path, out)
	}
	if !strings.Contains(out, "decision: reject, reason latency (permanent)") {
		t.Errorf("not a latency rejection:\n%s", out)
	}
}
