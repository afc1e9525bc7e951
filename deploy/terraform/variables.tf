variable "name" {
  description = "Prefix of the names of the deployment's functions, roles, log groups, table and state machine."
  type        = string
  default     = "keyrot"
  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,30}$", var.name))
    error_message = "The name must start with a letter and have at most 31 letters, digits and hyphens."
  }
}

variable "organization_id" {
  description = "The organization's ID (o-...): the member roles trust only principals of this organization."
  type        = string
}

variable "external_id" {
  description = "The external ID the member roles require (the same value in the member module or StackSet)."
  type        = string
  sensitive   = true
}

variable "member_role_name" {
  description = "Name of the role the member StackSet (or the member module) creates in every account."
  type        = string
  default     = "keyrot-member"
}

variable "secret_prefix" {
  description = "Prefix of keyrot's secret names (the start of rotation.secret_name)."
  type        = string
  default     = "keyrot/"
}

variable "audit_only" {
  description = "Audit only: KEYROT_MODE=audit and no permission that changes a credential or a secret."
  type        = bool
  default     = false
}

variable "code_bucket" {
  description = "S3 bucket holding the Lambda package (bootstrap zipped)."
  type        = string
}

variable "code_key" {
  description = "S3 key of the Lambda package."
  type        = string
}

variable "architecture" {
  description = "Architecture the package was built for: arm64 or x86_64."
  type        = string
  default     = "arm64"
  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "The architecture must be arm64 or x86_64."
  }
}

variable "config_parameter_name" {
  description = "Name of the SSM String parameter holding keyrot.yaml, with its leading slash."
  type        = string
  default     = "/keyrot/config"
}

variable "ses_identity" {
  description = "Verified SES identity (domain or address) the digests are sent from."
  type        = string
}

variable "notification_topic_arn" {
  description = "SNS topic for keyrot's notices and the alarms."
  type        = string
}

variable "schedule_expression" {
  description = "When a run starts (EventBridge Scheduler expression)."
  type        = string
  default     = "cron(0 6 * * ? *)"
}

variable "schedule_timezone" {
  description = "Time zone of the schedule (IANA name)."
  type        = string
  default     = "UTC"
}

variable "max_concurrency" {
  description = "Batches worked on at once by the Distributed Map."
  type        = number
  default     = 10
}

variable "tolerated_failure_percentage" {
  description = "Share of batches that may fail before the run fails."
  type        = number
  default     = 10
}

variable "log_retention_days" {
  description = "Days the functions' logs are kept."
  type        = number
  default     = 90
}
