package serve

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/config"
	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/notify"
	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/policy"
)

// fakeClock is a Clock moved by the test.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	var left []waiter
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
			continue
		}
		left = append(left, w)
	}
	c.waiters = left
}

func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// eventually polls cond for up to 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testServer builds a Server on a fresh history store with yaml as
// keyrot.yaml and env as the environment; it listens on a loopback port
// unless listen says otherwise.
func testServer(t *testing.T, yaml string, env map[string]string) *Server {
	t.Helper()
	s, err := newTestServer(t, yaml, env, "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newTestServer(t *testing.T, yaml string, env map[string]string, storePath string) (*Server, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "keyrot.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(file)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if storePath == "" {
		storePath = filepath.Join(t.TempDir(), "history.db")
	}
	h, err := history.Open(context.Background(), storePath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return New(Options{ConfigFile: file, Config: c, Store: h, Listener: ln, Host: "test",
		Getenv: func(k string) string { return env[k] }, LeasePoll: 10 * time.Millisecond, LeaseRenew: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// blockingRuns replaces s's use cases with ones that record their starts
// and wait for release (or their context).
type blockingRuns struct {
	mu      sync.Mutex
	started []string
	release chan struct{}
	err     error
}

func (b *blockingRuns) install(s *Server) {
	b.release = make(chan struct{})
	s.do = func(ctx context.Context, kind string, _ *config.Config, _ *slog.Logger) (runResult, error) {
		b.mu.Lock()
		b.started = append(b.started, kind+"@"+s.clock.Now().UTC().Format("15:04"))
		b.mu.Unlock()
		select {
		case <-b.release:
		case <-ctx.Done():
			return runResult{}, context.Cause(ctx)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		return runResult{}, b.err
	}
}

func (b *blockingRuns) starts() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.started...)
}

func (s *Server) runningKind(kind string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kinds[kind].running != ""
}

// TestScheduler: runs start at the times the cron expressions give in
// their time zones, on the injected clock; a start that finds the previous
// run of its kind still going is skipped.
func TestScheduler(t *testing.T) {
	s := testServer(t, `serve:
  schedules:
    audit: {cron: "0 * * * *"}
    apply: {cron: "30 2 * * *", time_zone: Europe/Paris}
`, nil)
	clock := &fakeClock{now: time.Date(2026, 1, 10, 0, 10, 0, 0, time.UTC)}
	s.clock = clock
	b := &blockingRuns{}
	b.install(s)
	close(b.release) // runs end at once
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := s.startSchedules(ctx)
	defer stop()

	step := func(d time.Duration, want ...string) {
		t.Helper()
		eventually(t, "both schedules waiting", func() bool {
			return clock.pending() == 2 && !s.runningKind("audit") && !s.runningKind("apply")
		})
		clock.Advance(d)
		eventually(t, strings.Join(want, ","), func() bool { return len(b.starts()) == len(want) })
		if d := cmp.Diff(want, b.starts(), cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("starts (-want +got):\n%s", d)
		}
	}
	step(49*time.Minute, []string{}...)
	// 01:00 UTC: the hourly audit. 01:30 UTC is 02:30 in Paris (CET).
	step(time.Minute, "audit@01:00")
	step(30*time.Minute, "audit@01:00", "apply@01:30")
	step(30*time.Minute, "audit@01:00", "apply@01:30", "audit@02:00")
}

// TestSchedulerSkipsWhileRunning: an audit still going at the next start
// time is not started twice.
func TestSchedulerSkipsWhileRunning(t *testing.T) {
	s := testServer(t, "serve:\n  schedules:\n    audit: {cron: \"@every 1h\"}\n    apply: {disabled: true}\n", nil)
	clock := &fakeClock{now: time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)}
	s.clock = clock
	b := &blockingRuns{}
	b.install(s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := s.startSchedules(ctx)
	defer stop()
	eventually(t, "the schedule waiting", func() bool { return clock.pending() == 1 })
	clock.Advance(time.Hour)
	eventually(t, "the first audit", func() bool { return s.runningKind("audit") })
	eventually(t, "the schedule waiting again", func() bool { return clock.pending() == 1 })
	clock.Advance(time.Hour) // the first is still going: skipped
	eventually(t, "the schedule waiting again", func() bool { return clock.pending() == 1 })
	close(b.release)
	eventually(t, "the first audit to end", func() bool { return !s.runningKind("audit") })
	if got := b.starts(); len(got) != 1 {
		t.Fatalf("starts %v, want only the first", got)
	}
	clock.Advance(time.Hour)
	eventually(t, "the third start", func() bool { return len(b.starts()) == 2 })
}

func request(t *testing.T, h http.Handler, method, path string, set func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	if set != nil {
		set(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestAuth: with a bearer token and basic auth configured, /metrics, the
// run API and the pages need one of them; wrong or missing credentials are
// refused; /healthz and /readyz stay open.
func TestAuth(t *testing.T) {
	s := testServer(t, `serve:
  listen: 0.0.0.0:9090
  auth:
    bearer_token_env: TOKEN
    basic: {username: prom, password_env: PASS}
`, map[string]string{"TOKEN": "s3cret-token", "PASS": "hunter2"})
	s.opts.Pages = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "status page") })
	b := &blockingRuns{}
	b.install(s)
	defer close(b.release)
	h := s.Handler()
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	basic := func(u, p string) func(*http.Request) { return func(r *http.Request) { r.SetBasicAuth(u, p) } }
	for _, tc := range []struct {
		name         string
		method, path string
		set          func(*http.Request)
		want         int
	}{
		{"token", "GET", "/metrics", bearer("s3cret-token"), 200},
		{"token, lower-case scheme", "GET", "/metrics", func(r *http.Request) { r.Header.Set("Authorization", "bearer s3cret-token") }, 200},
		{"basic", "GET", "/metrics", basic("prom", "hunter2"), 200},
		{"page with token", "GET", "/", bearer("s3cret-token"), 200},
		{"wrong token", "GET", "/metrics", bearer("s3cret-tokem"), 401},
		{"token prefix", "GET", "/metrics", bearer("s3cret"), 401},
		{"wrong password", "GET", "/metrics", basic("prom", "hunter3"), 401},
		{"wrong user", "GET", "/metrics", basic("admin", "hunter2"), 401},
		{"token as basic password", "GET", "/metrics", basic("prom", "s3cret-token"), 401},
		{"missing", "GET", "/metrics", nil, 401},
		{"page without credentials", "GET", "/", nil, 401},
		{"run without credentials", "POST", "/runs/audit", nil, 401},
		{"run with token", "POST", "/runs/audit", bearer("s3cret-token"), 202},
		{"healthz open", "GET", "/healthz", nil, 200},
		{"readyz open", "GET", "/readyz", nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := request(t, h, tc.method, tc.path, tc.set)
			if w.Code != tc.want {
				t.Fatalf("%s %s: %d, want %d: %s", tc.method, tc.path, w.Code, tc.want, w.Body)
			}
			if w.Code == 401 && !strings.Contains(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: %v", w.Header())
			}
			if strings.Contains(w.Body.String(), "s3cret") || strings.Contains(w.Body.String(), "hunter2") {
				t.Errorf("a credential is echoed: %s", w.Body)
			}
		})
	}
}

// TestLoopbackWithoutAuth: on loopback with no credentials configured the
// API is open (the token variable named but unset is "not configured").
func TestLoopbackWithoutAuth(t *testing.T) {
	s := testServer(t, "", nil)
	if w := request(t, s.Handler(), "GET", "/metrics", nil); w.Code != 200 {
		t.Fatalf("/metrics on loopback without auth: %d", w.Code)
	}
}

// TestConcurrentPosts: a second POST of a kind while one runs is 409; the
// other kind still starts; once the run ends a POST starts again.
func TestConcurrentPosts(t *testing.T) {
	s := testServer(t, "", nil)
	b := &blockingRuns{}
	b.install(s)
	h := s.Handler()
	w := request(t, h, "POST", "/runs/apply", nil)
	if w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), `"run_id":"apply-`) {
		t.Fatalf("first POST: %d %s", w.Code, w.Body)
	}
	var results sync.Map
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results.Store(i, request(t, h, "POST", "/runs/apply", nil).Code)
		}()
	}
	wg.Wait()
	results.Range(func(_, v any) bool {
		if v.(int) != http.StatusConflict {
			t.Errorf("concurrent POST: %d, want 409", v)
		}
		return true
	})
	if w := request(t, h, "POST", "/runs/audit", nil); w.Code != http.StatusAccepted {
		t.Errorf("an audit while an apply runs: %d", w.Code)
	}
	close(b.release)
	eventually(t, "the runs to end", func() bool { return !s.runningKind("apply") && !s.runningKind("audit") })
	if w := request(t, h, "POST", "/runs/apply", nil); w.Code != http.StatusAccepted {
		t.Errorf("POST after the run ended: %d", w.Code)
	}
	eventually(t, "the run to end", func() bool { return !s.runningKind("apply") })
	if got := testutil.ToFloat64(s.metrics.runs.WithLabelValues("apply", OutcomeSucceeded)); got != 2 {
		t.Errorf("keyrot_runs_total{apply,succeeded} = %v, want 2", got)
	}
}

