package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
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
	if _, err := runCLI(t, "scenario", "show", "-o", "xml", "../../scenarios/testdata/valid/minimal.yaml"); err == nil {
		t.Error("-o xml accepted")
	}
}
