package cli

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// TestServeStartProblems: each problem keyrot serve can meet at start stops
// it before it serves, with a message naming the file (and line) or flag,
// the field, and the fix, and the exit code of its kind.
func TestServeStartProblems(t *testing.T) {
	// AWS is out of reach: a case that got past the checks under test
	// would fail on the identity check, not hang.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", "http://"+sandboxtest.RefusedEndpoint(t))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("KEYROT_SERVE_TOKEN", "")
	t.Setenv("KEYROT_TEST_PASSWORD", "")
	t.Setenv("KEYROT_TEST_TOKEN", "a-token")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		config string // keyrot.yaml; "-" for none at the path given
		flags  []string
		// sandbox: AWS is a sandbox refusing keyrot's credentials.
		sandbox bool
		code    int
		want    []string
	}{
		{name: "unknown schedule syntax", config: "serve:\n  schedules:\n    audit:\n      cron: every hour\n", code: ExitUsage,
			want: []string{"keyrot.yaml:4: serve.schedules.audit.cron:", `cron expression "every hour"`, "write five fields", "@hourly"}},
		{name: "six fields too many", config: "serve:\n  schedules:\n    apply: {cron: \"0 0 3 * * * *\"}\n", code: ExitUsage,
			want: []string{"keyrot.yaml:3: serve.schedules.apply.cron:", "write five fields"}},
		{name: "unknown time zone", config: "serve:\n  schedules:\n    apply:\n      time_zone: Mars/Olympus\n", code: ExitUsage,
			want: []string{"keyrot.yaml:4: serve.schedules.apply.time_zone:", `"Mars/Olympus" is not known`, "IANA name"}},
		{name: "listen address in use", config: "serve:\n  listen: " + busy.Addr().String() + "\n", code: ExitError,
			want: []string{"keyrot.yaml:2: serve.listen:", "address already in use", "choose a free port"}},
		{name: "listen address not on this host", config: "serve:\n  listen: 192.0.2.1:9090\n  auth: {bearer_token_env: KEYROT_TEST_TOKEN}\n", code: ExitError,
			want: []string{"keyrot.yaml:2: serve.listen:", "cannot listen on 192.0.2.1:9090", "choose a free port on an address of this host"}},
		{name: "listen address without port", config: "serve:\n  listen: localhost\n", code: ExitUsage,
			want: []string{"keyrot.yaml:2: serve.listen:", "is not host:port", "127.0.0.1:9090"}},
		{name: "--listen in use", config: "version: 1\n", flags: []string{"--listen", busy.Addr().String()}, code: ExitError,
			want: []string{"--listen:", "address already in use"}},
		{name: "TLS files missing", config: "serve:\n  tls:\n    cert_file: /nonexistent/cert.pem\n    key_file: /nonexistent/key.pem\n", code: ExitUsage,
			want: []string{"keyrot.yaml:2: serve.tls:", "/nonexistent/cert.pem", "must be PEM files"}},
		{name: "TLS files not PEM", config: fmt.Sprintf("serve:\n  tls: {cert_file: %s, key_file: %s}\n", garbage, garbage), code: ExitUsage,
			want: []string{"keyrot.yaml:2: serve.tls:", "must be PEM files"}},
		{name: "TLS certificate without key", config: "serve:\n  tls: {cert_file: cert.pem}\n", code: ExitUsage,
			want: []string{"keyrot.yaml:2: serve.tls:", "cert_file and key_file go together"}},
		{name: "missing config file", config: "-", code: ExitUsage,
			want: []string{"keyrot.yaml does not exist", "keyrot config init"}},
		{name: "not loopback without auth", config: "serve:\n  listen: 0.0.0.0:0\n", code: ExitUsage,
			want: []string{"keyrot.yaml:2: serve.auth:", "not loopback, needs authentication", "KEYROT_SERVE_TOKEN"}},
		{name: "basic auth without its password", config: "serve:\n  auth:\n    basic: {username: prom, password_env: KEYROT_TEST_PASSWORD}\n", code: ExitUsage,
			want: []string{"keyrot.yaml:3: serve.auth.basic.password_env:", "KEYROT_TEST_PASSWORD", "is not set"}},
		{name: "token written in the file", config: "serve:\n  auth:\n    token: abc\n", code: ExitUsage,
			want: []string{"keyrot.yaml:3: serve.auth.token:", "secrets must not be written in keyrot.yaml"}},
		{name: "AWS credentials refused", config: "version: 1\n", flags: []string{"--listen", "127.0.0.1:0"}, sandbox: true, code: ExitAuth,
			want: []string{"AWS credentials: ask STS who keyrot is:", "SignatureDoesNotMatch", "check the credentials"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.sandbox {
				env := sandboxtest.Start(t, "empty")
				id, _ := env.Server.AdminCredentials()
				t.Setenv("AWS_ACCESS_KEY_ID", id)
				t.Setenv("AWS_ENDPOINT_URL", env.URL)
			}
			file := filepath.Join(t.TempDir(), "keyrot.yaml")
			if tc.config != "-" {
				if err := os.WriteFile(file, []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			args := append([]string{"serve", "-c", file, "--state-dir", t.TempDir()}, tc.flags...)
			code, _, stderr := runCLI(t, args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, `"msg":"serving"`) {
				t.Errorf("it served:\n%s", stderr)
			}
		})
	}
}
