package notify

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/history"
)

// histories are the History implementations dedupe must work with.
func histories(t *testing.T) map[string]func() History {
	return map[string]func() History{
		"memory": func() History { return &MemoryHistory{} },
		"sqlite": func() History {
			s, err := history.Open(context.Background(), filepath.Join(t.TempDir(), "history.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

func TestDedupeSameRunTwice(t *testing.T) {
	for name, mk := range histories(t) {
		t.Run(name, func(t *testing.T) {
			h := mk()
			rec := &recorder{name: "rec"}
			send := func(now time.Time) *Summary {
				// A new Notifier each time: a restart keeps only the history.
				n, err := New(fixtureConfig(), []Target{{Channel: rec}}, Options{History: h, Sleep: noSleep, Logger: quiet})
				if err != nil {
					t.Fatal(err)
				}
				sum, err := n.Send(context.Background(), Run{ID: "r", Now: now, Items: fixtureItems()})
				if err != nil {
					t.Fatal(err)
				}
				return sum
			}
			first := send(fixtureNow)
			if first.Digests != 5 || len(rec.msgs) != 5 {
				t.Fatalf("first run: %d digests, %d sent; want 5", first.Digests, len(rec.msgs))
			}
			second := send(fixtureNow.Add(2 * time.Hour))
			if second.Digests != 0 || len(rec.msgs) != 5 {
				t.Errorf("second run within the window sent %d digests (%d messages in all), want nothing new", second.Digests, len(rec.msgs))
			}
			if second.Suppressed != first.Notices {
				t.Errorf("second run suppressed %d notices, want %d", second.Suppressed, first.Notices)
			}
			// After the window, only ongoing conditions come back: the key
			// blocked in use and the findings. Events (rotated, deactivated,
			// deleted, the reminder) are announced once.
			third := send(fixtureNow.Add(21 * time.Hour))
			var got []string
			for _, m := range rec.msgs[5:] {
				for _, g := range m.Digest.Groups {
					for _, it := range g.Items {
						if third.Digests > 0 {
							got = append(got, m.To+" "+it.User+" "+string(it.State))
						}
					}
				}
			}
			want := []string{
				"alice@example.com alice-ci blocked-in-use",
				"alice@example.com alice rotated", // listed with the new news, not new itself
				"security@example.com dave finding",
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("after the window (-want +got):\n%s", d)
			}
		})
	}
}

func TestRemindersAsTimeAdvances(t *testing.T) {
	deadline := time.Date(2027, 3, 10, 0, 0, 0, 0, time.UTC)
	items := []Item{{
		AccountID: "123456789012", User: "alice", UserTags: map[string]string{"owner": "alice@example.com"},
		KeyID: "AKIAIOSFODNN7EXAMPLE", State: StateDeactivationDue, Date: deadline,
	}}
	for name, mk := range histories(t) {
		t.Run(name, func(t *testing.T) {
			h := mk()
			rec := &recorder{name: "rec"}
			n, err := New(fixtureConfig(), []Target{{Channel: rec}}, Options{History: h, Sleep: noSleep, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			// A run every six hours from 12 days before the deadline.
			for now := deadline.Add(-12*24*time.Hour + 6*time.Hour); now.Before(deadline); now = now.Add(6 * time.Hour) {
				before := len(rec.msgs)
				if _, err := n.Send(context.Background(), Run{Now: now, Items: items}); err != nil {
					t.Fatal(err)
				}
				for _, m := range rec.msgs[before:] {
					for _, g := range m.Digest.Groups {
						for _, it := range g.Items {
							s := now.Format("01-02T15") + " " + string(it.State)
							if it.State == StateReminder {
								s += fmt.Sprintf(" %dd", it.DaysLeft)
							}
							got = append(got, s)
						}
					}
				}
			}
			want := []string{
				"02-26T06 deactivation-due", // first announcement
				"03-03T00 reminder 7d",      // 7 days before, at the first run of the day
				"03-09T00 reminder 1d",      // 1 day before
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("notices as time advances (-want +got):\n%s", d)
			}
		})
	}
}

func TestRemindersHelper(t *testing.T) {
	now := time.Date(2027, 3, 3, 23, 0, 0, 0, time.UTC)
	items := []Item{
		{User: "a", State: StateDeactivationDue, Date: time.Date(2027, 3, 10, 0, 0, 0, 0, time.UTC)},
		{User: "b", State: StateDeactivated, Rollback: time.Date(2027, 3, 4, 5, 0, 0, 0, time.UTC)},
		{User: "c", State: StateRotated, Date: time.Date(2027, 3, 5, 0, 0, 0, 0, time.UTC)},
		{User: "d", State: StateDeleted, Date: time.Date(2027, 3, 10, 0, 0, 0, 0, time.UTC)},
		{User: "e", State: StateDeactivationDue, Date: time.Date(2027, 3, 3, 22, 0, 0, 0, time.UTC)}, // passed
	}
	var got []string
	for _, r := range Reminders(items, now, []int{7, 1}) {
		got = append(got, fmt.Sprintf("%s %s %dd", r.User, r.ReminderOf, r.DaysLeft))
	}
	want := []string{"a deactivation-due 7d", "b deactivated 1d"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Reminders (-want +got):\n%s", d)
	}
}

// TestDedupeOneOffEvents: items of one-off events (Item.Event) are told
// once each, however often sent, and apart from the user's other findings
// of the same day, which come back after the window as findings do.
func TestDedupeOneOffEvents(t *testing.T) {
	for name, mk := range histories(t) {
		t.Run(name, func(t *testing.T) {
			h := mk()
			rec := &recorder{name: "rec"}
			cfg := DefaultConfig()
			finding := func(title, event string) Item {
				return Item{AccountID: "111111111111", User: "alice", UserTags: map[string]string{"owner": "alice@example.com"},
					State: StateFinding, Date: fixtureNow, FindingTitles: []string{title}, Event: event}
			}
			send := func(now time.Time, items ...Item) *Summary {
				n, err := New(cfg, []Target{{Channel: rec}}, Options{History: h, Sleep: noSleep, Logger: quiet})
				if err != nil {
					t.Fatal(err)
				}
				sum, err := n.Send(context.Background(), Run{ID: "r", Now: now, Items: items})
				if err != nil {
					t.Fatal(err)
				}
				return sum
			}
			e1, e2, run := finding("login profile created by bob", "e1"), finding("MFA deactivated by bob", "e2"), finding("no MFA", "")
			if s := send(fixtureNow, e1); s.Notices != 1 {
				t.Fatalf("event e1: %d notices, want 1", s.Notices)
			}
			if s := send(fixtureNow.Add(time.Minute), e1, e2, run); s.Notices != 2 || s.Suppressed != 1 {
				t.Errorf("e1 again, e2 and the run's finding: %d notices, %d suppressed; want 2 and 1", s.Notices, s.Suppressed)
			}
			later := fixtureNow.Add(cfg.DedupeWindow + time.Hour)
			if s := send(later, e1, e2, run); s.Notices != 1 || s.Suppressed != 2 {
				t.Errorf("after the window: %d notices, %d suppressed; want the finding again and the events not", s.Notices, s.Suppressed)
			}
		})
	}
}
