package audit

import (
	"cmp"
	"slices"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

// Credential kinds of the inventory output. Each kind's rows come from the
// file that judges it (credentials_*.go), through registerCredentials.
const (
	KindAccessKey       = "access-key"
	KindRootAccessKey   = "root-access-key"
	KindConsolePassword = "console-password"
	KindRootPassword    = "root-password"
)

// Last-use states of a Credential.
const (
	LastUseUsed       = "used"        // LastUsed says when
	LastUseNever      = "never"       // AWS says it was never used
	LastUseUnknown    = "unknown"     // it could not be read; never to be taken as "never used"
	LastUseNotTracked = "not-tracked" // AWS records no use for this kind
)

// Credential is one long-term credential in the inventory output (keyrot
// audit --inventory): what it is, who owns it, how old it is, when it was
// last used, when it expires and when the policy next wants something done
// to it. It holds no secret: ID is an identifier (an access key ID, an ARN)
// and is masked where the kind's identifier is itself secret-like.
type Credential struct {
	Kind        string `json:"kind"`
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name,omitempty"`
	// Region is set for regional kinds (ACM certificates, secrets, ...).
	Region string `json:"region,omitempty"`
	// Owner is the IAM user, RootUser, or empty for an account's resource.
	Owner string `json:"owner,omitempty"`
	// ID identifies the credential: an access key ID, an ARN, a name.
	ID string `json:"id"`
	// Name is a human name where ID is not one (a certificate's domain, ...).
	Name    string     `json:"name,omitempty"`
	Status  string     `json:"status,omitempty"`
	Created *time.Time `json:"created,omitempty"`
	AgeDays *int       `json:"age_days,omitempty"`
	// LastUse is one of the LastUse… states; LastUsed is set with "used".
	LastUse  string     `json:"last_use"`
	LastUsed *time.Time `json:"last_used,omitempty"`
	Expires  *time.Time `json:"expires,omitempty"`
	// NextDue is when the policy next wants DueAction done (rotate, delete,
	// renew, ...); it may be in the past. Nil when the policy sets no date.
	NextDue   *time.Time `json:"next_due,omitempty"`
	DueAction string     `json:"due_action,omitempty"`
	// Schedule names the keyrot.yaml setting (or override) NextDue follows.
	Schedule string `json:"schedule,omitempty"`
}

// credentialLister is what a kind's credential source reads: the policy
// and the reference time.
type credentialLister struct {
	p   *policy.Policy
	now time.Time
}

// credentialSource lists one account's credentials of one or more kinds.
type credentialSource func(l *credentialLister, a *inventory.Account) []Credential

var credentialSources []credentialSource

// registerCredentials adds a kind's credential source; each kind's file
// calls it from init. The output is sorted, so the order of calls does not
// matter.
func registerCredentials(src credentialSource) { credentialSources = append(credentialSources, src) }

// Credentials lists every long-term credential of the audited accounts of
// snap, with each one's next due date under p at now, sorted by account,
// kind, owner, region and ID. It is pure, like Evaluate.
func Credentials(p *policy.Policy, snap *inventory.Snapshot, now time.Time) []Credential {
	out := []Credential{}
	if snap == nil {
		return out
	}
	l := &credentialLister{p: p, now: now}
	for i := range snap.Accounts {
		a := &snap.Accounts[i]
		if a.Status != inventory.AccountAudited {
			continue
		}
		for _, src := range credentialSources {
			for _, c := range src(l, a) {
				c.AccountID, c.AccountName = a.ID, a.Name
				if c.LastUse == "" {
					c.LastUse = LastUseNotTracked
				}
				if c.Created != nil && c.AgeDays == nil {
					age := inventory.AgeDays(*c.Created, now)
					c.AgeDays = &age
				}
				out = append(out, c)
			}
		}
	}
	slices.SortStableFunc(out, func(x, y Credential) int {
		return cmp.Or(cmp.Compare(x.AccountID, y.AccountID), cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Owner, y.Owner),
			cmp.Compare(x.Region, y.Region), cmp.Compare(x.ID, y.ID))
	})
	return out
}

// due returns t+d, the date a threshold d counted from t falls due; nil when t is zero.
func due(t time.Time, d policy.Duration) *time.Time {
	if t.IsZero() {
		return nil
	}
	return timePtr(t.Add(time.Duration(d)))
}

// lastUse returns the LastUse state and time of a credential whose last
// use is known (or not) and may be nil for never used.
func lastUse(known bool, t *time.Time) (string, *time.Time) {
	switch {
	case !known:
		return LastUseUnknown, nil
	case t == nil:
		return LastUseNever, nil
	}
	return LastUseUsed, t
}

func init() { registerCredentials(iamUserCredentials) }

// iamUserCredentials lists the root user's password and access keys and
// each IAM user's access keys and console password.
func iamUserCredentials(l *credentialLister, a *inventory.Account) []Credential {
	var out []Credential
	if r := a.Root; r != nil {
		c := Credential{Kind: KindRootPassword, Owner: RootUser, ID: RootUser, LastUse: LastUseNever}
		if r.PasswordLastUsed != nil {
			c.LastUse, c.LastUsed = LastUseUsed, r.PasswordLastUsed
		}
		out = append(out, c)
		for _, k := range r.Keys {
			c := accessKeyCredential(KindRootAccessKey, RootUser, k)
			if l.p.Root.ForbidAccessKeys {
				c.NextDue, c.DueAction, c.Schedule = timePtr(l.now), "delete", "root.forbid_access_keys"
			}
			out = append(out, c)
		}
	}
	for ui := range a.Users {
		u := &a.Users[ui]
		ak, override := keysPolicy(l.p, a, u, l.now, nil)
		for _, k := range u.Keys {
			c := accessKeyCredential(KindAccessKey, u.Name, k)
			if k.Active() {
				c.NextDue, c.DueAction, c.Schedule = due(k.CreateDate, ak.RotateAfter), "rotate", "access_keys.rotate_after"
			} else {
				c.NextDue, c.DueAction, c.Schedule = due(k.CreateDate, ak.DeleteAfter), "delete", "access_keys.delete_after"
			}
			if override != "" {
				c.Schedule = override
			}
			out = append(out, c)
		}
		if pw := u.Password; pw != nil {
			c := Credential{Kind: KindConsolePassword, Owner: u.Name, ID: u.Name, Status: "Disabled", Created: pw.LastChanged}
			if pw.Enabled {
				c.Status = "Enabled"
			}
			c.LastUse, c.LastUsed = lastUse(true, pw.LastUsed)
			if pw.NextRotation != nil {
				c.NextDue, c.DueAction, c.Schedule = pw.NextRotation, "change", "account password policy (max password age)"
			}
			out = append(out, c)
		}
	}
	return out
}

func accessKeyCredential(kind, owner string, k inventory.AccessKey) Credential {
	c := Credential{Kind: kind, Owner: owner, ID: keyRef(k), Status: string(k.Status), Created: timePtr(k.CreateDate)}
	c.LastUse, c.LastUsed = lastUse(k.LastUsedKnown, k.LastUsed)
	return c
}
