package permissions

import (
	"cmp"
	"strings"
)

// Deployment names what the documents of keyrot's AWS deployment (Lambda
// functions, a Step Functions state machine, an EventBridge Scheduler
// schedule, a DynamoDB table, member roles deployed by a StackSet) are
// scoped to. Every field may be a template placeholder such as
// "${AWS::AccountId}": the templates in deploy/ are generated from these
// documents with placeholders that CloudFormation's Fn::Sub and
// Terraform's templatefile substitute.
type Deployment struct {
	// Partition, Region and AccountID are those of the central account,
	// where the functions, the table and the state machine live.
	Partition, Region, AccountID string
	// Name prefixes the names of the deployment's functions, roles, log
	// groups and state machine: function <Name>-worker, role
	// <Name>-worker, state machine <Name>.
	Name string
	// TableARN is the DynamoDB table's ARN.
	TableARN string
	// ConfigParameter is the name of the SSM parameter holding
	// keyrot.yaml, with its leading slash (/keyrot/config).
	ConfigParameter string
	// ExternalIDParameter is the name of the SSM parameter holding the
	// external ID, with its leading slash; none when empty.
	ExternalIDParameter string
	// CentralKeyARN is the KMS key that encrypts secrets kept in the
	// central account (rotation.store: central).
	CentralKeyARN string
	// OrgID is the organization's ID (aws:PrincipalOrgID).
	OrgID string
	// ExternalID is the external ID the member role requires.
	ExternalID string
	// EventBusARN is the central account's event bus that member accounts
	// forward IAM events to.
	EventBusARN string
	// AuditOnly leaves out every permission that changes a credential or
	// a secret.
	AuditOnly bool
	// Member scopes the member role's documents (role name, secret
	// prefix, exempt tag, notification identities).
	Member Options
}

func (d Deployment) withDefaults() Deployment {
	d.Partition = cmp.Or(d.Partition, "aws")
	d.Name = cmp.Or(d.Name, "keyrot")
	d.ConfigParameter = cmp.Or(d.ConfigParameter, "/keyrot/config")
	d.Member.Partition = d.Partition
	d.Member = d.Member.withDefaults()
	return d
}

// The Lambda handlers of the deployment (KEYROT_HANDLER).
const (
	HandlerCoordinator = "coordinator"
	HandlerWorker      = "worker"
	HandlerReporter    = "reporter"
	HandlerEvents      = "events"
)

// Handlers are the deployment's Lambda handlers, in the order the
// templates list them.
var Handlers = []string{HandlerCoordinator, HandlerWorker, HandlerReporter, HandlerEvents}

func (d Deployment) arn(service, resource string) string {
	return "arn:" + d.Partition + ":" + service + ":" + d.Region + ":" + d.AccountID + ":" + resource
}

// FunctionName is the name of a handler's Lambda function.
func (d Deployment) FunctionName(handler string) string {
	return cmp.Or(d.Name, "keyrot") + "-" + handler
}

// FunctionARN is the ARN of a handler's Lambda function.
func (d Deployment) FunctionARN(handler string) string {
	d = d.withDefaults()
	return d.arn("lambda", "function:"+d.FunctionName(handler))
}

// RoleName is the name of a handler's execution role, or of the state
// machine's ("states") or the schedule's ("scheduler") role.
func (d Deployment) RoleName(of string) string { return cmp.Or(d.Name, "keyrot") + "-" + of }

// RoleARN is the ARN of RoleName(of) in the central account.
func (d Deployment) RoleARN(of string) string {
	d = d.withDefaults()
	return "arn:" + d.Partition + ":iam::" + d.AccountID + ":role/" + d.RoleName(of)
}

// LogGroup is the name of a handler's log group.
func (d Deployment) LogGroup(handler string) string {
	return "/aws/lambda/" + d.FunctionName(handler)
}

// StateMachineARN is the ARN of the deployment's state machine.
func (d Deployment) StateMachineARN() string {
	d = d.withDefaults()
	return d.arn("states", "stateMachine:"+d.Name)
}

func (d Deployment) parameterARNs() []string {
	out := []string{d.arn("ssm", "parameter"+d.ConfigParameter)}
	if d.ExternalIDParameter != "" {
		out = append(out, d.arn("ssm", "parameter"+d.ExternalIDParameter))
	}
	return out
}

