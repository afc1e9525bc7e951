package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/permissions"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// noPermissionNeeded are calls AWS authorizes without any policy.
var noPermissionNeeded = map[string]bool{"sts:GetCallerIdentity": true}

// TestPermissionsDocumented keeps keyrot's client interfaces, the policy
// documents of internal/permissions and docs/permissions.md in agreement:
// every AWS call in the interfaces keyrot's packages declare is granted by
// a document (or needs no permission) and listed on the page, every action
// a document grants is one of those calls, and the page shows each
// document as the package builds it (go test -run TestPermissionsDocumented
// -update rewrites them).
func TestPermissionsDocumented(t *testing.T) {
	path := filepath.Join(testdataAbs, "..", "..", "..", "docs", "permissions.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	calls := map[string]bool{"ses:SendEmail": true, "sns:Publish": true} // notify's unexported sesAPI and snsAPI
	for _, api := range []struct {
		service string
		typ     reflect.Type
	}{
		{"iam", reflect.TypeFor[collect.IAMAPI]()},
		{"organizations", reflect.TypeFor[collect.OrganizationsAPI]()},
		{"sts", reflect.TypeFor[awsaccess.STSAPI]()},
		{"iam", reflect.TypeFor[execute.IAM]()},
		{"iam", reflect.TypeFor[execute.ConsoleIAM]()},
		{"iam", reflect.TypeFor[execute.ServiceIAM]()},
		{"secretsmanager", reflect.TypeFor[secretstore.API]()},
		{"iam", reflect.TypeFor[collect.ServerCertAPI]()},
		{"acm", reflect.TypeFor[collect.ACMAPI]()},
		{"secretsmanager", reflect.TypeFor[collect.SecretsAPI]()},
		{"rolesanywhere", reflect.TypeFor[collect.RolesAnywhereAPI]()},
		{"account", reflect.TypeFor[collect.RegionsAPI]()},
		{"secretsmanager", reflect.TypeFor[execute.SecretRotationAPI]()},
	} {
		for i := range api.typ.NumMethod() {
			calls[api.service+":"+api.typ.Method(i).Name] = true
		}
	}
	o := permissions.Options{}
	docs := []struct {
		name string
		doc  permissions.Document
	}{
		{"management", permissions.Management(o)},
		{"member-audit", permissions.MemberAudit(o)},
		{"member-rotation", permissions.MemberRotation(permissions.Options{KMSKeyARN: "arn:aws:kms:REGION:ACCOUNT:key/KEY-ID"})},
		{"member-trust", permissions.MemberTrust(permissions.Options{ManagementAccountID: "MANAGEMENT-ACCOUNT-ID", ExternalID: "EXTERNAL-ID", OrgID: "o-ORGANIZATION-ID"})},
	}
	granted := map[string]bool{}
	for _, d := range docs {
		for _, a := range d.doc.Actions() {
			granted[a] = true
			// lambda:InvokeFunction is RotateSecret's, on the rotation function.
			if !calls[a] && !strings.HasPrefix(a, "kms:") && a != "sts:AssumeRole" && a != "lambda:InvokeFunction" {
				t.Errorf("the %s document grants %s, which no client interface of keyrot calls", d.name, a)
			}
		}
	}
	for a := range calls {
		if !strings.Contains(doc, "`"+a+"`") {
			t.Errorf("docs/permissions.md does not list %s", a)
		}
		if !granted[a] && !noPermissionNeeded[a] {
			t.Errorf("no document of internal/permissions grants %s", a)
		}
	}
	// The documents as the page shows them.
	for _, d := range docs {
		re := regexp.MustCompile("(?s)(<!-- permissions:" + d.name + " -->\n```json\n)(.*?)(\n```)")
		m := re.FindStringSubmatchIndex(doc)
		if m == nil {
			t.Errorf("docs/permissions.md has no <!-- permissions:%s --> block", d.name)
			continue
		}
		want := d.doc.JSON()
		if got := doc[m[4]:m[5]]; got != want {
			if *update {
				doc = doc[:m[4]] + want + doc[m[5]:]
				continue
			}
			t.Errorf("docs/permissions.md shows another %s document than internal/permissions builds (go test ./internal/cli -run TestPermissionsDocumented -update):\n%s", d.name, want)
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
