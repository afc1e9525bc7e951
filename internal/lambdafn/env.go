package lambdafn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/buildinfo"
	"github.com/keyrot/keyrot/internal/config"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/history/dynamostore"
	"github.com/keyrot/keyrot/internal/permissions"
	"github.com/keyrot/keyrot/internal/sandbox/sandboxclient"
)

// Env is the function's configuration, from its environment variables.
type Env struct {
	// Handler (KEYROT_HANDLER) is coordinator, worker, reporter or events.
	Handler string
	// ConfigParameter (KEYROT_CONFIG_PARAMETER) names the SSM String
	// parameter holding keyrot.yaml; ConfigFile (KEYROT_CONFIG_FILE) is a
	// keyrot.yaml on disk instead (one shipped in the function's package).
	// Neither: the built-in defaults.
	ConfigParameter, ConfigFile string
	// Table (KEYROT_TABLE) is the DynamoDB table of the shared history;
	// HistoryDB (KEYROT_HISTORY_DB) a SQLite file instead, for a single
	// host (and the tests).
	Table, HistoryDB string
	// Mode (KEYROT_MODE) is audit or rotate.
	Mode string
	// MemberRole (KEYROT_MEMBER_ROLE) is the role assumed in member
	// accounts; ExternalIDParameter (KEYROT_EXTERNAL_ID_PARAMETER) the SSM
	// parameter holding its external ID.
	MemberRole, ExternalIDParameter string
	// Deployment (KEYROT_DEPLOYMENT) is the deployment's name, which its
	// functions' and roles' names start with: the events handler tells the
	// worker's own calls in the central account, made with the worker's
	// execution role <Deployment>-worker, from calls made outside keyrot.
	Deployment string
	// Clock (KEYROT_CLOCK) is "system" (the default) or "sandbox": the
	// sandbox's simulated time, read from its control API at
	// AWS_ENDPOINT_URL, as keyrot --clock sandbox does.
	Clock string
}

// EnvFrom reads Env with getenv (os.Getenv).
func EnvFrom(getenv func(string) string) Env {
	return Env{
		Handler:             getenv("KEYROT_HANDLER"),
		ConfigParameter:     getenv("KEYROT_CONFIG_PARAMETER"),
		ConfigFile:          getenv("KEYROT_CONFIG_FILE"),
		Table:               getenv("KEYROT_TABLE"),
		HistoryDB:           getenv("KEYROT_HISTORY_DB"),
		Mode:                getenv("KEYROT_MODE"),
		MemberRole:          getenv("KEYROT_MEMBER_ROLE"),
		ExternalIDParameter: getenv("KEYROT_EXTERNAL_ID_PARAMETER"),
		Deployment:          getenv("KEYROT_DEPLOYMENT"),
		Clock:               getenv("KEYROT_CLOCK"),
	}
}

// Check returns every problem with the environment.
func (e Env) Check() error {
	var errs []error
	switch e.Handler {
	case HandlerCoordinator, HandlerWorker, HandlerReporter, HandlerEvents:
	default:
		errs = append(errs, fmt.Errorf("KEYROT_HANDLER must be coordinator, worker, reporter or events (got %q)", e.Handler))
	}
	switch e.Mode {
	case ModeAudit, ModeRotate:
	default:
		errs = append(errs, fmt.Errorf("KEYROT_MODE must be audit or rotate (got %q)", e.Mode))
	}
	if e.ConfigParameter != "" && e.ConfigFile != "" {
		errs = append(errs, errors.New("set KEYROT_CONFIG_PARAMETER or KEYROT_CONFIG_FILE, not both"))
	}
	if (e.Table == "") == (e.HistoryDB == "") {
		errs = append(errs, errors.New("set exactly one of KEYROT_TABLE (DynamoDB) and KEYROT_HISTORY_DB (SQLite)"))
	}
	switch e.Clock {
	case "", "system", "sandbox":
	default:
		errs = append(errs, fmt.Errorf("KEYROT_CLOCK must be system or sandbox (got %q)", e.Clock))
	}
	return errors.Join(errs...)
}

// ssmAPI is what Load needs of SSM.
type ssmAPI interface {
	GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

var _ ssmAPI = (*ssm.Client)(nil)

// Load builds the handlers' Functions at cold start: the configuration
// (from SSM or a file), the external ID, the history store and the clock.
// The returned close function closes the store.
func Load(ctx context.Context, env Env, cfg aws.Config, log *slog.Logger) (*Functions, func() error, error) {
	if err := env.Check(); err != nil {
		return nil, nil, err
	}
	sc := ssm.NewFromConfig(cfg)
	c, err := loadConfig(ctx, env, sc)
	if err != nil {
		return nil, nil, err
	}
	scope := app.Scope{RoleName: env.MemberRole}
	if env.ExternalIDParameter != "" {
		if scope.ExternalID, err = parameter(ctx, sc, env.ExternalIDParameter); err != nil {
			return nil, nil, err
		}
	}
	ownRole := ""
	if env.Handler == HandlerEvents && env.Deployment != "" {
		if ownRole, err = workerRoleARN(ctx, sts.NewFromConfig(cfg), env.Deployment); err != nil {
			return nil, nil, err
		}
	}
	now := time.Now
	if env.Clock == "sandbox" {
		if now, err = sandboxClock(ctx, cfg); err != nil {
			return nil, nil, err
		}
	}
	store, closeStore, err := OpenStore(ctx, env, cfg)
	if err != nil {
		return nil, nil, err
	}
	host := os.Getenv("AWS_LAMBDA_LOG_STREAM_NAME")
	if host == "" {
		host, _ = os.Hostname()
	}
	a := &app.App{Policy: c.Policy, Notify: c.Notify, AWS: cfg, History: store, Logger: log, Now: now, Host: host,
		Version: buildinfo.Get().Version, Retention: time.Duration(c.History.Retention), ActionTimeout: ActionTimeout}
	return &Functions{App: a, Mode: env.Mode, Scope: scope, OwnRoleARN: ownRole, Margin: ActionTimeout + closeMargin, MinAccountTime: minAccountTime, Logger: log}, closeStore, nil
}

// stsAPI is what workerRoleARN needs of STS.
type stsAPI interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

var _ stsAPI = (*sts.Client)(nil)

// workerRoleARN is the ARN of the deployment's worker execution role in
// the account the function runs in (its caller identity's; the call needs
// no permission).
func workerRoleARN(ctx context.Context, c stsAPI, deployment string) (string, error) {
	out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("read the function's own identity: %w", err)
	}
	partition := "aws"
	if parts := strings.SplitN(aws.ToString(out.Arn), ":", 3); len(parts) == 3 && parts[1] != "" {
		partition = parts[1]
	}
	d := permissions.Deployment{Partition: partition, AccountID: aws.ToString(out.Account), Name: deployment}
	return d.RoleARN(permissions.HandlerWorker), nil
}

