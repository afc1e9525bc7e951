package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/policy"
)

// requireSubcommands makes every command of the tree that only groups
// subcommands (keyrot config, keyrot sandbox ctl clock) refuse an unknown
// subcommand as a usage error with a suggestion, instead of printing its
// help and exiting 0. Without arguments it still prints its help.
func requireSubcommands(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		requireSubcommands(c)
	}
	if !cmd.HasSubCommands() || cmd.Parent() == nil {
		return
	}
	if cmd.RunE == nil && cmd.Run == nil {
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return c.Help()
			}
			return unknownSubcommand(c, args[0])
		}
		return
	}
	// A command that runs by itself and has subcommands (keyrot sandbox):
	// a stray first argument is a misspelled subcommand.
	args := cmd.Args
	cmd.Args = func(c *cobra.Command, a []string) error {
		if len(a) > 0 {
			return unknownSubcommand(c, a[0])
		}
		if args != nil {
			return args(c, a)
		}
		return nil
	}
}

// unknownSubcommand is the usage error for `keyrot config valdate`: what
// was typed, the closest subcommands, and the list of them.
func unknownSubcommand(c *cobra.Command, arg string) error {
	var names []string
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() {
			names = append(names, s.Name())
		}
	}
	msg := fmt.Sprintf("unknown command %q for %q", arg, c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2
	}
	if sugg := c.SuggestionsFor(arg); len(sugg) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", strings.Join(sugg, `" or "`))
	} else {
		msg += "; its commands are " + strings.Join(names, ", ")
	}
	return usageErrorf("%s (see %s --help)", msg, c.CommandPath())
}

// durationValue is a flag that takes keyrot's one duration grammar: days
// and weeks ("5d", "2w") as well as Go durations ("36h", "200ms").
type durationValue time.Duration

func newDurationValue(p *time.Duration, def time.Duration) *durationValue {
	*p = def
	return (*durationValue)(p)
}

// Set parses s with policy.ParseDuration.
func (d *durationValue) Set(s string) error {
	v, err := policy.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

// String prints the duration in days when it is a whole number of them.
func (d *durationValue) String() string { return formatDuration(time.Duration(*d)) }

// Type names the value in --help.
func (d *durationValue) Type() string { return "duration" }

// formatDuration writes whole days as "3d", anything else as Go does.
func formatDuration(v time.Duration) string {
	const day = 24 * time.Hour
	if v > 0 && v%day == 0 {
		return fmt.Sprintf("%dd", v/day)
	}
	return v.String()
}

// durationVar defines a duration flag with keyrot's grammar (90d, 2w, 36h).
func durationVar(cmd *cobra.Command, p *time.Duration, name string, def time.Duration, usage string) {
	cmd.Flags().Var(newDurationValue(p, def), name, usage+" (e.g. 90d, 2w, 36h, 500ms)")
}

// logLevel parses --log-level.
func (g *globalOptions) logLevel() (slog.Level, error) {
	var lvl slog.Level
	switch strings.ToLower(g.LogLevel) {
	case "debug", "info", "warn", "error":
		_ = lvl.UnmarshalText([]byte(g.LogLevel))
		return lvl, nil
	}
	return 0, usageErrorf("--log-level must be debug, info, warn or error (got %q)", g.LogLevel)
}

// checkGlobal validates the flags every command shares, before it runs.
func (g *globalOptions) checkGlobal() error {
	if _, err := g.logLevel(); err != nil {
		return err
	}
	switch g.LogFormat {
	case "", "text", "json":
	default:
		return usageErrorf("--log-format must be text or json (got %q)", g.LogFormat)
	}
	switch g.Color {
	case "auto", "always", "never":
	default:
		return usageErrorf("--color must be auto, always or never (got %q)", g.Color)
	}
	return nil
}

// colorFor reports whether output to w is coloured: --color always forces
// it (CI logs), never, --no-color and NO_COLOR turn it off, and auto colours
// only a terminal whose TERM is not "dumb".
func (g *globalOptions) colorFor(w io.Writer) bool {
	switch {
	case g.Color == "never" || g.NoColor:
		return false
	case g.Color == "always":
		return true
	}
	return isTerminal(w) && !dumbTerminal()
}

// dumbTerminal reports TERM=dumb (or no TERM at all): a terminal that
// understands neither colours nor cursor movement.
func dumbTerminal() bool {
	t := os.Getenv("TERM")
	return t == "" || t == "dumb"
}
