package execute

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// Console passwords: keyrot disables a password unused past the policy's
// period (DeleteLoginProfile, after a notice) and restores it on rollback
// with a new password (CreateLoginProfile), stored first in Secrets
// Manager. docs/console-passwords.md describes the steps.

// User tags of the console password lifecycle.
const (
	// TagConsoleNotice is "<RFC3339 time>": when keyrot first found the
	// user's password unused past unused_after and told its owner.
	TagConsoleNotice = "keyrot:console-notice"
	// TagConsoleDisabled is "<RFC3339 time> created=<RFC3339> reset=<bool>":
	// keyrot disabled the user's console password then; the deleted login
	// profile's creation date and PasswordResetRequired. Written before
	// DeleteLoginProfile, removed when rollback has restored the password.
	TagConsoleDisabled = "keyrot:console-disabled"
)

// Journal kinds of the console lifecycle.
const (
	KindDisableConsole = "disable-console"
	KindRestoreConsole = "restore-console"
)

// ConsoleIAM is the part of the IAM client the console lifecycle uses, on
// top of IAM. The executor's IAM clients must also implement it to act on
// console passwords.
type ConsoleIAM interface {
	GetLoginProfile(ctx context.Context, in *iam.GetLoginProfileInput, opts ...func(*iam.Options)) (*iam.GetLoginProfileOutput, error)
	DeleteLoginProfile(ctx context.Context, in *iam.DeleteLoginProfileInput, opts ...func(*iam.Options)) (*iam.DeleteLoginProfileOutput, error)
	CreateLoginProfile(ctx context.Context, in *iam.CreateLoginProfileInput, opts ...func(*iam.Options)) (*iam.CreateLoginProfileOutput, error)
	GetAccountPasswordPolicy(ctx context.Context, in *iam.GetAccountPasswordPolicyInput, opts ...func(*iam.Options)) (*iam.GetAccountPasswordPolicyOutput, error)
}

var _ ConsoleIAM = (*iam.Client)(nil)

// PasswordStore is where a restored console password is stored; the
// executor's KeyStore must also implement it to restore passwords.
// secretstore.Store does.
type PasswordStore interface {
	PasswordName(d secretstore.NameData) (string, error)
	PutPassword(ctx context.Context, e secretstore.PasswordEntry) (secretstore.Stored, error)
	StoredPassword(ctx context.Context, secretID string) (secretstore.PasswordValue, secretstore.Stored, error)
}

var _ PasswordStore = (*secretstore.Store)(nil)

// Refusals of the console lifecycle.
var (
	// ErrNotDisabledByKeyrot: rollback restores only console access keyrot disabled.
	ErrNotDisabledByKeyrot = errors.New("keyrot did not disable the console password")
	// ErrSelf: keyrot never disables the console password of the identity it runs as.
	ErrSelf = errors.New("the user is the identity keyrot runs as")
)

// consoleRecord is what the keyrot:console-disabled tag says.
type consoleRecord struct {
	At      time.Time
	Created time.Time
	Reset   bool
}

func (c consoleRecord) value() string {
	return fmt.Sprintf("%s created=%s reset=%t", c.At.UTC().Format(time.RFC3339), c.Created.UTC().Format(time.RFC3339), c.Reset)
}

// restoreID names the disabling the record is of.
func (c consoleRecord) restoreID() string { return c.At.UTC().Format(time.RFC3339) }

func parseConsoleRecord(v string) (consoleRecord, bool) {
	f := strings.Fields(v)
	if len(f) == 0 {
		return consoleRecord{}, false
	}
	at, err := time.Parse(time.RFC3339, f[0])
	if err != nil {
		return consoleRecord{}, false
	}
	rec := consoleRecord{At: at.Truncate(time.Second)}
	for _, kv := range f[1:] {
		k, val, _ := strings.Cut(kv, "=")
		switch k {
		case "created":
			c, _ := time.Parse(time.RFC3339, val)
			rec.Created = c.Truncate(time.Second)
		case "reset":
			rec.Reset = val == "true"
		}
	}
	return rec, true
}

// noticeOf reads the keyrot:console-notice tag; zero when absent or unreadable.
func noticeOf(tags userTags) time.Time {
	t, err := time.Parse(time.RFC3339, tags.All[TagConsoleNotice])
	if err != nil {
		return time.Time{}
	}
	return t
}

func (e *Executor) consoleIAM(ctx context.Context, acct string) (IAM, ConsoleIAM, error) {
	c, err := e.Clients.IAM(ctx, acct)
	if err != nil {
		return nil, nil, err
	}
	cc, ok := c.(ConsoleIAM)
	if !ok {
		return nil, nil, fmt.Errorf("account %s: the IAM client cannot manage login profiles", acct)
	}
	return c, cc, nil
}

