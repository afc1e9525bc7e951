package iampolicy

// AWS-managed policy documents: AWS's own statements, from each policy's
// default version (Version and Updated below), as moto 5.2.1 records them
// in moto/iam/aws_managed_policies.py (imported from AWS). To refresh one:
// aws iam get-policy-version --policy-arn arn:aws:iam::aws:policy/NAME
// --version-id vN.
//
// The documents are TRIMMED to the services the sandbox implements: only
// actions of iam, sts, organizations, secretsmanager, kms, ses, sns, ssm,
// lambda and dynamodb (and "*") are kept, and a statement left with no
// action is dropped. Every other element (Sid, Effect, Resource,
// Condition) is as AWS ships it. The fuzz seed corpus
// (testdata/fuzz/FuzzParse/aws-managed-*) holds the untrimmed documents.

var managedDocs = []managedDoc{
	{
		Name:    "AdministratorAccess",
		Path:    "/",
		Version: "v1",
		Updated: "2015-02-06",
		Document: `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Action": "*",
      "Effect": "Allow",
      "Resource": "*"
    }
  ]
}`,
	},
	{
		Name:    "AWSOrganizationsReadOnlyAccess",
		Path:    "/",
		Version: "v6",
		Updated: "2024-06-07",
		Document: `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Action": [
        "organizations:Describe*",
        "organizations:List*"
      ],
      "Effect": "Allow",
      "Resource": "*",
      "Sid": "AWSOrganizationsReadOnly"
    }
  ]
}`,
	},
	{
		Name:    "IAMFullAccess",
		Path:    "/",
		Version: "v2",
		Updated: "2019-06-21",
		Document: `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Action": [
        "iam:*",
        "organizations:DescribeAccount",
        "organizations:DescribeOrganization",
        "organizations:DescribeOrganizationalUnit",
        "organizations:DescribePolicy",
        "organizations:ListChildren",
        "organizations:ListParents",
        "organizations:ListPoliciesForTarget",
        "organizations:ListRoots",
        "organizations:ListPolicies",
        "organizations:ListTargetsForPolicy"
      ],
      "Effect": "Allow",
      "Resource": "*"
    }
  ]
}`,
	},
	{
		Name:    "IAMReadOnlyAccess",
		Path:    "/",
		Version: "v4",
		Updated: "2018-01-25",
		Document: `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Action": [
        "iam:GenerateCredentialReport",
        "iam:GenerateServiceLastAccessedDetails",
        "iam:Get*",
        "iam:List*",
        "iam:SimulateCustomPolicy",
        "iam:SimulatePrincipalPolicy"
      ],
      "Effect": "Allow",
      "Resource": "*"
    }
  ]
}`,
	},
	{
		Name:    "IAMUserChangePassword",
		Path:    "/",
		Version: "v5",
		Updated: "2026-02-12",
		Document: `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Action": [
        "iam:ChangePassword"
      ],
      "Effect": "Allow",
      "Resource": [
        "arn:aws:iam::*:user/${aws:username}",
        "arn:aws:iam::*:user/*/${aws:username}"
      ]
    },
    {
      "Action": [
        "iam:GetAccountPasswordPolicy"
      ],
      "Effect": "Allow",
      "Resource": "*"
    }
  ]
}`,
	},
	{
		Name:    "ReadOnlyAccess",
		Path:    "/",
		Version: "v182",
		Updated: "2026-04-03",
		Document: `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Action": [
        "dynamodb:BatchGet*",
        "dynamodb:Describe*",
        "dynamodb:Get*",
        "dynamodb:List*",
        "dynamodb:PartiQLSelect",
        "dynamodb:Query",
        "dynamodb:Scan",
        "iam:Generate*",
        "iam:Get*",
        "iam:List*",
        "iam:Simulate*"
      ],
      "Effect": "Allow",
      "Resource": "*",
      "Sid": "ReadOnlyActionsGroup1"
    },
    {
      "Action": [
        "kms:Describe*",
        "kms:Get*",
        "kms:List*",
        "lambda:Get*",
        "lambda:List*",
        "organizations:Describe*",
        "organizations:List*",
        "secretsmanager:Describe*",
        "secretsmanager:GetResourcePolicy",
        "secretsmanager:List*",
        "ses:BatchGetMetricData",
        "ses:Describe*",
        "ses:Get*",
        "ses:List*",
        "sns:Check*",
        "sns:Get*",
        "sns:List*",
        "ssm:Describe*",
        "ssm:Get*",
        "ssm:List*",
        "sts:GetAccessKeyInfo",
        "sts:GetCallerIdentity",
        "sts:GetSessionToken"
      ],
      "Effect": "Allow",
      "Resource": "*",
      "Sid": "ReadOnlyActionsGroup2"
    }
  ]
}`,
	},
	{
		Name:    "SecretsManagerReadWrite",
		Path:    "/",
		Version: "v5",
		Updated: "2024-02-22",
		Document: `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Action": [
        "secretsmanager:*",
        "kms:DescribeKey",
        "kms:ListAliases",
        "kms:ListKeys",
        "lambda:ListFunctions"
      ],
      "Effect": "Allow",
      "Resource": "*",
      "Sid": "BasePermissions"
    },
    {
      "Action": [
        "lambda:AddPermission",
        "lambda:CreateFunction",
        "lambda:GetFunction",
        "lambda:InvokeFunction",
        "lambda:UpdateFunctionConfiguration"
      ],
      "Effect": "Allow",
      "Resource": "arn:aws:lambda:*:*:function:SecretsManager*",
      "Sid": "LambdaPermissions"
    }
  ]
}`,
	},
	{
		Name:    "SecurityAudit",
		Path:    "/",
		Version: "v86",
		Updated: "2026-05-01",
		Document: `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Action": [
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:DescribeExport",
        "dynamodb:DescribeGlobalTable",
        "dynamodb:DescribeKinesisStreamingDestination",
        "dynamodb:DescribeTable",
        "dynamodb:DescribeTimeToLive",
        "dynamodb:GetResourcePolicy",
        "dynamodb:ListBackups",
        "dynamodb:ListExports",
        "dynamodb:ListGlobalTables",
        "dynamodb:ListStreams",
        "dynamodb:ListTables",
        "dynamodb:ListTagsOfResource",
        "iam:GenerateCredentialReport",
        "iam:GenerateServiceLastAccessedDetails",
        "iam:Get*",
        "iam:List*",
        "iam:SimulateCustomPolicy",
        "iam:SimulatePrincipalPolicy",
        "kms:Describe*",
        "kms:Get*",
        "kms:List*",
        "lambda:GetAccountSettings",
        "lambda:GetFunctionCodeSigningConfig",
        "lambda:GetFunctionConcurrency",
        "lambda:GetFunctionConfiguration",
        "lambda:GetFunctionEventInvokeConfig",
        "lambda:GetLayerVersionPolicy",
        "lambda:GetPolicy",
        "lambda:GetRuntimeManagementConfig",
        "lambda:List*",
        "organizations:Describe*",
        "organizations:List*",
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetResourcePolicy",
        "secretsmanager:ListSecrets",
        "secretsmanager:ListSecretVersionIds",
        "ses:Describe*",
        "ses:GetAccount",
        "ses:GetAccountSendingEnabled",
        "ses:GetConfigurationSet",
        "ses:GetConfigurationSetEventDestinations",
        "ses:GetDedicatedIps",
        "ses:GetEmailIdentity",
        "ses:GetIdentityDkimAttributes",
        "ses:GetIdentityPolicies",
        "ses:GetIdentityVerificationAttributes",
        "ses:ListConfigurationSets",
        "ses:ListDedicatedIpPools",
        "ses:ListIdentities",
        "ses:ListIdentityPolicies",
        "ses:ListReceiptFilters",
        "ses:ListReceiptRuleSets",
        "ses:ListVerifiedEmailAddresses",
        "sns:GetPlatformApplicationAttributes",
        "sns:GetTopicAttributes",
        "sns:ListSubscriptions",
        "sns:ListSubscriptionsByTopic",
        "sns:ListTagsForResource",
        "sns:ListTopics",
        "ssm:Describe*",
        "ssm:GetAutomationExecution",
        "ssm:GetServiceSetting",
        "ssm:ListAssociations",
        "ssm:ListAssociationVersions",
        "ssm:ListCommands",
        "ssm:ListComplianceItems",
        "ssm:ListComplianceSummaries",
        "ssm:ListDocumentMetadataHistory",
        "ssm:ListDocuments",
        "ssm:ListDocumentVersions",
        "ssm:ListInventoryEntries",
        "ssm:ListOpsMetadata",
        "ssm:ListResourceComplianceSummaries",
        "ssm:ListResourceDataSync",
        "ssm:ListTagsForResource",
        "sts:GetAccessKeyInfo"
      ],
      "Effect": "Allow",
      "Resource": "*",
      "Sid": "BaseSecurityAuditStatement"
    }
  ]
}`,
	},
}
