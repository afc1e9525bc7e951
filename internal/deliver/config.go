package deliver

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
	"github.com/keyrot/keyrot/internal/secretstore"
	"github.com/keyrot/keyrot/internal/yamlconf"
)

// DefaultUserTag is the IAM user tag read for destinations when the deliver
// section names none. Its value is one or more references separated by
// spaces (AWS tag values cannot hold commas).
const DefaultUserTag = "keyrot:deliver"

// Config is the deliver section of keyrot.yaml: how to reach each kind of
// destination, and which users deliver where.
type Config struct {
	// UserTag names the IAM user tag whose value lists a user's own
	// destinations; "" reads no tag.
	UserTag string
	GitHub  Provider
	Vault   Provider
	GitLab  Provider
	Profile Provider
	// SSM and Lambda are reached with keyrot's own AWS access (the role it
	// assumes in the destination's account); they take no token.
	SSM    Provider
	Lambda Provider
	// Rules declare destinations for the users they match.
	Rules []Rule
}

// Provider is how keyrot reaches one kind of destination. URL is the API
// (GitHub Enterprise's /api/v3/ URL, Vault's address, GitLab's URL; empty
// for the public service); Token is where the token comes from; File is
// the shared credentials file (profile destinations); KMSKeyID is the KMS
// key SSM parameters are encrypted with (key ID, key ARN, alias name or
// alias ARN; "" for the account's aws/ssm key).
type Provider struct {
	URL         string `yaml:"url"`
	Namespace   string `yaml:"namespace"`
	File        string `yaml:"file"`
	TokenEnv    string `yaml:"token_env"`
	TokenSecret string `yaml:"token_secret"`
	KMSKeyID    string `yaml:"kms_key_id"`
}

// Token returns where the provider's token comes from.
func (p Provider) Token() Credential { return Credential{Env: p.TokenEnv, Secret: p.TokenSecret} }

// Credential says where a destination's token comes from: an environment
// variable, or a Secrets Manager secret (its ARN). The token itself is
// never written in keyrot.yaml.
type Credential struct {
	Env    string
	Secret string
}

// String describes the source without the token: "env GITHUB_TOKEN".
func (c Credential) String() string {
	switch {
	case c.Secret != "":
		return "secret " + c.Secret
	case c.Env != "":
		return "env " + c.Env
	}
	return "none"
}

// SecretSource reads a secret's current value by ARN (Secrets Manager's
// GetSecretValue); the composition root provides it.
type SecretSource interface {
	SecretString(ctx context.Context, arn string) (secretstore.Secret, error)
}

// Resolve reads the token: from the secret when one is named, else from
// the environment through getenv. A missing or empty token is an error
// wrapping ErrUnauthorized that names the source, never a value.
func (c Credential) Resolve(ctx context.Context, getenv func(string) string, secrets SecretSource) (secretstore.Secret, error) {
	switch {
	case c.Secret != "":
		if secrets == nil {
			return secretstore.Secret{}, fmt.Errorf("token from %s: no secret reader configured: %w", c, ErrUnauthorized)
		}
		s, err := secrets.SecretString(ctx, c.Secret)
		if err != nil {
			return secretstore.Secret{}, fmt.Errorf("token from %s: %w", c, err)
		}
		if s.Empty() {
			return secretstore.Secret{}, fmt.Errorf("token from %s is empty: %w", c, ErrUnauthorized)
		}
		return s, nil
	case c.Env != "":
		v := getenv(c.Env)
		if v == "" {
			return secretstore.Secret{}, fmt.Errorf("token from %s: the variable is not set: %w", c, ErrUnauthorized)
		}
		return secretstore.NewSecret(v), nil
	}
	return secretstore.Secret{}, fmt.Errorf("no token configured (give token_env or token_secret): %w", ErrUnauthorized)
}

// Rule declares destinations for the users it matches. Every criterion
// given must match: Accounts (account IDs), Users (user names) and
// PathPrefix (the IAM path starts with it). TokenEnv or TokenSecret, when
// set, replace the provider's token for these destinations.
type Rule struct {
	To          []string `yaml:"to"`
	Accounts    []string `yaml:"accounts"`
	Users       []string `yaml:"users"`
	PathPrefix  string   `yaml:"path_prefix"`
	TokenEnv    string   `yaml:"token_env"`
	TokenSecret string   `yaml:"token_secret"`
	// Kubernetes applies to the rule's kubernetes destinations.
	Kubernetes KubeOptions `yaml:"kubernetes"`

	refs []Ref
	line int
}

// UnknownKey explains a key that names no field of a rule or provider:
// a secret written in the file.
func (r *Rule) UnknownKey(key string) string { return unknownSecretKey(key) }

