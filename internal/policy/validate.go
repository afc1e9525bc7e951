package policy

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/keyrot/keyrot/internal/yamlconf"
)

// Problem is one defect in a policy file. It is yamlconf's, so that the
// problems of every part of keyrot.yaml print and sort alike.
type Problem = yamlconf.Problem

// Problems is every defect found in a policy; it is the error Parse and
// Validate return.
type Problems = yamlconf.Problems

var (
	accountIDRE = regexp.MustCompile(`^\d{12}$`)
	ouIDRE      = regexp.MustCompile(`^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$`)
	roleNameRE  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	externalRE  = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
	tagKeyRE    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	regionRE    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	secretRE    = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)
	badFieldRE  = regexp.MustCompile(`can't evaluate field (\w+)`)
	tmplErrRE   = regexp.MustCompile(`secret_name:\d+(?::\d+)?:\s*(.*)$`)
	principalRE = regexp.MustCompile(`^arn:aws(-[a-z]+)*:(iam|sts)::\d{12}:.+$`)
)

type validator struct {
	p     *Policy
	probs Problems
}

// line returns the line of the first of paths present in the file.
func (v *validator) line(paths ...string) int {
	for _, p := range paths {
		if l, ok := v.p.lines[p]; ok {
			return l
		}
	}
	return 0
}

func (v *validator) add(path, format string, args ...any) {
	v.addAt(v.line(path), path, format, args...)
}

func (v *validator) addAt(line int, path, format string, args ...any) {
	if v.p.decodeProbs.Covers(path) {
		return // the decoder already said what is wrong with this value
	}
	v.probs = append(v.probs, Problem{File: v.p.source, Line: line, Path: path, Message: fmt.Sprintf(format, args...)})
}

// Validate checks the policy's values and their consistency and returns
// Problems listing every defect, or nil. It does not look at the notify
// section.
func (p *Policy) Validate() error {
	if p.lines == nil {
		p.lines = yamlconf.Lines{}
	}
	if p.source == "" {
		p.source = DefaultFile
	}
	v := &validator{p: p}
	if p.Version != 1 {
		v.add("version", "must be 1 (got %d)", p.Version)
	}
	v.organization()
	v.accessKeys("access_keys", p.AccessKeys)
	if p.Console.UnusedAfter <= 0 {
		v.add("console.unused_after", "must be more than 0 (got %s); CIS recommends 45d", p.Console.UnusedAfter)
	}
	if p.Console.DisableUnused && p.Console.DisableAfter <= p.Console.UnusedAfter {
		v.addAt(v.line("console.disable_after", "console.unused_after", "console.disable_unused"), "console.disable_after", "must be more than console.unused_after, to leave the owner a notice period (got %s <= %s)", p.Console.DisableAfter, p.Console.UnusedAfter)
	}
	if p.ExemptTag != "" {
		if !IsTagKey(p.ExemptTag) {
			v.add("exempt_tag", "must be an IAM tag key: 1 to 128 letters, digits, spaces and _.:/=+-@ (got %q)", p.ExemptTag)
		} else if strings.HasPrefix(strings.ToLower(p.ExemptTag), "aws:") {
			v.add("exempt_tag", "must not start with aws: (reserved by AWS)")
		}
	}
	for i, e := range p.Exemptions {
		v.exemption(fmt.Sprintf("exemptions[%d]", i), e)
	}
	v.rotation()
	v.iamKinds()
	v.accountKinds()
	if len(v.probs) == 0 {
		return nil
	}
	v.probs.Sort()
	return v.probs
}

func (v *validator) accountList(path string, ids []string) {
	for i, id := range ids {
		if !accountIDRE.MatchString(id) {
			v.add(fmt.Sprintf("%s[%d]", path, i), "must be a 12-digit AWS account ID (got %q); quote it so YAML keeps leading zeros", id)
		}
	}
}

func (v *validator) organization() {
	o := v.p.Organization
	if !roleNameRE.MatchString(o.RoleName) {
		v.add("organization.role_name", "must be an IAM role name: 1 to 64 letters, digits and +=,.@_- (got %q)", o.RoleName)
	}
	if o.ExternalID != "" && (!externalRE.MatchString(o.ExternalID) || len(o.ExternalID) < 2 || len(o.ExternalID) > 1224) {
		v.add("organization.external_id", "must be 2 to 1224 letters, digits and +=,.@:/_- (got %q)", o.ExternalID)
	}
	v.accountList("organization.accounts", o.Accounts)
	v.accountList("organization.exclude_accounts", o.ExcludeAccounts)
	for i, id := range o.ExcludeAccounts {
		for _, in := range o.Accounts {
			if id == in && id != "" {
				v.add(fmt.Sprintf("organization.exclude_accounts[%d]", i), "account %s is also listed in organization.accounts; list it in only one", id)
			}
		}
	}
	for i, ou := range o.OUs {
		if !ouIDRE.MatchString(ou) {
			v.add(fmt.Sprintf("organization.ous[%d]", i), "must be an OU ID such as ou-ab12-cdef3456 or a root ID such as r-ab12 (got %q)", ou)
		}
	}
	if o.Concurrency < 1 || o.Concurrency > 64 {
		v.add("organization.concurrency", "must be between 1 and 64 (got %d)", o.Concurrency)
	}
}

