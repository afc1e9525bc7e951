package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var ignoreInternal = cmpopts.IgnoreUnexported(Policy{})

func TestDefaultValidates(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestInitParsesToDefault(t *testing.T) {
	got, err := Parse(Init(), "keyrot.yaml")
	if err != nil {
		t.Fatalf("Parse(Init()) = %v", err)
	}
	if diff := cmp.Diff(Default(), got, ignoreInternal); diff != "" {
		t.Errorf("Parse(Init()) differs from Default() (-want +got):\n%s", diff)
	}
}

func TestEmptyFileIsDefault(t *testing.T) {
	for _, data := range []string{"", "# only a comment\n", "---\n"} {
		got, err := Parse([]byte(data), "keyrot.yaml")
		if err != nil {
			t.Fatalf("Parse(%q) = %v", data, err)
		}
		if diff := cmp.Diff(Default(), got, ignoreInternal); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", data, diff)
		}
	}
}

func TestParseFull(t *testing.T) {
	p, err := Load("testdata/good/full.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	d := func(days int) Duration { return Duration(time.Duration(days) * 24 * time.Hour) }
	want := AccessKeys{RotateAfter: d(60), DeactivateAfter: d(70), DeleteAfter: d(84), UnusedAfter: d(30), MaxActiveKeys: 2, SetupGrace: Duration(12 * time.Hour)}
	if diff := cmp.Diff(want, p.AccessKeys); diff != "" {
		t.Errorf("access_keys (-want +got):\n%s", diff)
	}
	if p.Console.RequireMFA || p.Root.RequireMFA || !p.Root.ForbidAccessKeys {
		t.Errorf("booleans not decoded: console %+v root %+v", p.Console, p.Root)
	}
	if got := p.Organization.Accounts; !cmp.Equal(got, []string{"111111111111", "222222222222"}) {
		t.Errorf("accounts = %v", got)
	}
	if len(p.Exemptions) != 3 {
		t.Fatalf("got %d exemptions, want 3", len(p.Exemptions))
	}
	if got, want := p.Exemptions[0].Expires, time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("expires = %v, want %v", got, want)
	}
	if got, want := p.Exemptions[1].Expires, time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("expires = %v, want %v", got, want)
	}
	if got := p.Exemptions[1].Match.String(); got != "ou:ou-ab12-cdef3456,user:ci-*" {
		t.Errorf("match = %q", got)
	}
	ak := p.EffectiveAccessKeys(p.Exemptions[2].AccessKeys)
	if ak.RotateAfter != d(180) || ak.UnusedAfter != d(30) || !p.Exemptions[2].IsOverride() {
		t.Errorf("override = %+v", ak)
	}
	if p.Notify.Kind == 0 {
		t.Errorf("notify was not kept")
	}
	name, err := p.SecretName(SecretNameData{AccountID: "111111111111", UserName: "bob", UserPath: "/svc/"})
	if err != nil || name != "keys/111111111111/svc/bob" {
		t.Errorf("SecretName = %q, %v", name, err)
	}
	wantTA := TrustAnchors{ExpiryWarning: d(60), Regions: []string{EnabledRegions}, Exclude: []string{"lab-*"}}
	if diff := cmp.Diff(wantTA, p.TrustAnchors); diff != "" {
		t.Errorf("trust_anchors (-want +got):\n%s", diff)
	}
	if p.Source() != "testdata/good/full.yaml" {
		t.Errorf("Source() = %q", p.Source())
	}
}

func TestExemptionHelpers(t *testing.T) {
	e := Exemption{Expires: time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC), Rules: []string{RuleAccessKeyAge}}
	if e.Expired(time.Date(2027, 3, 30, 23, 59, 59, 0, time.UTC)) {
		t.Error("expired the day before")
	}
	if !e.Expired(time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)) {
		t.Error("not expired at 00:00 on the expiry date")
	}
	if !e.Covers(RuleAccessKeyAge) || e.Covers(RuleRootNoMFA) {
		t.Error("Covers does not follow Rules")
	}
	if !(Exemption{}).Covers(RuleRootNoMFA) {
		t.Error("empty Rules should cover every rule")
	}
}

