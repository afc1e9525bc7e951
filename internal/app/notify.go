package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/notify"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/policy"
)

// NoticeItems turns a run's outcomes and its plan's deadlines into the items
// owners are told about: keys rotated (where the new one is), deactivated
// (how to roll back, until when), deleted, blocked because still in use, and
// deactivations and deletions ahead (so reminders fall on the right days).
// Dry runs tell nobody; audit-only runs tell what would happen.
func (r *App) NoticeItems(rp *RotationPlan, res *execute.Result, now time.Time) []notify.Item {
	return r.noticeItems(rp, res, now, nil)
}

// noticeItems is NoticeItems where when gives, by action ID, the time an
// outcome happened if not now (the changes of an earlier run, from its
// journal), so that its deadlines are counted from then.
func (r *App) noticeItems(rp *RotationPlan, res *execute.Result, now time.Time, when map[string]time.Time) []notify.Item {
	users := map[plan.UserRef]*inventory.User{}
	accts := map[string]*inventory.Account{}
	for ai := range rp.Snapshot.Accounts {
		a := &rp.Snapshot.Accounts[ai]
		accts[a.ID] = a
		for ui := range a.Users {
			users[plan.UserRef{Account: a.ID, User: a.Users[ui].Name}] = &a.Users[ui]
		}
	}
	actions := map[string]plan.Action{}
	for _, a := range rp.Plan.Actions {
		actions[a.ID] = a
	}
	lifecycle := func(a *inventory.Account, u *inventory.User) plan.Lifecycle {
		if ex := rotationExemption(r.Policy, a, u, now); ex.Lifecycle != nil {
			return *ex.Lifecycle
		}
		return Lifecycle(r.Policy, r.Policy.AccessKeys)
	}
	keyCreated := func(u *inventory.User, id string) time.Time {
		for _, k := range u.Keys {
			if k.ID == id {
				return k.CreateDate
			}
		}
		for _, c := range u.ServiceCredentials {
			if c.ID == id {
				return c.CreateDate
			}
		}
		return time.Time{}
	}
	svcLifecycle := ServiceCredentials(r.Policy).Lifecycle
	item := func(account, user, keyID string, st notify.State, date time.Time) (notify.Item, bool) {
		a, u := accts[account], users[plan.UserRef{Account: account, User: user}]
		if a == nil || u == nil {
			return notify.Item{}, false
		}
		return notify.Item{AccountID: a.ID, AccountName: a.Name, AccountEmail: a.Email, User: u.Name, UserARN: u.ARN,
			UserTags: u.Tags, KeyID: keyID, State: st, Date: date}, true
	}

	var items []notify.Item
	// changed are the keys this run rotated, deactivated or deleted: the
	// findings, evaluated on the snapshot taken before the run, are stale
	// about them.
	changed := map[string]bool{}
	if res != nil {
		for _, o := range res.Outcomes {
			done := o.Status == execute.Succeeded || o.WouldDo
			a, u := accts[o.AccountID], users[plan.UserRef{Account: o.AccountID, User: o.User}]
			if a == nil || u == nil {
				continue
			}
			lc := lifecycle(a, u)
			at := now
			if t, ok := when[o.ActionID]; ok {
				at = t
			}
			if !o.WouldDo && (o.Status == execute.Succeeded || o.Kind == plan.CreateKey && o.NewKeyID != "" && o.SecretARN != "") {
				changed[o.AccountID+"/"+o.KeyID] = true
			}
			switch {
			case o.Kind == plan.CreateKey && (done || o.NewKeyID != "" && o.SecretARN != ""):
				// Also a create that failed after its key became the
				// secret's current value: the owner must hear of it.
				due := lc.DeactivationDue(keyCreated(u, o.KeyID), at)
				if it, ok := item(o.AccountID, o.User, o.KeyID, notify.StateRotated, due); ok {
					it.SecretName, it.SecretARN, it.SecretRegion = o.SecretName, o.SecretARN, regionOfARN(o.SecretARN)
					items = append(items, it)
				}
			case o.Kind == plan.DeactivateKey && done:
				if it, ok := item(o.AccountID, o.User, o.KeyID, notify.StateDeactivated, at); ok {
					it.Rollback = lc.DeletionDue(keyCreated(u, o.KeyID), at)
					items = append(items, it)
				}
			case o.Kind == plan.DeleteKey && done:
				if it, ok := item(o.AccountID, o.User, o.KeyID, notify.StateDeleted, at); ok {
					items = append(items, it)
				}
			case o.Kind == plan.DisableConsole && done:
				if it, ok := item(o.AccountID, o.User, "", notify.StateConsoleDisabled, at); ok {
					items = append(items, it)
				}
			case o.Kind == execute.KindRestoreConsole && done:
				if it, ok := item(o.AccountID, o.User, "", notify.StateConsoleRestored, at); ok {
					it.SecretName, it.SecretARN, it.SecretRegion = o.SecretName, o.SecretARN, regionOfARN(o.SecretARN)
					items = append(items, it)
				}
			// Service-specific credentials: told like a key rotation (the
			// notice names the old credential and where the new one is).
			case o.Kind == plan.CreateServiceCredential && (done || o.NewKeyID != "" && o.SecretARN != ""):
				due := svcLifecycle.DeactivationDue(keyCreated(u, o.KeyID), at)
				if it, ok := item(o.AccountID, o.User, o.KeyID, notify.StateRotated, due); ok {
					it.Service = plan.ServiceShort(actions[o.ActionID].Service)
					it.SecretName, it.SecretARN, it.SecretRegion = o.SecretName, o.SecretARN, regionOfARN(o.SecretARN)
					items = append(items, it)
				}
			case o.Kind == plan.DeactivateServiceCredential && done:
				if it, ok := item(o.AccountID, o.User, o.KeyID, notify.StateDeactivated, at); ok {
					it.Service = plan.ServiceShort(actions[o.ActionID].Service)
					it.Rollback = svcLifecycle.DeletionDue(keyCreated(u, o.KeyID), at)
					items = append(items, it)
				}
			case o.Kind == plan.DeleteServiceCredential && done && actions[o.ActionID].Evidence["orphan"] != "true":
				if it, ok := item(o.AccountID, o.User, o.KeyID, notify.StateDeleted, at); ok {
					it.Service = plan.ServiceShort(actions[o.ActionID].Service)
					items = append(items, it)
				}
			case o.Kind == plan.DeactivateKey && o.Status == execute.Blocked && o.LastUsed != nil:
				if it, ok := item(o.AccountID, o.User, o.KeyID, notify.StateBlockedInUse, actions[o.ActionID].Due); ok {
					it.LastUsed, it.LastUsedService, it.LastUsedRegion = *o.LastUsed, o.LastUsedService, o.LastUsedRegion
					// Repeat where the new key is: the owner must switch to it.
					if rot := rp.Rotations[plan.UserRef{Account: o.AccountID, User: o.User}]; rot.SecretARN != "" {
						it.SecretARN, it.SecretRegion = rot.SecretARN, regionOfARN(rot.SecretARN)
						it.SecretName = secretNameOfARN(rot.SecretARN)
					}
					items = append(items, it)
				}
			}
		}
	}
	// Destinations that do not hold a user's new key: the old key stays
	// active until they do, and the owner must hear which and why.
	if res != nil {
		for _, o := range res.Outcomes {
			bad := undeliveredOf(o)
			if len(bad) == 0 || (o.Kind != plan.DeactivateKey && o.Kind != plan.CreateKey) {
				continue
			}
			a, u := accts[o.AccountID], users[plan.UserRef{Account: o.AccountID, User: o.User}]
			if a == nil || u == nil {
				continue
			}
			due := actions[o.ActionID].Due
			if o.Kind == plan.CreateKey {
				due = lifecycle(a, u).DeactivationDue(keyCreated(u, o.KeyID), now)
			}
			if it, ok := item(o.AccountID, o.User, o.KeyID, notify.StateBlockedDelivery, due); ok {
				it.Undelivered = bad
				items = append(items, it)
			}
		}
	}
	outcomeItems := len(items)
	for _, up := range rp.Plan.Upcoming {
		switch up.Kind {
		case plan.DisableConsole:
			if it, ok := item(up.AccountID, up.User, "", notify.StateConsoleDisableDue, up.Due); ok {
				items = append(items, it)
			}
		case plan.DeactivateKey:
			// The same notice as the rotation's (same key, same deadline), so
			// it is not sent again, and its reminders fall on the right days.
			rot := rp.Rotations[plan.UserRef{Account: up.AccountID, User: up.User}]
			st := notify.StateDeactivationDue
			if rot.NewKeyID != "" {
				st = notify.StateRotated
			}
			if it, ok := item(up.AccountID, up.User, up.KeyID, st, up.Due); ok {
				it.SecretARN, it.SecretRegion = rot.SecretARN, regionOfARN(rot.SecretARN)
				it.SecretName = secretNameOfARN(rot.SecretARN)
				items = append(items, it)
			}
		case plan.DeactivateServiceCredential:
			// As a key's: the rotation's notice again, until the
			// deactivation, so an owner whose first notice was lost (a
			// failed delivery, a run that ended before notifying) is
			// still told before the credential stops working.
			rec := rp.ServiceRecords[plan.ServiceRef{Account: up.AccountID, User: up.User, Service: up.Service}]
			if rec.SecretARN == "" {
				continue // no credential of keyrot's stored: nothing to announce
			}
			if it, ok := item(up.AccountID, up.User, up.KeyID, notify.StateRotated, up.Due); ok {
				it.Service = plan.ServiceShort(up.Service)
				it.SecretARN, it.SecretRegion = rec.SecretARN, regionOfARN(rec.SecretARN)
				it.SecretName = secretNameOfARN(rec.SecretARN)
				items = append(items, it)
			}
		case plan.DeleteServiceCredential:
			rec := rp.ServiceRecords[plan.ServiceRef{Account: up.AccountID, User: up.User, Service: up.Service}]
			if rec.DeactivatedID != up.KeyID || rec.CredentialID == "" {
				continue // only credentials keyrot deactivated (not an orphan, not an expired key): their owners may need to roll back
			}
			if it, ok := item(up.AccountID, up.User, up.KeyID, notify.StateDeactivated, rec.DeactivatedAt); ok {
				it.Service = plan.ServiceShort(up.Service)
				it.Rollback = up.Due
				items = append(items, it)
			}
		case plan.DeleteKey:
			rot := rp.Rotations[plan.UserRef{Account: up.AccountID, User: up.User}]
			if rot.DeactivatedKeyID != up.KeyID || rot.NewKeyID == "" {
				continue // only keys keyrot replaced: their owners may still need to roll back
			}
			if it, ok := item(up.AccountID, up.User, up.KeyID, notify.StateDeactivated, rot.DeactivatedAt); ok {
				it.Rollback = up.Due
				items = append(items, it)
			}
		}
	}
	return r.withFindings(rp, items, outcomeItems, changed, now)
}

