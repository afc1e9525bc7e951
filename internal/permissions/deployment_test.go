package permissions

import (
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/secretstore"
)

// TestSecretTagIsKeyrots: the tag the rotation document conditions on is
// the one keyrot writes in CreateSecret.
func TestSecretTagIsKeyrots(t *testing.T) {
	if SecretTag != secretstore.TagAccount {
		t.Errorf("SecretTag is %q, keyrot tags its secrets %q at creation", SecretTag, secretstore.TagAccount)
	}
}

func testDeployment(auditOnly bool) Deployment {
	return Deployment{Region: "us-east-1", AccountID: "222222222222", OrgID: "o-abcdef1234", ExternalID: "ext",
		TableARN: "arn:aws:dynamodb:us-east-1:222222222222:table/keyrot", CentralKeyARN: "arn:aws:kms:us-east-1:222222222222:key/k",
		ExternalIDParameter: "/keyrot/external-id", AuditOnly: auditOnly}
}

// TestDeploymentDocuments: each handler's document is scoped to the
// deployment's own resources.
func TestDeploymentDocuments(t *testing.T) {
	d := testDeployment(false)
	for name, doc := range map[string]Document{"coordinator": Coordinator(d), "worker": Worker(d), "reporter": Reporter(d), "events": Events(d)} {
		var logs, table, config bool
		for _, s := range doc.Statement {
			for _, r := range s.Resource {
				switch {
				case r == "arn:aws:logs:us-east-1:222222222222:log-group:/aws/lambda/keyrot-"+name+":*":
					logs = true
				case r == d.TableARN:
					table = true
				case r == "arn:aws:ssm:us-east-1:222222222222:parameter/keyrot/config":
					config = true
				}
				if strings.Contains(r, ":log-group:") && !strings.Contains(r, "keyrot-"+name+":") {
					t.Errorf("%s may write another function's log group %s", name, r)
				}
			}
		}
		if !logs || !table || !config {
			t.Errorf("%s: own log group %v, table %v, config parameter %v\n%s", name, logs, table, config, doc.JSON())
		}
	}
	// The reporter assumes no member role.
	for name, doc := range map[string]Document{"reporter": Reporter(d)} {
		for _, a := range doc.Actions() {
			if a == "sts:AssumeRole" {
				t.Errorf("%s may assume roles", name)
			}
		}
	}
	// The worker's own-account statements are the member documents on the central account.
	w := Worker(d).JSON()
	for _, want := range []string{`"arn:aws:iam::222222222222:user/*"`, `"arn:aws:secretsmanager:us-east-1:222222222222:secret:keyrot/*"`, `"kms:Encrypt"`} {
		if !strings.Contains(w, want) {
			t.Errorf("worker document lacks %s", want)
		}
	}
	if strings.Contains(w, `"arn:aws:iam::*:user/*"`) {
		t.Error("the worker may act on users of every account with its own credentials")
	}
	wa := Worker(testDeployment(true))
	for _, a := range wa.Actions() {
		if strings.HasPrefix(a, "iam:Create") || strings.HasPrefix(a, "iam:Delete") || strings.HasPrefix(a, "iam:Update") ||
			strings.HasPrefix(a, "secretsmanager:Create") || strings.HasPrefix(a, "secretsmanager:Put") || a == "kms:Encrypt" {
			t.Errorf("the audit-only worker may %s", a)
		}
	}
	if _, ok := MemberPolicies(testDeployment(true))["keyrot-rotation"]; ok {
		t.Error("the audit-only member role has the rotation policy")
	}
}

// TestMemberTrustCentral: the member role trusts only the coordinator,
// worker and events roles, inside the organization, with the external ID.
func TestMemberTrustCentral(t *testing.T) {
	got := MemberTrustCentral(testDeployment(false))
	s := got.Statement[0]
	if len(got.Statement) != 1 || s.Principal["AWS"][0] != "arn:aws:iam::222222222222:root" {
		t.Fatalf("trust:\n%s", got.JSON())
	}
	arns := s.Condition["ArnEquals"]["aws:PrincipalArn"]
	if len(arns) != 3 || arns[0] != "arn:aws:iam::222222222222:role/keyrot-coordinator" || arns[1] != "arn:aws:iam::222222222222:role/keyrot-worker" || arns[2] != "arn:aws:iam::222222222222:role/keyrot-events" {
		t.Errorf("principal ARNs %v", arns)
	}
	if s.Condition["StringEquals"]["aws:PrincipalOrgID"][0] != "o-abcdef1234" || s.Condition["StringEquals"]["sts:ExternalId"][0] != "ext" {
		t.Errorf("conditions %v", s.Condition)
	}
}
