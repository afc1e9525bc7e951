package audit

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

// RootUser is the User of findings about an account's root user.
const RootUser = "<root_account>"

// Check is one rule judged against one resource (a key, a user, a root
// user). Summarize turns checks into per-control pass rates.
type Check struct {
	Rule      string `json:"rule"`
	AccountID string `json:"account_id"`
	// Resource is "account/user" or "account/user/key".
	Resource string `json:"resource"`
	// Controls are the controls the check counts toward.
	Controls Controls `json:"controls"`
	// Failed are the controls it failed (empty when it passed or is exempt).
	Failed Controls `json:"failed,omitempty"`
	// Exempt is true when it failed but every failure was exempt.
	Exempt bool `json:"exempt,omitempty"`
	// Unknown is true when the facts needed to judge it were missing.
	Unknown bool `json:"unknown,omitempty"`
}

type evaluator struct {
	p   *policy.Policy
	now time.Time
	res *Result
	// expired counts, per exemption index and account, the findings an
	// expired exemption would have covered (or users it would have scheduled).
	expired map[int]map[string]int
	// checks are the current account's checks, counted into tally when
	// the account is done; keepChecks also keeps them in the result.
	checks     []Check
	tally      tally
	keepChecks bool
	// texts holds one copy of each finding text seen: details and
	// remediations repeat across keys and accounts (the same age, the
	// same user name in every account), and an organization has 100,000
	// findings.
	texts map[string]string
	// counting makes judge and expiredExemptions count findings into
	// counted instead of keeping them (and checks).
	counting bool
	counted  int
	// light keeps neither checks nor shared texts (FindingsOf).
	light bool
}

// text returns s, or the copy of it the evaluation already keeps.
func (e *evaluator) text(s string) string {
	if t, ok := e.texts[s]; ok {
		return t
	}
	if e.texts == nil {
		e.texts = map[string]string{}
	}
	e.texts[s] = s
	return s
}

// Evaluate judges snap against p at now. It is pure: same inputs, same result.
// Its checks are counted into Result.Compliance, account by account, and
// not kept.
func Evaluate(p *policy.Policy, snap *inventory.Snapshot, now time.Time) *Result {
	return evaluate(p, snap, now, false)
}

// evaluate is Evaluate; keepChecks also keeps every check in Result.Checks.
func evaluate(p *policy.Policy, snap *inventory.Snapshot, now time.Time, keepChecks bool) *Result {
	// The findings are counted first, so that they are made into a slice
	// of their size: growing it by appending would hold an organization's
	// findings twice over (and a quarter more) while it is copied.
	e := &evaluator{p: p, now: now, res: &Result{GeneratedAt: now, Snapshot: snap, Findings: make([]Finding, 0, countFindings(p, snap, now))},
		expired: map[int]map[string]int{}, keepChecks: keepChecks}
	e.judgeAll(snap)
	if e.tally.counts != nil {
		sum := e.tally.summary()
		e.res.Compliance = &sum
	}
	sortFindings(e.res.Findings)
	return e.res
}

// FindingsOf returns the findings of snap judged at now, unsorted, with
// neither checks nor the compliance summary: what a caller deciding about
// one user in the middle of a collection needs, at a fraction of
// Evaluate's cost.
func FindingsOf(p *policy.Policy, snap *inventory.Snapshot, now time.Time) []Finding {
	e := &evaluator{p: p, now: now, res: &Result{}, expired: map[int]map[string]int{}, light: true}
	e.judgeAll(snap)
	return e.res.Findings
}

// countFindings returns how many findings evaluate makes of snap.
func countFindings(p *policy.Policy, snap *inventory.Snapshot, now time.Time) int {
	counter := &evaluator{p: p, now: now, res: &Result{}, expired: map[int]map[string]int{}, counting: true}
	counter.judgeAll(snap)
	return counter.counted
}

// judgeAll judges every account of snap, then the expired exemptions.
func (e *evaluator) judgeAll(snap *inventory.Snapshot) {
	if snap != nil {
		for i := range snap.Accounts {
			e.account(&snap.Accounts[i])
			e.flushChecks()
		}
		e.expiredExemptions(snap)
		e.flushChecks()
	}
}

