package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suanli/suanli/scheduler/external"
	"github.com/suanli/suanli/sim/sweep"
)

const cliHelperEnv = "SUANLI_CLI_EXTERNAL_HELPER"

// TestCLIExternalHelperProcess is the child policy of the tests below:
// this test binary serving external.GreedyGreen (not a test itself).
func TestCLIExternalHelperProcess(t *testing.T) {
	if os.Getenv(cliHelperEnv) == "" {
		t.Skip("only run as a child process")
	}
	// Arguments after the test flags: "mark" appends a line to ran.log
	// in the working directory, "exit3" exits at once with status 3.
	for _, a := range flag.Args() {
		switch a {
		case "mark":
			f, err := os.OpenFile("ran.log", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			fmt.Fprintln(f, "started")
			f.Close()
		case "exit3":
			fmt.Fprintln(os.Stderr, "helper: told to fail")
			os.Exit(3)
		}
	}
	if err := external.Serve(os.Stdin, os.Stdout, external.ServeOptions{}, external.HandlerFunc(external.GreedyGreen)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// tableRows maps each policy of suanli sim's table to the rest of its row.
func tableRows(t *testing.T, out string) map[string]string {
	t.Helper()
	rows := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 1 && (f[0] == "greenest" || strings.HasPrefix(f[0], "external:")) {
			rows[f[0]] = strings.Join(f[1:], " ")
		}
	}
	return rows
}

// TestSimExternalPolicy: `suanli sim` compares an external policy (a Go
// child through --external, and the Python example when python3 is
// installed) with the built-in greenest, side by side in one table, and
// the greedy-green rule gives greenest's row on the tiny province.
func TestSimExternalPolicy(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(cliHelperEnv, "1") // inherited by the child only matters there
	policies := "greenest,external:go"
	args := []string{"sim", "../../sim/testdata/tiny.yaml", "--out", t.TempDir(), "--quiet",
		"--external", "go=" + exe + " -test.run=^TestCLIExternalHelperProcess$", "--external-timeout", "20s"}
	py, err := exec.LookPath("python3")
	if err == nil {
		policies += ",external:py"
		args = append(args, "--external", "py="+py+" "+filepath.Join("..", "..", "examples", "policies", "greedy_green.py"))
	}
	out, err := runCLI(t, append(args, "--policy", policies)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	rows := tableRows(t, out)
	want := rows["greenest"]
	if want == "" {
		t.Fatalf("no greenest row:\n%s", out)
	}
	for _, p := range strings.Split(policies, ",")[1:] {
		if rows[p] != want {
			t.Errorf("%s: %q, greenest %q\n%s", p, rows[p], want, out)
		}
	}
}

func TestSimExternalUsageErrors(t *testing.T) {
	tiny := "../../sim/testdata/tiny.yaml"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sim", tiny, "--policy", "external:mine"}, `--policy: policy external:mine: no external policy "mine" is defined (give its command with --external mine=COMMAND, or in the scenario's external_policies)`},
		{[]string{"sim", tiny, "--policy", "external:mine", "--external", "mine"}, `--external "mine": want NAME=COMMAND`},
		{[]string{"sim", tiny, "--policy", "external:mine", "--external", "mine=x", "--external-options", "mine=1"}, "--external-options mine: want a JSON object"},
		{[]string{"explain", tiny, "--workload", "ctrl-1", "--policy", "external:x"}, `no external policy "x" is defined`},
	} {
		_, err := runCLI(t, tc.args...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v (exit %d), want exit code 2 and %q", tc.args, err, exitCodeOf(err), tc.want)
		}
	}
}

func TestPoliciesListsExternal(t *testing.T) {
	out, err := runCLI(t, "policies")
	if err != nil || !strings.Contains(out, "external:NAME  ") || !strings.Contains(out, "--external NAME=COMMAND; docs/external-policy.md") {
		t.Fatalf("%v\n%s", err, out)
	}
}

// helperCommand is the command line of the helper child with args.
func helperCommand(t *testing.T, args ...string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(append([]string{exe, "-test.run=^TestCLIExternalHelperProcess$"}, args...), " ")
}

// TestBenchPoliciesExternal: suanli bench policies compares an external
// policy (the Go helper, and the Python example when python3 is
// installed) with greenest as the baseline over two seeds: the
// greedy-green rule's paired differences from greenest are all zero,
// sweep.json records what the external policies ran, and each child's
// stderr has its log in --out.
func TestBenchPoliciesExternal(t *testing.T) {
	t.Setenv(cliHelperEnv, "1")
	out := t.TempDir()
	policies := "greenest,external:go"
	args := []string{"bench", "policies", "../../sim/testdata/tiny.yaml", "--runs", "2", "--baseline", "greenest", "--out", out, "--quiet",
		"--external", "go=" + helperCommand(t), "--external-options", `go={"threshold": 0.2}`, "--external-timeout", "20s"}
	if py, err := exec.LookPath("python3"); err == nil {
		policies += ",external:py"
		args = append(args, "--external", "py="+py+" "+filepath.Join("..", "..", "examples", "policies", "greedy_green.py"))
	}
	text, err := runCLI(t, append(args, "--policy", policies)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	lines := strings.Split(text, "\n")
	for _, p := range strings.Split(policies, ",")[1:] {
		found := false
		for i, l := range lines {
			if f := strings.Fields(l); len(f) > 0 && f[0] == p && i+1 < len(lines) {
				found = true
				delta := strings.Fields(lines[i+1])
				if len(delta) != 1+2*len(sweep.Metrics) || delta[0] != "Δ" {
					t.Fatalf("%s: Δ line %q\n%s", p, lines[i+1], text)
				}
				for k := 1; k < len(delta); k += 2 {
					if delta[k] != "+0.00" || delta[k+1] != "±0.00" {
						t.Errorf("%s: difference %s %s from greenest, want +0.00 ±0.00\n%s", p, delta[k], delta[k+1], text)
					}
				}
			}
		}
		if !found {
			t.Errorf("no row of %s:\n%s", p, text)
		}
	}
	raw, err := os.ReadFile(filepath.Join(out, "sweep.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sj struct {
		External []struct {
			Scenario, Policy string
			Command          []string
			Options          map[string]any
			Protocol         int
			TimeoutSeconds   float64 `json:"timeout_seconds"`
		} `json:"external_policies"`
	}
	if err := json.Unmarshal(raw, &sj); err != nil {
		t.Fatal(err)
	}
	if len(sj.External) != strings.Count(policies, "external:") || sj.External[0].Policy != "external:go" || sj.External[0].Scenario != "tiny" ||
		sj.External[0].Options["threshold"] != 0.2 || sj.External[0].Protocol != 1 || sj.External[0].TimeoutSeconds != 20 ||
		strings.Join(sj.External[0].Command, " ") != helperCommand(t) {
		t.Errorf("sweep.json external_policies: %+v", sj.External)
	}
	for _, seed := range []string{"7", "8"} {
		if _, err := os.Stat(filepath.Join(out, "external-go-tiny-seed"+seed+".log")); err != nil {
			t.Errorf("no log of seed %s: %v", seed, err)
		}
	}
}

// TestBenchPoliciesExternalFails: a child that fails fails the sweep
// (exit 1) with an error naming the scenario, the seed and the policy;
// an undefined external policy is bad input (exit 2).
func TestBenchPoliciesExternalFails(t *testing.T) {
	t.Setenv(cliHelperEnv, "1")
	_, err := runCLI(t, "bench", "policies", "../../sim/testdata/tiny.yaml", "--runs", "2", "--out", "", "--quiet",
		"--policy", "greenest,external:bad", "--external", "bad="+helperCommand(t, "exit3"))
	if err == nil || exitCodeOf(err) != 1 {
		t.Fatalf("got %v (exit %d), want exit code 1", err, exitCodeOf(err))
	}
	for _, want := range []string{"sweep ../../sim/testdata/tiny.yaml (scenario tiny) seed 7: ", "external policy external:bad (", "helper: told to fail"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	_, err = runCLI(t, "bench", "policies", "../../sim/testdata/tiny.yaml", "--runs", "1", "--out", "", "--quiet", "--policy", "greenest,external:nope")
	if err == nil || exitCodeOf(err) != 2 || !strings.Contains(err.Error(), `policy external:nope: no external policy "nope" is defined`) {
		t.Errorf("undefined external policy: %v (exit %d)", err, exitCodeOf(err))
	}
}

// TestScenarioFileExternalPolicy: a scenario's external_policies block
// is shown by scenario show; scenario validate never runs its command,
// nor does a sim of other policies; sim and bench policies run it when
// it is selected (one child per run), with --external-options replacing
// the file's options.
func TestScenarioFileExternalPolicy(t *testing.T) {
	t.Setenv(cliHelperEnv, "1")
	raw, err := os.ReadFile("../../sim/testdata/tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	block := fmt.Sprintf("policies: [greenest, external:green]\nexternal_policies:\n  green:\n    command: [%q, -test.run=^TestCLIExternalHelperProcess$, mark]\n    options: {threshold: 0.5}\n    timeout: 15s\n", exe)
	raw = []byte(strings.Replace(string(raw), "policies: [balanced, greenest, price-window]\n", block, 1))
	path := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	starts := func() int {
		b, err := os.ReadFile(filepath.Join(dir, "ran.log"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return strings.Count(string(b), "started")
	}

	if out, err := runCLI(t, "scenario", "validate", path); err != nil || !strings.Contains(out, ": ok (") {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	out, err := runCLI(t, "scenario", "show", path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "external_policies:\n  green:\n    command: [") || !strings.Contains(out, "    options:\n      threshold: 0.5\n    timeout: 15s\n") {
		t.Errorf("show lacks the external_policies block:\n%s", out)
	}
	if _, err := runCLI(t, "sim", path, "--policy", "greenest", "--out", t.TempDir(), "--quiet"); err != nil {
		t.Fatal(err)
	}
	if n := starts(); n != 0 {
		t.Fatalf("validate, show and a sim of greenest started %d children", n)
	}

	simOut := t.TempDir()
	text, err := runCLI(t, "sim", path, "--out", simOut, "--quiet")
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if rows := tableRows(t, text); rows["external:green"] == "" || rows["external:green"] != rows["greenest"] {
		t.Errorf("sim of the file's policies:\n%s", text)
	}
	if n := starts(); n != 1 {
		t.Errorf("sim started %d children, want 1", n)
	}
	sum, err := os.ReadFile(filepath.Join(simOut, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sum), `"dir": "`+dir+`"`) || !strings.Contains(string(sum), `"threshold": 0.5`) {
		t.Errorf("summary.json lacks the external run's provenance:\n%s", sum)
	}

	benchOut := t.TempDir()
	if text, err := runCLI(t, "bench", "policies", path, "--runs", "2", "--baseline", "greenest", "--out", benchOut, "--quiet",
		"--external-options", `green={"threshold": 0.9}`); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if n := starts(); n != 3 {
		t.Errorf("bench policies started %d children in all, want 1 + 2", n)
	}
	sj, err := os.ReadFile(filepath.Join(benchOut, "sweep.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sj), `"threshold": 0.9`) || strings.Contains(string(sj), `"threshold": 0.5`) {
		t.Errorf("sweep.json does not record the overriding options:\n%s", sj)
	}
}
