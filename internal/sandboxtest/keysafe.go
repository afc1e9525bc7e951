package sandboxtest

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// KeySafety is what CheckKeySafe needs to judge one IAM user's keys.
type KeySafety struct {
	// IAM lists the user's keys in its account.
	IAM iam.ListAccessKeysAPIClient
	// Store and Secret read the secret keyrot stores the user's key in
	// (its AWSCURRENT); a secret that does not exist yet is no error.
	Store  *secretstore.Store
	Secret string
	// Known are the key secrets held outside AWS (by the applications), by
	// key ID.
	Known map[string]string
	// KeyConfig returns a configuration that signs with a key.
	KeyConfig func(id, secret string) aws.Config
}

// CheckKeySafe checks the crash-safety invariants of keyrot's rotation for
// user: at most two keys, and at least one active key that authenticates as
// the user whose secret is held by Secrets Manager or by an application
// (Known): no key material a user depends on is ever lost. The chaos tests
// of the executor and the service's end-to-end test share it.
func CheckKeySafe(ctx context.Context, k KeySafety, user string) error {
	var ids []string
	status := map[string]string{}
	pg := iam.NewListAccessKeysPaginator(k.IAM, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	for pg.HasMorePages() {
		p, err := pg.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list access keys of %s: %w", user, err)
		}
		for _, m := range p.AccessKeyMetadata {
			id := aws.ToString(m.AccessKeyId)
			ids = append(ids, id)
			status[id] = string(m.Status)
		}
	}
	if len(ids) > 2 {
		return errors.New(user + " has more than two keys")
	}
	authenticates := func(id, secret string) bool {
		out, err := sts.NewFromConfig(k.KeyConfig(id, secret)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err == nil && (strings.HasSuffix(aws.ToString(out.Arn), ":user/"+user) || strings.HasSuffix(aws.ToString(out.Arn), "/"+user))
	}
	// The secret's key is tried first: authenticating records a use, and a
	// check must not make the old key look used after the store (the usage
	// gate would then rightly hold it).
	if k.Store != nil {
		if cur, err := k.Store.Stage(ctx, k.Secret, "AWSCURRENT"); err == nil {
			id := cur.Value.AccessKeyID
			if status[id] == string(inventory.KeyActive) && authenticates(id, cur.Value.SecretAccessKey.Reveal()) {
				return nil
			}
		}
	}
	for _, id := range ids {
		if status[id] != string(inventory.KeyActive) {
			continue
		}
		if s, ok := k.Known[id]; ok && authenticates(id, s) {
			return nil
		}
	}
	var parts []string
	for _, id := range ids {
		parts = append(parts, inventory.MaskKeyID(id)+" "+status[id])
	}
	if len(parts) == 0 {
		parts = []string{"no keys"}
	}
	return errors.New(user + " has no working key whose secret anyone holds: " + strings.Join(parts, ", "))
}
