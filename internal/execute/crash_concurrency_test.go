package execute

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/keyrot/keyrot/internal/sandbox"
)

// TestCrashWithUsersAtOnce kills keyrot while it works on several users of
// one account at once: at each crash point one user's step dies while the
// others' calls are under way. After the crash every user keeps a working
// key whose secret somebody holds, and the later runs of the lifecycle
// (no crash) converge every user to one stored, held key.
func TestCrashWithUsersAtOnce(t *testing.T) {
	users := []string{"u1", "u2", "u3", "u4"}
	overlapped := 0
	for _, at := range []int{4, 11, 18, 27} {
		t.Run(fmt.Sprintf("crash at step %d", at), func(t *testing.T) {
			w := newWorld(t, users...)
			// Calls take long enough that the users' steps overlap.
			f, err := w.env.Server.AddFault(sandbox.Fault{Kind: sandbox.FaultLatency, Latency: "10ms"})
			if err != nil {
				t.Fatal(err)
			}
			w.advance(chaosTimeline[0])
			for _, u := range users {
				if err := w.use(u); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			n, underWay := 0, -1
			crash := func(string) error {
				mu.Lock()
				defer mu.Unlock()
				n++
				if n-1 == at {
					underWay = w.calls.underWay()
					return errDie
				}
				return nil
			}
			if _, res, err := w.cycle(w.executor(w.hist, "killed"), Options{Crash: crash}); !errors.Is(err, ErrCrashed) || !res.Crashed {
				t.Fatalf("want a crash at step %d of %d, got %v", at, n, err)
			}
			if underWay > 0 {
				overlapped++
			}
			w.env.Server.ClearFaults(f.ID)
			for _, u := range users {
				if err := w.checkSafe(u); err != nil {
					t.Errorf("after the crash: %v", err)
				}
			}
			last := chaosTimeline[0]
			for _, next := range chaosTimeline[1:] {
				w.advance(next - last)
				last = next
				for _, u := range users {
					w.follow(u) // the secret may not exist yet after the crash
					if err := w.use(u); err != nil {
						t.Fatalf("%s: %s's key fails: %v", next, u, err)
					}
				}
				if _, _, err := w.cycle(w.executor(w.hist, fmt.Sprintf("run-%s", next)), Options{}); err != nil {
					t.Fatalf("%s: %v", next, err)
				}
				for _, u := range users {
					if err := w.checkSafe(u); err != nil {
						t.Fatalf("%s: %v", next, err)
					}
				}
			}
			for _, u := range users {
				w.follow(u)
				if err := w.checkConverged(u); err != nil {
					t.Error(err)
				}
			}
		})
	}
	if overlapped == 0 {
		t.Error("no crash came while another user's call was under way: the users were not worked on at once")
	}
}
