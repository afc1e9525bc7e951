package sandbox_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/sandboxtest"
)

func smClient(env *sandboxtest.Env) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(env.Admin())
}

// stagesOf returns DescribeSecret's VersionIdsToStages with sorted labels.
func stagesOf(t *testing.T, sm *secretsmanager.Client, id string) map[string][]string {
	t.Helper()
	out, err := sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	mustNoErr(t, err)
	for _, v := range out.VersionIdsToStages {
		sort.Strings(v)
	}
	return out.VersionIdsToStages
}

func TestSecretsVersionStages(t *testing.T) {
	env := sandboxtest.Start(t, "")
	sm := smClient(env)
	ctx := context.Background()
	c, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("keyrot/bob"), SecretString: aws.String("v0")})
	mustNoErr(t, err)
	arn := aws.ToString(c.ARN)
	if suffix := arn[strings.LastIndex(arn, "-")+1:]; len(suffix) != 6 || !strings.HasPrefix(arn, "arn:aws:secretsmanager:us-east-1:") {
		t.Fatalf("ARN %s", arn)
	}
	v0 := aws.ToString(c.VersionId)
	var ids []string
	for i := 1; i <= 3; i++ {
		out, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("keyrot/bob"), SecretString: aws.String(fmt.Sprintf("v%d", i))})
		mustNoErr(t, err)
		if d := cmp.Diff([]string{"AWSCURRENT"}, out.VersionStages); d != "" {
			t.Fatalf("put %d stages: %s", i, d)
		}
		ids = append(ids, aws.ToString(out.VersionId))
	}
	// v0 and v1 are deprecated (no labels) and not described.
	want := map[string][]string{ids[1]: {"AWSPREVIOUS"}, ids[2]: {"AWSCURRENT"}}
	if d := cmp.Diff(want, stagesOf(t, sm, arn)); d != "" {
		t.Fatalf("stages (-want +got):\n%s", d)
	}
	for _, tt := range []struct {
		name string
		in   secretsmanager.GetSecretValueInput
		want string
	}{
		{"default", secretsmanager.GetSecretValueInput{}, "v3"},
		{"previous", secretsmanager.GetSecretValueInput{VersionStage: aws.String("AWSPREVIOUS")}, "v2"},
		{"deprecated by id", secretsmanager.GetSecretValueInput{VersionId: aws.String(v0)}, "v0"},
		{"by ARN", secretsmanager.GetSecretValueInput{VersionId: aws.String(ids[0])}, "v1"},
	} {
		in := tt.in
		in.SecretId = aws.String("keyrot/bob")
		if tt.name == "by ARN" {
			in.SecretId = aws.String(arn)
		}
		got, err := sm.GetSecretValue(ctx, &in)
		mustNoErr(t, err)
		if aws.ToString(got.SecretString) != tt.want {
			t.Errorf("%s: got %q want %q", tt.name, aws.ToString(got.SecretString), tt.want)
		}
	}

	// Stage a pending version, then promote it as a rotation's finishSecret does.
	p, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String("v4"), VersionStages: []string{"AWSPENDING"}})
	mustNoErr(t, err)
	pending := aws.ToString(p.VersionId)
	_, err = sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(pending)})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("moving AWSCURRENT without RemoveFromVersionId: want InvalidParameterException, got %v", err)
	}
	_, err = sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(pending), RemoveFromVersionId: aws.String(ids[2])})
	mustNoErr(t, err)
	want = map[string][]string{ids[2]: {"AWSPREVIOUS"}, pending: {"AWSCURRENT", "AWSPENDING"}}
	if d := cmp.Diff(want, stagesOf(t, sm, arn)); d != "" {
		t.Fatalf("after promotion (-want +got):\n%s", d)
	}
}

