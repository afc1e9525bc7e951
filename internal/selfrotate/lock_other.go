//go:build !unix

package selfrotate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// lock creates path exclusively: ErrBusy when it exists. Without flock a
// run that dies leaves the file behind; the error names it so that a
// person can remove it once no rotate --self runs.
func lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w (%s exists: remove it if no rotate --self is running)", ErrBusy, path)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f.Close()
	return func() { os.Remove(path) }, nil
}
