package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyrot/keyrot/internal/audit"
)

// InventorySchemaVersion is the version of the inventory JSON document
// (docs/schemas/inventory.schema.json); fields are only ever added.
const InventorySchemaVersion = 1

// InventoryFormats lists the formats of keyrot audit --inventory.
func InventoryFormats() []string { return []string{"table", "json", "csv"} }

// InventoryRenderer writes the inventory of every long-term credential.
type InventoryRenderer interface {
	RenderInventory(w io.Writer, r *Report, creds []audit.Credential) error
}

// InventoryForFormat returns the inventory renderer for a format name.
func InventoryForFormat(name string) (InventoryRenderer, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "table":
		return InventoryTable{}, nil
	case "json":
		return InventoryJSON{}, nil
	case "csv":
		return InventoryCSV{}, nil
	}
	return nil, fmt.Errorf("unknown inventory output format %q (want one of %s)", name, strings.Join(InventoryFormats(), ", "))
}

// InventoryJSON renders the inventory as the document of
// docs/schemas/inventory.schema.json. IDs are whole.
type InventoryJSON struct{}

type inventoryDoc struct {
	SchemaVersion  int                `json:"schema_version"`
	Tool           jsonTool           `json:"tool"`
	GeneratedAt    string             `json:"generated_at"`
	OrganizationID string             `json:"organization_id,omitempty"`
	Accounts       []inventoryAccount `json:"accounts"`
	Credentials    []inventoryRow     `json:"credentials"`
}

type inventoryAccount struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Status      string `json:"status"`
	Reason      string `json:"reason,omitempty"`
	Credentials int    `json:"credentials"`
}

type inventoryRow struct {
	Kind        string `json:"kind"`
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name,omitempty"`
	Region      string `json:"region,omitempty"`
	Owner       string `json:"owner,omitempty"`
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Status      string `json:"status,omitempty"`
	Created     string `json:"created,omitempty"`
	AgeDays     *int   `json:"age_days,omitempty"`
	LastUse     string `json:"last_use"`
	LastUsed    string `json:"last_used,omitempty"`
	Expires     string `json:"expires,omitempty"`
	NextDue     string `json:"next_due,omitempty"`
	DueAction   string `json:"due_action,omitempty"`
	Schedule    string `json:"schedule,omitempty"`
}

func timeStr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return rfc3339(*t)
}

func toInventoryRow(c audit.Credential) inventoryRow {
	return inventoryRow{
		Kind: c.Kind, AccountID: c.AccountID, AccountName: c.AccountName, Region: c.Region, Owner: c.Owner,
		ID: c.ID, Name: c.Name, Status: c.Status, Created: timeStr(c.Created), AgeDays: c.AgeDays,
		LastUse: c.LastUse, LastUsed: timeStr(c.LastUsed), Expires: timeStr(c.Expires),
		NextDue: timeStr(c.NextDue), DueAction: c.DueAction, Schedule: c.Schedule,
	}
}

// RenderInventory writes the document, indented, with a trailing newline.
func (InventoryJSON) RenderInventory(w io.Writer, r *Report, creds []audit.Credential) error {
	doc := inventoryDoc{
		SchemaVersion: InventorySchemaVersion,
		Tool:          jsonTool{Name: "keyrot", Version: r.ToolVersion},
		GeneratedAt:   rfc3339(r.now()),
		Accounts:      []inventoryAccount{},
		Credentials:   make([]inventoryRow, 0, len(creds)),
	}
	if snap := r.result().Snapshot; snap != nil {
		doc.OrganizationID = snap.OrganizationID
	}
	count := map[string]int{}
	for _, c := range creds {
		count[c.AccountID]++
		doc.Credentials = append(doc.Credentials, toInventoryRow(c))
	}
	for _, a := range r.accounts() {
		doc.Accounts = append(doc.Accounts, inventoryAccount{ID: a.ID, Name: a.Name, Status: string(a.Status), Reason: a.Reason, Credentials: count[a.ID]})
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	return bw.Flush()
}

// InventoryCSVHeader is the inventory CSV's columns, in order. Columns
// are only ever appended.
var InventoryCSVHeader = []string{
	"kind", "account_id", "account_name", "region", "owner", "id", "name", "status",
	"created", "age_days", "last_use", "last_used", "expires", "next_due", "due_action", "schedule",
}

// InventoryCSV renders one row per credential, RFC 4180 like CSV, with
// the same guard against cells a spreadsheet would run as formulas.
type InventoryCSV struct{}

// RenderInventory writes the CSV.
func (InventoryCSV) RenderInventory(w io.Writer, _ *Report, creds []audit.Credential) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(InventoryCSVHeader); err != nil {
		return err
	}
	for _, c := range creds {
		r := toInventoryRow(c)
		age := ""
		if r.AgeDays != nil {
			age = strconv.Itoa(*r.AgeDays)
		}
		row := []string{r.Kind, r.AccountID, r.AccountName, r.Region, r.Owner, r.ID, r.Name, r.Status,
			r.Created, age, r.LastUse, r.LastUsed, r.Expires, r.NextDue, r.DueAction, r.Schedule}
		for i := range row {
			row[i] = csvSafe(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// InventoryTable renders aligned text for a terminal: access key IDs
// masked and control characters replaced, as in every human format.
type InventoryTable struct{}

// RenderInventory writes the table.
func (InventoryTable) RenderInventory(w io.Writer, r *Report, creds []audit.Credential) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "keyrot inventory, generated %s: %d long-term credentials\n", rfc3339(r.now()), len(creds))
	fmt.Fprintln(tw, "ACCOUNT\tKIND\tOWNER\tID\tSTATUS\tAGE\tLAST USE\tEXPIRES\tNEXT DUE")
	day := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format("2006-01-02")
	}
	for _, c := range creds {
		id := c.ID
		if c.Name != "" {
			id += " (" + c.Name + ")"
		}
		if c.Region != "" {
			id = c.Region + " " + id
		}
		age, use, next := "-", c.LastUse, day(c.NextDue)
		if c.AgeDays != nil {
			age = strconv.Itoa(*c.AgeDays) + "d"
		}
		if c.LastUsed != nil {
			use = day(c.LastUsed)
		}
		if c.NextDue != nil && c.DueAction != "" {
			next += " " + c.DueAction
		}
		cells := []string{c.AccountID, c.Kind, cellOr(c.Owner), id, cellOr(c.Status), age, use, day(c.Expires), next}
		for i := range cells {
			cells[i] = human(cells[i])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func cellOr(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
