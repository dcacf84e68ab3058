// Command suanli is the command-line entry point of Suanli: the simulator
// (suanli sim), scenario tools, benchmarks, the replicated scheduler server,
// the node agent and the API client. It only parses flags, wires packages
// together and calls them; behaviour lives in the packages.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	_ "github.com/suanli/suanli/scheduler/optimize" // registers the "optimizer" policy
)

func main() {
	err := newRootCmd().Execute()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "suanli:", err)
	os.Exit(exitCode(err))
}

// exitCode is 2 for bad input (flags, arguments, unknown commands, bad
// files) and 1 for every other failure.
func exitCode(err error) int {
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	if strings.HasPrefix(err.Error(), "unknown command ") { // cobra's own, not wrappable
		return 2
	}
	return 1
}

// exitCoder is an error that chooses the process exit code.
type exitCoder interface {
	error
	ExitCode() int
}

// exitError wraps an error with an exit code: 2 for bad input (usage,
// invalid scenario files), 1 for everything else.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }

// badInput marks err as caused by bad input (exit code 2).
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: 2, err: err}
}
