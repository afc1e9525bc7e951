package secretstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// Service secrets: one per user and service, holding that user's current
// IAM service-specific credential (a CodeCommit or Keyspaces user name and
// password, or a Bedrock long-term API key). The secret's tags are keyrot's
// records of the credential's rotation (ServiceTags).

// Tags of a service secret, besides TagAccount and TagUser.
const (
	// TagService names the credential's service (codecommit.amazonaws.com).
	// A secret with it is a service secret: List leaves it out.
	TagService = "keyrot:service"
	// TagCredentialID and TagStoredAt name the credential stored last and when.
	TagCredentialID = "keyrot:credential-id"
	// TagServicePending marks a creation in progress: "<RFC 3339 time>
	// <ID>/<ID>", the time it began and the credentials the user had then.
	TagServicePending = "keyrot:pending"
	// TagServiceDeactivated is "<ID> <RFC 3339 time>": keyrot deactivated
	// the credential then (written just before the deactivation).
	TagServiceDeactivated = "keyrot:deactivated"
	// TagServiceRolledBack is "<ID> <RFC 3339 time>": rollback re-activated it then.
	TagServiceRolledBack = "keyrot:rolled-back"
)

// ServiceFormatVersion is the version of the service secret's layout.
const ServiceFormatVersion = 1

// ServiceValue is what a service secret holds. Printing or JSON-encoding it
// redacts the password and the API key secret; Encode produces the stored
// document.
type ServiceValue struct {
	ServiceName  string `json:"ServiceName"`
	CredentialID string `json:"ServiceSpecificCredentialId"`
	// ServiceUserName and ServicePassword are a CodeCommit or Keyspaces
	// credential's; ServiceCredentialAlias and ServiceCredentialSecret a
	// Bedrock API key's.
	ServiceUserName         string     `json:"ServiceUserName,omitempty"`
	ServicePassword         Secret     `json:"ServicePassword,omitzero"`
	ServiceCredentialAlias  string     `json:"ServiceCredentialAlias,omitempty"`
	ServiceCredentialSecret Secret     `json:"ServiceCredentialSecret,omitzero"`
	UserName                string     `json:"UserName"`
	AccountID               string     `json:"AccountId"`
	CreateDate              time.Time  `json:"CreateDate"`
	ExpirationDate          *time.Time `json:"ExpirationDate,omitempty"`
	Version                 int        `json:"Version"`
}

// IsZero reports whether the secret is empty (for omitzero).
func (s Secret) IsZero() bool { return s.s == "" }

type wireServiceValue struct {
	ServiceName             string `json:"ServiceName"`
	CredentialID            string `json:"ServiceSpecificCredentialId"`
	ServiceUserName         string `json:"ServiceUserName,omitempty"`
	ServicePassword         string `json:"ServicePassword,omitempty"`
	ServiceCredentialAlias  string `json:"ServiceCredentialAlias,omitempty"`
	ServiceCredentialSecret string `json:"ServiceCredentialSecret,omitempty"`
	UserName                string `json:"UserName"`
	AccountID               string `json:"AccountId"`
	CreateDate              string `json:"CreateDate"`
	ExpirationDate          string `json:"ExpirationDate,omitempty"`
	Version                 int    `json:"Version"`
}

// secretMaterial is the password or API key secret, whichever is set.
func (v ServiceValue) secretMaterial() Secret {
	if !v.ServicePassword.Empty() {
		return v.ServicePassword
	}
	return v.ServiceCredentialSecret
}

// SameSecret reports whether v and o hold the same credential with the
// same secret material.
func (v ServiceValue) SameSecret(o ServiceValue) bool {
	return v.CredentialID == o.CredentialID && !v.secretMaterial().Empty() && v.secretMaterial().Reveal() == o.secretMaterial().Reveal()
}

