package execute

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// secretScheduledForDeletion gives app1 the keyrot secret an earlier
// rotation would have left (holding its current key), then deletes it by
// hand with a recovery window, as a person cleaning up might. AWS refuses
// to read such a secret (InvalidRequestException).
func secretScheduledForDeletion(t *testing.T, w *world) string {
	t.Helper()
	ctx := context.Background()
	name := "keyrot/" + w.acct + "/app1"
	held := w.held["app1"]
	val, err := secretstore.Value{AccessKeyID: held.ID, SecretAccessKey: secretstore.NewSecret(held.Secret),
		UserName: "app1", AccountID: w.acct, CreateDate: w.now()}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(val)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), RecoveryWindowInDays: aws.Int64(30)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)}); err == nil {
		t.Fatal("a secret scheduled for deletion could be read")
	}
	return name
}

func deletedDate(t *testing.T, w *world, name string) *time.Time {
	t.Helper()
	d, err := w.sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return d.DeletedDate
}

// TestRotationRestoresSecretScheduledForDeletion: a due key whose keyrot
// secret was deleted by hand (scheduled for deletion) is rotated: the
// secret is restored, then holds the new key; a dry run first restores
// nothing.
func TestRotationRestoresSecretScheduledForDeletion(t *testing.T) {
	w := newWorld(t, "app1")
	w.advance(91 * day)
	w.useKey(w.held["app1"])
	name := secretScheduledForDeletion(t, w)

	_, res, err := w.cycle(w.executor(w.hist, "dry"), Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outcomes) != 1 || !res.Outcomes[0].WouldDo {
		t.Fatalf("dry run: %+v", res.Outcomes)
	}
	if deletedDate(t, w, name) == nil {
		t.Fatal("the dry run restored the secret")
	}

	_, res, err = w.cycle(w.executor(w.hist, "run"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outcomes) != 1 || res.Outcomes[0].Status != Succeeded || res.Outcomes[0].Kind != plan.CreateKey {
		t.Fatalf("apply: %+v", res.Outcomes)
	}
	if d := deletedDate(t, w, name); d != nil {
		t.Fatalf("the secret is still scheduled for deletion on %s", d)
	}
	cur, err := w.current("app1")
	if err != nil || cur.Value.AccessKeyID != res.Outcomes[0].NewKeyID {
		t.Fatalf("secret holds %q (%v), want the new key %s", cur.Value.AccessKeyID, err, res.Outcomes[0].NewKeyID)
	}
	if err := w.checkSafe("app1"); err != nil {
		t.Error(err)
	}
}

// TestCompromisedRotationRestoresSecretScheduledForDeletion: the same for
// rotate --now --compromised, which reads every stage of the secret first.
func TestCompromisedRotationRestoresSecretScheduledForDeletion(t *testing.T) {
	w := newWorld(t, "app1")
	w.advance(day)
	name := secretScheduledForDeletion(t, w)
	held := w.held["app1"]
	o, err := w.executor(w.hist, "sec").RotateNow(context.Background(), w.acct, "app1", RotateNowRequest{KeyID: held.ID, Compromised: true}, Options{})
	if err != nil || o.Status != Succeeded {
		t.Fatalf("RotateNow: %v %+v", err, o)
	}
	if d := deletedDate(t, w, name); d != nil {
		t.Fatalf("the secret is still scheduled for deletion on %s", d)
	}
	cur, err := w.current("app1")
	if err != nil || cur.Value.AccessKeyID != o.NewKeyID {
		t.Fatalf("secret holds %q (%v), want the new key %s", cur.Value.AccessKeyID, err, o.NewKeyID)
	}
}
