output "member_role_arn" {
  description = "The member role keyrot assumes in this account."
  value       = aws_iam_role.member.arn
}
