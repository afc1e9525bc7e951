package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/config"
	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/backends"
	"github.com/keyrot/keyrot/internal/policy"
)

// configOptions are the flags of keyrot config validate and init.
type configOptions struct {
	File  string
	Force bool
	// CheckDestinations makes validate also check each delivery
	// destination the file declares (it exists, the token may write it).
	CheckDestinations bool
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
		RunE: func(cmd *cobra.Command, _ []string) error { return runConfigValidate(cmd.Context(), g, opts) },
	}
	cmd.Flags().StringVarP(&opts.File, "file", "f", policy.DefaultFile, "policy file to check")
	cmd.Flags().BoolVar(&opts.CheckDestinations, "check-destinations", false,
		"also check that each delivery destination the rules name exists and its token may write it (reads only)")
	addConfigAlias(cmd, opts)
	return cmd
}

func runConfigValidate(ctx context.Context, g *globalOptions, opts *configOptions) error {
	c, err := config.Load(opts.File)
	var probs policy.Problems
	switch {
	case err == nil:
		fmt.Fprintf(g.streams.Out, "%s: valid\n", opts.File)
		if opts.CheckDestinations {
			return checkDestinations(ctx, g, c)
		}
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

// destinationEnv is what opening targets outside a run uses: tokens from
// the environment, and AWS (Secrets Manager for token_secret, the
// destination account's role for ssm and lambda) loaded only when a target
// needs it.
func destinationEnv(ctx context.Context, g *globalOptions, c *config.Config, targets []deliver.Target) (backends.Env, error) {
	home, _ := os.UserHomeDir()
	env := backends.Env{Getenv: os.Getenv, Home: home}
	for _, t := range targets {
		if t.Provider.TokenSecret == "" && !deliver.IsAWS(t.Ref.Kind) {
			continue
		}
		cfg, err := loadAWS(ctx, g)
		if err != nil {
			return env, err
		}
		env.Secrets = backends.SecretsManager{API: secretsmanager.NewFromConfig(cfg)}
		org := c.Policy.Organization
		env.AWS = awsaccess.New(cfg, awsaccess.Role{Name: org.RoleName, ExternalID: org.ExternalID})
		break
	}
	return env, nil
}

// checkDestinations checks every destination the deliver rules name,
// printing one line per destination; AWS is reached (Secrets Manager for
// token_secret, the destination account's role for ssm and lambda) only
// when a destination needs it.
func checkDestinations(ctx context.Context, g *globalOptions, c *config.Config) error {
	targets := c.Deliver.Declared()
	if len(targets) == 0 {
		fmt.Fprintln(g.streams.Out, "no delivery destinations declared")
		return nil
	}
	env, err := destinationEnv(ctx, g, c, targets)
	if err != nil {
		return err
	}
	res, err := backends.CheckAll(ctx, targets, env)
	for _, r := range res {
		if r.Err != nil {
			fmt.Fprintf(g.streams.Err, "%s (%s): %v\n", r.Target.Ref, r.Target.From, r.Err)
			continue
		}
		fmt.Fprintf(g.streams.Out, "%s: ok\n", r.Target.Ref)
	}
	if err != nil {
		return withCode(ExitError, fmt.Errorf("%d of %d destination(s) failed the check", countFailed(res), len(res)))
	}
	return nil
}

func countFailed(res []backends.Result) int {
	n := 0
	for _, r := range res {
		if r.Err != nil {
			n++
		}
	}
	return n
}
