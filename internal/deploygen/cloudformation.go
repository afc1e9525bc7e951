package deploygen

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/keyrot/keyrot/internal/permissions"
)

// CloudFormation placeholders: the values of permissions.Deployment that
// the central stack's template substitutes.
const (
	cfnPartition = "${AWS::Partition}"
	cfnRegion    = "${AWS::Region}"
	cfnAccount   = "${AWS::AccountId}"
)

// CentralDeployment is the deployment as the central stack's template
// names it; auditOnly selects the AuditOnly=true branch.
func CentralDeployment(auditOnly bool) permissions.Deployment {
	return permissions.Deployment{
		Partition: cfnPartition, Region: cfnRegion, AccountID: cfnAccount,
		Name:                "${DeploymentName}",
		TableARN:            "arn:" + cfnPartition + ":dynamodb:" + cfnRegion + ":" + cfnAccount + ":table/${DeploymentName}",
		ConfigParameter:     "${ConfigParameterName}",
		ExternalIDParameter: "/${DeploymentName}/external-id",
		OrgID:               "${OrganizationId}",
		ExternalID:          "${ExternalId}",
		AuditOnly:           auditOnly,
		Member:              cfnMemberOptions(),
	}
}

// MemberDeployment is the deployment as the member StackSet's and the
// management stack's templates name it.
func MemberDeployment(auditOnly bool) permissions.Deployment {
	return permissions.Deployment{
		Partition: cfnPartition, Region: "${CentralRegion}", AccountID: "${CentralAccountId}",
		Name:        "${DeploymentName}",
		OrgID:       "${OrganizationId}",
		ExternalID:  "${ExternalId}",
		EventBusARN: "arn:" + cfnPartition + ":events:${CentralRegion}:${CentralAccountId}:event-bus/default",
		AuditOnly:   auditOnly,
		Member:      cfnMemberOptions(),
	}
}

func cfnMemberOptions() permissions.Options {
	return permissions.Options{
		RoleName:       "${MemberRoleName}",
		SecretPrefix:   "${SecretPrefix}",
		SESIdentityARN: "arn:" + cfnPartition + ":ses:" + cfnRegion + ":" + cfnAccount + ":identity/${SesIdentity}",
		SNSTopicARN:    "${NotificationTopicArn}",
	}
}

// roleDoc is a role's policy, the audit-only variant under Fn::If when it differs.
func roleDoc(build func(permissions.Deployment) permissions.Document, dep func(bool) permissions.Deployment) any {
	full, audit := build(dep(false)), build(dep(true))
	if full.JSON() == audit.JSON() {
		return policyCFN(full)
	}
	return ifCond("Rotate", policyCFN(full), policyCFN(audit))
}

// busStatement is the one statement of an event bus policy, without its
// Sid (AWS::Events::EventBusPolicy names it with StatementId).
func busStatement(d permissions.Document) any {
	d.Statement = d.Statement[:1]
	d.Statement[0].Sid = ""
	return policyCFN(d).(m)[1].v.(l)[0]
}

// trustService is the trust policy of a service's role; with
// sourceAccount, only on behalf of this account (the confused-deputy
// condition Step Functions, EventBridge and EventBridge Scheduler
// document; Lambda does not for execution roles).
func trustService(service string, sourceAccount bool) any {
	st := m{{"Effect", "Allow"}, {"Principal", m{{"Service", service}}}, {"Action", "sts:AssumeRole"}}
	if sourceAccount {
		st = append(st, kv{"Condition", m{{"StringEquals", m{{"aws:SourceAccount", ref("AWS::AccountId")}}}}})
	}
	return m{{"Version", "2012-10-17"}, {"Statement", l{st}}}
}

func param(typ, desc string, extra ...kv) m {
	p := m{{"Type", typ}, {"Description", desc}}
	return append(p, extra...)
}

