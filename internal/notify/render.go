package notify

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
)

//go:embed templates/*.tmpl
var embedded embed.FS

// Template file names. A file of the same name in templates_dir replaces
// the embedded one.
const (
	SubjectTemplate = "subject.txt.tmpl"
	TextTemplate    = "digest.txt.tmpl"
	HTMLTemplate    = "digest.html.tmpl"
)

// Templates renders digests.
type Templates struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// LoadTemplates parses the embedded templates, each replaced by the file of
// the same name in dir if dir is not empty and has it.
func LoadTemplates(dir string) (*Templates, error) {
	read := func(name string) (string, error) {
		if dir != "" {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err == nil {
				return string(b), nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("read template: %w", err)
			}
		}
		b, err := embedded.ReadFile("templates/" + name)
		if err != nil {
			return "", fmt.Errorf("read embedded template %s: %w", name, err)
		}
		return string(b), nil
	}
	var t Templates
	src, err := read(SubjectTemplate)
	if err != nil {
		return nil, err
	}
	if t.subject, err = texttemplate.New(SubjectTemplate).Option("missingkey=error").Parse(src); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if src, err = read(TextTemplate); err != nil {
		return nil, err
	}
	if t.text, err = texttemplate.New(TextTemplate).Option("missingkey=error").Parse(src); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if src, err = read(HTMLTemplate); err != nil {
		return nil, err
	}
	if t.html, err = htmltemplate.New(HTMLTemplate).Option("missingkey=error").Parse(src); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	return &t, nil
}

// Digest is what the templates render: one recipient's news of one run.
type Digest struct {
	Recipient string
	// Central is set on the security team's digest of every item.
	Central   bool
	AuditOnly bool
	// Date is the run's date, 2006-01-02.
	Date string
	// Headline says what is needed; Subject is the rendered subject line.
	Headline string
	Subject  string
	// Contact is the security contact, for questions.
	Contact string
	Groups  []Group
}

// Group is the items of one state.
type Group struct {
	State State
	Title string
	Items []ItemView
}

// ItemView is an item as templates see it: dates formatted, key ID masked.
type ItemView struct {
	State      State
	ReminderOf State
	DaysLeft   int
	AuditOnly  bool
	AccountID  string
	// Account is "name (id)" or the ID.
	Account string
	User    string
	UserARN string
	// Key is the masked key ID; KeyID the full one (machine payloads only).
	Key   string
	KeyID string `json:"-"`
	// Date and Deadline are 2006-01-02; Rollback and LastUsed have the time.
	Date            string
	Deadline        string
	SecretName      string
	SecretARN       string
	SecretRegion    string
	FetchCommand    string
	LastUsed        string
	LastUsedService string
	LastUsedRegion  string
	Rollback        string
	RollbackCommand string
	Findings        []string
	// Undelivered are the destinations without the new key (blocked-delivery).
	Undelivered []Undelivered
	// Owner is the item's recipient (shown in the central digest).
	Owner string
	// Central and Contact are the digest's: an owner is told to ask the
	// security contact (the team that runs keyrot) for a rollback; the
	// central digest, read by that team, shows the command alone.
	Central bool   `json:"-"`
	Contact string `json:"-"`
}

const (
	dateFormat = "2006-01-02"
	timeFormat = "2006-01-02 15:04 UTC"
)

func fmtDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(dateFormat)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

func view(it Item, owner string, auditOnly bool) ItemView {
	acct := it.AccountID
	if it.AccountName != "" {
		acct = it.AccountName + " (" + it.AccountID + ")"
	}
	v := ItemView{
		State: it.State, ReminderOf: it.ReminderOf, DaysLeft: it.DaysLeft, AuditOnly: auditOnly,
		AccountID: it.AccountID, Account: acct, User: it.User, UserARN: it.UserARN,
		Key: inventory.MaskKeyID(it.KeyID), KeyID: it.KeyID,
		Date: fmtDate(it.Date), Deadline: fmtDate(it.Deadline()),
		SecretName: it.SecretName, SecretARN: it.SecretARN, SecretRegion: it.SecretRegion,
		FetchCommand: it.FetchCommand(),
		LastUsed:     fmtTime(it.LastUsed), LastUsedService: it.LastUsedService, LastUsedRegion: it.LastUsedRegion,
		Rollback: fmtTime(it.Rollback), RollbackCommand: it.RollbackCommand(),
		Findings: it.FindingTitles, Undelivered: it.Undelivered, Owner: owner,
	}
	v.LastUsed = cmp.Or(v.LastUsed, "at an unknown time")
	v.LastUsedService = cmp.Or(v.LastUsedService, "an unknown service")
	v.LastUsedRegion = cmp.Or(v.LastUsedRegion, "an unknown region")
	return v
}