// accessKeys checks one set of thresholds; prefix is where they live.
func (v *validator) accessKeys(prefix string, k AccessKeys) {
	f := func(name string) string { return prefix + "." + name }
	if k.RotateAfter <= 0 {
		v.add(f("rotate_after"), "must be more than 0 (got %s); CIS recommends 90d", k.RotateAfter)
	}
	if k.RotateAfter >= k.DeactivateAfter {
		l := v.line(f("rotate_after"), f("deactivate_after"), prefix)
		v.addAt(l, f("rotate_after"), "must be less than deactivate_after (got %s >= %s)", k.RotateAfter, k.DeactivateAfter)
	}
	if k.DeactivateAfter >= k.DeleteAfter {
		l := v.line(f("deactivate_after"), f("delete_after"), prefix)
		v.addAt(l, f("deactivate_after"), "must be less than delete_after (got %s >= %s)", k.DeactivateAfter, k.DeleteAfter)
	}
	if k.UnusedAfter <= 0 {
		v.add(f("unused_after"), "must be more than 0 (got %s); CIS recommends 45d", k.UnusedAfter)
	}
	if k.MaxActiveKeys < 1 || k.MaxActiveKeys > 2 {
		v.add(f("max_active_keys"), "must be 1 or 2, IAM allows at most two keys per user (got %d)", k.MaxActiveKeys)
	}
	if k.SetupGrace >= k.RotateAfter && k.RotateAfter > 0 {
		v.add(f("setup_grace"), "must be less than rotate_after (got %s >= %s)", k.SetupGrace, k.RotateAfter)
	}
}

func (v *validator) exemption(prefix string, e Exemption) {
	f := func(name string) string { return prefix + "." + name }
	m := e.Match
	if m.Empty() {
		v.addAt(v.line(f("match"), prefix), f("match"), "must say what the exemption covers: set at least one of account, ou, user, path_prefix, group or tag")
	}
	if m.Account != "" && !accountIDRE.MatchString(m.Account) {
		v.add(f("match.account"), "must be a 12-digit AWS account ID (got %q); quote it so YAML keeps leading zeros", m.Account)
	}
	if m.OU != "" && !ouIDRE.MatchString(m.OU) {
		v.add(f("match.ou"), "must be an OU ID such as ou-ab12-cdef3456 or a root ID such as r-ab12 (got %q)", m.OU)
	}
	if m.User != "" {
		if _, err := path.Match(m.User, ""); err != nil {
			v.add(f("match.user"), "is not a valid name or glob pattern (got %q)", m.User)
		}
	}
	if m.PathPrefix != "" && !strings.HasPrefix(m.PathPrefix, "/") {
		v.add(f("match.path_prefix"), "must start with / like IAM paths, e.g. /service/ (got %q)", m.PathPrefix)
	}
	if m.Tag != "" {
		if k, _, _ := strings.Cut(m.Tag, "="); !IsTagKey(k) {
			v.add(f("match.tag"), "must be \"key\" or \"key=value\" with a valid IAM tag key (got %q)", m.Tag)
		}
	}
	if strings.TrimSpace(e.Reason) == "" {
		v.addAt(v.line(f("reason"), prefix), f("reason"), "is required: say why the exemption exists, e.g. a ticket number")
	}
	if e.Expires.IsZero() {
		v.addAt(v.line(f("expires"), prefix), f("expires"), "is required: give the date from which the exemption stops applying, e.g. 2027-03-31")
	}
	for j, r := range e.Rules {
		if !IsKnownRule(r) {
			v.add(fmt.Sprintf("%s[%d]", f("rules"), j), "unknown rule %q (known rules: %s)", r, strings.Join(KnownRules(), ", "))
		}
	}
	if e.AccessKeys != nil {
		if len(e.Rules) > 0 {
			v.addAt(v.line(f("rules"), prefix), f("rules"), "cannot be combined with access_keys: an exemption either exempts from rules or changes the schedule; split it in two")
		}
		v.accessKeys(f("access_keys"), e.AccessKeys.Apply(v.p.AccessKeys))
	}
}