// handlerFunctions are the handlers the function resources are made for,
// with their timeouts in seconds.
var handlerTimeouts = map[string]int{
	permissions.HandlerCoordinator: 300,
	permissions.HandlerWorker:      900,
	permissions.HandlerReporter:    300,
	permissions.HandlerEvents:      60,
}

func resourceName(handler string) string {
	return strings.ToUpper(handler[:1]) + handler[1:]
}

// iamEventNames are the CloudTrail events the events handler is told of.
var iamEventNames = []string{"CreateAccessKey", "UpdateAccessKey", "CreateLoginProfile", "DeactivateMFADevice"}

func iamEventPattern() any {
	return m{
		{"source", l{"aws.iam"}},
		{"detail-type", l{"AWS API Call via CloudTrail"}},
		{"detail", m{{"eventSource", l{"iam.amazonaws.com"}}, {"eventName", iamEventNames}}},
	}
}

// Central is the central stack's template: functions, state machine,
// schedule, table, key, log groups, alarms, the IAM event rule.
func Central(asl []byte) ([]byte, error) {
	var definition any
	if err := json.Unmarshal(asl, &definition); err != nil {
		return nil, fmt.Errorf("state machine definition: %w", err)
	}
	dep := CentralDeployment(false)
	params := m{
		{"DeploymentName", param("String", "Prefix of the names of the deployment's functions, roles, log groups, table and state machine.",
			kv{"Default", "keyrot"}, kv{"AllowedPattern", "^[a-zA-Z][a-zA-Z0-9-]{0,30}$"})},
		{"OrganizationId", param("String", "The organization's ID (o-...): the member roles trust only principals of this organization.",
			kv{"AllowedPattern", "^o-[a-z0-9]{10,32}$"})},
		{"ExternalId", param("String", "The external ID the member roles require (the same value in the member StackSet and the management stack).",
			kv{"MinLength", 2}, kv{"MaxLength", 1224}, kv{"AllowedPattern", "^[\\w+=,.@:/-]+$"}, kv{"NoEcho", true})},
		{"MemberRoleName", param("String", "Name of the role the member StackSet creates in every account.",
			kv{"Default", "keyrot-member"}, kv{"AllowedPattern", "^[\\w+=,.@-]{1,64}$"})},
		{"SecretPrefix", param("String", "Prefix of keyrot's secret names (the start of rotation.secret_name).",
			kv{"Default", "keyrot/"}, kv{"AllowedPattern", "^[\\w/+=.@-]{1,256}$"})},
		{"AuditOnly", param("String", "true: audit only (KEYROT_MODE=audit, no permission that changes a credential or a secret).",
			kv{"Default", "false"}, kv{"AllowedValues", l{"true", "false"}})},
		{"CodeBucket", param("String", "S3 bucket holding the Lambda package (bootstrap zipped).")},
		{"CodeKey", param("String", "S3 key of the Lambda package, such as keyrot/v1.4.0/keyrot-lambda-arm64.zip.")},
		{"Architecture", param("String", "Architecture the package was built for.",
			kv{"Default", "arm64"}, kv{"AllowedValues", l{"arm64", "x86_64"}})},
		{"ConfigParameterName", param("String", "Name of the SSM String parameter holding keyrot.yaml, with its leading slash.",
			kv{"Default", "/keyrot/config"}, kv{"AllowedPattern", "^/[a-zA-Z0-9_./-]{1,1010}$"})},
		{"SesIdentity", param("String", "Verified SES identity (domain or address) the digests are sent from.")},
		{"NotificationTopicArn", param("String", "SNS topic for keyrot's notices and the alarms.")},
		{"ScheduleExpression", param("String", "When a run starts (EventBridge Scheduler expression).", kv{"Default", "cron(0 6 * * ? *)"})},
		{"ScheduleTimezone", param("String", "Time zone of the schedule (IANA name).", kv{"Default", "UTC"})},
		{"MaxConcurrency", param("Number", "Batches worked on at once by the Distributed Map.", kv{"Default", 10}, kv{"MinValue", 1}, kv{"MaxValue", 1000})},
		{"ToleratedFailurePercentage", param("Number", "Share of batches that may fail before the run fails.", kv{"Default", 10}, kv{"MinValue", 0}, kv{"MaxValue", 100})},
		{"LogRetentionDays", param("Number", "Days the functions' logs are kept.", kv{"Default", 90},
			kv{"AllowedValues", l{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}})},
	}
	res := m{
		{"Table", m{
			{"Type", "AWS::DynamoDB::Table"},
			{"DeletionPolicy", "Retain"}, {"UpdateReplacePolicy", "Retain"},
			{"Properties", m{
				{"TableName", ref("DeploymentName")},
				{"BillingMode", "PAY_PER_REQUEST"},
				{"AttributeDefinitions", l{m{{"AttributeName", "pk"}, {"AttributeType", "S"}}, m{{"AttributeName", "sk"}, {"AttributeType", "S"}}}},
				{"KeySchema", l{m{{"AttributeName", "pk"}, {"KeyType", "HASH"}}, m{{"AttributeName", "sk"}, {"KeyType", "RANGE"}}}},
				{"TimeToLiveSpecification", m{{"AttributeName", "expires_at"}, {"Enabled", true}}},
				{"PointInTimeRecoverySpecification", m{{"PointInTimeRecoveryEnabled", true}}},
				{"SSESpecification", m{{"SSEEnabled", true}}},
			}},
		}},
		{"ExternalIdParameter", m{
			{"Type", "AWS::SSM::Parameter"},
			{"Properties", m{{"Name", sub(dep.ExternalIDParameter)}, {"Type", "String"}, {"Value", ref("ExternalId")},
				{"Description", "External ID keyrot passes when it assumes the member roles."}}},
		}},
		{"CentralKey", m{
			{"Type", "AWS::KMS::Key"},
			{"DependsOn", "WorkerRole"},
			{"DeletionPolicy", "Retain"}, {"UpdateReplacePolicy", "Retain"},
			{"Properties", m{
				{"Description", sub("Encrypts the access keys keyrot keeps in the central account (${DeploymentName}).")},
				{"EnableKeyRotation", true},
				{"KeyPolicy", policyCFN(permissions.CentralKeyPolicy(dep))},
			}},
		}},
		{"CentralKeyAlias", m{
			{"Type", "AWS::KMS::Alias"},
			{"Properties", m{{"AliasName", sub("alias/${DeploymentName}-secrets")}, {"TargetKeyId", ref("CentralKey")}}},
		}},
	}
	docs := map[string]func(permissions.Deployment) permissions.Document{
		permissions.HandlerCoordinator: permissions.Coordinator,
		permissions.HandlerWorker:      permissions.Worker,
		permissions.HandlerReporter:    permissions.Reporter,
		permissions.HandlerEvents:      permissions.Events,
	}
	for _, h := range permissions.Handlers {
		r := resourceName(h)
		res = append(res,
			kv{r + "LogGroup", m{
				{"Type", "AWS::Logs::LogGroup"},
				{"Properties", m{{"LogGroupName", sub(dep.LogGroup(h))}, {"RetentionInDays", ref("LogRetentionDays")}}},
			}},
			kv{r + "Role", m{
				{"Type", "AWS::IAM::Role"},
				{"Properties", m{
					{"RoleName", sub(dep.RoleName(h))},
					{"Description", "Execution role of keyrot's " + h + " function."},
					{"AssumeRolePolicyDocument", trustService("lambda.amazonaws.com", false)},
					{"Policies", l{m{{"PolicyName", "keyrot-" + h}, {"PolicyDocument", roleDoc(docs[h], CentralDeployment)}}}},
				}},
			}},
			kv{r + "Function", m{
				{"Type", "AWS::Lambda::Function"},
				{"Properties", m{
					{"FunctionName", sub(dep.FunctionName(h))},
					{"Description", "keyrot " + h},
					{"Runtime", "provided.al2023"},
					{"Handler", "bootstrap"},
					{"Architectures", l{ref("Architecture")}},
					{"Code", m{{"S3Bucket", ref("CodeBucket")}, {"S3Key", ref("CodeKey")}}},
					{"MemorySize", 512},
					{"Timeout", handlerTimeouts[h]},
					{"Role", getAtt(r+"Role", "Arn")},
					{"LoggingConfig", m{{"LogGroup", ref(r + "LogGroup")}, {"LogFormat", "Text"}}},
					{"Environment", m{{"Variables", m{
						{"KEYROT_HANDLER", h},
						{"KEYROT_CONFIG_PARAMETER", ref("ConfigParameterName")},
						{"KEYROT_TABLE", ref("Table")},
						{"KEYROT_MODE", ifCond("Rotate", "rotate", "audit")},
						{"KEYROT_MEMBER_ROLE", ref("MemberRoleName")},
						{"KEYROT_EXTERNAL_ID_PARAMETER", ref("ExternalIdParameter")},
						{"KEYROT_DEPLOYMENT", ref("DeploymentName")},
					}}}},
				}},
			}},
		)
	}
	res = append(res,
		kv{"StateMachineRole", m{
			{"Type", "AWS::IAM::Role"},
			{"Properties", m{
				{"RoleName", sub(dep.RoleName("states"))},
				{"Description", "Role of keyrot's state machine."},
				{"AssumeRolePolicyDocument", trustService("states.amazonaws.com", true)},
				{"Policies", l{m{{"PolicyName", "keyrot-states"}, {"PolicyDocument", policyCFN(permissions.StateMachine(dep))}}}},
			}},
		}},
		kv{"StateMachine", m{
			{"Type", "AWS::StepFunctions::StateMachine"},
			{"Properties", m{
				{"StateMachineName", ref("DeploymentName")},
				{"StateMachineType", "STANDARD"},
				{"RoleArn", getAtt("StateMachineRole", "Arn")},
				{"Definition", definition},
				{"DefinitionSubstitutions", m{
					{"CoordinatorFunctionArn", getAtt("CoordinatorFunction", "Arn")},
					{"WorkerFunctionArn", getAtt("WorkerFunction", "Arn")},
					{"ReporterFunctionArn", getAtt("ReporterFunction", "Arn")},
					{"MaxConcurrency", ref("MaxConcurrency")},
					{"ToleratedFailurePercentage", ref("ToleratedFailurePercentage")},
				}},
			}},
		}},
		kv{"SchedulerRole", m{
			{"Type", "AWS::IAM::Role"},
			{"Properties", m{
				{"RoleName", sub(dep.RoleName("scheduler"))},
				{"Description", "Role of keyrot's schedule: start the state machine."},
				{"AssumeRolePolicyDocument", trustService("scheduler.amazonaws.com", true)},
				{"Policies", l{m{{"PolicyName", "keyrot-scheduler"}, {"PolicyDocument", policyCFN(permissions.Scheduler(dep))}}}},
			}},
		}},
		kv{"Schedule", m{
			{"Type", "AWS::Scheduler::Schedule"},
			{"Properties", m{
				{"Name", ref("DeploymentName")},
				{"Description", "Starts keyrot's run."},
				{"ScheduleExpression", ref("ScheduleExpression")},
				{"ScheduleExpressionTimezone", ref("ScheduleTimezone")},
				{"FlexibleTimeWindow", m{{"Mode", "OFF"}}},
				{"State", "ENABLED"},
				{"Target", m{{"Arn", ref("StateMachine")}, {"RoleArn", getAtt("SchedulerRole", "Arn")}, {"Input", "{}"}}},
			}},
		}},
		kv{"IAMEventsRule", m{
			{"Type", "AWS::Events::Rule"},
			{"Properties", m{
				{"Name", sub("${DeploymentName}-iam-events")},
				{"Description", "Access keys created or re-activated, console passwords created, MFA devices deactivated: the events function tells the owner when it was not keyrot."},
				{"EventPattern", iamEventPattern()},
				{"State", "ENABLED"},
				{"Targets", l{m{{"Id", "events"}, {"Arn", getAtt("EventsFunction", "Arn")}}}},
			}},
		}},
		kv{"IAMEventsPermission", m{
			{"Type", "AWS::Lambda::Permission"},
			{"Properties", m{
				{"FunctionName", ref("EventsFunction")},
				{"Action", "lambda:InvokeFunction"},
				{"Principal", "events.amazonaws.com"},
				{"SourceArn", getAtt("IAMEventsRule", "Arn")},
			}},
		}},
		kv{"OrganizationEventsBusPolicy", m{
			{"Type", "AWS::Events::EventBusPolicy"},
			{"Properties", m{
				{"EventBusName", "default"},
				{"StatementId", sub("${DeploymentName}-organization-iam-events")},
				{"Statement", busStatement(permissions.CentralBusPolicy(dep))},
			}},
		}},
		kv{"FailedRunsAlarm", m{
			{"Type", "AWS::CloudWatch::Alarm"},
			{"Properties", m{
				{"AlarmName", sub("${DeploymentName}-run-failed")},
				{"AlarmDescription", "A keyrot run failed, timed out or was aborted: see the execution in Step Functions."},
				{"Namespace", "AWS/States"},
				{"MetricName", "ExecutionsFailed"},
				{"Dimensions", l{m{{"Name", "StateMachineArn"}, {"Value", ref("StateMachine")}}}},
				{"Statistic", "Sum"},
				{"Period", 3600},
				{"EvaluationPeriods", 1},
				{"Threshold", 1},
				{"ComparisonOperator", "GreaterThanOrEqualToThreshold"},
				{"TreatMissingData", "notBreaching"},
				{"AlarmActions", l{ref("NotificationTopicArn")}},
			}},
		}},
		kv{"TimedOutRunsAlarm", m{
			{"Type", "AWS::CloudWatch::Alarm"},
			{"Properties", m{
				{"AlarmName", sub("${DeploymentName}-run-timed-out")},
				{"AlarmDescription", "A keyrot run timed out: see the execution in Step Functions."},
				{"Namespace", "AWS/States"},
				{"MetricName", "ExecutionsTimedOut"},
				{"Dimensions", l{m{{"Name", "StateMachineArn"}, {"Value", ref("StateMachine")}}}},
				{"Statistic", "Sum"},
				{"Period", 3600},
				{"EvaluationPeriods", 1},
				{"Threshold", 1},
				{"ComparisonOperator", "GreaterThanOrEqualToThreshold"},
				{"TreatMissingData", "notBreaching"},
				{"AlarmActions", l{ref("NotificationTopicArn")}},
			}},
		}},
		kv{"BlockedRotationsAlarm", m{
			{"Type", "AWS::CloudWatch::Alarm"},
			{"Properties", m{
				{"AlarmName", sub("${DeploymentName}-rotations-blocked")},
				{"AlarmDescription", "A run left rotations blocked until a person acts (the reporter's BlockedRotations metric): see the run summary."},
				{"Namespace", MetricNamespace},
				{"MetricName", MetricBlockedRotations},
				{"Dimensions", l{m{{"Name", MetricDimension}, {"Value", ref("DeploymentName")}}}},
				{"Statistic", "Maximum"},
				{"Period", 86400},
				{"EvaluationPeriods", 1},
				{"Threshold", 1},
				{"ComparisonOperator", "GreaterThanOrEqualToThreshold"},
				{"TreatMissingData", "notBreaching"},
				{"AlarmActions", l{ref("NotificationTopicArn")}},
			}},
		}},
	)
	t := m{
		{"AWSTemplateFormatVersion", "2010-09-09"},
		{"Description", "keyrot central stack: audits and rotates IAM access keys across the organization (Lambda, Step Functions Distributed Map, DynamoDB). Generated by go generate ./deploy; do not edit."},
		{"Parameters", params},
		{"Conditions", m{{"Rotate", m{{"Fn::Equals", l{ref("AuditOnly"), "false"}}}}}},
		{"Resources", res},
		{"Outputs", m{
			{"StateMachineArn", m{{"Value", ref("StateMachine")}}},
			{"TableName", m{{"Value", ref("Table")}}},
			{"CentralKeyArn", m{{"Value", getAtt("CentralKey", "Arn")}}},
			{"WorkerRoleArn", m{{"Value", getAtt("WorkerRole", "Arn")}}},
			{"EventsRoleArn", m{{"Value", getAtt("EventsRole", "Arn")}}},
		}},
	}
	return marshal(generatedHeader("central stack, in the account keyrot runs in"), t)
}

