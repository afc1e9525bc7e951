package collect

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
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
// through stscreds inside the IAM factory).
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
const DefaultRoleName = "OrganizationAccountAccessRole"

// DefaultSessionName is the AssumeRole session name, visible in CloudTrail.
const DefaultSessionName = "keyrot-collect"

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

// ARN returns the role's ARN in account id of partition.
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

// NewIAMFactory returns an IAMFactory that uses cfg as is for the caller's own
// account and, for any other account, assumes role there with cfg's
// credentials (stscreds.AssumeRoleProvider behind an aws.CredentialsCache, so
// the session is refreshed before it expires). The role is assumed once, up
// front, so that a missing role or a refused trust fails that account at once.
func NewIAMFactory(cfg aws.Config, role Role) IAMFactory {
	stsClient := sts.NewFromConfig(cfg)
	session := role.SessionName
	if session == "" {
		session = DefaultSessionName
	}
	return func(ctx context.Context, t Target) (IAMAPI, error) {
		if t.Own {
			return iam.NewFromConfig(cfg), nil
		}
		arn := role.ARN(t.Partition, t.AccountID)
		prov := stscreds.NewAssumeRoleProvider(stsClient, arn, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = session
			if role.ExternalID != "" {
				o.ExternalID = aws.String(role.ExternalID)
			}
		})
		cache := aws.NewCredentialsCache(prov)
		if _, err := cache.Retrieve(ctx); err != nil {
			return nil, &StepError{Op: "assume role " + arn, Err: err}
		}
		c := cfg.Copy()
		c.Credentials = cache
		return iam.NewFromConfig(c), nil
	}
}

// AWSOptions returns Options whose clients are built from cfg: Organizations
// and STS with the caller's credentials, IAM through NewIAMFactory.
func AWSOptions(cfg aws.Config, role Role) Options {
	return Options{
		Organizations: organizations.NewFromConfig(cfg),
		STS:           sts.NewFromConfig(cfg),
		IAM:           NewIAMFactory(cfg, role),
	}
}
