package execute

import (
	"testing"

	"github.com/keyrot/keyrot/internal/plan"
	"github.com/keyrot/keyrot/internal/sandbox"
)

// TestApplyWorksUsersOfAnAccountAtOnce: an account with many due users is
// not worked one by one: up to UserConcurrency users are rotated at once
// (never more), each user's actions keep their plan order, every due key
// is rotated and safe, and the outcomes come back in plan order. With
// UserConcurrency 1, one call at a time.
func TestApplyWorksUsersOfAnAccountAtOnce(t *testing.T) {
	users := []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"}
	for _, tc := range []struct {
		name    string
		conc    int
		wantMin int
		wantMax int
	}{
		{"four users at once", 4, 2, 4},
		{"one user at a time", 1, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, users...)
			// Calls take long enough that users worked at once overlap.
			if _, err := w.env.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultLatency, Latency: "20ms"}); err != nil {
				t.Fatal(err)
			}
			w.advance(91 * day)
			for _, u := range users {
				if err := w.use(u); err != nil {
					t.Fatal(err)
				}
			}
			ex := w.executor(w.hist, "concurrency")
			ex.UserConcurrency = tc.conc
			w.calls.resetInFlight()
			p, res, err := w.cycle(ex, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := w.calls.mostInFlight(); got < tc.wantMin || got > tc.wantMax {
				t.Errorf("at most %d calls at once, want between %d and %d", got, tc.wantMin, tc.wantMax)
			}
			if len(res.Outcomes) != len(p.Actions) {
				t.Fatalf("%d outcomes for %d actions", len(res.Outcomes), len(p.Actions))
			}
			rotated := map[string]bool{}
			for i, o := range res.Outcomes {
				if a := p.Actions[i]; o.ActionID != a.ID || o.User != a.User {
					t.Errorf("outcome %d is %s of %s, want plan order (%s of %s)", i, o.ActionID, o.User, a.ID, a.User)
				}
				if o.Kind == plan.CreateKey && o.Status == Succeeded {
					rotated[o.User] = true
				}
			}
			for _, u := range users {
				if !rotated[u] {
					t.Errorf("%s: no new key", u)
				}
				if err := w.checkSafe(u); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
