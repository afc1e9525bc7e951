package audit

import (
	"fmt"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

// Findings and inventory rows of IAM Roles Anywhere trust anchors. An
// anchor works while one of its CA certificates is valid, so it is judged
// by the last of them to expire; the first to expire is named in the
// detail. An anchor whose source is ACM Private CA has no certificate in
// the listing and is judged on nothing (its expiry is ACM PCA's to report).

// KindTrustAnchor is the credential kind of IAM Roles Anywhere trust anchors.
const KindTrustAnchor = "roles-anywhere-trust-anchor"

func (e *evaluator) trustAnchor(a *inventory.Account, t inventory.TrustAnchor) {
	tp := e.p.TrustAnchors
	if policy.Excluded(tp.Exclude, t.Name) {
		return
	}
	res := a.ID + "/" + t.Region + "/" + t.ARN
	ref := t.ARN
	if ref == "" {
		ref = "trust-anchor/" + t.Name
	}
	if t.BundleError != "" {
		f := e.resourceFinding(policy.RuleTrustAnchorUnreadable, a, ref, t.Region)
		f.Evidence.Detail = fmt.Sprintf("the CA certificate bundle of trust anchor %s could not be read: %s", t.Name, t.BundleError)
		f.Remediation = fmt.Sprintf("Check the bundle: aws rolesanywhere get-trust-anchor --region %s --trust-anchor-id %s; replace it with PEM certificates (update-trust-anchor).", t.Region, t.ID)
		e.judge(a, nil, res, []Finding{f})
	}
	last, known := t.Expiry()
	if !known {
		return
	}
	first, _ := t.FirstExpiry()
	expired := !e.now.Before(last)
	if !t.Enabled {
		var fs []Finding
		if expired && tp.FlagDisabledExpired {
			f := e.resourceFinding(policy.RuleTrustAnchorDisabled, a, ref, t.Region)
			f.Evidence.CreateDate = timePtr(t.CreatedAt)
			f.Evidence.Detail = fmt.Sprintf("trust anchor %s is disabled and its CA certificate (%s) expired %s", t.Name, first.Subject, last.UTC().Format("2006-01-02"))
			f.Remediation = fmt.Sprintf("Delete it: aws rolesanywhere delete-trust-anchor --region %s --trust-anchor-id %s.", t.Region, t.ID)
			fs = append(fs, f)
		}
		if tp.FlagDisabledExpired {
			e.judge(a, nil, res, fs, check{rule: policy.RuleTrustAnchorDisabled})
		}
		return
	}
	var fs []Finding
	if expired {
		f := e.resourceFinding(policy.RuleTrustAnchorExpired, a, ref, t.Region)
		f.Evidence.CreateDate = timePtr(t.CreatedAt)
		f.Evidence.Detail = fmt.Sprintf("every CA certificate of enabled trust anchor %s has expired (the last on %s): no workload can obtain credentials through it", t.Name, last.UTC().Format("2006-01-02"))
		f.Remediation = fmt.Sprintf("Put the renewed CA certificate in the trust anchor (aws rolesanywhere update-trust-anchor --region %s --trust-anchor-id %s --source ...), or delete the anchor if nothing uses it.", t.Region, t.ID)
		fs = append(fs, f)
	}
	e.judge(a, nil, res, fs, check{rule: policy.RuleTrustAnchorExpired})
	if !expired && last.Sub(e.now) <= time.Duration(tp.ExpiryWarning) {
		f := e.resourceFinding(policy.RuleTrustAnchorExpiring, a, ref, t.Region)
		f.Evidence.CreateDate = timePtr(t.CreatedAt)
		f.Evidence.ThresholdDays = tp.ExpiryWarning.Days()
		f.Evidence.Detail = fmt.Sprintf("the CA certificate of trust anchor %s (%s) expires %s, in %d days; the warning period is %s", t.Name, first.Subject, last.UTC().Format("2006-01-02"), daysUntil(last, e.now), tp.ExpiryWarning)
		if len(t.CACertificates) > 1 {
			f.Evidence.Detail = fmt.Sprintf("the last of the %d CA certificates of trust anchor %s expires %s, in %d days; the warning period is %s", len(t.CACertificates), t.Name, last.UTC().Format("2006-01-02"), daysUntil(last, e.now), tp.ExpiryWarning)
		}
		f.Remediation = fmt.Sprintf("Issue the renewed CA certificate and add it to the bundle before the old one expires (aws rolesanywhere update-trust-anchor --region %s --trust-anchor-id %s --source ...); workloads' end-entity certificates must chain to it.", t.Region, t.ID)
		e.judge(a, nil, res, []Finding{f})
	}
}

func init() { registerCredentials(trustAnchorCredentials) }

// trustAnchorCredentials lists the account's trust anchors for the inventory output.
func trustAnchorCredentials(l *credentialLister, a *inventory.Account) []Credential {
	var out []Credential
	for _, t := range a.TrustAnchors {
		cr := Credential{Kind: KindTrustAnchor, Region: t.Region, ID: t.ARN, Name: t.Name, Status: "Disabled", Created: timePtr(t.CreatedAt), LastUse: LastUseNotTracked}
		if t.Enabled {
			cr.Status = "Enabled"
		}
		if cr.ID == "" {
			cr.ID = t.Name
		}
		if last, ok := t.Expiry(); ok {
			cr.Expires = timePtr(last)
			if t.Enabled {
				cr.NextDue, cr.DueAction, cr.Schedule = timePtr(last.Add(-time.Duration(l.p.TrustAnchors.ExpiryWarning))), "renew-ca", "trust_anchors.expiry_warning"
			} else if !l.now.Before(last) {
				cr.NextDue, cr.DueAction, cr.Schedule = timePtr(last), "delete", "trust_anchors.flag_disabled_expired"
			}
		}
		out = append(out, cr)
	}
	return out
}