// flushChecks counts the checks judged since the last flush (one
// account's: every check of a resource is in one batch).
func (e *evaluator) flushChecks() {
	if len(e.checks) == 0 || e.light {
		e.checks = e.checks[:0]
		return
	}
	e.tally.add(e.checks)
	if e.keepChecks {
		e.res.Checks = append(e.res.Checks, e.checks...)
	}
	e.checks = e.checks[:0]
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.AccountID != b.AccountID {
			return a.AccountID < b.AccountID
		}
		if a.User != b.User {
			return a.User < b.User
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.KeyID != b.KeyID {
			return a.KeyID < b.KeyID
		}
		return a.ID < b.ID
	})
}

func (e *evaluator) account(a *inventory.Account) {
	switch a.Status {
	case inventory.AccountFailed:
		f := e.finding(policy.RuleAccountNotAudited, a, "", "")
		f.Evidence.Detail = a.Reason
		if f.Evidence.Detail == "" {
			f.Evidence.Detail = "no reason recorded"
		}
		f.Remediation = "Check that the role " + e.p.Organization.RoleName + " exists in the account and trusts the management account, then run the audit again; until then nothing is known about this account's credentials."
		e.judge(a, nil, "", []Finding{f})
		return
	case inventory.AccountSkipped:
		return
	}
	if a.Root != nil {
		e.root(a)
	}
	for i := range a.Users {
		e.user(a, &a.Users[i])
		e.userKinds(a, &a.Users[i])
	}
	e.passwordPolicy(a)
	e.accountKinds(a)
}

func (e *evaluator) root(a *inventory.Account) {
	res := a.ID + "/" + RootUser
	if e.p.Root.ForbidAccessKeys {
		var fs []Finding
		for _, k := range a.Root.Keys {
			f := e.finding(policy.RuleRootAccessKey, a, RootUser, keyRef(k))
			f.KeyID = k.ID
			e.keyEvidence(&f, k)
			if k.Active() {
				f.Evidence.Detail = "the root user has an active access key"
				f.Remediation = "Sign in as the root user, move anything that uses this key to an IAM role, then delete the key under Security credentials (root keys cannot be managed through IAM APIs)."
			} else {
				f.Severity = SeverityLow
				f.Evidence.Detail = "the root user has an inactive access key"
				f.Remediation = "Sign in as the root user and delete the inactive access key under Security credentials."
			}
			fs = append(fs, f)
		}
		e.judge(a, nil, res, fs, check{rule: policy.RuleRootAccessKey, controls: ctlRootKey})
	}
	if e.p.Root.RequireMFA {
		var fs []Finding
		if !a.Root.MFAActive {
			f := e.finding(policy.RuleRootNoMFA, a, RootUser, "")
			f.Evidence.Detail = "the root user has no MFA device"
			f.Remediation = "Sign in as the root user and assign an MFA device (a hardware key or passkey is preferred, CIS 1.6 v3 / IAM.6)."
			fs = append(fs, f)
		}
		e.judge(a, nil, res, fs, check{rule: policy.RuleRootNoMFA, controls: ctlRootMFA})
	}
}

// keysPolicy returns the user's access key thresholds and the override
// exemption that set them, if any.
func (e *evaluator) keysPolicy(a *inventory.Account, u *inventory.User) (policy.AccessKeys, string) {
	return keysPolicy(e.p, a, u, e.now, func(i int) {
		if len(u.Keys) > 0 {
			e.noteExpired(i, a.ID)
		}
	})
}

// keysPolicy returns the user's access key thresholds at now and the
// override exemption that set them, if any; expired is called with the
// index of each expired override that would have matched (it may be nil).
func keysPolicy(p *policy.Policy, a *inventory.Account, u *inventory.User, now time.Time, expired func(int)) (policy.AccessKeys, string) {
	for i, ex := range p.Exemptions {
		if !ex.IsOverride() || !matches(ex.Match, a, u) {
			continue
		}
		if ex.Expired(now) {
			if expired != nil {
				expired(i)
			}
			continue
		}
		return p.EffectiveAccessKeys(ex.AccessKeys), fmt.Sprintf("exemptions[%d] (%s): %s", i, ex.Match, ex.Reason)
	}
	return p.AccessKeys, ""
}

