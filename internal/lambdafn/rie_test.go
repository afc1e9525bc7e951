package lambdafn_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// rieBinary returns the AWS Lambda Runtime Interface Emulator: the
// binary KEYROT_LAMBDA_RIE names (.ci/run builds it with
// scripts/lambda-rie.sh). Without it the test skips, unless
// KEYROT_REQUIRE_RIE=1, where it fails.
func rieBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KEYROT_LAMBDA_RIE"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("KEYROT_LAMBDA_RIE=%s: %v", p, err)
		}
		return p
	}
	if os.Getenv("KEYROT_REQUIRE_RIE") == "1" {
		t.Fatal("the Lambda Runtime Interface Emulator is required (KEYROT_REQUIRE_RIE=1) but KEYROT_LAMBDA_RIE is not set; build it with scripts/lambda-rie.sh")
	}
	t.Skip("KEYROT_LAMBDA_RIE is not set: no Lambda Runtime Interface Emulator (scripts/lambda-rie.sh builds it)")
	return ""
}

var (
	bootstrapOnce sync.Once
	bootstrapPath string
	bootstrapErr  error
)

// bootstrap builds cmd/keyrot-lambda as the Lambda runtime builds it
// (-tags lambda.norpc, no cgo), for this machine's architecture.
func bootstrap(t *testing.T) string {
	t.Helper()
	bootstrapOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keyrot-lambda-")
		if err != nil {
			bootstrapErr = err
			return
		}
		bootstrapPath = filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bootstrapPath, "github.com/keyrot/keyrot/cmd/keyrot-lambda")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		if out, err := cmd.CombinedOutput(); err != nil {
			bootstrapErr = fmt.Errorf("build bootstrap: %v\n%s", err, out)
		}
	})
	if bootstrapErr != nil {
		t.Fatal(bootstrapErr)
	}
	return bootstrapPath
}

// rie runs one function (one handler) under the emulator.
type rie struct {
	cmd *exec.Cmd
	url string
	log *bytes.Buffer
}

// freePort returns a loopback port free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startRIE starts the emulator running bootstrap with env; its Runtime API
// and invoke endpoint are on loopback ports of their own.
func startRIE(t *testing.T, rieBin, bootstrap string, timeout time.Duration, env []string) *rie {
	t.Helper()
	invoke, api := freePort(t), freePort(t)
	cmd := exec.Command(rieBin, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", invoke),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", api), "--log-level", "error", bootstrap)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), fmt.Sprintf("AWS_LAMBDA_FUNCTION_TIMEOUT=%d", int(timeout.Seconds()))}, env...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &syncWriter{w: &log}, &syncWriter{w: &log}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start aws-lambda-rie: %v", err)
	}
	r := &rie{cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", invoke), log: &log}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", invoke))
		if err == nil {
			c.Close()
			return r
		}
		if time.Now().After(deadline) {
			r.stop()
			t.Fatalf("aws-lambda-rie did not listen: %v\n%s", err, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *rie) stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

// invoke posts the event to the emulator's invoke endpoint and returns the
// function's answer, or the error it reported.
func (r *rie) invoke(event []byte) ([]byte, error) {
	resp, err := http.Post(r.url, "application/json", bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("invoke: HTTP %d: %s", resp.StatusCode, b)
	}
	var fe struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}
	if json.Unmarshal(b, &fe) == nil && fe.Type != "" {
		return nil, fmt.Errorf("function error %s: %s", fe.Type, fe.Message)
	}
	return b, nil
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// rieFunctions runs the three handlers of o under the emulator, one
// function each, restarted by coldStart.
type rieFunctions struct {
	rieBin, bootstrap string
	o                 *org
	timeout           time.Duration
	mu                sync.Mutex
	running           map[string]*rie
}

func (f *rieFunctions) coldStart() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for h, r := range f.running {
		r.stop()
		delete(f.running, h)
	}
}

func (f *rieFunctions) invoker(t *testing.T) invoker {
	t.Cleanup(f.coldStart)
	return func(t *testing.T, handler string, in, out any) {
		t.Helper()
		f.mu.Lock()
		r := f.running[handler]
		if r == nil {
			r = startRIE(t, f.rieBin, f.bootstrap, f.timeout, f.o.processEnv(handler))
			f.running[handler] = r
		}
		f.mu.Unlock()
		event, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.invoke(event)
		if err != nil {
			t.Fatalf("%s: %v\nlog:\n%s", handler, err, tail(r.log.String(), 3000))
		}
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: decode %s: %v", handler, b, err)
		}
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// TestLambdaRuntimeLifecycle builds cmd/keyrot-lambda as Lambda runs it
// and runs its coordinator, worker and reporter under the AWS Lambda
// Runtime Interface Emulator, invoked over the emulator's HTTP endpoint
// with the events the state machine sends, across days 90, 100 and 110 of
// the keys' life on the sandbox clock (a cold start each day); beside it
// the CLI runs on an identical organization. Each day ends in the same
// state with the same notices. The functions keep their history in the
// sandbox's DynamoDB (KEYROT_TABLE), as deployed.
func TestLambdaRuntimeLifecycle(t *testing.T) {
	rieBin := rieBinary(t)
	withCLI := startOrg(t, fanScenario, fanPolicy)
	withLambda := startOrg(t, strings.Replace(fanScenario, "    root: {mfa: true}\n", "    root: {mfa: true}\n"+dynamoTable, 1), fanPolicy)
	withLambda.table = "keyrot-history"
	fns := &rieFunctions{rieBin: rieBin, bootstrap: bootstrap(t), o: withLambda, timeout: 300 * time.Second, running: map[string]*rie{}}
	compareLifecycle(t, withCLI, withLambda, fns.invoker(t), fns.coldStart)
}

// TestLambdaRuntimeRefusesShortTimeout: a worker whose time limit cannot
// fit one account says so as a function error (the state machine fails the
// batch) instead of returning "resume" for ever.
func TestLambdaRuntimeRefusesShortTimeout(t *testing.T) {
	rieBin := rieBinary(t)
	o := startOrg(t, fanScenario, fanPolicy)
	r := startRIE(t, rieBin, bootstrap(t), 60*time.Second, o.processEnv("worker"))
	defer r.stop()
	event := `{"run":{"execution":"x","mode":"enforce","max_changes":25},"batch":{"index":0,"accounts":[{"id":"222233334444","status":""}],"budget":2}}`
	_, err := r.invoke([]byte(event))
	if err == nil || !strings.Contains(err.Error(), "time limit is too short") {
		t.Fatalf("invoke: %v, want the time limit refused\n%s", err, r.log.String())
	}
}