func TestSecretsClientRequestTokenIdempotency(t *testing.T) {
	env := sandboxtest.Start(t, "")
	sm := smClient(env)
	ctx := context.Background()
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("s"), SecretString: aws.String("a")})
	mustNoErr(t, err)
	tok := "11111111-2222-3333-4444-555555555555"
	first, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("s"), ClientRequestToken: aws.String(tok), SecretString: aws.String("b")})
	mustNoErr(t, err)
	if aws.ToString(first.VersionId) != tok {
		t.Fatalf("version ID %s, want the token", aws.ToString(first.VersionId))
	}
	before := stagesOf(t, sm, "s")
	again, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("s"), ClientRequestToken: aws.String(tok), SecretString: aws.String("b")})
	mustNoErr(t, err)
	if aws.ToString(again.VersionId) != tok {
		t.Fatalf("retry returned version %s", aws.ToString(again.VersionId))
	}
	if d := cmp.Diff(before, stagesOf(t, sm, "s")); d != "" {
		t.Fatalf("retry changed stages:\n%s", d)
	}
	_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("s"), ClientRequestToken: aws.String(tok), SecretString: aws.String("different")})
	var exists *smtypes.ResourceExistsException
	if !asErr(err, &exists) {
		t.Fatalf("same token, other value: want ResourceExistsException, got %v", err)
	}
	got, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
	mustNoErr(t, err)
	if aws.ToString(got.SecretString) != "b" {
		t.Fatalf("current value %q", aws.ToString(got.SecretString))
	}
	// CreateSecret retried with its token is a no-op too.
	ctok := "99999999-2222-3333-4444-555555555555"
	c1, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("t"), ClientRequestToken: aws.String(ctok), SecretString: aws.String("x")})
	mustNoErr(t, err)
	c2, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("t"), ClientRequestToken: aws.String(ctok), SecretString: aws.String("x")})
	mustNoErr(t, err)
	if aws.ToString(c1.ARN) != aws.ToString(c2.ARN) {
		t.Fatal("retried CreateSecret returned another ARN")
	}
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("t"), SecretString: aws.String("x")})
	if !asErr(err, &exists) {
		t.Fatalf("CreateSecret of an existing name: want ResourceExistsException, got %v", err)
	}
}

func TestSecretsErrors(t *testing.T) {
	env := sandboxtest.Start(t, "")
	sm := smClient(env)
	ctx := context.Background()
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("gone"), SecretString: aws.String("x"), Tags: []smtypes.Tag{{Key: aws.String("team"), Value: aws.String("platform")}}})
	mustNoErr(t, err)
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"missing secret", func() error {
			_, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")})
			return err
		}, "ResourceNotFoundException"},
		{"bad name", func() error {
			_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("has space")})
			return err
		}, "InvalidParameterException"},
		{"both values", func() error {
			_, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("gone"), SecretString: aws.String("a"), SecretBinary: []byte("b")})
			return err
		}, "InvalidParameterException"},
		{"recovery window too short", func() error {
			_, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("gone"), RecoveryWindowInDays: aws.Int64(6)})
			return err
		}, "InvalidParameterException"},
		{"force with window", func() error {
			_, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("gone"), RecoveryWindowInDays: aws.Int64(7), ForceDeleteWithoutRecovery: aws.Bool(true)})
			return err
		}, "InvalidParameterException"},
		{"malformed policy", func() error {
			_, err := sm.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{SecretId: aws.String("gone"), ResourcePolicy: aws.String("{not json")})
			return err
		}, "MalformedPolicyDocumentException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); apiCode(err) != tt.code {
				t.Fatalf("want %s, got %v", tt.code, err)
			}
		})
	}

	// Deletion with a recovery window: the secret is unusable but described.
	del, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("gone"), RecoveryWindowInDays: aws.Int64(7)})
	mustNoErr(t, err)
	if d := time.Until(*del.DeletionDate); d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour+time.Minute {
		t.Fatalf("deletion in %v, want 7 days", d)
	}
	_, err = sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("gone")})
	if apiCode(err) != "InvalidRequestException" {
		t.Fatalf("get deleted: want InvalidRequestException, got %v", err)
	}
	desc, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("gone")})
	mustNoErr(t, err)
	if desc.DeletedDate == nil {
		t.Fatal("described deleted secret without DeletedDate")
	}
	list, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	mustNoErr(t, err)
	if len(list.SecretList) != 0 {
		t.Fatal("deleted secret listed without IncludePlannedDeletion")
	}
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("gone")})
	if apiCode(err) != "InvalidRequestException" {
		t.Fatalf("recreate during recovery window: want InvalidRequestException, got %v", err)
	}
	// After the window the name is free again.
	env.Server.Clock().Advance(8 * 24 * time.Hour)
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("gone")})
	mustNoErr(t, err)
	_, err = sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("gone"), ForceDeleteWithoutRecovery: aws.Bool(true)})
	mustNoErr(t, err)
	_, err = sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("gone")})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("after force delete: want ResourceNotFoundException, got %v", err)
	}
}

