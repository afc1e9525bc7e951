// Package gitlab delivers access keys to a GitLab project's CI/CD
// variables through GitLab's Go client (gitlab.com/gitlab-org/api/client-go).
//
// A reference gitlab:GROUP/PROJECT/AWS_ACCESS_KEY_ID writes the variable
// AWS_SECRET_ACCESS_KEY (created masked and raw; an existing variable keeps
// its protected, masked and scope settings) and then AWS_ACCESS_KEY_ID
// with the access key ID, which Current reads back. Both are variables of
// the default environment scope "*".
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// Destination is one project's pair of CI/CD variables.
type Destination struct {
	ref    deliver.Ref
	client *gl.Client
}

var _ deliver.Destination = (*Destination)(nil)

// New returns the destination ref (a gitlab reference) on the GitLab at
// baseURL ("" for https://gitlab.com), authenticated with a personal,
// group or project access token. hc may be nil.
func New(ref deliver.Ref, token secretstore.Secret, baseURL string, hc *http.Client) (*Destination, error) {
	if ref.Kind != deliver.KindGitLab {
		return nil, fmt.Errorf("gitlab destination: %s is not a gitlab reference", ref)
	}
	opts := []gl.ClientOptionFunc{gl.WithCustomRetryMax(2)}
	if baseURL != "" {
		opts = append(opts, gl.WithBaseURL(baseURL))
	}
	if hc != nil {
		opts = append(opts, gl.WithHTTPClient(hc))
	}
	c, err := gl.NewClient(token.Reveal(), opts...)
	if err != nil {
		return nil, fmt.Errorf("gitlab destination %s: %w", ref, err)
	}
	return &Destination{ref: ref, client: c}, nil
}

// Ref returns the destination's reference.
func (d *Destination) Ref() deliver.Ref { return d.ref }

const roleHint = "CI/CD variables need the Maintainer role and a token with the api scope"

func (d *Destination) fail(op string, err error) error {
	var er *gl.ErrorResponse
	if errors.Is(err, gl.ErrNotFound) {
		// The client returns its ErrNotFound for every 404, without the body.
		err = deliver.HTTPStatusError(http.StatusNotFound, "the project path is GROUP/PROJECT as in its URL")
	} else if errors.As(err, &er) && er.Response != nil {
		err = deliver.HTTPStatusError(er.Response.StatusCode, roleHint)
		if er.Message != "" {
			err = fmt.Errorf("%w (GitLab says %q)", err, er.Message)
		}
	}
	return &deliver.Error{Ref: d.ref, Op: op, Err: err}
}

func notFound(err error) bool {
	var er *gl.ErrorResponse
	return errors.Is(err, gl.ErrNotFound) || errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound
}

func (d *Destination) get(ctx context.Context, name string) (*gl.ProjectVariable, error) {
	v, _, err := d.client.ProjectVariables.GetVariable(d.ref.Project, name, nil, gl.WithContext(ctx))
	return v, err
}

// Check reads the project (it exists and the token sees it) and the key ID
// variable (the token may read variables: Maintainer).
func (d *Destination) Check(ctx context.Context) error {
	if _, _, err := d.client.Projects.GetProject(d.ref.Project, nil, gl.WithContext(ctx)); err != nil {
		return d.fail("check", err)
	}
	if _, err := d.get(ctx, d.ref.Name); err != nil && !notFound(err) {
		return d.fail("check", err)
	}
	return nil
}

// Current returns the key ID variable's value, "" when there is none.
func (d *Destination) Current(ctx context.Context) (string, error) {
	v, err := d.get(ctx, d.ref.Name)
	if notFound(err) {
		return "", nil
	}
	if err != nil {
		return "", d.fail("read current key", err)
	}
	return v.Value, nil
}

// Write sets the secret variable, then the key ID variable; a variable
// that already holds the value is left alone.
func (d *Destination) Write(ctx context.Context, key deliver.Key) error {
	if err := deliver.CheckKey(key); err != nil {
		return &deliver.Error{Ref: d.ref, Op: "write", Err: err}
	}
	if err := d.set(ctx, d.ref.SecretName(), key.SecretAccessKey.Reveal(), true); err != nil {
		return d.fail("write", err)
	}
	if err := d.set(ctx, d.ref.Name, key.AccessKeyID, false); err != nil {
		return d.fail("write", err)
	}
	return nil
}

func (d *Destination) set(ctx context.Context, name, value string, masked bool) error {
	cur, err := d.get(ctx, name)
	switch {
	case err == nil && cur.Value == value:
		return nil
	case err == nil:
		_, _, err = d.client.ProjectVariables.UpdateVariable(d.ref.Project, name,
			&gl.UpdateProjectVariableOptions{Value: gl.Ptr(value), Filter: &gl.VariableFilter{EnvironmentScope: cur.EnvironmentScope}}, gl.WithContext(ctx))
		return err
	case notFound(err):
		_, _, err = d.client.ProjectVariables.CreateVariable(d.ref.Project, &gl.CreateProjectVariableOptions{
			Key: gl.Ptr(name), Value: gl.Ptr(value), Masked: gl.Ptr(masked), Raw: gl.Ptr(true),
			VariableType: gl.Ptr(gl.EnvVariableType),
		}, gl.WithContext(ctx))
		return err
	}
	return err
}
