package sandbox_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"
)

// The header of IAM's credential report, written out independently of the
// sandbox's constant.
const wantReportHeader = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active," +
	"access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service," +
	"access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service," +
	"cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated"

func rt(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

// reportLines fetches the credential report and returns its lines by user.
func reportLines(t *testing.T, c *iam.Client) (header string, rows map[string]string, order []string, generated time.Time) {
	t.Helper()
	out, err := c.GetCredentialReport(context.Background(), &iam.GetCredentialReportInput{})
	if err != nil {
		t.Fatal(err)
	}
	if out.ReportFormat != types.ReportFormatTypeTextCsv {
		t.Errorf("format %q", out.ReportFormat)
	}
	content := string(out.Content)
	if strings.HasSuffix(content, "\n") {
		t.Errorf("report ends with a newline")
	}
	lines := strings.Split(content, "\n")
	rows = map[string]string{}
	for _, l := range lines[1:] {
		user, _, _ := strings.Cut(l, ",")
		rows[user] = l
		order = append(order, user)
	}
	return lines[0], rows, order, *out.GeneratedTime
}

func generate(t *testing.T, c *iam.Client) (types.ReportStateType, string) {
	t.Helper()
	out, err := c.GenerateCredentialReport(context.Background(), &iam.GenerateCredentialReportInput{})
	if err != nil {
		t.Fatal(err)
	}
	return out.State, aws.ToString(out.Description)
}

func TestIAMCredentialReport(t *testing.T) {
	env, c := iamEnv(t)
	ctx := context.Background()
	clock := env.Server.Clock()
	acct := env.Server.ManagementAccountID()

	_, err := c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	wantAPIError(t, err, "ReportNotPresent", 410)

	alice := mustCreateUser(t, c, "alice")
	bob := mustCreateUser(t, c, "bob")
	bobKey := mustCreateKey(t, c, "bob")
	lp, err := c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("bob"), Password: aws.String("Secret-Pass-1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("bob"), SerialNumber: aws.String("arn:aws:iam::" + acct + ":mfa/bob"), AuthenticationCode1: aws.String("123456"), AuthenticationCode2: aws.String("234567")}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(24 * time.Hour)
	if err := callerVia(env, bobKey, "us-west-2"); err != nil {
		t.Fatal(err)
	}
	bobSecond := mustCreateKey(t, c, "bob")
	if _, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: bobSecond.AccessKeyId, Status: types.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	used, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: bobKey.AccessKeyId})
	if err != nil {
		t.Fatal(err)
	}

	if st, desc := generate(t, c); st != types.ReportStateTypeStarted || desc != "No report exists. Starting a new report generation task" {
		t.Fatalf("first generate: %s %q", st, desc)
	}
	_, err = c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	wantAPIError(t, err, "ReportInProgress", 404)
	if st, _ := generate(t, c); st != types.ReportStateTypeInprogress {
		t.Fatalf("generate while in progress: %s", st)
	}
	clock.Advance(3 * time.Second)
	if st, _ := generate(t, c); st != types.ReportStateTypeComplete {
		t.Fatalf("generate after completion: %s", st)
	}

	header, rows, order, gen1 := reportLines(t, c)
	if header != wantReportHeader {
		t.Errorf("header:\n got %s\nwant %s", header, wantReportHeader)
	}
	if d := cmp.Diff([]string{"<root_account>", "alice", "bob"}, order); d != "" {
		t.Errorf("row order (-want +got):\n%s", d)
	}
	rootRE := regexp.MustCompile(`^<root_account>,arn:aws:iam::` + acct + `:root,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00,` +
		`not_supported,no_information,not_supported,not_supported,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A$`)
	if !rootRE.MatchString(rows["<root_account>"]) {
		t.Errorf("root row %s", rows["<root_account>"])
	}
	wantAlice := "alice," + *alice.Arn + "," + rt(*alice.CreateDate) + ",false,N/A,N/A,N/A,false," +
		"false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
	if rows["alice"] != wantAlice {
		t.Errorf("alice row:\n got %s\nwant %s", rows["alice"], wantAlice)
	}
	wantBob := "bob," + *bob.Arn + "," + rt(*bob.CreateDate) + ",true,no_information," + rt(*lp.LoginProfile.CreateDate) + ",N/A,true," +
		"true," + rt(*bobKey.CreateDate) + "," + rt(*used.AccessKeyLastUsed.LastUsedDate) + ",us-west-2,sts," +
		"false," + rt(*bobSecond.CreateDate) + ",N/A,N/A,N/A,false,N/A,false,N/A"
	if rows["bob"] != wantBob {
		t.Errorf("bob row:\n got %s\nwant %s", rows["bob"], wantBob)
	}

	// The 4-hour rule: a key created now is absent from the report until
	// the report is four hours old and is generated again.
	mustCreateUser(t, c, "carol")
	mustCreateKey(t, c, "carol")
	clock.Advance(3*time.Hour + 59*time.Minute)
	if st, _ := generate(t, c); st != types.ReportStateTypeComplete {
		t.Fatalf("generate within 4h: %s", st)
	}
	_, rows, _, gen2 := reportLines(t, c)
	if _, ok := rows["carol"]; ok || !gen2.Equal(gen1) {
		t.Fatalf("report regenerated within 4h (carol present %v, generated %v then %v)", ok, gen1, gen2)
	}
	clock.Advance(2 * time.Minute)
	_, rows, _, _ = reportLines(t, c)
	if _, ok := rows["carol"]; ok {
		t.Fatal("an old report changed without GenerateCredentialReport")
	}
	if st, desc := generate(t, c); st != types.ReportStateTypeStarted || desc == "" {
		t.Fatalf("generate after 4h: %s %q", st, desc)
	}
	clock.Advance(3 * time.Second)
	_, rows, _, gen3 := reportLines(t, c)
	if !strings.HasPrefix(rows["carol"], "carol,") || !gen3.After(gen1.Add(4*time.Hour)) {
		t.Errorf("regenerated report: carol %q, generated %v (first %v)", rows["carol"], gen3, gen1)
	}
}
