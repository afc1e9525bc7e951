package secretstore_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/sandboxtest"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// TestSelectEqualsList: picking an account's keyrot secrets out of an
// unfiltered listing gives what List's filtered ListSecrets gives, against
// the sandbox's Secrets Manager: the name filter is a case-sensitive prefix
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Filter.html),
// and only secrets tagged for the account's users count.
func TestSelectEqualsList(t *testing.T) {
	t.Parallel()
	env := sandboxtest.Start(t, "")
	ctx := context.Background()
	sm := secretsmanager.NewFromConfig(env.Admin())
	const acct = "111122223333"
	tagged := func(account, user, keyID string) []types.Tag {
		tags := []types.Tag{{Key: aws.String(secretstore.TagAccount), Value: aws.String(account)}}
		if user != "" {
			tags = append(tags, types.Tag{Key: aws.String(secretstore.TagUser), Value: aws.String(user)})
		}
		if keyID != "" {
			tags = append(tags,
				types.Tag{Key: aws.String(secretstore.TagKeyID), Value: aws.String(keyID)},
				types.Tag{Key: aws.String(secretstore.TagStoredAt), Value: aws.String("2026-11-01T10:00:00Z")})
		}
		return tags
	}
	for _, s := range []struct {
		name string
		tags []types.Tag
	}{
		{"keyrot/" + acct + "/alice", tagged(acct, "alice", "AKIAALICE0000000001")},
		{"keyrot/" + acct + "/bob", tagged(acct, "bob", "")},                       // a store that has not finished
		{"Keyrot/" + acct + "/carol", tagged(acct, "carol", "AKIACAROL000000001")}, // outside the prefix: case differs
		{"keyrot/" + acct + "/dave", tagged("444455556666", "dave", "AKIADAVE0000000001")},
		{"keyrot/" + acct + "/erin", tagged(acct, "", "")}, // no user tag: not a user's secret
		{"keyrot/444455556666/frank", tagged("444455556666", "frank", "AKIAFRANK000000001")},
		{"app/database", nil},
	} {
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(s.name), SecretString: aws.String("x"), Tags: s.tags}); err != nil {
			t.Fatalf("create %s: %v", s.name, err)
		}
	}
	store, err := secretstore.New(sm, secretstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	listed, err := store.List(ctx, acct, "prod")
	if err != nil {
		t.Fatal(err)
	}
	var all []secretstore.Listing
	pg := secretsmanager.NewListSecretsPaginator(sm, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(2)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.SecretList {
			tags := map[string]string{}
			for _, tg := range e.Tags {
				tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
			}
			all = append(all, secretstore.Listing{ARN: aws.ToString(e.ARN), Name: aws.ToString(e.Name), Tags: tags})
		}
	}
	if len(all) != 7 {
		t.Fatalf("listed %d secrets, want 7", len(all))
	}
	selected := store.Select(acct, "prod", all)
	if diff := cmp.Diff(listed, selected); diff != "" {
		t.Errorf("Select differs from List (-list +select):\n%s", diff)
	}
	var users []string
	for _, l := range selected {
		users = append(users, l.UserName)
	}
	if want := []string{"alice", "bob"}; !cmp.Equal(users, want) {
		t.Errorf("users %v, want %v", users, want)
	}
	if selected[0].KeyID != "AKIAALICE0000000001" || selected[0].StoredAt.IsZero() || selected[1].KeyID != "" {
		t.Errorf("records %+v", selected)
	}
}
