package app

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/history"
)

// StoryLine is one entry of a user's key story.
type StoryLine struct {
	At      time.Time `json:"at"`
	RunID   int64     `json:"run_id"`
	What    string    `json:"what"`
	KeyID   string    `json:"key_id,omitempty"`
	Outcome string    `json:"outcome,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// KeyStory returns what keyrot did to a user's keys and why, in time
// order: every journaled action, every key event and every delivery to a
// destination. It reads the history
// only, never AWS.
func (r *App) KeyStory(ctx context.Context, account, user string) ([]StoryLine, error) {
	if r.History == nil {
		return nil, fmt.Errorf("no history store configured")
	}
	acts, err := r.History.ActionsFor(ctx, account, user)
	if err != nil {
		return nil, err
	}
	evs, err := r.History.KeyEvents(ctx, account, user)
	if err != nil {
		return nil, err
	}
	var story []StoryLine
	for _, a := range acts {
		key := a.KeyID
		if key == "" {
			key = a.Outcome.KeyID
		}
		story = append(story, StoryLine{At: a.Started, RunID: a.RunID, What: a.Kind, KeyID: key, Outcome: a.Outcome.Status,
			Detail: strings.TrimSpace(a.Reason + " " + a.Outcome.Error)})
	}
	for _, e := range evs {
		story = append(story, StoryLine{At: e.At, RunID: e.RunID, What: "key " + e.Event, KeyID: e.KeyID, Detail: e.SecretARN})
	}
	// Deliveries, from a store that keeps them.
	if dh, ok := r.History.(deliveryHistory); ok {
		ds, err := dh.Deliveries(ctx, account, user)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if d.Status == history.DeliveryWriting {
				continue // the write's own record follows
			}
			story = append(story, StoryLine{At: d.At, RunID: d.RunID, What: "delivery to " + d.Destination, KeyID: d.KeyID, Outcome: d.Status, Detail: d.Error})
		}
	}
	// Actions were listed first: on a tie (same second) an action comes
	// before the key events it caused.
	sort.SliceStable(story, func(i, j int) bool {
		return story[i].At.Truncate(time.Second).Before(story[j].At.Truncate(time.Second))
	})
	return story, nil
}

// deliveryHistory is the part of a history store that keeps deliveries
// (history.Store does); a store without it tells no deliveries.
type deliveryHistory interface {
	Deliveries(ctx context.Context, account, user string) ([]history.Delivery, error)
}

var _ deliveryHistory = (*history.Store)(nil)

// Runs returns the most recent runs, newest first, having first marked
// those whose process died as interrupted.
func (r *App) Runs(ctx context.Context, limit int) ([]history.Run, error) {
	if r.History == nil {
		return nil, fmt.Errorf("no history store configured")
	}
	if _, err := r.History.MarkInterrupted(ctx, r.liveness, time.Now().Add(-staleAfter), r.now()); err != nil {
		r.log().Warn("mark interrupted runs", "err", err)
	}
	return r.History.ListRuns(ctx, limit)
}
