package report

// Titles of the controls the account and region credential kinds' rules
// implement (server and ACM certificates, Secrets Manager secrets), as the
// CIS AWS Foundations Benchmark v3.0.0 and AWS Security Hub name them.
func init() {
	controlTitles[FrameworkCISv3]["1.19"] = "Ensure that all the expired SSL/TLS certificates stored in AWS IAM are removed"
	controlTitles[FrameworkSecurityHub]["ACM.1"] = "Imported and ACM-issued certificates should be renewed after a specified time period"
	controlTitles[FrameworkSecurityHub]["SecretsManager.1"] = "Secrets Manager secrets should have automatic rotation enabled"
	controlTitles[FrameworkSecurityHub]["SecretsManager.2"] = "Secrets Manager secrets configured with automatic rotation should rotate successfully"
	controlTitles[FrameworkSecurityHub]["SecretsManager.3"] = "Remove unused Secrets Manager secrets"
	controlTitles[FrameworkSecurityHub]["SecretsManager.4"] = "Secrets Manager secrets should be rotated within a specified number of days"
}