// The metric the reporter emits for the blocked-rotations alarm, as a
// CloudWatch embedded-metric-format log line.
const (
	MetricNamespace        = "keyrot"
	MetricBlockedRotations = "BlockedRotations"
	MetricDimension        = "Deployment"
)

func generatedHeader(what string) string {
	return "keyrot " + what + ".\nGenerated from internal/permissions and deploy/stepfunctions by `go generate ./deploy`:\ndo not edit; docs/deploy.md explains the parameters."
}

// memberResources are the member role and the IAM event forwarding, for
// the StackSet and the management stack.
func memberResources() m {
	dep := MemberDeployment(false)
	var pols l
	for _, name := range sortedKeys(permissions.MemberPolicies(dep)) {
		p := m{{"PolicyName", name}, {"PolicyDocument", policyCFN(permissions.MemberPolicies(dep)[name])}}
		if _, inAudit := permissions.MemberPolicies(MemberDeployment(true))[name]; !inAudit {
			pols = append(pols, ifCond("Rotate", p, noValue))
		} else {
			pols = append(pols, p)
		}
	}
	return m{
		{"MemberRole", m{
			{"Type", "AWS::IAM::Role"},
			{"Properties", m{
				{"RoleName", ref("MemberRoleName")},
				{"Description", "keyrot audits (and, unless audit-only, rotates) IAM access keys in this account; only keyrot's central worker and events roles may assume it."},
				{"MaxSessionDuration", 3600},
				{"AssumeRolePolicyDocument", policyCFN(permissions.MemberTrustCentral(dep))},
				{"Policies", pols},
			}},
		}},
		{"EventForwardingRole", m{
			{"Type", "AWS::IAM::Role"},
			{"Properties", m{
				{"Description", "Forwards this account's IAM credential events to keyrot's central event bus."},
				{"AssumeRolePolicyDocument", trustService("events.amazonaws.com", true)},
				{"Policies", l{m{{"PolicyName", "keyrot-forward-iam-events"}, {"PolicyDocument", policyCFN(permissions.EventForwarding(dep))}}}},
			}},
		}},
		{"EventForwardingRule", m{
			{"Type", "AWS::Events::Rule"},
			{"Properties", m{
				{"Description", "keyrot: forward IAM credential events (CloudTrail, us-east-1) to the central account."},
				{"EventPattern", iamEventPattern()},
				{"State", "ENABLED"},
				{"Targets", l{m{{"Id", "keyrot-central"}, {"Arn", sub(dep.EventBusARN)}, {"RoleArn", getAtt("EventForwardingRole", "Arn")}}}},
			}},
		}},
	}
}

