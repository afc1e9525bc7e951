package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// TestPermissionsDocumented: every AWS call in the interfaces keyrot's
// packages declare for their clients is listed in docs/permissions.md, so
// the page cannot fall behind the code.
func TestPermissionsDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testdataAbs, "..", "..", "..", "docs", "permissions.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, api := range []struct {
		service string
		typ     reflect.Type
	}{
		{"iam", reflect.TypeFor[collect.IAMAPI]()},
		{"organizations", reflect.TypeFor[collect.OrganizationsAPI]()},
		{"sts", reflect.TypeFor[awsaccess.STSAPI]()},
		{"iam", reflect.TypeFor[execute.IAM]()},
		{"secretsmanager", reflect.TypeFor[secretstore.API]()},
	} {
		for i := range api.typ.NumMethod() {
			action := api.service + ":" + api.typ.Method(i).Name
			if !strings.Contains(doc, "`"+action+"`") {
				t.Errorf("docs/permissions.md does not list %s (%s)", action, api.typ)
			}
		}
	}
}
