package selfrotate

import (
	"errors"
	"testing"
)

// TestConcurrentRunsKeepAWorkingProfile: a second rotate --self of the
// same profile that starts while the first is between its key's creation
// and the profile's write (a second terminal, a cron job) must not take
// the first run's key for a dead run's orphan and delete it: the first run
// would then write a deleted key over the profile. The second run is
// refused while the first runs, and the profile ends with a working key.
func TestConcurrentRunsKeepAWorkingProfile(t *testing.T) {
	l := newLaptop(t)
	var second error
	ran := false
	crash := func(step string) error {
		if step == "before-write-profile" && !ran {
			ran = true
			_, second = l.run(Request{}, nil)
		}
		return nil
	}
	_, first := l.run(Request{}, crash)
	if !ran {
		t.Fatal("the second run never started")
	}
	if err := l.works(); err != nil {
		t.Fatalf("first run: %v; second run: %v; %v", first, second, err)
	}
	if !errors.Is(second, ErrBusy) {
		t.Fatalf("the second run, started while the first ran: %v, want ErrBusy", second)
	}
	if first != nil {
		t.Fatalf("the first run: %v", first)
	}
	if ks := l.keys(); len(ks) != 2 {
		t.Fatalf("keys after one rotation: %+v", ks)
	}
}
