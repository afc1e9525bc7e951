package app

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/report"
)

// complianceHistory is a history with three audits (days 0, 10 and 20)
// and one rotation (day 12) journaled.
func complianceHistory(t *testing.T) (*history.Store, time.Time) {
	t.Helper()
	ctx := context.Background()
	h, err := history.Open(ctx, filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	finding := func(user, rule string, exempt bool) history.AuditFinding {
		f := history.AuditFinding{ID: rule + "/111111111111/" + user, Rule: rule, Severity: "high", Account: "111111111111", User: user, Title: rule, Exempt: exempt}
		if exempt {
			f.ExemptionMatch, f.ExemptionReason = "user:"+user, "vendor"
		}
		return f
	}
	for i, fs := range [][]history.AuditFinding{
		{finding("a", "access-key-age", false), finding("b", "access-key-age", false)},
		{finding("b", "access-key-age", false), finding("v", "access-key-age", true)},
		{finding("c", "console-mfa", false), finding("v", "access-key-age", true)},
	} {
		at := start.Add(time.Duration(i*10) * 24 * time.Hour)
		id, err := h.StartRun(ctx, history.Run{Command: "audit", Mode: history.ModeAuditOnly, Started: at})
		if err != nil {
			t.Fatal(err)
		}
		sum := history.AuditSummary{KeysPast90: 3 - i, Controls: []history.ControlCompliance{{Framework: "security_hub", Control: "IAM.3", Evaluated: 4, Failing: 2 - i/2}}}
		if err := h.SaveAudit(ctx, history.Audit{RunID: id, GeneratedAt: at, Summary: sum, Findings: fs}); err != nil {
			t.Fatal(err)
		}
	}
	apply, err := h.StartRun(ctx, history.Run{Command: "apply", Mode: history.ModeEnforce, Started: start.Add(12 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{history.KindCreateKey, history.KindDeactivateKey} {
		id, err := h.BeginAction(ctx, apply, history.Action{Account: "111111111111", User: "b", KeyID: "AKIAOLDOLDOLDOLDOLD1", Kind: k, Started: start.Add(12 * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.EndAction(ctx, id, history.Outcome{Status: history.ActionSucceeded, KeyID: "AKIANEWNEWNEWNEWNEW2", Finished: start.Add(12 * 24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	return h, start
}

func TestComplianceReport(t *testing.T) {
	h, start := complianceHistory(t)
	day := 24 * time.Hour
	at := func(d int) time.Time { return start.Add(time.Duration(d) * day) }
	ids := func(fs []report.FindingRef) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return out
	}
	for _, tt := range []struct {
		name            string
		now             time.Time
		since           time.Duration
		audits          int
		baseline        time.Time
		latest          time.Time
		added, resolved []string
		rotated         int
		exceptions      int
		keys            []float64
	}{
		// The period holds days 10 and 20; the baseline is day 0, before it.
		{"baseline before the period", at(21), 15 * day, 2, at(0), at(20),
			[]string{"console-mfa/111111111111/c"}, []string{"access-key-age/111111111111/a", "access-key-age/111111111111/b"}, 1, 1, []float64{3, 2, 1}},
		// Nothing before the period: the baseline is its first audit.
		{"no audit before the period", at(21), 30 * day, 3, at(0), at(20),
			[]string{"console-mfa/111111111111/c"}, []string{"access-key-age/111111111111/a", "access-key-age/111111111111/b"}, 1, 1, []float64{3, 2, 1}},
		// One audit in the period, compared with the one before.
		{"one audit", at(11), 5 * day, 1, at(0), at(10), nil, []string{"access-key-age/111111111111/a"}, 0, 1, []float64{3, 2}},
		// No audit in the period: nothing to compare, the journal still read.
		{"no audit", at(15), 4 * day, 0, at(10), time.Time{}, nil, nil, 1, 0, []float64{2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := &App{History: h, Now: func() time.Time { return tt.now }}
			c, err := a.ComplianceReport(context.Background(), ComplianceRequest{Since: tt.since})
			if err != nil {
				t.Fatal(err)
			}
			if c.Audits != tt.audits || !c.Baseline.GeneratedAt.Equal(tt.baseline) || !c.Latest.GeneratedAt.Equal(tt.latest) {
				t.Errorf("audits %d, baseline %v, latest %v", c.Audits, c.Baseline.GeneratedAt, c.Latest.GeneratedAt)
			}
			if d := cmp.Diff(tt.added, ids(c.New)); d != "" {
				t.Errorf("new (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.resolved, ids(c.Resolved)); d != "" {
				t.Errorf("resolved (-want +got):\n%s", d)
			}
			if len(c.Rotated) != tt.rotated || len(c.Exceptions) != tt.exceptions {
				t.Errorf("rotated %+v, exceptions %+v", c.Rotated, c.Exceptions)
			}
			if tt.rotated == 1 && (c.Rotated[0].OldKey != "AKIAOLDOLDOLDOLDOLD1" || c.Rotated[0].NewKey != "AKIANEWNEWNEWNEWNEW2" || c.Deactivated != 1) {
				t.Errorf("rotation %+v, %d deactivated", c.Rotated[0], c.Deactivated)
			}
			var keys []float64
			for _, p := range c.KeysPast90 {
				keys = append(keys, p.Value)
			}
			if d := cmp.Diff(tt.keys, keys); d != "" && tt.audits > 0 {
				t.Errorf("keys past 90 days (-want +got):\n%s", d)
			}
		})
	}
	a := &App{History: h, Now: func() time.Time { return at(21) }}
	if _, err := a.ComplianceReport(context.Background(), ComplianceRequest{Since: 0}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("zero period: %v", err)
	}
	if _, err := (&App{}).ComplianceReport(context.Background(), ComplianceRequest{Since: day}); !errors.Is(err, ErrNoAuditHistory) {
		t.Errorf("no store: %v", err)
	}
}
