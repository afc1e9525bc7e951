package awsconf

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// IAMRegion is the region IAM requests are signed for in region's
// partition. IAM is a global service: its endpoint accepts only requests
// scoped to the partition's home region (us-east-1 in aws, cn-north-1 in
// aws-cn, us-gov-west-1 in aws-us-gov) and answers SignatureDoesNotMatch
// "Credential should be scoped to a valid region" to any other. The SDK
// picks that region by itself for AWS's own endpoint, but signs for the
// configured region when the endpoint is overridden (AWS_ENDPOINT_URL, the
// sandbox), so keyrot sets it.
func IAMRegion(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "cn-north-1"
	case strings.HasPrefix(region, "us-gov-"):
		return "us-gov-west-1"
	case strings.HasPrefix(region, "us-iso"), strings.HasPrefix(region, "eu-isoe-"):
		return region // isolated partitions: left to the SDK
	}
	return "us-east-1"
}

// NewIAM returns an IAM client on cfg that signs for IAMRegion(cfg.Region),
// so that it works with any configured region, against AWS and against an
// overridden endpoint alike. (Its endpoint is the same: the partition's
// global IAM endpoint.)
func NewIAM(cfg aws.Config) *iam.Client {
	return iam.NewFromConfig(cfg, func(o *iam.Options) { o.Region = IAMRegion(o.Region) })
}
