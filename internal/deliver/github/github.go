// Package github delivers access keys to GitHub Actions secrets through
// go-github: organization, repository and environment secrets.
//
// A reference github:OWNER/REPO/AWS_ACCESS_KEY_ID writes two things in
// that scope: the secret AWS_SECRET_ACCESS_KEY, sealed with the scope's
// public key (a libsodium sealed box, golang.org/x/crypto/nacl/box), then
// the Actions variable AWS_ACCESS_KEY_ID holding the access key ID.
// Secrets are write-only, so the variable is the record Current reads: it
// is written after the secret and so never names a key whose secret is
// not there. Workflows read ${{ vars.AWS_ACCESS_KEY_ID }} and
// ${{ secrets.AWS_SECRET_ACCESS_KEY }}.
package github

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v84/github"
	"golang.org/x/crypto/nacl/box"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// Destination is one GitHub Actions scope's pair of names.
type Destination struct {
	ref    deliver.Ref
	client *gh.Client
	repoID int64 // environment secrets are addressed by repository ID
}

var _ deliver.Destination = (*Destination)(nil)

// New returns the destination ref (a github reference) reached with token.
// baseURL is the REST API's root ("" for https://api.github.com/; GitHub
// Enterprise Server's is https://HOST/api/v3/). hc may be nil.
func New(ref deliver.Ref, token secretstore.Secret, baseURL string, hc *http.Client) (*Destination, error) {
	if ref.Kind != deliver.KindGitHub {
		return nil, fmt.Errorf("github destination: %s is not a github reference", ref)
	}
	c := gh.NewClient(hc).WithAuthToken(token.Reveal())
	if baseURL != "" {
		if !strings.HasSuffix(baseURL, "/") {
			baseURL += "/"
		}
		u, err := url.Parse(baseURL)
		if err != nil {
			return nil, fmt.Errorf("github destination %s: api url: %w", ref, err)
		}
		c.BaseURL = u
	}
	return &Destination{ref: ref, client: c}, nil
}

// Ref returns the destination's reference.
func (d *Destination) Ref() deliver.Ref { return d.ref }

// SealSecret encrypts plaintext for GitHub with a libsodium sealed box to
// the base64 public key pub, and returns the base64 ciphertext GitHub's
// "create or update a secret" endpoints take as encrypted_value.
func SealSecret(pub string, plaintext []byte, rnd io.Reader) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(pub)
	if err != nil || len(raw) != 32 {
		return "", errors.New("the public key is not 32 bytes of base64")
	}
	var pk [32]byte
	copy(pk[:], raw)
	sealed, err := box.SealAnonymous(nil, plaintext, &pk, rnd)
	if err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// fail wraps err as the destination's error for op, translating GitHub's
// HTTP statuses into deliver's sentinels.
func (d *Destination) fail(op string, err error) error {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		hint := "the token needs the Secrets and Variables write permissions (fine-grained) or the repo scope (classic; admin:org for organization secrets)"
		err = deliver.HTTPStatusError(er.Response.StatusCode, hint)
		if er.Message != "" {
			err = fmt.Errorf("%w (GitHub says %q)", err, er.Message)
		}
	}
	return &deliver.Error{Ref: d.ref, Op: op, Err: err}
}

func notFound(err error) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound
}

// repositoryID looks up (once) the repository's ID, which environment
// secrets are addressed by.
func (d *Destination) repositoryID(ctx context.Context) (int64, error) {
	if d.repoID != 0 {
		return d.repoID, nil
	}
	r, _, err := d.client.Repositories.Get(ctx, d.ref.Owner, d.ref.Repo)
	if err != nil {
		return 0, err
	}
	d.repoID = r.GetID()
	return d.repoID, nil
}

func (d *Destination) publicKey(ctx context.Context) (*gh.PublicKey, error) {
	switch {
	case d.ref.Repo == "":
		k, _, err := d.client.Actions.GetOrgPublicKey(ctx, d.ref.Owner)
		return k, err
	case d.ref.Environment == "":
		k, _, err := d.client.Actions.GetRepoPublicKey(ctx, d.ref.Owner, d.ref.Repo)
		return k, err
	}
	id, err := d.repositoryID(ctx)
	if err != nil {
		return nil, err
	}
	k, _, err := d.client.Actions.GetEnvPublicKey(ctx, int(id), d.ref.Environment)
	return k, err
}

func (d *Destination) getVariable(ctx context.Context) (*gh.ActionsVariable, error) {
	switch {
	case d.ref.Repo == "":
		v, _, err := d.client.Actions.GetOrgVariable(ctx, d.ref.Owner, d.ref.Name)
		return v, err
	case d.ref.Environment == "":
		v, _, err := d.client.Actions.GetRepoVariable(ctx, d.ref.Owner, d.ref.Repo, d.ref.Name)
		return v, err
	}
	v, _, err := d.client.Actions.GetEnvVariable(ctx, d.ref.Owner, d.ref.Repo, d.ref.Environment, d.ref.Name)
	return v, err
}