func (v *validator) rotation() {
	r := v.p.Rotation
	switch r.Mode {
	case ModeEnforce, ModeAuditOnly:
	default:
		v.add("rotation.mode", "must be %s or %s (got %q)", ModeEnforce, ModeAuditOnly, r.Mode)
	}
	switch r.Store {
	case StoreAccount:
	case StoreCentral:
		if !accountIDRE.MatchString(r.Central.Account) {
			v.addAt(v.line("rotation.central.account", "rotation.central", "rotation.store"), "rotation.central.account",
				"must be the 12-digit account ID that holds the secrets when store is central (got %q)", r.Central.Account)
		}
		if !regionRE.MatchString(r.Central.Region) {
			v.addAt(v.line("rotation.central.region", "rotation.central", "rotation.store"), "rotation.central.region",
				"must be an AWS region such as us-east-1 when store is central (got %q)", r.Central.Region)
		}
		// Owners read their secret from another account, which AWS allows
		// only for secrets encrypted with a customer managed KMS key.
		if r.KMSKeyID == "" {
			v.addAt(v.line("rotation.kms_key_id", "rotation.store"), "rotation.kms_key_id",
				"is required when store is central: secrets read from another account must be encrypted with a customer managed KMS key, not aws/secretsmanager (give its ARN, and grant the owners kms:Decrypt in its key policy)")
		}
	default:
		v.add("rotation.store", "must be %s or %s (got %q)", StoreAccount, StoreCentral, r.Store)
	}
	v.secretName(r)
	for i, a := range r.Readers {
		if !principalRE.MatchString(a) {
			v.add(fmt.Sprintf("rotation.readers[%d]", i), "must be an IAM principal ARN such as arn:aws:iam::123456789012:role/app (got %q)", a)
		}
	}
	// A user's changes are kept or held back together, and a rotation that
	// must make room first is two changes: a smaller limit would hold such
	// a user back on every run.
	if r.MaxChanges < 2 {
		v.add("rotation.max_changes", "must be at least 2: one user's rotation can be two changes, delete then create (got %d)", r.MaxChanges)
	}
	if r.MaxChangesPerAccount < 2 {
		v.add("rotation.max_changes_per_account", "must be at least 2: one user's rotation can be two changes, delete then create (got %d)", r.MaxChangesPerAccount)
	} else if r.MaxChanges >= 2 && r.MaxChangesPerAccount > r.MaxChanges {
		v.add("rotation.max_changes_per_account", "must not be more than max_changes (got %d > %d)", r.MaxChangesPerAccount, r.MaxChanges)
	}
}

// SecretName renders the rotation.secret_name template for one user.
func (p *Policy) SecretName(d SecretNameData) (string, error) {
	t, err := template.New("secret_name").Option("missingkey=error").Parse(p.Rotation.SecretName)
	if err != nil {
		return "", fmt.Errorf("parse secret_name: %w", err)
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("render secret_name: %w", err)
	}
	return b.String(), nil
}

func (v *validator) secretName(r Rotation) {
	const path = "rotation.secret_name"
	if r.SecretName == "" {
		v.add(path, "must not be empty; e.g. keyrot/{{.AccountID}}/{{.UserName}}")
		return
	}
	a := SecretNameData{AccountID: "111111111111", AccountName: "alpha", UserName: "alice", UserPath: "/"}
	b := SecretNameData{AccountID: "222222222222", AccountName: "beta", UserName: "bob", UserPath: "/svc/"}
	na, err := v.p.SecretName(a)
	if err != nil {
		msg := err.Error()
		if m := badFieldRE.FindStringSubmatch(msg); m != nil {
			msg = "there is no field ." + m[1]
		} else if m := tmplErrRE.FindStringSubmatch(msg); m != nil {
			msg = m[1]
		}
		v.add(path, "is not a valid template: %s; fields are .AccountID, .AccountName, .UserName, .UserPath", msg)
		return
	}
	nb, _ := v.p.SecretName(b)
	if !secretRE.MatchString(na) {
		v.add(path, "renders %q, which is not a valid Secrets Manager name (1 to 512 letters, digits and /_+=.@-)", na)
	}
	sameUser := SecretNameData{AccountID: b.AccountID, AccountName: b.AccountName, UserName: a.UserName, UserPath: a.UserPath}
	ns, _ := v.p.SecretName(sameUser)
	switch {
	case na == nb:
		v.add(path, "gives every user the same secret (%q); include {{.UserName}} and {{.AccountID}}", na)
	case na == ns:
		v.add(path, "gives users of the same name in different accounts the same secret (%q); include {{.AccountID}}", na)
	}
}

// IsTagKey reports whether k is a valid IAM tag key: 1 to 128 letters,
// digits, spaces and _.:/=+-@. (The length is counted apart from the
// pattern: a counted repetition of Unicode classes compiles to a program
// of megabytes.)
func IsTagKey(k string) bool {
	return utf8.RuneCountInString(k) <= 128 && tagKeyRE.MatchString(k)
}