func memberParams() m {
	return m{
		{"CentralAccountId", param("String", "Account the central stack runs in.", kv{"AllowedPattern", "^[0-9]{12}$"})},
		{"CentralRegion", param("String", "Region of the central stack.", kv{"Default", "us-east-1"})},
		{"DeploymentName", param("String", "DeploymentName of the central stack.", kv{"Default", "keyrot"}, kv{"AllowedPattern", "^[a-zA-Z][a-zA-Z0-9-]{0,30}$"})},
		{"OrganizationId", param("String", "The organization's ID (o-...).", kv{"AllowedPattern", "^o-[a-z0-9]{10,32}$"})},
		{"ExternalId", param("String", "The external ID (the central stack's ExternalId).",
			kv{"MinLength", 2}, kv{"MaxLength", 1224}, kv{"AllowedPattern", "^[\\w+=,.@:/-]+$"}, kv{"NoEcho", true})},
		{"MemberRoleName", param("String", "Name of the member role (the central stack's MemberRoleName).",
			kv{"Default", "keyrot-member"}, kv{"AllowedPattern", "^[\\w+=,.@-]{1,64}$"})},
		{"SecretPrefix", param("String", "Prefix of keyrot's secret names (the central stack's SecretPrefix).",
			kv{"Default", "keyrot/"}, kv{"AllowedPattern", "^[\\w/+=.@-]{1,256}$"})},
		{"AuditOnly", param("String", "true: the member role can only read.", kv{"Default", "false"}, kv{"AllowedValues", l{"true", "false"}})},
	}
}

