package execute

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/keyrot/keyrot/internal/plan"
)

// SecretRotationAPI is the part of Secrets Manager a rotate-secret action
// calls: the live re-check, then RotateSecret.
type SecretRotationAPI interface {
	DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	RotateSecret(context.Context, *secretsmanager.RotateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error)
}

var _ SecretRotationAPI = (*secretsmanager.Client)(nil)

// SecretRotationClients returns the Secrets Manager client of an account in a region.
type SecretRotationClients func(ctx context.Context, accountID, region string) (SecretRotationAPI, error)

// rotationToken is the ClientRequestToken of an action's RotateSecret: the
// same for a retry of the same action (Secrets Manager then starts no
// second rotation), different for the next overdue date.
func rotationToken(a plan.Action) string {
	sum := sha256.Sum256([]byte(a.ID + "@" + a.Due.UTC().Format(time.RFC3339)))
	return hex.EncodeToString(sum[:])[:64]
}

// rotateSecret starts the rotation of an overdue secret. It re-reads the
// secret first and does nothing when the plan no longer holds: the
// secret is gone or scheduled for deletion, its rotation was turned off,
// an earlier rotation is unfinished (AWSPENDING lingers: blocked, a human
// must look), or it was rotated since the plan was made. RotateSecret
// returns as soon as the rotation has started; Secrets Manager runs the
// rotation function asynchronously, and the next audit reports a rotation
// that did not finish (secret-rotation-failed).
func (r *runner) rotateSecret(ctx context.Context, a plan.Action) Outcome {
	o := outcomeOf(a, Skipped, "")
	o.SecretARN, o.SecretName = a.Resource, a.Evidence["secret"]
	if r.e.SecretRotation == nil {
		o.Status, o.Detail = Blocked, "secret rotation is not configured in this keyrot (no Secrets Manager client); rotate it by hand: aws secretsmanager rotate-secret --secret-id "+a.Resource
		return o
	}
	c, err := r.e.SecretRotation(ctx, a.AccountID, a.Region)
	if err != nil {
		return withSecret(failed(a, fmt.Errorf("secrets manager client of %s in %s: %w", a.AccountID, a.Region, err)), o)
	}
	d, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(a.Resource)})
	if err != nil {
		return withSecret(failed(a, fmt.Errorf("describe secret %s: %w", o.SecretName, err)), o)
	}
	switch {
	case d.DeletedDate != nil:
		o.Detail = "the secret is scheduled for deletion; not rotated"
		return o
	case !aws.ToBool(d.RotationEnabled) || aws.ToString(d.RotationLambdaARN) == "":
		o.Detail = "rotation was turned off since the plan was made; not rotated"
		return o
	case pendingLingers(d.VersionIdsToStages):
		o.Status, o.Detail = Blocked, "an earlier rotation did not finish (an AWSPENDING version lingers); fix the rotation function and resolve that version first"
		return o
	case d.LastRotatedDate != nil && d.LastRotatedDate.After(a.Due):
		o.Detail = fmt.Sprintf("rotated on %s, after it fell due; nothing to do", d.LastRotatedDate.UTC().Format(time.RFC3339))
		return o
	}
	// The history names a secret's actions "secret:NAME" where a key's name its user.
	ja := a
	ja.User = JournalSecretUser(o.SecretName)
	j, err := r.begin(ctx, ja, string(plan.RotateSecret), a.Resource)
	if err != nil {
		return withSecret(failed(a, err), o)
	}
	out, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(a.Resource), ClientRequestToken: aws.String(rotationToken(a))})
	if err != nil {
		j.end(ctx, Failed, err.Error(), a.Resource)
		return withSecret(failed(a, fmt.Errorf("rotate secret %s: %w", o.SecretName, err)), o)
	}
	j.end(ctx, Succeeded, "", a.Resource)
	o.Status = Succeeded
	o.Detail = fmt.Sprintf("rotation started (version %s); Secrets Manager finishes it asynchronously, and the next audit reports a rotation that did not finish", aws.ToString(out.VersionId))
	return o
}

// JournalSecretUser is the history's user of a secret's actions: "secret:NAME".
func JournalSecretUser(name string) string { return "secret:" + name }

// withSecret carries the secret's name and ARN into a failed outcome.
func withSecret(f, o Outcome) Outcome {
	f.SecretARN, f.SecretName = o.SecretARN, o.SecretName
	return f
}

// pendingLingers reports whether a version holds AWSPENDING without AWSCURRENT.
func pendingLingers(stages map[string][]string) bool {
	for _, labels := range stages {
		if slices.Contains(labels, "AWSPENDING") && !slices.Contains(labels, "AWSCURRENT") {
			return true
		}
	}
	return false
}
