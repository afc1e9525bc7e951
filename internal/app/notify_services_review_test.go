package app

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/notify"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/policy"
)

// TestNoticeItemsServiceDeactivationAhead: a service credential's
// deactivation ahead is told on every run, like a key's, as the rotation's
// notice (the same key and deadline, so the notifier sends it once and its
// reminders fall right), naming the service and where the new credential
// is. Without it the owner hears of the rotation only from the run that
// created the credential: a delivery that failed then, or a run that
// ended before notifying, leaves the owner untold when the old credential
// is deactivated (AWS records no last use to hold it back).
func TestNoticeItemsServiceDeactivationAhead(t *testing.T) {
	now := time.Date(2026, 6, 5, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	stored := now.Add(-4 * day)
	snap := &inventory.Snapshot{Accounts: []inventory.Account{{ID: "111111111111", Name: "prod", Status: inventory.AccountAudited,
		Users: []inventory.User{{Name: "git", ARN: "arn:aws:iam::111111111111:user/git", Tags: map[string]string{"owner": "git@example.com"},
			ServiceCredentials: []inventory.ServiceCredential{
				{ID: "ACCAOLD", Service: inventory.ServiceCodeCommit, Status: inventory.KeyActive, CreateDate: now.Add(-94 * day)},
				{ID: "ACCANEW", Service: inventory.ServiceCodeCommit, Status: inventory.KeyActive, CreateDate: stored},
			}}}}}}
	arn := "arn:aws:secretsmanager:us-east-1:111111111111:secret:keyrot/111111111111/git/codecommit-AbCdEf"
	svcs := ServiceCredentials(policy.Default())
	svcs.Records = map[plan.ServiceRef]plan.ServiceRecord{{Account: "111111111111", User: "git", Service: inventory.ServiceCodeCommit}: {
		SecretARN: arn, CredentialID: "ACCANEW", StoredAt: stored}}
	built := plan.Build(plan.Input{Snapshot: snap, Lifecycle: plan.DefaultLifecycle(), Services: &svcs}, now)
	rp := &RotationPlan{Snapshot: snap, Plan: built, ServiceRecords: svcs.Records}
	r := &App{Policy: policy.Default(), Now: func() time.Time { return now }}
	var got []string
	for _, it := range r.NoticeItems(rp, &execute.Result{}, now) {
		got = append(got, string(it.State)+" "+it.Service+" "+it.KeyID+" "+it.Date.Format("2006-01-02")+" "+it.SecretName+" "+it.SecretRegion)
	}
	want := []string{
		// Deactivation due at 100 days old (June 11), 10 days after the store (June 11).
		string(notify.StateRotated) + " codecommit ACCAOLD 2026-06-11 keyrot/111111111111/git/codecommit us-east-1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestNoticeItemsServiceDeletionAhead: a credential keyrot deactivated is
// told on every run until its deletion, like a key's, with its rollback
// command, so a lost deactivation notice is sent again; an orphan's
// deletion ahead is not told (nobody holds it).
func TestNoticeItemsServiceDeletionAhead(t *testing.T) {
	now := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	deact := now.Add(-3 * day)
	snap := &inventory.Snapshot{Accounts: []inventory.Account{{ID: "111111111111", Name: "prod", Status: inventory.AccountAudited,
		Users: []inventory.User{
			{Name: "git", ARN: "arn:aws:iam::111111111111:user/git", Tags: map[string]string{"owner": "git@example.com"},
				ServiceCredentials: []inventory.ServiceCredential{
					{ID: "ACCAOLD", Service: inventory.ServiceCodeCommit, Status: inventory.KeyInactive, CreateDate: now.Add(-104 * day)},
					{ID: "ACCANEW", Service: inventory.ServiceCodeCommit, Status: inventory.KeyActive, CreateDate: now.Add(-14 * day)},
				}},
			{Name: "cass", ARN: "arn:aws:iam::111111111111:user/cass", Tags: map[string]string{"owner": "cass@example.com"},
				ServiceCredentials: []inventory.ServiceCredential{
					{ID: "ACCACASS", Service: inventory.ServiceKeyspaces, Status: inventory.KeyActive, CreateDate: now.Add(-200 * day)},
					{ID: "ACCAORPHAN", Service: inventory.ServiceKeyspaces, Status: inventory.KeyActive, CreateDate: now.Add(-time.Minute)},
				}},
		}}}}
	svcs := ServiceCredentials(policy.Default())
	svcs.Records = map[plan.ServiceRef]plan.ServiceRecord{
		{Account: "111111111111", User: "git", Service: inventory.ServiceCodeCommit}: {
			SecretARN:    "arn:aws:secretsmanager:us-east-1:111111111111:secret:keyrot/111111111111/git/codecommit-AbCdEf",
			CredentialID: "ACCANEW", StoredAt: now.Add(-14 * day), DeactivatedID: "ACCAOLD", DeactivatedAt: deact},
		{Account: "111111111111", User: "cass", Service: inventory.ServiceKeyspaces}: {
			SecretARN:    "arn:aws:secretsmanager:us-east-1:111111111111:secret:keyrot/111111111111/cass/keyspaces-AbCdEf",
			PendingSince: now.Add(-2 * time.Minute), PendingBefore: []string{"ACCACASS"}},
	}
	built := plan.Build(plan.Input{Snapshot: snap, Lifecycle: plan.DefaultLifecycle(), Services: &svcs}, now)
	rp := &RotationPlan{Snapshot: snap, Plan: built, ServiceRecords: svcs.Records}
	r := &App{Policy: policy.Default(), Now: func() time.Time { return now }}
	var got []string
	for _, it := range r.NoticeItems(rp, &execute.Result{}, now) {
		got = append(got, string(it.State)+" "+it.KeyID+" "+it.Date.Format("2006-01-02")+" until "+it.Rollback.Format("2006-01-02")+": "+it.RollbackCommand())
	}
	want := []string{
		// Deleted at 110 days old (June 21), 10 days after the deactivation (June 22).
		string(notify.StateDeactivated) + " ACCAOLD 2026-06-12 until 2026-06-22: keyrot rollback --account 111111111111 --user git --service codecommit",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
