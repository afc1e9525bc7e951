// Package mototest runs moto, an independent AWS emulator (python3 -m
// moto.server), on a loopback port for tests, so keyrot is checked against
// an AWS that nobody here wrote. A test skips when moto is not installed,
// unless KEYROT_REQUIRE_MOTO=1 (set by CI), where it fails instead.
package mototest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Start runs moto's server for the test's lifetime and returns its URL.
func Start(t testing.TB) string {
	t.Helper()
	return StartWithEnv(t)
}

// StartWithEnv is Start with extra environment variables (NAME=value) for
// moto's server, such as INITIAL_NO_AUTH_ACTION_COUNT=5, which makes moto
// authorize every request after the first five by the caller's IAM policies.
func StartWithEnv(t testing.TB, env ...string) string {
	t.Helper()
	return start(t, []string{"-m", "moto.server", "-H", "127.0.0.1", "-p"}, env)
}

// start runs python3 with args and a free loopback port as the last
// argument, and waits for moto to answer there.
func start(t testing.TB, args, env []string) string {
	t.Helper()
	if err := exec.Command("python3", "-c", "import moto.server").Run(); err != nil {
		if os.Getenv("KEYROT_REQUIRE_MOTO") == "1" {
			t.Fatalf("moto is required (KEYROT_REQUIRE_MOTO=1) but python3 -c 'import moto.server' failed: %v", err)
		}
		t.Skipf("moto is not installed (python3 -c 'import moto.server': %v)", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("python3", append(args, fmt.Sprint(port))...)
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto did not answer on %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serialServer is moto's server answering one request at a time: moto's
// own server (python3 -m moto.server) answers each request on a thread of
// its own, and its backends hold no lock across the check and the write of
// a conditional DynamoDB write (Table.put_item evaluates the condition on
// the current item, then stores the new one), so two racing conditional
// writes can both succeed, and an ADD can hand out one number twice.
// DynamoDB's conditional writes are atomic; served one at a time, moto's
// are too.
const serialServer = `
import sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
run_simple(sys.argv[1], int(sys.argv[2]), DomainDispatcherApplication(create_backend_app), threaded=False)
`

// StartSerial is Start with moto answering one request at a time
// (serialServer), for tests that race conditional DynamoDB writes.
func StartSerial(t testing.TB) string {
	t.Helper()
	return start(t, []string{"-c", serialServer, "127.0.0.1"}, nil)
}

// Credentials moto accepts (it checks no signatures).
const (
	AccessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	SecretAccessKey = "moto-secret"
)

// Config returns an aws.Config for moto at url.
func Config(url string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint: aws.String(url),
		Retryer:      func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 2) },
	}
}
