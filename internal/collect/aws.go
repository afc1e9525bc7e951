package collect

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/awsconf"
)

// IAMAPI is the part of IAM the collector reads.
type IAMAPI interface {
	GenerateCredentialReport(context.Context, *iam.GenerateCredentialReportInput, ...func(*iam.Options)) (*iam.GenerateCredentialReportOutput, error)
	GetCredentialReport(context.Context, *iam.GetCredentialReportInput, ...func(*iam.Options)) (*iam.GetCredentialReportOutput, error)
	ListUsers(context.Context, *iam.ListUsersInput, ...func(*iam.Options)) (*iam.ListUsersOutput, error)
	ListAccessKeys(context.Context, *iam.ListAccessKeysInput, ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	GetAccessKeyLastUsed(context.Context, *iam.GetAccessKeyLastUsedInput, ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
	GetLoginProfile(context.Context, *iam.GetLoginProfileInput, ...func(*iam.Options)) (*iam.GetLoginProfileOutput, error)
	ListMFADevices(context.Context, *iam.ListMFADevicesInput, ...func(*iam.Options)) (*iam.ListMFADevicesOutput, error)
	ListUserTags(context.Context, *iam.ListUserTagsInput, ...func(*iam.Options)) (*iam.ListUserTagsOutput, error)
	ListGroupsForUser(context.Context, *iam.ListGroupsForUserInput, ...func(*iam.Options)) (*iam.ListGroupsForUserOutput, error)
	GetAccountAuthorizationDetails(context.Context, *iam.GetAccountAuthorizationDetailsInput, ...func(*iam.Options)) (*iam.GetAccountAuthorizationDetailsOutput, error)
	// The other per-user credential kinds and the password policy (iamkinds.go).
	ListServiceSpecificCredentials(context.Context, *iam.ListServiceSpecificCredentialsInput, ...func(*iam.Options)) (*iam.ListServiceSpecificCredentialsOutput, error)
	ListSigningCertificates(context.Context, *iam.ListSigningCertificatesInput, ...func(*iam.Options)) (*iam.ListSigningCertificatesOutput, error)
	ListSSHPublicKeys(context.Context, *iam.ListSSHPublicKeysInput, ...func(*iam.Options)) (*iam.ListSSHPublicKeysOutput, error)
	GetAccountPasswordPolicy(context.Context, *iam.GetAccountPasswordPolicyInput, ...func(*iam.Options)) (*iam.GetAccountPasswordPolicyOutput, error)
}

// OrganizationsAPI is the part of Organizations the collector reads.
type OrganizationsAPI interface {
	DescribeOrganization(context.Context, *organizations.DescribeOrganizationInput, ...func(*organizations.Options)) (*organizations.DescribeOrganizationOutput, error)
	ListAccounts(context.Context, *organizations.ListAccountsInput, ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error)
	ListRoots(context.Context, *organizations.ListRootsInput, ...func(*organizations.Options)) (*organizations.ListRootsOutput, error)
	ListOrganizationalUnitsForParent(context.Context, *organizations.ListOrganizationalUnitsForParentInput, ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error)
	ListAccountsForParent(context.Context, *organizations.ListAccountsForParentInput, ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error)
	ListTagsForResource(context.Context, *organizations.ListTagsForResourceInput, ...func(*organizations.Options)) (*organizations.ListTagsForResourceOutput, error)
}

// STSAPI is the part of STS the collector calls itself (AssumeRole goes
// through the awsaccess.Accounts inside the IAM factory).
type STSAPI interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

var (
	_ IAMAPI           = (*iam.Client)(nil)
	_ OrganizationsAPI = (*organizations.Client)(nil)
	_ STSAPI           = (*sts.Client)(nil)
)

// Target is an account the IAM factory is asked for.
type Target struct {
	AccountID string
	// Partition is the caller's ARN partition (aws, aws-cn, aws-us-gov).
	Partition string
	// Own is true for the caller's own account, audited with the caller's credentials.
	Own bool
}

// IAMFactory returns an IAM client acting in the target account. It should
// fail fast (e.g. assume the role eagerly) so an unreachable account is
// reported as such rather than at its first IAM call.
type IAMFactory func(ctx context.Context, t Target) (IAMAPI, error)

// DefaultRoleName is the role assumed in member accounts unless Role.Name
// says otherwise: Organizations creates it in every account it creates.
const DefaultRoleName = awsaccess.DefaultRoleName

// DefaultSessionName is the AssumeRole session name, visible in CloudTrail.
const DefaultSessionName = "keyrot-collect"

// Role says how to reach member accounts; an empty SessionName means
// DefaultSessionName here.
type Role = awsaccess.Role

// NewIAMFactory returns an IAMFactory that uses cfg as is for the caller's own
// account and, for any other account, assumes role there with cfg's
// credentials (see awsaccess.Accounts.Config).
func NewIAMFactory(cfg aws.Config, role Role) IAMFactory {
	return AccessIAMFactory(newAccounts(cfg, role))
}

// AccessIAMFactory returns an IAMFactory acting in each account through acc.
// The role is assumed once per account, up front, so that a missing role or
// a refused trust fails that account at once.
func AccessIAMFactory(acc *awsaccess.Accounts) IAMFactory {
	return func(ctx context.Context, t Target) (IAMAPI, error) {
		if t.Own {
			return awsconf.NewIAM(acc.Own()), nil
		}
		cfg, err := acc.Config(ctx, t.AccountID)
		if err != nil {
			var ae *awsaccess.AssumeRoleError
			if errors.As(err, &ae) {
				return nil, &StepError{Op: "assume role " + ae.RoleARN, Err: ae.Err}
			}
			return nil, err
		}
		return awsconf.NewIAM(cfg), nil
	}
}

// AWSOptions returns Options whose clients are built from cfg: Organizations
// with the caller's credentials, STS and IAM through one awsaccess.Accounts.
func AWSOptions(cfg aws.Config, role Role) Options {
	return AccessOptions(newAccounts(cfg, role))
}

// AccessOptions returns Options whose clients come from acc: Organizations
// with the base credentials, the caller's identity from acc (one
// GetCallerIdentity however often it is asked) and IAM through
// AccessIAMFactory.
func AccessOptions(acc *awsaccess.Accounts) Options {
	return Options{
		Organizations: organizations.NewFromConfig(acc.Base()),
		STS:           callerSTS{acc},
		IAM:           AccessIAMFactory(acc),
	}
}

// newAccounts is awsaccess.New with the collector's session name by default.
func newAccounts(cfg aws.Config, role Role) *awsaccess.Accounts {
	if role.SessionName == "" {
		role.SessionName = DefaultSessionName
	}
	return awsaccess.New(cfg, role)
}

// callerSTS answers GetCallerIdentity from an awsaccess.Accounts.
type callerSTS struct{ acc *awsaccess.Accounts }

func (c callerSTS) GetCallerIdentity(ctx context.Context, _ *sts.GetCallerIdentityInput, _ ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	id, err := c.acc.Caller(ctx)
	if err != nil {
		return nil, err
	}
	return &sts.GetCallerIdentityOutput{Account: aws.String(id.Account), Arn: aws.String(id.ARN), UserId: aws.String(id.UserID)}, nil
}
