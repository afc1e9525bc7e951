package lambdafn_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/lambdafn"
)

// cloudTrailEvent is the event EventBridge delivers for a CreateAccessKey
// call by caller (an IAM user's or a role session's ARN), shaped as AWS's
// CloudTrail record contents reference shows it, in the EventBridge
// envelope ("AWS API Call via CloudTrail").
func cloudTrailEvent(t *testing.T, id, account, caller, user, keyID string, at time.Time) json.RawMessage {
	t.Helper()
	identity := map[string]any{"type": "IAMUser", "principalId": "AIDAEXAMPLEHUMAN0001", "arn": caller, "accountId": account,
		"userName": caller[strings.LastIndex(caller, "/")+1:]}
	if rest, ok := strings.CutPrefix(caller, "arn:aws:sts::"+account+":assumed-role/"); ok {
		role, session, _ := strings.Cut(rest, "/")
		identity = map[string]any{"type": "AssumedRole", "principalId": "AROAEXAMPLEROLE00001:" + session, "arn": caller, "accountId": account,
			"sessionContext": map[string]any{
				"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROAEXAMPLEROLE00001", "arn": "arn:aws:iam::" + account + ":role/" + role,
					"accountId": account, "userName": role},
				"attributes": map[string]any{"creationDate": at.Add(-time.Minute).Format(time.RFC3339), "mfaAuthenticated": "false"},
			}}
	}
	ev := map[string]any{
		"version": "0", "id": "eb-" + id, "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam", "account": account,
		"time": at.Add(5 * time.Second).Format(time.RFC3339), "region": "us-east-1", "resources": []string{},
		"detail": map[string]any{
			"eventVersion": "1.09", "userIdentity": identity, "eventTime": at.Format(time.RFC3339),
			"eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey", "awsRegion": "us-east-1",
			"sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.15.0",
			"requestParameters": map[string]any{"userName": user},
			"responseElements": map[string]any{"accessKey": map[string]any{"userName": user, "accessKeyId": keyID, "status": "Active",
				"createDate": at.Format("Jan 2, 2006 3:04:05 PM")}},
			"requestID": "req-" + id, "eventID": id, "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
			"recipientAccountId": account, "eventCategory": "Management",
		},
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// handMadeKey has an administrator of fan-prod, through the
// organization's role in a session of their own, create a second key for
// api (owned by team@fan.example), and returns the CloudTrail event of
// that call and the key's ID.
func handMadeKey(t *testing.T, o *org) (json.RawMessage, string) {
	t.Helper()
	ctx := context.Background()
	cfg := o.accountConfig(t, "222233334444")
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := iam.NewFromConfig(cfg).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("api")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.AccessKey.AccessKeyId)
	return cloudTrailEvent(t, "hand-1", "222233334444", aws.ToString(who.Arn), "api", id, aws.ToTime(out.AccessKey.CreateDate)), id
}