// Encode returns the JSON document stored as the secret's SecretString; it
// holds the secret material: send it to Secrets Manager only.
func (v ServiceValue) Encode() (string, error) {
	if v.ServiceName == "" || v.CredentialID == "" || v.secretMaterial().Empty() {
		return "", errors.New("encode service credential: service, credential ID and its password or secret are required")
	}
	ver := v.Version
	if ver == 0 {
		ver = ServiceFormatVersion
	}
	w := wireServiceValue{ServiceName: v.ServiceName, CredentialID: v.CredentialID,
		ServiceUserName: v.ServiceUserName, ServicePassword: v.ServicePassword.Reveal(),
		ServiceCredentialAlias: v.ServiceCredentialAlias, ServiceCredentialSecret: v.ServiceCredentialSecret.Reveal(),
		UserName: v.UserName, AccountID: v.AccountID, CreateDate: v.CreateDate.UTC().Format(time.RFC3339), Version: ver}
	if v.ExpirationDate != nil {
		w.ExpirationDate = v.ExpirationDate.UTC().Format(time.RFC3339)
	}
	b, err := json.Marshal(w)
	if err != nil {
		return "", fmt.Errorf("encode service credential: %w", err)
	}
	return string(b), nil
}

// ParseServiceValue decodes a service secret's value. Like ParseValue it
// accepts versions 1 to ServiceFormatVersion, ignores unknown fields, and
// never echoes the input.
func ParseServiceValue(s string) (ServiceValue, error) {
	var w wireServiceValue
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	if err := dec.Decode(&w); err != nil {
		return ServiceValue{}, fmt.Errorf("parse service credential: invalid JSON: %w", ErrBadValue)
	}
	if dec.More() {
		return ServiceValue{}, fmt.Errorf("parse service credential: trailing data: %w", ErrBadValue)
	}
	switch {
	case w.Version < 1 || w.Version > ServiceFormatVersion:
		return ServiceValue{}, fmt.Errorf("parse service credential: unsupported version %d: %w", w.Version, ErrBadValue)
	case w.ServiceName == "" || w.CredentialID == "":
		return ServiceValue{}, fmt.Errorf("parse service credential: ServiceName and ServiceSpecificCredentialId are required: %w", ErrBadValue)
	case w.ServicePassword == "" && w.ServiceCredentialSecret == "":
		return ServiceValue{}, fmt.Errorf("parse service credential: ServicePassword or ServiceCredentialSecret is required: %w", ErrBadValue)
	}
	v := ServiceValue{ServiceName: w.ServiceName, CredentialID: w.CredentialID, ServiceUserName: w.ServiceUserName,
		ServicePassword: NewSecret(w.ServicePassword), ServiceCredentialAlias: w.ServiceCredentialAlias,
		ServiceCredentialSecret: NewSecret(w.ServiceCredentialSecret), UserName: w.UserName, AccountID: w.AccountID, Version: w.Version}
	for _, f := range []struct {
		text string
		dst  **time.Time
	}{{w.CreateDate, nil}, {w.ExpirationDate, &v.ExpirationDate}} {
		if f.text == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, f.text)
		if err != nil {
			return ServiceValue{}, fmt.Errorf("parse service credential: a date is not RFC 3339: %w", ErrBadValue)
		}
		if f.dst == nil {
			v.CreateDate = t
		} else {
			*f.dst = &t
		}
	}
	return v, nil
}

// ServiceSecretName is the name of a user's secret for the credentials of
// one service: the user's secret name, "/", and the service's short name
// (codecommit, keyspaces, bedrock). IAM user names have no "/", so it
// never names another user's secret.
func (s *Store) ServiceSecretName(d NameData, short string) (string, error) {
	n, err := s.Name(d)
	if err != nil {
		return "", err
	}
	return n + "/" + short, nil
}

// ServiceTags are keyrot's records on a service secret.
type ServiceTags struct {
	ARN          string
	Exists       bool
	Service      string
	CredentialID string
	StoredAt     time.Time
	// PendingRaw is the pending mark as written; PendingSince and
	// PendingBefore its parts.
	PendingRaw    string
	PendingSince  time.Time
	PendingBefore []string
	DeactivatedID string
	DeactivatedAt time.Time
	RolledBackID  string
	RolledBackAt  time.Time
}

// PendingMark renders the pending tag's value.
func PendingMark(at time.Time, before []string) string {
	return at.UTC().Format(time.RFC3339Nano) + " " + strings.Join(before, "/")
}

// IDMark renders a deactivated or rolled-back tag's value.
func IDMark(id string, at time.Time) string { return id + " " + at.UTC().Format(time.RFC3339Nano) }

