package vault_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/vault"
	"github.com/keyrot/keyrot/internal/secretstore"
)

const (
	rootToken   = "hvs.roottoken0123456789"
	writerToken = "hvs.writertoken0123456789"
	readerToken = "hvs.readertoken0123456789"
)

func key(id, secret string) deliver.Key {
	return deliver.Key{AccessKeyID: id, SecretAccessKey: secretstore.NewSecret(secret)}
}

func setup(t *testing.T) (*fakeVault, string) {
	f, srv := newFakeVault(t)
	f.mounts["secret"] = true
	f.mounts["kv1"] = true
	f.kvVersion["kv1"] = "1"
	f.tokens[rootToken] = map[string][]string{"*": {"root"}}
	f.tokens[writerToken] = map[string][]string{"secret/data/ci/deploy": {"create", "read", "update"}}
	f.tokens[readerToken] = map[string][]string{"secret/data/ci/deploy": {"read"}}
	return f, srv.URL
}

func open(t *testing.T, url, ref, tok string) *vault.Destination {
	t.Helper()
	r, err := deliver.ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := vault.New(r, url, "", secretstore.NewSecret(tok), nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWriteKeepsOtherFieldsAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	f, url := setup(t)
	f.secret("secret/ci/deploy").put(map[string]any{"region": "eu-west-1"})
	d := open(t, url, "vault:secret/ci/deploy", writerToken)
	if err := d.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if err := d.Write(ctx, key("AKIANEWNEWNEWNEW0002", "new/secret")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	s := f.secret("secret/ci/deploy")
	got := s.versions[len(s.versions)-1]
	if got["access_key_id"] != "AKIANEWNEWNEWNEW0002" || got["secret_access_key"] != "new/secret" || got["region"] != "eu-west-1" {
		t.Errorf("stored %v, want the key fields and region kept", got)
	}
	if cur, err := d.Current(ctx); err != nil || cur != "AKIANEWNEWNEWNEW0002" {
		t.Errorf("Current = %q, %v", cur, err)
	}
	versions := len(s.versions)
	if err := d.Write(ctx, key("AKIANEWNEWNEWNEW0002", "new/secret")); err != nil {
		t.Fatalf("rewrite: %v", err)
	}
	if len(s.versions) != versions {
		t.Errorf("rewriting the same key made version %d; want no new version", len(s.versions))
	}
}

func TestWriteCreatesWithCASZeroAndAfterDeletedVersion(t *testing.T) {
	ctx := context.Background()
	f, url := setup(t)
	d := open(t, url, "vault:secret/ci/deploy", writerToken)
	if cur, err := d.Current(ctx); err != nil || cur != "" {
		t.Fatalf("Current of a missing secret = %q, %v", cur, err)
	}
	if err := d.Write(ctx, key("AKIAONEONEONEONE0001", "s1")); err != nil {
		t.Fatalf("create: %v", err)
	}
	s := f.secret("secret/ci/deploy")
	s.deleted = true // kv delete of the latest version: its number stays
	if err := d.Write(ctx, key("AKIATWOTWOTWOTWO0002", "s2")); err != nil {
		t.Fatalf("write after a deleted version: %v", err)
	}
	if len(s.versions) != 2 || s.deleted {
		t.Errorf("versions %d, deleted %v; want version 2 live", len(s.versions), s.deleted)
	}
}

func TestCheckAndSetConflictIsRetried(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		conflicts int
		wantErr   error
		wantWrite int
	}{
		{"one concurrent write", 1, nil, 2},
		{"conflicts on every attempt", vault.MaxAttempts, deliver.ErrConflict, vault.MaxAttempts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, url := setup(t)
			left := tt.conflicts
			f.beforeWrite = func(s *kvSecret) {
				if left > 0 {
					left--
					s.put(map[string]any{"access_key_id": "AKIAOTHEROTHEROTH999", "note": "another writer"})
				}
			}
			d := open(t, url, "vault:secret/ci/deploy", writerToken)
			err := d.Write(ctx, key("AKIANEWNEWNEWNEW0002", "new/secret"))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Write = %v, want %v", err, tt.wantErr)
			}
			if f.writes != tt.wantWrite {
				t.Errorf("%d writes sent, want %d", f.writes, tt.wantWrite)
			}
			s := f.secret("secret/ci/deploy")
			last := s.versions[len(s.versions)-1]
			if tt.wantErr == nil {
				if last["access_key_id"] != "AKIANEWNEWNEWNEW0002" || last["note"] != "another writer" {
					t.Errorf("after retry the secret is %v; want the new key on top of the other writer's version", last)
				}
			} else if last["access_key_id"] == "AKIANEWNEWNEWNEW0002" {
				t.Errorf("a conflicting write was applied")
			}
		})
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
		{"unknown token", "vault:secret/ci/deploy", "hvs.nosuchtoken", deliver.ErrUnauthorized, "403"},
		{"read-only policy", "vault:secret/ci/deploy", readerToken, deliver.ErrUnauthorized, "create, update"},
		{"no such mount", "vault:kv/ci/deploy", rootToken, deliver.ErrNotFound, "no secrets engine is mounted at kv"},
		{"KV version 1", "vault:kv1/ci/deploy", rootToken, deliver.ErrNotFound, "not KV version 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := open(t, url, tt.ref, tt.token).Check(ctx)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.ref) || !strings.Contains(msg, tt.words) {
				t.Errorf("message %q should name %s and say %q", msg, tt.ref, tt.words)
			}
			if strings.Contains(msg, tt.token) {
				t.Errorf("message leaks the token: %q", msg)
			}
		})
	}
	werr := open(t, url, "vault:secret/ci/deploy", readerToken).Write(ctx, key("AKIAXXXXXXXXXXXX0001", "topsecret-value"))
	if !errors.Is(werr, deliver.ErrUnauthorized) || strings.Contains(werr.Error(), "topsecret-value") {
		t.Errorf("Write with a read-only token = %v; want unauthorized without the secret", werr)
	}
}