func groupTitle(s State, auditOnly bool) string {
	if auditOnly {
		switch s {
		case StateRotated:
			return "Would rotate"
		case StateDeactivationDue, StateDeactivated:
			return "Would deactivate"
		case StateDeleted:
			return "Would delete"
		case StateConsoleDisableDue, StateConsoleDisabled:
			return "Would disable an unused console password"
		case StateBlockedInUse:
			return "Would be blocked: old key still in use"
		case StateBlockedDelivery:
			return "Would be blocked: new key not at every destination"
		}
	}
	return map[State]string{
		StateBlockedInUse:      "Action needed now: old key still in use",
		StateBlockedDelivery:   "Action needed: new key not delivered everywhere",
		StateReminder:          "Reminders",
		StateRotated:           "New access key stored: switch to it",
		StateDeactivationDue:   "Old key to be deactivated",
		StateDeactivated:       "Old key deactivated",
		StateDeleted:           "Old key deleted",
		StateFinding:           "Audit findings (as of the start of this run)",
		StateConsoleDisableDue: "Unused console password to be disabled",
		StateConsoleDisabled:   "Unused console password disabled",
		StateConsoleRestored:   "Console access restored: new password stored",
	}[s]
}

// entry is one item of a digest with its recipient.
type entry struct {
	item  Item
	owner string
	isNew bool
}

// newDigest groups the entries by state, most urgent first.
func newDigest(recipient, contact string, central, auditOnly bool, now time.Time, entries []entry) *Digest {
	d := &Digest{Recipient: recipient, Central: central, AuditOnly: auditOnly, Date: fmtDate(now), Contact: contact}
	sorted := foldReminders(entries)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i].item, sorted[j].item
		if a.State.rank() != b.State.rank() {
			return a.State.rank() < b.State.rank()
		}
		if !a.Deadline().Equal(b.Deadline()) {
			return a.Deadline().Before(b.Deadline())
		}
		if a.AccountID != b.AccountID {
			return a.AccountID < b.AccountID
		}
		if a.User != b.User {
			return a.User < b.User
		}
		return a.KeyID < b.KeyID
	})
	for _, e := range sorted {
		if n := len(d.Groups); n == 0 || d.Groups[n-1].State != e.item.State {
			d.Groups = append(d.Groups, Group{State: e.item.State, Title: groupTitle(e.item.State, auditOnly)})
		}
		g := &d.Groups[len(d.Groups)-1]
		v := view(e.item, e.owner, auditOnly)
		v.Central, v.Contact = central, contact
		g.Items = append(g.Items, v)
	}
	if central {
		d.Headline = centralHeadline(d)
	} else {
		d.Headline = headline(sorted, auditOnly)
	}
	return d
}

// foldReminders drops an item from a digest when the digest also has its
// reminder, which says the same and more.
func foldReminders(entries []entry) []entry {
	type ref struct{ acct, user, key, deadline string }
	reminded := map[ref]bool{}
	for _, e := range entries {
		if e.item.State == StateReminder {
			reminded[ref{e.item.AccountID, e.item.User, e.item.KeyID, fmtDate(e.item.Deadline())}] = true
		}
	}
	var out []entry
	for _, e := range entries {
		if e.item.State != StateReminder && reminded[ref{e.item.AccountID, e.item.User, e.item.KeyID, fmtDate(e.item.Deadline())}] {
			continue
		}
		out = append(out, e)
	}
	return out
}

// centralHeadline summarises the security team's digest, e.g. "keyrot
// digest for 2027-02-19: 5 keys (1 blocked-in-use, 1 rotated)".
func centralHeadline(d *Digest) string {
	n := 0
	var parts []string
	for _, g := range d.Groups {
		n += len(g.Items)
		state := string(g.State)
		if (g.State == StateFinding || g.State == StateReminder) && len(g.Items) != 1 {
			state += "s" // nouns, unlike rotated or deleted: "11 findings"
		}
		parts = append(parts, fmt.Sprintf("%d %s", len(g.Items), state))
	}
	keys := "keys"
	if n == 1 {
		keys = "key"
	}
	return fmt.Sprintf("keyrot digest for %s: %d %s (%s)", d.Date, n, keys, strings.Join(parts, ", "))
}