// TestDeadlineAndReadiness: a run past its deadline is cancelled and
// counted as deadline_exceeded; /readyz fails once a kind has been failing
// for longer than the threshold and recovers with a run that succeeds.
func TestDeadlineAndReadiness(t *testing.T) {
	s := testServer(t, "serve:\n  schedules:\n    audit: {deadline: 20ms}\n  readiness_threshold: 1h\n", nil)
	clock := &fakeClock{now: time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)}
	s.clock = clock
	b := &blockingRuns{}
	b.install(s) // never released: the deadline ends the run
	if _, err := s.StartRun("audit", "test"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the run to end", func() bool { return !s.runningKind("audit") })
	if got := testutil.ToFloat64(s.metrics.runs.WithLabelValues("audit", OutcomeDeadline)); got != 1 {
		t.Fatalf("deadline_exceeded runs: %v", got)
	}
	h := s.Handler()
	if w := request(t, h, "GET", "/readyz", nil); w.Code != 200 {
		t.Fatalf("readyz just after one failure: %d %s", w.Code, w.Body)
	}
	clock.Advance(61 * time.Minute)
	w := request(t, h, "GET", "/readyz", nil)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "audit runs failing since") {
		t.Fatalf("readyz after failing for over an hour: %d %s", w.Code, w.Body)
	}
	close(b.release)
	if _, err := s.StartRun("audit", "test"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the run to end", func() bool { return !s.runningKind("audit") })
	if w := request(t, h, "GET", "/readyz", nil); w.Code != 200 {
		t.Fatalf("readyz after a run succeeded: %d %s", w.Code, w.Body)
	}
	if got := testutil.ToFloat64(s.metrics.lastOutcome.WithLabelValues("audit", OutcomeSucceeded)); got != 1 {
		t.Errorf("keyrot_last_run_outcome{audit,succeeded} = %v", got)
	}
}