// One fixture per validation rule; each message is asserted whole.
func TestBadFixtures(t *testing.T) {
	tests := map[string][]string{
		"accountkinds_bad_globs.yaml": {`3: certificates.exclude[0]: bad glob "[a"`, `5: certificates.regions[0]: must be an AWS region such as eu-west-1, or enabled (got "mars")`},
		"trust_anchors.yaml": {
			`2: trust_anchors.expiry_warning: must be more than 0 (got 0d)`,
			`3: trust_anchors.regions[0]: enabled stands for every enabled region and must be the only entry`,
			`4: trust_anchors.exclude[0]: bad glob "[x"`,
		},
		"secrets_bad_schedule.yaml":            {`3: secrets.schedules[0]: needs a name glob or a tag to match`, `5: secrets.schedules[1].rotate_every: must be whole days from 1d to 1000d (got 36h0m0s)`},
		"secrets_rotate_every.yaml":            {`2: secrets.rotate_every: must be whole days up to 1000d, as Secrets Manager schedules are (got 2000d)`, `3: secrets.unused_after: must be more than 0 (got 0d)`},
		"account_in_both.yaml":                 {"3: organization.exclude_accounts[0]: account 123456789012 is also listed in organization.accounts; list it in only one"},
		"bad_account_id.yaml":                  {`4: organization.accounts[1]: must be a 12-digit AWS account ID (got "12345"); quote it so YAML keeps leading zeros`},
		"bad_duration.yaml":                    {`2: access_keys.rotate_after: invalid duration "ninety" (write e.g. 90d or 2160h)`},
		"bad_external_id.yaml":                 {`2: organization.external_id: must be 2 to 1224 letters, digits and +=,.@:/_- (got "x")`},
		"bad_mode.yaml":                        {`2: rotation.mode: must be enforce or audit-only (got "yolo")`},
		"bad_ou.yaml":                          {`2: organization.ous[0]: must be an OU ID such as ou-ab12-cdef3456 or a root ID such as r-ab12 (got "ou-1")`},
		"bad_reader.yaml":                      {`2: rotation.readers[0]: must be an IAM principal ARN such as arn:aws:iam::123456789012:role/app (got "alice")`},
		"bad_role_name.yaml":                   {`2: organization.role_name: must be an IAM role name: 1 to 64 letters, digits and +=,.@_- (got "my role")`},
		"bad_store.yaml":                       {`2: rotation.store: must be account or central (got "s3")`},
		"bad_version.yaml":                     {`1: version: must be 1 (got 2)`},
		"central_no_kms.yaml":                  {`2: rotation.kms_key_id: is required when store is central: secrets read from another account must be encrypted with a customer managed KMS key, not aws/secretsmanager (give its ARN, and grant the owners kms:Decrypt in its key policy)`},
		"central_missing.yaml":                 {`2: rotation.central.account: must be the 12-digit account ID that holds the secrets when store is central (got "")`, `2: rotation.central.region: must be an AWS region such as us-east-1 when store is central (got "")`},
		"concurrency.yaml":                     {`2: organization.concurrency: must be between 1 and 64 (got 100)`},
		"console_unused_zero.yaml":             {`2: console.unused_after: must be more than 0 (got 0d); CIS recommends 45d`},
		"console_disable_order.yaml":           {`3: console.disable_after: must be more than console.unused_after, to leave the owner a notice period (got 60d <= 90d)`},
		"deactivate_not_before_delete.yaml":    {`2: access_keys.deactivate_after: must be less than delete_after (got 100d >= 100d)`},
		"duplicate_key.yaml":                   {`3: access_keys.rotate_after: duplicate key "rotate_after": it is also on line 2, and only one value can be kept; remove one`},
		"exempt_tag_reserved.yaml":             {`1: exempt_tag: must not start with aws: (reserved by AWS)`},
		"service_credentials_order.yaml":       {`2: service_credentials.rotate_after: must be less than deactivate_after (got 120d >= 100d)`},
		"passwords_out_of_range.yaml":          {`2: passwords.minimum_length: must be between 6 and 128, what IAM allows (got 4); CIS recommends 14`, `3: passwords.reuse_prevention: must be between 0 and 24, what IAM allows (got 30); CIS recommends 24`},
		"ssh_keys_delete_before_rotate.yaml":   {`3: ssh_keys.delete_after: must be more than rotate_after (got 30d <= 90d)`},
		"exemption_bad_account.yaml":           {`2: exemptions[0].match.account: must be a 12-digit AWS account ID (got "12345678901"); quote it so YAML keeps leading zeros`},
		"exemption_bad_date.yaml":              {`4: exemptions[0].expires: must be a date such as 2027-03-31 (got "next spring")`},
		"exemption_bad_glob.yaml":              {`2: exemptions[0].match.user: is not a valid name or glob pattern (got "ci-[")`},
		"exemption_bad_ou.yaml":                {`2: exemptions[0].match.ou: must be an OU ID such as ou-ab12-cdef3456 or a root ID such as r-ab12 (got "engineering")`},
		"exemption_bad_path_prefix.yaml":       {`2: exemptions[0].match.path_prefix: must start with / like IAM paths, e.g. /service/ (got "service/")`},
		"exemption_bad_tag.yaml":               {`2: exemptions[0].match.tag: must be "key" or "key=value" with a valid IAM tag key (got "=prod")`},
		"exemption_no_expires.yaml":            {`2: exemptions[0].expires: is required: give the date from which the exemption stops applying, e.g. 2027-03-31`},
		"exemption_no_match.yaml":              {`2: exemptions[0].match: must say what the exemption covers: set at least one of account, ou, user, path_prefix, group or tag`},
		"exemption_no_reason.yaml":             {`2: exemptions[0].reason: is required: say why the exemption exists, e.g. a ticket number`},
		"exemption_override_inconsistent.yaml": {`5: exemptions[0].access_keys.rotate_after: must be less than deactivate_after (got 180d >= 100d)`},
		"exemption_rules_and_override.yaml":    {`5: exemptions[0].rules: cannot be combined with access_keys: an exemption either exempts from rules or changes the schedule; split it in two`},
		"exemption_unknown_match_key.yaml":     {`2: exemptions[0].match.username: unknown key "username" in exemptions[0].match (known keys: account, group, ou, path_prefix, tag, user)`},
		"exemption_unknown_rule.yaml":          {`5: exemptions[0].rules[1]: unknown rule "key-too-old" (known rules: ` + strings.Join(KnownRules(), ", ") + ")"},
		"invalid_yaml.yaml":                    {`3: invalid YAML: mapping values are not allowed in this context`},
		"many_problems.yaml": {
			`3: access_keys.rotate_after: must be less than deactivate_after (got 120d >= 100d)`,
			`4: access_keys.max_active_keys: must be 1 or 2, IAM allows at most two keys per user (got 3)`,
			`5: access_keys.colour: unknown key "colour" in access_keys (known keys: deactivate_after, delete_after, max_active_keys, rotate_after, setup_grace, unused_after)`,
			`7: organization.concurrency: must be between 1 and 64 (got 0)`,
			`9: exemptions[0].expires: is required: give the date from which the exemption stops applying, e.g. 2027-03-31`,
			`9: exemptions[0].reason: is required: say why the exemption exists, e.g. a ticket number`,
		},
		"max_active_keys.yaml":              {`2: access_keys.max_active_keys: must be 1 or 2, IAM allows at most two keys per user (got 3)`},
		"max_changes.yaml":                  {`2: rotation.max_changes: must be at least 2: one user's rotation can be two changes, delete then create (got 0)`},
		"max_changes_per_account.yaml":      {`3: rotation.max_changes_per_account: must not be more than max_changes (got 10 > 5)`},
		"not_a_mapping.yaml":                {`1: must be a mapping of keys to values (got a list)`},
		"rotate_not_before_deactivate.yaml": {`3: access_keys.rotate_after: must be less than deactivate_after (got 120d >= 100d)`},
		"secret_name_chars.yaml":            {`2: rotation.secret_name: renders "keyrot 111111111111 alice", which is not a valid Secrets Manager name (1 to 512 letters, digits and /_+=.@-)`},
		"secret_name_field.yaml":            {`2: rotation.secret_name: is not a valid template: there is no field .Account; fields are .AccountID, .AccountName, .UserName, .UserPath`},
		"secret_name_no_account.yaml":       {`2: rotation.secret_name: gives users of the same name in different accounts the same secret ("keyrot/alice"); include {{.AccountID}}`},
		"secret_name_shared.yaml":           {`2: rotation.secret_name: gives every user the same secret ("keyrot/all"); include {{.UserName}} and {{.AccountID}}`},
		"secret_name_syntax.yaml":           {`2: rotation.secret_name: is not a valid template: unclosed action; fields are .AccountID, .AccountName, .UserName, .UserPath`},
		"setup_grace.yaml":                  {`2: access_keys.setup_grace: must be less than rotate_after (got 90d >= 90d)`},
		"unknown_key.yaml":                  {`2: access_keys.rotate_afer: unknown key "rotate_afer" in access_keys; did you mean "rotate_after"? (known keys: deactivate_after, delete_after, max_active_keys, rotate_after, setup_grace, unused_after)`},
		"unknown_top_key.yaml":              {`2: policy: unknown key "policy" in top level (known keys: access_keys, certificates, console, deliver, exempt_tag, exemptions, history, notify, organization, passwords, root, rotation, secrets, serve, server_certificates, service_credentials, signing_certificates, ssh_keys, trust_anchors, version)`},
		"unused_zero.yaml":                  {`2: access_keys.unused_after: must be more than 0 (got 0d); CIS recommends 45d`},
		"wrong_type_bool.yaml":              {`2: root.require_mfa: must be true or false (got "yes please")`},
		"wrong_type_int.yaml":               {`2: access_keys.max_active_keys: must be a whole number (got "one")`},
		"wrong_type_list.yaml":              {`2: organization.accounts: must be a list (got "123456789012"); write [] for an empty list`},
		"wrong_type_mapping.yaml":           {`1: console: must be a mapping of keys to values (got "true")`},
	}
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("%d fixtures in testdata/bad but %d table entries: every fixture needs its expected messages", len(files), len(tests))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			want, ok := tests[name]
			if !ok {
				t.Fatalf("no expected messages for %s", name)
			}
			p, err := Load(f)
			if err == nil {
				t.Fatalf("Load(%s) succeeded: %+v", name, p)
			}
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("error is %T, want Problems: %v", err, err)
			}
			var got []string
			for _, pr := range probs {
				got = append(got, pr.String())
			}
			for i := range want {
				want[i] = f + ":" + want[i]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGoodFixturesParse(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.yaml")
	if len(files) == 0 {
		t.Fatal("no good fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			p, err := Load(f)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("Validate after Load: %v", err)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want ErrNotExist", err)
	}
}

func TestValidateProblemWithoutLine(t *testing.T) {
	p := Default()
	p.AccessKeys.MaxActiveKeys = 5
	err := p.Validate()
	want := "keyrot.yaml: access_keys.max_active_keys: must be 1 or 2, IAM allows at most two keys per user (got 5)"
	if err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v, want %s", err, want)
	}
}

func TestWriteInit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyrot.yaml")
	if err := WriteInit(path, false); err != nil {
		t.Fatalf("WriteInit: %v", err)
	}
	if err := WriteInit(path, false); !errors.Is(err, ErrExists) {
		t.Fatalf("second WriteInit = %v, want ErrExists", err)
	}
	if err := os.WriteFile(path, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteInit(path, true); err != nil {
		t.Fatalf("WriteInit(force): %v", err)
	}
	if _, err := Load(path); err != nil {
		t.Fatalf("Load(written default): %v", err)
	}
}
