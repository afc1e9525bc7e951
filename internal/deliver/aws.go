package deliver

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
)

// AWSError turns an AWS API error of an ssm or lambda destination into an
// error that wraps ErrUnauthorized (access denied, credentials refused)
// or ErrNotFound (one of the codes in notFound), keeping AWS's code and,
// unless withhold is set, its message. withhold is for calls whose error
// messages may quote what was sent (Lambda's quotes the environment
// variables it measured): their message is never repeated. Other errors
// are returned as they are.
func AWSError(err error, withhold bool, notFound ...string) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err
	}
	code := ae.ErrorCode()
	msg := ""
	if !withhold && ae.ErrorMessage() != "" {
		msg = ": " + ae.ErrorMessage()
	}
	switch {
	case strings.HasPrefix(code, "AccessDenied"), code == "UnrecognizedClientException", code == "InvalidClientTokenId",
		strings.HasPrefix(code, "ExpiredToken"), code == "InvalidSignatureException", code == "SignatureDoesNotMatch":
		return fmt.Errorf("%w: %s%s", ErrUnauthorized, code, msg)
	}
	for _, c := range notFound {
		if code == c {
			return fmt.Errorf("%w: %s%s", ErrNotFound, code, msg)
		}
	}
	return fmt.Errorf("%s%s", code, msg)
}
