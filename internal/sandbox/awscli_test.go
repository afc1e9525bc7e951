package sandbox_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// awsCLIs finds the official AWS CLIs to test against: Debian's v2 at
// /usr/bin/aws and the pip v1 on PATH, each once. Without any, the test
// skips, unless KEYROT_REQUIRE_AWSCLI=1 (CI) makes that a failure.
func awsCLIs(t *testing.T) map[string]string {
	t.Helper()
	if testing.Short() && os.Getenv("KEYROT_REQUIRE_AWSCLI") != "1" {
		t.Skip("-short: the AWS CLI test takes tens of seconds; KEYROT_REQUIRE_AWSCLI=1 runs it anyway")
	}
	found := map[string]string{} // "v1"/"v2" -> path
	var cands []string
	if _, err := os.Stat("/usr/bin/aws"); err == nil {
		cands = append(cands, "/usr/bin/aws")
	}
	if p, err := exec.LookPath("aws"); err == nil {
		cands = append(cands, p)
	}
	for _, p := range cands {
		out, err := exec.Command(p, "--version").CombinedOutput()
		if err != nil {
			t.Logf("%s --version: %v: %s", p, err, out)
			continue
		}
		v := string(out)
		switch {
		case strings.HasPrefix(v, "aws-cli/2.") && found["v2"] == "":
			found["v2"] = p
		case strings.HasPrefix(v, "aws-cli/1.") && found["v1"] == "":
			found["v1"] = p
		}
		t.Logf("%s: %s", p, strings.TrimSpace(v))
	}
	if len(found) == 0 {
		if os.Getenv("KEYROT_REQUIRE_AWSCLI") == "1" {
			t.Fatal("no AWS CLI found (looked for /usr/bin/aws and aws on PATH) and KEYROT_REQUIRE_AWSCLI=1")
		}
		t.Skip("no AWS CLI found; set KEYROT_REQUIRE_AWSCLI=1 to make this a failure")
	}
	return found
}

// TestAWSCLICompatibility drives the official AWS CLI against the sandbox
// with the demo organization: a second, independent client (botocore) for
// the wire formats.
func TestAWSCLICompatibility(t *testing.T) {
	clis := awsCLIs(t)
	for _, ver := range []string{"v2", "v1"} {
		path := clis[ver]
		if path == "" {
			t.Logf("no AWS CLI %s", ver)
			continue
		}
		t.Run(ver, func(t *testing.T) {
			t.Parallel()
			testAWSCLI(t, path)
		})
	}
}

