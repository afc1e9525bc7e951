package history

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLeaseSemantics(t *testing.T) {
	const scope = "111111111111"
	ttl := 10 * time.Minute
	type step struct {
		op      string // acquire, renew, release
		owner   string
		at      time.Duration // after t0
		want    *Lease        // for acquire/renew success
		wantErr error
		holder  string // for ErrLeaseHeld: who the error names
	}
	lease := func(owner string, acquired, expires time.Duration, previous string) *Lease {
		return &Lease{Scope: scope, Owner: owner, Acquired: t0.Add(acquired), Expires: t0.Add(expires), Previous: previous}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "free scope is taken, others refused until release", steps: []step{
			{op: "acquire", owner: "a", want: lease("a", 0, ttl, "")},
			{op: "acquire", owner: "b", at: time.Minute, wantErr: ErrLeaseHeld, holder: "a"},
			{op: "release", owner: "a", at: 2 * time.Minute},
			{op: "acquire", owner: "b", at: 3 * time.Minute, want: lease("b", 3*time.Minute, 3*time.Minute+ttl, "")},
		}},
		{name: "same owner re-acquiring renews and keeps acquired time", steps: []step{
			{op: "acquire", owner: "a", want: lease("a", 0, ttl, "")},
			{op: "acquire", owner: "a", at: 5 * time.Minute, want: lease("a", 0, 5*time.Minute+ttl, "")},
		}},
		{name: "held right up to expiry, taken over at expiry", steps: []step{
			{op: "acquire", owner: "a", want: lease("a", 0, ttl, "")},
			{op: "acquire", owner: "b", at: ttl - time.Nanosecond, wantErr: ErrLeaseHeld, holder: "a"},
			{op: "acquire", owner: "b", at: ttl, want: lease("b", ttl, 2*ttl, "a")},
			{op: "renew", owner: "a", at: ttl + time.Second, wantErr: ErrLeaseNotHeld},
			{op: "release", owner: "a", at: ttl + time.Second, wantErr: ErrLeaseNotHeld},
			{op: "acquire", owner: "a", at: ttl + time.Second, wantErr: ErrLeaseHeld, holder: "b"},
		}},
		{name: "renew extends; expired but not taken over still renews", steps: []step{
			{op: "acquire", owner: "a", want: lease("a", 0, ttl, "")},
			{op: "renew", owner: "a", at: time.Minute, want: lease("a", 0, time.Minute+ttl, "")},
			{op: "renew", owner: "a", at: 3 * ttl, want: lease("a", 0, 4*ttl, "")},
			{op: "renew", owner: "b", at: 3 * ttl, wantErr: ErrLeaseNotHeld},
		}},
		{name: "non-owner cannot release", steps: []step{
			{op: "acquire", owner: "a", want: lease("a", 0, ttl, "")},
			{op: "release", owner: "b", at: time.Minute, wantErr: ErrLeaseNotHeld},
			{op: "acquire", owner: "b", at: 2 * time.Minute, wantErr: ErrLeaseHeld, holder: "a"},
		}},
		{name: "releasing nothing is a no-op, renewing nothing fails", steps: []step{
			{op: "release", owner: "a"},
			{op: "renew", owner: "a", wantErr: ErrLeaseNotHeld},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := openTemp(t)
			for i, st := range tt.steps {
				var got Lease
				var err error
				now := t0.Add(st.at)
				switch st.op {
				case "acquire":
					got, err = s.AcquireLease(ctx, scope, st.owner, ttl, now)
				case "renew":
					got, err = s.RenewLease(ctx, scope, st.owner, ttl, now)
				case "release":
					err = s.ReleaseLease(ctx, scope, st.owner)
				}
				if st.wantErr != nil {
					if !errors.Is(err, st.wantErr) {
						t.Fatalf("step %d %s by %s: err = %v, want %v", i, st.op, st.owner, err, st.wantErr)
					}
					if st.holder != "" {
						var held *LeaseHeldError
						if !errors.As(err, &held) || held.Holder != st.holder {
							t.Fatalf("step %d: err = %v, want LeaseHeldError naming %s", i, err, st.holder)
						}
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d %s by %s: %v", i, st.op, st.owner, err)
				}
				if st.want != nil {
					if d := cmp.Diff(*st.want, got); d != "" {
						t.Fatalf("step %d %s by %s (-want +got):\n%s", i, st.op, st.owner, d)
					}
					stored, ok, err := s.LeaseOn(ctx, scope)
					if err != nil || !ok {
						t.Fatalf("step %d: LeaseOn = %v, %v", i, ok, err)
					}
					st.want.Previous = "" // not stored
					if d := cmp.Diff(*st.want, stored); d != "" {
						t.Fatalf("step %d: stored lease (-want +got):\n%s", i, d)
					}
				}
			}
		})
	}
}

