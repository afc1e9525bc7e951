package cli

import (
	"errors"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"
)

// explainConfigError turns a failure to load the AWS configuration into
// one sentence: an unknown --profile is bad input (exit 2).
func explainConfigError(g *globalOptions, err error) error {
	var pe config.SharedConfigProfileNotExistError
	if errors.As(err, &pe) {
		g.logger().Debug("load aws configuration", "err", err.Error())
		files := "~/.aws/config, ~/.aws/credentials"
		if len(pe.Filename) > 0 {
			files = strings.Join(pe.Filename, ", ")
		}
		return usageErrorf("AWS profile %q is not in the shared config files (%s); list them with aws configure list-profiles", pe.Profile, files)
	}
	return err
}

// sdkNoise is the part of an SDK error between keyrot's own context and
// AWS's answer: "operation error IAM: GetUser, https response error
// StatusCode: 404, RequestID: …, api error ".
var sdkNoise = regexp.MustCompile(`(failed to refresh cached credentials, )?operation error [^,]+, (https response error StatusCode: \d+, RequestID: [^,]*, )?(api error )?`)

// usageAPICodes are AWS answers caused by what the user typed: a user,
// role or organizational unit that does not exist.
var usageAPICodes = map[string]bool{
	"NoSuchEntity": true, "AccountNotFoundException": true, "OrganizationalUnitNotFoundException": true,
}

// parentNotFound finds the OU keyrot was listing in its own context.
var parentNotFound = regexp.MustCompile(`for parent (\S+):`)

// explainError makes an error from AWS or the SDK one clear sentence with
// its documented exit code: keyrot's own context, then AWS's error code and
// message, without the SDK's operation, status and request ID (those go to
// the debug log). Missing credentials exit 4; a user, account or OU that
// does not exist exits 2.
func explainError(g *globalOptions, err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	hasAPI := errors.As(err, &ae)
	msg := err.Error()
	if !hasAPI && isMissingCredentials(msg) {
		g.logger().Debug("aws credentials", "err", msg)
		return withCode(ExitAuth, errors.New("no AWS credentials found: set AWS_PROFILE (or --profile), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run aws sso login; with the sandbox, eval its exports"))
	}
	if !hasAPI || !sdkNoise.MatchString(msg) {
		return err
	}
	g.logger().Debug("aws call failed", "err", msg)
	short := sdkNoise.ReplaceAllString(msg, "")
	if ae.ErrorCode() == "ParentNotFoundException" {
		ou := "that ID"
		if m := parentNotFound.FindStringSubmatch(msg); m != nil {
			ou = m[1]
		}
		return usageErrorf("--ou %s: no root or organizational unit of the organization has this ID (IDs look like ou-ab12-cd34ef56 or r-ab12)", ou)
	}
	if usageAPICodes[ae.ErrorCode()] {
		return withCode(ExitUsage, errors.New(short))
	}
	if code := exitCodeFor(err); code != ExitError {
		return withCode(code, errors.New(short))
	}
	return errors.New(short)
}

// isMissingCredentials recognises the SDK's "no credentials anywhere in
// the chain" failure, which reaches keyrot as a text only.
func isMissingCredentials(msg string) bool {
	return strings.Contains(msg, "get credentials:") && (strings.Contains(msg, "no EC2 IMDS role found") ||
		strings.Contains(msg, "failed to refresh cached credentials") || strings.Contains(msg, "AnonymousCredentials"))
}

// isAPIError reports whether AWS answered err with code.
func isAPIError(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
