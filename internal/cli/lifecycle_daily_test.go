package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/app"
)

const dailyScenario = `description: one service user with a brand-new key
organization:
  id: o-daily00001
  management:
    id: "111122223333"
    name: daily
    email: aws@daily.example
    root: {mfa: true}
    users:
      - name: app
        path: /service/
        tags: {owner: team@daily.example}
        created: 30d
        keys:
          - {age: 1h, last_used: 1h, service: s3, region: eu-west-1}
`

// TestLifecycleDaily runs keyrot apply every day from day 0 to day 120 of a
// key's life on the sandbox clock, while an application signs requests with
// the key it was given (and switches the day after each rotation, before
// its day's work: a use of the old key after the store would rightly hold
// its deactivation, docs/rotation.md). The key
// is rotated on day 90, the old one deactivated on day 100 and deleted on
// day 110; nothing else happens, and keyrot history tells that story.
func TestLifecycleDaily(t *testing.T) {
	file := filepath.Join(t.TempDir(), "daily.yaml")
	if err := os.WriteFile(file, []byte(dailyScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startRotationEnv(t, file)
	ctx := context.Background()
	appKey, err := e.Server.ActiveKey("111122223333", "app")
	if err != nil {
		t.Fatal(err)
	}
	appID, appSecret := appKey.AccessKeyID, appKey.SecretAccessKey
	switchOn := -1
	var happened []string
	for d := 0; d <= 120; d++ {
		if d > 0 {
			e.Server.Clock().Advance(day)
		}
		if d == switchOn {
			k, err := e.Server.ActiveKey("111122223333", "app")
			if err != nil {
				t.Fatal(err)
			}
			appID, appSecret = k.AccessKeyID, k.SecretAccessKey
		}
		// The application works every day, with the key it holds.
		if _, err := sts.NewFromConfig(e.Config(appID, appSecret, "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("day %d: the application's key stopped working: %v", d, err)
		}
		code, out, stderr := e.run(t, "apply", "--yes", "-o", "json")
		if code != ExitOK {
			t.Fatalf("day %d: apply exit %d\n%s", d, code, stderr)
		}
		var res jsonOutcomes
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("day %d: %v\n%s", d, err, out)
		}
		for _, o := range res.Outcomes {
			happened = append(happened, strings.Join([]string{itoa(d), string(o.Kind), string(o.Status)}, " "))
			if o.Kind == "create-key" {
				switchOn = d + 1
			}
		}
	}
	want := []string{"90 create-key succeeded", "100 deactivate-key succeeded", "110 delete-key succeeded"}
	if strings.Join(happened, "; ") != strings.Join(want, "; ") {
		t.Fatalf("lifecycle: %q, want %q", happened, want)
	}

	if testing.Verbose() {
		_, tbl, _ := runCLI(t, "history", "--account", "111122223333", "--user", "app", "--state-dir", e.stateDir)
		t.Log("\n" + tbl)
	}
	code, out, stderr := runCLI(t, "history", "--account", "111122223333", "--user", "app", "-o", "json", "--state-dir", e.stateDir)
	if code != ExitOK {
		t.Fatalf("history: exit %d\n%s", code, stderr)
	}
	var doc struct {
		Events []app.StoryLine `json:"events"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	story := doc.Events
	var kinds []string
	for _, l := range story {
		kinds = append(kinds, l.What)
	}
	for _, w := range []string{"create-key", "key created", "key stored", "key verified", "deactivate-key", "key deactivated", "delete-key", "key deleted"} {
		if !strings.Contains(strings.Join(kinds, ","), w) {
			t.Errorf("history lacks %q: %v", w, kinds)
		}
	}
	if i, j := indexOf(kinds, "key stored"), indexOf(kinds, "key deactivated"); i < 0 || j < i {
		t.Errorf("history out of order: %v", kinds)
	}
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}
