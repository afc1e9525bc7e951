package deploy

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/keyrot/keyrot/internal/deploygen"
	"github.com/keyrot/keyrot/internal/mototest"
)

// motoAccount is the account moto's resources are in.
const motoAccount = "123456789012"

// subCFN fills in the placeholders the central template's Fn::Sub strings
// use, for a stack named keyrot in moto's account.
var subCFN = strings.NewReplacer("${AWS::Partition}", "aws", "${AWS::Region}", "us-east-1", "${AWS::AccountId}", motoAccount,
	"${DeploymentName}", "keyrot", "${ConfigParameterName}", "/keyrot/config", "${OrganizationId}", "o-abcdef1234", "${ExternalId}", "ext")

// TestScheduleAndRolesInMoto creates, in moto, what the central template
// creates around the state machine: the state machine's and the
// schedule's IAM roles with the template's trust policies and exactly its
// (generated) policies, the state machine with its role, and the
// EventBridge Scheduler schedule with the template's expression, time zone,
// target and role (through the AWS CLI, since keyrot's module has no
// Scheduler client). moto accepts them as the template has them and gives
// them back unchanged.
//
// What moto does not do, said plainly: its Scheduler stores schedules and
// never fires them, so no execution is started by the schedule; and
// neither its Step Functions interpreter nor its Scheduler evaluates the
// roles' policies (moto's optional IAM authorization,
// INITIAL_NO_AUTH_ACTION_COUNT, checks the callers of its API, not the
// calls a service makes with a role). The roles' policies are proven
// against the definition instead (TestStateMachineRoleFromDefinition).
func TestScheduleAndRolesInMoto(t *testing.T) {
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	endpoint := mototest.Start(t)
	ctx := context.Background()
	cfg := mototest.Config(endpoint)
	rs := resources(t, cfnTemplate(t, "central.yaml"))
	ic := iam.NewFromConfig(cfg)
	roleARN := map[string]string{}
	for _, res := range []string{"StateMachineRole", "SchedulerRole"} {
		p := props(rs[res])
		name := subCFN.Replace(p["RoleName"].(map[string]any)["Fn::Sub"].(string))
		trust, _ := resolve(p["AssumeRolePolicyDocument"], true)
		out, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(subCFN.Replace(asJSON(t, trust)))})
		if err != nil {
			t.Fatalf("create role %s: %v", name, err)
		}
		roleARN[res] = aws.ToString(out.Role.Arn)
		for pname, doc := range rolePolicies(t, rs[res], true) {
			if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pname), PolicyDocument: aws.String(subCFN.Replace(doc))}); err != nil {
				t.Fatalf("put %s's policy %s: %v", name, pname, err)
			}
			got, err := ic.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pname)})
			if err != nil {
				t.Fatal(err)
			}
			// IAM answers the document URL-encoded (RFC 3986), as AWS does.
			text, err := url.PathUnescape(aws.ToString(got.PolicyDocument))
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, subCFN.Replace(doc), text) {
				t.Errorf("%s's policy %s in moto:\n%s\nwant:\n%s", name, pname, aws.ToString(got.PolicyDocument), subCFN.Replace(doc))
			}
		}
	}

	def, err := os.ReadFile(filepath.Join(repoRoot(t), filepath.FromSlash(deploygen.ASLPath)))
	if err != nil {
		t.Fatal(err)
	}
	definition := strings.NewReplacer("${CoordinatorFunctionArn}", "arn:aws:lambda:us-east-1:"+motoAccount+":function:keyrot-coordinator",
		"${WorkerFunctionArn}", "arn:aws:lambda:us-east-1:"+motoAccount+":function:keyrot-worker",
		"${ReporterFunctionArn}", "arn:aws:lambda:us-east-1:"+motoAccount+":function:keyrot-reporter",
		"${MaxConcurrency}", "10", "${ToleratedFailurePercentage}", "0").Replace(string(def))
	sc := sfn.NewFromConfig(cfg)
	sm, err := sc.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("keyrot"), Definition: aws.String(definition), RoleArn: aws.String(roleARN["StateMachineRole"])})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := sc.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: sm.StateMachineArn})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(desc.RoleArn) != roleARN["StateMachineRole"] || aws.ToString(sm.StateMachineArn) != "arn:aws:states:us-east-1:"+motoAccount+":stateMachine:keyrot" {
		t.Errorf("state machine %s with role %s", aws.ToString(sm.StateMachineArn), aws.ToString(desc.RoleArn))
	}

	// The schedule as the template sets it, with its parameters' defaults.
	params := cfnTemplate(t, "central.yaml")["Parameters"].(map[string]any)
	expr := params["ScheduleExpression"].(map[string]any)["Default"].(string)
	tz := params["ScheduleTimezone"].(map[string]any)["Default"].(string)
	sched := props(rs["Schedule"])
	target := map[string]string{"Arn": aws.ToString(sm.StateMachineArn), "RoleArn": roleARN["SchedulerRole"], "Input": sched["Target"].(map[string]any)["Input"].(string)}
	tb, _ := json.Marshal(target)
	cli := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(awsCLI, append(args, "--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json")...)
		var env []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "AWS_") {
				env = append(env, kv)
			}
		}
		cmd.Env = append(env, "AWS_ACCESS_KEY_ID="+mototest.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+mototest.SecretAccessKey,
			"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	cli("scheduler", "create-schedule", "--name", "keyrot", "--schedule-expression", expr, "--schedule-expression-timezone", tz,
		"--flexible-time-window", `{"Mode":"`+sched["FlexibleTimeWindow"].(map[string]any)["Mode"].(string)+`"}`,
		"--state", sched["State"].(string), "--target", string(tb))
	var got struct {
		ScheduleExpression, ScheduleExpressionTimezone, State string
		Target                                                struct{ Arn, RoleArn, Input string }
	}
	if err := json.Unmarshal(cli("scheduler", "get-schedule", "--name", "keyrot"), &got); err != nil {
		t.Fatal(err)
	}
	if got.ScheduleExpression != expr || got.ScheduleExpressionTimezone != tz || got.State != "ENABLED" ||
		got.Target.Arn != target["Arn"] || got.Target.RoleArn != target["RoleArn"] || got.Target.Input != target["Input"] {
		t.Errorf("schedule in moto: %+v", got)
	}
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return asJSON(t, x) == asJSON(t, y)
}
