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

// Outcomes renders what became of each action, as a table or as JSON
// (format "json", the execute.Result shape).
func Outcomes(w io.Writer, format string, outs []execute.Outcome) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(&execute.Result{Outcomes: outs})
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
