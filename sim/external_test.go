package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/external"
)

const simHelperEnv = "SUANLI_SIM_EXTERNAL_HELPER"

// TestExternalHelperProcess is the child the tests below start: this test
// binary serving the protocol (not a test itself).
func TestExternalHelperProcess(t *testing.T) {
	mode := os.Getenv(simHelperEnv)
	if mode == "" {
		t.Skip("only run as a child process")
	}
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
	if err := external.Serve(os.Stdin, os.Stdout, external.ServeOptions{}, h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func simHelper(t *testing.T, mode string) external.Spec {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return external.Spec{Command: []string{exe, "-test.run=^TestExternalHelperProcess$"}, Env: []string{simHelperEnv + "=" + mode}, Timeout: 10 * time.Second}
}

// policyFigures is a policy's summary without its name and timings.
func policyFigures(t *testing.T, p PolicySummary) map[string]any {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "policy")
	delete(m, "timing")
	return m
}

// TestExternalGreedyGreenMatchesGreenest runs tiny.yaml under greenest
// and under external:green, a Go child ranking sites by greenest's rule
// (carbon of the work's grid share, on-time sites first, ties by RTT)
// without greenest's tiny latency term: on this province every figure of
// the two runs is equal (docs/external-policy.md explains where they can
// differ), the child's stderr is in the output directory, and its
// decisions were all made by the child.
func TestExternalGreedyGreenMatchesGreenest(t *testing.T) {
	dir := t.TempDir()
	res, err := RunFile(filepath.Join("testdata", "tiny.yaml"), FileOptions{OutDir: dir, Policies: []string{"greenest", "external:green"},
		External: map[string]external.Spec{"green": simHelper(t, "greedy-green")}})
	if err != nil {
		t.Fatal(err)
	}
	ps := res.Summary.Policies
	if len(ps) != 2 || ps[1].Policy != "external:green" {
		t.Fatalf("policies %v", ps)
	}
	a, b := policyFigures(t, ps[0]), policyFigures(t, ps[1])
	if !reflect.DeepEqual(a, b) {
		for k := range a {
			if !reflect.DeepEqual(a[k], b[k]) {
				t.Errorf("%s: greenest %v, external:green %v", k, a[k], b[k])
			}
		}
	}
	if ps[1].Workloads.Decisions < 100 || ps[1].Workloads.Completed < 50 {
		t.Fatalf("weak run: %d decisions, %d completed", ps[1].Workloads.Decisions, ps[1].Workloads.Completed)
	}
	if _, err := os.Stat(filepath.Join(dir, "external-green.log")); err != nil {
		t.Errorf("no log of the child: %v", err)
	}
}

// TestExternalRunsAreDeterministic: two runs with the same seed and a
// deterministic child write byte-identical outputs.
func TestExternalRunsAreDeterministic(t *testing.T) {
	var outs [2]map[string][]byte
	for k := range outs {
		dir := t.TempDir()
		_, err := RunFile(filepath.Join("testdata", "tiny.yaml"), FileOptions{OutDir: dir, Policies: []string{"external:green", "balanced"}, Trace: true,
			External: map[string]external.Spec{"green": simHelper(t, "greedy-green")}})
		if err != nil {
			t.Fatal(err)
		}
		outs[k] = map[string][]byte{}
		for _, f := range []string{"summary.json", "timeseries.csv", "report.html", "trace.csv"} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			outs[k][f] = b
		}
	}
	for f, b := range outs[0] {
		if !bytes.Equal(b, outs[1][f]) {
			t.Errorf("%s differs between two runs", f)
		}
	}
	if !bytes.Contains(outs[0]["trace.csv"], []byte("external:green,")) {
		t.Errorf("trace has no rows of the external policy")
	}
}