func TestLeaseValidation(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	for _, tc := range []struct {
		scope, owner string
		ttl          time.Duration
	}{{"", "a", time.Minute}, {"s", "", time.Minute}, {"s", "a", 0}, {"s", "a", -time.Second}} {
		if _, err := s.AcquireLease(ctx, tc.scope, tc.owner, tc.ttl, t0); !errors.Is(err, ErrInvalid) {
			t.Errorf("AcquireLease(%q, %q, %s) err = %v, want ErrInvalid", tc.scope, tc.owner, tc.ttl, err)
		}
	}
	if err := s.ReleaseLease(ctx, "", "a"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ReleaseLease with empty scope err = %v, want ErrInvalid", err)
	}
}

func TestLeaseScopesAreIndependent(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if _, err := s.AcquireLease(ctx, "111111111111", "a", time.Minute, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLease(ctx, "222222222222", "b", time.Minute, t0); err != nil {
		t.Errorf("lease on another scope: %v", err)
	}
	if _, err := s.AcquireLease(ctx, "org", "c", time.Minute, t0); err != nil {
		t.Errorf("org lease: %v", err)
	}
}

// holdOnce tries to take the lease and, if it gets it, proves nobody else
// is inside by creating marker exclusively, then leaves and releases. It
// reports whether it held the lease.
func holdOnce(ctx context.Context, s *Store, scope, owner, marker string) (bool, error) {
	_, err := s.AcquireLease(ctx, scope, owner, time.Minute, time.Now())
	if errors.Is(err, ErrLeaseHeld) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return false, fmt.Errorf("%s holds the lease but another holder is inside: %w", owner, err)
	}
	f.Close()
	if l, ok, err := s.LeaseOn(ctx, scope); err != nil || !ok || l.Owner != owner {
		return false, fmt.Errorf("%s holds the lease but LeaseOn says %+v, %v, %v", owner, l, ok, err)
	}
	if err := os.Remove(marker); err != nil {
		return false, err
	}
	if err := s.ReleaseLease(ctx, scope, owner); err != nil {
		return false, err
	}
	return true, nil
}

// contend calls holdOnce until owner has held the lease holds times.
func contend(ctx context.Context, s *Store, scope, owner, marker string, holds int) error {
	for n := 0; n < holds; {
		ok, err := holdOnce(ctx, s, scope, owner, marker)
		if err != nil {
			return err
		}
		if ok {
			n++
		}
	}
	return nil
}

const (
	helperEnv = "KEYROT_HISTORY_LEASE_HELPER" // "contend" or "once"
	dbEnv     = "KEYROT_HISTORY_LEASE_DB"
	holdsEnv  = "KEYROT_HISTORY_LEASE_HOLDS"
)

// TestLeaseHelperProcess is not a test: it is the second process of the
// cross-process lease tests, run by re-executing the test binary.
func TestLeaseHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return
	}
	ctx := context.Background()
	path := os.Getenv(dbEnv)
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer s.Close()
	switch mode {
	case "once":
		_, err := s.AcquireLease(ctx, "111111111111", "child", time.Minute, time.Now())
		if errors.Is(err, ErrLeaseHeld) {
			os.Exit(10)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	case "contend":
		holds, _ := strconv.Atoi(os.Getenv(holdsEnv))
		if err := contend(ctx, s, "111111111111", "child", filepath.Join(filepath.Dir(path), "inside"), holds); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
	}
}

func helper(t *testing.T, mode, path string, holds int) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestLeaseHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, dbEnv+"="+path, holdsEnv+"="+strconv.Itoa(holds))
	cmd.Stderr = os.Stderr
	return cmd
}

// TestLeaseAcrossProcesses: a lease held here blocks another process, and
// is free for it once released.
func TestLeaseAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	if _, err := s.AcquireLease(ctx, "111111111111", "parent", time.Hour, time.Now()); err != nil {
		t.Fatal(err)
	}
	err := helper(t, "once", path, 0).Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 10 {
		t.Fatalf("child acquiring a held lease: %v, want exit 10 (ErrLeaseHeld)", err)
	}
	if err := s.ReleaseLease(ctx, "111111111111", "parent"); err != nil {
		t.Fatal(err)
	}
	if err := helper(t, "once", path, 0).Run(); err != nil {
		t.Fatalf("child acquiring a released lease: %v", err)
	}
	l, ok, err := s.LeaseOn(ctx, "111111111111")
	if err != nil || !ok || l.Owner != "child" {
		t.Errorf("LeaseOn after child = %+v, %v, %v; want held by child", l, ok, err)
	}
}

// TestLeaseMutualExclusion has goroutines on two Store handles and a second
// process contend for one scope; each holder proves it is alone by creating
// a marker file exclusively while it holds the lease.
func TestLeaseMutualExclusion(t *testing.T) {
	ctx := context.Background()
	s1, path := openTemp(t)
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	marker := filepath.Join(filepath.Dir(path), "inside")
	const goroutines, holds = 6, 10

	child := helper(t, "contend", path, holds)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := s1
			if g%2 == 1 {
				s = s2
			}
			errs[g] = contend(ctx, s, "111111111111", fmt.Sprintf("g%d", g), marker, holds)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Error(err)
	}
	if err := child.Wait(); err != nil {
		t.Errorf("child process: %v", err)
	}
	if _, ok, err := s1.LeaseOn(ctx, "111111111111"); err != nil || ok {
		t.Errorf("after all released, LeaseOn = %v, %v; want none", ok, err)
	}
}
