package iampolicy

import (
	"sort"
	"sync"
)

// ManagedPolicy is an AWS-managed policy (or the default SCP) shipped with
// the sandbox.
type ManagedPolicy struct {
	// Name is the policy's name, such as "ReadOnlyAccess".
	Name string
	// ARN is its ARN, such as "arn:aws:iam::aws:policy/ReadOnlyAccess"
	// (the default SCP: "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess").
	ARN string
	// Path is the policy's IAM path, such as "/" or "/job-function/".
	Path string
	// Kind is KindIdentity for IAM managed policies, KindSCP for FullAWSAccess.
	Kind Kind
	// Document is the JSON policy document.
	Document string
	// Policy is the parsed document.
	Policy *Policy
}

// Named returns the policy as a NamedPolicy for a PolicySet.
func (m *ManagedPolicy) Named() NamedPolicy {
	return NamedPolicy{Name: m.Name, ARN: m.ARN, Policy: m.Policy}
}

// Managed returns the AWS-managed policy with the given name or ARN, and
// whether there is one. Names match exactly, as in IAM. The policy is
// shared: callers must not modify it.
func Managed(nameOrARN string) (*ManagedPolicy, bool) {
	byName, byARN := managedIndex()
	if m, ok := byName[nameOrARN]; ok {
		return m, true
	}
	m, ok := byARN[nameOrARN]
	return m, ok
}

// ManagedPolicies returns every AWS-managed policy shipped, sorted by name.
func ManagedPolicies() []*ManagedPolicy {
	byName, _ := managedIndex()
	out := make([]*ManagedPolicy, 0, len(byName))
	for _, m := range byName {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// managedDoc is one embedded AWS-managed policy document.
type managedDoc struct {
	Name, Path string
	// Version and Updated say which version of AWS's policy the document
	// was taken from.
	Version, Updated string
	Document         string
}

// FullAWSAccessARN is the ARN of the SCP AWS Organizations attaches to
// every root, OU and account when SCPs are enabled.
const FullAWSAccessARN = "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"

// fullAWSAccess is the default SCP, as AWS Organizations creates it
// (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_strategies.html).
const fullAWSAccess = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "*",
      "Resource": "*"
    }
  ]
}`

var managedIndex = sync.OnceValues(func() (map[string]*ManagedPolicy, map[string]*ManagedPolicy) {
	byName := map[string]*ManagedPolicy{}
	byARN := map[string]*ManagedPolicy{}
	add := func(m *ManagedPolicy) {
		m.Policy = MustParse(m.Kind, m.Document)
		byName[m.Name] = m
		byARN[m.ARN] = m
	}
	for _, d := range managedDocs {
		add(&ManagedPolicy{
			Name:     d.Name,
			ARN:      "arn:aws:iam::aws:policy" + d.Path + d.Name,
			Path:     d.Path,
			Kind:     KindIdentity,
			Document: d.Document,
		})
	}
	add(&ManagedPolicy{Name: "FullAWSAccess", ARN: FullAWSAccessARN, Path: "/", Kind: KindSCP, Document: fullAWSAccess})
	return byName, byARN
})
