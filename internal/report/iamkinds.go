package report

// Titles of the password-policy controls the per-user credential kinds'
// rules implement (CIS v3.0.0 1.8 and 1.9 are 1.7 and 1.8 in v5.0.0).
func init() {
	controlTitles[FrameworkCISv3]["1.8"] = "Ensure IAM password policy requires minimum length of 14 or greater"
	controlTitles[FrameworkCISv3]["1.9"] = "Ensure IAM password policy prevents password reuse"
	controlTitles[FrameworkCISv5]["1.7"] = "Ensure IAM password policy requires minimum length of 14 or greater"
	controlTitles[FrameworkCISv5]["1.8"] = "Ensure IAM password policy prevents password reuse"
	controlTitles[FrameworkSecurityHub]["IAM.7"] = "Password policies for IAM users should have strong configurations"
	controlTitles[FrameworkSecurityHub]["IAM.15"] = "Ensure IAM password policy requires minimum password length of 14 or greater"
	controlTitles[FrameworkSecurityHub]["IAM.16"] = "Ensure IAM password policy prevents password reuse"
}
