package cli

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/report"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

type jsonInventory struct {
	Accounts []struct {
		ID          string `json:"id"`
		Status      string `json:"status"`
		Credentials int    `json:"credentials"`
	} `json:"accounts"`
	Credentials []struct {
		Kind      string `json:"kind"`
		AccountID string `json:"account_id"`
		Owner     string `json:"owner"`
		ID        string `json:"id"`
		Status    string `json:"status"`
		Created   string `json:"created"`
		AgeDays   *int   `json:"age_days"`
		LastUse   string `json:"last_use"`
		NextDue   string `json:"next_due"`
		DueAction string `json:"due_action"`
	} `json:"credentials"`
}

// TestAuditInventory: keyrot audit --inventory lists, in JSON (checked
// against docs/schemas/inventory.schema.json) and CSV, every access key the
// findings audit saw, every console password and each root user, with
// ages and next due dates, through the real SDK against the demo sandbox.
func TestAuditInventory(t *testing.T) {
	env := sandboxtest.Start(t, "demo")
	useSandbox(t, env)
	code, out, stderr := runCLI(t, "audit", "--inventory", "-o", "json", "--progress", "none")
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d\n%s", code, ExitPartial, stderr)
	}
	if errs := loadJSONSchema(t, "inventory.schema.json").validate(t, out); len(errs) > 0 {
		t.Fatalf("inventory.schema.json:\n%s", strings.Join(errs, "\n"))
	}
	var inv jsonInventory
	if err := json.Unmarshal([]byte(out), &inv); err != nil {
		t.Fatal(err)
	}
	// The same organization as the findings audit sees it.
	_, auditOut, _ := runCLI(t, "audit", "-o", "json", "--progress", "none")
	var res jsonAudit
	if err := json.Unmarshal([]byte(auditOut), &res); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	kinds := map[string]int{}
	perAccount := map[string]int{}
	for _, c := range inv.Credentials {
		kinds[c.Kind]++
		perAccount[c.AccountID]++
		keys[c.ID] = true // a finding's key_id names a credential of any kind
		if c.Kind == "access-key" || c.Kind == "root-access-key" {
			if c.Created == "" || c.AgeDays == nil || c.NextDue == "" || c.DueAction == "" {
				t.Errorf("%s %s %s: no created, age or next due: %+v", c.AccountID, c.Owner, c.ID, c)
			}
			if c.Kind == "access-key" && c.Status == "Active" && c.DueAction != "rotate" {
				t.Errorf("active key %s: due action %q, want rotate", c.ID, c.DueAction)
			}
		}
	}
	for _, f := range res.Findings {
		if f.KeyID != "" && !keys[f.KeyID] {
			t.Errorf("key %s of %s/%s has a finding and is not in the inventory", f.KeyID, f.AccountID, f.User)
		}
	}
	for _, k := range []string{"access-key", "console-password", "root-password", "service-specific-credential", "bedrock-api-key", "signing-certificate",
		"server-certificate", "acm-certificate", "secret", "roles-anywhere-trust-anchor"} {
		if kinds[k] == 0 {
			t.Errorf("no %s in the demo inventory: %v", k, kinds)
		}
	}
	audited := 0
	for _, a := range inv.Accounts {
		if a.Credentials != perAccount[a.ID] {
			t.Errorf("account %s: credentials %d, rows %d", a.ID, a.Credentials, perAccount[a.ID])
		}
		if a.Status == "audited" {
			audited++
		}
	}
	if kinds["root-password"] != audited {
		t.Errorf("%d root users for %d audited accounts", kinds["root-password"], audited)
	}

	code, csvOut, stderr := runCLI(t, "audit", "--inventory", "-o", "csv", "--progress", "none")
	if code != ExitPartial {
		t.Fatalf("csv: exit %d\n%s", code, stderr)
	}
	recs, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != strings.Join(report.InventoryCSVHeader, ",") || len(recs)-1 != len(inv.Credentials) {
		t.Errorf("csv: header %v and %d rows, want %d rows", recs[0], len(recs)-1, len(inv.Credentials))
	}

	code, table, _ := runCLI(t, "audit", "--inventory", "-o", "table", "--progress", "none")
	if code != ExitPartial || !strings.Contains(table, "NEXT DUE") {
		t.Errorf("table: exit %d\n%s", code, table)
	}
	for id := range keys {
		if strings.HasPrefix(id, "AKIA") && strings.Contains(table, id) {
			t.Errorf("table shows key %s whole", id)
		}
	}
	if code, _, stderr := runCLI(t, "audit", "--inventory", "-o", "sarif"); code != ExitUsage || !strings.Contains(stderr, "inventory output format") {
		t.Errorf("--inventory -o sarif: exit %d, %s", code, stderr)
	}
}
