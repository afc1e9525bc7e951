package execute

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// IAM user tags keyrot keeps its durable rotation state in.
const (
	// TagPending is "<RFC3339 time> <owner> before=<key-id>/<key-id>": a
	// key creation started and its secret is not yet stored, and the keys
	// the user had then (none of them is the creation's key). Written
	// before CreateAccessKey. Values written before the key list was
	// recorded have no "before=" field.
	TagPending = "keyrot:rotation-pending"
	// TagDeactivated is "<key-id>@<RFC3339 time> <origin>": when keyrot
	// deactivated the key (origin "by-keyrot"), or first saw it inactive
	// (origin "seen-inactive"). A value with no origin was written before
	// keyrot told the two apart.
	TagDeactivated = "keyrot:deactivated"
	// TagRolledBack is "<key-id>@<RFC3339 time>": when keyrot re-activated
	// the key by rollback.
	TagRolledBack = "keyrot:rolled-back"
)

// Origin says who made a key inactive, as keyrot's records tell.
type Origin string

// Origins of an inactive key. Only a key keyrot deactivated is re-activated
// by rollback; both start the deletion window.
const (
	// OriginUnknown is a record written before keyrot told the others apart.
	OriginUnknown Origin = ""
	// OriginKeyrot: keyrot deactivated the key.
	OriginKeyrot Origin = "by-keyrot"
	// OriginSeen: the key was already inactive when keyrot first saw it.
	OriginSeen Origin = "seen-inactive"
)

// userTags is what keyrot's user tags say.
type userTags struct {
	PendingSince time.Time
	PendingOwner string
	// PendingRaw is the pending tag's value as read, to tell whether the
	// mark is still the one a step wrote or judged.
	PendingRaw string
	// PendingBefore lists the keys the user had when the mark was written
	// ("/"-separated); PendingBeforeKnown says the mark records them.
	PendingBefore      string
	PendingBeforeKnown bool
	// Count is how many tags the user has (IAM allows 50); Keys says which
	// of keyrot's tag keys are present, whatever their values.
	Count       int
	Keys        map[string]bool
	DeactKey    string
	DeactAt     time.Time
	DeactOrigin Origin
	RolledKey   string
	RolledAt    time.Time
	// All holds every tag of the user (the deliver section's user tag
	// names destinations).
	All map[string]string
}

// pendingMarkBefore introduces the pending mark's list of the keys the
// user had when it was written.
const pendingMarkBefore = "before="

// pendingValue is the keyrot:rotation-pending tag's value: when, by whom,
// and the IDs of the keys the user had then.
func pendingValue(t time.Time, owner string, before []string) string {
	return t.UTC().Format(time.RFC3339) + " " + tagSafe(owner) + " " + pendingMarkBefore + strings.Join(before, "/")
}

// MaxUserTags is IAM's quota of tags per user.
const MaxUserTags = 50

// tagQuotaProblem is the blocked reason of a user keyrot cannot tag.
func tagQuotaProblem(user, tag, what string) string {
	return fmt.Sprintf("user %s has %d tags, IAM's maximum: keyrot cannot add its tag %s to record %s; remove one of the user's tags (keyrot needs at most three: %s, %s, %s) and rerun",
		user, MaxUserTags, tag, what, TagPending, TagDeactivated, TagRolledBack)
}

// isTagQuota reports whether err is IAM refusing a tag over the user's quota.
func isTagQuota(err error) bool {
	return errCode(err) == "LimitExceeded"
}

// isDenied reports whether err is AWS refusing keyrot's own credentials or
// permissions (not something about the user acted on).
func isDenied(err error) bool {
	switch errCode(err) {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "InvalidClientTokenId", "ExpiredToken", "UnrecognizedClientException":
		return true
	}
	return false
}

// isPolicyDenied reports whether err is AWS denying a call by policy
// (AccessDenied), not refusing the caller's credentials.
func isPolicyDenied(err error) bool {
	switch errCode(err) {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation":
		return true
	}
	return false
}

// isNoSuchEntity reports whether err is IAM saying the user (or key) does not exist.
func isNoSuchEntity(err error) bool {
	return errCode(err) == "NoSuchEntity"
}

