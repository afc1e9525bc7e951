// Package ssmparam delivers access keys to an AWS Systems Manager Parameter
// Store SecureString parameter.
//
// A reference ssm:ACCOUNT/REGION/NAME writes the parameter NAME (or
// /PATH/.../NAME) in that account and region. Its value is the JSON
// document keyrot stores in Secrets Manager (docs/secret-format.md:
// AccessKeyId, SecretAccessKey, UserName, AccountId, CreateDate, Version),
// so a consumer reads either store the same way. The parameter is a
// SecureString encrypted with the configured KMS key, or the account's
// aws/ssm key. Writing the key the parameter already holds changes
// nothing: no new parameter version.
package ssmparam

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/secretstore"
)

// API is the part of the SSM client a parameter destination uses.
type API interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, opts ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
}

var _ API = (*ssm.Client)(nil)

// MaxAttempts bounds the writes Write tries when another writer creates
// or changes the parameter in between (ParameterAlreadyExists,
// TooManyUpdates).
const MaxAttempts = 3

// Destination is one SecureString parameter.
type Destination struct {
	ref    deliver.Ref
	api    API
	kmsKey string
}

var _ deliver.Destination = (*Destination)(nil)

// New returns the destination ref (an ssm reference) written through api,
// a client for the reference's account and region. kmsKeyID is the KMS key
// new values are encrypted with ("" for aws/ssm).
func New(ref deliver.Ref, api API, kmsKeyID string) (*Destination, error) {
	if ref.Kind != deliver.KindSSM {
		return nil, fmt.Errorf("ssm destination: %s is not an ssm reference", ref)
	}
	return &Destination{ref: ref, api: api, kmsKey: kmsKeyID}, nil
}

// Ref returns the destination's reference.
func (d *Destination) Ref() deliver.Ref { return d.ref }

func (d *Destination) fail(op string, err error) error {
	return &deliver.Error{Ref: d.ref, Op: op, Err: deliver.AWSError(err, false)}
}

// read returns the parameter's decrypted value; found is false when the
// parameter does not exist.
func (d *Destination) read(ctx context.Context) (value string, found bool, err error) {
	out, err := d.api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(d.ref.Parameter), WithDecryption: aws.Bool(true)})
	var nf *types.ParameterNotFound
	if errors.As(err, &nf) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if out.Parameter == nil {
		return "", false, errors.New("GetParameter answered without the parameter")
	}
	return aws.ToString(out.Parameter.Value), true, nil
}

// Check reads the parameter with decryption (ssm:GetParameter, and
// kms:Decrypt on its key): a parameter keyrot may not read, or whose KMS
// key is disabled, fails; one that does not exist yet passes (Write
// creates it). Whether ssm:PutParameter and kms:Encrypt are allowed cannot
// be known without writing.
func (d *Destination) Check(ctx context.Context) error {
	v, found, err := d.read(ctx)
	if err != nil {
		return d.fail("check", err)
	}
	if found {
		if _, err := secretstore.ParseValue(v); err != nil {
			return &deliver.Error{Ref: d.ref, Op: "check", Err: errNotKeyrot}
		}
	}
	return nil
}

// errNotKeyrot refuses a parameter keyrot did not write.
var errNotKeyrot = errors.New("the parameter holds something other than a keyrot access key document; keyrot does not overwrite it (delete it, or name another parameter)")

// Current returns the access key ID of the document the parameter holds,
// "" when there is no parameter.
func (d *Destination) Current(ctx context.Context) (string, error) {
	v, found, err := d.read(ctx)
	if err != nil {
		return "", d.fail("read current key", err)
	}
	if !found {
		return "", nil
	}
	val, err := secretstore.ParseValue(v)
	if err != nil {
		return "", &deliver.Error{Ref: d.ref, Op: "read current key", Err: errNotKeyrot}
	}
	return val.AccessKeyID, nil
}

// Write reads the parameter and, unless it already holds key, puts the
// key's document as a new SecureString version (creating the parameter
// when there is none). A parameter that holds anything but a keyrot
// document is left alone.
func (d *Destination) Write(ctx context.Context, key deliver.Key) error {
	if err := deliver.CheckKey(key); err != nil {
		return &deliver.Error{Ref: d.ref, Op: "write", Err: err}
	}
	doc, err := key.Encode()
	if err != nil {
		return &deliver.Error{Ref: d.ref, Op: "write", Err: err}
	}
	for attempt := 1; ; attempt++ {
		cur, found, err := d.read(ctx)
		if err != nil {
			return d.fail("write", err)
		}
		if found {
			v, err := secretstore.ParseValue(cur)
			if err != nil {
				return &deliver.Error{Ref: d.ref, Op: "write", Err: errNotKeyrot}
			}
			if v.AccessKeyID == key.AccessKeyID && v.SecretAccessKey.Reveal() == key.SecretAccessKey.Reveal() {
				return nil
			}
		}
		in := &ssm.PutParameterInput{
			Name: aws.String(d.ref.Parameter), Value: aws.String(doc), Type: types.ParameterTypeSecureString,
			Overwrite:   aws.Bool(found),
			Description: aws.String(fmt.Sprintf("keyrot: access key of IAM user %s in account %s", key.UserName, key.AccountID)),
		}
		if d.kmsKey != "" {
			in.KeyId = aws.String(d.kmsKey)
		}
		_, err = d.api.PutParameter(ctx, in)
		if err == nil {
			return nil
		}
		var ae smithy.APIError
		retry := errors.As(err, &ae) && (ae.ErrorCode() == "ParameterAlreadyExists" || ae.ErrorCode() == "TooManyUpdates")
		if !retry {
			// A refusal's message is repeated only when it cannot quote
			// the value sent.
			withhold := ae == nil || !safeMessage[ae.ErrorCode()]
			return &deliver.Error{Ref: d.ref, Op: "write", Err: deliver.AWSError(err, withhold)}
		}
		if attempt >= MaxAttempts {
			return &deliver.Error{Ref: d.ref, Op: "write", Err: fmt.Errorf("%w: the parameter changed under each of %d writes (%s)", deliver.ErrConflict, MaxAttempts, ae.ErrorCode())}
		}
		pause := time.Duration(0) // ParameterAlreadyExists: overwrite at once
		if ae.ErrorCode() == "TooManyUpdates" {
			pause = time.Duration(attempt) * updatePause
		}
		select {
		case <-ctx.Done():
			return &deliver.Error{Ref: d.ref, Op: "write", Err: ctx.Err()}
		case <-time.After(pause):
		}
	}
}

// updatePause grows the pause before a write retried after
// TooManyUpdates (Parameter Store's refusal of concurrent updates of one
// parameter): attempt times this.
const updatePause = 250 * time.Millisecond

// safeMessage lists the PutParameter error codes whose messages quote
// nothing of the value.
var safeMessage = map[string]bool{
	"AccessDeniedException": true, "InvalidKeyId": true, "ParameterLimitExceeded": true, "ParameterMaxVersionLimitExceeded": true,
	"HierarchyLevelLimitExceededException": true, "HierarchyTypeMismatchException": true, "ThrottlingException": true,
	"InternalServerError": true,
}
