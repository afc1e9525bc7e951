package gitlab_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/gitlab"
	"github.com/keyrot/keyrot/internal/secretstore"
)

const (
	maintainer = "glpat-maintainer0123456789"
	developer  = "glpat-developer0123456789"
)

func key(id, secret string) deliver.Key {
	return deliver.Key{AccessKeyID: id, SecretAccessKey: secretstore.NewSecret(secret)}
}

func setup(t *testing.T) (*fakeGitLab, string) {
	f, srv := newFakeGitLab(t)
	f.addProject("acme/platform/deploy")
	f.tokens[maintainer] = 40
	f.tokens[developer] = 30
	return f, srv.URL + "/api/v4"
}

func open(t *testing.T, url, ref, tok string) *gitlab.Destination {
	t.Helper()
	r, err := deliver.ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := gitlab.New(r, secretstore.NewSecret(tok), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWriteVariables(t *testing.T) {
	ctx := context.Background()
	f, url := setup(t)
	d := open(t, url, "gitlab:acme/platform/deploy/AWS_ACCESS_KEY_ID", maintainer)
	if err := d.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if cur, err := d.Current(ctx); err != nil || cur != "" {
		t.Fatalf("Current before any write = %q, %v", cur, err)
	}
	if err := d.Write(ctx, key("AKIAONEONEONEONE0001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	p := f.projects["acme/platform/deploy"]
	sec := p.vars["AWS_SECRET_ACCESS_KEY"]
	if sec == nil || sec.Value != "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" || !sec.Masked || !sec.Raw {
		t.Fatalf("secret variable = %+v; want the secret, masked and raw", sec)
	}
	// An operator protects the variable; rotation must keep that.
	sec.Protected = true
	if err := d.Write(ctx, key("AKIATWOTWOTWOTWO0002", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if sec := p.vars["AWS_SECRET_ACCESS_KEY"]; sec.Value != "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY" || !sec.Protected || !sec.Masked {
		t.Errorf("after rotation the secret variable is %+v; want the new secret, still protected and masked", sec)
	}
	if cur, err := d.Current(ctx); err != nil || cur != "AKIATWOTWOTWOTWO0002" {
		t.Errorf("Current = %q, %v", cur, err)
	}
	writes := f.writes
	if err := d.Write(ctx, key("AKIATWOTWOTWOTWO0002", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY")); err != nil {
		t.Fatalf("rewrite: %v", err)
	}
	if f.writes != writes {
		t.Errorf("rewriting the same key sent %d writes; want none", f.writes-writes)
	}
}

func TestCheckReportsUnauthorizedAndNotFound(t *testing.T) {
	ctx := context.Background()
	_, url := setup(t)
	tests := []struct {
		name, ref, token string
		want             error
		words            string
	}{
		{"bad token", "gitlab:acme/platform/deploy/AWS_ACCESS_KEY_ID", "glpat-wrong", deliver.ErrUnauthorized, "401"},
		{"developer role", "gitlab:acme/platform/deploy/AWS_ACCESS_KEY_ID", developer, deliver.ErrUnauthorized, "Maintainer"},
		{"no such project", "gitlab:acme/nope/AWS_ACCESS_KEY_ID", maintainer, deliver.ErrNotFound, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := open(t, url, tt.ref, tt.token)
			err := d.Check(ctx)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.ref) || !strings.Contains(msg, tt.words) || strings.Contains(msg, tt.token) {
				t.Errorf("message %q should name %s, say %q and not hold the token", msg, tt.ref, tt.words)
			}
			werr := d.Write(ctx, key("AKIAXXXXXXXXXXXX0001", "topsecret-value-1234"))
			if !errors.Is(werr, tt.want) || strings.Contains(werr.Error(), "topsecret-value-1234") {
				t.Errorf("Write = %v; want %v without the secret", werr, tt.want)
			}
		})
	}
}
