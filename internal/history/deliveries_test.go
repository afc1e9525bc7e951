package history

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDeliveries(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	run := startRun(t, s, t0)
	const acct, key = "111111111111", "AKIANEWKEY0000000001"
	in := []Delivery{
		{Account: acct, User: "alice", KeyID: key, Destination: "vault:secret/ci/deploy", Status: DeliveryFailed, Error: "write vault:secret/ci/deploy: unauthorized (HTTP 403)", At: t0, RunID: run},
		{Account: acct, User: "bob", KeyID: "AKIABOBKEY0000000001", Destination: "profile:bob", Status: DeliveryWritten, At: t0},
		{Account: acct, User: "alice", KeyID: key, Destination: "vault:secret/ci/deploy", Status: DeliveryWritten, ReplacedLastUsed: "2026-01-02T03:04:05Z", At: t0.Add(time.Hour), RunID: run},
		{Account: acct, User: "alice", KeyID: key, Destination: "vault:secret/ci/deploy", Status: DeliveryConfirmed, At: t0.Add(2 * time.Hour)},
	}
	for i, d := range in {
		id, err := s.RecordDelivery(ctx, d)
		if err != nil {
			t.Fatalf("RecordDelivery #%d: %v", i, err)
		}
		in[i].ID = id
	}
	got, err := s.Deliveries(ctx, acct, "alice")
	if err != nil {
		t.Fatal(err)
	}
	want := []Delivery{in[0], in[2], in[3]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Deliveries (-want +got):\n%s", diff)
	}

	bad := []struct {
		name string
		d    Delivery
		want error
	}{
		{"no destination", Delivery{Account: acct, User: "alice", KeyID: key, Status: DeliveryWritten}, ErrInvalid},
		{"unknown status", Delivery{Account: acct, User: "alice", KeyID: key, Destination: "profile:a", Status: "sent"}, ErrInvalid},
		{"secret in error", Delivery{Account: acct, User: "alice", KeyID: key, Destination: "profile:a", Status: DeliveryFailed,
			Error: "bad key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, ErrSecretMaterial},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.RecordDelivery(ctx, tt.d); !errors.Is(err, tt.want) {
				t.Errorf("RecordDelivery: %v, want %v", err, tt.want)
			}
		})
	}
}