// MemberStackSet is the template of the service-managed StackSet that
// creates the member role in every account of the organization.
func MemberStackSet() ([]byte, error) {
	t := m{
		{"AWSTemplateFormatVersion", "2010-09-09"},
		{"Description", "keyrot member role (service-managed StackSet, every account but the management account). Generated by go generate ./deploy; do not edit."},
		{"Parameters", memberParams()},
		{"Conditions", m{{"Rotate", m{{"Fn::Equals", l{ref("AuditOnly"), "false"}}}}}},
		{"Resources", memberResources()},
		{"Outputs", m{{"MemberRoleArn", m{{"Value", getAtt("MemberRole", "Arn")}}}}},
	}
	return marshal(generatedHeader("member role, deployed to every member account by a service-managed StackSet"), t)
}

// Management is the management account's template: the member role
// (StackSets never deploy to the management account) and the
// Organizations resource policy that lets the central account read the
// organization (delegated administration).
func Management() ([]byte, error) {
	res := memberResources()
	res = append(res, kv{"OrganizationsReadDelegation", m{
		{"Type", "AWS::Organizations::ResourcePolicy"},
		{"Condition", "DelegateOrganizationsRead"},
		{"Properties", m{{"Content", policyCFN(permissions.OrganizationsDelegation(MemberDeployment(false)))}}},
	}})
	params := memberParams()
	params = append(params, kv{"DelegateOrganizationsRead", param("String",
		"true: set the organization's resource policy so that the central account reads the organization (false when the organization already has one: add keyrot's statement to it by hand, docs/deploy.md).",
		kv{"Default", "true"}, kv{"AllowedValues", l{"true", "false"}})})
	t := m{
		{"AWSTemplateFormatVersion", "2010-09-09"},
		{"Description", "keyrot in the management account: the member role and the central account's read access to the organization. Generated by go generate ./deploy; do not edit."},
		{"Parameters", params},
		{"Conditions", m{
			{"Rotate", m{{"Fn::Equals", l{ref("AuditOnly"), "false"}}}},
			{"DelegateOrganizationsRead", m{{"Fn::Equals", l{ref("DelegateOrganizationsRead"), "true"}}}},
		}},
		{"Resources", res},
		{"Outputs", m{{"MemberRoleArn", m{{"Value", getAtt("MemberRole", "Arn")}}}}},
	}
	return marshal(generatedHeader("management account stack (StackSets never deploy there)"), t)
}
