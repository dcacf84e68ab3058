package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/suanli/suanli/scenarios"
	"github.com/suanli/suanli/scheduler"
	"github.com/suanli/suanli/sim"
)

func init() { subcommands = append(subcommands, newScenarioCmd) }

func newScenarioCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scenario",
		Short: "Check and inspect scenario files",
	}
	cmd.AddCommand(newScenarioValidateCmd(), newScenarioShowCmd())
	return cmd
}

// scenarioLoadOptions are the options every scenario command loads with:
// policies are checked against the scheduler's registry.
func scenarioLoadOptions(sets []string, skipData bool) scenarios.LoadOptions {
	return scenarios.LoadOptions{KnownPolicies: scheduler.PolicyNames(), Sets: sets, SkipData: skipData}
}

func newScenarioValidateCmd() *cobra.Command {
	var sets []string
	var skipData bool
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario files; print ok or every error with file:line:col (exit code 2 if any is invalid)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var bad []error
			for _, f := range args {
				s, err := scenarios.Load(f, scenarioLoadOptions(sets, skipData))
				if err != nil {
					fmt.Fprintln(cmd.OutOrStdout(), err)
					bad = append(bad, err)
					continue
				}
				if !skipData {
					// what the simulator builds from it (a safety net
					// behind the loader's checks)
					if err := sim.CheckScenario(s); err != nil {
						err = fmt.Errorf("%s: %w", f, err)
						fmt.Fprintln(cmd.OutOrStdout(), err)
						bad = append(bad, err)
						continue
					}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%s: %d sites, %d nodes, %d workloads, ~%.0f instances over %s, sha256 %s)\n",
					f, s.Name, len(s.Sites), s.TotalNodes(), len(s.Workloads), s.ExpectedTotal(), s.Horizon, s.SHA256[:12])
			}
			if len(bad) > 0 {
				return badInput(fmt.Errorf("%d of %d scenario files are invalid", len(bad), len(args)))
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a field before validation, e.g. --set sites[jn-core].battery.mwh=20 (repeatable)")
	cmd.Flags().BoolVar(&skipData, "skip-data", false, "do not open the files a scenario refers to (traces, CSV series, SPECpower)")
	return cmd
}

func newScenarioShowCmd() *cobra.Command {
	var sets []string
	var format string
	cmd := &cobra.Command{
		Use:   "show FILE",
		Short: "Print the resolved scenario (defaults filled, site groups expanded) as YAML or JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := scenarios.Load(args[0], scenarioLoadOptions(sets, false))
			if err != nil {
				return badInput(err)
			}
			var out []byte
			switch format {
			case "yaml":
				out, err = s.EncodeYAML()
			case "json":
				out, err = s.EncodeJSON()
			default:
				return badInput(errors.New("--output must be yaml or json"))
			}
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a field, e.g. --set horizon=1d (repeatable)")
	cmd.Flags().StringVarP(&format, "output", "o", "yaml", "output format: yaml or json")
	return cmd
}
