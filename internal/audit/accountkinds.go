package audit

import (
	"fmt"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

// Findings and inventory rows of the account's other long-term
// credentials: IAM server certificates, ACM certificates and Secrets
// Manager secrets. Their findings name no user: Extra["resource"] is the
// credential's ARN (and Extra["region"] its region), and the finding ID is
// rule/account/ARN.

// Credential kinds of the account's other long-term credentials.
const (
	KindServerCertificate = "server-certificate"
	KindACMCertificate    = "acm-certificate"
	KindSecret            = "secret"
)

// accountKinds judges the account's server certificates, ACM
// certificates and secrets.
func (e *evaluator) accountKinds(a *inventory.Account) {
	for _, c := range a.ServerCertificates {
		e.serverCertificate(a, c)
	}
	for _, c := range a.Certificates {
		e.certificate(a, c)
	}
	for _, s := range a.Secrets {
		e.secret(a, s)
	}
	for _, t := range a.TrustAnchors {
		e.trustAnchor(a, t)
	}
}

// resourceFinding starts a finding about an account resource.
func (e *evaluator) resourceFinding(rule string, a *inventory.Account, arn, region string) Finding {
	f := e.finding(rule, a, "", "")
	f.ID = rule + "/" + a.ID + "/" + arn
	f.Extra = map[string]string{"resource": arn}
	if region != "" {
		f.Extra["region"] = region
	}
	return f
}

// daysUntil is whole days from now to t, negative once t has passed.
func daysUntil(t, now time.Time) int {
	if now.After(t) {
		return -inventory.AgeDays(t, now)
	}
	return int(t.Sub(now) / day)
}

func (e *evaluator) serverCertificate(a *inventory.Account, c inventory.ServerCertificate) {
	sp := e.p.ServerCertificates
	if policy.Excluded(sp.Exclude, c.Name) {
		return
	}
	res := a.ID + "/server-certificate/" + c.Name
	ref := c.ARN
	if ref == "" {
		ref = "server-certificate/" + c.Name
	}
	left := daysUntil(c.Expiration, e.now)
	var fs []Finding
	if !e.now.Before(c.Expiration) {
		f := e.resourceFinding(policy.RuleServerCertExpired, a, ref, "")
		f.Evidence.CreateDate = timePtr(c.UploadDate)
		f.Evidence.Detail = fmt.Sprintf("IAM server certificate %s expired %s (%d days ago)", c.Name, c.Expiration.UTC().Format("2006-01-02"), -left)
		f.Remediation = fmt.Sprintf("Move anything that uses it to a current certificate, then delete it: aws iam delete-server-certificate --server-certificate-name %s.", c.Name)
		fs = append(fs, f)
	}
	e.judge(a, nil, res, fs, check{rule: policy.RuleServerCertExpired, controls: ctlServerCertExpired})
	if len(fs) == 0 && c.Expiration.Sub(e.now) <= time.Duration(sp.ExpiryWarning) {
		f := e.resourceFinding(policy.RuleServerCertExpiring, a, ref, "")
		f.Evidence.CreateDate = timePtr(c.UploadDate)
		f.Evidence.ThresholdDays = sp.ExpiryWarning.Days()
		f.Evidence.Detail = fmt.Sprintf("IAM server certificate %s expires %s, in %d days; the warning period is %s", c.Name, c.Expiration.UTC().Format("2006-01-02"), left, sp.ExpiryWarning)
		f.Remediation = fmt.Sprintf("Upload a renewed certificate (or move to ACM, which renews) and switch the users of %s before it expires.", c.Name)
		e.judge(a, nil, res, []Finding{f})
	}
}

func (e *evaluator) certificate(a *inventory.Account, c inventory.Certificate) {
	cp := e.p.Certificates
	if policy.Excluded(cp.Exclude, c.DomainName) {
		return
	}
	res := a.ID + "/" + c.Region + "/" + c.ARN
	left := daysUntil(c.NotAfter, e.now)
	expired := c.Status == "EXPIRED" || (!c.NotAfter.IsZero() && !e.now.Before(c.NotAfter))
	var fs []Finding
	switch {
	case expired:
		f := e.resourceFinding(policy.RuleCertExpired, a, c.ARN, c.Region)
		f.Evidence.Detail = fmt.Sprintf("ACM certificate for %s (%s) expired %s", c.DomainName, strings.ToLower(c.Type), c.NotAfter.UTC().Format("2006-01-02"))
		if c.InUse {
			f.Evidence.Detail += " and is still in use"
		}
		f.Remediation = fmt.Sprintf("Replace the certificate where it is used, then delete it: aws acm delete-certificate --region %s --certificate-arn %s.", c.Region, c.ARN)
		fs = append(fs, f)
	case c.Status == "ISSUED" && !c.NotAfter.IsZero() && c.NotAfter.Sub(e.now) <= time.Duration(cp.ExpiryWarning):
		f := e.resourceFinding(policy.RuleCertExpiring, a, c.ARN, c.Region)
		f.Evidence.ThresholdDays = cp.ExpiryWarning.Days()
		f.Evidence.Detail = fmt.Sprintf("ACM certificate for %s expires %s, in %d days; the warning period is %s", c.DomainName, c.NotAfter.UTC().Format("2006-01-02"), left, cp.ExpiryWarning)
		if c.Imported() {
			f.Evidence.Detail += "; it is imported, so ACM will not renew it"
			f.Remediation = fmt.Sprintf("Import the renewed certificate into the same ARN: aws acm import-certificate --region %s --certificate-arn %s --certificate fileb://cert.pem --private-key fileb://key.pem.", c.Region, c.ARN)
		} else {
			f.Evidence.Detail += fmt.Sprintf("; renewal eligibility %s", c.RenewalEligibility)
			f.Remediation = fmt.Sprintf("Check the renewal status and domain validation of the certificate: aws acm describe-certificate --region %s --certificate-arn %s.", c.Region, c.ARN)
		}
		fs = append(fs, f)
	}
	e.judge(a, nil, res, fs, check{rule: policy.RuleCertExpiring, controls: ctlACM1})
	if cp.FlagImported && c.Imported() && !expired {
		f := e.resourceFinding(policy.RuleCertImported, a, c.ARN, c.Region)
		f.Evidence.Detail = fmt.Sprintf("ACM certificate for %s is imported and expires %s; ACM does not renew imported certificates", c.DomainName, c.NotAfter.UTC().Format("2006-01-02"))
		f.Remediation = "Request an ACM-issued certificate to replace it where possible, or make sure someone owns its renewal."
		e.judge(a, nil, res, []Finding{f})
	}
	if cp.FlagUnused && !c.InUse && c.Status == "ISSUED" && !expired {
		f := e.resourceFinding(policy.RuleCertUnused, a, c.ARN, c.Region)
		f.Evidence.Detail = fmt.Sprintf("ACM certificate for %s is issued and used by no AWS resource", c.DomainName)
		f.Remediation = fmt.Sprintf("Delete it if nothing needs it: aws acm delete-certificate --region %s --certificate-arn %s.", c.Region, c.ARN)
		e.judge(a, nil, res, []Finding{f})
	}
}

// secretExempt marks f exempt when the secret carries the policy's exempt tag.
func (e *evaluator) secretExempt(fs []Finding, s inventory.Secret) {
	tag := e.p.ExemptTag
	reason, ok := s.Tags[tag]
	if tag == "" || !ok {
		return
	}
	if strings.TrimSpace(reason) == "" {
		reason = "tagged " + tag
	}
	for i := range fs {
		fs[i].Exempt = true
		fs[i].Exemption = &ExemptionApplied{Match: "tag:" + tag, Reason: reason}
	}
}

// SecretRotationDue returns when the secret falls due for rotation under
// p and the setting that says so; ok is false when p does not judge the
// secret (excluded, scheduled for deletion, keyrot's own store) or the
// secret carries the exempt tag. The planner starts overdue rotations with it.
func SecretRotationDue(p *policy.Policy, s inventory.Secret) (due time.Time, schedule string, ok bool) {
	if s.DeletedDate != nil || s.KeyrotStore || policy.Excluded(p.Secrets.Exclude, s.Name) {
		return time.Time{}, "", false
	}
	if _, exempt := s.Tags[p.ExemptTag]; p.ExemptTag != "" && exempt {
		return time.Time{}, "", false
	}
	due, schedule, _ = secretRotationDue(p, s)
	return due, schedule, true
}

// secretRotationDue returns when the secret is next due for rotation
// under the policy, the schedule that sets it, and the policy's period.
func secretRotationDue(p *policy.Policy, s inventory.Secret) (time.Time, string, policy.Duration) {
	every, schedule := p.SecretRotateEvery(s.Name, s.Tags)
	base := s.CreatedDate
	if s.LastRotatedDate != nil {
		base = *s.LastRotatedDate
	}
	due := base.Add(time.Duration(every))
	if s.RotationEnabled && s.NextRotationDate != nil && s.NextRotationDate.Before(due) {
		due = *s.NextRotationDate
	}
	return due, schedule, every
}

func (e *evaluator) secret(a *inventory.Account, s inventory.Secret) {
	sp := e.p.Secrets
	// keyrot's own stores are judged as the access keys they hold.
	if s.DeletedDate != nil || s.KeyrotStore || policy.Excluded(sp.Exclude, s.Name) {
		return
	}
	res := a.ID + "/" + s.Region + "/" + s.ARN
	judge := func(fs []Finding, c ...check) {
		e.secretExempt(fs, s)
		e.judge(a, nil, res, fs, c...)
	}
	if sp.RequireRotation {
		var fs []Finding
		if !s.RotationEnabled {
			f := e.resourceFinding(policy.RuleSecretRotationDisabled, a, s.ARN, s.Region)
			f.Evidence.CreateDate = timePtr(s.CreatedDate)
			f.Evidence.Detail = fmt.Sprintf("secret %s has no automatic rotation", s.Name)
			if s.RotationLambdaARN != "" {
				f.Evidence.Detail += " (a rotation function is set but rotation is turned off)"
			}
			f.Remediation = fmt.Sprintf("Configure rotation: aws secretsmanager rotate-secret --region %s --secret-id %s --rotation-lambda-arn <function-arn> --rotation-rules AutomaticallyAfterDays=<days>.", s.Region, s.Name)
			fs = append(fs, f)
		}
		judge(fs, check{rule: policy.RuleSecretRotationDisabled, controls: ctlSM1})
	}

	due, schedule, every := secretRotationDue(e.p, s)
	var fs []Finding
	if e.now.After(due) {
		f := e.resourceFinding(policy.RuleSecretRotationOverdue, a, s.ARN, s.Region)
		f.Extra["schedule"] = schedule
		f.Evidence.CreateDate = timePtr(s.CreatedDate)
		f.Evidence.ThresholdDays = every.Days()
		last := "never rotated"
		if s.LastRotatedDate != nil {
			last = fmt.Sprintf("last rotated %d days ago", inventory.AgeDays(*s.LastRotatedDate, e.now))
		}
		f.Evidence.Detail = fmt.Sprintf("secret %s was due for rotation on %s (%s; %s sets %s)", s.Name, due.UTC().Format("2006-01-02"), last, schedule, every)
		if s.RotationConfigured() && s.RotationEnabled {
			f.Remediation = fmt.Sprintf("Start a rotation (keyrot apply does): aws secretsmanager rotate-secret --region %s --secret-id %s; then find out why the schedule was missed.", s.Region, s.Name)
		} else {
			f.Remediation = fmt.Sprintf("Configure rotation for %s and rotate it (aws secretsmanager rotate-secret with a rotation function), or change its value by hand with put-secret-value.", s.Name)
		}
		fs = append(fs, f)
	}
	judge(fs, check{rule: policy.RuleSecretRotationOverdue, controls: ctlSM4})

	fs = nil
	if s.PendingVersion {
		f := e.resourceFinding(policy.RuleSecretRotationFailed, a, s.ARN, s.Region)
		f.Evidence.Detail = fmt.Sprintf("secret %s has an AWSPENDING version that never became AWSCURRENT: its last rotation did not finish, and Secrets Manager will not start another", s.Name)
		f.Remediation = fmt.Sprintf("Read the rotation function's logs, fix the cause, then move or remove the AWSPENDING label (aws secretsmanager update-secret-version-stage --region %s --secret-id %s ...) and rotate again.", s.Region, s.Name)
		fs = append(fs, f)
	}
	if s.RotationEnabled || s.PendingVersion {
		judge(fs, check{rule: policy.RuleSecretRotationFailed, controls: ctlSM2})
	}

	fs = nil
	since := s.CreatedDate
	if s.LastAccessedDate != nil {
		since = *s.LastAccessedDate
	}
	if atLeast(since, e.now, sp.UnusedAfter) {
		f := e.resourceFinding(policy.RuleSecretUnused, a, s.ARN, s.Region)
		days := inventory.AgeDays(since, e.now)
		f.Evidence.CreateDate = timePtr(s.CreatedDate)
		f.Evidence.LastUsed = s.LastAccessedDate
		f.Evidence.DaysSinceUse = &days
		f.Evidence.ThresholdDays = sp.UnusedAfter.Days()
		if s.LastAccessedDate == nil {
			f.Evidence.Detail = fmt.Sprintf("secret %s was never read in the %d days since it was created; unused secrets are flagged after %s", s.Name, days, sp.UnusedAfter)
		} else {
			f.Evidence.Detail = fmt.Sprintf("secret %s was last read %d days ago; unused secrets are flagged after %s", s.Name, days, sp.UnusedAfter)
		}
		f.Remediation = fmt.Sprintf("Delete it if nothing needs it: aws secretsmanager delete-secret --region %s --secret-id %s --recovery-window-in-days 30.", s.Region, s.Name)
		fs = append(fs, f)
	}
	judge(fs, check{rule: policy.RuleSecretUnused, controls: ctlSM3})
}

func init() { registerCredentials(accountKindCredentials) }

// accountKindCredentials lists the account's server certificates, ACM
// certificates and secrets for the inventory output.
func accountKindCredentials(l *credentialLister, a *inventory.Account) []Credential {
	var out []Credential
	for _, c := range a.ServerCertificates {
		cr := Credential{Kind: KindServerCertificate, ID: c.ARN, Name: c.Name, Status: "Active", Created: timePtr(c.UploadDate), Expires: timePtr(c.Expiration)}
		if cr.ID == "" {
			cr.ID = c.Name
		}
		if !l.now.Before(c.Expiration) {
			cr.Status = "Expired"
			cr.NextDue, cr.DueAction, cr.Schedule = timePtr(c.Expiration), "delete", "CIS 1.19"
		} else {
			cr.NextDue, cr.DueAction, cr.Schedule = timePtr(c.Expiration.Add(-time.Duration(l.p.ServerCertificates.ExpiryWarning))), "replace", "server_certificates.expiry_warning"
		}
		out = append(out, cr)
	}
	for _, c := range a.Certificates {
		cr := Credential{Kind: KindACMCertificate, Region: c.Region, ID: c.ARN, Name: c.DomainName, Status: c.Status, Created: timePtr(c.CreatedAt), Expires: timePtr(c.NotAfter)}
		if !c.NotAfter.IsZero() {
			action := "check-renewal"
			if c.Imported() {
				action = "re-import"
			}
			cr.NextDue, cr.DueAction, cr.Schedule = timePtr(c.NotAfter.Add(-time.Duration(l.p.Certificates.ExpiryWarning))), action, "certificates.expiry_warning"
		}
		out = append(out, cr)
	}
	for _, s := range a.Secrets {
		if s.DeletedDate != nil || s.KeyrotStore {
			continue // keyrot's own stores are listed as the access keys they hold
		}
		status := "RotationDisabled"
		switch {
		case s.PendingVersion:
			status = "RotationFailed"
		case s.RotationEnabled:
			status = "RotationEnabled"
		}
		cr := Credential{Kind: KindSecret, Region: s.Region, ID: s.ARN, Name: s.Name, Status: status, Created: timePtr(s.CreatedDate), LastUse: LastUseNever}
		if s.LastAccessedDate != nil {
			cr.LastUse, cr.LastUsed = LastUseUsed, s.LastAccessedDate
		}
		due, schedule, _ := secretRotationDue(l.p, s)
		cr.NextDue, cr.DueAction, cr.Schedule = timePtr(due), "rotate", schedule
		out = append(out, cr)
	}
	return out
}