// headline says what the most urgent item needs, e.g. "Action needed by
// 2027-03-01: switch app keys for alice in 123456789012".
func headline(entries []entry, auditOnly bool) string {
	// who names the users and accounts of the items in state s.
	who := func(match func(Item) bool) string {
		var users, accts []string
		seenU, seenA := map[string]bool{}, map[string]bool{}
		for _, e := range entries {
			if !match(e.item) {
				continue
			}
			if u := e.item.AccountID + "/" + e.item.User; !seenU[u] {
				seenU[u] = true
				users = append(users, e.item.User)
			}
			if !seenA[e.item.AccountID] {
				seenA[e.item.AccountID] = true
				accts = append(accts, e.item.AccountID)
			}
		}
		s := ""
		if len(users) > 0 {
			s = users[0]
		}
		if len(users) > 1 {
			s += fmt.Sprintf(" and %d more", len(users)-1)
		}
		if len(accts) == 1 {
			return s + " in " + accts[0]
		}
		return fmt.Sprintf("%s in %d accounts", s, len(accts))
	}
	is := func(states ...State) func(Item) bool {
		return func(it Item) bool {
			s := it.State
			if s == StateReminder {
				s = it.ReminderOf
			}
			for _, x := range states {
				if s == x {
					return true
				}
			}
			return false
		}
	}
	var earliest time.Time
	for _, e := range entries {
		if d := e.item.Deadline(); is(StateRotated, StateDeactivationDue)(e.item) && !d.IsZero() && (earliest.IsZero() || d.Before(earliest)) {
			earliest = d
		}
	}
	has := func(m func(Item) bool) bool {
		for _, e := range entries {
			if m(e.item) {
				return true
			}
		}
		return false
	}
	if auditOnly {
		switch {
		case has(is(StateRotated)):
			return "would rotate access keys for " + who(is(StateRotated))
		case has(is(StateBlockedInUse)):
			return "would be blocked: old access key still in use for " + who(is(StateBlockedInUse))
		case has(is(StateBlockedDelivery)):
			return "would be blocked: new access key not at every destination for " + who(is(StateBlockedDelivery))
		case has(is(StateDeactivationDue, StateDeactivated)):
			return "would deactivate old access keys for " + who(is(StateDeactivationDue, StateDeactivated))
		case has(is(StateDeleted)):
			return "would delete old access keys for " + who(is(StateDeleted))
		case has(is(StateConsoleDisableDue, StateConsoleDisabled)):
			return "would disable unused console passwords for " + who(is(StateConsoleDisableDue, StateConsoleDisabled))
		}
		return "audit findings for " + who(is(StateFinding))
	}
	switch {
	case has(is(StateBlockedInUse)):
		return "Action needed now: old access key still in use for " + who(is(StateBlockedInUse))
	case has(is(StateBlockedDelivery)):
		return "Action needed: new access key not delivered everywhere for " + who(is(StateBlockedDelivery))
	case !earliest.IsZero():
		return fmt.Sprintf("Action needed by %s: switch app keys for %s", fmtDate(earliest), who(is(StateRotated, StateDeactivationDue)))
	case has(is(StateDeactivated)):
		return "Old access key deactivated, roll back if needed, for " + who(is(StateDeactivated))
	case has(is(StateDeleted)):
		return "Old access key deleted for " + who(is(StateDeleted))
	case has(is(StateConsoleRestored)):
		return "Console access restored for " + who(is(StateConsoleRestored))
	case has(is(StateConsoleDisabled)):
		return "Unused console password disabled for " + who(is(StateConsoleDisabled))
	case has(is(StateConsoleDisableDue)):
		return "Unused console password to be disabled for " + who(is(StateConsoleDisableDue))
	}
	return "Audit findings for " + who(is(StateFinding))
}

// Rendered is a digest rendered for sending.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

// Render renders the digest's subject, text and HTML. It sets d.Subject.
func (t *Templates) Render(d *Digest) (Rendered, error) {
	var b strings.Builder
	if err := t.subject.Execute(&b, d); err != nil {
		return Rendered{}, fmt.Errorf("render subject: %w", err)
	}
	// A subject is one line.
	d.Subject = strings.Join(strings.Fields(b.String()), " ")
	var text, html strings.Builder
	if err := t.text.Execute(&text, d); err != nil {
		return Rendered{}, fmt.Errorf("render text: %w", err)
	}
	if err := t.html.Execute(&html, d); err != nil {
		return Rendered{}, fmt.Errorf("render html: %w", err)
	}
	return Rendered{Subject: d.Subject, Text: text.String(), HTML: html.String()}, nil
}
