package secretstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

// API is the part of the Secrets Manager client the store uses.
type API interface {
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
	TagResource(ctx context.Context, in *secretsmanager.TagResourceInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.TagResourceOutput, error)
	PutResourcePolicy(ctx context.Context, in *secretsmanager.PutResourcePolicyInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutResourcePolicyOutput, error)
	RestoreSecret(ctx context.Context, in *secretsmanager.RestoreSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.RestoreSecretOutput, error)
	UntagResource(ctx context.Context, in *secretsmanager.UntagResourceInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.UntagResourceOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

// Secret tags keyrot writes on every secret it stores.
const (
	TagAccount  = "keyrot:account"
	TagUser     = "keyrot:user"
	TagKeyID    = "keyrot:access-key-id"
	TagStoredAt = "keyrot:stored-at"
	// TagWithheld names the key of a version stored withheld from its user
	// (Entry.ReadersOnly): written before the resource policy that denies
	// the user and the value, removed by Grant after the user is allowed.
	TagWithheld = "keyrot:withheld"
	// TagEmergency names the key of the last version stored for a
	// compromised key's rotation (Entry.ReadersOnly). Grant leaves it: with
	// TagWithheld gone it says that rotation finished, so that running the
	// same request again reports it instead of rotating the new key.
	TagEmergency = "keyrot:emergency"
)

// DefaultNameTemplate names a user's secret when the policy does not.
const DefaultNameTemplate = "keyrot/{{.AccountID}}/{{.UserName}}"

// Config says where and how secrets are stored.
type Config struct {
	// NameTemplate is a text/template over NameData; DefaultNameTemplate if empty.
	NameTemplate string
	// KMSKeyID encrypts new secrets; empty means the account's aws/secretsmanager key.
	KMSKeyID string
	// Readers are principal ARNs, besides the user, allowed to read secrets.
	Readers []string
	// Region is the secrets' region, for the fetch command shown to users.
	Region string
}

// NameData is what a secret name template can use. Its fields match
// policy.SecretNameData.
type NameData struct {
	AccountID   string
	AccountName string
	UserName    string
	UserPath    string
}

// Store reads and writes keyrot's secrets through one Secrets Manager client
// (the user's account, or the central account).
type Store struct {
	api  API
	cfg  Config
	tmpl *template.Template
}

// New returns a Store. It fails if the name template does not parse.
func New(api API, cfg Config) (*Store, error) {
	if cfg.NameTemplate == "" {
		cfg.NameTemplate = DefaultNameTemplate
	}
	t, err := template.New("secret_name").Option("missingkey=error").Parse(cfg.NameTemplate)
	if err != nil {
		return nil, fmt.Errorf("parse secret name template: %w", err)
	}
	return &Store{api: api, cfg: cfg, tmpl: t}, nil
}

// Config returns the store's configuration.
func (s *Store) Config() Config { return s.cfg }

// Name renders the secret name for a user.
func (s *Store) Name(d NameData) (string, error) {
	var b strings.Builder
	if err := s.tmpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("render secret name for %s/%s: %w", d.AccountID, d.UserName, err)
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("render secret name for %s/%s: empty name", d.AccountID, d.UserName)
	}
	return b.String(), nil
}

// prefix is the part of an account's secret names that comes before
// anything user-specific: what ListSecrets filters on.
func (s *Store) prefix(accountID, accountName string) string {
	const mark = "\x00"
	var b strings.Builder
	if err := s.tmpl.Execute(&b, NameData{AccountID: accountID, AccountName: accountName, UserName: mark, UserPath: mark}); err != nil {
		return ""
	}
	p, _, _ := strings.Cut(b.String(), mark)
	return p
}

// RequestToken is the ClientRequestToken of the version that stores keyID:
// UUID-shaped and derived from the key ID, so a retried store of the same
// key is a no-op rather than a second version.
func RequestToken(keyID string) string {
	h := sha256.Sum256([]byte("keyrot-secret-version:" + keyID))
	h[6] = h[6]&0x0f | 0x80 // version 8: custom
	h[8] = h[8]&0x3f | 0x80 // RFC 9562 variant
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// Entry is one key to store.
type Entry struct {
	Name    NameData
	UserARN string
	Value   Value
	// StoredAt is written to the keyrot:stored-at tag.
	StoredAt time.Time
	// ReadersOnly stores the key withheld from its user, for a rotation of a
	// compromised key: the resource policy allows the readers only and
	// explicitly denies the user every Secrets Manager action on the secret
	// (so an identity policy that allows the user secretsmanager:* does not
	// let the compromised key read or re-open it), and the secret is tagged
	// TagWithheld with the key ID. Grant lifts the deny once the
	// compromised key is off.
	ReadersOnly bool
	// Step, if set, is called before each Secrets Manager call with the
	// step's name ("store-describe", "store-create", "store-policy",
	// "store-put-value", "store-tag"); an error it returns stops Put at once
	// and is returned as is. The executor's crash tests use it.
	Step func(step string) error
}

func (e Entry) step(name string) error {
	if e.Step == nil {
		return nil
	}
	return e.Step(name)
}

// Stored is where a key was stored.
type Stored struct {
	ARN       string
	Name      string
	VersionID string
}

// Put stores e as the user's secret's new AWSCURRENT version. The order of
// the calls is chosen so that a crash at any point leaves a state Put can
// finish on a retry: create the secret (tags naming the user, no value),
// set the resource policy, put the value (idempotent by RequestToken), then
// tag it with the key ID and date. A value therefore never exists without
// its resource policy.
func (s *Store) Put(ctx context.Context, e Entry) (Stored, error) {
	name, err := s.Name(e.Name)
	if err != nil {
		return Stored{}, err
	}
	val, err := e.Value.Encode()
	if err != nil {
		return Stored{}, err
	}
	who := e.Name.AccountID + "/" + e.Name.UserName
	arn, err := s.ensureSecret(ctx, name, e)
	if err != nil {
		return Stored{}, fmt.Errorf("store key of %s: %w", who, err)
	}
	if e.ReadersOnly {
		// Before the policy and the value: a withheld mark always names a
		// key whose value was never readable by the user under keyrot's
		// policy (a crash before the value leaves it naming a key that is
		// not the secret's AWSCURRENT, which Withheld ignores).
		if err := e.step("store-tag-withheld"); err != nil {
			return Stored{}, err
		}
		if _, err := s.api.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(arn),
			Tags: []types.Tag{{Key: aws.String(TagWithheld), Value: aws.String(e.Value.AccessKeyID)},
				{Key: aws.String(TagEmergency), Value: aws.String(e.Value.AccessKeyID)}}}); err != nil {
			return Stored{}, fmt.Errorf("store key of %s: tag %s withheld: %w", who, name, err)
		}
	}
	if err := e.step("store-policy"); err != nil {
		return Stored{}, err
	}
	if err := s.setPolicy(ctx, arn, e.UserARN, !e.ReadersOnly); err != nil {
		return Stored{}, fmt.Errorf("store key of %s: %w", who, err)
	}
	if err := e.step("store-put-value"); err != nil {
		return Stored{}, err
	}
	out, err := s.api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(arn), ClientRequestToken: aws.String(RequestToken(e.Value.AccessKeyID)),
		SecretString: aws.String(val),
	})
	if err != nil {
		return Stored{}, fmt.Errorf("store key of %s: put secret value in %s: %w", who, name, err)
	}
	tags := []types.Tag{
		{Key: aws.String(TagAccount), Value: aws.String(e.Name.AccountID)},
		{Key: aws.String(TagUser), Value: aws.String(e.Name.UserName)},
		{Key: aws.String(TagKeyID), Value: aws.String(e.Value.AccessKeyID)},
		{Key: aws.String(TagStoredAt), Value: aws.String(e.StoredAt.UTC().Format(time.RFC3339))},
	}
	if err := e.step("store-tag"); err != nil {
		return Stored{}, err
	}
	if _, err := s.api.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(arn), Tags: tags}); err != nil {
		return Stored{}, fmt.Errorf("store key of %s: tag %s: %w", who, name, err)
	}
	return Stored{ARN: arn, Name: name, VersionID: aws.ToString(out.VersionId)}, nil
}

