package sim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/suanli/suanli/scheduler/external"
)

// externalName is what NAME in "external:NAME" may be: it names the
// child's log file in the output directory.
var externalName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ExternalFlags parses the --external NAME=COMMAND values (the command
// split into words as a shell would: spaces separate them, single and
// double quotes group them, a backslash escapes the next character; no
// variables or globs), the --external-options NAME=JSON values (a JSON
// object handed to the child in the hello) and --external-timeout into
// the specs of the external policies a run may name as "external:NAME".
func ExternalFlags(defs, options []string, timeout time.Duration) (map[string]external.Spec, error) {
	if timeout < 0 {
		return nil, fmt.Errorf("--external-timeout %v: want a duration > 0", timeout)
	}
	out := map[string]external.Spec{}
	for _, d := range defs {
		name, cmd, ok := strings.Cut(d, "=")
		name = strings.TrimSpace(name)
		if !ok || !externalName.MatchString(name) {
			return nil, fmt.Errorf("--external %q: want NAME=COMMAND with NAME of letters, digits, '.', '_' and '-' (e.g. --external green='python3 examples/policies/greedy_green.py')", d)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("--external %s: defined twice", name)
		}
		words, err := splitCommand(cmd)
		if err != nil {
			return nil, fmt.Errorf("--external %s: %w", name, err)
		}
		if len(words) == 0 {
			return nil, fmt.Errorf("--external %s: empty command", name)
		}
		out[name] = external.Spec{Command: words, Timeout: timeout}
	}
	for _, o := range options {
		name, js, ok := strings.Cut(o, "=")
		spec, known := out[strings.TrimSpace(name)]
		if !ok || !known {
			return nil, fmt.Errorf("--external-options %q: want NAME=JSON for a NAME given with --external", o)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(js), &m); err != nil || m == nil {
			return nil, fmt.Errorf("--external-options %s: want a JSON object, e.g. '{\"threshold\": 0.2}' (%v)", name, err)
		}
		if spec.Options != nil {
			return nil, fmt.Errorf("--external-options %s: given twice", name)
		}
		spec.Options = m
		out[strings.TrimSpace(name)] = spec
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
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
