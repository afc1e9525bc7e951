// Package awsaccess gives keyrot's steps an aws.Config that acts in any
// account of the organization: the caller's own account with the caller's
// credentials, any other account through a role assumed there. It is the one
// place keyrot asks STS who it is (GetCallerIdentity, once) and assumes roles
// (AssumeRole, once per account, refreshed before the session expires).
//
// Endpoint and network failures come back through awsconf.Explain, so a
// caller that prints the error prints one sentence saying what to check.
package awsaccess

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/awsconf"
)

// DefaultRoleName is the role assumed in member accounts unless Role.Name
// says otherwise: Organizations creates it in every account it creates.
const DefaultRoleName = "OrganizationAccountAccessRole"

// DefaultSessionName is the AssumeRole session name, visible in CloudTrail,
// unless Role.SessionName says otherwise.
const DefaultSessionName = "keyrot"

// expiryWindow is how long before an assumed session expires it is renewed,
// so that no call is signed with credentials about to expire.
const expiryWindow = time.Minute

// Role says how to reach member accounts.
type Role struct {
	// Name is the role to assume in each member account; DefaultRoleName when empty.
	Name string
	// Path is the role's IAM path, "/" when empty.
	Path string
	// ExternalID is passed to AssumeRole when not empty.
	ExternalID string
	// SessionName defaults to DefaultSessionName.
	SessionName string
}

// ARN returns the role's ARN in account id of partition ("aws" when empty).
func (r Role) ARN(partition, id string) string {
	name, path := r.Name, r.Path
	if name == "" {
		name = DefaultRoleName
	}
	if path == "" {
		path = "/"
	}
	if partition == "" {
		partition = "aws"
	}
	return fmt.Sprintf("arn:%s:iam::%s:role%s%s", partition, id, path, name)
}

// Identity is who the base credentials belong to.
type Identity struct {
	Account string
	ARN     string
	UserID  string
	// Partition is the ARN's partition: aws, aws-cn, aws-us-gov.
	Partition string
}

// AssumeRoleError is a failure to assume the role in an account.
type AssumeRoleError struct {
	Account string
	RoleARN string
	Err     error
}

// Error implements error.
func (e *AssumeRoleError) Error() string { return "assume role " + e.RoleARN + ": " + e.Err.Error() }

// Unwrap returns the STS error.
func (e *AssumeRoleError) Unwrap() error { return e.Err }

// STSAPI is the part of STS Accounts calls.
type STSAPI interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
	stscreds.AssumeRoleAPIClient
}

var _ STSAPI = (*sts.Client)(nil)

// Accounts hands out per-account configurations built from one base
// configuration. It caches the caller's identity and each account's assumed
// role; failures are not cached, so a later call tries again. It is safe for
// concurrent use, and concurrent requests for one account share one
// AssumeRole call.
type Accounts struct {
	base aws.Config
	role Role
	sts  STSAPI

	callerMu sync.Mutex
	caller   *Identity

	mu       sync.Mutex
	accounts map[string]*assumed

	ownOnce sync.Once
	own     aws.Config
}

// assumed is one account's configuration, filled by the first successful
// AssumeRole; mu serializes the attempts.
type assumed struct {
	mu  sync.Mutex
	cfg *aws.Config
}

// New returns Accounts acting with base's credentials in the caller's own
// account and through role elsewhere, calling STS with base.
func New(base aws.Config, role Role) *Accounts {
	return NewWithSTS(base, role, sts.NewFromConfig(base))
}

// NewWithSTS is New with the STS client given.
func NewWithSTS(base aws.Config, role Role, client STSAPI) *Accounts {
	if role.SessionName == "" {
		role.SessionName = DefaultSessionName
	}
	return &Accounts{base: base, role: role, sts: client, accounts: map[string]*assumed{}}
}

// Base returns the base configuration, which acts in the caller's own account.
func (a *Accounts) Base() aws.Config { return a.base }

// Own returns the configuration of the caller's own account: the base one
// with one retryer shared by all its clients (see Config).
func (a *Accounts) Own() aws.Config {
	a.ownOnce.Do(func() { a.own = awsconf.SharedRetryer(a.base) })
	return a.own
}

// Role returns the role assumed in other accounts, with defaults filled in.
func (a *Accounts) Role() Role { return a.role }

// Caller returns the identity of the base credentials (STS
// GetCallerIdentity, called once while it succeeds).
func (a *Accounts) Caller(ctx context.Context) (Identity, error) {
	a.callerMu.Lock()
	defer a.callerMu.Unlock()
	if a.caller != nil {
		return *a.caller, nil
	}
	out, err := a.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Identity{}, awsconf.Explain(err)
	}
	arn := aws.ToString(out.Arn)
	a.caller = &Identity{Account: aws.ToString(out.Account), ARN: arn, UserID: aws.ToString(out.UserId), Partition: partitionOf(arn)}
	return *a.caller, nil
}

// RoleARN returns the ARN of the role in account, in the caller's partition.
func (a *Accounts) RoleARN(ctx context.Context, account string) (string, error) {
	id, err := a.Caller(ctx)
	if err != nil {
		return "", err
	}
	return a.role.ARN(id.Partition, account), nil
}

// Config returns the configuration that acts in account: Own for the
// caller's own account; otherwise one whose credentials come from
// assuming the role there (stscreds.AssumeRoleProvider behind an
// aws.CredentialsCache, so the session is renewed before it expires). The
// role is assumed at the first request for an account, so that a missing
// role or a refused trust is reported here, as an *AssumeRoleError, rather
// than by the first call made with the configuration.
//
// All clients made from one account's configuration share one retryer
// (awsconf.SharedRetryer): with keyrot's adaptive retryer, one client-side
// rate per account, slowed down when that account is throttled and not
// when another one is. IAM throttles each account on its own.
func (a *Accounts) Config(ctx context.Context, account string) (aws.Config, error) {
	id, err := a.Caller(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	if account == id.Account {
		return a.Own(), nil
	}
	a.mu.Lock()
	e := a.accounts[account]
	if e == nil {
		e = &assumed{}
		a.accounts[account] = e
	}
	a.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cfg != nil {
		return *e.cfg, nil
	}
	arn := a.role.ARN(id.Partition, account)
	prov := stscreds.NewAssumeRoleProvider(a.sts, arn, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = a.role.SessionName
		if a.role.ExternalID != "" {
			o.ExternalID = aws.String(a.role.ExternalID)
		}
	})
	creds := aws.NewCredentialsCache(prov, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = expiryWindow })
	if _, err := creds.Retrieve(ctx); err != nil {
		return aws.Config{}, &AssumeRoleError{Account: account, RoleARN: arn, Err: awsconf.Explain(err)}
	}
	cfg := awsconf.SharedRetryer(a.base)
	cfg.Credentials = creds
	e.cfg = &cfg
	return cfg, nil
}

// partitionOf returns an ARN's partition, "aws" if it cannot tell.
func partitionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 3)
	if len(parts) == 3 && parts[0] == "arn" && parts[1] != "" {
		return parts[1]
	}
	return "aws"
}
