package policy

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

//go:embed default.yaml
var defaultYAML []byte

// Init returns the commented default keyrot.yaml. It parses to exactly Default().
func Init() []byte { return append([]byte(nil), defaultYAML...) }

// ErrExists is returned by WriteInit when the file exists and force is false.
var ErrExists = errors.New("file exists")

// WriteInit writes the commented default keyrot.yaml to path. It refuses to
// replace an existing file unless force is true.
func WriteInit(path string, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("write %s: %w (use --force to replace it)", path, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("write default policy: %w", err)
	}
	if _, err := f.Write(defaultYAML); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
