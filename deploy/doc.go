// Package deploy holds keyrot's deployment files: the container image
// definition (container/Dockerfile), the Helm chart (helm/keyrot), and the
// AWS deployment (cloudformation/, terraform/, stepfunctions/). It has no
// code; its tests parse the Dockerfile, render and lint the chart, apply it
// to a real Kubernetes API server with a server-side dry run, run the
// release build the image uses, and check and lint the AWS templates.
//
// The CloudFormation templates and the Terraform module's policies are
// generated from internal/permissions and stepfunctions/keyrot.asl.json:
//
//go:generate go run github.com/keyrot/keyrot/internal/deploygen/deploygen -root ..
package deploy