func testAWSCLI(t *testing.T, cli string) {
	env := sandboxtest.Start(t, "demo")
	dir := t.TempDir()
	cfgFile, credFile := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	for _, f := range []string{cfgFile, credFile} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	adminID, adminSecret := env.Server.AdminCredentials()
	baseEnv := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			baseEnv = append(baseEnv, kv)
		}
	}
	baseEnv = append(baseEnv,
		"HOME="+dir,
		"AWS_CONFIG_FILE="+cfgFile,
		"AWS_SHARED_CREDENTIALS_FILE="+credFile,
		"AWS_ENDPOINT_URL="+env.URL,
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_PAGER=",
		"AWS_EC2_METADATA_DISABLED=true",
	)
	// run calls the CLI with the given credentials and decodes its JSON
	// output. --endpoint-url is passed too: CLI v2 before 2.13 ignores
	// AWS_ENDPOINT_URL.
	run := func(keyID, secret, token string, args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(cli, append(args, "--endpoint-url", env.URL, "--output", "json")...)
		cmd.Env = append(append([]string{}, baseEnv...), "AWS_ACCESS_KEY_ID="+keyID, "AWS_SECRET_ACCESS_KEY="+secret)
		if token != "" {
			cmd.Env = append(cmd.Env, "AWS_SESSION_TOKEN="+token)
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("aws %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
		}
		out := map[string]any{}
		if stdout.Len() > 0 {
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, stdout.String())
			}
		}
		return out
	}
	admin := func(args ...string) map[string]any { t.Helper(); return run(adminID, adminSecret, "", args...) }
	str := func(v any) string { s, _ := v.(string); return s }
	list := func(v any) []any { l, _ := v.([]any); return l }
	obj := func(v any) map[string]any { m, _ := v.(map[string]any); return m }

	// IAM: the management account's users.
	users := list(admin("iam", "list-users")["Users"])
	names := map[string]map[string]any{}
	for _, u := range users {
		names[str(obj(u)["UserName"])] = obj(u)
	}
	if len(users) != 6 || names["alice.martin"] == nil || str(names["terraform-org"]["Path"]) != "/service/" ||
		str(names["terraform-org"]["Arn"]) != "arn:aws:iam::210987654321:user/service/terraform-org" {
		t.Fatalf("list-users: %v", users)
	}
	if _, err := time.Parse(time.RFC3339, str(names["alice.martin"]["CreateDate"])); err != nil {
		t.Errorf("CreateDate %q: %v", names["alice.martin"]["CreateDate"], err)
	}

	keys := list(admin("iam", "list-access-keys", "--user-name", "bob.nguyen")["AccessKeyMetadata"])
	if len(keys) != 2 {
		t.Fatalf("list-access-keys: %v", keys)
	}
	var oldKey string
	for _, k := range keys {
		k := obj(k)
		if str(k["Status"]) != "Active" || str(k["UserName"]) != "bob.nguyen" || !strings.HasPrefix(str(k["AccessKeyId"]), "AKIA") {
			t.Errorf("key %v", k)
		}
		if c, _ := time.Parse(time.RFC3339, str(k["CreateDate"])); time.Since(c) > 150*24*time.Hour {
			oldKey = str(k["AccessKeyId"])
		}
	}
	if oldKey == "" {
		t.Fatalf("no 200-day key among %v", keys)
	}
	lu := admin("iam", "get-access-key-last-used", "--access-key-id", oldKey)
	if str(lu["UserName"]) != "bob.nguyen" || str(obj(lu["AccessKeyLastUsed"])["ServiceName"]) != "organizations" ||
		str(obj(lu["AccessKeyLastUsed"])["Region"]) != "us-east-1" || str(obj(lu["AccessKeyLastUsed"])["LastUsedDate"]) == "" {
		t.Errorf("get-access-key-last-used: %v", lu)
	}

	if st := str(admin("iam", "generate-credential-report")["State"]); st != "STARTED" {
		t.Errorf("generate-credential-report state %q", st)
	}
	env.Server.Clock().Advance(time.Minute) // generation takes seconds of sandbox time
	if st := str(admin("iam", "generate-credential-report")["State"]); st != "COMPLETE" {
		t.Errorf("second generate-credential-report state %q", st)
	}
	rep := admin("iam", "get-credential-report")
	csv, err := base64.StdEncoding.DecodeString(str(rep["Content"]))
	if err != nil || str(rep["ReportFormat"]) != "text/csv" {
		t.Fatalf("get-credential-report: %v (%v)", rep, err)
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if !strings.HasPrefix(lines[0], "user,arn,user_creation_time,password_enabled,") || len(lines) != 1+1+6 ||
		!strings.HasPrefix(lines[1], "<root_account>,arn:aws:iam::210987654321:root,") {
		t.Errorf("credential report:\n%s", csv)
	}

	// STS: assume the member role, then use the session.
	roleARN := "arn:aws:iam::345678901234:role/OrganizationAccountAccessRole"
	creds := obj(admin("sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "keyrot-cli")["Credentials"])
	if !strings.HasPrefix(str(creds["AccessKeyId"]), "ASIA") || str(creds["SessionToken"]) == "" || str(creds["Expiration"]) == "" {
		t.Fatalf("assume-role: %v", creds)
	}
	who := run(str(creds["AccessKeyId"]), str(creds["SecretAccessKey"]), str(creds["SessionToken"]), "sts", "get-caller-identity")
	if str(who["Account"]) != "345678901234" || str(who["Arn"]) != "arn:aws:sts::345678901234:assumed-role/OrganizationAccountAccessRole/keyrot-cli" {
		t.Errorf("get-caller-identity as the role: %v", who)
	}
	prodUsers := list(run(str(creds["AccessKeyId"]), str(creds["SecretAccessKey"]), str(creds["SessionToken"]), "iam", "list-users")["Users"])
	if len(prodUsers) != 13 {
		t.Errorf("list-users in prod: %d users", len(prodUsers))
	}

	// IAM Roles Anywhere (REST-JSON): prod's two trust anchors, paged one
	// at a time by the CLI, with their PEM bundles and enabled flags.
	asProd := func(args ...string) map[string]any {
		t.Helper()
		return run(str(creds["AccessKeyId"]), str(creds["SecretAccessKey"]), str(creds["SessionToken"]), args...)
	}
	anchors := map[string]bool{}
	for _, a := range list(asProd("rolesanywhere", "list-trust-anchors", "--page-size", "1")["trustAnchors"]) {
		ta := obj(a)
		src := obj(ta["source"])
		if str(src["sourceType"]) != "CERTIFICATE_BUNDLE" || !strings.HasPrefix(str(obj(src["sourceData"])["x509CertificateData"]), "-----BEGIN CERTIFICATE-----") ||
			!strings.HasPrefix(str(ta["trustAnchorArn"]), "arn:aws:rolesanywhere:us-east-1:345678901234:trust-anchor/") || str(ta["createdAt"]) == "" {
			t.Errorf("list-trust-anchors: %v", ta)
		}
		anchors[str(ta["name"])], _ = ta["enabled"].(bool)
	}
	if len(anchors) != 2 || !anchors["onprem-batch-ca"] || anchors["dc1-retired"] {
		t.Errorf("list-trust-anchors in prod: %v (want onprem-batch-ca enabled, dc1-retired disabled)", anchors)
	}
	// Account Management's ListRegions, where the CLI knows it (CLI v2
	// before 2.13 does not): the 17 regions enabled by default.
	if exec.Command(cli, "account", "list-regions", "help").Run() == nil {
		regions := list(asProd("account", "list-regions", "--region-opt-status-contains", "ENABLED", "ENABLED_BY_DEFAULT")["Regions"])
		if len(regions) != 17 || str(obj(regions[0])["RegionOptStatus"]) != "ENABLED_BY_DEFAULT" {
			t.Errorf("list-regions: %v", regions)
		}
	}

	// Organizations.
	accts := list(admin("organizations", "list-accounts")["Accounts"])
	statuses := map[string]string{}
	for _, a := range accts {
		statuses[str(obj(a)["Name"])] = str(obj(a)["Status"])
	}
	if len(accts) != 9 || statuses["brightloop-marketing-old"] != "SUSPENDED" || statuses["brightloop-prod"] != "ACTIVE" {
		t.Errorf("list-accounts: %v", statuses)
	}

	// Secrets Manager.
	created := admin("secretsmanager", "create-secret", "--name", "keyrot/ci-deploy", "--secret-string", `{"AccessKeyId":"AKIAEXAMPLE"}`)
	if !strings.HasPrefix(str(created["ARN"]), "arn:aws:secretsmanager:us-east-1:210987654321:secret:keyrot/ci-deploy-") || str(created["VersionId"]) == "" {
		t.Errorf("create-secret: %v", created)
	}
	got := admin("secretsmanager", "get-secret-value", "--secret-id", "keyrot/ci-deploy")
	if str(got["SecretString"]) != `{"AccessKeyId":"AKIAEXAMPLE"}` || str(got["ARN"]) != str(created["ARN"]) ||
		len(list(got["VersionStages"])) != 1 || str(list(got["VersionStages"])[0]) != "AWSCURRENT" {
		t.Errorf("get-secret-value: %v", got)
	}

	// Parameter Store: a SecureString under aws/ssm, read back decrypted.
	put := admin("ssm", "put-parameter", "--name", "/keyrot/ci-deploy", "--type", "SecureString", "--value", `{"AccessKeyId":"AKIAEXAMPLE"}`)
	if v, _ := put["Version"].(float64); v != 1 || str(put["Tier"]) != "Standard" {
		t.Errorf("put-parameter: %v", put)
	}
	param := obj(admin("ssm", "get-parameter", "--name", "/keyrot/ci-deploy", "--with-decryption")["Parameter"])
	if str(param["Value"]) != `{"AccessKeyId":"AKIAEXAMPLE"}` || str(param["ARN"]) != "arn:aws:ssm:us-east-1:210987654321:parameter/keyrot/ci-deploy" {
		t.Errorf("get-parameter: %v", param)
	}

	// Lambda: a function's environment, updated guarded by its RevisionId.
	if err := env.Server.AddRole("210987654321", "app-runtime", nil, ""); err != nil {
		t.Fatal(err)
	}
	zip := filepath.Join(dir, "fn.zip")
	if err := os.WriteFile(zip, []byte("PK\x05\x06"+strings.Repeat("\x00", 18)), 0o600); err != nil {
		t.Fatal(err)
	}
	fn := admin("lambda", "create-function", "--function-name", "app-worker", "--runtime", "python3.12", "--handler", "app.handler",
		"--role", "arn:aws:iam::210987654321:role/app-runtime", "--zip-file", "fileb://"+zip)
	if str(fn["FunctionArn"]) != "arn:aws:lambda:us-east-1:210987654321:function:app-worker" || str(fn["RevisionId"]) == "" {
		t.Fatalf("create-function: %v", fn)
	}
	up := admin("lambda", "update-function-configuration", "--function-name", "app-worker", "--revision-id", str(fn["RevisionId"]),
		"--environment", `{"Variables":{"KEYROT_ACCESS_KEY_ID":"AKIAEXAMPLE"}}`)
	conf := admin("lambda", "get-function-configuration", "--function-name", "app-worker")
	if str(obj(obj(conf["Environment"])["Variables"])["KEYROT_ACCESS_KEY_ID"]) != "AKIAEXAMPLE" || str(conf["RevisionId"]) != str(up["RevisionId"]) ||
		str(up["RevisionId"]) == str(fn["RevisionId"]) {
		t.Errorf("get-function-configuration after update: %v", conf)
	}
}