func keyAtValue(keyID string, t time.Time) string {
	return keyID + "@" + t.UTC().Format(time.RFC3339)
}

// deactivatedValue is the keyrot:deactivated tag's value.
func deactivatedValue(keyID string, t time.Time, o Origin) string {
	return keyAtValue(keyID, t) + " " + string(o)
}

// tagSafe maps a string to IAM's tag value characters.
func tagSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("_.:/=+-@ ", r):
			return r
		}
		return '_'
	}, s)
}

// parseKeyAt parses "<key-id>@<RFC3339 time>[ <origin>]".
func parseKeyAt(v string) (string, time.Time, Origin, bool) {
	v, mark, _ := strings.Cut(v, " ")
	id, ts, ok := strings.Cut(v, "@")
	if !ok || id == "" {
		return "", time.Time{}, OriginUnknown, false
	}
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return "", time.Time{}, OriginUnknown, false
	}
	o := Origin(mark)
	if o != OriginKeyrot && o != OriginSeen {
		o = OriginUnknown
	}
	return id, t, o, true
}

func parseUserTags(tags []types.Tag) userTags {
	u := userTags{Count: len(tags), Keys: map[string]bool{}, All: map[string]string{}}
	for _, t := range tags {
		v := aws.ToString(t.Value)
		k := aws.ToString(t.Key)
		u.All[k] = v
		if k == TagPending || k == TagDeactivated || k == TagRolledBack {
			u.Keys[k] = true
		}
		switch k {
		case TagPending:
			u.PendingRaw = v
			ts, owner, _ := strings.Cut(v, " ")
			if i := strings.LastIndex(owner, " "+pendingMarkBefore); i >= 0 {
				u.PendingBefore, u.PendingBeforeKnown = owner[i+1+len(pendingMarkBefore):], true
				owner = owner[:i]
			}
			if tt, err := time.Parse(time.RFC3339, ts); err == nil {
				u.PendingSince, u.PendingOwner = tt, owner
			}
		case TagDeactivated:
			u.DeactKey, u.DeactAt, u.DeactOrigin, _ = parseKeyAt(v)
		case TagRolledBack:
			u.RolledKey, u.RolledAt, _, _ = parseKeyAt(v)
		}
	}
	return u
}

// pending is the pending mark as the planner's Rotation holds it.
func (u userTags) pending() plan.Rotation {
	return plan.Rotation{PendingSince: u.PendingSince, PendingBefore: u.PendingBefore, PendingBeforeKnown: u.PendingBeforeKnown}
}

func readUserTags(ctx context.Context, c IAM, user string) (userTags, error) {
	var all []types.Tag
	pg := iam.NewListUserTagsPaginator(c, &iam.ListUserTagsInput{UserName: aws.String(user)})
	for pg.HasMorePages() {
		p, err := pg.NextPage(ctx)
		if err != nil {
			return userTags{}, fmt.Errorf("list tags of %s: %w", user, err)
		}
		all = append(all, p.Tags...)
	}
	return parseUserTags(all), nil
}

func tagUser(ctx context.Context, c IAM, user, key, value string) error {
	if _, err := c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String(user), Tags: []types.Tag{{Key: aws.String(key), Value: aws.String(value)}}}); err != nil {
		return fmt.Errorf("tag %s with %s: %w", user, key, err)
	}
	return nil
}

func untagUser(ctx context.Context, c IAM, user string, keys ...string) error {
	if _, err := c.UntagUser(ctx, &iam.UntagUserInput{UserName: aws.String(user), TagKeys: keys}); err != nil {
		return fmt.Errorf("untag %s from %s: %w", strings.Join(keys, ", "), user, err)
	}
	return nil
}

// liveKey is an access key as ListAccessKeys shows it now.
type liveKey struct {
	ID      string
	Status  inventory.KeyStatus
	Created time.Time
}

func listKeys(ctx context.Context, c IAM, user string) ([]liveKey, error) {
	var ks []liveKey
	pg := iam.NewListAccessKeysPaginator(c, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	for pg.HasMorePages() {
		p, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list access keys of %s: %w", user, err)
		}
		for _, k := range p.AccessKeyMetadata {
			ks = append(ks, liveKey{ID: aws.ToString(k.AccessKeyId), Status: inventory.KeyStatus(k.Status), Created: aws.ToTime(k.CreateDate)})
		}
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].Created.Before(ks[j].Created) })
	return ks, nil
}

