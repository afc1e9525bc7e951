package deploygen

import (
	"github.com/keyrot/keyrot/internal/permissions"
)

// TerraformCentral is the deployment as the Terraform module's policy
// templates name it (templatefile variables).
func TerraformCentral(auditOnly bool) permissions.Deployment {
	return permissions.Deployment{
		Partition: "${partition}", Region: "${region}", AccountID: "${account_id}",
		Name:                "${name}",
		TableARN:            "${table_arn}",
		ConfigParameter:     "${config_parameter}",
		ExternalIDParameter: "/${name}/external-id",
		OrgID:               "${organization_id}",
		ExternalID:          "${external_id}",
		AuditOnly:           auditOnly,
		Member:              tfMemberOptions(),
	}
}

// TerraformMember is the deployment as the member module's policy
// templates name it.
func TerraformMember(auditOnly bool) permissions.Deployment {
	return permissions.Deployment{
		Partition: "${partition}", Region: "${central_region}", AccountID: "${central_account_id}",
		Name:        "${name}",
		OrgID:       "${organization_id}",
		ExternalID:  "${external_id}",
		EventBusARN: "arn:${partition}:events:${central_region}:${central_account_id}:event-bus/default",
		AuditOnly:   auditOnly,
		Member:      tfMemberOptions(),
	}
}

func tfMemberOptions() permissions.Options {
	return permissions.Options{
		RoleName:       "${member_role_name}",
		SecretPrefix:   "${secret_prefix}",
		SESIdentityARN: "${ses_identity_arn}",
		SNSTopicARN:    "${notification_topic_arn}",
	}
}

// TerraformPolicies are the policy templates of the Terraform modules, by
// path relative to the repository root.
func TerraformPolicies() map[string]permissions.Document {
	c, ca := TerraformCentral(false), TerraformCentral(true)
	mb, mba := TerraformMember(false), TerraformMember(true)
	const central, member = "deploy/terraform/policies/", "deploy/terraform/member/policies/"
	return map[string]permissions.Document{
		central + "coordinator.json.tftpl":             permissions.Coordinator(c),
		central + "worker.json.tftpl":                  permissions.Worker(c),
		central + "worker-audit-only.json.tftpl":       permissions.Worker(ca),
		central + "reporter.json.tftpl":                permissions.Reporter(c),
		central + "events.json.tftpl":                  permissions.Events(c),
		central + "states.json.tftpl":                  permissions.StateMachine(c),
		central + "scheduler.json.tftpl":               permissions.Scheduler(c),
		central + "central-key.json.tftpl":             permissions.CentralKeyPolicy(c),
		central + "central-bus.json.tftpl":             permissions.CentralBusPolicy(c),
		member + "member-audit.json.tftpl":             permissions.MemberPolicies(mba)["keyrot-audit"],
		member + "member-rotation.json.tftpl":          permissions.MemberPolicies(mb)["keyrot-rotation"],
		member + "member-trust.json.tftpl":             permissions.MemberTrustCentral(mb),
		member + "event-forwarding.json.tftpl":         permissions.EventForwarding(mb),
		member + "organizations-delegation.json.tftpl": permissions.OrganizationsDelegation(mb),
	}
}

// Terraform returns the Terraform modules' generated files: the policy
// templates and a copy of the state machine definition (a module reads
// files inside its own directory only).
func Terraform(asl []byte) (map[string][]byte, error) {
	out := map[string][]byte{"deploy/terraform/keyrot.asl.json": asl}
	for p, d := range TerraformPolicies() {
		out[p] = []byte(d.JSON() + "\n")
	}
	return out, nil
}
