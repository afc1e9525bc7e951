// Package iampolicy parses AWS IAM policy documents and evaluates requests
// against them following AWS's documented policy evaluation logic. It is
// pure Go with no AWS SDK: the sandbox uses it to authorize every call.
//
// Parse turns a JSON document into a Policy, rejecting what AWS rejects as
// MalformedPolicyDocument with a *ParseError that says where (line and
// column) and what (a Problem). Evaluate decides one Request against a
// PolicySet (the caller's identity policies, permissions boundary, session
// policies, the resource's policy and the organization's SCPs) and returns a
// Decision that names the policy and statement that decided and the reason
// AWS gives in its AccessDenied messages. Managed looks up the AWS-managed
// policies the sandbox ships (AdministratorAccess, ReadOnlyAccess, ...).
//
// A parsed Policy is never modified afterwards, so one can be shared by
// concurrent evaluations.
//
// The evaluation follows
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
// and, across accounts,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html.
package iampolicy
