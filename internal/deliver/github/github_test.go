package github_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/nacl/box"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/github"
	"github.com/keyrot/keyrot/internal/secretstore"
)

const token = "ghp_testtoken0123456789abcdefghijklmnopqr"

func key(id, secret string) deliver.Key {
	return deliver.Key{AccessKeyID: id, SecretAccessKey: secretstore.NewSecret(secret), UserName: "deploy", AccountID: "123456789012"}
}

func open(t *testing.T, url, ref, tok string) *github.Destination {
	t.Helper()
	r, err := deliver.ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := github.New(r, secretstore.NewSecret(tok), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWriteEachScope(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, ref, scope string
	}{
		{"repository", "github:acme/app/AWS_ACCESS_KEY_ID", "repo:acme/app"},
		{"environment", "github:acme/app/environments/production/PROD_AWS_ACCESS_KEY_ID", "env:acme/app/production"},
		{"organization", "github:acme/AWS_ACCESS_KEY_ID", "org:acme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeGitHub(t, token)
			f.addRepo("acme", "app", "production")
			f.orgs["acme"] = true
			d := open(t, srv.URL, tt.ref, token)
			if err := d.Check(ctx); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if cur, err := d.Current(ctx); err != nil || cur != "" {
				t.Fatalf("Current before any write = %q, %v; want \"\", nil", cur, err)
			}
			if err := d.Write(ctx, key("AKIAOLDOLDOLDOLD0001", "old/secret+value")); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if err := d.Write(ctx, key("AKIANEWNEWNEWNEW0002", "new/secret+value")); err != nil {
				t.Fatalf("Write: %v", err)
			}
			idName := d.Ref().Name
			secretName := d.Ref().SecretName()
			if got := f.secret(tt.scope, secretName); got != "new/secret+value" {
				t.Errorf("secret %s opened by the server = %q, want the new secret", secretName, got)
			}
			if got := f.variable(tt.scope, idName); got != "AKIANEWNEWNEWNEW0002" {
				t.Errorf("variable %s = %q, want the new key ID", idName, got)
			}
			if cur, err := d.Current(ctx); err != nil || cur != "AKIANEWNEWNEWNEW0002" {
				t.Errorf("Current = %q, %v; want the new key ID", cur, err)
			}
			// A second write of the same key changes nothing a workflow sees
			// and does not touch the variable.
			patches := f.callCount("PATCH")
			if err := d.Write(ctx, key("AKIANEWNEWNEWNEW0002", "new/secret+value")); err != nil {
				t.Fatalf("rewrite: %v", err)
			}
			if got := f.callCount("PATCH"); got != patches {
				t.Errorf("rewriting the same key patched the variable (%d PATCH before, %d after)", patches, got)
			}
			if got := f.secret(tt.scope, secretName); got != "new/secret+value" {
				t.Errorf("after rewrite the secret is %q", got)
			}
		})
	}
}

func TestOrganizationSecretKeepsVisibility(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeGitHub(t, token)
	f.orgs["acme"] = true
	d := open(t, srv.URL, "github:acme/AWS_ACCESS_KEY_ID", token)
	if err := d.Write(ctx, key("AKIAONEONEONEONE0001", "s1")); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.scope("org:acme").visibility["AWS_SECRET_ACCESS_KEY"] = "all"
	f.mu.Unlock()
	if err := d.Write(ctx, key("AKIATWOTWOTWOTWO0002", "s2")); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := f.scope("org:acme").visibility["AWS_SECRET_ACCESS_KEY"]; got != "all" {
		t.Errorf("visibility after rewrite = %q, want the existing \"all\" kept", got)
	}
}

func TestCheckReportsUnauthorizedAndNotFound(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeGitHub(t, token)
	f.addRepo("acme", "app")
	tests := []struct {
		name, ref, token string
		want             error
		status           string
	}{
		{"bad token", "github:acme/app/AWS_ACCESS_KEY_ID", "ghp_wrongtoken", deliver.ErrUnauthorized, "401"},
		{"no such repository", "github:acme/nope/AWS_ACCESS_KEY_ID", token, deliver.ErrNotFound, "404"},
		{"no such environment", "github:acme/app/environments/staging/AWS_ACCESS_KEY_ID", token, deliver.ErrNotFound, "404"},
		{"no such organization", "github:nobody/AWS_ACCESS_KEY_ID", token, deliver.ErrNotFound, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := open(t, srv.URL, tt.ref, tt.token)
			err := d.Check(ctx)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.ref) || !strings.Contains(msg, tt.status) {
				t.Errorf("message %q should name the destination %s and HTTP %s", msg, tt.ref, tt.status)
			}
			if strings.Contains(msg, tt.token) {
				t.Errorf("message leaks the token: %q", msg)
			}
			var de *deliver.Error
			if !errors.As(err, &de) || de.Op != "check" {
				t.Errorf("error is not a *deliver.Error for check: %#v", err)
			}
			werr := d.Write(ctx, key("AKIAXXXXXXXXXXXX0001", "topsecret-value"))
			if !errors.Is(werr, tt.want) || strings.Contains(werr.Error(), "topsecret-value") {
				t.Errorf("Write = %v, want %v without the secret", werr, tt.want)
			}
		})
	}
}

func TestSealSecretRejectsBadKey(t *testing.T) {
	for _, pub := range []string{"", "not base64!", "AAAA"} {
		if _, err := github.SealSecret(pub, []byte("x"), strings.NewReader(strings.Repeat("r", 64))); err == nil {
			t.Errorf("SealSecret(%q) accepted a key that is not 32 bytes", pub)
		}
	}
}

// BenchmarkSealSecret measures sealing one secret access key for GitHub.
func BenchmarkSealSecret(b *testing.B) {
	pub, _, err := box.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	pk := base64.StdEncoding.EncodeToString(pub[:])
	secret := []byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	for b.Loop() {
		if _, err := github.SealSecret(pk, secret, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}
