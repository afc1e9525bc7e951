package iampolicy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestManagedLookup(t *testing.T) {
	names := []string{"AdministratorAccess", "ReadOnlyAccess", "SecurityAudit", "IAMUserChangePassword", "IAMReadOnlyAccess",
		"IAMFullAccess", "SecretsManagerReadWrite", "AWSOrganizationsReadOnlyAccess", "FullAWSAccess"}
	for _, name := range names {
		m, ok := Managed(name)
		if !ok {
			t.Errorf("Managed(%q) not found", name)
			continue
		}
		if m.Name != name || m.Policy == nil || len(m.Policy.Statements) == 0 {
			t.Errorf("Managed(%q) = %+v", name, m)
		}
		byARN, ok := Managed(m.ARN)
		if !ok || byARN != m {
			t.Errorf("Managed(%q) by ARN = %v, %v; want the same policy", m.ARN, byARN, ok)
		}
	}
	if m, _ := Managed("ReadOnlyAccess"); m.ARN != "arn:aws:iam::aws:policy/ReadOnlyAccess" || m.Kind != KindIdentity {
		t.Errorf("ReadOnlyAccess ARN, kind = %s, %v", m.ARN, m.Kind)
	}
	if m, _ := Managed("FullAWSAccess"); m.ARN != FullAWSAccessARN || m.Kind != KindSCP {
		t.Errorf("FullAWSAccess ARN, kind = %s, %v", m.ARN, m.Kind)
	}
	if _, ok := Managed("readonlyaccess"); ok {
		t.Error("Managed matched a name in the wrong case; IAM names are exact")
	}
	if _, ok := Managed("PowerUserAccess"); ok {
		t.Error("Managed found a policy that is not shipped")
	}
	all := ManagedPolicies()
	if len(all) != len(names) {
		t.Errorf("ManagedPolicies has %d policies, want %d", len(all), len(names))
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].Name >= all[i].Name {
			t.Errorf("ManagedPolicies not sorted: %s before %s", all[i-1].Name, all[i].Name)
		}
	}
}

// TestManagedStatements checks, action by action, what the embedded
// copies of AWS's policies allow for the calls keyrot and the sandbox make.
func TestManagedStatements(t *testing.T) {
	self := "arn:aws:iam::" + acctA + ":user/alice"
	other := "arn:aws:iam::" + acctA + ":user/bob"
	secret := "arn:aws:secretsmanager:us-east-1:" + acctA + ":secret:keyrot/alice-AbCdEf"
	tests := []struct {
		policy, action, resource string
		want                     bool
	}{
		{"AdministratorAccess", "iam:CreateAccessKey", other, true},
		{"AdministratorAccess", "kms:CreateKey", "*", true},
		{"ReadOnlyAccess", "iam:ListUsers", "*", true},
		{"ReadOnlyAccess", "iam:ListAccessKeys", other, true},
		{"ReadOnlyAccess", "iam:GenerateCredentialReport", "*", true},
		{"ReadOnlyAccess", "iam:GetCredentialReport", "*", true},
		{"ReadOnlyAccess", "organizations:ListAccounts", "*", true},
		{"ReadOnlyAccess", "secretsmanager:DescribeSecret", secret, true},
		{"ReadOnlyAccess", "iam:CreateAccessKey", other, false},
		{"ReadOnlyAccess", "iam:DeleteAccessKey", other, false},
		{"ReadOnlyAccess", "secretsmanager:PutSecretValue", secret, false},
		{"SecurityAudit", "iam:GetCredentialReport", "*", true},
		{"SecurityAudit", "iam:ListAccessKeys", other, true},
		{"SecurityAudit", "iam:UpdateAccessKey", other, false},
		{"IAMReadOnlyAccess", "iam:GetAccessKeyLastUsed", other, true},
		{"IAMReadOnlyAccess", "iam:ListUsers", "*", true},
		{"IAMReadOnlyAccess", "iam:CreateAccessKey", other, false},
		{"IAMReadOnlyAccess", "organizations:ListAccounts", "*", false},
		{"IAMFullAccess", "iam:CreateAccessKey", other, true},
		{"IAMFullAccess", "organizations:ListAccounts", "*", false},
		{"IAMFullAccess", "secretsmanager:GetSecretValue", secret, false},
		// IAMUserChangePassword: a user changes its own password only.
		{"IAMUserChangePassword", "iam:ChangePassword", self, true},
		{"IAMUserChangePassword", "iam:ChangePassword", other, false},
		{"IAMUserChangePassword", "iam:GetAccountPasswordPolicy", "*", true},
		{"IAMUserChangePassword", "iam:CreateAccessKey", self, false},
		{"SecretsManagerReadWrite", "secretsmanager:PutSecretValue", secret, true},
		{"SecretsManagerReadWrite", "secretsmanager:GetSecretValue", secret, true},
		{"SecretsManagerReadWrite", "kms:ListAliases", "*", true},
		{"SecretsManagerReadWrite", "iam:CreateAccessKey", self, false},
		{"AWSOrganizationsReadOnlyAccess", "organizations:ListAccounts", "*", true},
		{"AWSOrganizationsReadOnlyAccess", "organizations:DescribeOrganization", "*", true},
		{"AWSOrganizationsReadOnlyAccess", "organizations:AttachPolicy", "*", false},
		{"AWSOrganizationsReadOnlyAccess", "iam:ListUsers", "*", false},
	}
	for _, tt := range tests {
		t.Run(tt.policy+" "+tt.action, func(t *testing.T) {
			m, ok := Managed(tt.policy)
			if !ok {
				t.Fatalf("no managed policy %s", tt.policy)
			}
			req := &Request{Caller: alice, Action: tt.action, Resource: tt.resource}
			d := Evaluate(req, &PolicySet{Identity: []NamedPolicy{m.Named()}})
			if d.Allowed() != tt.want {
				t.Errorf("%s allows %s on %s = %v, want %v (%+v)", tt.policy, tt.action, tt.resource, d.Allowed(), tt.want, d)
			}
			if tt.want && d.Policy != tt.policy {
				t.Errorf("deciding policy = %q, want %q", d.Policy, tt.policy)
			}
		})
	}
}

