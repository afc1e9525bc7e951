package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/deploygen"
	"github.com/keyrot/keyrot/internal/permissions"
)

// grant is one action on one resource.
type grant struct{ action, resource string }

func grantsOf(d permissions.Document) []string {
	var out []string
	for _, s := range d.Statement {
		if s.Effect != "Allow" {
			continue
		}
		for _, a := range s.Action {
			for _, r := range s.Resource {
				out = append(out, a+" on "+r)
			}
		}
	}
	sort.Strings(out)
	return out
}

// aslState is the part of a state the role's permissions depend on.
type aslState struct {
	Type       string          `json:"Type"`
	Resource   string          `json:"Resource"`
	Parameters json.RawMessage `json:"Parameters"`
	Arguments  json.RawMessage `json:"Arguments"`
	// ItemReader and ResultWriter read and write S3 (their own
	// permissions, which this derivation does not know: it fails on them).
	ItemReader    json.RawMessage `json:"ItemReader"`
	ResultWriter  json.RawMessage `json:"ResultWriter"`
	ItemProcessor *struct {
		ProcessorConfig struct {
			Mode string `json:"Mode"`
		} `json:"ProcessorConfig"`
		States map[string]aslState `json:"States"`
	} `json:"ItemProcessor"`
	Iterator *struct {
		States map[string]aslState `json:"States"`
	} `json:"Iterator"`
}

// requiredByDefinition derives the state machine role's grants from the
// definition, following what AWS documents each construct needs:
//
//   - a Task of the optimized Lambda integration
//     (arn:aws:states:::lambda:invoke) with a FunctionName needs
//     lambda:InvokeFunction on the function and its versions and aliases
//     ("IAM policies for invoking AWS Lambda with Step Functions",
//     docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html: the
//     function's ARN and ARN:*);
//   - a Map in DISTRIBUTED mode starts child workflow executions of the
//     state machine itself: states:StartExecution on the state machine,
//     states:DescribeExecution and states:StopExecution on its executions
//     ("IAM policies for using Distributed Map states",
//     docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html:
//     arn:…:stateMachine:NAME and arn:…:execution:NAME/*);
//   - Choice, Pass, Succeed and Fail states call nothing.
//
// Any other Task resource, an ItemReader or a ResultWriter (S3) is an
// error: its documented permissions must be added here first.
func requiredByDefinition(states map[string]aslState, fn func(string) (string, error), machine string) ([]grant, error) {
	var out []grant
	names := make([]string, 0, len(states))
	for n := range states {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		s := states[name]
		switch s.Type {
		case "Choice", "Pass", "Succeed", "Fail":
		case "Task":
			if s.Resource != "arn:aws:states:::lambda:invoke" {
				return nil, fmt.Errorf("state %s: task resource %s: its documented permissions are not known here", name, s.Resource)
			}
			var p struct {
				FunctionName string `json:"FunctionName"`
			}
			if err := json.Unmarshal(s.Parameters, &p); err != nil || p.FunctionName == "" {
				return nil, fmt.Errorf("state %s: no literal FunctionName in its Parameters (%v)", name, err)
			}
			arn, err := fn(p.FunctionName)
			if err != nil {
				return nil, fmt.Errorf("state %s: %w", name, err)
			}
			out = append(out, grant{"lambda:InvokeFunction", arn}, grant{"lambda:InvokeFunction", arn + ":*"})
		case "Map":
			if len(s.ItemReader) > 0 || len(s.ResultWriter) > 0 {
				return nil, fmt.Errorf("state %s: ItemReader or ResultWriter: their S3 permissions are not known here", name)
			}
			var inner map[string]aslState
			switch {
			case s.ItemProcessor != nil:
				inner = s.ItemProcessor.States
				if s.ItemProcessor.ProcessorConfig.Mode == "DISTRIBUTED" {
					exec := strings.Replace(machine, ":stateMachine:", ":execution:", 1) + "/*"
					out = append(out, grant{"states:StartExecution", machine},
						grant{"states:DescribeExecution", exec}, grant{"states:StopExecution", exec})
				}
			case s.Iterator != nil:
				inner = s.Iterator.States
			}
			more, err := requiredByDefinition(inner, fn, machine)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		default:
			return nil, fmt.Errorf("state %s: type %s: its permissions are not known here", name, s.Type)
		}
	}
	return out, nil
}

