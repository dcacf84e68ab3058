package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/suanli/suanli/scheduler/server/gossip"
)

func init() { subcommands = append(subcommands, newKeygenCmd) }

func newKeygenCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "Print a new random gossip encryption key (for --gossip-key / SUANLI_GOSSIP_KEY)",
		Long: `Print a new random 32-byte gossip key, base64-encoded (AES-256-GCM). Every
server and agent of a cluster needs the same key:

  export SUANLI_GOSSIP_KEY=$(suanli keygen)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), gossip.NewKey())
			return err
		},
	}
}