// gatherConsole records, for each user whose console password is unused
// past unused_after, when its owner was first told (the keyrot:console-notice
// tag, written now by the first run that finds it, unless read-only), into
// the user's Rotation. Users whose password is in use cost no call; users
// exempt from console-unused (o.ConsoleExempt, or the exempt tag read live)
// and users blocked by a problem with keyrot's records are skipped: the
// planner gives them no notice.
func (e *Executor) gatherConsole(ctx context.Context, a *inventory.Account, c IAM, o GatherOptions, out map[plan.UserRef]plan.Rotation) {
	now := e.now()
	for ui := range a.Users {
		u := &a.Users[ui]
		if !e.Console.ConsoleUnusedNoticed(u, now) || (o.ConsoleExempt != nil && o.ConsoleExempt(a, u)) {
			continue
		}
		ref := plan.UserRef{Account: a.ID, User: u.Name}
		if out[ref].Problem != "" {
			continue // blocked: not planned, its owner told nothing
		}
		tags, err := readUserTags(ctx, c, u.Name)
		if err != nil {
			e.log().Warn("read console notice", "account", a.ID, "user", u.Name, "err", err)
			continue // no notice known: the planner counts the notice period from now
		}
		if _, exempt := tags.All[e.ExemptTag]; exempt && e.ExemptTag != "" {
			// Exempt: not planned, so its owner is told nothing; a notice
			// recorded now would cut the notice period short once the
			// exemption ends.
			continue
		}
		noticed := noticeOf(tags)
		if !plan.ConsoleNoticeValid(plan.ConsoleIdleSince(u), noticed) {
			noticed = time.Time{}
			if !o.ReadOnly {
				if err := tagUser(ctx, c, u.Name, TagConsoleNotice, now.Format(time.RFC3339)); err != nil {
					e.log().Warn("record console notice", "account", a.ID, "user", u.Name, "err", err)
					continue
				}
				noticed = now
			}
		}
		rot := out[ref]
		rot.ConsoleNoticeAt = noticed
		out[ref] = rot
	}
}

