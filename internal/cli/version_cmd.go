package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/buildinfo"
)

// VersionSchemaVersion is the version of keyrot version -o json, in its
// schema_version member; docs/json-output.md describes the format.
const VersionSchemaVersion = 1

// versionOptions are the flags of keyrot version.
type versionOptions struct {
	Output string
}

func newVersionCmd(g *globalOptions) *cobra.Command {
	o := &versionOptions{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show keyrot's version, commit, build date and Go version",
		Long: `Show which keyrot this is: its version, the Git commit it was built from (with +modified
when the tree had uncommitted changes), the commit's or release build's date, the Go version and
platform, and the main module as recorded in the binary. The first line is what keyrot --version
prints. Reads no AWS and no configuration.`,
		Example: `  keyrot version
  keyrot version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVersion(g.streams.Out, o, buildinfo.Get())
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "text", "text or json")
	return cmd
}

// versionJSON is keyrot version -o json.
type versionJSON struct {
	SchemaVersion int `json:"schema_version"`
	buildinfo.Info
}

func runVersion(out io.Writer, o *versionOptions, in buildinfo.Info) error {
	switch o.Output {
	case "json":
		return outputError(writeJSON(out, versionJSON{SchemaVersion: VersionSchemaVersion, Info: in}), false)
	case "text":
	default:
		return usageErrorf("--output must be text or json (got %q)", o.Output)
	}
	modified := "no"
	if in.Modified {
		modified = "yes"
	}
	mod := in.Module.Path
	if in.Module.Version != "" {
		mod += " " + in.Module.Version
	}
	if in.Module.Sum != "" {
		mod += " " + in.Module.Sum
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, versionLine(in))
	fmt.Fprintf(tw, "version:\t%s\n", in.Version)
	fmt.Fprintf(tw, "commit:\t%s\n", orUnknown(in.Commit))
	fmt.Fprintf(tw, "modified:\t%s\n", modified)
	fmt.Fprintf(tw, "date:\t%s\n", orUnknown(in.Date))
	fmt.Fprintf(tw, "go:\t%s\n", in.GoVersion)
	fmt.Fprintf(tw, "platform:\t%s\n", in.Platform)
	fmt.Fprintf(tw, "module:\t%s\n", orUnknown(mod))
	return outputError(tw.Flush(), false)
}

// versionLine is the one line of keyrot --version and the first of keyrot version.
func versionLine(in buildinfo.Info) string { return "keyrot " + in.String() }

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