// TestExternalPolicyFailureFailsTheRun: a child that crashes mid-run
// fails `suanli sim` with an error naming the policy, the workload and
// what happened (with the child's last words), and no outputs are
// written, not even the other policies' (a comparison with a policy
// missing would be read as a complete one); an unknown command fails
// before anything runs; an undefined external policy is an input error.
func TestExternalPolicyFailureFailsTheRun(t *testing.T) {
	dir := t.TempDir()
	_, err := RunFile(filepath.Join("testdata", "tiny.yaml"), FileOptions{OutDir: dir, Policies: []string{"greenest", "external:green"},
		External: map[string]external.Spec{"green": simHelper(t, "crash-at-40")}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"policy external:green: external policy external:green (", "workload ", "(request 40, at ",
		"the process exited (exit status 3) without replying; its stderr ended: \"greedy: cannot rank "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if IsInputError(err) {
		t.Errorf("a crash is not an input error: %v", err)
	}
	for _, f := range []string{"summary.json", "timeseries.csv", "report.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s written after a failed run", f)
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "external-green.log"))
	if !bytes.Contains(log, []byte("greedy: cannot rank")) {
		t.Errorf("child's log %q", log)
	}

	_, err = RunFile(filepath.Join("testdata", "tiny.yaml"), FileOptions{OutDir: t.TempDir(), Policies: []string{"balanced", "external:nope"},
		External: map[string]external.Spec{"nope": {Command: []string{"/nonexistent/policy"}}}})
	if err == nil || !strings.Contains(err.Error(), `external policy external:nope (/nonexistent/policy): start "/nonexistent/policy": `) {
		t.Errorf("missing command: %v", err)
	}

	_, err = RunFile(filepath.Join("testdata", "tiny.yaml"), FileOptions{OutDir: t.TempDir(), Policies: []string{"external:other"},
		External: map[string]external.Spec{"green": simHelper(t, "greedy-green")}})
	if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), `--policy: policy external:other: no external policy "other" is defined (defined: green)`) {
		t.Errorf("undefined external policy: %v", err)
	}
}

// TestExternalExplain: suanli explain runs an external policy too, and
// the explanation carries the child's reply.
func TestExternalExplain(t *testing.T) {
	res, err := ExplainFile(filepath.Join("testdata", "tiny.yaml"), ExplainOptions{Policy: "external:green", Workload: "analytics-3",
		WhyNotSites: []string{"x-jn"}, External: map[string]external.Spec{"green": simHelper(t, "greedy-green")}})
	if err != nil {
		t.Fatal(err)
	}
	out := res.Explanation.String()
	for _, want := range []string{"policy external:green", "decision: place on node ", "tier:     removed 1 sites", "candidates (nearest first):\n  site           rtt_ms\n  jn-core ",
		"note: the external policy's reply: place at the first of ", "why not site x-jn: [tier]"} {
		if !strings.Contains(out, want) {
			t.Errorf("explanation lacks %q:\n%s", want, out)
		}
	}
}

// TestPythonExample runs examples/policies/greedy_green.py against
// greenest on tiny.yaml (skipped without python3): the same figures.
func TestPythonExample(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	res, err := RunFile(filepath.Join("testdata", "tiny.yaml"), FileOptions{OutDir: t.TempDir(), Policies: []string{"greenest", "external:py"},
		External: map[string]external.Spec{"py": {Command: []string{py, filepath.Join("..", "examples", "policies", "greedy_green.py")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := policyFigures(t, res.Summary.Policies[0]), policyFigures(t, res.Summary.Policies[1]); !reflect.DeepEqual(a, b) {
		t.Errorf("greedy_green.py differs from greenest:\n%v\n%v", a, b)
	}
}

func TestExternalFlags(t *testing.T) {
	specs, err := ExternalFlags([]string{`green=python3 "my dir/p.py" --k 'a b' x\ y`, "go=bin/g"}, []string{`green={"threshold": 0.2}`}, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	g := specs["green"]
	if want := []string{"python3", "my dir/p.py", "--k", "a b", "x y"}; !reflect.DeepEqual(g.Command, want) || g.Timeout != 3*time.Second || g.Options["threshold"] != 0.2 {
		t.Errorf("green: %+v", g)
	}
	if !reflect.DeepEqual(specs["go"].Command, []string{"bin/g"}) || specs["go"].Options != nil {
		t.Errorf("go: %+v", specs["go"])
	}
	for _, tc := range []struct {
		defs, opts []string
		want       string
	}{
		{[]string{"green"}, nil, `--external "green": want NAME=COMMAND`},
		{[]string{"a/b=x"}, nil, `--external "a/b=x": want NAME=COMMAND`},
		{[]string{"g=x", "g=y"}, nil, "--external g: defined twice"},
		{[]string{"g= "}, nil, "--external g: empty command"},
		{[]string{`g=python3 "x`}, nil, "unclosed \" quote"},
		{[]string{`g=x\`}, nil, "ends with a backslash"},
		{[]string{"g=x"}, []string{"h={}"}, `--external-options "h={}": want NAME=JSON for a NAME given with --external`},
		{[]string{"g=x"}, []string{"g=[1]"}, "--external-options g: want a JSON object"},
		{[]string{"g=x"}, []string{"g={}", "g={}"}, "--external-options g: given twice"},
	} {
		_, err := ExternalFlags(tc.defs, tc.opts, time.Second)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: %v, want %q", tc.defs, tc.opts, err, tc.want)
		}
	}
}
