// Package kube delivers access keys to a Kubernetes Secret through
// client-go.
//
// A reference kubernetes:CONTEXT/NAMESPACE/SECRET writes the data keys
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of the Secret (other keys
// are kept); kubernetes:CONTEXT/NAMESPACE/SECRET/PREFIX_ACCESS_KEY_ID
// writes PREFIX_ACCESS_KEY_ID and PREFIX_SECRET_ACCESS_KEY. Every write
// is an update carrying the resourceVersion just read, so a concurrent
// writer is never overwritten: on a 409 Conflict Write reads again and
// retries. The Secret must exist unless the rule allows creating it, so
// that RBAC can name it (resourceNames cannot restrict create).
//
// After the Secret holds a new key, the Deployments the rule names are
// restarted as kubectl rollout restart does (a new
// kubectl.kubernetes.io/restartedAt pod template annotation), each once per
// key: the pod template is also annotated with keyrot.io/access-key-id, so
// a rerun restarts only the Deployments an interrupted run did not reach.
package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/keyrot/keyrot/internal/deliver"
)

// Annotations keyrot writes on a restarted Deployment's pod template.
const (
	// AnnotationRestartedAt is kubectl rollout restart's annotation: a
	// change of the pod template makes the Deployment roll its pods.
	AnnotationRestartedAt = "kubectl.kubernetes.io/restartedAt"
	// AnnotationAccessKeyID names the access key ID the pods were
	// restarted for (not a secret).
	AnnotationAccessKeyID = "keyrot.io/access-key-id"
)

// FieldManager is the name keyrot's writes are recorded under in the
// objects' managedFields.
const FieldManager = "keyrot"

// MaxAttempts is how many updates Write tries before it gives up with
// deliver.ErrConflict.
const MaxAttempts = 5

// Options are a destination's settings from keyrot.yaml.
type Options struct {
	// CreateSecret creates the Secret when it does not exist.
	CreateSecret bool
	// RestartDeployments are Deployments in the Secret's namespace to
	// restart once the Secret holds a new key.
	RestartDeployments []string
	// Now is the clock for the restartedAt annotation; nil is time.Now.
	Now func() time.Time
}

// Destination is one Kubernetes Secret and the Deployments that read it.
type Destination struct {
	ref  deliver.Ref
	cs   kubernetes.Interface
	opts Options
}

var _ deliver.Destination = (*Destination)(nil)

// New returns the destination ref (a kubernetes reference) in the cluster
// cfg reaches; RESTConfig makes cfg from the reference's context. It
// speaks JSON unless cfg says otherwise.
func New(ref deliver.Ref, cfg *rest.Config, opts Options) (*Destination, error) {
	if ref.Kind != deliver.KindKube {
		return nil, fmt.Errorf("kubernetes destination: %s is not a kubernetes reference", ref)
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = "keyrot"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.ContentType == "" {
		// JSON, which every API server speaks, rather than client-go's
		// protobuf default for built-in types: the same requests then go
		// to internal/kubetest/standin, which speaks JSON only.
		cfg.ContentType = "application/json"
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes destination %s: %w", ref, err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Destination{ref: ref, cs: cs, opts: opts}, nil
}

// Ref returns the destination's reference.
func (d *Destination) Ref() deliver.Ref { return d.ref }

const rbacHint = "keyrot's Role needs get and update on the Secret and get and patch on the Deployments to restart, by resourceNames (docs/delivery.md)"

// classify maps an API error to deliver's sentinels: 404 to ErrNotFound,
// 401 and 403 to ErrUnauthorized, 409 to ErrConflict. The API server's
// messages name objects and users, never a Secret's data.
func classify(err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%w: %v", deliver.ErrNotFound, err)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%w: %v; %s", deliver.ErrUnauthorized, err, rbacHint)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%w: %v: the kubeconfig context's credentials are missing, expired or invalid", deliver.ErrUnauthorized, err)
	case apierrors.IsConflict(err):
		return fmt.Errorf("%w: %v", deliver.ErrConflict, err)
	}
	return err
}

func (d *Destination) fail(op string, err error) error {
	return &deliver.Error{Ref: d.ref, Op: op, Err: classify(err)}
}

// access is one permission Check asks the API server about.
type access struct {
	verb, group, resource, name string
}

func (a access) String() string {
	r := a.resource
	if a.group != "" {
		r += "." + a.group
	}
	if a.name != "" {
		r += "/" + a.name
	}
	return a.verb + " " + r
}