// ensureSecret returns the ARN of the named secret, creating it (without a
// value) or restoring it from scheduled deletion as needed.
func (s *Store) ensureSecret(ctx context.Context, name string, e Entry) (string, error) {
	d := e.Name
	arn, _, err := s.ensure(ctx, name, "Access key of IAM user "+d.UserName+" in account "+d.AccountID+", rotated by keyrot", []types.Tag{
		{Key: aws.String(TagAccount), Value: aws.String(d.AccountID)},
		{Key: aws.String(TagUser), Value: aws.String(d.UserName)},
	}, e.step)
	return arn, err
}

// ensure returns the ARN of the named secret, creating it with desc and
// tags (and no value), or restoring it from scheduled deletion, as needed;
// created says it was created now, with the tags. step is called before
// DescribeSecret ("store-describe") and CreateSecret ("store-create").
func (s *Store) ensure(ctx context.Context, name, desc string, tags []types.Tag, step func(string) error) (arn string, created bool, err error) {
	if err := step("store-describe"); err != nil {
		return "", false, err
	}
	desc0, err := s.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	switch {
	case err == nil:
		if desc0.DeletedDate != nil {
			if _, err := s.api.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: desc0.ARN}); err != nil {
				return "", false, fmt.Errorf("restore secret %s: %w", name, err)
			}
		}
		return aws.ToString(desc0.ARN), false, nil
	case !IsNotFound(err):
		return "", false, fmt.Errorf("describe secret %s: %w", name, err)
	}
	in := &secretsmanager.CreateSecretInput{Name: aws.String(name), Description: aws.String(desc), Tags: tags}
	if s.cfg.KMSKeyID != "" {
		in.KmsKeyId = aws.String(s.cfg.KMSKeyID)
	}
	if err := step("store-create"); err != nil {
		return "", false, err
	}
	out, err := s.api.CreateSecret(ctx, in)
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ResourceExistsException" {
		// Created concurrently (or by a retried request): use it.
		d, derr := s.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		if derr != nil {
			return "", false, fmt.Errorf("describe secret %s: %w", name, derr)
		}
		return aws.ToString(d.ARN), false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("create secret %s: %w", name, err)
	}
	return aws.ToString(out.ARN), true, nil
}

