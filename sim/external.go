package sim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/suanli/suanli/scheduler/external"
)

// ExternalFlags parses the --external NAME=COMMAND values (the command
// split into words as a shell would: spaces separate them, single and
// double quotes group them, a backslash escapes the next character; no
// variables or globs), the --external-options NAME=JSON values (a JSON
// object handed to the child in the hello) and --external-timeout into
// the specs of the external policies a run may name as "external:NAME",
// each with its options and the timeout. Options for a NAME --external
// does not define are returned apart, in options: they are for an
// external policy of the scenario file (Config.ApplyExternal checks that
// it defines NAME).
func ExternalFlags(defs, opts []string, timeout time.Duration) (specs map[string]external.Spec, options map[string]map[string]any, err error) {
	if timeout < 0 {
		return nil, nil, fmt.Errorf("--external-timeout %v: want a duration > 0", timeout)
	}
	out := map[string]external.Spec{}
	for _, d := range defs {
		name, cmd, ok := strings.Cut(d, "=")
		name = strings.TrimSpace(name)
		if !ok || !external.ValidName(name) {
			return nil, nil, fmt.Errorf("--external %q: want NAME=COMMAND with NAME of letters, digits, '.', '_' and '-' (e.g. --external green='python3 examples/policies/greedy_green.py')", d)
		}
		if _, dup := out[name]; dup {
			return nil, nil, fmt.Errorf("--external %s: defined twice", name)
		}
		words, err := splitCommand(cmd)
		if err != nil {
			return nil, nil, fmt.Errorf("--external %s: %w", name, err)
		}
		if len(words) == 0 {
			return nil, nil, fmt.Errorf("--external %s: empty command", name)
		}
		out[name] = external.Spec{Command: words, Timeout: timeout}
	}
	seen := map[string]bool{}
	for _, o := range opts {
		name, js, ok := strings.Cut(o, "=")
		name = strings.TrimSpace(name)
		if !ok || !external.ValidName(name) {
			return nil, nil, fmt.Errorf("--external-options %q: want NAME=JSON, NAME an external policy given with --external or in the scenario's external_policies", o)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(js), &m); err != nil || m == nil {
			return nil, nil, fmt.Errorf("--external-options %s: want a JSON object, e.g. '{\"threshold\": 0.2}' (%v)", name, err)
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("--external-options %s: given twice", name)
		}
		seen[name] = true
		if spec, known := out[name]; known {
			spec.Options = m
			out[name] = spec
			continue
		}
		if options == nil {
			options = map[string]map[string]any{}
		}
		options[name] = m
	}
	if len(out) == 0 {
		out = nil
	}
	return out, options, nil
}

// ApplyExternal lays the command line's external policies over the
// scenario file's (c.External, from its external_policies): a definition
// of defs (--external NAME=COMMAND) replaces the file's of the same NAME
// whole — command, working directory (the simulator's), options —; options
// (--external-options for a NAME of the file only) replace that policy's
// options; timeout, when > 0 (--external-timeout given), replaces every
// external policy's timeout. An option for a NAME defined nowhere is an
// error.
func (c *Config) ApplyExternal(defs map[string]external.Spec, options map[string]map[string]any, timeout time.Duration) error {
	if len(defs) == 0 && len(options) == 0 && timeout <= 0 {
		return nil
	}
	out := make(map[string]external.Spec, len(c.External)+len(defs))
	for n, s := range c.External {
		out[n] = s
	}
	for n, s := range defs {
		out[n] = s
	}
	names := make([]string, 0, len(options))
	for n := range options {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		spec, ok := out[n]
		if !ok {
			return fmt.Errorf("--external-options %s: no external policy %q is defined (give its command with --external %s=COMMAND, or in the scenario's external_policies)", n, n, n)
		}
		spec.Options = options[n]
		out[n] = spec
	}
	if timeout > 0 {
		for n, s := range out {
			s.Timeout = timeout
			out[n] = s
		}
	}
	c.External = out
	return nil
}

// splitCommand splits a command line into words (see ExternalFlags).
func splitCommand(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
		quote rune
	)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == '\'':
			cur.WriteRune(c)
		case c == '\\' && quote != '\'':
			if i+1 == len(rs) {
				return nil, fmt.Errorf("command %q ends with a backslash", s)
			}
			i++
			cur.WriteRune(rs[i])
			in = true
		case quote == '"':
			cur.WriteRune(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("command %q has an unclosed %c quote", s, quote)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// externalLogs opens <dir>/external-NAME.log for every external policy
// among policies and returns cfg.External with each spec's stderr going
// to its file, and a function that closes them.
func externalLogs(dir string, cfg *Config, policies []string) (map[string]external.Spec, func(), error) {
	out := make(map[string]external.Spec, len(cfg.External))
	var files []*os.File
	done := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for n, s := range cfg.External {
		out[n] = s
	}
	for _, p := range policies {
		name, ok := strings.CutPrefix(p, external.Prefix)
		if !ok {
			continue
		}
		spec, ok := out[name]
		if !ok {
			continue // CheckPolicy reports it
		}
		f, err := os.Create(filepath.Join(dir, "external-"+name+".log"))
		if err != nil {
			done()
			return nil, nil, fmt.Errorf("sim: log of external policy %s: %w", name, err)
		}
		files = append(files, f)
		spec.Stderr = f
		out[name] = spec
	}
	return out, done, nil
}