// common are the statements every handler needs: write its own log
// group, read keyrot.yaml (and the external ID), and the table calls
// given (none: no table statement).
func (d Deployment) common(handler string, table ...string) []Statement {
	sts := []Statement{
		{Sid: "Logs", Effect: "Allow", Action: []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			Resource: []string{d.arn("logs", "log-group:"+d.LogGroup(handler)+":*")}},
		{Sid: "Config", Effect: "Allow", Action: []string{"ssm:GetParameter"}, Resource: d.parameterARNs()},
	}
	if len(table) > 0 {
		sts = append(sts, Statement{Sid: "Table", Effect: "Allow", Action: table, Resource: []string{d.TableARN}})
	}
	return sts
}

// The item calls of the DynamoDB history store
// (internal/history/dynamostore) each handler makes. Its
// TransactWriteItems calls are authorized per element, as AWS does: their
// Put and Update elements need PutItem and UpdateItem. The coordinator
// writes the run's batches (PutItem); the worker reads its batch, takes
// and releases leases (GetItem, DeleteItem), journals its actions and
// writes its state; the reporter reads the batches' states, records and
// finishes the run (GetItem) and its notices; the events handler records
// its notices only.
var (
	tableCoordinator = []string{"dynamodb:PutItem"}
	tableWorker      = []string{
		"dynamodb:DeleteItem",
		"dynamodb:GetItem",
		"dynamodb:PutItem",
		"dynamodb:Query",
		"dynamodb:UpdateItem",
	}
	tableReporter = []string{
		"dynamodb:GetItem",
		"dynamodb:PutItem",
		"dynamodb:Query",
		"dynamodb:UpdateItem",
	}
	tableEvents = []string{
		"dynamodb:PutItem",
		"dynamodb:Query",
		"dynamodb:UpdateItem",
	}
)

func (d Deployment) assumeMember() Statement {
	return Statement{Sid: "AssumeMemberRole", Effect: "Allow", Action: []string{"sts:AssumeRole"},
		Resource: []string{"arn:" + d.Partition + ":iam::*:role/" + d.Member.RoleName}}
}

// own rescopes a member document to the central account: the worker acts
// on the central account with its own credentials, as keyrot does on the
// account it runs in. Sids get prefix so they stay unique.
func (d Deployment) own(doc Document, prefix string) []Statement {
	anyUser := d.Member.anyUser()
	ownUser := "arn:" + d.Partition + ":iam::" + d.AccountID + ":user/*"
	anySecret := d.Member.secrets()
	ownSecret := "arn:" + d.Partition + ":secretsmanager:" + d.Region + ":" + d.AccountID + ":secret:" + strings.TrimPrefix(anySecret, "arn:"+d.Partition+":secretsmanager:*:*:secret:")
	var out []Statement
	for _, s := range doc.Statement {
		var res []string
		for _, r := range s.Resource {
			switch r {
			case anyUser:
				r = ownUser
			case anySecret:
				r = ownSecret
			}
			res = append(res, r)
		}
		s.Resource = res
		s.Sid = prefix + s.Sid
		out = append(out, s)
	}
	return out
}

// organizationReads are the Organizations calls of the coordinator, the
// same as the Management document's.
func (d Deployment) organizationReads() Statement {
	return Management(d.Member).statement("ReadOrganization")
}

// statement returns the document's statement sid; a missing one is a
// programming error.
func (d Document) statement(sid string) Statement {
	for _, s := range d.Statement {
		if s.Sid == sid {
			return s
		}
	}
	panic("permissions: no statement " + sid)
}

// Coordinator is the coordinator function's execution role policy: read
// the organization, audit every account read-only to compute the run's
// plan (through the member role, and with its own credentials in the
// central account). It changes nothing; it writes the run's batches to
// the table, where the workers read them.
func Coordinator(d Deployment) Document {
	d = d.withDefaults()
	sts := append(d.common(HandlerCoordinator, tableCoordinator...), d.organizationReads(), d.assumeMember())
	audit := MemberAudit(d.Member)
	for _, a := range freshListing {
		audit = audit.Without(a)
	}
	return doc(append(sts, d.own(audit, "Own")...)...)
}

// freshListing are the reads of an account's live user listing, which only
// keyrot audit --fresh makes (the member role keeps them for the CLI): the
// functions plan from the credential report.
var freshListing = []string{"iam:GetLoginProfile", "iam:ListMFADevices", "iam:ListUsers"}

