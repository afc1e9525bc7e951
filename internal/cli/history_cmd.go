package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
)

type historyOptions struct {
	StateDir string
	Account  string
	User     string
	Limit    int
	Output   string
}

func newHistoryCmd(g *globalOptions) *cobra.Command {
	o := &historyOptions{}
	cmd := &cobra.Command{
		Use:   "history [--account A --user U]",
		Short: "Show what keyrot did and why: recent runs, or one user's key story",
		Long: `Read the local history database (never AWS). Without --user: the most recent runs with
their outcome. With --account and --user: that user's story, in time order: every action
keyrot journaled (with its reason and outcome) and every key event it recorded (created,
stored, verified, deactivated, reactivated, deleted). An action still "started" was
interrupted by a crash; keyrot's next apply reconciles it with AWS.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runHistory(cmd.Context(), g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.StateDir, "state-dir", "", "directory of the history database (default: KEYROT_STATE_DIR, else $XDG_STATE_HOME/keyrot)")
	f.StringVar(&o.Account, "account", "", "account ID (with --user)")
	f.StringVar(&o.User, "user", "", "IAM user name (with --account)")
	f.IntVar(&o.Limit, "limit", 20, "how many runs to list")
	f.StringVarP(&o.Output, "output", "o", "table", "table or json")
	return cmd
}

func runHistory(ctx context.Context, g *globalOptions, o *historyOptions) error {
	if (o.Account == "") != (o.User == "") {
		return usageErrorf("--account and --user go together")
	}
	if o.Limit < 1 {
		return usageErrorf("--limit must be at least 1 (got %d)", o.Limit)
	}
	if o.Output != "table" && o.Output != "json" {
		return usageErrorf("--output must be table or json (got %q)", o.Output)
	}
	path, err := historyPath(o.StateDir)
	if err != nil {
		return err
	}
	h, err := history.Open(ctx, path)
	if err != nil {
		return err
	}
	defer h.Close()
	host, _ := os.Hostname()
	a := &app.App{History: h, Logger: g.logger(), Host: host, Version: Version}
	out := g.streams.Out
	if o.User == "" {
		runs, err := a.Runs(ctx, o.Limit)
		if err != nil {
			return err
		}
		if o.Output == "json" {
			return outputError(writeJSON(out, historyRunsJSON(runs)), false)
		}
		if len(runs) == 0 {
			fmt.Fprintf(out, "no runs recorded in %s (apply, rollback and rotate record theirs)\n", path)
			return nil
		}
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tSTARTED\tCOMMAND\tMODE\tSTATUS\tSUMMARY")
		for _, r := range runs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Started.UTC().Format(time.RFC3339), r.Command, r.Mode, r.Status, r.Summary)
		}
		return outputError(tw.Flush(), false)
	}
	story, err := a.KeyStory(ctx, o.Account, o.User)
	if err != nil {
		return err
	}
	if o.Output == "json" {
		if story == nil {
			story = []app.StoryLine{}
		}
		return outputError(writeJSON(out, historyStoryJSON{SchemaVersion: HistorySchemaVersion, AccountID: o.Account, User: o.User, Events: story}), false)
	}
	if len(story) == 0 {
		fmt.Fprintf(out, "no history for %s/%s in %s\n", o.Account, o.User, path)
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tRUN\tWHAT\tKEY\tOUTCOME\tDETAIL")
	for _, l := range story {
		key := "-"
		if l.KeyID != "" {
			key = inventory.MaskKeyID(l.KeyID)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", l.At.UTC().Format("2006-01-02 15:04"), l.RunID, l.What, key, l.Outcome, l.Detail)
	}
	return outputError(tw.Flush(), false)
}

// historyPath is the history database under dir, or the default location.
func historyPath(dir string) (string, error) {
	if dir != "" {
		return strings.TrimRight(dir, "/") + "/history.db", nil
	}
	return history.DefaultPath()
}

// HistorySchemaVersion is the version of keyrot history -o json, in its
// schema_version member; docs/json-output.md describes the format. Members
// are only ever added; a change that breaks readers bumps it.
const HistorySchemaVersion = 1

// historyRuns is keyrot history -o json without --user.
type historyRuns struct {
	SchemaVersion int          `json:"schema_version"`
	Runs          []historyRun `json:"runs"`
}

// historyRun is one run in keyrot history -o json.
type historyRun struct {
	ID         int64      `json:"id"`
	Command    string     `json:"command"`
	Mode       string     `json:"mode"`
	Status     string     `json:"status"`
	Summary    string     `json:"summary"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"` // null while running, and for abandoned runs
	Host       string     `json:"host"`
	PID        int        `json:"pid,omitempty"`
	Version    string     `json:"version"`
	Notified   bool       `json:"notified"`
}

func historyRunsJSON(runs []history.Run) historyRuns {
	out := historyRuns{SchemaVersion: HistorySchemaVersion, Runs: []historyRun{}}
	for _, r := range runs {
		hr := historyRun{ID: r.ID, Command: r.Command, Mode: r.Mode, Status: r.Status, Summary: r.Summary,
			StartedAt: r.Started.UTC(), Host: r.Host, PID: r.PID, Version: r.Version, Notified: r.Notified}
		if !r.Finished.IsZero() {
			f := r.Finished.UTC()
			hr.FinishedAt = &f
		}
		out.Runs = append(out.Runs, hr)
	}
	return out
}

// historyStoryJSON is keyrot history --account A --user U -o json.
type historyStoryJSON struct {
	SchemaVersion int             `json:"schema_version"`
	AccountID     string          `json:"account_id"`
	User          string          `json:"user"`
	Events        []app.StoryLine `json:"events"`
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