// Policy returns the resource policy document granting read access to the
// user (when includeUser) and to readers. Without includeUser (a
// compromised key's rotation) it also denies the user, explicitly, every
// Secrets Manager action on the secret: an Allow in the user's identity
// policy (an admin, a secretsmanager:* grant) cannot then let the
// compromised key read the new value or change the policy. The deny names
// the user, so it holds against the user's new key too until Grant.
func Policy(userARN string, readers []string, includeUser bool) (string, bool) {
	var ps []string
	if includeUser && userARN != "" {
		ps = append(ps, userARN)
	}
	for _, r := range readers {
		if r != "" && r != userARN {
			ps = append(ps, r)
		}
	}
	var sts []map[string]any
	if len(ps) > 0 {
		sts = append(sts, map[string]any{
			"Sid":       "KeyrotReaders",
			"Effect":    "Allow",
			"Principal": map[string]any{"AWS": ps},
			"Action":    []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"},
			"Resource":  "*",
		})
	}
	if !includeUser && userARN != "" {
		sts = append(sts, map[string]any{
			"Sid":       "KeyrotDenyCompromisedUser",
			"Effect":    "Deny",
			"Principal": map[string]any{"AWS": []string{userARN}},
			"Action":    "secretsmanager:*",
			"Resource":  "*",
		})
	}
	if len(sts) == 0 {
		return "", false
	}
	doc := map[string]any{"Version": "2012-10-17", "Statement": sts}
	b, _ := json.Marshal(doc)
	return string(b), true
}

func (s *Store) setPolicy(ctx context.Context, secretID, userARN string, includeUser bool) error {
	doc, ok := Policy(userARN, s.cfg.Readers, includeUser)
	if !ok {
		// Every store names its user, so the policy always has a
		// statement; refuse rather than leave an earlier policy in force.
		return fmt.Errorf("put resource policy on %s: no user ARN and no readers to name", secretID)
	}
	if _, err := s.api.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{
		SecretId: aws.String(secretID), ResourcePolicy: aws.String(doc), BlockPublicPolicy: aws.Bool(true),
	}); err != nil {
		return fmt.Errorf("put resource policy on %s: %w", secretID, err)
	}
	return nil
}

// Retag rewrites the key ID and stored-at tags of a secret, repairing a
// store that was interrupted between PutSecretValue and TagResource.
func (s *Store) Retag(ctx context.Context, secretID string, d NameData, keyID string, storedAt time.Time) error {
	tags := []types.Tag{
		{Key: aws.String(TagAccount), Value: aws.String(d.AccountID)},
		{Key: aws.String(TagUser), Value: aws.String(d.UserName)},
		{Key: aws.String(TagKeyID), Value: aws.String(keyID)},
		{Key: aws.String(TagStoredAt), Value: aws.String(storedAt.UTC().Format(time.RFC3339))},
	}
	if _, err := s.api.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(secretID), Tags: tags}); err != nil {
		return fmt.Errorf("tag %s: %w", secretID, err)
	}
	return nil
}

