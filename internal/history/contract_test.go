package history_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/history/storetest"
)

// TestStoreContract runs the history store contract (storetest.Cases) on
// the SQLite store; internal/history/dynamostore runs the same cases on
// DynamoDB.
func TestStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, err := history.Open(context.Background(), filepath.Join(t.TempDir(), "history.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}, nil)
}
