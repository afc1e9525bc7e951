// Package permissions holds the IAM policy documents of keyrot's own
// identities: the management identity that runs keyrot (organization
// reader, role assumer, notifier), the member audit role and the member
// rotation role, and the trust policy of the member roles. It is the one
// source of truth for what keyrot may do: docs/permissions.md shows these
// documents, the sandbox enforces them in keyrot's lifecycle tests, and a
// test removes each action in turn to show that none is superfluous.
//
// The package is pure: it builds documents from Options and knows no AWS SDK.
package permissions

import (
	"cmp"
	"encoding/json"
	"sort"
	"strings"
)

// Statement is one statement of an identity or trust policy.
type Statement struct {
	Sid       string                         `json:"Sid,omitempty"`
	Effect    string                         `json:"Effect"`
	Principal map[string][]string            `json:"Principal,omitempty"`
	Action    []string                       `json:"Action"`
	Resource  []string                       `json:"Resource,omitempty"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// JSON returns the document as indented JSON.
func (d Document) JSON() string {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil { // a Document always marshals
		panic(err)
	}
	return string(b)
}

// Actions returns the actions the document's Allow statements grant, sorted.
func (d Document) Actions() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range d.Statement {
		if s.Effect != "Allow" {
			continue
		}
		for _, a := range s.Action {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Without returns a copy of the document without action in any Allow
// statement; a statement left with no action is dropped.
func (d Document) Without(action string) Document {
	out := Document{Version: d.Version}
	for _, s := range d.Statement {
		if s.Effect == "Allow" {
			var acts []string
			for _, a := range s.Action {
				if a != action {
					acts = append(acts, a)
				}
			}
			if len(acts) == 0 {
				continue
			}
			s.Action = acts
		}
		out.Statement = append(out.Statement, s)
	}
	return out
}

// Options name what the documents are scoped to. Empty fields take the
// defaults keyrot itself uses.
type Options struct {
	// Partition is the AWS partition of the ARNs; "aws" when empty.
	Partition string
	// ManagementAccountID is the account keyrot runs in; "*" when empty
	// (the trust policy then needs it).
	ManagementAccountID string
	// OrgID is the organization's ID, for aws:PrincipalOrgID in the trust
	// policy; the condition is left out when empty.
	OrgID string
	// RoleName is the member role keyrot assumes (organization.role_name);
	// OrganizationAccountAccessRole when empty.
	RoleName string
	// ExternalID, when set, is required by the member roles' trust policy.
	ExternalID string
	// SecretPrefix is the prefix of keyrot's secret names
	// (rotation.secret_name); "keyrot/" when empty.
	SecretPrefix string
	// ExemptTag is the user tag that exempts a user from rotation;
	// "keyrot:exempt" when empty. The rotation role may not change the
	// keys of a user that has it.
	ExemptTag string
	// KMSKeyARN, when set, is the customer-managed key keyrot's secrets
	// are encrypted with (rotation.kms_key_id).
	KMSKeyARN string
	// SESIdentityARN and SNSTopicARN scope the notification permissions;
	// "*" when empty.
	SESIdentityARN string
	SNSTopicARN    string
}

func (o Options) withDefaults() Options {
	o.Partition = cmp.Or(o.Partition, "aws")
	o.ManagementAccountID = cmp.Or(o.ManagementAccountID, "*")
	o.RoleName = cmp.Or(o.RoleName, "OrganizationAccountAccessRole")
	o.SecretPrefix = cmp.Or(o.SecretPrefix, "keyrot/")
	o.ExemptTag = cmp.Or(o.ExemptTag, "keyrot:exempt")
	o.SESIdentityARN = cmp.Or(o.SESIdentityARN, "*")
	o.SNSTopicARN = cmp.Or(o.SNSTopicARN, "*")
	return o
}

// SecretTag is the tag keyrot writes on every secret it creates, in the
// CreateSecret call itself (secretstore.TagAccount).
const SecretTag = "keyrot:account"

// anyUser is every IAM user of every account.
func (o Options) anyUser() string { return "arn:" + o.Partition + ":iam::*:user/*" }

func (o Options) secrets() string {
	return "arn:" + o.Partition + ":secretsmanager:*:*:secret:" + strings.TrimSuffix(o.SecretPrefix, "*") + "*"
}

func doc(stmts ...Statement) Document { return Document{Version: "2012-10-17", Statement: stmts} }

// Management is the policy of the identity that runs keyrot in the
// management account: read the organization, assume the member role in
// each account, send notifications. The management account is audited and
// rotated with this identity's own credentials, so it also needs
// MemberAudit and MemberRotation.
func Management(o Options) Document {
	o = o.withDefaults()
	return doc(
		Statement{Sid: "ReadOrganization", Effect: "Allow", Action: []string{
			"organizations:DescribeOrganization",
			"organizations:ListAccounts",
			"organizations:ListAccountsForParent",
			"organizations:ListOrganizationalUnitsForParent",
			"organizations:ListRoots",
			"organizations:ListTagsForResource",
		}, Resource: []string{"*"}},
		Statement{Sid: "AssumeMemberRole", Effect: "Allow", Action: []string{"sts:AssumeRole"},
			Resource: []string{"arn:" + o.Partition + ":iam::*:role/" + o.RoleName}},
		Statement{Sid: "NotifyByEmail", Effect: "Allow", Action: []string{"ses:SendEmail"}, Resource: []string{o.SESIdentityARN}},
		Statement{Sid: "NotifyBySNS", Effect: "Allow", Action: []string{"sns:Publish"}, Resource: []string{o.SNSTopicARN}},
	)
}

// MemberAudit is the policy of the member role for audits (keyrot audit,
// plan, and the reads of apply).
func MemberAudit(o Options) Document {
	o = o.withDefaults()
	return doc(
		Statement{Sid: "CredentialReport", Effect: "Allow", Action: []string{
			"iam:GenerateCredentialReport",
			"iam:GetAccountAuthorizationDetails",
			"iam:GetAccountPasswordPolicy",
			"iam:GetCredentialReport",
		}, Resource: []string{"*"}},
		Statement{Sid: "ReadUsers", Effect: "Allow", Action: []string{
			"iam:GetAccessKeyLastUsed",
			"iam:GetLoginProfile",
			"iam:ListAccessKeys",
			"iam:ListGroupsForUser",
			"iam:ListMFADevices",
			"iam:ListSSHPublicKeys",
			"iam:ListServiceSpecificCredentials",
			"iam:ListSigningCertificates",
			"iam:ListUserTags",
			"iam:ListUsers",
		}, Resource: []string{o.anyUser()}},
		Statement{Sid: "ReadRotationState", Effect: "Allow", Action: []string{"secretsmanager:ListSecrets"}, Resource: []string{"*"}},
		Statement{Sid: "ReadOtherCredentials", Effect: "Allow", Action: []string{
			"acm:ListCertificates",
			"iam:ListServerCertificates",
			"rolesanywhere:ListTrustAnchors",
		}, Resource: []string{"*"}},
		// The enabled regions, when a kind's regions are [enabled]: the
		// account's own, never another's (no AccountId).
		Statement{Sid: "ListEnabledRegions", Effect: "Allow", Action: []string{"account:ListRegions"},
			Resource: []string{"arn:" + o.Partition + ":account::*:account"}},
	)
}

// MemberRotation is the policy of the member role for rotation (keyrot
// apply, rollback, rotate --now), on top of MemberAudit: change the keys
// and keyrot's tags of users that are not exempt, and keyrot's secrets.
func MemberRotation(o Options) Document {
	o = o.withDefaults()
	d := doc(
		Statement{Sid: "RotateKeys", Effect: "Allow", Action: []string{
			"iam:CreateAccessKey",
			"iam:DeleteAccessKey",
			"iam:GetUser",
			"iam:UpdateAccessKey",
		}, Resource: []string{o.anyUser()}},
		// Console passwords unused past the policy's period are disabled
		// (DeleteLoginProfile) and restored by rollback --console with a new
		// password (CreateLoginProfile): docs/console-passwords.md.
		Statement{Sid: "ConsolePasswords", Effect: "Allow", Action: []string{
			"iam:CreateLoginProfile",
			"iam:DeleteLoginProfile",
		}, Resource: []string{o.anyUser()}},
		// Service-specific credentials (service_credentials.rotate):
		// create the second one, deactivate the old one, delete it.
		Statement{Sid: "RotateServiceCredentials", Effect: "Allow", Action: []string{
			"iam:CreateServiceSpecificCredential",
			"iam:DeleteServiceSpecificCredential",
			"iam:UpdateServiceSpecificCredential",
		}, Resource: []string{o.anyUser()}},
		Statement{Sid: "KeyrotTags", Effect: "Allow", Action: []string{
			"iam:TagUser",
			"iam:UntagUser",
		}, Resource: []string{o.anyUser()}, Condition: map[string]map[string][]string{
			"ForAllValues:StringLike": {"aws:TagKeys": {"keyrot:*"}},
		}},
		Statement{Sid: "NotExemptUsers", Effect: "Deny", Action: []string{
			"iam:CreateAccessKey",
			"iam:CreateLoginProfile",
			"iam:CreateServiceSpecificCredential",
			"iam:DeleteAccessKey",
			"iam:DeleteLoginProfile",
			"iam:DeleteServiceSpecificCredential",
			"iam:UpdateAccessKey",
			"iam:UpdateServiceSpecificCredential",
		}, Resource: []string{o.anyUser()}, Condition: map[string]map[string][]string{
			"Null": {"iam:ResourceTag/" + o.ExemptTag: {"false"}},
		}},
		// A secret keyrot creates carries SecretTag from its creation on:
		// the role creates no secret without it and reads or changes no
		// secret that lacks it, so it cannot read a secret it did not
		// write, even under keyrot's prefix. DescribeSecret is not
		// conditioned: it tells keyrot whether its secret exists (a
		// missing secret has no tags, and AWS would answer AccessDenied).
		Statement{Sid: "KeyrotSecretsCreate", Effect: "Allow", Action: []string{
			"secretsmanager:CreateSecret",
		}, Resource: []string{o.secrets()}, Condition: map[string]map[string][]string{
			"Null": {"aws:RequestTag/" + SecretTag: {"false"}},
		}},
		Statement{Sid: "KeyrotSecretsDescribe", Effect: "Allow", Action: []string{
			"secretsmanager:DescribeSecret",
		}, Resource: []string{o.secrets()}},
		Statement{Sid: "KeyrotSecrets", Effect: "Allow", Action: []string{
			"secretsmanager:GetSecretValue",
			"secretsmanager:PutResourcePolicy",
			"secretsmanager:PutSecretValue",
			"secretsmanager:RestoreSecret",
		}, Resource: []string{o.secrets()}, Condition: map[string]map[string][]string{
			"Null": {"secretsmanager:ResourceTag/" + SecretTag: {"false"}},
		}},
		Statement{Sid: "KeyrotSecretTags", Effect: "Allow", Action: []string{
			"secretsmanager:TagResource",
			"secretsmanager:UntagResource",
		}, Resource: []string{o.secrets()}, Condition: map[string]map[string][]string{
			"Null":                    {"secretsmanager:ResourceTag/" + SecretTag: {"false"}},
			"ForAllValues:StringLike": {"aws:TagKeys": {"keyrot:*"}},
		}},
		// Overdue secrets whose rotation is configured: keyrot apply starts
		// their rotation (RotateSecret needs lambda:InvokeFunction on the
		// rotation function too, as its API reference says).
		Statement{Sid: "RotateOverdueSecrets", Effect: "Allow", Action: []string{
			"secretsmanager:DescribeSecret",
			"secretsmanager:RotateSecret",
		}, Resource: []string{"arn:aws:secretsmanager:*:*:secret:*"}},
		Statement{Sid: "InvokeRotationFunctions", Effect: "Allow", Action: []string{"lambda:InvokeFunction"},
			Resource: []string{"arn:aws:lambda:*:*:function:*"}},
	)
	if o.KMSKeyARN != "" {
		d.Statement = append(d.Statement, Statement{Sid: "KeyrotSecretsKey", Effect: "Allow", Action: []string{
			"kms:Decrypt",
			"kms:Encrypt",
			"kms:GenerateDataKey",
		}, Resource: []string{o.KMSKeyARN}})
	}
	return d
}

// MemberTrust is the trust policy of the member roles: the management
// account may assume them, with the external ID when one is set, and only
// from inside the organization.
func MemberTrust(o Options) Document {
	o = o.withDefaults()
	s := Statement{
		Sid: "KeyrotManagement", Effect: "Allow",
		Principal: map[string][]string{"AWS": {"arn:" + o.Partition + ":iam::" + o.ManagementAccountID + ":root"}},
		Action:    []string{"sts:AssumeRole"},
	}
	cond := map[string]map[string][]string{}
	if o.ExternalID != "" {
		cond["StringEquals"] = map[string][]string{"sts:ExternalId": {o.ExternalID}}
	}
	if o.OrgID != "" {
		if cond["StringEquals"] == nil {
			cond["StringEquals"] = map[string][]string{}
		}
		cond["StringEquals"]["aws:PrincipalOrgID"] = []string{o.OrgID}
	}
	if len(cond) > 0 {
		s.Condition = cond
	}
	return doc(s)
}
