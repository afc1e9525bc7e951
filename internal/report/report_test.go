package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/inventory"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

func render(t testing.TB, format string, opts Options, r *Report) string {
	t.Helper()
	rd, err := ForFormat(format, opts)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rd.Render(&buf, r); err != nil {
		t.Fatalf("render %s: %v", format, err)
	}
	return buf.String()
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name   string
		format string
		opts   Options
	}{
		{"table", "table", Options{NoColor: true}},
		{"table-color", "table", Options{}},
		{"json", "json", Options{}},
		{"csv", "csv", Options{}},
		{"markdown", "markdown", Options{}},
		{"html", "html", Options{}},
		{"sarif", "sarif", Options{}},
		{"asff", "asff", Options{Region: "eu-west-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(t, tt.format, tt.opts, fixtureReport())
			path := filepath.Join("testdata", "golden", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s output differs from %s (-want +got):\n%s", tt.format, path, diff)
			}
			// Rendering twice gives the same bytes: nothing depends on map order.
			if again := render(t, tt.format, tt.opts, fixtureReport()); again != got {
				t.Errorf("%s output is not deterministic", tt.format)
			}
		})
	}
}

func TestForFormat(t *testing.T) {
	for _, name := range append(Formats(), "MD", " Json ") {
		if _, err := ForFormat(name, Options{}); err != nil {
			t.Errorf("ForFormat(%q): %v", name, err)
		}
	}
	if _, err := ForFormat("yaml", Options{}); err == nil || !strings.Contains(err.Error(), "table, json") {
		t.Errorf("ForFormat(yaml) error = %v, want one listing the formats", err)
	}
}

// TestNoLeaks: human formats show access key IDs only masked; no format
// ever shows the secret-shaped value placed in the inventory.
func TestNoLeaks(t *testing.T) {
	human := map[string]bool{"table": true, "markdown": true, "html": true, "sarif": true}
	// A whole 40-character run of the secret alphabet, not part of a longer one.
	secretShape := regexp.MustCompile(`(?:^|[^A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`)
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			out := render(t, format, Options{NoColor: true}, fixtureReport())
			if strings.Contains(out, fakeSecret) {
				t.Errorf("%s output contains the fixture's secret-shaped value", format)
			}
			if m := secretShape.FindStringSubmatch(out); m != nil {
				t.Errorf("%s output contains a 40-character secret-shaped string %q", format, m[1])
			}
			if !human[format] {
				// Machine formats must carry the whole IDs.
				if !strings.Contains(out, keyAlice1) {
					t.Errorf("%s output lacks the whole key ID %s", format, keyAlice1)
				}
				return
			}
			for _, id := range fixtureKeyIDs {
				if strings.Contains(out, id) {
					t.Errorf("%s output contains the whole access key ID %s", format, id)
				}
			}
			if masked := inventory.MaskKeyID(keyAlice1); !strings.Contains(out, masked) {
				t.Errorf("%s output lacks the masked key ID %s", format, masked)
			}
		})
	}
}