// TestOrgLease: two servers on one history store never run at once: the
// second waits for the organization lease.
func TestOrgLease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	var mu sync.Mutex
	var spans [][2]time.Time
	servers := make([]*Server, 2)
	for i := range servers {
		s, err := newTestServer(t, "", nil, path)
		if err != nil {
			t.Fatal(err)
		}
		s.do = func(ctx context.Context, kind string, _ *config.Config, _ *slog.Logger) (runResult, error) {
			start := time.Now()
			time.Sleep(100 * time.Millisecond)
			mu.Lock()
			spans = append(spans, [2]time.Time{start, time.Now()})
			mu.Unlock()
			return runResult{}, nil
		}
		servers[i] = s
	}
	for _, s := range servers {
		if _, err := s.StartRun("apply", "test"); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "both runs", func() bool { mu.Lock(); defer mu.Unlock(); return len(spans) == 2 })
	if a, b := spans[0], spans[1]; a[1].After(b[0]) {
		t.Fatalf("the runs overlapped: %v and %v", a, b)
	}
	for _, s := range servers {
		eventually(t, "the run to end", func() bool { return !s.runningKind("apply") })
	}
	h, err := history.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if l, held, _ := h.LeaseOn(context.Background(), OrgLeaseScope); held {
		t.Errorf("lease left behind: %+v", l)
	}
}

