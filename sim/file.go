package sim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/suanli/suanli/scenarios"
	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/scheduler/external"
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
	// External are the command line's external policies (--external,
	// ExternalFlags), laid over the scenario file's external_policies
	// (Config.ApplyExternal) with ExternalOptions and ExternalTimeout; a
	// run may name any of them as "external:NAME", and each one run
	// writes its child's stderr to external-NAME.log in the output
	// directory.
	External map[string]external.Spec
	// ExternalOptions are --external-options for external policies of
	// the scenario file.
	ExternalOptions map[string]map[string]any
	// ExternalTimeout, when > 0, is every external policy's timeout.
	ExternalTimeout time.Duration
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
	for i, p := range opt.Policies {
		if slices.Contains(opt.Policies[:i], p) {
			return nil, &InputError{fmt.Errorf("--policy: duplicate policy %q (each policy runs once)", p)}
		}
		if _, ext := strings.CutPrefix(p, external.Prefix); !ext {
			if _, err := scheduler.LookupPolicy(p); err != nil {
				return nil, &InputError{fmt.Errorf("--policy: %w", err)}
			}
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
	if err := cfg.ApplyExternal(opt.External, opt.ExternalOptions, opt.ExternalTimeout); err != nil {
		return nil, &InputError{err}
	}
	// External policies are checked once the file's are known.
	for _, p := range opt.Policies {
		if err := cfg.CheckPolicy(p); err != nil {
			return nil, &InputError{fmt.Errorf("--policy: %w", err)}
		}
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
	policies := opt.Policies
	if len(policies) == 0 {
		policies = cfg.Policies
	}
	ext, closeLogs, err := externalLogs(dir, cfg, policies)
	if err != nil {
		return nil, err
	}
	defer closeLogs()
	cfg.External = ext
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

// PolicyFlag parses the values of a --policy flag (each a comma-separated
// list; the flag may be repeated), trimming spaces. given says whether the
// flag was on the command line: without it the result is nil (the
// scenario's list). With it, an empty list (--policy ”), an empty name
// (--policy balanced,) and a name listed twice are errors, as they are in
// a scenario's policies.
func PolicyFlag(values []string, given bool) ([]string, error) {
	if !given {
		return nil, nil
	}
	var out []string
	empty := false
	for _, x := range values {
		for _, p := range strings.Split(x, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				empty = true
				continue
			}
			if slices.Contains(out, p) {
				return nil, fmt.Errorf("--policy: duplicate policy %q (each policy runs once)", p)
			}
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--policy: empty policy list (name at least one policy, or leave the flag out for the scenario's list; see suanli policies)")
	}
	if empty {
		return nil, fmt.Errorf("--policy %q: empty policy name (give names separated by commas, e.g. balanced,greenest)", strings.Join(values, ","))
	}
	return out, nil
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

// ExplainOptions configure ExplainFile.
type ExplainOptions struct {
	// Policy is the policy to run (default: the scenario's first).
	Policy string
	// Workload is the workload id, "<class>-<n>" as in trace.csv: the
	// n-th instance (from 0) of the class.
	Workload string
	// Decision is which of its decisions to explain: n >= 1 the n-th
	// (0: the first), -1 the last before the horizon.
	Decision int
	// WhyNotSites and WhyNotNodes name sites and nodes (by id) whose
	// rejection to explain; TopK is how many scored candidates to list
	// (default 5).
	WhyNotSites, WhyNotNodes []string
	TopK                     int
	// Seed and Sets as in FileOptions.
	Seed *uint64
	Sets []string
	// External, ExternalOptions and ExternalTimeout as in FileOptions;
	// the specs' Stderr is used as given.
	External        map[string]external.Spec
	ExternalOptions map[string]map[string]any
	ExternalTimeout time.Duration
	// ExternalStderr, when set, gives the writer of external policy
	// NAME's stderr (for the file's policies and those of External
	// without a Stderr).
	ExternalStderr func(name string) io.Writer
}

// ExplainResult is the explanation of one decision.
type ExplainResult struct {
	Explanation *scheduler.Explanation
	Workload    scheduler.Workload
	At          time.Time
	Policy      string
	// Decision is the number (from 1) of the explained decision among the
	// workload's decisions.
	Decision int
}

// ExplainFile is `suanli explain`: it runs the scenario at path under one
// policy until the named workload is decided (the first time, or the
// n-th, or the last before the horizon: opt.Decision), and returns the
// core's explanation of that decision (which filter removed which sites and how
// many nodes, the scored candidates, and why the named sites and nodes
// lost). The run up to that point is the same as `suanli sim`'s, so the
// explanation is of the decision the simulation made.
func ExplainFile(path string, opt ExplainOptions) (*ExplainResult, error) {
	s, err := scenarios.Load(path, scenarios.LoadOptions{KnownPolicies: scheduler.PolicyNames(), Sets: opt.Sets})
	if err != nil {
		return nil, &InputError{err}
	}
	if opt.Seed != nil {
		s.Seed = *opt.Seed
	}
	cfg, err := FromScenario(s)
	if err != nil {
		return nil, &InputError{fmt.Errorf("%s: %w", path, err)}
	}
	if err := cfg.ApplyExternal(opt.External, opt.ExternalOptions, opt.ExternalTimeout); err != nil {
		return nil, &InputError{err}
	}
	if opt.ExternalStderr != nil {
		ext := make(map[string]external.Spec, len(cfg.External))
		for n, spec := range cfg.External {
			if spec.Stderr == nil {
				spec.Stderr = opt.ExternalStderr(n)
			}
			ext[n] = spec
		}
		cfg.External = ext
	}
	policy := opt.Policy
	if policy == "" {
		policy = cfg.Policies[0]
	}
	if err := cfg.CheckPolicy(policy); err != nil {
		return nil, &InputError{fmt.Errorf("--policy: %w", err)}
	}
	target, err := explainTarget(cfg, opt.Workload)
	if err != nil {
		return nil, &InputError{err}
	}
	ex := &scheduler.Explanation{TopK: opt.TopK}
	for _, id := range opt.WhyNotSites {
		i := cfg.Topology.SiteIndex(id)
		if i < 0 {
			ids := make([]string, len(cfg.Topology.Sites))
			for k, site := range cfg.Topology.Sites {
				ids[k] = site.ID
			}
			return nil, &InputError{fmt.Errorf("--why-not-site: unknown site %q (allowed: %s)", id, strings.Join(ids, ", "))}
		}
		ex.WhyNotSites = append(ex.WhyNotSites, i)
	}
	for _, id := range opt.WhyNotNodes {
		i := -1
		for k := range cfg.Topology.Nodes {
			if cfg.Topology.Nodes[k].ID == id {
				i = k
				break
			}
		}
		if i < 0 {
			return nil, &InputError{fmt.Errorf("--why-not-node: unknown node %q (node ids are <site>/<type>-<n>, e.g. %s)", id, cfg.Topology.Nodes[0].ID)}
		}
		ex.WhyNotNodes = append(ex.WhyNotNodes, i)
	}
	if opt.Decision < -1 {
		return nil, &InputError{fmt.Errorf("--decision %d: want a decision number >= 1, or last", opt.Decision)}
	}
	target.Decision = opt.Decision
	target.Explanation = ex
	r, err := NewRunner(cfg, policy, Options{Explain: target})
	if err != nil {
		return nil, err
	}
	err = r.RunUntil(int64(cfg.Horizon))
	if cerr := r.Close(); err == nil && cerr != nil && !target.Done {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if target.Seen == 0 {
		return nil, &InputError{fmt.Errorf("workload %s: class %s has only %d arrivals before the horizon (ids from %s-0)",
			opt.Workload, cfg.Classes[target.Class].Name, r.gens[target.Class].count, cfg.Classes[target.Class].Name)}
	}
	n := target.Seen
	if target.Decision >= 0 && !target.Done {
		return nil, &InputError{fmt.Errorf("--decision %d: workload %s was decided only %d time(s) before the horizon (policy %s)",
			target.Decision, opt.Workload, target.Seen, policy)}
	}
	return &ExplainResult{Explanation: ex, Workload: target.Workload, At: target.At, Policy: policy, Decision: n}, nil
}

// explainTarget parses "<class>-<n>".
func explainTarget(cfg *Config, id string) (*ExplainTarget, error) {
	names := make([]string, len(cfg.Classes))
	for i, k := range cfg.Classes {
		names[i] = k.Name
	}
	i := strings.LastIndexByte(id, '-')
	if i <= 0 || i == len(id)-1 {
		return nil, fmt.Errorf("--workload %q: want <class>-<n>, e.g. %s-0 (classes: %s)", id, names[0], strings.Join(names, ", "))
	}
	seq, err := strconv.ParseInt(id[i+1:], 10, 64)
	if err != nil || seq < 0 {
		return nil, fmt.Errorf("--workload %q: %q is not an instance number >= 0", id, id[i+1:])
	}
	for k, n := range names {
		if n == id[:i] {
			return &ExplainTarget{Class: k, Seq: seq}, nil
		}
	}
	return nil, fmt.Errorf("--workload %q: unknown class %q (allowed: %s)", id, id[:i], strings.Join(names, ", "))
}
