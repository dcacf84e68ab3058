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

	"github.com/suanli/suanli/scenarios"
	"github.com/suanli/suanli/scheduler"
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
	if mode == "mark" {
		// Leave a line in ran.log of the working directory, so tests
		// see where and how often a child was started.
		wd, _ := os.Getwd()
		f, err := os.OpenFile("ran.log", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Fprintf(f, "%s %q\n", wd, os.Args[1:])
		f.Close()
	}
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

// policyFigures is a policy's summary without its name, its external
// provenance and timings.
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
	delete(m, "external")
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
	specs, options, err := ExternalFlags([]string{`green=python3 "my dir/p.py" --k 'a b' x\ y`, "go=bin/g"}, []string{`green={"threshold": 0.2}`, `file={"k": [1]}`}, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]map[string]any{"file": {"k": []any{1.0}}}; !reflect.DeepEqual(options, want) {
		t.Errorf("options for the file's policies: %v, want %v", options, want)
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
		{[]string{"g=x"}, []string{"h"}, `--external-options "h": want NAME=JSON`},
		{[]string{"g=x"}, []string{"a/b={}"}, `--external-options "a/b={}": want NAME=JSON`},
		{[]string{"g=x"}, []string{"h={}", "h={}"}, "--external-options h: given twice"},
		{[]string{"g=x"}, []string{"g=[1]"}, "--external-options g: want a JSON object"},
		{[]string{"g=x"}, []string{"g={}", "g={}"}, "--external-options g: given twice"},
	} {
		_, _, err := ExternalFlags(tc.defs, tc.opts, time.Second)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: %v, want %q", tc.defs, tc.opts, err, tc.want)
		}
	}
}

// writeExternalScenario writes tiny.yaml into a new directory with an
// external_policies block (the lines of block, indented under it) and
// the policies given, and a bin/helper link to this test binary, so
// commands can name it relative to the scenario's directory.
func writeExternalScenario(t *testing.T, policies, block string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "tiny.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(dir, "bin", "helper")); err != nil {
		t.Fatal(err)
	}
	old := "policies: [balanced, greenest, price-window]\n"
	if !bytes.Contains(raw, []byte(old)) {
		t.Fatal("tiny.yaml changed: no policies line")
	}
	raw = bytes.Replace(raw, []byte(old), []byte("policies: ["+policies+"]\nexternal_policies:\n"+block), 1)
	path := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestScenarioExternalPolicies: a scenario's external_policies run from