// Worker is the worker function's execution role policy: assume the
// member role in each account of its batch, audit and (unless audit-only)
// rotate there, record in the table; the central account itself, where
// the worker runs, is audited and rotated with the worker's own
// credentials, and secrets kept centrally are encrypted with the central
// key.
func Worker(d Deployment) Document {
	d = d.withDefaults()
	sts := append(d.common(HandlerWorker, tableWorker...), d.assumeMember())
	// Account-tag exemptions are matched where the worker plans: it reads
	// its accounts' tags again; the rest of the listing (OU paths) comes
	// from the coordinator.
	sts = append(sts, Statement{Sid: "ReadAccountTags", Effect: "Allow", Action: []string{"organizations:ListTagsForResource"}, Resource: []string{"*"}})
	sts = append(sts, d.own(MemberAudit(d.Member), "Own")...)
	if !d.AuditOnly {
		sts = append(sts, d.own(MemberRotation(d.Member), "Own")...)
		if d.CentralKeyARN != "" {
			sts = append(sts, Statement{Sid: "CentralSecretsKey", Effect: "Allow", Action: []string{
				"kms:Decrypt",
				"kms:Encrypt",
				"kms:GenerateDataKey",
			}, Resource: []string{d.CentralKeyARN}})
		}
	}
	return doc(sts...)
}

// Reporter is the reporter function's execution role policy: read the
// run's records, send the digests (SES, SNS), record the run.
func Reporter(d Deployment) Document {
	d = d.withDefaults()
	m := Management(d.Member)
	return doc(append(d.common(HandlerReporter, tableReporter...), m.statement("NotifyByEmail"), m.statement("NotifyBySNS"))...)
}

// Events is the events function's execution role policy: look up the
// user a CloudTrail event names (its owner tag) through the member role,
// de-duplicate notices in the table, tell the owner and the security team.
func Events(d Deployment) Document {
	d = d.withDefaults()
	m := Management(d.Member)
	sts := append(d.common(HandlerEvents, tableEvents...), d.assumeMember(),
		Statement{Sid: "OwnUserTags", Effect: "Allow", Action: []string{"iam:ListUserTags"},
			Resource: []string{"arn:" + d.Partition + ":iam::" + d.AccountID + ":user/*"}},
		m.statement("NotifyByEmail"), m.statement("NotifyBySNS"))
	return doc(sts...)
}

// StateMachine is the state machine's role policy: invoke the three
// functions, and run the Distributed Map's child executions (AWS requires
// states:StartExecution on the state machine itself, and DescribeExecution
// and StopExecution on its executions).
func StateMachine(d Deployment) Document {
	d = d.withDefaults()
	var fns []string
	for _, h := range []string{HandlerCoordinator, HandlerWorker, HandlerReporter} {
		fns = append(fns, d.FunctionARN(h), d.FunctionARN(h)+":*")
	}
	return doc(
		Statement{Sid: "InvokeHandlers", Effect: "Allow", Action: []string{"lambda:InvokeFunction"}, Resource: fns},
		Statement{Sid: "DistributedMap", Effect: "Allow", Action: []string{"states:StartExecution"},
			Resource: []string{d.StateMachineARN()}},
		Statement{Sid: "DistributedMapChildren", Effect: "Allow", Action: []string{"states:DescribeExecution", "states:StopExecution"},
			Resource: []string{d.arn("states", "execution:"+d.Name+"/*")}},
	)
}

// Scheduler is the EventBridge Scheduler schedule's role policy: start
// the state machine.
func Scheduler(d Deployment) Document {
	d = d.withDefaults()
	return doc(Statement{Sid: "StartRun", Effect: "Allow", Action: []string{"states:StartExecution"},
		Resource: []string{d.StateMachineARN()}})
}

