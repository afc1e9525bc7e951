package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/sandbox"
	"github.com/keyrot/keyrot/internal/sandboxtest"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// lockedBuffer is a bytes.Buffer safe for a process writing and a test reading.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freePort returns a loopback port free at the time of the call.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// serveProc is a keyrot serve process under test.
type serveProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string
	stderr *lockedBuffer
	exited chan error
}

// startServe runs the keyrot binary's serve with args and waits until
// /healthz answers.
func startServe(t *testing.T, port int, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(keyrotBinary(t), append([]string{"serve"}, args...)...)
	p := &serveProc{t: t, cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	p.waitFor("/healthz to answer", func() bool {
		resp, err := http.Get(p.base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

// waitFor polls cond until it holds, failing the test after a minute or
// when the process exits.
func (p *serveProc) waitFor(what string, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		select {
		case err := <-p.exited:
			p.t.Fatalf("keyrot serve exited (%v) while waiting for %s\n%s", err, what, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s\n%s", what, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrape reads /metrics, checks it with promlint and the text parser, and
// returns the families.
func (p *serveProc) scrape() map[string]*dto.MetricFamily {
	p.t.Helper()
	resp, err := http.Get(p.base + "/metrics")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		p.t.Fatal(err)
	}
	probs, err := promlint.New(bytes.NewReader(body.Bytes())).Lint()
	if err != nil {
		p.t.Fatalf("promlint: %v", err)
	}
	for _, pr := range probs {
		p.t.Errorf("promlint: %s: %s", pr.Metric, pr.Text)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(body.Bytes()))
	if err != nil {
		p.t.Fatalf("parse /metrics: %v\n%s", err, body.String())
	}
	return mfs
}

// metricValue is the value of the series of name whose labels include want; 0 if none.
func metricValue(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	mf, ok := mfs[name]
	if !ok {
		return 0
	}
	sum := 0.0
	for _, m := range mf.Metric {
		if !labelsMatch(m, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		}
	}
	return sum
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, l := range m.Label {
			if l.GetName() == k && l.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// runs is how many runs of kind have finished.
func (p *serveProc) runs(kind string) int {
	return int(metricValue(p.scrape(), "keyrot_runs_total", map[string]string{"kind": kind}))
}

// post starts a run now and returns its ID.
func (p *serveProc) post(kind string) string {
	p.t.Helper()
	resp, err := http.Post(p.base+"/runs/"+kind, "", nil)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		RunID string `json:"run_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(got.RunID, kind+"-") {
		p.t.Fatalf("POST /runs/%s: %d %+v %v", kind, resp.StatusCode, got, err)
	}
	return got.RunID
}

// apply starts an apply through the API and waits for it to finish.
func (p *serveProc) apply() {
	p.t.Helper()
	before := p.runs("apply")
	id := p.post("apply")
	p.waitFor("apply "+id, func() bool { return p.runs("apply") > before })
}

// freshAudits waits until two audits have finished since now: the second
// started after any change made before the call.
func (p *serveProc) freshAudits() {
	p.t.Helper()
	before := p.runs("audit")
	p.waitFor("two scheduled audits", func() bool { return p.runs("audit") >= before+2 })
}

// servePolicy is a keyrot.yaml for serve with owners notified by email,
// audits every second and applies started through the API only.
func servePolicy(port int) string {
	return notifyPolicy + fmt.Sprintf(`serve:
  listen: 127.0.0.1:%d
  schedules:
    audit: {cron: "* * * * * *"}
    apply: {disabled: true, deadline: 1m}
  drain_timeout: 1m
`, port)
}

// TestServeEndToEnd drives the keyrot binary's serve against the sandbox
// across the 90/100/110-day lifecycle of two users' keys: scheduled audits
// every second, applies started through POST /runs/apply. After each step
// /metrics (lint-clean, parsed by the Prometheus text parser) says what
// keyrot audit -o json says about the same state, the actions and
// deliveries are counted, and every user keeps a working key. A reload
// with a broken configuration keeps the service serving the old one and
// says so in keyrot_config_last_reload_successful; SIGTERM in the middle of
// an apply lets the action in flight finish and exits 0 with no invariant
// broken and the run recorded.
func TestServeEndToEnd(t *testing.T) {
	e := startLifecycle(t, memberAccount)
	port := freePort(t)
	cfgFile := filepath.Join(t.TempDir(), "keyrot.yaml")
	if err := os.WriteFile(cfgFile, []byte(servePolicy(port)), 0o600); err != nil {
		t.Fatal(err)
	}
	// keyrot audit reads its own copy: the service's file is broken below.
	auditFile := filepath.Join(t.TempDir(), "keyrot.yaml")
	if err := os.WriteFile(auditFile, []byte(servePolicy(port)), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--clock", "sandbox", "--report-wait", "5ms"}
	p := startServe(t, port, append(flags, "-c", cfgFile, "--state-dir", e.stateDir)...)
	ctx := context.Background()
	admin := e.Admin()
	// The accounts, each with a configuration acting there (assumed anew
	// each time: the sandbox's clock moves by days).
	accounts := map[string]func() aws.Config{
		"111122223333": func() aws.Config { return admin },
		"444455556666": func() aws.Config { return assumeInto(ctx, t, e, admin, "444455556666") },
	}
	users := map[string]string{"111122223333": "app", "444455556666": "worker"}

	// checkMetrics compares the scrape with keyrot audit -o json on the same state.
	checkMetrics := func(step string) map[string]*dto.MetricFamily {
		t.Helper()
		p.freshAudits()
		mfs := p.scrape()
		code, out, stderr := runCLI(t, append([]string{"audit", "-o", "json", "--progress", "none", "-c", auditFile}, flags...)...)
		if code != ExitOK && code != ExitFindings {
			t.Fatalf("%s: keyrot audit: exit %d\n%s", step, code, stderr)
		}
		var res jsonAudit
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		want := map[[3]string]float64{}
		due, overdue := map[string]float64{}, map[string]float64{}
		for _, f := range res.Findings {
			if f.Exempt {
				continue
			}
			want[[3]string{f.Severity, f.Rule, f.AccountID}]++
			if f.Rule == "access-key-age" {
				if f.Severity == "high" {
					overdue[f.AccountID]++
				} else {
					due[f.AccountID]++
				}
			}
		}
		got := map[[3]string]float64{}
		for _, m := range mfs["keyrot_findings"].GetMetric() {
			l := map[string]string{}
			for _, lp := range m.Label {
				l[lp.GetName()] = lp.GetValue()
			}
			if v := m.Gauge.GetValue(); v != 0 {
				got[[3]string{l["severity"], l["rule"], l["account"]}] = v
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: keyrot_findings %v, audit json %v", step, got, want)
		}
		for acct, cfgOf := range accounts {
			cfg := cfgOf()
			if g, w := metricValue(mfs, "keyrot_access_keys_due", map[string]string{"account": acct}), due[acct]; g != w {
				t.Errorf("%s: keys due in %s: metric %v, audit json %v", step, acct, g, w)
			}
			if g, w := metricValue(mfs, "keyrot_access_keys_overdue", map[string]string{"account": acct}), overdue[acct]; g != w {
				t.Errorf("%s: keys overdue in %s: metric %v, audit json %v", step, acct, g, w)
			}
			// Active keys by age, from IAM itself on the sandbox's clock.
			out, err := iam.NewFromConfig(cfg).ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(users[acct])})
			if err != nil {
				t.Fatal(err)
			}
			ages := map[string]float64{}
			for _, k := range out.AccessKeyMetadata {
				if k.Status != "Active" {
					continue
				}
				days := int(e.Server.Clock().Now().Sub(aws.ToTime(k.CreateDate)) / (24 * time.Hour))
				switch {
				case days <= 30:
					ages["0-30"]++
				case days <= 60:
					ages["31-60"]++
				case days <= 90:
					ages["61-90"]++
				default:
					ages["91-180"]++
				}
			}
			for _, b := range []string{"0-30", "31-60", "61-90", "91-180"} {
				if g := metricValue(mfs, "keyrot_access_keys", map[string]string{"account": acct, "age_bucket": b}); g != ages[b] {
					t.Errorf("%s: active keys of %s aged %s days: metric %v, IAM %v", step, acct, b, g, ages[b])
				}
			}
		}
		return mfs
	}
	// safe checks every user's keys with the executor chaos tests' checker.
	safe := func(step string) {
		t.Helper()
		for acct, cfgOf := range accounts {
			cfg := cfgOf()
			st, err := secretstore.New(secretsmanager.NewFromConfig(cfg), secretstore.Config{Region: "us-east-1"})
			if err != nil {
				t.Fatal(err)
			}
			if err := sandboxtest.CheckKeySafe(ctx, sandboxtest.KeySafety{IAM: iam.NewFromConfig(cfg), Store: st,
				Secret: "keyrot/" + acct + "/" + users[acct], KeyConfig: func(id, secret string) aws.Config { return e.Config(id, secret, "") }}, users[acct]); err != nil {
				t.Errorf("%s: %v", step, err)
			}
		}
	}
	// useKeys makes each application sign a call with the key keyrot stored for it.
	useKeys := func() {
		t.Helper()
		for acct, cfgOf := range accounts {
			st, err := secretstore.New(secretsmanager.NewFromConfig(cfgOf()), secretstore.Config{Region: "us-east-1"})
			if err != nil {
				t.Fatal(err)
			}
			cur, err := st.Stage(ctx, "keyrot/"+acct+"/"+users[acct], "AWSCURRENT")
			if err != nil {
				t.Fatalf("read the new key of %s: %v", users[acct], err)
			}
			if _, err := sts.NewFromConfig(e.Config(cur.Value.AccessKeyID, cur.Value.SecretAccessKey.Reveal(), "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
				t.Fatalf("the new key of %s does not work: %v", users[acct], err)
			}
		}
	}
	actions := func(kind string) float64 {
		return metricValue(p.scrape(), "keyrot_actions_total", map[string]string{"kind": kind, "outcome": "succeeded"})
	}

	// Day 85: nothing due yet.
	checkMetrics("day 85")

	// Day 90: both keys are rotated; owners are told.
	e.Server.Clock().Advance(5 * day)
	p.apply()
	if n := actions("create-key"); n != 2 {
		t.Fatalf("day 90: %v keys created, want 2\n%s", n, p.stderr.String())
	}
	mfs := checkMetrics("day 90")
	if sent := metricValue(mfs, "keyrot_notification_deliveries_total", nil); sent == 0 || int(sent) != len(e.Server.Emails()) {
		t.Errorf("day 90: %v deliveries counted, the sandbox received %d mails", sent, len(e.Server.Emails()))
	}
	safe("day 90")

	// Day 92: the applications switch to their new keys (a signed call each).
	e.Server.Clock().Advance(2 * day)
	useKeys()
	// Day 100: the old keys are deactivated.
	e.Server.Clock().Advance(8 * day)
	p.apply()
	if n := actions("deactivate-key"); n != 2 {
		t.Fatalf("day 100: %v keys deactivated, want 2\n%s", n, p.stderr.String())
	}
	checkMetrics("day 100")
	safe("day 100")

	// Day 110: the inactive keys are deleted. A throttled call is retried and counted.
	e.Server.Clock().Advance(10 * day)
	if _, err := e.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultError, Service: "iam", Operation: "ListAccessKeys", Code: "Throttling", Status: 400, Message: "Rate exceeded", Times: 1}); err != nil {
		t.Fatal(err)
	}
	p.apply()
	if n := actions("delete-key"); n != 2 {
		t.Fatalf("day 110: %v keys deleted, want 2\n%s", n, p.stderr.String())
	}
	mfs = checkMetrics("day 110")
	if n := metricValue(mfs, "keyrot_aws_throttles_total", map[string]string{"service": "IAM", "operation": "ListAccessKeys"}); n != 1 {
		t.Errorf("throttled ListAccessKeys attempts: %v, want 1", n)
	}
	if n := metricValue(mfs, "keyrot_aws_calls_total", map[string]string{"service": "IAM", "operation": "DeleteAccessKey"}); n != 2 {
		t.Errorf("DeleteAccessKey calls counted: %v, want 2", n)
	}
	safe("day 110")

	// A broken configuration is rejected at SIGHUP; the service goes on.
	if err := os.WriteFile(cfgFile, []byte(servePolicy(port)+"  schedules_typo: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the failed reload in the metrics", func() bool {
		mf := p.scrape()["keyrot_config_last_reload_successful"]
		return mf != nil && mf.Metric[0].Gauge.GetValue() == 0
	})
	if !strings.Contains(p.stderr.String(), "config reload rejected") || !strings.Contains(p.stderr.String(), "schedules_typo") {
		t.Errorf("the log does not say why the reload was rejected:\n%s", p.stderr.String())
	}
	checkMetrics("after a rejected reload")

	// The status page at / lists the service's runs, and the latest
	// audit's full report is one click away.
	page := httpGetOK(t, p.base+"/")
	for _, want := range []string{"Recent runs", "<td>apply</td>", "<td>audit</td>", "status-succeeded"} {
		if !strings.Contains(page, want) {
			t.Errorf("the status page lacks %q", want)
		}
	}
	link := regexp.MustCompile(`<a href="(runs/[0-9]+)">full report</a>`).FindStringSubmatch(page)
	if link == nil {
		t.Fatalf("the status page links no full report of the latest audit:\n%s", page)
	}
	if rep := httpGetOK(t, p.base+"/"+link[1]); !strings.Contains(rep, "111122223333") || !strings.Contains(rep, "444455556666") {
		t.Errorf("%s does not report both accounts", link[1])
	}

	// Day 180: the new keys, in use, are due. SIGTERM while the first new
	// key is being created: that action finishes, no other starts, exit 0.
	e.Server.Clock().Advance(69 * day)
	useKeys()
	e.Server.Clock().Advance(day)
	if _, err := e.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultLatency, Service: "iam", Operation: "CreateAccessKey", Latency: "2s", Times: 1}); err != nil {
		t.Fatal(err)
	}
	p.post("apply")
	p.waitFor("the apply to create a key", func() bool {
		for _, f := range e.Server.Faults() {
			if f.Kind == sandbox.FaultLatency && f.Fired > 0 {
				return true
			}
		}
		return false
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("keyrot serve after SIGTERM: %v, want exit 0\n%s", err, p.stderr.String())
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("keyrot serve did not stop after SIGTERM\n%s", p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), `"kind":"apply","trigger":"http","outcome":"interrupted"`) {
		t.Errorf("the apply cut short by SIGTERM is not logged as interrupted:\n%s", p.stderr.String())
	}
	safe("after SIGTERM")
	h, err := history.Open(ctx, filepath.Join(e.stateDir, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	runs, err := h.ListRuns(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Status == history.RunRunning {
			t.Errorf("run %d is still marked running after SIGTERM", r.ID)
		}
	}
	if l, held, err := h.LeaseOn(ctx, "org"); err != nil || held {
		t.Errorf("the organization lease is left behind: %+v %v", l, err)
	}
	if !strings.Contains(p.stderr.String(), `"msg":"action"`) || !strings.Contains(p.stderr.String(), `"msg":"run"`) {
		t.Errorf("the JSON log lacks the per-run and per-action lines:\n%s", p.stderr.String())
	}
}

// httpGetOK fetches url, failing the test unless it answers 200.
func httpGetOK(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", url, resp.StatusCode, err, b)
	}
	return string(b)
}