func (e *evaluator) noteExpired(i int, account string) {
	if e.expired[i] == nil {
		e.expired[i] = map[string]int{}
	}
	e.expired[i][account]++
}

func (e *evaluator) user(a *inventory.Account, u *inventory.User) {
	ak, schedule := e.keysPolicy(a, u)
	withSchedule := func(f Finding) Finding {
		if schedule != "" {
			f.Extra = map[string]string{"schedule": schedule}
		}
		return f
	}
	active := 0
	for _, k := range u.Keys {
		kres := a.ID + "/" + u.Name + "/" + keyRef(k)
		if !k.Active() {
			var fs []Finding
			if exceeds(k.CreateDate, e.now, ak.DeleteAfter) {
				f := withSchedule(e.keyFinding(policy.RuleAccessKeyInactiveLinger, a, u, k))
				f.Evidence.ThresholdDays = ak.DeleteAfter.Days()
				f.Evidence.Detail = fmt.Sprintf("inactive key created %d days ago; inactive keys are deleted after %s", inventory.AgeDays(k.CreateDate, e.now), ak.DeleteAfter)
				f.Remediation = fmt.Sprintf("Delete the key once nothing needs it: aws iam delete-access-key --user-name %s --access-key-id <key-id> (or let keyrot apply do it).", u.Name)
				fs = append(fs, f)
			}
			e.judge(a, u, kres, fs, check{rule: policy.RuleAccessKeyInactiveLinger})
			continue
		}
		active++

		// Age does not depend on last use.
		var fs []Finding
		if exceeds(k.CreateDate, e.now, ak.RotateAfter) {
			f := withSchedule(e.keyFinding(policy.RuleAccessKeyAge, a, u, k))
			if exceeds(k.CreateDate, e.now, ak.DeactivateAfter) {
				f.Severity = SeverityHigh
			}
			f.Evidence.ThresholdDays = ak.RotateAfter.Days()
			f.Evidence.Detail = fmt.Sprintf("active key is %d days old; keys are rotated after %s", inventory.AgeDays(k.CreateDate, e.now), ak.RotateAfter)
			f.Remediation = fmt.Sprintf("Rotate the key: create a new one, move its users to it, then deactivate and delete this one (keyrot plan shows the steps; by hand: aws iam create-access-key --user-name %s).", u.Name)
			fs = append(fs, f)
		}
		e.judge(a, u, kres, fs, check{rule: policy.RuleAccessKeyAge, controls: ctlKeyAge})

		if !k.LastUsedKnown {
			f := withSchedule(e.keyFinding(policy.RuleKeyLastUsedUnknown, a, u, k))
			f.Evidence.Detail = "the key's last use could not be read, so whether it is unused cannot be judged"
			if msg := collectError(a, u.Name, k.ID); msg != "" {
				f.Evidence.Detail += ": " + msg
			}
			f.Remediation = "Allow iam:GetAccessKeyLastUsed (or iam:GenerateCredentialReport and iam:GetCredentialReport) to the audit role and run the audit again."
			e.judge(a, u, kres, []Finding{f})
			e.checks = append(e.checks,
				Check{Rule: policy.RuleAccessKeyUnused, AccountID: a.ID, Resource: kres, Controls: ctlUnused90, Unknown: true},
				Check{Rule: policy.RuleAccessKeySetupUnused, AccountID: a.ID, Resource: kres, Controls: ctlSetup, Unknown: true})
			continue
		}

		// Unused: a never-used key is judged by its creation date.
		since := k.CreateDate
		if k.LastUsed != nil {
			since = *k.LastUsed
		}
		fs = nil
		if atLeast(since, e.now, ak.UnusedAfter) {
			f := withSchedule(e.keyFinding(policy.RuleAccessKeyUnused, a, u, k))
			days := inventory.AgeDays(since, e.now)
			f.Evidence.DaysSinceUse = &days
			f.Evidence.ThresholdDays = ak.UnusedAfter.Days()
			if days < iam8Days {
				f.Controls = ctlUnused
			}
			if k.LastUsed == nil {
				f.Evidence.Detail = fmt.Sprintf("active key never used in the %d days since it was created; unused keys are flagged after %s", days, ak.UnusedAfter)
			} else {
				f.Evidence.Detail = fmt.Sprintf("active key last used %d days ago; unused keys are flagged after %s", days, ak.UnusedAfter)
			}
			f.Remediation = fmt.Sprintf("Deactivate the key if nothing needs it: aws iam update-access-key --user-name %s --access-key-id <key-id> --status Inactive; delete it later.", u.Name)
			fs = append(fs, f)
		}
		e.judge(a, u, kres, fs, check{rule: policy.RuleAccessKeyUnused, controls: ctlUnused90})

		// Set-up keys: created with the user and never used.
		fs = nil
		if k.LastUsed == nil && !u.CreateDate.IsZero() && absDur(k.CreateDate.Sub(u.CreateDate)) <= time.Duration(ak.SetupGrace) {
			f := withSchedule(e.keyFinding(policy.RuleAccessKeySetupUnused, a, u, k))
			f.Evidence.Detail = fmt.Sprintf("key created %s after the user (set-up grace %s) and never used", roundDur(k.CreateDate.Sub(u.CreateDate)), ak.SetupGrace)
			f.Remediation = fmt.Sprintf("Delete the key and create keys only when a program needs them: aws iam delete-access-key --user-name %s --access-key-id <key-id>.", u.Name)
			fs = append(fs, f)
		}
		e.judge(a, u, kres, fs, check{rule: policy.RuleAccessKeySetupUnused, controls: ctlSetup})
	}

	if len(u.Keys) > 0 {
		var fs []Finding
		if active > ak.MaxActiveKeys {
			f := withSchedule(e.finding(policy.RuleAccessKeyMultipleActive, a, u.Name, ""))
			f.Evidence.Detail = fmt.Sprintf("%d active access keys; at most %d allowed", active, ak.MaxActiveKeys)
			f.Remediation = fmt.Sprintf("Find which key is in use (aws iam get-access-key-last-used) and deactivate the other: aws iam update-access-key --user-name %s --access-key-id <key-id> --status Inactive.", u.Name)
			fs = append(fs, f)
		}
		e.judge(a, u, a.ID+"/"+u.Name, fs, check{rule: policy.RuleAccessKeyMultipleActive, controls: ctlMulti})
	}

	if u.Password == nil || !u.Password.Enabled {
		return
	}
	ures := a.ID + "/" + u.Name
	if e.p.Console.RequireMFA {
		var fs []Finding
		if !u.MFAActive {
			f := e.finding(policy.RuleConsoleNoMFA, a, u.Name, "")
			f.Evidence.Detail = "console password enabled and no MFA device"
			f.Remediation = fmt.Sprintf("Have %s assign an MFA device, or remove the password if console access is not needed: aws iam delete-login-profile --user-name %s.", u.Name, u.Name)
			fs = append(fs, f)
		}
		e.judge(a, u, ures, fs, check{rule: policy.RuleConsoleNoMFA, controls: ctlConsMFA})
	}
	// Unused password: never used is judged by when the password could first
	// have been used (the user's creation, or a later password change).
	since := u.CreateDate
	if u.Password.LastChanged != nil && u.Password.LastChanged.After(since) {
		since = *u.Password.LastChanged
	}
	if u.Password.LastUsed != nil {
		since = *u.Password.LastUsed
	}
	var fs []Finding
	if !since.IsZero() && atLeast(since, e.now, e.p.Console.UnusedAfter) {
		f := e.finding(policy.RuleConsoleUnused, a, u.Name, "")
		days := inventory.AgeDays(since, e.now)
		f.Evidence.CreateDate = timePtr(u.CreateDate)
		f.Evidence.LastUsed = u.Password.LastUsed
		f.Evidence.DaysSinceUse = &days
		f.Evidence.ThresholdDays = e.p.Console.UnusedAfter.Days()
		if days < iam8Days {
			f.Controls = ctlUnused
		}
		if u.Password.LastUsed == nil {
			f.Evidence.Detail = fmt.Sprintf("console password never used in %d days; unused passwords are flagged after %s", days, e.p.Console.UnusedAfter)
		} else {
			f.Evidence.Detail = fmt.Sprintf("console password last used %d days ago; unused passwords are flagged after %s", days, e.p.Console.UnusedAfter)
		}
		f.Remediation = fmt.Sprintf("Remove console access if it is not needed: aws iam delete-login-profile --user-name %s.", u.Name)
		fs = append(fs, f)
	}
	e.judge(a, u, ures, fs, check{rule: policy.RuleConsoleUnused, controls: ctlUnused90, unknown: since.IsZero()})
}

