package sim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// RunOptions tune RunPolicies.
type RunOptions struct {
	// TraceDir, if set, receives trace.csv with every workload of every
	// policy (policies in the order asked).
	TraceDir string
	// Clock returns a monotonic time in ns (wall time and decision
	// timings); nil means no timings.
	Clock func() int64
	// Progress, if set, receives a line per policy every 10 % of the
	// horizon.
	Progress io.Writer
	// CheckInvariants enables the runner's test-mode checks.
	CheckInvariants bool
}

// Run is one policy's result with its wall time.
type Run struct {
	*Result
	WallSeconds float64
}

// RunPolicies runs every policy on cfg, one goroutine each, on the same
// workload stream (every run derives its streams from cfg.Seed alone), and
// returns the results in the order of policies.
func RunPolicies(cfg *Config, policies []string, opt RunOptions) ([]Run, error) {
	if len(policies) == 0 {
		policies = cfg.Policies
	}
	if len(policies) == 0 {
		return nil, errors.New("sim: no policies to run")
	}
	runners := make([]*Runner, len(policies))
	traces := make([]*os.File, len(policies))
	defer func() {
		for _, f := range traces {
			if f != nil {
				f.Close()
				os.Remove(f.Name())
			}
		}
	}()
	var mu sync.Mutex
	for i, p := range policies {
		o := Options{Clock: opt.Clock, CheckInvariants: opt.CheckInvariants}
		if opt.TraceDir != "" {
			f, err := os.CreateTemp(opt.TraceDir, ".trace-*.csv")
			if err != nil {
				return nil, fmt.Errorf("sim: trace: %w", err)
			}
			traces[i] = f
			o.Trace = f
		}
		if opt.Progress != nil {
			p := p
			next := 0.1
			o.Progress = func(done, horizon time.Duration) {
				if f := float64(done) / float64(horizon); f >= next-1e-9 {
					for next <= f+1e-9 {
						next += 0.1
					}
					mu.Lock()
					fmt.Fprintf(opt.Progress, "sim: %-14s %3.0f%% (%s of %s simulated)\n", p, 100*f, fmtHours(done), fmtHours(horizon))
					mu.Unlock()
				}
			}
		}
		r, err := NewRunner(cfg, p, o)
		if err != nil {
			for _, started := range runners[:i] {
				started.Close() // stop the external policies started
			}
			return nil, err
		}
		runners[i] = r
	}
	out := make([]Run, len(policies))
	errs := make([]error, len(policies))
	var wg sync.WaitGroup
	for i := range runners {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var t0 int64
			if opt.Clock != nil {
				t0 = opt.Clock()
			}
			res, err := runners[i].Run()
			if err != nil {
				errs[i] = fmt.Errorf("policy %s: %w", policies[i], err)
				return
			}
			out[i].Result = res
			if opt.Clock != nil {
				out[i].WallSeconds = float64(opt.Clock()-t0) / 1e9
			}
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if opt.TraceDir != "" {
		if err := joinTraces(filepath.Join(opt.TraceDir, "trace.csv"), traces); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// joinTraces writes the header and the policies' parts into path,
// atomically (WriteFilesAtomic).
func joinTraces(path string, parts []*os.File) error {
	err := WriteFilesAtomic([]string{path}, []func(io.Writer) error{func(w io.Writer) error {
		if _, err := io.WriteString(w, TraceHeader); err != nil {
			return err
		}
		for _, p := range parts {
			if _, err := p.Seek(0, io.SeekStart); err != nil {
				return err
			}
			if _, err := io.Copy(w, p); err != nil {
				return err
			}
		}
		return nil
	}})
	if err != nil {
		return fmt.Errorf("sim: trace: %w", err)
	}
	return nil
}

func fmtHours(d time.Duration) string {
	return fmt.Sprintf("%.0fh", d.Hours())
}