// needs lists the permissions Write needs.
func (d *Destination) needs() []access {
	n := []access{{"get", "", "secrets", d.ref.Secret}, {"update", "", "secrets", d.ref.Secret}}
	if d.opts.CreateSecret {
		n = append(n, access{"create", "", "secrets", ""})
	}
	for _, dep := range d.opts.RestartDeployments {
		n = append(n, access{"get", "apps", "deployments", dep}, access{"patch", "apps", "deployments", dep})
	}
	return n
}

// Check asks the API server whether the credentials may do what Write
// does (a SelfSubjectAccessReview per permission, which every
// authenticated user may create), then that the Secret exists (unless it
// may be created) and is not immutable, and that every Deployment to
// restart exists and is not paused.
func (d *Destination) Check(ctx context.Context) error {
	var denied []string
	for _, a := range d.needs() {
		rev, err := d.cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authv1.SelfSubjectAccessReview{
			Spec: authv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authv1.ResourceAttributes{
				Namespace: d.ref.Namespace, Verb: a.verb, Group: a.group, Resource: a.resource, Name: a.name,
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			return d.fail("check", fmt.Errorf("self subject access review: %w", err))
		}
		if !rev.Status.Allowed {
			denied = append(denied, a.String())
		}
	}
	if len(denied) > 0 {
		return &deliver.Error{Ref: d.ref, Op: "check", Err: fmt.Errorf("%w: the credentials may not %s in namespace %s; %s",
			deliver.ErrUnauthorized, strings.Join(denied, ", "), d.ref.Namespace, rbacHint)}
	}
	s, err := d.cs.CoreV1().Secrets(d.ref.Namespace).Get(ctx, d.ref.Secret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) && d.opts.CreateSecret:
	case apierrors.IsNotFound(err):
		return &deliver.Error{Ref: d.ref, Op: "check", Err: fmt.Errorf("%w: secret %s does not exist in namespace %s: create it (kubectl create secret generic %s -n %s) or set create_secret",
			deliver.ErrNotFound, d.ref.Secret, d.ref.Namespace, d.ref.Secret, d.ref.Namespace)}
	case err != nil:
		return d.fail("check", err)
	case s.Immutable != nil && *s.Immutable:
		return &deliver.Error{Ref: d.ref, Op: "check", Err: fmt.Errorf("secret %s is immutable: its data cannot be updated", d.ref.Secret)}
	}
	for _, name := range d.opts.RestartDeployments {
		dep, err := d.cs.AppsV1().Deployments(d.ref.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return d.fail("check", fmt.Errorf("deployment to restart: %w", err))
		}
		if dep.Spec.Paused {
			return &deliver.Error{Ref: d.ref, Op: "check", Err: fmt.Errorf("deployment %s is paused: it cannot be restarted (kubectl rollout resume)", name)}
		}
	}
	return nil
}

// Current returns the access key ID in the Secret's data ("" when the
// Secret or the key is missing, or holds no secret access key beside it).
// When Deployments are to be restarted it returns "" until every one of
// them has been restarted for that key: until then the pods may still
// read the previous key, and Write finishes the delivery.
func (d *Destination) Current(ctx context.Context) (string, error) {
	s, err := d.cs.CoreV1().Secrets(d.ref.Namespace).Get(ctx, d.ref.Secret, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", d.fail("read current key", err)
	}
	id := heldKey(s.Data, d.ref)
	if id == "" {
		return "", nil
	}
	for _, name := range d.opts.RestartDeployments {
		dep, err := d.cs.AppsV1().Deployments(d.ref.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "", d.fail("read current key", fmt.Errorf("deployment to restart: %w", err))
		}
		if dep.Spec.Template.Annotations[AnnotationAccessKeyID] != id {
			return "", nil
		}
	}
	return id, nil
}

// heldKey returns the access key ID data holds with a secret access key
// beside it, "" otherwise.
func heldKey(data map[string][]byte, ref deliver.Ref) string {
	idKey, secretKey := ref.KubeKeys()
	if len(data[idKey]) == 0 || len(data[secretKey]) == 0 {
		return ""
	}
	return string(data[idKey])
}

// merge returns data with the key's two entries set, and whether that
// changed anything; data itself is not modified. The other entries are
// kept.
func merge(data map[string][]byte, ref deliver.Ref, key deliver.Key) (map[string][]byte, bool) {
	idKey, secretKey := ref.KubeKeys()
	id, secret := []byte(key.AccessKeyID), []byte(key.SecretAccessKey.Reveal())
	if string(data[idKey]) == string(id) && string(data[secretKey]) == string(secret) {
		return data, false
	}
	out := make(map[string][]byte, len(data)+2)
	for k, v := range data {
		out[k] = v
	}
	out[idKey], out[secretKey] = id, secret
	return out, true
}

