package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/policy"
)

// TestBenchFindingsMatchFresh: on a benchmark organization (two keys per
// user, due keys, console passwords without MFA), keyrot's audit, which
// takes last use from the credential report, tags and groups from one
// authorization-details listing per account and tallies its checks,
// finds exactly what a --fresh audit finds reading users, keys and last
// use live, with the same compliance summary. Both read the same report,
// so no finding's age differs.
func TestBenchFindingsMatchFresh(t *testing.T) {
	w := Workload{Accounts: 4, UsersPerAccount: 30, KeysPerUser: 2, DueShare: 0.3, FindingShare: 0.3, Concurrency: 4, Seed: 11}
	e, err := Start(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	id, secret := e.Server.AdminCredentials()
	cfg := awsconf.Apply(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
		BaseEndpoint: aws.String(e.URL)}, awsconf.Options{})
	now := time.Now()
	run := func(fresh bool) *app.AuditResult {
		t.Helper()
		r := &app.App{Policy: policy.Default(), AWS: cfg, Now: func() time.Time { return now }, CollectOptions: func(o *collect.Options) {
			o.ReportPoll = collect.Poll{Initial: time.Millisecond, Max: 10 * time.Millisecond, Attempts: 20}
		}}
		res, err := r.Audit(context.Background(), app.AuditRequest{Scope: app.Scope{Fresh: fresh}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	key := func(r *app.AuditResult) []string {
		var out []string
		for _, f := range r.Findings {
			out = append(out, fmt.Sprintf("%s/%s/%s %s %s exempt=%v", f.AccountID, f.User, f.KeyID, f.Rule, f.Severity, f.Exempt))
		}
		return out
	}
	lean := run(false)
	e.Server.ResetCallCounts()
	fresh := run(true)
	if len(lean.Findings) < w.Accounts*5 {
		t.Fatalf("only %d findings: the workload should have due keys and console findings in every account", len(lean.Findings))
	}
	if diff := cmp.Diff(key(lean), key(fresh)); diff != "" {
		t.Errorf("findings (-lean +fresh):\n%s", diff)
	}
	if diff := cmp.Diff(audit.Summarize(lean.Result), audit.Summarize(fresh.Result)); diff != "" {
		t.Errorf("compliance (-lean +fresh):\n%s", diff)
	}
	live := 0
	for _, ops := range e.Server.CallCounts() {
		live += ops["iam:GetAccessKeyLastUsed"]
	}
	if live < w.Accounts*w.UsersPerAccount*int(w.KeysPerUser) {
		t.Errorf("the --fresh audit read last use live %d times, want every key's", live)
	}
}
