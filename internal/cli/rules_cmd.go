package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/policy"
)

// rulesOptions are the flags of keyrot rules.
type rulesOptions struct {
	ConfigFile string
	Output     string
}

func newRulesCmd(g *globalOptions) *cobra.Command {
	o := &rulesOptions{}
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List every audit rule with its severity, threshold, controls and remediation",
		Long: `List the rules keyrot audits with: their ID (the "rule" of a finding), usual severity,
threshold in the policy in effect (keyrot.yaml, -c, or the built-in CIS defaults), the CIS AWS
Foundations Benchmark and AWS Security Hub controls they implement, and what to do about a
finding. keyrot rules explain RULE shows one rule in full. Reads no AWS.`,
		Example: `  keyrot rules
  keyrot rules -o json
  keyrot rules explain access-key-age`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRules(g, o, "") },
	}
	explain := &cobra.Command{
		Use:   "explain RULE",
		Short: "Show one rule in full: what it checks and why, its threshold and settings, controls, remediation",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("keyrot rules explain takes one rule ID, e.g. access-key-age (keyrot rules lists them)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runRules(g, o, args[0]) },
	}
	for _, c := range []*cobra.Command{cmd, explain} {
		c.Flags().StringVarP(&o.ConfigFile, "config", "c", "", "policy file whose thresholds to show (default: ./keyrot.yaml if present, else the built-in defaults)")
		c.Flags().StringVarP(&o.Output, "output", "o", "table", "table or json")
	}
	cmd.AddCommand(explain)
	return cmd
}

// ruleJSON is one rule in keyrot rules -o json.
type ruleJSON struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Severity string `json:"severity"`
	// SeverityNote says when a finding is rated otherwise.
	SeverityNote string         `json:"severity_note,omitempty"`
	Threshold    string         `json:"threshold,omitempty"`
	Settings     []string       `json:"settings"`
	Controls     audit.Controls `json:"controls"`
	Description  string         `json:"description"`
	Remediation  string         `json:"remediation"`
}

// RulesSchemaVersion is the version of keyrot rules -o json.
const RulesSchemaVersion = 1

func runRules(g *globalOptions, o *rulesOptions, one string) error {
	if o.Output != "table" && o.Output != "json" {
		return usageErrorf("--output must be table or json (got %q)", o.Output)
	}
	c, err := loadConfig(g, o.ConfigFile)
	if err != nil {
		return err
	}
	var rules []ruleJSON
	for _, r := range audit.Rules() {
		if one != "" && r.ID != one {
			continue
		}
		d := audit.Doc(r.ID)
		settings := d.Settings
		if settings == nil {
			settings = []string{}
		}
		rules = append(rules, ruleJSON{ID: r.ID, Title: r.Title, Severity: r.Severity.String(), Threshold: audit.Threshold(c.Policy, r.ID),
			Settings: settings, Controls: r.Controls, Description: d.Description, Remediation: d.Remediation, SeverityNote: d.SeverityNote})
	}
	if one != "" && len(rules) == 0 {
		return unknownRule(one)
	}
	out := g.streams.Out
	switch {
	case o.Output == "json" && one != "":
		return outputError(writeJSON(out, struct {
			SchemaVersion int `json:"schema_version"`
			ruleJSON
		}{RulesSchemaVersion, rules[0]}), false)
	case o.Output == "json":
		return outputError(writeJSON(out, struct {
			SchemaVersion int        `json:"schema_version"`
			Rules         []ruleJSON `json:"rules"`
		}{RulesSchemaVersion, rules}), false)
	case one != "":
		return outputError(explainRule(out, rules[0]), false)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSEVERITY\tTHRESHOLD\tCIS v3\tCIS v5\tSECURITY HUB\tTITLE")
	for _, r := range rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Severity, dash(r.Threshold),
			dash(strings.Join(r.Controls.CISv3, ",")), dash(strings.Join(r.Controls.CISv5, ",")), dash(strings.Join(r.Controls.SecurityHub, ",")), r.Title)
	}
	fmt.Fprintln(tw, "\nkeyrot rules explain RULE shows a rule's description and remediation.")
	return outputError(tw.Flush(), false)
}

// explainRule writes one rule in full.
func explainRule(w io.Writer, r ruleJSON) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n\n", r.ID, r.Title)
	fmt.Fprintf(&b, "Severity:     %s\n", r.Severity)
	if r.SeverityNote != "" {
		fmt.Fprintf(&b, "              (%s)\n", r.SeverityNote)
	}
	if r.Threshold != "" {
		fmt.Fprintf(&b, "Threshold:    %s\n", r.Threshold)
	}
	if len(r.Settings) > 0 {
		fmt.Fprintf(&b, "Set in:       keyrot.yaml %s (exemptions can override it per user, account or OU)\n", strings.Join(r.Settings, ", "))
	}
	var ctl []string
	for _, c := range r.Controls.CISv3 {
		ctl = append(ctl, "CIS v3.0.0 "+c)
	}
	for _, c := range r.Controls.CISv5 {
		ctl = append(ctl, "CIS v5.0.0 "+c)
	}
	for _, c := range r.Controls.SecurityHub {
		ctl = append(ctl, "Security Hub "+c)
	}
	if len(ctl) > 0 {
		fmt.Fprintf(&b, "Controls:     %s\n", strings.Join(ctl, ", "))
	}
	fmt.Fprintf(&b, "\n%s\n\nRemediation: %s\n", r.Description, r.Remediation)
	_, err := io.WriteString(w, b.String())
	return err
}

// unknownRule is the usage error for keyrot rules explain with a rule
// keyrot does not have, with the nearest rule IDs.
func unknownRule(id string) error {
	var near []string
	for _, r := range policy.KnownRules() {
		if editDistance(id, r) <= 3 || strings.Contains(r, id) {
			near = append(near, r)
		}
	}
	if len(near) > 0 {
		return usageErrorf("no rule %q; did you mean %s? (keyrot rules lists them)", id, strings.Join(near, " or "))
	}
	return usageErrorf("no rule %q (keyrot rules lists them)", id)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
