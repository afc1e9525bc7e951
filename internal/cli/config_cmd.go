package cli

import "github.com/spf13/cobra"

func newConfigCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{Use: "config", Short: "Write, check and describe keyrot.yaml"}
}
