package iampolicy

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
// whether there is one. Names match exactly, as in IAM.
func Managed(nameOrARN string) (*ManagedPolicy, bool) {
	return lookupManaged(nameOrARN)
}

// ManagedPolicies returns every AWS-managed policy shipped, sorted by name.
func ManagedPolicies() []*ManagedPolicy {
	return allManaged()
}