func TestSecretsListFiltersAndPagination(t *testing.T) {
	env := sandboxtest.Start(t, "")
	sm := smClient(env)
	ctx := context.Background()
	for i := range 7 {
		in := &secretsmanager.CreateSecretInput{Name: aws.String(fmt.Sprintf("keyrot/user-%d", i))}
		if i%2 == 0 {
			in.Tags = []smtypes.Tag{{Key: aws.String("keyrot:managed"), Value: aws.String("true")}}
		}
		_, err := sm.CreateSecret(ctx, in)
		mustNoErr(t, err)
	}
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("other/db")})
	mustNoErr(t, err)

	names := func(in *secretsmanager.ListSecretsInput) []string {
		var out []string
		p := secretsmanager.NewListSecretsPaginator(sm, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			mustNoErr(t, err)
			if in.MaxResults != nil && len(page.SecretList) > int(*in.MaxResults) {
				t.Fatalf("page of %d", len(page.SecretList))
			}
			for _, s := range page.SecretList {
				out = append(out, aws.ToString(s.Name))
			}
		}
		sort.Strings(out)
		return out
	}
	tests := []struct {
		name    string
		filters []smtypes.Filter
		want    []string
	}{
		{"all", nil, []string{"keyrot/user-0", "keyrot/user-1", "keyrot/user-2", "keyrot/user-3", "keyrot/user-4", "keyrot/user-5", "keyrot/user-6", "other/db"}},
		{"name prefix", []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{"other/"}}}, []string{"other/db"}},
		{"name is case-sensitive", []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{"OTHER"}}}, nil},
		{"tag key", []smtypes.Filter{{Key: smtypes.FilterNameStringTypeTagKey, Values: []string{"keyrot:"}}}, []string{"keyrot/user-0", "keyrot/user-2", "keyrot/user-4", "keyrot/user-6"}},
		{"negated name", []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{"!keyrot/"}}}, []string{"other/db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := names(&secretsmanager.ListSecretsInput{MaxResults: aws.Int32(3), Filters: tt.filters})
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
	_, err = sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{NextToken: aws.String("garbage")})
	if apiCode(err) != "InvalidNextTokenException" {
		t.Fatalf("bad token: want InvalidNextTokenException, got %v", err)
	}
}

// TestSecretsResourcePolicy proves that a non-admin user reads a secret only
// when the secret's resource policy names it, and that an explicit Deny wins.
func TestSecretsResourcePolicy(t *testing.T) {
	env := sandboxtest.Start(t, "")
	ctx := context.Background()
	sm := smClient(env)
	iamc := iam.NewFromConfig(env.Admin())
	newUser := func(name string) (aws.Config, string) {
		u, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
		mustNoErr(t, err)
		k, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		mustNoErr(t, err)
		return env.Config(aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey), ""), aws.ToString(u.User.Arn)
	}
	aliceCfg, aliceARN := newUser("alice")
	malloryCfg, _ := newUser("mallory")
	c, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("keyrot/alice"), SecretString: aws.String("AKIA-new")})
	mustNoErr(t, err)
	arn := aws.ToString(c.ARN)

	get := func(cfg aws.Config) error {
		_, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		return err
	}
	if err := get(aliceCfg); apiCode(err) != "AccessDeniedException" {
		t.Fatalf("without policy: want AccessDeniedException, got %v", err)
	}
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":[%q]},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`, aliceARN)
	_, err = sm.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{SecretId: aws.String(arn), ResourcePolicy: aws.String(policy)})
	mustNoErr(t, err)
	gp, err := sm.GetResourcePolicy(ctx, &secretsmanager.GetResourcePolicyInput{SecretId: aws.String(arn)})
	mustNoErr(t, err)
	if aws.ToString(gp.ResourcePolicy) != policy {
		t.Fatalf("policy round trip: %s", aws.ToString(gp.ResourcePolicy))
	}
	if err := get(aliceCfg); err != nil {
		t.Fatalf("alice named in the policy: %v", err)
	}
	if err := get(malloryCfg); apiCode(err) != "AccessDeniedException" {
		t.Fatalf("mallory: want AccessDeniedException, got %v", err)
	}
	// The policy allows only GetSecretValue.
	_, err = secretsmanager.NewFromConfig(aliceCfg).PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String("x")})
	if apiCode(err) != "AccessDeniedException" {
		t.Fatalf("alice PutSecretValue: want AccessDeniedException, got %v", err)
	}
	deny := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":%q},"Action":"secretsmanager:*","Resource":"*"},{"Effect":"Deny","Principal":{"AWS":%q},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`, aliceARN, aliceARN)
	_, err = sm.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{SecretId: aws.String(arn), ResourcePolicy: aws.String(deny)})
	mustNoErr(t, err)
	if err := get(aliceCfg); apiCode(err) != "AccessDeniedException" {
		t.Fatalf("explicit deny: want AccessDeniedException, got %v", err)
	}
	// The admin may still read: the deny names only alice.
	if err := get(env.Admin()); err != nil {
		t.Fatalf("admin: %v", err)
	}
}