// TestOrgLeaseLost: a run whose organization lease is taken by another
// holder (it expired while renewals failed) is stopped, fails naming the
// lost lease, and leaves the new holder's lease in place.
func TestOrgLeaseLost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := newTestServer(t, "", nil, path)
	if err != nil {
		t.Fatal(err)
	}
	var b blockingRuns
	b.install(s)
	if _, err := s.StartRun("apply", "test"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the run to start", func() bool { return len(b.starts()) == 1 })
	h, err := history.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// Another run takes the lease as if it had expired.
	if _, err := h.AcquireLease(context.Background(), OrgLeaseScope, "intruder", time.Hour, time.Now().Add(orgLeaseTTL+time.Minute)); err != nil {
		t.Fatal(err)
	}
	// The use case returns only when released or cancelled: it is never released.
	eventually(t, "the run to stop", func() bool { return !s.runningKind("apply") })
	s.mu.Lock()
	failing := !s.kinds["apply"].failingSince.IsZero()
	s.mu.Unlock()
	if !failing {
		t.Error("the run that lost its lease is not counted as failing")
	}
	l, held, err := h.LeaseOn(context.Background(), OrgLeaseScope)
	if err != nil || !held || l.Owner != "intruder" {
		t.Errorf("the new holder's lease: %+v held=%v %v", l, held, err)
	}
}

