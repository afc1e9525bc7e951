package audit

import (
	"fmt"

	"github.com/keyrot/keyrot/internal/inventory"
)

// Inventory kinds of the per-user IAM credentials besides access keys and
// console passwords. AWS records no last use of any of them.
const (
	KindServiceCredential  = "service-specific-credential" // CodeCommit HTTPS Git, Keyspaces
	KindBedrockAPIKey      = "bedrock-api-key"             // a Bedrock long-term API key
	KindSigningCertificate = "signing-certificate"
	KindSSHPublicKey       = "ssh-public-key"
)

func init() { registerCredentials(iamKindRows) }

// iamKindRows lists each user's service-specific credentials, signing
// certificates and SSH public keys, with the date the policy next wants
// them rotated (active) or deleted (inactive).
func iamKindRows(l *credentialLister, a *inventory.Account) []Credential {
	var out []Credential
	sc, cert, ssh := l.p.ServiceCredentials, l.p.SigningCertificates, l.p.SSHKeys
	for ui := range a.Users {
		u := &a.Users[ui]
		for _, c := range u.ServiceCredentials {
			cr := Credential{Kind: KindServiceCredential, Owner: u.Name, ID: c.ID, Name: c.ServiceUserName, Status: string(c.Status),
				Created: timePtr(c.CreateDate), Expires: c.ExpirationDate, LastUse: LastUseNotTracked}
			if c.APIKey() {
				cr.Kind, cr.Name = KindBedrockAPIKey, c.Alias
			}
			switch {
			case c.Status == inventory.KeyExpired:
				cr.NextDue, cr.DueAction, cr.Schedule = c.ExpirationDate, "delete", "expired"
			case !c.Active():
				cr.NextDue, cr.DueAction, cr.Schedule = due(c.CreateDate, sc.DeleteAfter), "delete", "service_credentials.delete_after"
			case c.APIKey() && c.ExpirationDate == nil && sc.RequireAPIKeyExpiry:
				cr.NextDue, cr.DueAction, cr.Schedule = timePtr(c.CreateDate), "replace", "service_credentials.require_api_key_expiry"
			default:
				cr.NextDue, cr.DueAction, cr.Schedule = due(c.CreateDate, sc.RotateAfter), "rotate", "service_credentials.rotate_after"
			}
			out = append(out, cr)
		}
		for _, c := range u.SigningCertificates {
			id := c.ID
			if id == "" {
				id = fmt.Sprintf("cert%d", c.Slot)
			}
			cr := Credential{Kind: KindSigningCertificate, Owner: u.Name, ID: id, Status: string(c.Status), Created: timePtr(c.UploadDate), LastUse: LastUseNotTracked}
			if c.Active() {
				cr.NextDue, cr.DueAction, cr.Schedule = due(c.UploadDate, cert.RotateAfter), "rotate", "signing_certificates.rotate_after"
			} else {
				cr.NextDue, cr.DueAction, cr.Schedule = due(c.UploadDate, cert.DeleteAfter), "delete", "signing_certificates.delete_after"
			}
			out = append(out, cr)
		}
		for _, k := range u.SSHPublicKeys {
			cr := Credential{Kind: KindSSHPublicKey, Owner: u.Name, ID: k.ID, Status: string(k.Status), Created: timePtr(k.UploadDate), LastUse: LastUseNotTracked}
			if k.Active() {
				cr.NextDue, cr.DueAction, cr.Schedule = due(k.UploadDate, ssh.RotateAfter), "rotate", "ssh_keys.rotate_after"
			} else {
				cr.NextDue, cr.DueAction, cr.Schedule = due(k.UploadDate, ssh.DeleteAfter), "delete", "ssh_keys.delete_after"
			}
			out = append(out, cr)
		}
	}
	return out
}
