package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// monthlyScenario is an organization whose 60 days keyrot watches: app's
// key reaches 90 days on day 15 and batch's on day 50 (both rotated, the
// old keys deactivated 10 days later and deleted 10 after that), idle's
// unused key is deactivated at once, pair's two keys in use are blocked for
// a person, vendor is exempt by the policy, and alice has a console
// password without MFA. Keys the scenario creates have fixed IDs. Every
// day, before keyrot runs, the applications of app, batch, pair and vendor
// use their newest active key (so the day after a rotation, the new one).
const monthlyScenario = `description: sixty days of audits and applies for the monthly report
organization:
  id: o-monthly0001
  management:
    id: "111122223333"
    name: monthly
    email: aws@monthly.example
    root: {mfa: true}
    users:
      - name: app
        path: /service/
        tags: {owner: team@monthly.example}
        created: 400d
        keys:
          - {age: 75d, last_used: 1h, service: s3, region: eu-west-1, id: AKIAAPPAPPAPPAPPAPP2}
      - name: batch
        path: /service/
        tags: {owner: data@monthly.example}
        created: 400d
        keys:
          - {age: 40d, last_used: 2h, service: s3, region: eu-west-1, id: AKIABATCHBATCHBATCH3}
      - name: idle
        path: /service/
        created: 400d
        keys:
          - {age: 70d, last_used: 50d, service: s3, region: eu-west-1, id: AKIAIDLEIDLEIDLEIDL4}
      - name: pair
        path: /service/
        created: 400d
        keys:
          - {age: 70d, last_used: 1h, service: s3, region: eu-west-1, id: AKIAPAIRPAIRPAIRPAI5, secret: pairFirstSecretKey0000000000000000000005}
          - {age: 60d, last_used: 2h, service: s3, region: eu-west-1, id: AKIAPAIRPAIRPAIRPAI6, secret: pairOtherSecretKey0000000000000000000006}
      - name: vendor
        path: /vendor/
        created: 400d
        keys:
          - {age: 200d, last_used: 1h, service: s3, region: eu-west-1, id: AKIAVENDORVENDORVEN7}
      - name: alice
        created: 400d
        console: {password_last_used: 1d}
`

const monthlyPolicy = `exemptions:
  - match: {user: vendor}
    reason: vendor integration replaced in Q3, ticket SEC-42
    expires: 2026-12-31
`

// monthlyStart is day 0 of the simulation, on the sandbox clock.
var monthlyStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// simulateDays drives keyrot audit and keyrot apply once a day for days
// days against the sandbox, its clock set to each day in turn, and returns
// the environment (its history in e.stateDir). The sandbox clock is set,
// not advanced, so that every run's times are the same on every machine.
func simulateDays(t *testing.T, days int) *rotationEnv {
	t.Helper()
	env := sandboxtest.Start(t, "")
	env.Server.Clock().Set(monthlyStart)
	sc, err := sandbox.ParseScenario("monthly.yaml", []byte(monthlyScenario))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	env.Server.SetReportBuildTime(0)
	useSandbox(t, env)
	e := &rotationEnv{Env: env, stateDir: t.TempDir()}
	e.flags = []string{"--progress", "none", "--report-wait", "5ms", "--state-dir", e.stateDir, "--clock", "sandbox"}
	withPolicy(t, e, monthlyPolicy)
	sign := func(d int, id, secret string) {
		if _, err := sts.NewFromConfig(env.Config(id, secret, "")).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("day %d: key %s: %v", d, id, err)
		}
	}
	for d := range days {
		env.Server.Clock().Set(monthlyStart.Add(time.Duration(d) * day))
		for _, u := range []string{"app", "batch", "vendor"} {
			k, err := env.Server.ActiveKey("111122223333", u)
			if err != nil {
				t.Fatalf("day %d: %s: %v", d, u, err)
			}
			sign(d, k.AccessKeyID, k.SecretAccessKey)
		}
		sign(d, "AKIAPAIRPAIRPAIRPAI5", "pairFirstSecretKey0000000000000000000005")
		sign(d, "AKIAPAIRPAIRPAIRPAI6", "pairOtherSecretKey0000000000000000000006")
		if code, _, stderr := e.run(t, "audit", "-o", "json"); code != ExitOK {
			t.Fatalf("day %d: audit exit %d\n%s", d, code, stderr)
		}
		// pair's two keys in use stay blocked for a person (exit 6).
		if code, _, stderr := e.run(t, "apply", "--yes", "-o", "json"); code != ExitOK && code != ExitBlocked {
			t.Fatalf("day %d: apply exit %d\n%s", d, code, stderr)
		}
	}
	env.Server.Clock().Set(monthlyStart.Add(time.Duration(days-1)*day + 3*time.Hour))
	return e
}

// keyIDs matches whole and masked access key IDs.
var keyIDs = regexp.MustCompile(`AKIA[A-Z2-7]{16}|AKIA…[A-Z2-7]{4}`)

// stableKeys replaces the IDs of keys created during the simulation
// (random, unlike the scenario's) by names in order of first appearance in
// order, a text holding them whole, so golden files do not change between
// runs. Masked forms map to the mask of the same name.
func stableKeys(order, text string) string {
	fixed := func(id string) bool { return strings.Contains(monthlyScenario, id) }
	names := map[string]string{}
	n := 0
	for _, id := range keyIDs.FindAllString(order, -1) {
		if strings.Contains(id, "…") || fixed(id) || names[id] != "" {
			continue
		}
		n++
		name := fmt.Sprintf("AKIANEWKEY%010d", n)
		names[id] = name
		names[id[:4]+"…"+id[16:]] = name[:4] + "…" + name[16:]
	}
	return keyIDs.ReplaceAllStringFunc(text, func(id string) string {
		if s, ok := names[id]; ok {
			return s
		}
		return id
	})
}

