package report

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/plan"
)

// Plan renders a rotation plan as a table (changes, held back, blocked,
// upcoming) or as JSON in the saved-plan format (format "json").
func Plan(w io.Writer, format string, p *plan.Plan) error {
	if format == "json" {
		b, err := plan.Encode(p)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := func(title string, as []plan.Action, note func(plan.Action) string) {
		fmt.Fprintf(tw, "\n%s (%d)\n", title, len(as))
		if len(as) == 0 {
			return
		}
		fmt.Fprintln(tw, "ACTION\tACCOUNT\tUSER\tKEY\tDUE\tWHY")
		for _, a := range as {
			due := ""
			if !a.Due.IsZero() {
				due = a.Due.UTC().Format("2006-01-02")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Kind, a.AccountID, a.User, maskKey(a.KeyID), due, note(a))
		}
	}
	fmt.Fprintf(tw, "keyrot plan, %s\n", p.GeneratedAt.UTC().Format(time.RFC3339))
	section("Changes", p.Actions, func(a plan.Action) string { return a.Reason })
	section("Held back by guardrails", p.Deferred, func(a plan.Action) string { return a.Deferred + "; " + a.Reason })
	section("Blocked: needs a human", p.Blocked, func(a plan.Action) string { return a.Reason })
	fmt.Fprintf(tw, "\nUpcoming (%d)\n", len(p.Upcoming))
	if len(p.Upcoming) > 0 {
		fmt.Fprintln(tw, "DUE\tACTION\tACCOUNT\tUSER\tKEY")
		for _, u := range p.Upcoming {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Due.UTC().Format("2006-01-02"), u.Kind, u.AccountID, u.User, maskKey(u.KeyID))
		}
	}
	return tw.Flush()
}

// OutcomesSchemaVersion is the version of the outcome JSON (apply,
// rollback and rotate -o json), in its schema_version member. Members are
// only ever added; a change that breaks readers bumps it.
const OutcomesSchemaVersion = 1

// RunInfo is what the outcome JSON says about the run beyond its outcomes.
type RunInfo struct {
	// RunID is the run's ID in the history (0: not recorded).
	RunID int64
	// Plan is the plan the run carried out, nil for rollback and rotate.
	Plan *plan.Plan
}

// outcomesJSON is the outcome JSON: a summary, then one outcome per action.
type outcomesJSON struct {
	SchemaVersion int               `json:"schema_version"`
	RunID         int64             `json:"run_id,omitempty"`
	Summary       outcomeSummary    `json:"summary"`
	Outcomes      []execute.Outcome `json:"outcomes"`
}

// outcomeSummary counts the outcomes by status, and the plan's items.
type outcomeSummary struct {
	Actions   int `json:"actions"`
	Succeeded int `json:"succeeded"`
	Skipped   int `json:"skipped"`
	Blocked   int `json:"blocked"`
	Failed    int `json:"failed"`
	// WouldDo counts actions a dry run or audit-only run would have done.
	WouldDo int `json:"would_do"`
	// HeldBack and NeedsHuman are the plan's deferred and blocked items
	// (apply only).
	HeldBack   int `json:"held_back"`
	NeedsHuman int `json:"needs_human"`
}

// Outcomes renders what became of each action, as a table or as JSON
// (format "json": schema_version, summary, outcomes).
func Outcomes(w io.Writer, format string, outs []execute.Outcome) error {
	return RunOutcomes(w, format, RunInfo{}, outs)
}

// RunOutcomes is Outcomes with the run's ID and plan in the JSON summary.
func RunOutcomes(w io.Writer, format string, run RunInfo, outs []execute.Outcome) error {
	if format == "json" {
		if outs == nil {
			outs = []execute.Outcome{}
		}
		doc := outcomesJSON{SchemaVersion: OutcomesSchemaVersion, RunID: run.RunID, Outcomes: outs}
		doc.Summary.Actions = len(outs)
		for _, o := range outs {
			switch {
			case o.WouldDo:
				doc.Summary.WouldDo++
			case o.Status == execute.Succeeded:
				doc.Summary.Succeeded++
			case o.Status == execute.Skipped:
				doc.Summary.Skipped++
			case o.Status == execute.Blocked:
				doc.Summary.Blocked++
			case o.Status == execute.Failed:
				doc.Summary.Failed++
			}
		}
		if run.Plan != nil {
			doc.Summary.HeldBack, doc.Summary.NeedsHuman = len(run.Plan.Deferred), len(run.Plan.Blocked)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tACTION\tACCOUNT\tUSER\tKEY\tNEW KEY\tDETAIL")
	for _, o := range outs {
		st := string(o.Status)
		if o.WouldDo {
			st = "would-do"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st, o.Kind, o.AccountID, o.User, maskKey(o.KeyID), maskKey(o.NewKeyID), o.Detail)
	}
	return tw.Flush()
}

// maskKey masks a key ID for people, "-" for none.
func maskKey(id string) string {
	if id == "" {
		return "-"
	}
	return maskedKey(id)
}
