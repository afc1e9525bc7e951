package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/sandbox"
)

// The names of the strategies a run measures (Measure.Name).
const (
	NameAudit   = "keyrot audit"
	NamePerUser = "per-user audit"
	NameApply   = "keyrot apply"
)

// otherKindOps are the audit's calls for credentials other than access
// keys: service-specific credentials, the password policy, server and ACM
// certificates, trust anchors. (Its one ListSecrets page serves both the
// account's secrets and keyrot's rotation records, and is counted with the
// access keys.)
var otherKindOps = []string{"iam:ListServiceSpecificCredentials", "iam:GetAccountPasswordPolicy", "iam:ListServerCertificates", "acm:ListCertificates",
	"rolesanywhere:ListTrustAnchors"}

// AccessKeyCalls is how many of m's calls were for access keys: all of
// them but otherKindOps. The per-user strategy reads access keys only, and
// is compared with these.
func (m Measure) AccessKeyCalls() int {
	n := m.Calls
	for _, op := range otherKindOps {
		n -= m.ByOp[op]
	}
	return n
}

// Measure is one strategy's run over the workload.
type Measure struct {
	Name string
	// Calls is every AWS call the sandbox counted; ByOp splits them by
	// "service:Operation".
	Calls int
	ByOp  map[string]int
	// ByAccount splits them by account, IAMByAccount the IAM ones (those
	// the rate limit counts); Spans is how long each account was worked on
	// (its first call to its last).
	ByAccount, IAMByAccount map[string]int
	// AnsweredByAccount and IAMAnsweredByAccount leave out the attempts a
	// fault answered (throttles): the calls a lower bound counts.
	AnsweredByAccount, IAMAnsweredByAccount map[string]int
	Spans                                   map[string]time.Duration
	// Floor is the fewest calls that establish the same facts (0: not
	// defined for this strategy).
	Floor int
	// Wall is the elapsed time; LowerBound what the floor's calls take at
	// the workload's latency, concurrency and rate limit.
	Wall, LowerBound time.Duration
	// Throttled is how many calls the sandbox answered with Throttling
	// (each retried by the client); Failed is how many accounts or actions
	// ended in an error.
	Throttled, Failed int
	// PeakRSSKiB is the keyrot process's peak resident memory (0 when the
	// strategy ran in this process).
	PeakRSSKiB int64
	// KeyrotCPU is the CPU time (user and system) of the keyrot process;
	// BenchCPU that of this process meanwhile: the sandbox, and the
	// per-user strategy's clients when it runs here. On a shared machine
	// they tell a wall time bound by CPU from one bound by AWS's latency.
	KeyrotCPU, BenchCPU time.Duration
	// Actions is how many changes an apply made.
	Actions int
}

// Env is a running sandbox for one workload.
type Env struct {
	W      Workload
	Server *sandbox.Server
	URL    string
	stop   context.CancelFunc
	done   chan error
	// rateIDs are the rate faults, whose firings are the throttles.
	rateIDs []string
}

// Start runs a sandbox with the workload's organization and faults.
func Start(ctx context.Context, w Workload) (*Env, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	srv := sandbox.New(sandbox.Options{})
	if err := srv.ApplyScenario(Scenario(w)); err != nil {
		return nil, fmt.Errorf("benchmark scenario: %w", err)
	}
	// IAM builds a credential report in seconds; the benchmark measures
	// keyrot's calls, not IAM's build time.
	srv.SetReportBuildTime(0)
	sctx, stop := context.WithCancel(ctx)
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, "127.0.0.1:0", func(a net.Addr) { addrc <- a }) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		stop()
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	e := &Env{W: w, Server: srv, URL: "http://" + addr.String(), stop: stop, done: done}
	if w.Latency > 0 {
		if _, err := srv.AddFault(sandbox.Fault{Kind: sandbox.FaultLatency, Latency: w.Latency.String()}); err != nil {
			e.Close()
			return nil, err
		}
	}
	rates := []sandbox.Fault{}
	if w.RatePerAccount > 0 {
		rates = append(rates, sandbox.Fault{Kind: sandbox.FaultRate, Service: "iam", RatePerSecond: w.RatePerAccount, Burst: max(w.Burst, 1)})
	}
	for i, r := range w.AccountRates {
		// Both buckets apply in an overridden account: a lower rate wins.
		rates = append(rates, sandbox.Fault{Kind: sandbox.FaultRate, Service: "iam", Account: AccountID(i), RatePerSecond: r, Burst: 1})
	}
	for _, f := range rates {
		f, err := srv.AddFault(f)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.rateIDs = append(e.rateIDs, f.ID)
	}
	return e, nil
}