// TestMonthlyReportFromSixtyDays: keyrot report --since 30d on a history of
// 60 simulated days (one audit and one apply a day) in each format, golden
// tested (go test -run TestMonthlyReport -update rewrites them), plus the
// facts the report must hold whatever its layout; no secret in the reports
// or the stored history; then the status page of the same history in a
// headless browser (checkStatusPage).
func TestMonthlyReportFromSixtyDays(t *testing.T) {
	e := simulateDays(t, 60)
	outputs := map[string]string{}
	for _, format := range []string{"csv", "markdown", "html"} {
		code, out, stderr := runCLI(t, "report", "--since", "30d", "-o", format, "--state-dir", e.stateDir, "--clock", "sandbox", "--endpoint-url", e.URL)
		if code != ExitOK {
			t.Fatalf("report -o %s: exit %d\n%s", format, code, stderr)
		}
		outputs[format] = out
	}
	for format, out := range outputs {
		ext := map[string]string{"csv": "csv", "markdown": "md", "html": "html"}[format]
		golden(t, filepath.Join(testdataAbs, "monthly-report."+ext+".golden"), stableKeys(outputs["csv"], out))
	}

	md := outputs["markdown"]
	for _, want := range []string{
		"# keyrot compliance report, 2026-03-31 to 2026-04-30",
		"30 audits in the period",
		"| AWS Security Hub | IAM.3 |",
		// batch's key was rotated on day 50 (its old key is deactivated after
		// the period); app's old key, rotated on day 15, deleted on day 35,
		// and idle's, deactivated on day 0 for want of use.
		"| 2026-04-21 | 111122223333 | batch | AKIA…TCH3 |",
		"1 key rotated, 0 old keys deactivated, 2 deleted.",
		"| 111122223333 | vendor | AKIA…VEN7 | access-key-age | user:vendor | vendor integration replaced in Q3, ticket SEC-42 | 2026-12-31 |",
		// pair's second key passed 90 days in the period; alice's password
		// went unused for 45 days.
		"### New findings (2)",
		"| high | 111122223333 | pair | AKIA…PAI6 | access-key-age |",
		"| medium | 111122223333 | alice |  | console-unused |",
		"Active keys older than 90 days: 2 at the start, 4 at the end.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown report lacks %q:\n%s", want, md)
		}
	}
	csv := outputs["csv"]
	if !strings.Contains(csv, "rotated,,,111122223333,batch,AKIABATCHBATCHBATCH3,") {
		t.Errorf("csv lacks batch's rotation:\n%s", csv)
	}
	if strings.Count(csv, "keys_past_90,") != 31 {
		t.Errorf("csv: %d keys_past_90 points, want 31 (the baseline and 30 audits)\n%s", strings.Count(csv, "keys_past_90,"), csv)
	}
	assertNoSecrets(t, e, "report", md+csv+outputs["html"])
	assertNoSecrets(t, e, "the history (files and every stored audit report)", storedHistory(t, e.stateDir))

	t.Run("status page in a browser", func(t *testing.T) { checkStatusPage(t, e, e.Server.Clock().Now()) })
}

// storedHistory is every byte of the history's files and every audit
// report it keeps, decompressed.
func storedHistory(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(dir, "history.db*"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	fileBytes := b.Len()
	h, err := history.Open(context.Background(), filepath.Join(dir, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	audits, err := h.Audits(context.Background(), time.Time{}, time.Time{})
	if err != nil || len(audits) == 0 {
		t.Fatalf("%d audits stored: %v", len(audits), err)
	}
	reports := 0
	for _, a := range audits {
		full, err := h.Audit(context.Background(), a.RunID)
		if err != nil || len(full.Report) == 0 {
			t.Fatalf("audit of run %d: no report (%v)", a.RunID, err)
		}
		reports += len(full.Report)
		b.Write(full.Report)
		for _, f := range full.Findings {
			b.WriteString(f.Title + f.ExemptionReason + f.KeyID)
		}
	}
	t.Logf("history: %d audits, files %d bytes, reports %d bytes uncompressed (%d per audit)", len(audits), fileBytes, reports, reports/len(audits))
	return b.String()
}

// golden compares got with the file, or rewrites it with -update.
func golden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run with -update to accept):\n%s", file, lineDiff(string(want), got))
	}
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

var secretField = regexp.MustCompile(`"secret": "([^"]+)"`)

// sandboxSecrets returns every secret access key of the sandbox: the
// admin's and every key's, the scenario's and those keyrot created.
func sandboxSecrets(t *testing.T, e *rotationEnv) []string {
	t.Helper()
	_, admin := e.Server.AdminCredentials()
	dump, err := e.Server.DumpState(true)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{admin}
	for _, m := range secretField.FindAllStringSubmatch(string(dump), -1) {
		out = append(out, m[1])
	}
	if len(out) < 7 {
		t.Fatalf("only %d secrets found in the sandbox's state", len(out))
	}
	return out
}

// assertNoSecrets fails if text holds any secret access key of the sandbox.
func assertNoSecrets(t *testing.T, e *rotationEnv, what, text string) {
	t.Helper()
	for _, s := range sandboxSecrets(t, e) {
		if strings.Contains(text, s) {
			t.Errorf("%s holds a secret access key", what)
		}
	}
}