func TestMaskKeysIn(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"no key here", "no key here"},
		{"keys AKIAPRODALICE0000001, ASIAPRODALICE0000002.", "keys AKIA…0001, ASIA…0002."},
		{"AKIAPRODALICE0000001", "AKIA…0001"},
		{"xAKIAPRODALICE0000001y", "xAKIA…0001y"},
		{"AKIA short", "AKIA short"},
		{"AKIA…0001 already masked", "AKIA…0001 already masked"},
	}
	for _, tt := range tests {
		if got := maskKeysIn(tt.in); got != tt.want {
			t.Errorf("maskKeysIn(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestControlStats(t *testing.T) {
	got := fixtureReport().controlStats()
	want := []ControlStat{
		{FrameworkCISv3, "1.4", 2, 1},
		{FrameworkCISv3, "1.5", 2, 1},
		{FrameworkCISv3, "1.10", 8, 1},
		{FrameworkCISv3, "1.11", 7, 1},
		{FrameworkCISv3, "1.12", 7, 1},
		{FrameworkCISv3, "1.13", 8, 1},
		{FrameworkCISv3, "1.14", 7, 2}, // ci-bot's key is exempt: it passes
		{FrameworkCISv5, "2.3", 2, 1},
		{FrameworkCISv5, "2.4", 2, 1},
		{FrameworkCISv5, "2.9", 8, 1},
		{FrameworkCISv5, "2.11", 7, 1},
		{FrameworkCISv5, "2.12", 8, 1},
		{FrameworkCISv5, "2.13", 7, 2},
		{FrameworkSecurityHub, "IAM.3", 7, 2},
		{FrameworkSecurityHub, "IAM.4", 2, 1},
		{FrameworkSecurityHub, "IAM.5", 8, 1},
		{FrameworkSecurityHub, "IAM.9", 2, 1},
		{FrameworkSecurityHub, "IAM.22", 7, 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("controlStats (-want +got):\n%s", diff)
	}
	pct := map[string]float64{}
	for _, c := range got {
		pct[c.Framework+" "+c.Control] = c.Percent()
	}
	if diff := cmp.Diff(map[string]float64{"cis_v3 1.14": 71.4, "cis_v3 1.13": 87.5, "cis_v3 1.4": 50}, map[string]float64{
		"cis_v3 1.14": pct["cis_v3 1.14"], "cis_v3 1.13": pct["cis_v3 1.13"], "cis_v3 1.4": pct["cis_v3 1.4"],
	}); diff != "" {
		t.Errorf("Percent (-want +got):\n%s", diff)
	}
	if got := (ControlStat{Evaluated: 0}).Percent(); got != 100 {
		t.Errorf("Percent of nothing evaluated = %v, want 100", got)
	}
}

func TestControlStatsFromChecks(t *testing.T) {
	r := fixtureReport()
	ctl := audit.Controls{CISv3: []string{"1.14"}, SecurityHub: []string{"IAM.3"}}
	r.Result.Checks = []audit.Check{
		{Rule: "key-age", AccountID: "1", Resource: "1/a/K1", Controls: ctl, Failed: ctl},
		{Rule: "key-age", AccountID: "1", Resource: "1/a/K2", Controls: ctl},
		{Rule: "key-age", AccountID: "1", Resource: "1/b/K3", Controls: ctl, Exempt: true},
		{Rule: "key-age", AccountID: "1", Resource: "1/c/K4", Controls: ctl, Unknown: true},
	}
	want := []ControlStat{{FrameworkCISv3, "1.14", 4, 2}, {FrameworkSecurityHub, "IAM.3", 4, 2}}
	if diff := cmp.Diff(want, r.controlStats()); diff != "" {
		t.Errorf("controlStats from checks (-want +got):\n%s", diff)
	}
}

func TestControlStatsWithoutSnapshot(t *testing.T) {
	r := fixtureReport()
	r.Result.Snapshot = nil
	for _, c := range r.controlStats() {
		if c.Failing > c.Evaluated {
			t.Errorf("%s %s: failing %d > evaluated %d", c.Framework, c.Control, c.Failing, c.Evaluated)
		}
		if c.Framework == FrameworkCISv3 && c.Control == "1.14" && (c.Evaluated != 3 || c.Failing != 2) {
			t.Errorf("1.14 without snapshot = %d/%d, want 3 evaluated (the findings' keys), 2 failing", c.Evaluated, c.Failing)
		}
	}
}

func TestKeyAges(t *testing.T) {
	counts := func(h AccountKeyAges) []int {
		var out []int
		for _, b := range h.Buckets {
			out = append(out, b.Count)
		}
		return out
	}
	got := map[string][]int{}
	for _, h := range fixtureReport().keyAges() {
		got[h.AccountID] = counts(h)
	}
	want := map[string][]int{
		"111111111111": {1, 0, 0, 0, 1, 3}, // alice2 10d; bob 250d; root 900d, alice1 412d, ci-bot 500d
		"222222222222": {0, 1, 1, 1, 0, 1}, // erin 40d; frank 85d; dave 95d; grace 400d (inactive)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keyAges (-want +got):\n%s", diff)
	}
}

func TestKeyAgeBoundaries(t *testing.T) {
	ages := []int{0, 30, 31, 60, 61, 90, 91, 180, 181, 365, 366, 5000}
	var keys []inventory.AccessKey
	for _, a := range ages {
		keys = append(keys, inventory.AccessKey{ID: "AKIA" + strings.Repeat("X", 16), Status: inventory.KeyActive, CreateDate: daysAgo(a)})
	}
	r := &Report{Result: &audit.Result{GeneratedAt: genAt, Snapshot: &inventory.Snapshot{Accounts: []inventory.Account{
		{ID: "1", Status: inventory.AccountAudited, Users: []inventory.User{{Name: "u", Keys: keys}}},
		{ID: "2", Status: inventory.AccountFailed},
	}}}}
	hs := r.keyAges()
	if len(hs) != 1 {
		t.Fatalf("got %d histograms, want 1 (failed accounts have none)", len(hs))
	}
	var got []int
	for _, b := range hs[0].Buckets {
		got = append(got, b.Count)
	}
	if diff := cmp.Diff([]int{2, 2, 2, 2, 2, 2}, got); diff != "" {
		t.Errorf("bucket counts (-want +got):\n%s", diff)
	}
}

func TestSARIFStructure(t *testing.T) {
	var log map[string]any
	if err := json.Unmarshal([]byte(render(t, "sarif", Options{}, fixtureReport())), &log); err != nil {
		t.Fatal(err)
	}
	if log["version"] != "2.1.0" {
		t.Errorf("version = %v, want 2.1.0", log["version"])
	}
	if s, _ := log["$schema"].(string); !strings.Contains(s, "sarif-2.1.0") {
		t.Errorf("$schema = %q", s)
	}
	runs := log["runs"].([]any)
	if len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	run := runs[0].(map[string]any)
	driver := run["tool"].(map[string]any)["driver"].(map[string]any)
	if driver["name"] != "keyrot" {
		t.Errorf("driver.name = %v", driver["name"])
	}
	rules := driver["rules"].([]any)
	var ruleIDs []string
	for _, r := range rules {
		rule := r.(map[string]any)
		id, _ := rule["id"].(string)
		ruleIDs = append(ruleIDs, id)
		if sd, _ := rule["shortDescription"].(map[string]any); sd["text"] == "" || sd["text"] == nil {
			t.Errorf("rule %s lacks shortDescription.text", id)
		}
		if h, _ := rule["help"].(map[string]any); h["text"] == "" || h["text"] == nil {
			t.Errorf("rule %s lacks help.text", id)
		}
	}
	wantRules := []string{"console-without-mfa", "key-age", "key-never-used", "key-rotation-due", "key-unused", "multiple-active-keys", "root-access-key", "root-mfa"}
	if diff := cmp.Diff(wantRules, ruleIDs); diff != "" {
		t.Errorf("rule IDs (-want +got):\n%s", diff)
	}
	results := run["results"].([]any)
	if len(results) != 10 {
		t.Fatalf("%d results, want 10", len(results))
	}
	levels := map[string]int{}
	suppressed := 0
	for i, r := range results {
		res := r.(map[string]any)
		id := res["ruleId"].(string)
		idx := int(res["ruleIndex"].(float64))
		if ruleIDs[idx] != id {
			t.Errorf("result %d: ruleIndex %d names %s, not %s", i, idx, ruleIDs[idx], id)
		}
		if m, _ := res["message"].(map[string]any); m["text"] == "" || m["text"] == nil {
			t.Errorf("result %d lacks message.text", i)
		}
		levels[res["level"].(string)]++
		locs := res["locations"].([]any)
		ll := locs[0].(map[string]any)["logicalLocations"].([]any)[0].(map[string]any)
		if fqn, _ := ll["fullyQualifiedName"].(string); !regexp.MustCompile(`^\d{12}/.+`).MatchString(fqn) {
			t.Errorf("result %d: fullyQualifiedName %q is not account/user", i, fqn)
		}
		if _, ok := res["suppressions"]; ok {
			suppressed++
		}
	}
	// 1 critical + 5 high (one exempt) = error; 2 medium = warning; low + info = note.
	if diff := cmp.Diff(map[string]int{"error": 6, "warning": 2, "note": 2}, levels); diff != "" {
		t.Errorf("levels (-want +got):\n%s", diff)
	}
	if suppressed != 1 {
		t.Errorf("%d suppressed results, want 1 (the exempt finding)", suppressed)
	}
}

func TestASFFStructure(t *testing.T) {
	var findings []map[string]any
	if err := json.Unmarshal([]byte(render(t, "asff", Options{Region: "eu-west-1"}, fixtureReport())), &findings); err != nil {
		t.Fatal(err)
	}
	if len(findings) != 9 {
		t.Fatalf("%d findings, want 9 (10 less the exempt one)", len(findings))
	}
	productArn := regexp.MustCompile(`^arn:aws:securityhub:eu-west-1:(\d{12}):product/(\d{12})/default$`)
	labels := map[string]bool{"INFORMATIONAL": true, "LOW": true, "MEDIUM": true, "HIGH": true, "CRITICAL": true}
	resourceTypes := map[string]bool{"AwsIamUser": true, "AwsIamAccessKey": true, "AwsAccount": true}
	for _, f := range findings {
		id, _ := f["Id"].(string)
		for _, field := range []string{"SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "CreatedAt", "UpdatedAt", "Title", "Description", "RecordState"} {
			if s, _ := f[field].(string); s == "" {
				t.Errorf("%s: %s missing", id, field)
			}
		}
		if f["SchemaVersion"] != "2018-10-08" {
			t.Errorf("%s: SchemaVersion %v", id, f["SchemaVersion"])
		}
		if strings.Contains(id, "ci-bot") {
			t.Errorf("exempt finding %s exported", id)
		}
		m := productArn.FindStringSubmatch(f["ProductArn"].(string))
		if m == nil || m[1] != m[2] || m[1] != f["AwsAccountId"] {
			t.Errorf("%s: ProductArn %v does not name its own account %v", id, f["ProductArn"], f["AwsAccountId"])
		}
		for _, field := range []string{"CreatedAt", "UpdatedAt"} {
			if _, err := time.Parse(time.RFC3339, f[field].(string)); err != nil {
				t.Errorf("%s: %s: %v", id, field, err)
			}
		}
		types := f["Types"].([]any)
		if len(types) != 1 || types[0] != ASFFType {
			t.Errorf("%s: Types = %v", id, types)
		}
		if l := f["Severity"].(map[string]any)["Label"].(string); !labels[l] {
			t.Errorf("%s: Severity.Label %q", id, l)
		}
		if s := f["Compliance"].(map[string]any)["Status"]; s != "FAILED" {
			t.Errorf("%s: Compliance.Status %v", id, s)
		}
		if f["RecordState"] != "ACTIVE" {
			t.Errorf("%s: RecordState %v", id, f["RecordState"])
		}
		res := f["Resources"].([]any)
		if len(res) == 0 {
			t.Errorf("%s: no Resources", id)
		}
		for _, r := range res {
			rm := r.(map[string]any)
			if !resourceTypes[rm["Type"].(string)] || rm["Id"] == "" {
				t.Errorf("%s: bad resource %v", id, rm)
			}
		}
	}
	// The root key finding names the key and the account.
	for _, f := range findings {
		if f["GeneratorId"] == "keyrot/root-access-key" {
			got := f["Resources"].([]any)
			want := []any{
				map[string]any{"Type": "AwsIamAccessKey", "Id": keyRoot, "Partition": "aws", "Region": "eu-west-1"},
				map[string]any{"Type": "AwsAccount", "Id": "AWS::::Account:111111111111", "Partition": "aws", "Region": "eu-west-1"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("root key resources (-want +got):\n%s", diff)
			}
		}
	}
}

func TestJSONDocument(t *testing.T) {
	var doc struct {
		SchemaVersion int `json:"schema_version"`
		Summary       struct {
			Findings        int            `json:"findings"`
			Exempt          int            `json:"exempt"`
			BySeverity      map[string]int `json:"by_severity"`
			AccountsAudited int            `json:"accounts_audited"`
			AccountsFailed  int            `json:"accounts_failed"`
			AccountsSkipped int            `json:"accounts_skipped"`
		} `json:"summary"`
		Accounts []struct {
			ID                         string `json:"id"`
			Status                     string `json:"status"`
			CredentialReportAgeSeconds *int64 `json:"credential_report_age_seconds"`
		} `json:"accounts"`
		Findings []struct {
			KeyID string `json:"key_id"`
		} `json:"findings"`
	}
	dec := json.NewDecoder(strings.NewReader(render(t, "json", Options{}, fixtureReport())))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err == nil {
		t.Fatal("decoding into a partial struct with DisallowUnknownFields succeeded; the test is not checking anything")
	}
	if err := json.Unmarshal([]byte(render(t, "json", Options{}, fixtureReport())), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SchemaVersion != SchemaVersion {
		t.Errorf("schema_version = %d", doc.SchemaVersion)
	}
	if diff := cmp.Diff(map[string]int{"critical": 1, "high": 4, "medium": 2, "low": 1, "info": 1}, doc.Summary.BySeverity); diff != "" {
		t.Errorf("by_severity (-want +got):\n%s", diff)
	}
	if doc.Summary.Findings != 10 || doc.Summary.Exempt != 1 || doc.Summary.AccountsAudited != 2 || doc.Summary.AccountsFailed != 1 || doc.Summary.AccountsSkipped != 1 {
		t.Errorf("summary = %+v", doc.Summary)
	}
	if a := doc.Accounts[0]; a.ID != "111111111111" || a.CredentialReportAgeSeconds == nil || *a.CredentialReportAgeSeconds != 7200 {
		t.Errorf("first account = %+v, want 111111111111 with a 7200 s old report", a)
	}
	if doc.Findings[0].KeyID != keyRoot {
		t.Errorf("first finding key_id = %q, want the whole root key ID", doc.Findings[0].KeyID)
	}
}

// hostile returns a report whose free-text fields hold markup and formulas.
func hostile(name, detail string) *Report {
	r := fixtureReport()
	r.Result.Findings = []audit.Finding{{
		ID: "key-age/111111111111/" + name, Rule: "key-age", Title: "Title " + detail, Severity: audit.SeverityHigh,
		AccountID: "111111111111", AccountName: name, User: name, KeyID: keyAlice1,
		Evidence: audit.Evidence{Detail: detail}, Remediation: detail,
		Exempt: true, Exemption: &audit.ExemptionApplied{Match: "user:" + name, Reason: detail},
	}}
	r.Accounts = []AccountRun{
		{ID: "111111111111", Name: name, Status: inventory.AccountAudited},
		{ID: "999999999999", Name: name, Status: inventory.AccountFailed, Reason: detail},
	}
	return r
}

// unescapedPipes counts | not preceded by a backslash escape.
func unescapedPipes(line string) int {
	n, bs := 0, 0
	for _, c := range line {
		switch {
		case c == '\\':
			bs++
			continue
		case c == '|' && bs%2 == 0:
			n++
		}
		bs = 0
	}
	return n
}

// Markers around the hostile strings let the checks find where they landed.
const markOpen, markClose = "\u27e6", "\u27e7"

var htmlEntity = regexp.MustCompile(`^&(amp|lt|gt|quot|#\d+|#x[0-9a-fA-F]+);`)

func checkEscaping(t *testing.T, name, detail string) {
	name, detail = markOpen+name+markClose, markOpen+detail+markClose
	r := hostile(name, detail)

	htmlOut := render(t, "html", Options{}, r)
	segments := 0
	for _, part := range strings.Split(htmlOut, markOpen)[1:] {
		seg, _, _ := strings.Cut(part, markClose)
		segments++
		if strings.ContainsAny(seg, "<>\"'") {
			t.Errorf("html has user text with markup characters unescaped: %q", seg)
		}
		for i := 0; i < len(seg); i++ {
			if seg[i] == '&' && !htmlEntity.MatchString(seg[i:]) {
				t.Errorf("html has a bare & in user text: %q", seg)
				break
			}
		}
	}
	if segments < 6 {
		t.Errorf("html shows the hostile strings only %d times; the check is not looking at them", segments)
	}
	if strings.Contains(strings.ToLower(htmlOut), "<script") {
		t.Errorf("html contains a script element")
	}

	mdOut := render(t, "markdown", Options{}, r)
	inFindings := false
	for _, line := range strings.Split(mdOut, "\n") {
		if line == "## Findings" {
			inFindings = true
		}
		if inFindings && strings.HasPrefix(line, "| ") {
			if n := unescapedPipes(line); n != 8 {
				t.Errorf("markdown findings row has %d cell separators, want 8: %q", n, line)
			}
		}
		for i := 0; i < len(line); i++ {
			if (line[i] == '<' || line[i] == '>') && (i == 0 || line[i-1] != '\\') {
				t.Errorf("markdown line has an unescaped %q: %q", line[i], line)
				break
			}
		}
	}

	tableOut := render(t, "table", Options{NoColor: true}, r)
	for _, c := range tableOut {
		if c < 0x20 && c != '\n' || c == 0x7f {
			t.Fatalf("table output contains control character %U", c)
		}
	}

	csvOut := render(t, "csv", Options{}, r)
	rows, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if err != nil {
		t.Fatalf("csv does not parse: %v", err)
	}
	if len(rows) != 2 {
		t.Fatalf("csv has %d rows, want header + 1", len(rows))
	}
	for i, cell := range rows[1] {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Errorf("csv cell %s starts with a formula character: %q", CSVHeader[i], cell)
		}
	}
	if !strings.ContainsAny(name, "\r") && rows[1][5] != csvSafe(name) {
		t.Errorf("csv user cell = %q, want %q", rows[1][5], csvSafe(name))
	}

	for _, format := range []string{"json", "sarif", "asff"} {
		if out := render(t, format, Options{}, r); !json.Valid([]byte(out)) {
			t.Errorf("%s output is not valid JSON", format)
		}
	}
}

func TestEscaping(t *testing.T) {
	tests := []struct{ name, detail string }{
		{"<script>alert(1)</script>", `"><img src=x onerror=alert(1)>`},
		{"a|b|c", `pipe | and \| escaped pipe`},
		{"=cmd|' /C calc'!A0", "+SUM(1,2)"},
		{"@evil", "-2+3"},
		{"\x1b[31mred\x1b[0m", "line\nbreak\rreturn\ttab"},
		{"ci_bot*[x](http://e.example)", "`code` ~~strike~~ # heading & amp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkEscaping(t, tt.name, tt.detail) })
	}
}

func FuzzEscaping(f *testing.F) {
	f.Add("<script>", "|")
	f.Add("=cmd", "@x")
	f.Fuzz(func(t *testing.T, name, detail string) {
		if len(name) > 200 || len(detail) > 200 {
			return
		}
		checkEscaping(t, name, detail)
	})
}

// TestJSONStreamedEqualsWhole: the JSON renderer, which encodes findings
// one at a time, writes byte for byte what encoding the whole document at
// once writes, HTML-like characters unescaped included.
func TestJSONStreamedEqualsWhole(t *testing.T) {
	r := fixtureReport()
	r.Result.Findings[0].Remediation = "run <this> & that > there"
	var whole bytes.Buffer
	enc := json.NewEncoder(&whole)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	doc := r.jsonHead()
	for _, f := range r.findings() {
		doc.Findings = append(doc.Findings, toJSONFinding(f))
	}
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	var streamed bytes.Buffer
	if err := (JSON{}).Render(&streamed, r); err != nil {
		t.Fatal(err)
	}
	if len(r.Result.Findings) < 2 || !strings.Contains(streamed.String(), "<this> & that") {
		t.Fatalf("fixture should have several findings and unescaped text:\n%s", streamed.String())
	}
	if diff := cmp.Diff(whole.String(), streamed.String()); diff != "" {
		t.Errorf("streamed document differs (-whole +streamed):\n%s", diff)
	}
}