// Close stops the sandbox.
func (e *Env) Close() {
	e.stop()
	<-e.done
}

// throttled returns how often the rate faults have fired so far.
func (e *Env) throttled() int {
	n := 0
	for _, f := range e.Server.Faults() {
		if slices.Contains(e.rateIDs, f.ID) {
			n += f.Fired
		}
	}
	return n
}

// counted runs fn and measures it on m: the calls the sandbox counted
// during it, in all, by operation and by account, how long each account
// was worked on, the throttles and the wall time.
func (e *Env) counted(m *Measure, fn func() error) error {
	e.Server.ResetCallCounts()
	t0 := e.throttled()
	cpu0 := selfCPU()
	start := time.Now()
	err := fn()
	m.Wall = time.Since(start)
	m.BenchCPU = selfCPU() - cpu0
	m.ByOp, m.ByAccount, m.IAMByAccount, m.Spans = map[string]int{}, map[string]int{}, map[string]int{}, map[string]time.Duration{}
	for acct, ops := range e.Server.CallCounts() {
		for op, n := range ops {
			m.ByOp[op] += n
			m.ByAccount[acct] += n
			if strings.HasPrefix(op, "iam:") {
				m.IAMByAccount[acct] += n
			}
		}
	}
	m.AnsweredByAccount, m.IAMAnsweredByAccount = maps.Clone(m.ByAccount), maps.Clone(m.IAMByAccount)
	for acct, ops := range e.Server.FaultedCallCounts() {
		for op, n := range ops {
			m.AnsweredByAccount[acct] -= n
			if strings.HasPrefix(op, "iam:") {
				m.IAMAnsweredByAccount[acct] -= n
			}
		}
	}
	for acct, sp := range e.Server.CallSpans() {
		m.Spans[acct] = sp.Last.Sub(sp.First)
	}
	m.Calls = sum(m.ByOp)
	m.Throttled = e.throttled() - t0
	return err
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// keyrot runs the keyrot binary against the sandbox and returns its
// standard output, peak memory and CPU time.
func (e *Env) keyrot(ctx context.Context, bin string, args ...string) ([]byte, int64, time.Duration, error) {
	id, secret := e.Server.AdminCredentials()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+id, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_SESSION_TOKEN=",
		"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL="+e.URL, "AWS_PROFILE=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if f := os.Getenv("KEYROT_BENCH_STDERR"); f != "" {
		// Progress lines with the time each was written, to see where a
		// run's time goes.
		if i := slices.Index(args, "--progress"); i >= 0 && i+1 < len(args) {
			args = slices.Replace(slices.Clone(args), i+1, i+2, "plain")
			cmd.Args = append([]string{bin}, args...)
		}
		log, err := os.Create(f + "." + args[0])
		if err != nil {
			return nil, 0, 0, err
		}
		defer log.Close()
		cmd.Stderr = io.MultiWriter(&errb, timestamped{w: log, start: time.Now()})
	}
	err := cmd.Run()
	var rss int64
	var cpu time.Duration
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss
		}
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 5 {
			err = nil // some accounts unreadable: reported, not fatal
		} else {
			return out.Bytes(), rss, cpu, fmt.Errorf("keyrot %s: %w\n%s", strings.Join(args[:1], " "), err, errb.String())
		}
	}
	return out.Bytes(), rss, cpu, nil
}

// auditRecorded checks that the history at path kept an audit with its report.
func auditRecorded(ctx context.Context, path string) error {
	h, err := history.Open(ctx, path)
	if err != nil {
		return fmt.Errorf("open the audit's history: %w", err)
	}
	defer h.Close()
	latest, ok, err := h.LatestAudit(ctx, time.Time{})
	if err != nil || !ok {
		return fmt.Errorf("keyrot audit recorded no audit in its history (%v): its figures would not be a user's", err)
	}
	if a, err := h.Audit(ctx, latest.RunID); err != nil || len(a.Report) == 0 {
		return fmt.Errorf("keyrot audit kept no report in its history (%v): its figures would not be a user's", err)
	}
	return nil
}

