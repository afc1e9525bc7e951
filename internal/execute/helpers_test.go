package execute

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/sandboxtest"
	"github.com/keyrot/keyrot/internal/secretstore"
)

const day = 24 * time.Hour

// callCounter is an HTTP client that counts AWS operations by name.
type callCounter struct {
	mu     sync.Mutex
	counts map[string]int
	base   *http.Client
	// dropReply makes the next n calls of an operation succeed on the
	// server but lose their reply (a connection reset the SDK retries).
	dropReply map[string]int
	// inFlight is how many calls are under way; maxInFlight the most at
	// once since resetInFlight.
	inFlight, maxInFlight int
}

// resetInFlight forgets the most calls seen at once.
func (c *callCounter) resetInFlight() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.maxInFlight = c.inFlight
}

// underWay returns how many calls are under way now.
func (c *callCounter) underWay() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inFlight
}

// mostInFlight returns the most calls under way at once since resetInFlight.
func (c *callCounter) mostInFlight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxInFlight
}

func (c *callCounter) Do(req *http.Request) (*http.Response, error) {
	op := req.Header.Get("X-Amz-Target")
	if op != "" {
		_, op, _ = strings.Cut(op, ".")
	} else if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		form, _ := url.ParseQuery(string(b))
		op = form.Get("Action")
	}
	c.mu.Lock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[op]++
	drop := c.dropReply[op] > 0
	if drop {
		c.dropReply[op]--
	}
	c.inFlight++
	c.maxInFlight = max(c.maxInFlight, c.inFlight)
	c.mu.Unlock()
	resp, err := c.base.Do(req)
	c.mu.Lock()
	c.inFlight--
	c.mu.Unlock()
	if drop && err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errors.New("read tcp 127.0.0.1: connection reset by peer")
	}
	return resp, err
}

// drop makes the next n calls of op lose their reply after the server acted.
func (c *callCounter) drop(op string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropReply == nil {
		c.dropReply = map[string]int{}
	}
	c.dropReply[op] += n
}

// writes returns the count of calls that are not reads.
func (c *callCounter) writes() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := map[string]int{}
	for op, n := range c.counts {
		if !strings.HasPrefix(op, "List") && !strings.HasPrefix(op, "Get") && !strings.HasPrefix(op, "Describe") {
			w[op] = n
		}
	}
	return w
}

func (c *callCounter) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[op]
}

// world is a sandbox with users whose keys the test (the "application")
// holds, and an executor wired to it.
type world struct {
	t       testing.TB
	env     *sandboxtest.Env
	acct    string
	cfg     aws.Config
	calls   *callCounter
	iam     *iam.Client
	sm      *secretsmanager.Client
	readers []string
	dbPath  string
	hist    *history.Store
	// held is the key each application uses now: user -> key ID and secret.
	held map[string]heldKey
	// known is every key secret the applications ever held.
	known map[string]string
	runs  int
	// dests, if set, are the destinations the executors deliver to.
	dests Destinations
}

type heldKey struct{ ID, Secret string }

func newWorld(t testing.TB, users ...string) *world {
	t.Helper()
	env := sandboxtest.Start(t, "empty")
	w := &world{t: t, env: env, acct: env.Server.ManagementAccountID(), calls: &callCounter{base: http.DefaultClient},
		held: map[string]heldKey{}, known: map[string]string{}}
	w.cfg = env.Admin()
	w.cfg.HTTPClient = w.calls
	w.cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 10
			o.MaxBackoff = 20 * time.Millisecond
			o.RateLimiter = ratelimit.None
		})
	}
	w.iam = iam.NewFromConfig(w.cfg)
	w.sm = secretsmanager.NewFromConfig(w.cfg)
	w.dbPath = filepath.Join(t.TempDir(), "history.db")
	w.hist = w.openHistory()
	ctx := context.Background()
	for _, u := range users {
		if _, err := w.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u)}); err != nil {
			t.Fatalf("create user %s: %v", u, err)
		}
		out, err := w.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(u)})
		if err != nil {
			t.Fatalf("create key for %s: %v", u, err)
		}
		k := heldKey{ID: aws.ToString(out.AccessKey.AccessKeyId), Secret: aws.ToString(out.AccessKey.SecretAccessKey)}
		w.held[u], w.known[k.ID] = k, k.Secret
	}
	return w
}