// the scenario's directory (a relative program path resolved there),
// with their options and timeout, give greenest's figures, and
// summary.json records what each external run ran; a policy the run
// does not select is never started, and neither loading nor checking
// the scenario starts any.
func TestScenarioExternalPolicies(t *testing.T) {
	t.Setenv(simHelperEnv, "mark")
	path := writeExternalScenario(t, "greenest, external:green", `  green:
    command: [./bin/helper, -test.run=^TestExternalHelperProcess$]
    options: {threshold: 0.2, tags: [a, b]}
    timeout: 20s
  unused: {command: [./bin/helper, -test.run=^TestExternalHelperProcess$, unused]}
`)
	dir := filepath.Dir(path)
	marks := func() string {
		b, err := os.ReadFile(filepath.Join(dir, "ran.log"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return string(b)
	}
	s, err := scenarios.Load(path, scenarios.LoadOptions{KnownPolicies: scheduler.PolicyNames()})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckScenario(s); err != nil {
		t.Fatal(err)
	}
	if m := marks(); m != "" {
		t.Fatalf("loading and checking the scenario started a child: %q", m)
	}

	out := t.TempDir()
	res, err := RunFile(path, FileOptions{OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if m := marks(); strings.Count(m, "\n") != 1 || !strings.HasPrefix(m, dir+" ") || strings.Contains(m, "unused") {
		t.Errorf("children started (ran.log): %q, want one line from %s, not the unused policy's", m, dir)
	}
	ps := res.Summary.Policies
	if len(ps) != 2 || ps[1].Policy != "external:green" {
		t.Fatalf("policies %+v", ps)
	}
	if a, b := policyFigures(t, ps[0]), policyFigures(t, ps[1]); !reflect.DeepEqual(a, b) {
		t.Errorf("external:green differs from greenest")
	}
	if ps[0].External != nil {
		t.Errorf("greenest has an external record: %+v", ps[0].External)
	}
	sum, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := `"policy": "external:green",
      "external": {
        "command": [
          "./bin/helper",
          "-test.run=^TestExternalHelperProcess$"
        ],
        "dir": "` + dir + `",
        "options": {
          "tags": [
            "a",
            "b"
          ],
          "threshold": 0.2
        },
        "protocol": 1,
        "timeout_seconds": 20
      },`
	if !strings.Contains(string(sum), want) {
		t.Errorf("summary.json lacks\n%s\n%s", want, sum)
	}
	if strings.Count(string(sum), `"external": {`) != 1 {
		t.Errorf("summary.json has external records for policies that are not external")
	}

	// Selecting only built-in policies starts no child at all.
	if err := os.Remove(filepath.Join(dir, "ran.log")); err != nil {
		t.Fatal(err)
	}
	if _, err := RunFile(path, FileOptions{OutDir: t.TempDir(), Policies: []string{"greenest"}}); err != nil {
		t.Fatal(err)
	}
	if m := marks(); m != "" {
		t.Errorf("a run of greenest alone started a child: %q", m)
	}
}

// TestScenarioExternalOverrides: the command line's definitions replace
// the file's of the same name, --external-options replace a file
// policy's options, --external-timeout every timeout, and options for a
// name defined nowhere are an input error.
func TestScenarioExternalOverrides(t *testing.T) {
	t.Setenv(simHelperEnv, "mark")
	path := writeExternalScenario(t, "external:green", `  green: {command: [./bin/helper, -test.run=^TestExternalHelperProcess$], options: {a: 1}}
  blue: {command: [./bin/helper, -test.run=^TestExternalHelperProcess$], timeout: 30s}
`)
	s, err := scenarios.Load(path, scenarios.LoadOptions{KnownPolicies: scheduler.PolicyNames()})
	if err != nil {
		t.Fatal(err)
	}
	base, err := FromScenario(s)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	if g := base.External["green"]; g.Dir != dir || g.Timeout != 10*time.Second || g.Options["a"] != int64(1) {
		t.Errorf("the file's green: %+v", g)
	}
	exe, _ := os.Executable()
	cli := map[string]external.Spec{"green": {Command: []string{exe, "x"}, Timeout: 10 * time.Second}, "red": {Command: []string{exe, "y"}}}
	c := *base
	if err := c.ApplyExternal(cli, map[string]map[string]any{"blue": {"b": 2.0}}, 0); err != nil {
		t.Fatal(err)
	}
	if g := c.External["green"]; g.Dir != "" || g.Options != nil || !reflect.DeepEqual(g.Command, []string{exe, "x"}) {
		t.Errorf("--external green did not replace the file's: %+v", g)
	}
	if b := c.External["blue"]; b.Dir != dir || b.Timeout != 30*time.Second || !reflect.DeepEqual(b.Options, map[string]any{"b": 2.0}) {
		t.Errorf("blue with --external-options: %+v", b)
	}
	if _, ok := c.External["red"]; !ok || len(c.External) != 3 {
		t.Errorf("--external red did not extend the file's: %v", c.External)
	}
	if base.External["green"].Dir != dir {
		t.Error("ApplyExternal changed the config it was copied from")
	}
	c = *base
	if err := c.ApplyExternal(nil, nil, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if c.External["green"].Timeout != 2*time.Minute || c.External["blue"].Timeout != 2*time.Minute {
		t.Errorf("--external-timeout did not reach the file's policies: %+v", c.External)
	}
	c = *base
	if err := c.ApplyExternal(nil, map[string]map[string]any{"nope": {}}, 0); err == nil || !strings.Contains(err.Error(), `--external-options nope: no external policy "nope" is defined`) {
		t.Errorf("options for an undefined policy: %v", err)
	}

	// Through RunFile: the override's options reach the child and the
	// summary, and an undefined name is an input error naming the flag.
	res, err := RunFile(path, FileOptions{OutDir: t.TempDir(), ExternalOptions: map[string]map[string]any{"green": {"z": "y"}}, ExternalTimeout: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Summary.Policies[0].External; e == nil || !reflect.DeepEqual(e.Options, map[string]any{"z": "y"}) || e.TimeoutSeconds != 15 || e.Dir != dir {
		t.Errorf("summary's record of the overridden run: %+v", e)
	}
	_, err = RunFile(path, FileOptions{OutDir: t.TempDir(), ExternalOptions: map[string]map[string]any{"nope": {}}})
	if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), "--external-options nope") {
		t.Errorf("options for an undefined policy through RunFile: %v", err)
	}
	_, err = RunFile(path, FileOptions{OutDir: t.TempDir(), Policies: []string{"external:purple"}})
	if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), `no external policy "purple" is defined (defined: blue, green)`) {
		t.Errorf("an undefined --policy: %v", err)
	}
}