// TestFullAWSAccessAsSCP: the default SCP lets everything through at its
// level.
func TestFullAWSAccessAsSCP(t *testing.T) {
	full, _ := Managed("FullAWSAccess")
	admin, _ := Managed("AdministratorAccess")
	d := Evaluate(&Request{Caller: alice, Action: "iam:CreateAccessKey", Resource: "arn:aws:iam::" + acctA + ":user/alice"},
		&PolicySet{Identity: []NamedPolicy{admin.Named()}, SCPs: []SCPLevel{{Target: "r-1", Policies: []NamedPolicy{full.Named()}}, {Target: acctA, Policies: []NamedPolicy{full.Named()}}}})
	if !d.Allowed() {
		t.Errorf("FullAWSAccess at every level denied: %+v", d)
	}
}

// TestManagedTrimming checks each embedded AWS-managed policy against the
// untrimmed document in the seed corpus: the same statements, minus those
// left without actions, keeping exactly the actions of the services the
// sandbox implements, every other element unchanged.
func TestManagedTrimming(t *testing.T) {
	kept := map[string]bool{"iam": true, "sts": true, "organizations": true, "secretsmanager": true, "kms": true,
		"ses": true, "sns": true, "ssm": true, "lambda": true, "dynamodb": true}
	for _, m := range ManagedPolicies() {
		if m.Kind != KindIdentity {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			doc, _ := readSeed(t, "testdata/fuzz/FuzzParse/aws-managed-"+m.Name)
			full, err := Parse(KindIdentity, doc)
			if err != nil {
				t.Fatalf("untrimmed document: %v", err)
			}
			var want []Statement
			for _, st := range full.Statements {
				var acts []string
				for _, a := range st.Actions {
					prefix, _, _ := strings.Cut(a, ":")
					if a == "*" || kept[strings.ToLower(prefix)] {
						acts = append(acts, a)
					}
				}
				if len(acts) == 0 {
					continue
				}
				st.Actions = acts
				want = append(want, st)
			}
			if full.Version != m.Policy.Version {
				t.Errorf("Version %q, want %q", m.Policy.Version, full.Version)
			}
			ignore := cmpopts.IgnoreFields(Statement{}, "Index", "Line", "Column")
			if diff := cmp.Diff(want, m.Policy.Statements, ignore, cmpopts.IgnoreUnexported(Statement{}, Condition{})); diff != "" {
				t.Errorf("embedded statements differ from AWS's, trimmed (-want +got):\n%s", diff)
			}
		})
	}
}