func serviceTagsOf(arn string, tags []types.Tag) ServiceTags {
	t := ServiceTags{ARN: arn, Exists: true}
	idAt := func(v string) (string, time.Time) {
		id, ts, _ := strings.Cut(v, " ")
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return "", time.Time{}
		}
		return id, at
	}
	for _, tg := range tags {
		v := aws.ToString(tg.Value)
		switch aws.ToString(tg.Key) {
		case TagService:
			t.Service = v
		case TagCredentialID:
			t.CredentialID = v
		case TagStoredAt:
			t.StoredAt, _ = time.Parse(time.RFC3339, v)
		case TagServicePending:
			ts, ids, _ := strings.Cut(v, " ")
			if at, err := time.Parse(time.RFC3339Nano, ts); err == nil {
				t.PendingRaw, t.PendingSince = v, at
				for _, id := range strings.Split(ids, "/") {
					if id != "" {
						t.PendingBefore = append(t.PendingBefore, id)
					}
				}
			}
		case TagServiceDeactivated:
			t.DeactivatedID, t.DeactivatedAt = idAt(v)
		case TagServiceRolledBack:
			t.RolledBackID, t.RolledBackAt = idAt(v)
		}
	}
	return t
}

// ServiceTagsOf reads a service secret's records (DescribeSecret); a secret
// that does not exist has none (Exists false).
func (s *Store) ServiceTagsOf(ctx context.Context, secretID string) (ServiceTags, error) {
	out, err := s.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretID)})
	if IsNotFound(err) {
		return ServiceTags{}, nil
	}
	if err != nil {
		return ServiceTags{}, fmt.Errorf("describe secret %s: %w", secretID, err)
	}
	t := serviceTagsOf(aws.ToString(out.ARN), out.Tags)
	if out.DeletedDate != nil {
		// Scheduled for deletion: restored before its next write.
		t.Exists = false
	}
	return t, nil
}

// ServiceEntry is one service credential to store, or the secret to prepare.
type ServiceEntry struct {
	Name    NameData
	Short   string // the service's short name, ending the secret's name
	UserARN string
	Value   ServiceValue
	// StoredAt is written to TagStoredAt.
	StoredAt time.Time
	// Step is as Entry.Step ("store-policy", "store-put-value", "store-tag").
	Step func(step string) error
}

func (e ServiceEntry) step(name string) error {
	if e.Step == nil {
		return nil
	}
	return e.Step(name)
}

// MarkPending creates the service secret if need be (without a value;
// restoring it from a scheduled deletion) and writes the pending mark, in
// the CreateSecret call itself for a new secret. It returns the secret's ARN.
func (s *Store) MarkPending(ctx context.Context, e ServiceEntry, mark string) (string, error) {
	name, err := s.ServiceSecretName(e.Name, e.Short)
	if err != nil {
		return "", err
	}
	d := e.Name
	tags := []types.Tag{
		{Key: aws.String(TagAccount), Value: aws.String(d.AccountID)},
		{Key: aws.String(TagUser), Value: aws.String(d.UserName)},
		{Key: aws.String(TagService), Value: aws.String(e.Value.ServiceName)},
		{Key: aws.String(TagServicePending), Value: aws.String(mark)},
	}
	arn, created, err := s.ensure(ctx, name, "Service-specific credential ("+e.Value.ServiceName+") of IAM user "+d.UserName+" in account "+d.AccountID+", rotated by keyrot", tags, e.step)
	if err != nil || created {
		return arn, err
	}
	if _, err := s.api.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(arn), Tags: tags[2:]}); err != nil {
		return "", fmt.Errorf("mark %s pending: %w", name, err)
	}
	return arn, nil
}

// PutService stores e's credential as the service secret's new AWSCURRENT
// version (the secret must exist: MarkPending), in Put's order: the
// resource policy (the user and the readers may read it), the value
// (idempotent by the credential's ID), then the credential ID and date tags.
func (s *Store) PutService(ctx context.Context, arn string, e ServiceEntry) (Stored, error) {
	val, err := e.Value.Encode()
	if err != nil {
		return Stored{}, err
	}
	name, _ := s.ServiceSecretName(e.Name, e.Short)
	if err := e.step("store-policy"); err != nil {
		return Stored{}, err
	}
	if err := s.setPolicy(ctx, arn, e.UserARN, true); err != nil {
		return Stored{}, err
	}
	if err := e.step("store-put-value"); err != nil {
		return Stored{}, err
	}
	out, err := s.api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(arn), ClientRequestToken: aws.String(RequestToken(e.Value.CredentialID)), SecretString: aws.String(val),
	})
	if err != nil {
		return Stored{}, fmt.Errorf("put secret value in %s: %w", name, err)
	}
	if err := e.step("store-tag"); err != nil {
		return Stored{}, err
	}
	if err := s.RetagService(ctx, arn, e.Value.CredentialID, e.StoredAt); err != nil {
		return Stored{}, err
	}
	return Stored{ARN: arn, Name: name, VersionID: aws.ToString(out.VersionId)}, nil
}