// UnknownKey explains a key that names no provider field.
func (p *Provider) UnknownKey(key string) string { return unknownSecretKey(key) }

func unknownSecretKey(key string) string {
	switch key {
	case "token", "password", "secret", "secret_id", "role_id":
		return "secrets must not be written in keyrot.yaml: put the token in an environment variable and name it in token_env, or in Secrets Manager and give its ARN in token_secret"
	}
	return ""
}

// KubeOptions are a rule's settings for its Kubernetes Secret
// destinations. Credentials are never among them: a Kubernetes
// destination authenticates with the kubeconfig context its reference
// names (KUBECONFIG, else ~/.kube/config) or the pod's service account.
type KubeOptions struct {
	// CreateSecret creates the Secret when it does not exist; by default
	// it must exist, so that RBAC can name it.
	CreateSecret bool `yaml:"create_secret"`
	// RestartDeployments are Deployments in the Secret's namespace
	// restarted (as kubectl rollout restart does) once the Secret holds a
	// new key.
	RestartDeployments []string `yaml:"restart_deployments"`
}

// Target is one destination resolved for a user: where, and with which
// provider settings and token. Open (in the composition root) turns it
// into a Destination.
type Target struct {
	Ref      Ref
	Provider Provider
	// Kube holds the settings of a Kubernetes destination, from the rule
	// that declared it (none for a user tag).
	Kube KubeOptions
	// From says where the destination was declared: "rule at line 12" or
	// "tag keyrot:deliver".
	From string
}

// section is the deliver section as written.
type section struct {
	UserTag      *string  `yaml:"user_tag"`
	GitHub       Provider `yaml:"github"`
	Vault        Provider `yaml:"vault"`
	GitLab       Provider `yaml:"gitlab"`
	Profile      Provider `yaml:"profile"`
	SSM          Provider `yaml:"ssm"`
	Lambda       Provider `yaml:"lambda"`
	Destinations []Rule   `yaml:"destinations"`
}

// DefaultConfig is the deliver section's defaults: the keyrot:deliver tag,
// tokens from GITHUB_TOKEN, VAULT_TOKEN and GITLAB_TOKEN, Vault's address
// from VAULT_ADDR at open time, no rules.
func DefaultConfig() *Config {
	return &Config{
		UserTag: DefaultUserTag,
		GitHub:  Provider{TokenEnv: "GITHUB_TOKEN"},
		Vault:   Provider{TokenEnv: "VAULT_TOKEN"},
		GitLab:  Provider{TokenEnv: "GITLAB_TOKEN"},
	}
}

var (
	envNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	secretARNRE = regexp.MustCompile(`^arn:aws(-[a-z]+)*:secretsmanager:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$`)
	accountRE   = regexp.MustCompile(`^\d{12}$`)
	// kmsKeyIDRE is the pattern of Parameter Store's KeyId.
	kmsKeyIDRE = regexp.MustCompile(`^[a-zA-Z0-9:/_-]{1,256}$`)
)

