package cli

import "github.com/spf13/cobra"

func newDemoCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Start the sandbox with the demo organization and run keyrot against it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return nil
		},
	}
}
