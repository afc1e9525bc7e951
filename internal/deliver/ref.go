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
	KindSSM     = "ssm"
	KindLambda  = "lambda"
	KindKube    = "kubernetes"
)

// Kinds lists the kinds ParseRef accepts, in the order documented.
var Kinds = []string{KindGitHub, KindVault, KindGitLab, KindProfile, KindSSM, KindLambda, KindKube}

// IsAWS reports whether kind is reached with keyrot's own AWS access (the
// role it assumes in the destination's account) rather than a token.
func IsAWS(kind string) bool { return kind == KindSSM || kind == KindLambda }

// DefaultLambdaVar is the environment variable a Lambda destination writes
// the access key ID to when its reference names none; the secret goes to
// KEYROT_SECRET_ACCESS_KEY. Lambda reserves AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (they hold the function's own role credentials).
const DefaultLambdaVar = "KEYROT_" + IDSuffix

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
//	ssm:ACCOUNT/REGION/NAME                         SSM parameter NAME
//	ssm:ACCOUNT/REGION/PATH/.../NAME                SSM parameter /PATH/.../NAME
//	lambda:ACCOUNT/REGION/FUNCTION[/NAME]           a Lambda function's environment variables
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
	// Account and Region place an AWS destination (ssm, lambda).
	Account, Region string
	// Parameter is an SSM parameter's name: "/a/b" for a hierarchy.
	Parameter string
	// Function is a Lambda function's name.
	Function string
	// Context, Namespace and Secret place a Kubernetes Secret: Context
	// is a kubeconfig context or InCluster.
	Context, Namespace, Secret string
	// Name is the GitHub or GitLab name of the access key ID, the
	// profile's name, the Lambda environment variable of the access key
	// ID ("" for DefaultLambdaVar), or the Kubernetes data key of the
	// access key ID ("" for DefaultKubeIDKey).
	Name string
}

// place identifies where a reference writes: its canonical form, with a
// Lambda reference's default variable written out, so that
// lambda:A/R/F and lambda:A/R/F/KEYROT_ACCESS_KEY_ID are one destination.
func (r Ref) place() string {
	if r.Kind == KindLambda && r.Name == "" {
		r.Name = DefaultLambdaVar
	}
	return r.String()
}

// LambdaSecretVar is the Lambda environment variable that receives the
// secret access key: LambdaVar with ACCESS_KEY_ID replaced by
// SECRET_ACCESS_KEY.
func (r Ref) LambdaSecretVar() string {
	return strings.TrimSuffix(r.LambdaVar(), IDSuffix) + SecretSuffix
}

// LambdaVar is the Lambda environment variable that receives the access
// key ID: Name, or DefaultLambdaVar.
func (r Ref) LambdaVar() string {
	if r.Name == "" {
		return DefaultLambdaVar
	}
	return r.Name
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
	case KindSSM:
		return "ssm:" + r.Account + "/" + r.Region + "/" + strings.TrimPrefix(r.Parameter, "/")
	case KindLambda:
		s := "lambda:" + r.Account + "/" + r.Region + "/" + r.Function
		if r.Name != "" {
			s += "/" + r.Name
		}
		return s
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
	awsAccountRE  = regexp.MustCompile(`^\d{12}$`)
	awsRegionRE   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	// SSM parameter name parts, Lambda function names and Lambda
	// environment variable names, as the services' API references give them.
	ssmPartRE      = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	lambdaFuncRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	lambdaEnvVarRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]+$`)
	// Kubernetes: a context name without '/' (kubectl config
	// rename-context gives one to an EKS context named by its ARN), a
	// namespace (DNS-1123 label), a Secret name (DNS-1123 subdomain) and a
	// data key (letters, digits, '-', '_', '.').
	kubeContextRE   = regexp.MustCompile(`^[A-Za-z0-9._@:+-]{1,253}$`)
	kubeNamespaceRE = regexp.MustCompile(`^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$`)
	kubeSecretRE    = regexp.MustCompile(`^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$`)
	kubeKeyRE       = regexp.MustCompile(`^[-._A-Za-z0-9]{1,253}$`)
)

// LambdaReserved are the environment variable names Lambda sets itself and
// refuses in a function's configuration (Lambda Developer Guide, "Defined
// runtime environment variables").
var LambdaReserved = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true, "AWS_LAMBDA_LOG_GROUP_NAME": true,
	"AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_ACCESS_KEY": true, "AWS_ACCESS_KEY_ID": true,
	"AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true, "AWS_LAMBDA_RUNTIME_API": true,
	"LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
}

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
	case KindSSM, KindLambda:
		if len(parts) < 3 {
			return fail("want %s:ACCOUNT/REGION/...", kind)
		}
		r := Ref{Kind: kind, Account: parts[0], Region: parts[1]}
		if !awsAccountRE.MatchString(r.Account) {
			return fail("account %q is not a 12-digit account ID", r.Account)
		}
		if !awsRegionRE.MatchString(r.Region) {
			return fail("region %q is not an AWS region such as us-east-1", r.Region)
		}
		if kind == KindSSM {
			return parseSSM(r, parts[2:], fail)
		}
		return parseLambda(r, parts[2:], fail)
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

// parseSSM completes an ssm reference from the parts after the region:
// one part is a top-level parameter name, several a hierarchy
// (/a/b/c), as Parameter Store names them.
func parseSSM(r Ref, parts []string, fail func(string, ...any) (Ref, error)) (Ref, error) {
	if len(parts) > 15 {
		return fail("a parameter hierarchy has at most 15 levels")
	}
	for _, p := range parts {
		if !ssmPartRE.MatchString(p) {
			return fail("parameter name part %q: use letters, digits, '.', '_' and '-'", p)
		}
	}
	if low := strings.ToLower(parts[0]); strings.HasPrefix(low, "aws") || strings.HasPrefix(low, "ssm") {
		return fail("parameter names may not begin with aws or ssm")
	}
	r.Parameter = parts[0]
	if len(parts) > 1 {
		r.Parameter = "/" + strings.Join(parts, "/")
	}
	if len(r.Parameter) > 1011 {
		return fail("the parameter name is longer than 1011 characters")
	}
	return r, nil
}

// parseLambda completes a lambda reference: FUNCTION and an optional
// variable name that must end in ACCESS_KEY_ID; neither variable of the
// pair may be one Lambda reserves.
func parseLambda(r Ref, parts []string, fail func(string, ...any) (Ref, error)) (Ref, error) {
	if len(parts) > 2 {
		return fail("want lambda:ACCOUNT/REGION/FUNCTION or lambda:ACCOUNT/REGION/FUNCTION/NAME")
	}
	r.Function = parts[0]
	if !lambdaFuncRE.MatchString(r.Function) {
		return fail("function %q: Lambda function names are up to 64 letters, digits, '-' and '_'", r.Function)
	}
	if len(parts) == 2 {
		r.Name = parts[1]
		if !lambdaEnvVarRE.MatchString(r.Name) {
			return fail("name %q: Lambda environment variable names are letters, digits and underscores, starting with a letter", r.Name)
		}
		if err := idName(r.Name); err != nil {
			return fail("%v", err)
		}
		for _, v := range []string{r.Name, r.SecretName()} {
			if LambdaReserved[v] {
				return fail("Lambda reserves %s for the function's own credentials; use another name such as %s (the default)", v, DefaultLambdaVar)
			}
		}
	}
	return r, nil
}
