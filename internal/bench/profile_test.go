package bench

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/collect"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/policy"
)

// TestProfileAudit audits a benchmark organization in this process and
// writes a heap profile taken while the audit's result is still held:
// what keyrot keeps alive at the end of an audit. It runs only when
// KEYROT_BENCH_PROFILE names the profile file; KEYROT_BENCH_ACCOUNTS and
// KEYROT_BENCH_USERS size the organization (default 1000 x 100) and
// KEYROT_BENCH_DUE sets the share of users due (default 0.05);
// KEYROT_BENCH_CPUPROFILE names a file for a CPU profile of the audit
// (the sandbox's work included). The audit is recorded in a fresh history,
// as a user's is:
//
//	KEYROT_BENCH_PROFILE=/tmp/audit.heap go test -run TestProfileAudit -timeout 30m ./internal/bench/
//	go tool pprof -sample_index=inuse_space -top /tmp/audit.heap
func TestProfileAudit(t *testing.T) {
	out := os.Getenv("KEYROT_BENCH_PROFILE")
	if out == "" {
		t.Skip("set KEYROT_BENCH_PROFILE to a file to profile a large audit")
	}
	w := DefaultWorkload()
	w.Accounts, w.UsersPerAccount, w.Latency, w.RatePerAccount = 1000, 100, 0, 0
	if n, err := strconv.Atoi(os.Getenv("KEYROT_BENCH_ACCOUNTS")); err == nil {
		w.Accounts = n
	}
	if n, err := strconv.Atoi(os.Getenv("KEYROT_BENCH_USERS")); err == nil {
		w.UsersPerAccount = n
	}
	if f, err := strconv.ParseFloat(os.Getenv("KEYROT_BENCH_DUE"), 64); err == nil {
		w.DueShare = f
	}
	if f, err := strconv.ParseFloat(os.Getenv("KEYROT_BENCH_KEYS"), 64); err == nil {
		w.KeysPerUser = f
	}
	e, err := Start(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	id, secret := e.Server.AdminCredentials()
	cfg := awsconf.Apply(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
		BaseEndpoint: aws.String(e.URL)}, awsconf.Options{})
	// A fresh history, as a user's audit is recorded.
	dbPath := filepath.Join(t.TempDir(), "history.db")
	h, err := history.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	r := &app.App{Policy: policy.Default(), AWS: cfg, History: h, CollectOptions: func(o *collect.Options) {
		o.ReportPoll = collect.Poll{Initial: 5 * time.Millisecond, Max: 100 * time.Millisecond, Attempts: 50}
		o.Concurrency = w.Concurrency
	}}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	if cpu := os.Getenv("KEYROT_BENCH_CPUPROFILE"); cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	res, err := r.Audit(context.Background(), app.AuditRequest{})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d findings; live heap %d MiB before, %d MiB after (sandbox included); total allocated %d MiB",
		len(res.Findings), before.HeapAlloc>>20, after.HeapAlloc>>20, (after.TotalAlloc-before.TotalAlloc)>>20)
	if st, err := os.Stat(dbPath); err == nil {
		t.Logf("history: %d MiB", st.Size()>>20)
	}
	runtime.KeepAlive(res)
	runtime.KeepAlive(r)
}
