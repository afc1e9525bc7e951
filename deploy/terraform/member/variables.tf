variable "central_account_id" {
  description = "Account the central deployment runs in."
  type        = string
}

variable "central_region" {
  description = "Region of the central deployment."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "The central deployment's name."
  type        = string
  default     = "keyrot"
}

variable "organization_id" {
  description = "The organization's ID (o-...)."
  type        = string
}

variable "external_id" {
  description = "The external ID (the central deployment's external_id)."
  type        = string
  sensitive   = true
}

variable "member_role_name" {
  description = "Name of the member role (the central deployment's member_role_name)."
  type        = string
  default     = "keyrot-member"
}

variable "secret_prefix" {
  description = "Prefix of keyrot's secret names (the central deployment's secret_prefix)."
  type        = string
  default     = "keyrot/"
}

variable "audit_only" {
  description = "The member role can only read."
  type        = bool
  default     = false
}

variable "delegate_organizations_read" {
  description = "In the management account: set the organization's resource policy so that the central account reads the organization."
  type        = bool
  default     = false
}