// DecodeConfig decodes n, the deliver section of keyrot.yaml (nil for the
// defaults), strictly on top of DefaultConfig and checks it. path is the
// section's key path ("deliver"); file names the source in problems. The
// configuration is only to be used when there are no problems.
func DecodeConfig(file string, n *yaml.Node, path string) (*Config, yamlconf.Problems) {
	def := DefaultConfig()
	s := section{GitHub: def.GitHub, Vault: def.Vault, GitLab: def.GitLab}
	d := yamlconf.NewDecoder(file)
	if n != nil && n.Kind != 0 {
		d.Decode(n, &s, path)
	}
	ck := d.Checker()
	add := ck.Addf
	key := func(parts ...string) string {
		p := path
		for _, k := range parts {
			p = yamlconf.Join(p, k)
		}
		return p
	}
	// A token_secret written alone replaces the default token_env.
	for name, p := range map[string]*Provider{KindGitHub: &s.GitHub, KindVault: &s.Vault, KindGitLab: &s.GitLab} {
		_, env := d.Lines[key(name, "token_env")]
		if _, sec := d.Lines[key(name, "token_secret")]; sec && !env {
			p.TokenEnv = ""
		}
	}
	c := &Config{UserTag: def.UserTag, GitHub: s.GitHub, Vault: s.Vault, GitLab: s.GitLab, Profile: s.Profile, SSM: s.SSM, Lambda: s.Lambda}
	if s.UserTag != nil {
		c.UserTag = *s.UserTag
		if c.UserTag != "" && !policy.IsTagKey(c.UserTag) {
			add(key("user_tag"), key("user_tag"), "is not an IAM tag key (got %q)", c.UserTag)
		}
	}
	cred := func(at string, cr Credential) {
		if cr.Env != "" && cr.Secret != "" {
			add(yamlconf.Join(at, "token_secret"), yamlconf.Join(at, "token_secret"), "give token_env or token_secret, not both")
		}
		if cr.Env != "" && !envNameRE.MatchString(cr.Env) {
			add(yamlconf.Join(at, "token_env"), yamlconf.Join(at, "token_env"), "must be the name of an environment variable, such as GITHUB_TOKEN (got %q)", cr.Env)
		}
		if cr.Secret != "" && !secretARNRE.MatchString(cr.Secret) {
			add(yamlconf.Join(at, "token_secret"), yamlconf.Join(at, "token_secret"), "must be a Secrets Manager secret ARN such as arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/github-AbCdEf (got %q)", cr.Secret)
		}
	}
	for _, pv := range []struct {
		name string
		p    *Provider
	}{{KindGitHub, &c.GitHub}, {KindVault, &c.Vault}, {KindGitLab, &c.GitLab}, {KindProfile, &c.Profile}, {KindSSM, &c.SSM}, {KindLambda, &c.Lambda}} {
		at := key(pv.name)
		cred(at, pv.p.Token())
		if pv.p.URL != "" {
			if u, err := url.Parse(pv.p.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				add(yamlconf.Join(at, "url"), yamlconf.Join(at, "url"), "must be an http(s) URL such as https://vault.example.com:8200 (got %q)", pv.p.URL)
			}
		}
		if pv.p.Namespace != "" && pv.name != KindVault {
			add(yamlconf.Join(at, "namespace"), yamlconf.Join(at, "namespace"), "applies to vault only")
		}
		if pv.p.File != "" && pv.name != KindProfile {
			add(yamlconf.Join(at, "file"), yamlconf.Join(at, "file"), "applies to profile only")
		}
		if pv.name == KindProfile && (pv.p.URL != "" || pv.p.Token() != (Credential{})) {
			add(at, at, "a profile destination has only a file")
		}
		if pv.p.KMSKeyID != "" && pv.name != KindSSM {
			add(yamlconf.Join(at, "kms_key_id"), yamlconf.Join(at, "kms_key_id"), "applies to ssm only")
		}
		if pv.p.KMSKeyID != "" && !kmsKeyIDRE.MatchString(pv.p.KMSKeyID) {
			add(yamlconf.Join(at, "kms_key_id"), yamlconf.Join(at, "kms_key_id"), "must be a KMS key ID, key ARN, alias name or alias ARN such as alias/keyrot (got %q)", pv.p.KMSKeyID)
		}
		if IsAWS(pv.name) && (pv.p.URL != "" || pv.p.Token() != (Credential{})) {
			add(at, at, "an %s destination is reached with keyrot's own AWS credentials (the role it assumes in the destination's account) and takes no url or token", pv.name)
		}
	}
	for i := range s.Destinations {
		r := s.Destinations[i]
		at := yamlconf.Index(key("destinations"), i)
		if d.Problems.Covers(at) {
			continue
		}
		r.line = d.Lines[at]
		if len(r.To) == 0 {
			add(at, yamlconf.Join(at, "to"), "is required: one or more destinations such as github:org/repo/AWS_ACCESS_KEY_ID")
		}
		for j, t := range r.To {
			ref, err := ParseRef(t)
			if err != nil {
				p := yamlconf.Index(yamlconf.Join(at, "to"), j)
				add(p, p, "%v", err)
				continue
			}
			r.refs = append(r.refs, ref)
		}
		if len(r.Accounts) == 0 && len(r.Users) == 0 && r.PathPrefix == "" {
			add(at, at, "must match users: give accounts, users or path_prefix (or tag the users with %s)", c.UserTag)
		}
		for j, a := range r.Accounts {
			if !accountRE.MatchString(a) {
				p := yamlconf.Index(yamlconf.Join(at, "accounts"), j)
				add(p, p, "must be a 12-digit account ID (got %q)", a)
			}
		}
		if r.PathPrefix != "" && !strings.HasPrefix(r.PathPrefix, "/") {
			add(yamlconf.Join(at, "path_prefix"), yamlconf.Join(at, "path_prefix"), "must start with / like IAM paths (got %q)", r.PathPrefix)
		}
		cred(at, Credential{Env: r.TokenEnv, Secret: r.TokenSecret})
		kubeOptions(ck, at, r)
		c.Rules = append(c.Rules, r)
	}
	return c, ck.All()
}

// deploymentNameRE is a Deployment's name (a DNS-1123 subdomain).
var deploymentNameRE = regexp.MustCompile(`^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$`)

