package cli

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyrot/keyrot/internal/kubetest"
)

// testdataAbs is this package's testdata directory, fixed before tests chdir.
var testdataAbs string

// asKeyrot, set in a child's environment, makes the test binary run as
// keyrot itself: shell tests (the README's commands, sandbox --detach) put
// it on PATH as "keyrot" and it re-executes itself like the real binary.
const asKeyrot = "KEYROT_TEST_BINARY_IS_KEYROT"

func TestMain(m *testing.M) {
	if os.Getenv(asKeyrot) == "1" {
		os.Exit(Main(context.Background(), os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
	}
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	testdataAbs = filepath.Join(wd, "testdata")
	// Audits are recorded in the history: tests that name no --state-dir
	// record theirs in a directory of their own, never the user's.
	if os.Getenv("KEYROT_STATE_DIR") == "" {
		dir, err := os.MkdirTemp("", "keyrot-cli-test-state-")
		if err != nil {
			panic(err)
		}
		os.Setenv("KEYROT_STATE_DIR", dir)
		code := m.Run()
		kubetest.Stop()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	code := m.Run()
	kubetest.Stop()
	os.Exit(code)
}