func TestSecretsRotation(t *testing.T) {
	env := sandboxtest.Start(t, "")
	ctx := context.Background()
	sm := smClient(env)
	c, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("rotated"), SecretString: aws.String("old")})
	mustNoErr(t, err)
	old := aws.ToString(c.VersionId)
	const lambda = "arn:aws:lambda:us-east-1:123456789012:function:keyrot-rotate"

	var (
		mu    sync.Mutex
		steps []string
	)
	env.Server.RegisterRotationHandler(lambda, func(ctx context.Context, step, secretID, token string) error {
		mu.Lock()
		steps = append(steps, step)
		mu.Unlock()
		switch step {
		case "createSecret":
			_, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(secretID), ClientRequestToken: aws.String(token), SecretString: aws.String("new"), VersionStages: []string{"AWSPENDING"}})
			return err
		case "finishSecret":
			d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretID)})
			if err != nil {
				return err
			}
			var current string
			for id, st := range d.VersionIdsToStages {
				for _, s := range st {
					if s == "AWSCURRENT" {
						current = id
					}
				}
			}
			_, err = sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(secretID), VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(token), RemoveFromVersionId: aws.String(current)})
			return err
		}
		return nil
	})
	_, err = sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("rotated"), RotationLambdaARN: aws.String("arn:aws:lambda:us-east-1:123456789012:function:unknown")})
	if apiCode(err) != "AccessDeniedException" {
		t.Fatalf("unregistered function: want AccessDeniedException, got %v", err)
	}
	out, err := sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("rotated"), RotationLambdaARN: aws.String(lambda)})
	mustNoErr(t, err)
	newVersion := aws.ToString(out.VersionId)
	if newVersion == "" {
		t.Fatal("RotateSecret returned no VersionId")
	}
	if errs := env.Server.WaitForRotations(); errs != nil {
		t.Fatalf("rotation failed: %v", errs)
	}
	if d := cmp.Diff([]string{"createSecret", "setSecret", "testSecret", "finishSecret"}, steps); d != "" {
		t.Fatalf("steps (-want +got):\n%s", d)
	}
	got, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("rotated")})
	mustNoErr(t, err)
	if aws.ToString(got.SecretString) != "new" || aws.ToString(got.VersionId) != newVersion {
		t.Fatalf("after rotation: %q version %s", aws.ToString(got.SecretString), aws.ToString(got.VersionId))
	}
	want := map[string][]string{old: {"AWSPREVIOUS"}, newVersion: {"AWSCURRENT", "AWSPENDING"}}
	if d := cmp.Diff(want, stagesOf(t, sm, "rotated")); d != "" {
		t.Fatalf("stages (-want +got):\n%s", d)
	}
	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("rotated")})
	mustNoErr(t, err)
	if !aws.ToBool(d.RotationEnabled) || aws.ToString(d.RotationLambdaARN) != lambda || d.LastRotatedDate == nil {
		t.Fatalf("rotation metadata: enabled %v lambda %s last %v", aws.ToBool(d.RotationEnabled), aws.ToString(d.RotationLambdaARN), d.LastRotatedDate)
	}
}

// TestSecretsMalformedJSON sends a correctly signed request whose body is
// not JSON: the service answers with a SerializationException error shape.
func TestSecretsMalformedJSON(t *testing.T) {
	env := sandboxtest.Start(t, "")
	body := []byte(`{"Name": "x",`)
	req, err := http.NewRequest(http.MethodPost, env.URL+"/", bytes.NewReader(body))
	mustNoErr(t, err)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.CreateSecret")
	sum := sha256.Sum256(body)
	id, sec := env.Server.AdminCredentials()
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: sec}, req, hex.EncodeToString(sum[:]), "secretsmanager", "us-east-1", time.Now())
	mustNoErr(t, err)
	resp, err := http.DefaultClient.Do(req)
	mustNoErr(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var shape map[string]string
	if err := json.Unmarshal(b, &shape); err != nil {
		t.Fatalf("error body %q is not JSON: %v", b, err)
	}
	if resp.StatusCode != 400 || shape["__type"] != "SerializationException" || shape["message"] == "" {
		t.Fatalf("got %d %s", resp.StatusCode, b)
	}
}

// asErr is errors.As for typed SDK errors.
func asErr[T error](err error, target *T) bool { return errors.As(err, target) }