// check describes the Check to record with judge.
type check struct {
	rule     string
	controls Controls
	unknown  bool
}

// judge applies exemptions to fs, adds them to the result and records the
// check c (if given) for resource.
func (e *evaluator) judge(a *inventory.Account, u *inventory.User, resource string, fs []Finding, c ...check) {
	if e.counting {
		e.counted += len(fs)
		for i := range fs {
			e.exempt(&fs[i], a, u) // notes expired exemptions
		}
		return
	}
	var failed Controls
	exempt := len(fs) > 0
	for _, f := range fs {
		if !e.light {
			f.Evidence.Detail, f.Remediation = e.text(f.Evidence.Detail), e.text(f.Remediation)
		}
		e.exempt(&f, a, u)
		if !f.Exempt {
			exempt = false
			failed = failed.union(f.Controls)
		}
		e.res.Findings = append(e.res.Findings, f)
	}
	for _, cc := range c {
		e.checks = append(e.checks, Check{
			Rule: cc.rule, AccountID: a.ID, Resource: resource, Controls: cc.controls,
			Failed: failed, Exempt: exempt, Unknown: cc.unknown,
		})
	}
}

// exempt marks f exempt if the user's exempt tag or a current exemption
// covers it; an expired exemption that would have covered it is noted.
func (e *evaluator) exempt(f *Finding, a *inventory.Account, u *inventory.User) {
	if f.Rule == policy.RuleExemptionExpired {
		return
	}
	if tag := e.p.ExemptTag; tag != "" && u != nil {
		if reason, ok := u.Tags[tag]; ok {
			if strings.TrimSpace(reason) == "" {
				reason = "tagged " + tag
			}
			f.Exempt = true
			f.Exemption = &ExemptionApplied{Match: "tag:" + tag, Reason: reason}
			return
		}
	}
	for i, ex := range e.p.Exemptions {
		if ex.IsOverride() || !ex.Covers(f.Rule) || !matches(ex.Match, a, u) {
			continue
		}
		if ex.Expired(e.now) {
			e.noteExpired(i, a.ID)
			continue
		}
		f.Exempt = true
		f.Exemption = &ExemptionApplied{Match: ex.Match.String(), Reason: ex.Reason, Expires: ex.Expires}
		return
	}
}

