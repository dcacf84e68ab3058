// Command greedygreen is an external scheduling policy for Suanli written
// in Go with the protocol's client library (package scheduler/external):
// the rule of examples/policies/greedy_green.py, external.GreedyGreen.
// Copy it and write your own Decide.
//
//	go build -o bin/greedygreen ./examples/policies/greedygreen
//	go run ./cmd/suanli sim scenarios/shandong-baseline.yaml \
//	    --policy greenest,external:green --external green=bin/greedygreen
package main

import (
	"fmt"
	"os"

	"github.com/suanli/suanli/scheduler/external"
)

func main() {
	opt := external.ServeOptions{Start: func(h *external.Hello) error {
		// stdout is the protocol's: logs go to stderr
		fmt.Fprintf(os.Stderr, "greedygreen: %s, seed %d, %d sites\n", h.Scenario, h.Seed, len(h.Sites))
		return nil
	}}
	if err := external.Serve(os.Stdin, os.Stdout, opt, external.HandlerFunc(external.GreedyGreen)); err != nil {
		fmt.Fprintln(os.Stderr, "greedygreen:", err)
		os.Exit(1)
	}
}
