package history

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestKeyEvents(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	run := startRun(t, s, t0)
	const acct, user, oldKey, newKey = "111111111111", "alice", "AKIAOLDKEY0000000001", "AKIANEWKEY0000000001"
	arn := "arn:aws:secretsmanager:us-east-1:111111111111:secret:keyrot/alice-AbCdEf"
	// Inserted out of time order on purpose: reads order by At, not insertion.
	in := []KeyEvent{
		{Account: acct, User: user, KeyID: oldKey, Event: EventDeactivated, At: t0.Add(8 * 24 * time.Hour), RunID: run},
		{Account: acct, User: user, KeyID: newKey, Event: EventCreated, At: t0, RunID: run},
		{Account: acct, User: user, KeyID: newKey, Event: EventStored, At: t0.Add(time.Second), RunID: run,
			SecretARN: arn, SecretVersionID: "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"},
		// Half a second later, then a whole second later: text ordering must
		// not put "…:01Z" after "…:01.5Z".
		{Account: acct, User: user, KeyID: newKey, Event: EventVerified, At: t0.Add(1500 * time.Millisecond)},
		{Account: acct, User: user, KeyID: newKey, Event: EventVerified, At: t0.Add(time.Second)},
		{Account: acct, User: "bob", KeyID: "AKIABOBKEY0000000001", Event: EventOrphanDetected, At: t0},
		{Account: acct, User: "bob", KeyID: "AKIABOBKEY0000000002", Event: EventSeenInactive, At: t0},
	}
	ids := make([]int64, len(in))
	for i, e := range in {
		id, err := s.RecordKeyEvent(ctx, e)
		if err != nil {
			t.Fatalf("RecordKeyEvent(%s): %v", e.Event, err)
		}
		ids[i] = id
		in[i].ID = id
	}
	got, err := s.KeyEvents(ctx, acct, user)
	if err != nil {
		t.Fatal(err)
	}
	want := []KeyEvent{in[1], in[2], in[4], in[3], in[0]}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("KeyEvents (-want +got):\n%s", d)
	}

	tests := []struct {
		name        string
		key, event  string
		want        KeyEvent
		wantPresent bool
	}{
		{name: "latest verified wins", key: newKey, event: EventVerified, want: in[3], wantPresent: true},
		{name: "stored carries secret location", key: newKey, event: EventStored, want: in[2], wantPresent: true},
		{name: "other key", key: oldKey, event: EventDeactivated, want: in[0], wantPresent: true},
		{name: "deactivated is not seen inactive", key: oldKey, event: EventSeenInactive},
		{name: "absent event", key: oldKey, event: EventDeleted},
		{name: "absent key", key: "AKIANOSUCHKEY0000001", event: EventCreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := s.LastKeyEvent(ctx, acct, user, tt.key, tt.event)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantPresent {
				t.Fatalf("found = %v, want %v", ok, tt.wantPresent)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("LastKeyEvent (-want +got):\n%s", d)
			}
		})
	}
}

func TestRecordKeyEventValidation(t *testing.T) {
	ok := KeyEvent{Account: "111111111111", User: "alice", KeyID: "AKIAOLDKEY0000000001", Event: EventDeleted, At: t0}
	tests := []struct {
		name   string
		mutate func(e *KeyEvent)
	}{
		{"no account", func(e *KeyEvent) { e.Account = "" }},
		{"no user", func(e *KeyEvent) { e.User = "" }},
		{"no key", func(e *KeyEvent) { e.KeyID = "" }},
		{"unknown event", func(e *KeyEvent) { e.Event = "rotated" }},
	}
	s, _ := openTemp(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ok
			tt.mutate(&e)
			if _, err := s.RecordKeyEvent(context.Background(), e); !errors.Is(err, ErrInvalid) {
				t.Errorf("RecordKeyEvent err = %v, want ErrInvalid", err)
			}
		})
	}
	t.Run("unknown run", func(t *testing.T) {
		e := ok
		e.RunID = 4242
		if _, err := s.RecordKeyEvent(context.Background(), e); err == nil {
			t.Error("RecordKeyEvent with a run that does not exist succeeded; want a foreign key error")
		}
	})
}

func TestNotices(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	base := Notice{Recipient: "alice@example.com", Account: "111111111111", User: "alice", KeyID: "AKIAOLDKEY0000000001",
		Kind: "rotation-due", DueDate: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Channel: "email"}
	first, second, otherKind := base, base, base
	first.SentAt = t0
	second.SentAt = t0.Add(7 * 24 * time.Hour)
	otherKind.Kind, otherKind.SentAt, otherKind.DueDate = "deactivated", t0.Add(8*24*time.Hour), time.Time{}
	// Recorded newest first: LastNotice orders by SentAt.
	for _, n := range []*Notice{&second, &first, &otherKind} {
		id, err := s.RecordNotice(ctx, *n)
		if err != nil {
			t.Fatal(err)
		}
		n.ID = id
	}
	tests := []struct {
		name                                string
		recipient, account, user, key, kind string
		want                                Notice
		wantFound                           bool
	}{
		{"latest of kind", base.Recipient, base.Account, base.User, base.KeyID, "rotation-due", second, true},
		{"no due date", base.Recipient, base.Account, base.User, base.KeyID, "deactivated", otherKind, true},
		{"other recipient", "bob@example.com", base.Account, base.User, base.KeyID, "rotation-due", Notice{}, false},
		{"other key", base.Recipient, base.Account, base.User, "AKIANEWKEY0000000001", "rotation-due", Notice{}, false},
		{"other account", base.Recipient, "222222222222", base.User, base.KeyID, "rotation-due", Notice{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found, err := s.LastNotice(ctx, tt.recipient, tt.account, tt.user, tt.key, tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			if found != tt.wantFound {
				t.Fatalf("found = %v, want %v", found, tt.wantFound)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("LastNotice (-want +got):\n%s", d)
			}
		})
	}
	if _, err := s.RecordNotice(ctx, Notice{Account: "1", User: "u", Kind: "k"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("RecordNotice without recipient err = %v, want ErrInvalid", err)
	}
}