// Write puts the key in the Secret unless it already holds it: a get,
// then an update with the resourceVersion read (retried from the get on a
// 409 Conflict, up to MaxAttempts times), or a create when the Secret is
// missing and may be created. Then it restarts the Deployments not yet
// restarted for the key.
func (d *Destination) Write(ctx context.Context, key deliver.Key) error {
	if err := deliver.CheckKey(key); err != nil {
		return &deliver.Error{Ref: d.ref, Op: "write", Err: err}
	}
	if err := d.writeSecret(ctx, key); err != nil {
		return err
	}
	return d.restart(ctx, key.AccessKeyID)
}

func (d *Destination) writeSecret(ctx context.Context, key deliver.Key) error {
	secrets := d.cs.CoreV1().Secrets(d.ref.Namespace)
	for attempt := 1; attempt <= MaxAttempts; attempt++ {
		if err := ctx.Err(); err != nil {
			return &deliver.Error{Ref: d.ref, Op: "write", Err: err}
		}
		s, err := secrets.Get(ctx, d.ref.Secret, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && d.opts.CreateSecret {
			data, _ := merge(nil, d.ref, key)
			_, err = secrets.Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: d.ref.Secret, Namespace: d.ref.Namespace,
					Labels: map[string]string{"app.kubernetes.io/managed-by": "keyrot"}},
				Type: corev1.SecretTypeOpaque,
				Data: data,
			}, metav1.CreateOptions{FieldManager: FieldManager})
			if apierrors.IsAlreadyExists(err) {
				continue // created in between: update it
			}
			if err != nil {
				return d.fail("write", err)
			}
			return nil
		}
		if apierrors.IsNotFound(err) {
			return &deliver.Error{Ref: d.ref, Op: "write", Err: fmt.Errorf("%w: secret %s does not exist in namespace %s (create it, or set create_secret)",
				deliver.ErrNotFound, d.ref.Secret, d.ref.Namespace)}
		}
		if err != nil {
			return d.fail("write", err)
		}
		data, changed := merge(s.Data, d.ref, key)
		if !changed {
			return nil
		}
		s.Data = data
		// s carries the resourceVersion read: the API server refuses the
		// update with 409 Conflict if the Secret changed since.
		_, err = secrets.Update(ctx, s, metav1.UpdateOptions{FieldManager: FieldManager})
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) {
			return d.fail("write", err)
		}
	}
	return &deliver.Error{Ref: d.ref, Op: "write", Err: fmt.Errorf("%w: the secret changed under every one of %d updates", deliver.ErrConflict, MaxAttempts)}
}

// restartPatch is the strategic merge patch that restarts a Deployment's
// pods for the access key ID id at now, as kubectl rollout restart does.
func restartPatch(now time.Time, id string) []byte {
	p := map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		AnnotationRestartedAt: now.Format(time.RFC3339),
		AnnotationAccessKeyID: id,
	}}}}}
	b, err := json.Marshal(p)
	if err != nil {
		panic(err) // a map of strings always encodes
	}
	return b
}

// restart restarts every Deployment whose pod template is not yet marked
// with id, and returns every failure.
func (d *Destination) restart(ctx context.Context, id string) error {
	deps := d.cs.AppsV1().Deployments(d.ref.Namespace)
	var errs []error
	for _, name := range d.opts.RestartDeployments {
		dep, err := deps.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			errs = append(errs, d.fail("restart", fmt.Errorf("deployment %s: %w", name, err)))
			continue
		}
		if dep.Spec.Template.Annotations[AnnotationAccessKeyID] == id {
			continue
		}
		if dep.Spec.Paused {
			errs = append(errs, &deliver.Error{Ref: d.ref, Op: "restart", Err: fmt.Errorf("deployment %s is paused (kubectl rollout resume)", name)})
			continue
		}
		_, err = deps.Patch(ctx, name, types.StrategicMergePatchType, restartPatch(d.opts.Now(), id), metav1.PatchOptions{FieldManager: FieldManager})
		if err != nil {
			errs = append(errs, d.fail("restart", fmt.Errorf("deployment %s: %w", name, err)))
		}
	}
	return errors.Join(errs...)
}
