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
	"github.com/keyrot/keyrot/internal/report"
	"github.com/keyrot/keyrot/internal/statuspage"
	"github.com/keyrot/keyrot/internal/yamlconf"
)

type historyOptions struct {
	StateDir string
	Window   time.Duration
	Account  string
	User     string
	Limit    int
	Output   string
}

func newHistoryCmd(g *globalOptions) *cobra.Command {
	o := &historyOptions{}
	cmd := &cobra.Command{
		Use:   "history [--account A --user U]",
		Short: "Show what keyrot did and why: recent runs and trends, or one user's key story",
		Long: `Read the local history database (never AWS). Without --user: the most recent runs with
their outcome, then the trends of the audits of the last --since (compliance per Security Hub
control, open findings and active keys older than 90 days, one line per audit); -o html writes
the status page (the same as keyrot serve's) as one file. With --account and --user: that user's story, in time order: every action
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
	f.StringVarP(&o.Output, "output", "o", "table", "table, json, or html (the status page; not with --user)")
	durationVar(cmd, &o.Window, "since", 90*24*time.Hour, "how far back the trends go")
	return cmd
}

func runHistory(ctx context.Context, g *globalOptions, o *historyOptions) error {
	if (o.Account == "") != (o.User == "") {
		return usageErrorf("--account and --user go together")
	}
	if o.Limit < 1 {
		return usageErrorf("--limit must be at least 1 (got %d)", o.Limit)
	}
	if o.Output != "table" && o.Output != "json" && (o.Output != "html" || o.User != "") {
		if o.Output == "html" {
			return usageErrorf("--output html is the status page, of every run; it does not go with --user")
		}
		return usageErrorf("--output must be table, json or html (got %q)", o.Output)
	}
	if o.Window <= 0 {
		return usageErrorf("--since must be a positive duration such as 90d (got %s)", o.Window)
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
		if o.Output == "html" {
			c, err := loadConfig(g, "")
			if err != nil {
				return err
			}
			a.Policy = c.Policy
			st, err := a.Status(ctx, app.StatusRequest{Window: o.Window, Runs: o.Limit})
			if err != nil {
				return err
			}
			return outputError(statuspage.Render(out, st), false)
		}
		runs, err := a.Runs(ctx, o.Limit)
		if err != nil {
			return err
		}
		trends, err := a.Trends(ctx, o.Window)
		if err != nil {
			return err
		}
		if o.Output == "json" {
			doc := historyRunsJSON(runs)
			doc.Trends = historyTrendsJSON(trends)
			return outputError(writeJSON(out, doc), false)
		}
		if len(runs) == 0 {
			fmt.Fprintf(out, "no runs recorded in %s (audit, apply, rollback and rotate record theirs)\n", path)
			return nil
		}
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tSTARTED\tCOMMAND\tMODE\tSTATUS\tSUMMARY")
		for _, r := range runs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Started.UTC().Format(time.RFC3339), r.Command, r.Mode, r.Status, r.Summary)
		}
		if err := tw.Flush(); err != nil {
			return outputError(err, false)
		}
		return outputError(writeTrendsTable(out, trends, o.Window), false)
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
	// Trends are the audits of the window, oldest first.
	Trends []historyAudit `json:"trends"`
}

// historyAudit is one audit in keyrot history -o json's trends.
type historyAudit struct {
	RunID           int64            `json:"run_id"`
	GeneratedAt     time.Time        `json:"generated_at"`
	AccountsAudited int              `json:"accounts_audited"`
	AccountsFailed  int              `json:"accounts_failed"`
	Findings        int              `json:"findings"`
	Exempt          int              `json:"exempt"`
	BySeverity      map[string]int   `json:"by_severity"`
	KeysActive      int              `json:"keys_active"`
	KeysPast90      int              `json:"keys_past_90_days"`
	Controls        []historyControl `json:"controls"`
}

// historyControl is one control's compliance in one audit.
type historyControl struct {
	Framework string  `json:"framework"`
	Control   string  `json:"control"`
	Evaluated int     `json:"evaluated"`
	Failing   int     `json:"failing"`
	Percent   float64 `json:"percent"`
}

func historyTrendsJSON(t *app.Trends) []historyAudit {
	out := []historyAudit{}
	for _, a := range t.Audits {
		s := a.Summary
		ha := historyAudit{RunID: a.RunID, GeneratedAt: a.GeneratedAt.UTC(), AccountsAudited: s.AccountsAudited, AccountsFailed: s.AccountsFailed,
			Findings: s.Findings, Exempt: s.Exempt, BySeverity: s.BySeverity, KeysActive: s.KeysActive, KeysPast90: s.KeysPast90, Controls: []historyControl{}}
		if ha.BySeverity == nil {
			ha.BySeverity = map[string]int{}
		}
		for _, c := range s.Controls {
			st := report.ControlStat{Evaluated: c.Evaluated, Failing: c.Failing}
			ha.Controls = append(ha.Controls, historyControl{Framework: c.Framework, Control: c.Control, Evaluated: c.Evaluated, Failing: c.Failing, Percent: st.Percent()})
		}
		out = append(out, ha)
	}
	return out
}

// writeTrendsTable writes one line per audit of the window: open findings,
// keys past 90 days and the percentage compliant per Security Hub control.
func writeTrendsTable(w io.Writer, t *app.Trends, window time.Duration) error {
	if len(t.Audits) == 0 {
		_, err := fmt.Fprintf(w, "\nno audit recorded in the last %s: trends start with keyrot audit\n", yamlconf.Duration(window))
		return err
	}
	var hub []string
	for _, c := range t.Controls {
		if c.Framework == report.FrameworkSecurityHub {
			hub = append(hub, c.Control)
		}
	}
	if _, err := fmt.Fprintf(w, "\ntrends: %s in the last %s (compliance per Security Hub control, %%)\n", countOf(len(t.Audits), "audit", "audits"), yamlconf.Duration(window)); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "AUDITED\tRUN\tFINDINGS\tKEYS>90D\t")
	for _, c := range hub {
		fmt.Fprintf(tw, "%s\t", c)
	}
	fmt.Fprintln(tw)
	for _, a := range t.Audits {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t", a.GeneratedAt.UTC().Format("2006-01-02 15:04"), a.RunID, a.Summary.Findings, a.Summary.KeysPast90)
		byID := map[string]history.ControlCompliance{}
		for _, c := range a.Summary.Controls {
			if c.Framework == report.FrameworkSecurityHub {
				byID[c.Control] = c
			}
		}
		for _, id := range hub {
			c, ok := byID[id]
			if !ok {
				fmt.Fprint(tw, "-\t")
				continue
			}
			fmt.Fprintf(tw, "%.1f\t", report.ControlStat{Evaluated: c.Evaluated, Failing: c.Failing}.Percent())
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
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
