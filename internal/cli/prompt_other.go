//go:build !linux

package cli

import "io"

// discardPendingInput is a no-op where keyrot cannot flush a terminal's
// input queue portably.
func discardPendingInput(io.Reader) {}
