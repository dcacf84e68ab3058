package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suanli/suanli/scheduler/external"
)

const cliHelperEnv = "SUANLI_CLI_EXTERNAL_HELPER"

// TestCLIExternalHelperProcess is the child policy of the tests below:
// this test binary serving external.GreedyGreen (not a test itself).
func TestCLIExternalHelperProcess(t *testing.T) {
	if os.Getenv(cliHelperEnv) == "" {
		t.Skip("only run as a child process")
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
		{[]string{"sim", tiny, "--policy", "external:mine"}, `--policy: policy external:mine: no external policy "mine" is defined (give its command with --external mine=COMMAND)`},
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
