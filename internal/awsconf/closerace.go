package awsconf

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// closeRaceID names the middleware AddCloseRaceWorkaround adds.
const closeRaceID = "keyrot.HideRequestBodyWriteTo"

// AddCloseRaceWorkaround is an aws.Config API option that stops the SDK from
// closing, at random, the connection it is still reading a response from.
// The symptom is aws-sdk-go-v2 issue #2737 (also #1825): a 200 response
// fails with "deserialization failed ... use of closed network connection",
// mostly for responses larger than the transport's 4 KiB read buffer.
//
// The cause, seen with a traced net.Conn (the Close comes from
// net/http.(*persistConn).writeLoop): smithy-go's ClientHandler closes the
// request body as soon as http.Client.Do returns, and that can happen before
// the transport's write loop has finished with the body. After sending
// ContentLength bytes, net/http copies the rest of the body into io.Discard
// to detect a body longer than declared; smithy-go's body wrapper
// (safeWriteToReadCloser) implements io.WriterTo, and once closed its WriteTo
// returns io.EOF, which io.Copy passes on as an error. The write loop takes
// that for a failed request write and closes the connection while the
// response body is still being read from it.
//
// The SDK's own answer to #2737 is to retry "use of closed network
// connection", which works only with retries enabled and repeats a request
// the server already carried out. This option removes the cause instead: it
// hides WriteTo from the request stream, so the transport reads the body
// with Read, which returns a plain io.EOF after Close and ends io.Copy
// cleanly. Seeking (for retries and signing) is unaffected.
func AddCloseRaceWorkaround(stack *middleware.Stack) error {
	if _, ok := stack.Finalize.Get(closeRaceID); ok {
		return nil
	}
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc(closeRaceID, hideWriteTo), middleware.After)
}

// hideWriteTo replaces a request stream that implements io.WriterTo with one
// that offers only Read and Seek.
func hideWriteTo(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return next.HandleFinalize(ctx, in)
	}
	if _, ok := req.GetStream().(io.WriterTo); !ok {
		return next.HandleFinalize(ctx, in)
	}
	var stream io.Reader
	if rs, ok := req.GetStream().(io.ReadSeeker); ok {
		stream = struct{ io.ReadSeeker }{rs}
	} else {
		stream = struct{ io.Reader }{req.GetStream()}
	}
	r, err := req.SetStream(stream)
	if err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("wrap request stream: %w", err)
	}
	in.Request = r
	return next.HandleFinalize(ctx, in)
}