// disableConsole carries out a disable-console action: live checks (the
// login profile exists, the user is neither exempt nor keyrot itself, the
// password is still unused since the gate and the rules' periods have
// passed since its last use and the notice), then the journal, the
// keyrot:console-disabled tag with what rollback needs, and
// DeleteLoginProfile.
func (r *runner) disableConsole(ctx context.Context, a plan.Action) Outcome {
	lc := r.e.Console
	if !lc.DisableUnused {
		return outcomeOf(a, Blocked, "console.disable_unused is off in the policy in force: keyrot disables no console password")
	}
	c, cc, err := r.e.consoleIAM(ctx, a.AccountID)
	if err != nil {
		return failed(a, err)
	}
	if err := r.step("before-get-user"); err != nil {
		return failed(a, err)
	}
	gu, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(a.User)})
	if isNoSuchEntity(err) {
		return outcomeOf(a, Skipped, "user no longer exists")
	}
	if err != nil {
		return failed(a, fmt.Errorf("get user %s: %w", a.User, err))
	}
	if o := r.refuseSelf(ctx, a, aws.ToString(gu.User.Arn)); o != nil {
		return *o
	}
	if err := r.step("before-get-login-profile"); err != nil {
		return failed(a, err)
	}
	lp, err := cc.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(a.User)})
	if isNoSuchEntity(err) {
		return outcomeOf(a, Skipped, "the user has no console password (already disabled)")
	}
	if err != nil {
		return failed(a, fmt.Errorf("get login profile of %s: %w", a.User, err))
	}
	tags, stop := r.readTags(ctx, a, c)
	if stop != nil {
		return *stop
	}
	if r.e.ExemptTag != "" {
		if why, ok := tags.All[r.e.ExemptTag]; ok {
			return outcomeOf(a, Blocked, fmt.Sprintf("the user is exempt (tag %s: %q): keyrot leaves its console password alone", r.e.ExemptTag, why))
		}
	}
	created := aws.ToTime(lp.LoginProfile.CreateDate)
	idle := later(aws.ToTime(gu.User.CreateDate), created)
	if lu := gu.User.PasswordLastUsed; lu != nil {
		idle = later(idle, *lu)
		if !a.Gate.UnusedSince.IsZero() && !lu.Before(a.Gate.UnusedSince) {
			o := outcomeOf(a, Blocked, fmt.Sprintf("console password used on %s, after the plan's gate (%s): still in use, not disabled",
				lu.UTC().Format(time.RFC3339), a.Gate.UnusedSince.UTC().Format(time.RFC3339)))
			o.LastUsed = lu
			return o
		}
	}
	noticed := noticeOf(tags)
	if !plan.ConsoleNoticeValid(idle, noticed) {
		return outcomeOf(a, Blocked, "keyrot has no record of telling the owner since the password's last use (tag "+TagConsoleNotice+"): the notice period has not started")
	}
	if due := lc.DisableDue(idle, noticed); r.tooEarly(due) {
		return outcomeOf(a, Blocked, fmt.Sprintf("console password idle since %s, owner told on %s: disabling not before %s (%s unused, and %s after the notice)",
			ymd(idle), ymd(noticed), ymd(due), fmtDays(lc.DisableAfter), fmtDays(lc.DisableAfter-lc.UnusedAfter)))
	}
	if r.o.AuditOnly {
		o := outcomeOf(a, Skipped, "audit-only: would "+describe(a))
		o.WouldDo = true
		return o
	}
	j, err := r.begin(ctx, a, KindDisableConsole, "")
	if err != nil {
		return failed(a, err)
	}
	rec := consoleRecord{At: r.e.now(), Created: created, Reset: lp.LoginProfile.PasswordResetRequired}
	if err := r.step("before-tag-console-disabled"); err != nil {
		return failed(a, err)
	}
	if err := tagUser(ctx, c, a.User, TagConsoleDisabled, rec.value()); err != nil {
		if isTagQuota(err) {
			o := outcomeOf(a, Blocked, fmt.Sprintf("user %s has %d tags, IAM's maximum: keyrot cannot record the disabling (tag %s) that rollback needs; not disabled",
				a.User, MaxUserTags, TagConsoleDisabled))
			j.end(ctx, Blocked, o.Detail, "")
			return o
		}
		j.end(ctx, Failed, err.Error(), "")
		return failed(a, err)
	}
	if err := r.step("before-delete-login-profile"); err != nil {
		return failed(a, err)
	}
	if _, err := cc.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String(a.User)}); err != nil && !isNoSuchEntity(err) {
		err = fmt.Errorf("delete login profile of %s: %w", a.User, err)
		j.end(ctx, Failed, err.Error(), "")
		return failed(a, err)
	}
	if err := r.step("after-delete-login-profile"); err != nil {
		return failed(a, err)
	}
	j.end(ctx, Succeeded, "", "")
	return outcomeOf(a, Succeeded, fmt.Sprintf("console password disabled (login profile of %s deleted; unused since %s); keyrot rollback --console restores console access with a new password",
		ymd(created), ymd(idle)))
}

// refuseSelf blocks an action on the identity keyrot runs as.
func (r *runner) refuseSelf(ctx context.Context, a plan.Action, userARN string) *Outcome {
	if r.e.Self == nil || userARN == "" {
		return nil
	}
	self, err := r.e.Self(ctx)
	if err != nil {
		o := failed(a, fmt.Errorf("who keyrot runs as: %w", err))
		return &o
	}
	if self == userARN {
		o := refused(a, ErrSelf, "the user "+a.User+" is the identity keyrot runs as: keyrot never disables its own console password")
		return &o
	}
	return nil
}

// RollbackConsole restores the console access keyrot disabled for the
// user: a new random password that satisfies the account's password
// policy, which the user must change at the first sign-in, stored in the
// user's console password secret before CreateLoginProfile. It is
// idempotent: a rerun after a crash reuses the password stored for the same
// disabling and never creates a second login profile. It refuses a user
// whose console access keyrot did not disable (RefusedError wrapping
// ErrNotDisabledByKeyrot).
func (e *Executor) RollbackConsole(ctx context.Context, account, user string, o Options) (Outcome, error) {
	r := e.runner(o)
	a := plan.Action{ID: "rollback-console/" + account + "/" + user, Kind: KindRestoreConsole, AccountID: account, User: user, Reason: "rollback requested"}
	ctx, cancel := e.detached(ctx)
	defer cancel()
	out := r.withLease(ctx, account, func() Outcome { return r.restoreConsole(ctx, a) }, a)
	return out, outcomeErr(out)
}