func (w *world) openHistory() *history.Store {
	h, err := history.Open(context.Background(), w.dbPath)
	if err != nil {
		w.t.Fatalf("open history: %v", err)
	}
	w.t.Cleanup(func() { h.Close() })
	return h
}

func (w *world) now() time.Time { return w.env.Server.Clock().Now() }

func (w *world) advance(d time.Duration) { w.env.Server.Clock().Advance(d) }

// clients implements Clients for the one account.
type testClients struct{ w *world }

func (c testClients) IAM(context.Context, string) (IAM, error) { return c.w.iam, nil }
func (c testClients) Secrets(context.Context, string) (KeyStore, error) {
	return c.w.store(), nil
}
func (c testClients) KeyConfig(context.Context, string) (aws.Config, error) {
	cfg := c.w.cfg.Copy()
	cfg.Credentials = nil
	return cfg, nil
}

// executor returns an executor for a new history run.
func (w *world) executor(h *history.Store, owner string) *Executor {
	w.runs++
	id, err := h.StartRun(context.Background(), history.Run{Command: "apply", Mode: history.ModeEnforce, Started: w.now()})
	if err != nil {
		w.t.Fatalf("start run: %v", err)
	}
	ex := &Executor{Clients: testClients{w}, History: h, RunID: id, Owner: owner, Now: w.now,
		VerifyAttempts: 20, VerifyBackoff: 10 * time.Millisecond, Deliveries: h}
	if w.dests != nil {
		ex.Destinations = w.dests
	}
	return ex
}

// snapshot collects the account as the collector would.
func (w *world) snapshot() *inventory.Snapshot {
	w.t.Helper()
	ctx := context.Background()
	acct := inventory.Account{ID: w.acct, Name: "management", Status: inventory.AccountAudited}
	users, err := w.iam.ListUsers(ctx, &iam.ListUsersInput{})
	if err != nil {
		w.t.Fatalf("list users: %v", err)
	}
	for _, u := range users.Users {
		iu := inventory.User{Name: aws.ToString(u.UserName), ARN: aws.ToString(u.Arn), Path: aws.ToString(u.Path), CreateDate: aws.ToTime(u.CreateDate)}
		keys, err := w.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: u.UserName})
		if err != nil {
			w.t.Fatalf("list keys: %v", err)
		}
		for _, k := range keys.AccessKeyMetadata {
			ik := inventory.AccessKey{ID: aws.ToString(k.AccessKeyId), Status: inventory.KeyStatus(k.Status), CreateDate: aws.ToTime(k.CreateDate), LastUsedKnown: true}
			lu, err := w.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
			if err != nil {
				w.t.Fatalf("last used: %v", err)
			}
			if lu.AccessKeyLastUsed != nil && lu.AccessKeyLastUsed.LastUsedDate != nil {
				ik.LastUsed = lu.AccessKeyLastUsed.LastUsedDate
				ik.LastUsedService = aws.ToString(lu.AccessKeyLastUsed.ServiceName)
				ik.LastUsedRegion = aws.ToString(lu.AccessKeyLastUsed.Region)
			}
			iu.Keys = append(iu.Keys, ik)
		}
		acct.Users = append(acct.Users, iu)
	}
	return &inventory.Snapshot{CollectedAt: w.now(), Accounts: []inventory.Account{acct}}
}

// cycle is one keyrot apply: collect, gather, plan, apply.
func (w *world) cycle(ex *Executor, o Options) (*plan.Plan, *Result, error) {
	w.t.Helper()
	ctx := context.Background()
	snap := w.snapshot()
	lc := plan.DefaultLifecycle()
	rots, err := ex.Gather(ctx, snap, GatherOptions{RotateAfter: lc.RotateAfter, ReadOnly: o.DryRun || o.AuditOnly})
	if err != nil {
		return nil, nil, err
	}
	p := plan.Build(plan.Input{Snapshot: snap, Lifecycle: lc, Rotations: rots}, w.now())
	res, err := ex.Apply(ctx, p, o)
	return p, res, err
}

// signAs returns an STS client signing with a key.
func (w *world) keyConfig(id, secret string) aws.Config {
	cfg := w.env.Config(id, secret, "")
	cfg.Retryer = w.cfg.Retryer // ride out injected throttling
	return cfg
}

