package deploy

import (
	"os"
	"testing"

	"github.com/keyrot/keyrot/internal/kubetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	kubetest.Stop()
	if relDir != "" {
		os.RemoveAll(relDir)
	}
	os.Exit(code)
}