func (r *runner) restoreConsole(ctx context.Context, a plan.Action) Outcome {
	c, cc, err := r.e.consoleIAM(ctx, a.AccountID)
	if err != nil {
		return failed(a, err)
	}
	if err := r.step("before-get-user"); err != nil {
		return failed(a, err)
	}
	gu, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(a.User)})
	if err != nil {
		return failed(a, fmt.Errorf("get user %s: %w", a.User, err))
	}
	a.UserARN = aws.ToString(gu.User.Arn)
	tags, stop := r.readTags(ctx, a, c)
	if stop != nil {
		return *stop
	}
	if err := r.step("before-get-login-profile"); err != nil {
		return failed(a, err)
	}
	_, err = cc.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(a.User)})
	exists := err == nil
	if err != nil && !isNoSuchEntity(err) {
		return failed(a, fmt.Errorf("get login profile of %s: %w", a.User, err))
	}
	rec, ok := parseConsoleRecord(tags.All[TagConsoleDisabled])
	if !ok {
		if exists {
			return outcomeOf(a, Skipped, "the user's console password is enabled: nothing to restore")
		}
		return refused(a, ErrNotDisabledByKeyrot, "keyrot has no record of disabling the console password of "+a.User+" (tag "+TagConsoleDisabled+"); keyrot restores only console access it disabled")
	}
	if lu := gu.User.PasswordLastUsed; !exists && lu != nil && lu.After(rec.At.Add(skewAllowance)) {
		// The password was used after keyrot recorded its disabling: that
		// disabling did not take (keyrot stopped before DeleteLoginProfile)
		// or was restored since, and someone else removed the password.
		if err := r.step("before-untag-console-disabled"); err != nil {
			return failed(a, err)
		}
		if err := untagUser(ctx, c, a.User, TagConsoleDisabled); err != nil {
			return failed(a, err)
		}
		return refused(a, ErrNotDisabledByKeyrot, fmt.Sprintf("the console password of %s was used on %s, after keyrot's record of disabling it (%s): someone else removed it since; keyrot's stale record cleared, nothing restored",
			a.User, lu.UTC().Format(time.RFC3339), rec.At.UTC().Format(time.RFC3339)))
	}
	st, err := r.e.Clients.Secrets(ctx, a.AccountID)
	if err != nil {
		return failed(a, err)
	}
	ps, ok := st.(PasswordStore)
	if !ok {
		return failed(a, errors.New("the secret store cannot hold console passwords"))
	}
	nd := nameData(a)
	name, err := ps.PasswordName(nd)
	if err != nil {
		return failed(a, err)
	}
	if err := r.step("before-read-password"); err != nil {
		return failed(a, err)
	}
	stored, where, err := ps.StoredPassword(ctx, name)
	switch {
	case errors.Is(err, secretstore.ErrNoVersion):
	case err != nil:
		return failed(a, fmt.Errorf("restore console password of %s: %w", a.User, err))
	}
	mine := err == nil && stored.Restore == rec.restoreID()
	if exists && !mine {
		// Someone gave the user a password since keyrot disabled it: the
		// record is moot, and keyrot has no password to hand out.
		if err := r.step("before-untag-console-disabled"); err != nil {
			return failed(a, err)
		}
		if err := untagUser(ctx, c, a.User, TagConsoleDisabled, TagConsoleNotice); err != nil {
			return failed(a, err)
		}
		return outcomeOf(a, Skipped, "the user has a console password that keyrot did not restore (someone restored it since keyrot disabled it on "+ymd(rec.At)+
			", or that disabling was interrupted before the delete): nothing to restore; keyrot's record cleared")
	}
	j, err := r.begin(ctx, a, KindRestoreConsole, "")
	if err != nil {
		return failed(a, err)
	}
	if !mine {
		if err := r.step("before-get-password-policy"); err != nil {
			return failed(a, err)
		}
		rules, err := accountPasswordRules(ctx, cc)
		if err != nil {
			j.end(ctx, Failed, err.Error(), "")
			return failed(a, err)
		}
		pw, err := GeneratePassword(rules, r.e.rand())
		if err != nil {
			j.end(ctx, Failed, err.Error(), "")
			return failed(a, err)
		}
		stored = secretstore.PasswordValue{UserName: a.User, AccountID: a.AccountID, Password: pw, PasswordResetRequired: true,
			SignInURL: "https://" + a.AccountID + ".signin.aws.amazon.com/console", Restore: rec.restoreID(), CreateDate: r.e.now()}
		where, err = ps.PutPassword(ctx, secretstore.PasswordEntry{Name: nd, UserARN: a.UserARN, Value: stored, Step: r.step})
		if err != nil {
			if !isCrash(err) {
				j.end(ctx, Failed, err.Error(), "")
			}
			return failed(a, err)
		}
	}
	if !exists {
		if err := r.step("before-create-login-profile"); err != nil {
			return failed(a, err)
		}
		_, err := cc.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String(a.User),
			Password: aws.String(stored.Password.Reveal()), PasswordResetRequired: true})
		if err != nil && errCode(err) != "EntityAlreadyExists" {
			err = fmt.Errorf("create login profile of %s: %w", a.User, err)
			j.end(ctx, Failed, err.Error(), "")
			return failed(a, err)
		}
	}
	if err := r.step("before-untag-console-disabled"); err != nil {
		return failed(a, err)
	}
	if err := untagUser(ctx, c, a.User, TagConsoleDisabled, TagConsoleNotice); err != nil {
		j.end(ctx, Failed, err.Error(), "")
		return failed(a, err)
	}
	j.end(ctx, Succeeded, "", "")
	o := outcomeOf(a, Succeeded, fmt.Sprintf("console access restored with a new password (to be changed at the first sign-in), stored in secret %s", where.Name))
	o.SecretARN, o.SecretName = where.ARN, where.Name
	o.FetchCommand = secretstore.FetchCommand(where.ARN, st.Config().Region)
	return o
}

