package cli

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// TestAuditUnreachableEndpoint: `keyrot audit --endpoint-url` aimed at an
// endpoint that never answers, or at a closed port, exits 1 within about
// 15 s with one sentence naming the endpoint and what to check (a silent
// endpoint used to hang the run until it was killed; a closed port took
// over a minute of silent retries).
func TestAuditUnreachableEndpoint(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
	t.Chdir(t.TempDir())

	silent, _ := sandboxtest.SilentEndpoint(t)
	closed := sandboxtest.RefusedEndpoint(t)

	tests := []struct{ name, endpoint, want string }{
		{"silent", "http://" + silent, "no answer from http://" + silent + " within 10s"},
		{"refused", "http://" + closed, "connection refused by http://" + closed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out, errb strings.Builder
			start := time.Now()
			code := Main(ctx, []string{"audit", "--endpoint-url", tt.endpoint, "--progress", "none"}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
			took := time.Since(start)
			if ctx.Err() != nil {
				t.Fatalf("keyrot audit hung; stderr %q", errb.String())
			}
			if took > awsconf.DefaultUnreachableBudget+3*time.Second {
				t.Errorf("took %s", took)
			}
			if code != ExitError {
				t.Errorf("exit %d, want %d", code, ExitError)
			}
			want := `^keyrot: collect inventory: get caller identity: STS GetCallerIdentity: ` + regexp.QuoteMeta(tt.want) +
				` .*\(is the endpoint right and the service up\? see --endpoint-url / AWS_ENDPOINT_URL\)\n$`
			if !regexp.MustCompile(want).MatchString(errb.String()) {
				t.Errorf("stderr %q, want it to match %s", errb.String(), want)
			}
			if out.Len() > 0 {
				t.Errorf("stdout %q", out.String())
			}
		})
	}
}
