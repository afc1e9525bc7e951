package iampolicy

// Caller is the principal making a request.
type Caller struct {
	// ARN is the caller's ARN: arn:aws:iam::111122223333:user/alice,
	// arn:aws:sts::111122223333:assumed-role/Auditor/session, or
	// arn:aws:iam::111122223333:root.
	ARN string
	// Account is the caller's account ID.
	Account string
	// UniqueID is the user's or role's unique ID (AIDA…, AROA…); for an
	// assumed role the role's ID (aws:userid is then "AROA…:session").
	UniqueID string
	// RoleARN is the role's ARN when the caller is an assumed-role
	// session: a principal element naming the role matches its sessions.
	RoleARN string
	// Tags are the principal's tags (aws:PrincipalTag/…): the user's, or
	// the role's merged with its session tags.
	Tags map[string]string
	// OrgID is the ID of the caller's organization (aws:PrincipalOrgID),
	// empty when the account is in none.
	OrgID string
	// OrgPaths are the caller's organization paths
	// (aws:PrincipalOrgPaths), such as "o-abc/r-ab12/ou-ab12-11111111/".
	OrgPaths []string
	// ManagementAccount is true when the caller's account is the
	// organization's management account: SCPs do not apply to it.
	ManagementAccount bool
}

// Request is one authorization request: who does what to which resource,
// with what request context.
type Request struct {
	// Caller is the principal making the request.
	Caller Caller
	// Action is the action, such as "iam:CreateAccessKey".
	Action string
	// Resource is the resource's ARN, or "*" for actions that take none
	// (iam:ListUsers is on "*" only in the sense that any Resource
	// pattern matching "*" allows it).
	Resource string
	// ResourceAccount is the account that owns the resource; when empty it
	// is taken from the ARN's account field, and a resource without one is
	// in the caller's account.
	ResourceAccount string
	// Context holds the request's condition keys (aws:RequestedRegion,
	// aws:SecureTransport, aws:ResourceTag/…, sts:ExternalId,
	// kms:ViaService, …), one or more values each. Keys are matched
	// case-insensitively. Keys derived from the Caller (aws:PrincipalArn,
	// aws:PrincipalAccount, aws:PrincipalTag/…, aws:PrincipalOrgID,
	// aws:userid, aws:username, aws:PrincipalType, kms:CallerAccount) are
	// filled in by Evaluate unless present. Evaluate never reads the
	// clock: aws:CurrentTime and aws:EpochTime come from here.
	Context map[string][]string
}