// expiredExemptions reports each expired exemption once per account where
// it would still have applied.
func (e *evaluator) expiredExemptions(snap *inventory.Snapshot) {
	for i, ex := range e.p.Exemptions {
		for ai := range snap.Accounts {
			a := &snap.Accounts[ai]
			n := e.expired[i][a.ID]
			if n == 0 {
				continue
			}
			f := e.finding(policy.RuleExemptionExpired, a, "", "")
			f.ID = policy.RuleExemptionExpired + "/" + a.ID + "/" + ex.Match.String()
			f.Evidence.Detail = fmt.Sprintf("exemptions[%d] (%s, reason %q) expired on %s and no longer applies; it would have covered %d finding(s) here", i, ex.Match, ex.Reason, ex.Expires.Format("2006-01-02"), n)
			if ex.IsOverride() {
				f.Evidence.Detail = fmt.Sprintf("exemptions[%d] (%s, reason %q) expired on %s; the %d matching user(s) here are back on the default access key schedule", i, ex.Match, ex.Reason, ex.Expires.Format("2006-01-02"), n)
			}
			f.Extra = map[string]string{"exemption": fmt.Sprintf("exemptions[%d]", i), "match": ex.Match.String()}
			f.Remediation = "Fix what the exemption covered, or renew it in keyrot.yaml with a new expires date and a current reason."
			if e.counting {
				e.counted++
				continue
			}
			e.res.Findings = append(e.res.Findings, f)
		}
	}
}