// Grant sets the secret's resource policy to the user plus the readers,
// lifting the deny of a withheld store, then removes the TagWithheld mark:
// the last step of a compromised-key rotation.
func (s *Store) Grant(ctx context.Context, secretID, userARN string) error {
	if err := s.setPolicy(ctx, secretID, userARN, true); err != nil {
		return err
	}
	if _, err := s.api.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: aws.String(secretID), TagKeys: []string{TagWithheld}}); err != nil {
		return fmt.Errorf("untag %s from %s: %w", TagWithheld, secretID, err)
	}
	return nil
}

// Marks are the emergency-rotation marks of a secret (its TagWithheld and
// TagEmergency tags); empty when absent.
type Marks struct {
	// Withheld names a key stored withheld from its user whose Grant has
	// not finished. The mark is written before the deny and the value, so
	// it may name a key whose store never finished: compare it with the
	// AWSCURRENT key.
	Withheld string
	// Emergency names the key of the last compromised key's rotation.
	Emergency string
}

// Marks reads the secret's emergency-rotation marks.
func (s *Store) Marks(ctx context.Context, secretID string) (Marks, error) {
	out, err := s.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretID)})
	if IsNotFound(err) {
		return Marks{}, nil
	}
	if err != nil {
		return Marks{}, fmt.Errorf("describe secret %s: %w", secretID, err)
	}
	var m Marks
	for _, t := range out.Tags {
		switch aws.ToString(t.Key) {
		case TagWithheld:
			m.Withheld = aws.ToString(t.Value)
		case TagEmergency:
			m.Emergency = aws.ToString(t.Value)
		}
	}
	return m, nil
}

// Version is a stored value with its version's facts.
type Version struct {
	Value     Value
	ARN       string
	Name      string
	VersionID string
	Created   time.Time
}

// ErrNoVersion means the secret, or the staging label, does not exist.
var ErrNoVersion = errors.New("no such secret version")

// ErrMarkedForDeletion means the secret is scheduled for deletion: AWS
// refuses to read its versions until it is restored (Restore).
var ErrMarkedForDeletion = errors.New("the secret is scheduled for deletion")

// Stage reads the version of a secret that has the staging label stage
// (AWSCURRENT, AWSPENDING, ...). It returns ErrNoVersion when the secret or
// the label does not exist.
func (s *Store) Stage(ctx context.Context, secretID, stage string) (Version, error) {
	out, err := s.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID), VersionStage: aws.String(stage)})
	if isAccessDenied(err) {
		// A policy that lets keyrot read only the secrets it tagged
		// (internal/permissions) is denied for a secret that does not
		// exist, which has no tags: AWS answers AccessDenied, not
		// ResourceNotFound. DescribeSecret, which is not conditioned on
		// tags, tells the two apart; the denial stands for a secret that
		// exists.
		if _, derr := s.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretID)}); IsNotFound(derr) {
			err = derr
		}
	}
	if IsNotFound(err) {
		return Version{}, fmt.Errorf("read %s of %s: %w", stage, secretID, ErrNoVersion)
	}
	if err != nil {
		if s.markedForDeletion(ctx, secretID, err) {
			return Version{}, fmt.Errorf("read %s of %s: %w", stage, secretID, ErrMarkedForDeletion)
		}
		return Version{}, fmt.Errorf("read %s of %s: %w", stage, secretID, err)
	}
	v, err := ParseValue(aws.ToString(out.SecretString))
	if err != nil {
		return Version{}, fmt.Errorf("read %s of %s: %w", stage, secretID, err)
	}
	return Version{Value: v, ARN: aws.ToString(out.ARN), Name: aws.ToString(out.Name), VersionID: aws.ToString(out.VersionId),
		Created: aws.ToTime(out.CreatedDate)}, nil
}

// markedForDeletion reports whether err, a failed read of secretID, is
// AWS's refusal to read a secret scheduled for deletion: an
// InvalidRequestException whose cause DescribeSecret confirms (the
// exception's message is not part of the API).
func (s *Store) markedForDeletion(ctx context.Context, secretID string, err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidRequestException" {
		return false
	}
	desc, derr := s.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretID)})
	return derr == nil && desc.DeletedDate != nil
}

