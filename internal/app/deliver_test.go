package app

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/backends"
	"github.com/keyrot/keyrot/internal/deliver/profile"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

// TestDestinationsFor: the executor's destinations are the deliver
// section's Resolve for the user, each opened by its backend: a profile in
// the configured file; a GitHub secret whose token is missing carries the
// error that blocks its delivery; a tag reference that does not parse is a
// destination with its error, not silently dropped.
func TestDestinationsFor(t *testing.T) {
	if (&App{}).destinations(Scope{}) != nil {
		t.Error("no deliver section: want no destinations")
	}
	file := filepath.Join(t.TempDir(), "credentials")
	var n yaml.Node
	src := `
profile:
  file: ` + file + `
destinations:
  - to: [profile:ci, github:acme/app/AWS_ACCESS_KEY_ID]
    users: [ci]
`
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	cfg, probs := deliver.DecodeConfig("keyrot.yaml", n.Content[0], "deliver")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	a := &App{Policy: policy.Default(), Deliver: cfg, DeliverEnv: &backends.Env{Getenv: func(string) string { return "" }}}
	ds := a.destinations(Scope{})
	if ds == nil {
		t.Fatal("no destinations")
	}
	got := ds.For(context.Background(), "111111111111", inventory.User{Name: "ci", Tags: map[string]string{deliver.DefaultUserTag: "nonsense:x"}})
	if len(got) != 3 {
		t.Fatalf("want 3 targets, got %+v", got)
	}
	byRef := map[string]int{}
	for i, tg := range got {
		byRef[tg.Ref] = i
	}
	p := got[byRef["profile:ci"]]
	if pd, ok := p.Dest.(*profile.Destination); !ok || p.Err != nil || pd.File() != file {
		t.Errorf("profile target: %+v", p)
	}
	if g := got[byRef["github:acme/app/AWS_ACCESS_KEY_ID"]]; g.Err == nil || !errors.Is(g.Err, deliver.ErrUnauthorized) {
		t.Errorf("github target without a token: %+v", g)
	}
	if tg := got[byRef["tag "+deliver.DefaultUserTag]]; tg.Err == nil {
		t.Errorf("bad tag reference: %+v", tg)
	}
	if other := ds.For(context.Background(), "111111111111", inventory.User{Name: "web"}); len(other) != 0 {
		t.Errorf("a user no rule names: %+v", other)
	}
}