// MemberTrustCentral is the trust policy of the member role when keyrot
// runs in a central account: only the coordinator's (which audits every
// account to plan the run), the worker's and the events handler's roles
// may assume it, from inside the organization, with the external ID.
// The principal is the central account, narrowed by aws:PrincipalArn, so
// that the member role can be created before the central roles exist.
func MemberTrustCentral(d Deployment) Document {
	d = d.withDefaults()
	cond := map[string]map[string][]string{
		"ArnEquals":    {"aws:PrincipalArn": {d.RoleARN(HandlerCoordinator), d.RoleARN(HandlerWorker), d.RoleARN(HandlerEvents)}},
		"StringEquals": {"aws:PrincipalOrgID": {d.OrgID}},
	}
	if d.ExternalID != "" {
		cond["StringEquals"]["sts:ExternalId"] = []string{d.ExternalID}
	}
	return doc(Statement{
		Sid: "KeyrotCentral", Effect: "Allow",
		Principal: map[string][]string{"AWS": {"arn:" + d.Partition + ":iam::" + d.AccountID + ":root"}},
		Action:    []string{"sts:AssumeRole"},
		Condition: cond,
	})
}

// MemberPolicies are the member role's identity policies, by name: the
// audit document, and the rotation document unless audit-only.
func MemberPolicies(d Deployment) map[string]Document {
	d = d.withDefaults()
	out := map[string]Document{"keyrot-audit": MemberAudit(d.Member)}
	if !d.AuditOnly {
		out["keyrot-rotation"] = MemberRotation(d.Member)
	}
	return out
}

// CentralKeyPolicy is the key policy of the KMS key that encrypts the
// secrets kept in the central account: the account administers it (AWS's
// default statement, without which the key cannot be managed), the worker
// encrypts and decrypts through Secrets Manager, and principals of the
// organization decrypt through Secrets Manager (each secret's resource
// policy says who may read it).
func CentralKeyPolicy(d Deployment) Document {
	d = d.withDefaults()
	via := map[string][]string{"kms:ViaService": {"secretsmanager." + d.Region + ".amazonaws.com"}}
	return doc(
		Statement{Sid: "AccountAdministers", Effect: "Allow",
			Principal: map[string][]string{"AWS": {"arn:" + d.Partition + ":iam::" + d.AccountID + ":root"}},
			Action:    []string{"kms:*"}, Resource: []string{"*"}},
		Statement{Sid: "WorkerStoresSecrets", Effect: "Allow",
			Principal: map[string][]string{"AWS": {d.RoleARN(HandlerWorker)}},
			Action:    []string{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}, Resource: []string{"*"},
			Condition: map[string]map[string][]string{"StringEquals": via}},
		Statement{Sid: "OrganizationReadsSecrets", Effect: "Allow",
			Principal: map[string][]string{"AWS": {"*"}},
			Action:    []string{"kms:Decrypt"}, Resource: []string{"*"},
			Condition: map[string]map[string][]string{"StringEquals": {
				"kms:ViaService":     via["kms:ViaService"],
				"aws:PrincipalOrgID": {d.OrgID},
			}}},
	)
}

// OrganizationsDelegation is the Organizations resource policy the
// management account sets so that the central account reads the
// organization (delegated administration): the coordinator's and the
// worker's Organizations calls, nothing else.
func OrganizationsDelegation(d Deployment) Document {
	d = d.withDefaults()
	s := d.organizationReads()
	s.Sid = "KeyrotCentralReadsOrganization"
	s.Principal = map[string][]string{"AWS": {"arn:" + d.Partition + ":iam::" + d.AccountID + ":root"}}
	return doc(s)
}

// EventForwarding is the policy of the member accounts' event forwarding
// role: put events on the central bus.
func EventForwarding(d Deployment) Document {
	d = d.withDefaults()
	return doc(Statement{Sid: "ForwardIAMEvents", Effect: "Allow", Action: []string{"events:PutEvents"},
		Resource: []string{d.EventBusARN}})
}

// EventBus is the ARN of the central account's default event bus, which
// the member accounts forward IAM events to.
func (d Deployment) EventBus() string {
	d = d.withDefaults()
	return cmp.Or(d.EventBusARN, d.arn("events", "event-bus/default"))
}

// CentralBusPolicy is the central event bus's policy: the organization's
// accounts put events on it (the IAM events their forwarding rules send).
func CentralBusPolicy(d Deployment) Document {
	d = d.withDefaults()
	return doc(Statement{Sid: "OrganizationPutsIAMEvents", Effect: "Allow",
		Principal: map[string][]string{"AWS": {"*"}},
		Action:    []string{"events:PutEvents"}, Resource: []string{d.EventBus()},
		Condition: map[string]map[string][]string{"StringEquals": {"aws:PrincipalOrgID": {d.OrgID}}}})
}
