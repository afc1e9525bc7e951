//go:build unix

package deploy

import (
	"os"
	"syscall"
)

// statOwner returns the UID owning fi.
func statOwner(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