// TestReload: a file with problems is rejected, the old configuration kept
// and the failure shown in the metric; a good file is taken.
func TestReload(t *testing.T) {
	s := testServer(t, "serve:\n  readiness_threshold: 2h\n", nil)
	if err := os.WriteFile(s.opts.ConfigFile, []byte("serve:\n  readiness_threshold: soon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.Reload() || testutil.ToFloat64(s.metrics.reloadOK) != 0 || s.Config().Serve.ReadinessThreshold != 2*time.Hour {
		t.Fatalf("a broken file was taken (metric %v)", testutil.ToFloat64(s.metrics.reloadOK))
	}
	if err := os.WriteFile(s.opts.ConfigFile, []byte("serve:\n  readiness_threshold: 3h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !s.Reload() || testutil.ToFloat64(s.metrics.reloadOK) != 1 || s.Config().Serve.ReadinessThreshold != 3*time.Hour {
		t.Fatalf("a good file was not taken")
	}
}

// TestMetricsLint fills every keyrot metric from an audit, an apply and AWS
// calls, then checks the scrape with promlint and the text parser, and that
// no user name or key ID is a label value.
func TestMetricsLint(t *testing.T) {
	s := testServer(t, "", nil)
	m := s.metrics
	age := 120
	res := &audit.Result{GeneratedAt: time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC),
		Snapshot: &inventory.Snapshot{Accounts: []inventory.Account{{ID: "111122223333", Status: inventory.AccountAudited, Users: []inventory.User{
			{Name: "alice", Keys: []inventory.AccessKey{{ID: "AKIAALICEKEY0000001", Status: inventory.KeyActive, CreateDate: time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)}}}}}}},
		Findings: []audit.Finding{
			{Rule: "access-key-age", Severity: audit.SeverityHigh, AccountID: "111122223333", User: "alice", KeyID: "AKIAALICEKEY0000001", Evidence: audit.Evidence{AgeDays: &age}},
			{Rule: "console-no-mfa", Severity: audit.SeverityHigh, AccountID: "111122223333", User: "bob", Exempt: true},
		}}
	m.observeAudit(res)
	m.observeApply(&app.ApplyResult{
		Plan:   &app.RotationPlan{Plan: &plan.Plan{Blocked: []plan.Action{{Kind: plan.Blocked, User: "carol"}}}},
		Result: &execute.Result{Outcomes: []execute.Outcome{{Kind: plan.CreateKey, Status: execute.Succeeded, User: "alice", KeyID: "AKIAALICEKEY0000001"}}},
		Notify: &notify.Summary{Deliveries: []notify.Delivery{{Channel: "ses", Recipient: "alice@example.com"}, {Channel: "ses", Error: "refused"}}},
	})
	m.ObserveCall(context.Background(), awsconf.Call{Service: "IAM", Operation: "ListUsers", Duration: time.Second})
	m.ObserveCall(context.Background(), awsconf.Call{Service: "IAM", Operation: "ListUsers", Err: errors.New("boom")})
	m.ObserveThrottle(context.Background(), "IAM", "ListUsers")
	m.runFinished("audit", OutcomeSucceeded, time.Now(), time.Second)
	w := request(t, s.Handler(), "GET", "/metrics", nil)
	body := w.Body.Bytes()
	probs, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"keyrot_findings", "keyrot_findings_exempt", "keyrot_kind_findings", "keyrot_credentials", "keyrot_access_keys", "keyrot_access_keys_due", "keyrot_access_keys_overdue",
		"keyrot_actions_total", "keyrot_blocked_rotations", "keyrot_notification_deliveries_total", "keyrot_notification_delivery_failures_total",
		"keyrot_aws_calls_total", "keyrot_aws_call_errors_total", "keyrot_aws_throttles_total", "keyrot_runs_total", "keyrot_runs_in_progress",
		"keyrot_last_run_start_timestamp_seconds", "keyrot_last_run_duration_seconds", "keyrot_last_run_outcome",
		"keyrot_config_last_reload_successful", "keyrot_config_last_reload_success_timestamp_seconds", "keyrot_build_info",
		"go_goroutines", "process_cpu_seconds_total", "go_build_info"} {
		if _, ok := mfs[name]; !ok {
			t.Errorf("%s missing from the scrape", name)
		}
	}
	for _, leak := range []string{"alice", "bob", "carol", "AKIA"} {
		if bytes.Contains(body, []byte(leak)) {
			t.Errorf("the scrape names %q", leak)
		}
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"keyrot_findings", map[string]string{"severity": "high", "rule": "access-key-age", "account": "111122223333"}, 1},
		{"keyrot_access_keys_overdue", map[string]string{"account": "111122223333"}, 1},
		{"keyrot_access_keys", map[string]string{"account": "111122223333", "age_bucket": "91-180"}, 1},
		{"keyrot_notification_delivery_failures_total", map[string]string{"channel": "ses"}, 1},
		{"keyrot_aws_throttles_total", map[string]string{"operation": "ListUsers"}, 1},
		{"keyrot_aws_call_errors_total", map[string]string{"operation": "ListUsers"}, 1},
		{"keyrot_blocked_rotations", nil, 1},
	} {
		got := 0.0
		for _, m := range mfs[c.name].GetMetric() {
			ok := true
			for k, v := range c.labels {
				found := false
				for _, l := range m.Label {
					found = found || (l.GetName() == k && l.GetValue() == v)
				}
				ok = ok && found
			}
			if ok {
				got += m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
		if got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// TestMetricsOfEveryKind: an audit with one credential of each kind
// besides access keys (service-specific credentials, a Bedrock API key,
// signing certificates, SSH keys, the password policy, server and ACM
// certificates, secrets, trust anchors), judged by the real rules, shows
// in keyrot_credentials by kind and in keyrot_kind_findings and
// keyrot_findings by each kind's rules.
func TestMetricsOfEveryKind(t *testing.T) {
	s := testServer(t, "", nil)
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	ago := func(days int) time.Time { return now.Add(-time.Duration(days) * 24 * time.Hour) }
	const acct = "111122223333"
	a := inventory.Account{ID: acct, Status: inventory.AccountAudited, Root: &inventory.Root{MFAActive: true},
		PasswordPolicy: &inventory.PasswordPolicy{Exists: true, MinimumPasswordLength: 8},
		Users: []inventory.User{{Name: "dev", CreateDate: ago(400),
			ServiceCredentials: []inventory.ServiceCredential{
				{ID: "ACCACODECOMMIT000001", Service: inventory.ServiceCodeCommit, Status: inventory.KeyActive, CreateDate: ago(200)},
				{ID: "ACCABEDROCK000000001", Service: inventory.ServiceBedrock, Status: inventory.KeyActive, CreateDate: ago(5)},
			},
			SigningCertificates: []inventory.SigningCertificate{{ID: "CERT1", Status: inventory.KeyActive, UploadDate: ago(300)}},
			SSHPublicKeys:       []inventory.SSHPublicKey{{ID: "APKASSHKEY0000000001", Status: inventory.KeyActive, UploadDate: ago(300)}},
		}},
		ServerCertificates: []inventory.ServerCertificate{{Name: "old", UploadDate: ago(800), Expiration: ago(3)}},
		Certificates: []inventory.Certificate{{ARN: "arn:aws:acm:us-east-1:" + acct + ":certificate/1", Region: "us-east-1", DomainName: "www.example.com",
			Type: "AMAZON_ISSUED", Status: "ISSUED", InUse: true, CreatedAt: ago(350), NotAfter: ago(-10)}},
		Secrets: []inventory.Secret{{ARN: "arn:aws:secretsmanager:us-east-1:" + acct + ":secret:db-AbCdEf", Name: "db", Region: "us-east-1", CreatedDate: ago(400)}},
		TrustAnchors: []inventory.TrustAnchor{{ARN: "arn:aws:rolesanywhere:us-east-1:" + acct + ":trust-anchor/1", Name: "onprem", Region: "us-east-1", Enabled: true,
			SourceType: "CERTIFICATE_BUNDLE", CACertificates: []inventory.CACertificate{{Subject: "CN=CA", NotBefore: ago(700), NotAfter: ago(-20)}}}},
	}
	snap := &inventory.Snapshot{CollectedAt: now, ManagementAccountID: acct, Accounts: []inventory.Account{a}}
	s.metrics.observeAudit(audit.Evaluate(policy.Default(), snap, now))
	body := request(t, s.Handler(), "GET", "/metrics", nil).Body.String()
	for _, kind := range []string{audit.KindServiceCredential, audit.KindBedrockAPIKey, audit.KindSigningCertificate, audit.KindSSHPublicKey,
		audit.KindServerCertificate, audit.KindACMCertificate, audit.KindSecret, audit.KindTrustAnchor} {
		if want := `keyrot_credentials{account="` + acct + `",kind="` + kind + `"} `; !strings.Contains(body, want) {
			t.Errorf("the scrape lacks %s", want)
		}
	}
	for _, kind := range []string{audit.KindServiceCredential, audit.KindBedrockAPIKey, audit.KindSigningCertificate, audit.KindSSHPublicKey,
		audit.KindPasswordPolicy, audit.KindServerCertificate, audit.KindACMCertificate, audit.KindSecret, audit.KindTrustAnchor} {
		if want := `keyrot_kind_findings{kind="` + kind + `",`; !strings.Contains(body, want) {
			t.Errorf("the scrape lacks findings of kind %s", kind)
		}
	}
	for _, want := range []string{
		`keyrot_findings{account="` + acct + `",rule="trust-anchor-expiring",severity="medium"} 1`,
		`keyrot_findings{account="` + acct + `",rule="server-certificate-expired",severity="high"} 1`,
		`keyrot_kind_findings{kind="roles-anywhere-trust-anchor",severity="medium"} 1`,
		`keyrot_credentials{account="` + acct + `",kind="roles-anywhere-trust-anchor"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the scrape lacks %s", want)
		}
	}
}
