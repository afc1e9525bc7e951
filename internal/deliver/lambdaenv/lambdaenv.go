// Package lambdaenv delivers access keys to a Lambda function's
// environment variables.
//
// A reference lambda:ACCOUNT/REGION/FUNCTION[/NAME] writes the access key
// ID to the variable NAME (KEYROT_ACCESS_KEY_ID by default) and the secret
// to the same name ending in SECRET_ACCESS_KEY. Lambda replaces a
// function's whole environment on each update, so Write reads the
// configuration, changes the two variables, keeps every other one, and
// writes it back guarded by the RevisionId it read: when another writer
// changed the function in between, Lambda refuses the update
// (PreconditionFailedException) and Write reads again and retries, a
// bounded number of times.
package lambdaenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/deliver"
)

// API is the part of the Lambda client an environment destination uses.
type API interface {
	GetFunctionConfiguration(ctx context.Context, in *lambda.GetFunctionConfigurationInput, opts ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error)
	UpdateFunctionConfiguration(ctx context.Context, in *lambda.UpdateFunctionConfigurationInput, opts ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error)
}

var _ API = (*lambda.Client)(nil)

// MaxAttempts bounds the read-modify-write rounds of Write when the
// function changes in between (PreconditionFailedException) or an update
// is still in progress (ResourceConflictException).
const MaxAttempts = 5

// MaxEnvironment is Lambda's limit on a function's environment variables,
// 4 KB. Write checks it itself: Lambda's error for a larger environment
// quotes every variable, secrets included.
const MaxEnvironment = 4096

// Destination is one function's environment.
type Destination struct {
	ref deliver.Ref
	api API
	// Backoff is the pause before retry n (1, 2, ...); a growing pause
	// by default.
	Backoff func(n int) time.Duration
}

var _ deliver.Destination = (*Destination)(nil)

// New returns the destination ref (a lambda reference) written through
// api, a client for the reference's account and region.
func New(ref deliver.Ref, api API) (*Destination, error) {
	if ref.Kind != deliver.KindLambda {
		return nil, fmt.Errorf("lambda destination: %s is not a lambda reference", ref)
	}
	return &Destination{ref: ref, api: api, Backoff: func(n int) time.Duration { return time.Duration(n) * 250 * time.Millisecond }}, nil
}

// Ref returns the destination's reference.
func (d *Destination) Ref() deliver.Ref { return d.ref }

func (d *Destination) fail(op string, err error, withhold bool) error {
	return &deliver.Error{Ref: d.ref, Op: op, Err: deliver.AWSError(err, withhold, "ResourceNotFoundException")}
}

// config reads the function's configuration and its variables. A function
// whose environment Lambda cannot decrypt (its KMS key disabled or not
// usable) is an error: its variables are unknown, and writing would lose
// them.
func (d *Destination) config(ctx context.Context, op string) (map[string]string, *lambda.GetFunctionConfigurationOutput, error) {
	out, err := d.api.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(d.ref.Function)})
	if err != nil {
		return nil, nil, d.fail(op, err, false)
	}
	vars := map[string]string{}
	if out.Environment != nil {
		if e := out.Environment.Error; e != nil {
			return nil, nil, &deliver.Error{Ref: d.ref, Op: op, Err: fmt.Errorf("the function's environment cannot be decrypted (%s); keyrot does not write it, which would lose its other variables", aws.ToString(e.ErrorCode))}
		}
		for k, v := range out.Environment.Variables {
			vars[k] = v
		}
	}
	return vars, out, nil
}

// Check reads the function's configuration
// (lambda:GetFunctionConfiguration): a function that does not exist, or
// that keyrot may not read, fails. Whether lambda:UpdateFunctionConfiguration
// is allowed cannot be known without writing.
func (d *Destination) Check(ctx context.Context) error {
	_, _, err := d.config(ctx, "check")
	return err
}

// Current returns the access key ID variable, "" when it is not set.
func (d *Destination) Current(ctx context.Context) (string, error) {
	vars, _, err := d.config(ctx, "read current key")
	if err != nil {
		return "", err
	}
	return vars[d.ref.LambdaVar()], nil
}

// Write sets the two variables, keeping the others, unless they already
// hold key. Each round reads the configuration and updates it with the
// RevisionId read; a stale revision or an update in progress starts a new
// round, up to MaxAttempts.
func (d *Destination) Write(ctx context.Context, key deliver.Key) error {
	if err := deliver.CheckKey(key); err != nil {
		return &deliver.Error{Ref: d.ref, Op: "write", Err: err}
	}
	idVar, secVar := d.ref.LambdaVar(), d.ref.LambdaSecretVar()
	var last string
	for attempt := 1; attempt <= MaxAttempts; attempt++ {
		vars, cfg, err := d.config(ctx, "write")
		if err != nil {
			return err
		}
		if vars[idVar] == key.AccessKeyID && vars[secVar] == key.SecretAccessKey.Reveal() {
			return nil
		}
		vars[idVar], vars[secVar] = key.AccessKeyID, key.SecretAccessKey.Reveal()
		if b, _ := json.Marshal(vars); len(b) > MaxEnvironment {
			return &deliver.Error{Ref: d.ref, Op: "write", Err: fmt.Errorf("the function's environment variables would take %d bytes, over Lambda's 4 KB", len(b))}
		}
		_, err = d.api.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String(d.ref.Function),
			Environment:  &types.Environment{Variables: vars},
			RevisionId:   cfg.RevisionId,
		})
		if err == nil {
			return nil
		}
		var ae smithy.APIError
		if !errors.As(err, &ae) || (ae.ErrorCode() != "PreconditionFailedException" && ae.ErrorCode() != "ResourceConflictException") {
			// The message of a refused update may quote the variables.
			return d.fail("write", err, !errors.As(err, &ae) || !safeMessage[ae.ErrorCode()])
		}
		last = ae.ErrorCode()
		if attempt == MaxAttempts {
			break
		}
		select {
		case <-ctx.Done():
			return &deliver.Error{Ref: d.ref, Op: "write", Err: ctx.Err()}
		case <-time.After(d.Backoff(attempt)):
		}
	}
	return &deliver.Error{Ref: d.ref, Op: "write", Err: fmt.Errorf("%w: the function changed under each of %d updates (%s)", deliver.ErrConflict, MaxAttempts, last)}
}

// safeMessage lists the error codes of UpdateFunctionConfiguration whose
// messages quote nothing that was sent.
var safeMessage = map[string]bool{
	"AccessDeniedException": true, "ResourceNotFoundException": true, "TooManyRequestsException": true,
	"ServiceException": true, "KMSAccessDeniedException": true,
}