// ActionTimeout bounds one action in the Lambda functions (execute's
// default is 5 minutes): with the 15-minute Lambda limit, a worker still
// gets most of its time for accounts.
const ActionTimeout = 2 * time.Minute

// closeMargin is the time kept for the writes that close an account's run
// and for returning the worker's state; minAccountTime the least time worth
// starting an account with.
const (
	closeMargin    = 30 * time.Second
	minAccountTime = 15 * time.Second
)

// OpenStore opens the history store the environment names: KEYROT_TABLE a
// DynamoDB table, KEYROT_HISTORY_DB a SQLite file. It is the one place
// that choice is made.
func OpenStore(ctx context.Context, env Env, cfg aws.Config) (app.Store, func() error, error) {
	if env.Table != "" {
		return dynamostore.New(dynamodb.NewFromConfig(cfg), env.Table), func() error { return nil }, nil
	}
	st, err := history.Open(ctx, env.HistoryDB)
	if err != nil {
		return nil, nil, err
	}
	return st, st.Close, nil
}

// loadConfig reads keyrot.yaml from SSM, from a file, or the defaults.
func loadConfig(ctx context.Context, env Env, sc ssmAPI) (*config.Config, error) {
	switch {
	case env.ConfigParameter != "":
		text, err := parameter(ctx, sc, env.ConfigParameter)
		if err != nil {
			return nil, err
		}
		c, err := config.Parse([]byte(text), "ssm:"+env.ConfigParameter)
		if err != nil {
			return nil, fmt.Errorf("configuration in SSM parameter %s: %w", env.ConfigParameter, err)
		}
		return c, nil
	case env.ConfigFile != "":
		return config.Load(env.ConfigFile)
	}
	return config.Default(), nil
}

// parameter reads an SSM parameter's value (decrypted, for a SecureString
// external ID).
func parameter(ctx context.Context, sc ssmAPI, name string) (string, error) {
	out, err := sc.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("read SSM parameter %s: %w", name, err)
	}
	if out.Parameter == nil {
		return "", fmt.Errorf("read SSM parameter %s: no parameter in the answer", name)
	}
	return strings.TrimSpace(aws.ToString(out.Parameter.Value)), nil
}

// sandboxClock returns the sandbox's simulated clock, read once from its
// control API at the configured endpoint and then kept running.
func sandboxClock(ctx context.Context, cfg aws.Config) (func() time.Time, error) {
	ep := aws.ToString(cfg.BaseEndpoint)
	if ep == "" {
		ep = os.Getenv("AWS_ENDPOINT_URL")
	}
	if ep == "" {
		return nil, errors.New("KEYROT_CLOCK=sandbox needs the sandbox's endpoint in AWS_ENDPOINT_URL")
	}
	st, err := sandboxclient.New(ep).Clock(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the sandbox clock at %s: %w", ep, err)
	}
	offset := time.Until(st.Now)
	return func() time.Time { return time.Now().Add(offset) }, nil
}

// Throttled is the error a handler returns when AWS or the history store
// throttled it: its type name, keyrot.Throttled, is what the state
// machine's Retry matches.
const Throttled = "keyrot.Throttled"

// throttleCodes are the AWS error codes that mean "slow down".
var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "ProvisionedThroughputExceededException": true, "RequestLimitExceeded": true,
	"SlowDown": true,
}

// IsThrottle reports whether err is AWS throttling.
func IsThrottle(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && throttleCodes[ae.ErrorCode()]
}

// Handler returns the handler KEYROT_HANDLER names, taking and returning
// the state machine's JSON.
func (f *Functions) Handler(name string) (func(context.Context, json.RawMessage) (any, error), error) {
	switch name {
	case HandlerCoordinator:
		return handle(f.Coordinate), nil
	case HandlerWorker:
		return handle(f.Work), nil
	case HandlerReporter:
		return handle(f.Report), nil
	case HandlerEvents:
		return handle(f.Detect), nil
	}
	return nil, fmt.Errorf("no handler %q", name)
}

// handle decodes the event into In and calls fn; AWS throttling is
// returned as a keyrot.Throttled error, which the state machine retries.
func handle[In, Out any](fn func(context.Context, In) (Out, error)) func(context.Context, json.RawMessage) (any, error) {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var in In
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, fmt.Errorf("decode the event: %w", err)
		}
		out, err := fn(ctx, in)
		if IsThrottle(err) {
			return nil, messages.InvokeResponse_Error{Type: Throttled, Message: err.Error()}
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}