// checkNotices checks that the mail o's SES sent since n is one notice to
// the owner and one to the security contact, each saying who made the key
// and showing its ID masked only.
func checkNotices(t *testing.T, o *org, n int, event json.RawMessage) {
	t.Helper()
	var ev struct {
		Detail struct {
			UserIdentity struct{ ARN string } `json:"userIdentity"`
			Response     struct {
				AccessKey struct {
					AccessKeyID string `json:"accessKeyId"`
				} `json:"accessKey"`
			} `json:"responseElements"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, m := range o.env.Server.Emails()[n:] {
		to = append(to, strings.Join(m.To, ","))
		if want := "An access key was created outside keyrot by " + ev.Detail.UserIdentity.ARN; !strings.Contains(m.Text, want) {
			t.Errorf("notice to %v does not say %q:\n%s", m.To, want, m.Text)
		}
		if !strings.Contains(m.Text, "api") || !strings.Contains(m.Text, "222233334444") {
			t.Errorf("notice to %v does not name the user and account:\n%s", m.To, m.Text)
		}
		if strings.Contains(m.Text+m.HTML, ev.Detail.Response.AccessKey.AccessKeyID) {
			t.Errorf("notice to %v shows the key ID unmasked", m.To)
		}
	}
	sort.Strings(to)
	if diff := cmp.Diff([]string{"security@fan.example", "team@fan.example"}, to); diff != "" {
		t.Errorf("notices sent (-want +got):\n%s", diff)
	}
}

// TestEventsHandler: the events handler, called in this process with the
// events EventBridge delivers, tells the owner (from the user's owner tag,
// read through the member role) and the security contact of a key created
// by hand, once even when the event is delivered twice, and nobody of a
// key keyrot's own apply created through its member role session.
func TestEventsHandler(t *testing.T) {
	o := startOrg(t, fanScenario, fanPolicy)
	inv := inProcess(o)

	event, handKey := handMadeKey(t, o)
	sent := len(o.env.Server.Emails())
	var res lambdafn.DetectResult
	inv(t, lambdafn.HandlerEvents, event, &res)
	if !res.Detected || res.Account != "222233334444" || res.User != "api" || res.Notices != 2 || len(res.Problems) > 0 {
		t.Fatalf("first delivery: %+v", res)
	}
	checkNotices(t, o, sent, event)

	sent = len(o.env.Server.Emails())
	var again lambdafn.DetectResult
	inv(t, lambdafn.HandlerEvents, event, &again)
	if !again.Detected || again.Notices != 0 || again.Suppressed != 2 {
		t.Errorf("second delivery of the event: %+v", again)
	}
	if n := len(o.env.Server.Emails()); n != sent {
		t.Errorf("second delivery of the event sent %d more notices", n-sent)
	}

	// The security team deletes the key; keyrot rotates on day 90: the sandbox's decision log says which
	// principal called CreateAccessKey for ci in fan-dev.
	if _, err := iam.NewFromConfig(o.accountConfig(t, "222233334444")).DeleteAccessKey(context.Background(),
		&iam.DeleteAccessKeyInput{UserName: aws.String("api"), AccessKeyId: aws.String(handKey)}); err != nil {
		t.Fatal(err)
	}
	o.advanceTo(90)
	o.env.Server.StartAuthzLog()
	cliApply(t, o)
	var by string
	for _, d := range o.env.Server.StopAuthzLog() {
		if d.Action == "iam:CreateAccessKey" && d.Account == "333344445555" && strings.HasSuffix(d.Resource, ":user/service/ci") {
			by = d.Principal
		}
	}
	if want := "arn:aws:sts::333344445555:assumed-role/OrganizationAccountAccessRole/keyrot"; by != want {
		t.Fatalf("keyrot created ci's key as %q, want %q", by, want)
	}
	k, err := o.env.Server.ActiveKey("333344445555", "ci")
	if err != nil {
		t.Fatal(err)
	}
	sent = len(o.env.Server.Emails())
	var own lambdafn.DetectResult
	inv(t, lambdafn.HandlerEvents, cloudTrailEvent(t, "keyrot-1", "333344445555", by, "ci", k.AccessKeyID, o.env.Server.Clock().Now()), &own)
	if own.Detected || own.Notices != 0 || own.Ignored == "" {
		t.Errorf("keyrot's own key: %+v", own)
	}
	if n := len(o.env.Server.Emails()); n != sent {
		t.Errorf("keyrot's own key: %d notices sent", n-sent)
	}

	// An event of another kind is answered, not failed (EventBridge would retry it).
	var other lambdafn.DetectResult
	inv(t, lambdafn.HandlerEvents, json.RawMessage(`{"id":"x","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}`), &other)
	if other.Detected || other.Ignored == "" {
		t.Errorf("an EC2 event: %+v", other)
	}
}

// TestLambdaRuntimeEvents builds cmd/keyrot-lambda and invokes its events
// handler under the Runtime Interface Emulator with the CloudTrail event
// of a key created by hand: one invocation tells the owner and the
// security contact; the event delivered again tells nobody. The notices
// are recorded in the sandbox's DynamoDB (KEYROT_TABLE), as deployed.
func TestLambdaRuntimeEvents(t *testing.T) {
	rieBin := rieBinary(t)
	o := startOrg(t, strings.Replace(fanScenario, "    root: {mfa: true}\n", "    root: {mfa: true}\n"+dynamoTable, 1), fanPolicy)
	o.table = "keyrot-history"
	r := startRIE(t, rieBin, bootstrap(t), 60*time.Second, o.processEnv(lambdafn.HandlerEvents))
	defer r.stop()
	event, _ := handMadeKey(t, o)
	sent := len(o.env.Server.Emails())
	b, err := r.invoke(event)
	if err != nil {
		t.Fatalf("%v\n%s", err, tail(r.log.String(), 3000))
	}
	var res lambdafn.DetectResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	if !res.Detected || res.Notices != 2 {
		t.Errorf("answer: %s", b)
	}
	checkNotices(t, o, sent, event)
	sent = len(o.env.Server.Emails())
	if b, err = r.invoke(event); err != nil {
		t.Fatalf("again: %v\n%s", err, tail(r.log.String(), 3000))
	}
	var again lambdafn.DetectResult
	if err := json.Unmarshal(b, &again); err != nil || again.Notices != 0 || again.Suppressed != 2 {
		t.Errorf("the event again: %s (%v)", b, err)
	}
	if n := len(o.env.Server.Emails()); n != sent {
		t.Errorf("the event again sent %d notices", n-sent)
	}
}
