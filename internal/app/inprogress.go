package app

import (
	"context"
	"sync"
	"time"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/policy"
)

// markRotationsInProgress marks the findings that a keyrot rotation in
// progress explains: while the owner's window to switch is open (until the
// old key's deactivation date), the user has two active keys and the old
// one is past the rotation age. Those findings are kept, marked exempt with
// the reason and the window's end as expiry; after that date they count
// again. Only accounts with such findings cost a call (one ListSecrets); a
// failed look-up leaves the findings as they are.
func (r *App) markRotationsInProgress(ctx context.Context, scope Scope, res *audit.Result) {
	byAcct := map[string][]int{}
	for i, f := range res.Findings {
		if !f.Exempt && (f.Rule == policy.RuleAccessKeyMultipleActive || f.Rule == policy.RuleAccessKeyAge) {
			byAcct[f.AccountID] = append(byAcct[f.AccountID], i)
		}
	}
	if len(byAcct) == 0 || res.Snapshot == nil {
		return
	}
	clients := r.clients(scope)
	now := r.now()
	// Accounts are looked up as many at once as they are collected; each
	// marks only its own findings.
	conc := r.collectOptions(scope).Concurrency
	if conc <= 0 {
		conc = collect.DefaultConcurrency
	}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for ai := range res.Snapshot.Accounts {
		a := &res.Snapshot.Accounts[ai]
		idx := byAcct[a.ID]
		if len(idx) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r.markAccount(ctx, clients, a, res, idx, now)
		}()
	}
	wg.Wait()
}

// markAccount marks the findings idx of account a that a rotation in
// progress explains.
func (r *App) markAccount(ctx context.Context, clients *Clients, a *inventory.Account, res *audit.Result, idx []int, now time.Time) {
	store, err := clients.Secrets(ctx, a.ID)
	if err != nil {
		r.log().Warn("rotation records unavailable; findings kept as they are", "account", a.ID, "err", err)
		return
	}
	secrets, err := store.List(ctx, a.ID, a.Name)
	if err != nil {
		r.log().Warn("rotation records unavailable; findings kept as they are", "account", a.ID, "err", err)
		return
	}
	stored := map[string]plan.Rotation{}
	for _, s := range secrets {
		if s.KeyID != "" {
			stored[s.UserName] = plan.Rotation{NewKeyID: s.KeyID, StoredAt: s.StoredAt, SecretARN: s.ARN}
		}
	}
	for _, i := range idx {
		f := &res.Findings[i]
		rot, ok := stored[f.User]
		u := findUser(a, f.User)
		if !ok || u == nil {
			continue
		}
		until, inWindow := rotationWindow(r.Policy, a, u, rot, now)
		if !inWindow || f.KeyID == rot.NewKeyID {
			continue
		}
		f.Exempt = true
		f.Exemption = &audit.ExemptionApplied{Match: "keyrot:rotation-in-progress",
			Reason:  "keyrot rotation in progress: new key " + inventory.MaskKeyID(rot.NewKeyID) + " stored " + rot.StoredAt.UTC().Format("2006-01-02") + "; the old key is deactivated once unused, due " + until.UTC().Format("2006-01-02"),
			Expires: until}
	}
}

// rotationWindow returns when the old key of a stored rotation is due to be
// deactivated, and whether that is still ahead (the new key active among
// the user's keys).
func rotationWindow(p *policy.Policy, a *inventory.Account, u *inventory.User, rot plan.Rotation, now time.Time) (time.Time, bool) {
	var newKey *inventory.AccessKey
	var old []inventory.AccessKey
	for i, k := range u.Keys {
		switch {
		case k.ID == rot.NewKeyID:
			newKey = &u.Keys[i]
		case k.Active():
			old = append(old, k)
		}
	}
	if newKey == nil || !newKey.Active() || len(old) != 1 {
		return time.Time{}, false
	}
	lc := Lifecycle(p, p.AccessKeys)
	if ex := rotationExemption(p, a, u, now); ex.Lifecycle != nil {
		lc = *ex.Lifecycle
	}
	due := lc.DeactivationDue(old[0].CreateDate, rot.StoredAt)
	return due, now.Before(due)
}

func findUser(a *inventory.Account, name string) *inventory.User {
	for i := range a.Users {
		if a.Users[i].Name == name {
			return &a.Users[i]
		}
	}
	return nil
}
