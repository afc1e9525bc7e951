package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/history"
)

// TestKeyStoryDeliveries: a user's story tells each delivery of a new key
// (written, confirmed or failed, with the error), in time order with the
// key events.
func TestKeyStoryDeliveries(t *testing.T) {
	ctx := context.Background()
	h, err := history.Open(ctx, filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	const acct, user, key = "111111111111", "ci", "AKIANEWKEY0000000001"
	if _, err := h.RecordKeyEvent(ctx, history.KeyEvent{Account: acct, User: user, KeyID: key, Event: history.EventVerified, At: t0}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []history.Delivery{
		{Account: acct, User: user, KeyID: key, Destination: "profile:ci", Status: history.DeliveryWriting, At: t0.Add(time.Second)},
		{Account: acct, User: user, KeyID: key, Destination: "profile:ci", Status: history.DeliveryWritten, At: t0.Add(2 * time.Second)},
		{Account: acct, User: user, KeyID: key, Destination: "vault:secret/ci", Status: history.DeliveryFailed, Error: "write vault:secret/ci: unauthorized (HTTP 403)", At: t0.Add(3 * time.Second)},
	} {
		if _, err := h.RecordDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	story, err := (&App{History: h}).KeyStory(ctx, acct, user)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range story {
		got = append(got, l.What+" "+l.Outcome+" "+l.Detail)
	}
	want := []string{"key verified  ", "delivery to profile:ci written ", "delivery to vault:secret/ci failed write vault:secret/ci: unauthorized (HTTP 403)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("story (-want +got):\n%s", diff)
	}
}
