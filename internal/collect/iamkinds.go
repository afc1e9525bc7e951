package collect

import (
	"context"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyrot/keyrot/internal/credreport"
	"github.com/keyrot/keyrot/internal/inventory"
)

// The per-user IAM credentials besides access keys and passwords, and the
// account's password policy. Their cost per account:
//
//   - service-specific credentials: one ListServiceSpecificCredentials
//     (AllUsers) per service, CodeCommit, Keyspaces and Bedrock: 3 calls,
//     more only past 1,000 credentials of a service;
//   - signing certificates: the credential report's cert_1/cert_2 columns
//     (no call); ListSigningCertificates only for users whose report shows a
//     certificate, for the certificates' IDs;
//   - the password policy: one GetAccountPasswordPolicy;
//   - SSH public keys: neither the credential report nor
//     GetAccountAuthorizationDetails has them, and ListSSHPublicKeys without
//     a user name lists only the caller's, so the one correct way is one
//     ListSSHPublicKeys per user: Options.SSHKeys turns it on.
//
// A failed listing is a per-item problem of the account (Account.Errors),
// never the account's failure: the access-key audit stands.

// certsFromRow returns the signing certificates the report shows.
func certsFromRow(row credreport.Row) []inventory.SigningCertificate {
	var certs []inventory.SigningCertificate
	for i, c := range row.Certs {
		if c.LastRotated.State != credreport.StateValue {
			continue
		}
		sc := inventory.SigningCertificate{Slot: i + 1, Status: inventory.KeyInactive, UploadDate: c.LastRotated.Time}
		if c.Active.True() {
			sc.Status = inventory.KeyActive
		}
		certs = append(certs, sc)
	}
	return certs
}

// iamKinds fills the users' service-specific credentials, signing
// certificate IDs and (with Options.SSHKeys) SSH keys, and the account's
// password policy.
func (r *accountRun) iamKinds(ctx context.Context, users []inventory.User) {
	if !r.c.opts.IAMKinds {
		return
	}
	r.passwordPolicy(ctx)
	byName := make(map[string]*inventory.User, len(users))
	for i := range users {
		if users[i].Name != "" { // deleted since the report
			byName[users[i].Name] = &users[i]
		}
	}
	for _, svc := range inventory.CredentialServices {
		if ctx.Err() != nil {
			return
		}
		r.serviceCredentials(ctx, svc, byName)
	}
	sem := make(chan struct{}, perAccountLookups)
	var wg sync.WaitGroup
	for i := range users {
		u := &users[i]
		if u.Name == "" || len(u.SigningCertificates) == 0 && !r.c.opts.SSHKeys {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if len(u.SigningCertificates) > 0 {
				r.signingCertificates(ctx, u)
			}
			if r.c.opts.SSHKeys {
				r.sshKeys(ctx, u)
			}
		}()
	}
	wg.Wait()
}

func (r *accountRun) passwordPolicy(ctx context.Context) {
	out, err := r.iam.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	switch {
	case apiCode(err) == "NoSuchEntity":
		r.acct.PasswordPolicy = &inventory.PasswordPolicy{Exists: false}
	case err != nil:
		r.errf("", "", "GetAccountPasswordPolicy", err)
	case out.PasswordPolicy != nil:
		p := out.PasswordPolicy
		r.acct.PasswordPolicy = &inventory.PasswordPolicy{
			Exists: true, MinimumPasswordLength: int(aws.ToInt32(p.MinimumPasswordLength)),
			RequireSymbols: p.RequireSymbols, RequireNumbers: p.RequireNumbers,
			RequireUppercaseCharacters: p.RequireUppercaseCharacters, RequireLowercaseCharacters: p.RequireLowercaseCharacters,
			AllowUsersToChangePassword: p.AllowUsersToChangePassword, MaxPasswordAge: int(aws.ToInt32(p.MaxPasswordAge)),
			PasswordReusePrevention: int(aws.ToInt32(p.PasswordReusePrevention)), HardExpiry: aws.ToBool(p.HardExpiry),
		}
	}
}

