// Package vault delivers access keys to a HashiCorp Vault KV v2 secret
// through Vault's Go client (github.com/hashicorp/vault/api).
//
// A reference vault:MOUNT/PATH writes the fields access_key_id and
// secret_access_key of the secret PATH in the KV v2 engine at MOUNT,
// keeping the secret's other fields. Every write is a check-and-set on the
// version just read, so a concurrent writer is never overwritten blindly:
// on a check-and-set conflict Write reads again and retries.
package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// Field names in the KV v2 secret.
const (
	FieldAccessKeyID     = "access_key_id"
	FieldSecretAccessKey = "secret_access_key"
)

// MaxAttempts is how many check-and-set writes Write tries before it
// gives up with deliver.ErrConflict.
const MaxAttempts = 5

// Destination is one KV v2 secret.
type Destination struct {
	ref    deliver.Ref
	client *api.Client
}

var _ deliver.Destination = (*Destination)(nil)

// New returns the destination ref (a vault reference) at the Vault server
// address, authenticated with token, in namespace ns ("" for none; Vault
// Enterprise and HCP). hc may be nil. Environment variables such as
// VAULT_ADDR and VAULT_TOKEN are not consulted: the caller passes what the
// configuration says.
func New(ref deliver.Ref, address, ns string, token secretstore.Secret, hc *http.Client) (*Destination, error) {
	if ref.Kind != deliver.KindVault {
		return nil, fmt.Errorf("vault destination: %s is not a vault reference", ref)
	}
	if address == "" {
		return nil, fmt.Errorf("vault destination %s: no Vault address (set deliver.vault.url)", ref)
	}
	cfg := api.DefaultConfig()
	cfg.Address = address
	cfg.AgentAddress = ""
	if hc != nil {
		cfg.HttpClient = hc
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault destination %s: %w", ref, err)
	}
	c.SetToken(token.Reveal())
	if ns != "" {
		c.SetNamespace(ns)
	} else {
		c.ClearNamespace()
	}
	return &Destination{ref: ref, client: c}, nil
}

// Ref returns the destination's reference.
func (d *Destination) Ref() deliver.Ref { return d.ref }

func (d *Destination) dataPath() string { return d.ref.Mount + "/data/" + d.ref.Path }

const policyHint = "the token's policy needs read, create and update on MOUNT/data/PATH"

func (d *Destination) fail(op string, err error) error {
	var re *api.ResponseError
	if errors.As(err, &re) {
		msg := ""
		if len(re.Errors) > 0 && !re.RawError {
			msg = fmt.Sprintf(" (Vault says %q)", strings.Join(re.Errors, "; "))
		}
		err = fmt.Errorf("%w%s", deliver.HTTPStatusError(re.StatusCode, policyHint), msg)
		if re.StatusCode == http.StatusBadRequest && strings.Contains(msg, "missing client token") {
			err = fmt.Errorf("%w: no token%s", deliver.ErrUnauthorized, msg)
		}
	}
	return &deliver.Error{Ref: d.ref, Op: op, Err: err}
}

// Check asks Vault for the token's capabilities on the secret's data path
// (sys/capabilities-self, which every token may call) and probes the
// path, so that a missing mount or a policy that cannot write is reported
// without writing.
func (d *Destination) Check(ctx context.Context) error {
	caps, err := d.client.Sys().CapabilitiesSelfWithContext(ctx, d.dataPath())
	if err != nil {
		return d.fail("check", err)
	}
	have := map[string]bool{}
	for _, c := range caps {
		have[c] = true
	}
	if !have["root"] {
		var missing []string
		for _, c := range []string{"read", "create", "update"} {
			if !have[c] {
				missing = append(missing, c)
			}
		}
		if have["deny"] || len(missing) > 0 {
			return &deliver.Error{Ref: d.ref, Op: "check", Err: fmt.Errorf("%w: the token's policy lacks %s on %s (has %s)",
				deliver.ErrUnauthorized, strings.Join(missing, ", "), d.dataPath(), strings.Join(caps, ", "))}
		}
	}
	if err := d.checkMount(ctx); err != nil {
		return err
	}
	resp, err := d.client.Logical().ReadRawWithContext(ctx, d.dataPath())
	if resp != nil {
		defer resp.Body.Close()
	}
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if strings.Contains(string(body), "no handler for route") {
			return &deliver.Error{Ref: d.ref, Op: "check", Err: fmt.Errorf("%w (HTTP 404): no secrets engine is mounted at %s", deliver.ErrNotFound, d.ref.Mount)}
		}
		return nil // the mount is there; the secret is not written yet
	}
	if err != nil {
		return d.fail("check", err)
	}
	return nil
}

