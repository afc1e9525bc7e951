package notify

import (
	"context"
	"sync"
	"time"

	"github.com/keyrot/keyrot/internal/history"
)

// History remembers sent notices so that a notice is not sent twice within
// the dedupe window, across runs and restarts. *history.Store implements it.
type History interface {
	LastNotice(ctx context.Context, recipient, account, user, keyID, kind string) (history.Notice, bool, error)
	RecordNotice(ctx context.Context, n history.Notice) (int64, error)
}

var _ History = (*history.Store)(nil)

// MemoryHistory is a History kept in memory, for tests and one-shot runs.
type MemoryHistory struct {
	mu      sync.Mutex
	notices []history.Notice
}

// LastNotice returns the most recently sent matching notice.
func (m *MemoryHistory) LastNotice(_ context.Context, recipient, account, user, keyID, kind string) (history.Notice, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var last history.Notice
	found := false
	for _, n := range m.notices {
		if n.Recipient == recipient && n.Account == account && n.User == user && n.KeyID == keyID && n.Kind == kind {
			if !found || !n.SentAt.Before(last.SentAt) {
				last, found = n, true
			}
		}
	}
	return last, found, nil
}

// RecordNotice records a sent notice.
func (m *MemoryHistory) RecordNotice(_ context.Context, n history.Notice) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n.SentAt.IsZero() {
		n.SentAt = time.Now()
	}
	n.ID = int64(len(m.notices) + 1)
	m.notices = append(m.notices, n)
	return n.ID, nil
}

// Notices returns a copy of the recorded notices.
func (m *MemoryHistory) Notices() []history.Notice {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]history.Notice(nil), m.notices...)
}