// PasswordRules are what a generated password must satisfy: the account's
// password policy (GetAccountPasswordPolicy) or, without one, IAM's
// default policy.
type PasswordRules struct {
	MinLength                      int
	Upper, Lower, Numbers, Symbols bool
}

// passwordSymbols are the non-alphanumeric characters IAM's password
// policy counts as symbols.
const passwordSymbols = "!@#$%^&*()_+-=[]{}|'"

// generatedLength is the length of keyrot's passwords unless the account's
// policy asks for more.
const generatedLength = 32

// accountPasswordRules reads the account's password policy; an account
// without one has IAM's default (at least 8 characters, three of the four
// character types: keyrot's passwords always hold all four).
func accountPasswordRules(ctx context.Context, c ConsoleIAM) (PasswordRules, error) {
	out, err := c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	if isNoSuchEntity(err) {
		return PasswordRules{MinLength: 8, Upper: true, Lower: true, Numbers: true, Symbols: true}, nil
	}
	if err != nil {
		return PasswordRules{}, fmt.Errorf("get account password policy: %w", err)
	}
	p := out.PasswordPolicy
	if p == nil {
		p = &types.PasswordPolicy{}
	}
	return PasswordRules{MinLength: int(aws.ToInt32(p.MinimumPasswordLength)), Upper: p.RequireUppercaseCharacters,
		Lower: p.RequireLowercaseCharacters, Numbers: p.RequireNumbers, Symbols: p.RequireSymbols}, nil
}

// GeneratePassword returns a random password (from rnd; crypto/rand if
// nil) of at least generatedLength characters and the policy's
// minimum, holding an upper-case and a lower-case letter, a digit and a
// symbol whatever the policy requires, so that it satisfies any IAM
// password policy; random passwords are never reused.
func GeneratePassword(p PasswordRules, rnd io.Reader) (secretstore.Secret, error) {
	const (
		upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		lower  = "abcdefghijklmnopqrstuvwxyz"
		digits = "0123456789"
	)
	if rnd == nil {
		rnd = rand.Reader
	}
	n := max(generatedLength, p.MinLength)
	if n > 128 {
		return secretstore.Secret{}, fmt.Errorf("generate password: the account policy asks for %d characters, more than IAM's 128", n)
	}
	all := upper + lower + digits + passwordSymbols
	pick := func(set string) (byte, error) {
		i, err := rand.Int(rnd, big.NewInt(int64(len(set))))
		if err != nil {
			return 0, fmt.Errorf("generate password: %w", err)
		}
		return set[i.Int64()], nil
	}
	b := make([]byte, 0, n)
	for _, set := range []string{upper, lower, digits, passwordSymbols} {
		c, err := pick(set)
		if err != nil {
			return secretstore.Secret{}, err
		}
		b = append(b, c)
	}
	for len(b) < n {
		c, err := pick(all)
		if err != nil {
			return secretstore.Secret{}, err
		}
		b = append(b, c)
	}
	// Shuffle so the four guaranteed characters are not in front.
	for i := len(b) - 1; i > 0; i-- {
		j, err := rand.Int(rnd, big.NewInt(int64(i+1)))
		if err != nil {
			return secretstore.Secret{}, fmt.Errorf("generate password: %w", err)
		}
		b[i], b[j.Int64()] = b[j.Int64()], b[i]
	}
	return secretstore.NewSecret(string(b)), nil
}

func (e *Executor) rand() io.Reader {
	if e.Rand != nil {
		return e.Rand
	}
	return rand.Reader
}
