package cli

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// discardPendingInput throws away input typed on the terminal r but not
// yet read (tcflush TCIFLUSH). Anything else is left alone.
func discardPendingInput(r io.Reader) {
	if f, ok := r.(*os.File); ok && isTerminal(f) {
		_ = unix.IoctlSetInt(int(f.Fd()), unix.TCFLSH, unix.TCIFLUSH)
	}
}
