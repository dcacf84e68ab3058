package sim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/suanli/suanli/scenarios"
	"github.com/suanli/suanli/scheduler"
)

// InputError marks an error caused by the input (an invalid scenario, an
// unknown policy, a bad override): the command exits with code 2.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// FileOptions configure RunFile.
type FileOptions struct {
	// Policies to compare (empty: the scenario's list).
	Policies []string
	// Seed, when non-nil, replaces the scenario's seed.
	Seed *uint64
	// Sets are overrides ("field.path=value") applied to the file before
	// it is validated.
	Sets []string
	// OutDir receives the outputs (default out/<scenario name>).
	OutDir string
	// Trace also writes trace.csv with one row per workload and policy.
	Trace bool
	// Progress, when non-nil, receives progress lines.
	Progress io.Writer
	// Clock is a monotonic clock in ns for the timing figures (nil: none).
	Clock func() int64
	// Scale, when not 0 or 1, grows the scenario (ScaleScenario).
	Scale float64
}

// FileResult is what RunFile produced.
type FileResult struct {
	Summary *Summary
	OutDir  string
	Files   []string
}

// RunFile is `suanli sim`: it loads the scenario at path with the
// overrides, runs every policy on the identical workload stream (in
// parallel) and writes summary.json, timeseries.csv, report.html (and
// trace.csv) into the output directory. Errors caused by the input are
// *InputError.
func RunFile(path string, opt FileOptions) (*FileResult, error) {
	for _, p := range opt.Policies {
		if _, err := scheduler.LookupPolicy(p); err != nil {
			return nil, &InputError{fmt.Errorf("--policy: %w", err)}
		}
	}
	s, err := scenarios.Load(path, scenarios.LoadOptions{KnownPolicies: scheduler.PolicyNames(), Sets: opt.Sets})
	if err != nil {
		return nil, &InputError{err}
	}
	if opt.Seed != nil {
		s.Seed = *opt.Seed
	}
	if opt.Scale != 0 && opt.Scale != 1 {
		if err := ScaleScenario(s, opt.Scale); err != nil {
			return nil, &InputError{fmt.Errorf("--scale: %w", err)}
		}
	}
	cfg, err := FromScenario(s)
	if err != nil {
		return nil, &InputError{fmt.Errorf("%s: %w", path, err)}
	}
	if err := cfg.Validate(); err != nil {
		return nil, &InputError{fmt.Errorf("%s: %w", path, err)}
	}
	dir := opt.OutDir
	if dir == "" {
		dir = filepath.Join("out", s.Name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sim: outputs: %w", err)
	}
	ro := RunOptions{Clock: opt.Clock, Progress: opt.Progress}
	if opt.Trace {
		ro.TraceDir = dir
	}
	runs, err := RunPolicies(cfg, opt.Policies, ro)
	if err != nil {
		return nil, err
	}
	sum, err := WriteOutputs(dir, cfg, MetaOf(s, cfg), runs)
	if err != nil {
		return nil, err
	}
	res := &FileResult{Summary: sum, OutDir: dir}
	for _, f := range []string{"summary.json", "timeseries.csv", "report.html"} {
		res.Files = append(res.Files, filepath.Join(dir, f))
	}
	if opt.Trace {
		res.Files = append(res.Files, filepath.Join(dir, "trace.csv"))
	}
	return res, nil
}

// IsInputError reports whether err was caused by the input.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// ParsePolicies splits a comma-separated --policy value, trimming spaces
// and dropping empty names.
func ParsePolicies(list []string) []string {
	var out []string
	for _, x := range list {
		for _, p := range strings.Split(x, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
