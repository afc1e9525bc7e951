package report

// controlTitles are the titles of the controls keyrot's rules implement,
// by framework and control ID, so that auditors need not look them up.
var controlTitles = map[string]map[string]string{
	FrameworkCISv3: {
		"1.4":  "Ensure no 'root' user account access key exists",
		"1.5":  "Ensure MFA is enabled for the 'root' user account",
		"1.10": "Ensure multi-factor authentication (MFA) is enabled for all IAM users that have a console password",
		"1.11": "Do not setup access keys during initial user setup for all IAM users that have a console password",
		"1.12": "Ensure credentials unused for 45 days or greater are disabled",
		"1.13": "Ensure there is only one active access key available for any single IAM user",
		"1.14": "Ensure access keys are rotated every 90 days or less",
	},
	// CIS v5.0.0 renumbered these recommendations (one less); their titles
	// are given as in v3.0.0.
	FrameworkCISv5: {
		"1.3":  "Ensure no 'root' user account access key exists",
		"1.4":  "Ensure MFA is enabled for the 'root' user account",
		"1.9":  "Ensure multi-factor authentication (MFA) is enabled for all IAM users that have a console password",
		"1.10": "Do not setup access keys during initial user setup for all IAM users that have a console password",
		"1.11": "Ensure credentials unused for 45 days or greater are disabled",
		"1.12": "Ensure there is only one active access key available for any single IAM user",
		"1.13": "Ensure access keys are rotated every 90 days or less",
	},
	FrameworkSecurityHub: {
		"IAM.3":  "IAM users' access keys should be rotated every 90 days or less",
		"IAM.4":  "IAM root user access key should not exist",
		"IAM.5":  "MFA should be enabled for all IAM users that have a console password",
		"IAM.8":  "Unused IAM user credentials should be removed",
		"IAM.9":  "MFA should be enabled for the root user",
		"IAM.22": "IAM user credentials unused for 45 days should be removed",
	},
}

// controlTitle is the title of a control, empty when keyrot does not know it.
func controlTitle(framework, id string) string { return controlTitles[framework][id] }
