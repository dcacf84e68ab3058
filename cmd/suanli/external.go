package main

import (
	"bytes"
	"io"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/suanli/suanli/scheduler/external"
	"github.com/suanli/suanli/sim"
)

// externalFlags are the flags that define external policies
// (docs/external-policy.md), shared by sim, explain and bench policies.
type externalFlags struct {
	defs    []string
	options []string
	timeout time.Duration
}

func (e *externalFlags) register(f *pflag.FlagSet) {
	f.StringArrayVar(&e.defs, "external", nil, "define external policy NAME, run with --policy external:NAME: NAME=COMMAND, the command a child process that speaks docs/external-policy.md's protocol (repeatable)")
	f.StringArrayVar(&e.options, "external-options", nil, "options for external policy NAME, sent in its hello: NAME=JSON object (repeatable)")
	f.DurationVar(&e.timeout, "external-timeout", external.DefaultTimeout, "how long an external policy may take to answer one decision before its run fails")
}

// externalDefs are the parsed flags: definitions, options for the
// scenario file's external policies, and the timeout when given (else 0:
// the file's policies keep theirs).
type externalDefs struct {
	specs   map[string]external.Spec
	options map[string]map[string]any
	timeout time.Duration
}

func (e *externalFlags) parse(f *pflag.FlagSet) (externalDefs, error) {
	specs, options, err := sim.ExternalFlags(e.defs, e.options, e.timeout)
	if err != nil {
		return externalDefs{}, err
	}
	d := externalDefs{specs: specs, options: options}
	if f.Changed("external-timeout") {
		// Given, it is every external policy's, the file's too (0:
		// the default, as for --external's).
		d.timeout = e.timeout
		if d.timeout == 0 {
			d.timeout = external.DefaultTimeout
		}
	}
	return d, nil
}

// prefixWriter writes every line with a prefix (a child's stderr on ours).
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	mid    bool // inside a line
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out bytes.Buffer
	for _, c := range b {
		if !p.mid {
			out.WriteString(p.prefix)
			p.mid = true
		}
		out.WriteByte(c)
		if c == '\n' {
			p.mid = false
		}
	}
	if _, err := p.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}