// serviceCredentials lists every user's credentials of one service.
func (r *accountRun) serviceCredentials(ctx context.Context, service string, byName map[string]*inventory.User) {
	in := &iam.ListServiceSpecificCredentialsInput{AllUsers: aws.Bool(true), ServiceName: aws.String(service), MaxItems: aws.Int32(maxItems)}
	var found []struct {
		user string
		c    inventory.ServiceCredential
	}
	for {
		page, err := r.iam.ListServiceSpecificCredentials(ctx, in)
		if err != nil {
			r.errf("", "", "ListServiceSpecificCredentials", err)
			return
		}
		for _, m := range page.ServiceSpecificCredentials {
			found = append(found, struct {
				user string
				c    inventory.ServiceCredential
			}{aws.ToString(m.UserName), inventory.ServiceCredential{
				ID: aws.ToString(m.ServiceSpecificCredentialId), Service: aws.ToString(m.ServiceName),
				Status: inventory.KeyStatus(m.Status), CreateDate: aws.ToTime(m.CreateDate).UTC(),
				ExpirationDate: utcPtr(m.ExpirationDate), ServiceUserName: aws.ToString(m.ServiceUserName),
				Alias: aws.ToString(m.ServiceCredentialAlias),
			}})
		}
		if !page.IsTruncated || page.Marker == nil {
			break
		}
		in.Marker = page.Marker
	}
	// Every page was read: only now do users get the service's credentials.
	for _, f := range found {
		if u := byName[f.user]; u != nil {
			u.ServiceCredentials = append(u.ServiceCredentials, f.c)
		}
	}
	for _, u := range byName {
		sort.SliceStable(u.ServiceCredentials, func(i, j int) bool {
			a, b := u.ServiceCredentials[i], u.ServiceCredentials[j]
			if a.Service != b.Service {
				return a.Service < b.Service
			}
			return a.CreateDate.Before(b.CreateDate)
		})
	}
}

// signingCertificates gives the report's certificates of u their IDs and
// live status.
func (r *accountRun) signingCertificates(ctx context.Context, u *inventory.User) {
	var certs []inventory.SigningCertificate
	p := iam.NewListSigningCertificatesPaginator(r.iam, &iam.ListSigningCertificatesInput{UserName: aws.String(u.Name), MaxItems: aws.Int32(maxItems)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			r.errf(u.Name, "", "ListSigningCertificates", err)
			return
		}
		for _, c := range page.Certificates {
			certs = append(certs, inventory.SigningCertificate{
				ID: aws.ToString(c.CertificateId), Status: inventory.KeyStatus(c.Status), UploadDate: aws.ToTime(c.UploadDate).UTC(),
			})
		}
	}
	sort.SliceStable(certs, func(i, j int) bool { return certs[i].UploadDate.Before(certs[j].UploadDate) })
	for i := range certs {
		if i < 2 {
			certs[i].Slot = i + 1
		}
	}
	u.SigningCertificates = certs
}

func (r *accountRun) sshKeys(ctx context.Context, u *inventory.User) {
	var keys []inventory.SSHPublicKey
	p := iam.NewListSSHPublicKeysPaginator(r.iam, &iam.ListSSHPublicKeysInput{UserName: aws.String(u.Name), MaxItems: aws.Int32(maxItems)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			r.errf(u.Name, "", "ListSSHPublicKeys", err)
			return
		}
		for _, k := range page.SSHPublicKeys {
			keys = append(keys, inventory.SSHPublicKey{
				ID: aws.ToString(k.SSHPublicKeyId), Status: inventory.KeyStatus(k.Status), UploadDate: aws.ToTime(k.UploadDate).UTC(),
			})
		}
	}
	u.SSHPublicKeys = keys
}