// auditJSON is the part of keyrot audit -o json the floor is computed from.
type auditJSON struct {
	Accounts []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"accounts"`
	Findings []struct {
		AccountID string `json:"account_id"`
		User      string `json:"user"`
		KeyID     string `json:"key_id"`
		Rule      string `json:"rule"`
	} `json:"findings"`
}

// Audit runs keyrot audit with a fresh history, as a user's first audit
// is recorded, and measures it. An audit that was not recorded is an error:
// its memory and time would not be a user's.
func (e *Env) Audit(ctx context.Context, bin string) (Measure, error) {
	dir, err := os.MkdirTemp("", "keyrot-bench-")
	if err != nil {
		return Measure{}, err
	}
	defer os.RemoveAll(dir)
	var out []byte
	m := Measure{Name: NameAudit}
	err = e.counted(&m, func() error {
		var err error
		out, m.PeakRSSKiB, m.KeyrotCPU, err = e.keyrot(ctx, bin, "audit", "-o", "json", "--progress", "none", "--report-wait", "5ms",
			"--concurrency", fmt.Sprint(e.W.Concurrency), "--state-dir", filepath.Join(dir, "state"))
		return err
	})
	if err != nil {
		return Measure{}, err
	}
	if err := auditRecorded(ctx, filepath.Join(dir, "state", "history.db")); err != nil {
		return Measure{}, err
	}
	var res auditJSON
	if err := json.Unmarshal(out, &res); err != nil {
		return Measure{}, fmt.Errorf("read keyrot audit output: %w", err)
	}
	m.Floor, m.LowerBound = e.auditFloor(res)
	for _, a := range res.Accounts {
		if a.Status == "failed" {
			m.Failed++
		}
	}
	return m, nil
}

// iamKindCalls are the calls of each account's other IAM credential kinds
// and password policy: ListServiceSpecificCredentials for each of three
// services and GetAccountPasswordPolicy (collect/iamkinds.go).
const iamKindCalls = 4

// auditFloor is the fewest calls that establish an audit's facts: the
// caller's identity and the organization's account pages; per account its
// role, one GenerateCredentialReport and one GetCredentialReport, the
// iamKindCalls, one
// authorization-details page per 1,000 users when any user has a finding
// (tags and groups decide exemptions), one ListSecrets page when a key
// finding could be a rotation in progress, one ListAccessKeys per user
// whose findings name a key, and the other credentials' lists: one
// ListServerCertificates, one ListCertificates, one ListSecrets and one
// ListTrustAnchors page (in keyrot's one region). The ListSecrets page also
// holds the rotation records, keyrot's store being in the account and in
// that region, so a key finding costs no second one. Its lower bound in time runs the accounts'
// calls in sequence, Concurrency accounts at once, at the workload's
// latency, and no faster than the rate limit allows in any account.
func (e *Env) auditFloor(res auditJSON) (int, time.Duration) {
	w := e.W
	users := map[string]map[string]bool{}
	withFinding := map[string]bool{}
	for _, f := range res.Findings {
		if f.User != "" { // an account's own finding (its password policy) needs no user's tags
			withFinding[f.AccountID] = true
		}
		if f.KeyID != "" {
			if users[f.AccountID] == nil {
				users[f.AccountID] = map[string]bool{}
			}
			users[f.AccountID][f.User] = true
		}
	}
	mgmt := e.Server.ManagementAccountID()
	org := 1 + (w.Accounts+19)/20
	total := org
	var lanes []laneWork
	for _, a := range res.Accounts {
		if a.Status != "audited" {
			continue
		}
		n := 2 + iamKindCalls
		if a.ID != mgmt {
			n++ // AssumeRole
		}
		if withFinding[a.ID] {
			n += (w.UsersPerAccount + 999) / 1000
		}
		n += len(users[a.ID])
		// The other credentials: IAM server certificates, ACM, Secrets
		// Manager (whose page also gives the rotation records), IAM Roles
		// Anywhere (one list each, in keyrot's region; with a kind's regions
		// [enabled], one account:ListRegions and one list per enabled region
		// instead, which the workload does not use).
		const kindLists, kindIAM = 4, 1
		n += kindLists
		// AssumeRole is STS's: IAM's rate limit does not count it.
		iamCalls := n - (kindLists - kindIAM)
		if a.ID != mgmt {
			iamCalls--
		}
		lanes = append(lanes, laneWork{account: a.ID, iamCalls: iamCalls, serial: time.Duration(n) * w.Latency})
		total += n
	}
	return total, e.schedule(org, lanes)
}

// schedule is the least time the accounts' work takes at the workload's
// latency: the organization's org calls in sequence, then the accounts,
// longest first, onto Concurrency lanes; an account takes at least its
// serial time, and no less than its IAM rate limit (or its override)
// allows after its burst.
func (e *Env) schedule(org int, work []laneWork) time.Duration {
	w := e.W
	ds := make([]time.Duration, 0, len(work))
	for _, lw := range work {
		d := lw.serial
		limit := func(rate float64, burst int) {
			if rate > 0 && lw.iamCalls > burst {
				d = max(d, time.Duration(float64(lw.iamCalls-burst)/rate*float64(time.Second)))
			}
		}
		limit(w.RatePerAccount, w.Burst)
		for i, r := range w.AccountRates {
			if AccountID(i) == lw.account {
				limit(r, 1)
			}
		}
		ds = append(ds, d)
	}
	slices.SortFunc(ds, func(a, b time.Duration) int { return cmp.Compare(b, a) })
	lanes := make([]time.Duration, w.Concurrency)
	for _, d := range ds {
		i := 0
		for j := range lanes {
			if lanes[j] < lanes[i] {
				i = j
			}
		}
		lanes[i] += d
	}
	var longest time.Duration
	for _, l := range lanes {
		longest = max(longest, l)
	}
	return time.Duration(org)*w.Latency + longest
}

// Apply runs keyrot apply (with a fresh history) and measures it.
func (e *Env) Apply(ctx context.Context, bin string) (Measure, error) {
	dir, err := os.MkdirTemp("", "keyrot-bench-")
	if err != nil {
		return Measure{}, err
	}
	defer os.RemoveAll(dir)
	var out []byte
	m := Measure{Name: NameApply}
	err = e.counted(&m, func() error {
		var err error
		out, m.PeakRSSKiB, m.KeyrotCPU, err = e.keyrot(ctx, bin, "apply", "--yes", "--allow-partial", "-o", "json", "--progress", "none",
			"--report-wait", "5ms", "--concurrency", fmt.Sprint(e.W.Concurrency), "--state-dir", filepath.Join(dir, "state"),
			"--max-changes", "100000")
		return err
	})
	if err != nil {
		return Measure{}, err
	}
	var res struct {
		Outcomes []struct {
			AccountID string `json:"account_id"`
			User      string `json:"user"`
			Status    string `json:"status"`
		} `json:"outcomes"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return Measure{}, fmt.Errorf("read keyrot apply output: %w", err)
	}
	changed := map[string]map[string]bool{}
	for _, o := range res.Outcomes {
		switch o.Status {
		case "succeeded":
			m.Actions++
			if changed[o.AccountID] == nil {
				changed[o.AccountID] = map[string]bool{}
			}
			changed[o.AccountID][o.User] = true
		case "failed":
			m.Failed++
		}
	}
	m.LowerBound = e.applyBound(m, changed)
	return m, nil
}

