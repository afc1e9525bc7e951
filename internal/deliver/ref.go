package deliver

import (
	"fmt"
	"regexp"
	"strings"
)

// Destination kinds.
const (
	KindGitHub  = "github"
	KindVault   = "vault"
	KindGitLab  = "gitlab"
	KindProfile = "profile"
	KindKube    = "kubernetes"
)

// Kinds lists the kinds ParseRef accepts, in the order documented.
var Kinds = []string{KindGitHub, KindVault, KindGitLab, KindProfile, KindKube}

// IDSuffix ends every GitHub and GitLab name in a reference: the name is
// where the access key ID goes, and the secret access key goes to the same
// name with IDSuffix replaced by SecretSuffix (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY).
const (
	IDSuffix     = "ACCESS_KEY_ID"
	SecretSuffix = "SECRET_ACCESS_KEY"
)

// Ref names one destination. It holds no secret and prints as the
// reference it was parsed from, in canonical form:
//
//	github:OWNER/NAME                               organization secret
//	github:OWNER/REPO/NAME                          repository secret
//	github:OWNER/REPO/environments/ENVIRONMENT/NAME environment secret
//	vault:MOUNT/PATH                                KV v2 secret PATH under MOUNT
//	gitlab:GROUP[/SUBGROUP...]/PROJECT/NAME         project CI/CD variables
//	profile:NAME                                    shared credentials file profile
//	kubernetes:CONTEXT/NAMESPACE/SECRET[/NAME]      Kubernetes Secret keys
//
// A Kubernetes reference's CONTEXT is a kubeconfig context, or InCluster
// for the pod's own service account; NAME, when given, is the data key of
// the access key ID (default DefaultKubeIDKey), the secret access key
// going to the key named as for GitHub (SecretName).
type Ref struct {
	Kind string
	// Owner, Repo and Environment place a GitHub secret: Repo is empty
	// for an organization secret, Environment for a repository secret.
	Owner, Repo, Environment string
	// Mount and Path place a Vault KV v2 secret.
	Mount, Path string
	// Project is a GitLab project's full path (group/project).
	Project string
	// Context, Namespace and Secret place a Kubernetes Secret: Context
	// is a kubeconfig context or InCluster.
	Context, Namespace, Secret string
	// Name is the GitHub or GitLab name of the access key ID, the
	// profile's name, or the Kubernetes data key of the access key ID
	// ("" for DefaultKubeIDKey).
	Name string
}

// InCluster is the context of a Kubernetes reference that means the
// cluster keyrot runs in, reached with the pod's service account.
const InCluster = "in-cluster"

// DefaultKubeIDKey is the data key of the access key ID in a Kubernetes
// Secret whose reference names none; the secret access key goes to
// AWS_SECRET_ACCESS_KEY.
const DefaultKubeIDKey = "AWS_ACCESS_KEY_ID"

// KubeKeys returns the data keys of a Kubernetes reference: the access
// key ID's and the secret access key's.
func (r Ref) KubeKeys() (id, secret string) {
	if r.Name == "" {
		return DefaultKubeIDKey, "AWS_" + SecretSuffix
	}
	return r.Name, r.SecretName()
}

// SecretName is the name that receives the secret access key: Name with
// its ACCESS_KEY_ID suffix replaced by SECRET_ACCESS_KEY.
func (r Ref) SecretName() string {
	return strings.TrimSuffix(r.Name, IDSuffix) + SecretSuffix
}

// String returns the canonical reference.
func (r Ref) String() string {
	switch r.Kind {
	case KindGitHub:
		switch {
		case r.Repo == "":
			return "github:" + r.Owner + "/" + r.Name
		case r.Environment == "":
			return "github:" + r.Owner + "/" + r.Repo + "/" + r.Name
		default:
			return "github:" + r.Owner + "/" + r.Repo + "/environments/" + r.Environment + "/" + r.Name
		}
	case KindVault:
		return "vault:" + r.Mount + "/" + r.Path
	case KindGitLab:
		return "gitlab:" + r.Project + "/" + r.Name
	case KindProfile:
		return "profile:" + r.Name
	case KindKube:
		s := "kubernetes:" + r.Context + "/" + r.Namespace + "/" + r.Secret
		if r.Name != "" {
			s += "/" + r.Name
		}
		return s
	}
	return r.Kind + ":?"
}

var (
	githubOwnerRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	githubRepoRE  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	githubEnvRE   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,255}$`)
	// GitHub secret and variable names: letters, digits and underscores,
	// not starting with a digit or GITHUB_.
	githubNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,199}$`)
	segmentRE     = regexp.MustCompile(`^[A-Za-z0-9._-]{1,255}$`)
	gitlabNameRE  = regexp.MustCompile(`^[A-Za-z0-9_]{1,255}$`)
	profileNameRE = regexp.MustCompile(`^[A-Za-z0-9._@+-]{1,64}$`)
	// Kubernetes: a context name without '/' (kubectl config
	// rename-context gives one to an EKS context named by its ARN), a
	// namespace (DNS-1123 label), a Secret name (DNS-1123 subdomain) and a
	// data key (letters, digits, '-', '_', '.').
	kubeContextRE   = regexp.MustCompile(`^[A-Za-z0-9._@:+-]{1,253}$`)
	kubeNamespaceRE = regexp.MustCompile(`^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$`)
	kubeSecretRE    = regexp.MustCompile(`^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$`)
	kubeKeyRE       = regexp.MustCompile(`^[-._A-Za-z0-9]{1,253}$`)
)