// Check reads the scope's public key and the key ID variable: the scope
// exists and the token may use its secrets and variables.
func (d *Destination) Check(ctx context.Context) error {
	if _, err := d.publicKey(ctx); err != nil {
		return d.fail("check", err)
	}
	if _, err := d.getVariable(ctx); err != nil && !notFound(err) {
		return d.fail("check", err)
	}
	return nil
}

// Current returns the access key ID in the variable, "" when there is none.
func (d *Destination) Current(ctx context.Context) (string, error) {
	v, err := d.getVariable(ctx)
	if notFound(err) {
		return "", nil
	}
	if err != nil {
		return "", d.fail("read current key", err)
	}
	return v.Value, nil
}

// Write seals the secret access key, puts the secret, then sets the
// variable to the access key ID. Writing the same key again puts the
// same secret (a new sealed box of the same text) and leaves the variable.
func (d *Destination) Write(ctx context.Context, key deliver.Key) error {
	if err := deliver.CheckKey(key); err != nil {
		return &deliver.Error{Ref: d.ref, Op: "write", Err: err}
	}
	pk, err := d.publicKey(ctx)
	if err != nil {
		return d.fail("write", err)
	}
	sealed, err := SealSecret(pk.GetKey(), []byte(key.SecretAccessKey.Reveal()), rand.Reader)
	if err != nil {
		return &deliver.Error{Ref: d.ref, Op: "write", Err: err}
	}
	es := &gh.EncryptedSecret{Name: d.ref.SecretName(), KeyID: pk.GetKeyID(), EncryptedValue: sealed}
	switch {
	case d.ref.Repo == "":
		// An organization secret needs a visibility: keep the existing
		// secret's, else make it available to private repositories.
		es.Visibility = "private"
		if cur, _, err := d.client.Actions.GetOrgSecret(ctx, d.ref.Owner, es.Name); err == nil && cur.Visibility != "" {
			es.Visibility = cur.Visibility
			if cur.Visibility == "selected" {
				// The selection is kept by sending it back.
				ids, err := d.selectedRepos(ctx, es.Name)
				if err != nil {
					return d.fail("write", err)
				}
				es.SelectedRepositoryIDs = ids
			}
		} else if err != nil && !notFound(err) {
			return d.fail("write", err)
		}
		_, err = d.client.Actions.CreateOrUpdateOrgSecret(ctx, d.ref.Owner, es)
	case d.ref.Environment == "":
		_, err = d.client.Actions.CreateOrUpdateRepoSecret(ctx, d.ref.Owner, d.ref.Repo, es)
	default:
		var id int64
		if id, err = d.repositoryID(ctx); err == nil {
			_, err = d.client.Actions.CreateOrUpdateEnvSecret(ctx, int(id), d.ref.Environment, es)
		}
	}
	if err != nil {
		return d.fail("write", err)
	}
	if err := d.setVariable(ctx, key.AccessKeyID); err != nil {
		return d.fail("write", err)
	}
	return nil
}

func (d *Destination) selectedRepos(ctx context.Context, name string) (gh.SelectedRepoIDs, error) {
	var ids gh.SelectedRepoIDs
	opts := &gh.ListOptions{PerPage: 100}
	for {
		repos, resp, err := d.client.Actions.ListSelectedReposForOrgSecret(ctx, d.ref.Owner, name, opts)
		if err != nil {
			return nil, err
		}
		for _, r := range repos.Repositories {
			ids = append(ids, r.GetID())
		}
		if resp.NextPage == 0 {
			return ids, nil
		}
		opts.Page = resp.NextPage
	}
}

// setVariable creates or updates the key ID variable; it does nothing when
// the variable already holds id.
func (d *Destination) setVariable(ctx context.Context, id string) error {
	cur, err := d.getVariable(ctx)
	if err != nil && !notFound(err) {
		return err
	}
	v := &gh.ActionsVariable{Name: d.ref.Name, Value: id}
	if err == nil {
		if cur.Value == id {
			return nil
		}
		switch {
		case d.ref.Repo == "":
			// PATCH leaves the visibility and selection as they are.
			_, err = d.client.Actions.UpdateOrgVariable(ctx, d.ref.Owner, v)
		case d.ref.Environment == "":
			_, err = d.client.Actions.UpdateRepoVariable(ctx, d.ref.Owner, d.ref.Repo, v)
		default:
			_, err = d.client.Actions.UpdateEnvVariable(ctx, d.ref.Owner, d.ref.Repo, d.ref.Environment, v)
		}
		return err
	}
	switch {
	case d.ref.Repo == "":
		v.Visibility = gh.Ptr("private")
		_, err = d.client.Actions.CreateOrgVariable(ctx, d.ref.Owner, v)
	case d.ref.Environment == "":
		_, err = d.client.Actions.CreateRepoVariable(ctx, d.ref.Owner, d.ref.Repo, v)
	default:
		_, err = d.client.Actions.CreateEnvVariable(ctx, d.ref.Owner, d.ref.Repo, d.ref.Environment, v)
	}
	return err
}
