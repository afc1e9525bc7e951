package app

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/policy"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// markRotationsInProgress marks the findings that a keyrot rotation in
// progress explains: while the owner's window to switch is open (until the
// old key's deactivation date), the user has two active keys and the old
// one is past the rotation age. Those findings are kept, marked exempt with
// the reason and the window's end as expiry; after that date they count
// again. Only accounts with such findings cost a call (one ListSecrets); a
// failed look-up leaves the findings as they are. The records fetched while
// the accounts were collected (records, may be nil) are used; the others
// are read now.
func (r *App) markRotationsInProgress(ctx context.Context, scope Scope, res *audit.Result, records *rotationRecords) {
	byAcct := map[string][]int{}
	for i, f := range res.Findings {
		if inProgressCandidate(f) {
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
			secrets, read := records.get(a.ID)
			r.markAccount(ctx, clients, a, res, idx, now, secrets, read)
		}()
	}
	wg.Wait()
}

// inProgressCandidate reports whether a rotation in progress could explain f.
func inProgressCandidate(f audit.Finding) bool {
	return !f.Exempt && (f.Rule == policy.RuleAccessKeyMultipleActive || f.Rule == policy.RuleAccessKeyAge)
}

// rotationRecords are the keyrot secrets of the accounts whose findings a
// rotation in progress could explain, read as each account is collected
// (collect.Options.Collected), so that the look-up overlaps the other
// accounts' collection rather than waiting for the slowest one.
type rotationRecords struct {
	r       *App
	clients *Clients
	mu      sync.Mutex
	lists   map[string][]secretstore.Listed
}

// prefetchRotationRecords returns the records to fill while the scope is
// collected.
func (r *App) prefetchRotationRecords(scope Scope) *rotationRecords {
	return &rotationRecords{r: r, clients: r.clients(scope), lists: map[string][]secretstore.Listed{}}
}

// fetch reads the records of account a if its own findings (the account
// judged alone) have a candidate; a failure leaves it to
// markRotationsInProgress, which tries again and says so.
func (rr *rotationRecords) fetch(ctx context.Context, a *inventory.Account) {
	res := audit.Evaluate(rr.r.Policy, &inventory.Snapshot{Accounts: []inventory.Account{*a}}, rr.r.now())
	if !slices.ContainsFunc(res.Findings, inProgressCandidate) {
		return
	}
	store, err := rr.clients.Secrets(ctx, a.ID)
	if err != nil {
		return
	}
	secrets, ok := rr.fromInventory(a, store)
	if !ok {
		if secrets, err = store.List(ctx, a.ID, a.Name); err != nil {
			return
		}
	}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.lists[a.ID] = secrets
}

// selector picks an account's keyrot secrets out of a listing of all the
// secrets of the store's account and region (secretstore.Store.Select).
type selector interface {
	Select(accountID, accountName string, all []secretstore.Listing) []secretstore.Listed
}

// fromInventory returns account a's records from the secrets its
// collection listed, without a call, when that listing covers the store:
// the store is the account's own (not a central one) and its region's
// secrets were all listed.
func (rr *rotationRecords) fromInventory(a *inventory.Account, store execute.KeyStore) ([]secretstore.Listed, bool) {
	sel, ok := store.(selector)
	region := store.Config().Region
	if !ok || rr.r.Policy.Rotation.Store == "central" || region == "" || !slices.Contains(a.Kinds.SecretRegions, region) {
		return nil, false
	}
	var all []secretstore.Listing
	for _, s := range a.Secrets {
		if s.Region == region {
			all = append(all, secretstore.Listing{ARN: s.ARN, Name: s.Name, Tags: s.Tags})
		}
	}
	return sel.Select(a.ID, a.Name, all), true
}

// get returns account's records and whether they were read.
func (rr *rotationRecords) get(account string) ([]secretstore.Listed, bool) {
	if rr == nil {
		return nil, false
	}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	l, ok := rr.lists[account]
	return l, ok
}

// markAccount marks the findings idx of account a that a rotation in
// progress explains, with the account's records when already read, else
// read now.
func (r *App) markAccount(ctx context.Context, clients *Clients, a *inventory.Account, res *audit.Result, idx []int, now time.Time, secrets []secretstore.Listed, read bool) {
	if !read {
		store, err := clients.Secrets(ctx, a.ID)
		if err != nil {
			r.log().Warn("rotation records unavailable; findings kept as they are", "account", a.ID, "err", err)
			return
		}
		if secrets, err = store.List(ctx, a.ID, a.Name); err != nil {
			r.log().Warn("rotation records unavailable; findings kept as they are", "account", a.ID, "err", err)
			return
		}
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
