package app

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/events"
	"github.com/keyrot/keyrot/internal/notify"
)

// Keyrot returns how keyrot's own calls in member accounts show in
// CloudTrail: the member role of scope (or the policy's) and keyrot's
// session name.
func (r *App) Keyrot(scope Scope) events.Keyrot {
	role := r.access(scope).Role()
	return events.Keyrot{RoleName: first(role.Name, awsaccess.DefaultRoleName), SessionName: role.SessionName}
}

// DetectionResult is what Detected did.
type DetectionResult struct {
	// TagsErr is why the user's tags could not be read (the notice then
	// goes to the security contact only); nil if they were.
	TagsErr error
	Notify  *notify.Summary
}

// Detected tells the user's owner and the security contact about a
// credential change keyrot did not make (events.Detect): the owner is
// found as for every other notice, from the owner tags of the user, read
// in the member account through the member role. The security contact
// always hears of it (a digest of its own when notify.central is none).
// The notice is de-duplicated through the history like every other, so an
// event delivered twice is told once.
func (r *App) Detected(ctx context.Context, scope Scope, d events.Detection) (*DetectionResult, error) {
	it := d.Item()
	res := &DetectionResult{}
	it.UserTags, res.TagsErr = r.userTags(ctx, scope, d.Account, d.User)
	if res.TagsErr != nil {
		r.log().Warn("detection: read the user's tags", "account", d.Account, "user", d.User, "err", res.TagsErr)
	}
	if r.Notify == nil || len(r.Notify.Channels) == 0 {
		r.log().Warn("detection: no notification channel configured; nobody is told", "event", d.EventID, "account", d.Account, "user", d.User, "what", d.What)
		res.Notify = &notify.Summary{}
		return res, nil
	}
	cfg := *r.Notify
	if cfg.Central == notify.CentralNone && cfg.SecurityContact != "" {
		cfg.Central = notify.CentralDigest
	}
	sum, err := r.sendWith(ctx, &cfg, "event-"+d.EventID, []notify.Item{it}, false)
	if err != nil {
		return nil, fmt.Errorf("notify about event %s: %w", d.EventID, err)
	}
	res.Notify = sum
	return res, nil
}

// iamTagsAPI is what userTags needs of IAM.
type iamTagsAPI interface {
	iam.ListUserTagsAPIClient
}

var _ iamTagsAPI = (*iam.Client)(nil)

// userTags reads a user's IAM tags in account, through the member role
// (the caller's own credentials in its own account).
func (r *App) userTags(ctx context.Context, scope Scope, account, user string) (map[string]string, error) {
	cfg, err := r.access(scope).Config(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("tags of %s in %s: %w", user, account, err)
	}
	return listUserTags(ctx, iam.NewFromConfig(cfg), user)
}

func listUserTags(ctx context.Context, c iamTagsAPI, user string) (map[string]string, error) {
	tags := map[string]string{}
	p := iam.NewListUserTagsPaginator(c, &iam.ListUserTagsInput{UserName: aws.String(user)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list tags of %s: %w", user, err)
		}
		for _, t := range page.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return tags, nil
}