func findKey(ks []liveKey, id string) *liveKey {
	for i := range ks {
		if ks[i].ID == id {
			return &ks[i]
		}
	}
	return nil
}

// sameKeys reports whether the live keys are exactly the expected ones.
func sameKeys(live []liveKey, expect []plan.KeyState) bool {
	if len(live) != len(expect) {
		return false
	}
	for _, e := range expect {
		k := findKey(live, e.ID)
		if k == nil || k.Status != e.Status {
			return false
		}
	}
	return true
}

// sameKeyIDs reports whether a and b hold the same key IDs.
func sameKeyIDs(a, b []liveKey) bool {
	if len(a) != len(b) {
		return false
	}
	for _, k := range a {
		if findKey(b, k.ID) == nil {
			return false
		}
	}
	return true
}

func keysText(ks []liveKey) string {
	var parts []string
	for _, k := range ks {
		parts = append(parts, inventory.MaskKeyID(k.ID)+" "+string(k.Status))
	}
	if len(parts) == 0 {
		return "no keys"
	}
	return strings.Join(parts, ", ")
}

func expectText(ks []plan.KeyState) string {
	var parts []string
	for _, k := range ks {
		parts = append(parts, inventory.MaskKeyID(k.ID)+" "+string(k.Status))
	}
	if len(parts) == 0 {
		return "no keys"
	}
	return strings.Join(parts, ", ")
}

// lastUse is a key's live last use.
type lastUse struct {
	At      *time.Time
	Service string
	Region  string
}

func lastUsed(ctx context.Context, c IAM, keyID string) (lastUse, error) {
	out, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(keyID)})
	if err != nil {
		return lastUse{}, fmt.Errorf("read last use of %s: %w", inventory.MaskKeyID(keyID), err)
	}
	if out.AccessKeyLastUsed == nil {
		return lastUse{}, nil
	}
	l := lastUse{At: out.AccessKeyLastUsed.LastUsedDate, Service: aws.ToString(out.AccessKeyLastUsed.ServiceName), Region: aws.ToString(out.AccessKeyLastUsed.Region)}
	if l.Service == "N/A" {
		l.Service = ""
	}
	if l.Region == "N/A" {
		l.Region = ""
	}
	return l, nil
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// verifyKey proves a key authenticates as the user: STS GetCallerIdentity
// signed with the key itself, retried with backoff while IAM has not yet
// propagated a new key (InvalidClientTokenId).
func (r *runner) verifyKey(ctx context.Context, acct, keyID string, secret secretstore.Secret, wantARN string) error {
	cfg, err := r.e.Clients.KeyConfig(ctx, acct)
	if err != nil {
		return fmt.Errorf("verify key %s: %w", inventory.MaskKeyID(keyID), err)
	}
	cfg = cfg.Copy()
	cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(keyID, secret.Reveal(), ""))
	client := sts.NewFromConfig(cfg)
	attempts := r.e.VerifyAttempts
	if attempts <= 0 {
		attempts = 10
	}
	backoff := r.e.VerifyBackoff
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	for i := 1; ; i++ {
		out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err == nil {
			if got := aws.ToString(out.Arn); wantARN != "" && got != wantARN {
				return fmt.Errorf("verify key %s: it authenticates as %s, not %s", inventory.MaskKeyID(keyID), got, wantARN)
			}
			return nil
		}
		if errCode(err) != "InvalidClientTokenId" || i >= attempts {
			return fmt.Errorf("verify key %s (attempt %d): %w", inventory.MaskKeyID(keyID), i, err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("verify key %s: %w", inventory.MaskKeyID(keyID), ctx.Err())
		case <-t.C:
		}
		backoff = min(backoff*2, 8*time.Second)
	}
}

func userARN(ctx context.Context, c IAM, user string) (string, error) {
	out, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(user)})
	if err != nil {
		return "", fmt.Errorf("get user %s: %w", user, err)
	}
	return aws.ToString(out.User.Arn), nil
}