// ParseRef parses a destination reference such as
// "github:org/repo/AWS_ACCESS_KEY_ID". Its errors quote the input: a
// reference holds no secret.
func ParseRef(s string) (Ref, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Ref{}, fmt.Errorf("destination %q: want KIND:WHERE, with KIND one of %s", s, strings.Join(Kinds, ", "))
	}
	fail := func(format string, args ...any) (Ref, error) {
		return Ref{}, fmt.Errorf("destination %q: %s", s, fmt.Sprintf(format, args...))
	}
	if rest == "" {
		return fail("nothing after %s:", kind)
	}
	parts := strings.Split(rest, "/")
	for _, p := range parts {
		if p == "" {
			return fail("empty part between slashes")
		}
	}
	switch kind {
	case KindGitHub:
		r := Ref{Kind: kind, Owner: parts[0]}
		switch len(parts) {
		case 2:
			r.Name = parts[1]
		case 3:
			r.Repo, r.Name = parts[1], parts[2]
		case 5:
			if parts[2] != "environments" {
				return fail("want github:OWNER/REPO/environments/ENVIRONMENT/NAME")
			}
			r.Repo, r.Environment, r.Name = parts[1], parts[3], parts[4]
			if !githubEnvRE.MatchString(r.Environment) {
				return fail("environment %q: use letters, digits, '.', '_' and '-'", r.Environment)
			}
		default:
			return fail("want github:OWNER/NAME, github:OWNER/REPO/NAME or github:OWNER/REPO/environments/ENVIRONMENT/NAME")
		}
		if !githubOwnerRE.MatchString(r.Owner) {
			return fail("owner %q is not a GitHub user or organization name", r.Owner)
		}
		if r.Repo != "" && (!githubRepoRE.MatchString(r.Repo) || r.Repo == "." || r.Repo == "..") {
			return fail("repository %q is not a GitHub repository name", r.Repo)
		}
		if !githubNameRE.MatchString(r.Name) || strings.HasPrefix(strings.ToUpper(r.Name), "GITHUB_") {
			return fail("name %q: GitHub names are letters, digits and underscores, not starting with a digit or GITHUB_", r.Name)
		}
		if err := idName(r.Name); err != nil {
			return fail("%v", err)
		}
		return r, nil
	case KindVault:
		if len(parts) < 2 {
			return fail("want vault:MOUNT/PATH, e.g. vault:secret/ci/deploy")
		}
		for _, p := range parts {
			if !segmentRE.MatchString(p) || p == "." || p == ".." {
				return fail("path part %q: use letters, digits, '.', '_' and '-'", p)
			}
		}
		return Ref{Kind: kind, Mount: parts[0], Path: strings.Join(parts[1:], "/")}, nil
	case KindGitLab:
		if len(parts) < 3 {
			return fail("want gitlab:GROUP/PROJECT/NAME")
		}
		proj := parts[:len(parts)-1]
		for _, p := range proj {
			if !segmentRE.MatchString(p) || p == "." || p == ".." {
				return fail("project path part %q: use letters, digits, '.', '_' and '-'", p)
			}
		}
		r := Ref{Kind: kind, Project: strings.Join(proj, "/"), Name: parts[len(parts)-1]}
		if !gitlabNameRE.MatchString(r.Name) {
			return fail("name %q: GitLab variable names are letters, digits and underscores", r.Name)
		}
		if err := idName(r.Name); err != nil {
			return fail("%v", err)
		}
		return r, nil
	case KindProfile:
		if len(parts) != 1 || !profileNameRE.MatchString(parts[0]) {
			return fail("want profile:NAME with a profile name of letters, digits and . _ @ + -")
		}
		return Ref{Kind: kind, Name: parts[0]}, nil
	case KindKube:
		if len(parts) != 3 && len(parts) != 4 {
			return fail("want kubernetes:CONTEXT/NAMESPACE/SECRET or kubernetes:CONTEXT/NAMESPACE/SECRET/NAME")
		}
		if strings.HasPrefix(rest, "arn:") {
			return fail("a context named by its EKS cluster ARN holds a '/': give it a short name (kubectl config rename-context ARN NAME) and use that")
		}
		r := Ref{Kind: kind, Context: parts[0], Namespace: parts[1], Secret: parts[2]}
		if !kubeContextRE.MatchString(r.Context) {
			return fail("context %q: use a kubeconfig context name of letters, digits and . _ @ : + - (or %s)", r.Context, InCluster)
		}
		if !kubeNamespaceRE.MatchString(r.Namespace) {
			return fail("namespace %q is not a Kubernetes namespace name (lower-case letters, digits and '-', at most 63)", r.Namespace)
		}
		if len(r.Secret) > 253 || !kubeSecretRE.MatchString(r.Secret) {
			return fail("secret %q is not a Kubernetes object name (lower-case letters, digits, '-' and '.', at most 253)", r.Secret)
		}
		if len(parts) == 4 {
			r.Name = parts[3]
			if !kubeKeyRE.MatchString(r.Name) || len(r.SecretName()) > 253 {
				return fail("name %q is not a Kubernetes Secret data key (letters, digits, '-', '_' and '.')", r.Name)
			}
			if err := idName(r.Name); err != nil {
				return fail("%v", err)
			}
		}
		return r, nil
	}
	return fail("unknown kind %q; use %s", kind, strings.Join(Kinds, ", "))
}

// idName checks that a GitHub or GitLab name can be paired: it must end
// in ACCESS_KEY_ID so that the secret's name follows from it.
func idName(name string) error {
	if !strings.HasSuffix(name, IDSuffix) {
		return fmt.Errorf("name %q must end in %s (the secret access key goes to the same name ending in %s)", name, IDSuffix, SecretSuffix)
	}
	return nil
}
