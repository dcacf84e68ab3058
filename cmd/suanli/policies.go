package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/suanli/suanli/scheduler"
)

func init() { subcommands = append(subcommands, newPoliciesCmd) }

func newPoliciesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "policies",
		Short: "List the scheduling policies and what they optimise",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "POLICY\tWEIGHTS (latency cost carbon binpack spread)\tDESCRIPTION")
			for _, name := range scheduler.PolicyNames() {
				p, err := scheduler.LookupPolicy(name)
				if err != nil {
					return err
				}
				w := p.Weights
				fmt.Fprintf(tw, "%s\t%g %g %g %g %g\t%s\n", name, w[0], w[1], w[2], w[3], w[4], p.Description)
			}
			fmt.Fprintf(tw, "external:NAME\t-\t%s\n", "a policy in a child process, any language (suanli sim and explain: --external NAME=COMMAND; docs/external-policy.md)")
			return tw.Flush()
		},
	}
}
