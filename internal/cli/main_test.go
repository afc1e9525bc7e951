package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// testdataAbs is this package's testdata directory, fixed before tests chdir.
var testdataAbs string

func TestMain(m *testing.M) {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	testdataAbs = filepath.Join(wd, "testdata")
	os.Exit(m.Run())
}