// checkMount asks Vault what is mounted at the secret's path
// (sys/internal/ui/mounts, which the default policy allows, as the vault
// CLI does for kv commands): it must be the KV engine, version 2. On a KV
// version 1 mount a write to MOUNT/data/PATH would store a secret at that
// literal path instead.
func (d *Destination) checkMount(ctx context.Context) error {
	s, err := d.client.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/"+d.ref.Mount+"/"+d.ref.Path)
	if err != nil {
		var re *api.ResponseError
		if errors.As(err, &re) && (re.StatusCode == http.StatusBadRequest || re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusNotFound) {
			// Nothing mounted there (400 "path not found" or 403), an
			// older server or a restricted default policy: the data path
			// probe below still finds a missing mount.
			return nil
		}
		return d.fail("check", err)
	}
	if s == nil || s.Data == nil {
		return nil
	}
	typ, _ := s.Data["type"].(string)
	opts, _ := s.Data["options"].(map[string]any)
	version, _ := opts["version"].(string)
	if typ != "kv" || version != "2" {
		return &deliver.Error{Ref: d.ref, Op: "check", Err: fmt.Errorf("%w: the engine at %s is %s version %q, not KV version 2", deliver.ErrNotFound, d.ref.Mount, typ, version)}
	}
	return nil
}

// read returns the secret's data and its current version (0 when it has
// none; the version of a deleted latest version, which a check-and-set
// must name, is kept).
func (d *Destination) read(ctx context.Context) (map[string]any, int, error) {
	s, err := d.client.KVv2(d.ref.Mount).Get(ctx, d.ref.Path)
	if errors.Is(err, api.ErrSecretNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	v := 0
	if s.VersionMetadata != nil {
		v = s.VersionMetadata.Version
	}
	return s.Data, v, nil
}

// Current returns the access_key_id field, "" when there is none.
func (d *Destination) Current(ctx context.Context) (string, error) {
	data, _, err := d.read(ctx)
	if err != nil {
		return "", d.fail("read current key", err)
	}
	id, _ := data[FieldAccessKeyID].(string)
	return id, nil
}

func isCASConflict(err error) bool {
	var re *api.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest {
		return false
	}
	for _, e := range re.Errors {
		if strings.Contains(e, "check-and-set") {
			return true
		}
	}
	return false
}

// Write reads the secret, and unless it already holds key, writes a new
// version with the key's fields (other fields kept) by check-and-set on
// the version read. A conflict is retried from the read, up to
// MaxAttempts times.
func (d *Destination) Write(ctx context.Context, key deliver.Key) error {
	if err := deliver.CheckKey(key); err != nil {
		return &deliver.Error{Ref: d.ref, Op: "write", Err: err}
	}
	for attempt := 1; attempt <= MaxAttempts; attempt++ {
		data, version, err := d.read(ctx)
		if err != nil {
			return d.fail("write", err)
		}
		if data[FieldAccessKeyID] == key.AccessKeyID && data[FieldSecretAccessKey] == key.SecretAccessKey.Reveal() {
			return nil
		}
		next := make(map[string]any, len(data)+2)
		for k, v := range data {
			next[k] = v
		}
		next[FieldAccessKeyID] = key.AccessKeyID
		next[FieldSecretAccessKey] = key.SecretAccessKey.Reveal()
		_, err = d.client.KVv2(d.ref.Mount).Put(ctx, d.ref.Path, next, api.WithCheckAndSet(version))
		if err == nil {
			return nil
		}
		if !isCASConflict(err) {
			return d.fail("write", err)
		}
		if err := ctx.Err(); err != nil {
			return &deliver.Error{Ref: d.ref, Op: "write", Err: err}
		}
	}
	return &deliver.Error{Ref: d.ref, Op: "write", Err: fmt.Errorf("%w: the secret changed under every one of %d check-and-set writes", deliver.ErrConflict, MaxAttempts)}
}