// Restore cancels the scheduled deletion of a secret (RestoreSecret), so
// that its versions can be read and written again.
func (s *Store) Restore(ctx context.Context, secretID string) error {
	if _, err := s.api.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: aws.String(secretID)}); err != nil {
		return fmt.Errorf("restore secret %s: %w", secretID, err)
	}
	return nil
}

// Listed is one keyrot secret as ListSecrets shows it (from its tags; no value is read).
type Listed struct {
	ARN       string
	Name      string
	AccountID string
	UserName  string
	// KeyID and StoredAt are the last key stored completely; empty when no
	// store has finished yet.
	KeyID    string
	StoredAt time.Time
}

// List returns keyrot's secrets for the users of one account with one
// paginated ListSecrets call filtered by the account's name prefix. Service
// secrets (TagService) are not listed: ListServices returns them.
func (s *Store) List(ctx context.Context, accountID, accountName string) ([]Listed, error) {
	var out []Listed
	err := s.list(ctx, accountID, accountName, func(e types.SecretListEntry) {
		tags := make(map[string]string, len(e.Tags))
		for _, t := range e.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if l, ok := listed(accountID, aws.ToString(e.ARN), aws.ToString(e.Name), tags); ok {
			out = append(out, l)
		}
	})
	if err != nil {
		return nil, err
	}
	sortListed(out)
	return out, nil
}

// Listing is one secret of a ListSecrets answer, as far as Select reads it.
type Listing struct {
	ARN, Name string
	Tags      map[string]string
}

// Select returns what List returns, keyrot's secrets for the users of one
// account, from all: every secret of a complete ListSecrets listing,
// without a filter, of the store's account in the store's region (the
// audit lists them all to judge the account's secrets, and List would make
// the same call again). Like List's name filter, Select keeps the names
// that begin with the account's prefix, case-sensitively, as Secrets
// Manager's name filter matches.
func (s *Store) Select(accountID, accountName string, all []Listing) []Listed {
	p := s.prefix(accountID, accountName)
	var out []Listed
	for _, e := range all {
		if !strings.HasPrefix(e.Name, p) {
			continue
		}
		if l, ok := listed(accountID, e.ARN, e.Name, e.Tags); ok {
			out = append(out, l)
		}
	}
	sortListed(out)
	return out
}

// listed reads a keyrot key secret of accountID's users from its tags;
// false for a secret that is not keyrot's, another account's in a central
// store, or a service credential's.
func listed(accountID, arn, name string, tags map[string]string) (Listed, bool) {
	l := Listed{ARN: arn, Name: name, AccountID: tags[TagAccount], UserName: tags[TagUser], KeyID: tags[TagKeyID]}
	if v, ok := tags[TagStoredAt]; ok {
		l.StoredAt, _ = time.Parse(time.RFC3339, v)
	}
	_, service := tags[TagService]
	return l, l.AccountID == accountID && l.UserName != "" && !service
}

func sortListed(ls []Listed) {
	sort.Slice(ls, func(i, j int) bool { return ls[i].UserName < ls[j].UserName })
}

func hasTag(tags []types.Tag, key string) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return true
		}
	}
	return false
}

// list calls f for each secret of one paginated ListSecrets filtered by
// the account's name prefix.
func (s *Store) list(ctx context.Context, accountID, accountName string, f func(types.SecretListEntry)) error {
	in := &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(100)}
	if p := s.prefix(accountID, accountName); p != "" {
		in.Filters = []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{p}}}
	}
	pg := secretsmanager.NewListSecretsPaginator(s.api, in)
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list secrets of account %s: %w", accountID, err)
		}
		for _, e := range page.SecretList {
			f(e)
		}
	}
	return nil
}

// FetchCommand is the AWS CLI command that prints a stored key's document.
func FetchCommand(secretID, region string) string {
	cmd := "aws secretsmanager get-secret-value --secret-id " + shellQuote(secretID)
	if region != "" {
		cmd += " --region " + shellQuote(region)
	}
	return cmd + " --query SecretString --output text"
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_+=.@:,-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// isAccessDenied reports whether err is Secrets Manager's AccessDeniedException.
func isAccessDenied(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "AccessDeniedException"
}

// IsNotFound reports whether err is Secrets Manager's ResourceNotFoundException.
func IsNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException"
}
