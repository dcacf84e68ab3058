package main

import (
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
	return root
}