// RetagService writes the stored credential's ID and date tags.
func (s *Store) RetagService(ctx context.Context, arn, credentialID string, storedAt time.Time) error {
	if _, err := s.api.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(arn), Tags: []types.Tag{
		{Key: aws.String(TagCredentialID), Value: aws.String(credentialID)},
		{Key: aws.String(TagStoredAt), Value: aws.String(storedAt.UTC().Format(time.RFC3339))},
	}}); err != nil {
		return fmt.Errorf("tag %s: %w", arn, err)
	}
	return nil
}

// TagServiceRecord writes one record tag (TagServiceDeactivated, TagServiceRolledBack).
func (s *Store) TagServiceRecord(ctx context.Context, arn, key, value string) error {
	if _, err := s.api.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(arn),
		Tags: []types.Tag{{Key: aws.String(key), Value: aws.String(value)}}}); err != nil {
		return fmt.Errorf("tag %s on %s: %w", key, arn, err)
	}
	return nil
}

// UntagServiceRecord removes record tags.
func (s *Store) UntagServiceRecord(ctx context.Context, arn string, keys ...string) error {
	if _, err := s.api.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: aws.String(arn), TagKeys: keys}); err != nil {
		return fmt.Errorf("untag %s from %s: %w", strings.Join(keys, ", "), arn, err)
	}
	return nil
}

// ServiceVersion is a stored service credential with its version's facts.
type ServiceVersion struct {
	Value     ServiceValue
	ARN       string
	Name      string
	VersionID string
	Created   time.Time
}

// StageService reads the version of a service secret with the staging
// label stage; ErrNoVersion when the secret or the label does not exist.
func (s *Store) StageService(ctx context.Context, secretID, stage string) (ServiceVersion, error) {
	out, err := s.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID), VersionStage: aws.String(stage)})
	if isAccessDenied(err) {
		// As in Stage: a secret that does not exist has no tags.
		if _, derr := s.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretID)}); IsNotFound(derr) {
			err = derr
		}
	}
	if IsNotFound(err) {
		return ServiceVersion{}, fmt.Errorf("read %s of %s: %w", stage, secretID, ErrNoVersion)
	}
	if err != nil {
		if s.markedForDeletion(ctx, secretID, err) {
			return ServiceVersion{}, fmt.Errorf("read %s of %s: %w", stage, secretID, ErrMarkedForDeletion)
		}
		return ServiceVersion{}, fmt.Errorf("read %s of %s: %w", stage, secretID, err)
	}
	v, err := ParseServiceValue(aws.ToString(out.SecretString))
	if err != nil {
		return ServiceVersion{}, fmt.Errorf("read %s of %s: %w", stage, secretID, err)
	}
	return ServiceVersion{Value: v, ARN: aws.ToString(out.ARN), Name: aws.ToString(out.Name), VersionID: aws.ToString(out.VersionId),
		Created: aws.ToTime(out.CreatedDate)}, nil
}

// ServiceListed is one service secret as ListSecrets shows it.
type ServiceListed struct {
	Name     string
	UserName string
	Tags     ServiceTags
}

// ListServices returns keyrot's service secrets of an account's users
// with one paginated ListSecrets filtered by the account's name prefix.
func (s *Store) ListServices(ctx context.Context, accountID, accountName string) ([]ServiceListed, error) {
	var out []ServiceListed
	err := s.list(ctx, accountID, accountName, func(e types.SecretListEntry) {
		var acct, user string
		for _, t := range e.Tags {
			switch aws.ToString(t.Key) {
			case TagAccount:
				acct = aws.ToString(t.Value)
			case TagUser:
				user = aws.ToString(t.Value)
			}
		}
		tags := serviceTagsOf(aws.ToString(e.ARN), e.Tags)
		if acct != accountID || user == "" || tags.Service == "" || e.DeletedDate != nil {
			return
		}
		out = append(out, ServiceListed{Name: aws.ToString(e.Name), UserName: user, Tags: tags})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}
