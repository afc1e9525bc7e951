package cli

import "github.com/spf13/cobra"

func newSandboxCtlCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{Use: "ctl", Short: "Control a running sandbox (clock, faults, scenarios, captured messages)"}
}
