# keyrot central deployment: the same resources as
# deploy/cloudformation/central.yaml. Every policy is read from policies/,
# which `go generate ./deploy` writes from internal/permissions; the state
# machine definition is a copy of deploy/stepfunctions/keyrot.asl.json.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  # The placeholders of the policy templates.
  policy_vars = {
    partition              = local.partition
    region                 = local.region
    account_id             = local.account_id
    name                   = var.name
    table_arn              = aws_dynamodb_table.keyrot.arn
    config_parameter       = var.config_parameter_name
    organization_id        = var.organization_id
    external_id            = var.external_id
    member_role_name       = var.member_role_name
    secret_prefix          = var.secret_prefix
    ses_identity_arn       = "arn:${local.partition}:ses:${local.region}:${local.account_id}:identity/${var.ses_identity}"
    notification_topic_arn = var.notification_topic_arn
  }

  # Handlers and their timeouts in seconds.
  handlers = {
    coordinator = 300
    worker      = 900
    reporter    = 300
    events      = 60
  }
  handler_policies = {
    coordinator = templatefile("${path.module}/policies/coordinator.json.tftpl", local.policy_vars)
    worker      = templatefile(var.audit_only ? "${path.module}/policies/worker-audit-only.json.tftpl" : "${path.module}/policies/worker.json.tftpl", local.policy_vars)
    reporter    = templatefile("${path.module}/policies/reporter.json.tftpl", local.policy_vars)
    events      = templatefile("${path.module}/policies/events.json.tftpl", local.policy_vars)
  }
}

resource "aws_dynamodb_table" "keyrot" {
  name         = var.name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }
  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled = true
  }
  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_ssm_parameter" "external_id" {
  name        = "/${var.name}/external-id"
  description = "External ID keyrot passes when it assumes the member roles."
  type        = "String"
  value       = var.external_id
}

resource "aws_kms_key" "central" {
  description         = "Encrypts the access keys keyrot keeps in the central account (${var.name})."
  enable_key_rotation = true
  policy              = templatefile("${path.module}/policies/central-key.json.tftpl", local.policy_vars)
  depends_on          = [aws_iam_role.handler]
}

resource "aws_kms_alias" "central" {
  name          = "alias/${var.name}-secrets"
  target_key_id = aws_kms_key.central.key_id
}

resource "aws_cloudwatch_log_group" "handler" {
  for_each          = local.handlers
  name              = "/aws/lambda/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
}

resource "aws_iam_role" "handler" {
  for_each    = local.handlers
  name        = "${var.name}-${each.key}"
  description = "Execution role of keyrot's ${each.key} function."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "handler" {
  for_each = local.handlers
  name     = "keyrot-${each.key}"
  role     = aws_iam_role.handler[each.key].id
  policy   = local.handler_policies[each.key]
}

resource "aws_lambda_function" "handler" {
  for_each      = local.handlers
  function_name = "${var.name}-${each.key}"
  description   = "keyrot ${each.key}"
  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = [var.architecture]
  s3_bucket     = var.code_bucket
  s3_key        = var.code_key
  memory_size   = 512
  timeout       = each.value
  role          = aws_iam_role.handler[each.key].arn

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.handler[each.key].name
  }

  environment {
    variables = {
      KEYROT_HANDLER               = each.key
      KEYROT_CONFIG_PARAMETER      = var.config_parameter_name
      KEYROT_TABLE                 = aws_dynamodb_table.keyrot.name
      KEYROT_MODE                  = var.audit_only ? "audit" : "rotate"
      KEYROT_MEMBER_ROLE           = var.member_role_name
      KEYROT_EXTERNAL_ID_PARAMETER = aws_ssm_parameter.external_id.name
      KEYROT_DEPLOYMENT            = var.name
    }
  }

  depends_on = [aws_iam_role_policy.handler]
}

resource "aws_iam_role" "states" {
  name        = "${var.name}-states"
  description = "Role of keyrot's state machine."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "states.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "states" {
  name   = "keyrot-states"
  role   = aws_iam_role.states.id
  policy = templatefile("${path.module}/policies/states.json.tftpl", local.policy_vars)
}

resource "aws_sfn_state_machine" "keyrot" {
  name     = var.name
  type     = "STANDARD"
  role_arn = aws_iam_role.states.arn
  definition = templatefile("${path.module}/keyrot.asl.json", {
    CoordinatorFunctionArn     = aws_lambda_function.handler["coordinator"].arn
    WorkerFunctionArn          = aws_lambda_function.handler["worker"].arn
    ReporterFunctionArn        = aws_lambda_function.handler["reporter"].arn
    MaxConcurrency             = var.max_concurrency
    ToleratedFailurePercentage = var.tolerated_failure_percentage
  })
  depends_on = [aws_iam_role_policy.states]
}

resource "aws_iam_role" "scheduler" {
  name        = "${var.name}-scheduler"
  description = "Role of keyrot's schedule: start the state machine."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "keyrot-scheduler"
  role   = aws_iam_role.scheduler.id
  policy = templatefile("${path.module}/policies/scheduler.json.tftpl", local.policy_vars)
}

resource "aws_scheduler_schedule" "keyrot" {
  name                         = var.name
  description                  = "Starts keyrot's run."
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_timezone
  state                        = "ENABLED"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sfn_state_machine.keyrot.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = "{}"
  }
}

resource "aws_cloudwatch_event_rule" "iam_events" {
  name        = "${var.name}-iam-events"
  description = "Access keys created or re-activated, console passwords created, MFA devices deactivated: the events function tells the owner when it was not keyrot."
  event_pattern = jsonencode({
    source        = ["aws.iam"]
    "detail-type" = ["AWS API Call via CloudTrail"]
    detail = {
      eventSource = ["iam.amazonaws.com"]
      eventName   = ["CreateAccessKey", "UpdateAccessKey", "CreateLoginProfile", "DeactivateMFADevice"]
    }
  })
}

resource "aws_cloudwatch_event_target" "iam_events" {
  rule      = aws_cloudwatch_event_rule.iam_events.name
  target_id = "events"
  arn       = aws_lambda_function.handler["events"].arn
}

resource "aws_lambda_permission" "iam_events" {
  function_name = aws_lambda_function.handler["events"].function_name
  action        = "lambda:InvokeFunction"
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.iam_events.arn
}

# The organization's accounts forward their IAM events to the default bus.
# This resource owns the bus's whole policy.
resource "aws_cloudwatch_event_bus_policy" "organization" {
  event_bus_name = "default"
  policy         = templatefile("${path.module}/policies/central-bus.json.tftpl", local.policy_vars)
}

resource "aws_cloudwatch_metric_alarm" "run_failed" {
  alarm_name          = "${var.name}-run-failed"
  alarm_description   = "A keyrot run failed: see the execution in Step Functions."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.keyrot.arn }
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.notification_topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "run_timed_out" {
  alarm_name          = "${var.name}-run-timed-out"
  alarm_description   = "A keyrot run timed out: see the execution in Step Functions."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsTimedOut"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.keyrot.arn }
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.notification_topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "rotations_blocked" {
  alarm_name          = "${var.name}-rotations-blocked"
  alarm_description   = "A run left rotations blocked until a person acts (the reporter's BlockedRotations metric): see the run summary."
  namespace           = "keyrot"
  metric_name         = "BlockedRotations"
  dimensions          = { Deployment = var.name }
  statistic           = "Maximum"
  period              = 86400
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.notification_topic_arn]
}