// TestStateMachineRoleFromDefinition: the state machine role's generated
// policy grants exactly what the definition needs, derived from the
// definition itself (every Task's function, the Distributed Map's child
// executions) as AWS documents each construct, no more and no less. The
// sandbox runs no Step Functions, and moto's Step Functions does not
// evaluate the role's policies (it invokes the functions whatever the
// role may do), so this is the proof for this role.
func TestStateMachineRoleFromDefinition(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), filepath.FromSlash(deploygen.ASLPath)))
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		States map[string]aslState `json:"States"`
	}
	if err := json.Unmarshal(b, &def); err != nil {
		t.Fatal(err)
	}
	rs := resources(t, cfnTemplate(t, "central.yaml"))
	subs := props(rs["StateMachine"])["DefinitionSubstitutions"].(map[string]any)
	dep := deploygen.CentralDeployment(false)
	// ${XFunctionArn} is the Arn of a function resource of the template,
	// whose name is the deployment's name for one handler.
	ref := regexp.MustCompile(`^\$\{([A-Za-z0-9]+)\}$`)
	fn := func(name string) (string, error) {
		m := ref.FindStringSubmatch(name)
		if m == nil {
			return "", fmt.Errorf("function %q is not a substitution", name)
		}
		att, _ := subs[m[1]].(map[string]any)["Fn::GetAtt"].([]any)
		if len(att) != 2 || att[1] != "Arn" {
			return "", fmt.Errorf("${%s} is not a function's Arn: %v", m[1], subs[m[1]])
		}
		res, ok := rs[att[0].(string)]
		if !ok || res["Type"] != "AWS::Lambda::Function" {
			return "", fmt.Errorf("${%s} names %v, not a function of the template", m[1], att[0])
		}
		fname, _ := props(res)["FunctionName"].(map[string]any)["Fn::Sub"].(string)
		for _, h := range permissions.Handlers {
			if fname == dep.FunctionName(h) {
				return dep.FunctionARN(h), nil
			}
		}
		return "", fmt.Errorf("function %s is no handler's", fname)
	}
	if n := props(rs["StateMachine"])["StateMachineName"].(map[string]any)["Ref"]; n != "DeploymentName" {
		t.Fatalf("the state machine is named %v, not the deployment's name", n)
	}
	need, err := requiredByDefinition(def.States, fn, dep.StateMachineARN())
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	seen := map[string]bool{}
	for _, g := range need {
		if s := g.action + " on " + g.resource; !seen[s] {
			seen[s] = true
			want = append(want, s)
		}
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, grantsOf(permissions.StateMachine(dep))); diff != "" {
		t.Errorf("the state machine role's policy is not what the definition needs (-needed +granted):\n%s", diff)
	}
	t.Logf("the definition needs %d grants; the policy grants exactly those", len(want))

	// The schedule's role: EventBridge Scheduler calls StartExecution on
	// the schedule's target with the role (templated target for Step
	// Functions, "Set up the execution role",
	// docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html).
	target := props(rs["Schedule"])["Target"].(map[string]any)
	if target["Arn"].(map[string]any)["Ref"] != "StateMachine" || target["RoleArn"].(map[string]any)["Fn::GetAtt"].([]any)[0] != "SchedulerRole" {
		t.Fatalf("the schedule's target is %v", target)
	}
	if diff := cmp.Diff([]string{"states:StartExecution on " + dep.StateMachineARN()}, grantsOf(permissions.Scheduler(dep))); diff != "" {
		t.Errorf("the scheduler role's policy is not what its one target needs (-needed +granted):\n%s", diff)
	}
}

// TestStateMachineRoleDerivationFails: the derivation refuses what it
// does not know, so that a new kind of state cannot slip past it.
func TestStateMachineRoleDerivationFails(t *testing.T) {
	fn := func(string) (string, error) { return "arn:fn", nil }
	for name, st := range map[string]aslState{
		"sqs task":    {Type: "Task", Resource: "arn:aws:states:::sqs:sendMessage"},
		"item reader": {Type: "Map", ItemReader: json.RawMessage(`{"Resource":"arn:aws:states:::s3:getObject"}`)},
		"parallel":    {Type: "Parallel"},
		"no function": {Type: "Task", Resource: "arn:aws:states:::lambda:invoke", Parameters: json.RawMessage(`{"FunctionName.$":"$.fn"}`)},
	} {
		if _, err := requiredByDefinition(map[string]aslState{"S": st}, fn, "arn:aws:states:r:a:stateMachine:m"); err == nil {
			t.Errorf("%s: derived without an error", name)
		}
	}
}