// applyBound is the least time an apply's answered calls take (a
// throttled attempt is not work the bound owes): in each account the
// collection's floor in sequence (its role, the credential report's two
// calls, the other credentials' four lists, the iamKindCalls, and for an account with changes one authorization-details page,
// one ListSecrets page and one ListAccessKeys per changed user), then the
// account's other calls, which change keys, spread evenly over as many
// chains as users are changed at once (execute.DefaultUserConcurrency, at
// most one per changed user), each call at the workload's latency; no
// account faster than its rate limit allows after its burst; Concurrency
// accounts at once, longest first; the organization's pages first.
func (e *Env) applyBound(m Measure, changed map[string]map[string]bool) time.Duration {
	w := e.W
	mgmt := e.Server.ManagementAccountID()
	org := 1 + (w.Accounts+19)/20
	var lanes []laneWork
	for acct, calls := range m.AnsweredByAccount {
		collect := 2 + 4 + iamKindCalls // the report's two calls; the other credentials' four lists; the IAM kinds'
		if acct != mgmt {
			collect++
		}
		users := len(changed[acct])
		if users > 0 {
			collect += 2 + users
		}
		d := time.Duration(min(collect, calls)) * w.Latency
		if rest := calls - collect; rest > 0 && users > 0 {
			chains := min(execute.DefaultUserConcurrency, users)
			d += time.Duration((rest+chains-1)/chains) * w.Latency
		}
		lanes = append(lanes, laneWork{account: acct, iamCalls: m.IAMAnsweredByAccount[acct], serial: d})
	}
	return e.schedule(org, lanes)
}

// laneWork is one account's calls and the time they take in sequence.
type laneWork struct {
	account string
	// iamCalls are the calls the rate limit counts.
	iamCalls int
	serial   time.Duration
}

// timestamped writes each chunk it is given after the time since start.
type timestamped struct {
	w     io.Writer
	start time.Time
}

func (t timestamped) Write(p []byte) (int, error) {
	if _, err := fmt.Fprintf(t.w, "[%8.3fs] %s", time.Since(t.start).Seconds(), p); err != nil {
		return 0, err
	}
	return len(p), nil
}