// kubeOptions checks a rule's kubernetes settings: they need a kubernetes
// destination, and name Deployments.
func kubeOptions(ck *yamlconf.Checker, at string, r Rule) {
	o := r.Kubernetes
	if !o.CreateSecret && len(o.RestartDeployments) == 0 {
		return
	}
	kat := yamlconf.Join(at, "kubernetes")
	hasKube := false
	for _, ref := range r.refs {
		hasKube = hasKube || ref.Kind == KindKube
	}
	if !hasKube {
		ck.Addf(kat, kat, "applies to kubernetes destinations, and the rule has none")
	}
	seen := map[string]bool{}
	for j, d := range o.RestartDeployments {
		p := yamlconf.Index(yamlconf.Join(kat, "restart_deployments"), j)
		switch {
		case len(d) > 253 || !deploymentNameRE.MatchString(d):
			ck.Addf(p, p, "is not a Deployment name (lower-case letters, digits, '-' and '.'; got %q)", d)
		case seen[d]:
			ck.Addf(p, p, "names Deployment %q twice", d)
		}
		seen[d] = true
	}
}

func (c *Config) provider(kind string) Provider {
	switch kind {
	case KindGitHub:
		return c.GitHub
	case KindVault:
		return c.Vault
	case KindGitLab:
		return c.GitLab
	case KindProfile:
		return c.Profile
	case KindSSM:
		return c.SSM
	case KindLambda:
		return c.Lambda
	}
	return Provider{}
}

// target is ref with its kind's provider settings, tok (when set)
// replacing the provider's token, and the declaring rule's Kubernetes
// settings (nil for a user tag).
func (c *Config) target(ref Ref, tok Credential, from string, r *Rule) Target {
	p := c.provider(ref.Kind)
	if tok != (Credential{}) && !IsAWS(ref.Kind) {
		p.TokenEnv, p.TokenSecret = tok.Env, tok.Secret
	}
	t := Target{Ref: ref, Provider: p, From: from}
	if r != nil && ref.Kind == KindKube {
		t.Kube = r.Kubernetes
	}
	return t
}

func (r *Rule) matches(account string, u inventory.User) bool {
	if len(r.Accounts) > 0 && !contains(r.Accounts, account) {
		return false
	}
	if len(r.Users) > 0 && !contains(r.Users, u.Name) {
		return false
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	return r.PathPrefix == "" || strings.HasPrefix(path, r.PathPrefix)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Resolve returns the destinations of user u in account: those of every
// rule that matches, then those its user tag lists, each reference once
// (the first declaration wins), sorted by reference. A tag reference that
// does not parse is returned as an error and skipped; the other
// destinations are still returned. Resolve is pure.
func (c *Config) Resolve(account string, u inventory.User) ([]Target, []error) {
	seen := map[string]bool{}
	var out []Target
	addTarget := func(ref Ref, tok Credential, from string, r *Rule) {
		if k := ref.place(); !seen[k] {
			seen[k] = true
			out = append(out, c.target(ref, tok, from, r))
		}
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		if !r.matches(account, u) {
			continue
		}
		from := fmt.Sprintf("destinations[%d]", i)
		if r.line > 0 {
			from = fmt.Sprintf("destinations[%d] at line %d", i, r.line)
		}
		for _, ref := range r.refs {
			addTarget(ref, Credential{Env: r.TokenEnv, Secret: r.TokenSecret}, from, r)
		}
	}
	var errs []error
	if c.UserTag != "" {
		if v, ok := u.Tags[c.UserTag]; ok {
			for _, f := range strings.Fields(v) {
				ref, err := ParseRef(f)
				if err != nil {
					errs = append(errs, fmt.Errorf("user %s tag %s: %w", u.Name, c.UserTag, err))
					continue
				}
				addTarget(ref, Credential{}, "tag "+c.UserTag, nil)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Ref.String() < out[j].Ref.String() })
	return out, errs
}

// Declared lists the destinations the rules name, each once (the first
// rule's token wins), sorted by reference: what can be checked without
// listing IAM users. Destinations named only in user tags are known when
// those users are resolved.
func (c *Config) Declared() []Target {
	seen := map[string]bool{}
	var out []Target
	for i := range c.Rules {
		r := &c.Rules[i]
		for _, ref := range r.refs {
			if seen[ref.place()] {
				continue
			}
			seen[ref.place()] = true
			out = append(out, c.target(ref, Credential{Env: r.TokenEnv, Secret: r.TokenSecret}, fmt.Sprintf("destinations[%d]", i), r))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Ref.String() < out[j].Ref.String() })
	return out
}
