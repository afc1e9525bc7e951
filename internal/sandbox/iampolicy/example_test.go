package iampolicy_test

import (
	"fmt"
	"strings"

	"github.com/keyrot/keyrot/internal/sandbox/iampolicy"
)

// A user with ReadOnlyAccess in a member account whose OU has an SCP
// denying key creation.
func Example() {
	scp, err := iampolicy.Parse(iampolicy.KindSCP, []byte(`{
  "Version": "2012-10-17",
  "Statement": [{"Sid": "DenyKeyCreation", "Effect": "Deny", "Action": "iam:CreateAccessKey", "Resource": "*"}]
}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	full, _ := iampolicy.Managed("FullAWSAccess")
	ro, _ := iampolicy.Managed("arn:aws:iam::aws:policy/ReadOnlyAccess")
	ps := &iampolicy.PolicySet{
		Identity: []iampolicy.NamedPolicy{ro.Named()},
		SCPs: []iampolicy.SCPLevel{
			{Target: "r-ab12", Policies: []iampolicy.NamedPolicy{full.Named()}},
			{Target: "ou-ab12-11111111", Policies: []iampolicy.NamedPolicy{full.Named(), {Name: "DenyKeyCreation", Policy: scp}}},
			{Target: "111122223333", Policies: []iampolicy.NamedPolicy{full.Named()}},
		},
	}
	alice := iampolicy.Caller{ARN: "arn:aws:iam::111122223333:user/alice", Account: "111122223333"}
	for _, action := range []string{"iam:ListAccessKeys", "iam:DeleteAccessKey", "iam:CreateAccessKey"} {
		req := &iampolicy.Request{Caller: alice, Action: action, Resource: "arn:aws:iam::111122223333:user/bob"}
		d := iampolicy.Evaluate(req, ps)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s: %s by %s %s %s", action, d.Result, d.Kind, d.Policy, d.Statement)))
		if !d.Allowed() {
			fmt.Println(" ", d.Message(req))
		}
	}
	// Output:
	// iam:ListAccessKeys: Allow by identity ReadOnlyAccess ReadOnlyActionsGroup1
	// iam:DeleteAccessKey: ImplicitDeny by identity
	//   User: arn:aws:iam::111122223333:user/alice is not authorized to perform: iam:DeleteAccessKey on resource: arn:aws:iam::111122223333:user/bob because no identity-based policy allows the iam:DeleteAccessKey action
	// iam:CreateAccessKey: ExplicitDeny by scp DenyKeyCreation DenyKeyCreation
	//   User: arn:aws:iam::111122223333:user/alice is not authorized to perform: iam:CreateAccessKey on resource: arn:aws:iam::111122223333:user/bob with an explicit deny in a service control policy
}

// A malformed document fails with its line and column.
func ExampleParse() {
	_, err := iampolicy.Parse(iampolicy.KindIdentity, []byte(`{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "iam:ListUsers", "Resource": "*"}
  ]
}`))
	fmt.Println(err)
	// Output:
	// 4:25: statement 0: principal not allowed: identity policies must not specify Principal
}
