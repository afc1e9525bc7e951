package app

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/policy"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// TestStoredReportStreamedEqualsWhole: the report an audit keeps, written
// finding by finding and account by account, is byte for byte what
// json.Marshal makes of the whole document, with and without findings and
// a snapshot; and the audit reads back from the history as it was judged.
func TestStoredReportStreamedEqualsWhole(t *testing.T) {
	env := sandboxtest.Start(t, "")
	if err := env.Server.ApplyScenario(sandbox.GenerateScenario(4, 40, 3)); err != nil {
		t.Fatal(err)
	}
	env.Server.SetReportBuildTime(0)
	h, err := history.Open(context.Background(), filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	r := &App{Policy: policy.Default(), AWS: env.Admin(), History: h, Version: "test", CollectOptions: func(o *collect.Options) {
		o.ReportPoll = collect.Poll{Initial: time.Millisecond, Max: 10 * time.Millisecond, Attempts: 20}
	}}
	res, err := r.Audit(context.Background(), AuditRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) < 20 || len(res.Snapshot.Accounts) < 4 {
		t.Fatalf("%d findings in %d accounts: the scenario should have many", len(res.Findings), len(res.Snapshot.Accounts))
	}
	full := storedReport{Result: res.Result, Snapshot: res.Snapshot, Started: res.Started, Finished: res.Finished, Version: "test"}
	noFindings := *res.Result
	noFindings.Findings = nil
	for name, doc := range map[string]storedReport{
		"full":         full,
		"no findings":  {Result: &noFindings, Snapshot: res.Snapshot},
		"no snapshot":  {Result: res.Result},
		"nothing":      {},
		"empty result": {Result: &noFindings},
	} {
		want, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := doc.write(&got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: streamed document differs from json.Marshal's:\n%s", name, cmp.Diff(string(want), got.String()))
		}
	}

	latest, ok, err := h.LatestAudit(context.Background(), time.Time{})
	if err != nil || !ok {
		t.Fatalf("no audit recorded: %v", err)
	}
	back, err := r.AuditOfRun(context.Background(), latest.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(res.Findings, back.Result.Findings); d != "" {
		t.Errorf("findings read back (-judged +stored):\n%s", d)
	}
	if len(back.Result.Snapshot.Accounts) != len(res.Snapshot.Accounts) {
		t.Errorf("%d accounts read back, want %d", len(back.Result.Snapshot.Accounts), len(res.Snapshot.Accounts))
	}
}
