package execute

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"gopkg.in/yaml.v3"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/profile"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// testDests are destinations resolved by the deliver section's own
// Resolve from a keyrot.yaml deliver section: profile references are real
// shared credentials files (one per profile, in a temporary directory),
// vault references in-memory stand-ins (memDest) that a test can make
// fail or hang. The configuration can be replaced between runs.
type testDests struct {
	t   testing.TB
	dir string
	mu  sync.Mutex
	cfg *deliver.Config
	mem map[string]*memDest
	// openHang makes opening a destination wait for its context, as a
	// token read from a store that does not answer.
	openHang bool
}

func newTestDests(t testing.TB, src string) *testDests {
	d := &testDests{t: t, dir: t.TempDir(), mem: map[string]*memDest{}}
	d.configure(src)
	return d
}

// configure replaces the deliver section.
func (d *testDests) configure(src string) {
	d.t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		d.t.Fatal(err)
	}
	cfg, probs := deliver.DecodeConfig("keyrot.yaml", n.Content[0], "deliver")
	if len(probs) > 0 {
		d.t.Fatalf("deliver section: %v", probs)
	}
	d.mu.Lock()
	d.cfg = cfg
	d.mu.Unlock()
}

func (d *testDests) For(ctx context.Context, account string, u inventory.User) []Target {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.openHang {
		<-ctx.Done()
		return []Target{{Ref: "vault:secret/hung", Err: ctx.Err()}}
	}
	ts, errs := d.cfg.Resolve(account, u)
	var out []Target
	for _, t := range ts {
		dest, err := d.open(t.Ref)
		out = append(out, Target{Ref: t.Ref.String(), Dest: dest, Err: err})
	}
	for _, err := range errs {
		out = append(out, Target{Ref: "tag " + d.cfg.UserTag, Err: err})
	}
	return out
}

func (d *testDests) open(ref deliver.Ref) (deliver.Destination, error) {
	switch ref.Kind {
	case deliver.KindProfile:
		return profile.New(ref, d.profileFile(ref.Name))
	case deliver.KindVault:
		m, ok := d.mem[ref.String()]
		if !ok {
			m = &memDest{ref: ref}
			d.mem[ref.String()] = m
		}
		return m, nil
	}
	return nil, fmt.Errorf("%s: no test backend", ref)
}

func (d *testDests) profileFile(name string) string { return filepath.Join(d.dir, name+".credentials") }

// vault returns the stand-in of a vault reference.
func (d *testDests) vault(ref string) *memDest {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := deliver.ParseRef(ref)
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := d.open(r); err != nil {
		d.t.Fatal(err)
	}
	return d.mem[ref]
}

// seed puts k in a destination, as its consumer was configured before
// keyrot.
func (d *testDests) seed(ref string, k heldKey) {
	d.t.Helper()
	r, err := deliver.ParseRef(ref)
	if err != nil {
		d.t.Fatal(err)
	}
	d.mu.Lock()
	dest, err := d.open(r)
	d.mu.Unlock()
	if err != nil {
		d.t.Fatal(err)
	}
	if err := dest.Write(context.Background(), deliver.Key{AccessKeyID: k.ID, SecretAccessKey: secretstore.NewSecret(k.Secret)}); err != nil {
		d.t.Fatal(err)
	}
}

// held returns the key a destination holds, with its secret: what its
// consumer uses.
func (d *testDests) held(ref string) (heldKey, error) {
	r, err := deliver.ParseRef(ref)
	if err != nil {
		return heldKey{}, err
	}
	switch r.Kind {
	case deliver.KindProfile:
		f := d.profileFile(r.Name)
		if _, err := os.Stat(f); err != nil {
			return heldKey{}, nil
		}
		sc, err := config.LoadSharedConfigProfile(context.Background(), r.Name, func(o *config.LoadSharedConfigOptions) {
			o.CredentialsFiles, o.ConfigFiles = []string{f}, []string{}
		})
		if err != nil {
			return heldKey{}, err
		}
		return heldKey{ID: sc.Credentials.AccessKeyID, Secret: sc.Credentials.SecretAccessKey}, nil
	case deliver.KindVault:
		m := d.vault(ref)
		m.mu.Lock()
		defer m.mu.Unlock()
		return heldKey{ID: m.id, Secret: m.secret}, nil
	}
	return heldKey{}, errors.New("unknown kind")
}

// memDest is an in-memory destination that can be made to fail or hang.
type memDest struct {
	ref    deliver.Ref
	mu     sync.Mutex
	id     string
	secret string
	// fail, if set, is returned by Write; hang makes Write wait for its
	// context to end.
	fail   error
	hang   bool
	writes int
}

func (m *memDest) Ref() deliver.Ref                { return m.ref }
func (m *memDest) Check(ctx context.Context) error { return nil }

func (m *memDest) Write(ctx context.Context, key deliver.Key) error {
	m.mu.Lock()
	fail, hang := m.fail, m.hang
	m.mu.Unlock()
	if hang {
		<-ctx.Done()
		return &deliver.Error{Ref: m.ref, Op: "write", Err: ctx.Err()}
	}
	if fail != nil {
		return &deliver.Error{Ref: m.ref, Op: "write", Err: fail}
	}
	if err := deliver.CheckKey(key); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.id, m.secret = key.AccessKeyID, key.SecretAccessKey.Reveal()
	m.writes++
	return nil
}

func (m *memDest) Current(context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.id, nil
}

func (m *memDest) set(fail error, hang bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail, m.hang = fail, hang
}

func (m *memDest) writeCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes
}

// checkDestinations checks the delivery invariant for user: every
// destination holds an active key of the user, and its secret
// authenticates as the user. (A destination never holds a key keyrot
// deactivated or deleted: keyrot deactivates an old key only once every
// destination was read back holding its replacement, and delivers only
// the live, active, stored key.)
func (w *world) checkDestinations(d *testDests, user string, refs ...string) error {
	ks := w.keys(user)
	for _, ref := range refs {
		h, err := d.held(ref)
		if err != nil {
			return fmt.Errorf("%s: read %s: %w", user, ref, err)
		}
		k := findKey(ks, h.ID)
		if k == nil || k.Status != inventory.KeyActive {
			return fmt.Errorf("%s: destination %s holds %s, not an active key of the user (keys are %s)", user, ref, inventory.MaskKeyID(h.ID), keysText(ks))
		}
		if !w.authenticates(user, h.ID, h.Secret) {
			return fmt.Errorf("%s: destination %s holds key %s whose secret does not authenticate", user, ref, inventory.MaskKeyID(h.ID))
		}
	}
	return nil
}

// useDest makes a destination's consumer sign a call with the key the
// destination holds.
func (w *world) useDest(d *testDests, ref string) error {
	h, err := d.held(ref)
	if err != nil {
		return err
	}
	if _, err := sts.NewFromConfig(w.keyConfig(h.ID, h.Secret)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		return fmt.Errorf("the consumer of %s cannot sign with %s: %w", ref, inventory.MaskKeyID(h.ID), err)
	}
	return nil
}
