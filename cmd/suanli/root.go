package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// subcommands are registered by the other files of this package from init
// functions, so each command lives in its own file.
var subcommands []func() *cobra.Command

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "suanli",
		Short: "Suanli (算力): scheduler and simulator of a province-wide industrial computing-power platform",
		Long: `Suanli schedules industrial workloads across Shandong's 1+3+N+X computing-power
tiers (core, cluster, edge) with a latency-, cost- and renewable-aware core, and
simulates the province so planners can compare policies before trusting them.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return badInput(err)
	})
	for _, mk := range subcommands {
		root.AddCommand(mk())
	}
	argsAreInput(root)
	return root
}

// argsAreInput makes a wrong number of arguments bad input (exit code 2,
// like a bad flag) on c and every command below it, and points at --help.
func argsAreInput(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return badInput(fmt.Errorf("%s: %w (usage: %s; see %s --help)", cmd.CommandPath(), err, cmd.UseLine(), cmd.CommandPath()))
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		argsAreInput(sub)
	}
}
