output "state_machine_arn" {
  description = "The state machine a run is an execution of."
  value       = aws_sfn_state_machine.keyrot.arn
}

output "table_name" {
  description = "The DynamoDB table of runs, leases and notices."
  value       = aws_dynamodb_table.keyrot.name
}

output "central_key_arn" {
  description = "The KMS key of the secrets kept in the central account (rotation.kms_key_id with store: central)."
  value       = aws_kms_key.central.arn
}

output "worker_role_arn" {
  description = "The worker's role, which the member roles trust."
  value       = aws_iam_role.handler["worker"].arn
}