// withFindings adds, for each user something happened to in this run (the
// first n items, from the run's outcomes), that user's open audit findings,
// so the owner's digest is complete. Findings never come on their own: an
// owner is not told daily about what has not changed.
//
// The findings are evaluated on the snapshot collected before the run's
// actions, so those about a key this run changed (changed, by
// "account/keyID": rotated, deactivated or deleted) are left out: they
// describe the key as it was, beside a notice that says what was just done
// to it. Each title names its key (masked); the digest labels the rest as
// found at the start of the run.
func (r *App) withFindings(rp *RotationPlan, items []notify.Item, n int, changed map[string]bool, now time.Time) []notify.Item {
	told := map[plan.UserRef]notify.Item{}
	for _, it := range items[:n] {
		told[plan.UserRef{Account: it.AccountID, User: it.User}] = it
	}
	if len(told) == 0 {
		return items
	}
	titles := map[plan.UserRef][]string{}
	for _, f := range audit.Evaluate(r.Policy, rp.Snapshot, now).Findings {
		ref := plan.UserRef{Account: f.AccountID, User: f.User}
		if f.Rule == policy.RuleAccessKeyMultipleActive && rp.Rotations[ref].NewKeyID != "" {
			continue // keyrot's own rotation window: two keys are expected
		}
		if f.KeyID != "" && changed[f.AccountID+"/"+f.KeyID] {
			continue // stale: this run rotated, deactivated or deleted the key
		}
		if _, ok := told[ref]; ok && !f.Exempt {
			title := f.Title
			if f.KeyID != "" {
				title = "key " + inventory.MaskKeyID(f.KeyID) + ": " + title
			}
			titles[ref] = append(titles[ref], title)
		}
	}
	for ref, ts := range titles {
		it := told[ref]
		items = append(items, notify.Item{AccountID: it.AccountID, AccountName: it.AccountName, AccountEmail: it.AccountEmail,
			User: it.User, UserARN: it.UserARN, UserTags: it.UserTags, State: notify.StateFinding, Date: now, FindingTitles: ts})
	}
	return items
}

