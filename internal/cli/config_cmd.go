package cli

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/config"
	"github.com/keyrot/keyrot/internal/policy"
)

// configOptions are the flags of keyrot config validate and init.
type configOptions struct {
	File  string
	Force bool
}

func newConfigCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write, check and describe keyrot.yaml",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newConfigValidateCmd(g), newConfigInitCmd(g), newConfigSchemaCmd(g))
	return cmd
}

func newConfigValidateCmd(g *globalOptions) *cobra.Command {
	opts := &configOptions{}
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check keyrot.yaml and list every problem with its line",
		Long: "Check keyrot.yaml strictly: unknown keys, bad values and inconsistent thresholds are\n" +
			"all reported, one per line as file:line: path: problem. Exits 0 when the file is valid\n" +
			"and 2 when it is not.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runConfigValidate(g, opts) },
	}
	cmd.Flags().StringVarP(&opts.File, "file", "f", policy.DefaultFile, "policy file to check")
	addConfigAlias(cmd, opts)
	return cmd
}

func runConfigValidate(g *globalOptions, opts *configOptions) error {
	_, err := config.Load(opts.File)
	var probs policy.Problems
	switch {
	case err == nil:
		fmt.Fprintf(g.streams.Out, "%s: valid\n", opts.File)
		return nil
	case errors.As(err, &probs):
		for _, p := range probs {
			fmt.Fprintln(g.streams.Err, p.String())
		}
		fmt.Fprintf(g.streams.Err, "%s: %d problem(s)\n", opts.File, len(probs))
		return silentExit(ExitUsage)
	case errors.Is(err, fs.ErrNotExist):
		return usageErrorf("%s does not exist; create one with keyrot config init", opts.File)
	default:
		return withCode(ExitUsage, err)
	}
}

// addConfigAlias adds -c/--config, the name every other command gives the
// policy file, as another name of --file.
func addConfigAlias(cmd *cobra.Command, opts *configOptions) {
	cmd.Flags().StringVarP(&opts.File, "config", "c", policy.DefaultFile, "the same as --file, as on every other command")
}

func newConfigInitCmd(g *globalOptions) *cobra.Command {
	opts := &configOptions{}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented keyrot.yaml with the default settings",
		Long: "Write a commented keyrot.yaml holding every setting at its default (CIS AWS Foundations\n" +
			"Benchmark thresholds). An existing file is never replaced unless --force is given.\n" +
			"Use -c - to print it instead.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.File == "-" {
				_, err := g.streams.Out.Write(policy.Init())
				return err
			}
			if err := policy.WriteInit(opts.File, opts.Force); err != nil {
				if errors.Is(err, policy.ErrExists) {
					return usageErrorf("%s already exists; use --force to replace it", opts.File)
				}
				return err
			}
			fmt.Fprintf(g.streams.Err, "wrote %s\n", opts.File)
			return nil
		},
	}
	cmd.Flags().StringVarP(&opts.File, "file", "f", policy.DefaultFile, "where to write the file (- for standard output)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace the file if it exists")
	addConfigAlias(cmd, opts)
	return cmd
}

func newConfigSchemaCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of keyrot.yaml, for editors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := g.streams.Out.Write(policy.Schema())
			return err
		},
	}
}
