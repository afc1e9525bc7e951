package notify

import "testing"

// TestCentralHeadlinePlurals: "11 findings", "2 reminders"; states that are
// participles stay as they are ("2 rotated").
func TestCentralHeadlinePlurals(t *testing.T) {
	d := &Digest{Date: "2026-12-19", Groups: []Group{
		{State: StateRotated, Items: make([]ItemView, 2)},
		{State: StateReminder, Items: make([]ItemView, 2)},
		{State: StateFinding, Items: make([]ItemView, 11)},
	}}
	want := "keyrot digest for 2026-12-19: 15 keys (2 rotated, 2 reminders, 11 findings)"
	if got := centralHeadline(d); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