// channels returns the configured notification channels.
func (r *App) channels() []notify.ChannelConfig {
	if r.Notify == nil {
		return nil
	}
	return r.Notify.Channels
}

// send sends the items through the configured channels; with none it
// does nothing. Delivery failures are in the summary, never a reason to
// fail the run.
func (r *App) send(ctx context.Context, runID int64, items []notify.Item, auditOnly bool) (*notify.Summary, error) {
	if len(r.channels()) == 0 || len(items) == 0 {
		return &notify.Summary{}, nil
	}
	return r.sendWith(ctx, r.Notify, fmt.Sprint(runID), items, auditOnly)
}

// sendWith sends the items with the notification configuration cfg, as
// the run runID.
func (r *App) sendWith(ctx context.Context, cfg *notify.Config, runID string, items []notify.Item, auditOnly bool) (*notify.Summary, error) {
	targets, err := notify.BuildTargets(cfg, notify.Deps{AWS: r.AWS})
	if err != nil {
		return nil, err
	}
	var hist notify.History
	if r.History != nil {
		hist = r.History
	}
	n, err := notify.New(cfg, targets, notify.Options{History: hist, Logger: r.log()})
	if err != nil {
		return nil, err
	}
	return n.Send(ctx, notify.Run{ID: runID, Now: r.now(), AuditOnly: auditOnly, Items: items})
}

// secretNameOfARN returns a Secrets Manager ARN's secret name, without the
// random six-character suffix AWS appends.
func secretNameOfARN(arn string) string {
	_, res, ok := strings.Cut(arn, ":secret:")
	if !ok {
		return ""
	}
	if i := strings.LastIndex(res, "-"); i > 0 && len(res)-i == 7 {
		return res[:i]
	}
	return res
}

// regionOfARN returns the region field of an ARN.
func regionOfARN(arn string) string {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) < 5 {
		return ""
	}
	return parts[3]
}

// undeliveredOf lists the destinations an outcome says do not hold the
// user's new key.
func undeliveredOf(o execute.Outcome) []notify.Undelivered {
	var out []notify.Undelivered
	for _, d := range o.Deliveries {
		if !d.Delivered {
			out = append(out, notify.Undelivered{Destination: d.Destination, Error: d.Error})
		}
	}
	return out
}