// use makes the application sign a call with its key, so IAM records a use.
func (w *world) use(user string) error {
	k := w.held[user]
	_, err := sts.NewFromConfig(w.keyConfig(k.ID, k.Secret)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	return err
}

// follow makes the application's deployment (a reader, here the admin)
// read the user's secret and switch the application to the stored key if
// it is newer. (An application that fetched with its old key would record
// a use of the old key after the store, which the deactivation gate counts
// as use.)
func (w *world) follow(user string) (bool, error) {
	k := w.held[user]
	out, err := w.sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("keyrot/" + w.acct + "/" + user)})
	if err != nil {
		return false, err
	}
	v, err := secretstore.ParseValue(aws.ToString(out.SecretString))
	if err != nil {
		return false, err
	}
	if v.AccessKeyID == k.ID {
		return false, nil
	}
	w.held[user] = heldKey{ID: v.AccessKeyID, Secret: v.SecretAccessKey.Reveal()}
	w.known[v.AccessKeyID] = v.SecretAccessKey.Reveal()
	return true, nil
}

// keys lists a user's keys.
func (w *world) keys(user string) []liveKey {
	w.t.Helper()
	ks, err := listKeys(context.Background(), w.iam, user)
	if err != nil {
		w.t.Fatalf("list keys: %v", err)
	}
	return ks
}

// store is the Secrets Manager key store, signing with the admin key.
func (w *world) store() *secretstore.Store {
	st, err := secretstore.New(w.sm, secretstore.Config{Readers: w.readers, Region: "us-east-1"})
	if err != nil {
		w.t.Fatalf("secret store: %v", err)
	}
	return st
}

// current reads the user's secret's AWSCURRENT with the admin key.
func (w *world) current(user string) (secretstore.Version, error) {
	return w.store().Stage(context.Background(), "keyrot/"+w.acct+"/"+user, "AWSCURRENT")
}

func (w *world) tags(user string) userTags {
	w.t.Helper()
	tg, err := readUserTags(context.Background(), w.iam, user)
	if err != nil {
		w.t.Fatalf("tags: %v", err)
	}
	return tg
}

// authenticates reports whether a key answers GetCallerIdentity as the user.
func (w *world) authenticates(user, id, secret string) bool {
	out, err := sts.NewFromConfig(w.keyConfig(id, secret)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	return err == nil && strings.HasSuffix(aws.ToString(out.Arn), ":user/"+user)
}

// checkSafe checks the crash-safety invariants for a user: at most two
// keys, and at least one active key that authenticates whose secret is
// held by the application or by Secrets Manager (sandboxtest.CheckKeySafe).
func (w *world) checkSafe(user string) error {
	w.t.Helper()
	return sandboxtest.CheckKeySafe(context.Background(), sandboxtest.KeySafety{IAM: w.iam, Store: w.store(),
		Secret: "keyrot/" + w.acct + "/" + user, Known: w.known, KeyConfig: w.keyConfig}, user)
}

// checkConverged checks the end state: one active key, stored as the
// secret's AWSCURRENT, held by the application, no pending tag.
func (w *world) checkConverged(user string) error {
	ks := w.keys(user)
	if len(ks) != 1 || ks[0].Status != inventory.KeyActive {
		return errors.New(user + " did not converge to one active key: " + keysText(ks))
	}
	cur, err := w.current(user)
	if err != nil {
		return err
	}
	if cur.Value.AccessKeyID != ks[0].ID {
		return errors.New(user + ": secret holds " + cur.Value.AccessKeyID + ", key is " + ks[0].ID)
	}
	if w.held[user].ID != ks[0].ID {
		return errors.New(user + ": application does not hold the remaining key")
	}
	if !w.tags(user).PendingSince.IsZero() {
		return errors.New(user + ": pending tag left")
	}
	return nil
}

func kinds(p *plan.Plan) []string {
	var ks []string
	for _, a := range p.Actions {
		ks = append(ks, string(a.Kind)+" "+a.User)
	}
	return ks
}

// addReader creates a user and makes it a reader of every secret keyrot
// stores: Secrets Manager refuses resource policies that name principals
// that do not exist.
func (w *world) addReader(name string) {
	w.t.Helper()
	out, err := w.iam.CreateUser(context.Background(), &iam.CreateUserInput{UserName: aws.String(name)})
	if err != nil {
		w.t.Fatalf("create reader %s: %v", name, err)
	}
	w.readers = append(w.readers, aws.ToString(out.User.Arn))
}
