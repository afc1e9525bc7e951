package notify

import (
	"strings"
	"testing"
)

// renderOwner renders the digest of items for one recipient.
func renderOwner(t *testing.T, central bool, contact string, items ...Item) Rendered {
	t.Helper()
	tpl, err := LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	var es []entry
	for _, it := range items {
		es = append(es, entry{item: it, owner: "owner@example.com", isNew: true})
	}
	r, err := tpl.Render(newDigest("owner@example.com", contact, central, false, fixtureNow, es))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func fixtureItem(t *testing.T, user string) Item {
	t.Helper()
	for _, it := range fixtureItems() {
		if it.User == user {
			return it
		}
	}
	t.Fatalf("no fixture item for %s", user)
	return Item{}
}

// TestFindingsHeaderHasNoEmptyKey: a user's findings item has no key ID;
// its heading must not say "key " with nothing after it.
func TestFindingsHeaderHasNoEmptyKey(t *testing.T) {
	r := renderOwner(t, false, "security@example.com", fixtureItem(t, "dave"))
	for _, bad := range []string{", key \n", ", key  ", ", key (", "key <code></code>"} {
		if strings.Contains(r.Text, bad) || strings.Contains(r.HTML, bad) {
			t.Errorf("findings heading has an empty key (%q):\n%s\n%s", bad, r.Text, r.HTML)
		}
	}
	if !strings.Contains(r.Text, "* dave in 333333333333\n") {
		t.Errorf("findings heading:\n%s", r.Text)
	}
	if !strings.Contains(r.Text, "Audit findings (as of the start of this run)") {
		t.Errorf("findings are not labelled as the state before the run:\n%s", r.Text)
	}
}

// fetchWarning is the warning that must follow every fetch command.
const fetchWarning = "a read signed with the old key counts as a use of the old key and holds back its deactivation"

// TestBlockedInUseRepeatsWhereTheNewKeyIs: an owner whose old key is still
// in use is told again where the new key is and how to fetch it.
func TestBlockedInUseRepeatsWhereTheNewKeyIs(t *testing.T) {
	it := fixtureItem(t, "alice-ci")
	r := renderOwner(t, false, "security@example.com", it)
	for name, body := range map[string]string{"text": r.Text, "html": r.HTML} {
		for _, want := range []string{it.SecretName, it.SecretARN, it.FetchCommand()} {
			if !strings.Contains(body, want) {
				t.Errorf("%s of a blocked-in-use notice does not say %q:\n%s", name, want, body)
			}
		}
	}
}

// TestFetchCommandWarnsAboutTheOldKey: next to every fetch command the owner
// is told not to fetch the new key with the old one.
func TestFetchCommandWarnsAboutTheOldKey(t *testing.T) {
	reminder := fixtureItem(t, "erin")
	reminder.State, reminder.ReminderOf, reminder.DaysLeft = StateReminder, StateDeactivationDue, 7
	for _, it := range []Item{fixtureItem(t, "alice"), fixtureItem(t, "alice-ci"), fixtureItem(t, "erin"), reminder} {
		r := renderOwner(t, false, "security@example.com", it)
		for name, body := range map[string]string{"text": r.Text, "html": r.HTML} {
			n := strings.Count(body, it.FetchCommand())
			w := strings.Count(strings.Join(strings.Fields(body), " "), fetchWarning)
			if n == 0 || w != n {
				t.Errorf("%s %s: %d fetch commands, %d warnings:\n%s", it.State, name, n, w, body)
			}
			if !strings.Contains(body, "another identity than the old key") {
				t.Errorf("%s %s does not say to fetch with another identity:\n%s", it.State, name, body)
			}
		}
	}
}

// TestRollbackSaysWhomToAsk: owners do not have keyrot; they are told to
// ask the security contact, the team that runs it. The central digest, read
// by that team, shows the command alone.
func TestRollbackSaysWhomToAsk(t *testing.T) {
	bob := fixtureItem(t, "bob")
	reminder := bob
	reminder.State, reminder.ReminderOf, reminder.DaysLeft = StateReminder, StateDeactivated, 1
	cmd := "keyrot rollback --account 210987654321 --user bob"
	for _, it := range []Item{bob, reminder} {
		r := renderOwner(t, false, "security@example.com", it)
		if want := "ask security@example.com (the team that runs keyrot) to roll back:\n    " + cmd; !strings.Contains(r.Text, want) {
			t.Errorf("%s text does not say %q:\n%s", it.State, want, r.Text)
		}
		if want := `Ask <a href="mailto:security@example.com">security@example.com</a> (the team that runs keyrot) to roll back:`; !strings.Contains(r.HTML, want) {
			t.Errorf("%s HTML does not say %q:\n%s", it.State, want, r.HTML)
		}
		r = renderOwner(t, false, "", it)
		if want := "ask the team that runs keyrot to roll back:\n    " + cmd; !strings.Contains(r.Text, want) {
			t.Errorf("%s text without a contact does not say %q:\n%s", it.State, want, r.Text)
		}
		r = renderOwner(t, true, "security@example.com", it)
		if strings.Contains(r.Text, "to roll back:") || !strings.Contains(r.Text, cmd) {
			t.Errorf("%s central digest:\n%s", it.State, r.Text)
		}
	}
}

// TestCommandsWrapInHTML: every command block wraps, so a long ARN never
// pushes the mail wider than the window (the fetch command overflowed at
// 900 px); TestOwnerEmailFitsLaptopAndPrint checks it in a browser.
func TestCommandsWrapInHTML(t *testing.T) {
	r := renderOwner(t, false, "security@example.com", fixtureItems()...)
	n := strings.Count(r.HTML, "<pre")
	if n == 0 {
		t.Fatal("no command blocks")
	}
	if w := strings.Count(r.HTML, `<pre style="white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-all;`); w != n {
		t.Errorf("%d of %d command blocks wrap:\n%s", w, n, r.HTML)
	}
}
