package sweep

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/external"
)

const sweepHelperEnv = "SUANLI_SWEEP_EXTERNAL_HELPER"

// TestSweepHelperProcess is the child the tests below start: this test
// binary serving external.GreedyGreen, which gives greenest's figures on
// tiny.yaml (not a test itself). It appends a line to ran.log in its
// working directory for every start.
func TestSweepHelperProcess(t *testing.T) {
	mode := os.Getenv(sweepHelperEnv)
	if mode == "" {
		t.Skip("only run as a child process")
	}
	f, err := os.OpenFile("ran.log", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintln(f, "started")
	f.Close()
	h := external.HandlerFunc(external.GreedyGreen)
	if mode == "crash-at-40" {
		h = func(s *external.Session, r *external.Request) external.Reply {
			if r.Seq == 40 {
				fmt.Fprintf(os.Stderr, "greedy: cannot rank %s\n", r.Workload.ID)
				os.Exit(3)
			}
			return external.GreedyGreen(s, r)
		}
	}
	fmt.Fprintln(os.Stderr, "greedy: ready")
	if err := external.Serve(os.Stdin, os.Stdout, external.ServeOptions{}, h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// sweepHelper is the spec of the helper child, run in dir.
func sweepHelper(t *testing.T, mode, dir string) external.Spec {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return external.Spec{Command: []string{exe, "-test.run=^TestSweepHelperProcess$"}, Dir: dir,
		Env: []string{sweepHelperEnv + "=" + mode}, Timeout: 20 * time.Second, Options: map[string]any{"k": "v"}}
}

// TestRunExternalPolicy sweeps an external policy against greenest as
// the baseline over two seeds: one child per seed, the greedy-green rule
// gives greenest's figures on every seed (every paired difference is 0
// and none is significant), each child's stderr is in its own log, the
// result records what the policy ran, and two sweeps are identical.
func TestRunExternalPolicy(t *testing.T) {
	run := func() (*Result, string, string) {
		work, logs := t.TempDir(), t.TempDir()
		r, err := Run(Spec{Scenarios: []string{"../testdata/tiny.yaml"}, Policies: []string{"greenest", "external:green"}, Baseline: "greenest", Runs: 2,
			External: map[string]external.Spec{"green": sweepHelper(t, "greedy-green", work)}, LogDir: logs})
		if err != nil {
			t.Fatal(err)
		}
		return r, work, logs
	}
	a, work, logs := run()
	if len(a.Samples) != 4 || len(a.Rows) != 2*len(Metrics) || !reflect.DeepEqual(a.Seeds, []uint64{7, 8}) {
		t.Fatalf("got %d samples, %d rows, seeds %v", len(a.Samples), len(a.Rows), a.Seeds)
	}
	n := 0
	for _, r := range a.Rows {
		if r.Policy != "external:green" {
			continue
		}
		n++
		if r.Diff.N != 2 || r.Diff.Mean != 0 || r.Better != 0 {
			t.Errorf("%s: external:green − greenest = %+v (better %d), want 0 over 2 seeds", r.Metric, r.Diff, r.Better)
		}
	}
	if n != len(Metrics) {
		t.Errorf("%d rows of external:green, want %d", n, len(Metrics))
	}
	// The figures are those of a real run, not zeros.
	for _, s := range a.Samples {
		if s.Policy == "external:green" && s.Values[3] <= 0 {
			t.Errorf("seed %d: carbon %g", s.Seed, s.Values[3])
		}
	}
	if b, err := os.ReadFile(filepath.Join(work, "ran.log")); err != nil || string(b) != "started\nstarted\n" {
		t.Errorf("children started: %q (%v), want one per seed", b, err)
	}
	for _, seed := range []int{7, 8} {
		b, err := os.ReadFile(filepath.Join(logs, fmt.Sprintf("external-green-tiny-seed%d.log", seed)))
		if err != nil || !strings.Contains(string(b), "greedy: ready") {
			t.Errorf("log of seed %d: %q (%v)", seed, b, err)
		}
	}
	want := []ExternalRecord{{Scenario: "tiny", Policy: "external:green"}}
	want[0].Command = sweepHelper(t, "", "").Command
	want[0].Dir, want[0].Options, want[0].Protocol, want[0].TimeoutSeconds = work, map[string]any{"k": "v"}, 1, 20
	if !reflect.DeepEqual(a.External, want) {
		t.Errorf("external records %+v, want %+v", a.External, want)
	}
	var ja bytes.Buffer
	if err := a.WriteJSON(&ja); err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		External []map[string]any `json:"external_policies"`
	}
	if err := json.Unmarshal(ja.Bytes(), &parsed); err != nil {
		t.Fatal(err)
	}
	if len(parsed.External) != 1 || parsed.External[0]["policy"] != "external:green" || parsed.External[0]["protocol"] != 1.0 || parsed.External[0]["command"] == nil {
		t.Errorf("sweep.json external_policies: %v", parsed.External)
	}

	b, _, _ := run()
	var jb bytes.Buffer
	if err := b.WriteJSON(&jb); err != nil {
		t.Fatal(err)
	}
	// The child's working directory is a new temporary one each time.
	if strings.ReplaceAll(ja.String(), work, "W") != strings.ReplaceAll(jb.String(), b.External[0].Dir, "W") {
		t.Error("two sweeps with a deterministic child differ")
	}
}

// TestRunExternalPolicyFails: a child that crashes fails the sweep with
// an error naming the scenario, the seed and the policy (not an input
// error); an undefined external policy is an input error.
func TestRunExternalPolicyFails(t *testing.T) {
	_, err := Run(Spec{Scenarios: []string{"../testdata/tiny.yaml"}, Policies: []string{"greenest", "external:green"}, Runs: 2,
		External: map[string]external.Spec{"green": sweepHelper(t, "crash-at-40", t.TempDir())}})
	if err == nil {
		t.Fatal("no error")
	}
	var ie *InputError
	if asInput(err, &ie) {
		t.Errorf("a crash is an input error: %v", err)
	}
	for _, want := range []string{"sweep ../testdata/tiny.yaml (scenario tiny) seed 7: policy external:green: external policy external:green (",
		"(request 40, at ", "exited (exit status 3)", "greedy: cannot rank"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}

	_, err = Run(Spec{Scenarios: []string{"../testdata/tiny.yaml"}, Policies: []string{"greenest", "external:blue"},
		External: map[string]external.Spec{"green": sweepHelper(t, "greedy-green", t.TempDir())}})
	if err == nil || !asInput(err, &ie) || !strings.Contains(err.Error(), `../testdata/tiny.yaml: --policy: policy external:blue: no external policy "blue" is defined (defined: green)`) {
		t.Errorf("undefined external policy: %v", err)
	}
	_, err = Run(Spec{Scenarios: []string{"../testdata/tiny.yaml"}, Policies: []string{"greenest"}, ExternalOptions: map[string]map[string]any{"blue": {}}})
	if err == nil || !asInput(err, &ie) || !strings.Contains(err.Error(), `--external-options blue: no external policy "blue" is defined`) {
		t.Errorf("options for an undefined external policy: %v", err)
	}
}
