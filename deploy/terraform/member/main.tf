# keyrot's member role and IAM event forwarding in one account: the same
# resources as deploy/cloudformation/member-stackset.yaml, and, with
# delegate_organizations_read in the management account, those of
# deploy/cloudformation/management.yaml. Every policy is read from
# policies/, which `go generate ./deploy` writes from internal/permissions.

data "aws_partition" "current" {}

locals {
  policy_vars = {
    partition          = data.aws_partition.current.partition
    central_region     = var.central_region
    central_account_id = var.central_account_id
    name               = var.name
    organization_id    = var.organization_id
    external_id        = var.external_id
    member_role_name   = var.member_role_name
    secret_prefix      = var.secret_prefix
  }
}

resource "aws_iam_role" "member" {
  name                 = var.member_role_name
  description          = "keyrot audits (and, unless audit-only, rotates) IAM access keys in this account; only keyrot's central worker and events roles may assume it."
  max_session_duration = 3600
  assume_role_policy   = templatefile("${path.module}/policies/member-trust.json.tftpl", local.policy_vars)
}

resource "aws_iam_role_policy" "audit" {
  name   = "keyrot-audit"
  role   = aws_iam_role.member.id
  policy = templatefile("${path.module}/policies/member-audit.json.tftpl", local.policy_vars)
}

resource "aws_iam_role_policy" "rotation" {
  count  = var.audit_only ? 0 : 1
  name   = "keyrot-rotation"
  role   = aws_iam_role.member.id
  policy = templatefile("${path.module}/policies/member-rotation.json.tftpl", local.policy_vars)
}

resource "aws_iam_role" "event_forwarding" {
  name_prefix = "keyrot-forward-"
  description = "Forwards this account's IAM credential events to keyrot's central event bus."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })
}

data "aws_caller_identity" "current" {}

resource "aws_iam_role_policy" "event_forwarding" {
  name   = "keyrot-forward-iam-events"
  role   = aws_iam_role.event_forwarding.id
  policy = templatefile("${path.module}/policies/event-forwarding.json.tftpl", local.policy_vars)
}

resource "aws_cloudwatch_event_rule" "forward" {
  name_prefix = "keyrot-forward-"
  description = "keyrot: forward IAM credential events (CloudTrail, us-east-1) to the central account."
  event_pattern = jsonencode({
    source        = ["aws.iam"]
    "detail-type" = ["AWS API Call via CloudTrail"]
    detail = {
      eventSource = ["iam.amazonaws.com"]
      eventName   = ["CreateAccessKey", "UpdateAccessKey", "CreateLoginProfile", "DeactivateMFADevice"]
    }
  })
}

resource "aws_cloudwatch_event_target" "forward" {
  rule      = aws_cloudwatch_event_rule.forward.name
  target_id = "keyrot-central"
  arn       = "arn:${data.aws_partition.current.partition}:events:${var.central_region}:${var.central_account_id}:event-bus/default"
  role_arn  = aws_iam_role.event_forwarding.arn
}

resource "aws_organizations_resource_policy" "delegation" {
  count   = var.delegate_organizations_read ? 1 : 0
  content = templatefile("${path.module}/policies/organizations-delegation.json.tftpl", local.policy_vars)
}