// finding starts a finding of rule with the rule's title, severity and controls.
func (e *evaluator) finding(rule string, a *inventory.Account, user, key string) Finding {
	r := mustRule(rule)
	id := rule + "/" + a.ID
	if user != "" {
		id += "/" + user
	}
	if key != "" {
		id += "/" + key
	}
	return Finding{ID: id, Rule: rule, Title: r.Title, Severity: r.Severity, AccountID: a.ID, AccountName: a.Name, User: user, Controls: r.Controls}
}

func (e *evaluator) keyFinding(rule string, a *inventory.Account, u *inventory.User, k inventory.AccessKey) Finding {
	f := e.finding(rule, a, u.Name, keyRef(k))
	f.KeyID = k.ID
	e.keyEvidence(&f, k)
	return f
}

func (e *evaluator) keyEvidence(f *Finding, k inventory.AccessKey) {
	f.Evidence.CreateDate = timePtr(k.CreateDate)
	age := inventory.AgeDays(k.CreateDate, e.now)
	f.Evidence.AgeDays = &age
	if k.LastUsedKnown {
		f.Evidence.LastUsed = k.LastUsed
		f.Evidence.LastUsedService = k.LastUsedService
		f.Evidence.LastUsedRegion = k.LastUsedRegion
		if k.LastUsed != nil {
			d := inventory.AgeDays(*k.LastUsed, e.now)
			f.Evidence.DaysSinceUse = &d
		}
	}
}

// keyRef names a key in IDs: its ID, or its credential report slot.
func keyRef(k inventory.AccessKey) string {
	if k.ID != "" {
		return k.ID
	}
	return fmt.Sprintf("slot%d", k.Slot)
}

func collectError(a *inventory.Account, user, keyID string) string {
	for _, ce := range a.Errors {
		if ce.User == user && (ce.KeyID == "" || ce.KeyID == keyID) {
			return ce.Op + ": " + ce.Message
		}
	}
	return ""
}

const day = 24 * time.Hour

// exceeds reports whether more than d has passed since t. Thresholds in
// whole days are compared in whole days: a key exactly 90 days old (or
// 90 days and some hours) is not older than 90d.
func exceeds(t, now time.Time, d policy.Duration) bool {
	if t.IsZero() {
		return false
	}
	if d.WholeDays() {
		return inventory.AgeDays(t, now) > d.Days()
	}
	return now.Sub(t) > time.Duration(d)
}

// atLeast reports whether d or more has passed since t ("unused for 45 days
// or more", as CIS words it), in whole days for whole-day thresholds.
func atLeast(t, now time.Time, d policy.Duration) bool {
	if t.IsZero() {
		return false
	}
	if d.WholeDays() {
		return inventory.AgeDays(t, now) >= d.Days()
	}
	return now.Sub(t) >= time.Duration(d)
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func roundDur(d time.Duration) string { return policy.Duration(d.Round(time.Minute)).String() }

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// union returns the controls in c or o, without duplicates.
func (c Controls) union(o Controls) Controls {
	add := func(a, b []string) []string {
		for _, x := range b {
			found := false
			for _, y := range a {
				if x == y {
					found = true
				}
			}
			if !found {
				a = append(a, x)
			}
		}
		return a
	}
	return Controls{CISv3: add(c.CISv3, o.CISv3), CISv5: add(c.CISv5, o.CISv5), SecurityHub: add(c.SecurityHub, o.SecurityHub)}
}
