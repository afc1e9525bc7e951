package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
)

var fileNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// savedFixture is a plan with one create, one deferred deactivation and
// one orphan deletion in account 111122223333.
func savedFixture() *Plan {
	keys := []KeyState{{ID: "AKIAAAAAAAAAAAAAAAA1", Status: inventory.KeyActive}}
	mk := func(kind Kind, user, key string, gate Gate) Action {
		a := Action{Kind: kind, AccountID: "111122223333", User: user, UserARN: "arn:aws:iam::111122223333:user/" + user,
			KeyID: key, Gate: gate, Expect: keys, Reason: "due", Evidence: map[string]string{"age_days": "91"}}
		a.ID = string(kind) + "/111122223333/" + user + "/" + key
		return a
	}
	return &Plan{
		GeneratedAt: fileNow,
		Actions: []Action{
			mk(DeleteOrphan, "app", "AKIAAAAAAAAAAAAAAAA2", Gate{UnusedSince: fileNow.Add(usageGranularity)}),
			mk(CreateKey, "app", "AKIAAAAAAAAAAAAAAAA1", Gate{RequireStatus: inventory.KeyActive}),
		},
		Deferred: []Action{mk(DeactivateKey, "db", "AKIAAAAAAAAAAAAAAAA3", Gate{UnusedSince: fileNow.Add(-time.Hour), RequireStatus: inventory.KeyActive})},
		Accounts: []string{"111122223333"},
	}
}

// TestDigest: a plan file survives reformatting but not an edit.
func TestDigest(t *testing.T) {
	b, err := Encode(savedFixture())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(b); err != nil {
		t.Fatalf("fresh file: %v", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(compact.Bytes()); err != nil {
		t.Fatalf("reformatted file: %v", err)
	}
	for name, edit := range map[string]func(string) string{
		"date": func(s string) string { return strings.Replace(s, "2026-03-01T12:00:00Z", "2026-03-04T12:00:00Z", 1) },
		"kind": func(s string) string { return strings.Replace(s, `"kind": "create-key"`, `"kind": "delete-key"`, 1) },
		"gate": func(s string) string {
			return strings.Replace(s, `"require_status": "Active"`, `"require_status": "Inactive"`, 1)
		},
		"no digest": func(s string) string { return strings.Replace(s, `"digest"`, `"digest_"`, 1) },
	} {
		e := edit(string(b))
		if e == string(b) {
			t.Fatalf("%s: the edit changed nothing", name)
		}
		if _, err := Decode([]byte(e)); !errors.Is(err, ErrBadFile) {
			t.Errorf("%s edited: %v, want ErrBadFile", name, err)
		}
	}
}

// TestNarrow: what runs is the current plan's own actions named by the
// saved plan, in the current plan's order; an orphan's usage gate may be
// dated when the saved plan was made; everything else must match.
func TestNarrow(t *testing.T) {
	saved := savedFixture()
	current := savedFixture()
	later := fileNow.Add(2 * time.Hour)
	current.GeneratedAt = later
	current.Actions[0].Gate.UnusedSince = later.Add(usageGranularity)
	current.Actions[1].Evidence = map[string]string{"age_days": "92"}
	current.Deferred[0].Deferred = "guardrail: at most 2 changes per run"
	// The saved plan asks for the deferred deactivation and the create, not the orphan.
	saved.Actions = []Action{saved.Deferred[0], saved.Actions[1]}

	got, err := Narrow(saved, current, later, 24*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Actions) != 2 || got.Actions[0].Kind != CreateKey || got.Actions[1].Kind != DeactivateKey {
		t.Fatalf("actions %+v, want the create then the deactivation", got.Actions)
	}
	if got.Actions[0].Evidence["age_days"] != "92" || got.Actions[1].Deferred != "" {
		t.Errorf("actions are not the current plan's: %+v", got.Actions)
	}
	if len(got.Deferred) != 1 || got.Deferred[0].Kind != DeleteOrphan || got.Deferred[0].Deferred != "not in the saved plan" {
		t.Errorf("deferred %+v, want the orphan not in the saved plan", got.Deferred)
	}

	// The orphan's gate dated at the saved plan's time is the same gate.
	if _, err := Narrow(savedFixture(), func() *Plan { c := savedFixture(); c.Actions[0].Gate.UnusedSince = later; return c }(), later, 0, nil); err != nil {
		t.Errorf("orphan gate dated by the saved plan: %v", err)
	}

	tests := []struct {
		name string
		edit func(p *Plan)
		want string
	}{
		{"orphan gate removed", func(p *Plan) { p.Actions[0].Gate = Gate{} }, "its gate is none"},
		{"ID edited", func(p *Plan) { p.Actions[1].ID = "x" }, `its ID is "x"`},
		{"account name edited", func(p *Plan) { p.Actions[1].AccountName = "prod" }, `its account name is "prod", not ""`},
		{"due date edited", func(p *Plan) { p.Actions[1].Due = fileNow }, "it is due 2026-03-01T12:00:00Z, not never"},
		{"duplicate", func(p *Plan) { p.Actions = append(p.Actions, p.Actions[1]) }, "listed twice"},
		{"unknown kind", func(p *Plan) { p.Actions[1].Kind = "blocked" }, `"blocked" is not an action keyrot carries out`},
		{"other account", func(p *Plan) { p.Actions[1].AccountID = "999999999999" }, "account 999999999999 is outside this run's scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := savedFixture()
			tt.edit(s)
			_, err := Narrow(s, savedFixture(), fileNow, 0, nil)
			var re *RefusedError
			if !errors.As(err, &re) || !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want a refusal saying %q", err, tt.want)
			}
		})
	}

	if _, err := Narrow(&Plan{GeneratedAt: fileNow.Add(time.Hour)}, savedFixture(), fileNow, 0, nil); !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), "in the future") {
		t.Errorf("plan from the future: %v", err)
	}
	u := map[string]Unavailable{"111122223333": {Why: "account 111122223333 is not readable now (denied)", Unreadable: true}}
	if _, err := Narrow(savedFixture(), &Plan{}, fileNow, 0, u); !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), "no longer matches the organization") {
		t.Errorf("unreadable account: %v", err)
	}
}
